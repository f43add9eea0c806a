#!/usr/bin/env python3
"""make_ops_doc.py: write docs/ops.md, the table of every ONNX operator.

For every operator of ONNX's schemas (onnx.defs.get_all_schemas_with_history():
the default domain, ai.onnx.preview.training, ai.onnx.ml, and any other domain
that jtc's op table or the test corpus mentions) one row: its latest
since_version, the opset range jtc's op table supports (`jtc --list-ops`, from
frontend/onnx/onnx_ops.c), how many of the conformance tests that use it pass,
and the name and reason of each such test that did not pass. A test uses an op
if any node of its model.onnx has that op type, subgraphs of If/Loop/Scan (and
other graph attributes) and model-local functions included.

The results come from a conformance log: the output of tests/conform over
Debian's libonnx-testdata (the node, pytorch-converted, pytorch-operator and
simple folders), one `PASS name`, `SKIP name: why` or `FAIL name: why` line per
test. Test names are unique across the four folders, so the log may come from
one run over all of them or be any concatenation of runs (e.g. `make test`'s
output). Without --log the script runs the conformance itself:

    CONFORM --jtc JTC --skips SKIPS -j JOBS --root DATA/node ... --root DATA/simple

(CONFORM defaults to tests/conform beside JTC; --save-log FILE keeps its
output). Usage, from the repository root, with Debian's python (onnx, numpy):

    /usr/bin/python3 tests/conformance/make_ops_doc.py --jtc build/jtc \
        --log build/ops-doc/conform.log -o docs/ops.md
    /usr/bin/python3 tests/conformance/make_ops_doc.py --jtc build/jtc -o docs/ops.md

`make ops-doc` does the first (after running the conformance). The output
depends only on the op table, the log's results and the corpus, so the same
inputs give the same bytes. tests/cli_test.sh checks that every op of
`jtc --list-ops` appears in docs/ops.md with the same opset range.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

FOLDERS = ("node", "pytorch-converted", "pytorch-operator", "simple")
DEFAULT_DATA = "/usr/share/libonnx-testdata/data"
DEFAULT = "ai.onnx"
DOMAIN_ORDER = {DEFAULT: 0, "ai.onnx.preview.training": 1, "ai.onnx.ml": 2}
# Stated limitations of supported operators, printed under "Notes" (README says the same).
LIMITATIONS = {
    "StringNormalizer": "case changes and case-insensitive stopword matching apply to ASCII letters only (other "
                        "bytes, UTF-8 included, pass through unchanged, whatever `locale` says); with stopwords the "
                        "output length depends on the input's values, so the input must be a constant or pinned "
                        "with `--bind` and the op is folded at compile time.",
    "Cast": "to string: floats as the shortest `%g` text that reads back to the same value, `NaN`, `INF`, `-INF`; "
            "integers in decimal, bool as `0`/`1`. From string: `strtod`'s syntax, text after the number ignored, "
            "no number gives NaN (floats), 0 (integers) or false (bool). The same holds for CastLike. String "
            "tensors compile for the C target's inference code only.",
}


def die(msg):
    print("make_ops_doc: " + msg, file=sys.stderr)
    sys.exit(1)


def norm_domain(d):
    return DEFAULT if d in ("", DEFAULT) else d


def domain_key(d):
    return (DOMAIN_ORDER.get(d, 3), d)


def jtc_ops(jtc):
    """{(domain, op): [range, ...]} from `jtc --list-ops`, ranges in table order."""
    try:
        out = subprocess.run([jtc, "--list-ops"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die("cannot run %s --list-ops: %s" % (jtc, e))
    ops = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+) \(opset (\d+(?:\+|-\d+))\)$", line.strip())
        if not m:
            die("unexpected line from %s --list-ops: %r" % (jtc, line))
        name = m.group(1)
        dom, _, op = name.rpartition(":")
        ops.setdefault((norm_domain(dom), op), []).append(m.group(2))
    if not ops:
        die("%s --list-ops printed no operators" % jtc)
    return ops


def onnx_schemas():
    """{(domain, op): (latest since_version, deprecated)} of ONNX's schemas."""
    import onnx.defs
    latest = {}
    for s in onnx.defs.get_all_schemas_with_history():
        k = (norm_domain(s.domain), s.name)
        if k not in latest or s.since_version > latest[k][0]:
            latest[k] = (s.since_version, bool(s.deprecated))
    return latest


