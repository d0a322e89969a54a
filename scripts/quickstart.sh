#!/usr/bin/env bash
# Try sluice in one command (Debian 12, as root, from the repository):
#   installs the dependencies, builds sluice, starts a throwaway PostgreSQL 15 (role odoo with
#   password odoo stored as SCRAM, database acme) and runs sluice in the foreground on
#   127.0.0.1:6432 with conf/sluice.ini. Ctrl-C stops sluice and PostgreSQL and removes the temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
PGBIN=/usr/lib/postgresql/15/bin
SLUICE_PORT=6432

if [ "$(id -u)" -ne 0 ]; then
	echo "quickstart.sh: run as root (it installs packages and runs PostgreSQL as the postgres user)" >&2
	exit 1
fi

scripts/deps.sh </dev/null
echo "quickstart.sh: building sluice"
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" >/dev/null

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if port_in_use "$SLUICE_PORT"; then
	echo "quickstart.sh: something already listens on 127.0.0.1:$SLUICE_PORT (a pgbouncer service?)." >&2
	echo "quickstart.sh: stop it (e.g. systemctl stop pgbouncer) and run this again." >&2
	exit 1
fi

# PostgreSQL on 5432, or on the next free port when a system cluster already has it.
PGPORT=5432
while port_in_use "$PGPORT"; do
	PGPORT=$((PGPORT + 1))
done

TMP="$(mktemp -d /tmp/sluice-quickstart.XXXXXX)"
chmod 755 "$TMP"
chown postgres: "$TMP"
SLUICE_PID=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null; then
		kill -TERM "$SLUICE_PID" 2>/dev/null || true
		wait "$SLUICE_PID" 2>/dev/null || true
	fi
	if [ -f "$TMP/data/postmaster.pid" ]; then
		(cd "$TMP" && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/data" -m fast -w stop >/dev/null 2>&1) || true
	fi
	rm -rf "$TMP"
	echo "quickstart.sh: stopped sluice and PostgreSQL, removed $TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "quickstart.sh: starting PostgreSQL 15 on 127.0.0.1:$PGPORT (data in $TMP/data)"
(cd "$TMP" && runuser -u postgres -- "$PGBIN/initdb" -D "$TMP/data" -U postgres -A trust \
	--auth-host=scram-sha-256 -E UTF8 --no-sync >"$TMP/initdb.log" 2>&1) || {
	cat "$TMP/initdb.log"
	exit 1
}
# setsid: the terminal's Ctrl-C goes to sluice; PostgreSQL is stopped by cleanup afterwards
(cd "$TMP" && setsid -w runuser -u postgres -- "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/postgres.log" -w \
	-o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1 -c password_encryption=scram-sha-256" \
	start >/dev/null) || {
	cat "$TMP/postgres.log"
	exit 1
}
psql -X -q -v ON_ERROR_STOP=1 -h "$TMP" -p "$PGPORT" -U postgres -d postgres \
	-c "CREATE ROLE odoo LOGIN PASSWORD 'odoo'" \
	-c "CREATE DATABASE acme OWNER odoo" </dev/null

INI="$REPO/conf/sluice.ini"
if [ "$PGPORT" != 5432 ]; then
	# Port 5432 is taken: same config, with the database entry pointing at our PostgreSQL.
	INI="$TMP/sluice.ini"
	cp "$REPO/conf/userlist.txt" "$TMP/userlist.txt"
	cat >"$INI" <<INI
%include $REPO/conf/sluice.ini

[databases]
* = host=127.0.0.1 port=$PGPORT
INI
fi

ulimit -n 65536 2>/dev/null || true
cat <<MSG

sluice listens on 127.0.0.1:$SLUICE_PORT (config $INI; PostgreSQL 15 on port $PGPORT).
Connect from another terminal with:

    PGPASSWORD=odoo psql -h 127.0.0.1 -p $SLUICE_PORT -U odoo acme

Press Ctrl-C to stop sluice and PostgreSQL.

MSG
build/sluice "$INI" &
SLUICE_PID=$!
wait "$SLUICE_PID" || true
