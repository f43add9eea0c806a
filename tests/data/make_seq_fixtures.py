#!/usr/bin/python3
"""make_seq_fixtures.py: writes the tiny ONNX models and SequenceProto /
OptionalProto files the sequence and optional unit tests
(tests/unit/test_onnx_seq.c) load, into tests/data/seq/. Run with Debian's
python3 (onnx 1.12, numpy):  /usr/bin/python3 tests/data/make_seq_fixtures.py
The output is deterministic, so rerunning it changes no committed file."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq")
F = TensorProto.FLOAT
I64 = TensorProto.INT64


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    write(model, name)


def write(msg, name):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(msg.SerializeToString())
    assert os.path.getsize(path) < 10 * 1024, name


def model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="jtc-fixtures")
    m.ir_version = 8
    return m


def vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def seq_vi(name, t=F, shape=None):
    return helper.make_value_info(name, helper.make_sequence_type_proto(helper.make_tensor_type_proto(t, shape)))


def opt_vi(name, inner):
    return helper.make_value_info(name, helper.make_optional_type_proto(inner))


def i64(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def main():
    os.makedirs(OUT, exist_ok=True)

    # X, Y [2,3]: s = [X+1, X, Y] (Construct, Insert at 0, then Erase of a 4th
    # element), at = s[-2] (= X), len = 3, cat = Concat(s, axis 0) [6,3],
    # stk = Concat(s, axis -1, new_axis) [2,3,3]
    save(model([helper.make_node("Add", ["X", "one"], ["X1"]),
                helper.make_node("SequenceConstruct", ["X", "Y", "Y"], ["s0"]),
                helper.make_node("SequenceErase", ["s0"], ["s1"]),
                helper.make_node("SequenceInsert", ["s1", "X1", "zero"], ["s"]),
                helper.make_node("SequenceAt", ["s", "minus2"], ["at"]),
                helper.make_node("SequenceLength", ["s"], ["len"]),
                helper.make_node("ConcatFromSequence", ["s"], ["cat"], axis=0),
                helper.make_node("ConcatFromSequence", ["s"], ["stk"], axis=-1, new_axis=1)],
               [vi("X", [2, 3]), vi("Y", [2, 3])],
               [vi("at", [2, 3]), vi("len", [], I64), vi("cat", [6, 3]), vi("stk", [2, 3, 3])],
               [numpy_helper.from_array(np.array(1, np.float32), "one"), i64("zero", 0), i64("minus2", -2)]),
         "seq_ops.onnx")

    # X [2,6]: parts = SplitToSequence(X, [1,2,3], axis 1) (output flattened to
    # parts.0 .. parts.2), chunks = SplitToSequence(X, 4, axis 1) ([2,4], [2,2]),
    # rows = SplitToSequence(X, keepdims 0) ([6], [6])
    save(model([helper.make_node("SplitToSequence", ["X", "sizes"], ["parts"], axis=1),
                helper.make_node("SplitToSequence", ["X", "four"], ["chunks"], axis=1),
                helper.make_node("SplitToSequence", ["X"], ["rows"], keepdims=0)],
               [vi("X", [2, 6])], [seq_vi("parts"), seq_vi("chunks"), seq_vi("rows")],
               [i64("sizes", [1, 2, 3]), i64("four", 4)]),
         "seq_split.onnx")

    # S: a sequence input (shapes from a --seq file), T [2]: y = SequenceMap(S, T)
    # with body Add (T broadcast), n = SequenceLength(S)
    body = helper.make_graph([helper.make_node("Add", ["a", "b"], ["c"])], "body",
                             [vi("a", None), vi("b", [2])], [vi("c", None)])
    save(model([helper.make_node("SequenceMap", ["S", "T"], ["y"], body=body),
                helper.make_node("SequenceLength", ["S"], ["n"])],
               [seq_vi("S"), vi("T", [2])], [seq_vi("y"), vi("n", [], I64)]),
         "seq_map.onnx")
    s = helper.make_sequence("S", onnx.SequenceProto.TENSOR,
                             [numpy_helper.from_array(np.zeros((3, 2), np.float32)),
                              numpy_helper.from_array(np.zeros((1, 2), np.float32))])
    write(s, "seq_map_S.pb")

    # optionals: o = Optional(X); e = Optional() of float tensors;
    # has_o, has_e = OptionalHasElement; got = OptionalGetElement(o)
    save(model([helper.make_node("Optional", ["X"], ["o"]),
                helper.make_node("Optional", [], ["e"], type=helper.make_tensor_type_proto(F, [2])),
                helper.make_node("OptionalHasElement", ["o"], ["has_o"]),
                helper.make_node("OptionalHasElement", ["e"], ["has_e"]),
                helper.make_node("OptionalGetElement", ["o"], ["got"])],
               [vi("X", [2])],
               [vi("has_o", [], TensorProto.BOOL), vi("has_e", [], TensorProto.BOOL), vi("got", [2])]),
         "seq_optional.onnx")
    # an optional-sequence input and its two --seq files (empty, and holding two tensors)
    inner = helper.make_sequence_type_proto(helper.make_tensor_type_proto(F, None))
    save(model([helper.make_node("OptionalHasElement", ["O"], ["has"])],
               [opt_vi("O", inner)], [vi("has", [], TensorProto.BOOL)]),
         "seq_opt_input.onnx")
    write(helper.make_optional("O", onnx.OptionalProto.UNDEFINED, None), "seq_opt_empty.pb")
    write(helper.make_optional("O", onnx.OptionalProto.SEQUENCE,
                               helper.make_sequence("", onnx.SequenceProto.TENSOR,
                                                    [numpy_helper.from_array(np.array([1, 2], np.float32)),
                                                     numpy_helper.from_array(np.array([[3]], np.float32))])),
          "seq_opt_two.pb")

    # errors: a position out of range; a sequence fed to Relu
    save(model([helper.make_node("SequenceConstruct", ["X", "X"], ["s"]),
                helper.make_node("SequenceAt", ["s", "five"], ["y"])],
               [vi("X", [2])], [vi("y", [2])], [i64("five", 5)]),
         "seq_bad_position.onnx")
    save(model([helper.make_node("SequenceConstruct", ["X"], ["s"]),
                helper.make_node("Relu", ["s"], ["y"])],
               [vi("X", [2])], [vi("y", [2])]),
         "seq_to_relu.onnx", check=False)


if __name__ == "__main__":
    main()
