"""int32 biases never saturate: a channel whose weights are (nearly) zero would get a tiny weight
scale and its bias b / (x scale * w scale) would overflow int32; the quantizer raises that
channel's weight scale instead, so the stored bias dequantizes to the float bias and the int8
model's output for that channel is the bias.
    bias-fit.py OCTET"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

octet = sys.argv[1]
rng = np.random.default_rng(3)
w = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
w[0] = 1e-12  # a dead channel, as PaddleOCR det has
w[1, 0] = 0.0
b = np.array([5.0, -3.0, 0.25], np.float32)
g = helper.make_graph([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])], "bias",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 5, 5])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                      [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
failures = []
with tempfile.TemporaryDirectory() as d:
    src, out, xp = os.path.join(d, "m.onnx"), os.path.join(d, "q.onnx"), os.path.join(d, "x.npy")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    x = rng.normal(size=(4, 2, 5, 5)).astype(np.float32) * 1e-3  # small inputs: a tiny input scale
    np.save(xp, x)
    r = subprocess.run([octet, "quantize", src, out, "--data", xp], capture_output=True, text=True)
    if r.returncode:
        print(r.stderr)
        sys.exit(1)
    q = onnx.load(out).graph
    inits = {t.name: numpy_helper.to_array(t) for t in q.initializer}
    for n in q.node:
        if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None and inits[n.input[0]].dtype == np.int32:
            bq = inits[n.input[0]].astype(np.int64)
            if np.abs(bq).max() >= 2**31 - 1:
                failures.append(f"int32 bias saturated: {bq}")
            deq = bq * inits[n.input[1]].astype(np.float64)
            if not np.allclose(deq, b, rtol=1e-4, atol=1e-6):
                failures.append(f"bias dequantizes to {deq}, float {b}")
    od = os.path.join(d, "o")
    os.makedirs(od)
    r = subprocess.run([octet, "run", out, "--input", f"x={xp}", "--output-dir", od], capture_output=True, text=True)
    y = np.load(os.path.join(od, "output_0.npy")) if r.returncode == 0 else None
    if y is None:
        failures.append(f"run failed: {r.stderr}")
    elif not np.allclose(y[:, 0], 5.0, atol=0.05):
        failures.append(f"dead channel's output is {y[:, 0].min()}..{y[:, 0].max()}, not its bias 5.0")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("bias fit: ok")
