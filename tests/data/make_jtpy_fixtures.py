#!/usr/bin/python3
"""Write the jtpy frontend's fixtures into tests/data/jtpy/ (each file < 100 KB).

    /usr/bin/python3 tests/data/make_jtpy_fixtures.py

Uses Debian's python3-torch (1.13). Jittor is not installed: its files are
written by hand following ../shared/FORMATS.md (pickle protocol 4 of a dict of
numpy arrays / jittor.Var, then the 20-byte SHA-1 of the pickle, then
b'HCAJSLHD').

Files are reproducible except the legacy-format ones (torch names legacy storages
after object ids).

e2e/<name>/ are end-to-end tests in ONNX's backend-test layout, run by
tests/tools/conform (build/tests/conform --jtc build/jtc tests/data/jtpy/e2e/*):
    model.pt or model.onnx, optional jtc_flags (extra jtc words; $DIR is the
    folder), test_data_set_0/input_0.pb and output_0.pb (PyTorch's outputs).
  seq_cnn         whole-module nn.Sequential: conv/bn/relu/pool/flatten/linear (zip)
  seq_cnn_legacy  the same model in the legacy (pre-1.6) format
  lenet_seq       LeNet (narrow fully connected layers) as an nn.Sequential
  seq_misc2d      grouped/dilated/'same'/reflect convs, ConvTranspose2d, GroupNorm,
                  LayerNorm, GELU, SiLU, LeakyReLU, ReLU6, Hardswish, AvgPool2d,
                  AdaptiveAvgPool2d, nested Sequential, Dropout, Identity, Softmax
  seq_misc1d      Conv1d, BatchNorm1d (3-D and 2-D), MaxPool1d, AdaptiveAvgPool1d,
                  ELU, Tanh, Sigmoid, LogSoftmax
  embed           Embedding (int64 input), Flatten, Linear
  mlp_weights     the seed MLP exported to ONNX + a different state dict (--weights)
  lenet_jittor    LeNet exported to ONNX + Jittor-format weights (--weights)
Other files:
  dtypes.pt       state dict: every dtype, a transposed view, two tensors sharing a storage
  dtypes_legacy.pt  the same, legacy format
  np_sd.pkl       Jittor-format dict of numpy arrays and jittor.Var (numpy 1 spelling)
  np2_sd.pkl      plain protocol-2 pickle with numpy 2 module names (numpy._core)
  bad/user_class.pt     a whole user class (__main__.MLP): no data flow in the pickle
  bad/evil.pkl          REDUCE of os.system
  bad/evil.pt           a torch zip whose data.pkl calls builtins.eval
  bad/lying_cd.pt       a torch zip whose central directory points past the file
  bad/compressed.pt     a zip with a deflated data.pkl (torch never writes one)
  bad/jittor_badsum.pkl a Jittor file whose SHA-1 does not match
"""
import hashlib
import io
import os
import pickle
import shutil
import struct
import sys
import types
import warnings
import zipfile

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "jtpy")


def write_case(name, inputs, outputs, model_bytes=None, model_name="model.pt", flags=None, extra=None):
    d = os.path.join(OUT, "e2e", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    if model_bytes is not None:
        with open(os.path.join(d, model_name), "wb") as f:
            f.write(model_bytes)
    for fname, data in (extra or {}).items():
        with open(os.path.join(d, fname), "wb") as f:
            f.write(data)
    if flags:
        with open(os.path.join(d, "jtc_flags"), "w") as f:
            f.write(flags + "\n")
    for i, a in enumerate(inputs):
        t = onnx.numpy_helper.from_array(a, "input")
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    for i, a in enumerate(outputs):
        t = onnx.numpy_helper.from_array(a, "output")
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())


def zinfo(name, method=zipfile.ZIP_STORED):
    """A zip entry with a fixed date, so the fixture files are reproducible."""
    i = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    i.compress_type = method
    return i


def save_bytes(obj, legacy=False):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
            with torch.no_grad():
                if getattr(m, "running_mean", None) is not None:
                    m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.5)
                    m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) * 1.5 + 0.25)
                if getattr(m, "weight", None) is not None:
                    m.weight.copy_(torch.rand(m.weight.shape, generator=gen) * 1.5 + 0.5)
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.2)


def whole_module_case(name, model, x, legacy=False):
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy()
    data = save_bytes(model, legacy)
    assert len(data) < 100_000, (name, len(data))
    write_case(name, [x], [y], data, flags="--shape input=" + ",".join(str(d) for d in x.shape))


def seq_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, stride=2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10))


