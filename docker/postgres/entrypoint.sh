#!/bin/bash
# PostgreSQL 15 entrypoint for docker/compose.yaml.
#   PG_ROLE=primary: initdb on first start (superuser password POSTGRES_PASSWORD, a
#     "replicator" role with REPLICATION_PASSWORD, an application role APP_USER/APP_PASSWORD
#     with CREATEDB for sluice-bench init), then run.
#   PG_ROLE=replica: on first start, pg_basebackup from PRIMARY_HOST as replicator
#     (-R: standby.signal + primary_conninfo), then run as a hot standby.
set -euo pipefail
: "${PG_ROLE:=primary}" "${POSTGRES_PASSWORD:?}" "${REPLICATION_PASSWORD:?}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ "$PG_ROLE" = primary ]; then
		pwfile=$(mktemp)
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
		initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=peer --auth-host=scram-sha-256 >/dev/null
		rm -f "$pwfile"
		cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
wal_level = replica
max_wal_senders = 5
hot_standby = on
max_connections = 200
CONF
		cat >>"$PGDATA/pg_hba.conf" <<HBA
host replication replicator all scram-sha-256
host all all all scram-sha-256
HBA
		pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
		psql -v ON_ERROR_STOP=1 -q -d postgres \
			-c "CREATE ROLE replicator LOGIN REPLICATION PASSWORD '$REPLICATION_PASSWORD'" \
			-c "CREATE ROLE ${APP_USER:-odoo} LOGIN CREATEDB PASSWORD '${APP_PASSWORD:-odoo}'"
		pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	else
		until pg_isready -q -h "${PRIMARY_HOST:?}"; do sleep 1; done
		PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h "$PRIMARY_HOST" -U replicator \
			-D "$PGDATA" -R -X stream -c fast
		chmod 0700 "$PGDATA"
	fi
fi
exec postgres -D "$PGDATA"
