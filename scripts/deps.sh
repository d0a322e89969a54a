#!/usr/bin/env bash
# Install everything needed to build and test sluice on Debian 12 (run as root).
# Non-interactive; a no-op (no apt at all) when everything is already installed.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	libev-dev libssl-dev libpq-dev libjemalloc-dev libcriterion-dev libc-ares-dev
	# a real DNS server for tests/integration/t_dns.py (the binary only, no system service)
	dnsmasq-base
	postgresql-15 postgresql-client-15 pgbouncer python3-psycopg2
	clang-format gnuplot-nox clang libclang-rt-14-dev openssl
	# sd_notify for conf/sluice.service (Type=notify); sluice builds without it too
	libsystemd-dev
	# driver tests for transaction pooling (tests/integration/t_prepared.py)
	python3-psycopg python3-asyncpg libpostgresql-jdbc-java default-jdk-headless nodejs
	# promtool (package prometheus) parses /metrics in t_http.py; the test falls back to a strict
	# parser of its own where the package is missing.
	prometheus
)
# Debian's npm package conflicts with a NodeSource nodejs (which bundles npm): only when missing.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# npm packages for the node-postgres test, in a project-local directory (package-lock.json pins
# the versions); nothing is installed globally.
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODE_DIR="$SCRIPT_DIR/../tests/integration/node"
node_modules() {
	if [ ! -d "$NODE_DIR/node_modules/pg" ]; then
		echo "deps.sh: npm install (tests/integration/node)"
		(cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null)
	fi
}

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	node_modules
	echo "deps.sh: all build and test dependencies are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root (or: sudo $0)" >&2
	exit 1
fi

had_pgbouncer=0
installed pgbouncer && had_pgbouncer=1

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 -q update
apt-get -o DPkg::Lock::Timeout=900 -q install -y "${missing[@]}" </dev/null

# Debian's pgbouncer package starts a system service on 127.0.0.1:6432, the port sluice's example
# config uses. We only need the binary (the tests run their own instances as a side-by-side
# reference), so a service this script brought in is stopped and disabled.
if [ "$had_pgbouncer" -eq 0 ]; then
	if [ -d /run/systemd/system ]; then
		systemctl disable --now pgbouncer.service >/dev/null 2>&1 || true
	elif [ -x /etc/init.d/pgbouncer ]; then
		/etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
		update-rc.d pgbouncer disable >/dev/null 2>&1 || true
	fi
fi
node_modules
echo "deps.sh: done"
