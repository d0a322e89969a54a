"""Transaction pooling without caveats, session state (issue 6): session-level SETs of parameters the
server does not report (lock_timeout, search_path, custom GUCs) follow their client and never reach
another one; DISCARD ALL is answered by sluice; advisory locks, temp tables, WITH HOLD cursors and
SQL PREPARE pin the client (pin_policy = pin) or are refused (pin_policy = error); idle server
connections ended by pg_terminate_backend are dropped quietly; CREATE/DROP DATABASE through sluice
works while it holds idle connections to that database. All with psycopg2 (Odoo's driver) and
fewer server connections than clients."""

import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


def _one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def _pid(conn):
    return _one(conn, 'SELECT pg_backend_pid()')


@test(sluice_only=True)
def set_session_lock_timeout_stays_with_its_client():
    """Odoo's SET SESSION lock_timeout = '15s' (outside a transaction) stays with that client; 50
    other clients sharing the same 3 server connections never see it."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)
    odoo = p.connect(autocommit=True)
    odoo.cursor().execute("SET SESSION lock_timeout = '15s'")
    odoo.cursor().execute('SET search_path TO pg_catalog, public')
    odoo.cursor().execute("SET myapp.tenant = 'acme'")
    others = [p.connect(autocommit=True) for _ in range(50)]
    errors = []

    def run(conn, n):
        try:
            for _ in range(n):
                eq(_one(conn, 'SHOW lock_timeout'), '0', 'lock_timeout of another client')
                eq(_one(conn, 'SHOW search_path'), '"$user", public', 'search_path of another')
                eq(_one(conn, "SELECT current_setting('myapp.tenant', true)") or '', '',
                   'custom GUC of another client')
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c, 5)) for c in others]
    for t in threads:
        t.start()
    for _ in range(20):
        eq(_one(odoo, 'SHOW lock_timeout'), '15s', 'the client that SET it')
        eq(_one(odoo, 'SHOW search_path'), 'pg_catalog, public', 'its search_path')
        eq(_one(odoo, "SELECT current_setting('myapp.tenant')"), 'acme', 'its custom GUC')
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    # Inside a transaction block (psycopg2 default) the SET is there too.
    odoo.autocommit = False
    eq(_one(odoo, 'SHOW lock_timeout'), '15s', 'inside a block')
    odoo.rollback()
    odoo.autocommit = True
    # RESET brings the default back, for this client only.
    odoo.cursor().execute('RESET lock_timeout')
    eq(_one(odoo, 'SHOW lock_timeout'), '0', 'after RESET')
    eq(_one(odoo, 'SHOW search_path'), 'pg_catalog, public', 'search_path kept after RESET other')
    odoo.cursor().execute('RESET ALL')
    eq(_one(odoo, 'SHOW search_path'), '"$user", public', 'after RESET ALL')
    if pg.backends(db='appdb', user='app') > 3:
        raise AssertionError('more than 3 server connections')
    for c in others + [odoo]:
        c.close()


@test(sluice_only=True)
def set_in_rolled_back_or_failed_transaction_is_not_kept():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1)
    a = p.connect(autocommit=False)
    b = p.connect(autocommit=True)
    a.cursor().execute("SET statement_timeout = '42s'")
    a.rollback()
    eq(_one(b, 'SHOW statement_timeout'), '0', 'rolled back SET on the shared server')
    eq(_one(a, 'SHOW statement_timeout'), '0', 'rolled back SET for its client')
    a.rollback()
    a.cursor().execute("SET statement_timeout = '43s'")
    a.commit()  # a SET (not LOCAL) in a committed block persists, as in PostgreSQL
    eq(_one(a, 'SHOW statement_timeout'), '43s', 'committed SET')
    a.rollback()
    eq(_one(b, 'SHOW statement_timeout'), '0', 'committed SET of A seen by B')
    a.autocommit = True
    try:
        a.cursor().execute("SET statement_timeout = '44s'; SELECT 1/0")
    except psycopg2.Error:
        pass
    eq(_one(a, 'SHOW statement_timeout'), '43s', 'SET in a failed implicit transaction')
    a.cursor().execute("SET LOCAL statement_timeout = '45s'")  # warning, no effect
    eq(_one(a, 'SHOW statement_timeout'), '43s', 'SET LOCAL outside a block')
    eq(_one(b, 'SHOW statement_timeout'), '0', 'B at the end')
    a.close()
    b.close()


@test(sluice_only=True)
def discard_all_answered_locally():
    """DISCARD ALL clears the client's tracked state and is answered without a server: it returns
    at once even while the only server connection is held by another client's transaction."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, query_wait_timeout=30)
    conn = p.connect(autocommit=True)
    conn.cursor().execute("SET lock_timeout = '3s'")
    holder = p.connect(autocommit=False)
    holder.cursor().execute('SELECT 1')  # holds the single server connection
    raw = p.raw()
    raw.startup('app', 'appdb', 'apppw')
    rows, err = raw.query('DISCARD ALL', timeout=5)
    eq(err, None, 'DISCARD ALL error')
    raw.close()
    conn.cursor().execute('DISCARD ALL')
    holder.rollback()
    eq(_one(conn, 'SHOW lock_timeout'), '0', 'lock_timeout after DISCARD ALL')
    # Inside a transaction block PostgreSQL refuses DISCARD ALL, and so does sluice's server.
    conn.autocommit = False
    conn.cursor().execute('SELECT 1')
    try:
        conn.cursor().execute('DISCARD ALL')
        raise AssertionError('DISCARD ALL accepted inside a transaction block')
    except psycopg2.Error as e:
        eq(e.pgcode, '25001', 'SQLSTATE')
    conn.rollback()
    conn.close()
    holder.close()


