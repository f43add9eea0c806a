#!/usr/bin/python3
"""Reference gradients from PyTorch autograd for tests/unit/test_grad_torch.c.

Usage (from the repository root; Debian's python3-torch 1.13 and numpy):

    /usr/bin/python3 tests/data/grad/make_grad_fixtures.py [--list] [CASE...]

writes tests/data/grad/<case>.txt for every case (or the ones named). --list
prints the case names with the PyTorch expression each one computes.

Each case draws seeded random inputs (the seed is the CRC-32 of the case name,
so adding a case changes no other file), computes y = op(inputs...) in
PyTorch, the scalar loss L = sum(y * lw) with a fixed random lw of y's shape
(every output element counts, each with its own weight), and dL/d(input) by
autograd for every differentiated input. Inputs are float32 values (3
decimals, so the text stays short); PyTorch runs in float64 on exactly those
values, so the references are float64 values (written with 7 significant digits)
and the C test's float32 results are compared with a tolerance. Where an op has a kink (relu, clip,
max, pooling) the inputs keep away from it: distinct values for max-like ops
(no ties), a margin around activation kinks.

File format (text; '#' starts a comment line):

    # case: <name>
    # torch: <the expression>
    <array name> <rank> <dim 0> ... <dim rank-1>
    <numel values, whitespace separated, row-major>
    ...

Array names: the differentiated inputs (the C test makes each an ir_input),
constant operands (labels, indices, conditions, statistics), `lw` (the loss
weights), `y` (PyTorch's forward output, checked too) and `grad_<input>`.
Attributes (strides, pads, axes, ...) are not stored: the C test spells out the
same ones; keep the two in step.
"""
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DT = torch.float64

CASES = []  # (name, torch expression text, builder)


def case(desc):
    def reg(fn):
        CASES.append((fn.__name__, desc, fn))
        return fn
    return reg


class Rng:
    """Values are float32 of 3-decimal numbers: short text, exact round trip."""

    def __init__(self, name):
        self.r = np.random.default_rng(zlib.crc32(name.encode()))

    def u(self, shape, lo=-1.0, hi=1.0):
        return np.float32(np.round(self.r.uniform(lo, hi, size=shape), 3))

    def away(self, shape, lo, hi, kinks, margin=0.05):
        """uniform in [lo, hi], every element at least margin from each kink"""
        v = self.u(shape, lo, hi)
        for _ in range(1000):
            bad = np.zeros(v.shape, bool)
            for k in kinks:
                bad |= np.abs(np.float64(v) - k) < margin
            if not bad.any():
                return v
            v[bad] = self.u(int(bad.sum()), lo, hi)
        raise RuntimeError("could not draw values away from the kinks")

    def distinct(self, shape, lo=-2.0, hi=2.0):
        """a permutation of evenly spaced values: no two equal, none close"""
        n = int(np.prod(shape))
        v = np.round(np.linspace(lo, hi, n), 3)
        assert len(set(v.tolist())) == n
        return np.float32(self.r.permutation(v).reshape(shape))

    def ints(self, shape, lo, hi):
        return self.r.integers(lo, hi, size=shape, endpoint=False).astype(np.int64)


def t(a):
    return torch.tensor(np.float64(a), dtype=DT)


# ---- cases: each returns (inputs, consts, f) with f(**inputs, **consts) -> y ----
# inputs: name -> float32 array (differentiated); consts: name -> numpy array,
# passed to f as a tensor (float64, or int64/bool as stored).

# conv
@case("F.conv2d(x, w, b, stride=2, padding=1)")
def conv2d_pad_stride(r):
    return ({"x": r.u((2, 3, 5, 5)), "w": r.u((4, 3, 3, 3)), "b": r.u(4)}, {},
            lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1))


@case("F.conv2d(F.pad(x, (0, 1, 2, 1)), w, stride=(1, 2), dilation=(2, 1))  (pads begin 2,0 end 1,1)")
def conv2d_asym_dil(r):
    return ({"x": r.u((1, 2, 7, 6)), "w": r.u((3, 2, 3, 2))}, {},
            lambda x, w: F.conv2d(F.pad(x, (0, 1, 2, 1)), w, stride=(1, 2), dilation=(2, 1)))


