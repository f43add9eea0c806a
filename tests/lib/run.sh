#!/bin/sh
# run.sh: the libjtc suite of make test (include/jtc.h, lib/jtc.c), through
# samples/jit/jit_example.c linked statically and against libjtc.so:
#   the cache key: a second load compiles nothing; a changed option, model byte or
#     compiler identity compiles again (compiler runs counted by a $CC wrapper);
#   a truncated cache entry is rebuilt; two processes loading one model at once
#     both succeed and leave one entry; jtc cache list|clear;
#   jtc run: an ONNX test folder, a wrong reference, .npy input and output, --iters,
#     an input file of the wrong shape;
#   errors: a missing compiler, a failing compiler, an unreadable model.
#
#   B=build PYTHON=/usr/bin/python3 sh tests/lib/run.sh
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
REAL_CC=${CC:-cc}
W=$B/libtest
rm -rf "$W"
mkdir -p "$W"
W=$(cd "$W" && pwd)
passed=0 failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# compiler wrappers: cc-count logs each build (not --version), cc-other claims another version, cc-fail fails
cat >"$W/cc-count" <<SH
#!/bin/sh
case "\$*" in *-shared*) echo build >>"$W/count" ;; esac
exec $REAL_CC "\$@"
SH
cat >"$W/cc-other" <<SH
#!/bin/sh
case "\$*" in --version) echo "other-cc 9.9"; exit 0 ;; *-shared*) echo build >>"$W/count" ;; esac
exec $REAL_CC "\$@"
SH
cat >"$W/cc-fail" <<SH
#!/bin/sh
case "\$*" in --version) echo "fail-cc 1.0"; exit 0 ;; esac
echo "cc-fail: error: this compiler always fails" >&2
exit 1
SH
chmod +x "$W/cc-count" "$W/cc-other" "$W/cc-fail"
builds() { if [ -f "$W/count" ]; then wc -l <"$W/count" | tr -d ' '; else echo 0; fi; }

# a library built under the sanitizers (make asan) needs their runtimes in the program too
SAN=
nm "$B/libjtc.a" 2>/dev/null | grep -q __asan_init && SAN="-fsanitize=address,undefined"
# shellcheck disable=SC2086
if ! $REAL_CC -std=c11 -Wall -Wextra -Werror $SAN -Iinclude samples/jit/jit_example.c "$B/libjtc.a" -lprotobuf-c -lcjson -lm -ldl \
     -o "$W/jit" 2>"$W/log" ||
   ! $REAL_CC -std=c11 -Wall -Wextra -Werror $SAN -Iinclude samples/jit/jit_example.c -L"$B" -ljtc -Wl,-rpath,"$(cd "$B" && pwd)" \
     -o "$W/jit_so" 2>>"$W/log"; then
  cat "$W/log"
  echo "FAIL libjtc: the example does not build"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

export JTC_CACHE_DIR="$W/cache"
M=samples/lenet/model.onnx
run() { CC="$1" "$2" $3 >"$W/out" 2>&1; }

run "$W/cc-count" "$W/jit" "$M"
FIRST=$(ls "$W/cache")
if [ "$(builds)" = 1 ] && grep -q compiled "$W/out"; then ok first-load-compiles; else bad first-load-compiles "$(builds) builds: $(head -n 2 "$W/out")"; fi
run "$W/cc-count" "$W/jit_so" "$M"
if [ "$(builds)" = 1 ] && grep -q cached "$W/out"; then ok second-load-cached; else bad second-load-cached "$(builds) builds"; fi
head -n 3 "$W/out" | tail -n 1 >"$W/first"
run "$W/cc-count" "$W/jit" "$M --train cross_entropy"
if [ "$(builds)" = 2 ] && grep -q "step 2: loss" "$W/out"; then ok option-changes-key; else bad option-changes-key "$(builds) builds: $(tail -n 1 "$W/out")"; fi
"$PYTHON" - "$M" "$W/lenet2.onnx" <<'PY'
import sys, onnx, numpy as np
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
t = m.graph.initializer[0]
a = numpy_helper.to_array(t).copy()
a.flat[0] += 0.25
t.CopyFrom(numpy_helper.from_array(a, t.name))
onnx.save(m, sys.argv[2])
PY
run "$W/cc-count" "$W/jit" "$W/lenet2.onnx"
if [ "$(builds)" = 3 ]; then ok model-byte-changes-key; else bad model-byte-changes-key "$(builds) builds"; fi
run "$W/cc-other" "$W/jit" "$M"
if [ "$(builds)" = 4 ] && grep -q compiled "$W/out"; then ok compiler-changes-key; else bad compiler-changes-key "$(builds) builds"; fi

# a truncated object: detected by the manifest, rebuilt, same output
n0=$(builds)
head -c 1000 "$W/cache/$FIRST/model.so" >"$W/so.part" && mv "$W/so.part" "$W/cache/$FIRST/model.so"
run "$W/cc-count" "$W/jit" "$M"
if [ "$(builds)" = $((n0 + 1)) ] && grep -q compiled "$W/out" && [ "$(head -n 3 "$W/out" | tail -n 1)" = "$(cat "$W/first")" ]; then
  ok truncated-entry-rebuilt
else
  bad truncated-entry-rebuilt "$(builds) builds (from $n0): $(head -n 3 "$W/out" | tail -n 1)"
fi

