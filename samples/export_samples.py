#!/usr/bin/python3
"""Export the sample models from the Jittor tutorials as ONNX test folders.

Each model is written in ONNX's backend-test layout:

    DIR/<name>/model.onnx
    DIR/<name>/test_data_set_0/input_0.pb    (onnx TensorProto, named after the graph input)
    DIR/<name>/test_data_set_0/output_0.pb   (reference output computed by PyTorch)

Models (the architectures of the Jittor tutorials, rebuilt in PyTorch):
    mlp        Linear(1,10) ReLU Linear(10,1); input [16,1]       (committed)
    lenet      CIFAR-10 LeNet-5; input [1,3,32,32]                 (committed)
    mnist_cnn  Jittor's MNIST CNN with BatchNorm; input [8,3,28,28] (about 10 MB,
               not committed: tests/models/make_models.py writes it at test time)

Weights and inputs are random but seeded, so every run writes identical files.
Export: opset 13, fixed batch, do_constant_folding=True.

Usage:
    /usr/bin/python3 samples/export_samples.py                 # mlp and lenet into samples/
    /usr/bin/python3 samples/export_samples.py --out DIR       # all three into DIR
    /usr/bin/python3 samples/export_samples.py --out DIR --only mnist_cnn
"""
import argparse
import io
import os
import shutil
import sys
import warnings

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

OPSET = 13
SEED = 0


class MLP(nn.Module):
    """Jittor tutorial "linear regression" MLP: y = fc2(relu(fc1(x)))."""

    def __init__(self):
        super().__init__()
        self.layer1 = nn.Linear(1, 10)
        self.relu = nn.ReLU()
        self.layer2 = nn.Linear(10, 1)

    def forward(self, x):
        return self.layer2(self.relu(self.layer1(x)))


class LeNet(nn.Module):
    """CIFAR-10 LeNet: two conv+relu+maxpool stages, then three fully connected layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class MnistCNN(nn.Module):
    """Jittor tutorial MNIST classifier (28x28 input; 3 channels here, 1 in samples/fashion_mnist)."""

    def __init__(self, in_channels=3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.bn = nn.BatchNorm2d(64)
        self.max_pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 12 * 12, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.bn(self.conv2(x)))
        x = self.max_pool(x)
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def randomize_batchnorm(model, gen):
    """Give every BatchNorm non-trivial running stats and affine parameters."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.25)
                m.weight.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.2)


def build(name):
    """Return (model in eval mode, example input as float32 numpy) for a sample."""
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    rng = np.random.default_rng(SEED)
    if name == "mlp":
        model = MLP()
        x = rng.uniform(0.0, 1.0, size=(16, 1))
    elif name == "lenet":
        model = LeNet()
        x = rng.standard_normal(size=(1, 3, 32, 32))
    elif name == "mnist_cnn":
        model = MnistCNN()
        randomize_batchnorm(model, gen)
        x = rng.uniform(0.0, 1.0, size=(8, 3, 28, 28))
    else:
        raise SystemExit("unknown sample %r" % name)
    return model.eval(), x.astype(np.float32)


def write_test_dir(model, inputs, out_dir, keep_batchnorm=False):
    """Export `model` (eval mode) on `inputs` (list of numpy arrays) to out_dir.

    The folder is written under a temporary name and renamed into place at the
    end, so an interrupted run never leaves a half-written test behind.
    keep_batchnorm exports BatchNormalization as its own node instead of letting
    the exporter fold it into the preceding Conv.
    """
    in_names = ["input"] if len(inputs) == 1 else ["input_%d" % i for i in range(len(inputs))]
    tensors = [torch.from_numpy(a) for a in inputs]
    with torch.no_grad():
        ref = model(*tensors)
    refs = list(ref) if isinstance(ref, (tuple, list)) else [ref]
    out_names = ["output"] if len(refs) == 1 else ["output_%d" % i for i in range(len(refs))]

    buf = io.BytesIO()
    with warnings.catch_warnings():
        # PRESERVE on an eval-mode model is an eval export; the constant-folding
        # warning about training-amenable exports does not apply.
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            model, tuple(tensors), buf,
            input_names=in_names, output_names=out_names,
            opset_version=OPSET, do_constant_folding=True,
            training=(torch.onnx.TrainingMode.PRESERVE if keep_batchnorm
                      else torch.onnx.TrainingMode.EVAL))
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)

    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "test_data_set_0"))
    with open(os.path.join(tmp, "model.onnx"), "wb") as f:
        f.write(buf.getvalue())
    ds = os.path.join(tmp, "test_data_set_0")
    for i, (n, a) in enumerate(zip(in_names, inputs)):
        t = onnx.numpy_helper.from_array(a, n)
        with open(os.path.join(ds, "input_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    for i, (n, r) in enumerate(zip(out_names, refs)):
        t = onnx.numpy_helper.from_array(r.detach().numpy(), n)
        with open(os.path.join(ds, "output_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)


def export_sample(name, out_root):
    model, x = build(name)
    write_test_dir(model, [x], os.path.join(out_root, name),
                   keep_batchnorm=(name == "mnist_cnn"))


SAMPLES = ["mlp", "lenet", "mnist_cnn"]
COMMITTED = ["mlp", "lenet"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output folder (default: samples/, committed models only)")
    ap.add_argument("--only", action="append", choices=SAMPLES,
                    help="export only this sample (repeatable)")
    args = ap.parse_args()
    names = args.only or (SAMPLES if args.out else COMMITTED)
    out = args.out or here
    os.makedirs(out, exist_ok=True)
    for n in names:
        export_sample(n, out)
        print("wrote %s" % os.path.join(out, n))


if __name__ == "__main__":
    sys.exit(main())
