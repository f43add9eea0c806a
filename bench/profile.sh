#!/bin/sh
# profile.sh: where a model's time goes, kernel by kernel (generated code built with -DNET_PROFILE).
#
#   sh bench/profile.sh MODEL.onnx [THREADS] [RUNS]      e.g. build/bench/models/resnet18/model.onnx
#
# Compiles the model with build/jtc (JTC overrides) into a temp folder, builds it with
# bench/timer.c as bench.py does (-O3 -march=native -fopenmp) plus -DNET_PROFILE, runs it
# with OMP_NUM_THREADS=THREADS (default 1) and prints the timer's line and each kernel's
# mean time per run, slowest first (kernel names are the generated functions: k<N>_<node>).
set -e
MODEL=$1
THREADS=${2:-1}
RUNS=${3:-20}
JTC=${JTC:-build/jtc}
[ -f "$MODEL" ] || { echo "usage: sh bench/profile.sh MODEL.onnx [THREADS] [RUNS]" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$JTC" -q "$MODEL" --name net -o "$W/net.c"
${CC:-cc} -std=c11 -O3 -march=native -fopenmp -DNET_PROFILE -I "$W" "$W/net.c" bench/timer.c -lm -o "$W/timer"
OMP_NUM_THREADS=$THREADS "$W/timer" -n "$RUNS"
