#!/bin/sh
# ci.sh: every fuzz target run for a bounded time inside `make test` (so CI fuzzes
# each push), besides the replay of tests/fuzz/replay.sh.
#   B=build sh tests/fuzz/ci.sh       prints PASS/FAIL/SKIP lines and a summary
# Builds $B/fuzz/fuzz_<target> (clang, libFuzzer, ASan+UBSan; `make fuzz`'s
# binaries) and runs each for FUZZ_CI_SECONDS (default 60) from the committed
# seeds (tests/fuzz/corpus/<t>, tests/fuzz/regress/<t>), two targets at a time
# (one per core). New inputs go to $B/fuzz/ci-corpus/<t>, a crash to
# $B/fuzz/ci-artifacts/ (the FAIL line names it; add it to tests/fuzz/regress/
# once fixed).
B=${B:-build}
SECONDS_EACH=${FUZZ_CI_SECONDS:-60}
FUZZ_CC=${FUZZ_CC:-clang}
TARGETS="fuzz_onnx fuzz_pickle fuzz_options fuzz_ix fuzz_pipeline"
pass=0 fail=0 skip=0
W=$B/fuzz/ci
mkdir -p "$W" "$B/fuzz/ci-artifacts"

if ! command -v "$FUZZ_CC" >/dev/null 2>&1 ||
  ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
  "$FUZZ_CC" -x c -fsanitize=fuzzer - -o "$W/probe" 2>/dev/null; then
  echo "SKIP fuzz-ci: $FUZZ_CC cannot build libFuzzer targets (Debian: clang)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
bins=
for t in $TARGETS; do bins="$bins $B/fuzz/$t"; done
# shellcheck disable=SC2086
if ! make -s -j2 B="$B" FUZZ_CC="$FUZZ_CC" $bins >"$W/build.log" 2>&1; then
  echo "FAIL fuzz-ci: building the fuzz targets failed:"
  tail -n 20 "$W/build.log"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# run T: fuzz target T for SECONDS_EACH seconds; its log in $W/T.log, status in $W/T.rc
run() {
  t=$1
  mkdir -p "$B/fuzz/ci-corpus/$t"
  dict=
  [ -f "tests/fuzz/$t.dict" ] && dict="-dict=tests/fuzz/$t.dict"
  seeds="tests/fuzz/corpus/$t"
  [ -d "tests/fuzz/regress/$t" ] && seeds="$seeds tests/fuzz/regress/$t"
  # shellcheck disable=SC2086
  "$B/fuzz/$t" $dict -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2560 -close_fd_mask=3 \
    -print_final_stats=1 -artifact_prefix="$B/fuzz/ci-artifacts/$t-" "$B/fuzz/ci-corpus/$t" $seeds \
    >"$W/$t.log" 2>&1
  echo $? >"$W/$t.rc"
}

set -- $TARGETS
while [ $# -gt 0 ]; do
  run "$1" &
  [ $# -gt 1 ] && run "$2" &
  wait
  for t in $1 ${2:-}; do
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$W/$t.log" | tail -n 1)
    if [ "$(cat "$W/$t.rc")" = 0 ]; then
      echo "PASS $t: ${execs:-?} executions in ${SECONDS_EACH} s, no finding"
      pass=$((pass + 1))
    else
      echo "FAIL $t: exit $(cat "$W/$t.rc"); $(grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$W/$t.log")"
      grep -E 'Test unit written|SUMMARY' "$W/$t.log" | tail -n 3
      fail=$((fail + 1))
    fi
  done
  shift
  [ $# -gt 0 ] && shift
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
