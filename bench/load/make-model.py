#!/usr/bin/python3
"""make-model.py OUT MB [--external] — a float MLP-like model of about MB megabytes of weights
(MatMul chain over 1024x1024 float blocks), optionally with its weights in a side file."""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out, mb = sys.argv[1], int(sys.argv[2])
external = "--external" in sys.argv
n = 1024
layers = max(1, (mb << 20) // (n * n * 4))
rng = np.random.default_rng(0)
inits, nodes = [], []
x = "x"
for i in range(layers):
    w = rng.standard_normal((n, n), dtype=np.float32) * 0.03
    inits.append(numpy_helper.from_array(w, "w%d" % i))
    nodes.append(helper.make_node("MatMul", [x, "w%d" % i], ["h%d" % i], name="mm%d" % i))
    x = "h%d" % i
g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n])],
                      [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", n])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="octet-bench")
m.ir_version = 8
if external:
    onnx.save_model(m, out, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=out.split("/")[-1] + ".weights", size_threshold=1024)
else:
    onnx.save_model(m, out)
