"""Pool modes: pgbench (simple and extended protocol) in session, transaction and statement mode;
statement mode refuses transaction blocks; transaction mode keeps each client's startup parameters and
session-level SETs of tracked parameters; session mode runs server_reset_query between clients."""

import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

_bench_ready = []


def bench_pg():
    """The shared server with a pgbench-initialised database `bench` owned by app."""
    pg = harness.shared_pg()
    if not _bench_ready:
        pg.create_database('bench', owner='app')
        r = subprocess.run([harness.PGBENCH, '-i', '-s', '1', '-q', '-h', pg.dir, '-p', str(pg.port),
                            '-U', 'app', 'bench'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError('pgbench -i failed: ' + r.stdout)
        _bench_ready.append(True)
    return pg


def run_bench(p, args, clients=20, txns=200):
    r = p.pgbench(['-c', str(clients), '-j', '2', '-t', str(txns), '-n'] + args, dbname='bench')
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise AssertionError('pgbench %s exited %d:\n%s' % (' '.join(args), r.returncode, out[-2000:]))
    m = re.search(r'number of transactions actually processed: (\d+)/(\d+)', out)
    if not m or m.group(1) != m.group(2) or int(m.group(1)) != clients * txns:
        raise AssertionError('pgbench %s did not process all transactions:\n%s' % (' '.join(args), out))
    m = re.search(r'number of failed transactions: (\d+)', out)
    if m and int(m.group(1)) != 0:
        raise AssertionError('pgbench reported failed transactions:\n' + out)


@test(timeout=300)
def pgbench_session_mode():
    pg = bench_pg()
    p = harness.Pooler(pg, pool_mode='session', default_pool_size=20)
    run_bench(p, ['-M', 'extended'])
    run_bench(p, ['-M', 'simple'])


@test(timeout=300)
def pgbench_transaction_mode():
    """20 clients on 5 server connections: each transaction may run on a different server."""
    pg = bench_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=5)
    run_bench(p, ['-M', 'extended'])
    run_bench(p, ['-M', 'simple'])
    n = pg.backends(db='bench', user='app')
    if n > 5:
        raise AssertionError('pool of 5 opened %d server connections' % n)


@test(timeout=300)
def pgbench_statement_mode():
    """Statement mode carries single-statement transactions (pgbench's select-only script)."""
    pg = bench_pg()
    p = harness.Pooler(pg, pool_mode='statement', default_pool_size=5)
    run_bench(p, ['-S', '-M', 'extended'])
    run_bench(p, ['-S', '-M', 'simple'])


@test
def statement_mode_refuses_transaction_block():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='statement', default_pool_size=2)
    conn = p.connect(autocommit=False)  # psycopg2 sends BEGIN before the first statement
    try:
        conn.cursor().execute('SELECT 1')
        conn.cursor().execute('SELECT 2')
        raise AssertionError('a transaction block was accepted in statement mode')
    except psycopg2.Error:
        pass
    finally:
        try:
            conn.close()
        except psycopg2.Error:
            pass
    # psql sends each -c as its own Query: BEGIN leaves the transaction open
    r = p.psql(None, args=['-c', 'BEGIN', '-c', 'SELECT 1', '-c', 'COMMIT'])
    if r.returncode == 0:
        raise AssertionError('psql transaction block accepted in statement mode: ' + r.stdout)
    # one Query holding several statements is an implicit transaction that ends idle: allowed
    r = p.psql('SELECT 1; SELECT 2')
    eq((r.returncode, r.stdout.split()), (0, ['1', '2']), 'multi-statement query: ' + r.stderr)
    # single statements keep working for other clients
    eq(p.query('SELECT 1'), [(1,)])


