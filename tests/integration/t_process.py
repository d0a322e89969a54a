"""The process: command line (--check, -V/--version, -h/--help), SIGHUP reload of a reloadable key
(default_pool_size, seen through behaviour), a reload with a broken file keeping the old config,
SIGTERM and SIGINT shutdown with exit code 0."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_binary(args, cwd=None):
    return subprocess.run([harness.OPTS.binary] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30, cwd=cwd)


@test(sluice_only=True)
def check_good_config():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, start=False, pool_mode='transaction', default_pool_size=5)
    r = run_binary(['--check', p.inifile])
    eq(r.returncode, 0, '--check of a good file (output: %s%s)' % (r.stdout, r.stderr))
    repo_ini = os.path.join(REPO, 'conf', 'sluice.ini')
    if os.path.exists(repo_ini):  # the README's example config
        r = run_binary(['--check', 'conf/sluice.ini'], cwd=REPO)
        eq(r.returncode, 0, '--check conf/sluice.ini (output: %s%s)' % (r.stdout, r.stderr))


@test(sluice_only=True)
def check_bad_config():
    d = harness._mkdtemp('sluice-check-')
    try:
        bad = os.path.join(d, 'bad.ini')
        with open(bad, 'w') as f:
            f.write('[sluice]\nlisten_port = 6432\ndefault_pool_size = banana\n\n[databases]\n'
                    '* = host=127.0.0.1 port=5432\n')
        r = run_binary(['--check', bad])
        out = r.stdout + r.stderr
        if r.returncode == 0:
            raise AssertionError('--check accepted a bad file: %s' % out)
        if not re.search(r'bad\.ini:3: default_pool_size: \S', out):
            raise AssertionError('expected "bad.ini:3: default_pool_size: reason", got: %r' % out)
        r = run_binary(['--check', os.path.join(d, 'missing.ini')])
        if r.returncode == 0:
            raise AssertionError('--check accepted a missing file')
    finally:
        shutil.rmtree(d, ignore_errors=True)


@test
def version_and_help():
    for flag in ('-V', '--version'):
        r = run_binary([flag])
        eq(r.returncode, 0, flag + ' exit code')
        if not re.search(r'\d+\.\d+', r.stdout + r.stderr):
            raise AssertionError('%s printed no version: %r' % (flag, r.stdout + r.stderr))
    for flag in ('-h', '--help'):
        r = run_binary([flag])
        eq(r.returncode, 0, flag + ' exit code')
        if 'usage' not in (r.stdout + r.stderr).lower():
            raise AssertionError('%s printed no usage: %r' % (flag, r.stdout + r.stderr))


@test(timeout=120)
def sighup_reloads_pool_size():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, query_wait_timeout=15)
    a = p.connect()
    a.cursor().execute('SELECT 1')  # holds the only server connection
    p.write_config(default_pool_size=2)
    p.reload()
    time.sleep(1)
    if not p.alive():
        raise AssertionError('pooler exited on SIGHUP')
    b = p.connect(autocommit=True)
    t0 = time.monotonic()
    with b.cursor() as cur:
        try:
            cur.execute('SELECT 2')
        except psycopg2.Error as e:
            raise AssertionError('second client not served after the reload raised the pool size: %s' % e)
        eq(cur.fetchone(), (2,), 'B')
    if time.monotonic() - t0 > 10:
        raise AssertionError('B waited %.1fs' % (time.monotonic() - t0))
    eq(pg.backends(db='appdb', user='app'), 2, 'server connections after reload')
    a.commit()
    a.close()
    b.close()


@test(timeout=120)
def sighup_with_broken_file_keeps_running():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    eq(p.query('SELECT 1'), [(1,)], 'before')
    with open(p.inifile, 'a') as f:
        f.write('\n[pgbouncer]\ndefault_pool_size = banana\n')
    p.reload()
    time.sleep(1)
    if not p.alive():
        raise AssertionError('pooler exited after reloading a broken file')
    eq(p.query('SELECT 2'), [(2,)], 'after a failed reload')


@test(timeout=60)
def sigterm_exits_zero():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction')
    conn = p.connect(autocommit=True)
    conn.cursor().execute('SELECT 1')
    t0 = time.monotonic()
    rc = p.stop(signal.SIGTERM)
    # PgBouncer 1.18 exits with 1 on SIGTERM ("got SIGTERM, fast exit"); sluice exits 0
    eq(rc, 1 if harness.is_pgbouncer() else 0, 'exit code after SIGTERM')
    if time.monotonic() - t0 > 10:
        raise AssertionError('SIGTERM took %.1fs' % (time.monotonic() - t0))
    conn.close()


@test(timeout=60)
def sigint_exits_zero():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction')
    eq(p.query('SELECT 1'), [(1,)], 'before')
    rc = p.stop(signal.SIGINT)
    eq(rc, 0, 'exit code after SIGINT with no clients')


if __name__ == '__main__':
    harness.main()
