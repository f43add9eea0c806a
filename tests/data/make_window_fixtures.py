#!/usr/bin/python3
"""make_window_fixtures.py: writes small ONNX test folders (model.onnx,
test_data_set_0/input_0.pb, output_0.pb) of the window reductions that
passes/rows.c schedules (depthwise convolutions, MaxPool, AvgPool) into
tests/data/windows/, for tests/run_all.sh's `windows` suites: each runs through
the optimized schedule and through --naive against these references, so the
row schedule's loops (padded planes, unrolled taps) are checked against the
unoptimized form.

References are numpy math (the direct definition of Conv, MaxPool and
AvgPool below, in float64), never jtc. When onnxruntime imports (or
ORT_PYTHON names a python that has it, e.g. the bench venv), every reference
is also checked against onnxruntime. Run with Debian's python3 (onnx 1.12,
numpy):  /usr/bin/python3 tests/data/make_window_fixtures.py
The output is deterministic, so rerunning it changes no committed file."""
import itertools
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "windows")


def window_ref(x, kshape, strides, pads, dilations, out_fn):
    """Generic N-d window walk: x [N, C, *S]; out_fn(values, valid) -> scalar per
    (n, c, output position), given the window's values (padding as NaN) per tap."""
    nd = len(kshape)
    sp = x.shape[2:]
    osz = [(sp[d] + pads[d] + pads[d + nd] - dilations[d] * (kshape[d] - 1) - 1) // strides[d] + 1 for d in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(osz))
    for o in itertools.product(*[range(s) for s in osz]):
        vals, valid = [], []
        for t in itertools.product(*[range(k) for k in kshape]):
            pos = [o[d] * strides[d] + t[d] * dilations[d] - pads[d] for d in range(nd)]
            ok = all(0 <= pos[d] < sp[d] for d in range(nd))
            vals.append(x[(slice(None), slice(None)) + tuple(pos)] if ok else np.full(x.shape[:2], np.nan))
            valid.append(ok)
        out[(slice(None), slice(None)) + o] = out_fn(np.stack(vals, -1), np.array(valid))
    return out


def conv_ref(x, w, b, strides, pads, dilations, group):
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, c = x.shape[:2]
    m = w.shape[0]
    kshape = w.shape[2:]
    cpg, mpg = c // group, m // group
    outs = []
    for oc in range(m):
        g = oc // mpg
        acc = None
        for ic in range(cpg):
            xc = x[:, g * cpg + ic:g * cpg + ic + 1]
            wk = w[oc, ic].reshape(-1)
            r = window_ref(xc, kshape, strides, pads, dilations,
                           lambda v, ok, wk=wk: np.nan_to_num(v, nan=0.0) @ wk)
            acc = r if acc is None else acc + r
        outs.append(acc[:, 0] + (b[oc] if b is not None else 0.0))
    return np.stack(outs, 1)


def pool_ref(x, kind, kshape, strides, pads, include_pad=0):
    x = x.astype(np.float64)
    ones = [1] * len(kshape)
    if kind == "max":
        return window_ref(x, kshape, strides, pads, ones, lambda v, ok: np.nanmax(v, -1))
    return window_ref(x, kshape, strides, pads, ones,
                      lambda v, ok: np.nansum(v, -1) / (len(ok) if include_pad else ok.sum()))


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def write(name, nodes, x, y, inits, out=OUT):
    g = helper.make_graph(nodes, name, [vi("X", list(x.shape))], [vi("Y", list(y.shape))],
                          initializer=[numpy_helper.from_array(a, k) for k, a in inits])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="jtc-fixtures")
    m.ir_version = 8
    onnx.checker.check_model(m)
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    for fn, a, nm in (("input_0.pb", x, "X"), ("output_0.pb", y.astype(np.float32), "Y")):
        with open(os.path.join(d, "test_data_set_0", fn), "wb") as f:
            f.write(numpy_helper.from_array(a, nm).SerializeToString())
    return d


def check_with_ort(dirs):
    """Run each folder's model under onnxruntime and compare with its reference."""
    script = r"""
import os, sys, numpy as np, onnxruntime as ort
for d in sys.argv[1:]:
    x = np.load(os.path.join(d, 'x.npy')); y = np.load(os.path.join(d, 'y.npy'))
    s = ort.InferenceSession(os.path.join(d, 'model.onnx'), providers=['CPUExecutionProvider'])
    r = s.run(None, {'X': x})[0]
    err = float(np.max(np.abs(r - y)))
    if r.shape != y.shape or err > 1e-4:
        print('MISMATCH', d, r.shape, y.shape, err); sys.exit(1)
print('onnxruntime agrees on', len(sys.argv) - 1, 'models')
"""
    py = os.environ.get("ORT_PYTHON", sys.executable)
    if subprocess.call([py, "-c", "import onnxruntime"], stderr=subprocess.DEVNULL) != 0:
        print("onnxruntime not available to", py, "(set ORT_PYTHON): references checked by numpy only")
        return
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for d, x, y in dirs:
            t = os.path.join(tmp, os.path.basename(d))
            os.makedirs(t)
            shutil.copy(os.path.join(d, "model.onnx"), t)
            np.save(os.path.join(t, "x.npy"), x)
            np.save(os.path.join(t, "y.npy"), y.astype(np.float32))
            args.append(t)
        subprocess.check_call([py, "-c", script] + args)


