#!/bin/sh
# run.sh: the `sanitize` suite of make test: the generated C of every sample under
# AddressSanitizer+UBSan and valgrind. Each build below of samples/mlp, samples/lenet
# and the pickled-module samples (tests/data/jtpy/e2e/*, default build only) is
# compiled with tests/sanitize/driver.c (net_init, net_run twice, net_free, net_init
# again, net_run, net_free; every output against the test data, rtol 1e-3 atol 1e-4):
#   default (weights embedded), --external-weights (malloc'd by net_init from
#   STEM.weights, freed by net_free), --embedded (also net_run_with_arena on a malloc'd
#   arena), and lenet --train --loss=cross_entropy --optimizer=adam (3 steps, saved,
#   reloaded: the same outputs; also with --external-weights).
# Four checks per build (two for --embedded, which has no OpenMP; three for the pickles):
#   asan          -fsanitize=address,undefined -fno-sanitize-recover=all -O1 -g, leak check on
#   asan-omp      the same with -fopenmp, OMP_NUM_THREADS=2
#   valgrind      plain -O1 -g under valgrind --leak-check=full: no invalid access, no use of
#                 uninitialized values, no definite or indirect leak
#   valgrind-omp  the same with -fopenmp, OMP_NUM_THREADS=2 (mlp and lenet only: it adds a
#                 quarter to the time). libgomp's pool threads outlive main, so valgrind finds
#                 their thread-local blocks "possibly lost" (288 bytes): only definite and
#                 indirect leaks count, which keeps that noise out.
# Without valgrind the valgrind checks are skipped (Debian package valgrind).
#
#   B=build PYTHON=/usr/bin/python3 sh tests/sanitize/run.sh
#
# Prints PASS/FAIL/SKIP per check and ends with `N passed, N failed, N skipped`.
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
W=$B/sanitize
CFLAGS="-std=c11 -O1 -g -Wall -Wextra -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
passed=0 failed=0 skipped=0
rm -rf "$W"
mkdir -p "$W"

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() {
  echo "FAIL $1: $2"
  [ -f "$3" ] && sed 's/^/    /' "$3" | tail -20
  failed=$((failed + 1))
}
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }

have_valgrind=1
command -v valgrind >/dev/null 2>&1 || have_valgrind=0
VALGRIND="valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect"
VALGRIND="$VALGRIND --errors-for-leak-kinds=definite,indirect --track-origins=yes"

# The test data as raw files: DIR/test_data_set_0/{input,output}_K.pb -> RAW/{in,want}_K.bin
decode() {
  "$PYTHON" -c '
import sys, onnx
from onnx import numpy_helper
for pb, raw in zip(sys.argv[1::2], sys.argv[2::2]):
    numpy_helper.to_array(onnx.load_tensor(pb)).tofile(raw)
' "$@"
}

