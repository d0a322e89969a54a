"""The traffic governor against a real PostgreSQL: tenant rate limits, class reserves and ceilings,
shedding that leaves the connection usable, comment/option classification with per-class
statement_timeout, auto tenants, tenant max_client_conn and max_server_conn, live reload."""

import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


def pg_with(*dbs):
    pg = harness.shared_pg()
    pg.ensure_app()
    for d in dbs:
        pg.create_database(d, owner='app')
    return pg


def governed(pg, gov_ini, **settings):
    if harness.is_pgbouncer():
        raise harness.Skip('governor sections are sluice-only')
    base = dict(pool_mode='transaction', default_pool_size=10)
    base.update(settings)
    return harness.Pooler(pg, extra_ini=gov_ini, **base)


def run_for(fn, seconds):
    """Call fn() in a loop for seconds; return (count, errors)."""
    end = time.monotonic() + seconds
    n = errs = 0
    while time.monotonic() < end:
        try:
            fn()
            n += 1
        except psycopg2.Error:
            errs += 1
    return n, errs


@test
def rate_limited_tenant_gets_its_rate_other_unaffected():
    pg = pg_with('gov_limited', 'gov_free')
    p = governed(pg, """
[tenant.limited]
databases = gov_limited
xact_rate = 20
xact_burst = 1
[class.default]
queue_timeout = 60s
""")
    counts = {}
    errors = {}
    count_from = time.monotonic() + 1.0  # the bucket's initial burst is spent by then
    stop_at = count_from + 5.0

    def worker(name, db, idx):
        conn = p.connect(dbname=db, autocommit=True)
        cur = conn.cursor()
        n = e = 0
        while time.monotonic() < stop_at:
            try:
                cur.execute('SELECT 1')
                cur.fetchone()
                if count_from <= time.monotonic() < stop_at:
                    n += 1
            except psycopg2.Error:
                e += 1
        counts[(name, idx)] = n
        errors[(name, idx)] = e
        conn.close()

    threads = [threading.Thread(target=worker, args=('limited', 'gov_limited', i)) for i in range(10)]
    threads += [threading.Thread(target=worker, args=('free', 'gov_free', i)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    limited = sum(v for k, v in counts.items() if k[0] == 'limited')
    free = sum(v for k, v in counts.items() if k[0] == 'free')
    rate = limited / 5.0
    print('RESULT governor rate limit: limited tenant %.1f xact/s (configured 20, 10 clients), '
          'free tenant %d xacts in 5 s' % (rate, free))
    eq(sum(errors.values()), 0, 'errors (rate limits delay, they do not fail)')
    if not 18.0 <= rate <= 22.0:
        raise AssertionError('limited tenant ran %.1f xact/s, configured 20 (+-10%%)' % rate)
    if free < 5 * limited:
        raise AssertionError('free tenant ran %d transactions vs limited %d: it was slowed down'
                             % (free, limited))


@test
def weighted_fair_share_between_tenants():
    pg = pg_with('gov_w_gold', 'gov_w_basic')
    p = governed(pg, """
[tenant_defaults]
max_server_conn = 4
[tenant.gold]
databases = gov_w_gold
weight = 3
[class.default]
queue_timeout = 60s
""", users={'app': 'max_user_connections=4'})
    counts = {'gov_w_gold': 0, 'gov_w_basic': 0}
    lock = threading.Lock()
    count_from = time.monotonic() + 1.0
    stop_at = count_from + 6.0

    def worker(db):
        conn = p.connect(dbname=db, autocommit=True)
        cur = conn.cursor()
        while time.monotonic() < stop_at:
            cur.execute('SELECT pg_sleep(0.02)')
            if count_from <= time.monotonic() < stop_at:
                with lock:
                    counts[db] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(db,)) for db in counts for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Equal transactions, so the count ratio is the server-time ratio (up to the server logins
    # a slot pays when it moves between the two databases' pools).
    ratio = counts['gov_w_gold'] / max(1, counts['gov_w_basic'])
    print('RESULT governor weights 3:1 over 4 shared server connections: %d vs %d transactions '
          '(ratio %.2f), %d server logins' % (counts['gov_w_gold'], counts['gov_w_basic'], ratio,
                                             p.log().count('login ok')))
    if not 2.4 <= ratio <= 3.6:
        raise AssertionError('weight 3 vs 1 gave a ratio of %.2f' % ratio)
    if pg.backends(db='gov_w_gold') + pg.backends(db='gov_w_basic') > 4:
        raise AssertionError('more than max_user_connections server connections')


@test
def reserve_keeps_checkout_admitted_while_reporting_at_ceiling():
    pg = pg_with('gov_shop')
    p = governed(pg, """
[tenant.shop]
databases = gov_shop
max_server_conn = 4
[class.checkout]
match = application_name:checkout*
priority = 100
reserve = 1
queue_timeout = 5s
[class.reporting]
match = application_name:report*
priority = 10
max = 75%
queue_timeout = 60s
[class.default]
""")
    done = []

    def report(i):
        conn = p.connect(dbname='gov_shop', autocommit=True, application_name='report-%d' % i)
        conn.cursor().execute('SELECT pg_sleep(2)')
        done.append(time.monotonic())
        conn.close()

    threads = [threading.Thread(target=report, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    harness.wait_for(lambda: pg.backends(db='gov_shop') >= 3, what='reporting running')
    time.sleep(0.3)
    eq(pg.backends(db='gov_shop'), 3, 'server connections reporting holds (ceiling 75% of 4)')
    c = p.connect(dbname='gov_shop', autocommit=True, application_name='checkout-1')
    for _ in range(5):
        cur = c.cursor()
        cur.execute('SELECT 42')
        eq(cur.fetchone(), (42,), 'checkout served')
    if done:
        raise AssertionError('checkout waited for a reporting transaction to end')
    c.close()
    for t in threads:
        t.join()
    eq(len(done), 6, 'every reporting transaction ran (queued, not shed)')


@test
def shed_transaction_leaves_connection_usable():
    pg = pg_with('gov_shed')
    p = governed(pg, """
[tenant.shed]
databases = gov_shed
max_server_conn = 1
max_queue = 5
[class.default]
queue_timeout = 0.5s
overload_sqlstate = 40001
""")
    a = p.connect(dbname='gov_shed')
    a.cursor().execute('SELECT 1')  # holds the tenant's only slot
    b = p.connect(dbname='gov_shed', autocommit=True)
    t0 = time.monotonic()
    try:
        b.cursor().execute('SELECT 2')
        raise AssertionError('transaction ran although the tenant slot was held')
    except psycopg2.Error as e:
        eq(e.pgcode, '40001', 'SQLSTATE of the shed transaction')
        msg = str(e)
        for word in ('tenant "shed"', 'class "default"', 'queue_timeout'):
            if word not in msg:
                raise AssertionError('message %r does not name %s' % (msg, word))
    if time.monotonic() - t0 < 0.4:
        raise AssertionError('shed before queue_timeout')
    a.commit()
    cur = b.cursor()
    cur.execute('SELECT 3')
    eq(cur.fetchone(), (3,), 'the shed client runs its next transaction on the same connection')
    a.close()
    b.close()


@test
def queue_full_sheds_at_once():
    pg = pg_with('gov_qfull')
    p = governed(pg, """
[tenant.qfull]
databases = gov_qfull
max_server_conn = 1
max_queue = 0
[class.default]
queue_timeout = 30s
""")
    a = p.connect(dbname='gov_qfull')
    a.cursor().execute('SELECT 1')
    b = p.connect(dbname='gov_qfull', autocommit=True)
    t0 = time.monotonic()
    try:
        b.cursor().execute('SELECT 2')
        raise AssertionError('transaction ran although the tenant slot was held')
    except psycopg2.Error as e:
        eq(e.pgcode, '53300', 'default overload SQLSTATE')
        if 'max_queue' not in str(e):
            raise AssertionError('message does not name max_queue: %s' % e)
    if time.monotonic() - t0 > 5:
        raise AssertionError('queue-full shedding waited')
    a.commit()
    cur = b.cursor()
    cur.execute('SELECT 3')
    eq(cur.fetchone(), (3,), 'usable after shedding')


REPORTING_1S = """
[class.reporting]
match = comment:reporting, option:reporting
statement_timeout = 1s
[class.default]
"""


@test
def comment_tag_classifies_one_transaction():
    pg = pg_with('gov_cls')
    p = governed(pg, REPORTING_1S, default_pool_size=1)
    c = p.connect(dbname='gov_cls', autocommit=True)
    cur = c.cursor()
    try:
        cur.execute('/* sluice:class=reporting */ SELECT pg_sleep(3)')
        raise AssertionError('statement_timeout of the reporting class was not applied')
    except psycopg2.Error as e:
        eq(e.pgcode, '57014', 'canceled by the class statement_timeout')
    cur.execute('/* sluice:class=reporting */ SHOW statement_timeout')
    eq(cur.fetchone(), ('1s',), 'statement_timeout in a reporting transaction')
    cur.execute('SHOW statement_timeout')
    eq(cur.fetchone(), ('0',), 'next transaction (default class) gets the server value back')
    cur.execute('SELECT pg_sleep(1.2)')  # would be canceled under reporting
    c.close()


@test
def startup_option_classifies_and_is_stripped():
    pg = pg_with('gov_opt')
    p = governed(pg, REPORTING_1S, default_pool_size=1)
    c = p.connect(dbname='gov_opt', autocommit=True, options='-c sluice.class=reporting')
    cur = c.cursor()
    cur.execute('SHOW statement_timeout')
    eq(cur.fetchone(), ('1s',), 'option class applies to every transaction')
    try:
        cur.execute('SHOW sluice.class')
        raise AssertionError('the server saw the sluice.class option')
    except psycopg2.Error as e:
        eq(e.pgcode, '42704', 'unrecognized configuration parameter on the server')
    other = p.connect(dbname='gov_opt', autocommit=True)
    cur2 = other.cursor()
    cur2.execute('SHOW statement_timeout')
    eq(cur2.fetchone(), ('0',), 'another client on the same server connection: no timeout')
    c.close()
    other.close()


@test
def auto_tenants_are_separate():
    pg = pg_with('gov_auto_a', 'gov_auto_b')
    p = governed(pg, """
[tenant_defaults]
max_server_conn = 1
[class.default]
queue_timeout = 30s
""")
    holder = p.connect(dbname='gov_auto_a')
    holder.cursor().execute('SELECT 1')
    # Another auto tenant is not affected by gov_auto_a holding its one slot.
    b = p.connect(dbname='gov_auto_b', autocommit=True)
    cur = b.cursor()
    cur.execute('SELECT 2')
    eq(cur.fetchone(), (2,), 'other auto tenant served')
    # A second client of gov_auto_a waits for the slot.
    result = []

    def second():
        c = p.connect(dbname='gov_auto_a', autocommit=True)
        cu = c.cursor()
        cu.execute('SELECT 3')
        result.append(time.monotonic())
        c.close()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.0)
    eq(result, [], 'second transaction of the tenant waited for its max_server_conn slot')
    eq(pg.backends(db='gov_auto_a'), 1, 'server connections of tenant gov_auto_a')
    holder.commit()
    t.join(10)
    eq(len(result), 1, 'served once the slot was free')
    holder.close()
    b.close()


@test
def tenant_max_client_conn_refuses_login():
    pg = pg_with('gov_mcc')
    p = governed(pg, """
[tenant.mcc]
databases = gov_mcc
max_client_conn = 2
[class.default]
""")
    a = p.connect(dbname='gov_mcc')
    b = p.connect(dbname='gov_mcc')
    try:
        p.connect(dbname='gov_mcc')
        raise AssertionError('third client logged in over max_client_conn = 2')
    except psycopg2.OperationalError as e:
        if 'max_client_conn' not in str(e) or 'mcc' not in str(e):
            raise AssertionError('unexpected error: %s' % e)
    # The refusal used a raw client to check the SQLSTATE of the FATAL too.
    try:
        p.raw().startup(user='app', database='gov_mcc', password='apppw')
        raise AssertionError('raw client logged in over max_client_conn = 2')
    except harness.PgError as e:
        eq(e.fields.get('C'), '53300', 'SQLSTATE of the refusal')
    a.close()
    c = p.connect(dbname='gov_mcc')  # room again
    b.close()
    c.close()


@test
def session_mode_limits_at_session_start():
    pg = pg_with('gov_sess')
    p = governed(pg, """
[tenant.sess]
databases = gov_sess
max_server_conn = 1
[class.default]
queue_timeout = 30s
""", pool_mode='session')
    a = p.connect(dbname='gov_sess', autocommit=True)
    a.cursor().execute('SELECT 1')
    got = []

    def second():
        c = p.connect(dbname='gov_sess', autocommit=True)
        c.cursor().execute('SELECT 2')
        got.append(1)
        c.close()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.0)
    eq(got, [], 'second session waits while the first holds the tenant slot')
    a.close()
    t.join(10)
    eq(got, [1], 'second session served after the first ended')


@test
def reload_raises_tenant_limit_live():
    pg = pg_with('gov_reload')
    ini = """
[tenant.rl]
databases = gov_reload
max_server_conn = %d
[class.default]
queue_timeout = 60s
"""
    p = governed(pg, ini % 1)
    a = p.connect(dbname='gov_reload')
    a.cursor().execute('SELECT 1')
    got = []

    def second():
        c = p.connect(dbname='gov_reload', autocommit=True)
        c.cursor().execute('SELECT 2')
        got.append(1)
        c.close()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.8)
    eq(got, [], 'waiting under max_server_conn = 1')
    p.extra_ini = ini % 2
    p.write_config()
    p.reload()
    t.join(10)
    eq(got, [1], 'admitted after the reload raised max_server_conn, first still open')
    a.commit()
    a.close()


@test(sluice_only=True)
def bad_governance_config_is_refused():
    pg = harness.shared_pg()
    p = harness.Pooler(pg, start=False, extra_ini='[class.x]\nmatch = bogus:1\n')
    r = subprocess.run([harness.OPTS.binary, '--check', p.inifile], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    out = r.stdout + r.stderr
    if r.returncode == 0 or 'match' not in out:
        raise AssertionError('bad [class.x] accepted: %r' % out)


@test(sluice_only=True)
def shipped_governance_example_is_valid():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pg = harness.shared_pg()
    p = harness.Pooler(pg, start=False,
                       extra_ini='%%include %s' % os.path.join(repo, 'conf', 'governance.ini'))
    r = subprocess.run([harness.OPTS.binary, '--check', p.inifile], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    eq(r.returncode, 0, '--check with conf/governance.ini (%s%s)' % (r.stdout, r.stderr))


if __name__ == '__main__':
    harness.main()
