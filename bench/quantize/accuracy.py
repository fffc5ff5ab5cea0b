#!/usr/bin/python3
"""The static quantizer's accuracy and size, default options, both formats, measured in octet and
in ONNX Runtime 1.30 (onnxruntime-node) on the dev models' test data:
  classifiers: top-1 of float and int8 in each runtime, the int8 model's top-1 agreement between
  octet and ORT; PaddleOCR cls: agreement with float; PaddleOCR det: IoU of the p > 0.3 maps
  against float, per page; and the size ratio float / int8 on disk.
  bench/quantize/accuracy.py [--octet build/octet] [--only NAME] [--format qdq,qop] [-- EXTRA QUANTIZE ARGS]"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
shared = os.path.join(root, "../shared/models")
deps = os.path.join(root, ".deps")
assets = os.path.join(deps, "ocr-models/assets")
ap = argparse.ArgumentParser()
ap.add_argument("--octet", default=os.path.join(root, "build/octet"))
ap.add_argument("--only")
ap.add_argument("--format", default="qdq,qop")
ap.add_argument("extra", nargs="*")
args = ap.parse_args()

MODELS = [  # name, model, calibration, test inputs, labels (None: compare with float), kind
    ("mnist_cnn", f"{shared}/mnist_cnn.onnx", f"{shared}/mnist_cnn.calib.npy", f"{shared}/mnist_cnn.test_x.npy",
     f"{shared}/mnist_cnn.test_y.npy", "top1"),
    ("fmnist_cnn", f"{shared}/fmnist_cnn.onnx", f"{shared}/fmnist_cnn.calib.npy", f"{shared}/fmnist_cnn.test_x.npy",
     f"{shared}/fmnist_cnn.test_y.npy", "top1"),
    ("digits_mlp", f"{shared}/digits_mlp.onnx", f"{shared}/digits_mlp.calib.npy", f"{shared}/digits_mlp.test_x.npy",
     f"{shared}/digits_mlp.test_y.npy", "top1"),
    ("fmnist_vit", f"{shared}/fmnist_vit.onnx", f"{shared}/fmnist_vit.calib.npy", f"{shared}/fmnist_vit.test_x.npy",
     f"{shared}/fmnist_vit.test_y.npy", "top1"),
    ("ppocr_cls", f"{assets}/ch_ppocr_mobile_v2.0_cls_infer.onnx", f"{shared}/ppocr_cls.x.npy",
     f"{shared}/ppocr_cls.x.npy", None, "agree"),
    ("ppocr_det", f"{assets}/ch_PP-OCRv4_det_infer.onnx", f"{shared}/ppocr_det.x.npy", f"{shared}/ppocr_det.x.npy",
     None, "iou"),
]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd[:3])}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def octet_out(model, name, xp, d):
    out = os.path.join(d, "oct")
    run([args.octet, "run", model, "--input", f"{name}={xp}", "--output-dir", out])
    return np.load(os.path.join(out, "output_0.npy"))


def ort_out(model, name, x, d):
    xin = os.path.join(d, "x.f32")
    x.astype(np.float32).tofile(xin)
    yo = os.path.join(d, "y.f32")
    dims = json.loads(run(["node", os.path.join(root, "tests/quantize/ort-level.js"), model, "all", name, xin,
                           ",".join(map(str, x.shape)), yo]).strip().splitlines()[-1])
    return np.fromfile(yo, np.float32).reshape(dims)


def top(y):
    return y.reshape(len(y), -1).argmax(1) if y.ndim == 2 else y.reshape(len(y), y.shape[1], -1).argmax(1)


def iou(a, b):
    p, q = a > 0.3, b > 0.3
    return [float((p[i] & q[i]).sum() / max(1, (p[i] | q[i]).sum())) for i in range(len(a))]


with tempfile.TemporaryDirectory() as d:
    for name, model, calib, xp, yp, kind in MODELS:
        if args.only and args.only != name:
            continue
        if not os.path.exists(model):
            print(f"{name}: {model} missing (scripts/install-deps.sh fetches it)")
            continue
        inp = onnx.load(model).graph.input[0].name
        x = np.load(xp)
        ref = {"octet": octet_out(model, inp, xp, d), "ort": ort_out(model, inp, x, d)}
        for fmt in args.format.split(","):
            q = os.path.join(d, f"{name}.{fmt}.onnx")
            extra = ["--batch", "1"] if kind == "iou" else []
            run([args.octet, "quantize", model, q, "--data", calib, "--format", fmt, *extra, *args.extra])
            size = os.path.getsize(model) / os.path.getsize(q)
            y = {"octet": octet_out(q, inp, xp, d), "ort": ort_out(q, inp, x, d)}
            line = f"{name:<11} {fmt:<4} {size:4.2f}x smaller  "
            if kind == "top1":
                lab = np.load(yp).astype(np.int64)
                acc = {k: 100 * float((top(v) == lab).mean()) for k, v in list(ref.items()) + [(k + "8", v) for k, v in y.items()]}
                line += (f"octet float {acc['octet']:.2f} int8 {acc['octet8']:.2f} (drop {acc['octet'] - acc['octet8']:.2f})  "
                         f"ORT float {acc['ort']:.2f} int8 {acc['ort8']:.2f} (drop {acc['ort'] - acc['ort8']:.2f})  "
                         f"octet=ORT int8 top-1 {100 * float((top(y['octet']) == top(y['ort'])).mean()):.2f} %")
            elif kind == "agree":
                line += (f"agreement with float: octet {100 * float((top(y['octet']) == top(ref['octet'])).mean()):.2f} %  "
                         f"ORT {100 * float((top(y['ort']) == top(ref['ort'])).mean()):.2f} %  "
                         f"octet=ORT {100 * float((top(y['octet']) == top(y['ort'])).mean()):.2f} %")
            else:
                line += ("IoU(p>0.3) vs float per page: octet " + " ".join(f"{v:.3f}" for v in iou(y["octet"], ref["octet"]))
                         + "  ORT " + " ".join(f"{v:.3f}" for v in iou(y["ort"], ref["ort"])))
            print(line, flush=True)
