"""The admin console (virtual database pgbouncer/sluice) and the admin socket with sluicectl:
every SHOW view with PgBouncer's columns, PAUSE/RESUME without losing a transaction, KILL_CLIENT,
SET TENANT under load (visible and obeyed), RELOAD of an edited file, runtime values surviving a
RELOAD, stats_users limited to SHOW."""

import json
import os
import subprocess
import tempfile
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402



def sluicectl_bin():
    """sluicectl is built next to sluice."""
    return os.path.join(os.path.dirname(os.path.abspath(harness.OPTS.binary)), 'sluicectl')


CONN = ('type,user,database,state,addr,port,local_addr,local_port,connect_time,request_time,'
        'wait,wait_us,close_needed,ptr,link,remote_pid,tls,application_name')
VIEWS = {
    'POOLS': 'database,user,cl_active,cl_waiting,cl_active_cancel_req,cl_waiting_cancel_req,'
             'sv_active,sv_active_cancel,sv_being_canceled,sv_idle,sv_used,sv_tested,sv_login,'
             'maxwait,maxwait_us,pool_mode',
    'STATS': 'database,total_xact_count,total_query_count,total_received,total_sent,'
             'total_xact_time,total_query_time,total_wait_time,avg_xact_count,avg_query_count,'
             'avg_recv,avg_sent,avg_xact_time,avg_query_time,avg_wait_time',
    'STATS_TOTALS': 'database,xact_count,query_count,bytes_received,bytes_sent,xact_time,'
                    'query_time,wait_time',
    'STATS_AVERAGES': 'database,xact_count,query_count,bytes_received,bytes_sent,xact_time,'
                      'query_time,wait_time',
    'TOTALS': 'name,value',
    'CLIENTS': CONN + ',prepared_statements,id',
    'SERVERS': CONN + ',prepared_statements,id',
    'SOCKETS': CONN + ',recv_pos,pkt_pos,pkt_remain,send_pos,send_remain,pkt_avail,send_avail',
    'ACTIVE_SOCKETS': CONN + ',recv_pos,pkt_pos,pkt_remain,send_pos,send_remain,pkt_avail,'
                             'send_avail',
    'DATABASES': 'name,host,port,database,force_user,pool_size,min_pool_size,reserve_pool,'
                 'pool_mode,max_connections,current_connections,paused,disabled',
    'USERS': 'name,pool_mode',
    'CONFIG': 'key,value,default,changeable',  # exactly 4: pgbouncer_exporter insists
    'RUNTIME': 'scope,name,key,value,file_value',
    'LISTS': 'list,items',
    'MEM': 'name,size,used,free,memtotal',
    'VERSION': 'version',
    'STATE': 'key,value',
    'DNS_HOSTS': 'hostname,ttl,addrs',
    'DNS_ZONES': 'zonename,serial,count',
    'TENANTS': 'tenant,kind,max_server_conn,max_client_conn,xact_rate,xact_burst,query_rate,'
               'query_burst,weight,max_queue,server_conn,clients,queued,xact_tokens,'
               'query_tokens,admitted,queued_total,shed,shed_queue_full,shed_timeout,shed_rate,'
               'rate_delayed,stmt_delayed,login_refused,wait_time,server_time,source,runtime',
    'CLASSES': 'class,priority,reserve,max,queue_timeout,statement_timeout,overload_sqlstate,'
               'route,in_use,queued,admitted,queued_total,shed,rate_delayed,wait_time,server_time,'
               'source,runtime',
}

GOV = """
[tenant.acme]
databases = adm_acme
max_server_conn = 4
[class.default]
queue_timeout = 60s
"""


def pooler(pg, **kw):
    if harness.is_pgbouncer():
        raise harness.Skip('sluice console extensions')
    pg.ensure_app()
    pg.create_database('adm_acme', owner='app')
    settings = dict(pool_mode='transaction', default_pool_size=10, admin_users='admin',
                    stats_users='stats', userlist={'app': 'apppw', 'admin': 'adminpw',
                                                   'stats': 'statspw'})
    settings.update(kw)
    return harness.Pooler(pg, extra_ini=GOV, **settings)


def console(p, user='admin', dbname='pgbouncer'):
    return p.connect(user=user, password=user + 'pw', dbname=dbname, autocommit=True)


def show(cur, what):
    cur.execute('SHOW ' + what)
    cols = [d.name for d in cur.description]
    return cols, [dict(zip(cols, r)) for r in cur.fetchall()]