@test(sluice_only=True)
def advisory_lock_pins_and_unlock_releases():
    """A session advisory lock keeps its client on one server connection (so the lock is really
    held by that client) until it unlocks; other clients keep being served by the rest."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    a = p.connect(autocommit=True)
    b = p.connect(autocommit=True)
    c = p.connect(autocommit=True)
    eq(_one(a, 'SELECT pg_advisory_lock(4242)::text'), '', 'lock taken')
    pid_a = _pid(a)
    for _ in range(5):
        eq(_pid(a), pid_a, 'A stays on its server while it holds the lock')
        eq(_one(b, 'SELECT pg_try_advisory_lock(4242)'), False, 'B cannot take A\'s lock')
        eq(_one(c, 'SELECT 1'), 1, 'C served')
    eq(_one(a, 'SELECT pg_advisory_unlock(4242)'), True, 'unlock')
    eq(_one(b, 'SELECT pg_try_advisory_lock(4242)'), True, 'B takes it after A unlocked')
    eq(_one(b, 'SELECT pg_advisory_unlock_all()::text'), '', 'B unlock_all')
    # Temp table: pinned, visible to its creator on every transaction, gone with DISCARD ALL.
    a.cursor().execute('CREATE TEMP TABLE mine (x int)')
    for _ in range(3):
        eq(_one(c, 'SELECT 2'), 2, 'other clients')
        eq(_one(a, 'SELECT count(*) FROM mine'), 0, 'temp table still there')
    a.cursor().execute('DISCARD ALL')
    eq(_one(a, 'SELECT 1'), 1, 'after DISCARD ALL')
    a.close()
    b.close()
    c.close()
    if 'pinned to its server connection: session advisory lock' not in p.log():
        raise AssertionError('pin not logged:\n' + p.log_tail())


@test(sluice_only=True)
def pin_policy_error_refuses():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=1, pin_policy='error')
    a = p.connect(autocommit=True)
    for sql in ('SELECT pg_advisory_lock(1)', 'CREATE TEMP TABLE t (x int)',
                'PREPARE q AS SELECT 1'):
        try:
            a.cursor().execute(sql)
            raise AssertionError('%s accepted with pin_policy = error' % sql)
        except psycopg2.Error as e:
            eq(e.pgcode, '0A000', sql)
            if 'pin_policy' not in str(e):
                raise AssertionError('unclear error: %s' % e)
    eq(_one(a, 'SELECT 1'), 1, 'connection usable after the refusals')
    # Inside a block the refusal fails the block, as a server error would.
    a.autocommit = False
    a.cursor().execute('SELECT 1')
    try:
        a.cursor().execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")
        raise AssertionError('WITH HOLD accepted')
    except psycopg2.Error as e:
        eq(e.pgcode, '0A000', 'WITH HOLD in a block')
    try:
        a.cursor().execute('SELECT 1')
        raise AssertionError('block not failed')
    except psycopg2.Error as e:
        eq(e.pgcode, '25P02', 'block failed')
    a.rollback()
    eq(_one(a, 'SELECT pg_advisory_xact_lock(1)::text'), '', 'transaction-level lock allowed')
    a.commit()
    a.close()
    if 'refused session advisory lock (pin_policy = error)' not in p.log():
        raise AssertionError('refusal not logged')


@test(sluice_only=True)
def idle_server_terminated_is_dropped_quietly():
    """pg_terminate_backend on sluice's idle server connections: no client sees an error."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=4)
    conns = [p.connect(autocommit=True) for _ in range(4)]
    barrier = threading.Barrier(4)

    def hold(c):
        with c.cursor() as cur:
            barrier.wait(10)
            cur.execute('SELECT pg_sleep(0.3)')

    ts = [threading.Thread(target=hold, args=(c,)) for c in conns]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(pg.backends(db='appdb', user='app') >= 2, True, 'idle server connections exist')
    pg.psql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = 'appdb' "
            "AND usename = 'app' AND pid <> pg_backend_pid()")
    for c in conns:
        eq(_one(c, 'SELECT 7'), 7, 'query right after the termination')
    for c in conns:
        c.close()
    log = p.log()
    if 'idle server connection ended by the server' not in log:
        raise AssertionError('drop not logged:\n' + p.log_tail())
    if 'server conn crashed' in log:
        raise AssertionError('a client saw the termination:\n' + p.log_tail())


