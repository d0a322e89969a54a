"""Protocol-level prepared statements in transaction mode (issue 6): max_prepared_statements with
PgBouncer's 1.21+ meaning. Raw-protocol pipelines (several statements, errors in the middle that skip
to Sync, Describe answers, Close, LRU eviction, DEALLOCATE), pgbench -M prepared, and real drivers —
psycopg 3, asyncpg, node-postgres (npm pg), JDBC (prepareThreshold=5) — each with many clients over
fewer server connections."""

import asyncio
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
JDBC_JAR = '/usr/share/java/postgresql.jar'
NODE_DIR = os.path.join(HERE, 'node')


# --- raw protocol helpers ---

def _parse(name, sql, types=()):
    return b'P', (name.encode() + b'\0' + sql.encode() + b'\0' + struct.pack('!H', len(types)) +
                  b''.join(struct.pack('!I', t) for t in types))


def _bind(stmt, params=(), portal=''):
    body = portal.encode() + b'\0' + stmt.encode() + b'\0' + struct.pack('!H', 0)
    body += struct.pack('!H', len(params))
    for v in params:
        if v is None:
            body += struct.pack('!i', -1)
        else:
            b = str(v).encode()
            body += struct.pack('!i', len(b)) + b
    return b'B', body + struct.pack('!H', 0)


def _execute(portal=''):
    return b'E', portal.encode() + b'\0' + struct.pack('!I', 0)


def _describe(kind, name):
    return b'D', kind + name.encode() + b'\0'


def _close(kind, name):
    return b'C', kind + name.encode() + b'\0'


SYNC = (b'S', b'')


def _send(raw, *msgs):
    raw.send(b''.join(harness.message(t, p) for t, p in msgs))


def _until_ready(raw):
    """Messages up to ReadyForQuery, as (type char, summary): data rows decoded, errors by code."""
    out = []
    while True:
        t, payload = raw.read_msg(10)
        t = t.decode()
        if t == 'D':
            n = struct.unpack('!H', payload[:2])[0]
            pos, row = 2, []
            for _ in range(n):
                ln = struct.unpack('!i', payload[pos:pos + 4])[0]
                pos += 4
                row.append(None if ln < 0 else payload[pos:pos + ln].decode())
                pos += max(ln, 0)
            out.append(('D', tuple(row)))
        elif t == 'E':
            out.append(('E', harness.parse_error_fields(payload).get('C')))
        elif t == 'C':
            out.append(('C', payload.rstrip(b'\0').decode()))
        elif t == 't':
            out.append(('t', struct.unpack('!H', payload[:2])[0]))
        elif t in 'ZN':
            if t == 'Z':
                out.append(('Z', payload.decode()))
                return out
        else:
            out.append((t, None))


def _raw(p):
    r = p.raw()
    r.startup('app', 'appdb', 'apppw')
    return r


