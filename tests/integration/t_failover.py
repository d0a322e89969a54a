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


if __name__ == '__main__':
    harness.main()
