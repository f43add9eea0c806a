#!/usr/bin/python3
"""make_corpus.py: (re)writes the seed corpora under tests/fuzz/corpus/ from
files in this repository and Debian's libonnx-testdata. Run from the
repository root with Debian's python3 (python3-onnx); the output is committed,
so `make fuzz` and `make test` need neither. The inputs of the bugs found
live in tests/fuzz/regress/ and are not made here; --limits (re)writes only
the hand-made resource-limit and generation-time models there
(regress/fuzz_onnx/limit-* and slow-*).

  /usr/bin/python3 tests/fuzz/make_corpus.py [--data /usr/share/libonnx-testdata/data] [--limits]
"""
import argparse
import glob
import os
import random
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

OUT = "tests/fuzz/corpus"


def reset(target):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def onnx_corpus(data):
    d = reset("fuzz_onnx")
    shutil.copy("samples/mlp/model.onnx", os.path.join(d, "mlp.onnx"))
    for f in sorted(glob.glob("tests/data/onnx/*.onnx") + glob.glob("tests/data/seq/*.onnx") + glob.glob("tests/data/strings/*.onnx")):
        shutil.copy(f, os.path.join(d, os.path.basename(f)))
    # one Debian node test per operator (the smallest), its integer inputs made
    # initializers (shape-like operands must be constants for jtc)
    best = {}
    for m in sorted(glob.glob(os.path.join(data, "node", "*", "model.onnx"))):
        size = os.path.getsize(m)
        if size > 4096:
            continue
        model = onnx.load(m)
        ops = tuple(sorted({n.op_type for n in model.graph.node}))
        if not ops or (ops in best and best[ops][0] <= size):
            continue
        best[ops] = (size, m)
    seen = set()
    for ops, (size, m) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[0])):
        if all(o in seen for o in ops):
            continue
        seen.update(ops)
        model = onnx.load(m)
        tdir = os.path.join(os.path.dirname(m), "test_data_set_0")
        inits = {i.name for i in model.graph.initializer}
        inputs = [i for i in model.graph.input if i.name not in inits]
        for k, vi in enumerate(inputs):
            pb = os.path.join(tdir, "input_%d.pb" % k)
            tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
            if tt is None or not os.path.exists(pb):
                continue
            if tt.elem_type in (TensorProto.INT64, TensorProto.INT32):
                t = onnx.TensorProto()
                with open(pb, "rb") as f:
                    t.ParseFromString(f.read())
                if len(t.raw_data) + 8 * len(t.int64_data) > 512:
                    continue
                t.name = vi.name
                model.graph.initializer.append(t)
        name = os.path.basename(os.path.dirname(m))[5:]
        with open(os.path.join(d, name + ".onnx"), "wb") as f:
            f.write(model.SerializeToString())


def pickle_corpus():
    d = reset("fuzz_pickle")
    # first byte: bits 0-1 container mode (0 as is), bits 2-4 the --shape row in fuzz_pickle.c
    shape_row = {"mlp_seq": 2, "embed": 0, "lenet_seq": 1, "seq_cnn": 4, "seq_cnn_legacy": 4, "seq_misc1d": 5,
                 "seq_misc2d": 6}
    files = [(f, 0) for f in sorted(glob.glob("tests/data/jtpy/*.p*") + glob.glob("tests/data/jtpy/bad/*"))]
    for e, row in shape_row.items():
        p = "tests/data/jtpy/e2e/%s/model.pt" % e
        if os.path.getsize(p) <= 20000:
            files.append((p, row))
    files += [("tests/data/jtpy/e2e/mlp_weights/weights.pt", 0), ("tests/data/jtpy/e2e/seq_cnn_weights/weights.pt", 0)]
    for f, row in files:
        with open(f, "rb") as src:
            b = src.read()
        name = f.split("/")[-2] + "_" + os.path.basename(f) if "/e2e/" in f or "/bad/" in f else os.path.basename(f)
        with open(os.path.join(d, name), "wb") as out:
            out.write(bytes([row << 2]) + b)
    # mode 1 (a pickle wrapped as Jittor) and mode 2 (a pickle in a torch zip with storages 0..3)
    with open("tests/data/jtpy/np_sd.pkl", "rb") as src:
        b = src.read()
    if b.endswith(b"HCAJSLHD"):
        b = b[:-28]
    with open(os.path.join(d, "wrap_jittor_np_sd"), "wb") as out:
        out.write(bytes([1]) + b)
    # a state dict {'w': FloatStorage '0' as a [2,3] tensor} in protocol 2
    p = (b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03"
         b"ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08"
         b"K\x03K\x01\x86q\x09\x89ccollections\nOrderedDict\nq\x0a)Rq\x0btq\x0cRq\x0ds.")
    with open(os.path.join(d, "wrap_zip_state_dict"), "wb") as out:
        out.write(bytes([2]) + p)


