"""sluice-bench (bench/sluice-bench) against a real PostgreSQL 15: a 10-second multi-workload
scenario whose report must agree with what the server counted (pg_stat_database.xact_commit),
errors and retries by SQLSTATE, and a short run through sluice itself.

sluice-bench is looked for next to the sluice binary (the build puts build/sluice-bench beside
build/sluice), or at $SLUICE_BENCH."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

SANITIZER_PATTERNS = harness.SANITIZER_PATTERNS


def bench_binary():
    cand = os.environ.get('SLUICE_BENCH')
    if not cand and harness.OPTS.binary:
        cand = os.path.join(os.path.dirname(os.path.abspath(harness.OPTS.binary)), 'sluice-bench')
    if not cand or not os.access(cand, os.X_OK):
        harness.skip('sluice-bench not found (next to the sluice binary or $SLUICE_BENCH)')
    return cand


class Workdir:
    """A temp dir for one scenario and its scripts, removed at the end of the test."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='sluice-bench-t-')
        os.chmod(self.dir, 0o755)

    def put(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def cleanup(self):
        if not harness.OPTS.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def run_bench(args, password='apppw', timeout=120):
    env = harness._client_env(password)
    r = subprocess.run([bench_binary()] + args, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    for pat in SANITIZER_PATTERNS:
        if pat in r.stderr:
            raise AssertionError('sanitizer report from sluice-bench:\n' + r.stderr[-3000:])
    if r.returncode != 0:
        raise AssertionError('sluice-bench %s exited %d:\n%s\n%s' % (args[0], r.returncode,
                                                                     r.stdout[-2000:], r.stderr[-3000:]))
    return r


def xact_commits(pg, dbs):
    """xact_commit of each database once the counters have settled (backends flush them when
    they exit, which is a moment after the client has gone)."""
    sql = 'SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY(%s)'
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn = pg.connect()
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT pg_stat_clear_snapshot()')
                cur.execute(sql, (list(dbs),))
                now = dict(cur.fetchall())
        finally:
            conn.close()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.5:
            return now
        time.sleep(0.25)
    return last


def commits_per_connection(pg, db):
    """What one login + logout adds to xact_commit (the backend's own catalog transactions)."""
    before = xact_commits(pg, [db])[db]
    for _ in range(10):
        c = harness.psycopg2.connect(host='127.0.0.1', port=pg.port, user='app', password='apppw',
                                     dbname=db)
        c.close()
    after = xact_commits(pg, [db])[db]
    per = (after - before) / 10.0
    if per != int(per):
        raise AssertionError('connections add a fractional number of commits: %r' % per)
    return int(per)


SCHEMA = """
DROP TABLE IF EXISTS account, move;
CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL DEFAULT 0);
CREATE TABLE move (id bigserial PRIMARY KEY, account int NOT NULL, amount int NOT NULL,
                   ledger bigint NOT NULL);
INSERT INTO account SELECT g, 0 FROM generate_series(1, 20 * :scale) g;
"""

# Short REPEATABLE READ transactions on 3 hot rows: concurrent updates fail with 40001 and are
# retried, so retries and rollbacks are part of what the counts must agree on.
PAY = r"""\set acct random(1, 3)
\set amount random(1, 100)
BEGIN ISOLATION LEVEL REPEATABLE READ;
UPDATE account SET balance = balance + :amount WHERE id = :acct;
INSERT INTO move (account, amount, ledger) VALUES (:acct, :amount, :ledger_id);
COMMIT;
"""

READ = r"""\set acct random(1, 20 * :scale)
SELECT balance FROM account WHERE id = :acct;
"""


def setup_pg():
    pg = harness.PgServer(settings={'autovacuum': 'off'})
    pg.ensure_app()
    for db in ('bench_a', 'bench_b'):
        pg.create_database(db, owner='app')
    return pg


@test(timeout=180)
def report_counts_match_server():
    pg = setup_pg()
    wd = Workdir()
    try:
        wd.put('schema.sql', SCHEMA)
        wd.put('pay.sql', PAY)
        wd.put('read.sql', READ)
        ini = wd.put('s.ini', """[scenario]
duration = 10s
warmup = 1s
seed = 3
init = schema.sql
threads = 2

[workload.pay]
database = bench_a
application_name = pay
clients = 3
rate = 80                 ; open loop
protocol = extended
retry = 40001, 40P01
retry_backoff = 5ms
ledger = yes
script = pay.sql

[workload.read]
database = bench_b
clients = 2
think_time = 5ms          ; closed loop
protocol = simple
script = read.sql

[workload.churn]
database = bench_a
clients = 1
think_time = 200ms
reconnect = yes
script = read.sql
""")
        common = ['-h', '127.0.0.1', '-p', str(pg.port), '-U', 'app']
        run_bench(['init', ini] + common)
        eq(pg.scalar('SELECT count(*) FROM account', db='bench_b'), 20, 'init loaded bench_b')
        per_conn = commits_per_connection(pg, 'bench_a')
        before = xact_commits(pg, ['bench_a', 'bench_b'])
        out = os.path.join(wd.dir, 'out')
        t0 = time.monotonic()
        run_bench(['run', ini, '--out', out] + common)
        took = time.monotonic() - t0
        after = xact_commits(pg, ['bench_a', 'bench_b'])
        with open(os.path.join(out, 'report.json')) as f:
            rep = json.load(f)
        wl = rep['workloads']
        if not 10.5 <= took <= 40:
            raise AssertionError('a 1 s warmup + 10 s run took %.1f s' % took)

        # every committed transaction, and every login, is what the server counted
        for db in ('bench_a', 'bench_b'):
            mine = [w for w in wl.values() if w['database'] == db]
            txns = sum(w['committed'] + w['warmup_committed'] for w in mine)
            conns = sum(w['connections'] for w in mine)
            if db == 'bench_a':
                conns += rep['probe_connections']  # the login that read server_version
            expect = txns + per_conn * conns
            eq(after[db] - before[db], expect,
               '%s xact_commit delta (transactions %d, connections %d x %d)'
               % (db, txns, conns, per_conn))
        # and what the transactions wrote: one move row per committed pay transaction
        moves = pg.scalar('SELECT count(*) FROM move', db='bench_a')
        eq(moves, wl['pay']['committed'] + wl['pay']['warmup_committed'], 'rows written by pay')
        with open(os.path.join(out, 'ledger-pay.txt')) as f:
            ledger = [int(x) for x in f.read().split()]
        eq(len(ledger), wl['pay']['committed'], 'ledger lines (measured window)')
        in_db = set(r[0] for r in pg.psql('SELECT ledger FROM move', db='bench_a'))
        missing = [x for x in ledger if x not in in_db]
        eq(missing, [], 'acknowledged ledger ids missing from the table')

        pay, read, churn = wl['pay'], wl['read'], wl['churn']
        if not 0.75 * 80 <= pay['tps'] <= 1.25 * 80:
            raise AssertionError('open loop at 80 tps achieved %.1f' % pay['tps'])
        eq(pay['mode'], 'open', 'pay mode')
        eq(read['mode'], 'closed', 'read mode')
        for name, w in wl.items():
            lat = w['latency_ms']
            if not (0 < lat['p50'] <= lat['p95'] <= lat['p99'] <= lat['max']):
                raise AssertionError('%s: percentiles out of order: %r' % (name, lat))
            eq(w['abandoned'], 0, name + ' abandoned')
            for code in w['errors']:
                if name != 'pay' or code not in ('40001', '40P01'):
                    raise AssertionError('%s: unexpected errors %r %r' % (name, w['errors'],
                                                                          w['error_messages']))
            if abs(w['tps'] - w['committed'] / rep['scenario']['measured_s']) > 0.01:
                raise AssertionError('%s: tps is not committed / measured seconds' % name)
        eq(sum(pay['retries_by_sqlstate'].values()), pay['retries'], 'retries by SQLSTATE add up')
        if churn['connections'] < churn['committed']:
            raise AssertionError('reconnect = yes: %d connections for %d transactions'
                                 % (churn['connections'], churn['committed']))
        if not rep['versions']['postgresql'].startswith('15.'):
            raise AssertionError('server version: %r' % rep['versions'])
        eq(rep['scenario']['seed'], 3, 'seed in the report')
        # one timeline point per second, roughly
        if not 10 <= len(pay['timeline']) <= 14:
            raise AssertionError('timeline has %d points' % len(pay['timeline']))
        md = open(os.path.join(out, 'report.md')).read()
        for needle in ('| pay | bench_a | open |', '| read | bench_b | closed |', 'PostgreSQL 15.'):
            if needle not in md:
                raise AssertionError('report.md lacks %r' % needle)
        if shutil.which('gnuplot'):
            for png in ('latency-p99.png', 'throughput.png', 'workload-pay.png'):
                p = os.path.join(out, png)
                if not os.path.exists(p) or os.path.getsize(p) < 1000:
                    raise AssertionError('missing plot ' + png)
        print('    RESULT sluice-bench 10 s direct: pay %.1f tps p99 %.2f ms (%d retries), read %.0f tps'
              ' p99 %.2f ms' % (pay['tps'], pay['latency_ms']['p99'], pay['retries'], read['tps'],
                                read['latency_ms']['p99']), flush=True)
    finally:
        wd.cleanup()
        pg.cleanup()


@test(timeout=120)
def errors_by_sqlstate_and_rollback():
    pg = setup_pg()
    wd = Workdir()
    try:
        wd.put('schema.sql', SCHEMA)
        # half the transactions divide by zero inside a transaction block: the client must send
        # ROLLBACK and keep using the connection
        wd.put('div.sql', '\\set x random(0, 1)\nBEGIN;\nSELECT 10 / :x;\nCOMMIT;\n')
        wd.put('bad.sql', '\\set z 0\n\\set q 1 / :z\nSELECT :q;\n')
        wd.put('lock.sql', 'BEGIN;\nSET LOCAL lock_timeout = 1;\n'
                           'LOCK TABLE account IN ACCESS EXCLUSIVE MODE NOWAIT;\nCOMMIT;\n')
        ini = wd.put('e.ini', """[scenario]
duration = 3s
init = schema.sql
[workload.div]
database = bench_a
clients = 2
protocol = extended
script = div.sql
[workload.bad]
database = bench_a
think_time = 100ms
script = bad.sql
[workload.lock]
database = bench_b
clients = 3
retry = 55P03
retry_max = 2
retry_backoff = 1ms
script = lock.sql
""")
        common = ['-h', '127.0.0.1', '-p', str(pg.port), '-U', 'app']
        run_bench(['init', ini] + common)
        out = os.path.join(wd.dir, 'out')
        run_bench(['run', ini, '--out', out, '--quiet'] + common)
        rep = json.load(open(os.path.join(out, 'report.json')))
        div, bad, lock = rep['workloads']['div'], rep['workloads']['bad'], rep['workloads']['lock']
        if div['committed'] < 50 or div['errors'].get('22012', 0) < 50:
            raise AssertionError('div: %r %r' % (div['committed'], div['errors']))
        eq(list(div['errors']), ['22012'], 'div error codes')
        if 'division by zero' not in div['error_messages']['22012']:
            raise AssertionError('div message: %r' % div['error_messages'])
        eq(bad['committed'], 0, 'a \\set error sends nothing')
        if bad['errors'].get('22012', 0) < 10:
            raise AssertionError('bad: %r' % bad['errors'])
        eq(pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"),
           0, 'sessions left in a transaction')
        # NOWAIT under contention: 55P03 is retried up to twice, then reported
        if lock['committed'] < 10:
            raise AssertionError('lock: %r' % lock)
        if lock['errors'] and list(lock['errors']) != ['55P03']:
            raise AssertionError('lock errors: %r' % lock['errors'])
        if lock['retries'] and list(lock['retries_by_sqlstate']) != ['55P03']:
            raise AssertionError('lock retries: %r' % lock['retries_by_sqlstate'])
    finally:
        wd.cleanup()
        pg.cleanup()


@test(timeout=120, sluice_only=True)
def through_sluice_transaction_mode():
    pg = setup_pg()
    wd = Workdir()
    try:
        wd.put('schema.sql', SCHEMA)
        wd.put('pay.sql', PAY)
        wd.put('read.sql', READ)
        p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)
        ini = wd.put('p.ini', """[scenario]
duration = 3s
init = schema.sql
[workload.pay]
database = bench_a
clients = 8
rate = 100
protocol = extended
retry = 40001
retry_backoff = 2ms
script = pay.sql
[workload.read]
database = bench_b
clients = 8
protocol = simple
script = read.sql
""")
        run_bench(['init', ini, '-h', '127.0.0.1', '-p', str(pg.port), '-U', 'app'])
        out = os.path.join(wd.dir, 'out')
        run_bench(['run', ini, '--out', out, '--target',
                   'host=127.0.0.1 port=%d user=app' % p.port])
        rep = json.load(open(os.path.join(out, 'report.json')))
        pay, read = rep['workloads']['pay'], rep['workloads']['read']
        if pay['committed'] < 200 or read['committed'] < 500:
            raise AssertionError('through sluice: pay %d, read %d' % (pay['committed'],
                                                                      read['committed']))
        for w in (pay, read):
            for code in w['errors']:
                if code != '40001':
                    raise AssertionError('errors through sluice: %r' % w['error_messages'])
        eq(sorted(rep['scenario']['target'].split()),
           ['host=127.0.0.1', 'port=%d' % p.port, 'user=app'], 'target')
    finally:
        wd.cleanup()
        pg.cleanup()


@test(timeout=180)
def promotion_gate_verdict_and_exit_status():
    pg = setup_pg()
    wd = Workdir()
    gate = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench',
                        'promotion-gate')
    try:
        wd.put('schema.sql', SCHEMA)
        wd.put('read.sql', READ)
        ini = wd.put('g.ini', """[scenario]
duration = 2s
warmup = 0
init = schema.sql
max_error_rate = 0.5
[workload.read]
database = bench_a
clients = 2
think_time = 10ms
script = read.sql
""")
        run_bench(['init', ini, '-h', '127.0.0.1', '-p', str(pg.port), '-U', 'app'])
        side = 'host=127.0.0.1 port=%d user=app' % pg.port
        env = dict(harness._client_env('apppw'), SLUICE_BENCH=bench_binary())

        def gate_run(out, *extra):
            return subprocess.run(['/usr/bin/python3', gate, '--scenario', ini, '--baseline', side,
                                   '--candidate', side, '--rounds', '2', '--out', out] + list(extra),
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, timeout=120)

        # the same endpoint on both sides, generous thresholds: PASS
        out = os.path.join(wd.dir, 'pass')
        r = gate_run(out, '--max-p99-ratio', '100', '--min-tps-ratio', '0.01')
        eq(r.returncode, 0, 'exit status of a passing gate (%s)' % r.stderr[-500:])
        if 'promotion-gate: PASS' not in r.stdout:
            raise AssertionError('no PASS verdict:\n' + r.stdout)
        for f in ('gate.md', 'gate.json', 'baseline/round-1/report.json',
                  'candidate/round-2/report.json'):
            if not os.path.exists(os.path.join(out, f)):
                raise AssertionError('missing ' + f)
        verdict = json.load(open(os.path.join(out, 'gate.json')))
        eq(verdict['thresholds']['max_error_rate'], 0.5, 'threshold taken from the scenario')
        eq(verdict['thresholds']['max_p99_ratio'], 100, 'threshold from the command line')
        # an impossible TPS ratio: FAIL and a non-zero exit
        out = os.path.join(wd.dir, 'fail')
        r = gate_run(out, '--min-tps-ratio', '50')
        eq(r.returncode, 1, 'exit status of a breached gate')
        md = open(os.path.join(out, 'gate.md')).read()
        if '**Verdict: FAIL**' not in md or 'TPS ratio' not in md:
            raise AssertionError('gate.md:\n' + md)
    finally:
        wd.cleanup()
        pg.cleanup()