@case("F.conv2d(x, w, b, padding=1, groups=2)")
def conv2d_group(r):
    return ({"x": r.u((2, 4, 5, 5)), "w": r.u((6, 2, 3, 3)), "b": r.u(6)}, {},
            lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2))


@case("F.conv2d(x, w, b, stride=2, padding=1, groups=3)  (depthwise, multiplier 2)")
def conv2d_depthwise(r):
    return ({"x": r.u((2, 3, 6, 6)), "w": r.u((6, 1, 3, 3)), "b": r.u(6)}, {},
            lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=3))


@case("F.conv1d(F.pad(x, (2, 1)), w, b, stride=2)  (pads begin 2 end 1)")
def conv1d_pad(r):
    return ({"x": r.u((2, 3, 9)), "w": r.u((4, 3, 3)), "b": r.u(4)}, {},
            lambda x, w, b: F.conv1d(F.pad(x, (2, 1)), w, b, stride=2))


@case("F.conv3d(x, w, b, stride=2, padding=1)")
def conv3d(r):
    return ({"x": r.u((1, 2, 4, 4, 4)), "w": r.u((3, 2, 2, 2, 2)), "b": r.u(3)}, {},
            lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1))


# conv_transpose
@case("F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)")
def convT2d_stride(r):
    return ({"x": r.u((2, 3, 4, 4)), "w": r.u((3, 2, 3, 3)), "b": r.u(2)}, {},
            lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1))


@case("F.conv_transpose2d(x, w, groups=2, dilation=2)")
def convT2d_group_dil(r):
    return ({"x": r.u((1, 4, 3, 3)), "w": r.u((4, 3, 2, 2))}, {},
            lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2))


# matmul, gemm
@case("a @ b  (a [2,3,4,5], b [3,5,6])")
def matmul_batched(r):
    return ({"a": r.u((2, 3, 4, 5)), "b": r.u((3, 5, 6))}, {}, lambda a, b: a @ b)


@case("a @ b  (a [2,1,3,4], b [3,4,2]: batch broadcast)")
def matmul_bcast(r):
    return ({"a": r.u((2, 1, 3, 4)), "b": r.u((3, 4, 2))}, {}, lambda a, b: a @ b)


@case("a @ b  (a [5] 1-D, b [2,5,3])")
def matmul_vec(r):
    return ({"a": r.u(5), "b": r.u((2, 5, 3))}, {}, lambda a, b: a @ b)


@case("0.7 * a @ b.T + 1.3 * c  (Gemm transB, c [3])")
def gemm_transB(r):
    return ({"a": r.u((4, 5)), "b": r.u((3, 5)), "c": r.u(3)}, {},
            lambda a, b, c: 0.7 * (a @ b.T) + 1.3 * c)


@case("a.T @ b + 0.5 * c  (Gemm transA, c [4,1])")
def gemm_transA(r):
    return ({"a": r.u((5, 4)), "b": r.u((5, 3)), "c": r.u((4, 1))}, {},
            lambda a, b, c: a.T @ b + 0.5 * c)


# pooling
@case("F.max_pool2d(x, 3, stride=2, padding=1)  (distinct x)")
def maxpool_k3s2p1(r):
    return ({"x": r.distinct((2, 3, 6, 6))}, {}, lambda x: F.max_pool2d(x, 3, stride=2, padding=1))


@case("F.max_pool2d(x, 2, stride=2, ceil_mode=True)  (distinct x)")
def maxpool_ceil(r):
    return ({"x": r.distinct((1, 2, 5, 5))}, {}, lambda x: F.max_pool2d(x, 2, stride=2, ceil_mode=True))


@case("F.max_pool2d(x, 2, stride=1, dilation=2)  (distinct x, overlapping windows)")
def maxpool_overlap_dil(r):
    return ({"x": r.distinct((1, 2, 6, 6))}, {}, lambda x: F.max_pool2d(x, 2, stride=1, dilation=2))


