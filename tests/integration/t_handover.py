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


if __name__ == '__main__':
    harness.main()