def main():
    rng = np.random.default_rng(7)
    made = []

    def dwconv(name, shape, k, s=1, p=0, d=1, mult=1, bias=True, act=None, pads=None, group=None):
        nd = len(shape) - 2
        c = shape[1]
        x = rng.standard_normal(shape).astype(np.float32)
        group = group or c
        w = (rng.standard_normal((c * mult, c // group) + (k,) * nd) * 0.5).astype(np.float32)
        b = rng.standard_normal(c * mult).astype(np.float32) if bias else None
        pads = pads or [p] * (2 * nd)
        attrs = dict(kernel_shape=[k] * nd, strides=[s] * nd, pads=pads, dilations=[d] * nd, group=group)
        y = conv_ref(x, w, b, [s] * nd, pads, [d] * nd, group)
        inits = [("W", w)] + ([("B", b)] if bias else [])
        nodes = [helper.make_node("Conv", ["X", "W"] + (["B"] if bias else []), ["C" if act else "Y"],
                                  name="dwconv", **attrs)]
        if act == "relu6":
            nodes.append(helper.make_node("Clip", ["C", "lo", "hi"], ["Y"], name="relu6"))
            inits += [("lo", np.array(0, np.float32)), ("hi", np.array(6, np.float32))]
            y = np.clip(y, 0, 6)
        elif act == "silu":
            nodes += [helper.make_node("Sigmoid", ["C"], ["S"], name="sig"),
                      helper.make_node("Mul", ["C", "S"], ["Y"], name="silu")]
            y = y / (1 + np.exp(-y))
        made.append((write(name, nodes, x, y, inits), x, y))

    def pool(name, shape, kind, k, s, p, include_pad=0, pads=None):
        nd = len(shape) - 2
        x = rng.standard_normal(shape).astype(np.float32)
        pads = pads or [p] * (2 * nd)
        attrs = dict(kernel_shape=[k] * nd, strides=[s] * nd, pads=pads)
        if kind == "avg":
            attrs["count_include_pad"] = include_pad
        y = pool_ref(x, kind, [k] * nd, [s] * nd, pads, include_pad)
        op = "MaxPool" if kind == "max" else "AveragePool"
        made.append((write(name, [helper.make_node(op, ["X"], ["Y"], name=kind + "pool", **attrs)], x, y, []), x, y))

    dwconv("dw3x3_s1_p1_relu6", [1, 8, 12, 12], 3, p=1, act="relu6")
    dwconv("dw3x3_s1_p1_nobias", [2, 5, 9, 11], 3, p=1, bias=False)
    dwconv("dw3x3_s2_p1_silu", [1, 8, 13, 13], 3, s=2, p=1, act="silu")
    dwconv("dw3x3_s2_same_upper", [1, 6, 12, 12], 3, s=2, pads=[0, 0, 1, 1])
    dwconv("dw5x5_s1_p2_silu", [1, 6, 10, 10], 5, p=2, act="silu")
    dwconv("dw5x5_s2_p2", [1, 6, 15, 15], 5, s=2, p=2)
    dwconv("dw5x5_7x7plane", [1, 16, 7, 7], 5, p=2, act="silu")
    dwconv("dw3x3_dil2", [1, 4, 12, 12], 3, p=2, d=2)
    dwconv("dw3x3_nopad", [1, 4, 10, 10], 3)
    dwconv("dw3x3_mult2", [1, 4, 10, 10], 3, p=1, mult=2)
    dwconv("dw3x3_bigplane", [1, 1, 92, 94], 3, p=1, act="relu6")
    dwconv("dw7x7_s1_p3", [1, 3, 16, 16], 7, p=3)
    dwconv("dw1d_k3_p1", [1, 8, 20], 3, p=1)
    dwconv("dw1d_k5_s2", [1, 4, 23], 5, s=2, p=2, act="relu6")
    dwconv("dw3d_k3_p1", [1, 3, 6, 6, 6], 3, p=1)
    dwconv("gconv3x3_g2", [1, 4, 8, 8], 3, p=1, group=2)
    pool("maxpool3x3_s2_p1", [1, 4, 16, 16], "max", 3, 2, 1)
    pool("maxpool2x2_s2", [2, 3, 12, 10], "max", 2, 2, 0)
    pool("maxpool3x3_s1_p1", [1, 3, 9, 9], "max", 3, 1, 1)
    pool("avgpool3x3_s1_p1_excl", [1, 4, 10, 10], "avg", 3, 1, 1, include_pad=0)
    pool("avgpool3x3_s1_p1_incl", [1, 4, 10, 10], "avg", 3, 1, 1, include_pad=1)
    pool("avgpool3x3_s2_p1_excl", [1, 4, 11, 11], "avg", 3, 2, 1, include_pad=0)
    pool("avgpool2x2_s2", [1, 4, 12, 12], "avg", 2, 2, 0)
    pool("maxpool1d_k3_s2_p1", [1, 4, 21], "max", 3, 2, 1)
    # planes too big for one tap buffer: bands of rows (the CUDA target's blocks too)
    dwconv("dw3x3_bands_c3", [1, 3, 92, 94], 3, p=1, act="relu6")
    pool("maxpool3x3_bands_s2", [1, 2, 150, 101], "max", 3, 2, 1)
    check_with_ort(made)
    print("wrote", len(made), "test folders under", OUT)


if __name__ == "__main__":
    main()
