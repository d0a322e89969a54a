"""The HTTP endpoint: /metrics parses as Prometheus text (promtool check metrics when the Debian
prometheus package is installed, else a strict parser here), counters move with traffic,
/healthz and /readyz (503 while paused, draining, or with no backend reachable)."""

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402

GOV = """
[tenant.acme]
databases = http_acme
max_server_conn = 3
[class.default]
queue_timeout = 60s
"""


def pooler(pg, **kw):
    if harness.is_pgbouncer():
        raise harness.Skip('HTTP endpoint is sluice-only')
    pg.ensure_app()
    pg.create_database('http_acme', owner='app')
    port = harness.free_port()
    settings = dict(pool_mode='transaction', http_listen='127.0.0.1:%d' % port,
                    admin_users='admin', userlist={'app': 'apppw', 'admin': 'adminpw'})
    settings.update(kw)
    p = harness.Pooler(pg, extra_ini=GOV, **settings)
    p.http = 'http://127.0.0.1:%d' % port
    # The HTTP endpoint opens a few milliseconds after the pooler port the harness waits for.
    harness.wait_port(port, 30, p.proc, 'HTTP endpoint')
    return p


def get(p, path):
    try:
        with urllib.request.urlopen(p.http + path, timeout=10) as r:
            return r.status, r.headers.get('Content-Type'), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get('Content-Type'), e.read().decode()


NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(%s)(\{%s(?:,%s)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$' %
                    (NAME, LABEL, LABEL))


def strict_parse(text):
    """Text format 0.0.4: HELP/TYPE before samples, each family's samples together, valid names,
    labels and values, histogram buckets cumulative and ending in +Inf = _count."""
    assert text.endswith('\n'), 'exposition must end with a newline'
    types, samples, seen_family_done = {}, {}, set()
    current = None
    for line in text.splitlines():
        if line.startswith('# HELP '):
            continue
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            assert typ in ('counter', 'gauge', 'histogram', 'summary', 'untyped'), line
            assert name not in types, 'TYPE twice for ' + name
            if current:
                seen_family_done.add(current)
            types[name] = typ
            current = name
            continue
        assert not line.startswith('#'), line
        m = SAMPLE.match(line)
        assert m, 'bad sample line: %r' % line
        name = m.group(1)
        family = re.sub(r'_(bucket|sum|count)$', '', name) if name not in types else name
        assert family in types, 'sample before its TYPE: ' + line
        assert family == current, 'family %s interleaved' % family
        if types[family] == 'counter':
            assert name.endswith('_total'), 'counter without _total: ' + name
        samples.setdefault(name, []).append((m.group(2) or '', float(m.group(3))))
    for fam, typ in types.items():
        if typ != 'histogram':
            continue
        buckets = samples[fam + '_bucket']
        vals = [v for _, v in buckets]
        assert vals == sorted(vals), 'buckets of %s not cumulative' % fam
        assert 'le="+Inf"' in buckets[-1][0], fam
        eq(vals[-1], samples[fam + '_count'][0][1], fam + ' +Inf bucket = count')
    return samples


def parse(text):
    promtool = shutil.which('promtool')
    if promtool:
        r = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                           text=True, timeout=60)
        eq(r.returncode, 0, 'promtool check metrics: ' + r.stdout + r.stderr)
    return strict_parse(text)


def value(samples, name, **labels):
    want = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
    for lab, v in samples.get(name, []):
        got = ','.join(sorted(lab.strip('{}').split(','))) if lab else ''
        if all(('%s="%s"' % kv) in got for kv in labels.items()):
            return v
    raise AssertionError('no sample %s{%s}' % (name, want))


