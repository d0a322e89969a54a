"""Errors a client can provoke, checked on the wire with the raw protocol client (libpq hides the SQLSTATE
of a FATAL that is followed by a close): unknown database, too many clients, malformed and oversized
packets, garbage, a silent client hitting client_login_timeout. A bystander client keeps working
through all of it."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import ConnectionClosed, PgError, check_sqlstate, eq, test  # noqa: E402


def pooler(**kw):
    pg = harness.shared_pg()
    settings = dict(auth_type='md5', pool_mode='transaction', default_pool_size=2)
    settings.update(kw)
    p = harness.Pooler(pg, databases={'appdb': 'host=127.0.0.1 port=%d' % pg.port}, **settings)
    bystander = p.connect(autocommit=True)
    return p, bystander


def still_works(conn, what=''):
    with conn.cursor() as cur:
        cur.execute('SELECT 41 + 1')
        eq(cur.fetchone(), (42,), 'bystander after ' + what)


def fatal_then_close(c, sqlstate, pgbouncer=None, what=''):
    """Expect a FATAL ErrorResponse with sqlstate, then the close. pgbouncer='close' accepts PgBouncer
    closing without an ErrorResponse; another string is the SQLSTATE PgBouncer sends instead."""
    try:
        mtype, payload = c.read_msg(timeout=10)
    except ConnectionClosed:
        if harness.is_pgbouncer() and pgbouncer == 'close':
            return None
        raise AssertionError('%s: closed without an ErrorResponse' % what)
    if mtype != b'E':
        raise AssertionError('%s: expected ErrorResponse, got %r' % (what, mtype))
    fields = harness.parse_error_fields(payload)
    check_sqlstate(fields, sqlstate, pgbouncer=None if pgbouncer == 'close' else pgbouncer, what=what)
    eq(fields.get('S'), 'FATAL', what + ' severity')
    if not c.wait_closed(10):
        raise AssertionError('%s: connection not closed after FATAL' % what)
    return fields


@test
def unknown_database():
    p, by = pooler()
    c = p.raw()
    try:
        c.startup('app', 'no_such_db', 'apppw')
        raise AssertionError('login to an unknown database succeeded')
    except PgError as e:
        # PgBouncer 1.18 reports "no such database" with 08P01; PostgreSQL and sluice use 3D000
        check_sqlstate(e.fields, '3D000', pgbouncer='08P01', what='unknown database')
        eq(e.fields.get('S'), 'FATAL', 'severity')
    if not c.wait_closed(10):
        raise AssertionError('connection not closed after FATAL')
    still_works(by, 'unknown database')


@test
def too_many_clients():
    p, by = pooler(max_client_conn=2)  # the bystander is client 1
    c2 = p.raw()
    c2.startup('app', 'appdb', 'apppw')
    c3 = p.raw()
    try:
        c3.startup('app', 'appdb', 'apppw')
        raise AssertionError('third client accepted with max_client_conn=2')
    except (PgError, ConnectionClosed) as e:
        if isinstance(e, ConnectionClosed):
            raise AssertionError('third client closed without an ErrorResponse')
        # PgBouncer: "no more connections allowed (max_client_conn)" with 08P01
        check_sqlstate(e.fields, '53300', pgbouncer='08P01', what='max_client_conn')
    c3.close()
    still_works(by, 'max_client_conn')
    eq(c2.query('SELECT 1')[0], [('1',)], 'second client')
    c2.terminate()
    # a slot freed: a new client gets in
    c4 = harness.wait_for(lambda: _try_login(p), timeout=10, what='a free client slot')
    c4.terminate()


def _try_login(p):
    c = p.raw()
    try:
        return c.startup('app', 'appdb', 'apppw')
    except (PgError, ConnectionClosed):
        c.close()
        return None


@test
def startup_length_too_small():
    p, by = pooler()
    c = p.raw()
    # length 3 and a protocol code: 8 bytes, so a pooler that reads a full header has it all
    c.send(struct.pack('!II', 3, harness.PROTOCOL_V3))
    # PgBouncer closes without an error message
    fatal_then_close(c, '08P01', pgbouncer='close', what='startup length 3')
    still_works(by, 'startup length 3')


@test
def startup_length_huge():
    p, by = pooler()
    c = p.raw()
    c.send(struct.pack('!II', 100 * 1024 * 1024, harness.PROTOCOL_V3) + b'user\0app\0' * 100)
    fatal_then_close(c, '08P01', pgbouncer='close', what='startup length 100 MB')
    still_works(by, 'startup length 100 MB')
    eq(p.rss_kb() < 200 * 1024, True, 'pooler RSS stays small (did not allocate the claimed length)')


@test
def oversized_message_after_login():
    p, by = pooler(max_packet_size=65536)
    c = p.raw()
    c.startup('app', 'appdb', 'apppw')
    size = 10 * 1024 * 1024
    c.send(b'Q' + struct.pack('!I', size) + b'SELECT ')
    try:
        c.send(b'x' * 65536)  # the pooler may close before all of it arrives
    except OSError:
        pass
    fatal_then_close(c, '08P01', what='message above max_packet_size')
    still_works(by, 'oversized message')


@test
def garbage_instead_of_startup():
    p, by = pooler()
    for junk in (b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', bytes(range(256)) * 4, b'\x00' * 64):
        c = p.raw()
        try:
            c.send(junk)
        except OSError:
            pass
        # an ErrorResponse is optional here; the close is not
        if not c.wait_closed(10):
            raise AssertionError('connection with garbage %r... still open' % junk[:16])
        still_works(by, 'garbage %r' % junk[:8])


@test
def unknown_message_type_after_login():
    p, by = pooler()
    c = p.raw()
    c.startup('app', 'appdb', 'apppw')
    c.send_msg(b'\x7f', b'junk')
    try:
        fields = c.expect_error(timeout=10)
        check_sqlstate(fields, '08P01', what='unknown message type')
    except AssertionError:
        if not harness.is_pgbouncer():
            raise
    if not c.wait_closed(10):
        raise AssertionError('connection still open after an invalid message')
    still_works(by, 'unknown message type')


@test
def silent_client_hits_login_timeout():
    p, by = pooler(client_login_timeout=1)
    silent = p.socket()
    half = p.raw()
    pkt = harness.startup_packet('app', 'appdb')
    half.send(pkt[:len(pkt) // 2])  # half a startup packet, then nothing
    authing = p.raw()
    authing.send(pkt)  # startup, then never answers the password request
    t0 = time.monotonic()
    for name, s in (('silent', silent), ('half packet', half.sock), ('no password', authing.sock)):
        left = max(0.5, 15 - (time.monotonic() - t0))
        s.settimeout(left)
        closed = False
        try:
            while True:
                if not s.recv(65536):
                    closed = True
                    break
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        except socket.timeout:
            pass
        if not closed:
            raise AssertionError('%s client still connected %.0fs after client_login_timeout=1' % (
                name, time.monotonic() - t0))
    still_works(by, 'login timeout')


@test
def ssl_request_refused_then_plain_login():
    """Without TLS configured the pooler answers SSLRequest with 'N' and the client goes on in clear."""
    p, by = pooler()
    c = p.raw()
    eq(c.ssl_request(), b'N', 'SSLRequest answer')
    c.startup('app', 'appdb', 'apppw')
    eq(c.query('SELECT 7')[0], [('7',)], 'query after SSLRequest N')
    c.terminate()


@test
def bogus_cancel_request_is_harmless():
    p, by = pooler()
    c = p.raw()
    c.startup('app', 'appdb', 'apppw')
    harness.send_cancel('127.0.0.1', p.port, 12345, 67890)
    eq(c.query('SELECT 1')[0], [('1',)], 'client after a bogus cancel')
    still_works(by, 'bogus cancel')


@test
def error_inside_transaction_then_recovery():
    """A failed statement aborts the transaction (25P02 for the next one) until ROLLBACK."""
    p, by = pooler()
    c = p.raw()
    c.startup('app', 'appdb', 'apppw')
    eq(c.query('BEGIN')[1], None, 'BEGIN')
    rows, err = c.query('SELECT 1/0')
    check_sqlstate(err, '22012', what='division by zero')
    rows, err = c.query('SELECT 1')
    check_sqlstate(err, '25P02', what='statement in an aborted transaction')
    eq(c.query('ROLLBACK')[1], None, 'ROLLBACK')
    eq(c.query('SELECT 1')[0], [('1',)], 'after rollback')
    c.terminate()


if __name__ == '__main__':
    harness.main()
