"""Large transfers through the pooler: COPY FROM STDIN of ~200 MB and COPY TO STDOUT of it back (checksummed),
one 100 MB row through COPY both ways, a ~50 MB SELECT, and COPY failures mid-stream (client CopyFail,
server error while the client is still sending). The pooler's resident memory is sampled during each
transfer and must stay bounded: messages are streamed, never buffered whole."""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import RssSampler, eq, test  # noqa: E402

MAX_GROWTH_KB = 64 * 1024
PAYLOAD = (hashlib.sha256(b'sluice').hexdigest() * 8)[:192]


class RowSource:
    """A file-like object producing `nrows` COPY text rows on demand (nothing held in memory),
    hashing what it hands out."""

    def __init__(self, nrows, fail_after=None):
        self.nrows, self.next, self.fail_after = nrows, 1, fail_after
        self.sha, self.nbytes, self.pending = hashlib.sha256(), 0, b''

    def read(self, size=-1):
        while len(self.pending) < max(size, 1) and self.next <= self.nrows:
            end = min(self.nrows + 1, self.next + 4000)
            block = ''.join(['%d\t%s\n' % (i, PAYLOAD) for i in range(self.next, end)]).encode()
            self.next = end
            self.pending += block
        if size is None or size < 0:
            size = len(self.pending)
        out, self.pending = self.pending[:size], self.pending[size:]
        self.sha.update(out)
        self.nbytes += len(out)
        if self.fail_after is not None and self.nbytes > self.fail_after:
            raise RuntimeError('client gives up mid-COPY')
        return out


class BigRowSource:
    """One COPY row of `size` bytes (a single text field) followed by a newline."""

    def __init__(self, size):
        self.left = size
        self.block = (hashlib.sha512(b'row').hexdigest() * 512).encode()[:1 << 20]
        self.sha, self.nbytes, self.done = hashlib.sha256(), 0, False

    def read(self, size=-1):
        if self.left == 0:
            if self.done:
                return b''
            self.done = True
            out = b'\n'
        else:
            n = min(self.left, len(self.block), size if size and size > 0 else len(self.block))
            out = self.block[:n]
            self.left -= n
        self.sha.update(out)
        self.nbytes += len(out)
        return out


class HashSink:
    def __init__(self):
        self.sha, self.nbytes = hashlib.sha256(), 0

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sha.update(data)
        self.nbytes += len(data)


def check_growth(sampler, what):
    print('    RESULT %s pooler_rss_base_kib=%d pooler_rss_max_kib=%d growth_kib=%d' % (
        what, sampler.base, sampler.max, sampler.growth_kb), flush=True)
    if sampler.growth_kb > MAX_GROWTH_KB:
        raise AssertionError('%s: pooler RSS grew by %d KiB (limit %d KiB): large messages must '
                             'stream' % (what, sampler.growth_kb, MAX_GROWTH_KB))


def setup():
    pg = harness.shared_pg()
    pg.psql('DROP TABLE IF EXISTS copy_rows, copy_big;'
            'CREATE UNLOGGED TABLE copy_rows (id int, payload text);'
            'CREATE UNLOGGED TABLE copy_big (t text);'
            'ALTER TABLE copy_rows OWNER TO app; ALTER TABLE copy_big OWNER TO app', db='appdb')
    return pg


@test(timeout=600)
def copy_200mb_in_and_out():
    pg = setup()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    conn = p.connect()
    cur = conn.cursor()
    cur.execute('SELECT 1')  # server linked, buffers warmed: the baseline
    conn.commit()
    src = RowSource(1000000)
    with RssSampler(p.pid) as s:
        cur.copy_expert('COPY copy_rows FROM STDIN', src, size=256 * 1024)
        conn.commit()
    check_growth(s, 'copy_in_200mb')
    if src.nbytes < 190 * 1024 * 1024:
        raise AssertionError('only %d bytes sent' % src.nbytes)
    cur.execute('SELECT count(*) FROM copy_rows')
    eq(cur.fetchone()[0], 1000000, 'rows after COPY FROM')
    conn.commit()
    sink = HashSink()
    with RssSampler(p.pid) as s:
        cur.execute('SET LOCAL synchronize_seqscans = off')  # heap order = insertion order
        cur.copy_expert('COPY copy_rows TO STDOUT', sink, size=256 * 1024)
        conn.commit()
    check_growth(s, 'copy_out_200mb')
    eq(sink.nbytes, src.nbytes, 'bytes out vs in')
    eq(sink.sha.hexdigest(), src.sha.hexdigest(), 'checksum out vs in')
    conn.close()
    pg.psql('TRUNCATE copy_rows', db='appdb')


@test
def copy_in_transaction_mode_releases_server():
    """After a COPY FROM STDIN in autocommit, the server goes back to the pool at its ReadyForQuery:
    COPY data is not an unfinished extended-protocol request, so another client gets that server."""
    pg = setup()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, query_wait_timeout=3)
    a = p.connect(autocommit=True)
    a.cursor().copy_expert('COPY copy_rows FROM STDIN', RowSource(1000), size=8192)
    b = p.connect(autocommit=True)
    cur = b.cursor()
    cur.execute('SELECT count(*) FROM copy_rows')  # would wait for a's server and time out
    eq(cur.fetchone()[0], 1000, 'rows seen by the other client')
    a.close()
    b.close()
    pg.psql('TRUNCATE copy_rows', db='appdb')


