#!/usr/bin/env python3
"""check_report.py: checks one jtc --report JSON (and its --dump-dot) against
the files jtc generated with it and against the ONNX model itself.

  check_report.py --report R.json --source NET.c --header NET.h --model M.onnx
                  [--svg G.svg] [--weights NET.weights] [--gemm-h runtime_stub/gemm.h] [--tag NAME]

Prints one `PASS name`, `FAIL name: why` or `SKIP name: why` line per check
(tests/report/run.sh counts them) and exits 1 if any check failed. The key
lists below are the documented order (README.md, "Report format"). The
contraction check expects every Gemm, MatMul and Conv of the model to run as
a GEMM kernel, as in the samples (a depthwise or grouped conv runs as a row
kernel instead and has no GEMM tiles)."""
import argparse
import json
import os
import re
import sys

TOP = ["jtc", "options", "model", "inputs", "outputs", "kernels", "totals", "arena", "weights", "gemm_scratch"]
OPTIONS = ["target", "prefix", "naive", "embedded", "shapes", "binds", "seqs", "weights_override", "weights_mode", "embed_limit",
           "arch", "cuda_graph", "precision"]
TENSOR = ["name", "dtype", "shape", "bytes"]
KERNEL = ["index", "name", "op", "onnx_nodes", "output", "domain", "loop_order", "parallel_loops",
          "register_accumulator", "vector_width", "tiles", "gpu", "reads", "flops", "bytes_read", "bytes_written"]
OUTPUT = ["buffer", "dtype", "shape"]
VECTOR = ["compile_time", "by_isa", "auto_vectorized_loop"]
GEMM = ["kind", "M", "N", "K", "outer", "ldc", "contraction_flops", "a_packed_at_compile_time", "transposed",
        "epilogue", "mr", "nr", "kc", "nc", "panel", "block_tile", "thread_tile"]
ROWS = ["kind", "row_var", "row_extent", "plane_var", "plane_extent", "accumulators", "epilogue_on_store", "taps", "taps_per_pass",
        "padded_buffer", "band_rows"]
GPU = ["mapping", "block", "grid", "items", "epilogue_kernel"]
TOTALS = ["kernels", "flops", "bytes_read", "bytes_written"]
ARENA = ["bytes", "peak_live_bytes", "two_largest_live_bytes", "buffers"]
BUFFER = ["name", "offset", "bytes", "reserved_bytes", "first_kernel", "last_kernel"]
WEIGHTS = ["bytes", "tensors", "blob_bytes", "embedded", "file"]
SCRATCH = ["per_thread_floats", "apack_floats", "ct_floats"]
ISAS = ["avx512f", "avx2+fma", "neon", "scalar"]

results = []


def check(name, ok, why=""):
    results.append(ok)
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))


def skip(name, why):
    print("SKIP %s: %s" % (name, why))


def key_errors(r):
    """Every object's keys, in order, against the documented lists; a list of problems."""
    errs = []

    def want(where, obj, keys):
        if obj is None:
            return
        if not isinstance(obj, dict) or list(obj) != keys:
            errs.append("%s: keys %s, want %s" % (where, list(obj) if isinstance(obj, dict) else type(obj).__name__, keys))

    want("top", r, TOP)
    want("options", r.get("options"), OPTIONS)
    for t in r.get("inputs", []) + r.get("outputs", []):
        want("tensor", t, TENSOR)
    for k in r.get("kernels", []):
        want("kernel", k, KERNEL)
        want("kernel.output", k.get("output"), OUTPUT)
        want("kernel.vector_width", k.get("vector_width"), VECTOR)
        t = k.get("tiles")
        if t is not None:
            want("kernel.tiles", t, GEMM if t.get("kind") == "gemm" else ROWS)
            for isa_key in ("mr", "nr", "nc"):
                if t.get("kind") == "gemm" and t.get(isa_key) is not None:
                    want("tiles." + isa_key, t[isa_key], ISAS)
        if k.get("vector_width", {}).get("by_isa") is not None:
            want("vector_width.by_isa", k["vector_width"]["by_isa"], ISAS)
        want("kernel.gpu", k.get("gpu"), GPU)
        if (k.get("gpu") is None) != (r["options"]["target"] == "c"):
            errs.append("kernel %s: gpu is %s on target %s" % (k.get("name"), k.get("gpu"), r["options"]["target"]))
    want("totals", r.get("totals"), TOTALS)
    want("arena", r.get("arena"), ARENA)
    for b in r.get("arena", {}).get("buffers", []):
        want("arena.buffer", b, BUFFER)
    want("weights", r.get("weights"), WEIGHTS)
    if r["options"]["target"] == "c":
        want("gemm_scratch", r.get("gemm_scratch"), SCRATCH)
    elif r.get("gemm_scratch") is not None:
        errs.append("gemm_scratch is not null on target cuda")
    return errs


def dims_of(vi):
    return [d.dim_value for d in vi.type.tensor_type.shape.dim]


