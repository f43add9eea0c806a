#!/bin/sh
# cli_test.sh: the jtc command's contract: exit codes (0 ok, 1 model error,
# 2 usage error), one clear message per error, no output left behind by a failed
# write, byte-identical output from run to run, --dump-ir after every pass, the
# weights file, --list-ops, jtc inspect, the README's usage block.
#   B=build sh tests/cli_test.sh        prints PASS/FAIL lines and a summary
B=${B:-build}
JTC=$B/jtc
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# expect NAME RC PATTERN CMD...: CMD exits RC and its stderr matches PATTERN (grep -E)
expect() {
  name=$1 rc=$2 pat=$3
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  got=$?
  if [ "$got" -ne "$rc" ]; then bad "$name" "exit $got, want $rc: $(head -n 1 "$T/err")"
  elif [ -n "$pat" ] && ! grep -qE "$pat" "$T/err"; then bad "$name" "stderr lacks /$pat/: $(head -n 1 "$T/err")"
  else ok "$name"; fi
}

M=samples/lenet/model.onnx
expect usage-unknown-flag 2 "unknown option '--bogus'" "$JTC" $M --bogus -o "$T/a.c"
expect usage-no-model 2 "no model given" "$JTC" -o "$T/a.c"
expect usage-no-output 2 "no output" "$JTC" $M
expect usage-bad-shape 2 "bad --shape" "$JTC" $M --shape input=1,x -o "$T/a.c"
expect usage-bad-name 2 "not a C identifier" "$JTC" $M --name 9lives -o "$T/a.c"
expect usage-bad-target 2 "unknown target" "$JTC" $M --target=fpga -o "$T/a.c"
expect usage-bad-pass 2 "unknown pass" "$JTC" $M --dump-ir=after:nosuch
expect missing-model 1 "cannot open" "$JTC" "$T/none.onnx" -o "$T/a.c"
head -c 2000 $M >"$T/trunc.onnx"
expect truncated-model 1 "trunc.onnx: " "$JTC" "$T/trunc.onnx" -o "$T/a.c"
expect unwritable-output 1 "cannot write" "$JTC" $M -o "$T/no/such/dir/a.c"
# a failed write leaves no output behind: whatever was written before it (weights, header) is
# removed, and under valgrind no FILE or memory leaks (an output path that is a directory
# cannot be opened even by root; /dev/full takes the open but fails the write)
# gone NAME FILE...: PASS if none of FILE exists
gone() {
  name=$1
  shift
  for f in "$@"; do
    if [ -e "$f" ] || [ -L "$f" ]; then bad "$name" "$f was left behind"; return; fi
  done
  ok "$name"
}
VG=
# (not when jtc is built with AddressSanitizer, as by `make asan`: ASan checks leaks itself)
command -v valgrind >/dev/null 2>&1 && ! nm "$JTC" 2>/dev/null | grep -q __asan_init &&
  VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3"
mkdir -p "$T/hd/net.h" "$T/cd/net.c" "$T/td/net.c" "$T/ud/net.cu" "$T/full"
expect unwritable-header 1 "cannot write .*hd/net.h: Is a directory" $VG "$JTC" $M --external-weights -o "$T/hd/net.c"
gone unwritable-header-cleanup "$T/hd/net.weights" "$T/hd/net.c"
expect unwritable-source 1 "cannot write .*cd/net.c: Is a directory" $VG "$JTC" $M --external-weights -o "$T/cd/net.c"
gone unwritable-source-cleanup "$T/cd/net.weights" "$T/cd/net.h"
expect unwritable-train-source 1 "cannot write .*td/net.c" $VG "$JTC" $M --train --loss=mse --lr=0.1 --external-weights -o "$T/td/net.c"
gone unwritable-train-source-cleanup "$T/td/net.weights" "$T/td/net.h"
expect unwritable-cuda-source 1 "cannot write .*ud/net.cu" $VG "$JTC" $M --target=cuda --external-weights -o "$T/ud/net.cu"
gone unwritable-cuda-source-cleanup "$T/ud/net.weights" "$T/ud/net.h"
if [ -c /dev/full ]; then
  ln -s /dev/full "$T/full/net.c"
  expect disk-full-source 1 "error writing .*full/net.c" $VG "$JTC" $M -o "$T/full/net.c"
  gone disk-full-cleanup "$T/full/net.h" "$T/full/net.c"
fi
expect unwritable-output-valgrind 1 "cannot write .*No such file or directory" $VG "$JTC" $M -o "$T/no/such/dir/a.c"
expect shape-unknown-input 1 "not a graph input" "$JTC" $M --shape nosuch=1 -o "$T/a.c"
expect compile 0 "wrote" "$JTC" $M -o "$T/a.c"

