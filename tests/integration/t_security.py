"""Access rules and hardening: auth_user + auth_query for a user missing from auth_file (cached, asynchronous);
nonexistent roles answered like wrong passwords; auth_type = hba with reject, CIDR, netmask, hostnossl and
no-match rules; tenant_isolation; client_conn_rate; the PROXY protocol (v1 and v2, trusted networks only, the
real address used by HBA and logs); the auth_file permission warning; secrets kept out of the log; and a
malformed-input storm from many connections after which sluice is up, serves well-formed clients and its RSS
is back near its baseline."""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import ConnectionClosed, PgError, check_sqlstate, eq, test  # noqa: E402

_roles = []


def pg_with_roles():
    pg = harness.shared_pg()
    if not _roles:
        pg.create_role('aq_admin', 'aqpw', options='LOGIN SUPERUSER')
        pg.create_role('aq_user', 'aqupw')
        pg.create_role('trusty', 'tpw')
        pg.create_role('acme_u', 'acpw')
        pg.create_database('acme_db', owner='acme_u')
        _roles.append(True)
    return pg


def login_error(p, user, password, db='appdb'):
    c = p.raw()
    try:
        c.startup(user, db, password)
    except PgError as e:
        return e.fields
    finally:
        c.close()
    raise AssertionError('login of %s to %s succeeded' % (user, db))


def login_ok(p, user, password, db='appdb'):
    c = p.raw()
    c.startup(user, db, password)
    rows, err = c.query('SELECT current_user')
    eq(err, None, 'query error')
    c.terminate()
    return rows[0][0]


@test(sluice_only=True)
def auth_query_user_missing_from_auth_file():
    pg = pg_with_roles()
    p = harness.Pooler(pg, userlist={'app': 'apppw', 'aq_admin': 'aqpw'}, auth_user='aq_admin',
                       auth_type='scram-sha-256', pool_mode='transaction')
    try:
        eq(login_ok(p, 'aq_user', 'aqupw'), 'aq_user', 'auth_query login')
        eq(login_ok(p, 'aq_user', 'aqupw'), 'aq_user', 'cached second login')
        f = login_error(p, 'aq_user', 'wrong')
        check_sqlstate(f, '28P01')
        g = login_error(p, 'no_such_role', 'whatever')
        check_sqlstate(g, '28P01')
        # A role that does not exist gets the same answer as a wrong password.
        eq(g.get('M').replace('no_such_role', 'X'), f.get('M').replace('aq_user', 'X'), 'same message')
        # Many clients at once: lookups never block the loop, a bystander keeps working.
        errors = []

        def one():
            try:
                eq(login_ok(p, 'aq_user', 'aqupw'), 'aq_user')
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=one) for _ in range(20)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(errors, [], 'parallel auth_query logins')
        log = p.log()
        assert 'aqupw' not in log and 'aqpw' not in log and 'SCRAM-SHA-256$' not in log, 'secret logged'
    finally:
        p.cleanup()


HBA = """\
# sluice test rules: first match wins
host    all     blocked         127.0.0.1/32            reject
host    all     all             10.0.0.0/8              trust
host    appdb   trusty          127.0.0.0/8             trust
hostssl all     all             0.0.0.0/0               trust
hostnossl appdb app,"aq_admin"  127.0.0.1 255.255.255.255 scram-sha-256
local   all     all                                     scram-sha-256
"""


def hba_pooler(pg, hba=HBA, **kw):
    p = harness.Pooler(pg, start=False, auth_type='hba',
                       userlist={'app': 'apppw', 'blocked': 'x', 'trusty': 'tpw', 'other': 'opw',
                                 'aq_admin': 'aqpw'}, **kw)
    path = os.path.join(p.dir, 'hba.conf')
    with open(path, 'w') as f:
        f.write(hba)
    p.write_config(auth_hba_file=path)
    p.start()
    return p


@test(sluice_only=True)
def hba_rules():
    pg = pg_with_roles()
    p = hba_pooler(pg)
    try:
        eq(login_ok(p, 'app', 'apppw'), 'app', 'hostnossl scram rule')
        f = login_error(p, 'app', 'bad')
        check_sqlstate(f, '28P01')
        f = login_error(p, 'blocked', 'x')
        check_sqlstate(f, '28000')
        assert 'line 2' in f['M'] and 'rejects' in f['M'], f
        eq(login_ok(p, 'trusty', 'not-the-password'), 'trusty', 'CIDR trust rule')
        f = login_error(p, 'other', 'opw')
        check_sqlstate(f, '28000')
        assert 'no auth_hba_file entry' in f['M'], f
        # A broken rules file on reload keeps the old rules (and says so).
        with open(p.settings['auth_hba_file'], 'w') as fh:
            fh.write('host all all 10.0.0.0/33 trust\n')
        p.reload()
        harness.wait_for(lambda: 'keeping the previous' in p.log(), 10, what='reload error logged')
        eq(login_ok(p, 'app', 'apppw'), 'app', 'old rules still apply')
    finally:
        p.cleanup()