class Load:
    """Threads running short transactions through the pooler; counts successes and errors."""

    def __init__(self, p, n=6, sql='SELECT pg_sleep(0.02)', dbname='appdb', table=None):
        self.stop = threading.Event()
        self.ok = 0
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(p, sql, dbname, table, i))
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def run(self, p, sql, dbname, table, idx):
        conn = p.connect(dbname=dbname)
        cur = conn.cursor()
        k = 0
        while not self.stop.is_set():
            try:
                if table:
                    cur.execute('INSERT INTO %s VALUES (%%s, %%s)' % table, (idx, k))
                else:
                    cur.execute(sql)
                conn.commit()
                with self.lock:
                    self.ok += 1
                k += 1
            except psycopg2.Error as e:
                conn.rollback()
                with self.lock:
                    self.errors.append(str(e))
        conn.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)


@test(timeout=120, sluice_only=True)
def every_view_has_pgbouncer_columns_under_load():
    pg = harness.shared_pg()
    p = pooler(pg)
    load = Load(p)
    acme = Load(p, n=2, dbname='adm_acme')
    time.sleep(0.5)
    cur = console(p).cursor()
    for view, cols in VIEWS.items():
        got, rows = show(cur, view)
        eq(got, cols.split(','), view)
        if view not in ('DNS_HOSTS', 'DNS_ZONES', 'ACTIVE_SOCKETS', 'RUNTIME'):
            assert rows, 'SHOW %s returned no rows' % view
    for db in ('pgbouncer', 'sluice'):  # both names reach the console
        c2 = console(p, dbname=db).cursor()
        got, rows = show(c2, 'TENANT acme')
        eq([r['tenant'] for r in rows], ['acme'])
        got, rows = show(c2, 'CLASS default')
        eq([r['class'] for r in rows], ['default'])
    _, pools = show(cur, 'POOLS')
    assert any(r['database'] == 'appdb' and r['sv_active'] + r['sv_idle'] > 0 for r in pools), pools
    _, stats = show(cur, 'STATS_TOTALS')
    app = [r for r in stats if r['database'] == 'appdb'][0]
    assert app['xact_count'] > 0 and app['bytes_received'] > 0 and app['bytes_sent'] > 0, app
    assert app['xact_time'] > 0 and app['query_time'] > 0, app
    cur.execute('SHOW HELP')
    eq(cur.description, None)
    assert any('SHOW' in n for n in cur.connection.notices), cur.connection.notices
    # psql works on the console as it does with PgBouncer's
    r = p.psql('SHOW POOLS', user='admin', password='adminpw', dbname='pgbouncer')
    eq(r.returncode, 0, r.stderr)
    assert 'appdb|app|' in r.stdout, r.stdout
    load.finish()
    acme.finish()
    eq(load.errors + acme.errors, [])
    # unknown command: clear error, connection still usable
    try:
        cur.execute('SHOW NOTHING')
        raise AssertionError('accepted')
    except psycopg2.Error as e:
        assert "invalid command 'SHOW NOTHING'" in str(e), e
    cur.execute('SHOW VERSION')
    assert cur.fetchone()[0].startswith('sluice ')


@test(sluice_only=True)
def stats_users_may_only_show():
    pg = harness.shared_pg()
    p = pooler(pg)
    cur = console(p, 'stats').cursor()
    show(cur, 'POOLS')
    for cmd in ('PAUSE', 'RELOAD', 'SET default_pool_size = 3', 'SET TENANT acme weight = 2',
                'KILL appdb', 'SHUTDOWN'):
        try:
            cur.execute(cmd)
            raise AssertionError('%s accepted from a stats user' % cmd)
        except psycopg2.Error as e:
            assert 'admin access needed' in str(e), e
    try:
        p.connect(user='app', dbname='pgbouncer')
        raise AssertionError('app got into the console')
    except psycopg2.OperationalError as e:
        assert 'admin' in str(e), e
    cur = console(p).cursor()
    try:
        cur.execute('SUSPEND')
        raise AssertionError('SUSPEND accepted')
    except psycopg2.Error as e:
        assert 'not supported' in str(e), e


