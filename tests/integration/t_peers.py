"""Cancel-request peering (PgBouncer's peer_id and [peers]): two sluice processes, each listing
the other; a CancelRequest sent to the process that does not own the client is passed on to the
one that does and cancels the query. Also the rolling-restart case: a second process on the
same port (so_reuseport) while the first still serves its clients."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test  # noqa: E402
from harness import check_sqlstate  # noqa: E402


def peers_ini(ports):
    return '[peers]\n' + '\n'.join('%d = host=127.0.0.1 port=%d' % (i + 1, port)
                                   for i, port in enumerate(ports))


def pair(pg, **settings):
    a = harness.Pooler(pg, pool_mode='transaction', default_pool_size=4, start=False, peer_id=1,
                       **settings)
    b = harness.Pooler(pg, pool_mode='transaction', default_pool_size=4, start=False, peer_id=2,
                       **settings)
    for p in (a, b):
        p.extra_ini = peers_ini([a.port, b.port])
        p.write_config()
        p.start()
    return a, b


def cancel_through(pg, owner, other, app):
    c = owner.raw()
    c.startup('app', 'appdb', 'apppw', application_name=app)
    pid, key = c.backend_key
    eq((pid >> 17) & 16383, int(owner.settings['peer_id']), 'the peer id is in the cancel pid')
    c.send_msg(b'Q', b'SELECT pg_sleep(30)\0')
    harness.wait_sleep_running(pg, app)
    harness.send_cancel('127.0.0.1', other.port, pid, key)
    rows, err = c.read_result(timeout=15)
    if err is None:
        raise AssertionError('the query was not cancelled through the peer')
    check_sqlstate(err, '57014', what='cancelled through the peer')
    eq(c.query('SELECT 1')[0], [('1',)], 'the connection goes on')
    c.terminate()
    harness.wait_for(lambda: 'cancel request passed to peer %s' % owner.settings['peer_id']
                     in other.log(), 10, what='the pass-on logged')


@test(sluice_only=True, timeout=120)
def cancel_reaches_the_owner_through_either_peer():
    pg = harness.shared_pg()
    a, b = pair(pg)
    cancel_through(pg, a, b, 'peer_a')
    cancel_through(pg, b, a, 'peer_b')
    # and through the owner itself, as without peering
    c = a.raw()
    c.startup('app', 'appdb', 'apppw', application_name='peer_self')
    c.send_msg(b'Q', b'SELECT pg_sleep(30)\0')
    harness.wait_sleep_running(pg, 'peer_self')
    c.cancel('127.0.0.1', a.port)
    rows, err = c.read_result(timeout=15)
    check_sqlstate(err, '57014', what='cancelled through the owner')
    c.terminate()


@test(sluice_only=True, timeout=60)
def cancel_for_an_unknown_peer_is_dropped():
    pg = harness.shared_pg()
    a, b = pair(pg)
    c = a.raw()
    c.startup('app', 'appdb', 'apppw', application_name='peer_unknown')
    c.send_msg(b'Q', b'SELECT pg_sleep(1)\0')
    harness.wait_sleep_running(pg, 'peer_unknown')
    harness.send_cancel('127.0.0.1', a.port, (77 << 17) | 5, 12345)
    rows, err = c.read_result(timeout=15)
    eq(err, None, 'the query is not touched')
    harness.wait_for(lambda: 'cancel request for peer 77 dropped' in a.log(), 10,
                     what='the drop logged')
    eq(c.query('SELECT 2')[0], [('2',)], 'the pooler serves on')
    c.terminate()


@test(sluice_only=True, timeout=60)
def bad_peers_section_is_refused():
    p = harness.Pooler(None, databases={'appdb': 'host=127.0.0.1'}, start=False, peer_id=1,
                       extra_ini='[peers]\n1 = host=127.0.0.1 port=6432\nx = host=127.0.0.1')
    import subprocess
    r = subprocess.run([harness.OPTS.binary, '--check', p.inifile], capture_output=True,
                               text=True)
    if r.returncode == 0:
        raise AssertionError('--check accepted a bad [peers] key')
    if 'the key is a peer id' not in r.stdout + r.stderr:
        raise AssertionError('unclear error: %s' % (r.stdout + r.stderr))


if __name__ == '__main__':
    harness.main()