# two processes at once on an empty cache
export JTC_CACHE_DIR="$W/cache2"
CC="$W/cc-count" "$W/jit" "$M" >"$W/c1" 2>&1 &
p1=$!
CC="$W/cc-count" "$W/jit" "$M" >"$W/c2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
entries=$(ls "$W/cache2" | grep -vc '^tmp\.')
leftover=$(ls "$W/cache2" | grep -c '^tmp\.')
if [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$entries" = 1 ] && [ "$leftover" = 0 ]; then ok concurrent-loads
else bad concurrent-loads "exit $r1 $r2, $entries entries, $leftover temporary dirs left"; fi

# jtc cache list shows the entries with their models; clear empties the cache, and the next load compiles
n=$(ls "$W/cache2" | wc -l | tr -d ' ')
if JTC_CACHE_DIR="$W/cache2" "$B/jtc" cache list >"$W/list" 2>&1 && grep -q "^$n entr" "$W/list" && grep -q "model $M" "$W/list" &&
   JTC_CACHE_DIR="$W/cache2" "$B/jtc" cache clear >"$W/clear" 2>&1 && [ -z "$(ls "$W/cache2")" ] &&
   CC="$W/cc-count" "$W/jit" "$M" 2>&1 | grep -q compiled; then
  ok jtc-cache-list-clear
else
  bad jtc-cache-list-clear "$(head -n 3 "$W/list" "$W/clear" 2>/dev/null | tr '\n' ' ')"
fi

# jtc run: a test folder passes; a wrong reference fails with exit 1; .npy in and out match the reference
export JTC_CACHE_DIR="$W/cache3"
if "$B/jtc" run samples/mlp >"$W/r1" 2>&1 && grep -q "PASS test_data_set_0" "$W/r1"; then ok run-test-folder; else bad run-test-folder "$(tail -n 2 "$W/r1")"; fi
cp -r samples/mlp "$W/mlp_wrong"
"$PYTHON" - "$W/mlp_wrong/test_data_set_0/output_0.pb" <<'PY'
import sys, onnx
from onnx import numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
a = numpy_helper.to_array(t).copy()
a.flat[3] += 0.5
open(sys.argv[1], "wb").write(numpy_helper.from_array(a, t.name).SerializeToString())
PY
"$B/jtc" run "$W/mlp_wrong" >"$W/r2" 2>&1; rc=$?
if [ $rc = 1 ] && grep -q "FAIL test_data_set_0" "$W/r2" && grep -q "output 'output'\[3\]" "$W/r2"; then ok run-detects-mismatch; else bad run-detects-mismatch "exit $rc: $(head -n 2 "$W/r2")"; fi
mkdir -p "$W/npy"
"$PYTHON" - samples/lenet/test_data_set_0/input_0.pb "$W/npy/in.npy" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[1], "rb").read())
np.save(sys.argv[2], numpy_helper.to_array(t))
PY
if "$B/jtc" run samples/lenet/model.onnx --input input="$W/npy/in.npy" --output-dir "$W/npy" --iters 5 >"$W/r3" 2>&1 &&
   grep -q "5 runs: median" "$W/r3" &&
   "$PYTHON" - "$W/npy/output.npy" samples/lenet/test_data_set_0/output_0.pb <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto()
t.ParseFromString(open(sys.argv[2], "rb").read())
want, got = numpy_helper.to_array(t), np.load(sys.argv[1])
sys.exit(not (got.shape == want.shape and got.dtype == want.dtype and np.allclose(got, want, rtol=1e-3, atol=1e-7)))
PY
then ok run-npy-io; else bad run-npy-io "$(tail -n 2 "$W/r3")"; fi
"$B/jtc" run samples/mlp/model.onnx --input input="$W/npy/in.npy" >"$W/r4" 2>&1; rc=$?
if [ $rc = 1 ] && grep -q "holds float32\[1,3,32,32\]; input 'input' is float32\[16,1\]" "$W/r4"; then ok run-wrong-input-shape; else bad run-wrong-input-shape "exit $rc: $(tail -n 1 "$W/r4")"; fi
"$B/jtc" run samples/mlp/model.onnx --bogus >"$W/r5" 2>&1; rc=$?
if [ $rc = 2 ]; then ok run-usage; else bad run-usage "exit $rc"; fi

# errors: exit code and message
run /nonexistent/cc "$W/jit" "$M"; rc=$?
if [ $rc = 2 ] && grep -q "not found" "$W/out"; then ok missing-compiler; else bad missing-compiler "exit $rc: $(head -n 1 "$W/out")"; fi
run "$W/cc-fail" "$W/jit" "$M"; rc=$?
if [ $rc = 2 ] && grep -q "always fails" "$W/out"; then ok failing-compiler; else bad failing-compiler "exit $rc: $(head -n 1 "$W/out")"; fi
run "$W/cc-count" "$W/jit" "$W/none.onnx"; rc=$?
if [ $rc = 1 ] && grep -q "cannot read" "$W/out"; then ok unreadable-model; else bad unreadable-model "exit $rc: $(head -n 1 "$W/out")"; fi
printf 'not a model' >"$W/bad.onnx"
run "$W/cc-count" "$W/jit" "$W/bad.onnx"; rc=$?
if [ $rc = 1 ] && grep -q "bad.onnx" "$W/out"; then ok bad-model; else bad bad-model "exit $rc: $(head -n 1 "$W/out")"; fi

echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