# --report and --dump-dot: a file is required, so is -o; an unwritable path is one message and exit 1
expect report-no-file 2 "jtc: --report needs a file" "$JTC" $M -o "$T/a.c" --report
expect report-empty-file 2 "jtc: --report needs a file" "$JTC" $M -o "$T/a.c" --report=
expect dot-no-file 2 "jtc: --dump-dot needs a file" "$JTC" $M -o "$T/a.c" --dump-dot
expect report-no-output 2 "describe generated code: give -o FILE" "$JTC" $M --dump-ir --report "$T/r.json"
expect report-train 2 "do not describe --train" "$JTC" $M --train --loss=mse --lr=0.1 -o "$T/a.c" --report="$T/r.json"
expect report-unwritable 1 "cannot write $T/no/such/dir/r.json" "$JTC" $M -o "$T/a.c" --report="$T/no/such/dir/r.json"
if [ "$(wc -l <"$T/err")" -eq 1 ]; then ok report-unwritable-one-message; else bad report-unwritable-one-message "$(wc -l <"$T/err") lines on stderr"; fi
expect dot-unwritable 1 "cannot write $T/no/such/dir/g.dot" "$JTC" $M -o "$T/a.c" --dump-dot "$T/no/such/dir/g.dot"
expect report-and-dot 0 "wrote" "$JTC" $M -o "$T/a.c" --report="$T/r.json" --dump-dot="$T/g.dot"

# resource limits (issue 12): bad values are usage errors; a model past a limit names the flag that raises it
expect limit-bad-bytes 2 "bad --max-bytes=0" "$JTC" $M --max-bytes=0 -o "$T/a.c"
expect limit-bad-bytes-text 2 "bad --max-bytes=x" "$JTC" $M --max-bytes=x -o "$T/a.c"
expect limit-bad-depth 2 "bad --max-depth=0" "$JTC" $M --max-depth=0 -o "$T/a.c"
expect limit-bytes 1 "past the limit of 100 bytes \(--max-bytes=N raises the limit\)" "$JTC" samples/mlp/model.onnx --max-bytes=100 -o "$T/a.c"
expect limit-nodes 1 "more than 5 nodes.*--max-nodes=N raises the limit" "$JTC" $M --max-nodes=5 -o "$T/a.c"
expect limit-generous 0 "wrote" "$JTC" $M --max-bytes=100000000 --max-nodes=1000 --max-depth=4 -o "$T/a.c"

# training flags
expect train-no-loss 2 "needs --loss" "$JTC" $M --train -o "$T/a.c"
expect train-flags-without-train 2 "need --train" "$JTC" $M --loss=mse -o "$T/a.c"
expect train-bad-loss 2 "bad value in --loss=hinge" "$JTC" $M --train --loss=hinge -o "$T/a.c"
expect train-sgd-needs-lr 2 "needs --lr" "$JTC" $M --train --loss=cross_entropy -o "$T/a.c"
expect train-bad-lr 2 "bad value in --lr=-1" "$JTC" $M --train --loss=mse --lr=-1 -o "$T/a.c"
expect train-nesterov-no-momentum 2 "needs --momentum" "$JTC" $M --train --loss=mse --lr=0.1 --nesterov -o "$T/a.c"
expect train-adam-momentum 2 "apply to --optimizer=sgd" "$JTC" $M --train --loss=mse --optimizer=adam --momentum=0.9 -o "$T/a.c"
expect train-cuda 2 "C only" "$JTC" $M --train --loss=mse --lr=0.1 --target=cuda -o "$T/a.cu"
expect train-compile 0 "training build" "$JTC" $M --train --loss=cross_entropy --optimizer=adam -o "$T/t.c"

