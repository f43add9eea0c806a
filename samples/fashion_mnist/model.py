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

import onnx
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
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
