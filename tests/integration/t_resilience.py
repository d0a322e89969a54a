"""Failures around the pooler: a client killed mid-transaction (its row lock must be released), clients
vanishing while queued, PostgreSQL restarted under a running pooler, a backend terminated mid-query,
and a database entry pointing at a port where nothing listens."""

import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import ConnectionClosed, PgError, check_sqlstate, eq, test  # noqa: E402


def lock_table(pg):
    pg.psql('DROP TABLE IF EXISTS res_lock; CREATE TABLE res_lock (id int PRIMARY KEY, v int);'
            'INSERT INTO res_lock VALUES (1, 0); ALTER TABLE res_lock OWNER TO app', db='appdb')


def wait_idle_in_transaction(pg, app):
    harness.wait_for(lambda: pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                                       " AND state = 'idle in transaction'", args=(app,)),
                     timeout=15, what='the locker to hold its transaction')


def update_row_within(p, seconds):
    """Update row 1 with lock_timeout = seconds; returns the elapsed time."""
    conn = p.connect()
    cur = conn.cursor()
    t0 = time.monotonic()
    cur.execute("SET LOCAL lock_timeout = '%ds'" % seconds)
    try:
        cur.execute('UPDATE res_lock SET v = v + 10 WHERE id = 1')
    except psycopg2.errors.LockNotAvailable:
        raise AssertionError('row lock of the dead client still held after %ds' % seconds)
    conn.commit()
    conn.close()
    return time.monotonic() - t0


@test(timeout=120)
def killed_psql_releases_row_lock():
    pg = harness.shared_pg()
    lock_table(pg)
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    env = harness._client_env('apppw', {'PGAPPNAME': 'locker'})
    psql = subprocess.Popen([harness.PSQL, '-X', '-q', '-h', '127.0.0.1', '-p', str(p.port), '-U', 'app',
                             'appdb'], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        psql.stdin.write(b'BEGIN;\nUPDATE res_lock SET v = v + 1 WHERE id = 1;\n')
        psql.stdin.flush()
        wait_idle_in_transaction(pg, 'locker')
    finally:
        psql.send_signal(signal.SIGKILL)
        psql.wait()
    update_row_within(p, 10)
    eq(pg.scalar('SELECT v FROM res_lock WHERE id = 1', db='appdb'), 10, "row (the killed client's "
       'update rolled back)')
    eq(p.query('SELECT 1'), [(1,)], 'pool keeps serving')


@test(timeout=120)
def vanished_raw_clients_release_row_lock():
    """The same with a raw client that closes (FIN) or resets (RST) its socket mid-transaction."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    for reset in (False, True):
        lock_table(pg)
        c = p.raw()
        c.startup('app', 'appdb', 'apppw', application_name='raw_locker')
        eq(c.query('BEGIN')[1], None, 'BEGIN')
        eq(c.query('UPDATE res_lock SET v = v + 1 WHERE id = 1')[1], None, 'UPDATE')
        wait_idle_in_transaction(pg, 'raw_locker')
        c.close(reset=reset)
        update_row_within(p, 10)
        eq(pg.scalar('SELECT v FROM res_lock WHERE id = 1', db='appdb'), 10, 'row (reset=%s)' % reset)
    eq(p.query('SELECT 1'), [(1,)], 'pool keeps serving')


@test(timeout=120)
def queued_clients_vanish():
    """Thirty clients queue for the single server connection and then disappear (half FIN, half RST):
    the pooler drops them from the queue, and the next client is served on the same server
    connection (a vanished waiter must not cost a server connection)."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    hold = p.connect()
    cur = hold.cursor()
    cur.execute('SELECT pg_backend_pid()')  # holds the only server connection
    server_pid = cur.fetchone()[0]
    waiting = []
    for i in range(30):
        c = p.raw()
        c.startup('app', 'appdb', 'apppw')
        c.send_msg(b'Q', b'SELECT 1\0')
        waiting.append(c)
    time.sleep(0.3)
    for i, c in enumerate(waiting):
        c.close(reset=bool(i % 2))
    time.sleep(0.5)
    hold.commit()
    hold.close()
    t0 = time.monotonic()
    eq(p.query('SELECT pg_backend_pid()'), [(server_pid,)], 'server connection of the next client')
    waited = time.monotonic() - t0
    if waited > 10:
        raise AssertionError('new client waited %.1fs' % waited)
    if pg.backends(db='appdb', user='app') > 1:
        raise AssertionError('more than one server connection on a pool of 1')


@test(timeout=180)
def postgres_restart_under_pooler():
    pg = harness.PgServer()  # private: this test restarts it
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    idle = p.connect(autocommit=True)
    with idle.cursor() as cur:
        cur.execute('SELECT 1')
    eq(pg.backends(db='appdb'), 1, 'server connections before restart')
    pg.restart('fast')  # like pg_ctl restart -m fast
    # the pooler noticed its server connection died; the idle client gets a fresh one
    with idle.cursor() as cur:
        cur.execute('SELECT 2')
        eq(cur.fetchone(), (2,), 'idle client after restart')
    eq(p.query('SELECT 3'), [(3,)], 'new client after restart')
    idle.close()


@test(timeout=120)
def backend_terminated_mid_query():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    victim = p.connect(autocommit=True, application_name='victim')
    bystander = p.connect(autocommit=True)
    result = {}

    def run():
        try:
            victim.cursor().execute('SELECT pg_sleep(30)')
            result['ok'] = True
        except psycopg2.Error as e:
            result['error'] = e

    t = threading.Thread(target=run)
    t.start()
    pid = harness.wait_for(lambda: pg.scalar("SELECT pid FROM pg_stat_activity WHERE application_name ="
                                             " 'victim' AND state = 'active'"),
                           timeout=15, what='the victim query')
    pg.psql('SELECT pg_terminate_backend(%d)' % pid)
    t.join(20)
    if t.is_alive() or 'error' not in result:
        raise AssertionError('victim got no error after its backend was terminated: %r' % result)
    with bystander.cursor() as cur:
        cur.execute('SELECT 6')
        eq(cur.fetchone(), (6,), 'bystander')
    eq(p.query('SELECT 7'), [(7,)], 'new client')


@test(timeout=120)
def server_unreachable():
    """A database entry pointing where nothing listens: the client gets an error (sluice: 08006)
    in bounded time, and the pooler keeps serving other databases."""
    pg = harness.shared_pg()
    dead_port = harness.free_port()
    # sluice holds transactions for an unreachable server (failover_hold_timeout): keep it short
    extra = {} if harness.is_pgbouncer() else {'failover_hold_timeout': 3}
    p = harness.Pooler(pg, pool_mode='transaction', query_wait_timeout=5, server_connect_timeout=2,
                       databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port,
                                  'deaddb': 'host=127.0.0.1 port=%d dbname=appdb' % dead_port},
                       **extra)
    c = p.raw(timeout=30)
    t0 = time.monotonic()
    try:
        c.startup('app', 'deaddb', 'apppw')
        rows, fields = c.query('SELECT 1', timeout=30)
        if fields is None:
            raise AssertionError('query on an unreachable server succeeded')
    except PgError as e:
        fields = e.fields
    except ConnectionClosed:
        raise AssertionError('closed without an ErrorResponse')
    # PgBouncer: "pgbouncer cannot connect to server" with 08P01
    check_sqlstate(fields, '08006', pgbouncer='08P01', what='unreachable server')
    if time.monotonic() - t0 > 25:
        raise AssertionError('error took %.0fs' % (time.monotonic() - t0))
    eq(p.query('SELECT 8'), [(8,)], 'other database')


if __name__ == '__main__':
    harness.main()
