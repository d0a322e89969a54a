"""Draining on SIGTERM: no new connections, transactions in flight finish, queued and first
transactions are served, each client is closed at its transaction boundary with 57P01, at
shutdown_timeout what still runs is cancelled, exit code 0; a second SIGTERM exits at once;
an Odoo-style connection pool replaces the closed connections without a failed request."""

import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


def setup_table(pg, name):
    pg.ensure_app()
    conn = pg.connect(db='appdb', user='app', password='apppw')
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('DROP TABLE IF EXISTS %s' % name)
        cur.execute('CREATE TABLE %s (v int)' % name)
    conn.close()


def refused(port):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(('127.0.0.1', port))
        return False
    except OSError:
        return True
    finally:
        s.close()


@test(sluice_only=True, timeout=90)
def drain_finishes_transactions_and_closes_at_boundaries():
    pg = harness.shared_pg()
    setup_table(pg, 'drain_t')
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, shutdown_timeout=30)
    idle = p.connect(autocommit=True)  # served once, then idle
    idle.cursor().execute('SELECT 1')
    a = p.connect()  # inside a transaction (holding the only server) when the drain starts
    a.cursor().execute('INSERT INTO drain_t VALUES (1)')
    fresh = p.connect(autocommit=True)  # logged in, never ran anything
    queued_result = []

    def queued():
        # Not served yet when the drain starts; waits for the only server connection.
        c = p.connect(autocommit=True)
        ready.set()
        cur = c.cursor()
        cur.execute('SELECT 42')
        queued_result.append(cur.fetchone()[0])

    ready = threading.Event()
    t = threading.Thread(target=queued)
    t.start()
    ready.wait(10)
    time.sleep(0.3)
    p.proc.send_signal(signal.SIGTERM)
    harness.wait_for(lambda: refused(p.port), what='listener closed')
    # The idle, already-served client is closed at once (its boundary is now).
    try:
        idle.cursor().execute('SELECT 1')
        raise AssertionError('the idle client was not closed by the drain')
    except psycopg2.OperationalError:
        pass
    # The transaction in flight finishes and commits.
    a.cursor().execute('INSERT INTO drain_t VALUES (2)')
    a.commit()
    # The queued transaction is served once the server is free.
    t.join(10)
    eq(queued_result, [42], 'queued transaction served during the drain')
    # The fresh client gets its first transaction.
    cur = fresh.cursor()
    cur.execute('SELECT 7')
    eq(cur.fetchone(), (7,), 'first transaction of a client that had not run one')
    rc = p.proc.wait(15)
    eq(rc, 0, 'exit code after the drain')
    eq(pg.scalar('SELECT count(*) FROM drain_t', db='appdb'), 2, 'both inserts committed')
    log = p.log()
    for want in ('got SIGTERM, draining', 'drain started', 'drain complete'):
        if want not in log:
            raise AssertionError('log lacks %r' % want)
    p.expected_exit = True
    for c in (a, fresh):
        try:
            c.cursor().execute('SELECT 1')
            raise AssertionError('a client survived the drain')
        except psycopg2.Error:
            pass


@test(sluice_only=True, timeout=60)
def drain_client_gets_57p01_at_boundary():
    pg = harness.shared_pg()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', shutdown_timeout=30)
    r = p.raw()
    r.startup(user='app', database='appdb', password='apppw')
    r.query('BEGIN')
    p.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    rows, err = r.query('SELECT 5')  # still inside the transaction: served
    eq((rows, err), ([('5',)], None), 'query inside the open transaction')
    rows, err = r.query('COMMIT')
    eq(err, None, 'COMMIT during the drain')
    # Idle at its boundary, the client is closed with a FATAL it can read.
    mtype, payload = r.read_msg(5)
    eq(mtype, b'E', 'message after the transaction ended')
    fields = harness.parse_error_fields(payload)
    eq(fields.get('C'), '57P01', 'SQLSTATE at the boundary')
    eq(fields.get('S'), 'FATAL', 'severity')
    p.proc.wait(15)
    p.expected_exit = True


@test(sluice_only=True, timeout=60)
def drain_timeout_cancels_running_query():
    pg = harness.shared_pg()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', shutdown_timeout=1.5)
    c = p.connect(autocommit=True)
    err = []

    def long_query():
        try:
            c.cursor().execute('SELECT pg_sleep(60)')
        except psycopg2.Error as e:
            err.append(e)

    t = threading.Thread(target=long_query)
    t.start()
    harness.wait_for(lambda: pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE query = "
                                       "'SELECT pg_sleep(60)' AND state = 'active'") == 1,
                     what='query running')
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    rc = p.proc.wait(15)
    took = time.monotonic() - t0
    eq(rc, 0, 'exit code after shutdown_timeout')
    if took > 8:
        raise AssertionError('drain with shutdown_timeout=1.5 took %.1fs' % took)
    t.join(10)
    eq(len(err), 1, 'the running query ended with an error')
    harness.wait_for(lambda: pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE query = "
                                       "'SELECT pg_sleep(60)' AND state = 'active'") == 0,
                     what='query cancelled on the server')
    if 'shutdown_timeout' not in p.log():
        raise AssertionError('the log does not say shutdown_timeout was reached')
    p.expected_exit = True


@test(sluice_only=True, timeout=60)
def second_sigterm_exits_at_once():
    pg = harness.shared_pg()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', shutdown_timeout=60)
    c = p.connect()
    c.cursor().execute('SELECT 1')  # a transaction stays open
    p.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    if p.proc.poll() is not None:
        raise AssertionError('exited with a transaction open')
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    p.proc.wait(10)
    if time.monotonic() - t0 > 5:
        raise AssertionError('second SIGTERM did not exit at once')
    p.expected_exit = True


@test(sluice_only=True, timeout=90)
def odoo_style_pool_sees_no_failed_request_across_a_drain():
    pg = harness.shared_pg()
    setup_table(pg, 'drain_odoo')
    old = harness.Pooler(pg, pool_mode='transaction', shutdown_timeout=30)
    new = harness.Pooler(pg, pool_mode='transaction', shutdown_timeout=30)
    pools = [harness.OdooStylePool([old.port, new.port]) for _ in range(8)]
    failures = []
    done = []
    stop_at = time.monotonic() + 6

    def requests(pool, i):
        n = 0
        while time.monotonic() < stop_at:
            conn = pool.borrow()
            try:
                with conn.cursor() as cur:
                    cur.execute('INSERT INTO drain_odoo VALUES (%s)', (i,))
                    cur.execute('SELECT count(*) FROM drain_odoo')
                conn.commit()
                n += 1
            except psycopg2.Error as e:
                failures.append(repr(e))
            time.sleep(0.01)
        done.append(n)

    threads = [threading.Thread(target=requests, args=(pl, i)) for i, pl in enumerate(pools)]
    for t in threads:
        t.start()
    time.sleep(2)
    old.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    eq(failures, [], 'failed requests')
    rc = old.proc.wait(15)
    eq(rc, 0, 'old pooler exit code')
    old.expected_exit = True
    reconnects = sum(pl.reconnects for pl in pools)
    print('RESULT drain: %d requests, %d pooled connections replaced, 0 failed'
          % (sum(done), reconnects))
    if reconnects == 0:
        raise AssertionError('no connection was replaced: the drain did not close any')
    eq(pg.scalar('SELECT count(*) FROM drain_odoo', db='appdb'), sum(done), 'committed rows')
    for pl in pools:
        if pl.conn is not None:
            pl.conn.close()


if __name__ == '__main__':
    harness.main()
