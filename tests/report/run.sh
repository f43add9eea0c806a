#!/bin/sh
# run.sh: the `report` suite of make test: jtc --report=FILE.json and
# --dump-dot=FILE for samples/mlp and samples/lenet, built for C (weights
# embedded, and in a .weights file), C --naive and CUDA. check_report.py
# checks each report against the files generated with it and the ONNX model
# (keys in the documented order, arena bytes = the header's macro, kernels =
# the generated calls, GEMM FLOPs = the model's 2*M*N*K, weights = the
# .weights file, arena buffers disjoint while live) and that `dot -Tsvg`
# renders one box per kernel. Then: two runs give byte-identical reports and
# DOT files; the total FLOPs are the same for every schedule of a model;
# model names with quotes, backslashes and newlines survive into valid JSON
# and DOT.
#
#   B=build PYTHON=/usr/bin/python3 sh tests/report/run.sh
#
# Prints PASS/FAIL/SKIP per check and ends with `N passed, N failed, N skipped`.
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
W=$B/report
passed=0 failed=0 skipped=0
rm -rf "$W"
mkdir -p "$W"
ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }
have_dot=
command -v dot >/dev/null 2>&1 && have_dot=1

# tally FILE: add the PASS/FAIL/SKIP lines of check_report.py's output in FILE
tally() {
  cat "$1"
  passed=$((passed + $(grep -c '^PASS ' "$1"))) failed=$((failed + $(grep -c '^FAIL ' "$1"))) skipped=$((skipped + $(grep -c '^SKIP ' "$1")))
}

# case MODEL NAME EXT FLAGS...: compile samples/MODEL into $W/MODEL/NAME/net.EXT with a report and a DOT file, check both
case_() {
  model=$1 name=$2 ext=$3
  shift 3
  d=$W/$model/$name
  mkdir -p "$d"
  if ! "$B/jtc" -q "samples/$model/model.onnx" "$@" -o "$d/net.$ext" --report "$d/net.json" --dump-dot="$d/net.dot" >"$d/log" 2>&1; then
    bad "$model/$name" "jtc failed: $(head -n 1 "$d/log")"
    return
  fi
  svg=
  if [ -n "$have_dot" ]; then
    if dot -Tsvg "$d/net.dot" -o "$d/net.svg" 2>"$d/dot.log"; then svg="--svg $d/net.svg"; else bad "$model/$name dot" "dot -Tsvg failed: $(head -n 1 "$d/dot.log")"; fi
  else
    skip "$model/$name dot" "graphviz (dot) is not installed"
  fi
  wflag=
  [ -f "$d/net.weights" ] && wflag="--weights $d/net.weights"
  # shellcheck disable=SC2086
  "$PYTHON" tests/report/check_report.py --report "$d/net.json" --source "$d/net.$ext" --header "$d/net.h" \
    --model "samples/$model/model.onnx" --tag "$model/$name" $svg $wflag >"$d/check" 2>&1
  rc=$?
  tally "$d/check"
  if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$d/check"; then bad "$model/$name" "check_report.py failed: $(tail -n 1 "$d/check")"; fi
}

flops() { "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["totals"]["flops"])' "$1" 2>/dev/null; }

for model in mlp lenet; do
  case_ "$model" c c
  case_ "$model" external c --external-weights
  case_ "$model" naive c --naive
  case_ "$model" embedded c --embedded
  case_ "$model" cuda cu --target=cuda

  # determinism: another run (another directory, the same file names) gives the same bytes
  d=$W/$model/again
  mkdir -p "$d"
  if "$B/jtc" -q "samples/$model/model.onnx" -o "$d/net.c" --report="$d/net.json" --dump-dot "$d/net.dot" >"$d/log" 2>&1 &&
     cmp -s "$d/net.json" "$W/$model/c/net.json" && cmp -s "$d/net.dot" "$W/$model/c/net.dot"; then
    ok "$model report and DOT byte-identical across runs"
  else
    bad "$model report and DOT byte-identical across runs" "$(head -n 1 "$d/log") (or the files differ)"
  fi

  # the FLOP count is a property of the model's nodes, not of the schedule
  f1=$(flops "$W/$model/c/net.json") f2=$(flops "$W/$model/naive/net.json") f3=$(flops "$W/$model/cuda/net.json") f4=$(flops "$W/$model/embedded/net.json")
  if [ -n "$f1" ] && [ "$f1" = "$f2" ] && [ "$f1" = "$f3" ] && [ "$f1" = "$f4" ]; then
    ok "$model total FLOPs the same for C, --naive, --embedded and CUDA ($f1)"
  else
    bad "$model total FLOPs the same for C, --naive, --embedded and CUDA" "C $f1, naive $f2, CUDA $f3, embedded $f4"
  fi
done

# model text that needs escaping: quotes, a backslash and a newline in node and output names
d=$W/odd
mkdir -p "$d"
if ! "$PYTHON" -c 'import onnx' 2>/dev/null; then
  skip odd-names "$PYTHON lacks onnx"
elif "$PYTHON" - "$d/odd.onnx" <<'PY' >"$d/log" 2>&1 &&
import sys
from onnx import TensorProto, helper, save
node = 'relu "one" \\ two\nthree'
out = 'y "out" \\'
g = helper.make_graph([helper.make_node("Relu", ["x"], [out], name=node)], "odd",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                      [helper.make_tensor_value_info(out, TensorProto.FLOAT, [2, 3])])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
   "$B/jtc" -q "$d/odd.onnx" -o "$d/odd.c" --report="$d/odd.json" --dump-dot="$d/odd.dot" >>"$d/log" 2>&1 &&
   "$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8"))
assert r["kernels"][0]["onnx_nodes"] == ["relu \"one\" \\ two\nthree"], r["kernels"][0]["onnx_nodes"]
assert r["outputs"][0]["name"] == "y \"out\" \\", r["outputs"][0]["name"]
' "$d/odd.json" >>"$d/log" 2>&1 &&
   grep -qF 'tooltip="relu \"one\" \\ two\nthree"' "$d/odd.dot" && grep -qF 'label="output: y \"out\" \\\nfloat32[2,3]"' "$d/odd.dot" &&
   { [ -z "$have_dot" ] || dot -Tsvg "$d/odd.dot" -o "$d/odd.svg" >>"$d/log" 2>&1; }; then
  ok "odd names: JSON keeps them exactly, dot accepts the DOT file"
else
  bad "odd names" "$(tail -n 3 "$d/log" | tr '\n' ' ')"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
