#!/usr/bin/python3
"""make-models.py OUTDIR — the ONNX Runtime side of bench-qgemm: one QLinearMatMul or QLinearConv
model per benchmark case (u8 activations, s8 weights; convolutions per-channel with int32 bias).
Short ops are chained R times (distinct weights) so the ~tens of microseconds of a session.run
call do not count; OUTDIR/manifest.tsv lists name, R, input shape."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []


def scal(name, v, dt):
    return numpy_helper.from_array(np.array(v, dtype=dt), name)


def save(name, nodes, inits, x_shape, y_shape, reps):
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x0", TensorProto.UINT8, x_shape)],
                          [helper.make_tensor_value_info("x%d" % reps, TensorProto.UINT8, y_shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, os.path.join(out, name + ".onnx"))
    manifest.append("%s\t%d\t%s" % (name, reps, ",".join(str(d) for d in x_shape)))


def gemm(M, K, N, reps):
    name = "gemm_%dx%dx%d" % (M, K, N)
    inits = [scal("as", 0.02, np.float32), scal("az", 128, np.uint8), scal("ys", 0.05, np.float32),
             scal("yz", 128, np.uint8), scal("bs", 0.01, np.float32), scal("bz", 0, np.int8)]
    nodes = []
    for r in range(reps):
        inits.append(numpy_helper.from_array(rng.integers(-128, 128, (K, N), dtype=np.int8), "b%d" % r))
        nodes.append(helper.make_node("QLinearMatMul", ["x%d" % r, "as", "az", "b%d" % r, "bs", "bz", "ys", "yz"],
                                      ["x%d" % (r + 1)]))
    save(name, nodes, inits, [M, K], [M, N], reps)


def conv(name, C, H, W, M, k, group, reps):
    inits = [scal("xs", 0.02, np.float32), scal("xz", 128, np.uint8), scal("ys", 0.05, np.float32),
             scal("yz", 128, np.uint8)]
    nodes = []
    for r in range(reps):
        inits += [numpy_helper.from_array(rng.integers(-128, 128, (M, C // group, k, k), dtype=np.int8), "w%d" % r),
                  numpy_helper.from_array((rng.random(M) * 0.01 + 0.001).astype(np.float32), "ws%d" % r),
                  numpy_helper.from_array(np.zeros(M, np.int8), "wz%d" % r),
                  numpy_helper.from_array(rng.integers(-1000, 1000, M, dtype=np.int32), "b%d" % r)]
        nodes.append(helper.make_node("QLinearConv", ["x%d" % r, "xs", "xz", "w%d" % r, "ws%d" % r, "wz%d" % r, "ys", "yz",
                                                      "b%d" % r], ["x%d" % (r + 1)], pads=[k // 2] * 4, group=group))
    save(name, nodes, inits, [1, C, H, W], [1, M, H, W], reps)


gemm(1, 768, 768, 16)
gemm(128, 768, 768, 1)
gemm(128, 768, 3072, 1)
gemm(512, 1024, 1024, 1)
conv("conv3x3_64_64_56", 64, 56, 56, 64, 3, 1, 1)
conv("conv1x1_256_64_56", 256, 56, 56, 64, 1, 1, 1)
conv("dw3x3_144_56", 144, 56, 56, 144, 3, 144, 8)
with open(os.path.join(out, "manifest.tsv"), "w") as f:
    f.write("\n".join(manifest) + "\n")
