#!/usr/bin/env python3
# Run with build/bench/venv/bin/python (see bench/README.md), not a bare python3.
"""jtc's latency benchmark (issue 4): jtc vs ONNX Runtime vs PyTorch on one machine.

    build/bench/venv/bin/python bench/bench.py [--only NAME]... [options]

`make bench` sets up the environment (a venv over Debian's python with
onnxruntime from PyPI), exports the models with bench/export_models.py and runs
this. For each model in build/bench/models/<name>/ it

  1. compiles model.onnx with jtc (timed: jtc's own compile time) and parses
     the arena size from jtc's stderr summary ("arena N bytes");
  2. builds the generated net.c with bench/timer.c using
     `cc -std=c11 -O3 -march=native -fopenmp` (timed separately);
  3. for each thread count (default 1 and 2) runs the timer with
     OMP_NUM_THREADS=T and ONNX Runtime (all graph optimizations,
     intra_op_num_threads=T, inter_op_num_threads=1, sequential execution);
     after every model, PyTorch (torch.set_num_threads(T), inference_mode, the
     same module rebuilt by export_models.build): its OpenMP threads may keep
     spinning after it runs and slow whatever is measured next. Each is
     the median of --runs runs after --warmup warm-up runs, all on the same
     input (test_data_set_0);
  4. compares jtc's output with ONNX Runtime's (PyTorch's reference output
     when ONNX Runtime is missing): the "max abs diff" column.

It prints one markdown table per thread count, the geometric mean of jtc/ORT,
and the machine. A model that does not export, compile or run gets a row with
the reason instead of numbers; ONNX Runtime or PyTorch missing gives "n/a".
GFLOP/s counts 2*MACs of Conv, ConvTranspose, Gemm and MatMul, with shapes
from onnx.shape_inference. --json FILE also writes the raw results.
"""
import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

try:
    import onnx
    import onnx.numpy_helper
    import onnx.shape_inference
except Exception as e:  # noqa: BLE001
    sys.exit("bench.py needs the onnx Python package (Debian: python3-onnx): %s" % e)

try:
    import onnxruntime as ort
    ORT_ERROR = None
except Exception as e:  # noqa: BLE001
    ort = None
    ORT_ERROR = "%s: %s" % (type(e).__name__, e)

try:
    import torch
    import export_models
    TORCH_ERROR = None
except Exception as e:  # noqa: BLE001
    torch = None
    export_models = None
    TORCH_ERROR = "%s: %s" % (type(e).__name__, e)