@test(timeout=600)
def copy_one_100mb_row():
    pg = setup()
    p = harness.Pooler(pg, pool_mode='session', default_pool_size=2)
    conn = p.connect(autocommit=True)
    cur = conn.cursor()
    cur.execute('SELECT 1')
    src = BigRowSource(100 * 1024 * 1024)
    with RssSampler(p.pid) as s:
        cur.copy_expert('COPY copy_big FROM STDIN', src, size=1 << 20)
    check_growth(s, 'copy_in_100mb_row')
    cur.execute('SELECT length(t) FROM copy_big')
    eq(cur.fetchall(), [(100 * 1024 * 1024,)], 'stored row length')
    sink = HashSink()
    with RssSampler(p.pid) as s:
        cur.copy_expert('COPY copy_big TO STDOUT', sink)
    check_growth(s, 'copy_out_100mb_row')
    eq(sink.sha.hexdigest(), src.sha.hexdigest(), 'checksum of the 100 MB row')
    conn.close()
    pg.psql('TRUNCATE copy_big', db='appdb')


@test(timeout=300)
def select_50mb_result():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    conn = p.connect(autocommit=True)
    cur = conn.cursor()
    cur.execute('SELECT 1')
    with RssSampler(p.pid) as s:
        cur.execute('SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 50000) g')
        rows = cur.fetchall()
    check_growth(s, 'select_50mb')
    eq(len(rows), 50000, 'row count')
    eq(sum(len(r[1]) for r in rows), 50000 * 1024, 'total payload')
    eq(rows[12345][1], hashlib.md5(b'12346').hexdigest() * 32, 'a row')
    conn.close()


@test(timeout=300)
def copy_aborted_by_client():
    """psycopg2 sends CopyFail when the source raises; the connection and the pool stay usable."""
    pg = setup()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    conn = p.connect(autocommit=True)
    cur = conn.cursor()
    try:
        cur.copy_expert('COPY copy_rows FROM STDIN', RowSource(200000, fail_after=5 << 20))
        raise AssertionError('COPY with a failing source succeeded')
    except psycopg2.Error as e:
        if 'client gives up' not in str(e) and 'COPY' not in str(e):
            raise AssertionError('unexpected COPY error: %s' % e)
    cur.execute('SELECT count(*) FROM copy_rows')
    eq(cur.fetchone()[0], 0, 'rows after aborted COPY')
    eq(p.query('SELECT 1'), [(1,)], 'another client on the single server connection')
    conn.close()


@test(timeout=300)
def copy_server_error_mid_stream():
    """The server rejects a row while the client is still sending ~20 MB: the rest is discarded,
    the client gets the error, and its connection stays usable."""
    pg = setup()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    conn = p.connect(autocommit=True)
    cur = conn.cursor()

    class Bad(RowSource):
        def read(self, size=-1):
            out = super().read(size)
            if self.nbytes > (1 << 20) and not getattr(self, 'poisoned', False):
                self.poisoned = True
                out = b'not-a-number\tx\n' + out[out.index(b'\n') + 1:]
            return out

    try:
        cur.copy_expert('COPY copy_rows FROM STDIN', Bad(100000), size=64 * 1024)
        raise AssertionError('COPY with a bad row succeeded')
    except psycopg2.DataError:  # 22P02 or 22P04, depending on where the bad bytes land
        pass
    cur.execute('SELECT count(*) FROM copy_rows')
    eq(cur.fetchone()[0], 0, 'rows after failed COPY')
    eq(p.query('SELECT 2'), [(2,)], 'another client on the single server connection')
    conn.close()


@test(timeout=300)
def copy_error_while_a_message_is_half_sent():
    """The server rejects the COPY while the client is half-way through a large CopyData
    message: the rest of that message still goes to the same server (its framing stays
    intact), the client's next query runs, and the single server connection serves others."""
    pg = setup()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    c = p.raw()
    c.startup('app', 'appdb', 'apppw')
    c.send_msg(b'Q', b'COPY copy_rows FROM STDIN\0')
    eq(c.read_msg()[0], b'G', 'CopyInResponse')
    big = b'1\tx\n' * (1 << 18)  # 1 MiB of rows in one CopyData message
    msg = harness.message(b'd', big)
    # The bad row comes after 1 MiB of good ones, so the server is still busy with the first
    # message while the start of the second one reaches it through sluice.
    c.send(harness.message(b'd', big + b'not-a-number\tx\n') + msg[:200000])
    t, payload = c.read_msg(timeout=30)
    eq(t, b'E', 'error for the bad row')
    eq(harness.parse_error_fields(payload).get('C'), '22P02', 'SQLSTATE of the bad row')
    eq(c.read_msg(timeout=30)[0], b'Z', 'ReadyForQuery after the COPY error')
    c.send(msg[200000:])  # the rest of the half-sent message
    c.send_msg(b'c')  # CopyDone: the server ignores it now
    c.send_msg(b'Q', b'SELECT 41 + 1\0')
    seen = []
    while True:
        t, payload = c.read_msg(timeout=30)
        seen.append(t)
        if t == b'E':
            raise AssertionError('query after the COPY error failed: %s' % harness.parse_error_fields(payload))
        if t == b'Z':
            break
    eq(seen, [b'T', b'D', b'C', b'Z'], 'answer to the next query')
    eq(p.query('SELECT 2'), [(2,)], 'another client on the single server connection')


if __name__ == '__main__':
    harness.main()
