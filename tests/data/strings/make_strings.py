"""make_strings.py: the string fixtures of tests/cli_test.sh, written beside this script.

  case_upper.onnx   x: string[3] -> StringNormalizer(case_change_action=UPPER, no
                    stopwords) -> y: string[3], a case change at run time into the
                    generated file's string storage.
  casts.onnx        s: string[4] -> Cast to int64, bool, double, float16 (outputs 0-3);
                    i: int32[2], d: double[2], b: bool[2], h: float16[2] -> Cast to
                    string (outputs 4-7): every branch of the string_parse and
                    string_format kernels.
  moves.onnx        x: string[2,3] -> Transpose -> Reshape [6] -> Concat with a string
                    constant holding a quote, a backslash, a newline, "??=" and UTF-8
                    -> y: string[7], and Where(c: bool[7], y, constant) -> z: string[7]:
                    strings moved by GATHER/WHERE kernels, and string constants as C literals;
                    w: string[3], Concat of Constant value_strings ["p", "q"] and
                    Unsqueeze(Constant value_string "r"): an output folded to a constant.
  pad.onnx          Pad with a string constant_value, folded and at run time (below).

Run: /usr/bin/python3 tests/data/strings/make_strings.py
"""
import os

import onnx
from onnx import TensorProto, helper

here = os.path.dirname(os.path.abspath(__file__))
node = helper.make_node("StringNormalizer", ["x"], ["y"], name="norm", case_change_action="UPPER")
graph = helper.make_graph([node], "case_upper",
                          [helper.make_tensor_value_info("x", TensorProto.STRING, [3])],
                          [helper.make_tensor_value_info("y", TensorProto.STRING, [3])])
model = helper.make_model(graph, producer_name="make_strings.py", opset_imports=[helper.make_opsetid("", 10)])
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "case_upper.onnx"))


def save(name, nodes, inputs, outputs, inits=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    m = helper.make_model(graph, producer_name="make_strings.py", opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(here, name + ".onnx"))


T = TensorProto
vi = helper.make_tensor_value_info
to = [T.INT64, T.BOOL, T.DOUBLE, T.FLOAT16]
nodes = [helper.make_node("Cast", ["s"], ["o%d" % k], to=t) for k, t in enumerate(to)]
nodes += [helper.make_node("Cast", [x], ["o%d" % (4 + k)], to=T.STRING) for k, x in enumerate("idbh")]
save("casts", nodes,
     [vi("s", T.STRING, [4]), vi("i", T.INT32, [2]), vi("d", T.DOUBLE, [2]), vi("b", T.BOOL, [2]), vi("h", T.FLOAT16, [2])],
     [vi("o%d" % k, t, [4]) for k, t in enumerate(to)] + [vi("o%d" % (4 + k), T.STRING, [2]) for k in range(4)])

odd = ['say "hi"', "back\\slash", "new\nline", "??=", "\u00e9t\u00e9", "", "k"]
save("moves",
     [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 0]),
      helper.make_node("Reshape", ["t", "shape"], ["r"]),
      helper.make_node("Concat", ["r", "one"], ["y"], axis=0),
      helper.make_node("Where", ["c", "y", "odd"], ["z"]),
      helper.make_node("Constant", [], ["cpq"], value_strings=["p", "q"]),
      helper.make_node("Constant", [], ["cr"], value_string="r"),
      helper.make_node("Unsqueeze", ["cr", "ax0"], ["cr1"]),
      helper.make_node("Concat", ["cpq", "cr1"], ["w"], axis=0)],
     [vi("x", T.STRING, [2, 3]), vi("c", T.BOOL, [7])],
     [vi("y", T.STRING, [7]), vi("z", T.STRING, [7]), vi("w", T.STRING, [3])],
     [helper.make_tensor("shape", T.INT64, [1], [6]), helper.make_tensor("ax0", T.INT64, [1], [0]),
      helper.make_tensor("one", T.STRING, [1], [odd[0].encode()]),
      helper.make_tensor("odd", T.STRING, [7], [v.encode() for v in odd])])

# pad.onnx: Pad with constant_value "z": of the constant ["a", "b"] by [1, 1], folded at
# compile time to y = ["z", "a", "b", "z"]; of the input x2: string[2] by [1, 2] at run
# time, y2 = ["z", x2[0], x2[1], "z", "z"]
save("pad",
     [helper.make_node("Pad", ["x", "pads", "v"], ["y"], name="pad_const"),
      helper.make_node("Pad", ["x2", "pads2", "v"], ["y2"], name="pad_input")],
     [vi("x2", T.STRING, [2])], [vi("y", T.STRING, [4]), vi("y2", T.STRING, [5])],
     [helper.make_tensor("x", T.STRING, [2], [b"a", b"b"]), helper.make_tensor("pads", T.INT64, [2], [1, 1]),
      helper.make_tensor("pads2", T.INT64, [2], [1, 2]), helper.make_tensor("v", T.STRING, [], [b"z"])])