@test(sluice_only=True)
def raw_pipelines_across_servers():
    """Two clients alternate on one server connection, then on two: statements prepared by one are
    used lazily wherever the next Bind runs; Describe, errors mid-pipeline, Close and DEALLOCATE."""
    pg = harness.shared_pg()
    for size in (1, 2):
        p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=size)
        a, b = _raw(p), _raw(p)
        _send(a, _parse('s1', 'SELECT $1::int + 1'), _describe(b'S', 's1'), SYNC)
        eq(_until_ready(a), [('1', None), ('t', 1), ('T', None), ('Z', 'I')], 'prepare s1')
        # b uses the same name for a different query: names are per client
        _send(b, _parse('s1', "SELECT 'b:' || $1::text"), SYNC)
        eq(_until_ready(b), [('1', None), ('Z', 'I')], 'b prepares its own s1')
        for i in range(4):
            _send(a, _bind('s1', [i]), _execute(), SYNC)
            eq(_until_ready(a), [('2', None), ('D', (str(i + 1),)), ('C', 'SELECT 1'), ('Z', 'I')],
               'a run %d' % i)
            _send(b, _bind('s1', [i]), _execute(), SYNC)
            eq(_until_ready(b), [('2', None), ('D', ('b:%d' % i,)), ('C', 'SELECT 1'), ('Z', 'I')],
               'b run %d' % i)
        # A pipeline of several statements with an error in the middle: the rest up to Sync is
        # skipped, the next Sync starts afresh.
        _send(a, _parse('s2', 'SELECT $1::int * 10'),
              _bind('s1', [1]), _execute(),
              _bind('s2', ['x']), _execute(),  # invalid input for int: error
              _bind('s2', [3]), _execute(),    # skipped by the server
              SYNC,
              _bind('s2', [4]), _execute(), SYNC)
        got = _until_ready(a) + _until_ready(a)
        eq(got, [('1', None), ('2', None), ('D', ('2',)), ('C', 'SELECT 1'), ('E', '22P02'),
                 ('Z', 'I'), ('2', None), ('D', ('40',)), ('C', 'SELECT 1'), ('Z', 'I')],
           'pipeline with an error (pool %d)' % size)
        # A Parse that fails (syntax error) does not leave a usable statement behind.
        _send(a, _parse('bad', 'SELEC 1'), _bind('bad'), _execute(), SYNC)
        eq(_until_ready(a), [('E', '42601'), ('Z', 'I')], 'bad parse')
        # Bind of a name the client never prepared: PostgreSQL's own error.
        _send(a, _bind('nosuch'), _execute(), SYNC)
        eq(_until_ready(a), [('E', '26000'), ('Z', 'I')], 'unknown statement')
        # Close, then the name is gone; re-Parse under the same name works.
        _send(a, _close(b'S', 's1'), SYNC)
        eq(_until_ready(a), [('3', None), ('Z', 'I')], 'close')
        _send(a, _bind('s1', [1]), _execute(), SYNC)
        eq(_until_ready(a), [('E', '26000'), ('Z', 'I')], 'closed statement')
        _send(a, _parse('s1', 'SELECT $1::int - 1'), _bind('s1', [1]), _execute(), SYNC)
        eq(_until_ready(a), [('1', None), ('2', None), ('D', ('0',)), ('C', 'SELECT 1'),
                             ('Z', 'I')], 're-parse')
        # DEALLOCATE by SQL (psycopg 3 does this) is honoured.
        rows, err = a.query('DEALLOCATE s1')
        eq(err, None, 'DEALLOCATE')
        _send(a, _bind('s1', [1]), _execute(), SYNC)
        eq(_until_ready(a), [('E', '26000'), ('Z', 'I')], 'deallocated statement')
        # Inside an explicit transaction block, statements work the same.
        _send(b, (b'Q', b'BEGIN\0'))
        _until_ready(b)
        _send(b, _bind('s1', [7]), _execute(), SYNC)
        eq(_until_ready(b), [('2', None), ('D', ('b:7',)), ('C', 'SELECT 1'), ('Z', 'T')],
           'in a block')
        _send(b, (b'Q', b'COMMIT\0'))
        _until_ready(b)
        a.close()
        b.close()
        # Nothing of sluice's leaks as a client-visible statement name on the server beyond its own.
        names = pg.scalar("SELECT string_agg(name, ',') FROM pg_prepared_statements") or ''
        del names
        p.cleanup()