MODELS = ["resnet18", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2_x1_0", "efficientnet_b0",
          "mnist_cnn", "transformer"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def first_line(text, limit=160):
    """The most telling line of an error text: the first naming an error, else the last."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    if not lines:
        return "(no message)"
    pick = next((l for l in lines if "error" in l.lower() or "unsupported" in l.lower()), lines[-1])
    return pick if len(pick) <= limit else pick[:limit - 3] + "..."


# ---------------------------------------------------------------- model facts

def load_test_data(model_dir, n_in, n_out):
    ds = os.path.join(model_dir, "test_data_set_0")
    def read(kind, n):
        arrs = []
        for i in range(n):
            p = os.path.join(ds, "%s_%d.pb" % (kind, i))
            arrs.append(onnx.numpy_helper.to_array(onnx.load_tensor(p)) if os.path.isfile(p) else None)
        return arrs
    return read("input", n_in), read("output", n_out)


def count_flops(model):
    """2*MACs of Conv/ConvTranspose/Gemm/MatMul; None if some shape is unknown."""
    m = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for v in list(m.graph.input) + list(m.graph.value_info) + list(m.graph.output):
        dims = v.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[v.name] = [d.dim_value for d in dims]
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    shapes[n.output[0]] = list(a.t.dims)
    total = 0
    for n in m.graph.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            continue
        ins = [shapes.get(x) for x in n.input]
        out = shapes.get(n.output[0])
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv":
            if out is None or ins[1] is None:
                return None
            total += 2 * math.prod(out) * math.prod(ins[1][1:])
        elif n.op_type == "ConvTranspose":
            if ins[0] is None or ins[1] is None:
                return None
            # every input element meets Cout/group * kernel weights
            total += 2 * math.prod(ins[0]) * math.prod(ins[1][1:])
        elif n.op_type == "Gemm":
            if out is None or ins[0] is None:
                return None
            k = ins[0][0] if attrs.get("transA", 0) else ins[0][1]
            total += 2 * math.prod(out) * k
        else:  # MatMul
            if out is None or ins[0] is None:
                return None
            total += 2 * max(1, math.prod(out)) * ins[0][-1]
    return total


# ---------------------------------------------------------------- runners

def timed(cmd, env=None, timeout=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, time.perf_counter() - t0


def stats(times_ms):
    a = np.array(times_ms)
    return {"median_ms": float(np.median(a)), "min_ms": float(a.min()), "runs": len(a)}


def build_jtc(args, name, model_path, work):
    """jtc + cc. Returns (info dict, error string or None)."""
    info = {}
    os.makedirs(work, exist_ok=True)
    for f in ("net.c", "net.h", "net.weights", "timer"):
        try:
            os.remove(os.path.join(work, f))
        except FileNotFoundError:
            pass
    cmd = [args.jtc, model_path, "--name", "net", "-o", os.path.join(work, "net.c")]
    try:
        p, dt = timed(cmd, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return info, "jtc timed out after %ds" % args.timeout
    info["jtc_s"] = dt
    if p.returncode != 0:
        return info, "jtc: " + first_line(p.stderr)
    m = re.search(r"arena (\d+) bytes", p.stderr)
    info["arena_bytes"] = int(m.group(1)) if m else None
    m = re.search(r"two largest live tensors (\d+) bytes", p.stderr)
    info["two_largest_bytes"] = int(m.group(1)) if m else None
    m = re.search(r"(\d+) kernels", p.stderr)
    info["kernels"] = int(m.group(1)) if m else None
    cc = shlex.split(args.cc)
    cmd = cc + ["-std=c11", "-O3", "-march=native", "-fopenmp", "-I", work,
                os.path.join(work, "net.c"), os.path.join(HERE, "timer.c"), "-lm",
                "-o", os.path.join(work, "timer")]
    try:
        p, dt = timed(cmd, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return info, "cc timed out after %ds" % args.timeout
    info["cc_s"] = dt
    if p.returncode != 0:
        return info, "cc: " + first_line(p.stderr)
    return info, None


def run_jtc(args, work, in_files, threads):
    out_file = os.path.join(work, "out_%dt.bin" % threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [os.path.join(work, "timer"), "-n", str(args.runs), "-w", str(args.warmup), "-o", out_file]
    for f in in_files:
        cmd += ["-i", f]
    try:
        p, _ = timed(cmd, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return None, None, "timer timed out after %ds" % args.timeout
    if p.returncode != 0:
        return None, None, "run: " + first_line(p.stderr + p.stdout)
    kv = dict(re.findall(r"(\w+)=([\d.]+)", p.stdout))
    res = {"median_ms": float(kv["median_ms"]), "min_ms": float(kv["min_ms"]), "runs": int(kv["runs"])}
    with open(out_file, "rb") as f:
        raw = f.read()
    return res, raw, None


def run_ort(args, model_path, feeds, threads):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    outs = None
    for _ in range(args.warmup):
        outs = sess.run(None, feeds)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        outs = sess.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    return stats(times), outs


_torch_models = {}


def run_torch(args, name, inputs, threads):
    if name not in _torch_models:
        _torch_models[name] = export_models.build(name)[0]
    model = _torch_models[name]
    torch.set_num_threads(threads)
    xs = [torch.from_numpy(np.array(a, copy=True)) for a in inputs]
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(*xs)
        for _ in range(args.runs):
            t0 = time.perf_counter()
            model(*xs)
            times.append((time.perf_counter() - t0) * 1e3)
    return stats(times)


def max_abs_diff(raw, refs):
    """jtc's concatenated raw outputs vs a list of reference arrays."""
    if raw is None or not refs or any(r is None for r in refs):
        return None
    off, worst = 0, 0.0
    for r in refs:
        r = np.asarray(r)
        n = r.size * r.dtype.itemsize
        got = np.frombuffer(raw[off:off + n], dtype=r.dtype).reshape(r.shape)
        off += n
        d = np.abs(got.astype(np.float64) - r.astype(np.float64))
        worst = max(worst, float(np.nanmax(d)) if d.size else 0.0)
        if np.isnan(got).any() != np.isnan(r).any():
            return float("nan")
    return worst


def load_model(args, name):
    """(model_path, model, inputs, refs, None), or an error in the last place."""
    model_dir = os.path.join(args.models, name)
    model_path = os.path.join(model_dir, "model.onnx")
    if not os.path.isfile(model_path):
        return None, None, None, None, "not exported (see bench/export_models.py output)"
    model = onnx.load(model_path)
    n_in = len([i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}])
    inputs, refs = load_test_data(model_dir, n_in, len(model.graph.output))
    if any(a is None for a in inputs):
        return None, None, None, None, "test_data_set_0 incomplete: re-export with --force"
    return model_path, model, inputs, refs, None


