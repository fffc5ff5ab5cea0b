#!/usr/bin/python3
"""run.py — QDQ ResNet-18 and MobileNetV2 (torchvision architectures, random weights): octet vs
ONNX Runtime 1.30 on the same int8 model, one thread, measured in the same run.

  bench/qdq-models/run.py [--octet build/octet] [--repeat 10] [--rounds 3] [--size 224] [--keep DIR]

Builds the float models (make-models.py), quantizes each with `octet quantize` (QDQ, per-channel
weights, calibrated on 8 random images), then times `octet run --threads 1` and
scripts/ort-run.js --threads 1 on one more image, taking turns for --rounds rounds (the machine is
shared: the best median of each side is kept). Prints both times, octet/ORT (the issue's bars:
ResNet-18 <= 0.85, MobileNetV2 <= 0.6) and the largest output difference in quantization steps
of the output (the scale of the DequantizeLinear that produces it)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "../.."))
BARS = {"resnet18": 0.85, "mobilenetv2": 0.6}


def output_step(model_path):
    """Scale of the DequantizeLinear producing the first graph output (None if there is none)."""
    m = onnx.load(model_path)
    out = m.graph.output[0].name
    inits = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "DequantizeLinear" and n.output[0] == out and n.input[1] in inits:
            return float(numpy_helper.to_array(inits[n.input[1]]).reshape(-1)[0])
    return None


def run_octet(octet, model, x, repeat, out_dir):
    r = subprocess.run([octet, "run", model, "--input", "input=" + x, "--repeat", str(repeat), "--threads", "1",
                        "--output-dir", out_dir], capture_output=True, text=True)
    m = re.search(r"median ([0-9.]+) ms", r.stdout + r.stderr)
    if r.returncode or not m:
        raise RuntimeError("octet run failed: " + (r.stderr or r.stdout).strip()[:300])
    return float(m.group(1))


def run_ort(model, x, repeat, out_dir):
    r = subprocess.run(["node", os.path.join(root, "scripts/ort-run.js"), model, "--input", "input=" + x,
                        "--repeat", str(repeat), "--warmup", "2", "--threads", "1", "--output-dir", out_dir],
                       capture_output=True, text=True)
    m = re.search(r'"median_ms":([0-9.e-]+)', r.stdout)
    if r.returncode or not m:
        raise RuntimeError("ort-run failed: " + (r.stderr or r.stdout).strip()[:300])
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--octet", default=os.path.join(root, "build/octet"))
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--keep", help="work in DIR and keep the models")
    args = ap.parse_args()
    tmp = None
    if args.keep:
        d = args.keep
        os.makedirs(d, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        d = tmp.name
    subprocess.run([sys.executable, os.path.join(here, "make-models.py"), d, str(args.size)], check=True,
                   stdout=subprocess.DEVNULL)
    x = os.path.join(d, "x.npy")
    print("QDQ models (per-channel, 8 calibration images), input 1x3x%dx%d, one thread, best of %d rounds "
          "of median-of-%d" % (args.size, args.size, args.rounds, args.repeat))
    print("%-12s %10s %10s %10s %6s %16s" % ("model", "octet ms", "ORT ms", "octet/ORT", "bar", "max diff (steps)"))
    for name in ("resnet18", "mobilenetv2"):
        q = os.path.join(d, name + ".qdq.onnx")
        subprocess.run([args.octet, "quantize", os.path.join(d, name + ".onnx"), q, "--data",
                        os.path.join(d, "calib.npy")], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        to, tr = [], []
        for _ in range(args.rounds):
            to.append(run_octet(args.octet, q, x, args.repeat, os.path.join(d, name + ".octet")))
            tr.append(run_ort(q, x, args.repeat, os.path.join(d, name + ".ort")))
        a = np.load(os.path.join(d, name + ".octet", "output_0.npy")).astype(np.float64)
        b = np.load(os.path.join(d, name + ".ort", "output_0.npy")).astype(np.float64)
        step = output_step(q)
        diff = float(np.max(np.abs(a - b))) / step if step else float("nan")
        ratio = min(to) / min(tr)
        print("%-12s %10.2f %10.2f %10.2f %6.2f %16.2f%s" % (name, min(to), min(tr), ratio, BARS[name], diff,
                                                            "" if ratio <= BARS[name] else "  (bar missed)"),
              flush=True)
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