def model_contractions(path):
    """2*M*N*K (times batch and groups) of every Gemm, MatMul and Conv of the model, from its own shapes."""
    import onnx
    from onnx import shape_inference
    m = shape_inference.infer_shapes(onnx.load(path))
    g = m.graph
    shapes = {t.name: list(t.dims) for t in g.initializer}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes.setdefault(vi.name, dims_of(vi))
    out = []
    for n in g.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type == "Gemm":
            a, b = shapes[n.input[0]], shapes[n.input[1]]
            ta = attrs["transA"].i if "transA" in attrs else 0
            tb = attrs["transB"].i if "transB" in attrs else 0
            mm, kk = (a[1], a[0]) if ta else (a[0], a[1])
            nn = b[0] if tb else b[1]
            out.append((n.name, 2 * mm * nn * kk))
        elif n.op_type == "MatMul":
            a, b, y = shapes[n.input[0]], shapes[n.input[1]], shapes[n.output[0]]
            prod = 1
            for d in y:
                prod *= d
            out.append((n.name, 2 * prod * a[-1]))
        elif n.op_type == "Conv":
            w, y = shapes[n.input[1]], shapes[n.output[0]]
            prod = 1
            for d in y:
                prod *= d
            k = 1
            for d in w[1:]:
                k *= d  # Cin/group * kh * kw
            out.append((n.name, 2 * prod * k))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--svg", help="dot -Tsvg of the --dump-dot file (check skipped without it)")
    ap.add_argument("--weights")
    ap.add_argument("--gemm-h", default="runtime_stub/gemm.h")
    ap.add_argument("--tag", help="names the checks (default: the report's file name)")
    a = ap.parse_args()
    tag = a.tag or os.path.basename(a.report)

    try:
        with open(a.report, encoding="utf-8") as f:
            r = json.load(f)
        check(tag + " well-formed", isinstance(r, dict))
    except (OSError, ValueError) as e:
        check(tag + " well-formed", False, str(e))
        return 1
    errs = key_errors(r)
    check(tag + " keys in the documented order", not errs, "; ".join(errs[:3]))
    if errs:
        return 1
    cuda = r["options"]["target"] == "cuda"
    src = open(a.source, encoding="utf-8", errors="replace").read()
    hdr = open(a.header, encoding="utf-8", errors="replace").read()
    ks = r["kernels"]

    # the arena: the header's macro, and no two buffers live at once share a byte
    m = re.search(r"#define (\w+)_ARENA_BYTES (\d+)", hdr)
    check(tag + " arena bytes = " + (m.group(1) if m else "?") + "_ARENA_BYTES",
          m is not None and int(m.group(2)) == r["arena"]["bytes"],
          "header says %s, report %d" % (m.group(2) if m else "nothing", r["arena"]["bytes"]))
    bufs = r["arena"]["buffers"]
    clash = []
    for i, x in enumerate(bufs):
        if x["offset"] < 0 or x["offset"] + x["reserved_bytes"] > r["arena"]["bytes"] or x["bytes"] > x["reserved_bytes"]:
            clash.append("%s outside the arena" % x["name"])
        for y in bufs[i + 1:]:
            live = x["first_kernel"] <= y["last_kernel"] and y["first_kernel"] <= x["last_kernel"]
            apart = x["offset"] + x["reserved_bytes"] <= y["offset"] or y["offset"] + y["reserved_bytes"] <= x["offset"]
            if live and not apart:
                clash.append("%s and %s overlap while both live" % (x["name"], y["name"]))
    top = max([x["offset"] + x["reserved_bytes"] for x in bufs] or [0])
    check(tag + " arena buffers disjoint while live, top = arena bytes",
          not clash and top == r["arena"]["bytes"] and r["arena"]["peak_live_bytes"] <= r["arena"]["bytes"],
          "; ".join(clash[:3]) or "top %d, arena %d" % (top, r["arena"]["bytes"]))
    order = [(x["offset"], x["name"]) for x in bufs]
    check(tag + " arena buffers sorted by offset, then name", order == sorted(order))

    # the kernels: the calls the generated run function makes, in order, each defined
    if cuda:
        calls = re.findall(r"^ +JTC_LAUNCH\((\w+), dim3", src, re.M)
        want = []
        for k in ks:
            want += [k["name"]] + ([k["gpu"]["epilogue_kernel"]] if k["gpu"]["epilogue_kernel"] else [])
        defined = set(re.findall(r"^__global__ void (\w+)\(", src, re.M))
    else:
        calls = re.findall(r"^  \w+_PROF\(\d+, (\w+)\(", src, re.M)
        if r["options"]["embedded"]:  # no profiler: plain calls in <p>_run_with_arena
            calls = re.findall(r"^  (k\d+_\w+)\(", src, re.M)
        want = [k["name"] for k in ks]
        defined = set(re.findall(r"^static void (\w+)\(", src, re.M))
    blocks = len(re.findall(r"^/\* kernel \d+: ", src, re.M))
    check(tag + " kernels = the generated calls, in order (%d)" % len(ks),
          calls == want and blocks == len(ks) == r["totals"]["kernels"] and [k["index"] for k in ks] == list(range(len(ks))),
          "calls %s, report %s, %d kernel comments" % (calls[:4], want[:4], blocks))
    missing = [n for n in want if n not in defined]
    check(tag + " every kernel name is a function definition", not missing, "not defined: %s" % missing[:3])

    # per kernel sums, and the GEMM figures
    bad = []
    for k in ks:
        t = k["tiles"]
        if t and t["kind"] == "gemm":
            if t["contraction_flops"] != 2 * t["M"] * t["N"] * t["K"] * t["outer"]:
                bad.append("%s: contraction_flops %d != 2*M*N*K*outer" % (k["name"], t["contraction_flops"]))
            if k["flops"] < t["contraction_flops"]:
                bad.append("%s: flops below its contraction's" % k["name"])
    for key, i in (("flops", 0), ("bytes_read", 1), ("bytes_written", 2)):
        if sum(k[key] for k in ks) != r["totals"][key]:
            bad.append("totals.%s is not the kernels' sum" % key)
    check(tag + " GEMM flops = 2*M*N*K*outer, totals = sums", not bad, "; ".join(bad[:3]))

    # the GEMM table against runtime_stub/gemm.h (the C target)
    gemms = [k for k in ks if k["tiles"] and k["tiles"]["kind"] == "gemm"]
    if r["options"]["naive"] or r["options"]["embedded"]:
        check(tag + " no GEMM under --naive or --embedded", not gemms, "%d GEMM kernels" % len(gemms))
    elif not cuda and gemms:
        g = open(a.gemm_h, encoding="utf-8").read()
        isa = re.findall(r'#define JTC_GEMM_ISA "([^"]+)"\s*\n#define JTC_GEMM_MR (\d+)\s*\n#define JTC_GEMM_NR (\d+)', g)
        kc = re.search(r"#ifndef JTC_GEMM_KC\s*\n#define JTC_GEMM_KC (\d+)", g)
        t = gemms[0]["tiles"]
        got = {n: (t["mr"].get(n), t["nr"].get(n), t["nc"].get(n)) for n in t["mr"]}
        exp = {n: (int(mr), int(nr), 512 if int(nr) >= 16 and int(mr) >= 6 else 256) for n, mr, nr in isa}
        check(tag + " GEMM tiles match gemm.h", got == exp and kc and int(kc.group(1)) == t["kc"],
              "report %s, gemm.h %s" % (got, exp))

    # contractions against the model's own shapes
    try:
        want_c = model_contractions(a.model)
    except ImportError:
        skip(tag + " contraction FLOPs = the model's 2*M*N*K", "python lacks onnx")
        want_c = None
    if want_c is not None:
        got_c = sorted(t["contraction_flops"] for t in (k["tiles"] for k in gemms))
        if not r["options"]["naive"] and not r["options"]["embedded"]:
            check(tag + " contraction FLOPs = the model's 2*M*N*K (%d)" % len(want_c),
                  got_c == sorted(f for _, f in want_c), "report %s, model %s" % (got_c, want_c))

    # weights
    w = r["weights"]
    m = re.search(r"constants (\d+) bytes", src)
    ok = m is not None and int(m.group(1)) == w["bytes"] and w["bytes"] <= w["blob_bytes"]
    check(tag + " weight bytes = the source's constants", ok, "source %s, report %d" % (m and m.group(1), w["bytes"]))
    if a.weights:
        size = os.path.getsize(a.weights)
        check(tag + " weights blob = .weights size - 24",
              not w["embedded"] and w["file"] == os.path.basename(a.weights) and w["blob_bytes"] == size - 24,
              "file %d bytes, report %s" % (size, w))
    else:
        check(tag + " weights embedded", w["embedded"] and w["file"] is None, str(w))

    # the DOT rendering: one box per kernel, labelled with its name
    if not a.svg:
        skip(tag + " SVG has one box per kernel", "no SVG given")
        return 0 if all(results) else 1
    svg = open(a.svg, encoding="utf-8").read()
    nodes = re.findall(r'<g id="node\d+" class="node">\s*<title>([^<]*)</title>(.*?)</g>', svg, re.S)
    boxes = {t: body for t, body in nodes if re.fullmatch(r"k\d+", t)}
    shapes_ok = all("<polygon" in b and "<polyline" not in b and "<ellipse" not in b for b in boxes.values())
    named = all(k["name"] in boxes.get("k%d" % i, "") for i, k in enumerate(ks))
    ellipses = sum(1 for t, b in nodes if "<ellipse" in b)
    check(tag + " SVG has one box per kernel (%d)" % len(ks),
          len(boxes) == len(ks) and shapes_ok and named and ellipses == len(r["inputs"]) + len(r["outputs"]),
          "%d kernel boxes, shapes ok %s, named %s, %d ellipses" % (len(boxes), shapes_ok, named, ellipses))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
