#!/usr/bin/python3
"""Export the benchmark models of `make bench` as ONNX test folders.

    /usr/bin/python3 bench/export_models.py [DIR] [--only NAME]... [--force]

DIR defaults to build/bench/models. Each model goes to DIR/<name>/ in ONNX's
backend-test layout (model.onnx, test_data_set_0/input_*.pb and output_*.pb
with PyTorch's reference output), written by samples/export_samples.py's
write_test_dir. A model whose folder is already complete is skipped unless
--force is given. Export: opset 13, do_constant_folding=True, eval mode, random
weights with seed 0.

Models (issue 4's benchmark set):
    resnet18, mobilenet_v2, squeezenet1_1, shufflenet_v2_x1_0, efficientnet_b0
        torchvision architectures, batch 1, input [1,3,224,224]; BatchNorm
        running stats calibrated on random inputs so activations keep unit
        scale through the network (no denormals, no vanishing logits)
    mnist_cnn
        the Jittor-tutorial MNIST CNN of samples/export_samples.py, input [8,3,28,28]
    transformer
        nn.TransformerEncoder, 2 layers, d_model=128, nhead=4, dim_feedforward=512,
        dropout=0, batch_first=True; input [2,16,128]

bench/bench.py imports build() to rebuild the identical PyTorch modules for
its PyTorch column. A model that fails to export is reported and skipped; the
exit status is 1 if any failed, but every other model is still written.
"""
import argparse
import os
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "samples"))
import export_samples  # noqa: E402  (shared export code and the MNIST CNN)

SEED = 0
IMAGENET = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0"]
MODELS = IMAGENET + ["mnist_cnn", "transformer"]
DEFAULT_DIR = os.path.join(ROOT, "build", "bench", "models")


def complete(d):
    return (os.path.isfile(os.path.join(d, "model.onnx"))
            and os.path.isfile(os.path.join(d, "test_data_set_0", "output_0.pb")))


def calibrate_batchnorm(model):
    """Random BN affine parameters, running stats measured on random inputs, eval mode."""
    gen = torch.Generator().manual_seed(SEED + 1)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return model.eval()
    export_samples.randomize_batchnorm(model, gen)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, 3, 224, 224, generator=gen))
    return model.eval()


def build(name):
    """Return (PyTorch module in eval mode, list of float32 numpy inputs) for `name`."""
    if name == "mnist_cnn":
        model, x = export_samples.build(name)
        return model, [x]
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    if name in IMAGENET:
        import torchvision
        model = getattr(torchvision.models, name)(weights=None)
        calibrate_batchnorm(model)
        x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
        return model, [x]
    if name == "transformer":
        layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512,
                                           dropout=0.0, batch_first=True)
        model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        x = rng.standard_normal((2, 16, 128)).astype(np.float32)
        return model.eval(), [x]
    raise SystemExit("unknown model %r (known: %s)" % (name, ", ".join(MODELS)))


def export(name, out_root):
    model, inputs = build(name)
    export_samples.write_test_dir(model, inputs, os.path.join(out_root, name),
                                  keep_batchnorm=(name == "mnist_cnn"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default=DEFAULT_DIR, help="output folder (default %(default)s)")
    ap.add_argument("--only", action="append", choices=MODELS, help="export only this model (repeatable)")
    ap.add_argument("--force", action="store_true", help="re-export models already present")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    failed = 0
    for name in args.only or MODELS:
        d = os.path.join(args.dir, name)
        if complete(d) and not args.force:
            print("%-20s present, skipped" % name, flush=True)
            continue
        t0 = time.time()
        try:
            export(name, args.dir)
        except Exception as e:  # keep going: the benchmark reports the missing model
            failed += 1
            traceback.print_exc()
            print("%-20s EXPORT FAILED: %s" % (name, str(e).splitlines()[0] if str(e) else type(e).__name__),
                  flush=True)
            continue
        print("%-20s written in %.1fs" % (name, time.time() - t0), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
