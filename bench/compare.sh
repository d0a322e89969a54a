#!/usr/bin/env bash
# bench/compare.sh — pgbench through sluice vs PgBouncer vs PostgreSQL direct, on one throwaway
# PostgreSQL 15, plus memory per idle client of each pooler. Loopback only; every step is bounded
# in time; all processes and the temp dir are removed on exit. See bench/README.md and
# docs/benchmarks.md.
#
# usage: bench/compare.sh [--sluice PATH] [--duration SECONDS] [--clients "10 50 200"] [--quick]
#                         [--out FILE] [--auth md5|scram-sha-256|trust] [--idle-clients N]
#                         [--logs DIR] [--rotate]
set -uo pipefail # no -e: a failing target is reported, it does not abort the run

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
PGBENCH=$PGBIN/pgbench
PSQL=$PGBIN/psql
RUN_USER=${RUN_USER:-postgres} # initdb/postgres/pgbouncer refuse root

SLUICE=""
DURATION=""
CLIENTS=""
QUICK=0
OUT=""
AUTH=md5
IDLE_N=2000
LOGS=""
SCALE=10
POOL_SIZE=20
JOBS=2
CONN_CLIENTS=50 # clients of the connection-per-transaction (-C) run

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "compare.sh: $*" >&2; exit 2; }

ROTATE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--sluice | --duration | --clients | --out | --auth | --idle-clients | --logs)
		[ $# -ge 2 ] || die "$1 needs a value" ;;
	esac
	case "$1" in
	--sluice) SLUICE=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--out) OUT=$2; shift 2 ;;
	--auth) AUTH=$2; shift 2 ;;
	--idle-clients) IDLE_N=$2; shift 2 ;;
	--logs) LOGS=$2; shift 2 ;;
	--rotate) ROTATE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument: $1" ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	: "${DURATION:=5}"
	: "${CLIENTS:=10 50}"
else
	: "${DURATION:=20}"
	: "${CLIENTS:=10 50 200}"
fi
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer"
[[ "$IDLE_N" =~ ^[0-9]+$ ]] || die "--idle-clients must be an integer"
for c in $CLIENTS; do [[ "$c" =~ ^[1-9][0-9]*$ ]] && [ "$c" -le 280 ] || die "bad client count: $c (1..280)"; done
case "$AUTH" in md5 | scram-sha-256 | trust) ;; *) die "--auth must be md5, scram-sha-256 or trust" ;; esac
[ -x "$PGBIN/postgres" ] || die "PostgreSQL 15 not found in $PGBIN (apt-get install postgresql-15)"
[ -x "$PGBOUNCER" ] || die "PgBouncer not found at $PGBOUNCER (apt-get install pgbouncer)"
[ -x "$PY" ] || die "$PY not found"
if [ -n "$OUT" ]; then # fail now rather than after the whole run
	touch "$OUT" 2>/dev/null || die "cannot write --out $OUT"
	OUT=$(readlink -f "$OUT")
fi

# the client side: same libpq settings for every target, no TLS/GSS negotiation round trips
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSFILE \
	PGAPPNAME PGTARGETSESSIONATTRS PGCONNECT_TIMEOUT
export PGSSLMODE=disable PGGSSENCMODE=disable PGPASSWORD=bench
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ "$(id -u)" = 0 ]; then
	id "$RUN_USER" >/dev/null 2>&1 || die "user $RUN_USER does not exist"
	AS_RUN=(setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups --)
else
	RUN_USER=$(id -un)
	AS_RUN=()
fi
# setpriv execs, so "${AS_RUN[@]}" CMD & leaves CMD's own pid in $! (a shell function would not)
as_run_user() { "${AS_RUN[@]}" "$@"; }

# ---------------------------------------------------------------- temp dir, cleanup
T=$(mktemp -d /tmp/sluice-bench.XXXXXX) || die "mktemp failed"
chmod 700 "$T"
[ "$(id -u)" = 0 ] && chown "$RUN_USER:" "$T"
mkdir -p "$T/runs"
[ "$(id -u)" = 0 ] && chown "$RUN_USER:" "$T/runs"
POOLER_PIDS=()
CUR_PID=""
PG_STARTED=0
T0=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