@test(timeout=120, sluice_only=True)
def pause_holds_transactions_resume_releases_none_lost():
    pg = harness.shared_pg()
    pg.psql('DROP TABLE IF EXISTS adm_ledger; CREATE TABLE adm_ledger (w int, k int, '
            'PRIMARY KEY (w, k)); ALTER TABLE adm_ledger OWNER TO app', db='appdb')
    p = pooler(pg)
    load = Load(p, n=6, table='adm_ledger')
    time.sleep(0.5)
    cur = console(p).cursor()
    t0 = time.monotonic()
    cur.execute('PAUSE')
    eq(cur.statusmessage, 'PAUSE')
    _, pools = show(cur, 'POOLS')
    app = [r for r in pools if r['database'] == 'appdb'][0]
    eq(app['sv_active'], 0, 'PAUSE returned with transactions running')
    with load.lock:
        before = load.ok
    time.sleep(1.0)
    with load.lock:
        during = load.ok
    eq(during, before, 'transactions completed while paused')
    _, pools = show(cur, 'POOLS')
    app = [r for r in pools if r['database'] == 'appdb'][0]
    assert app['cl_waiting'] > 0, app
    _, state = show(cur, 'STATE')
    eq({r['key']: r['value'] for r in state}['paused'], 'yes')
    cur.execute('RESUME')
    time.sleep(0.5)
    load.finish()
    eq(load.errors, [])
    assert load.ok > during, 'no progress after RESUME'
    eq(pg.scalar('SELECT count(*) FROM adm_ledger', db='appdb'), load.ok, 'ledger')
    assert time.monotonic() - t0 < 30
    try:
        cur.execute('RESUME')
        raise AssertionError('RESUME while not paused accepted')
    except psycopg2.Error as e:
        assert 'not paused' in str(e), e
    # PAUSE of one database leaves the others alone
    p.query('SELECT 1', dbname='adm_acme')  # known through the "*" entry once used
    cur.execute('PAUSE adm_acme')
    eq(p.query('SELECT 1'), [(1,)])
    cur.execute('RESUME adm_acme')


@test(sluice_only=True)
def kill_client_closes_that_client_only():
    pg = harness.shared_pg()
    p = pooler(pg)
    victim = p.connect(autocommit=True, application_name='victim')
    other = p.connect(autocommit=True, application_name='bystander')
    victim.cursor().execute('SELECT 1')
    cur = console(p).cursor()
    _, clients = show(cur, 'CLIENTS')
    vid = [r['id'] for r in clients if r['application_name'] == 'victim'][0]
    cur.execute('KILL_CLIENT %d' % vid)
    eq(cur.statusmessage, 'KILL_CLIENT')
    try:
        victim.cursor().execute('SELECT 1')
        raise AssertionError('killed client still works')
    except psycopg2.Error:
        pass
    c = other.cursor()
    c.execute('SELECT 2')
    eq(c.fetchone(), (2,))
    try:
        cur.execute('KILL_CLIENT 999999')
        raise AssertionError('unknown id accepted')
    except psycopg2.Error as e:
        assert 'not found' in str(e), e


@test(timeout=120, sluice_only=True)
def set_tenant_under_load_is_visible_and_obeyed():
    pg = harness.shared_pg()
    p = pooler(pg)
    load = Load(p, n=8, dbname='adm_acme', sql='SELECT pg_sleep(0.05)')
    cur = console(p).cursor()

    def held():
        _, rows = show(cur, 'TENANT acme')
        return rows[0]

    harness.wait_for(lambda: held()['server_conn'] == 4, 10, what='acme using its 4 slots')
    cur.execute('SET TENANT acme max_server_conn = 2')
    row = held()
    eq((row['max_server_conn'], row['source'], row['runtime']), (2, 'runtime', 'max_server_conn=2'))
    # Reached as running transactions end (50 ms each, longer on a loaded machine): nothing is
    # killed, so wait for that, then the limit must hold.
    harness.wait_for(lambda: held()['server_conn'] <= 2, 10, what='acme down to 2 slots')
    peak = 0
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        peak = max(peak, held()['server_conn'])
        time.sleep(0.02)
    assert peak <= 2, 'acme held %d slots after SET max_server_conn = 2' % peak
    # RELOAD without a file change keeps the runtime value
    cur.execute('RELOAD')
    eq(held()['max_server_conn'], 2)
    cur.execute('RESET TENANT acme')
    row = held()
    eq((row['max_server_conn'], row['source']), (4, 'file'))
    harness.wait_for(lambda: held()['server_conn'] == 4, 10, what='acme back to 4 slots')
    load.finish()
    eq(load.errors, [], 'no transaction was refused or killed')
    for bad, msg in (('SET TENANT acme max_server_conn = -1', 'out of range'),
                     ('SET TENANT nobody weight = 2', 'no such tenant'),
                     ('SET TENANT acme databases = x', 'cannot be changed'),
                     ('SET CLASS default max = 0', 'at least 1')):
        try:
            cur.execute(bad)
            raise AssertionError('accepted: ' + bad)
        except psycopg2.Error as e:
            assert msg in str(e), (bad, str(e))
    cur.execute('SET CLASS default queue_timeout = 5s')
    _, rows = show(cur, 'CLASS default')
    eq((rows[0]['queue_timeout'], rows[0]['source']), (5, 'runtime'))


