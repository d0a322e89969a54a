"""systemd notifications (src/notify.c, conf/sluice.service's Type=notify): with $NOTIFY_SOCKET
set, sluice sends READY=1 once it accepts connections, RELOADING=1 (with MONOTONIC_USEC) and
READY=1 around a SIGHUP reload, successful or not, and STOPPING=1 when SIGTERM starts the drain.
Skipped when the binary was built without libsystemd."""

import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402


class NotifySocket:
    """The service manager's end: a datagram socket sluice finds through $NOTIFY_SOCKET."""

    def __init__(self):
        self.dir = harness._mkdtemp('sluice-notify-')
        self.path = os.path.join(self.dir, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.msgs = []

    def wait(self, key, timeout=20.0):
        """Read datagrams until one holds the line key (e.g. 'READY=1'); returns its fields."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            fields = dict(line.split('=', 1) for line in data.split('\n') if '=' in line)
            self.msgs.append(fields)
            k, v = key.split('=', 1)
            if fields.get(k) == v:
                return fields
        raise AssertionError('no %s within %.0fs; got %r' % (key, timeout, self.msgs))

    def close(self):
        self.sock.close()
        subprocess.run(['rm', '-rf', self.dir])


def with_systemd():
    out = subprocess.run(['ldd', harness.OPTS.binary], stdout=subprocess.PIPE, text=True).stdout
    if 'libsystemd' not in out:
        harness.skip('sluice built without libsystemd (SLUICE_SYSTEMD; libsystemd-dev)')


def start(pg, ns):
    os.environ['NOTIFY_SOCKET'] = ns.path
    try:
        return harness.Pooler(pg)
    finally:
        del os.environ['NOTIFY_SOCKET']


@test(sluice_only=True)
def ready_reload_stopping():
    with_systemd()
    pg = harness.shared_pg()
    ns = NotifySocket()
    try:
        p = start(pg, ns)
        f = ns.wait('READY=1')
        eq(f.get('STATUS'), 'accepting connections', 'STATUS after start')
        eq(p.query('SELECT 1'), [(1,)], 'query after READY=1')

        p.reload()
        f = ns.wait('RELOADING=1')
        now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        if not 0 < now - int(f['MONOTONIC_USEC']) < 60e6:
            raise AssertionError('MONOTONIC_USEC %s is not CLOCK_MONOTONIC (now %d)' % (f['MONOTONIC_USEC'], now))
        f = ns.wait('READY=1')
        eq(f.get('STATUS'), 'accepting connections (configuration reloaded)', 'STATUS after reload')

        # a broken file: the reload fails, the old config stays, and systemd still gets READY=1
        with open(p.inifile, 'a') as fh:
            fh.write('this line is not ini\n')
        p.reload()
        ns.wait('RELOADING=1')
        f = ns.wait('READY=1')
        eq(f.get('STATUS'), 'accepting connections (reload failed, previous configuration kept)',
           'STATUS after a failed reload')
        eq(p.query('SELECT 2'), [(2,)], 'query after the failed reload')

        p.expected_exit = True
        p.send_signal(signal.SIGTERM)
        f = ns.wait('STOPPING=1')
        eq(f.get('STATUS'), 'draining', 'STATUS on SIGTERM')
        p.proc.wait(30)
        eq(p.proc.returncode, 0, 'exit code after the drain')
    finally:
        ns.close()


@test(sluice_only=True)
def no_notify_socket_is_harmless():
    """Without $NOTIFY_SOCKET (containers, plain shells) nothing is sent and nothing breaks."""
    pg = harness.shared_pg()
    os.environ.pop('NOTIFY_SOCKET', None)
    p = harness.Pooler(pg)
    eq(p.query('SELECT 1'), [(1,)], 'query')
    p.reload()
    time.sleep(0.3)
    eq(p.query('SELECT 1'), [(1,)], 'query after reload')
    eq(p.stop(), 0, 'exit code')


if __name__ == '__main__':
    harness.main()