@test(sluice_only=True)
def lru_eviction_with_small_cache():
    """max_prepared_statements = 3 with 8 statements in use by 4 clients on 1 server connection:
    evicted statements are closed and prepared again on demand."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, max_prepared_statements=3)
    clients = [_raw(p) for _ in range(4)]
    for k, c in enumerate(clients):
        for j in range(8):
            _send(c, _parse('q%d' % j, 'SELECT %d + $1::int' % (j * 100)), SYNC)
            eq(_until_ready(c)[-1], ('Z', 'I'), 'prepare')
    for rnd in range(3):
        for k, c in enumerate(clients):
            for j in range(8):
                _send(c, _bind('q%d' % j, [k]), _execute(), SYNC)
                eq(_until_ready(c), [('2', None), ('D', (str(j * 100 + k),)), ('C', 'SELECT 1'),
                                     ('Z', 'I')], 'client %d q%d round %d' % (k, j, rnd))
    n = int(pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = 'appdb' "
                      "AND usename = 'app' AND backend_type = 'client backend'"))
    eq(n, 1, 'server connections')
    for c in clients:
        c.close()


_bench_ready = []


def _bench_pg():
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


@test(timeout=300, sluice_only=True)
def pgbench_prepared_transaction_mode():
    """pgbench -M prepared: 20 clients on 4 server connections, 0 failed transactions. One thread
    per client: pgbench prepares with the synchronous PQprepare, so a thread whose client waits
    for a server connection would stall its other clients, which hold the connections (a
    pgbench limitation with any transaction pooler)."""
    pg = _bench_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=4)
    for args in (['-M', 'prepared'], ['-M', 'prepared', '-S']):
        r = p.pgbench(['-c', '20', '-j', '20', '-t', '200', '-n'] + args, dbname='bench')
        out = r.stdout + r.stderr
        if r.returncode != 0:
            raise AssertionError('pgbench failed:\n' + out[-2000:])
        m = re.search(r'number of transactions actually processed: (\d+)/(\d+)', out)
        if not m or m.group(1) != m.group(2) or int(m.group(1)) != 4000:
            raise AssertionError('not all transactions processed:\n' + out)
        m = re.search(r'number of failed transactions: (\d+)', out)
        if m and int(m.group(1)):
            raise AssertionError('failed transactions:\n' + out)
    if pg.backends(db='bench', user='app') > 4:
        raise AssertionError('more than 4 server connections')


def _psycopg_worker(dsn, n, errors):
    import psycopg
    try:
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=2) as conn:
            conn.prepared_max = 4  # small: psycopg sends DEALLOCATE for the ones it drops
            for i in range(n):
                k = i % 7
                row = conn.execute('SELECT %s::int + ' + str(k), (i,)).fetchone()
                eq(row[0], i + k, 'psycopg result')
                row = conn.execute('SELECT %s::text || %s::text', ('a', str(i)),
                                   prepare=True).fetchone()
                eq(row[0], 'a%d' % i, 'psycopg prepare=True')
                if i % 10 == 0:
                    with conn.transaction():
                        eq(conn.execute('SELECT %s::int', (i,), prepare=True).fetchone()[0], i,
                           'in a transaction')
    except Exception as e:  # noqa: BLE001
        errors.append(e)


@test(timeout=180, sluice_only=True)
def psycopg3_prepared():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)
    dsn = p.dsn()
    errors = []
    ts = [threading.Thread(target=_psycopg_worker, args=(dsn, 60, errors)) for _ in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    if errors:
        raise errors[0]
    if pg.backends(db='appdb', user='app') > 3:
        raise AssertionError('more than 3 server connections')


@test(timeout=180, sluice_only=True)
def asyncpg_prepared():
    """asyncpg prepares every query (named statements, Describe, Bind): 16 connections, pool of 3."""
    import asyncpg
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)

    async def worker(k):
        conn = await asyncpg.connect(host='127.0.0.1', port=p.port, user='app', password='apppw',
                                     database='appdb')
        try:
            for i in range(40):
                v = await conn.fetchval('SELECT $1::int + %d' % (i % 5), i)
                eq(v, i + i % 5, 'fetchval')
                rows = await conn.fetch('SELECT g, $1::text FROM generate_series(1, 3) g', str(k))
                eq([tuple(r) for r in rows], [(1, str(k)), (2, str(k)), (3, str(k))], 'fetch')
                stmt = await conn.prepare('SELECT $1::int * 2')
                eq(await stmt.fetchval(i), 2 * i, 'prepared')
                if i % 8 == 0:
                    async with conn.transaction():
                        eq(await conn.fetchval('SELECT $1::int', i), i, 'in a transaction')
        finally:
            await conn.close()

    async def main():
        await asyncio.gather(*[worker(k) for k in range(16)])

    asyncio.run(main())
    if pg.backends(db='appdb', user='app') > 3:
        raise AssertionError('more than 3 server connections')


NODE_SCRIPT = r"""
const { Client } = require('pg');
async function worker(k) {
  const c = new Client({ host: '127.0.0.1', port: +process.env.PORT, user: 'app',
                         password: 'apppw', database: 'appdb' });
  await c.connect();
  for (let i = 0; i < 50; i++) {
    const r = await c.query({ name: 'add' + (i % 6), text: 'SELECT $1::int + ' + (i % 6) + ' AS v',
                              values: [i] });
    if (r.rows[0].v !== i + (i % 6)) throw new Error('bad result ' + JSON.stringify(r.rows));
    const r2 = await c.query({ name: 'who', text: 'SELECT $1::text AS w', values: ['c' + k] });
    if (r2.rows[0].w !== 'c' + k) throw new Error('bad who');
  }
  await c.end();
}
Promise.all([...Array(16).keys()].map(worker)).then(() => { console.log('ok'); },
  (e) => { console.error(e); process.exit(1); });
