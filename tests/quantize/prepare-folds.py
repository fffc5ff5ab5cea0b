"""Prepare passes of `octet quantize` on hand-made graphs: BatchNormalization and Mul/Add by
per-channel or scalar constants fold into the Conv/ConvTranspose before them (or the unpadded Conv after them), and the folded float
graph computes what the original did; x * Clip(x+3, 0, 6) / 6 becomes one HardSwish (opset 14); shapes that only look per-channel (a [C] vector broadcasts
along the last axis, not the channels) and convolutions with two readers are left alone.
Every compute op is excluded, so the written model is the prepared float graph.
    prepare-folds.py OCTET"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from checks import check, finish
from onnx import TensorProto, helper, numpy_helper

octet = sys.argv[1]
rng = np.random.default_rng(7)

def const(name, a):
    return numpy_helper.from_array(np.asarray(a, np.float32), name)


def model(nodes, inits, cin=3, hw=6, out_shape=None):
    g = helper.make_graph(nodes, "folds", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", cin, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


C = 4
w = rng.normal(size=(C, 3, 3, 3)).astype(np.float32)
wt = rng.normal(size=(3, C, 2, 2)).astype(np.float32)
b = rng.normal(size=C).astype(np.float32)
bn = [const("g", rng.uniform(0.5, 2, C)), const("be", rng.normal(size=C)), const("mu", rng.normal(size=C)),
      const("var", rng.uniform(0.5, 2, C))]
cases = {
    # Conv -> Mul(scalar) -> Add([1,C,1,1]) -> Relu: both fold
    "conv-affine": (model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                           helper.make_node("Mul", ["c", "k"], ["m"]), helper.make_node("Add", ["kb", "m"], ["a"]),
                           helper.make_node("Relu", ["a"], ["y"])],
                          [const("w", w), const("b", b), const("k", [1.7]), const("kb", rng.normal(size=(1, C, 1, 1)))]),
                    {"Conv": 1, "Relu": 1}),
    # ConvTranspose -> Add([C,1,1]) -> BatchNormalization -> Relu: Add and BN fold (PaddleOCR's DB head)
    "convt-add-bn": (model([helper.make_node("ConvTranspose", ["x", "wt"], ["t"], strides=[2, 2]),
                            helper.make_node("Add", ["t", "tb"], ["a"]),
                            helper.make_node("BatchNormalization", ["a", "g", "be", "mu", "var"], ["n"]),
                            helper.make_node("Relu", ["n"], ["y"])],
                           [const("wt", wt), const("tb", rng.normal(size=(C, 1, 1)))] + bn),
                     {"ConvTranspose": 1, "Relu": 1}),
    # A [C] vector broadcasts along W, not along channels: must stay a Mul
    "vector-not-channels": (model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                                   helper.make_node("Mul", ["c", "k"], ["y"])],
                                  [const("w", w), const("b", b), const("k", rng.normal(size=C))], hw=C),
                            {"Conv": 1, "Mul": 1}),
    # The conv output has a second reader: folding would change what it sees
    "two-readers": (model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                           helper.make_node("Mul", ["c", "k"], ["m"]), helper.make_node("Add", ["m", "c"], ["y"])],
                          [const("w", w), const("b", b), const("k", [0.5])]),
                    {"Conv": 1, "Mul": 1, "Add": 1}),
    # Mul(scalar) -> Add([1,C,1,1]) -> unpadded Conv (1x1 and a grouped 3x3): both fold into it
    "affine-before-conv": (model([helper.make_node("Relu", ["x"], ["r"]),
                                  helper.make_node("Mul", ["r", "k"], ["m"]), helper.make_node("Add", ["m", "kb"], ["a"]),
                                  helper.make_node("Conv", ["a", "w1"], ["c1"]),
                                  helper.make_node("Mul", ["c1", "k2"], ["m2"]),
                                  helper.make_node("Conv", ["m2", "wg", "bg"], ["y"], group=2)],
                                 [const("k", [0.7]), const("kb", rng.normal(size=(1, 3, 1, 1))),
                                  const("w1", rng.normal(size=(C, 3, 1, 1))), const("k2", [-1.3]),
                                  const("wg", rng.normal(size=(C, C // 2, 3, 3))), const("bg", rng.normal(size=C))]),
                           {"Relu": 1, "Conv": 2}),
    # ... but not into a padded one: the constant would be added inside the image only
    "affine-before-padded-conv": (model([helper.make_node("Relu", ["x"], ["r"]),
                                         helper.make_node("Add", ["r", "kb"], ["a"]),
                                         helper.make_node("Conv", ["a", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
                                        [const("kb", [0.5]), const("w", w), const("b", b)]),
                                  {"Relu": 1, "Add": 1, "Conv": 1}),
    # x * Clip(x + 3, 0, 6) / 6 after a conv: one HardSwish at opset 14
    "hardswish": (model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                         helper.make_node("Add", ["c", "three"], ["a"]),
                         helper.make_node("Clip", ["a", "zero", "six"], ["cl"]),
                         helper.make_node("Mul", ["c", "cl"], ["m"]), helper.make_node("Div", ["m", "six"], ["y"])],
                        [const("w", w * 3), const("b", b), const("three", 3.0), const("zero", 0.0), const("six", 6.0)]),
                  {"Conv": 1, "HardSwish": 1}),
    # the same spelling with a second reader of the Clip: not a HardSwish any more
    "hardswish-shared": (model([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
                                helper.make_node("Add", ["c", "three"], ["a"]),
                                helper.make_node("Clip", ["a", "zero", "six"], ["cl"]),
                                helper.make_node("Mul", ["c", "cl"], ["m"]), helper.make_node("Div", ["m", "six"], ["dv"]),
                                helper.make_node("Add", ["dv", "cl"], ["y"])],
                               [const("w", w * 3), const("b", b), const("three", 3.0), const("zero", 0.0),
                                const("six", 6.0)]),
                         {"Conv": 1, "Add": 2, "Clip": 1, "Mul": 1, "Div": 1}),
}

with tempfile.TemporaryDirectory() as d:
    for name, (m, want_ops) in cases.items():
        src, out = os.path.join(d, f"{name}.onnx"), os.path.join(d, f"{name}-q.onnx")
        onnx.save(m, src)
        hw = m.graph.input[0].type.tensor_type.shape.dim[2].dim_value
        x = rng.normal(size=(2, 3, hw, hw)).astype(np.float32)
        xp = os.path.join(d, "x.npy")
        np.save(xp, x)
        r = subprocess.run([octet, "quantize", src, out, "--data", xp, "--exclude-ops", "Conv,ConvTranspose,Mul,Add,Div"],
                           capture_output=True, text=True)
        check(r.returncode == 0, f"{name}: quantize failed: {r.stderr}")
        if r.returncode:
            continue
        ops = {}
        for n in onnx.load(out).graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        check(ops == want_ops, f"{name}: ops {ops}, expected {want_ops}")
        opset = max(o.version for o in onnx.load(out).opset_import if o.domain in ("", "ai.onnx"))
        check(opset == (14 if "HardSwish" in want_ops else 13), f"{name}: opset {opset}")
        ys = []
        for mp in (src, out):
            od = os.path.join(d, "out")
            os.makedirs(od, exist_ok=True)
            r = subprocess.run([octet, "run", mp, "--input", f"x={xp}", "--output-dir", od], capture_output=True, text=True)
            check(r.returncode == 0, f"{name}: run {mp}: {r.stderr}")
            ys.append(np.load(os.path.join(od, "output_0.npy")) if r.returncode == 0 else None)
        if "HardSwish" in want_ops and ys[0] is not None:
            # ONNX Runtime loads the fused graph and agrees (tests/quantize/ort-level.js)
            xin, yout = os.path.join(d, "x.f32"), os.path.join(d, "y.f32")
            x.tofile(xin)
            r = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ort-level.js"), out,
                                "all", "x", xin, ",".join(map(str, x.shape)), yout], capture_output=True, text=True)
            check(r.returncode == 0, f"{name}: ONNX Runtime: {r.stderr.strip()}")
            if r.returncode == 0:
                yo = np.fromfile(yout, np.float32).reshape(ys[0].shape)
                check(np.allclose(yo, ys[0], rtol=1e-5, atol=1e-5), f"{name}: ONNX Runtime differs from float")
        if ys[0] is not None and ys[1] is not None:
            err = float(np.max(np.abs(ys[0] - ys[1])) / max(1e-6, float(np.max(np.abs(ys[0])))))
            check(ys[0].shape == ys[1].shape and err < 1e-5, f"{name}: folded graph differs by {err:.2e}")

finish("prepare folds: ok")
