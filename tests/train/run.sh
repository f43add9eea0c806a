#!/bin/sh
# run.sh: the `train` suite of make test. Every case of make_train_fixtures.py
# (PyTorch's losses, updated weights and outputs after 3 steps: MLP with mse,
# LeNet and a BatchNorm CNN with cross_entropy, under SGD, SGD-nesterov, Adam
# and AdamW) is compiled with `jtc --train` and checked by train_check.c; then
# the Fashion-MNIST sample trains 200 steps (samples/fashion_mnist/run.sh)
# and must bring the loss under the bound stated there, and 2 MPI ranks must
# make the updates of one process (when OpenMPI is installed).
#
#   B=build PYTHON=/usr/bin/python3 sh tests/train/run.sh
#
# Prints PASS/FAIL per case and ends with `N passed, N failed, N skipped`.
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
W=$B/train
passed=0 failed=0 skipped=0
rm -rf "$W"
mkdir -p "$W"

if ! "$PYTHON" tests/train/make_train_fixtures.py --out "$W" >"$W/fixtures.log" 2>&1; then
  cat "$W/fixtures.log"
  echo "FAIL train-fixtures: make_train_fixtures.py failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# an inference build of the saved weights (jtc --weights FILE.weights): input file -> output file
cat >"$W/infer_main.c" <<'C'
#include <stdio.h>
#include "infer.h"
static unsigned char in[1 << 20], out[1 << 20];
int main(int argc, char **argv) {
  FILE *f = argc == 3 ? fopen(argv[1], "rb") : NULL;
  if (!f || fread(in, 1, infer_input_sizes[0], f) != infer_input_sizes[0] || infer_output_sizes[0] > sizeof out) return 1;
  fclose(f);
  const void *ins[1] = {in};
  void *outs[1] = {out};
  if (infer_init(NULL) || infer_run(ins, outs)) { fprintf(stderr, "%s\n", infer_last_error()); return 1; }
  f = fopen(argv[2], "wb");
  return !f || fwrite(out, 1, infer_output_sizes[0], f) != infer_output_sizes[0] || fclose(f);
}
C

for model in "$W"/*/; do
  model=${model%/}
  for case in "$model"/*/; do
    case=${case%/}
    [ -f "$case/config.txt" ] || continue
    name=$(basename "$model")/$(basename "$case")
    # shellcheck disable=SC2046
    if "$B/jtc" -q "$model/model.onnx" --train $(cat "$case/config.txt") -o "$case/net.c" >"$case/log" 2>&1 &&
       $CC -std=c11 -O2 -Wall -Wextra -Werror -I"$case" "$case/net.c" tests/train/train_check.c -lm -o "$case/check" >>"$case/log" 2>&1 &&
       "$case/check" "$case" >>"$case/log" 2>&1 &&
       "$B/jtc" -q "$model/model.onnx" --weights "$case/saved.weights" -o "$case/infer.c" >>"$case/log" 2>&1 &&
       $CC -std=c11 -O2 -I"$case" "$case/infer.c" "$W/infer_main.c" -lm -o "$case/infer" >>"$case/log" 2>&1 &&
       "$case/infer" "$case/input_0.bin" "$case/infer_out.bin" >>"$case/log" 2>&1 &&
       "$PYTHON" -c "import numpy as n, sys; a, b = (n.fromfile(f, n.float32) for f in sys.argv[1:]); sys.exit(not (a.shape == b.shape and n.allclose(a, b, rtol=1e-3, atol=1e-4)))" \
         "$case/infer_out.bin" "$case/eval_output.bin" >>"$case/log" 2>&1; then
      echo "PASS $name (and jtc --weights of its saved weights gives PyTorch's output)"
      passed=$((passed + 1))
    else
      echo "FAIL $name"
      sed 's/^/    /' "$case/log" | head -20
      failed=$((failed + 1))
    fi
  done
done

# Dropout (ratio 0.5): the loss of make_dropout_model.py is 4 * the kept fraction. The same
# seed gives the same masks, another seed others, and over 50 steps of 4096 elements the
# kept fraction is 0.5 within 0.005 (its standard deviation is 0.0011).
D=$W/dropout
mkdir -p "$D"
cat >"$D/main.c" <<'C'
#include <math.h>
#include <stdio.h>
#include "t.h"
static float x[64 * 64], y[64 * 64];
int main(void) {
  for (int i = 0; i < 64 * 64; i++) x[i] = 1;
  const void *in[1] = {x}, *tg[1] = {y};
  float l[5], v;
  double mean = 0;
  if (t_init(NULL)) return 1;
  t_set_seed(7); t_train_step(in, tg, &l[0]); t_train_step(in, tg, &l[1]);
  t_set_seed(7); t_train_step(in, tg, &l[2]); t_train_step(in, tg, &l[3]);
  t_set_seed(8); t_train_step(in, tg, &l[4]);
  for (int k = 0; k < 50; k++) { if (t_train_step(in, tg, &v)) return 1; mean += v / 4 / 50; }
  printf("seed 7: %g %g, again %g %g, seed 8: %g; kept fraction over 50 steps %.4f\n", l[0], l[1], l[2], l[3], l[4], mean);
  return !(l[0] == l[2] && l[1] == l[3] && l[0] != l[1] && l[0] != l[4] && fabs(mean - 0.5) < 0.005);
}
C
if "$PYTHON" tests/train/make_dropout_model.py "$D/model.onnx" >"$D/log" 2>&1 &&
   "$B/jtc" -q "$D/model.onnx" --train --loss=mse --lr=0 -o "$D/t.c" >>"$D/log" 2>&1 &&
   $CC -std=c11 -O2 -Wall -Wextra -Werror -I"$D" "$D/t.c" "$D/main.c" -lm -o "$D/check" >>"$D/log" 2>&1 &&
   "$D/check" >>"$D/log" 2>&1; then
  echo "PASS dropout: $(tail -n 1 "$D/log")"
  passed=$((passed + 1))
