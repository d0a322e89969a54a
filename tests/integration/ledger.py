"""A write load with a client-side commit ledger, for the failover tests (t_replication.py,
t_dns.py): each client INSERTs one ledger row per transaction and remembers every COMMIT that
was acknowledged; check() compares that ledger with what the new primary holds and classifies
every error against the promises of the failover section in docs/failover.md."""

import threading
import time

import psycopg2

from harness import eq

CLIENTS = 12


class Load:
    """CLIENTS threads, each on its own connection: INSERT one ledger row, COMMIT, a short
    pause; every outcome is kept with its start time."""

    def __init__(self, p, clients=CLIENTS):
        self.p = p
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []      # (client, seq) whose COMMIT returned
        self.outcomes = []   # (client, start, end, 'ok' | sqlstate | 'closed:...', stage)
        self.messages = {}   # first message text per SQLSTATE
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def run(self, cid):
        conn = self.p.connect()
        seq = 0
        while not self.stop.is_set():
            seq += 1
            t0 = time.monotonic()
            stage = 'insert'
            try:
                cur = conn.cursor()
                cur.execute('INSERT INTO ledger VALUES (%s, %s)', (cid, seq))
                stage = 'commit'
                conn.commit()
                with self.lock:
                    self.acked.append((cid, seq))
                    self.outcomes.append((cid, t0, time.monotonic(), 'ok', stage))
            except psycopg2.Error as e:
                what = e.pgcode if e.pgcode else 'closed: %s' % str(e).strip()[:200]
                with self.lock:
                    self.outcomes.append((cid, t0, time.monotonic(), what, stage))
                    self.messages.setdefault(what, str(e).strip())
                if conn.closed:
                    return
                try:
                    conn.rollback()
                except psycopg2.Error:
                    return
            time.sleep(0.005)
        conn.close()

    def first_ok_after(self, t):
        ends = [o[2] for o in self.outcomes if o[3] == 'ok' and o[1] >= t]
        return min(ends) if ends else None


def check(load, new_primary, t_lost, what, allow_errors=True):
    errors = [o for o in load.outcomes if o[3] != 'ok']
    by_state = {}
    for o in errors:
        by_state[o[3]] = by_state.get(o[3], 0) + 1
    conn = new_primary.connect(db='appdb')
    cur = conn.cursor()
    cur.execute('SELECT client, seq FROM ledger')
    rows = set(cur.fetchall())
    conn.close()
    missing = [a for a in load.acked if a not in rows]
    oks = sum(1 for o in load.outcomes if o[3] == 'ok')
    print('RESULT %s: %d transactions committed, errors by SQLSTATE %r, %d acknowledged '
          'COMMITs missing on the new primary' % (what, oks, by_state, len(missing)))
    for k, v in load.messages.items():
        print('  %s: %s' % (k, v.replace('\n', ' | ')))
    eq(missing, [], '(a) every acknowledged COMMIT is on the new primary')
    for o in errors:
        if o[3] not in ('40001', '08007'):
            raise AssertionError('(c) unexpected error %r at %s' % (o[3], o[4]))
        if o[3] == '08007' and o[4] != 'commit':
            raise AssertionError('(c) 08007 outside COMMIT: %r' % (o,))
        # (b) a transaction that began once the loss had been seen got no error
        if o[1] > t_lost + 1.0:
            raise AssertionError('(b) transaction started %.2f s after the loss failed: %r'
                                 % (o[1] - t_lost, o))
    for cid in {o[0] for o in errors}:
        last_err = max(o[2] for o in errors if o[0] == cid)
        if not any(o[0] == cid and o[3] == 'ok' and o[1] >= last_err for o in load.outcomes):
            raise AssertionError('(c) client %d did not commit again after its error' % cid)
    if not allow_errors:
        eq(by_state, {}, 'no error for anyone')
    return by_state
