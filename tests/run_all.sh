#!/bin/sh
# run_all.sh: the conformance and end-to-end suites behind `make test`.
#
#   B=build PYTHON=/usr/bin/python3 sh tests/run_all.sh
#
# Suites: cli (tests/cli_test.sh: the jtc command's contract), fuzz
# (tests/fuzz/replay.sh: the fuzz targets' corpora and regression inputs under
# ASan+UBSan, and the generation-time models), then these, each
# run by $B/tests/conform with tests/conformance/skip.txt:
#   samples   samples/mlp, samples/lenet (committed)
#   windows   depthwise convs and pooling (tests/data/windows, made by
#             tests/data/make_window_fixtures.py), optimized and --naive (windows-naive)
#   models    ResNet-18, MobileNetV2, SqueezeNet 1.1 and the MNIST CNN, written
#             into $B/models by tests/models/make_models.py (kept between runs)
#   debian    ONNX's backend tests from libonnx-testdata: node, pytorch-converted,
#             pytorch-operator, simple. If tests/conformance/node_tests.txt exists,
#             only the tests it names run (one per line: name or suite/name).
#   cuda-samples, cuda-debian   the same (samples with the windows fixtures) through the
#             CUDA target, its kernels run by the emulator tests/cuda/cuda_emu.h (conform --target cuda)
#   cuda-tf32, cuda-fp16   --precision=tf32|fp16 (tensor cores) on tests/data/tensor_cores,
#             made by tests/data/make_tensor_core_fixtures.py
#   native    samples and models built with -O2 -march=native -fopenmp: the AVX-512/AVX2
#             GEMM micro-kernels and OpenMP threads end to end (the suites above build for
#             baseline x86-64, which runs the portable scalar micro-kernel)
#   aarch64   samples, models and the Debian set cross-compiled by aarch64-linux-gnu-gcc
#             (-static; NEON micro-kernels) and run under qemu-aarch64; aarch64-scalar: the
#             samples and models again with -DJTC_GEMM_SCALAR (the portable fallback)
#   embedded  samples built by `jtc --embedded`: on the host through the harness, then
#             tests/embedded/run.sh (Cortex-M4/M7 builds run under qemu-system-arm)
#   fuzz-ci   tests/fuzz/ci.sh: each libFuzzer target fuzzed for 60 s from the committed seeds
#   stable    tests/stable/run.sh: every output file byte-identical across working folders
#             and environment sizes
#   train     tests/train/run.sh: jtc --train against PyTorch (3 steps of SGD/Adam on an MLP,
#             LeNet and a BatchNorm CNN), and 200 Fashion-MNIST steps under a loss bound
#   libjtc    tests/lib/run.sh: load-time compilation and its cache (key, corruption,
#             concurrency, compiler errors) through samples/jit/jit_example.c
#   sanitize  tests/sanitize/run.sh: the generated C of the samples (default, external
#             weights, embedded, training builds) under ASan+UBSan and valgrind, with and
#             without OpenMP: init/run/free/re-init, no invalid access or leak, right outputs
#   report    tests/report/run.sh: --report and --dump-dot of the samples (C, --naive, CUDA)
#             against the generated files, the ONNX model and dot -Tsvg
#   nvcc-*    nvcc builds of the samples (sm_75, sm_87, sm_90), of every CUDA source
#             cuda-samples and cuda-debian passed (sm_75) and of the tensor-core sources
#             (sm_75, sm_87, sm_90), when nvcc is installed
# Each suite prints its tests and summary; the last line is the grand total
# `N passed, N failed, N skipped`, and the exit status is 1 if anything failed.
# Env: JOBS (parallel tests, default: CPU count), ONNX_DATA (corpus root).
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
ONNX_DATA=${ONNX_DATA:-/usr/share/libonnx-testdata/data}
JOBS=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
SKIPS=tests/conformance/skip.txt
ALLOW=tests/conformance/node_tests.txt
CONFORM=$B/tests/conform
WORK=$B/conform
passed=0 failed=0 skipped=0

rm -rf "$WORK"
mkdir -p "$WORK"
LOG=$WORK/suite.log

# count P F S: add to the grand total
count() {
  passed=$((passed + $1)) failed=$((failed + $2)) skipped=$((skipped + $3))
}

# suite NAME ARGS...: run conform over ARGS, echo its output, add its summary.
suite() {
  name=$1
  shift
  echo "== $name"
  "$CONFORM" --jtc "$B/jtc" --skips "$SKIPS" -j "$JOBS" --tmp "$WORK" "$@" 2>&1 | tee "$LOG"
  summary=$(tail -n 1 "$LOG")
  case $summary in
  *" passed, "*" failed, "*" skipped")
    # shellcheck disable=SC2086
    set -- $summary
    count "$1" "$3" "$5"
    ;;
  *)
    echo "FAIL $name: conform did not finish"
    count 0 1 0
    ;;
  esac
}