@test(sluice_only=True)
def create_and_drop_database_with_idle_pooled_connections():
    """Odoo's database manager: duplicate a database (CREATE DATABASE ... TEMPLATE) and drop it,
    through sluice, while sluice holds idle server connections to it."""
    pg = harness.shared_pg()
    pg.create_database('tenant_src', owner='app')
    pg.psql('ALTER ROLE app CREATEDB')
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3)
    for i in range(3):
        tenants = [p.connect(dbname='tenant_src', autocommit=True) for _ in range(3)]
        for t in tenants:
            eq(_one(t, 'SELECT 1'), 1, 'tenant query')
        for t in tenants:
            t.close()
        if pg.backends(db='tenant_src') < 1:
            raise AssertionError('no idle pooled connection to tenant_src')
        mgr = p.connect(dbname='postgres', autocommit=True)
        mgr.cursor().execute('CREATE DATABASE "tenant_copy" TEMPLATE "tenant_src"')
        # Now pooled connections to the copy, then drop it through sluice.
        t = p.connect(dbname='tenant_copy', autocommit=True)
        eq(_one(t, 'SELECT 2'), 2, 'copy usable')
        t.close()
        mgr.cursor().execute('DROP DATABASE "tenant_copy"')
        mgr.close()
        eq(pg.scalar("SELECT count(*) FROM pg_database WHERE datname = 'tenant_copy'"), 0,
           'round %d: copy dropped' % i)
    if not re.search(r'closing because: database is being (copied|dropped)', p.log()):
        raise AssertionError('no idle connection was closed for the command:\n' + p.log_tail())


