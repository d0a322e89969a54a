"""Reads to replicas, with real streaming replication: a multi-host entry
(host=127.0.0.1,127.0.0.2 target_session_attrs=read-write) and governance classes with
`route = replica` (reports) and `route = prefer-replica` (UI), plus `read_only_routing = 1`.
Where each transaction ran is asked of the server (pg_is_in_recovery()). A standby that lags
more than max_replica_lag, or is down, is taken out: prefer-replica runs on the primary, replica
waits and runs once the standby is back."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

GOV = """
[tenant.shop]
databases = appdb
max_server_conn = 6
[class.reports]
match = application_name:report*
route = replica
queue_timeout = 60s
[class.ui]
match = application_name:ui*
route = prefer-replica
[class.default]
"""


def setup(sync=True, **settings):
    primary, standby = harness.PgServer.replicated(sync=sync)
    primary.ensure_app()
    primary.psql('CREATE TABLE t (id serial PRIMARY KEY, v int)', db='appdb')
    primary.psql('GRANT ALL ON t TO app; GRANT ALL ON t_id_seq TO app', db='appdb')

    def there():
        try:
            return standby.scalar("SELECT count(*) FROM pg_class WHERE relname = 't'",
                                  db='appdb') == 1
        except psycopg2.Error:
            return False
    harness.wait_for(there, timeout=30, what='the table to reach the standby')
    entry = ('host=127.0.0.1,127.0.0.2 port=%d,%d dbname=appdb target_session_attrs=read-write'
             % (primary.port, standby.port))
    kw = dict(pool_mode='transaction', default_pool_size=6, failover_hold_timeout=30,
              health_check_period=0.5, read_only_routing=1, admin_users='admin',
              query_wait_timeout=60, userlist={'app': 'apppw', 'admin': 'adminpw'})
    kw.update(settings)
    p = harness.Pooler(None, databases={'appdb': entry}, extra_ini=GOV, **kw)
    harness.wait_for(lambda: roles(p) == {'127.0.0.1': ('primary', 'up'),
                                          '127.0.0.2': ('standby', 'up')},
                     timeout=30, what='the checker to see both hosts (now %r)' % roles(p))
    return primary, standby, p


def admin(p, sql):
    return p.admin_rows(sql)


def roles(p):
    try:
        return {r['host']: (r['role'], r['state']) for r in admin(p, 'SHOW HOSTS')}
    except psycopg2.Error:
        return {}


def on_standby(p, app, sql='SELECT pg_is_in_recovery()'):
    """Where one autocommit statement of application_name app ran: True on the standby."""
    c = p.connect(autocommit=True, application_name=app)
    try:
        cur = c.cursor()
        cur.execute(sql)
        return cur.fetchone()[0]
    finally:
        c.close()


@test(sluice_only=True, timeout=180)
def classes_route_to_standby_or_primary():
    primary, standby, p = setup()
    for _ in range(3):
        eq(on_standby(p, 'report-1'), True, 'route = replica runs on the standby')
        eq(on_standby(p, 'ui-1'), True, 'route = prefer-replica runs on the standby when it is up')
        eq(on_standby(p, 'checkout'), False, 'the default class runs on the primary')
    admin(p, 'SET CLASS reports route = primary')
    eq(on_standby(p, 'report-1'), False, 'SET CLASS reports route = primary: on the primary now')
    eq([r['route'] for r in admin(p, 'SHOW CLASS reports')], ['primary'], 'SHOW CLASS says so')
    admin(p, 'RESET CLASS reports route')
    eq(on_standby(p, 'report-1'), True, 'RESET CLASS: back to the standby')
    c = p.connect(application_name='checkout')
    cur = c.cursor()
    cur.execute('INSERT INTO t (v) VALUES (1) RETURNING pg_is_in_recovery()')
    eq(cur.fetchone()[0], False, 'writes go to the primary')
    c.commit()
    c.close()
    hosts = {r['host']: r for r in admin(p, 'SHOW HOSTS')}
    eq(hosts['127.0.0.2']['sv_idle'] + hosts['127.0.0.2']['sv_active'] >= 1, True,
       'server connections to the standby are listed under it')
    # A tenant's quota counts across the hosts: max_server_conn = 6 for both together.
    done, stop = [], threading.Event()

    def hold(app):
        c = p.connect(application_name=app)
        c.cursor().execute('SELECT pg_sleep(0)')  # the transaction stays open
        stop.wait(20)
        c.rollback()
        c.close()
        done.append(app)
    threads = [threading.Thread(target=hold, args=('report-%d' % i if i % 2 else 'checkout',))
               for i in range(10)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    n = (primary.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = 'appdb' "
                        "AND usename = 'app'") +
         standby.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = 'appdb' "
                        "AND usename = 'app'"))
    stop.set()
    for t in threads:
        t.join(30)
    eq(len(done), 10, 'the waiting ones ran once the others ended')
    print('RESULT 10 clients holding transactions (5 report, 5 checkout), tenant '
          'max_server_conn = 6: %d backends on primary + standby together' % n)
    if n > 6:
        raise AssertionError('the tenant quota was not shared across hosts: %d backends' % n)
    stats = admin(p, 'SHOW HOSTS')
    print('SHOW HOSTS after: %r' % [(r['host'], r['role'], r['sv_active'], r['sv_idle'])
                                     for r in stats])


@test(sluice_only=True, timeout=180)
def read_only_transactions_go_to_the_standby():
    primary, standby, p = setup()
    c = p.connect(application_name='checkout')
    c.set_session(readonly=True)  # psycopg2 opens each transaction with BEGIN ... READ ONLY
    cur = c.cursor()
    for _ in range(3):
        cur.execute('SELECT pg_is_in_recovery(), current_setting(\'transaction_read_only\')')
        eq(cur.fetchone(), (True, 'on'), 'a READ ONLY transaction runs on the standby')
        c.commit()
    c.set_session(readonly=False, isolation_level='REPEATABLE READ')
    cur.execute('INSERT INTO t (v) VALUES (2) RETURNING pg_is_in_recovery()')
    eq(cur.fetchone()[0], False, 'a read-write transaction on the same connection: primary')
    c.commit()
    c.close()
    c = p.connect(autocommit=True, application_name='checkout')
    cur = c.cursor()
    for begin in ('start transaction isolation level repeatable read, read only',
                  'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY DEFERRABLE',
                  '/* odoo */ begin read only'):
        cur.execute(begin)
        cur.execute('SELECT pg_is_in_recovery()')
        eq(cur.fetchone()[0], True, '%r runs on the standby' % begin)
        cur.execute('COMMIT')
    cur.execute('BEGIN')
    cur.execute('SELECT pg_is_in_recovery()')
    eq(cur.fetchone()[0], False, 'a plain BEGIN stays on the primary')
    cur.execute('COMMIT')
    c.close()


@test(sluice_only=True, timeout=180)
def lagging_standby_is_taken_out_until_it_catches_up():
    primary, standby, p = setup(sync=False, max_replica_lag=1)
    eq(on_standby(p, 'ui-1'), True, 'on the standby while it keeps up')
    standby.psql('SELECT pg_wal_replay_pause()')
    stop = threading.Event()

    def writer():
        c = primary.connect(db='appdb')
        while not stop.is_set():
            c.cursor().execute('INSERT INTO t (v) VALUES (3)')
            time.sleep(0.1)
        c.close()
    wt = threading.Thread(target=writer)
    wt.start()
    try:
        harness.wait_for(lambda: roles(p).get('127.0.0.2') == ('standby', 'lagging'),
                         timeout=20, what='the standby to show as lagging')
        eq(on_standby(p, 'ui-1'), False, 'prefer-replica falls back to the primary')
        result = {}

        def report():
            t0 = time.monotonic()
            result['standby'] = on_standby(p, 'report-1')
            result['waited'] = time.monotonic() - t0
        rt = threading.Thread(target=report)
        rt.start()
        time.sleep(2.0)
        eq(result, {}, 'route = replica waits while no standby qualifies')
        standby.psql('SELECT pg_wal_replay_resume()')
        rt.join(30)
        eq(result.get('standby'), True, 'and runs on the standby once it caught up')
        print('RESULT lagging standby: prefer-replica ran on the primary; a replica-routed '
              'transaction waited %.1f s and ran on the standby once it caught up'
              % result['waited'])
    finally:
        stop.set()
        wt.join(10)


@test(sluice_only=True, timeout=180)
def standby_down_then_back():
    primary, standby, p = setup(sync=False)
    eq(on_standby(p, 'report-1'), True, 'on the standby')
    standby.stop('immediate')
    harness.wait_for(lambda: roles(p).get('127.0.0.2', ('', ''))[1] == 'down', timeout=20,
                     what='the standby to show as down')
    eq(on_standby(p, 'ui-1'), False, 'prefer-replica runs on the primary while the standby is '
       'down')
    eq(on_standby(p, 'checkout'), False, 'the primary path is unaffected')
    result = {}

    def report():
        t0 = time.monotonic()
        try:
            result['standby'] = on_standby(p, 'report-2')
        except psycopg2.Error as e:
            result['error'] = '%s %s' % (e.pgcode, e)
        result['waited'] = time.monotonic() - t0
    rt = threading.Thread(target=report)
    rt.start()
    time.sleep(2.0)
    eq(result, {}, 'route = replica waits while the standby is down')
    standby.start()
    rt.join(60)
    eq(result.get('standby'), True, 'and runs on the standby once it is back: %r' % result)
    print('RESULT standby down: prefer-replica ran on the primary; a replica-routed transaction '
          'waited %.1f s and ran on the standby once it was back' % result['waited'])
    log = p.log()
    if 'standby down' not in log and 'server login failed' not in log and \
            'health check' not in log:
        raise AssertionError('nothing logged about the standby:\n%s' % p.log_tail())


if __name__ == '__main__':
    harness.main()
