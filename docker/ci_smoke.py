#!/usr/bin/python3
"""Smoke test of the sluice image (called by docker/ci-check.sh).

Starts a throwaway PostgreSQL 15 on the host with the integration harness (as the postgres user,
port below 32768), runs the image read-only with every capability dropped and --network=host in
front of it, and checks: a psql query through sluice, the Docker HEALTHCHECK turning healthy,
sluicectl over the admin socket in the read-only container, and a clean drain on docker stop.

  docker/ci_smoke.py IMAGE
Prints RESULT lines and exits non-zero on the first failure.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
import harness  # noqa: E402


def docker(*args, check=True, timeout=120):
    r = subprocess.run(['docker'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    out = r.stdout.decode(errors='replace')
    if check and r.returncode != 0:
        raise RuntimeError('docker %s failed (%d):\n%s' % (' '.join(args), r.returncode, out))
    return out


def main():
    image = sys.argv[1] if len(sys.argv) > 1 else 'sluice:ci'
    name = 'sluice-ci-smoke-%d' % os.getpid()
    pg = harness.PgServer()
    cfgdir = tempfile.mkdtemp(prefix='sluice-smoke.')
    try:
        user, pw, db = pg.ensure_app()
        port, http_port = harness.free_port(), harness.free_port()
        os.chmod(cfgdir, 0o755)
        with open(os.path.join(cfgdir, 'sluice.ini'), 'w') as f:
            f.write('[databases]\n%s = host=127.0.0.1 port=%d\n\n[sluice]\n'
                    'listen_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir = /run/sluice\n'
                    'admin_socket = /run/sluice/admin.sock\nhttp_listen = 127.0.0.1:%d\n'
                    'auth_type = scram-sha-256\nauth_file = /etc/sluice/userlist.txt\n'
                    'pool_mode = transaction\nshutdown_timeout = 10\n'
                    % (db, pg.port, port, http_port))
        with open(os.path.join(cfgdir, 'userlist.txt'), 'w') as f:
            f.write('"%s" "%s"\n' % (user, pw))
        for fn in os.listdir(cfgdir):
            os.chmod(os.path.join(cfgdir, fn), 0o644)

        docker('run', '-d', '--name', name, '--network=host', '--read-only', '--cap-drop=ALL',
               '--security-opt', 'no-new-privileges',
               '--tmpfs', '/run/sluice:rw,nosuid,nodev,noexec,size=1m,uid=10001,gid=10001,mode=0750',
               '-e', 'SLUICE_HEALTH_PORT=%d' % http_port,
               '-v', '%s:/etc/sluice:ro' % cfgdir, image)
        try:
            harness.wait_port(port, timeout=60, what='sluice container')
        except RuntimeError:
            print(docker('logs', name, check=False))
            raise
        dsn = 'host=127.0.0.1 port=%d dbname=%s user=%s password=%s' % (port, db, user, pw)
        r = subprocess.run([harness.PSQL, '-XAtq', dsn, '-c',
                            "SELECT 'via sluice', current_user, current_setting('server_version_num')"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=60)
        out = r.stdout.decode(errors='replace').strip()
        if r.returncode != 0 or not out.startswith('via sluice|%s|15' % user):
            print(docker('logs', name, check=False))
            raise AssertionError('query through sluice failed: %s' % out)
        print('RESULT smoke: psql through the read-only, cap-drop=ALL container: %s' % out)

        deadline = time.monotonic() + 90
        health = ''
        while time.monotonic() < deadline:
            health = docker('inspect', '-f', '{{.State.Health.Status}}', name).strip()
            if health in ('healthy', 'unhealthy'):
                break
            time.sleep(1)
        if health != 'healthy':
            print(docker('inspect', '-f', '{{json .State.Health}}', name, check=False))
            raise AssertionError('HEALTHCHECK says %r' % health)
        print('RESULT smoke: HEALTHCHECK (/healthz) healthy')

        pools = json.loads(docker('exec', name, 'sluicectl', '--json', 'show', 'pools').splitlines()[0])
        if not pools.get('ok'):
            raise AssertionError('sluicectl show pools: %r' % pools)
        print('RESULT smoke: sluicectl over /run/sluice/admin.sock: %d pool(s)' % len(pools['rows']))

        t0 = time.monotonic()
        docker('stop', '-t', '30', name, timeout=60)
        code = docker('inspect', '-f', '{{.State.ExitCode}}', name).strip()
        logs = docker('logs', name, check=False)
        if code != '0' or 'got SIGTERM, draining' not in logs or 'shutdown complete' not in logs:
            print(logs)
            raise AssertionError('docker stop: exit code %s, no clean drain in the log' % code)
        print('RESULT smoke: docker stop drained and exited 0 in %.1f s' % (time.monotonic() - t0))
    finally:
        docker('rm', '-f', name, check=False)
        pg.cleanup()
        subprocess.run(['rm', '-rf', cfgdir])
    return 0


if __name__ == '__main__':
    sys.exit(main())