# a bad batch (a class index out of range, a NaN input) fails the step with a message and changes no weight
cat >"$T/tmain.c" <<'C'
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "t.h"
static float x[4 * 3 * 32 * 32];
int main(void) {
  long long y[1] = {10};
  float loss = 0, before[6];
  for (int i = 0; i < 3 * 32 * 32; i++) x[i] = (float)(i % 7) - 3;
  if (t_init(NULL)) { printf("init: %s\n", t_last_error()); return 1; }
  memcpy(before, t_state(0), sizeof before);
  const void *in[1] = {x}, *tg[1] = {y};
  int rc1 = t_train_step(in, tg, &loss);
  printf("label: %d %s\n", rc1, t_last_error());
  y[0] = 3;
  x[5] = NAN;
  int rc2 = t_train_step(in, tg, &loss);
  printf("nan: %d %s\n", rc2, t_last_error());
  int same = memcmp(before, t_state(0), sizeof before) == 0;
  x[5] = 0;
  int rc3 = t_train_step(in, tg, &loss);
  int moved = memcmp(before, t_state(0), sizeof before) != 0;
  printf("unchanged %d, then ok %d and moved %d\n", same, rc3 == 0, moved);
  return !(rc1 == -1 && rc2 == -1 && same && rc3 == 0 && moved);
}
C
if cc -std=c11 -I"$T" "$T/t.c" "$T/tmain.c" -lm -o "$T/tmain" 2>"$T/err" && "$T/tmain" >"$T/out" 2>&1 &&
   grep -q "label: -1 t_train_step: a target class index is outside \[0, 10)" "$T/out" && grep -q "nan: -1 .*not finite" "$T/out"; then
  ok train-bad-batch
else
  bad train-bad-batch "$(cat "$T/out" "$T/err" | head -n 3 | tr '\n' ' ')"
fi

# determinism: the same model and flags give byte-identical files
mkdir "$T/d1" "$T/d2"
J=$(cd "$(dirname "$JTC")" && pwd)/jtc A=$(pwd)/$M
(cd "$T/d1" && "$J" -q "$A" -o net.c) && (cd "$T/d2" && "$J" -q "$A" -o net.c)
if cmp -s "$T/d1/net.c" "$T/d2/net.c" && cmp -s "$T/d1/net.h" "$T/d2/net.h"; then ok deterministic; else bad deterministic "two runs differ"; fi
"$JTC" -q $M -o "$T/w1.c" --external-weights --name w && "$JTC" -q $M -o "$T/w2.c" --external-weights --name w
if cmp -s "$T/w1.weights" "$T/w2.weights" && [ -s "$T/w1.weights" ]; then ok deterministic-weights; else bad deterministic-weights "weights files differ or are empty"; fi

# every pass can be dumped, and the dump shows index maps in Jittor notation
for p in input simplify dce fuse schedule memplan all; do
  if "$JTC" $M --dump-ir=after:$p >"$T/dump" 2>&1 && grep -q "^# after" "$T/dump"; then ok "dump-ir-$p"; else bad "dump-ir-$p" "$(head -n 1 "$T/dump")"; fi
done
if "$JTC" $M --dump-ir | grep -q 'i2+i5'; then ok dump-jittor-notation; else bad dump-jittor-notation "no window map i2+i5 in the dump"; fi

# a .weights file that does not match is refused by net_init
"$JTC" -q samples/mlp/model.onnx -o "$T/m.c" --external-weights --name m
cat >"$T/main.c" <<'C'
#include <stdio.h>
#include "m.h"
int main(int argc, char **argv) {
  (void)argc;
  if (m_init(argv[1]) == 0) return 0;
  fprintf(stderr, "%s\n", m_last_error());
  return 1;
}
C
if cc -std=c11 -Wall -Wextra -Werror -I"$T" "$T/m.c" "$T/main.c" -lm -o "$T/m"; then
  expect weights-ok 0 "" "$T/m" "$T/m.weights"
  cp "$T/m.weights" "$T/bad.weights" && printf 'X' | dd of="$T/bad.weights" bs=1 seek=100 conv=notrunc 2>/dev/null
  expect weights-corrupt 1 "checksum mismatch" "$T/m" "$T/bad.weights"
  head -c 50 "$T/m.weights" >"$T/short.weights"
  expect weights-short 1 "holds|truncated|not a jtc" "$T/m" "$T/short.weights"
  expect weights-missing 1 "cannot open" "$T/m" "$T/none.weights"
else
  bad weights-build "the weights-file model did not compile"
fi

