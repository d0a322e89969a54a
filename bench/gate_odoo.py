#!/usr/bin/python3
"""gate_odoo.py: the promotion-gate tables for a scenario (default bench/scenarios/odoo-peak.ini)
on one throwaway PostgreSQL 15: gate 1 is PostgreSQL direct (baseline) against PgBouncer
(candidate), gate 2 is PgBouncer (baseline) against sluice with governance (candidate).

Both poolers read the same ini (transaction mode, default_pool_size 20, auth trust for user
postgres); sluice's adds `%include` of a governance file (default bench/governance-odoo-peak.ini:
checkout, integration, cron, reporting classes). The tenant databases are made once with
`sluice-bench init` directly on PostgreSQL. Each gate is bench/promotion-gate unchanged; its
gate.md, gate.json and per-round reports (with the PNG plots) stay under --out.

usage: /usr/bin/python3 bench/gate_odoo.py --sluice build/sluice --out DIR [--rounds 3]
           [--duration 30s] [--scenario FILE] [--governance FILE]
Runs as root (PostgreSQL and PgBouncer run as the postgres user). Loopback only; everything it
started is stopped and removed on exit.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchenv  # noqa: E402
from benchenv import harness  # noqa: E402


def gate(args, name, base_port, cand_port):
    out = os.path.join(args.out, name)
    cmd = [os.path.join(HERE, 'promotion-gate'), '--scenario', args.scenario, '--rounds',
           str(args.rounds), '--baseline', 'host=127.0.0.1 port=%d user=postgres' % base_port,
           '--candidate', 'host=127.0.0.1 port=%d user=postgres' % cand_port, '--out', out]
    if args.duration:
        cmd += ['--duration', args.duration]
    print('gate_odoo: %s: %s (%s)' % (name, ' '.join(cmd), benchenv.uptime()), flush=True)
    rc = subprocess.run(cmd).returncode
    print('gate_odoo: %s: exit %d (%s)' % (name, rc, benchenv.uptime()), flush=True)
    return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', default=os.path.join(HERE, '..', 'build', 'sluice'))
    ap.add_argument('--sluice-bench', default=os.path.join(HERE, '..', 'build', 'sluice-bench'))
    ap.add_argument('--scenario', default=os.path.join(HERE, 'scenarios', 'odoo-peak.ini'))
    ap.add_argument('--governance', default=os.path.join(HERE, 'governance-odoo-peak.ini'))
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--duration', help='override the scenario duration, e.g. 30s')
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    a.scenario = os.path.abspath(a.scenario)
    harness.OPTS.binary = os.path.abspath(a.sluice)
    os.environ['SLUICE_BENCH'] = os.path.abspath(a.sluice_bench)
    os.makedirs(a.out, exist_ok=True)
    pg = harness.PgServer(hba='trust')
    poolers = []
    try:
        r = subprocess.run([os.environ['SLUICE_BENCH'], 'init', a.scenario, '-h', '127.0.0.1', '-p',
                            str(pg.port), '-U', 'postgres'], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit('gate_odoo: sluice-bench init failed:\n' + r.stdout + r.stderr)
        common = dict(auth_type='trust', pool_mode='transaction', default_pool_size=20,
                      max_client_conn=1000, admin_users='postgres', userlist={'postgres': ''})
        bouncer = benchenv.pooler(pg, True, **common)
        poolers.append(bouncer)
        sluice = benchenv.pooler(pg, False, extra_ini='%%include %s' % os.path.abspath(a.governance),
                                 **common)
        poolers.append(sluice)
        rc1 = gate(a, 'direct-vs-pgbouncer', pg.port, bouncer.port)
        rc2 = gate(a, 'pgbouncer-vs-sluice', bouncer.port, sluice.port)
        for p in poolers:
            if not p.alive():
                sys.exit('gate_odoo: a pooler died:\n' + p.log_tail())
        return 2 if 2 in (rc1, rc2) else max(rc1, rc2)
    finally:
        for p in poolers:
            p.cleanup()
        pg.cleanup()


if __name__ == '__main__':
    sys.exit(main())
