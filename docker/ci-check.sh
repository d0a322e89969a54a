#!/usr/bin/env bash
# CI proof of the packaging (docs/deploy.md), called by scripts/test.sh; runs alone too:
#   docker/ci-check.sh          (as root on Debian 12; needs no stdin; about 3-6 minutes cold)
#  1. installs what it needs from Debian's archive (docker.io, docker-compose, debootstrap,
#     python3-kubernetes, yamllint, prometheus for promtool, kubernetes-client when no kubectl)
#  2. starts dockerd (unless one runs already) and stops it by its PID at the end
#  3. makes debian:bookworm-slim with docker/make-base-image.sh, builds docker/Dockerfile as is
#  4. smoke test (docker/ci_smoke.py): the image read-only, --cap-drop=ALL, --network=host in
#     front of a throwaway PostgreSQL 15; psql through it, HEALTHCHECK, sluicectl, drain on stop
#  5. docker-compose config -q, kubectl kustomize of every shape + the schema check
#     (docker/k8s_schema_check.py), promtool check config, systemd-analyze verify, yamllint,
#     the Grafana dashboard's JSON and metric names
# Prints one "docker-ci:" line per check and exits non-zero when any fails. When the Docker
# engine cannot run at all here (no root, no kernel support), the image steps are skipped with a
# "docker-ci: SKIP" line; the offline checks still run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$SECONDS
IMAGE=${SLUICE_CI_IMAGE:-sluice:ci}
LOG=$(mktemp -d /tmp/sluice-docker-ci.XXXXXX)
failures=()
DOCKERD_PID=""

