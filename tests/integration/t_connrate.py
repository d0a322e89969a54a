"""No reconnect storms: server_connect_rate (new server connections per second per host),
max_host_connections (a ceiling per host across databases and users, pools taking turns) and
server_lifetime_jitter (lifetime closes spread out). Real PostgreSQL, psycopg2 clients; the
checks are on behaviour (how logins are spread, how many backends exist), never on speed."""

import datetime
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC .*%s')


def stamps(p, what):
    """Times (seconds) of the log lines that contain `what`."""
    rx = re.compile(STAMP.pattern % re.escape(what))
    out = []
    for line in p.log().splitlines():
        m = rx.match(line)
        if m:
            t = datetime.datetime.strptime(m.group(1), '%Y-%m-%d %H:%M:%S.%f')
            out.append(t.timestamp())
    return sorted(out)


def run_clients(p, n, sql, dbname='appdb', rounds=1):
    """n threads, each on its own connection, each running sql `rounds` times; the errors."""
    errors = []
    conns = [p.connect(dbname=dbname, autocommit=True) for _ in range(n)]

    def one(c):
        try:
            for _ in range(rounds):
                c.cursor().execute(sql)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(str(e))

    threads = [threading.Thread(target=one, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for c in conns:
        c.close()
    return errors


@test(sluice_only=True, timeout=120)
def connect_rate_spreads_new_server_connections():
    """40 clients at once, each needing a server connection: with server_connect_rate = 10 the
    logins come at most ~10 per second (plus the burst), every transaction still succeeds."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=40,
                       server_connect_rate=10, log_connections=1)
    errors = run_clients(p, 40, 'SELECT pg_sleep(1.5)')
    eq(errors, [], 'every transaction succeeded')
    logins = stamps(p, 'login ok')
    worst = max(sum(1 for u in logins if t <= u < t + 1.0) for t in logins)
    print('RESULT server_connect_rate=10: %d server logins over %.1f s, at most %d in any 1 s'
          % (len(logins), logins[-1] - logins[0], worst))
    if len(logins) < 10:
        raise AssertionError('expected the load to need many server connections: %d' % len(logins))
    # 10/s plus a burst of 2 tokens; one more for timer rounding
    if worst > 13:
        raise AssertionError('%d logins within one second (rate 10/s)' % worst)


@test(sluice_only=True, timeout=120)
def connect_rate_zero_is_unlimited():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=20, server_connect_rate=0,
                       log_connections=1)
    eq(run_clients(p, 20, 'SELECT pg_sleep(1)'), [], 'every transaction succeeded')
    logins = stamps(p, 'login ok')
    eq(len(logins) >= 15, True, 'the clients got their own server connections (%d)' % len(logins))


@test(sluice_only=True, timeout=120)
def max_host_connections_caps_all_pools_of_a_host():
    """Two databases (and so two pools) on one server, max_host_connections = 5: the server
    never sees more than 5 backends from sluice, and both databases' clients are all served."""
    pg = harness.shared_pg()
    dbs = {'one': 'host=127.0.0.1 port=%d dbname=appdb' % pg.port,
           'two': 'host=127.0.0.1 port=%d dbname=appdb' % pg.port}
    p = harness.Pooler(None, databases=dbs, pool_mode='transaction', default_pool_size=10,
                       max_host_connections=5, server_connect_rate=0)
    stop = threading.Event()
    seen = []

    def watch():
        mon = pg.connect('appdb')
        cur = mon.cursor()
        while not stop.is_set():
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")
            seen.append(cur.fetchone()[0])
            time.sleep(0.05)
        mon.close()

    wt = threading.Thread(target=watch)
    wt.start()
    errs = []
    ts = [threading.Thread(target=lambda d=d: errs.extend(
        run_clients(p, 10, 'SELECT pg_sleep(0.2)', dbname=d, rounds=3))) for d in ('one', 'two')]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    stop.set()
    wt.join(10)
    print('RESULT max_host_connections=5: at most %d backends seen over %d samples, 60 '
          'transactions on two databases, %d errors' % (max(seen), len(seen), len(errs)))
    eq(errs, [], 'every transaction of both databases succeeded')
    if max(seen) > 5:
        raise AssertionError('%d backends, max_host_connections = 5' % max(seen))
    eq(max(seen) >= 3, True, 'the ceiling was used (%d)' % max(seen))
    if 'max_host_connections (5) reached' not in p.log():
        raise AssertionError('the full host is logged')


@test(sluice_only=True, timeout=120)
def lifetime_jitter_spreads_closes():
    """12 server connections opened together with server_lifetime = 2 and 50% jitter: their
    lifetime closes spread over the second before the 2 s mark instead of one instant."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=12, server_connect_rate=0,
                       server_lifetime=2, server_lifetime_jitter=50, server_idle_timeout=0,
                       log_disconnections=1)
    eq(run_clients(p, 12, 'SELECT pg_sleep(0.3)'), [], 'every transaction succeeded')
    harness.wait_for(lambda: len(stamps(p, 'server lifetime over')) >= 12, timeout=20,
                     what='every connection to reach its lifetime')
    closes = stamps(p, 'server lifetime over')
    spread = closes[-1] - closes[0]
    print('RESULT server_lifetime=2 jitter=50%%: 12 lifetime closes spread over %.2f s' % spread)
    # u uniform: lifetimes in [1, 2] s; the janitor looks every 0.25 s
    if spread < 0.3:
        raise AssertionError('lifetime closes within %.2f s: no jitter' % spread)


if __name__ == '__main__':
    harness.main()
