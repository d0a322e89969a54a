"""TLS on both sides, with a test CA made by the harness (openssl command line) and a PostgreSQL running with
ssl = on: psql with sslmode=verify-full through sluice; sluice to the server with
server_tls_sslmode=verify-full (pg_stat_ssl says ssl); a wrong CA and a host-name mismatch refused at once with
08006 naming the verification failure; certificate rotation by RELOAD without dropping open connections;
auth_type = cert; PostgreSQL 17 direct TLS (ALPN postgresql); an SSLRequest followed by plaintext refused;
large results and COPY through TLS on both sides (backpressure, data OpenSSL buffers)."""

import os
import shutil
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import ConnectionClosed, PgError, check_sqlstate, eq, test  # noqa: E402

_state = {}


def ca():
    if 'ca' not in _state:
        _state['ca'] = harness.TestCA('sluice test CA')
        _state['ca2'] = harness.TestCA('another CA')
    return _state['ca'], _state['ca2']


def tls_pg():
    """One PostgreSQL with ssl = on for the file, app role and database."""
    if 'pg' not in _state or _state['pg'] not in harness._live_servers:
        c1, _ = ca()
        pg = harness.PgServer(ssl=c1)
        pg.ensure_app()
        _state['pg'] = pg
    return _state['pg']


def sluice_cert(p, authority, name='sluice'):
    crt = os.path.join(p.dir, name + '.crt')
    key = os.path.join(p.dir, name + '.key')
    authority.issue('localhost', crt, key, san='DNS:localhost,IP:127.0.0.1')
    return crt, key


def tls_pooler(client_mode='require', server_mode='disable', start=True, **kw):
    pg = tls_pg()
    c1, _ = ca()
    p = harness.Pooler(pg, start=False, client_tls_sslmode=client_mode, server_tls_sslmode=server_mode,
                       **kw)
    crt, key = sluice_cert(p, c1)
    p.write_config(client_tls_cert_file=crt, client_tls_key_file=key)
    if start:
        p.start()
    return p


def psql_env(mode, root=None, **extra):
    env = {'PGSSLMODE': mode}
    if root:
        env['PGSSLROOTCERT'] = root
    env.update(extra)
    return env


@test(sluice_only=True)
def psql_verify_full_through_sluice():
    c1, _ = ca()
    p = tls_pooler()
    try:
        r = p.psql('SELECT 1', env=psql_env('verify-full', c1.crt))
        eq(r.returncode, 0, 'psql verify-full: ' + r.stderr)
        eq(r.stdout.strip(), '1')
        # SCRAM-SHA-256-PLUS is offered over TLS: libpq can insist on channel binding.
        r = p.psql('SELECT 1', env=psql_env('verify-full', c1.crt, PGCHANNELBINDING='require'))
        eq(r.returncode, 0, 'psql channel_binding=require: ' + r.stderr)
        # psycopg2 too, and the connection really is encrypted on the client side.
        conn = p.connect(sslmode='verify-full', sslrootcert=c1.crt)
        eq(conn.info.ssl_in_use, True, 'ssl_in_use')
        eq(conn.info.ssl_attribute('protocol') in ('TLSv1.2', 'TLSv1.3'), True, 'protocol')
        conn.close()
        # client_tls_sslmode = require: plaintext clients are refused with 28000.
        c = p.raw()
        try:
            c.startup('app', 'appdb', 'apppw')
            raise AssertionError('plaintext login accepted with client_tls_sslmode=require')
        except PgError as e:
            check_sqlstate(e.fields, '28000')
            assert 'TLS required' in e.fields.get('M', ''), e.fields
        assert 'tls=TLSv1.' in p.log(), 'login log line names the TLS version'
    finally:
        p.cleanup()


