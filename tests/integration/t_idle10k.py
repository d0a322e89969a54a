"""10,000 idle clients: open them (raw sockets doing startup with trust auth, many in flight at once),
check that a new client still gets served and that some of the idle ones still work, and report the
pooler's resident memory per idle client. sluice must stay under 4 KiB per idle client (not checked
for PgBouncer or for a sanitizer build, whose allocator adds redzones; the figure is printed anyway)."""

import os
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

N_CLIENTS = 10000
MAX_KIB_PER_CLIENT = 4.0


def open_idle_clients(port, n, user='app', database='appdb', in_flight=400, deadline_s=120):
    """Open n logged-in clients; returns their sockets. Raises on any error or close."""
    sel = selectors.DefaultSelector()
    pkt = harness.startup_packet(user, database)
    ready, pending, started = [], {}, 0
    deadline = time.monotonic() + deadline_s
    while len(ready) < n:
        while started < n and len(pending) < in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', port))
            sel.register(s, selectors.EVENT_WRITE)
            pending[s] = b''
            started += 1
        if time.monotonic() > deadline:
            raise AssertionError('only %d of %d clients logged in within %ds' % (len(ready), n, deadline_s))
        for key, mask in sel.select(timeout=5):
            s = key.fileobj
            if mask & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise AssertionError('connect failed after %d clients: %s' % (len(ready), os.strerror(err)))
                s.send(pkt)
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b''
            if not data:
                raise AssertionError('pooler closed client %d during login' % (len(ready) + 1))
            buf = pending[s] + data
            while len(buf) >= 5:
                mtype = buf[:1]
                length = struct.unpack('!I', buf[1:5])[0]
                if len(buf) < 1 + length:
                    break
                payload, buf = buf[5:1 + length], buf[1 + length:]
                if mtype == b'E':
                    raise AssertionError('login of client %d failed: %s' % (
                        len(ready) + 1, harness.parse_error_fields(payload)))
                if mtype == b'R' and struct.unpack('!I', payload[:4])[0] != 0:
                    raise AssertionError('pooler asked for a password although auth_type=trust')
                if mtype == b'Z':
                    sel.unregister(s)
                    del pending[s]
                    s.setblocking(True)
                    ready.append(s)
                    buf = None
                    break
            if buf is not None:
                pending[s] = buf
    sel.close()
    return ready


def query_on(sock, sql):
    """Run a simple query on an already logged-in raw socket; returns the first column of the rows."""
    sock.settimeout(30)
    sock.sendall(harness.message(b'Q', sql.encode() + b'\0'))
    buf, rows = b'', []
    while True:
        while len(buf) < 5 or len(buf) < 1 + struct.unpack('!I', buf[1:5])[0]:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError('idle client closed by the pooler')
            buf += chunk
        length = struct.unpack('!I', buf[1:5])[0]
        mtype, payload, buf = buf[:1], buf[5:1 + length], buf[1 + length:]
        if mtype == b'E':
            raise AssertionError('query on idle client failed: %s' % harness.parse_error_fields(payload))
        if mtype == b'D':
            ln = struct.unpack('!i', payload[2:6])[0]
            rows.append(payload[6:6 + ln].decode())
        if mtype == b'Z':
            return rows


@test(timeout=600)
def idle_10k_clients():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, auth_type='trust', pool_mode='transaction', default_pool_size=4,
                       max_client_conn=N_CLIENTS + 1000, listen_backlog=4096)
    eq(p.query('SELECT 1'), [(1,)], 'warm-up')  # a server connection and buffers exist: the baseline
    time.sleep(0.2)
    before = p.rss_kb()
    t0 = time.monotonic()
    socks = open_idle_clients(p.port, N_CLIENTS)
    took = time.monotonic() - t0
    time.sleep(0.5)
    after = p.rss_kb()
    per_client = (after - before) / float(N_CLIENTS)
    print('    RESULT idle_clients=%d pooler=%s rss_before_kib=%d rss_after_kib=%d '
          'rss_per_client_kib=%.2f login_seconds=%.1f' % (
              N_CLIENTS, 'pgbouncer' if harness.is_pgbouncer() else 'sluice', before, after,
              per_client, took), flush=True)
    eq(p.query('SELECT 2'), [(2,)], 'new client with 10,000 idle ones')
    for i in (0, N_CLIENTS // 2, N_CLIENTS - 1):
        eq(query_on(socks[i], 'SELECT %d' % i), [str(i)], 'idle client %d' % i)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
    eq(p.query('SELECT 3'), [(3,)], 'after the idle clients left')
    if harness.is_pgbouncer():
        return
    if harness.binary_is_sanitized():
        print('    (sanitizer build: per-client memory not checked)', flush=True)
        return
    if per_client >= MAX_KIB_PER_CLIENT:
        raise AssertionError('%.2f KiB of RSS per idle client (limit %.1f KiB)' % (per_client,
                                                                                  MAX_KIB_PER_CLIENT))


if __name__ == '__main__':
    harness.main()
