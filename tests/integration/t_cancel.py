"""Query cancellation through the pooler: psycopg2's conn.cancel() (libpq PQcancel to the pooler with the
BackendKeyData the pooler handed out) and a raw CancelRequest, in session and transaction mode; a
cancel aimed at an idle client must not hit whoever uses its former server connection."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402
import psycopg2.errors  # noqa: E402

import harness  # noqa: E402
from harness import check_sqlstate, eq, test  # noqa: E402


wait_running = harness.wait_sleep_running


def cancel_psycopg2(mode, in_transaction):
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode=mode, default_pool_size=2)
    app = 'cancel_%s_%d' % (mode, in_transaction)
    conn = p.connect(autocommit=not in_transaction, application_name=app)
    cur = conn.cursor()
    cur.execute('SELECT 1')
    outcome = {}

    def canceller():
        try:
            wait_running(pg, app)
            outcome['sent'] = time.monotonic()
            conn.cancel()
        except Exception as e:  # noqa: BLE001
            outcome['error'] = repr(e)

    t = threading.Thread(target=canceller)
    t.start()
    t0 = time.monotonic()
    try:
        cur.execute('SELECT pg_sleep(30)')
        raise AssertionError('pg_sleep(30) was not cancelled')
    except psycopg2.errors.QueryCanceled:
        pass
    finally:
        t.join()
    if 'error' in outcome:
        raise AssertionError('cancel failed: ' + outcome['error'])
    took = time.monotonic() - outcome['sent']
    if took > 10:
        raise AssertionError('cancel took %.1fs to take effect' % took)
    if in_transaction:
        conn.rollback()
    cur.execute('SELECT 2')
    eq(cur.fetchone(), (2,), 'connection usable after cancel')
    if in_transaction:
        conn.commit()
    conn.close()
    return time.monotonic() - t0


@test(timeout=120)
def cancel_session_mode():
    cancel_psycopg2('session', False)


@test(timeout=120)
def cancel_transaction_mode():
    cancel_psycopg2('transaction', False)


@test(timeout=120)
def cancel_transaction_mode_inside_transaction():
    cancel_psycopg2('transaction', True)


@test(timeout=120)
def cancel_raw_request():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    c = p.raw()
    c.startup('app', 'appdb', 'apppw', application_name='raw_cancel')
    if c.backend_key is None:
        raise AssertionError('no BackendKeyData from the pooler')
    c.send_msg(b'Q', b'SELECT pg_sleep(30)\0')
    wait_running(pg, 'raw_cancel')
    c.cancel('127.0.0.1', p.port)
    rows, err = c.read_result(timeout=15)
    if err is None:
        raise AssertionError('query finished without an error after cancel')
    check_sqlstate(err, '57014', what='cancelled query')
    eq(c.query('SELECT 3')[0], [('3',)], 'after cancel')
    # a cancel with a wrong secret does nothing. The sleep is long enough that the poll of
    # pg_stat_activity sees it running even on a slow sanitizer build.
    c.send_msg(b'Q', b'SELECT pg_sleep(4)\0')
    wait_running(pg, 'raw_cancel')
    harness.send_cancel('127.0.0.1', p.port, c.backend_key[0], c.backend_key[1] ^ 0x5a5a5a5a)
    rows, err = c.read_result(timeout=15)
    eq(err, None, 'query with a wrong-secret cancel')
    c.terminate()


@test(timeout=120)
def cancel_of_idle_client_does_not_hit_others():
    """Transaction mode, one server connection: A ran a query on it, B now runs on it; A's cancel
    must not cancel B's query."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    a = p.raw()
    a.startup('app', 'appdb', 'apppw', application_name='idle_a')
    eq(a.query('SELECT 1')[0], [('1',)], 'A')
    b = p.raw()
    b.startup('app', 'appdb', 'apppw', application_name='busy_b')
    b.send_msg(b'Q', b'SELECT pg_sleep(2)\0')
    wait_running(pg, 'busy_b')
    a.cancel('127.0.0.1', p.port)
    rows, err = b.read_result(timeout=30)
    eq(err, None, "B's query after A's cancel")
    eq(a.query('SELECT 4')[0], [('4',)], 'A still usable')
    a.terminate()
    b.terminate()


if __name__ == '__main__':
    harness.main()
