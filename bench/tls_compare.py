#!/usr/bin/python3
"""TLS throughput: pgbench select-only through sluice and through PgBouncer, both with TLS on the client side
(client_tls_sslmode = require, the same certificate, TLS 1.3, the same pool settings), plain TCP to one
throwaway PostgreSQL 15. Prints tps per client count and sluice/PgBouncer ratios; the issue's bar is sluice
within 15 % of PgBouncer.

Needs a quiet machine (nothing else running, see docs/benchmarks.md); on a shared box the figures are noise.

usage: /usr/bin/python3 bench/tls_compare.py [--sluice build/sluice] [--duration 20] [--clients "10 50"]
                                             [--rounds 3] [--scale 10]
Runs as root (the harness runs PostgreSQL and PgBouncer as the postgres user)."""

import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchenv  # noqa: E402
from benchenv import harness  # noqa: E402


def make_pooler(pg, ca, pgbouncer, args):
    # Without -v: the harness's debug logging made PgBouncer write a line per query (benchenv.py).
    p = benchenv.pooler(pg, pgbouncer, start=False, auth_type='md5', pool_mode='transaction',
                        default_pool_size=20, max_client_conn=1000, client_tls_sslmode='require',
                        server_tls_sslmode='disable', userlist={'app': 'apppw'})
    crt, key = ca.issue('localhost', os.path.join(p.dir, 'tls.crt'), os.path.join(p.dir, 'tls.key'),
                        san='DNS:localhost,IP:127.0.0.1')
    p.write_config(client_tls_cert_file=crt, client_tls_key_file=key,
                   client_tls_protocols='tlsv1.3')
    p.start()
    return p


def pgbench(port, clients, duration):
    env = harness._client_env('apppw', {'PGSSLMODE': 'require'})
    cmd = [harness.PGBENCH, '-h', '127.0.0.1', '-p', str(port), '-U', 'app', '-n', '-S', '-c', str(clients),
           '-j', '2', '-T', str(duration), 'appdb']
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=duration + 120)
    m = re.search(r'tps = ([0-9.]+) \(without initial', r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError('pgbench failed: %s %s' % (r.stdout[-500:], r.stderr[-500:]))
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', default=os.path.join(HERE, '..', 'build', 'sluice'))
    ap.add_argument('--duration', type=int, default=20)
    ap.add_argument('--clients', default='10 50')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--scale', type=int, default=10)
    a = ap.parse_args()
    harness.OPTS.binary = os.path.abspath(a.sluice)
    ca = harness.TestCA('bench CA')
    pg = harness.PgServer(hba='md5')
    try:
        pg.ensure_app()
        env = harness._client_env('apppw')
        subprocess.run([harness.PGBENCH, '-i', '-s', str(a.scale), '-q', '-h', '127.0.0.1', '-p', str(pg.port),
                        '-U', 'app', 'appdb'], env=env, check=True, capture_output=True, timeout=600)
        results = {}
        print('start: %s' % benchenv.uptime(), flush=True)
        for rnd in range(a.rounds):
            # Alternate the order so neither pooler always runs on a warmer cache.
            for target in (('sluice', 'pgbouncer') if rnd % 2 == 0 else ('pgbouncer', 'sluice')):
                p = make_pooler(pg, ca, target == 'pgbouncer', a)
                try:
                    for c in a.clients.split():
                        tps = pgbench(p.port, int(c), a.duration)
                        results.setdefault((target, int(c)), []).append(tps)
                        print('round %d %-9s c=%-4s tps=%.0f' % (rnd + 1, target, c, tps), flush=True)
                finally:
                    p.cleanup()
        print('end: %s' % benchenv.uptime(), flush=True)
        print('\nclients  sluice(median)  pgbouncer(median)  ratio of medians  per-round ratios')
        for c in a.clients.split():
            ss, bb = results[('sluice', int(c))], results[('pgbouncer', int(c))]
            s, b = statistics.median(ss), statistics.median(bb)
            print('%7s  %14.0f  %17.0f  %16.2f  %s' % (c, s, b, s / b,
                                                      ' '.join('%.2f' % (x / y) for x, y in zip(ss, bb))))
    finally:
        pg.cleanup()
        ca.cleanup()


if __name__ == '__main__':
    main()
