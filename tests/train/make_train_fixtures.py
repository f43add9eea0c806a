#!/usr/bin/python3
"""Write the reference data for the `train` test suite (tests/train/run.sh).

    /usr/bin/python3 tests/train/make_train_fixtures.py --out DIR [--only CASE]...

CASE is a model name (mlp, lenet, bncnn) or one model/optimizer case such as
lenet/adam; --only may be repeated. Without --only every case is written.

Models (small, fixed batch, float32):
    mlp    Linear(1,10) ReLU Linear(10,1); input [16,1] uniform [0,1); loss mse
    lenet  CIFAR-10 LeNet-5; input [4,3,32,32]; loss cross_entropy (10 classes)
    bncnn  Conv(1->4,k3,no bias) BatchNorm2d ReLU MaxPool2 Flatten Linear(100,10);
           input [4,1,12,12]; loss cross_entropy. Checks training-mode
           BatchNorm: batch statistics, running stats updated with momentum 0.1
           and the unbiased batch variance.

Optimizer cases (directory name: PyTorch optimizer -> jtc flags):
    sgd       SGD(lr=0.1, momentum=0.9, weight_decay=1e-4)
    nesterov  SGD(lr=0.05, momentum=0.9, nesterov=True)
    adam      Adam(lr=1e-3)                     (betas 0.9/0.999, eps 1e-8)
    adamw     AdamW(lr=1e-3, weight_decay=1e-2)
mlp and lenet get all four, bncnn gets sgd and adam.

Layout written (all .bin files are raw little-endian, C-contiguous):
    DIR/<model>/model.onnx         opset 13, exported in eval mode with the
                                   initial weights; initializer names are the
                                   PyTorch state_dict names (checked)
    DIR/<model>/<opt>/config.txt   jtc flags, e.g. --loss=mse --optimizer=adam --lr=0.001
    DIR/<model>/<opt>/input_<k>.bin    batch of step k (k = 0,1,2), float32
    DIR/<model>/<opt>/target_<k>.bin   mse: float32 of the output's shape;
                                       cross_entropy: int64 class indices [N]
    DIR/<model>/<opt>/losses.txt   loss of each step (before its update), %.9g
    DIR/<model>/<opt>/eval_output.bin  eval-mode output on input_0 after 3 steps
    DIR/<model>/<opt>/state.txt    parameter and BN running-stat names, in
                                   state_dict order (no num_batches_tracked)
    DIR/<model>/<opt>/state/<name>.bin  their values after the 3 steps, float32

Each step is: model.train(); opt.zero_grad(); loss = lossfn(model(x), t);
loss.backward(); opt.step(). Everything is seeded, so every run writes the same
data (up to PyTorch's own run-to-run determinism on the CPU).
"""
import argparse
import copy
import os
import sys
import time

import numpy as np
import onnx
import onnx.checker
import torch
import torch.nn as nn

# the sample architectures (MLP, LeNet) are the ones samples/export_samples.py exports
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples"))
from export_samples import LeNet, MLP, randomize_batchnorm  # noqa: E402

OPSET = 13
SEED = 0
STEPS = 3