@test(timeout=120, sluice_only=True)
def metrics_parse_and_counters_move():
    pg = harness.shared_pg()
    p = pooler(pg)
    p.query('SELECT 1')
    p.query('SELECT 1', dbname='http_acme')
    status, ctype, text = get(p, '/metrics')
    eq(status, 200)
    assert ctype.startswith('text/plain; version=0.0.4'), ctype
    s1 = parse(text)
    x1 = value(s1, 'sluice_pool_transactions_total', database='appdb', user='app')
    b1 = value(s1, 'sluice_pool_received_bytes_total', database='appdb', user='app')
    a1 = value(s1, 'sluice_tenant_admitted_total', tenant='acme')
    h1 = value(s1, 'sluice_transaction_duration_seconds_count')
    conn = p.connect(autocommit=False)
    cur = conn.cursor()
    for _ in range(25):
        cur.execute('SELECT pg_sleep(0.001)')
        conn.commit()
    conn.close()
    for _ in range(5):
        p.query('SELECT 1', dbname='http_acme')
    s2 = parse(get(p, '/metrics')[2])
    eq(value(s2, 'sluice_pool_transactions_total', database='appdb', user='app') - x1, 25)
    assert value(s2, 'sluice_pool_received_bytes_total', database='appdb', user='app') > b1
    assert value(s2, 'sluice_pool_query_seconds_total', database='appdb', user='app') > 0.02
    eq(value(s2, 'sluice_tenant_admitted_total', tenant='acme') - a1, 5)
    assert value(s2, 'sluice_transaction_duration_seconds_count') >= h1 + 25
    eq(value(s2, 'sluice_tenant_max_server_conn', tenant='acme'), 3)
    assert value(s2, 'process_open_fds') > 3
    assert value(s2, 'sluice_uptime_seconds') > 0
    for name in ('sluice_pool_clients', 'sluice_pool_servers', 'sluice_class_in_use',
                 'sluice_queue_wait_seconds_bucket', 'sluice_tenant_shed_total'):
        assert name in s2, name
    eq(get(p, '/nothing')[0], 404)
    # every metric the Grafana dashboard queries exists
    import json
    dash = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'conf',
                        'grafana-sluice.json')
    exprs = [t['expr'] for panel in json.load(open(dash))['panels'] for t in panel.get('targets', [])]
    names = set(re.findall(r'\b((?:sluice|process)_[a-z_]+)', ' '.join(exprs)))
    missing = [n for n in names if n not in s2 and n + '_bucket' not in s2 and
               not (n.endswith('_bucket') and n in s2)]
    eq(missing, [], 'dashboard metrics missing from /metrics')


@test(timeout=60, sluice_only=True)
def health_and_readiness():
    pg = harness.shared_pg()
    p = pooler(pg)
    eq(get(p, '/healthz')[:1], (200,))
    p.query('SELECT 1')
    eq(get(p, '/readyz')[0], 200)
    adm = p.connect(user='admin', password='adminpw', dbname='pgbouncer', autocommit=True)
    cur = adm.cursor()
    cur.execute('PAUSE')
    status, _, body = get(p, '/readyz')
    eq((status, body.strip()), (503, 'paused'))
    eq(get(p, '/healthz')[0], 200)  # alive all the same
    cur.execute('RESUME')
    eq(get(p, '/readyz')[0], 200)
    # a slow client holding a connection open does not stop others (nothing blocks)
    import socket
    slow = socket.create_connection(('127.0.0.1', int(p.http.rsplit(':', 1)[1])))
    slow.sendall(b'GET /metr')
    eq(get(p, '/healthz')[0], 200)
    eq(p.query('SELECT 7'), [(7,)])
    slow.close()
    # draining: not ready, still alive
    cur.execute('SHUTDOWN WAIT_FOR_CLIENTS')
    status, _, body = get(p, '/readyz')
    eq((status, body.strip()), (503, 'shutting down'))
    adm.close()
    p.proc.wait(20)
    p.expected_exit = True


@test(timeout=60, sluice_only=True)
def not_ready_when_no_backend_is_reachable():
    pg = harness.shared_pg()
    dead = harness.free_port()
    p = pooler(pg, server_login_retry=30)
    eq(get(p, '/readyz')[0], 200)
    p.databases['gone'] = 'host=127.0.0.1 port=%d dbname=postgres' % dead
    p.databases.pop('*')
    p.write_config()
    p.reload()
    time.sleep(0.5)
    try:
        p.query('SELECT 1', dbname='gone')
    except Exception:
        pass
    status, _, body = get(p, '/readyz')
    eq((status, body.strip()), (503, 'no backend reachable'))


if __name__ == '__main__':
    harness.main()
