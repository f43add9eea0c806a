#!/usr/bin/env python3
"""make_io.py: inputs and output buffers for tests/embedded/main.c, and the check
of what it printed.

  make_io.py header TESTSET_DIR io.h      write io.h from TESTSET_DIR/input_K.pb
  make_io.py check TESTSET_DIR LOG        compare LOG's hex words with output_K.pb

Inputs go in as their exact bytes (uint32 words), outputs come back the same way,
and are compared with ONNX's rule |got - want| <= atol + rtol*|want| (the
conformance runner's defaults, rtol 1e-3, atol 1e-4; integers exactly)."""
import glob
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def tensors(d, kind):
    files = sorted(glob.glob(os.path.join(d, f"{kind}_*.pb")), key=lambda f: int(f.rsplit("_", 1)[1][:-3]))
    out = []
    for f in files:
        t = onnx.TensorProto()
        with open(f, "rb") as fh:
            t.ParseFromString(fh.read())
        out.append(numpy_helper.to_array(t))
    return out


def words(a):
    b = np.ascontiguousarray(a).tobytes()
    b += b"\0" * (-len(b) % 4)
    return np.frombuffer(b, dtype="<u4")


def header(d, path):
    ins, outs = tensors(d, "input"), tensors(d, "output")
    lines = ["/* io.h: written by tests/embedded/make_io.py from %s. */" % os.path.basename(os.path.normpath(d)),
             "#include <stdint.h>"]
    for k, a in enumerate(ins):
        w = words(a)
        body = ",".join("0x%08x" % v for v in w) or "0"
        lines.append("static const uint32_t io_in%d[%d] = {%s};" % (k, max(len(w), 1), body))
    for k, a in enumerate(outs):
        lines.append("static uint32_t io_out%d[%d];" % (k, max(len(words(a)), 1)))
    lines.append("static const void *const io_inputs[%d] = {%s};" % (max(len(ins), 1), ", ".join("io_in%d" % k for k in range(len(ins))) or "0"))
    lines.append("static void *const io_outputs[%d] = {%s};" % (max(len(outs), 1), ", ".join("io_out%d" % k for k in range(len(outs))) or "0"))
    lines.append("static const uint32_t io_output_words[%d] = {%s};" % (max(len(outs), 1), ", ".join(str(len(words(a))) for a in outs) or "0"))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def check(d, log):
    outs = tensors(d, "output")
    got, cur = [], None
    for line in open(log):
        line = line.strip()
        if line == "output":
            cur = []
            got.append(cur)
        elif cur is not None and line:
            cur.extend(int(w, 16) for w in line.split())
    if len(got) != len(outs):
        sys.exit("expected %d outputs, the program printed %d" % (len(outs), len(got)))
    for k, want in enumerate(outs):
        raw = np.array(got[k], dtype="<u4").tobytes()[: want.nbytes]
        have = np.frombuffer(raw, dtype=want.dtype).reshape(want.shape)
        if want.dtype.kind == "f":
            bad = ~(np.abs(have - want) <= 1e-4 + 1e-3 * np.abs(want))
        else:
            bad = have != want
        if bad.any():
            i = np.argwhere(bad)[0]
            sys.exit("output %d differs at %s: got %r, want %r" % (k, tuple(i), have[tuple(i)], want[tuple(i)]))
        print("output %d: %d values match (max abs diff %.3g)" % (k, want.size, float(np.max(np.abs(have.astype(np.float64) - want))) if want.size else 0.0))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("header", "check"):
        sys.exit(__doc__)
    (header if sys.argv[1] == "header" else check)(sys.argv[2], sys.argv[3])