# check NAME DIR MODEL DEFINES JTC_FLAGS...: generate DIR's model with JTC_FLAGS into
# $W/NAME and run the three checks. DEFINES: extra -D flags for the driver.
check() {
  name=$1 dir=$2 model=$3 defs=$4
  shift 4
  D=$W/$name
  mkdir -p "$D"
  set -- "$@" -q --name net -o "$D/net.c"
  ins='' wants='' args=''
  for pb in "$dir"/test_data_set_0/input_*.pb; do
    k=${pb##*/input_}
    k=${k%.pb}
    ins="$ins $D/in_$k.bin"
    args="$args $pb $D/in_$k.bin"
  done
  for pb in "$dir"/test_data_set_0/output_*.pb; do
    k=${pb##*/output_}
    k=${k%.pb}
    wants="$wants $D/want_$k.bin"
    args="$args $pb $D/want_$k.bin"
  done
  # shellcheck disable=SC2086
  if ! decode $args >"$D/decode.log" 2>&1; then
    bad "$name" "cannot decode the test data" "$D/decode.log"
    return
  fi
  if ! "$B/jtc" "$model" "$@" >"$D/jtc.log" 2>&1; then
    bad "$name" "jtc failed" "$D/jtc.log"
    return
  fi
  extra= # a training build: the driver saves its weights here
  grep -q NET_NUM_TARGETS "$D/net.h" && extra=$D/saved.weights
  # shellcheck disable=SC2086
  if $CC $CFLAGS $SAN $defs -I"$D" "$D/net.c" tests/sanitize/driver.c -lm -o "$D/asan" >"$D/asan.log" 2>&1 &&
     ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$D/asan" $ins $wants $extra >>"$D/asan.log" 2>&1; then
    ok "$name asan"
  else
    bad "$name asan" "see $D/asan.log" "$D/asan.log"
  fi
  omp=1 # --embedded has no OpenMP
  case $defs in *EMBEDDED*) omp= ;; esac
  if [ -n "$omp" ]; then
    # shellcheck disable=SC2086
    if $CC $CFLAGS $SAN -fopenmp $defs -I"$D" "$D/net.c" tests/sanitize/driver.c -lm -o "$D/asan-omp" >"$D/asan-omp.log" 2>&1 &&
       OMP_NUM_THREADS=2 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$D/asan-omp" $ins $wants $extra >>"$D/asan-omp.log" 2>&1; then
      ok "$name asan-omp"
    else
      bad "$name asan-omp" "see $D/asan-omp.log" "$D/asan-omp.log"
    fi
  fi
  if [ $have_valgrind = 0 ]; then
    skip "$name valgrind" "valgrind is not installed (Debian: apt-get install valgrind)"
    return
  fi
  # shellcheck disable=SC2086
  if $CC $CFLAGS $defs -I"$D" "$D/net.c" tests/sanitize/driver.c -lm -o "$D/plain" >"$D/valgrind.log" 2>&1 &&
     $VALGRIND "$D/plain" $ins $wants $extra >>"$D/valgrind.log" 2>&1; then
    ok "$name valgrind"
  else
    bad "$name valgrind" "see $D/valgrind.log" "$D/valgrind.log"
  fi
  [ -n "$omp" ] && [ -n "$valgrind_omp" ] || return
  # shellcheck disable=SC2086
  if $CC $CFLAGS -fopenmp $defs -I"$D" "$D/net.c" tests/sanitize/driver.c -lm -o "$D/plain-omp" >"$D/valgrind-omp.log" 2>&1 &&
     OMP_NUM_THREADS=2 $VALGRIND "$D/plain-omp" $ins $wants $extra >>"$D/valgrind-omp.log" 2>&1; then
    ok "$name valgrind-omp"
  else
    bad "$name valgrind-omp" "see $D/valgrind-omp.log" "$D/valgrind-omp.log"
  fi
}

valgrind_omp=1
for s in mlp lenet; do
  check "$s" "samples/$s" "samples/$s/model.onnx" ""
  check "$s-external-weights" "samples/$s" "samples/$s/model.onnx" "" --external-weights
  check "$s-embedded" "samples/$s" "samples/$s/model.onnx" "-DSAN_EMBEDDED" --embedded
done
check lenet-train-adam samples/lenet samples/lenet/model.onnx "" --train --loss=cross_entropy --optimizer=adam
check lenet-train-adam-external-weights samples/lenet samples/lenet/model.onnx "" \
  --train --loss=cross_entropy --optimizer=adam --external-weights

# the pickled-module samples (their jtc_flags name $DIR for a --weights file); no
# valgrind-omp for these, to keep the suite near a minute
valgrind_omp=
for dir in tests/data/jtpy/e2e/*/; do
  dir=${dir%/}
  model=
  for m in model.onnx model.pt model.pkl; do [ -f "$dir/$m" ] && model=$dir/$m && break; done
  [ -n "$model" ] || continue
  flags=$(sed "s|\\\$DIR|$dir|g" "$dir/jtc_flags" 2>/dev/null)
  # shellcheck disable=SC2086
  check "jtpy-${dir##*/}" "$dir" "$model" "" $flags
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