class BnCNN(nn.Module):
    """Conv -> BatchNorm -> ReLU -> MaxPool -> Linear.

    The conv has no bias, as usual before a BatchNorm: the BatchNorm subtracts
    the batch mean, so a conv bias's true gradient is 0 and PyTorch computes
    rounding noise (~1e-9) for it. SGD moves it by lr*noise (harmless), but Adam
    normalises the update to about lr*sign(noise), so the bias (and through it
    running_mean) would end up at a value no other implementation can reproduce.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc = nn.Linear(4 * 5 * 5, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = torch.flatten(x, 1)
        return self.fc(x)


# name: (constructor, input shape, loss, classes, input distribution)
MODELS = {
    "mlp": (MLP, (16, 1), "mse", None, "uniform"),
    "lenet": (LeNet, (4, 3, 32, 32), "cross_entropy", 10, "normal"),
    "bncnn": (BnCNN, (4, 1, 12, 12), "cross_entropy", 10, "normal"),
}

# name: (optimizer factory, jtc flags)
OPTIMIZERS = {
    "sgd": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4),
            "--optimizer=sgd --lr=0.1 --momentum=0.9 --weight-decay=0.0001"),
    "nesterov": (lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                 "--optimizer=sgd --lr=0.05 --momentum=0.9 --nesterov"),
    "adam": (lambda p: torch.optim.Adam(p, lr=1e-3),
             "--optimizer=adam --lr=0.001"),
    "adamw": (lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2),
              "--optimizer=adamw --lr=0.001 --weight-decay=0.01"),
}

CASES = {
    "mlp": ["sgd", "nesterov", "adam", "adamw"],
    "lenet": ["sgd", "nesterov", "adam", "adamw"],
    "bncnn": ["sgd", "adam"],
}

LOSSES = {
    "mse": nn.MSELoss(reduction="mean"),
    "cross_entropy": nn.CrossEntropyLoss(reduction="mean"),
}


def die(msg):
    sys.exit("make_train_fixtures: " + msg)


def state_names(model):
    """Names of the tensors training changes: parameters and BN running stats,
    in state_dict order."""
    return [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]


def build(name):
    """The model with seeded initial weights (and non-trivial BN stats), in eval mode."""
    ctor = MODELS[name][0]
    torch.manual_seed(SEED)
    model = ctor()
    randomize_batchnorm(model, torch.Generator().manual_seed(SEED + 1))
    model.eval()
    return model


def export(name, model, path):
    """Export model (eval mode) to path; check it and its initializer names.
    Returns (initializer names, sorted op types).

    TrainingMode.PRESERVE exports the eval-mode graph like TrainingMode.EVAL,
    but EVAL also runs PyTorch's eval peephole pass, which folds each
    BatchNorm into the preceding Conv (even with do_constant_folding=False):
    the BN tensors would vanish from the model that jtc has to train."""
    shape = MODELS[name][1]
    x = torch.zeros(shape)
    torch.onnx.export(model, (x,), path, opset_version=OPSET,
                      do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["output"])
    m = onnx.load(path)
    onnx.checker.check_model(m)
    got = [t.name for t in m.graph.initializer]
    want = state_names(model)
    if sorted(got) != sorted(want):
        die("%s: ONNX initializer names %s differ from the PyTorch state names %s"
            % (name, got, want))
    if [i.name for i in m.graph.input] != ["input"] or [o.name for o in m.graph.output] != ["output"]:
        die("%s: graph inputs/outputs are %s / %s, want input / output"
            % (name, [i.name for i in m.graph.input], [o.name for o in m.graph.output]))
    return got, sorted({n.op_type for n in m.graph.node})


def write_bin(path, t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t
    a = np.ascontiguousarray(a)
    if a.dtype not in (np.float32, np.int64):
        die("%s: unexpected dtype %s" % (path, a.dtype))
    a.astype(a.dtype.newbyteorder("<"), copy=False).tofile(path)


def make_data(name, opt_name, out_shape):
    """Seeded inputs and targets for the STEPS steps of one case."""
    shape, loss, classes, dist = MODELS[name][1:]
    seed = 1000 + 100 * list(MODELS).index(name) + list(OPTIMIZERS).index(opt_name)
    gen = torch.Generator().manual_seed(seed)
    data = []
    for _ in range(STEPS):
        if dist == "uniform":
            x = torch.rand(shape, generator=gen)
        else:
            x = torch.randn(shape, generator=gen)
        if loss == "mse":
            t = torch.randn(out_shape, generator=gen)
        else:
            t = torch.randint(0, classes, (shape[0],), generator=gen, dtype=torch.int64)
        data.append((x, t))
    return data


def run_case(name, opt_name, model0, out_shape, d):
    os.makedirs(os.path.join(d, "state"), exist_ok=True)
    loss_name = MODELS[name][2]
    make_opt, flags = OPTIMIZERS[opt_name]
    model = copy.deepcopy(model0)
    opt = make_opt(model.parameters())
    lossfn = LOSSES[loss_name]
    data = make_data(name, opt_name, out_shape)

    losses = []
    for k, (x, t) in enumerate(data):
        write_bin(os.path.join(d, "input_%d.bin" % k), x)
        write_bin(os.path.join(d, "target_%d.bin" % k), t)
        model.train()
        opt.zero_grad()
        loss = lossfn(model(x), t)
        loss.backward()
        opt.step()
        v = loss.item()
        if not np.isfinite(v):
            die("%s/%s: loss of step %d is %r" % (name, opt_name, k, v))
        losses.append(v)

    model.eval()
    with torch.no_grad():
        y = model(data[0][0])
    if not torch.isfinite(y).all():
        die("%s/%s: eval output is not finite" % (name, opt_name))
    write_bin(os.path.join(d, "eval_output.bin"), y)

    with open(os.path.join(d, "losses.txt"), "w") as f:
        f.writelines("%.9g\n" % v for v in losses)
    sd = model.state_dict()
    names = state_names(model)
    for n in names:
        write_bin(os.path.join(d, "state", n + ".bin"), sd[n].float())
    with open(os.path.join(d, "state.txt"), "w") as f:
        f.writelines(n + "\n" for n in names)
    with open(os.path.join(d, "config.txt"), "w") as f:
        f.write("--loss=%s %s\n" % (loss_name, flags))
    return losses


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder, e.g. build/train")
    ap.add_argument("--only", action="append", metavar="CASE",
                    help="model (mlp) or case (mlp/adam) to write; repeatable")
    args = ap.parse_args()

    wanted = {}  # model -> list of optimizer cases
    for c in args.only or list(MODELS):
        model, _, opt = c.partition("/")
        if model not in CASES or (opt and opt not in CASES[model]):
            die("unknown case %r (models: %s; cases: %s)" % (c, ", ".join(CASES), ", ".join(
                "%s/%s" % (m, o) for m in CASES for o in CASES[m])))
        lst = wanted.setdefault(model, [])
        for o in ([opt] if opt else CASES[model]):
            if o not in lst:
                lst.append(o)

    torch.set_num_threads(1)  # small models; keeps the float results reproducible
    t_all = time.time()
    for name, opts in wanted.items():
        t0 = time.time()
        md = os.path.join(args.out, name)
        os.makedirs(md, exist_ok=True)
        model0 = build(name)
        inits, ops = export(name, model0, os.path.join(md, "model.onnx"))
        with torch.no_grad():
            out_shape = tuple(model0(torch.zeros(MODELS[name][1])).shape)
        print("%s: initializers %s" % (name, " ".join(inits)))
        print("%s: ops %s" % (name, " ".join(ops)))
        for o in opts:
            losses = run_case(name, o, model0, out_shape, os.path.join(md, o))
            print("%s/%s: losses %s" % (name, o, " ".join("%.6g" % v for v in losses)))
        print("%s: written in %.2fs" % (name, time.time() - t0), flush=True)
    print("all written in %.2fs" % (time.time() - t_all))


if __name__ == "__main__":
    main()