def _drain(conn, want, timeout, got=None, stamps=None):
    """Collect notifications on conn until `want` payloads (or timeout); returns the list."""
    import select
    import time
    got = [] if got is None else got
    end = time.time() + timeout
    while len(got) < want and time.time() < end:
        # psycopg2 also collects notifications while it runs a query: look at those first.
        if conn.notifies or select.select([conn], [], [], 0.5)[0]:
            conn.poll()
            while conn.notifies:
                n = conn.notifies.pop(0)
                got.append((n.channel, n.payload))
                if stamps is not None:
                    stamps.append(time.time())
    return got


@test(sluice_only=True, timeout=120)
def listen_multiplexed_cron_trigger():
    """Odoo's cron worker: LISTEN cron_trigger on a long-lived connection that holds no server
    connection; 20 other clients NOTIFY from short transactions; every notification arrives (0
    lost) and the delivery latency p99 is reported."""
    import time
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=3, client_idle_timeout=3)
    cron = p.connect(autocommit=True)
    cron.cursor().execute('LISTEN cron_trigger')
    time.sleep(3.6)  # longer than client_idle_timeout: a listening client is not idle-closed
    senders = [p.connect(autocommit=False) for _ in range(20)]
    per_sender = 10
    sent_at = {}

    def send(k, conn):
        for i in range(per_sender):
            payload = '%d:%d' % (k, i)
            sent_at[payload] = time.time()
            conn.cursor().execute('NOTIFY cron_trigger, %s', (payload,))
            conn.commit()

    ts = [threading.Thread(target=send, args=(k, c)) for k, c in enumerate(senders)]
    for t in ts:
        t.start()
    stamps = []
    got = _drain(cron, 20 * per_sender, 60, stamps=stamps)
    for t in ts:
        t.join(30)
    eq(len(got), 20 * per_sender, 'notifications received')
    eq(len(set(got)), 20 * per_sender, 'distinct notifications')
    eq({c for c, _ in got}, {'cron_trigger'}, 'channel')
    lat = sorted(stamps[i] - sent_at[got[i][1]] for i in range(len(got)))
    print('    notification latency p50 %.1f ms p99 %.1f ms' %
          (lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000))
    # The listening client holds no server connection: 20 senders + listener fit in 3.
    if pg.backends(db='appdb', user='app') > 3:
        raise AssertionError('more than 3 server connections')
    # Its own notification comes back to it too, as in PostgreSQL.
    cron.cursor().execute("SELECT pg_notify('cron_trigger', 'self')")
    eq(_drain(cron, 1, 10), [('cron_trigger', 'self')], 'own notification')
    cron.cursor().execute('UNLISTEN cron_trigger')
    senders[0].cursor().execute("NOTIFY cron_trigger, 'after'")
    senders[0].commit()
    eq(_drain(cron, 1, 1.5), [], 'after UNLISTEN')
    for c in senders + [cron]:
        c.close()


@test(sluice_only=True, timeout=120)
def listen_imbus_dispatcher_and_transaction_semantics():
    """Odoo's bus: pg_notify('imbus', json) after commit from one client, a dispatcher listening
    on another; LISTEN in a block takes effect at commit (not after a rollback); DISCARD ALL and
    disconnect unregister."""
    pg = harness.shared_pg()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2)
    disp = p.connect(autocommit=False)
    disp.cursor().execute('LISTEN imbus')
    disp.rollback()  # a LISTEN in a rolled-back block does not happen
    web = p.connect(autocommit=False)
    web.cursor().execute("SELECT pg_notify('imbus', %s)", ('["rolled back"]',))
    web.commit()
    eq(_drain(disp, 1, 1.0), [], 'LISTEN rolled back')
    disp.cursor().execute('LISTEN imbus')
    disp.commit()
    for i in range(20):
        web.cursor().execute("SELECT pg_notify('imbus', %s)", ('{"n": %d}' % i,))
        web.commit()
    got = _drain(disp, 20, 20)
    eq([pl for _, pl in got], ['{"n": %d}' % i for i in range(20)], 'in order')
    disp.autocommit = True
    disp.cursor().execute('DISCARD ALL')
    web.cursor().execute("SELECT pg_notify('imbus', 'after discard')")
    web.commit()
    eq(_drain(disp, 1, 1.0), [], 'after DISCARD ALL')
    disp.close()
    web.close()