"""


@test(timeout=180, sluice_only=True)
def node_pg_named_queries():
    """node-postgres prepares a named query once per connection and then only Binds it."""
    if not os.path.isdir(os.path.join(NODE_DIR, 'node_modules', 'pg')):
        harness.skip('npm pg not installed (scripts/deps.sh installs it in tests/integration/node)')
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)
    script = os.path.join(NODE_DIR, 'named.js')
    with open(script, 'w') as f:
        f.write(NODE_SCRIPT)
    try:
        r = subprocess.run(['node', script], cwd=NODE_DIR, env=dict(os.environ, PORT=str(p.port)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=150)
    finally:
        os.unlink(script)
    if r.returncode != 0 or 'ok' not in r.stdout:
        raise AssertionError('node-postgres failed:\n' + r.stdout[-3000:])


JAVA_SRC = r"""
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;

public class Check {
  public static void main(String[] a) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + a[0] + "/appdb?prepareThreshold=5";
    ExecutorService ex = Executors.newFixedThreadPool(12);
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < 12; t++) {
      final int k = t;
      fs.add(ex.submit(() -> {
        try (Connection c = DriverManager.getConnection(url, "app", "apppw")) {
          for (int i = 0; i < 40; i++) {
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + " + (i % 3))) {
              for (int j = 0; j < 8; j++) {   // executions 6..8 use a named server statement
                ps.setInt(1, j);
                try (ResultSet rs = ps.executeQuery()) {
                  rs.next();
                  if (rs.getInt(1) != j + i % 3) throw new RuntimeException("bad result");
                }
              }
            }
            if (i % 10 == 0) {
              c.setAutoCommit(false);
              try (PreparedStatement ps = c.prepareStatement("SELECT ?::text")) {
                for (int j = 0; j < 7; j++) {
                  ps.setString(1, "t" + k);
                  try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getString(1).equals("t" + k)) throw new RuntimeException("bad text");
                  }
                }
              }
              c.commit();
              c.setAutoCommit(true);
            }
          }
        } catch (Exception e) { throw new RuntimeException(e); }
        return null;
      }));
    }
    for (Future<?> f : fs) f.get();
    ex.shutdown();
    System.out.println("ok");
  }
}
"""


@test(timeout=240, sluice_only=True)
def jdbc_prepare_threshold():
    if not os.path.exists(JDBC_JAR) or not shutil.which('java'):
        harness.skip('JDBC driver or java missing (scripts/deps.sh installs them)')
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3,
                       ignore_startup_parameters='extra_float_digits')
    d = tempfile.mkdtemp(prefix='sluice-jdbc-')
    try:
        src = os.path.join(d, 'Check.java')
        with open(src, 'w') as f:
            f.write(JAVA_SRC)
        r = subprocess.run(['java', '-cp', JDBC_JAR, src, str(p.port)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=220)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if r.returncode != 0 or 'ok' not in r.stdout:
        raise AssertionError('JDBC failed:\n' + r.stdout[-3000:])
    if pg.backends(db='appdb', user='app') > 3:
        raise AssertionError('more than 3 server connections')


if __name__ == '__main__':
    harness.main()
