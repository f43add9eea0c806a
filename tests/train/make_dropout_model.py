#!/usr/bin/python3
"""A model for the Dropout check of tests/train/run.sh: output = Dropout(input * w, ratio 0.5).

Usage: make_dropout_model.py OUT.onnx
input and output are float32 [64, 64]; w is a one-element initializer (1.0), the
weight a training build needs. With input all ones and target zeros, the mse loss
is 4 * (the fraction of elements kept) * w^2, so the loss measures the mask.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [64, 64])
y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [64, 64])
inits = [numpy_helper.from_array(np.ones([1], np.float32), "w"), numpy_helper.from_array(np.array(0.5, np.float32), "ratio")]
nodes = [helper.make_node("Mul", ["input", "w"], ["xw"]), helper.make_node("Dropout", ["xw", "ratio"], ["output"])]
model = helper.make_model(helper.make_graph(nodes, "dropout", [x], [y], inits), opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