@case("F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)")
def avgpool_pad_excl(r):
    return ({"x": r.u((2, 3, 6, 6))}, {},
            lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False))


@case("F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True)")
def avgpool_pad_incl(r):
    return ({"x": r.u((1, 2, 5, 5))}, {},
            lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=True))


@case("x.mean((2, 3), keepdim=True)  (GlobalAveragePool)")
def global_avgpool(r):
    return ({"x": r.u((2, 3, 4, 5))}, {}, lambda x: x.mean((2, 3), keepdim=True))


@case("x.amax((2, 3), keepdim=True)  (GlobalMaxPool, distinct x)")
def global_maxpool(r):
    return ({"x": r.distinct((2, 3, 4, 5))}, {}, lambda x: x.amax((2, 3), keepdim=True))


# softmax
@case("torch.softmax(x, 1)")
def softmax_axis1(r):
    return ({"x": r.u((2, 5, 3), -2, 2)}, {}, lambda x: torch.softmax(x, 1))


@case("torch.log_softmax(x, -1)")
def log_softmax_last(r):
    return ({"x": r.u((3, 7), -2, 2)}, {}, lambda x: torch.log_softmax(x, -1))


# normalization
@case("F.layer_norm(x, (6,), scale, bias, eps=1e-5)")
def layernorm_last(r):
    return ({"x": r.u((2, 3, 6), -2, 2), "scale": r.u(6), "bias": r.u(6)}, {},
            lambda x, scale, bias: F.layer_norm(x, (6,), scale, bias, eps=1e-5))


@case("F.layer_norm(x, (3, 4), scale, bias, eps=1e-3)  (axis 1)")
def layernorm_axis1(r):
    return ({"x": r.u((2, 3, 4), -2, 2), "scale": r.u((3, 4)), "bias": r.u((3, 4))}, {},
            lambda x, scale, bias: F.layer_norm(x, (3, 4), scale, bias, eps=1e-3))


@case("F.batch_norm(x, mean, var, scale, bias, training=False, eps=1e-3)")
def batchnorm_infer(r):
    return ({"x": r.u((2, 3, 4, 4), -2, 2), "scale": r.u(3), "bias": r.u(3)},
            {"mean": r.u(3, -0.5, 0.5), "var": r.u(3, 0.2, 2.0)},
            lambda x, scale, bias, mean, var: F.batch_norm(x, mean, var, scale, bias, training=False, eps=1e-3))


# activations (x [3, 8] unless said; kinks avoided)
def act(r, lo, hi, kinks=()):
    return r.away((3, 8), lo, hi, kinks)


@case("F.relu(x)")
def act_relu(r):
    return ({"x": act(r, -2, 2, [0])}, {}, lambda x: F.relu(x))


@case("F.leaky_relu(x, 0.1)")
def act_leaky_relu(r):
    return ({"x": act(r, -2, 2, [0])}, {}, lambda x: F.leaky_relu(x, 0.1))


@case("F.elu(x, alpha=0.7)")
def act_elu(r):
    return ({"x": act(r, -2, 2, [0])}, {}, lambda x: F.elu(x, alpha=0.7))


@case("F.selu(x)  (alpha 1.6732632423543772, gamma 1.0507009873554805)")
def act_selu(r):
    return ({"x": act(r, -2, 2, [0])}, {}, lambda x: F.selu(x))


@case("F.gelu(x)  (exact, erf)")
def act_gelu(r):
    return ({"x": act(r, -3, 3)}, {}, lambda x: F.gelu(x))


@case("F.gelu(x, approximate='tanh')")
def act_gelu_tanh(r):
    return ({"x": act(r, -3, 3)}, {}, lambda x: F.gelu(x, approximate="tanh"))


@case("F.softplus(x)")
def act_softplus(r):
    return ({"x": act(r, -4, 4)}, {}, lambda x: F.softplus(x))


@case("torch.sigmoid(x)")
def act_sigmoid(r):
    return ({"x": act(r, -4, 4)}, {}, lambda x: torch.sigmoid(x))