# string tensors: a run-time case change writes into the net's string storage; a run that
# needs more than -DS_STRING_BYTES fails (-1) naming the size to build with, and never overflows
# (tests/data/strings/make_strings.py made the model: x string[3] -> StringNormalizer UPPER -> y)
"$JTC" -q tests/data/strings/case_upper.onnx -o "$T/s.c" --name s
cat >"$T/smain.c" <<'C'
#include <stdio.h>
#include "s.h"
int main(void) {
  const char *x[3] = {"monday", "Tuesday", "\xc3\xa9t\xc3\xa9"}, *y[3] = {0};
  const void *in[1] = {x};
  void *out[1] = {y};
  if (s_run(in, out) != 0) {
    fprintf(stderr, "%s\n", s_last_error());
    return 1;
  }
  printf("%s %s %s\n", y[0], y[1], y[2]);
  return 0;
}
C
# 7 + 8 + 6 bytes (NULs included) are needed; UTF-8 bytes pass through, ASCII letters change
for bytes in 20 21 default; do
  d=-DS_STRING_BYTES=$bytes
  [ $bytes = default ] && d=
  if cc -std=c11 -Wall -Wextra -Werror $d -fsanitize=address,undefined -I"$T" "$T/s.c" "$T/smain.c" -lm -o "$T/s$bytes" 2>"$T/err" ||
     cc -std=c11 -Wall -Wextra -Werror $d -I"$T" "$T/s.c" "$T/smain.c" -lm -o "$T/s$bytes" 2>"$T/err"; then
    if [ $bytes = 20 ]; then
      expect strings-storage-overflow 1 "^s_run: new strings need 21 bytes, S_STRING_BYTES is 20: build with -DS_STRING_BYTES=21 or more$" "$T/s$bytes"
    elif [ "$("$T/s$bytes")" = "$(printf 'MONDAY TUESDAY \303\251T\303\251')" ]; then ok "strings-storage-$bytes"
    else bad "strings-storage-$bytes" "got '$("$T/s$bytes" 2>&1)'"; fi
  else
    bad "strings-build-$bytes" "$(head -n 1 "$T/err")"
  fi
done
# every Cast to and from string, and strings moved by Transpose/Reshape/Concat/Where with
# constants that need escaping (make_strings.py); built with -Werror, ASan+UBSan when available
"$JTC" -q tests/data/strings/casts.onnx -o "$T/ca.c" --name ca && "$JTC" -q tests/data/strings/moves.onnx -o "$T/mv.c" --name mv
cat >"$T/camain.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "ca.h"
#include "mv.h"
int main(void) {
  /* casts: strtod syntax; no number: 0, false, NaN */
  const char *s[4] = {"42", "-7.5", "nan", "junk"};
  int32_t i[2] = {-3, 2147483647};
  double d[2] = {0.1, 1e300}, o2[4];
  uint8_t b[2] = {1, 0}, o1[4];
  uint16_t h[2] = {0x3c00, 0x3555}, o3[4]; /* float16 1 and 0.333251953125 */
  int64_t o0[4];
  const char *o4[2], *o5[2], *o6[2], *o7[2];
  const void *in[5] = {s, i, d, b, h};
  void *out[8] = {o0, o1, o2, o3, o4, o5, o6, o7};
  if (ca_run(in, out) != 0) return fprintf(stderr, "%s\n", ca_last_error()), 1;
  for (int k = 0; k < 4; k++) printf("%lld %d %g %04x\n", (long long)o0[k], o1[k], o2[k], o3[k]);
  printf("%s %s|%s %s|%s %s|%s %s\n", o4[0], o4[1], o5[0], o5[1], o6[0], o6[1], o7[0], o7[1]);
  /* moves: y = concat(reshape(transpose(x)), ['say "hi"']), z = where(c, y, odd) */
  const char *x[6] = {"a", "b", "c", "d", "e", "f"}, *y[7], *z[7], *w[3];
  uint8_t c[7] = {1, 0, 1, 0, 1, 0, 0};
  const void *min[2] = {x, c};
  void *mout[3] = {y, z, w};
  if (mv_run(min, mout) != 0) return fprintf(stderr, "%s\n", mv_last_error()), 1;
  for (int k = 0; k < 7; k++) printf("[%s]", y[k]);
  printf("\n");
  for (int k = 0; k < 7; k++) printf("[%s]", z[k]);
  printf("\n%s%s%s\n", w[0], w[1], w[2]);
  return 0;
}
C
printf '42 1 42 5140\n-7 1 -7.5 c780\n0 1 nan 7e00\n0 0 nan 7e00\n-3 2147483647|0.1 1e+300|1 0|1 0.33325195\n[a][d][b][e][c][f][say "hi"]\n[a][back\\slash][b][??=][c][][k]\npqr\n' >"$T/ca.want"
if cc -std=c11 -Wall -Wextra -Werror -fsanitize=address,undefined -I"$T" "$T/ca.c" "$T/mv.c" "$T/camain.c" -lm -o "$T/ca" 2>"$T/err" ||
   cc -std=c11 -Wall -Wextra -Werror -I"$T" "$T/ca.c" "$T/mv.c" "$T/camain.c" -lm -o "$T/ca" 2>"$T/err"; then
  if "$T/ca" >"$T/ca.got" 2>"$T/err" && cmp -s "$T/ca.got" "$T/ca.want"; then ok strings-casts-and-moves
  else bad strings-casts-and-moves "$(diff "$T/ca.got" "$T/ca.want" | head -n 4 | tr '\n' ' ') $(head -n 1 "$T/err")"; fi
