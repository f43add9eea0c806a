#!/bin/sh
# replay.sh: the fuzz suite of `make test` (tests/fuzz/README.md).
#   B=build sh tests/fuzz/replay.sh        prints PASS/FAIL lines and a summary
# 1. Each fuzz target, built without libFuzzer as $B/fuzz/replay_<target> under
#    ASan+UBSan (make $B/fuzz/replay_<target>), runs every file of its seed
#    corpus tests/fuzz/corpus/<target>/ and of its regression folder
#    tests/fuzz/regress/<target>/ once: no crash, sanitizer report or leak.
# 2. Generation time: each tests/fuzz/regress/fuzz_onnx/slow-* model goes
#    through $B/jtc, which must compile it or refuse it with an error within
#    JTC_SLOW_LIMIT seconds (default 10; they take well under a second). Leaks
#    are not checked in these runs (under `make asan`): codegen/c/cgen.c leaks
#    its memory streams when an error unwinds out of cgc_write, as the
#    reshape-relu-transpose chain's does; the fuzz targets above check leaks.
B=${B:-build}
LIMIT=${JTC_SLOW_LIMIT:-10}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
for t in fuzz_onnx fuzz_pickle fuzz_options fuzz_ix fuzz_pipeline; do
  bin=$B/fuzz/replay_$t
  if [ ! -x "$bin" ]; then
    bad "$t" "$bin is missing (make B=$B $bin)"
    continue
  fi
  dirs="tests/fuzz/corpus/$t"
  [ -d "tests/fuzz/regress/$t" ] && dirs="$dirs tests/fuzz/regress/$t" # git keeps no empty folder
  # shellcheck disable=SC2086
  if "$bin" $dirs >"$T/out" 2>"$T/err"; then
    ok "$t ($(sed 's/^[^:]*: //' "$T/out"))"
  else
    bad "$t" "exit $?; the input and the report:"
    grep '^== ' "$T/err" | tail -n 1
    grep -v '^== ' "$T/err" | tail -n 40
  fi
done

for f in tests/fuzz/regress/fuzz_onnx/slow-*; do
  name=time-$(basename "$f" .onnx)
  start=$(date +%s%N)
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout "$LIMIT" "$B/jtc" "$f" -q -o "$T/slow.c" >/dev/null 2>"$T/err"
  rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then bad "$name" "still running after $LIMIT s"
  elif [ "$rc" -gt 1 ]; then bad "$name" "exit $rc: $(head -n 1 "$T/err")"
  else ok "$name (${ms} ms, $([ "$rc" -eq 0 ] && echo compiled || echo refused))"; fi
done

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
