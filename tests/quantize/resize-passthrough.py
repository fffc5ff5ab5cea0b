"""Resize in nearest mode is data movement: in the QDQ model it sits between a DQ and a Q with
its input's scale and zero point, octet runs it on the uint8 tensor, and ONNX Runtime computes
the same bytes. Linear Resize computes new values and stays float.
    resize-passthrough.py OCTET"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

octet = sys.argv[1]
root = os.environ.get("OCTET_SOURCE_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
rng = np.random.default_rng(5)
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


w1 = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w1")
w2 = numpy_helper.from_array(rng.normal(size=(2, 4, 3, 3)).astype(np.float32), "w2")
scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
with tempfile.TemporaryDirectory() as d:
    for mode in ("nearest", "linear"):
        g = helper.make_graph([helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
                               helper.make_node("Resize", ["c", "", "scales"], ["r"], mode=mode),
                               helper.make_node("Conv", ["r", "w2"], ["y"], pads=[1, 1, 1, 1])], "resize",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w1, w2, scales])
        src, out, xp = (os.path.join(d, f) for f in (f"{mode}.onnx", f"{mode}-q.onnx", "x.npy"))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
        x = rng.normal(size=(2, 3, 8, 8)).astype(np.float32)
        np.save(xp, x)
        r = subprocess.run([octet, "quantize", src, out, "--data", xp], capture_output=True, text=True)
        check(r.returncode == 0, f"{mode}: quantize: {r.stderr}")
        if r.returncode:
            continue
        q = onnx.load(out).graph
        prod = {o: n for n in q.node for o in n.output}
        inits = {t.name: numpy_helper.to_array(t) for t in q.initializer}
        rs = [n for n in q.node if n.op_type == "Resize"][0]
        dq_in = prod.get(rs.input[0])
        q_out = [n for n in q.node if n.op_type == "QuantizeLinear" and n.input[0] == rs.output[0]]
        if mode == "nearest":
            check(dq_in is not None and dq_in.op_type == "DequantizeLinear" and len(q_out) == 1,
                  "nearest: Resize is not between a DQ and a Q")
            if dq_in is not None and q_out:
                same = all(np.array_equal(inits[a], inits[b]) for a, b in zip(dq_in.input[1:], q_out[0].input[1:]))
                check(same, "nearest: the Q after Resize has other parameters than the DQ before it")
            r = subprocess.run([octet, "run", out, "--input", f"x={xp}", "--profile", "--threads", "1"],
                               capture_output=True, text=True)
            check(re.search(r"Resize\s+uint8", r.stdout) is not None, f"nearest: octet did not run Resize on uint8:\n{r.stdout}")
            # ONNX Runtime on the same file: the same output
            od = os.path.join(d, "o")
            os.makedirs(od, exist_ok=True)
            subprocess.run([octet, "run", out, "--input", f"x={xp}", "--output-dir", od], check=True, capture_output=True)
            ours = np.load(os.path.join(od, "output_0.npy"))
            xf, yf = os.path.join(d, "x.f32"), os.path.join(d, "y.f32")
            x.tofile(xf)
            r = subprocess.run(["node", os.path.join(root, "tests", "quantize", "ort-level.js"), out, "all", "x", xf,
                                "2,3,8,8", yf], capture_output=True, text=True)
            check(r.returncode == 0, f"ONNX Runtime: {r.stderr}")
            if r.returncode == 0:
                theirs = np.fromfile(yf, np.float32).reshape(ours.shape)
                check(np.array_equal(ours, theirs), f"nearest: octet and ONNX Runtime differ by {np.abs(ours - theirs).max()}")
        else:  # computes new values: float in octet, and its output gets its own range
            r = subprocess.run([octet, "run", out, "--input", f"x={xp}", "--profile", "--threads", "1"],
                               capture_output=True, text=True)
            check(re.search(r"Resize\s+float", r.stdout) is not None, f"linear: Resize did not run in float:\n{r.stdout}")
            check(len(q_out) == 1 and not (dq_in is not None and dq_in.op_type == "DequantizeLinear" and
                  all(np.array_equal(inits[a], inits[b]) for a, b in zip(dq_in.input[1:], q_out[0].input[1:]))),
                  "linear: Resize was treated as data movement")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("resize passthrough: ok")
