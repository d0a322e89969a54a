#!/bin/bash
# usage (as root): nice -n -10 setsid RUNNER & bench/autogroup-nice.sh $!   (stops when RUNNER exits)
# Give every autogroup (session) of the benchmark tree under $1 nice -10: with sched_autogroup,
# nice only ranks processes inside one session, and the harness starts PostgreSQL and the
# poolers in sessions of their own. One ps per 2 s keeps the watcher's own cost negligible.
root=$1
while kill -0 "$root" 2>/dev/null; do
  for p in $(ps -eo pid=,ppid= | awk -v r=$root '{par[$1]=$2} END {for (p in par) {q=p; while (q>1) {if (q==r) {print p; break}; q=par[q]}}}'); do
    f=/proc/$p/autogroup
    read -r g < $f 2>/dev/null || continue
    case "$g" in *"nice -10") ;; *) echo -10 > $f 2>/dev/null ;; esac
  done
  sleep 2
done