@case("torch.tanh(x)")
def act_tanh(r):
    return ({"x": act(r, -3, 3)}, {}, lambda x: torch.tanh(x))


@case("torch.clamp(0.2 * x + 0.5, 0, 1)  (ONNX HardSigmoid defaults)")
def act_hard_sigmoid(r):
    return ({"x": act(r, -4, 4, [-2.5, 2.5])}, {}, lambda x: torch.clamp(0.2 * x + 0.5, 0, 1))


@case("F.hardsigmoid(x)  (alpha 1/6, beta 0.5)")
def act_hard_sigmoid_torch(r):
    return ({"x": act(r, -5, 5, [-3, 3])}, {}, lambda x: F.hardsigmoid(x))


@case("F.hardswish(x)")
def act_hard_swish(r):
    return ({"x": act(r, -5, 5, [-3, 3])}, {}, lambda x: F.hardswish(x))


@case("F.mish(x)")
def act_mish(r):
    return ({"x": act(r, -3, 3)}, {}, lambda x: F.mish(x))


@case("torch.clamp(x, -0.5, 0.6)")
def act_clip(r):
    return ({"x": act(r, -2, 2, [-0.5, 0.6])}, {}, lambda x: torch.clamp(x, -0.5, 0.6))


@case("F.prelu(x, slope.reshape(3))  (x [2,3,4], slope [3,1] broadcast)")
def act_prelu(r):
    return ({"x": r.away((2, 3, 4), -2, 2, [0]), "slope": r.u((3, 1), 0.05, 0.5)}, {},
            lambda x, slope: F.prelu(x, slope.reshape(3)))


# element-wise math on positive inputs
@case("torch.pow(a, b)  (a in [0.5, 2])")
def math_pow(r):
    return ({"a": r.u((3, 4), 0.5, 2), "b": r.u((3, 4), -1.5, 1.5)}, {}, lambda a, b: torch.pow(a, b))


@case("a / b  (a [3,4], b [4] in [0.5, 2]: broadcast)")
def math_div(r):
    return ({"a": r.u((3, 4), -2, 2), "b": r.u(4, 0.5, 2)}, {}, lambda a, b: a / b)


@case("torch.sqrt(x)  (x in [0.2, 2])")
def math_sqrt(r):
    return ({"x": r.u((3, 5), 0.2, 2)}, {}, lambda x: torch.sqrt(x))


@case("torch.exp(x)")
def math_exp(r):
    return ({"x": r.u((3, 5), -2, 2)}, {}, lambda x: torch.exp(x))


@case("torch.log(x)  (x in [0.2, 3])")
def math_log(r):
    return ({"x": r.u((3, 5), 0.2, 3)}, {}, lambda x: torch.log(x))


@case("sin(a) * cos(b) + erf(a) - atan(b) + |a| * b + 1/b + maximum(a, b) - minimum(a, b) - b * b  (a [2,3,4], b [3,1])")
def math_mixed(r):
    a = r.away((2, 3, 4), -2, 2, [0])
    b = r.away((3, 1), 0.3, 2, [])
    # no element of a equals (or nearly equals) the b it meets
    a = np.float32(np.where(np.abs(np.float64(a) - np.float64(b)) < 0.05, a + 0.1, a))
    return ({"a": a, "b": b}, {},
            lambda a, b: (torch.sin(a) * torch.cos(b) + torch.erf(a) - torch.atan(b) + a.abs() * b + 1 / b
                          + torch.maximum(a, b) - torch.minimum(a, b) - b * b))


# layout
@case("F.pad(x.permute(0, 2, 3, 1).reshape(8, 15)[1::2, 2:14:3], (0, 3, 1, 2), value=0.5) cat x2 on axis 1")
def layout_chain(r):
    def f(x, x2):
        s = x.permute(0, 2, 3, 1).reshape(8, 15)[1::2, 2:14:3]
        return torch.cat([F.pad(s, (0, 3, 1, 2), value=0.5), x2], 1)
    return ({"x": r.u((2, 3, 4, 5)), "x2": r.u((7, 3))}, {}, f)