stop_pid() { # stop_pid PID: TERM, wait up to 5 s, then KILL
	local p=$1 i
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$CUR_PID" ] && stop_pid "$CUR_PID"
	local p
	for p in "${POOLER_PIDS[@]}"; do stop_pid "$p"; done
	if [ "$PG_STARTED" = 1 ]; then
		as_run_user timeout 30 "$PGBIN/pg_ctl" -D "$T/pgdata" stop -m immediate -t 20 >/dev/null 2>&1
		local pm
		pm=$(head -1 "$T/pgdata/postmaster.pid" 2>/dev/null)
		[ -n "$pm" ] && stop_pid "$pm"
	fi
	if [ -n "$LOGS" ] && [ -d "$T" ]; then
		mkdir -p "$LOGS" && cp -r "$T/runs" "$T"/*.log "$T"/*.ini "$T"/*.tsv "$T"/commands.txt "$LOGS"/ 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT
trap 'echo "terminated" >&2; exit 143' TERM
trap 'exit 129' HUP

# run_bounded SECONDS CMD...: runs CMD in the background under timeout and waits for it, so that
# a signal to this script is handled at once (cleanup kills it). Returns CMD's status.
run_bounded() {
	local secs=$1
	shift
	timeout -k 10 "$secs" "$@" &
	CUR_PID=$!
	wait "$CUR_PID"
	local rc=$?
	CUR_PID=""
	return $rc
}

log() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }

# ---------------------------------------------------------------- ports (< 32768, free now)
read -r PGPORT PB_PORT SL_PORT PB_MEM_PORT SL_MEM_PORT < <(
	"$PY" - <<'EOF'
import random, socket
ports = list(range(20000, 32000)); random.shuffle(ports); got = []
for p in ports:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); got.append(p)
    except OSError:
        pass
    finally:
        s.close()
    if len(got) == 5:
        break
print(*got)
EOF
)
[ -n "$SL_MEM_PORT" ] || die "could not find free ports"

# ---------------------------------------------------------------- sluice binary
SLUICE_STATE=absent # absent | nostart (failed to start) | up | down (died or hung during the run)
SLUICE_REASON="not given (--sluice PATH)"
SLUICE_VERSION=""
if [ -n "$SLUICE" ]; then
	if [ -x "$SLUICE" ] && [ -f "$SLUICE" ]; then
		SLUICE=$(readlink -f "$SLUICE")
		SLUICE_STATE=nostart
		SLUICE_REASON="not started yet"
		SLUICE_VERSION=$(timeout 5 "$SLUICE" -V 2>&1 </dev/null | head -1)
	else
		SLUICE_REASON="not an executable file: $SLUICE"
	fi
fi

# ---------------------------------------------------------------- PostgreSQL 15
case "$AUTH" in
md5) PW_ENC=md5 ;;
*) PW_ENC=scram-sha-256 ;;
esac
log "initdb into $T/pgdata (port $PGPORT)"
as_run_user timeout 120 "$PGBIN/initdb" -D "$T/pgdata" -U postgres -A trust -E UTF8 --no-sync \
	>"$T/initdb.log" 2>&1 || { cat "$T/initdb.log"; die "initdb failed"; }
cat >>"$T/pgdata/postgresql.conf" <<EOF

# sluice bench/compare.sh
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$T'
max_connections = 300
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = $PW_ENC
EOF
cat >"$T/pgdata/pg_hba.conf" <<EOF
# superuser setup over the private unix socket; every benchmark client (direct or via a pooler)
# logs in as bench over TCP loopback with the same method
local all postgres trust
host  bench bench 127.0.0.1/32 $AUTH
EOF
as_run_user timeout 90 "$PGBIN/pg_ctl" -D "$T/pgdata" -l "$T/postgres.log" -w -t 60 start >/dev/null 2>&1 ||
	{ tail -20 "$T/postgres.log"; die "PostgreSQL did not start"; }
PG_STARTED=1
PG_VERSION=$("$PSQL" -h "$T" -p "$PGPORT" -U postgres -d postgres -Atc 'show server_version')
su_psql() { timeout 120 "$PSQL" -h "$T" -p "$PGPORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
su_psql -d postgres -c "CREATE ROLE bench LOGIN PASSWORD 'bench'" -c "CREATE DATABASE bench OWNER bench" ||
	die "creating role/database failed"
log "pgbench -i -s $SCALE bench"
run_bounded 600 "$PGBENCH" -i -s "$SCALE" -q -h 127.0.0.1 -p "$PGPORT" -U bench bench >"$T/pgbench-init.log" 2>&1 ||
	{ tail -20 "$T/pgbench-init.log"; die "pgbench -i failed"; }

# ---------------------------------------------------------------- auth file and ini files
case "$AUTH" in
md5) SECRET="md5$(printf '%s' benchbench | md5sum | cut -d' ' -f1)" ;; # md5(password || user)
*) SECRET=bench ;;                                                  # plaintext: SCRAM both ways
esac
printf '"bench" "%s"\n' "$SECRET" >"$T/userlist.txt"

# write_ini FILE PORT AUTH_TYPE MAX_CLIENT_CONN
write_ini() {
	cat >"$1" <<EOF
;; generated by sluice bench/compare.sh — read unchanged by PgBouncer and sluice
[databases]
bench = host=127.0.0.1 port=$PGPORT dbname=bench

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir = $T
auth_type = $3
auth_file = $T/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = $4
EOF
}
# benchmark: two files that differ only in listen_port
write_ini "$T/pgbouncer.ini" "$PB_PORT" "$AUTH" 1000
write_ini "$T/sluice.ini" "$SL_PORT" "$AUTH" 1000
# idle-client memory: auth_type = trust (same userlist; its secret logs the pooler in to PostgreSQL)
MEM_MAX=$((IDLE_N + 100))
[ "$MEM_MAX" -lt 1000 ] && MEM_MAX=1000
write_ini "$T/pgbouncer-mem.ini" "$PB_MEM_PORT" trust "$MEM_MAX"
write_ini "$T/sluice-mem.ini" "$SL_MEM_PORT" trust "$MEM_MAX"
if [ "$(id -u)" = 0 ]; then
	chown "$RUN_USER:" "$T"/*.ini "$T/userlist.txt"
fi
chmod 600 "$T"/*.ini "$T/userlist.txt"

# ---------------------------------------------------------------- poolers
# ready PORT PID: the process is alive and answers SELECT 1 through its port (up to 15 s)
ready() {
	local port=$1 pid=$2 i
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$(timeout 5 "$PSQL" -h 127.0.0.1 -p "$port" -U bench -d bench -X -Atc 'select 1' 2>/dev/null)" = 1 ] && return 0
		sleep 0.5
	done
	return 1
}
# Each pooler runs in its own session, like a service: with sched_autogroup it then gets its own CPU share
# instead of sharing pgbench's (PostgreSQL is its own session too: pg_ctl starts it with setsid). setsid and
# setpriv exec, so $! is the pooler's pid.
# start_pgbouncer INI LOG -> PB_PID
start_pgbouncer() {
	setsid "${AS_RUN[@]}" "$PGBOUNCER" "$1" >"$2" 2>&1 </dev/null &
	PB_PID=$!
	POOLER_PIDS+=("$PB_PID")
}
# start_sluice INI LOG -> SL_PID
start_sluice() {
	setsid "$SLUICE" "$1" >"$2" 2>&1 </dev/null &
	SL_PID=$!
	POOLER_PIDS+=("$SL_PID")
}
log_tail() { sed 's/^/    | /' "$1" | tail -n "${2:-8}"; }

PB_VERSION=$("$PGBOUNCER" -V 2>&1 | head -1)
start_pgbouncer "$T/pgbouncer.ini" "$T/pgbouncer.log"
ready "$PB_PORT" "$PB_PID" || { log_tail "$T/pgbouncer.log" 20; die "PgBouncer did not start"; }
log "PgBouncer up: pid $PB_PID port $PB_PORT ($PB_VERSION)"

SL_PID=""
if [ "$SLUICE_STATE" = nostart ]; then
	start_sluice "$T/sluice.ini" "$T/sluice.log"
	if ready "$SL_PORT" "$SL_PID"; then
		SLUICE_STATE=up
		SLUICE_REASON=""
		log "sluice up: pid $SL_PID port $SL_PORT ($SLUICE)"
	else
		if kill -0 "$SL_PID" 2>/dev/null; then
			SLUICE_REASON="started but did not answer SELECT 1 on port $SL_PORT within 15 s"
			stop_pid "$SL_PID"
		else
			wait "$SL_PID" 2>/dev/null
			SLUICE_REASON="failed to start (exit status $?)"
		fi
		log "sluice: $SLUICE_REASON; its log:"
		log_tail "$T/sluice.log" 12
	fi
else
	log "sluice: n/a — $SLUICE_REASON"
fi

# ---------------------------------------------------------------- the points
# workload|protocol|clients|extra pgbench flags
POINTS=()
for wl in select-only tpcb-like; do
	for proto in simple extended; do
		for c in $CLIENTS; do POINTS+=("$wl|$proto|$c"); done
	done
done
POINTS+=("select-only -C|simple|$CONN_CLIENTS")

pgbench_args() { # pgbench_args WORKLOAD PROTOCOL CLIENTS PORT -> ARGS array
	local j=$JOBS
	[ "$3" -lt "$j" ] && j=$3
	ARGS=(-h 127.0.0.1 -p "$4" -U bench -n -M "$2" -c "$3" -j "$j" -T "$DURATION")
	case "$1" in
	select-only) ARGS+=(-S) ;;
	"select-only -C") ARGS+=(-S -C) ;;
	esac
	ARGS+=(bench)
}
PRE_TPCB="VACUUM pgbench_branches; VACUUM pgbench_tellers; TRUNCATE pgbench_history"

{
	echo "# every command runs with PGPASSWORD=bench PGSSLMODE=disable PGGSSENCMODE=disable;"
	if [ "$ROTATE" = 1 ]; then
		echo "# PORT = $PGPORT (direct), $PB_PORT (pgbouncer), $SL_PORT (sluice); order per point rotates: d,p,s / p,s,d / s,d,p / ..."
	else
		echo "# PORT = $PGPORT (direct), $PB_PORT (pgbouncer), $SL_PORT (sluice); order per point: direct, pgbouncer, sluice"
	fi
	echo "# before every tpcb-like run, directly on PostgreSQL as the superuser (pgbench's own pre-run step, done outside the pooler):"
	echo "psql -h $T -p $PGPORT -U postgres -d bench -c '$PRE_TPCB'"
	for pt in "${POINTS[@]}"; do
		IFS='|' read -r wl proto c <<<"$pt"
		pgbench_args "$wl" "$proto" "$c" PORT
		echo "pgbench ${ARGS[*]}"
	done
} >"$T/commands.txt"

NPTS=${#POINTS[@]}
EST=$((NPTS * 3 * (DURATION + 2) + 60))
log "plan: $NPTS points x 3 targets x ${DURATION}s (about $((EST / 60)) min in all); commands:"
sed 's/^/    /' "$T/commands.txt"

: >"$T/results.tsv"
count_backends() { su_psql -d postgres -Atc "select count(*) from pg_stat_activity where backend_type = 'client backend'" 2>/dev/null; }
settle_backends() { # settle_backends N: wait (at most 30 s) until PostgreSQL has at most N client backends
	local i cur
	for i in $(seq 60); do
		cur=$(count_backends)
		[ -z "$cur" ] || [ "$cur" -le "$1" ] && return 0
		sleep 0.5
	done
	log "still $cur client backends 30 s after the run (were $1 before)"
}
# run_point TARGET PORT WORKLOAD PROTOCOL CLIENTS N
run_point() {
	local target=$1 port=$2 wl=$3 proto=$4 c=$5 n=$6
	local tag
	tag=$(printf '%02d-%s-%s-%s-c%s' "$n" "$target" "${wl// /}" "$proto" "$c")
	local out="$T/runs/$tag.log"
	if [ "$target" = sluice ] && [ "$SLUICE_STATE" != up ]; then
		local st=n/a # absent: no binary given / not executable
		case "$SLUICE_STATE" in nostart) st=fail ;; down) st=skipped ;; esac
		printf '%s\t%s\t%s\t%s\t%s\t\t\t\t%s\n' "$target" "$wl" "$proto" "$c" "$st" "$SLUICE_REASON" >>"$T/results.tsv"
		return
	fi
	if [ "$wl" = tpcb-like ]; then
		su_psql -d bench -c "$PRE_TPCB" >/dev/null 2>&1
	fi
	pgbench_args "$wl" "$proto" "$c" "$port"
	echo "pgbench ${ARGS[*]}" >"$out"
	local nb
	nb=$(count_backends)
	run_bounded $((DURATION + 45)) "$PGBENCH" "${ARGS[@]}" >>"$out" 2>&1
	local rc=$?
	# a direct run leaves up to 200 backends exiting; let PostgreSQL finish that before the next target's run
	[ "$target" = direct ] && [ -n "$nb" ] && settle_backends "$nb"
	sleep 1
	local tps lat failed status detail=""
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out" | tail -1)
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out" | tail -1)
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out" | tail -1)
	if [ -n "$tps" ] && [ "$rc" = 0 ] && [ "${failed:-0}" = 0 ]; then
		status=ok
	elif [ -n "$tps" ]; then
		status=errors
		detail="exit $rc, ${failed:-?} failed transactions; $(grep -m1 -iE 'error|abort|fatal' "$out" | cut -c1-160)"
	else
		status=fail
		[ "$rc" = 124 ] && detail="timed out after $((DURATION + 45)) s; "
		detail+="exit $rc; $(grep -iE 'error|abort|fatal|could not' "$out" | head -1 | cut -c1-160)"
		grep -q '^number of transactions actually processed: 0' "$out" &&
			detail+="no transaction completed within -T $DURATION s (pgbench counts the time to open the $c connections in -T)"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$wl" "$proto" "$c" "$status" "$tps" "$lat" "${failed:-0}" \
		"$detail" >>"$T/results.tsv"
	log "$(printf '%-9s %-14s %-8s c=%-3s %-6s tps=%-10s lat=%s ms' "$target" "$wl" "$proto" "$c" "$status" "${tps:--}" "${lat:--}")"
	if [ "$target" = sluice ] && [ "$status" != ok ]; then
		if ! kill -0 "$SL_PID" 2>/dev/null; then
			SLUICE_STATE=down
			SLUICE_REASON="sluice exited (noticed at $wl $proto c=$c)"
		elif [ "$(timeout 5 "$PSQL" -h 127.0.0.1 -p "$SL_PORT" -U bench -d bench -X -Atc 'select 1' 2>/dev/null)" != 1 ]; then
			SLUICE_STATE=down
			SLUICE_REASON="sluice stopped answering after $wl $proto c=$c"
			stop_pid "$SL_PID"
		fi
		[ "$SLUICE_STATE" = down ] && { log "sluice: $SLUICE_REASON; later sluice runs skipped; its log:"; log_tail "$T/sluice.log" 12; }
	fi
}

TARGET_ORDER=(direct pgbouncer sluice)
port_of() { case "$1" in direct) echo "$PGPORT" ;; pgbouncer) echo "$PB_PORT" ;; sluice) echo "$SL_PORT" ;; esac; }
n=0
for pt in "${POINTS[@]}"; do
	IFS='|' read -r wl proto c <<<"$pt"
	n=$((n + 1))
	k=0
	[ "$ROTATE" = 1 ] && k=$(((n - 1) % 3)) # --rotate: each target goes first, second, third in turn
	for i in 0 1 2; do
		t=${TARGET_ORDER[$(((i + k) % 3))]}
		run_point "$t" "$(port_of "$t")" "$wl" "$proto" "$c" "$n"
	done
done
if ! kill -0 "$PB_PID" 2>/dev/null; then log "PgBouncer exited during the run; its log:"; log_tail "$T/pgbouncer.log" 12; fi

# ---------------------------------------------------------------- memory per idle client
# fresh pooler processes with auth_type = trust; one warm-up client, then IDLE_N idle clients
for p in "${POOLER_PIDS[@]}"; do stop_pid "$p"; done
POOLER_PIDS=()
: >"$T/memory.tsv"
mem_measure() { # mem_measure TARGET PORT PID
	local j
	run_bounded 200 "$PY" "$HERE/idle_clients.py" --port "$2" --pid "$3" -n "$IDLE_N" --deadline 150 \
		>"$T/runs/memory-$1.json" 2>"$T/runs/memory-$1.err"
	j=$(tail -1 "$T/runs/memory-$1.json")
	[ -n "$j" ] || j=$(tail -1 "$T/runs/memory-$1.err")
	"$PY" - "$1" "$j" >>"$T/memory.tsv" <<'EOF'
import json, sys
target, raw = sys.argv[1], sys.argv[2]
try:
    r = json.loads(raw)
except ValueError:
    print("%s\tfail\t\t\t\t\t%s" % (target, raw[:200].replace("\t", " ")))
    sys.exit()
st = "ok" if r["error"] is None and r["kib_per_client"] is not None else "fail"
g = lambda k: "" if r.get(k) is None else str(r[k])
print("\t".join([target, st, g("n_ok"), g("rss_before_kib"), g("rss_after_kib"), g("kib_per_client"),
                 (r["error"] or "").replace("\t", " ")[:200]]))
EOF
	log "memory $1: $j"
}
if [ "$IDLE_N" -gt 0 ]; then
	log "memory per idle client: $IDLE_N clients per pooler (auth_type = trust)"
	start_pgbouncer "$T/pgbouncer-mem.ini" "$T/pgbouncer-mem.log"
	if ready "$PB_MEM_PORT" "$PB_PID"; then
		mem_measure pgbouncer "$PB_MEM_PORT" "$PB_PID"
	else
		printf 'pgbouncer\tfail\t\t\t\t\tdid not start with the trust ini\n' >>"$T/memory.tsv"
	fi
	stop_pid "$PB_PID"
	if [ -n "$SLUICE" ] && [ -x "$SLUICE" ]; then
		start_sluice "$T/sluice-mem.ini" "$T/sluice-mem.log"
		if ready "$SL_MEM_PORT" "$SL_PID"; then
			mem_measure sluice "$SL_MEM_PORT" "$SL_PID"
		else
			printf 'sluice\tfail\t\t\t\t\tdid not start with the trust ini\n' >>"$T/memory.tsv"
			log_tail "$T/sluice-mem.log" 12
		fi
		stop_pid "$SL_PID"
	else
		printf 'sluice\tn/a\t\t\t\t\t%s\n' "$SLUICE_REASON" >>"$T/memory.tsv"
	fi
fi

# ---------------------------------------------------------------- report
SL_DESC="n/a — $SLUICE_REASON"
if [ -n "$SL_PID" ]; then
	SL_DESC="$SLUICE${SLUICE_VERSION:+ ($SLUICE_VERSION)}"
	[ -n "$SLUICE_REASON" ] && SL_DESC+=" — $SLUICE_REASON"
fi
{
	printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'machine\t%s CPUs (%s), %s GiB RAM, Linux %s\n' "$(nproc)" \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
		"$(awk '/MemTotal/ {printf "%.0f", $2/1048576}' /proc/meminfo)" "$(uname -r)"
	printf 'PostgreSQL\t%s (fsync=off, synchronous_commit=off, full_page_writes=off, shared_buffers=256MB, max_connections=300), port %s\n' "$PG_VERSION" "$PGPORT"
	printf 'pgbench\t%s, scale %s, -j %s, -T %s s\n' "$("$PGBENCH" --version | head -1)" "$SCALE" "$JOBS" "$DURATION"
	printf 'PgBouncer\t%s, port %s\n' "$PB_VERSION" "$PB_PORT"
	printf 'sluice\t%s%s\n' "$SL_DESC" "$([ -n "$SL_PID" ] && echo ", port $SL_PORT")"
	printf 'pooler ini\t[pgbouncer] listen_addr=127.0.0.1, pool_mode=transaction, default_pool_size=%s, max_client_conn=1000, auth_type=%s, auth_file (one file per pooler, identical but for listen_port)\n' "$POOL_SIZE" "$AUTH"
	printf 'auth\tbench/bench, %s everywhere (pg_hba host method and pooler auth_type), TCP 127.0.0.1\n' "$AUTH"
	printf 'wall time\t%s s\n' "$(($(date +%s) - T0))"
	printf 'load average\t%s at start, %s at end (1/5/15 min; other work on the machine skews all figures)\n' "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$T/meta.tsv"
echo
if [ -n "$OUT" ]; then
	"$PY" "$HERE/report.py" "$T" --markdown "$OUT"
	echo
	echo "Markdown written to $OUT"
else
	"$PY" "$HERE/report.py" "$T"
fi
