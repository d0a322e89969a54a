"""Online restart on one host: a second sluice started with the same configuration takes the
running one's listening sockets; SIGTERM then drains the old one. Under a load of
connection-per-request clients and Odoo-style pooled clients, no connection is refused and no
request fails."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


@test(sluice_only=True, timeout=120)
def online_restart_refuses_nothing():
    pg = harness.shared_pg()
    pg.ensure_app()
    old = harness.Pooler(pg, pool_mode='transaction', so_reuseport=1, shutdown_timeout=20)
    new = harness.Pooler(pg, start=False, pool_mode='transaction', so_reuseport=1,
                         shutdown_timeout=20, listen_port=old.port, unix_socket_dir=old.dir)
    new.port = old.port
    failures, done = [], []
    stop_at = time.monotonic() + 8

    def per_request():
        n = 0
        while time.monotonic() < stop_at:
            try:
                c = psycopg2.connect(host='127.0.0.1', port=old.port, user='app',
                                     password='apppw', dbname='appdb', connect_timeout=5)
                c.autocommit = True
                c.cursor().execute('SELECT 1')
                c.close()
                n += 1
            except psycopg2.Error as e:
                failures.append(repr(e))
        done.append(n)

    def pooled():
        pool = harness.OdooStylePool([old.port])
        n = 0
        while time.monotonic() < stop_at:
            try:
                conn = pool.borrow()
                with conn.cursor() as cur:
                    cur.execute('SELECT 2')
                conn.commit()
                n += 1
            except psycopg2.Error as e:
                failures.append(repr(e))
            time.sleep(0.005)
        done.append(n)

    threads = [threading.Thread(target=per_request) for _ in range(4)]
    threads += [threading.Thread(target=pooled) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    new.start()
    harness.wait_for(lambda: 'took' in new.log() and 'listening sockets over' in new.log(),
                     what='new process took the sockets')
    time.sleep(1.0)
    old.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(60)
    rc = old.proc.wait(30)
    old.expected_exit = True
    eq(rc, 0, 'old process exit code')
    print('RESULT online restart: %d requests, %d failed or refused' % (sum(done), len(failures)))
    eq(failures, [], 'failed or refused requests')
    # The new process alone serves now, on TCP and on the unix socket.
    eq(new.query('SELECT 3'), [(3,)], 'new process over TCP')
    c = psycopg2.connect(host=old.dir, port=old.port, user='app', password='apppw',
                         dbname='appdb')
    c.cursor().execute('SELECT 4')
    c.close()


def cancel_one(pg, p, app, port):
    """A client with a running pg_sleep(30) on whichever process accepts it; a cancel sent to
    the shared port (whichever process accepts that) must cancel it."""
    c = p.raw()
    c.startup('app', 'appdb', 'apppw', application_name=app)
    pid, key = c.backend_key
    c.send_msg(b'Q', b'SELECT pg_sleep(30)\0')
    harness.wait_sleep_running(pg, app)
    return c, pid, key


@test(sluice_only=True, timeout=120)
def online_restart_passes_cancels_both_ways():
    """One config (one peer id, or none): a cancel accepted by the process that does not own
    the client is passed to the one that does, before and after the old one is told to drain."""
    pg = harness.shared_pg()
    pg.ensure_app()
    old = harness.Pooler(pg, pool_mode='transaction', so_reuseport=1, shutdown_timeout=20)
    early, epid, ekey = cancel_one(pg, old, 'ho_early', old.port)  # on the old process
    new = harness.Pooler(pg, start=False, pool_mode='transaction', so_reuseport=1,
                         shutdown_timeout=20, listen_port=old.port, unix_socket_dir=old.dir)
    new.port = old.port
    new.start()
    harness.wait_for(lambda: 'listening sockets over' in new.log(), what='the hand-over')
    harness.wait_for(lambda: 'passed to' in old.log(), what='the old process to learn where '
                     'to pass cancels')
    # Both accept from the same sockets now: clients and cancels land on either process.
    for i in range(8):
        app = 'ho_both_%d' % i
        c, pid, key = cancel_one(pg, old, app, old.port)
        t0 = time.monotonic()
        harness.send_cancel('127.0.0.1', old.port, pid, key)
        rows, err = c.read_result(timeout=15)
        if err is None:
            raise AssertionError('cancel %d did not reach its query' % i)
        harness.check_sqlstate(err, '57014', what='cancel %d' % i)
        eq(c.query('SELECT 1')[0], [('1',)], 'the connection goes on')
        c.terminate()
        print('  cancel %d answered in %.0f ms' % (i, (time.monotonic() - t0) * 1000))
    # The old process drains: it accepts nothing more, so the cancel for its running client
    # reaches the new process, which passes it back.
    old.proc.send_signal(signal.SIGTERM)
    harness.wait_for(lambda: 'drain started' in old.log(), what='the drain to start')
    time.sleep(0.3)
    harness.send_cancel('127.0.0.1', old.port, epid, ekey)
    rows, err = early.read_result(timeout=15)
    if err is None:
        raise AssertionError('the draining process\'s query was not cancelled')
    harness.check_sqlstate(err, '57014', what='cancel passed to the draining process')
    rc = old.proc.wait(30)
    old.expected_exit = True
    eq(rc, 0, 'old process exit code')
    passed_back = new.log().count('cancel request passed to the previous process')
    passed_fwd = old.log().count('cancel request passed to the next process')
    print('RESULT online restart, one config: 9 cancels all reached their queries; passed '
          'new->old %d times, old->new %d times' % (passed_back, passed_fwd))
    if passed_back < 1:
        raise AssertionError('the cancel for the draining process was not passed back')


if __name__ == '__main__':
    harness.main()