def graph_ops(graph, ops):
    for n in graph.node:
        ops.add((norm_domain(n.domain), n.op_type))
        for a in n.attribute:
            if a.HasField("g"):
                graph_ops(a.g, ops)
            for g in a.graphs:
                graph_ops(g, ops)


def model_ops(path):
    """Op types used by the model at PATH: graph, subgraphs, local functions."""
    import onnx
    try:
        m = onnx.load(path, load_external_data=False)
    except Exception as e:  # a corrupt model: report, count it as using nothing
        print("make_ops_doc: cannot read %s: %s" % (path, e), file=sys.stderr)
        return set()
    ops = set()
    graph_ops(m.graph, ops)
    local = set()
    for f in m.functions:
        local.add((norm_domain(f.domain), f.name))
        for n in f.node:
            ops.add((norm_domain(n.domain), n.op_type))
            for a in n.attribute:
                if a.HasField("g"):
                    graph_ops(a.g, ops)
                for g in a.graphs:
                    graph_ops(g, ops)
    return ops - local


def corpus(data):
    """{name: (folder, ops)} of every test folder holding a model.onnx."""
    tests = {}
    for folder in FOLDERS:
        d = os.path.join(data, folder)
        if not os.path.isdir(d):
            die("no test folder %s (Debian package libonnx-testdata, or pass --data DIR)" % d)
        for name in sorted(os.listdir(d)):
            model = os.path.join(d, name, "model.onnx")
            if not os.path.isfile(model):
                continue
            if name in tests:
                die("test name %s is in both %s and %s" % (name, tests[name][0], folder))
            tests[name] = (folder, model_ops(model))
    if not tests:
        die("no tests (no */model.onnx) under %s" % data)
    return tests


def clean_reason(msg, data):
    msg = msg.replace(data.rstrip("/") + "/", "")
    msg = re.sub(r"/tmp/\S+", "WORK", msg)
    msg = " ".join(msg.split())
    if len(msg) > 160:
        msg = msg[:157] + "..."
    return msg.replace("|", "\\|")


def parse_log(text, tests, data):
    """{name: (status, reason)}: PASS/SKIP/FAIL of the tests of the corpus."""
    res = {}
    for line in text.splitlines():
        m = re.match(r"^(PASS|SKIP|FAIL) (\S+?)(?:: (.*)| \((.*)\))?$", line.rstrip())
        if not m or m.group(2) not in tests:
            continue
        status, name = m.group(1), m.group(2)
        why = "" if status == "PASS" else clean_reason(m.group(3) or "", data)
        res[name] = (status, why)
    return res


