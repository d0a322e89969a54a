"""Failover by DNS, with a real DNS server: dnsmasq answers for pg.sluice.test on 127.0.0.53
inside a private network + mount namespace that this file makes for itself (it re-executes
itself under `unshare --net --mount --fork`; /etc/resolv.conf and /etc/hosts are bind-mounted
over in that namespace only). A primary listens on 127.0.0.1 and its streaming standby on
127.0.0.2, both on the same port, as a managed service's two nodes behind one name.

- failover / switchover: writes with a commit ledger through sluice on `host=pg.sluice.test`;
  the primary stops, the standby is promoted, the name moves to 127.0.0.2 (dnsmasq SIGHUP):
  no acknowledged COMMIT is lost, clients between transactions see nothing, clients in a
  transaction get 40001 / 08007 and go on, writes resume soon after the name moved, and the log
  names both addresses.
- a multi-host entry of names: a failed health check re-resolves the name at once.
- a DNS server that stops answering: lookups time out and are retried, queries go on with the
  addresses already known, and a name first looked up while the server hangs is not stuck.
- a name with a dead first address (and IPv6 next to IPv4): every address is tried in order;
  SHOW DNS_HOSTS and RESOLVE."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

NAME = 'pg.sluice.test'
DNS_ADDR = '127.0.0.53'


def _enter_namespace():
    """Re-execute this file in its own network and mount namespace (as root only)."""
    if os.environ.get('SLUICE_DNS_NETNS') == '1':
        return
    if os.geteuid() != 0 or not shutil.which('unshare') or not shutil.which('dnsmasq'):
        print('SKIP t_dns: needs root, unshare and dnsmasq (scripts/deps.sh installs them)')
        sys.exit(0)
    env = dict(os.environ, SLUICE_DNS_NETNS='1')
    os.execvpe('unshare', ['unshare', '--net', '--mount', '--fork', '--kill-child=SIGTERM',
                           sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


_enter_namespace()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test  # noqa: E402
from ledger import Load, check  # noqa: E402


def _sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _setup_namespace():
    _sh('ip', 'link', 'set', 'lo', 'up')
    for a in ('127.0.0.2/8', DNS_ADDR + '/8'):
        _sh('ip', 'addr', 'add', a, 'dev', 'lo')
    d = tempfile.mkdtemp(prefix='sluice-dns-etc-')
    with open(os.path.join(d, 'resolv.conf'), 'w') as f:
        f.write('nameserver %s\noptions timeout:1 attempts:2\n' % DNS_ADDR)
    with open(os.path.join(d, 'hosts'), 'w') as f:
        f.write('127.0.0.1 localhost\n::1 localhost ip6-localhost\n')
    for n in ('resolv.conf', 'hosts'):
        os.chmod(os.path.join(d, n), 0o644)
        _sh('mount', '--bind', os.path.join(d, n), '/etc/' + n)


class Dns:
    """dnsmasq on 127.0.0.53:53, authoritative for sluice.test, TTL 1 s, answers from a hosts
    file that point() rewrites (then SIGHUP)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='sluice-dnsmasq-')
        self.hosts = os.path.join(self.dir, 'hosts')
        self.log = os.path.join(self.dir, 'dnsmasq.log')
        self.point('127.0.0.1', reload=False)
        self.proc = subprocess.Popen(
            ['dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--port=53',
             '--listen-address=' + DNS_ADDR, '--bind-interfaces', '--local=/sluice.test/',
             '--addn-hosts=' + self.hosts, '--local-ttl=1', '--pid-file=', '--user=root',
             '--log-queries', '--log-facility=' + self.log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        harness.wait_for(lambda: self._answers(), timeout=10, what='dnsmasq to answer')

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError('dnsmasq exited with %s' % self.proc.returncode)
        import socket
        try:
            return bool(socket.getaddrinfo(NAME, 5432, type=socket.SOCK_STREAM))
        except socket.gaierror:
            return False

    def point(self, *addrs, reload=True):
        with open(self.hosts + '.tmp', 'w') as f:
            for a in addrs:
                f.write('%s %s\n' % (a, NAME))
        os.rename(self.hosts + '.tmp', self.hosts)
        if reload:
            self.proc.send_signal(signal.SIGHUP)
            import socket
            want = {a for a in addrs}
            harness.wait_for(lambda: {ai[4][0] for ai in socket.getaddrinfo(
                NAME, 5432, type=socket.SOCK_STREAM)} == want, timeout=10,
                what='dnsmasq to answer %s' % ', '.join(addrs))

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def replicated_same_port():
    """A primary on 127.0.0.1 and a synchronous streaming standby on 127.0.0.2, same port."""
    primary = harness.PgServer(settings={'synchronous_standby_names': "'*'",
                                         'synchronous_commit': 'on'})
    standby = harness.PgServer(standby_of=primary, listen='127.0.0.2', start=False,
                               settings={'port': primary.port})
    standby.port = primary.port
    standby.start()
    harness.wait_for(lambda: primary.scalar("SELECT count(*) FROM pg_stat_replication"
                                            " WHERE state = 'streaming'") == 1,
                     timeout=30, what='the standby to stream from the primary')
    primary.ensure_app()
    primary.psql('CREATE TABLE ledger (client int, seq int, PRIMARY KEY (client, seq))',
                 db='appdb')
    primary.psql('GRANT ALL ON ledger TO app', db='appdb')

    def there():
        try:
            return standby.scalar("SELECT count(*) FROM pg_class WHERE relname = 'ledger'",
                                  db='appdb') == 1
        except psycopg2.Error:
            return False
    harness.wait_for(there, timeout=30, what='the table to reach the standby')
    return primary, standby


def q1(p, sql, **kw):
    """The first column of the first row of sql run through pooler p."""
    return p.query(sql, **kw)[0][0]


def admin(p, sql):
    return p.admin_rows(sql)


def pooler(entry, **settings):
    kw = dict(pool_mode='transaction', default_pool_size=20, failover_hold_timeout=30,
              health_check_period=1, admin_users='admin',
              userlist={'app': 'apppw', 'admin': 'adminpw'})
    kw.update(settings)
    return harness.Pooler(None, databases={'appdb': entry}, **kw)


def dns_failover(stop_mode, what):
    dns = Dns()
    try:
        primary, standby = replicated_same_port()
        p = pooler('host=%s port=%d dbname=appdb' % (NAME, primary.port))
        eq(q1(p, 'SELECT inet_server_addr()::text'), '127.0.0.1/32', 'on the primary first')
        load = Load(p)
        load.start()
        time.sleep(2.0)
        t_lost = time.monotonic()
        primary.stop(stop_mode)
        time.sleep(2.0)
        standby.promote()
        dns.point('127.0.0.2')
        t_moved = time.monotonic()
        harness.wait_for(lambda: load.first_ok_after(t_moved) is not None, timeout=30,
                         what='a write through sluice after the name moved')
        resumed = load.first_ok_after(t_moved) - t_moved
        time.sleep(1.5)
        load.finish()
        print('RESULT %s: writes resumed %.0f ms after the name moved to the promoted standby '
              '(TTL 1 s, health_check_period = 1 s)' % (what, resumed * 1000))
        check(load, standby, t_lost, what)
        if resumed > 8.0:
            raise AssertionError('writes resumed only %.1f s after the name moved' % resumed)
        eq(q1(p, 'SELECT inet_server_addr()::text'), '127.0.0.2/32', 'now on the new primary')
        log = p.log()
        want = 'DNS: host "%s" changed address: 127.0.0.1 -> 127.0.0.2' % NAME
        if want not in log:
            raise AssertionError('log lacks %r:\n%s' % (want, p.log_tail()))
        rows = admin(p, 'SHOW DNS_HOSTS')
        eq([r['addrs'] for r in rows if r['hostname'] == NAME][:1], ['127.0.0.2'],
           'SHOW DNS_HOSTS has the new address')
    finally:
        dns.close()


@test(sluice_only=True, timeout=240)
def dns_failover_immediate_stop():
    dns_failover('immediate', 'DNS failover (primary stopped -m immediate, promoted 2 s later, '
                 'name moved)')


@test(sluice_only=True, timeout=240)
def dns_switchover_clean_stop():
    dns_failover('fast', 'DNS switchover (primary stopped -m fast, promoted 2 s later, '
                 'name moved)')


@test(sluice_only=True, timeout=180)
def failed_health_check_resolves_the_name_again():
    """A multi-host entry of names: when the checker finds the primary gone, the name is
    asked again at once, so the move is seen without waiting for the next failed login."""
    dns = Dns()
    try:
        primary, standby = replicated_same_port()
        other = 'other.sluice.test'
        with open(dns.hosts, 'a') as f:
            f.write('127.0.0.2 %s\n' % other)
        dns.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        entry = ('host=%s,%s port=%d dbname=appdb target_session_attrs=read-write'
                 % (NAME, other, primary.port))
        p = pooler(entry)
        eq(q1(p, 'SELECT 1'), 1, 'a query through the name')
        primary.stop('immediate')
        harness.wait_for(lambda: 'health check of %s:%d failed; resolving "%s" again'
                         % (NAME, primary.port, NAME) in p.log(), timeout=15,
                         what='the failed health check to re-resolve the name')
        standby.promote()
        eq(q1(p, 'SELECT pg_is_in_recovery()'), False, 'writes go to the promoted standby')
    finally:
        dns.close()


@test(sluice_only=True, timeout=180)
def hanging_dns_server_never_leaves_a_name_stuck():
    dns = Dns()
    try:
        pg = harness.PgServer()
        pg.ensure_app()
        entry = 'host=%s port=%d dbname=appdb' % (NAME, pg.port)
        p = pooler(entry, dns_timeout=1, dns_max_ttl=1, failover_hold_timeout=20,
                   server_lifetime=1, server_lifetime_jitter=0, server_idle_timeout=1)
        eq(q1(p, 'SELECT 1'), 1, 'resolved and served')
        dns.pause()
        # The answer has expired and the server connections are gone after 1 s: every new one
        # asks dnsmasq, which does not answer. The lookup times out; the known address stays.
        time.sleep(2.5)
        t0 = time.monotonic()
        eq(q1(p, 'SELECT 2'), 2, 'served with the address already known')
        took = time.monotonic() - t0
        harness.wait_for(lambda: 'still using the previous addresses' in p.log(), timeout=10,
                         what='the timed-out lookup to be logged')
        print('RESULT DNS server hanging: a query needing a new server connection took %.0f ms '
              '(dns_timeout = 1 s), answered from the previous addresses' % (took * 1000))
        # A name never resolved before, asked while the server hangs: held, not stuck.
        p2 = pooler('host=%s port=%d dbname=appdb' % (NAME, pg.port), dns_timeout=1,
                    failover_hold_timeout=20)
        result = {}

        def first():
            try:
                result['v'] = q1(p2, 'SELECT 3', connect_timeout=30)
            except psycopg2.Error as e:
                result['e'] = '%s %s' % (e.pgcode, str(e).strip())
        t = threading.Thread(target=first)
        t.start()
        time.sleep(3.0)
        dns.resume()
        t.join(30)
        print('RESULT first lookup while the DNS server hung for 3 s: %r' % result)
        if 'v' not in result:
            # A clear, retriable error is allowed for this first one; the next must work.
            if not result.get('e', '').startswith('08'):
                raise AssertionError('unexpected outcome %r' % result)
        harness.wait_for(lambda: q1(p2, 'SELECT 4') == 4, timeout=15,
                         what='the name to resolve once the DNS server answers again')
    finally:
        dns.close()


@test(sluice_only=True, timeout=120)
def every_address_is_tried_in_order():
    dns = Dns()
    try:
        pg = harness.PgServer()
        pg.ensure_app()
        # 127.0.0.3 and ::1 have nothing listening on the port: refused, next address.
        dns.point('127.0.0.3', '::1', '127.0.0.1')
        p = pooler('host=%s port=%d dbname=appdb' % (NAME, pg.port))
        for i in range(3):
            eq(q1(p, 'SELECT %d' % i), i, 'served through the one live address')
        rows = [r for r in admin(p, 'SHOW DNS_HOSTS') if r['hostname'] == NAME]
        eq(len(rows) >= 1, True, 'the name is in SHOW DNS_HOSTS')
        eq(set(rows[0]['addrs'].split(',')), {'127.0.0.3', '::1', '127.0.0.1'},
           'all three addresses, IPv6 and IPv4')
        log = p.log()
        if 'trying the next address of "%s"' % NAME not in log:
            raise AssertionError('log lacks the move to the next address:\n%s' % p.log_tail())
        dns.point('127.0.0.1')
        admin(p, 'RESOLVE')
        harness.wait_for(lambda: [r['addrs'] for r in admin(p, 'SHOW DNS_HOSTS')
                                  if r['hostname'] == NAME] == ['127.0.0.1'], timeout=10,
                         what='RESOLVE to take the new answer')
        eq(q1(p, 'SELECT 9'), 9, 'still served')
    finally:
        dns.close()


if __name__ == '__main__':
    _setup_namespace()
    harness.main()
