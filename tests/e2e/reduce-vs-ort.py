"""ReduceMean and ReduceSum over the last axis give ONNX Runtime's float bits exactly (octet sums
in its order), for row lengths around every alignment case: LayerNorm spelled out in a quantized
graph then rounds where ONNX Runtime rounds.
    reduce-vs-ort.py OCTET"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

octet = sys.argv[1]
root = os.environ.get("OCTET_SOURCE_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ort_level = os.path.join(root, "tests", "quantize", "ort-level.js")
rng = np.random.default_rng(1)
failures = []
with tempfile.TemporaryDirectory() as d:
    for n in (1, 3, 5, 8, 12, 13, 64, 67, 250):
        rows = 300
        x = (rng.normal(size=(rows, n)) * rng.uniform(0.1, 10, size=(rows, 1))).astype(np.float32)
        for op in ("ReduceMean", "ReduceSum"):
            mean = op == "ReduceMean"
            node = helper.make_node(op, ["x"] if mean else ["x", "ax"], ["y"], keepdims=1, **({"axes": [-1]} if mean else {}))
            inits = [] if mean else [numpy_helper.from_array(np.array([-1], np.int64), "ax")]
            g = helper.make_graph([node], "r", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, n])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, 1])], inits)
            mp, xf, xn, yf, od = (os.path.join(d, f) for f in ("m.onnx", "x.f32", "x.npy", "y.f32", "o"))
            onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), mp)
            x.tofile(xf)
            np.save(xn, x)
            r = subprocess.run(["node", ort_level, mp, "basic", "x", xf, f"{rows},{n}", yf], capture_output=True, text=True)
            if r.returncode:
                failures.append(f"ONNX Runtime: {r.stderr.strip()}")
                continue
            os.makedirs(od, exist_ok=True)
            r = subprocess.run([octet, "run", mp, "--input", f"x={xn}", "--output-dir", od], capture_output=True, text=True)
            if r.returncode:
                failures.append(f"octet: {r.stderr.strip()}")
                continue
            ours, theirs = np.load(os.path.join(od, "output_0.npy")), np.fromfile(yf, np.float32).reshape(rows, 1)
            bad = int((ours.view(np.uint32) != theirs.view(np.uint32)).sum())
            if bad:
                failures.append(f"{op} over {n} values: {bad} of {rows} rows differ from ONNX Runtime")
if failures:
    print("\n".join(failures))
    sys.exit(1)
print("reduce vs ORT: bit-identical")