def run_conform(a):
    conform = a.conform or os.path.join(os.path.dirname(a.jtc), "tests", "conform")
    if not os.access(conform, os.X_OK):
        die("no conformance runner %s (run make first, or pass --conform PATH)" % conform)
    cmd = [conform, "--jtc", a.jtc, "--skips", a.skips, "-j", str(a.jobs)]
    for f in FOLDERS:
        cmd += ["--root", os.path.join(a.data, f)]
    print("make_ops_doc: running %s" % " ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if not re.search(r"^\d+ passed, \d+ failed, \d+ skipped$", p.stdout, re.M):
        die("%s did not finish (exit %d): %s" % (conform, p.returncode, (p.stderr or p.stdout)[-500:]))
    if a.save_log:
        with open(a.save_log, "w") as f:
            f.write(p.stdout)
    return p.stdout


def cell_range(ranges):
    return ", ".join(ranges) if ranges else "\u2014"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jtc", default="build/jtc", help="jtc binary (its --list-ops is the op table)")
    ap.add_argument("--log", help="conformance log of the four folders (default: run the conformance)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="libonnx-testdata root (default %(default)s)")
    ap.add_argument("-o", "--output", default="docs/ops.md")
    ap.add_argument("--conform", help="runner, without --log (default: tests/conform beside --jtc)")
    ap.add_argument("--skips", default="tests/conformance/skip.txt", help="skip file, without --log")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2, help="parallel tests, without --log")
    ap.add_argument("--save-log", help="without --log: write the conformance output here too")
    a = ap.parse_args()

    if not (os.path.isfile(a.jtc) and os.access(a.jtc, os.X_OK)):
        die("no jtc binary %s (run make first, or pass --jtc PATH)" % a.jtc)
    if not os.path.isdir(a.data):
        die("no test data folder %s (apt-get install libonnx-testdata, or pass --data DIR)" % a.data)
    try:
        import onnx  # noqa: F401
    except ImportError:
        die("%s lacks the onnx module (use Debian's /usr/bin/python3 with python3-onnx)" % sys.executable)

    jtc = jtc_ops(a.jtc)
    schemas = onnx_schemas()
    tests = corpus(a.data)
    if a.log:
        try:
            with open(a.log, errors="replace") as f:
                log = f.read()
        except OSError as e:
            die("cannot read log %s: %s" % (a.log, e))
    else:
        log = run_conform(a)
    if not re.search(r"^\d+ passed, \d+ failed, \d+ skipped$", log, re.M):
        die("%s has no `N passed, N failed, N skipped` line: the conformance run did not finish" % (a.log or "the log"))
    results = parse_log(log, tests, a.data)
    if not results:
        die("the log names none of the tests under %s" % a.data)

    # every op: ONNX's schemas, jtc's table, the corpus
    used = {}
    for name, (folder, ops) in tests.items():
        for k in ops:
            used.setdefault(k, []).append(name)
    keys = set(schemas) | set(jtc) | set(used)
    # other domains of the schemas only where jtc or the corpus mentions them
    wanted = {DEFAULT, "ai.onnx.preview.training", "ai.onnx.ml"} | {d for d, _ in jtc} | {d for d, _ in used}
    keys = sorted((k for k in keys if k[0] in wanted), key=lambda k: (domain_key(k[0]), k[1]))

    # per-folder summary
    summ = {f: [0, 0, 0, 0, 0] for f in FOLDERS}  # passed failed skipped not-in-log total
    for name, (folder, _) in tests.items():
        s = summ[folder]
        s[4] += 1
        st = results.get(name, ("NONE", ""))[0]
        s[{"PASS": 0, "FAIL": 1, "SKIP": 2, "NONE": 3}[st]] += 1

    def status(name):
        return results.get(name, ("NOT RUN", "not in the log"))

    L = []
    L.append("# ONNX operators in jtc")
    L.append("")
    L.append("<!-- generated by tests/conformance/make_ops_doc.py; do not edit by hand -->")
    L.append("")
    L.append("Generated by `make ops-doc` from jtc's op table (`jtc --list-ops`, `frontend/onnx/onnx_ops.c`), "
             "ONNX %s's operator schemas and a conformance run over Debian's libonnx-testdata "
             "(`tests/conformance/make_ops_doc.py`)." % __import__("onnx").__version__)
    L.append("")
    L.append("## Conformance summary")
    L.append("")
    any_missing = any(s[3] for s in summ.values())
    L.append("| folder | tests | passed | failed | skipped |" + (" not in log |" if any_missing else ""))
    L.append("|---|---:|---:|---:|---:|" + ("---:|" if any_missing else ""))
    tot = [0] * 5
    for f in FOLDERS:
        s = summ[f]
        tot = [x + y for x, y in zip(tot, s)]
        L.append("| %s | %d | %d | %d | %d |" % (f, s[4], s[0], s[1], s[2]) + (" %d |" % s[3] if any_missing else ""))
    L.append("| **all** | %d | %d | %d | %d |" % (tot[4], tot[0], tot[1], tot[2]) + (" %d |" % tot[3] if any_missing else ""))
    L.append("")
    for dom in sorted({k[0] for k in keys if k in schemas}, key=domain_key):
        n = sum(1 for k in keys if k[0] == dom and k in schemas)
        have = sum(1 for k in keys if k[0] == dom and k in schemas and k in jtc)
        L.append("- `%s`: %d of its %d ONNX %s operators have a row in jtc's op table." %
                 (dom, have, n, __import__("onnx").__version__))
    L.append("")
    L.append("## Operators")
    L.append("")
    L.append("One row per operator. *since*: the opset of its latest ONNX version; *jtc opsets*: the "
             "range jtc's op table accepts (\u2014: not supported); *node tests* (the `node` folder) "
             "and *other tests* (`pytorch-converted`, `pytorch-operator`, `simple`): tests whose "
             "model uses the op, subgraphs included, as passed/total; *not passed*: each such test "
             "that did not pass, with the runner's reason.")
    L.append("")
    L.append("| operator | domain | since | jtc opsets | node tests | other tests | not passed |")
    L.append("|---|---|---:|---|---:|---:|---|")
    for k in keys:
        dom, op = k
        if k in schemas:
            since = "%d%s" % (schemas[k][0], " (deprecated)" if schemas[k][1] else "")
        else:
            since = "\u2014"
        names = sorted(used.get(k, []))
        cols = []
        for node in (True, False):
            sel = [n for n in names if (tests[n][0] == "node") == node]
            ok = sum(1 for n in sel if status(n)[0] == "PASS")
            cols.append("%d/%d" % (ok, len(sel)) if sel else "")
        groups = {}
        for n in names:
            st, why = status(n)
            if st == "PASS":
                continue
            label = n if tests[n][0] == "node" else "%s/%s" % (tests[n][0], n)
            groups.setdefault("%s: %s" % (st, why) if why else st, []).append(label)
        notp = "<br>".join("%s (%s)" % (", ".join("`%s`" % x for x in v), r) for r, v in sorted(groups.items()))
        L.append("| %s | %s | %s | %s | %s | %s | %s |" % (op, dom, since, cell_range(jtc.get(k)), cols[0], cols[1], notp))
    L.append("")

    # notes: the things a reader would not expect
    notes = []
    for k in sorted(jtc, key=lambda k: (domain_key(k[0]), k[1])):
        if k not in schemas:
            notes.append("`%s` (%s) is in jtc's op table but not in ONNX %s's schemas." %
                         (k[1], k[0], __import__("onnx").__version__))
    for k in sorted(jtc, key=lambda k: (domain_key(k[0]), k[1])):
        if k in schemas:
            ends = [r for r in jtc[k] if not r.endswith("+")]
            if len(ends) == len(jtc[k]) and max(int(r.split("-")[1]) for r in ends) < schemas[k][0]:
                notes.append("`%s`: jtc's range %s stops below its latest ONNX version (%d%s)." %
                             (k[1], cell_range(jtc[k]), schemas[k][0], ", deprecated" if schemas[k][1] else ""))
    for k in sorted(used, key=lambda k: (domain_key(k[0]), k[1])):
        if k not in schemas:
            notes.append("`%s` (%s) is used by the corpus but is not in ONNX's schemas." % (k[1], k[0]))
        if k not in jtc:
            passing = sorted(n for n in used[k] if status(n)[0] == "PASS")
            if passing:
                notes.append("`%s` has no row in jtc's op table, yet these tests using it pass: %s." %
                             (k[1], ", ".join("`%s`" % n for n in passing)))
    for op in sorted(LIMITATIONS):
        notes.append("`%s`: %s" % (op, LIMITATIONS[op]))
    if notes:
        L.append("## Notes")
        L.append("")
        L.extend("- " + n for n in notes)
        L.append("")

    text = "\n".join(L)
    out_dir = os.path.dirname(a.output)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(text)
    print("make_ops_doc: wrote %s (%d operators, %d tests)" % (a.output, len(keys), len(tests)), file=sys.stderr)


if __name__ == "__main__":
    main()