say() { echo "docker-ci: $*"; }
fail() {
	failures+=("$1")
	say "FAILED: $1"
}
cleanup() {
	if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		kill "$DOCKERD_PID"
		for _ in $(seq 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
	fi
}
trap cleanup EXIT

# --- 1. packages ------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'; }
want=(docker.io docker-compose debootstrap python3-kubernetes python3-yaml yamllint prometheus
	systemd postgresql-15 postgresql-client-15)
command -v kubectl >/dev/null 2>&1 || want+=(kubernetes-client)
missing=()
for p in "${want[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		fail "packages missing (${missing[*]}) and not root"
	else
		say "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get -o DPkg::Lock::Timeout=900 -q update </dev/null >"$LOG/apt.log" 2>&1
		if ! apt-get -o DPkg::Lock::Timeout=900 -q install -y "${missing[@]}" </dev/null >>"$LOG/apt.log" 2>&1; then
			tail -n 20 "$LOG/apt.log"
			fail "apt-get install ${missing[*]}"
		fi
	fi
fi

# --- 2. the Docker engine ---------------------------------------------------------------------
docker_ok=0
if docker info >/dev/null 2>&1; then
	docker_ok=1
	say "using the running Docker engine"
elif [ "$(id -u)" -ne 0 ]; then
	say "SKIP image build and smoke test: not root, and no Docker engine is running"
elif ! command -v dockerd >/dev/null 2>&1; then
	fail "dockerd is not installed (package docker.io)"
else
	dockerd >"$LOG/dockerd.log" 2>&1 </dev/null &
	DOCKERD_PID=$!
	for _ in $(seq 60); do
		docker info >/dev/null 2>&1 && { docker_ok=1; break; }
		kill -0 "$DOCKERD_PID" 2>/dev/null || break
		sleep 1
	done
	if [ "$docker_ok" -eq 1 ]; then
		say "dockerd started (pid $DOCKERD_PID)"
	else
		tail -n 15 "$LOG/dockerd.log"
		say "SKIP image build and smoke test: dockerd cannot run here (log above: $LOG/dockerd.log)"
		DOCKERD_PID=""
	fi
fi

if [ "$docker_ok" -eq 1 ]; then
	# --- 3. base image and the sluice image -------------------------------------------------
	t=$SECONDS
	if docker/make-base-image.sh </dev/null >"$LOG/base.log" 2>&1; then
		size=$(docker image inspect -f '{{.Size}}' debian:bookworm-slim | awk '{printf "%.0f MB", $1/1e6}')
		say "base image debian:bookworm-slim: $size ($(tail -n 1 "$LOG/base.log" | grep -q 'nothing to do' && echo 'already there' || echo "made in $((SECONDS - t)) s"))"
	else
		cat "$LOG/base.log"
		fail "docker/make-base-image.sh"
	fi
	t=$SECONDS
	if docker build -f docker/Dockerfile -t "$IMAGE" . </dev/null >"$LOG/build.log" 2>&1; then
		size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')
		say "image $IMAGE from docker/Dockerfile: $size, built in $((SECONDS - t)) s"
		# --- 4. smoke test ---------------------------------------------------------------------
		t=$SECONDS
		if /usr/bin/python3 docker/ci_smoke.py "$IMAGE" </dev/null >"$LOG/smoke.log" 2>&1; then
			sed -n 's/^RESULT smoke: /docker-ci: smoke: /p' "$LOG/smoke.log"
			say "smoke test passed in $((SECONDS - t)) s"
		else
			tail -n 40 "$LOG/smoke.log"
			fail "smoke test (docker/ci_smoke.py)"
		fi
	else
		tail -n 40 "$LOG/build.log"
		fail "docker build -f docker/Dockerfile"
	fi
fi

# --- 5. offline checks ------------------------------------------------------------------------
check() { # NAME COMMAND...: run, say ok or fail with the output
	local name=$1
	shift
	if "$@" </dev/null >"$LOG/check.log" 2>&1; then
		say "$name: ok"
	else
		cat "$LOG/check.log"
		fail "$name"
	fi
}
check "docker-compose config -q (compose v1 $(docker-compose version --short 2>/dev/null))" \
	docker-compose -f docker/compose.yaml config -q
for shape in "" sidecar daemonset standalone; do
	dir=docker/k8s${shape:+/$shape}
	if kubectl kustomize "$dir" </dev/null >"$LOG/kustomize.yaml" 2>"$LOG/kustomize.err"; then
		if out=$(/usr/bin/python3 docker/k8s_schema_check.py - <"$LOG/kustomize.yaml"); then
			say "kubectl kustomize $dir + schema: ${out##*: }"
		else
			echo "$out"
			fail "schema check of kubectl kustomize $dir"
		fi
	else
		cat "$LOG/kustomize.err"
		fail "kubectl kustomize $dir"
	fi
done
mapfile -t manifests < <(find docker/k8s -name '*.yaml' ! -name kustomization.yaml | sort)
if out=$(/usr/bin/python3 docker/k8s_schema_check.py "${manifests[@]}" </dev/null); then
	say "schema of ${#manifests[@]} manifest files: ${out##*: }"
else
	echo "$out"
	fail "schema check of docker/k8s/*/*.yaml"
fi
check "promtool check config docker/compose/prometheus.yml" promtool check config docker/compose/prometheus.yml
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify wants ExecStart's binary to exist: point it at the one just built, if any
	bin=$ROOT/build/sluice
	[ -x "$bin" ] || bin=$(command -v true)
	mkdir -p "$LOG/unit"
	sed "s#/usr/bin/sluice#$bin#g" conf/sluice.service >"$LOG/unit/sluice.service"
	check "systemd-analyze verify conf/sluice.service" systemd-analyze verify "$LOG/unit/sluice.service"
else
	say "SKIP systemd-analyze verify: systemd-analyze not available"
fi
check "yamllint docker/" yamllint -s -c docker/yamllint.yaml docker/compose.yaml docker/compose docker/k8s
check "Grafana dashboard conf/grafana-sluice.json (JSON, documented metrics)" /usr/bin/python3 - <<'PY'
import json, re, sys
d = json.load(open('conf/grafana-sluice.json'))
used = set(re.findall(r'\b(sluice_[a-z0-9_]+)', json.dumps(d)))
doc = open('docs/metrics.md').read()
bases = {re.sub(r'_(bucket|sum|count|total)$', '', m) for m in used}
missing = sorted(m for m in bases if m not in doc and m + '_total' not in doc)
if missing:
    sys.exit('metrics in the dashboard that docs/metrics.md does not list: %s' % ', '.join(missing))
PY

echo
if [ ${#failures[@]} -gt 0 ]; then
	say "FAILED: ${failures[*]} ($((SECONDS - T0)) s; logs in $LOG)"
	exit 1
fi
say "all checks passed in $((SECONDS - T0)) s"
rm -rf "$LOG"