else
  bad strings-casts-and-moves "build: $(grep -m 1 error "$T/err")"
fi
# Pad of strings with a constant_value: its text fills, folded (y) and at run time (y2)
"$JTC" -q tests/data/strings/pad.onnx -o "$T/pad.c" --name pad
cat >"$T/padmain.c" <<'C'
#include <stdio.h>
#include "pad.h"
int main(void) {
  const char *x2[2] = {"p", "q"}, *y[4], *y2[5];
  const void *in[1] = {x2};
  void *out[2] = {y, y2};
  if (pad_run(in, out) != 0) return fprintf(stderr, "%s\n", pad_last_error()), 1;
  printf("%s%s%s%s %s%s%s%s%s\n", y[0], y[1], y[2], y[3], y2[0], y2[1], y2[2], y2[3], y2[4]);
  return 0;
}
C
if cc -std=c11 -Wall -Wextra -Werror -I"$T" "$T/pad.c" "$T/padmain.c" -lm -o "$T/pad" 2>"$T/err" && [ "$("$T/pad")" = "zabz zpqzz" ]
then ok strings-pad-value; else bad strings-pad-value "got '$("$T/pad" 2>&1)' $(head -n 1 "$T/err")"; fi
expect strings-cuda-refused 1 "graph input 'x': string tensors are supported by --target=c inference only, not --target=cuda" \
  "$JTC" tests/data/strings/case_upper.onnx --target=cuda -o "$T/s.cu"
expect strings-embedded-refused 1 "not supported with --embedded" "$JTC" tests/data/strings/case_upper.onnx --embedded -o "$T/se.c"

if "$JTC" --list-ops | grep -q '^Conv (opset'; then ok list-ops; else bad list-ops "no Conv row"; fi

# --target=cuda: CUDA source at exactly the path given, .cu or not; a one-line notice when
# the name does not say CUDA; the build line for --arch in the first comment
expect usage-bad-arch 2 "bad --arch" "$JTC" $M --target=cuda --arch=compute_87 -o "$T/a.cu"
expect usage-graph-on-c 2 "applies to --target=cuda" "$JTC" $M --cuda-graph -o "$T/a.c"
expect usage-embedded-cuda 2 "embedded applies to --target=c" "$JTC" $M --embedded --target=cuda -o "$T/a.cu"
expect usage-embedded-external 2 "no --external-weights" "$JTC" $M --embedded --external-weights -o "$T/a.c"
expect usage-embedded-train 2 "train does not take --embedded" "$JTC" $M --embedded --train --loss=mse --lr=0.1 -o "$T/a.c"
expect usage-naive-on-cuda 2 "applies to --target=c" "$JTC" $M --target=cuda --naive -o "$T/a.cu"
expect cuda-dot-cu 0 "wrote" "$JTC" $M --target=cuda -o "$T/g.cu"
if grep -q 'holds CUDA source' "$T/err"; then bad cuda-dot-cu-quiet "a notice for a .cu name"; else ok cuda-dot-cu-quiet; fi
expect cuda-dot-c 0 "cu.c holds CUDA source; build it with nvcc -x cu" "$JTC" $M --target=cuda -o "$T/cu.c"
if [ "$(grep -c . "$T/err")" -eq 2 ] && grep -q '__global__ void' "$T/cu.c" && grep -q 'int  cu_run_device' "$T/cu.h" \
  && [ ! -e "$T/cu.cu" ]; then ok cuda-dot-c-contents; else bad cuda-dot-c-contents "not CUDA at cu.c, or more than the notice and the summary"; fi