class MLP(nn.Module):
    """The seed MLP of samples/export_samples.py (a user class with its own forward)."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(1, 10)
        self.relu = nn.ReLU()
        self.layer2 = nn.Linear(10, 1)

    def forward(self, x):
        return self.layer2(self.relu(self.layer1(x)))


class LeNetSmall(nn.Module):
    """LeNet-5 for 3x32x32 with narrower fully connected layers (fixtures stay < 100 KB)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def export_onnx(model, x, keep_bn=False):
    """keep_bn: keep BatchNormalization nodes (not folded into the convs), so the
    initializers keep the state dict's names."""
    buf = io.BytesIO()
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, (torch.from_numpy(x),), buf, input_names=["input"], output_names=["output"],
                          opset_version=13, do_constant_folding=not keep_bn, training=mode)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    return buf.getvalue()


def reinit(model, seed):
    """New ("fine-tuned") values for every parameter."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


# ---- Jittor format by hand ----
_jittor = types.ModuleType("jittor")


def Var(a):  # stands for jittor.Var when pickling; never called by the reader
    return a


Var.__module__ = "jittor"
Var.__qualname__ = "Var"
_jittor.Var = Var
sys.modules.setdefault("jittor", _jittor)


class JVar:
    def __init__(self, a):
        self.a = a

    def __reduce__(self):
        return (Var, (self.a,))


def jittor_bytes(d):
    p = pickle.dumps(d, protocol=4)
    return p + hashlib.sha1(p).digest() + b"HCAJSLHD"


def dtypes_state():
    sd = {}
    sd["f32"] = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
    sd["f64"] = torch.arange(4, dtype=torch.float64) - 1.5
    sd["f16"] = torch.tensor([0.5, -2.0, 65504.0], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -0.25, 3.0], dtype=torch.bfloat16)
    sd["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["i16"] = torch.tensor([-300, 7], dtype=torch.int16)
    sd["i32"] = torch.tensor([-70000, 70000], dtype=torch.int32)
    sd["i64"] = torch.tensor([-(2 ** 40), 2 ** 40 + 1], dtype=torch.int64)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd["transposed"] = base.t()            # [4,3] view, strides (1,4)
    sd["row1"] = base[1]                   # [4] view at offset 4, same storage as base
    sd["base"] = base
    return sd


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    gen = torch.Generator().manual_seed(1)
    rng = np.random.default_rng(0)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "bad"))

    # whole-module Sequentials
    m = seq_cnn()
    randomize_bn(m, gen)
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    whole_module_case("seq_cnn", m, x)
    whole_module_case("seq_cnn_legacy", m, x, legacy=True)

    lenet = nn.Sequential(
        nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
    whole_module_case("lenet_seq", lenet, rng.standard_normal((1, 3, 32, 32)).astype(np.float32))

    misc2d = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding="same", dilation=2, groups=2),
        nn.GroupNorm(4, 8), nn.GELU(),
        nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect"), nn.SiLU(),
        nn.Sequential(nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1), nn.LeakyReLU(0.2),
                      nn.Dropout(0.5), nn.Identity()),
        nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), nn.ReLU6(), nn.Hardswish(),
        nn.AdaptiveAvgPool2d((3, 5)), nn.LayerNorm([3, 5]), nn.Flatten(), nn.Linear(6 * 15, 7),
        nn.Softmax(dim=1))
    randomize_bn(misc2d, gen)
    whole_module_case("seq_misc2d", misc2d, rng.standard_normal((2, 4, 10, 12)).astype(np.float32))

    misc1d = nn.Sequential(
        nn.Conv1d(3, 6, 5, stride=2, padding=2), nn.BatchNorm1d(6), nn.ELU(), nn.MaxPool1d(3, stride=2, padding=1),
        nn.Tanh(), nn.AdaptiveAvgPool1d(3), nn.Flatten(), nn.Linear(18, 8), nn.BatchNorm1d(8), nn.Sigmoid(),
        nn.Linear(8, 5), nn.LogSoftmax(dim=-1))
    randomize_bn(misc1d, gen)
    whole_module_case("seq_misc1d", misc1d, rng.standard_normal((4, 3, 20)).astype(np.float32))

    embed = nn.Sequential(nn.Embedding(20, 6), nn.Flatten(), nn.Linear(5 * 6, 4))
    xi = rng.integers(0, 20, size=(3, 5)).astype(np.int64)
    whole_module_case("embed", embed, xi)

    # state dicts into ONNX graphs
    mlp = MLP().eval()
    xm = rng.uniform(0.0, 1.0, size=(16, 1)).astype(np.float32)
    onnx_bytes = export_onnx(mlp, xm)
    reinit(mlp, 7)
    with torch.no_grad():
        ym = mlp(torch.from_numpy(xm)).numpy()
    write_case("mlp_weights", [xm], [ym], onnx_bytes, "model.onnx", flags="--weights $DIR/weights.pt",
               extra={"weights.pt": save_bytes(mlp.state_dict())})

    ln = LeNetSmall().eval()
    xl = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
    onnx_bytes = export_onnx(ln, xl)
    reinit(ln, 8)
    with torch.no_grad():
        yl = ln(torch.from_numpy(xl)).numpy()
    sd = {k: (JVar(v.numpy()) if "conv" in k else v.numpy()) for k, v in ln.state_dict().items()}
    write_case("lenet_jittor", [xl], [yl], onnx_bytes, "model.onnx", flags="--weights $DIR/weights.pkl",
               extra={"weights.pkl": jittor_bytes(sd)})

    # the seed MLP as a whole-module Sequential, and the BatchNorm CNN's state dict into its ONNX export
    mlp_seq = nn.Sequential(nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 1))
    whole_module_case("mlp_seq", mlp_seq, rng.uniform(0.0, 1.0, size=(16, 1)).astype(np.float32))
    cnn = seq_cnn().eval()
    randomize_bn(cnn, gen)
    xc = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    onnx_bytes = export_onnx(cnn, xc, keep_bn=True)
    reinit(cnn, 9)
    randomize_bn(cnn, gen)
    with torch.no_grad():
        yc = cnn(torch.from_numpy(xc)).numpy()
    write_case("seq_cnn_weights", [xc], [yc], onnx_bytes, "model.onnx", flags="--weights $DIR/weights.pt",
               extra={"weights.pt": save_bytes(cnn.state_dict())})

    # state dicts of every dtype, views and shared storages
    sd = dtypes_state()
    with open(os.path.join(OUT, "dtypes.pt"), "wb") as f:
        f.write(save_bytes(sd))
    with open(os.path.join(OUT, "dtypes_legacy.pt"), "wb") as f:
        f.write(save_bytes(sd, legacy=True))
    npd = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": JVar(np.array([1, -2, 3], dtype=np.int64)),
           "c": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
           "d": np.array([1.5, 2.5], dtype=">f4"), "e": np.array([True, False])}
    with open(os.path.join(OUT, "np_sd.pkl"), "wb") as f:
        f.write(jittor_bytes(npd))
    p2 = pickle.dumps({"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, protocol=2)
    p2 = p2.replace(b"cnumpy.core.multiarray\n", b"cnumpy._core.multiarray\n")
    with open(os.path.join(OUT, "np2_sd.pkl"), "wb") as f:
        f.write(p2)

    # hostile and broken files
    with open(os.path.join(OUT, "bad", "user_class.pt"), "wb") as f:
        f.write(save_bytes(MLP()))
    cmd = b"echo pwned > /tmp/jtpy_pwned"
    evil = b"\x80\x02cos\nsystem\nq\x00X" + struct.pack("<I", len(cmd)) + cmd + b"q\x01\x85q\x02Rq\x03."
    with open(os.path.join(OUT, "bad", "evil.pkl"), "wb") as f:
        f.write(evil)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zinfo("archive/data.pkl"), b"\x80\x02cbuiltins\neval\nX\x0a\x00\x00\x00__import__\x85R.")
        z.writestr(zinfo("archive/version"), b"3\n")
    with open(os.path.join(OUT, "bad", "evil.pt"), "wb") as f:
        f.write(zbuf.getvalue())
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zinfo("archive/data.pkl", zipfile.ZIP_DEFLATED), pickle.dumps({"a": 1}, protocol=2))
    with open(os.path.join(OUT, "bad", "compressed.pt"), "wb") as f:
        f.write(zbuf.getvalue())
    good = bytearray(save_bytes(seq_cnn()))
    eocd = good.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", good, eocd + 16)[0]
    struct.pack_into("<I", good, cd_off + 42, len(good) + 1000)  # first entry's local header offset
    with open(os.path.join(OUT, "bad", "lying_cd.pt"), "wb") as f:
        f.write(bytes(good))
    j = bytearray(jittor_bytes({"w": np.ones(3, dtype=np.float32)}))
    j[-9] ^= 1  # last byte of the SHA-1
    with open(os.path.join(OUT, "bad", "jittor_badsum.pkl"), "wb") as f:
        f.write(bytes(j))

    for root, _, files in os.walk(OUT):
        for fn in files:
            size = os.path.getsize(os.path.join(root, fn))
            assert size < 100_000, (fn, size)
    print("wrote %s" % OUT)


if __name__ == "__main__":
    main()