@test(sluice_only=True, timeout=120)
def listen_survives_server_restart():
    pg = harness.PgServer()
    pg.ensure_app()
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2, server_login_retry=0.5)
    cron = p.connect(autocommit=True)
    cron.cursor().execute('LISTEN cron_trigger')
    n = p.connect(autocommit=True)
    n.cursor().execute("NOTIFY cron_trigger, 'before'")
    eq(_drain(cron, 1, 10), [('cron_trigger', 'before')], 'before restart')
    n.close()
    pg.restart()
    import time
    deadline = time.time() + 30
    got = []
    while not got and time.time() < deadline:
        try:
            n = p.connect(autocommit=True)
            n.cursor().execute("NOTIFY cron_trigger, 'after'")
            n.close()
        except psycopg2.Error:
            time.sleep(0.3)
            continue
        got = _drain(cron, 1, 1.0)
    eq(got, [('cron_trigger', 'after')], 'after restart (client still connected)')
    if 'listener reconnected after' not in p.log():
        raise AssertionError('deaf time not logged:\n' + p.log_tail())
    cron.close()


@test(sluice_only=True, timeout=180)
def listen_client_not_reading_is_disconnected():
    """A client that LISTENs and never reads is closed once more than max_notify_queue are
    waiting; the other listener of the channel keeps getting everything."""
    pg = harness.shared_pg()
    # Sizes: the lazy client's socket buffers (a few MB on loopback) plus 500 queued messages
    # are well under the 21 MB sent. The reading client drains in a thread from the start; its
    # socket still fills now and then, which once stalled its held notifications for good (the
    # write watcher was stopped after the drained callback re-armed it): all 3000 must arrive.
    # The notifications go out in batches of 100 and the next batch waits until the reader has
    # all but one batch: a Python reader on a loaded 2-core machine may fall behind a single
    # 3000-row burst by more than max_notify_queue and be (rightly) disconnected itself.
    import threading
    import time
    p = harness.Pooler(pg, pool_mode='transaction', default_pool_size=2, max_notify_queue=500)
    lazy = p.raw()
    lazy.startup('app', 'appdb', 'apppw')
    lazy.query('LISTEN flood')
    good = p.connect(autocommit=True)
    good.cursor().execute('LISTEN flood')
    got = []
    reader = threading.Thread(target=_drain, args=(good, 3000, 120, got), daemon=True)
    reader.start()
    n = p.connect(autocommit=True)
    for first in range(1, 3001, 100):
        n.cursor().execute("SELECT pg_notify('flood', g::text || repeat('x', 7000)) "
                           "FROM generate_series(%s, %s) g", (first, first + 99))
        end = time.time() + 30
        while len(got) < first - 1 and time.time() < end:
            time.sleep(0.02)
    reader.join(125)
    eq(len(got), 3000, 'the reading client got everything')
    # Its socket is full, so the FATAL may not fit in front of the close: the log says why.
    try:
        err = lazy.expect_error(30)
        eq(err.get('C'), '53400', 'SQLSTATE for the client that does not read')
    except AssertionError as e:
        if 'closed without' not in str(e):
            raise
    harness.wait_for(lambda: 'does not read its notifications' in p.log(), 10,
                     what='the disconnection logged')
    good.close()
    n.close()


if __name__ == '__main__':
    harness.main()