"$JTC" -q $M --target=cuda --arch=sm_75,sm_87 -o "$T/arch.cu"
if head -n 8 "$T/arch.cu" | grep -q 'Build: nvcc -x cu -std=c++17 -O3 -gencode arch=compute_75,code=sm_75 -gencode arch=compute_87,code=sm_87 -c arch.cu'
then ok cuda-arch-line; else bad cuda-arch-line "no nvcc line for sm_75,sm_87 in the first comment"; fi
if "$JTC" $M --target=cuda --dump-ir=after:launch | grep -q 'CUDA tiled GEMM'; then ok dump-ir-launch; else bad dump-ir-launch "no CUDA mapping in the dump"; fi
# --precision: CUDA only; the tensor-core mapping shows in the plain --dump-ir and in the file
expect usage-precision-on-c 2 "precision applies to --target=cuda" "$JTC" $M --precision=tf32 -o "$T/a.c"
expect usage-bad-precision 2 "bad --precision 'bf16'" "$JTC" $M --target=cuda --precision=bf16 -o "$T/a.cu"
if "$JTC" $M --target=cuda --precision=fp16 --dump-ir | grep -q 'CUDA tensor-core GEMM 64x64x16, fp16 inputs'; then ok dump-ir-precision
else bad dump-ir-precision "no tensor-core mapping in the default --dump-ir"; fi
"$JTC" -q $M --target=cuda --precision=tf32 -o "$T/tc.c"
if grep -q 'precision=tf32' "$T/tc.c" && grep -q 'nvcuda::wmma::mma_sync' "$T/tc.c" && grep -q '#include <mma.h>' "$T/tc.c" \
  && ! grep -q 'nvcuda::wmma' "$T/g.cu"; then ok cuda-precision-source; else bad cuda-precision-source "no MMA in the tf32 file, or MMA in the fp32 one"; fi

# docs/ops.md (make ops-doc) shows every op of --list-ops with the same opset range, and no other
# op as supported: rows of its "## Operators" table are | op | domain | since | jtc opsets | ...
"$JTC" --list-ops >"$T/ops"
if [ ! -f docs/ops.md ]; then bad ops-doc "docs/ops.md missing (make ops-doc)"
elif awk -F'|' '
  function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
  NR == FNR {
    i = index($0, " (opset "); if (i == 0 || $0 !~ /\)$/) { print "bad --list-ops line: " $0; next }
    op = substr($0, 1, i - 1); r = substr($0, i + 8); r = substr(r, 1, length(r) - 1)
    if (index(op, ":") == 0) op = "ai.onnx:" op
    if (op in want) want[op] = want[op] ", " r; else want[op] = r
    n++; next
  }
  /^## / { intable = ($0 ~ /^## Operators/) }
  intable && /^\| / && trim($5) ~ /^[0-9]/ { have[trim($3) ":" trim($2)] = trim($5) }
  END {
    if (n == 0) print "--list-ops printed nothing"
    for (k in want) if (!(k in have)) print k " (opset " want[k] ") missing"; else if (have[k] != want[k]) print k ": opset " have[k] ", --list-ops says " want[k]
    for (k in have) if (!(k in want)) print k ": opset " have[k] ", not in --list-ops"
  }' "$T/ops" docs/ops.md >"$T/drift" && [ ! -s "$T/drift" ]; then ok ops-doc
else bad ops-doc "docs/ops.md differs from --list-ops (make ops-doc): $(sort "$T/drift" | head -n 1)"; fi

# jtc inspect: the figures of the text and --json forms against python-onnx's own count
# (subgraphs included), the op support rule re-derived from --list-ops, and bad input
PY=${PYTHON:-/usr/bin/python3}
cat >"$T/inspect_check.py" <<'PY'
# inspect_check.py MODEL TEXT JSON LIST_OPS: jtc inspect's two forms agree with onnx's view of MODEL
import collections, json, re, sys
import numpy as np, onnx
from onnx import numpy_helper
model, text, js, listops = sys.argv[1:5]
m = onnx.load(model, load_external_data=False)
ops, seen = collections.Counter(), {"subgraphs": 0, "params": 0, "bytes": 0}
def walk(g):
    for t in g.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            n = int(np.prod(t.dims, dtype=np.int64))
            to_np = getattr(onnx.helper, "tensor_dtype_to_np_dtype", None) or onnx.mapping.TENSOR_TYPE_TO_NP_TYPE.get
            b = n * np.dtype(to_np(t.data_type)).itemsize
        else:
            a = numpy_helper.to_array(t)
            n, b = a.size, a.nbytes
        seen["params"] += n
        seen["bytes"] += b
    for nd in g.node:
        ops[(nd.domain or "ai.onnx", nd.op_type)] += 1
        for at in nd.attribute:
            for sg in ([at.g] if at.HasField("g") else []) + list(at.graphs):
                seen["subgraphs"] += 1
                walk(sg)
walk(m.graph)
# the op table: "Op (opset a-b)" / "Op (opset a+)", other domains "dom:Op"
rows = collections.defaultdict(list)
for line in open(listops):
    k, lo, hi = re.match(r"(\S+) \(opset (\d+)(?:-(\d+)|\+)\)$", line.strip()).groups()
    rows[k if ":" in k else "ai.onnx:" + k].append((int(lo), int(hi) if hi else 10**9))
