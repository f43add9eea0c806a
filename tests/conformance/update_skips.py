#!/usr/bin/env python3
"""update_skips.py: rewrite the "not supported yet" section of skip.txt.

Runs the conformance runner over Debian's libonnx-testdata with only the
hand-written part of skip.txt (everything above the marker line), then lists
every failing test below the marker with the reason jtc or the runner gave:
the backlog of the ONNX conformance work, explicit instead of silent. Tests
that start passing drop out of the list the next time this runs.

    /usr/bin/python3 tests/conformance/update_skips.py [--jtc build/jtc] [--conform build/tests/conform]
"""
import argparse, os, re, subprocess, sys, tempfile

MARK = "# ---- not supported yet (written by tests/conformance/update_skips.py; do not edit below) ----"
DATA = "/usr/share/libonnx-testdata/data"

def reason(msg):
    m = re.search(r"unsupported operators?: (.*)", msg)
    if m:
        ops = re.findall(r"([A-Za-z_.]+) \(\d+ nodes?", m.group(1))
        return "unsupported operator%s: %s" % ("s" if len(ops) > 1 else "", ", ".join(ops) or m.group(1)[:80])
    m = re.search(r"node '[^']*' \(([^,]+), #\d+\): (.*)", msg)
    if m:
        return "%s: %s" % (m.group(1), m.group(2)[:110])
    msg = re.sub(r"/tmp/\S+", "WORK", msg)
    msg = msg.replace(DATA + "/", "")
    return msg[:130]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jtc", default="build/jtc")
    ap.add_argument("--conform", default="build/tests/conform")
    ap.add_argument("--skips", default="tests/conformance/skip.txt")
    a = ap.parse_args()
    text = open(a.skips).read()
    head = text.split(MARK)[0].rstrip("\n") + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(head)
        base = f.name
    rows = []
    for suite in ("node", "pytorch-converted", "pytorch-operator", "simple"):
        out = subprocess.run([a.conform, "--jtc", a.jtc, "--skips", base, "--allow-fail", "-j",
                              str(os.cpu_count() or 2), "--root", os.path.join(DATA, suite)],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = re.match(r"FAIL (\S+): (.*)", line)
            if m:
                rows.append((m.group(1), reason(m.group(2))))
    os.unlink(base)
    width = max([len(n) for n, _ in rows] + [20]) + 2
    with open(a.skips, "w") as f:
        f.write(head + "\n" + MARK + "\n")
        for name, why in sorted(rows):
            f.write("%s%s\n" % (name.ljust(width), why))
    print("%d failing tests listed in %s" % (len(rows), a.skips), file=sys.stderr)

if __name__ == "__main__":
    main()
