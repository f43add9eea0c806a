#!/usr/bin/python3
"""The Jittor MNIST tutorial's CNN with one input channel, for Fashion-MNIST.

    conv 1->32 k3, relu, conv 32->64 k3, BatchNorm, relu, maxpool 2,
    flatten, fc 9216->256, relu, fc 256->10

Usage: /usr/bin/python3 samples/fashion_mnist/model.py OUT.onnx [--seed S] [--batch N]
writes the model with PyTorch's default initialization under torch.manual_seed(S),
exported in eval mode (opset 13, fixed batch N, default 64) with the parameter and
BatchNorm statistic names as initializer names, so `jtc --train` trains exactly
these initial weights and bench/train_bench.py can start PyTorch from the same ones.
"""
import argparse
import warnings

import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from export_samples import MnistCNN  # noqa: E402


def Net():
    """The tutorial's CNN with one input channel (samples/export_samples.py's MnistCNN)."""
    return MnistCNN(in_channels=1)


def build(seed):
    torch.manual_seed(seed)
    return Net()


def export(model, path, batch):
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(batch, 1, 28, 28), path, opset_version=13, input_names=["input"],
                          output_names=["output"], do_constant_folding=False,
                          training=torch.onnx.TrainingMode.PRESERVE)  # EVAL would fold BatchNorm into conv2


def unalias_initializers(path):
    """PyTorch's exporter merges initializers of equal value: at initialization
    bn.running_var equals bn.weight (ones) and bn.running_mean equals bn.bias
    (zeros), so it writes the statistics as Identity(bn.weight) and
    Identity(bn.bias). Training must update them separately: give each its own
    initializer again."""
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(n)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    export(build(a.seed), a.out, a.batch)
    unalias_initializers(a.out)


if __name__ == "__main__":
    main()