@test(sluice_only=True)
def tenant_isolation():
    pg = pg_with_roles()
    ini = '[tenant.acme]\ndatabases = acme_db\nusers = acme_*\n'
    p = harness.Pooler(pg, userlist={'app': 'apppw', 'acme_u': 'acpw'}, tenant_isolation=1,
                       extra_ini=ini)
    try:
        eq(login_ok(p, 'acme_u', 'acpw', db='acme_db'), 'acme_u', 'own tenant database')
        f = login_error(p, 'acme_u', 'acpw', db='appdb')
        check_sqlstate(f, '28000')
        assert 'tenant isolation' in f['M'] and '"acme"' in f['M'], f
        eq(login_ok(p, 'app', 'apppw'), 'app', 'user outside every tenant')
    finally:
        p.cleanup()


@test(sluice_only=True)
def client_conn_rate():
    pg = pg_with_roles()
    p = harness.Pooler(pg, client_conn_rate=3)
    try:
        time.sleep(1.1)  # the port probe of start() counted as one
        codes = []
        for _ in range(8):
            c = p.raw()
            try:
                c.startup('app', 'appdb', 'apppw')
                codes.append('ok')
                c.terminate()
            except PgError as e:
                codes.append(e.fields.get('C'))
        assert codes.count('53300') >= 4, codes
        time.sleep(1.1)
        eq(login_ok(p, 'app', 'apppw'), 'app', 'after the window')
    finally:
        p.cleanup()


def proxy_v2(src, sport, dst='127.0.0.1', dport=6432):
    sig = b'\r\n\r\n\x00\r\nQUIT\n'
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!HH', sport, dport)
    return sig + b'\x21\x11' + struct.pack('!H', len(body)) + body


@test(sluice_only=True)
def proxy_protocol():
    pg = pg_with_roles()
    hba = 'host all all 10.9.8.0/24 reject\nhost all all 0.0.0.0/0 scram-sha-256\n'
    p = hba_pooler(pg, hba=hba, proxy_protocol=1, proxy_protocol_trusted='127.0.0.0/8')
    try:
        # v1 from a trusted proxy: the real address is used by logs...
        c = p.raw()
        c.send(b'PROXY TCP4 192.0.2.7 127.0.0.1 4242 6432\r\n')
        c.startup('app', 'appdb', 'apppw')
        c.terminate()
        harness.wait_for(lambda: '192.0.2.7:4242' in p.log(), 5, what='real address in the log')
        # ...and by HBA rules (v2 header, address in a rejected network).
        c = p.raw()
        c.send(proxy_v2('10.9.8.7', 5555))
        try:
            c.startup('app', 'appdb', 'apppw')
            raise AssertionError('HBA reject did not apply to the PROXY address')
        except PgError as e:
            check_sqlstate(e.fields, '28000')
            assert '10.9.8.7' in e.fields['M'], e.fields
        # Malformed headers are refused.
        for bad in (b'PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n', b'PROXY TCP4 1.2.3.4\r\n',
                    b'\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c' + bytes(12), b'PROXY ' + b'A' * 200):
            c = p.raw()
            c.send(bad + harness.startup_packet('app', 'appdb'))
            mtype, payload = c.read_msg(timeout=10)
            eq(mtype, b'E', 'answer to %r' % bad[:20])
            check_sqlstate(harness.parse_error_fields(payload), '08P01')
        # A client without a header still connects directly.
        eq(login_ok(p, 'app', 'apppw'), 'app', 'direct client')
    finally:
        p.cleanup()
    # From an untrusted address, a PROXY header is refused.
    p = harness.Pooler(pg, proxy_protocol=1, proxy_protocol_trusted='10.0.0.0/8')
    try:
        c = p.raw()
        c.send(b'PROXY TCP4 192.0.2.7 127.0.0.1 4242 6432\r\n' + harness.startup_packet('app', 'appdb'))
        mtype, payload = c.read_msg(timeout=10)
        eq(mtype, b'E')
        f = harness.parse_error_fields(payload)
        check_sqlstate(f, '08P01')
        assert 'untrusted' in f['M'], f
    finally:
        p.cleanup()


@test(sluice_only=True)
def auth_file_permission_warning():
    pg = pg_with_roles()
    p = harness.Pooler(pg)  # the harness writes the auth_file 0644
    try:
        assert 'is accessible by group or others' in p.log(), p.log_tail()
    finally:
        p.cleanup()


@test(sluice_only=True)
def audit_log_logins():
    import json
    pg = pg_with_roles()
    p = harness.Pooler(pg, start=False)
    path = os.path.join(p.dir, 'audit.jsonl')
    p.write_config(audit_log=path)
    p.start()
    try:
        login_ok(p, 'app', 'apppw')
        check_sqlstate(login_error(p, 'app', 'wrong'), '28P01')
        lines = [json.loads(line) for line in open(path)]
        eq([(x['event'], x['result'], x['user']) for x in lines],
           [('login', 'ok', 'app'), ('login', 'refused', 'app')])
        eq(lines[1]['sqlstate'], '28P01')
        eq(lines[0]['addr'], '127.0.0.1')
        eq(os.stat(path).st_mode & 0o777, 0o600, 'audit_log mode')
        # Rotation: move the file away, reload, the next line goes to a new file.
        os.rename(path, path + '.1')
        p.reload()
        harness.wait_for(lambda: os.path.exists(path), 5, what='audit_log reopened')
        login_ok(p, 'app', 'apppw')
        eq(len(open(path).readlines()), 1, 'line in the new file')
        assert 'apppw' not in open(path + '.1').read() + open(path).read()
    finally:
        p.cleanup()


