"""Shared pieces of the Python benchmark runners in bench/ (tls_compare.py, gate_odoo.py,
prepared_compare.py, notify_latency.py): they reuse the integration harness (tests/integration/
harness.py) for the throwaway PostgreSQL and the poolers, with two changes that matter when
measuring.

- The harness starts a pooler with `-v` (debug logging, useful in tests). PgBouncer then writes a
  DEBUG line per query and transaction (about 3 MB/s of log at 15 000 TPS), sluice far less, so a
  comparison under `-v` measures logging. BenchPooler starts both without `-v`.
- OPTS.pgbouncer is global in the harness; pooler() sets it for the one pooler being made.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
import harness  # noqa: E402

# As in compare.sh: PGBOUNCER names another PgBouncer binary (e.g. a 1.21+ build).
harness.PGBOUNCER_BIN = os.environ.get('PGBOUNCER', harness.PGBOUNCER_BIN)


class BenchPooler(harness.Pooler):
    """A harness Pooler started without -v (see the module comment)."""

    def command(self):
        if self.pgbouncer:
            return [harness.PGBOUNCER_BIN, self.inifile]
        return [harness.OPTS.binary, self.inifile]

    def start(self, timeout=30):
        harness.OPTS.pgbouncer = self.pgbouncer
        super().start(timeout)


def pooler(pg, pgbouncer, start=True, **settings):
    """A BenchPooler for pg: PgBouncer when pgbouncer is true, else sluice (harness.OPTS.binary).
    Logging of connections is off for both (one line per connection otherwise)."""
    harness.OPTS.pgbouncer = pgbouncer
    settings.setdefault('log_connections', 0)
    settings.setdefault('log_disconnections', 0)
    p = BenchPooler(pg, start=False, **settings)
    p.pgbouncer = pgbouncer
    if start:
        p.start()
    return p


def uptime():
    """The load-average part of `uptime` (to print before and after each run)."""
    with open('/proc/loadavg') as f:
        return 'load average ' + ' '.join(f.read().split()[:3])


def pgbench(port, args, user, password, db, timeout=None, env=None):
    """Run pgbench against 127.0.0.1:port; returns (tps or None, failed transactions or None,
    CompletedProcess). tps is the 'without initial connection time' figure."""
    e = harness._client_env(password, env)
    cmd = [harness.PGBENCH, '-h', '127.0.0.1', '-p', str(port), '-U', user] + list(args) + [db]
    r = subprocess.run(cmd, env=e, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    m = re.search(r'tps = ([0-9.]+) \(without initial', r.stdout)
    f = re.search(r'number of failed transactions: (\d+)', r.stdout)
    return (float(m.group(1)) if m else None), (int(f.group(1)) if f else None), r
