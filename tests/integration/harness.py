"""Shared harness for sluice's integration tests.

Every t_*.py file imports this module, declares its tests with @test and ends with
`harness.main()`. A file is run as

    /usr/bin/python3 t_X.py --sluice /path/to/sluice   # the binary under test
    /usr/bin/python3 t_X.py --pgbouncer                # /usr/sbin/pgbouncer instead (reference)
    /usr/bin/python3 t_X.py ... -k SUBSTRING           # only tests whose name contains SUBSTRING

and prints `PASS name` / `FAIL name: reason` / `SKIP name: reason` per test, then `N passed, N failed`.

What it offers:
  PgServer   a throwaway PostgreSQL 15 (initdb as the postgres user, fast settings, configurable pg_hba)
  Pooler     sluice or PgBouncer on a generated ini, in the foreground, log captured, cleaned up after the test
  RawClient  a small PostgreSQL v3 protocol client (startup, md5/SCRAM auth, SSLRequest, cancel, raw bytes,
             ErrorResponse fields), for what libpq hides (the SQLSTATE of a FATAL followed by a close)
  RssSampler the pooler's resident memory sampled during a transfer

Nothing outlives a test file: the servers and poolers are children that get a parent-death signal, and
every test's poolers are stopped (and their logs checked for sanitizer reports) when the test ends.
"""

import argparse
import atexit
import base64
import hashlib
import hmac
import os
import pwd
import random
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import psycopg2

PG_BIN = '/usr/lib/postgresql/15/bin'
PGBOUNCER_BIN = '/usr/sbin/pgbouncer'
PSQL = '/usr/bin/psql'
PGBENCH = '/usr/bin/pgbench'
IS_ROOT = os.geteuid() == 0


class _Options:
    binary = None  # path of the pooler binary under test
    pgbouncer = False  # True: the reference PgBouncer runs instead of sluice
    keep = False  # keep temp dirs (debugging)


OPTS = _Options()


def is_pgbouncer():
    return OPTS.pgbouncer


# ---------------------------------------------------------------------------------------------
# process plumbing

def _raise_nofile(n=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), max(hard, n)))
    except (ValueError, OSError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


# Children inherit this: the poolers need >10,000 sockets for the idle-client test.
_raise_nofile()

SETPRIV = '/usr/bin/setpriv'


def _dies_with_us(cmd, sig):
    """Prefix cmd so the child gets sig when this process dies (setpriv sets the parent-death signal
    and execs in place, so the child's PID is the command's own; no preexec_fn, which is unsafe with
    threads)."""
    return [SETPRIV, '--pdeathsig', signal.Signals(sig).name] + list(cmd)


def _pg_account():
    return pwd.getpwnam('postgres') if IS_ROOT else None


def _as_postgres_kwargs():
    """Popen kwargs that run a child as the postgres system user when we are root."""
    acct = _pg_account()
    if acct is None:
        return {}
    env = dict(os.environ, HOME=acct.pw_dir, USER='postgres', LOGNAME='postgres')
    return dict(user=acct.pw_uid, group=acct.pw_gid, extra_groups=[], env=env)


def _chown_to_postgres(path):
    acct = _pg_account()
    if acct is None:
        return
    if not os.path.isdir(path):
        os.chown(path, acct.pw_uid, acct.pw_gid)
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, acct.pw_uid, acct.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), acct.pw_uid, acct.pw_gid)


def _mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)
    _chown_to_postgres(d)
    return d


_used_ports = set()


def free_port():
    """A free TCP port on 127.0.0.1 below 32768 (the ephemeral range fills with TIME_WAIT in churn tests)."""
    for _ in range(2000):
        port = random.randint(15000, 32000)
        if port in _used_ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            s.close()
        _used_ports.add(port)
        return port
    raise RuntimeError('no free port below 32768')


