#!/usr/bin/python3
"""prepared_compare.py: pgbench `-M prepared -S` (protocol-level named prepared statements)
through sluice in transaction mode (max_prepared_statements at its default) against PgBouncer,
on one throwaway PostgreSQL 15, in alternating rounds.

Debian's PgBouncer 1.18 has no max_prepared_statements (1.21+), so in transaction mode pgbench
-M prepared fails through it; the script runs that once and prints the error. The baselines it
compares sluice with are therefore the closest PgBouncer can do:
  pgbouncer-session-prepared  PgBouncer in session mode, -M prepared (each client keeps its backend)
  pgbouncer-txn-simple        PgBouncer in transaction mode, -M simple
and, for reference, sluice in transaction mode with -M simple.

Same ini otherwise (md5, default_pool_size 20, max_client_conn 1000); clients must not exceed
the pool size or the session-mode baseline would queue whole sessions.

usage: /usr/bin/python3 bench/prepared_compare.py --sluice build/sluice [--duration 20]
           [--clients 10] [--rounds 3] [--scale 10]
Runs as root. Loopback only; everything is stopped and removed on exit.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchenv  # noqa: E402
from benchenv import harness  # noqa: E402

# name: (pgbouncer?, pool_mode, pgbench -M)
TARGETS = {
    'sluice-txn-prepared': (False, 'transaction', 'prepared'),
    'pgbouncer-session-prepared': (True, 'session', 'prepared'),
    'pgbouncer-txn-simple': (True, 'transaction', 'simple'),
    'sluice-txn-simple': (False, 'transaction', 'simple'),
}


def start(pg, name):
    bouncer, mode, _ = TARGETS[name]
    return benchenv.pooler(pg, bouncer, auth_type='md5', pool_mode=mode, default_pool_size=20,
                           max_client_conn=1000, userlist={'app': 'apppw'})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', default=os.path.join(HERE, '..', 'build', 'sluice'))
    ap.add_argument('--duration', type=int, default=20)
    ap.add_argument('--clients', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--scale', type=int, default=10)
    a = ap.parse_args()
    if a.clients > 20:
        ap.error('--clients must be at most default_pool_size (20) for the session-mode baseline')
    harness.OPTS.binary = os.path.abspath(a.sluice)
    pg = harness.PgServer(hba='md5')
    try:
        pg.ensure_app()
        tps, _, r = benchenv.pgbench(pg.port, ['-i', '-q', '-s', str(a.scale)], 'app', 'apppw', 'appdb')
        if r.returncode != 0:
            sys.exit('pgbench -i failed: ' + r.stderr)
        print('start: %s' % benchenv.uptime(), flush=True)

        # PgBouncer 1.18, transaction mode, -M prepared: expected to fail; show how.
        p = benchenv.pooler(pg, True, auth_type='md5', pool_mode='transaction', default_pool_size=20,
                            max_client_conn=1000, userlist={'app': 'apppw'})
        try:
            args = ['-n', '-S', '-M', 'prepared', '-c', str(a.clients), '-j', '2', '-T', '5']
            tps, failed, r = benchenv.pgbench(p.port, args, 'app', 'apppw', 'appdb', timeout=60)
            print('pgbouncer-txn-prepared: pgbench %s -> exit %d, tps %s, failed %s' %
                  (' '.join(args), r.returncode, tps, failed))
            errs = [l for l in r.stderr.splitlines() if 'error' in l.lower() or 'ERROR' in l]
            print('  stderr: ' + ('\n  stderr: '.join(errs[:3]) if errs else r.stderr[-400:]), flush=True)
        finally:
            p.cleanup()

        res = {n: [] for n in TARGETS}
        names = list(TARGETS)
        for rnd in range(a.rounds):
            # Rotate the order so each target takes each position in turn.
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                p = start(pg, name)
                try:
                    args = ['-n', '-S', '-M', TARGETS[name][2], '-c', str(a.clients), '-j', '2',
                            '-T', str(a.duration)]
                    tps, failed, r = benchenv.pgbench(p.port, args, 'app', 'apppw', 'appdb',
                                                      timeout=a.duration + 120)
                    if tps is None or r.returncode != 0:
                        sys.exit('%s: pgbench failed:\n%s%s' % (name, r.stdout[-600:], r.stderr[-600:]))
                    res[name].append(tps)
                    print('round %d %-27s tps=%.0f failed=%s' % (rnd + 1, name, tps, failed), flush=True)
                finally:
                    p.cleanup()
        print('end: %s' % benchenv.uptime(), flush=True)
        base = res['sluice-txn-prepared']
        print('\ntarget                       median tps  per-round tps        sluice-txn-prepared / target per round')
        for name in names:
            print('%-27s  %10.0f  %-19s  %s' % (name, statistics.median(res[name]),
                                                ' '.join('%.0f' % x for x in res[name]),
                                                ' '.join('%.2f' % (s / x) for s, x in zip(base, res[name]))))
    finally:
        pg.cleanup()


if __name__ == '__main__':
    main()