def options_corpus():
    d = reset("fuzz_options")
    # MODEL-BYTE, then shape, bind name, embed limit, separated by NUL; the rest is a --weights/--bind file
    # MODEL-BYTE: 0 mlp, 1 shape_chain, 2 symbolic_batch, 3 seq_opt_input, 4 Debian's test_reshape_reordered_all_dims
    cases = {
        "mlp_weights_pt": (0, b"input=1,4", b"input", b"1048576", "tests/data/jtpy/e2e/mlp_weights/weights.pt"),
        "mlp_np_pkl": (0, b"input=2,4", b"nosuch", b"0", "tests/data/jtpy/np_sd.pkl"),
        "shape_chain": (1, b"X=2,3", b"X", b"123", "tests/data/onnx/tensor_i64.pb"),
        "symbolic_shape": (2, b"X=5", b"X", b"99999999999999999999", "tests/data/onnx/tensor_i64.pb"),
        "seq_optional": (3, b"O=1", b"O", b"7", "tests/data/seq/seq_opt_two.pb"),
        "seq_optional_empty": (3, b"dir/net.c", b"O", b"", "tests/data/seq/seq_opt_empty.pb"),
        "reshape_bind": (4, b"data=2,3,4", b"shape", b"1", "tests/data/onnx/tensor_i64.pb"),
        "scalar_shape": (0, b"input=", b"=", b"", "tests/data/jtpy/np2_sd.pkl"),
    }
    for name, (model, shape, bind, limit, f) in cases.items():
        with open(f, "rb") as src:
            rest = src.read()
        with open(os.path.join(d, name), "wb") as out:
            out.write(bytes([model]) + shape + b"\0" + bind + b"\0" + limit + b"\0" + rest)


def random_corpus(target, n, size, seed):
    d = reset(target)
    r = random.Random(seed)
    for k in range(n):
        with open(os.path.join(d, "random_%02d" % k), "wb") as out:
            out.write(bytes(r.randrange(256) for _ in range(size)))


