#!/usr/bin/python3
"""make_onnx_fixtures.py: writes the tiny ONNX models the frontend's unit tests
(tests/unit/test_onnx_loader.c) load, into tests/data/onnx/. Each is a few
hundred bytes; some are deliberately broken. Run with Debian's python3 (onnx
1.12, numpy):  /usr/bin/python3 tests/data/make_onnx_fixtures.py
The output is deterministic, so rerunning it changes no committed file."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")


def save(model, name, check=True):
    if check:
        onnx.checker.check_model(model)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    assert os.path.getsize(path) < 10 * 1024, name


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="jtc-fixtures")
    m.ir_version = 8
    return m


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    w = numpy_helper.from_array(np.array([[1, -2, 3], [-4, 5, -6]], np.float32), "W")

    # Y = Relu(X + W), X [2,3]
    save(model([helper.make_node("Add", ["X", "W"], ["S"], name="add1"),
                helper.make_node("Relu", ["S"], ["Y"], name="relu1")],
               [vi("X", [2, 3])], [vi("Y", [2, 3])], [w]), "add_relu.onnx")

    # PyTorch-style shape chain: Y = Reshape(X, Concat(Unsqueeze(Gather(Shape(X), 0)), [-1])), X [2,3,4]
    save(model([helper.make_node("Shape", ["X"], ["s"], name="shape"),
                helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
                helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq"),
                helper.make_node("Concat", ["n1", "minus1"], ["shp"], name="concat", axis=0),
                helper.make_node("Reshape", ["X", "shp"], ["Y"], name="reshape")],
               [vi("X", [2, 3, 4])], [vi("Y", [2, 12])],
               [numpy_helper.from_array(np.array(0, np.int64), "zero"),
                numpy_helper.from_array(np.array([0], np.int64), "ax0"),
                numpy_helper.from_array(np.array([-1], np.int64), "minus1")]), "shape_chain.onnx")

    # symbolic batch dim: X ['N', 3] -> Y = Sigmoid(X)
    save(model([helper.make_node("Sigmoid", ["X"], ["Y"], name="sig")],
               [vi("X", ["N", 3])], [vi("Y", ["N", 3])]), "symbolic_batch.onnx")

    # one unsupported op, after a supported one
    save(model([helper.make_node("Relu", ["X"], ["A"], name="relu1"),
                helper.make_node("LpNormalization", ["A"], ["Y"], name="mystery")],
               [vi("X", [2])], [vi("Y", [2])]), "unsupported_one.onnx", check=False)

    # two unsupported ops (one of them twice), listed in one message
    save(model([helper.make_node("LpNormalization", ["X"], ["A"], name="lpnorm_a"),
                helper.make_node("Relu", ["A"], ["B"], name="relu1"),
                helper.make_node("LpNormalization", ["B"], ["C"], name="lpnorm_b"),
                helper.make_node("Frobnicate", ["C"], ["Y"], name="frob", domain="com.example")],
               [vi("X", [2])], [vi("Y", [2])]), "unsupported_two.onnx", check=False)

    # a node name carrying a terminal escape sequence: messages must not pass it through
    save(model([helper.make_node("Relu", ["X"], ["A"], name="relu1"),
                helper.make_node("LpNormalization", ["A"], ["Y"], name="\x1b[2J\x1b[31mevil\n")],
               [vi("X", [2])], [vi("Y", [2])]), "hostile_name.onnx", check=False)

    # initializer whose raw_data disagrees with its dims (8 bytes for 2x3 floats)
    bad = numpy_helper.from_array(np.zeros((2, 3), np.float32), "W")
    bad.raw_data = bad.raw_data[:8]
    save(model([helper.make_node("Add", ["X", "W"], ["Y"], name="add1")],
               [vi("X", [2, 3])], [vi("Y", [2, 3])], [bad]), "bad_raw_size.onnx", check=False)

    # initializer whose dims claim far more data than present (header lies)
    huge = helper.make_tensor("W", TensorProto.FLOAT, [1], [1.0])
    huge.dims[:] = [1 << 20, 1 << 20]
    save(model([helper.make_node("Add", ["X", "W"], ["Y"], name="add1")],
               [vi("X", [1])], [vi("Y", [1])], [huge]), "huge_claim.onnx", check=False)

    # external data: one inside the model's directory, one escaping it
    data = np.array([0.5, -1.5, 2.5, -3.5, 4.5, -5.5], np.float32)
    with open(os.path.join(OUT, "external_ok.bin"), "wb") as f:
        f.write(b"\0" * 8 + data.tobytes())
    for name, loc, off in (("external_ok.onnx", "external_ok.bin", 8), ("external_escape.onnx", "../secret.bin", 0),
                           ("external_absolute.onnx", "/etc/passwd", 0), ("external_short.onnx", "external_ok.bin", 16)):
        t = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2, 3])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", loc), ("offset", str(off)), ("length", str(24))):
            e = t.external_data.add()
            e.key, e.value = k, v
        save(model([helper.make_node("Add", ["X", "W"], ["Y"], name="add1")],
                   [vi("X", [2, 3])], [vi("Y", [2, 3])], [t]), name, check=False)

    # Conv whose kernel_shape has 3 values for a 4-D input
    cw = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "CW")
    save(model([helper.make_node("Conv", ["X", "CW"], ["Y"], name="conv1", kernel_shape=[3, 3, 3])],
               [vi("X", [1, 1, 5, 5])], [vi("Y", [1, 1, 3, 3])], [cw]), "conv_bad_kernel.onnx", check=False)

    # two independent errors and a dependent node: both errors reported, the dependent one quietly skipped
    save(model([helper.make_node("Conv", ["X", "CW"], ["A"], name="conv1", kernel_shape=[3, 3, 3]),
                helper.make_node("Relu", ["A"], ["B"], name="after_conv1"),
                helper.make_node("Reshape", ["X", "S"], ["C"], name="reshape_dyn"),
                helper.make_node("Relu", ["X"], ["D"], name="fine")],
               [vi("X", [1, 1, 5, 5]), vi("S", [2], TensorProto.INT64)],
               [vi("B", None), vi("C", None), vi("D", None)], [cw]), "two_errors.onnx", check=False)

    # Softmax at opset 11 (flattens at axis) on [2,2,2]
    save(model([helper.make_node("Softmax", ["X"], ["Y"], name="sm", axis=1)],
               [vi("X", [2, 2, 2])], [vi("Y", [2, 2, 2])], opset=11), "softmax_opset11.onnx")

    # a serialized TensorProto, as in ONNX test data
    with open(os.path.join(OUT, "tensor_i64.pb"), "wb") as f:
        f.write(numpy_helper.from_array(np.array([[1, 2, 3], [4, 5, 6]], np.int64), "t").SerializeToString())


if __name__ == "__main__":
    main()