@case("F.pad(x.flip(0)[0::2, 1::2], (0, -1, -1, 1)) reshaped to [6]  (negative step, crop)")
def layout_slice_crop(r):
    return ({"x": r.u((5, 6))}, {},
            lambda x: F.pad(x.flip(0)[0::2, 1::2], (0, -1, -1, 1)).reshape(6))


@case("cat([F.pad(x, p, 'reflect'), F.pad(x, p, 'replicate'), F.pad(x, p, 'circular')], 1), p = (2, 1, 1, 2)")
def layout_pad_modes(r):
    p = (2, 1, 1, 2)
    return ({"x": r.u((1, 2, 4, 5))}, {},
            lambda x: torch.cat([F.pad(x, p, "reflect"), F.pad(x, p, "replicate"), F.pad(x, p, "circular")], 1))


# gather
@case("x[:, idx % 5]  (ONNX Gather axis 1; idx [2,3] with negatives and repeats)")
def gather_axis1(r):
    return ({"x": r.u((3, 5, 4))}, {"idx": np.array([[0, -1, 2], [4, 2, -5]], np.int64)},
            lambda x, idx: x[:, idx % 5])


@case("torch.gather(x, 0, idx)  (GatherElements axis 0, repeats)")
def gather_elements(r):
    return ({"x": r.u((4, 3))}, {"idx": np.array([[3, 0, 1], [3, 3, 2], [0, 0, 1], [1, 2, 3], [2, 1, 0]], np.int64)},
            lambda x, idx: torch.gather(x, 0, idx))


@case("x.flip(1).cumsum(1).flip(1) - x  (CumSum axis 1, exclusive, reverse)")
def cumsum_rev_excl(r):
    return ({"x": r.u((3, 6))}, {}, lambda x: x.flip(1).cumsum(1).flip(1) - x)


# reductions
@case("x.sum((0, 2))")
def reduce_sum(r):
    return ({"x": r.u((2, 3, 4, 5))}, {}, lambda x: x.sum((0, 2)))


@case("x.mean((1, 3), keepdim=True)")
def reduce_mean(r):
    return ({"x": r.u((2, 3, 4, 5))}, {}, lambda x: x.mean((1, 3), keepdim=True))


@case("x.amax(1)  (distinct x)")
def reduce_max(r):
    return ({"x": r.distinct((3, 4, 5))}, {}, lambda x: x.amax(1))


@case("x.amin((0, 2), keepdim=True)  (distinct x)")
def reduce_min(r):
    return ({"x": r.distinct((3, 4, 5))}, {}, lambda x: x.amin((0, 2), keepdim=True))


# where
@case("torch.where(cond, a, b)  (cond [3,1,5], a [3,4,5], b [5])")
def where_bcast(r):
    return ({"a": r.u((3, 4, 5)), "b": r.u(5)}, {"cond": r.ints((3, 1, 5), 0, 2).astype(bool)},
            lambda a, b, cond: torch.where(cond, a, b))


# losses
@case("F.nll_loss(x, target, weight, ignore_index=1)  (mean)")
def nll_mean_weight_ii(r):
    return ({"x": r.u((6, 5), -3, 0)}, {"target": np.array([0, 1, 4, 2, 1, 3], np.int64), "weight": r.u(5, 0.2, 2)},
            lambda x, target, weight: F.nll_loss(x, target, weight, ignore_index=1))


@case("F.nll_loss(x, target, reduction='none')  (x [2,4,3], target [2,3])")
def nll_none_spatial(r):
    return ({"x": r.u((2, 4, 3), -3, 0)}, {"target": r.ints((2, 3), 0, 4)},
            lambda x, target: F.nll_loss(x, target, reduction="none"))


@case("F.cross_entropy(x, labels)  (mean, x [2,5,3], labels [2,3])")
def sce_mean(r):
    return ({"x": r.u((2, 5, 3), -2, 2)}, {"labels": r.ints((2, 3), 0, 5)},
            lambda x, labels: F.cross_entropy(x, labels))


