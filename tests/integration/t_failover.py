"""The server going away and coming back (restart, failover of a single-host entry): clients
between transactions see nothing; transactions that start while the server is unreachable are
held (failover_hold_timeout) and run once it is back, or fail with 08006 after the hold, leaving
the client connection usable; configuration errors are not held."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


@test(sluice_only=True, timeout=120)
def restart_holds_new_transactions_until_back():
    pg = harness.PgServer()  # private: this test stops it
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', failover_hold_timeout=30,
                       health_check_period=0.2)
    idle = p.connect(autocommit=True)
    idle.cursor().execute('SELECT 1')  # between transactions from now on
    pg.stop('fast')
    result = []

    def during_outage():
        c = idle.cursor()
        t0 = time.monotonic()
        c.execute('SELECT 2')
        result.append((c.fetchone()[0], time.monotonic() - t0))

    t = threading.Thread(target=during_outage)
    t.start()
    time.sleep(2.0)
    eq(result, [], 'the transaction waits while the server is down')
    t_start = time.monotonic()
    pg.start()
    t.join(30)
    eq(len(result), 1, 'held transaction ran')
    eq(result[0][0], 2, 'its result')
    back = time.monotonic() - t_start
    print('RESULT failover hold: transaction held %.1f s, ran %.2f s after the server was back'
          % (result[0][1], back))
    cur = idle.cursor()
    cur.execute('SELECT 3')
    eq(cur.fetchone(), (3,), 'same connection keeps working')
    log = p.log()
    for want in ('holding', 'server reachable again after'):
        if want not in log:
            raise AssertionError('log lacks %r' % want)
    idle.close()
    pg.cleanup()


@test(sluice_only=True, timeout=120)
def hold_timeout_fails_cleanly_and_connection_survives():
    pg = harness.PgServer()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', failover_hold_timeout=1.5,
                       health_check_period=0.2)
    c = p.connect(autocommit=True)
    c.cursor().execute('SELECT 1')
    pg.stop('fast')
    t0 = time.monotonic()
    try:
        c.cursor().execute('SELECT 2')
        raise AssertionError('query ran with the server down')
    except psycopg2.Error as e:
        eq(e.pgcode, '08006', 'SQLSTATE after the hold')
        if 'failover_hold_timeout' not in str(e):
            raise AssertionError('message does not name failover_hold_timeout: %s' % e)
    took = time.monotonic() - t0
    if took < 1.2:
        raise AssertionError('failed after %.1f s, before the hold ended' % took)
    pg.start()
    cur = c.cursor()
    cur.execute('SELECT 4')
    eq(cur.fetchone(), (4,), 'the client connection stayed usable')
    c.close()
    pg.cleanup()


@test(sluice_only=True, timeout=60)
def authentication_failure_is_not_held():
    pg = harness.shared_pg()
    pg.ensure_app()
    # The server-side password in auth_file is wrong: no point in waiting for it.
    p = harness.Pooler(pg, pool_mode='transaction', auth_type='trust', failover_hold_timeout=30,
                       userlist={'app': 'wrong-password'})
    t0 = time.monotonic()
    try:
        p.connect(autocommit=True).cursor().execute('SELECT 1')
        raise AssertionError('login with a wrong server password succeeded')
    except psycopg2.Error:
        pass
    if time.monotonic() - t0 > 10:
        raise AssertionError('an authentication failure was held for %.0f s'
                             % (time.monotonic() - t0))


def terminate(pg, where):
    """pg_terminate_backend for the backends matching a pg_stat_activity condition."""
    return pg.scalar('SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE '
                     "backend_type = 'client backend' AND pid <> pg_backend_pid() AND " + where)


def lost_setup(pg, table):
    pg.ensure_app()
    c = pg.connect(db='appdb', user='app', password='apppw')
    c.autocommit = True
    with c.cursor() as cur:
        cur.execute('DROP TABLE IF EXISTS %s' % table)
        cur.execute('CREATE TABLE %s (v int)' % table)
    c.close()


@test(sluice_only=True, timeout=60)
def server_lost_while_idle_in_transaction():
    pg = harness.shared_pg()
    lost_setup(pg, 'fo_idle')
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    c = p.connect()
    c.cursor().execute('INSERT INTO fo_idle VALUES (1)')  # open transaction, now idle
    harness.wait_for(lambda: terminate(pg, "state = 'idle in transaction' AND datname = 'appdb'")
                     == 1, what='backend terminated')
    time.sleep(0.3)
    try:
        c.cursor().execute('INSERT INTO fo_idle VALUES (2)')
        raise AssertionError('statement ran on a lost transaction')
    except psycopg2.Error as e:
        eq(e.pgcode, '40001', 'failover_sqlstate at the next statement')
    c.rollback()
    cur = c.cursor()
    cur.execute('INSERT INTO fo_idle VALUES (3)')
    c.commit()
    eq(pg.scalar('SELECT array_agg(v) FROM fo_idle', db='appdb'), [3],
       'only the retried transaction committed')
    c.close()


@test(sluice_only=True, timeout=60)
def server_lost_while_waiting_for_an_answer():
    pg = harness.shared_pg()
    lost_setup(pg, 'fo_wait')
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    c = p.connect()
    err = []

    def run():
        try:
            c.cursor().execute('INSERT INTO fo_wait VALUES (1); SELECT pg_sleep(30)')
        except psycopg2.Error as e:
            err.append(e)

    t = threading.Thread(target=run)
    t.start()
    harness.wait_for(lambda: terminate(pg, "query LIKE '%pg_sleep(30)%'") == 1,
                     what='backend terminated')
    t.join(10)
    eq([e.pgcode for e in err], ['40001'], 'error while the query was running')
    c.rollback()
    cur = c.cursor()
    cur.execute('SELECT count(*) FROM fo_wait')
    eq(cur.fetchone(), (0,), 'the lost transaction is not there; the connection works')
    c.commit()
    c.close()


@test(sluice_only=True, timeout=60)
def server_lost_during_commit_gives_08007():
    pg = harness.shared_pg()
    lost_setup(pg, 'fo_commit')
    c0 = pg.connect(db='appdb', user='app', password='apppw')
    c0.autocommit = True
    with c0.cursor() as cur:  # a commit that takes 30 s: a deferred trigger sleeping
        cur.execute("CREATE OR REPLACE FUNCTION fo_slow() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$")
        cur.execute('CREATE CONSTRAINT TRIGGER fo_slow AFTER INSERT ON fo_commit DEFERRABLE '
                    'INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fo_slow()')
    c0.close()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    c = p.connect()
    c.cursor().execute('INSERT INTO fo_commit VALUES (1)')
    err = []

    def commit():
        try:
            c.commit()
        except psycopg2.Error as e:
            err.append(e)

    t = threading.Thread(target=commit)
    t.start()
    harness.wait_for(lambda: terminate(pg, "query = 'COMMIT' AND state = 'active'") == 1,
                     what='backend terminated during COMMIT')
    t.join(10)
    eq([e.pgcode for e in err], ['08007'], 'COMMIT in flight: transaction_resolution_unknown')
    cur = c.cursor()
    cur.execute('SELECT 1')
    eq(cur.fetchone(), (1,), 'connection usable after 08007')
    c.rollback()
    c.close()


@test(sluice_only=True, timeout=60)
def session_mode_client_is_disconnected_with_57p01():
    pg = harness.shared_pg()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='session')
    r = p.raw()
    r.startup(user='app', database='appdb', password='apppw', application_name='fo-session')
    r.query('BEGIN')
    harness.wait_for(lambda: terminate(pg, "application_name = 'fo-session'") == 1,
                     what='backend terminated')
    try:
        fields = r.expect_error(10)
    except harness.ConnectionClosed:
        raise AssertionError('closed without an ErrorResponse')
    if fields.get('C') not in ('57P01',):
        raise AssertionError('expected 57P01, got %r' % fields)


if __name__ == '__main__':
    harness.main()