if [ ! -x "$CONFORM" ] || [ ! -x "$B/jtc" ]; then
  echo "FAIL run_all: $CONFORM or $B/jtc missing (run make first)"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

echo "== cli"
B=$B sh tests/cli_test.sh >"$LOG" 2>&1
cat "$LOG"
# shellcheck disable=SC2046
set -- $(tail -n 1 "$LOG")
if [ "$#" -ge 5 ] && [ "$2" = passed, ]; then count "$1" "$3" "$5"; else echo "FAIL cli: did not finish"; count 0 1 0; fi

echo "== fuzz"
B=$B sh tests/fuzz/replay.sh >"$LOG" 2>&1
cat "$LOG"
# shellcheck disable=SC2046
set -- $(tail -n 1 "$LOG")
if [ "$#" -ge 5 ] && [ "$2" = passed, ]; then count "$1" "$3" "$5"; else echo "FAIL fuzz: did not finish"; count 0 1 0; fi

suite samples samples/mlp samples/lenet
# the same with weights in a .weights file, and built by clang (generated code is C11 for both compilers)
JTC_FLAGS=--external-weights suite samples-external-weights samples/mlp samples/lenet
if command -v clang >/dev/null 2>&1; then
  CC=clang suite samples-clang samples/mlp samples/lenet
else
  echo "== samples-clang"
  echo "SKIP samples-clang: clang is not installed"
  count 0 0 1
fi

# Window reductions (tests/data/make_window_fixtures.py: depthwise convs, MaxPool, AvgPool
# with numpy/onnxruntime references): the tap schedule of passes/rows.c, and the same
# models through the reference schedule (--naive), so the optimization is checked against
# its unoptimized form
suite windows --root tests/data/windows
JTC_FLAGS=--naive suite windows-naive --root tests/data/windows

# PyTorch/Jittor pickles (frontend/jtpy): whole nn.Sequential modules and --weights
suite jtpy --root tests/data/jtpy/e2e

echo "== tests/models/make_models.py $B/models"
if ! "$PYTHON" -c 'import torch, torchvision, onnx' 2>/dev/null; then
  echo "SKIP models: $PYTHON lacks torch, torchvision or onnx"
  count 0 0 1
elif "$PYTHON" tests/models/make_models.py "$B/models"; then
  suite models --root "$B/models"
  # the reference schedule (--naive: plain loop nests) must agree with the same references,
  # so every optimization is checked against its unoptimized form
  JTC_FLAGS=--naive suite models-naive "$B/models/mnist_cnn" "$B/models/squeezenet1_1" samples/mlp samples/lenet
  # and through the CUDA target, run by the emulator (see cuda-debian below)
  suite cuda-models --target cuda --root "$B/models"
else
  echo "FAIL models: make_models.py failed"
  count 0 1 0
fi

if [ ! -d "$ONNX_DATA/node" ]; then
  echo "== debian"
  echo "SKIP debian: no ONNX backend tests in $ONNX_DATA (Debian package libonnx-testdata)"
  count 0 0 1