@case("F.cross_entropy(x, labels, weight, reduction='sum')")
def sce_sum_weight(r):
    return ({"x": r.u((4, 6), -2, 2)}, {"labels": r.ints(4, 0, 6), "weight": r.u(6, 0.2, 2)},
            lambda x, labels, weight: F.cross_entropy(x, labels, weight, reduction="sum"))


@case("F.cross_entropy(x, labels, weight, ignore_index=3)  (mean)")
def sce_mean_weight_ii(r):
    return ({"x": r.u((5, 4), -2, 2)}, {"labels": np.array([3, 0, 2, 3, 1], np.int64), "weight": r.u(4, 0.2, 2)},
            lambda x, labels, weight: F.cross_entropy(x, labels, weight, ignore_index=3))


# composites
@case("torch.softmax(q @ k.transpose(1, 2) / sqrt(8), -1) @ v  (attention)")
def attention(r):
    return ({"q": r.u((2, 4, 8)), "k": r.u((2, 4, 8)), "v": r.u((2, 4, 8))}, {},
            lambda q, k, v: torch.softmax(q @ k.transpose(1, 2) / np.sqrt(8.0), -1) @ v)


@case("F.max_pool2d(torch.tanh(F.batch_norm(F.conv2d(x, w, padding=1), mean, var, scale, bias, eps=1e-5)), 2)")
def conv_bn_tanh_pool(r):
    return ({"x": r.u((1, 2, 6, 6)), "w": r.u((3, 2, 3, 3)), "scale": r.u(3), "bias": r.u(3)},
            {"mean": r.u(3, -0.5, 0.5), "var": r.u(3, 0.2, 2.0)},
            lambda x, w, scale, bias, mean, var: F.max_pool2d(
                torch.tanh(F.batch_norm(F.conv2d(x, w, padding=1), mean, var, scale, bias, False, 0.0, 1e-5)), 2))


# ---- writing ----

def fmt(v, dtype):
    if dtype == "f32":
        return str(np.float32(v))
    if dtype == "f64":  # 7 digits: 5e-8 relative, far below the test's tolerance
        return "%.7g" % v
    return str(int(v))


def put(out, name, a, dtype):
    a = np.asarray(a)
    out.append(" ".join([name, str(a.ndim)] + [str(d) for d in a.shape]))
    vals = [fmt(v, dtype) for v in a.reshape(-1).tolist()]
    for i in range(0, len(vals), 12):
        out.append(" ".join(vals[i:i + 12]))
    if not vals:
        out.append("")


def make(name, desc, fn):
    r = Rng(name)
    inputs, consts, f = fn(r)
    xs = {k: t(v).requires_grad_(True) for k, v in inputs.items()}
    cs = {k: (torch.tensor(v) if v.dtype in (np.int64, bool) else t(v)) for k, v in consts.items()}
    y = f(**xs, **cs)
    lw = r.u(tuple(y.shape))
    (y * t(lw)).sum().backward()
    out = ["# case: " + name, "# torch: " + desc,
           "# generated by tests/data/grad/make_grad_fixtures.py (torch %s); do not edit" % torch.__version__]
    for k, v in inputs.items():
        put(out, k, v, "f32")
    for k, v in consts.items():
        put(out, k, v, "i" if v.dtype in (np.int64, bool) else "f32")
    put(out, "lw", lw, "f32")
    put(out, "y", y.detach().numpy(), "f64")
    for k, v in xs.items():
        put(out, "grad_" + k, v.grad.numpy(), "f64")
    path = os.path.join(HERE, name + ".txt")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")
    return os.path.getsize(path)


def main(argv):
    if "--list" in argv:
        for name, desc, _ in CASES:
            print("%-24s %s" % (name, desc))
        return 0
    want = set(argv)
    unknown = want - {c[0] for c in CASES}
    if unknown:
        sys.exit("unknown case(s): " + ", ".join(sorted(unknown)))
    total = 0
    for name, desc, fn in CASES:
        if not want or name in want:
            total += make(name, desc, fn)
    print("wrote %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