@test(timeout=60, sluice_only=True)
def reload_picks_up_edited_file_and_keeps_runtime_values():
    pg = harness.shared_pg()
    p = pooler(pg)
    cur = console(p).cursor()

    def cfg(key):
        _, rows = show(cur, 'CONFIG')
        value = [r for r in rows if r['key'] == key][0]['value']
        _, rt = show(cur, 'RUNTIME')
        runtime = [r for r in rt if r['scope'] == 'config' and r['key'] == key]
        if runtime:
            eq(runtime[0]['value'], value, 'SHOW RUNTIME agrees with SHOW CONFIG')
        return value, 'runtime' if runtime else 'file'

    eq(cfg('default_pool_size'), ('10', 'file'))
    p.write_config(default_pool_size=7)
    cur.execute('RELOAD')
    eq(cur.statusmessage, 'RELOAD')
    eq(cfg('default_pool_size'), ('7', 'file'))
    cur.execute('SET query_wait_timeout = 33')
    eq(cfg('query_wait_timeout'), ('33', 'runtime'))
    cur.execute('SET TENANT acme weight = 5')
    _, rt = show(cur, 'RUNTIME')
    eq([(r['scope'], r['name'], r['key'], r['value'], r['file_value']) for r in rt],
       [('config', '', 'query_wait_timeout', '33', '120'), ('tenant', 'acme', 'weight', '5', '1')])
    cur.execute('RELOAD')  # the file did not change these keys: runtime values stay
    eq(cfg('query_wait_timeout'), ('33', 'runtime'))
    _, rows = show(cur, 'TENANT acme')
    eq(rows[0]['weight'], 5)
    p.write_config(query_wait_timeout=44)
    p.extra_ini = GOV.replace('max_server_conn = 4', 'max_server_conn = 4\nweight = 3')
    p.write_config()
    cur.execute('RELOAD')  # the file changed them: the file wins
    eq(cfg('query_wait_timeout'), ('44', 'file'))
    _, rows = show(cur, 'TENANT acme')
    eq((rows[0]['weight'], rows[0]['source']), (3, 'file'))
    try:
        cur.execute('SET listen_port = 1')
        raise AssertionError('listen_port changed at runtime')
    except psycopg2.Error as e:
        assert 'restart' in str(e), e
    # a broken file: RELOAD reports the error, the old configuration stays
    with open(p.inifile, 'a') as f:
        f.write('\n[pgbouncer]\ndefault_pool_size = banana\n')
    try:
        cur.execute('RELOAD')
        raise AssertionError('broken file accepted')
    except psycopg2.Error as e:
        assert 'banana' in str(e), e
    eq(cfg('default_pool_size'), ('7', 'file'))


@test(timeout=90, sluice_only=True)
def reconnect_wait_close_disable_enable_kill():
    pg = harness.shared_pg()
    p = pooler(pg)
    cur = console(p).cursor()
    app = p.connect(autocommit=True)
    c = app.cursor()
    c.execute('SELECT pg_backend_pid()')
    before = c.fetchone()[0]
    cur.execute('RECONNECT appdb')
    eq(cur.statusmessage, 'RECONNECT')
    cur.execute('WAIT_CLOSE appdb')  # the idle server is closed at once
    eq(cur.statusmessage, 'WAIT_CLOSE')
    c.execute('SELECT pg_backend_pid()')
    assert c.fetchone()[0] != before, 'server connection not replaced after RECONNECT'
    # DISABLE refuses new logins, keeps the connected clients working
    cur.execute('DISABLE appdb')
    try:
        p.connect()
        raise AssertionError('login accepted on a disabled database')
    except psycopg2.OperationalError as e:
        assert 'does not allow connections' in str(e), e
    c.execute('SELECT 1')
    _, dbs = show(cur, 'DATABASES')
    eq([r['disabled'] for r in dbs if r['name'] == 'appdb'], [1])
    cur.execute('ENABLE appdb')
    p.query('SELECT 1')
    # KILL closes the database's clients; new transactions wait until RESUME
    cur.execute('KILL appdb')
    try:
        c.execute('SELECT 1')
        raise AssertionError('client survived KILL')
    except psycopg2.Error:
        pass
    other = p.connect(dbname='adm_acme', autocommit=True)  # other databases are untouched
    other.cursor().execute('SELECT 1')
    late = p.connect(autocommit=True)  # login works, its transaction waits
    done = []
    t = threading.Thread(target=lambda: (late.cursor().execute('SELECT 1'), done.append(1)))
    t.start()
    time.sleep(0.5)
    eq(done, [], 'transaction ran on a killed (paused) database')
    cur.execute('RESUME appdb')
    t.join(10)
    eq(done, [1])
    for bad, msg in (('PAUSE nosuchdb_x', 'no such database'), ('DISABLE', 'database is required')):
        try:
            cur.execute(bad)
            raise AssertionError('accepted: ' + bad)
        except psycopg2.Error as e:
            assert msg in str(e), (bad, str(e))