@test(timeout=120)
def capacity_search_steps_up():
    pg = setup_pg()
    wd = Workdir()
    capacity = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'bench',
                            'capacity')
    try:
        wd.put('schema.sql', SCHEMA)
        wd.put('read.sql', READ)
        ini = wd.put('c.ini', """[scenario]
init = schema.sql
[workload.read]
database = bench_a
clients = 1
think_time = 20ms
slo_p99 = 10s
script = read.sql
""")
        run_bench(['init', ini, '-h', '127.0.0.1', '-p', str(pg.port), '-U', 'app'])
        out = os.path.join(wd.dir, 'cap')
        env = dict(harness._client_env('apppw'), SLUICE_BENCH=bench_binary())
        r = subprocess.run(['/usr/bin/python3', capacity, '--scenario', ini, '--workload', 'read',
                            '--target', 'host=127.0.0.1 port=%d user=app' % pg.port, '--out', out,
                            '--duration', '1s', '--warmup', '0', '--max', '3', '--factor', '2'],
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=100)
        eq(r.returncode, 0, 'capacity exit status (%s)' % (r.stdout + r.stderr)[-800:])
        md = open(os.path.join(out, 'capacity.md')).read()
        # clients 1, then 2 (x2), then 4 > --max: two steps, both within a 10 s SLO
        for needle in ('| 1 |', '| 2 |', 'the SLO held up to clients 2'):
            if needle not in md:
                raise AssertionError('capacity.md lacks %r:\n%s' % (needle, md))
        rep = json.load(open(os.path.join(out, 'step-2', 'report.json')))
        eq(rep['workloads']['read']['clients'], 2, 'clients of step 2')
    finally:
        wd.cleanup()
        pg.cleanup()


if __name__ == '__main__':
    harness.main()
