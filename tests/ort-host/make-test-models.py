#!/usr/bin/python3
"""make-test-models.py — small QOperator models with random weights for tests/ort-host, each
written twice: NAME.qop.onnx (ONNX / com.microsoft ops, what octet's runtime and ORT's own
kernels run) and NAME.octet.onnx (the same nodes in domain ai.octet), plus NAME.x.npy, the input.

usage: make-test-models.py OUTDIR [OCTET_EXE MODELS_DIR]
With OCTET_EXE and MODELS_DIR (the shared models folder) it also quantizes fmnist_cnn.onnx with
`octet quantize --format qop` into fmnist_cnn.qop.onnx and converts that; the input is the first
8 calibration samples.
Deterministic (fixed seeds): the same files on every run.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
make_octet = __import__("make-octet-model")

U8, S8 = np.uint8, np.int8
ONNX_TYPE = {U8: TensorProto.UINT8, S8: TensorProto.INT8, np.float32: TensorProto.FLOAT}


def qrand(rng, dtype, shape):
    lo, hi = (0, 255) if dtype is U8 else (-127, 127)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def zp(dtype, rng, n=None):
    """A zero point near the middle of the type's range (a few steps off, to exercise it)."""
    mid = 128 if dtype is U8 else 0
    if n is None:
        return np.array(mid + int(rng.integers(-3, 4)), dtype=dtype)
    return (mid + rng.integers(-3, 4, size=n)).astype(dtype)


class Builder:
    def __init__(self, name):
        self.name = name
        self.nodes, self.inits = [], []
        self.count = 0

    def const(self, value, hint):
        self.count += 1
        name = "%s_%d" % (hint, self.count)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def qconv(self, x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias=None, **attrs):
        self.count += 1
        out = "conv%d" % self.count
        ins = [x, self.const(np.float32(x_scale), "xs"), self.const(x_zp, "xzp"),
               self.const(w, "w"), self.const(np.asarray(w_scale, np.float32), "ws"),
               self.const(w_zp, "wzp"), self.const(np.float32(y_scale), "ys"),
               self.const(y_zp, "yzp")]
        if bias is not None:
            ins.append(self.const(bias.astype(np.int32), "b"))
        self.nodes.append(helper.make_node("QLinearConv", ins, [out], name=out, **attrs))
        return out

    def save(self, outdir, x_name, x, out, out_type, extra_opsets=(), everything=False):
        inp = helper.make_tensor_value_info(x_name, ONNX_TYPE[x.dtype.type], list(x.shape))
        outp = helper.make_tensor_value_info(out, out_type, None)
        graph = helper.make_graph(self.nodes, self.name, [inp], [outp], self.inits)
        opsets = [helper.make_opsetid("", 13)] + [helper.make_opsetid(d, v) for d, v in extra_opsets]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="octet-tests")
        model.ir_version = 8
        onnx.save(model, os.path.join(outdir, self.name + ".qop.onnx"))
        if make_octet.to_octet(model, everything) == 0:
            raise SystemExit("no node converted in " + self.name)
        onnx.save(model, os.path.join(outdir, self.name + ".octet.onnx"))
        np.save(os.path.join(outdir, self.name + ".x.npy"), x)


