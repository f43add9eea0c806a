#!/usr/bin/python3
"""make_tensor_core_fixtures.py: writes small ONNX test folders of contractions
(MatMul, Gemm, Conv, with bias, ReLU and residual epilogues, sizes that are not
multiples of the CUDA target's 64x64x16 tiles) into tests/data/tensor_cores/,
for tests/run_all.sh's `cuda-tf32` and `cuda-fp16` suites: jtc --target=cuda
--precision=tf32|fp16 through the CUDA emulator.

Every input, weight and bias is a multiple of 1/4 in [-2, 2]: exactly
representable in fp16 (11 significant bits) and tf32 (11), so rounding them
changes nothing, every product is exact in float32 (a multiple of 1/16 below 4
in magnitude), and every sum stays a multiple of 1/16 below 2^20, exact in
float32 in any order. The tensor-core kernels must then match the references
exactly: these fixtures check their tiling, fragment layouts and epilogues,
not rounding (the emulator's own test checks that).

References are numpy math in float64 (conv_ref from make_window_fixtures.py),
never jtc, checked against onnxruntime when it imports (or ORT_PYTHON names a
python that has it). Run with Debian's python3 (onnx 1.12, numpy):
  /usr/bin/python3 tests/data/make_tensor_core_fixtures.py
The output is deterministic, so rerunning it changes no committed file."""
import os

import numpy as np
from onnx import helper

from make_window_fixtures import check_with_ort, conv_ref, write

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tensor_cores")


def main():
    rng = np.random.default_rng(11)
    made = []

    def quarters(shape):
        return (rng.integers(-8, 9, size=shape) / 4).astype(np.float32)

    def add(name, nodes, x, y, inits):
        made.append((write(name, nodes, x, y, inits, OUT), x, y))

    def matmul(name, xs, ws):
        x, w = quarters(xs), quarters(ws)
        add(name, [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")], x,
            np.matmul(x.astype(np.float64), w.astype(np.float64)), [("W", w)])

    matmul("matmul_37x45x70", [37, 45], [45, 70])
    matmul("matmul_batched_3x20x17x130", [3, 20, 17], [3, 17, 130])
    matmul("matmul_65x300x66", [65, 300], [300, 66])

    x, w, b = quarters([70, 33]), quarters([50, 33]), quarters([50])
    y = np.maximum(x.astype(np.float64) @ w.astype(np.float64).T + b, 0)
    add("gemm_transb_bias_relu", [helper.make_node("Gemm", ["X", "W", "B"], ["G"], name="gemm", transB=1),
                                  helper.make_node("Relu", ["G"], ["Y"], name="relu")], x, y, [("W", w), ("B", b)])

    x, w, b = quarters([1, 5, 9, 11]), quarters([8, 5, 3, 3]), quarters([8])
    y = conv_ref(x, w, b, [1, 1], [1, 1, 1, 1], [1, 1], 1)
    add("conv3x3_p1_bias", [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv", pads=[1, 1, 1, 1])],
        x, y, [("W", w), ("B", b)])

    x, w, r = quarters([2, 6, 10, 10]), quarters([16, 6, 3, 3]), quarters([2, 16, 5, 5])
    y = np.maximum(conv_ref(x, w, None, [2, 2], [1, 1, 1, 1], [1, 1], 1) + r, 0)
    add("conv3x3_s2_residual_relu", [helper.make_node("Conv", ["X", "W"], ["C"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1]),
                                     helper.make_node("Add", ["C", "R"], ["S"], name="residual"),
                                     helper.make_node("Relu", ["S"], ["Y"], name="relu")], x, y, [("W", w), ("R", r)])
    check_with_ort(made)
    print("wrote", len(made), "test folders under", OUT)


if __name__ == "__main__":
    main()