elif [ -f "$ALLOW" ]; then
  # Resolve each allowlisted name to its folder; unknown names are failures.
  dirs=$WORK/allow.dirs
  : >"$dirs"
  missing=0
  while IFS= read -r t || [ -n "$t" ]; do
    t=${t%%#*}
    t=$(echo "$t" | tr -d ' \t\r')
    [ -n "$t" ] || continue
    found=
    for s in node pytorch-converted pytorch-operator simple; do
      case $t in
      */*) d=$ONNX_DATA/$t ;;
      *) d=$ONNX_DATA/$s/$t ;;
      esac
      if [ -f "$d/model.onnx" ]; then
        echo "$d" >>"$dirs"
        found=1
        break
      fi
    done
    if [ -z "$found" ]; then
      echo "FAIL $t: named in $ALLOW but not found in $ONNX_DATA"
      missing=$((missing + 1))
    fi
  done <"$ALLOW"
  count 0 "$missing" 0
  DEBIAN_SET=$(cat "$dirs")
  # shellcheck disable=SC2086
  [ -n "$DEBIAN_SET" ] && suite "debian ($ALLOW)" $DEBIAN_SET
else
  DEBIAN_SET="--root $ONNX_DATA/node --root $ONNX_DATA/pytorch-converted --root $ONNX_DATA/pytorch-operator --root $ONNX_DATA/simple"
  # shellcheck disable=SC2086
  suite debian $DEBIAN_SET
fi

# The generated code's other builds: -march=native with OpenMP; aarch64 under qemu-user.
MODEL_SET=
[ -d "$B/models/resnet18" ] && MODEL_SET="--root $B/models"
# shellcheck disable=SC2086
JTC_CFLAGS="-std=c11 -O2 -march=native -Wall -Wextra -Werror" JTC_OPENMP=1 suite native samples/mlp samples/lenet --root tests/data/windows $MODEL_SET
if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1; then
  A64="-std=c11 -O1 -Wall -Wextra -Werror -static"
  # shellcheck disable=SC2086
  CC=aarch64-linux-gnu-gcc JTC_CFLAGS="$A64" JTC_RUNNER=qemu-aarch64 suite aarch64 samples/mlp samples/lenet $MODEL_SET ${DEBIAN_SET:-}
  # shellcheck disable=SC2086
  CC=aarch64-linux-gnu-gcc JTC_CFLAGS="$A64 -DJTC_GEMM_SCALAR" JTC_RUNNER=qemu-aarch64 suite aarch64-scalar samples/mlp samples/lenet $MODEL_SET
else
  echo "== aarch64"
  echo "SKIP aarch64: aarch64-linux-gnu-gcc or qemu-aarch64 is not installed (Debian: gcc-aarch64-linux-gnu qemu-user)"
  count 0 0 1
fi
JTC_FLAGS=--embedded suite samples-embedded samples/mlp samples/lenet

# The CUDA target (codegen/cuda). Every sample and conformance test again, through the
# generated .cu built by the host C++ compiler against tests/cuda/cuda_emu.h, which runs
# its kernels on the CPU with CUDA's semantics; each passing test's source is kept
# (--cu-dir) for nvcc below. Then nvcc (when installed; CI has no GPU, so it only
# compiles): the samples for every architecture CI checks, the conformance sources for
# sm_75, many per translation unit (tests/cuda/nvcc_batch.sh).
CU=$WORK/cu
suite cuda-samples --target cuda --cu-dir "$CU" samples/mlp samples/lenet --root tests/data/windows
# shellcheck disable=SC2086
[ -n "${DEBIAN_SET:-}" ] && suite cuda-debian --target cuda --cu-dir "$CU" $DEBIAN_SET
# --precision: contractions on the tensor cores (nvcuda::wmma, emulated), over inputs that
# fp16 and tf32 hold exactly, so the results must match the references exactly
CU_TC=$WORK/cu-tensor-cores
JTC_FLAGS=--precision=tf32 suite cuda-tf32 --target cuda --cu-dir "$CU_TC" --root tests/data/tensor_cores
JTC_FLAGS=--precision=fp16 suite cuda-fp16 --target cuda --cu-dir "$CU_TC" --root tests/data/tensor_cores

# run_script NAME CMD...: run CMD (which ends with `N passed, N failed, N skipped`), add its summary.
run_script() {
  name=$1
  shift
  echo "== $name"
  "$@" >"$LOG" 2>&1
  cat "$LOG"
  # shellcheck disable=SC2046
  set -- $(tail -n 1 "$LOG")
  if [ "$#" -ge 5 ] && [ "$2" = passed, ]; then count "$1" "$3" "$5"; else echo "FAIL $name: did not finish"; count 0 1 0; fi
}

run_script train env B="$B" PYTHON="$PYTHON" sh tests/train/run.sh
run_script libjtc env B="$B" PYTHON="$PYTHON" sh tests/lib/run.sh
run_script embedded env B="$B" PYTHON="$PYTHON" sh tests/embedded/run.sh
run_script stable env B="$B" sh tests/stable/run.sh
run_script sanitize env B="$B" PYTHON="$PYTHON" sh tests/sanitize/run.sh
run_script fuzz-ci env B="$B" sh tests/fuzz/ci.sh
run_script report env B="$B" PYTHON="$PYTHON" sh tests/report/run.sh

NVCC=${NVCC:-$(command -v nvcc || { [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc; })}
if [ -z "$NVCC" ]; then
  echo "== nvcc"
  echo "SKIP nvcc: not installed (the CUDA toolkit's nvcc; set NVCC)"
  count 0 0 1
else
  mkdir -p "$WORK/cu-samples"
  for s in mlp lenet; do "$B/jtc" -q samples/$s/model.onnx --target=cuda --name "sample_$s" -o "$WORK/cu-samples/sample_$s.cu"; done
  for arch in sm_75 sm_87 sm_90; do run_script "nvcc-samples-$arch" env NVCC="$NVCC" sh tests/cuda/nvcc_batch.sh "$WORK/cu-samples" $arch; done
  run_script nvcc-conformance-sm_75 env NVCC="$NVCC" sh tests/cuda/nvcc_batch.sh "$CU" sm_75
  for arch in sm_75 sm_87 sm_90; do run_script "nvcc-tensor-cores-$arch" env NVCC="$NVCC" sh tests/cuda/nvcc_batch.sh "$CU_TC" $arch; done
fi

echo "== total"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
