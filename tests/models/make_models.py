#!/usr/bin/python3
"""Write the end-to-end test models into DIR/<name>/ in ONNX's test layout.

    /usr/bin/python3 tests/models/make_models.py DIR [--only NAME]...

Models: torchvision ResNet-18, MobileNetV2 and SqueezeNet 1.1 (random weights,
seed 0, eval mode, batch 1, 3x224x224) and the Jittor-tutorial MNIST CNN from
samples/export_samples.py. Each folder holds model.onnx (opset 13) and
test_data_set_0/{input_0,output_0}.pb with the reference output computed by
PyTorch. These are too big to commit; `make test` generates them into
build/models. A model whose folder is already complete is skipped, and each
folder is renamed into place only when fully written.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "samples"))
import export_samples  # noqa: E402  (shared export code and the MNIST CNN)

SEED = 0
TORCHVISION = {
    "resnet18": torchvision.models.resnet18,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "squeezenet1_1": torchvision.models.squeezenet1_1,
}
MODELS = list(TORCHVISION) + ["mnist_cnn"]


def complete(d):
    return (os.path.isfile(os.path.join(d, "model.onnx"))
            and os.path.isfile(os.path.join(d, "test_data_set_0", "output_0.pb")))


def calibrate_batchnorm(model):
    """Give BatchNorms random affine parameters and running stats measured on
    random inputs, then switch to eval mode.

    With torchvision's default init (mean 0, var 1) activations shrink layer by
    layer: MobileNetV2's logits come out near 1e-9, below the comparison's atol,
    which would let an all-zero output pass. Calibrated stats keep every layer's
    activations near unit scale, as in a trained network.
    """
    gen = torch.Generator().manual_seed(SEED + 1)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    export_samples.randomize_batchnorm(model, gen)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, 3, 224, 224, generator=gen))
    model.eval()


def make(name, out):
    if name == "mnist_cnn":
        export_samples.export_sample(name, out)
        return
    torch.manual_seed(SEED)
    model = TORCHVISION[name](weights=None)
    calibrate_batchnorm(model)
    x = np.random.default_rng(SEED).standard_normal((1, 3, 224, 224)).astype(np.float32)
    export_samples.write_test_dir(model, [x], os.path.join(out, name))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="output folder, e.g. build/models")
    ap.add_argument("--only", action="append", choices=MODELS, help="make only this model (repeatable)")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in args.only or MODELS:
        d = os.path.join(args.dir, name)
        if complete(d):
            print("%-14s present, skipped" % name, flush=True)
            continue
        t0 = time.time()
        make(name, args.dir)
        print("%-14s written in %.1fs" % (name, time.time() - t0), flush=True)


if __name__ == "__main__":
    sys.exit(main())