def bench_model(args, name):
    row = {"model": name, "error": None, "threads": {}}
    model_path, model, inputs, refs, err = load_model(args, name)
    if err:
        row["error"] = err
        return row
    try:
        row["flops"] = count_flops(model)
    except Exception as e:  # noqa: BLE001
        row["flops"] = None
        log("  %s: FLOP count failed: %s" % (name, e))
    del model

    work = os.path.join(args.work, name)
    log("%s: jtc + cc" % name)
    info, err = build_jtc(args, name, model_path, work)
    row.update(info)
    if err:
        row["error"] = err
    in_files = []
    for i, a in enumerate(inputs):
        p = os.path.join(work, "input_%d.bin" % i)
        os.makedirs(work, exist_ok=True)
        np.ascontiguousarray(a).tofile(p)
        in_files.append(p)
    sess_inputs = None
    if ort is not None:
        try:
            names = [i.name for i in ort.InferenceSession(model_path, providers=["CPUExecutionProvider"]).get_inputs()]
            sess_inputs = dict(zip(names, inputs))
        except Exception as e:  # noqa: BLE001
            row["ort_error"] = first_line(str(e))

    for t in args.threads:
        cell = {}
        row["threads"][t] = cell
        if not row["error"]:
            log("%s: jtc, %d thread(s)" % (name, t))
            res, raw, err = run_jtc(args, work, in_files, t)
            if err:
                row["error"] = err
            else:
                cell["jtc"] = res
        else:
            raw = None
        ort_outs = None
        if sess_inputs is not None:
            log("%s: onnxruntime, %d thread(s)" % (name, t))
            try:
                cell["ort"], ort_outs = run_ort(args, model_path, sess_inputs, t)
            except Exception as e:  # noqa: BLE001
                row["ort_error"] = first_line(str(e))
        if raw is not None:
            cell["diff_ref"] = "ort" if ort_outs is not None else "pytorch"
            cell["max_abs_diff"] = max_abs_diff(raw, ort_outs if ort_outs is not None else refs)
    return row


def bench_torch(args, row):
    """PyTorch's column, measured after every jtc and ORT measurement: its OpenMP
    threads may keep spinning after it runs, and jtc and ORT on 2 threads must not
    share the cores with them."""
    name = row["model"]
    _, model, inputs, _, err = load_model(args, name)
    del model
    if err:
        return
    for t in args.threads:
        log("%s: pytorch, %d thread(s)" % (name, t))
        try:
            row["threads"].setdefault(t, {})["torch"] = run_torch(args, name, inputs, t)
        except Exception as e:  # noqa: BLE001
            row["torch_error"] = first_line("%s: %s" % (type(e).__name__, e))
    _torch_models.pop(name, None)


# ---------------------------------------------------------------- report