def dictionaries():
    """fuzz_onnx.dict: operator names (jtc --list-ops) and attribute and metadata strings;
    fuzz_pickle.dict: pickle opcodes and the globals the reader knows."""
    import subprocess
    ops = subprocess.run(["build/jtc", "--list-ops"], capture_output=True, text=True).stdout.split("\n")
    words = sorted({l.split(" ")[0].split(":")[-1] for l in ops if l.strip()})
    attrs = ["axis", "axes", "perm", "pads", "strides", "kernel_shape", "dilations", "group", "auto_pad", "SAME_UPPER",
             "VALID", "keepdims", "epsilon", "alpha", "beta", "transA", "transB", "value", "to", "mode", "then_branch",
             "else_branch", "body", "num_scan_inputs", "split", "starts", "ends", "steps", "ceil_mode", "count_include_pad",
             "coordinate_transformation_mode", "direction", "hidden_size", "activations", "equation", "blocksize",
             "location", "offset", "length", "ai.onnx", "ai.onnx.preview.training", "ai.onnx.ml"]
    with open("tests/fuzz/fuzz_onnx.dict", "w") as f:
        f.write("# fuzz_onnx: operator, attribute and domain names (tests/fuzz/make_corpus.py)\n")
        for w in words + attrs:
            f.write('"%s"\n' % w)
    opcodes = {"MARK": b"(", "STOP": b".", "POP": b"0", "POP_MARK": b"1", "DUP": b"2", "FLOAT": b"F", "INT": b"I",
               "BININT": b"J", "BININT1": b"K", "LONG": b"L", "BININT2": b"M", "NONE": b"N", "PERSID": b"P",
               "BINPERSID": b"Q", "REDUCE": b"R", "STRING": b"S", "BINSTRING": b"T", "SHORT_BINSTRING": b"U",
               "UNICODE": b"V", "BINUNICODE": b"X", "APPEND": b"a", "BUILD": b"b", "GLOBAL": b"c", "DICT": b"d",
               "EMPTY_DICT": b"}", "APPENDS": b"e", "GET": b"g", "BINGET": b"h", "INST": b"i", "LONG_BINGET": b"j",
               "LIST": b"l", "EMPTY_LIST": b"]", "OBJ": b"o", "PUT": b"p", "BINPUT": b"q", "LONG_BINPUT": b"r",
               "SETITEM": b"s", "TUPLE": b"t", "EMPTY_TUPLE": b")", "SETITEMS": b"u", "BINFLOAT": b"G",
               "PROTO": b"\x80", "NEWOBJ": b"\x81", "EXT1": b"\x82", "TUPLE1": b"\x85", "TUPLE2": b"\x86",
               "TUPLE3": b"\x87", "NEWTRUE": b"\x88", "NEWFALSE": b"\x89", "LONG1": b"\x8a", "LONG4": b"\x8b",
               "SHORT_BINUNICODE": b"\x8c", "BINUNICODE8": b"\x8d", "BINBYTES8": b"\x8e", "EMPTY_SET": b"\x8f",
               "ADDITEMS": b"\x90", "FROZENSET": b"\x91", "NEWOBJ_EX": b"\x92", "STACK_GLOBAL": b"\x93",
               "MEMOIZE": b"\x94", "FRAME": b"\x95", "BYTEARRAY8": b"\x96", "NEXT_BUFFER": b"\x97",
               "READONLY_BUFFER": b"\x98", "BINBYTES": b"B", "SHORT_BINBYTES": b"C"}
    globals_ = ["torch._utils\n_rebuild_tensor_v2\n", "torch._utils\n_rebuild_parameter\n", "collections\nOrderedDict\n",
                "torch\nFloatStorage\n", "torch\nLongStorage\n", "torch\nHalfStorage\n", "numpy.core.multiarray\n_reconstruct\n",
                "numpy\nndarray\n", "numpy\ndtype\n", "numpy.core.multiarray\nscalar\n", "jittor_core\nVar\n",
                "torch.nn.modules.container\nSequential\n", "torch.nn.modules.linear\nLinear\n",
                "torch.nn.modules.conv\nConv2d\n", "torch.nn.modules.activation\nReLU\n", "storage", "cpu", "_modules",
                "_parameters", "weight", "bias", "archive/data.pkl", "HCAJSLHD", "PK\x03\x04", "PK\x01\x02", "PK\x05\x06"]
    with open("tests/fuzz/fuzz_pickle.dict", "w") as f:
        f.write("# fuzz_pickle: pickle opcodes, known globals and container magic (tests/fuzz/make_corpus.py)\n")
        for name, b in opcodes.items():
            f.write('%s="%s"\n' % (name, "".join("\\x%02x" % c for c in b)))
        for g in globals_:
            f.write('"%s"\n' % "".join(c if c.isalnum() or c in "._/ " else "\\x%02x" % ord(c) for c in g))


# ---- resource limits and generation time (regress/fuzz_onnx/limit-*, slow-*) ----
def save(nodes, inits, inp, path, out="y", opset=13):
    g = helper.make_graph(nodes, "g", [inp], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def X(shape):
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)