def conv_case(outdir, name, seed, xt, wt, yt, n=1, c=8, m=16, hw=(10, 9), k=3, group=1,
              per_channel=True, bias=True, **attrs):
    rng = np.random.default_rng(seed)
    b = Builder(name)
    x = qrand(rng, xt, (n, c) + hw)
    w = qrand(rng, wt, (m, c // group, k, k))
    w_scale = (rng.uniform(0.002, 0.02, size=m) if per_channel else np.array(0.01)).astype(np.float32)
    w_zp = zp(wt, rng, m) if per_channel and wt is U8 else (
        np.zeros(m, wt) if per_channel else zp(wt, rng))
    bias_v = rng.integers(-2000, 2000, size=m) if bias else None
    y = b.qconv("x", 0.02, zp(xt, rng), w, w_scale, w_zp, 0.05, zp(yt, rng), bias_v,
                kernel_shape=[k, k], group=group, **attrs)
    b.save(outdir, "x", x, y, ONNX_TYPE[yt])


def matmul_case(outdir, name, seed, at, bt, yt):
    rng = np.random.default_rng(seed)
    b = Builder(name)
    x = qrand(rng, at, (2, 5, 24))
    w = qrand(rng, bt, (24, 12))
    ins = ["x", b.const(np.float32(0.03), "as"), b.const(zp(at, rng), "azp"), b.const(w, "b"),
           b.const(np.float32(0.01), "bs"), b.const(zp(bt, rng), "bzp"),
           b.const(np.float32(0.2), "ys"), b.const(zp(yt, rng), "yzp")]
    b.nodes.append(helper.make_node("QLinearMatMul", ins, ["y"], name="mm"))
    b.save(outdir, "x", x, "y", ONNX_TYPE[yt])


def qgemm_case(outdir, name, seed, at, bt, yt, trans_b, per_channel):
    rng = np.random.default_rng(seed)
    b = Builder(name)
    n = 10
    x = qrand(rng, at, (3, 32))
    w = qrand(rng, bt, (n, 32) if trans_b else (32, n))
    bs = (rng.uniform(0.002, 0.02, size=n) if per_channel else np.array(0.01)).astype(np.float32)
    bzp = np.zeros(n, bt) if per_channel else zp(bt, rng)
    ins = ["x", b.const(np.float32(0.03), "as"), b.const(zp(at, rng), "azp"), b.const(w, "b"),
           b.const(bs, "bs"), b.const(bzp, "bzp"),
           b.const(rng.integers(-3000, 3000, size=n).astype(np.int32), "c"),
           b.const(np.float32(0.3), "ys"), b.const(zp(yt, rng), "yzp")]
    b.nodes.append(helper.make_node("QGemm", ins, ["y"], name="gemm", domain="com.microsoft",
                                    transB=int(trans_b), alpha=1.0))
    b.save(outdir, "x", x, "y", ONNX_TYPE[yt], [("com.microsoft", 1)])


def ms_case(outdir, name, seed, t):
    """com.microsoft's single-type ops in a row: Add (broadcast constant), Sigmoid, Mul (two
    activations), LeakyRelu, AveragePool, GlobalAveragePool; every zero point given."""
    rng = np.random.default_rng(seed)
    b = Builder(name)
    x = qrand(rng, t, (2, 6, 9, 8))

    def q(prefix, scale):
        return [b.const(np.float32(scale), prefix + "s"), b.const(zp(t, rng), prefix + "zp")]

    def node(op, ins, out, **attrs):
        b.nodes.append(helper.make_node(op, ins, [out], name=out, domain="com.microsoft", **attrs))
        return out

    y = node("QLinearAdd", ["x"] + q("a", 0.02) + [b.const(qrand(rng, t, (6, 1, 8)), "c")] +
             q("b", 0.03) + q("y", 0.04), "add")
    y = node("QLinearSigmoid", [y] + q("x", 0.04) + q("y", 1 / 255), "sig")
    y = node("QLinearMul", [y] + q("a", 1 / 255) + ["add"] + q("b", 0.04) + q("y", 0.01), "mul")
    y = node("QLinearLeakyRelu", [y] + q("x", 0.01) + q("y", 0.01), "leaky", alpha=0.1)
    y = node("QLinearAveragePool", [y] + q("x", 0.01) + q("y", 0.01), "avg", kernel_shape=[3, 3],
             strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    y = node("QLinearGlobalAveragePool", [y] + q("x", 0.01) + q("y", 0.005), "gap")
    b.save(outdir, "x", x, y, ONNX_TYPE[t], [("com.microsoft", 1)], everything=True)


def softmax_case(outdir, name, seed, t):
    rng = np.random.default_rng(seed)
    b = Builder(name)
    x = qrand(rng, t, (3, 4, 10))
    ins = ["x", b.const(np.float32(0.05), "xs"), b.const(zp(t, rng), "xzp"),
           b.const(np.float32(1 / 256), "ys"), b.const(np.array(-128 if t is S8 else 0, t), "yzp")]
    b.nodes.append(helper.make_node("QLinearSoftmax", ins, ["y"], name="softmax",
                                    domain="com.microsoft", axis=-1, opset=13))
    b.save(outdir, "x", x, "y", ONNX_TYPE[t], [("com.microsoft", 1)], everything=True)


def chain_case(outdir, name, seed):
    """conv -> ORT's own MaxPool on uint8 -> depthwise conv -> conv: custom-op outputs feed native
    ops and each other, so ORT must infer the custom ops' output types."""
    rng = np.random.default_rng(seed)
    b = Builder(name)
    x = qrand(rng, U8, (2, 4, 12, 12))
    y = b.qconv("x", 0.02, zp(U8, rng), qrand(rng, S8, (8, 4, 3, 3)),
                rng.uniform(0.002, 0.02, 8), np.zeros(8, S8), 0.04, np.array(0, U8),
                rng.integers(-500, 500, 8), kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    b.nodes.append(helper.make_node("MaxPool", [y], ["pool"], kernel_shape=[2, 2], strides=[2, 2]))
    y = b.qconv("pool", 0.04, np.array(0, U8), qrand(rng, U8, (8, 1, 3, 3)), [0.01],
                np.array(128, U8), 0.05, np.array(3, U8), None, kernel_shape=[3, 3], group=8,
                pads=[1, 1, 1, 1])
    y = b.qconv(y, 0.05, np.array(3, U8), qrand(rng, S8, (6, 8, 1, 1)),
                rng.uniform(0.002, 0.02, 6), np.zeros(6, S8), 0.1, np.array(128, U8),
                rng.integers(-500, 500, 6), kernel_shape=[1, 1])
    b.save(outdir, "x", x, y, TensorProto.UINT8)


def unknown_op_case(outdir):
    """An ai.octet op octet does not have: ORT must refuse the model, not crash."""
    node = helper.make_node("OctetNoSuchOp", ["x"], ["y"], name="nosuch", domain="ai.octet")
    graph = helper.make_graph([node], "unknown-op",
                              [helper.make_tensor_value_info("x", TensorProto.UINT8, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, [4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("ai.octet", 1)])
    model.ir_version = 8
    onnx.save(model, os.path.join(outdir, "unknown-op.octet.onnx"))


def probe_case(outdir):
    """One node of the test's own custom op (domain octet.test), which doubles its input inside
    KernelContext_ParallelFor: proves that slot (the adapter falls back to serial silently)."""
    node = helper.make_node("ParallelProbe", ["x"], ["y"], name="probe", domain="octet.test")
    graph = helper.make_graph([node], "parallel-probe",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1000])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("octet.test", 1)])
    model.ir_version = 8
    onnx.save(model, os.path.join(outdir, "parallel-probe.onnx"))


def fmnist_case(outdir, octet, models):
    qop = os.path.join(outdir, "fmnist_cnn.qop.onnx")
    calib = os.path.join(models, "fmnist_cnn.calib.npy")
    subprocess.run([octet, "quantize", os.path.join(models, "fmnist_cnn.onnx"), qop, "--data", calib,
                    "--format", "qop", "--samples", "64"], check=True, stdout=subprocess.DEVNULL)
    x = np.load(calib)[:8].astype(np.float32)
    for name, everything in (("fmnist_cnn", False), ("fmnist_cnn-all", True)):
        model = onnx.load(qop)
        if make_octet.to_octet(model, everything) == 0:
            raise SystemExit("fmnist_cnn: no node converted")
        onnx.save(model, os.path.join(outdir, name + ".octet.onnx"))
        if everything:
            onnx.save(onnx.load(qop), os.path.join(outdir, name + ".qop.onnx"))
        np.save(os.path.join(outdir, name + ".x.npy"), x)


def main(argv):
    if len(argv) not in (2, 4):
        sys.stderr.write(__doc__)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    conv_case(out, "conv-u8s8-per-channel", 1, U8, S8, U8, pads=[1, 1, 1, 1])
    conv_case(out, "conv-u8u8-depthwise-stride2", 2, U8, U8, U8, c=8, m=8, group=8,
              per_channel=False, bias=False, strides=[2, 2], pads=[1, 0, 1, 0])
    conv_case(out, "conv-s8s8-dilated-same", 3, S8, S8, S8, n=2, dilations=[2, 2],
              auto_pad="SAME_UPPER")
    conv_case(out, "conv-u8s8-to-s8-grouped", 4, U8, S8, S8, c=8, m=12, group=4, k=1)
    matmul_case(out, "matmul-u8s8", 5, U8, S8, U8)
    matmul_case(out, "matmul-s8s8-to-u8", 6, S8, S8, U8)
    qgemm_case(out, "qgemm-u8s8-transb", 7, U8, S8, U8, True, True)
    qgemm_case(out, "qgemm-u8u8", 8, U8, U8, S8, False, False)
    chain_case(out, "chain-conv-maxpool-dw-pw", 9)
    ms_case(out, "ms-eltwise-pools-u8", 11, U8)
    ms_case(out, "ms-eltwise-pools-s8", 12, S8)
    softmax_case(out, "softmax-u8", 13, U8)
    softmax_case(out, "softmax-s8", 14, S8)
    unknown_op_case(out)
    probe_case(out)
    conv_case(out, "conv-u8s8-large", 10, U8, S8, U8, c=32, m=32, hw=(24, 24), pads=[1, 1, 1, 1])
    if len(argv) == 4:
        fmnist_case(out, argv[2], argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
