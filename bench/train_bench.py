#!/usr/bin/python3
"""Fashion-MNIST training, jtc's generated C against PyTorch, same start and data order.

For each seed: samples/fashion_mnist/model.py writes the CNN with PyTorch's
initialization under that seed; jtc trains it (samples/fashion_mnist/run.sh)
and PyTorch trains a copy loaded from the same ONNX initializers, both with the
Jittor tutorial's hyperparameters (SGD lr 0.1, momentum 0.9, weight decay 1e-4,
batch 64, one epoch, cross-entropy), visiting the images in the same
splitmix64 Fisher-Yates order (train_main.c) with the last partial batch
dropped. Prints per-seed rows and the mean, min and max of test accuracy and
seconds per epoch for each, on the same cores (torch.set_num_threads = the
OMP_NUM_THREADS given to jtc).

Usage: /usr/bin/python3 bench/train_bench.py [--seeds 1,2,3] [--steps N] [--threads T] [--build DIR]
"""
import argparse
import gzip
import os
import re
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "fashion_mnist"))
import model as fm  # noqa: E402

M64 = (1 << 64) - 1


def splitmix_order(n, state):
    """The permutation train_main.c draws: Fisher-Yates with splitmix64; returns (order, state)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        j = z % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order, state


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    n = int.from_bytes(data[4:8], "big")
    if magic == 2051:
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def torch_run(onnx_path, data, seed, steps, batch=64):
    net = fm.Net()
    m = onnx.load(onnx_path)
    sd = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    net.load_state_dict(sd, strict=False)
    xtr, ytr, xte, yte = data
    norm = lambda u8: (torch.from_numpy(u8.astype(np.float32)) / 255.0 - 0.5) / 0.5
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    per_epoch = len(ytr) // batch
    state = seed
    t0 = time.time()
    net.train()
    for s in range(steps):
        pos = s % per_epoch
        if pos == 0:
            order, state = splitmix_order(len(ytr), state)
        idx = order[pos * batch:(pos + 1) * batch]
        opt.zero_grad()
        loss = F.cross_entropy(net(norm(xtr[idx])), torch.from_numpy(ytr[idx]))
        loss.backward()
        opt.step()
    seconds = time.time() - t0
    net.eval()
    correct = 0
    with torch.no_grad():
        for at in range(0, len(yte), 1000):
            correct += int((net(norm(xte[at:at + 1000])).argmax(1).numpy() == yte[at:at + 1000]).sum())
    return seconds, correct / len(yte)


def summary(xs):
    return "%.3f (min %.3f, max %.3f)" % (statistics.mean(xs), min(xs), max(xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--steps", type=int, default=0, help="steps per run (default: one epoch)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = tuple(read_idx(os.path.join(a.data, f + ".gz")) for f in
                 ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    steps = a.steps or len(data[1]) // 64
    epoch_scale = (len(data[1]) // 64) / steps
    rows = []
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), B=a.build)
    for seed in [int(s) for s in a.seeds.split(",")]:
        out = subprocess.run(["sh", "samples/fashion_mnist/run.sh", str(steps), str(seed)], env=env,
                             capture_output=True, text=True)
        r = re.search(r"RESULT steps=\d+ seconds=([\d.]+) loss=[\d.naif]+ accuracy=([\d.]+)", out.stdout)
        if out.returncode or not r:
            sys.exit("train_bench: jtc run failed:\n" + out.stdout[-2000:] + out.stderr[-2000:])
        j_s, j_acc = float(r.group(1)) * epoch_scale, float(r.group(2))
        onnx_path = os.path.join(a.build, "fashion_mnist", "model_seed%d.onnx" % seed)
        t_s, t_acc = torch_run(onnx_path, data, seed, steps)
        t_s *= epoch_scale
        rows.append((seed, j_acc, j_s, t_acc, t_s))
        print("seed %d: jtc accuracy %.4f, %.1f s/epoch | PyTorch accuracy %.4f, %.1f s/epoch" % (seed, j_acc, j_s, t_acc, t_s),
              flush=True)
    print("\nFashion-MNIST, %d steps of batch 64 per run, %d thread(s), seeds %s" % (steps, a.threads, a.seeds))
    print("| | test accuracy: mean (min, max) | seconds per epoch: mean (min, max) |")
    print("|---|---|---|")
    print("| jtc (generated C) | %s | %s |" % (summary([r[1] for r in rows]), summary([r[2] for r in rows])))
    print("| PyTorch %s | %s | %s |" % (torch.__version__, summary([r[3] for r in rows]), summary([r[4] for r in rows])))
    print("jtc / PyTorch time per epoch: %.2f" % (statistics.mean([r[2] for r in rows]) / statistics.mean([r[4] for r in rows])))


if __name__ == "__main__":
    main()