def chain(n, ops, path):
    """n layout ops on a [6,4,5] input, cycling through ops: 0 Reshape (to shapes
    of 120 elements), 1 Transpose (reversed axes), 2 Slice (reversed), 3 Pad
    (edge by one, then cropped back), 4 Relu; then a Relu."""
    shapes = [[6, 4, 5], [4, 6, 5], [3, 8, 5], [2, 12, 5], [12, 2, 5], [24, 5]]
    nodes, inits = [], []
    cur, cur_shape = "x", [6, 4, 5]
    i64 = lambda v, name: inits.append(numpy_helper.from_array(np.array(v, dtype=np.int64), name))
    for k in range(n):
        op, o = ops[k % len(ops)], "t%d" % k
        if op == 0:
            s = shapes[(k // len(ops)) % len(shapes)]
            if np.prod(s) != np.prod(cur_shape):
                s = [int(np.prod(cur_shape))]
            i64(s, "s%d" % k)
            nodes.append(helper.make_node("Reshape", [cur, "s%d" % k], [o]))
            cur_shape = s
        elif op == 1:
            perm = list(range(len(cur_shape)))[::-1]
            nodes.append(helper.make_node("Transpose", [cur], [o], perm=perm))
            cur_shape = [cur_shape[p] for p in perm]
        elif op == 2:
            i64([-1], "a%d" % k), i64([-2**62], "b%d" % k), i64([0], "c%d" % k), i64([-1], "d%d" % k)
            nodes.append(helper.make_node("Slice", [cur, "a%d" % k, "b%d" % k, "c%d" % k, "d%d" % k], [o]))
        elif op == 3:
            r = len(cur_shape)
            i64([1] * r + [0] * r, "p%d" % k), i64([-1] * r + [0] * r, "q%d" % k)
            nodes.append(helper.make_node("Pad", [cur, "p%d" % k], [o + "p"], mode="edge"))
            nodes.append(helper.make_node("Pad", [o + "p", "q%d" % k], [o]))
        else:
            nodes.append(helper.make_node("Relu", [cur], [o]))
        cur = o
    nodes.append(helper.make_node("Relu", [cur], ["y"]))
    save(nodes, inits, X([6, 4, 5]), path)


def nested_loops(depth, path):
    """Loops nested depth deep, each of trip count 1024 (jtc unrolls them)."""
    body = None
    for d in range(depth):
        inner = [helper.make_node("Identity", ["c_in%d" % d], ["c_out%d" % d])]
        if body is not None:
            inner.append(helper.make_node("Loop", ["M", ""], [], body=body))
        body = helper.make_graph(inner, "body%d" % d,
                                 [helper.make_tensor_value_info("i%d" % d, TensorProto.INT64, []),
                                  helper.make_tensor_value_info("c_in%d" % d, TensorProto.BOOL, [])],
                                 [helper.make_tensor_value_info("c_out%d" % d, TensorProto.BOOL, [])])
    M = numpy_helper.from_array(np.array(1024, dtype=np.int64), "M")
    save([helper.make_node("Loop", ["M", ""], [], body=body), helper.make_node("Relu", ["x"], ["y"])], [M], X([2]), path)


def limit_inputs():
    r = "tests/fuzz/regress/fuzz_onnx/"
    relu = lambda i, o: helper.make_node("Relu", [i], [o])
    save([relu("x", "y")], [], X([1 << 20, 1 << 20, 1 << 20]), r + "limit-huge-input.onnx")  # 2^60 elements
    t = onnx.TensorProto()  # 32 GiB of external data: refused before it is read
    t.name, t.data_type, t.data_location = "w", TensorProto.FLOAT, TensorProto.EXTERNAL
    t.dims.extend([1 << 31, 4])
    e = t.external_data.add()
    e.key, e.value = "location", "model.onnx"
    save([helper.make_node("Add", ["x", "w"], ["y"])], [t], X([1, 4]), r + "limit-huge-initializer.onnx")
    cs = numpy_helper.from_array(np.array([1 << 15] * 3, dtype=np.int64), "s")  # ConstantOfShape of 2^45 floats
    save([helper.make_node("ConstantOfShape", ["s"], ["c"]), helper.make_node("Add", ["c", "x"], ["y"])], [cs], X([1]),
         r + "limit-huge-constant-of-shape.onnx")
    leaf = g = helper.make_graph([relu("x", "r0")], "leaf", [], [helper.make_tensor_value_info("r0", TensorProto.FLOAT, None)])
    for d in range(1, 40):  # If subgraphs 40 deep (the limit is 32)
        g = helper.make_graph([helper.make_node("If", ["cond"], ["r%d" % d], then_branch=g, else_branch=leaf)], "l%d" % d,
                              [], [helper.make_tensor_value_info("r%d" % d, TensorProto.FLOAT, None)])
    cond = numpy_helper.from_array(np.array(True), "cond")
    save([helper.make_node("If", ["cond"], ["y"], then_branch=g, else_branch=leaf)], [cond], X([2]), r + "limit-nested-if.onnx")
    save([helper.make_node("Add", ["x", "b"], ["a"]), relu("a", "b"), relu("b", "y")], [], X([2]), r + "limit-cycle.onnx")
    save([helper.make_node("Add", ["x", "s"], ["s"]), relu("s", "y")], [], X([2]), r + "limit-self-loop.onnx")
    chain(120, [1, 2, 3], r + "slow-transpose-slice-pad-chain.onnx")  # composes into one GATHER: compiles
    chain(120, [0, 1, 2, 3], r + "slow-layout-chain.onnx")  # reshapes in the chain: refused (IX_MAX_TREE)
    chain(120, [0, 1], r + "slow-reshape-transpose-chain.onnx")
    chain(120, [0, 4, 1], r + "slow-reshape-relu-transpose-chain.onnx")
    nested_loops(3, r + "slow-nested-loops.onnx")  # 2^30 unrolled iterations: refused (--max-nodes)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("--limits", action="store_true", help="also rewrite regress/fuzz_onnx/limit-* and slow-*")
    a = ap.parse_args()
    if a.limits:
        limit_inputs()
    onnx_corpus(a.data)
    pickle_corpus()
    options_corpus()
    random_corpus("fuzz_ix", 16, 48, 1)
    random_corpus("fuzz_pipeline", 16, 96, 2)
    dictionaries()