imports = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
def supported(dom, op):
    v = imports.get(dom, 1 if dom == "ai.onnx" else None)
    return v is not None and any(lo <= v <= hi for lo, hi in rows.get(dom + ":" + op, []))
d = json.load(open(js))
errs = []
def want(what, got, exp):
    if got != exp: errs.append("%s: jtc says %r, expected %r" % (what, got, exp))
want("keys", list(d), ["format", "ir_version", "producer_name", "producer_version", "domain", "model_version",
                       "doc_string", "opsets", "inputs", "outputs", "nodes", "subgraphs", "ops", "parameters", "unsupported"])
want("json ops", {(o["domain"], o["op_type"]): o["count"] for o in d["ops"]}, dict(ops))
want("json op order", [(o["op_type"], o["domain"]) for o in d["ops"]],
     [(k[1], k[0]) for k, c in sorted(ops.items(), key=lambda kc: (-kc[1], kc[0][1], kc[0][0]))])
want("json supported", {(o["domain"], o["op_type"]): o["supported"] for o in d["ops"]}, {k: supported(*k) for k in ops})
want("json unsupported", sorted((o["domain"], o["op_type"], o["count"]) for o in d["unsupported"]),
     sorted((k[0], k[1], c) for k, c in ops.items() if not supported(*k)))
want("json nodes", d["nodes"], sum(ops.values()))
want("json subgraphs", d["subgraphs"], seen["subgraphs"])
want("json params", (d["parameters"]["count"], d["parameters"]["bytes"]), (seen["params"], seen["bytes"]))
inits = {t.name for t in m.graph.initializer}
want("json inputs", [i["name"] for i in d["inputs"]], [i.name for i in m.graph.input if i.name not in inits])
want("json outputs", [o["name"] for o in d["outputs"]], [o.name for o in m.graph.output])
want("json opsets", [(o["domain"], o["version"]) for o in d["opsets"]], [(o.domain or "ai.onnx", o.version) for o in m.opset_import])
t = open(text).read()
body = t.split("\nops (", 1)[1].split("\nparameters:", 1)[0].splitlines()[1:]
text_ops = {}
for line in body:
    c, name = line.split()[:2]
    dom, op = name.rsplit(".", 1) if "." in name else ("ai.onnx", name)
    text_ops[(dom, op)] = int(c)
want("text ops", text_ops, dict(ops))
want("text params", re.search(r"\nparameters: (\d+) elements, (\d+) bytes", t).groups(), (str(seen["params"]), str(seen["bytes"])))
nbad = sum(1 for k in ops if not supported(*k))
if nbad == 0: want("text unsupported", "unsupported: none (all %d op types are supported)" % len(ops) in t, True)
else: want("text unsupported", "unsupported: %d of %d op types:" % (nbad, len(ops)) in t, True)
print("\n".join(errs) if errs else "ok")
sys.exit(1 if errs else 0)
PY
"$JTC" --list-ops >"$T/listops"
# inspect_ok NAME MODEL: text and --json (flag last) succeed and agree with inspect_check.py
inspect_ok() {
  if "$JTC" inspect "$2" >"$T/i.txt" 2>"$T/err" && "$JTC" inspect "$2" --json >"$T/i.json" 2>>"$T/err" &&
     "$PY" "$T/inspect_check.py" "$2" "$T/i.txt" "$T/i.json" "$T/listops" >"$T/check" 2>&1; then ok "$1"
  else bad "$1" "$(cat "$T/err" "$T/check" | head -n 3 | tr '\n' ' ')"; fi
}
inspect_ok inspect-lenet $M
inspect_ok inspect-mlp samples/mlp/model.onnx
ND=/usr/share/libonnx-testdata/data/node
inspect_ok inspect-loop-subgraph $ND/test_loop11/model.onnx
inspect_ok inspect-if-subgraphs $ND/test_if/model.onnx
inspect_ok inspect-scan-subgraph $ND/test_scan9_sum/model.onnx
"$JTC" inspect $ND/test_loop11/model.onnx >"$T/i.txt"
if grep -q "counts include the nodes of 1 subgraph)" "$T/i.txt" && grep -qE '^ +2  Add$' "$T/i.txt"; then ok inspect-subgraph-text
else bad inspect-subgraph-text "no subgraph note or Loop body's Adds not counted: $(grep -A2 '^ops' "$T/i.txt" | tr '\n' ' ')"; fi
inspect_ok inspect-external tests/data/onnx/external_ok.onnx
if grep -q '"external_bytes":	24' "$T/i.json" && grep -qE '^  W +24 bytes in external_ok.bin$' "$T/i.txt"; then ok inspect-external-listed
else bad inspect-external-listed "external initializer W (24 bytes) not reported"; fi
# --json before the file gives the same object; the pickle form parses
"$JTC" inspect --json $M >"$T/j1" && "$JTC" inspect $M --json >"$T/j2"
if cmp -s "$T/j1" "$T/j2" && [ -s "$T/j1" ]; then ok inspect-json-position; else bad inspect-json-position "--json FILE and FILE --json differ"; fi
if "$JTC" inspect --json tests/data/jtpy/dtypes.pt | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d["format"]=="pickle" and len(d["tensors"])==13 and d["tensors"][0]["name"]=="f32" and d["tensors"][0]["shape"]==[2,3]))'
then ok inspect-json-pickle; else bad inspect-json-pickle "no pickle JSON with 13 tensors"; fi
# an op of a custom domain and one jtc has only at other opsets (Upsample: 7-9) are reported unsupported
if "$PY" -c '
import sys, onnx
from onnx import helper as h, TensorProto as T
x = h.make_tensor_value_info("x", T.FLOAT, ["N", 4])
y = h.make_tensor_value_info("y", T.FLOAT, None)
nodes = [h.make_node("Relu", ["x"], ["a"]), h.make_node("Frobnicate", ["a"], ["b"], domain="com.example"),
         h.make_node("Frobnicate", ["b"], ["c"], domain="com.example"), h.make_node("Upsample", ["c", "s"], ["y"])]
