#!/usr/bin/python3
"""Real models run in octet and in ONNX Runtime 1.30 on the data in ../shared/models and must
agree: max|octet - ort| / max|ort| <= 1e-4 per output. PaddleOCR det is a 60-conv float chain
whose outputs ORT itself changes by ~1.5e-4 between its optimized and unoptimized graphs; for it
the bound is max(1e-4, 2 x that self-discrepancy, measured in the same run).
Usage: models-vs-ort.py OCTET VAD_STREAM    (npm models are skipped when .deps/ is absent)"""
import os
import subprocess
import sys
import tempfile

import numpy as np

octet, vad_stream = sys.argv[1], sys.argv[2]
root = os.environ.get("OCTET_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "../.."))
shared = os.path.join(root, "../shared/models")
deps = os.environ.get("OCTET_DEPS", os.path.join(root, ".deps"))
ort_run = os.path.join(root, "scripts/ort-run.js")
failures, report = [], []


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r.stdout


def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / max(np.abs(b).max(), 1e-30))


def compare(name, model, feeds, samples, bound=1e-4, self_check=False):
    with tempfile.TemporaryDirectory() as d:
        args = []
        for inp, arr in feeds.items():
            p = os.path.join(d, f"{inp}.npy")
            np.save(p, arr[:samples])
            args += ["--input", f"{inp}={p}"]
        try:
            run([octet, "run", model, *args, "--output-dir", os.path.join(d, "octet")])
            run(["node", ort_run, model, *args, "--output-dir", os.path.join(d, "ort")])
            if self_check:
                run(["node", ort_run, model, *args, "--no-opt", "--output-dir", os.path.join(d, "ort0")])
        except RuntimeError as e:
            failures.append(f"{name}: {e}")
            return
        i = 0
        while os.path.exists(os.path.join(d, "ort", f"output_{i}.npy")):
            a = np.load(os.path.join(d, "octet", f"output_{i}.npy"))
            b = np.load(os.path.join(d, "ort", f"output_{i}.npy"))
            limit = bound
            if self_check:
                c = np.load(os.path.join(d, "ort0", f"output_{i}.npy"))
                limit = max(bound, 2 * rel(c, b))
            if a.shape != b.shape:
                failures.append(f"{name} output {i}: shape {a.shape} vs ORT {b.shape}")
            else:
                e = rel(a, b)
                report.append(f"{name} output {i}: max rel error {e:.3g} (bound {limit:.3g})")
                if not e <= limit:
                    failures.append(report[-1])
            i += 1


for m, n in (("digits_mlp", 397), ("mnist_cnn", 256), ("fmnist_cnn", 256), ("fmnist_vit", 64)):
    x = np.load(os.path.join(shared, f"{m}.test_x.npy"))
    compare(m, os.path.join(shared, f"{m}.onnx"), {"input": x}, n)

assets = os.path.join(deps, "ocr-models/assets")
if os.path.isdir(assets):
    compare("ppocr_cls", os.path.join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
            {"x": np.load(os.path.join(shared, "ppocr_cls.x.npy"))}, 32)
    compare("ppocr_det", os.path.join(assets, "ch_PP-OCRv4_det_infer.onnx"),
            {"x": np.load(os.path.join(shared, "ppocr_det.x.npy"))}, 1, self_check=True)
else:
    report.append("PaddleOCR models skipped: run scripts/install-deps.sh")

vad = os.path.join(deps, "silero-vad/weights/silero_vad_16k_op15.onnx")
if os.path.exists(vad):
    with tempfile.TemporaryDirectory() as d:
        for wav in sorted(os.listdir(os.path.join(shared, "vad"))):
            if not wav.endswith(".wav"):
                continue
            src = os.path.join(shared, "vad", wav)
            try:
                run([vad_stream, vad, src, os.path.join(d, "octet.npy")])
                run(["node", os.path.join(root, "tests/e2e/vad-ort.js"), vad, src, os.path.join(d, "ort.f32")])
            except RuntimeError as e:
                failures.append(f"silero {wav}: {e}")
                continue
            a = np.load(os.path.join(d, "octet.npy"))
            b = np.fromfile(os.path.join(d, "ort.f32"), dtype=np.float32)
            e = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
            agree = float(np.mean((a > 0.5) == (b > 0.5)))
            report.append(f"silero {wav}: {len(b)} frames, max rel error {e:.3g}, frame agreement {agree:.4f}")
            if not e <= 1e-4:
                failures.append(report[-1])
else:
    report.append("Silero VAD skipped: run scripts/install-deps.sh")

print("\n".join(report))
if failures:
    print("FAILED:\n" + "\n".join(failures))
    sys.exit(1)
