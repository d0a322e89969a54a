#!/usr/bin/python3
"""Build the seed corpora in tests/fuzz/corpus/ from real traffic.

A throwaway PostgreSQL 15 (the integration harness) is put behind a recording TCP relay; psql and
pgbench run a few sessions through it (SCRAM login, simple and extended queries, COPY, an error,
a notice). The recorded client and server byte streams are cut into what each target eats:
startup packets, whole streams for the relay walker, SCRAM messages from the SASL exchange. The
HBA, PROXY, md5 and config seeds are written from the files and header formats they parse.

Run as root from the repository: /usr/bin/python3 tests/fuzz/make_corpus.py"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import harness  # noqa: E402

OUT = os.path.join(HERE, 'corpus')


def put(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


class Recorder:
    """Accepts one connection at a time and relays it to the server, keeping both streams."""

    def __init__(self, port):
        self.port = port
        self.sessions = []
        self.ls = socket.socket()
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(16)
        self.addr = self.ls.getsockname()
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            c, _ = self.ls.accept()
            s = socket.create_connection(('127.0.0.1', self.port))
            rec = {'c2s': bytearray(), 's2c': bytearray()}
            self.sessions.append(rec)
            for a, b, key in ((c, s, 'c2s'), (s, c, 's2c')):
                threading.Thread(target=self.pump, args=(a, b, rec[key]), daemon=True).start()

    @staticmethod
    def pump(a, b, buf):
        while True:
            try:
                d = a.recv(65536)
            except OSError:
                d = b''
            if not d:
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += d
            try:
                b.sendall(d)
            except OSError:
                return


def messages(stream, startup):
    """Split a recorded stream into (type, whole message bytes)."""
    out, i = [], 0
    if startup:
        while i + 8 <= len(stream):
            n = struct.unpack('!I', stream[i:i + 4])[0]
            out.append((0, bytes(stream[i:i + n])))
            i += n
            if struct.unpack('!I', stream[i - n + 4:i - n + 8])[0] >> 16 == 3:
                break
    while i + 5 <= len(stream):
        n = struct.unpack('!I', stream[i + 1:i + 5])[0]
        out.append((stream[i], bytes(stream[i:i + 1 + n])))
        i += 1 + n
    return out


def record():
    pg = harness.PgServer()
    pg.ensure_app()
    rec = Recorder(pg.port)
    env = dict(os.environ, PGPASSWORD='apppw', PGSSLMODE='disable')
    base = ['-h', '127.0.0.1', '-p', str(rec.addr[1]), '-U', 'app', '-d', 'appdb']
    sql = ("SET application_name = 'corpus'; SELECT 1; SELECT repeat('x', 3000) FROM generate_series(1,5);"
           "CREATE TEMP TABLE t(a int); COPY t FROM STDIN;\n1\n2\n\\.\n"
           "DO $$ BEGIN RAISE NOTICE 'hello'; END $$; SELECT * FROM missing_table;")
    subprocess.run(['psql', '-X'] + base, input=sql.encode(), env=env, capture_output=True, timeout=60)
    script = os.path.join(pg.dir, 'x.sql')
    with open(script, 'w') as f:
        f.write('\\set a random(1, 100)\nSELECT :a::int + 1;\nBEGIN;\nSELECT 2;\nCOMMIT;\n')
    subprocess.run(['pgbench', '-n', '-M', 'extended', '-f', script, '-t', '3'] + base, env=env,
                   capture_output=True, timeout=60)
    import time
    time.sleep(0.5)
    pg.cleanup()
    return rec.sessions


def main():
    for s in record():
        c2s, s2c = bytes(s['c2s']), bytes(s['s2c'])
        put('fuzz_stream', b'\x01' + c2s)
        put('fuzz_stream', b'\x07' + c2s[:4096])
        cm = messages(c2s, startup=True)
        for t, m in cm:
            if t == 0:
                put('fuzz_startup', m)
        sm = messages(s2c, startup=False)
        # SCRAM: client-first from the SASLInitialResponse, client-final from the SASLResponse,
        # server-first/final from AuthenticationSASLContinue/Final.
        cf = [m for t, m in cm if t == ord('p')]
        sf = [m[9:] for t, m in sm if t == ord('R') and struct.unpack('!I', m[5:9])[0] in (11, 12)]
        if len(cf) >= 2 and len(sf) >= 2:
            first = cf[0][5:]
            mech_end = first.index(b'\0')
            client_first = first[mech_end + 5:]
            client_final = cf[1][5:]
            put('fuzz_scram', b'\x00' + client_first + b'\0' + client_final)
            put('fuzz_scram', b'\x01' + sf[0] + b'\0' + sf[1])
            put('fuzz_scram', b'\x03' + sf[0] + b'\0' + sf[1])
    put('fuzz_proxy', b'PROXY TCP4 192.0.2.1 198.51.100.2 56324 6432\r\n')
    put('fuzz_proxy', b'PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n')
    put('fuzz_proxy', b'PROXY UNKNOWN\r\n')
    sig = b'\r\n\r\n\x00\r\nQUIT\n'
    put('fuzz_proxy', sig + b'\x21\x11\x00\x0c' + bytes([10, 0, 0, 1, 10, 0, 0, 2, 1, 2, 3, 4]))
    put('fuzz_proxy', sig + b'\x21\x21\x00\x24' + bytes(36))
    put('fuzz_proxy', sig + b'\x20\x00\x00\x00')
    put('fuzz_hba', b'# TYPE DATABASE USER ADDRESS METHOD\nlocal all all trust\n'
                    b'host all blocked 127.0.0.1/32 reject\nhostssl db1,"Db 2" u1 10.0.0.0/8 cert\n'
                    b'hostnossl sameuser all ::1/128 scram-sha-256\n'
                    b'host all all 172.16.0.0 255.240.0.0 md5\nhost all all all password\n')
    put('fuzz_md5', b'salt' + b'md5' + hashlib.md5(b'apppwapp').hexdigest().encode() + b'\0app\0apppw')
    put('fuzz_md5', b'\x00\x01\x02\x03plain\0user\0pw')
    with open(os.path.join(HERE, '..', '..', 'conf', 'sluice.ini'), 'rb') as f:
        put('fuzz_config', f.read())
    put('fuzz_config', b'[sluice]\nlisten_addr=127.0.0.1\nauth_type=hba\nclient_tls_sslmode=disable\n'
                       b'[databases]\n* = host=127.0.0.1 port=5432 pool_size=5\n'
                       b'[tenant.acme]\ndatabases = acme*\nusers = acme_*\nmax_server_conn = 4\n'
                       b'[class.report]\nmatch = application_name=report*\npriority = 1\n')


if __name__ == '__main__':
    main()