def sluicectl(*args, sock):
    return subprocess.run([sluicectl_bin(), '-s', sock] + list(args), capture_output=True, text=True,
                          timeout=60)


@test(timeout=120, sluice_only=True)
def admin_socket_and_sluicectl():
    pg = harness.shared_pg()
    sockdir = tempfile.mkdtemp(prefix='sluice-adm-')
    sock = os.path.join(sockdir, 'admin.sock')
    p = pooler(pg, admin_socket=sock)
    eq(oct(os.stat(sock).st_mode & 0o777), '0o600')
    p.query('SELECT 1')
    p.query('SELECT 1', dbname='adm_acme')
    r = sluicectl('show', 'pools', sock=sock)
    eq(r.returncode, 0, r.stderr)
    assert 'appdb' in r.stdout and 'cl_active' in r.stdout, r.stdout
    r = sluicectl('--json', 'show', 'tenants', sock=sock)
    eq(r.returncode, 0, r.stderr)
    ans = json.loads(r.stdout)
    assert ans['ok'] and ans['columns'][0] == 'tenant', ans
    acme = [row for row in ans['rows'] if row['tenant'] == 'acme'][0]
    eq(acme['max_server_conn'], 4)
    r = sluicectl('set', 'tenant', 'acme', 'max_server_conn=5', 'weight=2', sock=sock)
    eq(r.returncode, 0, r.stderr + r.stdout)
    r = sluicectl('--json', 'show', 'tenant', 'acme', sock=sock)
    row = json.loads(r.stdout)['rows'][0]
    eq((row['max_server_conn'], row['weight'], row['source']), (5, 2, 'runtime'))
    r = sluicectl('set', 'tenant', 'acme', 'max_server_conn=lots', sock=sock)
    eq(r.returncode, 1)
    assert 'invalid integer' in r.stderr, r.stderr
    r = sluicectl('show', 'nothing', sock=sock)
    eq(r.returncode, 1)
    # several commands on one connection, JSON lines back
    import socket as s_
    s = s_.socket(s_.AF_UNIX)
    s.connect(sock)
    s.sendall(b'SHOW VERSION\nSHOW STATE\nbogus\n')
    data = b''
    while data.count(b'\n') < 3:
        data += s.recv(65536)
    lines = [json.loads(x) for x in data.decode().splitlines()]
    eq([x['ok'] for x in lines], [True, True, False])
    s.close()
    # the console sees the same state
    cur = console(p).cursor()
    _, rows = show(cur, 'TENANT acme')
    eq(rows[0]['max_server_conn'], 5)
    # drain: stop accepting, exit once the last client has left
    client = p.connect(autocommit=True)
    r = sluicectl('drain', sock=sock)
    eq(r.returncode, 0, r.stderr)
    time.sleep(0.3)
    try:
        p.connect()
        raise AssertionError('new connection accepted while draining')
    except psycopg2.OperationalError:
        pass
    c = client.cursor()
    c.execute('SELECT 3')  # the existing client keeps working
    eq(c.fetchone(), (3,))
    assert p.alive()
    waiter = subprocess.Popen([sluicectl_bin(), '-s', sock, 'drain', '--wait', '--timeout', '20'])

    def waiter_connected():
        # its socket is open (and connected: a unix connect is immediate) before the last
        # clients leave, or sluice may exit before sluicectl gets there (slow sanitizer builds)
        fds = '/proc/%d/fd' % waiter.pid
        try:
            return any(os.readlink(os.path.join(fds, f)).startswith('socket:')
                       for f in os.listdir(fds))
        except OSError:
            return False
    harness.wait_for(waiter_connected, timeout=10, what='sluicectl to connect')
    time.sleep(0.3)
    cur.connection.close()
    client.close()
    eq(waiter.wait(30), 0)
    p.proc.wait(20)
    p.expected_exit = True


if __name__ == '__main__':
    harness.main()