def wait_port(port, timeout=30.0, proc=None, what='process'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError('%s exited with code %s before listening' % (what, proc.returncode))
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('%s did not listen on port %d within %.0fs' % (what, port, timeout))


def wait_for(pred, timeout=10.0, interval=0.05, what='condition'):
    """Poll pred() until it returns a truthy value; return it, or raise AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %.1fs waiting for %s' % (timeout, what))
        time.sleep(interval)


def proc_status(pid, key):
    """A kB value from /proc/PID/status (VmRSS, VmHWM, ...), or None if the process is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples VmRSS of pid in a thread; .max and .base (kB) after stop()."""

    def __init__(self, pid, interval=0.02):
        self.pid, self.interval = pid, interval
        self.base = proc_status(pid, 'VmRSS') or 0
        self.max = self.base
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = proc_status(self.pid, 'VmRSS')
            if v is not None and v > self.max:
                self.max = v
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    @property
    def growth_kb(self):
        return self.max - self.base


# Resources owned by the running test: stopped (and checked) when it ends.
_live_poolers = []
_live_servers = []
_live_sockets = []
_cleanup_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------
# PostgreSQL

class PgServer:
    """A throwaway PostgreSQL 15 cluster, run as the postgres user, on a free port below 32768.

    hba: the method for TCP connections from 127.0.0.1 ('trust', 'password', 'md5', 'scram-sha-256'),
         or a dict {user: method} with '*' as the default. The unix socket is always trust (superuser).
    """

    def __init__(self, hba='scram-sha-256', settings=None, start=True, ssl=None, listen='127.0.0.1',
                 standby_of=None):
        """ssl: a TestCA; the server then runs with ssl = on and a certificate for 127.0.0.1 and
        localhost signed by it (server.crt/server.key in the data directory).
        listen: the loopback address it listens on (127.0.0.2 etc. are loopback too on Linux).
        standby_of: a running PgServer; this one is then a streaming standby of it, made with
        `pg_basebackup -R` (settings and hba come from the primary's copy, plus `settings`)."""
        self.dir = _mkdtemp('sluice-pg-')
        self.datadir = os.path.join(self.dir, 'data')
        self.logfile = os.path.join(self.dir, 'postgres.log')
        self.port = free_port()
        self.host = listen
        self.proc = None
        self._log_fh = None
        kw = _as_postgres_kwargs()
        if standby_of is not None:
            r = subprocess.run([PG_BIN + '/pg_basebackup', '-D', self.datadir, '-h', standby_of.dir,
                                '-p', str(standby_of.port), '-U', 'postgres', '-R', '-X', 'stream',
                                '-c', 'fast', '--no-sync'],
                               cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
            if r.returncode != 0:
                raise RuntimeError('pg_basebackup failed:\n' + r.stdout.decode(errors='replace'))
            conf = {'port': self.port, 'listen_addresses': "'%s'" % listen,
                    'unix_socket_directories': "'%s'" % self.dir, 'hot_standby': 'on',
                    'hot_standby_feedback': 'on',
                    # Once promoted it has no standby of its own: a copied '*' would hang COMMITs.
                    'synchronous_standby_names': "''"}
            conf.update(settings or {})
            self._append_conf(conf)
            _live_servers.append(self)
            if start:
                self.start()
            return
        r = subprocess.run([PG_BIN + '/initdb', '-D', self.datadir, '-U', 'postgres', '-A', 'trust',
                            '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
                           cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
        if r.returncode != 0:
            raise RuntimeError('initdb failed:\n' + r.stdout.decode(errors='replace'))
        conf = {
            'port': self.port,
            'listen_addresses': "'%s'" % listen,
            'unix_socket_directories': "'%s'" % self.dir,
            'max_connections': 400,
            'fsync': 'off',
            'synchronous_commit': 'off',
            'full_page_writes': 'off',
            'shared_buffers': "'128MB'",
            'max_wal_size': "'2GB'",
            'logging_collector': 'off',
            'log_min_messages': 'warning',
            'password_encryption': "'scram-sha-256'",
        }
        if ssl is not None:
            self.ssl_cert = os.path.join(self.datadir, 'server.crt')
            self.ssl_key = os.path.join(self.datadir, 'server.key')
            ssl.issue('localhost', self.ssl_cert, self.ssl_key, san='DNS:localhost,IP:127.0.0.1')
            for f in (self.ssl_cert, self.ssl_key):
                _chown_to_postgres(f)
            conf.update({'ssl': 'on', 'ssl_cert_file': "'server.crt'", 'ssl_key_file': "'server.key'"})
        conf.update(settings or {})
        self._append_conf(conf)
        self.set_hba(hba, reload=False)
        _live_servers.append(self)
        if start:
            self.start()

    def _append_conf(self, conf):
        # Later lines win in postgresql.conf, so a standby's own port/address override the copy.
        path = os.path.join(self.datadir, 'postgresql.conf')
        with open(path, 'a') as f:
            f.write('\n# sluice test settings\n')
            for k, v in conf.items():
                f.write('%s = %s\n' % (k, v))

    @classmethod
    def replicated(cls, listen_standby='127.0.0.2', sync=True, settings=None, hba='scram-sha-256'):
        """A primary (127.0.0.1) and a streaming standby of it (listen_standby), both started.
        sync: synchronous_standby_names = '*' with synchronous_commit = on, so a COMMIT the primary
        acknowledged is on the standby (what a commit ledger across a failover needs)."""
        conf = dict(settings or {})
        if sync:
            conf.update({'synchronous_standby_names': "'*'", 'synchronous_commit': 'on'})
        primary = cls(hba=hba, settings=conf)
        standby = cls(standby_of=primary, listen=listen_standby)
        wait_for(lambda: primary.scalar("SELECT count(*) FROM pg_stat_replication"
                                        " WHERE state = 'streaming'") == 1,
                 timeout=30, what='the standby to stream from the primary')
        return primary, standby

    def promote(self):
        """`pg_ctl promote` (waits until the server accepts writes)."""
        r = subprocess.run([PG_BIN + '/pg_ctl', 'promote', '-w', '-t', '60', '-D', self.datadir],
                           cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           **_as_postgres_kwargs())
        if r.returncode != 0:
            raise RuntimeError('pg_ctl promote failed:\n' + r.stdout.decode(errors='replace'))

    def in_recovery(self):
        return self.scalar('SELECT pg_is_in_recovery()')

    # -- lifecycle --
    def start(self, timeout=60):
        if self.proc is not None and self.proc.poll() is None:
            return
        self._log_fh = open(self.logfile, 'ab')
        self.proc = subprocess.Popen(_dies_with_us([PG_BIN + '/postgres', '-D', self.datadir],
                                                   signal.SIGQUIT),
                                     cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self._log_fh,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     **_as_postgres_kwargs())
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('postgres exited with %s:\n%s' % (self.proc.returncode, self.log_tail()))
            try:
                self.connect().close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError('postgres did not start:\n' + self.log_tail())
                time.sleep(0.05)

    def stop(self, mode='fast', timeout=60):
        """mode: 'smart' (SIGTERM), 'fast' (SIGINT, like pg_ctl -m fast), 'immediate' (SIGQUIT)."""
        if self.proc is None:
            return
        sig = {'smart': signal.SIGTERM, 'fast': signal.SIGINT, 'immediate': signal.SIGQUIT}[mode]
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None

    def restart(self, mode='fast'):
        """Same as `pg_ctl restart -m fast`: stop, then start on the same port."""
        self.stop(mode)
        self.start()

    def reload(self):
        self.psql('SELECT pg_reload_conf()')

    def cleanup(self):
        self.stop('immediate')
        if not OPTS.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _live_servers:
            _live_servers.remove(self)

    # -- configuration --
    def set_hba(self, hba, reload=True):
        if isinstance(hba, str):
            hba = {'*': hba}
        # 127.0.0.0/8: a server may listen on 127.0.0.2 (a standby), whose clients come from there.
        lines = ['local all all trust', 'local replication all trust',
                 'host replication postgres 127.0.0.0/8 trust']
        for user, method in hba.items():
            if user != '*':
                lines.append('host all %s 127.0.0.0/8 %s' % (user, method))
        lines.append('host all all 127.0.0.0/8 %s' % hba.get('*', 'scram-sha-256'))
        path = os.path.join(self.datadir, 'pg_hba.conf')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        _chown_to_postgres(path)
        if reload:
            self.reload()

    # -- SQL as superuser over the unix socket --
    def connect(self, db='postgres', user='postgres', **kw):
        conn = psycopg2.connect(host=self.dir, port=self.port, user=user, dbname=db, connect_timeout=10,
                                **kw)
        conn.autocommit = True
        return conn

    def psql(self, sql, db='postgres', args=None):
        """Run sql as superuser; returns all rows of the last statement ([] if it returns none)."""
        conn = self.connect(db)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def scalar(self, sql, db='postgres', args=None):
        rows = self.psql(sql, db, args)
        return rows[0][0] if rows else None

    def create_role(self, name, password=None, encryption='scram-sha-256', options='LOGIN'):
        """encryption: 'scram-sha-256' or 'md5' (how PostgreSQL stores the password)."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute('DROP ROLE IF EXISTS "%s"' % name)
                cur.execute("SET password_encryption = %s", (encryption,))
                if password is None:
                    cur.execute('CREATE ROLE "%s" %s' % (name, options))
                else:
                    cur.execute('CREATE ROLE "%s" %s PASSWORD %%s' % (name, options), (password,))
        finally:
            conn.close()

    def role_secret(self, name):
        """The stored secret (md5... or SCRAM-SHA-256$...), usable as an auth_file entry."""
        return self.scalar('SELECT rolpassword FROM pg_authid WHERE rolname = %s', args=(name,))

    def create_database(self, name, owner=None):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute('SELECT 1 FROM pg_database WHERE datname = %s', (name,))
                if cur.fetchone():
                    return
                cur.execute('CREATE DATABASE "%s"%s' % (name, ' OWNER "%s"' % owner if owner else ''))
        finally:
            conn.close()

    def ensure_app(self, user='app', password='apppw', db='appdb'):
        """The default test role (SCRAM-stored password) and database it owns."""
        if not self.scalar('SELECT 1 FROM pg_roles WHERE rolname = %s', args=(user,)):
            self.create_role(user, password)
        self.create_database(db, owner=user)
        return user, password, db

    def backends(self, db=None, user=None, app=None):
        """Number of client backends (excluding this query's own), optionally filtered."""
        sql = ("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
               " AND pid <> pg_backend_pid()")
        args = []
        for col, val in (('datname', db), ('usename', user), ('application_name', app)):
            if val is not None:
                sql += ' AND %s = %%s' % col
                args.append(val)
        return self.scalar(sql, args=args)

    def log_tail(self, n=30):
        return _tail(self.logfile, n)


def _tail(path, n):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return ''
    return '\n'.join(data.decode(errors='replace').splitlines()[-n:])


_shared_pg = None


class TestCA:
    """A throwaway certificate authority made with the openssl command line (EC P-256 keys, fast).

    issue(cn, crt, key, san=None) writes a certificate signed by this CA and its key (mode 0600)."""

    def __init__(self, name='sluice test CA'):
        self.dir = _mkdtemp('sluice-ca-')
        self.crt = os.path.join(self.dir, 'ca.crt')
        self.key = os.path.join(self.dir, 'ca.key')
        self._openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                      '-nodes', '-keyout', self.key, '-out', self.crt, '-days', '30', '-subj', '/CN=' + name,
                      '-addext', 'basicConstraints=critical,CA:TRUE',
                      '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
        _live_cas.append(self)

    def _openssl(self, *args):
        r = subprocess.run(['openssl'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError('openssl %s failed:\n%s' % (args[0], r.stdout.decode(errors='replace')))

    def issue(self, cn, crt, key, san=None):
        csr = crt + '.csr'
        ext = crt + '.ext'
        self._openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                      '-keyout', key, '-out', csr, '-subj', '/CN=' + cn)
        with open(ext, 'w') as f:
            f.write('basicConstraints=CA:FALSE\n')
            if san:
                f.write('subjectAltName=%s\n' % san)
        self._openssl('x509', '-req', '-in', csr, '-CA', self.crt, '-CAkey', self.key, '-CAcreateserial',
                      '-out', crt, '-days', '30', '-extfile', ext)
        os.chmod(key, 0o600)
        os.unlink(csr)
        os.unlink(ext)
        return crt, key

    def cleanup(self):
        if not OPTS.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


_live_cas = []


def shared_pg():
    """One PostgreSQL for the whole test file (created on first use) with the default app role/db."""
    global _shared_pg
    if _shared_pg is None or _shared_pg not in _live_servers:
        _shared_pg = PgServer()
        _shared_pg.ensure_app()
    elif _shared_pg.proc is None or _shared_pg.proc.poll() is not None:
        _shared_pg.start()
    return _shared_pg


# ---------------------------------------------------------------------------------------------
# The pooler under test

SANITIZER_PATTERNS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                      'SUMMARY: UndefinedBehaviorSanitizer', 'ERROR: ThreadSanitizer')


class PoolerError(AssertionError):
    pass


def _ini_value(v):
    if isinstance(v, bool):
        return '1' if v else '0'
    return str(v)


def binary_is_sanitized():
    if OPTS.pgbouncer or not OPTS.binary:
        return False
    try:
        with open(OPTS.binary, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


class Pooler:
    """sluice (or PgBouncer with --pgbouncer) on a generated ini.

    pg:        PgServer for the default `[databases] * = host=127.0.0.1 port=PG` entry
    databases: {name: 'host=... port=... dbname=...'} (replaces the default)
    users:     {name: 'pool_mode=... max_user_connections=...'} ([users] section)
    userlist:  {user: secret} written to the auth_file (plaintext, md5..., SCRAM-SHA-256$...)
    settings:  any main-section key (auth_type, pool_mode, default_pool_size, ...)
    """

    def __init__(self, pg=None, databases=None, users=None, userlist=None, start=True, extra_ini='',
                 **settings):
        self.dir = _mkdtemp('sluice-pooler-')
        self.port = free_port()
        self.inifile = os.path.join(self.dir, 'pooler.ini')
        self.authfile = os.path.join(self.dir, 'userlist.txt')
        self.logfile = os.path.join(self.dir, 'pooler.log')
        self.pg = pg
        if databases is None:
            databases = {'*': 'host=127.0.0.1 port=%d' % pg.port} if pg else {}
        self.databases = dict(databases)
        self.users = dict(users or {})
        if userlist is None:
            userlist = {'app': 'apppw'}
        self.userlist = dict(userlist)
        self.extra_ini = extra_ini
        self.settings = {
            'listen_addr': '127.0.0.1',
            'listen_port': self.port,
            'unix_socket_dir': self.dir,
            'auth_type': 'scram-sha-256',
            'auth_file': self.authfile,
            'pool_mode': 'session',
            'default_pool_size': 20,
            'max_client_conn': 500,
            'listen_backlog': 4096,
            'server_login_retry': 1,
        }
        if not OPTS.pgbouncer:
            # SIGTERM drains (tests stop poolers with it): do not let a test's leftover
            # session clients hold the end of every test for the default 30 s.
            self.settings['shutdown_timeout'] = 2
            # sluice serves HTTP on 127.0.0.1:9127 by default: tests that run side by side would
            # fight over it, so it is off unless a test asks for it.
            self.settings['http_listen'] = ''
        self.settings.update(settings)
        self.proc = None
        self.expected_exit = False
        self.write_config()
        _live_poolers.append(self)
        if start:
            self.start()

    # -- files --
    def write_config(self, **changes):
        """(Re)write the ini and auth_file; changes update main-section keys (None removes one)."""
        for k, v in changes.items():
            if v is None:
                self.settings.pop(k, None)
            else:
                self.settings[k] = v
        lines = ['[pgbouncer]']
        lines += ['%s = %s' % (k, _ini_value(v)) for k, v in self.settings.items()]
        lines += ['', '[databases]']
        lines += ['%s = %s' % (k, v) for k, v in self.databases.items()]
        if self.users:
            lines += ['', '[users]']
            lines += ['%s = %s' % (k, v) for k, v in self.users.items()]
        if self.extra_ini:
            lines += ['', self.extra_ini]
        with open(self.inifile, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        with open(self.authfile, 'w') as f:
            for user, secret in self.userlist.items():
                f.write('"%s" "%s"\n' % (user.replace('"', '""'), secret.replace('"', '""')))
        _chown_to_postgres(self.dir)

    # -- lifecycle --
    def command(self):
        if OPTS.pgbouncer:
            return [PGBOUNCER_BIN, '-v', self.inifile]
        return [OPTS.binary, '-v', self.inifile]

    def start(self, timeout=30):
        kw = _as_postgres_kwargs() if OPTS.pgbouncer else {}  # PgBouncer refuses to run as root
        self._log_fh = open(self.logfile, 'ab')
        self.proc = subprocess.Popen(_dies_with_us(self.command(), signal.SIGTERM), cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self._log_fh,
                                     stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.pid = self.proc.pid
        try:
            wait_port(self.port, timeout, self.proc, 'pooler')
        except RuntimeError as e:
            raise PoolerError('%s\n--- pooler log ---\n%s' % (e, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop the pooler; returns its exit code. Raises PoolerError if it had died on its own
        (a crash) or if its log holds a sanitizer report."""
        if self.proc is None:
            return None
        died_before = self.proc.poll() is not None
        if not died_before:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                self._log_fh.close()
                raise PoolerError('pooler did not exit within %ds of signal %d' % (timeout, sig))
        rc = self.proc.returncode
        self.proc = None
        self._log_fh.close()
        self.check_log()
        if died_before and not self.expected_exit:
            raise PoolerError('pooler died during the test (exit code %s)' % rc)
        return rc

    def check_log(self):
        text = self.log()
        for pat in SANITIZER_PATTERNS:
            if pat in text:
                i = text.index(pat)
                raise PoolerError('sanitizer report in pooler log:\n' + text[max(0, i - 200):i + 3000])

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self in _live_poolers:
                _live_poolers.remove(self)
            if not OPTS.keep:
                shutil.rmtree(self.dir, ignore_errors=True)

    # -- introspection --
    def log(self):
        try:
            with open(self.logfile, 'rb') as f:
                return f.read().decode(errors='replace')
        except OSError:
            return ''

    def log_tail(self, n=40):
        return _tail(self.logfile, n)

    def rss_kb(self):
        return proc_status(self.pid, 'VmRSS')

    # -- clients --
    def dsn(self, user='app', password='apppw', dbname='appdb', **kw):
        parts = dict(host='127.0.0.1', port=self.port, user=user, dbname=dbname, connect_timeout=10)
        if password is not None:
            parts['password'] = password
        parts.update(kw)
        return ' '.join("%s='%s'" % (k, str(v).replace('\\', '\\\\').replace("'", "\\'"))
                        for k, v in parts.items())

    def connect(self, user='app', password='apppw', dbname='appdb', autocommit=False, **kw):
        conn = psycopg2.connect(self.dsn(user, password, dbname, **kw))
        conn.autocommit = autocommit
        return conn

    def query(self, sql, user='app', password='apppw', dbname='appdb', **kw):
        """One-shot: connect, run sql (autocommit), return all rows, close."""
        conn = self.connect(user, password, dbname, autocommit=True, **kw)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def admin_rows(self, sql, user='admin', password='adminpw'):
        """One console command on the pgbouncer database: its rows as dicts ([] if none)."""
        c = self.connect(user=user, password=password, dbname='pgbouncer', autocommit=True)
        try:
            cur = c.cursor()
            cur.execute(sql)
            if cur.description is None:
                return []
            cols = [d.name for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]
        finally:
            c.close()

    def socket(self, timeout=10):
        s = socket.create_connection(('127.0.0.1', self.port), timeout=timeout)
        _live_sockets.append(s)
        return s

    def raw(self, timeout=10):
        return RawClient('127.0.0.1', self.port, timeout)

    def psql(self, sql, user='app', password='apppw', dbname='appdb', env=None, timeout=60, args=()):
        return run_psql(self.port, sql, user, password, dbname, env, timeout, args)

    def pgbench(self, args, user='app', password='apppw', dbname='appdb', timeout=300):
        return run_pgbench(self.port, args, user, password, dbname, timeout)


def _client_env(password, extra=None):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith('PG'):
            del env[k]
    if password is not None:
        env['PGPASSWORD'] = password
    env.update(extra or {})
    return env


def run_psql(port, sql, user='app', password='apppw', dbname='appdb', env=None, timeout=60, args=()):
    """psql -X -At -v ON_ERROR_STOP=1 -c sql against 127.0.0.1:port; returns CompletedProcess (text)."""
    cmd = [PSQL, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', str(port), '-U', user,
           '-d', dbname] + list(args)
    if sql is not None:
        cmd += ['-c', sql]
    return subprocess.run(cmd, env=_client_env(password, env), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)


def run_pgbench(port, args, user='app', password='apppw', dbname='appdb', timeout=300):
    cmd = [PGBENCH, '-h', '127.0.0.1', '-p', str(port), '-U', user] + list(args) + [dbname]
    return subprocess.run(cmd, env=_client_env(password), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)


# ---------------------------------------------------------------------------------------------
# A raw PostgreSQL v3 protocol client

class PgError(Exception):
    """An ErrorResponse; .fields maps the field code to its text ('C' SQLSTATE, 'M', 'S', ...)."""

    def __init__(self, fields):
        self.fields = fields
        super().__init__('%s %s: %s' % (fields.get('S'), fields.get('C'), fields.get('M')))

    @property
    def sqlstate(self):
        return self.fields.get('C')


class ConnectionClosed(Exception):
    pass


def parse_error_fields(payload):
    fields = {}
    for part in payload.split(b'\0'):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors='replace')
    return fields


PROTOCOL_V3 = 196608
SSL_REQUEST_CODE = 80877103
CANCEL_REQUEST_CODE = 80877102


def startup_packet(user, database, **params):
    body = struct.pack('!I', PROTOCOL_V3)
    items = dict(user=user, database=database)
    items.update(params)
    for k, v in items.items():
        body += k.encode() + b'\0' + str(v).encode() + b'\0'
    body += b'\0'
    return struct.pack('!I', len(body) + 4) + body


def message(mtype, payload=b''):
    return mtype + struct.pack('!I', len(payload) + 4) + payload


class RawClient:
    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _live_sockets.append(self.sock)
        self.timeout = timeout
        self.buf = b''
        self.backend_key = None  # (pid, secret)
        self.params = {}
        self.notices = []
        self.auth_requests = []  # authentication request codes seen (3 cleartext, 5 md5, 10 SASL)

    # -- bytes --
    def send(self, data):
        self.sock.sendall(data)

    def send_msg(self, mtype, payload=b''):
        self.send(message(mtype, payload))

    def _fill(self, n, timeout):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout('no data from the pooler within the timeout')
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(max(65536, n - len(self.buf)))
            except ConnectionResetError:
                raise ConnectionClosed('connection reset')
            if not chunk:
                raise ConnectionClosed('connection closed')
            self.buf += chunk

    def recv_bytes(self, n, timeout=None):
        self._fill(n, timeout)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_msg(self, timeout=None):
        """Next (type, payload) from the server; raises ConnectionClosed on EOF."""
        self._fill(5, timeout)
        mtype = self.buf[:1]
        length = struct.unpack('!I', self.buf[1:5])[0]
        self._fill(1 + length, timeout)
        payload = self.buf[5:1 + length]
        self.buf = self.buf[1 + length:]
        return mtype, payload

    # -- protocol steps --
    def ssl_request(self):
        """Send SSLRequest; returns the one-byte answer (b'S' or b'N')."""
        self.send(struct.pack('!II', 8, SSL_REQUEST_CODE))
        return self.recv_bytes(1)

    def startup(self, user='app', database='appdb', password=None, **params):
        """Startup + authentication up to ReadyForQuery. Raises PgError on an ErrorResponse."""
        self.send(startup_packet(user, database, **params))
        while True:
            mtype, payload = self.read_msg()
            if mtype == b'R':
                self._auth(struct.unpack('!I', payload[:4])[0], payload[4:], user, password)
            elif mtype == b'E':
                raise PgError(parse_error_fields(payload))
            elif mtype == b'K':
                self.backend_key = struct.unpack('!II', payload)
            elif mtype == b'S':
                k, v = payload.split(b'\0')[:2]
                self.params[k.decode()] = v.decode()
            elif mtype == b'N':
                self.notices.append(parse_error_fields(payload))
            elif mtype == b'Z':
                return self

    def _auth(self, code, data, user, password):
        if code == 0:  # AuthenticationOk
            return
        self.auth_requests.append(code)
        if password is None:
            raise AssertionError('server asked for authentication %d but no password was given' % code)
        if code == 3:  # cleartext
            self.send_msg(b'p', password.encode() + b'\0')
        elif code == 5:  # md5
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
            outer = hashlib.md5(inner.encode() + data[:4]).hexdigest()
            self.send_msg(b'p', b'md5' + outer.encode() + b'\0')
        elif code == 10:  # SASL
            mechs = [m for m in data.split(b'\0') if m]
            if b'SCRAM-SHA-256' not in mechs:
                raise AssertionError('no SCRAM-SHA-256 in SASL mechanisms %r' % mechs)
            self._scram(password)
        else:
            raise AssertionError('unsupported authentication request %d' % code)

    def _scram(self, password):
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = 'n=,r=' + nonce
        first = ('n,,' + first_bare).encode()
        self.send_msg(b'p', b'SCRAM-SHA-256\0' + struct.pack('!i', len(first)) + first)
        mtype, payload = self.read_msg()
        if mtype == b'E':
            raise PgError(parse_error_fields(payload))
        code = struct.unpack('!I', payload[:4])[0]
        if mtype != b'R' or code != 11:
            raise AssertionError('expected AuthenticationSASLContinue, got %r %r' % (mtype, payload[:8]))
        server_first = payload[4:].decode()
        attrs = dict(kv.split('=', 1) for kv in server_first.split(','))
        if not attrs['r'].startswith(nonce):
            raise AssertionError('server nonce does not extend the client nonce')
        salt = base64.b64decode(attrs['s'])
        salted = hashlib.pbkdf2_hmac('sha256', password.encode(), salt, int(attrs['i']))
        client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = 'c=biws,r=' + attrs['r']
        auth_message = ','.join([first_bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send_msg(b'p', (without_proof + ',p=' + base64.b64encode(proof).decode()).encode())
        mtype, payload = self.read_msg()
        if mtype == b'E':
            raise PgError(parse_error_fields(payload))
        if mtype != b'R' or struct.unpack('!I', payload[:4])[0] != 12:
            raise AssertionError('expected AuthenticationSASLFinal, got %r' % mtype)
        server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        expect = base64.b64encode(hmac.new(server_key, auth_message, hashlib.sha256).digest()).decode()
        if payload[4:].decode() != 'v=' + expect:
            raise AssertionError('bad SCRAM server signature')

    def query(self, sql, timeout=None):
        """Simple query; returns (rows, error_fields_or_None) once ReadyForQuery arrives."""
        self.send_msg(b'Q', sql.encode() + b'\0')
        return self.read_result(timeout)

    def read_result(self, timeout=None):
        rows, err = [], None
        while True:
            mtype, payload = self.read_msg(timeout)
            if mtype == b'D':
                n = struct.unpack('!H', payload[:2])[0]
                pos, row = 2, []
                for _ in range(n):
                    ln = struct.unpack('!i', payload[pos:pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(payload[pos:pos + ln].decode())
                        pos += ln
                rows.append(tuple(row))
            elif mtype == b'E':
                err = parse_error_fields(payload)
            elif mtype == b'Z':
                return rows, err

    def expect_error(self, timeout=None):
        """Read until an ErrorResponse and return its fields (AssertionError on close/timeout first)."""
        while True:
            try:
                mtype, payload = self.read_msg(timeout)
            except ConnectionClosed:
                raise AssertionError('connection closed without an ErrorResponse')
            if mtype == b'E':
                return parse_error_fields(payload)

    def wait_closed(self, timeout=10):
        """True once the peer closes (EOF or reset) within timeout, discarding anything it sends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if not self.sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
            except socket.timeout:
                return False
        return False

    def cancel(self, host, port):
        """Send a CancelRequest for this connection's BackendKeyData on a new connection."""
        send_cancel(host, port, *self.backend_key)

    def terminate(self):
        try:
            self.send_msg(b'X')
        except OSError:
            pass
        self.close()

    def close(self, reset=False):
        """Close; reset=True sends a TCP RST (SO_LINGER 0), as a killed client's kernel may."""
        if reset:
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            except OSError:
                pass
        self.sock.close()


def wait_sleep_running(pg, app):
    """Wait until a pg_sleep of the client with this application_name runs on the server."""
    wait_for(lambda: pg.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                               " AND state = 'active' AND query LIKE '%%pg_sleep%%'",
                               args=(app,)),
             timeout=15, what='the query to run on the server')


def send_cancel(host, port, pid, secret):
    s = socket.create_connection((host, port), timeout=10)
    try:
        s.sendall(struct.pack('!IIII', 16, CANCEL_REQUEST_CODE, pid, secret))
        s.settimeout(10)
        try:
            s.recv(1)
        except OSError:
            pass
    finally:
        s.close()


# ---------------------------------------------------------------------------------------------
# Assertions

def eq(actual, expected, what=''):
    if actual != expected:
        raise AssertionError('%s: expected %r, got %r' % (what or 'value', expected, actual))


def check_sqlstate(fields, expected, pgbouncer=None, what=''):
    """Assert an ErrorResponse's SQLSTATE. pgbouncer: the code PgBouncer 1.18 sends instead, where
    it differs (a documented behaviour difference); None means it must match expected too."""
    want = expected
    if OPTS.pgbouncer and pgbouncer is not None:
        want = pgbouncer
    got = fields.get('C')
    if isinstance(want, (tuple, list, set)):
        ok = got in want
    else:
        ok = got == want
    if not ok:
        raise AssertionError('%sexpected SQLSTATE %s, got %s (%s: %s)' % (
            what + ': ' if what else '', want, got, fields.get('S'), fields.get('M')))


class OdooStylePool:
    """What Odoo's sql_db.ConnectionPool does with a pooled connection: borrow() checks it with
    reset() (a query) and opens a new one when that fails."""

    def __init__(self, ports):
        self.ports = ports  # where the "service" may route a new connection
        self.conn = None
        self.reconnects = 0

    def borrow(self):
        if self.conn is not None:
            try:
                self.conn.reset()
                return self.conn
            except psycopg2.OperationalError:
                self.reconnects += 1
                self.conn = None
        for port in self.ports:
            try:
                self.conn = psycopg2.connect(host='127.0.0.1', port=port, user='app',
                                             password='apppw', dbname='appdb',
                                             connect_timeout=5)
                return self.conn
            except psycopg2.OperationalError:
                continue
        raise AssertionError('no pooler accepts connections')


class Skip(Exception):
    pass


def skip(reason):
    raise Skip(reason)


def sluice_only(reason='sluice-only behaviour'):
    if OPTS.pgbouncer:
        raise Skip(reason)


# ---------------------------------------------------------------------------------------------
# Test registry and runner

_TESTS = []
FILE_BUDGET = int(os.environ.get('SLUICE_TEST_FILE_BUDGET', '780'))  # seconds per test file


class TestTimeout(Exception):
    pass


def test(fn=None, *, timeout=60, sluice_only=False):
    """Register a test function. timeout: seconds before it is failed as hung.
    sluice_only: skipped under --pgbouncer (behaviour PgBouncer does not have)."""
    def register(f):
        _TESTS.append((f.__name__, f, timeout, sluice_only))
        return f
    if fn is not None:
        return register(fn)
    return register


def _cleanup_test_resources():
    """Stop the poolers and sockets of the test that just ended; returns a list of problems."""
    problems = []
    with _cleanup_lock:
        for s in list(_live_sockets):
            try:
                s.close()
            except OSError:
                pass
        _live_sockets.clear()
        for p in list(_live_poolers):
            try:
                p.cleanup()
            except Exception as e:  # noqa: BLE001 - reported as a test failure
                problems.append(str(e))
        # private servers die with the test; the file's shared server lives on
        for srv in list(_live_servers):
            if srv is not _shared_pg:
                srv.cleanup()
    return problems


def _cleanup_all():
    with _cleanup_lock:
        for ca in list(_live_cas):
            ca.cleanup()
        _live_cas.clear()
        for p in list(_live_poolers):
            try:
                if p.proc is not None and p.proc.poll() is None:
                    p.proc.kill()
                    p.proc.wait()
            except Exception:  # noqa: BLE001
                pass
            if not OPTS.keep:
                shutil.rmtree(p.dir, ignore_errors=True)
        _live_poolers.clear()
        for srv in list(_live_servers):
            try:
                srv.cleanup()
            except Exception:  # noqa: BLE001
                pass


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    _cleanup_all()
    os._exit(128 + signum)


def _indent(text, prefix='    '):
    return '\n'.join(prefix + line for line in text.splitlines())


def _short(e):
    msg = str(e).strip() or e.__class__.__name__
    first = msg.splitlines()[0]
    if not isinstance(e, AssertionError):
        first = '%s: %s' % (e.__class__.__name__, first)
    return first[:300]


def main():
    ap = argparse.ArgumentParser(description='sluice integration tests')
    ap.add_argument('--sluice', help='path of the sluice binary')
    ap.add_argument('--pgbouncer', action='store_true', help='run against /usr/sbin/pgbouncer instead')
    ap.add_argument('-k', dest='pattern', help='only tests whose name contains this substring')
    ap.add_argument('--keep', action='store_true', help='keep temp dirs for debugging')
    args = ap.parse_args()
    OPTS.pgbouncer = args.pgbouncer
    OPTS.keep = args.keep
    if args.pgbouncer:
        OPTS.binary = PGBOUNCER_BIN
    elif args.sluice:
        OPTS.binary = os.path.abspath(args.sluice)
    else:
        ap.error('give --sluice PATH or --pgbouncer')
    if not os.access(OPTS.binary, os.X_OK):
        ap.error('not an executable: %s' % OPTS.binary)

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    # A hung C call (libpq waiting on the pooler) is not interrupted by a Python signal handler: on
    # timeout the watchdog kills the poolers (which unblocks every client of theirs) and raises in the
    # main thread; if the test still does not return, the file gives up hard.
    state = {}

    def on_alarm(signum, frame):
        if state.get('timed_out'):
            raise TestTimeout('test timed out after %ds' % state['timeout'])

    signal.signal(signal.SIGALRM, on_alarm)
    main_ident = threading.main_thread().ident

    passed = failed = skipped = 0
    selected = [t for t in _TESTS if not args.pattern or args.pattern in t[0]]
    # ctest kills a file after 900 s; stop starting tests well before, so the summary still prints
    file_deadline = time.monotonic() + FILE_BUDGET
    for name, fn, timeout, only_sluice in selected:
        if only_sluice and OPTS.pgbouncer:
            print('SKIP %s: sluice-only' % name, flush=True)
            skipped += 1
            continue
        left = file_deadline - time.monotonic()
        if left < 20:
            print('FAIL %s: not run, the file used up its %ds time budget' % (name, FILE_BUDGET),
                  flush=True)
            failed += 1
            continue
        timeout = int(min(timeout, left))
        state.clear()
        state['timeout'] = timeout

        def fire(state=state, name=name):
            state['timed_out'] = True
            for p in list(_live_poolers):
                try:
                    p.proc.kill()
                except Exception:  # noqa: BLE001
                    pass
            signal.pthread_kill(main_ident, signal.SIGALRM)
            hard = threading.Timer(60, give_up, args=(name,))
            hard.daemon = True
            hard.start()
            state['hard'] = hard

        def give_up(name):
            print('FAIL %s: hung for %ds and could not be interrupted' % (name, timeout + 60), flush=True)
            print('%d passed, %d failed' % (passed, failed + 1), flush=True)
            _cleanup_all()
            os._exit(1)

        watchdog = threading.Timer(timeout, fire)
        watchdog.daemon = True
        started = time.monotonic()
        error = tb = None
        logs = []
        watchdog.start()
        try:
            fn()
        except Skip as e:
            error = e
        except BaseException as e:  # noqa: BLE001 - every failure is reported
            if isinstance(e, KeyboardInterrupt):
                raise
            error = e
            tb = traceback.format_exc()
            if state.get('timed_out'):
                error = TestTimeout('test timed out after %ds (%s)' % (timeout, _short(e)))
            logs = [(p.logfile, p.log_tail()) for p in _live_poolers]
        finally:
            watchdog.cancel()
            if state.get('hard'):
                state['hard'].cancel()
        problems = _cleanup_test_resources()
        elapsed = time.monotonic() - started
        if isinstance(error, Skip):
            print('SKIP %s: %s' % (name, error), flush=True)
            skipped += 1
        elif error is None and not problems:
            print('PASS %s (%.1fs)' % (name, elapsed), flush=True)
            passed += 1
        else:
            reason = _short(error) if error is not None else problems[0].splitlines()[0]
            print('FAIL %s: %s' % (name, reason), flush=True)
            if tb:
                print(_indent(tb.rstrip()), flush=True)
            for prob in problems:
                print(_indent(prob), flush=True)
            for path, tail in logs:
                print('    --- tail of %s ---' % path, flush=True)
                print(_indent(tail), flush=True)
            failed += 1
    _cleanup_all()
    print('%d passed, %d failed' % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)
