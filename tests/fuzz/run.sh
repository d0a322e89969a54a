#!/usr/bin/env bash
# Run every libFuzzer target for SECONDS each (default 60) from its seed corpus.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
# Builds build-fuzz/ with clang (-DSLUICE_FUZZ=ON) first. New inputs go to a scratch corpus
# (build-fuzz/corpus/TARGET), the seeds in tests/fuzz/corpus stay as committed. A crash leaves
# build-fuzz/crash-* and makes the script exit non-zero: turn it into a regression seed/test.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-60}
shift || true
CC=clang cmake -S . -B build-fuzz -DSLUICE_FUZZ=ON -DSLUICE_TESTS=OFF >/dev/null
cmake --build build-fuzz -j 2 >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rc=0
for t in "${targets[@]}"; do
	work=build-fuzz/corpus/$t
	mkdir -p "$work"
	start=$SECONDS
	if build-fuzz/"$t" -max_total_time="$SECS" -max_len=20000 -timeout=30 -rss_limit_mb=2048 \
		-artifact_prefix=build-fuzz/ -print_final_stats=1 "$work" tests/fuzz/corpus/"$t" \
		>build-fuzz/"$t".log 2>&1; then
		runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' build-fuzz/"$t".log | grep -Eo '[0-9]+$' || echo '?')
		echo "fuzz $t: clean for $((SECONDS - start)) s, $runs runs"
	else
		echo "fuzz $t: FAILED, see build-fuzz/$t.log"
		tail -n 40 build-fuzz/"$t".log
		rc=1
	fi
done
exit $rc