@test(sluice_only=True)
def slow_query_log():
    pg = pg_with_roles()
    p = harness.Pooler(pg, pool_mode='transaction', log_min_duration_statement='200ms',
                       log_min_duration_transaction='400ms')
    try:
        conn = p.connect(autocommit=True, application_name='slowtest')
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.3), 'hidden-literal', 42")
            cur.execute('SELECT 1')
            cur.execute('BEGIN')
            cur.execute('SELECT pg_sleep(0.25)')
            cur.execute('SELECT pg_sleep(0.25)')
            cur.execute('COMMIT')
        conn.close()
        harness.wait_for(lambda: 'slow transaction' in p.log(), 5, what='slow transaction line')
        log = p.log()
        lines = [x for x in log.splitlines() if 'slow statement' in x]
        eq(len(lines), 3, 'slow statements:\n' + '\n'.join(lines))
        assert 'pg_sleep(?), ?, ?' in lines[0] and 'hidden-literal' not in log, lines[0]
        assert 'db=appdb user=app application_name=slowtest' in lines[0], lines[0]
        tx = [x for x in log.splitlines() if 'slow transaction' in x]
        eq(len(tx), 1, 'one slow transaction')
        assert 'COMMIT' in tx[0] or 'pg_sleep' in tx[0], tx[0]
    finally:
        p.cleanup()


def garbage_connection(port, rng):
    """One hostile connection: a random kind of malformed input, then read whatever comes back."""
    kind = rng.randrange(9)
    start = harness.startup_packet('app', 'appdb')
    if kind == 0:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    elif kind == 1:
        data = start[:rng.randrange(1, len(start))]  # truncated, then hang up
    elif kind == 2:
        data = struct.pack('!I', 0x7fffffff) + b'\x00\x03\x00\x00'  # oversized length
    elif kind == 3:
        data = struct.pack('!I', 3) + b'\x00' * 8  # length below the header
    elif kind == 4:
        data = struct.pack('!II', 12, harness.SSL_REQUEST_CODE) + b'\0' * 4  # wrong-length SSLRequest
    elif kind == 5:
        body = struct.pack('!I', harness.PROTOCOL_V3) + b'user\0' + b'x' * 9000  # no terminators
        data = struct.pack('!I', len(body) + 4) + body
    elif kind == 6:  # startup, then a password message with a lying length
        data = start + b'p' + struct.pack('!I', 0xfffffff0) + b'abc'
    elif kind == 7:  # many parameters
        body = struct.pack('!I', harness.PROTOCOL_V3) + b''.join(
            b'k%d\0v\0' % i for i in range(1500)) + b'\0'
        data = struct.pack('!I', len(body) + 4) + body
    else:  # PROXY-looking and TLS-looking junk
        data = rng.choice([b'PROXY ', b'\x16\x03\x01\x02\x00\x01', b'\r\n\r\n\x00\r\nQUIT\n']) + bytes(
            rng.randrange(256) for _ in range(rng.randrange(0, 64)))
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(data)
        if rng.random() < 0.5:
            s.settimeout(2)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
        s.close()
    except OSError:
        pass


def storm(port, n_threads=16, per_thread=40, seed=7):
    def worker(i):
        rng = random.Random(seed * 1000 + i)
        for _ in range(per_thread):
            garbage_connection(port, rng)
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


@test(sluice_only=True, timeout=300)
def malformed_input_storm():
    pg = pg_with_roles()
    p = harness.Pooler(pg, auth_type='md5', pool_mode='transaction', client_login_timeout=3,
                       max_client_conn=2000)
    try:
        bystander = p.connect(autocommit=True)
        storm(p.port, seed=1)  # warm-up: slab and allocator settle
        time.sleep(4)  # client_login_timeout clears silent connections
        base = p.rss_kb()
        stop = threading.Event()
        served = []

        def well_formed():
            while not stop.is_set():
                eq(p.query('SELECT 1'), [(1,)])
                served.append(1)
        t = threading.Thread(target=well_formed)
        t.start()
        storm(p.port, seed=2)
        stop.set()
        t.join()
        assert served, 'well-formed clients were not served during the storm'
        with bystander.cursor() as cur:
            cur.execute('SELECT 2')
            eq(cur.fetchone(), (2,))
        time.sleep(4)
        assert p.alive(), 'sluice died'
        grown = p.rss_kb() - base
        # ASan's quarantine holds freed memory on purpose; leaks are its own report at exit.
        if not harness.binary_is_sanitized():
            assert grown < 8 * 1024, 'RSS grew by %d kB after the storm' % grown
        eq(login_ok(p, 'app', 'apppw'), 'app', 'after the storm')
    finally:
        p.cleanup()


if __name__ == '__main__':
    harness.main()
