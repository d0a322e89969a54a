"""Pool limits: the reserve pool opens after reserve_pool_timeout; query_wait_timeout fails a waiting
query (sluice keeps that client's connection usable, PgBouncer closes it); max_db_connections and
max_user_connections cap the server connections PostgreSQL sees."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


def holder(p, **kw):
    """A client holding a server connection in an open transaction."""
    conn = p.connect(**kw)
    cur = conn.cursor()
    cur.execute('SELECT 1')  # BEGIN + SELECT: the transaction stays open
    return conn


@test
def reserve_pool_after_timeout():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, reserve_pool_size=1,
                       reserve_pool_timeout=0.5)
    a = holder(p)
    b = p.connect(autocommit=True)
    t0 = time.monotonic()
    with b.cursor() as cur:
        cur.execute('SELECT 2')
        eq(cur.fetchone(), (2,), 'B served')
    waited = time.monotonic() - t0
    if waited < 0.4:
        raise AssertionError('B was served after %.2fs, before reserve_pool_timeout' % waited)
    eq(pg.backends(db='appdb', user='app'), 2, 'server connections (pool + reserve)')
    a.commit()
    a.close()
    b.close()


@test
def query_wait_timeout_fails_waiting_query():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, query_wait_timeout=1)
    a = holder(p)
    b = p.connect(autocommit=True)
    t0 = time.monotonic()
    try:
        b.cursor().execute('SELECT 2')
        raise AssertionError('query ran although the only server connection was busy')
    except psycopg2.Error:
        pass
    waited = time.monotonic() - t0
    if waited < 0.8:
        raise AssertionError('query failed after %.2fs, before query_wait_timeout=1' % waited)
    a.commit()
    eq(p.query('SELECT 3'), [(3,)], 'new client after the timeout')
    a.close()


@test(sluice_only=True)
def query_wait_timeout_keeps_client_connection():
    """sluice sheds a waiting query with an ErrorResponse + ReadyForQuery; the client stays connected
    and its next query runs once a server connection is free."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, query_wait_timeout=1)
    a = holder(p)
    b = p.raw()
    b.startup('app', 'appdb', 'apppw')
    rows, err = b.query('SELECT 2', timeout=20)
    if err is None:
        raise AssertionError('waiting query was not shed')
    eq(err.get('S'), 'ERROR', 'severity of the shed query (not FATAL)')
    a.commit()
    eq(b.query('SELECT 3', timeout=20), ([('3',)], None), 'same client after the timeout')
    b.terminate()
    a.close()


def run_concurrently(p, jobs, sampler):
    """Run jobs [(user, password, dbname)] in threads, each doing two short transactions, while
    sampler() records server connection counts. Returns (errors, max count)."""
    errors, peak, stop = [], [0], threading.Event()

    def job(user, password, dbname):
        try:
            conn = p.connect(user=user, password=password, dbname=dbname)
            cur = conn.cursor()
            for _ in range(2):
                cur.execute('SELECT pg_sleep(0.3)')
                conn.commit()
            conn.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], sampler())
            stop.wait(0.03)

    st = threading.Thread(target=sample)
    st.start()
    threads = [threading.Thread(target=job, args=j) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    st.join()
    return errors, peak[0]


_extra = []


def limits_pg():
    pg = harness.shared_pg()
    if not _extra:
        pg.create_role('app2', 'app2pw')
        pg.create_database('appdb2', owner='app')
        _extra.append(True)
    return pg


@test(timeout=180)
def max_db_connections_caps_servers():
    pg = limits_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=10, max_db_connections=2,
                       userlist={'app': 'apppw', 'app2': 'app2pw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port})
    jobs = [('app', 'apppw', 'appdb'), ('app2', 'app2pw', 'appdb')] * 4
    errors, peak = run_concurrently(p, jobs, lambda: pg.backends(db='appdb'))
    if errors:
        raise AssertionError('clients failed: %s' % errors[:3])
    if not 1 <= peak <= 2:
        raise AssertionError('max_db_connections=2 but PostgreSQL saw %d connections to appdb' % peak)


@test(timeout=180)
def max_user_connections_caps_servers():
    pg = limits_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=10, max_user_connections=2,
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'appdb2': 'host=127.0.0.1 port=%d' % pg.port})
    jobs = [('app', 'apppw', 'appdb'), ('app', 'apppw', 'appdb2')] * 4
    errors, peak = run_concurrently(p, jobs, lambda: pg.backends(user='app'))
    if errors:
        raise AssertionError('clients failed: %s' % errors[:3])
    if not 1 <= peak <= 2:
        raise AssertionError('max_user_connections=2 but PostgreSQL saw %d connections of app' % peak)


@test(timeout=180)
def per_database_and_per_user_overrides():
    """[databases] pool_size= / max_db_connections= and [users] max_user_connections= override the
    main-section defaults."""
    pg = limits_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=10,
                       userlist={'app': 'apppw', 'app2': 'app2pw'},
                       databases={'appdb': 'host=127.0.0.1 port=%d pool_size=1' % pg.port,
                                  'appdb2': 'host=127.0.0.1 port=%d' % pg.port},
                       users={'app2': 'max_user_connections=1'})
    errors, peak = run_concurrently(p, [('app', 'apppw', 'appdb')] * 4,
                                    lambda: pg.backends(db='appdb', user='app'))
    if errors or peak != 1:
        raise AssertionError('pool_size=1 on appdb: peak %d, errors %s' % (peak, errors[:3]))
    errors, peak = run_concurrently(p, [('app2', 'app2pw', 'appdb2')] * 4,
                                    lambda: pg.backends(user='app2'))
    if errors or peak != 1:
        raise AssertionError('max_user_connections=1 for app2: peak %d, errors %s' % (peak, errors[:3]))


if __name__ == '__main__':
    harness.main()
