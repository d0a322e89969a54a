#!/bin/sh
# A/A calibration: PgBouncer posing as sluice, so that compare.sh runs PgBouncer in both pooler columns and
# the sluice/pgbouncer ratios show the noise and any position effect of the machine.
#   bench/compare.sh --sluice bench/pgbouncer_standin.sh
# exec keeps the pid (compare.sh reads its VmRSS); PgBouncer refuses root, so it runs as RUN_USER (postgres).
[ "${1-}" = -V ] && { echo "PgBouncer stand-in: $(/usr/sbin/pgbouncer -V | head -1)"; exit 0; }
if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid="${RUN_USER:-postgres}" --regid="${RUN_USER:-postgres}" --init-groups -- "${PGBOUNCER:-/usr/sbin/pgbouncer}" "$@"
fi
exec "${PGBOUNCER:-/usr/sbin/pgbouncer}" "$@"