g = h.make_graph(nodes, "g", [x, h.make_tensor_value_info("s", T.FLOAT, [2])], [y])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13), h.make_opsetid("com.example", 1)]), sys.argv[1])
' "$T/unsup.onnx" 2>"$T/err"; then
  inspect_ok inspect-unsupported-figures "$T/unsup.onnx"
  if "$PY" -c 'import json,sys; u=json.load(open(sys.argv[1]))["unsupported"]; sys.exit(u != [
      {"domain":"com.example","op_type":"Frobnicate","count":2,"other_opsets":False},
      {"domain":"ai.onnx","op_type":"Upsample","count":1,"other_opsets":True}])' "$T/i.json" &&
     grep -q "^unsupported: 2 of 3 op types: com.example.Frobnicate, Upsample (at this opset)$" "$T/i.txt" &&
     grep -qE '^  x +float\[N,4\]$' "$T/i.txt" && grep -qE '^  y +float \(rank unknown\)$' "$T/i.txt"; then ok inspect-unsupported
  else bad inspect-unsupported "$(grep '^unsupported' "$T/i.txt") $(grep -A1 '"unsupported"' "$T/i.json" | tr '\n' ' ')"; fi
else bad inspect-unsupported "could not build the model: $(head -n 1 "$T/err")"; fi
# bad input: exit 1 and one line naming the file; wrong usage: exit 2
head -c 3000 /dev/urandom >"$T/garbage.onnx"
printf 'plain text, not a model\n' >"$T/notes.txt"
expect inspect-missing 1 "none.onnx: cannot open" "$JTC" inspect "$T/none.onnx"
expect inspect-truncated 1 "trunc.onnx: not an ONNX model" "$JTC" inspect "$T/trunc.onnx"
expect inspect-garbage 1 "garbage.onnx: " "$JTC" inspect "$T/garbage.onnx"
expect inspect-text-file 1 "notes.txt: not an ONNX model" "$JTC" inspect --json "$T/notes.txt"
for f in none.onnx trunc.onnx garbage.onnx notes.txt; do
  "$JTC" inspect "$T/$f" >"$T/out" 2>"$T/err"
  if [ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -s "$T/out" ]; then ok "inspect-one-line-$f"; else bad "inspect-one-line-$f" "stderr has $(wc -l <"$T/err") lines, stdout $(wc -c <"$T/out") bytes"; fi
done
expect inspect-no-file 2 "no file given" "$JTC" inspect
expect inspect-json-no-file 2 "no file given" "$JTC" inspect --json
expect inspect-unknown-flag 2 "unknown option '--bogus'" "$JTC" inspect $M --bogus
expect inspect-two-files 2 "more than one file" "$JTC" inspect $M $M

# the README's "Command line" block is the usage text, verbatim
"$JTC" --help >"$T/help"
awk '/^## Command line/ { on = 1; next } on && /^```$/ { if (inblock) exit; inblock = 1; next } inblock' README.md >"$T/readme-usage"
if cmp -s "$T/help" "$T/readme-usage"; then ok readme-usage; else bad readme-usage "README's usage block differs from jtc --help: $(diff "$T/help" "$T/readme-usage" | head -n 2 | tr '\n' ' ')"; fi
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
