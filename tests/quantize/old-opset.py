"""Models older than QuantizeLinear (opset 9, like PaddleOCR cls) are upgraded before quantizing,
with per-channel weights (which need opset 13) and with --per-tensor (which needs 10) alike; the
result loads and runs in octet and stays close to float.
    old-opset.py OCTET"""
import os
import sys
import tempfile

import numpy as np
import onnx
from checks import check, finish, octet
from onnx import TensorProto, helper, numpy_helper

exe = sys.argv[1]

rng = np.random.default_rng(9)
w = rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)
b = rng.normal(0, 0.1, 8).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
     helper.make_node("Relu", ["c"], ["y"])],
    "opset9", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 12, 12])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8, 12, 12])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
model.ir_version = 4

with tempfile.TemporaryDirectory() as d:
    src, xp = os.path.join(d, "m.onnx"), os.path.join(d, "x.npy")
    onnx.save(model, src)
    x = rng.normal(0, 1, (32, 3, 12, 12)).astype(np.float32)
    np.save(xp, x)
    ref_dir = os.path.join(d, "ref")
    r = octet(exe, "run", src, "--input", f"x={xp}", "--output-dir", ref_dir)
    check(r.returncode == 0, f"float run: {r.stderr}")
    for extra in ([], ["--per-tensor"], ["--per-tensor", "--format", "qop"]):
        out = os.path.join(d, "q.onnx")
        if os.path.exists(out):
            os.remove(out)
        r = octet(exe, "quantize", src, out, "--data", xp, *extra)
        check(r.returncode == 0, f"{extra}: {r.stderr.strip()}")
        if r.returncode:
            continue
        opset = max(o.version for o in onnx.load(out).opset_import if o.domain in ("", "ai.onnx"))
        check(opset >= 10, f"{extra}: written with opset {opset}")
        qd = os.path.join(d, "q")
        r = octet(exe, "run", out, "--input", f"x={xp}", "--output-dir", qd)
        check(r.returncode == 0, f"{extra}: int8 run: {r.stderr}")
        if r.returncode == 0 and os.path.exists(os.path.join(ref_dir, "output_0.npy")):
            y0, y1 = np.load(os.path.join(ref_dir, "output_0.npy")), np.load(os.path.join(qd, "output_0.npy"))
            sqnr = 10 * np.log10((y0.astype(np.float64) ** 2).sum() / max(((y0 - y1).astype(np.float64) ** 2).sum(), 1e-30))
            check(sqnr > 25, f"{extra}: int8 output SQNR {sqnr:.1f} dB")

finish("old opset: ok")
