#!/usr/bin/python3
"""throwaway_pg.py: run one command against a throwaway PostgreSQL 15 (the integration harness's
PgServer: fsync off, trust on 127.0.0.1, a free port below 32768), then stop and remove it.
Every `{port}` in the command is replaced by the server's port; database `bench` exists.

usage: /usr/bin/python3 bench/throwaway_pg.py -- bench/vs-pgbench \\
           --target "host=127.0.0.1 port={port} user=postgres dbname=bench" --init ...
Runs as root (PostgreSQL runs as the postgres user). Exit status: the command's.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchenv import harness  # noqa: E402


def main():
    argv = sys.argv[1:]
    if argv[:1] == ['--']:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    pg = harness.PgServer(hba='trust')
    try:
        pg.create_database('bench')
        return subprocess.run([a.replace('{port}', str(pg.port)) for a in argv]).returncode
    finally:
        pg.cleanup()


if __name__ == '__main__':
    sys.exit(main())