else
  echo "FAIL dropout"
  tail -5 "$D/log" | sed 's/^/    /'
  failed=$((failed + 1))
fi

# Fashion-MNIST, 200 steps from seed 1: the running loss (mean of the last 50 steps) must fall
# below 1.0. At the start it is ln 10 = 2.30 (chance over 10 classes); measured: 0.81 after
# 200 steps (PyTorch from the same start and order: test accuracy 71.6% there, jtc 67.1%).
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${FASHION_DATA:-}" ]; then
  echo "SKIP fashion-mnist-200: dataset-fashion-mnist is not installed"
  skipped=$((skipped + 1))
elif B=$B PYTHON=$PYTHON sh samples/fashion_mnist/run.sh 200 1 >"$W/fashion.log" 2>&1 &&
     loss=$(sed -n 's/^RESULT .* loss=\([0-9.]*\) .*/\1/p' "$W/fashion.log") &&
     [ -n "$loss" ] && awk -v l="$loss" 'BEGIN { exit !(l < 1.0) }'; then
  echo "PASS fashion-mnist-200: loss $loss < 1.0 ($(grep '^trained' "$W/fashion.log"))"
  passed=$((passed + 1))
else
  echo "FAIL fashion-mnist-200: loss ${loss:-none}, want < 1.0"
  tail -5 "$W/fashion.log" | sed 's/^/    /'
  failed=$((failed + 1))
fi

# Data parallel: 5 steps under mpirun -np 2 with batch 4 per rank (-DJTC_MPI) give the
# weights of 5 steps in one process with batch 8, from the same start and data order
# (tolerance: tests/train/mpi_check.py). OpenMPI refuses root unless told.
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
  echo "SKIP mpi-2-ranks: mpicc/mpirun not installed (libopenmpi-dev, openmpi-bin)"
  skipped=$((skipped + 1))
elif [ ! -s "$B/fashion_mnist/data/train-images-idx3-ubyte" ]; then
  echo "SKIP mpi-2-ranks: no Fashion-MNIST data"
  skipped=$((skipped + 1))
else
  M=$W/mpi
  mkdir -p "$M/b8" "$M/b4"
  ok=1
  for b in 8 4; do
    "$PYTHON" samples/fashion_mnist/model.py "$M/b$b/model.onnx" --seed 3 --batch $b >>"$M/log" 2>&1 &&
      "$B/jtc" -q "$M/b$b/model.onnx" --train --loss=cross_entropy --optimizer=sgd --lr=0.01 --momentum=0.9 \
        --weight-decay=1e-4 -o "$M/b$b/train.c" >>"$M/log" 2>&1 || ok=0
  done
  [ $ok = 1 ] && $CC -std=c11 -O2 -Wall -Wextra -Werror -I"$M/b8" "$M/b8/train.c" samples/fashion_mnist/train_main.c -lm \
    -o "$M/one" >>"$M/log" 2>&1 &&
    mpicc -std=c11 -O2 -Wall -Wextra -Werror -DJTC_MPI -I"$M/b4" "$M/b4/train.c" samples/fashion_mnist/train_main.c -lm \
      -o "$M/two" >>"$M/log" 2>&1 &&
    "$M/one" "$B/fashion_mnist/data" --steps 5 --seed 3 --no-test --weights "$M/one.weights" >>"$M/log" 2>&1 &&
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 \
      "$M/two" "$B/fashion_mnist/data" --steps 5 --seed 3 --no-test --weights "$M/two.weights" >>"$M/log" 2>&1 &&
    "$PYTHON" tests/train/mpi_check.py "$M/one.weights" "$M/two.weights" >>"$M/log" 2>&1 || ok=0
  if [ $ok = 1 ]; then
    echo "PASS mpi-2-ranks: mpirun -np 2 (batch 4 each) matches one process (batch 8) after 5 steps"
    passed=$((passed + 1))
  else
    echo "FAIL mpi-2-ranks"
    tail -8 "$M/log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