@test(sluice_only=True)
def server_verify_full_pg_stat_ssl():
    c1, _ = ca()
    p = tls_pooler(client_mode='disable', server_mode='verify-full', server_tls_ca_file=c1.crt,
                   verbose=1)
    try:
        rows = p.query('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
        eq(rows[0][0], True, 'pg_stat_ssl.ssl')
        assert rows[0][1] in ('TLSv1.2', 'TLSv1.3'), rows
        # PostgreSQL offers SCRAM-SHA-256-PLUS over TLS; the login above succeeded with it, so
        # the channel-binding data matched the server's certificate.
        assert 'SCRAM-SHA-256-PLUS' in p.log(), 'channel binding not used'
    finally:
        p.cleanup()


@test(sluice_only=True)
def server_wrong_ca_refused_clearly():
    _, c2 = ca()
    p = tls_pooler(client_mode='disable', server_mode='verify-ca', server_tls_ca_file=c2.crt)
    try:
        c = p.raw()
        t0 = time.monotonic()
        try:
            c.startup('app', 'appdb', 'apppw')
            raise AssertionError('login through an unverifiable server succeeded')
        except PgError as e:
            check_sqlstate(e.fields, '08006')
            msg = e.fields.get('M', '')
            assert 'certificate verify failed' in msg, msg
        assert time.monotonic() - t0 < 5, 'refusal took %.1fs' % (time.monotonic() - t0)
        assert 'certificate verify failed' in p.log()
    finally:
        p.cleanup()


@test(sluice_only=True)
def server_host_name_mismatch():
    c1, _ = ca()
    pg = tls_pg()
    p = tls_pooler(client_mode='disable', server_mode='verify-full', server_tls_ca_file=c1.crt,
                   start=False)
    # The server's certificate names 127.0.0.1 and localhost; a certificate for another name is
    # installed for this test, then the original one is restored.
    saved = (open(pg.ssl_cert, 'rb').read(), open(pg.ssl_key, 'rb').read())
    try:
        c1.issue('db.example.com', pg.ssl_cert, pg.ssl_key, san='DNS:db.example.com')
        harness._chown_to_postgres(pg.ssl_cert)
        harness._chown_to_postgres(pg.ssl_key)
        pg.reload()
        time.sleep(0.3)
        p.start()
        c = p.raw()
        try:
            c.startup('app', 'appdb', 'apppw')
            raise AssertionError('login through a server with the wrong host name succeeded')
        except PgError as e:
            check_sqlstate(e.fields, '08006')
            msg = e.fields.get('M', '')
            assert 'certificate verify failed' in msg and 'mismatch' in msg, msg
    finally:
        with open(pg.ssl_cert, 'wb') as f:
            f.write(saved[0])
        with open(pg.ssl_key, 'wb') as f:
            f.write(saved[1])
        pg.reload()
        p.cleanup()


@test(sluice_only=True)
def cert_rotation_by_reload():
    c1, c2 = ca()
    p = tls_pooler()
    try:
        old = p.connect(sslmode='verify-full', sslrootcert=c1.crt, autocommit=True)
        crt, key = sluice_cert(p, c2, 'rotated')
        # cert-manager style: new files written in place of the old ones.
        shutil.copy(crt, p.settings['client_tls_cert_file'])
        shutil.copy(key, p.settings['client_tls_key_file'])
        p.reload()
        harness.wait_for(lambda: p.psql('SELECT 1', env=psql_env('verify-full', c2.crt)).returncode == 0,
                         10, what='new certificate served after RELOAD')
        r = p.psql('SELECT 1', env=psql_env('verify-full', c1.crt))
        assert r.returncode != 0, 'old CA still accepted after rotation'
        with old.cursor() as cur:  # the connection made before the reload is untouched
            cur.execute('SELECT 2')
            eq(cur.fetchone(), (2,), 'old connection after rotation')
        old.close()
    finally:
        p.cleanup()


@test(sluice_only=True)
def cert_auth():
    c1, c2 = ca()
    p = tls_pooler(client_mode='verify-full', auth_type='cert', start=False)
    p.write_config(client_tls_ca_file=c1.crt)
    p.start()
    try:
        app_crt, app_key = c1.issue('app', os.path.join(p.dir, 'app.crt'), os.path.join(p.dir, 'app.key'))
        env = psql_env('verify-full', c1.crt, PGSSLCERT=app_crt, PGSSLKEY=app_key)
        r = p.psql('SELECT current_user', password=None, env=env)
        eq(r.returncode, 0, 'cert login: ' + r.stderr)
        eq(r.stdout.strip(), 'app')
        # The certificate's CN must be the user name.
        r = p.psql('SELECT 1', user='someone', password=None, env=env)
        assert r.returncode != 0 and 'certificate authentication failed' in r.stderr, r.stderr
        # A certificate from another CA does not even complete the handshake.
        bad_crt, bad_key = c2.issue('app', os.path.join(p.dir, 'bad.crt'), os.path.join(p.dir, 'bad.key'))
        r = p.psql('SELECT 1', password=None,
                   env=psql_env('verify-full', c1.crt, PGSSLCERT=bad_crt, PGSSLKEY=bad_key))
        assert r.returncode != 0, 'certificate from an unknown CA accepted'
    finally:
        p.cleanup()


def tls_raw(p, alpn=('postgresql',), direct=True, root=None):
    """A RawClient over TLS: direct (PostgreSQL 17) or after an SSLRequest."""
    c = p.raw()
    if not direct:
        eq(c.ssl_request(), b'S', 'SSLRequest answer')
    ctx = ssl.create_default_context(cafile=root or ca()[0].crt)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    c.sock = ctx.wrap_socket(c.sock, server_hostname='127.0.0.1')
    return c


@test(sluice_only=True)
def direct_tls_alpn():
    p = tls_pooler()
    try:
        c = tls_raw(p)
        eq(c.sock.selected_alpn_protocol(), 'postgresql', 'ALPN')
        c.startup('app', 'appdb', 'apppw')
        rows, err = c.query('SELECT 40 + 2')
        eq(err, None)
        eq(rows, [('42',)])
        c.terminate()
        # Without ALPN, a direct TLS connection is refused after the handshake.
        c = tls_raw(p, alpn=None)
        try:
            c.startup('app', 'appdb', 'apppw')
            raise AssertionError('direct TLS without ALPN accepted')
        except (ConnectionClosed, ConnectionResetError, ssl.SSLError, OSError):
            pass
        # A client that offers only other protocols fails the handshake.
        try:
            tls_raw(p, alpn=('http/1.1',))
            raise AssertionError('ALPN http/1.1 accepted')
        except (ssl.SSLError, ConnectionResetError, OSError):
            pass
        assert p.alive()
    finally:
        p.cleanup()


@test(sluice_only=True)
def plaintext_after_sslrequest_refused():
    p = tls_pooler()
    try:
        c = p.raw()
        # SSLRequest and a startup packet in one write: the startup bytes were not encrypted.
        c.send(struct.pack('!II', 8, harness.SSL_REQUEST_CODE) + harness.startup_packet('app', 'appdb'))
        mtype, payload = c.read_msg(timeout=10)
        eq(mtype, b'E')
        check_sqlstate(harness.parse_error_fields(payload), '08P01')
        # GSSENCRequest is still answered N.
        c = p.raw()
        c.send(struct.pack('!II', 8, 80877104))
        eq(c.recv_bytes(1), b'N', 'GSSENCRequest answer')
    finally:
        p.cleanup()


@test(sluice_only=True)
def login_timeout_covers_tls_handshake():
    p = tls_pooler(client_login_timeout=2)
    try:
        # SSLRequest answered 'S', then silence: no ClientHello ever comes.
        c = p.raw()
        eq(c.ssl_request(), b'S')
        t0 = time.monotonic()
        assert c.wait_closed(10), 'silent TLS client not closed'
        assert 1.5 < time.monotonic() - t0 < 6, time.monotonic() - t0
        # Half a handshake: a ClientHello-looking record that never completes.
        c = p.raw()
        c.send(b'\x16\x03\x01\x00\xff\x01')
        assert c.wait_closed(10), 'stalled direct TLS client not closed'
        assert p.alive()
    finally:
        p.cleanup()


@test(sluice_only=True, timeout=180)
def idle_tls_client_memory():
    """OpenSSL's record buffers are released while a TLS connection is idle
    (SSL_MODE_RELEASE_BUFFERS): many idle TLS clients cost little more than plain ones."""
    p = tls_pooler(client_mode='prefer', pool_mode='transaction', max_client_conn=1000)
    try:
        n = 300
        socks = []

        def open_idle(tls):
            c = tls_raw(p, direct=False) if tls else p.raw()
            c.startup('app', 'appdb', 'apppw')
            rows, err = c.query('SELECT 1')
            eq(err, None)
            socks.append(c)
        for _ in range(20):  # warm-up: pools, slab, allocator
            open_idle(True)
        time.sleep(0.5)
        base = p.rss_kb()
        for _ in range(n):
            open_idle(False)
        time.sleep(0.5)
        plain = p.rss_kb()
        for _ in range(n):
            open_idle(True)
        time.sleep(0.5)
        tls = p.rss_kb()
        per_plain = (plain - base) * 1024 / n
        per_tls = (tls - plain) * 1024 / n
        print('    RESULT idle_clients n=%d plain_bytes_per_client=%.0f tls_bytes_per_client=%.0f'
              % (n, per_plain, per_tls))
        if not harness.binary_is_sanitized():
            assert per_tls < 48 * 1024, 'idle TLS client costs %.0f bytes' % per_tls
        for c in socks:
            c.close()
    finally:
        p.cleanup()


@test(sluice_only=True, timeout=180)
def bulk_through_tls_both_sides():
    c1, _ = ca()
    p = tls_pooler(server_mode='verify-full', server_tls_ca_file=c1.crt, pool_mode='transaction')
    try:
        conn = p.connect(sslmode='verify-full', sslrootcert=c1.crt, autocommit=True)
        with conn.cursor() as cur:
            # ~40 MB result: many TLS records, backpressure towards a slow reader.
            cur.execute("SELECT i, repeat(md5(i::text), 64) FROM generate_series(1, 20000) i")
            n = 0
            for i, s in cur:
                assert len(s) == 2048, (i, len(s))
                n += 1
            eq(n, 20000, 'rows')
            cur.execute('CREATE TEMP TABLE IF NOT EXISTS t (a int, b text)')
        conn.close()
        conn = p.connect(sslmode='verify-full', sslrootcert=c1.crt)
        import io
        data = ''.join('%d\t%s\n' % (i, 'y' * 500) for i in range(50000))
        with conn.cursor() as cur:
            cur.execute('CREATE TEMP TABLE c (a int, b text)')
            cur.copy_from(io.StringIO(data), 'c')
            cur.execute('SELECT count(*), sum(length(b)) FROM c')
            eq(cur.fetchone(), (50000, 50000 * 500))
        conn.rollback()
        conn.close()
        # Many short TLS sessions in parallel.
        script = os.path.join(p.dir, 'select.sql')
        with open(script, 'w') as f:
            f.write('SELECT 1;\n')
        r = p.pgbench(['-n', '-f', script, '-c', '8', '-j', '2', '-t', '200'])
        eq(r.returncode, 0, 'pgbench: ' + r.stderr)
    finally:
        p.cleanup()


if __name__ == '__main__':
    harness.main()
