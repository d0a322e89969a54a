#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run). On Debian 12 as root, from anywhere:
#   1. installs the dependencies (scripts/deps.sh; fast when already there)
#   2. builds build/ (normal) and build-asan/ (-DSLUICE_SANITIZE=ON: AddressSanitizer + UBSan)
#   3. runs ctest (unit + integration tests) in both; the integration tests run sluice under ASan too
#   4. runs every libFuzzer target briefly (tests/fuzz/run.sh; SLUICE_FUZZ_SECONDS, default 60)
#   5. packaging (docker/ci-check.sh): builds the image from docker/Dockerfile on a base image made
#      with docker/make-base-image.sh, queries PostgreSQL through it (read-only, no capabilities),
#      checks compose, Kubernetes manifests, Prometheus config and the systemd unit
#   6. checks the formatting of src/ include/ tests/ bench/ with clang-format
# Prints ctest's summary lines and exits non-zero on any failure. Needs no stdin.
set -uo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"
JOBS="$(nproc 2>/dev/null || echo 2)"
LOGDIR="$(mktemp -d /tmp/sluice-test.XXXXXX)"
failures=()
summary=()

fail() {
	failures+=("$1")
	echo "!!! FAILED: $1"
}

scripts/deps.sh </dev/null || {
	echo "scripts/deps.sh failed" >&2
	exit 1
}

# Sanitizer settings (read by the sanitized sluice that the integration tests start, and by the
# sanitized unit tests); harmless for the normal build.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

build_and_test() {
	local dir=$1
	shift
	echo "=== $dir: configure and build"
	if ! cmake -S . -B "$dir" "$@" </dev/null >"$LOGDIR/$dir-cmake.log" 2>&1; then
		cat "$LOGDIR/$dir-cmake.log"
		fail "$dir: cmake configure"
		return
	fi
	cmake --build "$dir" -j "$JOBS" </dev/null >"$LOGDIR/$dir-build.log" 2>&1
	local brc=$?
	if [ "$brc" -ne 0 ]; then
		tail -n 60 "$LOGDIR/$dir-build.log"
		fail "$dir: build"
		return
	fi
	echo "=== $dir: ctest"
	local start=$SECONDS
	(cd "$dir" && ctest --output-on-failure </dev/null) 2>&1 | tee "$LOGDIR/$dir-ctest.log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E 'tests passed|tests failed' "$LOGDIR/$dir-ctest.log" | tail -n 1)
	summary+=("$dir: ${line:-no ctest summary} ($((SECONDS - start)) s)")
	while IFS= read -r l; do summary+=("$dir:   $l"); done < <(
		sed -n '/The following tests FAILED/,$p' "$LOGDIR/$dir-ctest.log" | grep -E '^\s+[0-9]+ - ')
	# figures the integration tests print (idle-client memory, RSS during large transfers)
	while IFS= read -r l; do summary+=("$dir:   ${l#"${l%%[![:space:]]*}"}"); done < <(
		grep -h '^ *RESULT ' "$dir/Testing/Temporary/LastTest.log" 2>/dev/null)
	[ "$rc" -eq 0 ] || fail "$dir: ctest"
}

build_and_test build -DSLUICE_SANITIZE=OFF
build_and_test build-asan -DSLUICE_SANITIZE=ON

# A short run of every libFuzzer target from its seed corpus (the long campaign is
# tests/fuzz/run-long.sh). SLUICE_FUZZ_SECONDS=0 skips it.
FUZZ_SECS=${SLUICE_FUZZ_SECONDS:-60}
if [ "$FUZZ_SECS" -gt 0 ]; then
	echo "=== fuzz: ${FUZZ_SECS}s per target"
	if tests/fuzz/run.sh "$FUZZ_SECS" </dev/null 2>&1 | tee "$LOGDIR/fuzz.log"; then
		while IFS= read -r l; do summary+=("$l"); done < <(grep -E '^fuzz ' "$LOGDIR/fuzz.log")
	else
		fail "fuzz"
	fi
fi

# Packaging proof (docs/deploy.md). SLUICE_DOCKER_CI=0 skips it; it skips the image steps itself,
# with a "docker-ci: SKIP" line, only where the Docker engine cannot run.
if [ "${SLUICE_DOCKER_CI:-1}" != 0 ]; then
	echo "=== packaging: docker/ci-check.sh"
	docker/ci-check.sh </dev/null 2>&1 | tee "$LOGDIR/docker-ci.log"
	drc=${PIPESTATUS[0]}
	while IFS= read -r l; do summary+=("$l"); done < <(
		grep -E '^docker-ci: (base image|image|smoke|SKIP|FAILED|all checks)' "$LOGDIR/docker-ci.log")
	[ "$drc" -eq 0 ] || fail "packaging (docker/ci-check.sh)"
fi

echo "=== clang-format check"
mapfile -t sources < <(find src include tests bench -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)
if [ ${#sources[@]} -gt 0 ]; then
	if clang-format --dry-run --Werror "${sources[@]}" >"$LOGDIR/clang-format.log" 2>&1; then
		summary+=("clang-format: ${#sources[@]} files formatted")
	else
		grep -E '^[^ ].*: (error|warning):' "$LOGDIR/clang-format.log" | cut -d: -f1 | sort -u |
			sed 's/^/    misformatted: /'
		head -n 40 "$LOGDIR/clang-format.log"
		summary+=("clang-format: misformatted files (fix with: clang-format -i FILE)")
		fail "clang-format"
	fi
else
	summary+=("clang-format: no C sources")
fi

echo
echo "=== summary (logs in $LOGDIR)"
printf '%s\n' "${summary[@]}"
if [ ${#failures[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failures[@]}"
	exit 1
fi
echo "ALL OK"
