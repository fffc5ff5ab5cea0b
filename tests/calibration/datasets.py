#!/usr/bin/python3
"""Calibration data readers and `octet calibrate` end to end: every source kind reads the right
values; shards merged give the table one pass gives, byte for byte; bad options are refused.
Usage: datasets.py DATASET_PROBE OCTET"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
from PIL import Image

probe, octet = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def read(path, member="-", first=0, count=1, *img):
    r = subprocess.run([probe, path, member, str(first), str(count), *img], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    out = json.loads(r.stdout)
    return np.array(out["values"], dtype=np.float32).reshape(out["shape"]), out["count"]


rng = np.random.default_rng(5)
x = rng.normal(size=(10, 4)).astype(np.float32)
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "x.npy")
    np.save(p, x)
    got, n = read(p, "-", 3, 4)
    check(n == 10 and np.array_equal(got, x[3:7]), "float32 .npy slice")
    np.save(os.path.join(d, "h.npy"), x.astype(np.float16))
    got, _ = read(os.path.join(d, "h.npy"), "-", 0, 10)
    check(np.array_equal(got, x.astype(np.float16).astype(np.float32)), "float16 .npy converts")
    u8 = rng.integers(0, 256, size=(6, 3), dtype=np.uint8)
    np.save(os.path.join(d, "u.npy"), u8)
    got, _ = read(os.path.join(d, "u.npy"), "-", 0, 6)
    check(np.array_equal(got, u8.astype(np.float32)), "uint8 .npy converts")
    np.savez(os.path.join(d, "s.npz"), input=x, other=x * 2)
    got, _ = read(os.path.join(d, "s.npz"), "other", 2, 2)
    check(got is not None and np.array_equal(got, x[2:4] * 2), "stored .npz member")
    np.savez_compressed(os.path.join(d, "c.npz"), input=x)
    got, _ = read(os.path.join(d, "c.npz"), "input", 0, 10)
    check(got is not None and np.array_equal(got, x), "deflated .npz member")
    got, msg = read(os.path.join(d, "c.npz"), "nope", 0, 1)
    check(got is None and "nope" in msg, "missing .npz member is named")
    pbdir = os.path.join(d, "pbs")
    os.mkdir(pbdir)
    for i in range(3):
        t = numpy_helper.from_array(x[i:i + 1], "input")
        open(os.path.join(pbdir, f"s{i}.pb"), "wb").write(t.SerializeToString())
    got, n = read(pbdir, "-", 1, 2)
    check(n == 3 and np.array_equal(got, x[1:3]), ".pb folder")
    tds = os.path.join(d, "tds")
    for i in range(2):
        os.makedirs(os.path.join(tds, f"test_data_set_{i}"))
        for k in range(2):
            t = numpy_helper.from_array(x[i:i + 1] + k, f"in{k}")
            open(os.path.join(tds, f"test_data_set_{i}", f"input_{k}.pb"), "wb").write(t.SerializeToString())
    got, n = read(tds, "1", 0, 2)
    check(n == 2 and np.array_equal(got, x[0:2] + 1), "test-data-set folder, second input")
    imgs = os.path.join(d, "imgs")
    os.mkdir(imgs)
    pix = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    Image.fromarray(pix).save(os.path.join(imgs, "a.png"))
    Image.fromarray(pix).save(os.path.join(imgs, "b.jpg"), quality=100, subsampling=0)
    got, n = read(imgs, "-", 0, 1, "5x7", "nchw", "rgb")
    check(n == 2 and got.shape == (1, 3, 5, 7) and np.array_equal(got[0], pix.transpose(2, 0, 1)), "PNG, NCHW RGB")
    got, _ = read(imgs, "-", 0, 1, "5x7", "nhwc", "bgr")
    check(got.shape == (1, 5, 7, 3) and np.array_equal(got[0], pix[:, :, ::-1]), "PNG, NHWC BGR")
    got, _ = read(imgs, "-", 1, 1, "5x7", "nchw", "rgb")
    check(got is not None and np.abs(got[0] - pix.transpose(2, 0, 1)).mean() < 8, "JPEG decodes close to the source")
    got, _ = read(imgs, "-", 0, 1, "10x14", "nchw", "rgb")
    check(got.shape == (1, 3, 10, 14), "resize to --image-size")
    open(os.path.join(d, "bad.npy"), "wb").write(b"\x93NUMPY\x01\x00" + b"garbage")
    got, msg = read(os.path.join(d, "bad.npy"))
    check(got is None and "bad.npy" in msg, "corrupt .npy is named")

    # octet calibrate on a tiny model: shards merged equal one pass, byte for byte
    w = numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["input", "w"], ["mm"]),
                           helper.make_node("Relu", ["mm"], ["out"])], "tiny",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3])], [w])
    model = os.path.join(d, "tiny.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    big = rng.normal(size=(300, 4)).astype(np.float32)
    np.save(p, big)
    run = lambda *a: subprocess.run([octet, "calibrate", *a], capture_output=True, text=True)
    r = run(model, "--data", p, "--batch", "7", "-o", os.path.join(d, "one.json"))
    check(r.returncode == 0, f"calibrate one pass: {r.stderr}")
    for k in range(3):
        r = run(model, "--data", p, "--shard", f"{k}/3", "--batch", "5", "--state-out", os.path.join(d, f"s{k}.state"))
        check(r.returncode == 0, f"calibrate shard {k}: {r.stderr}")
    r = run("--merge", *[os.path.join(d, f"s{k}.state") for k in (2, 0, 1)], "-o", os.path.join(d, "merged.json"))
    check(r.returncode == 0, f"calibrate --merge: {r.stderr}")
    one, merged = open(os.path.join(d, "one.json")).read(), open(os.path.join(d, "merged.json")).read()
    check(one == merged, "merged shards differ from one pass")
    table = json.loads(one)
    check(table["samples"] == 300 and set(table["tensors"]) == {"input", "mm", "out"}, "table lists input and every tensor")
    mm = big @ numpy_helper.to_array(w)
    check(np.isclose(table["tensors"]["mm"]["min"], mm.min(), rtol=1e-5), "observed min matches numpy")
    for bad, code, text in [(["--method", "kl"], 1, "'kl'"), (["--percentile", "20"], 2, "percentile"),
                            (["--frobnicate"], 2, "unknown option"), (["--shard", "3/3"], 2, "shard")]:
        r = run(model, "--data", p, "-o", os.path.join(d, "t.json"), *bad)
        check(r.returncode == code and text in r.stderr, f"{bad}: exit {r.returncode}, {r.stderr.strip()}")
    r = run(model, "--data", os.path.join(d, "missing.npy"), "-o", os.path.join(d, "t.json"))
    check(r.returncode == 1 and "missing.npy" in r.stderr, "missing data file is named")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("datasets and calibrate: ok")