def _with_env(env, fn):
    """Run fn() with extra environment variables set (libpq reads PGTZ/PGDATESTYLE at connect)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _show(conn, name):
    with conn.cursor() as cur:
        cur.execute('SHOW ' + name)
        return cur.fetchone()[0]


@test
def transaction_mode_keeps_startup_parameters():
    """Two clients alternate on one server connection; each sees its own application_name, TimeZone
    and DateStyle from its startup packet."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    # psycopg2 sends SET DateStyle TO 'ISO' unless the style already starts with ISO: vary the order
    a = _with_env({'PGTZ': 'Asia/Tokyo', 'PGDATESTYLE': 'ISO, DMY'},
                  lambda: p.connect(autocommit=True, application_name='client_a'))
    b = _with_env({'PGTZ': 'America/New_York', 'PGDATESTYLE': 'ISO, YMD'},
                  lambda: p.connect(autocommit=True, application_name='client_b'))
    pid = None
    for i in range(4):
        for conn, app, tz, ds in ((a, 'client_a', 'Asia/Tokyo', 'ISO, DMY'),
                                  (b, 'client_b', 'America/New_York', 'ISO, YMD')):
            eq(_show(conn, 'application_name'), app, 'round %d application_name' % i)
            eq(_show(conn, 'TimeZone'), tz, 'round %d %s TimeZone' % (i, app))
            eq(_show(conn, 'DateStyle'), ds, 'round %d %s DateStyle' % (i, app))
            with conn.cursor() as cur:
                cur.execute('SELECT pg_backend_pid()')
                bp = cur.fetchone()[0]
            if pid is None:
                pid = bp
            eq(bp, pid, 'both clients share the single server connection')
    a.close()
    b.close()


@test
def transaction_mode_set_application_name_sticks():
    """A session-level SET of a tracked parameter outside a transaction follows the client."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    a = p.connect(autocommit=True, application_name='a0')
    b = p.connect(autocommit=True, application_name='b0')
    a.cursor().execute("SET application_name = 'a_changed'")
    eq(_show(b, 'application_name'), 'b0', 'b after a SET')
    eq(_show(a, 'application_name'), 'a_changed', 'a after b ran')
    b.cursor().execute("SET TimeZone = 'Europe/Paris'")
    eq(_show(a, 'TimeZone'), 'Etc/UTC', 'a TimeZone after b SET')
    eq(_show(b, 'TimeZone'), 'Europe/Paris', 'b TimeZone after a ran')
    eq(_show(a, 'application_name'), 'a_changed', 'a again')
    a.close()
    b.close()


@test
def session_mode_runs_reset_query():
    """Client A's session state (temp table, SET work_mem) is gone for client B on the same server."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='session', default_pool_size=1)
    a = p.connect(autocommit=True)
    cur = a.cursor()
    cur.execute('SELECT pg_backend_pid()')
    pid_a = cur.fetchone()[0]
    cur.execute("SET work_mem = '7MB'")
    cur.execute('CREATE TEMP TABLE a_private (x int)')
    cur.execute('PREPARE a_stmt AS SELECT 1')
    a.close()
    b = p.connect(autocommit=True)
    cur = b.cursor()
    cur.execute('SELECT pg_backend_pid()')
    eq(cur.fetchone()[0], pid_a, 'B reuses the server connection of A')
    eq(_show(b, 'work_mem'), '4MB', 'work_mem after reset')
    cur.execute("SELECT count(*) FROM pg_class WHERE relname = 'a_private'")
    eq(cur.fetchone()[0], 0, 'temp table of A visible to B')
    cur.execute('SELECT count(*) FROM pg_prepared_statements')
    eq(cur.fetchone()[0], 0, 'prepared statements left by A')
    b.close()


@test
def transaction_mode_concurrent_clients_share_pool():
    """Many threads with autocommit statements and short transactions on a pool of 2."""
    pg = harness.shared_pg()
    pg.psql('DROP TABLE IF EXISTS counters; CREATE TABLE counters (id int PRIMARY KEY, n int);'
            'INSERT INTO counters SELECT g, 0 FROM generate_series(1, 8) g;'
            'ALTER TABLE counters OWNER TO app', db='appdb')
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    errors = []

    def worker(i):
        try:
            conn = p.connect()
            cur = conn.cursor()
            for _ in range(50):
                cur.execute('UPDATE counters SET n = n + 1 WHERE id = %s', (i % 8 + 1,))
                conn.commit()
            conn.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError('client errors: %s' % errors[:3])
    eq(pg.scalar('SELECT sum(n) FROM counters', db='appdb'), 16 * 50, 'committed updates')
    if pg.backends(db='appdb', user='app') > 2:
        raise AssertionError('more than 2 server connections for a pool of 2')


if __name__ == '__main__':
    harness.main()
