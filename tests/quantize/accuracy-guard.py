"""The accuracy guard of `octet quantize` (--min-sqnr, default 20 dB): a model whose int8 output
stays close to float is quantized exactly as without the guard; one that drifts (here fmnist_cnn
with entropy ranges, which clip its activations) gets layers kept float until the output SQNR
against float on the first 16 calibration samples is at least the bound, and every node not kept
float still runs in int8 (the search calibrates every tensor first, so no node loses its range
and drops to float unannounced). Bad values are refused.
    accuracy-guard.py OCTET"""
import os
import re
import sys
import tempfile

import numpy as np
import onnx
from checks import SHARED, check, finish, octet, read

exe = sys.argv[1]
model = os.path.join(SHARED, "fmnist_cnn.onnx")
data = os.path.join(SHARED, "fmnist_cnn.calib.npy")


def run(*args):
    return octet(exe, *args)


def output(path, x, d):
    out = os.path.join(d, "out")
    os.makedirs(out, exist_ok=True)
    r = run("run", path, "--input", f"input={x}", "--output-dir", out)
    check(r.returncode == 0, f"run {path}: {r.stderr}")
    return np.load(os.path.join(out, "output_0.npy")).astype(np.float64)


def sqnr(ref, y):
    return 10 * np.log10((ref ** 2).sum() / max(((ref - y) ** 2).sum(), 1e-300))


def int8_compute(path):
    """Conv/Gemm nodes reading a DequantizeLinear'd weight, and all Conv/Gemm nodes."""
    g = onnx.load(path).graph
    dq = {n.output[0] for n in g.node if n.op_type == "DequantizeLinear"}
    comp = [n for n in g.node if n.op_type in ("Conv", "Gemm")]
    return sum(n.input[1] in dq for n in comp), len(comp)


with tempfile.TemporaryDirectory() as d:
    x16 = os.path.join(d, "x16.npy")
    np.save(x16, np.load(data)[:16])
    ref = output(model, x16, d)

    # Default ranges: the check passes, nothing changes
    a, b = os.path.join(d, "a.onnx"), os.path.join(d, "b.onnx")
    ra = run("quantize", model, a, "--data", data, "--samples", "96")
    rb = run("quantize", model, b, "--data", data, "--samples", "96", "--min-sqnr", "0")
    check(ra.returncode == 0 and rb.returncode == 0, f"quantize: {ra.stderr} {rb.stderr}")
    check("bound met" in ra.stdout and "kept float: 0 nodes" in ra.stdout, f"guard summary: {ra.stdout}")
    check(os.path.exists(a) and os.path.exists(b) and read(a) == read(b), "the guard changed a model that met it")

    # Entropy ranges: below the bound unguarded, at or above it guarded
    e0, e1 = os.path.join(d, "e0.onnx"), os.path.join(d, "e1.onnx")
    r0 = run("quantize", model, e0, "--data", data, "--samples", "96", "--method", "entropy", "--min-sqnr", "0")
    r1 = run("quantize", model, e1, "--data", data, "--samples", "96", "--method", "entropy")
    check(r0.returncode == 0 and r1.returncode == 0, f"quantize entropy: {r0.stderr} {r1.stderr}")
    if r0.returncode == 0 and r1.returncode == 0:
        s0, s1 = sqnr(ref, output(e0, x16, d)), sqnr(ref, output(e1, x16, d))
        check(s0 < 20, f"entropy without the guard is {s0:.1f} dB: this case no longer exercises the search")
        check(s1 >= 20, f"guarded entropy model: {s1:.1f} dB < 20")
        m = re.search(r"kept float: (\d+) node", r1.stdout)
        kept = int(m.group(1)) if m else -1
        check(kept > 0, f"the guard kept nothing float: {r1.stdout}")
        int8, total = int8_compute(e1)
        kept_compute = sum(n in r1.stdout for n in ("/f/f.0/f.0.0/Conv", "/f/f.2/f.2.0/Conv", "/f/f.4/f.4.0/Conv",
                                                    "/f/f.5/f.5.0/Conv", "/fc/Gemm"))
        check(int8 == total - kept_compute, f"{int8} of {total} Conv/Gemm in int8, {kept_compute} kept float by "
                                            f"the guard: some node lost its range")
        check("calibrating every tensor" in r1.stderr, f"the search ran on a partial calibration: {r1.stderr}")

    # A model the check cannot judge (its output is a class index, not float data) is quantized
    # without it, with a note
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)
    g = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "b"], ["s"], transB=1), helper.make_node("ArgMax", ["s"], ["y"], axis=1)],
        "argmax", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["n", 1])],
        [numpy_helper.from_array(rng.normal(0, 0.5, (8, 16)).astype(np.float32), "w"),
         numpy_helper.from_array(rng.normal(0, 0.1, 8).astype(np.float32), "b")])
    am, ax, aq = os.path.join(d, "am.onnx"), os.path.join(d, "am.npy"), os.path.join(d, "amq.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), am)
    np.save(ax, rng.normal(0, 1, (40, 16)).astype(np.float32))
    r = run("quantize", am, aq, "--data", ax)
    check(r.returncode == 0 and os.path.exists(aq), f"argmax model: {r.returncode} {r.stderr}")
    check("accuracy guard skipped" in r.stderr, f"argmax model: no note that the guard was skipped: {r.stderr}")

    # Bad values
    for v in ("-1", "abc", "100"):
        r = run("quantize", model, os.path.join(d, "never.onnx"), "--data", data, "--min-sqnr", v)
        check(r.returncode == 2 and "--min-sqnr" in r.stderr, f"--min-sqnr {v}: exit {r.returncode} {r.stderr}")
    check(not os.path.exists(os.path.join(d, "never.onnx")), "a refused command wrote its output")

finish("accuracy guard: ok")
