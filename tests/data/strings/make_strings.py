"""make_strings.py: the string fixtures of tests/cli_test.sh, written beside this script.

  case_upper.onnx   x: string[3] -> StringNormalizer(case_change_action=UPPER, no
                    stopwords) -> y: string[3], a case change at run time into the
                    generated file's string storage.

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
