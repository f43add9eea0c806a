#!/bin/sh
# nvcc_check.sh: compiles tests/cuda/test_emu.cu with nvcc for sm_75, to show the
# emulator's test is real CUDA (compile only: CI has no GPU).
#
#   sh tests/cuda/nvcc_check.sh OUTDIR
#
# Prints `PASS nvcc-check`, `FAIL nvcc-check: ...` (exit 1) or, when there is no
# nvcc on PATH nor at /usr/local/cuda/bin/nvcc, `SKIP nvcc-check: no nvcc`.
# NVCC overrides the compiler.
OUT=${1:-/tmp}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
if [ ! -x "$NVCC" ]; then
  echo "SKIP nvcc-check: no nvcc"
  exit 0
fi
mkdir -p "$OUT"
if "$NVCC" -x cu -std=c++17 -arch=sm_75 -Werror all-warnings -c tests/cuda/test_emu.cu -o "$OUT/test_emu_sm75.o" >"$OUT/nvcc_check.log" 2>&1; then
  rm -f "$OUT/test_emu_sm75.o"
  echo "PASS nvcc-check: tests/cuda/test_emu.cu for sm_75"
else
  echo "FAIL nvcc-check: $(grep -m 3 error "$OUT/nvcc_check.log" | tr '\n' ' ')(log: $OUT/nvcc_check.log)"
  exit 1
fi
