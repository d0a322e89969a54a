#!/usr/bin/python3
"""notify_latency.py: notification delivery latency through sluice in transaction mode, under load.

On one throwaway PostgreSQL 15, sluice runs in transaction mode (default_pool_size 10, so the
pool is shared). Two LISTEN clients listen on one channel: one through sluice (multiplexed onto
sluice's listener connection), one directly on PostgreSQL (the baseline, same notifications, same
moment). N notifier processes each run short transactions through sluice,
`BEGIN; SELECT pg_notify('bench', 'ID'); COMMIT;`, at --rate per second each, while pgbench
`-S -c C` runs through sluice as background load.

Latency of a notification = time the listener received it - time the notifier sent COMMIT
(CLOCK_REALTIME, one machine, separate processes so no GIL is shared). The time the COMMIT was
acknowledged is recorded too: delivery can precede the acknowledgement, so "from ack" is reported
as well and may be negative. Prints p50/p90/p99/max and the count lost per listener.

usage: /usr/bin/python3 bench/notify_latency.py --sluice build/sluice [--duration 20]
           [--notifiers 10] [--rate 20] [--pgbench-clients 20]
Runs as root. Loopback only; everything is stopped and removed on exit.
"""
import argparse
import multiprocessing as mp
import os
import select
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchenv  # noqa: E402
from benchenv import harness  # noqa: E402
import psycopg2  # noqa: E402

CHANNEL = 'bench'


def listener(dsn, ready, stop, q):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    conn.cursor().execute('LISTEN %s' % CHANNEL)
    ready.set()
    got = {}
    while not stop.is_set() or select.select([conn], [], [], 0)[0]:
        if select.select([conn], [], [], 0.2)[0]:
            conn.poll()
            now = time.time()
            while conn.notifies:
                n = conn.notifies.pop(0)
                got[n.payload] = now
    conn.close()
    q.put(got)


def notifier(dsn, idx, rate, until, q):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    sent = {}
    i = 0
    period = 1.0 / rate
    nxt = time.time()
    while time.time() < until:
        payload = '%d-%d' % (idx, i)
        cur.execute('SELECT pg_notify(%s, %s)', (CHANNEL, payload))  # opens the transaction
        t0 = time.time()
        conn.commit()
        sent[payload] = (t0, time.time())
        i += 1
        nxt += period
        time.sleep(max(0.0, nxt - time.time()))
    conn.close()
    q.put(sent)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', default=os.path.join(HERE, '..', 'build', 'sluice'))
    ap.add_argument('--duration', type=int, default=20)
    ap.add_argument('--notifiers', type=int, default=10)
    ap.add_argument('--rate', type=float, default=20, help='notifications per second per notifier')
    ap.add_argument('--pgbench-clients', type=int, default=20)
    ap.add_argument('--scale', type=int, default=10)
    a = ap.parse_args()
    harness.OPTS.binary = os.path.abspath(a.sluice)
    pg = harness.PgServer(hba='md5')
    p = None
    bench = None
    try:
        pg.ensure_app()
        _, _, r = benchenv.pgbench(pg.port, ['-i', '-q', '-s', str(a.scale)], 'app', 'apppw', 'appdb')
        if r.returncode != 0:
            sys.exit('pgbench -i failed: ' + r.stderr)
        p = benchenv.pooler(pg, False, auth_type='md5', pool_mode='transaction', default_pool_size=10,
                            max_client_conn=1000, userlist={'app': 'apppw'})
        dsn_s = p.dsn()
        dsn_d = p.dsn().replace("port='%d'" % p.port, "port='%d'" % pg.port)
        print('start: %s' % benchenv.uptime(), flush=True)
        stop = mp.Event()
        lis = {}
        for name, dsn in (('via sluice', dsn_s), ('direct', dsn_d)):
            ready, q = mp.Event(), mp.Queue()
            proc = mp.Process(target=listener, args=(dsn, ready, stop, q))
            proc.start()
            if not ready.wait(30):
                sys.exit('listener %s did not start' % name)
            lis[name] = (proc, q)
        env = harness._client_env('apppw')
        bench_cmd = [harness.PGBENCH, '-h', '127.0.0.1', '-p', str(p.port), '-U', 'app', '-n', '-S',
                     '-c', str(a.pgbench_clients), '-j', '2', '-T', str(a.duration + 4), 'appdb']
        bench = subprocess.Popen(bench_cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        time.sleep(2)  # pgbench connected and running
        until = time.time() + a.duration
        nq = mp.Queue()
        nps = [mp.Process(target=notifier, args=(dsn_s, i, a.rate, until, nq)) for i in range(a.notifiers)]
        for n in nps:
            n.start()
        sent = {}
        for _ in nps:
            sent.update(nq.get(timeout=a.duration + 60))
        for n in nps:
            n.join()
        time.sleep(1)  # let the last notifications arrive
        stop.set()
        got = {}
        for name, (proc, q) in lis.items():
            got[name] = q.get(timeout=60)
            proc.join()
        out, err = bench.communicate(timeout=a.duration + 60)
        bench = None
        print('end: %s' % benchenv.uptime(), flush=True)
        tps = [l for l in out.splitlines() if l.startswith('tps =')]
        print('background load: %s -> %s' % (' '.join(bench_cmd[3:]), tps[0] if tps else err[-300:]))
        print('notifications sent: %d (%d notifiers x %g/s for %d s, short transactions through sluice)'
              % (len(sent), a.notifiers, a.rate, a.duration))
        print('listener     received  lost  from COMMIT sent: p50 / p90 / p99 / max ms   '
              'from COMMIT acknowledged: p50 / p99 ms')
        for name, g in got.items():
            lat = [1000 * (g[k] - t0) for k, (t0, t1) in sent.items() if k in g]
            ack = [1000 * (g[k] - t1) for k, (t0, t1) in sent.items() if k in g]
            lost = sum(1 for k in sent if k not in g)
            if not lat:
                print('%-11s  %8d  %4d  (nothing received)' % (name, 0, lost))
                continue
            print('%-11s  %8d  %4d  %7.2f / %6.2f / %6.2f / %7.2f                %6.2f / %6.2f' % (
                name, len(lat), lost, pct(lat, 50), pct(lat, 90), pct(lat, 99), max(lat),
                pct(ack, 50), pct(ack, 99)))
        return 0
    finally:
        if bench is not None:
            bench.kill()
            bench.wait()
        if p is not None:
            p.cleanup()
        pg.cleanup()


if __name__ == '__main__':
    sys.exit(main())