def fmt_ms(x):
    if x is None:
        return "n/a"
    return "%.1f" % x if x >= 100 else "%.2f" % x if x >= 1 else "%.3f" % x


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            txt = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", txt, re.M)
        if m:
            cpu = m.group(1).strip()
        flags = re.search(r"^flags\s*:\s*(.+)$", txt, re.M)
        simd = [f for f in ("avx2", "fma", "avx512f") if flags and f in flags.group(1).split()]
    except OSError:
        simd = []
    try:
        avail = len(os.sched_getaffinity(0))
    except AttributeError:
        avail = os.cpu_count()
    cc = subprocess.run(shlex.split(ARGS.cc) + ["--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        text=True).stdout.splitlines()
    return {
        "cpu": cpu, "logical_cpus": os.cpu_count(), "usable_cpus": avail, "simd": simd,
        "cc": cc[0] if cc else ARGS.cc,
        "onnxruntime": ort.__version__ if ort else "n/a (%s)" % ORT_ERROR,
        "torch": torch.__version__ if torch else "n/a (%s)" % TORCH_ERROR,
        "kernel": platform.release(),
    }


def report(rows, threads, machine):
    out = []
    ratios_by_t = {}
    for t in threads:
        out.append("")
        out.append("### %d thread%s" % (t, "" if t == 1 else "s"))
        out.append("")
        hdr = ["model", "jtc ms", "ORT ms", "PyTorch ms", "jtc/ORT", "GFLOP/s", "GFLOP", "arena bytes (x two largest live)",
               "max abs diff", "jtc s", "gcc s"]
        if t != threads[0]:
            hdr.insert(5, "jtc %dt/%dt" % (threads[0], t))
        out.append("| " + " | ".join(hdr) + " |")
        out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(hdr))) + "|")
        ratios = []
        for r in rows:
            c = r["threads"].get(t, {})
            jt = c.get("jtc", {}).get("median_ms")
            ot = c.get("ort", {}).get("median_ms")
            pt = c.get("torch", {}).get("median_ms")
            ratio = jt / ot if jt and ot else None
            if ratio:
                ratios.append(ratio)
            fl = r.get("flops")
            gfs = "%.2f" % (fl / (jt * 1e-3) / 1e9) if fl and jt else "n/a"
            gfl = "%.3f" % (fl / 1e9) if fl else "n/a"
            d = c.get("max_abs_diff")
            ds = "n/a" if d is None else "%.1e" % d
            if d is not None and c.get("diff_ref") == "pytorch":
                ds += " (vs PyTorch)"
            arena = r.get("arena_bytes")
            two = r.get("two_largest_bytes")
            if arena and two:
                arena = "%d (%.2fx)" % (arena, arena / two)
            cells = [r["model"],
                     fmt_ms(jt) if jt else "**%s**" % (r["error"] or "n/a").replace("|", "/"),
                     fmt_ms(ot), fmt_ms(pt),
                     "%.2f" % ratio if ratio else "n/a", gfs, gfl,
                     str(arena) if arena else "n/a", ds,
                     "%.2f" % r["jtc_s"] if "jtc_s" in r else "n/a",
                     "%.1f" % r["cc_s"] if "cc_s" in r else "n/a"]
            if t != threads[0]:
                j1 = r["threads"].get(threads[0], {}).get("jtc", {}).get("median_ms")
                cells.insert(5, "%.2fx" % (j1 / jt) if j1 and jt else "n/a")
            out.append("| " + " | ".join(cells) + " |")
        ratios_by_t[t] = ratios
        n_ok = len(ratios)
        gm = math.exp(sum(math.log(x) for x in ratios) / n_ok) if n_ok else None
        out.append("")
        out.append("geometric mean jtc/ORT, %d thread%s: %s (over %d of %d models%s)" % (
            t, "" if t == 1 else "s", "%.2f" % gm if gm else "n/a", n_ok, len(rows),
            "; worst %.2f" % max(ratios) if ratios else ""))
    notes = []
    for r in rows:
        for k, what in (("ort_error", "ONNX Runtime"), ("torch_error", "PyTorch")):
            if r.get(k):
                notes.append("%s: %s failed: %s" % (r["model"], what, r[k]))
    if ORT_ERROR:
        notes.append("ONNX Runtime not available: %s" % ORT_ERROR)
    if TORCH_ERROR:
        notes.append("PyTorch not available: %s" % TORCH_ERROR)
    out.append("")
    out.append("machine: %s, %s logical CPUs (%s usable), SIMD %s; %s; onnxruntime %s; torch %s; Linux %s" % (
        machine["cpu"], machine["logical_cpus"], machine["usable_cpus"], "+".join(machine["simd"]) or "none",
        machine["cc"], machine["onnxruntime"], machine["torch"], machine["kernel"]))
    out.append("median of %d runs after %d warm-up runs; jtc built with `%s -std=c11 -O3 -march=native -fopenmp`; "
               "max abs diff is jtc vs ONNX Runtime on the same input" % (ARGS.runs, ARGS.warmup, ARGS.cc))
    for n in notes:
        out.append("note: " + n)
    return "\n".join(out)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.path.join(ROOT, "build", "bench", "models"),
                    help="folder of exported models (default %(default)s)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "bench", "work"),
                    help="where generated code and binaries go (default %(default)s)")
    ap.add_argument("--jtc", default=os.path.join(ROOT, "build", "jtc"), help="jtc binary (default %(default)s)")
    ap.add_argument("--cc", default=os.environ.get("CC_BENCH", "cc"), help="C compiler (default %(default)s)")
    ap.add_argument("--only", action="append", choices=MODELS, help="benchmark only this model (repeatable)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default %(default)s)")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per measurement (default %(default)s)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up runs (default %(default)s)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed per subprocess (default %(default)s)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    ap.add_argument("--json", help="also write the raw results here")
    ARGS = args = ap.parse_args()
    args.threads = [int(x) for x in args.threads.split(",") if x]
    if not os.access(args.jtc, os.X_OK):
        sys.exit("bench.py: %s not found: run `make` first" % args.jtc)
    if ort is None:
        log("bench.py: onnxruntime not importable (%s): ORT columns will be n/a" % ORT_ERROR)

    t0 = time.time()
    rows = []
    for name in args.only or MODELS:
        try:
            rows.append(bench_model(args, name))
        except Exception as e:  # noqa: BLE001  one model never sinks the table
            rows.append({"model": name, "error": "bench: %s: %s" % (type(e).__name__, first_line(str(e))),
                         "threads": {}})
    if torch is not None and not args.no_torch:
        for row in rows:
            try:
                bench_torch(args, row)
            except Exception as e:  # noqa: BLE001
                row["torch_error"] = "bench: %s: %s" % (type(e).__name__, first_line(str(e)))
    machine = machine_info()
    text = report(rows, args.threads, machine)
    print(text)
    print("\n(benchmark took %.0f s)" % (time.time() - t0))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "runs": args.runs, "warmup": args.warmup, "rows": rows}, f, indent=1,
                      default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
