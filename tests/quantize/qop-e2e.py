#!/usr/bin/python3
"""qop-e2e.py — real models quantized by `octet quantize` to QDQ and to QOperator (--format qop),
and a PyTorch QAT export, each run in ONNX Runtime 1.30 and in octet: outputs agree within one
quantization step of the output, top-1 agreement >= 99.9 %, and octet's profile shows every
Conv/Gemm/MatMul on an int8 kernel.

    qop-e2e.py OCTET_EXE [MODEL...]     (models: fmnist_cnn mnist_cnn fmnist_vit digits_mlp qat_cnn)

Env: OCTET_SOURCE_ROOT (repo), OCTET_SHARED_MODELS (default ../shared/models next to the repo),
QOP_E2E_SAMPLES (test samples per model, default 1000), QOP_E2E_CALIB (calibration samples, 200).
Prints one line per check and 'N passed, N failed'.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.environ.get("OCTET_SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
MODELS = os.environ.get("OCTET_SHARED_MODELS", os.path.join(ROOT, "..", "shared", "models"))
N_TEST = int(os.environ.get("QOP_E2E_SAMPLES", "1000"))
N_CALIB = os.environ.get("QOP_E2E_CALIB", "200")
COMPUTE = {"Conv", "ConvTranspose", "Gemm", "MatMul"}

results = []


def check(ok, what):
    results.append(bool(ok))
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    return ok


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}")
    return p.stdout


def output_scale(model_path):
    """Scale of the quantization step of the (first) graph output: the DQ producing it, else the
    Q reading it."""
    m = onnx.load(model_path)
    consts = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    out = m.graph.output[0].name
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == out:
            return float(np.max(consts[n.input[1]]))
    for n in m.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] == out:
            return float(np.max(consts[n.input[1]]))
    raise RuntimeError(f"{model_path}: no Q/DQ at the output")


def compute_nodes(model_path):
    return sum(n.op_type in COMPUTE for n in onnx.load(model_path).graph.node)


def ort_run(model, name, x, out_dir, level="all"):
    """Output 0 of model in ONNX Runtime at a graph optimization level (tests/quantize/ort-level.js)."""
    os.makedirs(out_dir, exist_ok=True)
    xin, yout = os.path.join(out_dir, "x.f32"), os.path.join(out_dir, f"y.{level}.f32")
    np.ascontiguousarray(x, dtype=np.float32).tofile(xin)
    dims = json.loads(run(["node", os.path.join(ROOT, "tests", "quantize", "ort-level.js"), model, level, name, xin,
                           ",".join(str(d) for d in x.shape), yout]).strip().splitlines()[-1])
    return np.fromfile(yout, dtype=np.float32).reshape(dims)


def octet_run(octet, model, name, x, out_dir):
    text = run([octet, "run", model, "--input", f"{name}={x}", "--output-dir", out_dir, "--profile", "--threads", "1"])
    rows = []  # (op_type, kernel label)
    for line in text.splitlines():
        mm = re.match(r"\s+[0-9.]+ ms\s+(\S+)\s+(\S+ \S+)", line)
        if mm:
            rows.append((mm.group(1), mm.group(2)))
    t = re.search(r"time: median ([0-9.]+) ms", text)
    return np.load(os.path.join(out_dir, "output_0.npy")), rows, float(t.group(1)) if t else float("nan")


def compare(tag, octet_y, ort_y, step, ort_top1=None):
    """|octet - ort| within one output step everywhere; top-1 agreement >= 99.9 % (against
    ort_top1 when given: ONNX Runtime at its default level)."""
    ref = ort_y if ort_top1 is None else ort_top1
    d = np.abs(octet_y.astype(np.float64) - ort_y.astype(np.float64))
    agree = float(np.mean(octet_y.argmax(-1) == ref.argmax(-1)))
    check(d.max() <= step * 1.0001, f"{tag}: max |octet - ort| = {d.max():.3g} <= output step {step:.3g}, "
          f"{int((d > 0).sum())} of {d.size} values differ")
    check(agree >= 0.999, f"{tag}: top-1 agreement {100 * agree:.2f} % on {len(ref)} samples")


def check_int8(tag, rows, n_compute):
    float_rows = [r for r in rows if r[0] in COMPUTE]
    int8 = [r for r in rows if r[0] in ("QLinearConv", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat")]
    check(not float_rows and len(int8) >= n_compute,
          f"{tag}: {len(int8)} int8 compute kernels for {n_compute} Conv/Gemm/MatMul, float ones: {float_rows[:3]}")


def model_case(octet, name, tmp):
    """QDQ and QOperator files from `octet quantize`. ONNX Runtime fuses a QDQ file's groups into
    the same QOperator nodes this lowering makes, so ORT must compute (nearly) the same for both
    files. ORT's extended-level float fusions (LayerNorm, Gelu in the ViT) move float values by
    ulps, which can flip later roundings by a step; where ORT's own levels disagree by more than a
    step, the one-step bound is checked against ORT's 'basic' level (the graph as written) and the
    top-1 bound against its default level."""
    src = os.path.join(MODELS, f"{name}.onnx")
    x = np.ascontiguousarray(np.load(os.path.join(MODELS, f"{name}.test_x.npy"))[:N_TEST])
    xp = os.path.join(tmp, f"{name}.x.npy")
    np.save(xp, x)
    inp = onnx.load(src).graph.input[0].name
    calib = os.path.join(MODELS, f"{name}.calib.npy")
    files, ort_all, octet_y = {}, {}, {}
    for fmt in ("qdq", "qop"):
        files[fmt] = os.path.join(tmp, f"{name}.{fmt}.onnx")
        run([octet, "quantize", src, files[fmt], "--format", fmt, "--data", calib, "--samples", N_CALIB])
        ort_all[fmt] = ort_run(files[fmt], inp, x, os.path.join(tmp, f"{name}.{fmt}.ort"))
        octet_y[fmt], rows, _ = octet_run(octet, files[fmt], inp, xp, os.path.join(tmp, f"{name}.{fmt}.octet"))
        if fmt == "qdq":
            check_int8(f"{name} qdq", rows, compute_nodes(files[fmt]))
        else:
            n_float = compute_nodes(files[fmt])
            check(n_float == 0, f"{name} qop: {n_float} Conv/Gemm/MatMul left in the QOperator file")
    step = output_scale(files["qdq"])  # the QOperator file may end in a float-output QGemm
    d = np.abs(ort_all["qdq"].astype(np.float64) - ort_all["qop"]).max()
    check(d <= 0.01 * step, f"{name}: ONNX Runtime computes the same for the QDQ and the QOperator file "
          f"(max diff {d:.3g}, step {step:.3g})")
    ort_basic = ort_run(files["qop"], inp, x, os.path.join(tmp, f"{name}.qop.ort"), "basic")
    self_diff = np.abs(ort_all["qop"].astype(np.float64) - ort_basic).max()
    fused_moved = self_diff > step * 1.0001
    print(f"      {name}: ONNX Runtime 'all' vs 'basic' on the QOperator file: max diff {self_diff:.3g}"
          f"{' (its float fusions move results: one-step bound checked against basic)' if fused_moved else ''}")
    for fmt in ("qdq", "qop"):
        compare(f"{name} {fmt} vs ORT", octet_y[fmt], ort_basic if fused_moved else ort_all[fmt], step,
                ort_all[fmt])


def qat_case(octet, tmp):
    fx = os.path.join(ROOT, "tests", "quantize", "fixtures")
    model, xp = os.path.join(fx, "qat_cnn.onnx"), os.path.join(fx, "qat_cnn.x.npy")
    check(os.path.getsize(model) < 200 * 1024, f"qat_cnn fixture is {os.path.getsize(model)} bytes")
    step = output_scale(model)
    ort_y = ort_run(model, "input", np.load(xp), os.path.join(tmp, "qat.ort"))
    oct_y, rows, _ = octet_run(octet, model, "input", xp, os.path.join(tmp, "qat.octet"))
    compare("qat_cnn (PyTorch QAT export)", oct_y, ort_y, step)
    check_int8("qat_cnn", rows, compute_nodes(model))
    check(any(r[0] == "QLinearAdd" for r in rows), "qat_cnn: the residual Add runs as QLinearAdd")


def main():
    octet = sys.argv[1]
    names = sys.argv[2:] or ["qat_cnn", "digits_mlp", "mnist_cnn", "fmnist_cnn", "fmnist_vit"]
    with tempfile.TemporaryDirectory(prefix="qop-e2e-") as tmp:
        for name in names:
            try:
                if name == "qat_cnn":
                    qat_case(octet, tmp)
                else:
                    model_case(octet, name, tmp)
            except Exception as e:  # a crash in one model is a failure, the others still run
                check(False, f"{name}: {e}")
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
