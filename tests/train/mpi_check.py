#!/usr/bin/python3
"""Compare the payloads of two jtc .weights files tensor by tensor (their name tables).

Usage: mpi_check.py ONE.weights OTHER.weights
Exit 0 when every tensor matches within atol 1e-4 + rtol 1e-3, else print the
tensors that do not and exit 1. The tolerance: two runs that sum the batch in
another order can flip a max-pool or ReLU decision between nearly equal values,
which moves a few weights by up to lr * gradient; with lr 0.01 that stays below
1e-4 over 5 steps (measured: 4.9e-5 on conv2.weight, values up to 0.07).
"""
import struct
import sys

import numpy as np


def tensors(path):
    raw = open(path, "rb").read()
    if raw[:8] != b"JTCWGT01":
        sys.exit("%s: not a jtc .weights file" % path)
    size = struct.unpack("<Q", raw[8:16])[0]
    payload = raw[24:24 + size]
    table = raw[24 + size:]
    if table[:8] != b"JTCNAMES":
        sys.exit("%s: no name table" % path)
    count, at, out = struct.unpack("<Q", table[8:16])[0], 16, {}
    for _ in range(count):
        off, tl = struct.unpack("<QI", table[at:at + 12])
        at += 12
        dtype = table[at:at + tl].decode()
        at += tl
        rank = struct.unpack("<I", table[at:at + 4])[0]
        dims = struct.unpack("<%dq" % rank, table[at + 4:at + 4 + 8 * rank])
        at += 4 + 8 * rank
        nl = struct.unpack("<I", table[at:at + 4])[0]
        name = table[at + 4:at + 4 + nl].decode()
        at += 4 + nl
        n = int(np.prod(dims)) if rank else 1
        out[name] = np.frombuffer(payload, np.dtype(dtype), n, off).reshape(dims)
    return out


def main():
    a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
    bad = 0
    for name, x in a.items():
        y = b.get(name)
        if y is None or y.shape != x.shape:
            print("%s: missing or another shape in %s" % (name, sys.argv[2]))
            bad += 1
        elif not np.allclose(x, y, rtol=1e-3, atol=1e-4):
            print("%s: max difference %.3g" % (name, np.abs(x - y).max()))
            bad += 1
    print("%d tensors, %d differ" % (len(a), bad))
    sys.exit(1 if bad or len(a) != len(b) else 0)


if __name__ == "__main__":
    main()
