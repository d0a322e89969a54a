"""Basic traffic through the pooler in each pool mode: psycopg2 and psql, simple queries,
transactions that commit and roll back, parameters, many rows, unicode."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

MODES = ('session', 'transaction', 'statement')


def _setup_table(pg):
    pg.psql('DROP TABLE IF EXISTS basic; CREATE TABLE basic (id int PRIMARY KEY, v text);'
            'ALTER TABLE basic OWNER TO app', db='appdb')


@test
def simple_queries_each_mode():
    pg = harness.shared_pg()
    for mode in MODES:
        p = harness.Pooler(pg, pool_mode=mode)
        conn = p.connect(autocommit=True)
        cur = conn.cursor()
        cur.execute('SELECT 1')
        eq(cur.fetchone(), (1,), mode)
        cur.execute('SELECT %s::int + %s::int, %s', (20, 22, 'héllo ✓'))
        eq(cur.fetchone(), (42, 'héllo ✓'), mode)
        cur.execute('SELECT g, md5(g::text) FROM generate_series(1, 5000) g')
        rows = cur.fetchall()
        eq(len(rows), 5000, mode + ' row count')
        eq(rows[-1][0], 5000, mode)
        cur.execute('SELECT current_user, current_database()')
        eq(cur.fetchone(), ('app', 'appdb'), mode)
        conn.close()
        p.cleanup()


@test
def transactions_commit_and_rollback():
    pg = harness.shared_pg()
    _setup_table(pg)
    for mode in ('session', 'transaction'):
        p = harness.Pooler(pg, pool_mode=mode, default_pool_size=2)
        conn = p.connect()
        cur = conn.cursor()
        cur.execute('DELETE FROM basic')
        cur.execute('INSERT INTO basic VALUES (1, %s)', ('committed',))
        conn.commit()
        cur.execute('INSERT INTO basic VALUES (2, %s)', ('rolled back',))
        conn.rollback()
        # a failed statement aborts the transaction; rollback makes the connection usable again
        try:
            cur.execute('INSERT INTO basic VALUES (1, %s)', ('duplicate',))
            raise AssertionError('duplicate key was accepted')
        except psycopg2.errors.UniqueViolation:
            conn.rollback()
        cur.execute('SELECT id, v FROM basic ORDER BY id')
        eq(cur.fetchall(), [(1, 'committed')], mode)
        conn.commit()
        # another client sees exactly the committed state
        eq(p.query('SELECT id, v FROM basic ORDER BY id'), [(1, 'committed')], mode + ' other client')
        # explicit BEGIN/COMMIT in autocommit mode, and SAVEPOINTs
        conn.autocommit = True
        cur.execute('BEGIN')
        cur.execute("UPDATE basic SET v = 'x' WHERE id = 1")
        cur.execute('SAVEPOINT s1')
        cur.execute("UPDATE basic SET v = 'y' WHERE id = 1")
        cur.execute('ROLLBACK TO SAVEPOINT s1')
        cur.execute('COMMIT')
        eq(p.query('SELECT v FROM basic WHERE id = 1'), [('x',)], mode + ' savepoint')
        conn.close()
        p.cleanup()


@test
def psql_client_each_mode():
    pg = harness.shared_pg()
    for mode in MODES:
        p = harness.Pooler(pg, pool_mode=mode)
        r = p.psql('SELECT 40 + 2')
        eq((r.returncode, r.stdout.strip()), (0, '42'), mode + ' psql: ' + r.stderr)
        # several statements in one simple Query message (psql -c sends them together)
        r = p.psql("SELECT 1; SELECT 'two'")
        eq((r.returncode, r.stdout.split()), (0, ['1', 'two']), mode + ' multi: ' + r.stderr)
        # a script from stdin-like -f with a transaction block (not in statement mode)
        if mode != 'statement':
            r = p.psql('BEGIN; CREATE TEMP TABLE tt (a int); INSERT INTO tt VALUES (7); '
                       'SELECT a FROM tt; COMMIT;')
            eq((r.returncode, r.stdout.splitlines()), (0, ['BEGIN', 'CREATE TABLE', 'INSERT 0 1', '7',
                                                      'COMMIT']), mode + ' txn: ' + r.stderr)
        # an SQL error reaches psql with its message and a non-zero exit status
        r = p.psql('SELECT 1/0')
        if r.returncode == 0 or 'division by zero' not in r.stderr:
            raise AssertionError('%s: expected division by zero, got rc=%d %r' % (mode, r.returncode,
                                                                                   r.stderr))
        p.cleanup()


@test
def many_sequential_clients():
    """Connect/disconnect churn on a small pool: server connections are reused, none leak."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    for i in range(200):
        conn = p.connect(autocommit=True)
        cur = conn.cursor()
        cur.execute('SELECT %s', (i,))
        eq(cur.fetchone(), (i,))
        conn.close()
    n = pg.backends(db='appdb', user='app')
    if n > 2:
        raise AssertionError('pool of size 2 holds %d server connections' % n)


@test
def error_does_not_poison_pool():
    """After a client's statement fails, the next client on the same server connection is fine."""
    pg = harness.shared_pg()
    for mode in ('session', 'transaction'):
        p = harness.Pooler(pg, pool_mode=mode, default_pool_size=1)
        conn = p.connect()
        cur = conn.cursor()
        try:
            cur.execute('SELECT * FROM no_such_table')
            raise AssertionError('query on a missing table succeeded')
        except psycopg2.errors.UndefinedTable:
            pass
        conn.close()  # closes inside the aborted transaction
        eq(p.query('SELECT 1'), [(1,)], mode)
        p.cleanup()


if __name__ == '__main__':
    harness.main()
