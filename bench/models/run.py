#!/usr/bin/python3
"""Model latency: octet vs ONNX Runtime 1.30 (onnxruntime-node), same inputs, same thread
count, measured in the same run; prints the ratio octet/ORT (below 1 means octet is faster).
  bench/models/run.py [--octet build/octet] [--repeat 20] [--threads 1,2] [--only NAME]"""
import argparse
import os
import re
import subprocess
import tempfile

import numpy as np

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
shared = os.path.join(root, "../shared/models")
deps = os.path.join(root, ".deps")
ap = argparse.ArgumentParser()
ap.add_argument("--octet", default=os.path.join(root, "build/octet"))
ap.add_argument("--repeat", type=int, default=20)
ap.add_argument("--threads", default="1,2")
ap.add_argument("--only")
ap.add_argument("--model", action="append", default=[], help="extra NAME=MODEL.onnx:INPUT=X.npy")
args = ap.parse_args()

assets = os.path.join(deps, "ocr-models/assets")
models = [  # name, model, {input: (array file, samples)}
    ("digits_mlp b1", f"{shared}/digits_mlp.onnx", {"input": (f"{shared}/digits_mlp.test_x.npy", 1)}),
    ("mnist_cnn b1", f"{shared}/mnist_cnn.onnx", {"input": (f"{shared}/mnist_cnn.test_x.npy", 1)}),
    ("fmnist_cnn b32", f"{shared}/fmnist_cnn.onnx", {"input": (f"{shared}/fmnist_cnn.test_x.npy", 32)}),
    ("fmnist_vit b1", f"{shared}/fmnist_vit.onnx", {"input": (f"{shared}/fmnist_vit.test_x.npy", 1)}),
    ("fmnist_vit b32", f"{shared}/fmnist_vit.onnx", {"input": (f"{shared}/fmnist_vit.test_x.npy", 32)}),
    ("ppocr_cls b8", f"{assets}/ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": (f"{shared}/ppocr_cls.x.npy", 8)}),
    ("ppocr_det 640", f"{assets}/ch_PP-OCRv4_det_infer.onnx", {"x": (f"{shared}/ppocr_det.x.npy", 1)}),
]
for extra in args.model:
    name, rest = extra.split("=", 1)
    model, feed = rest.split(":", 1)
    inp, arr = feed.split("=", 1)
    models.append((name, model, {inp: (arr, 1)}))

print(f"{'model':16} {'threads':>7} {'octet ms':>10} {'ORT ms':>10} {'octet/ORT':>10}")
with tempfile.TemporaryDirectory() as d:
    for name, model, feeds in models:
        if args.only and args.only not in name:
            continue
        if not os.path.exists(model):
            print(f"{name:16} skipped (missing {model}; run scripts/install-deps.sh)")
            continue
        feed_args = []
        for inp, (path, n) in feeds.items():
            p = os.path.join(d, f"{inp}.npy")
            np.save(p, np.load(path, mmap_mode="r")[:n])
            feed_args += ["--input", f"{inp}={p}"]
        for t in args.threads.split(","):
            out = subprocess.run([args.octet, "run", model, *feed_args, "--repeat", str(args.repeat),
                                  "--threads", t], capture_output=True, text=True)
            m = re.search(r"median ([0-9.]+) ms", out.stdout + out.stderr)
            ort = subprocess.run(["node", os.path.join(root, "scripts/ort-run.js"), model, *feed_args,
                                  "--repeat", str(args.repeat), "--warmup", "2", "--threads", t],
                                 capture_output=True, text=True)
            o = re.search(r'"median_ms":([0-9.e-]+)', ort.stdout)
            if not m or not o:
                print(f"{name:16} {t:>7} failed: {(out.stderr or ort.stderr).strip()[:100]}")
                continue
            a, b = float(m.group(1)), float(o.group(1))
            print(f"{name:16} {t:>7} {a:10.3f} {b:10.3f} {a / b:10.2f}", flush=True)
