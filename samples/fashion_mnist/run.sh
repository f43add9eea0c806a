#!/bin/sh
# run.sh: train the Jittor MNIST tutorial's CNN on Fashion-MNIST in generated C.
#
#   sh samples/fashion_mnist/run.sh [STEPS [SEED]]      (default: one epoch, seed 1)
#
# Exports the model with PyTorch's initialization under SEED (model.py),
# compiles its training step with the tutorial's hyperparameters (SGD, lr 0.1,
# momentum 0.9, weight decay 1e-4, batch 64, cross-entropy), builds it with
# train_main.c and trains on Debian's dataset-fashion-mnist, printing progress
# and the test accuracy. Env: B (build dir, default build), CC, CFLAGS
# (default -O3 -march=native -fopenmp), PYTHON, FASHION_DATA.
set -e
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O3 -march=native -fopenmp}
DATA=${FASHION_DATA:-/usr/share/datasets/fashion-mnist}
STEPS=${1:-}
SEED=${2:-1}
W=$B/fashion_mnist
mkdir -p "$W/data"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ ! -s "$W/data/$f" ]; then
    [ -f "$DATA/$f.gz" ] || { echo "run.sh: $DATA/$f.gz missing (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
    gzip -dc "$DATA/$f.gz" >"$W/data/$f.tmp" && mv "$W/data/$f.tmp" "$W/data/$f"
  fi
done
"$PYTHON" samples/fashion_mnist/model.py "$W/model_seed$SEED.onnx" --seed "$SEED"
"$B/jtc" "$W/model_seed$SEED.onnx" --train --loss=cross_entropy --optimizer=sgd --lr=0.1 --momentum=0.9 \
  --weight-decay=1e-4 -o "$W/train.c"
# shellcheck disable=SC2086
$CC -std=c11 $CFLAGS -I"$W" "$W/train.c" samples/fashion_mnist/train_main.c -lm -o "$W/fashion_train"
exec "$W/fashion_train" "$W/data" --seed "$SEED" ${STEPS:+--steps "$STEPS"}
