#!/usr/bin/python3
"""inspect-models.py — `octet inspect` from the outside.

  all        every model.onnx in libonnx-testdata (all folders), the shared models and the npm
             models in .deps: exit 0 with a report (also --json, which must parse).
  mutations  1,000 mutated copies of real models (truncations, bit flips, random bytes, deleted
             or repeated chunks): exit 1 (or 0 when the mutation left a valid model) with a
             message, never a signal or a hang.
"""
import glob
import json
import os
import random
import subprocess
import sys
import tempfile

build = os.environ.get("OCTET_BUILD_ROOT", ".")
source = os.environ.get("OCTET_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
octet = os.path.join(build, "octet")


def real_models():
    models = sorted(glob.glob("/usr/share/libonnx-testdata/data/**/model.onnx", recursive=True))
    models += sorted(glob.glob("/work/shared/models/*.onnx"))
    deps = os.path.join(source, ".deps")
    if os.path.isdir(deps):
        models += sorted(glob.glob(os.path.join(deps, "ocr-models/assets/*.onnx")))
        models += sorted(glob.glob(os.path.join(deps, "silero-vad/weights/*.onnx")))
    else:
        print("note: %s absent, npm models skipped" % deps)
    return models


def run(args):
    return subprocess.run([octet, "inspect"] + args, capture_output=True, timeout=30)


def check_all():
    failures = 0
    models = real_models()
    for i, m in enumerate(models):
        r = run([m] + (["--json"] if i % 2 else []))
        if r.returncode != 0:
            print("FAIL %s: exit %d: %s" % (m, r.returncode, r.stderr.decode(errors="replace").strip()))
            failures += 1
            continue
        if i % 2:
            try:
                doc = json.loads(r.stdout)
                assert doc["ir_version"] >= 3 and doc["nodes"] >= 1
            except Exception as e:  # noqa: BLE001 - report any bad output
                print("FAIL %s: --json output does not parse: %s" % (m, e))
                failures += 1
    # Usage errors.
    for args, want in (([], 2), (["--bogus", models[0]], 2), (["/nonexistent.onnx"], 2), (["a", "b"], 2)):
        r = run(args)
        if r.returncode != want or not r.stderr.startswith(b"octet inspect: "):
            print("FAIL usage %s: exit %d %r" % (args, r.returncode, r.stderr[:200]))
            failures += 1
    print("%d models inspected, %d failures" % (len(models), failures))
    return failures


def mutate(data, rng):
    b = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0:  # truncate
        return bytes(b[: rng.randrange(len(b))]), "truncate"
    if kind == 1:  # bit flips
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b), "bitflip"
    if kind == 2:  # random bytes over a span
        at = rng.randrange(len(b))
        for i in range(at, min(len(b), at + rng.randint(1, 16))):
            b[i] = rng.randrange(256)
        return bytes(b), "overwrite"
    if kind == 3:  # delete a chunk
        at = rng.randrange(len(b))
        return bytes(b[:at] + b[at + rng.randint(1, 64):]), "delete"
    if kind == 4:  # repeat a chunk
        at = rng.randrange(len(b))
        return bytes(b[:at] + b[at : at + rng.randint(1, 64)] + b[at:]), "repeat"
    at = rng.randrange(len(b))  # huge varint where a length or dim might be
    return bytes(b[:at] + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" + b[at + 1 :]), "varint"


def check_mutations(count=1000):
    rng = random.Random(20261128)
    seeds = [m for m in real_models() if os.path.getsize(m) < 4 << 20]
    # Prefer varied structure: the shared/npm models, control flow, and a spread of node tests.
    picked = [m for m in seeds if "/node/" not in m] + [m for m in seeds if "/node/test_if" in m or "/node/test_loop" in m]
    picked += rng.sample([m for m in seeds if "/node/" in m], 40)
    blobs = [(m, open(m, "rb").read()) for m in picked]
    stats = {0: 0, 1: 0, 2: 0}
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mutant.onnx")
        for i in range(count):
            src, data = blobs[i % len(blobs)]
            mutant, kind = mutate(data, rng)
            with open(path, "wb") as f:
                f.write(mutant)
            try:
                r = run([path])
            except subprocess.TimeoutExpired:
                print("FAIL hang on a %s mutant of %s" % (kind, src))
                failures += 1
                continue
            if r.returncode < 0 or r.returncode not in (0, 1, 2):
                keep = os.path.join(tempfile.gettempdir(), "octet-mutant-%d.onnx" % i)
                with open(keep, "wb") as f:
                    f.write(mutant)
                print("FAIL %s mutant of %s: exit %d (kept as %s)" % (kind, src, r.returncode, keep))
                failures += 1
                continue
            if b"Sanitizer" in r.stderr or b"runtime error:" in r.stderr:
                print("FAIL %s mutant of %s: sanitizer report: %s" % (kind, src, r.stderr[:300]))
                failures += 1
            elif r.returncode != 0 and not r.stderr.startswith(b"octet inspect: "):
                print("FAIL %s mutant of %s: exit %d without a message" % (kind, src, r.returncode))
                failures += 1
            stats[r.returncode] += 1
    print("%d mutants: %d refused with a message (exit 1), %d still valid (exit 0), %d usage (exit 2), %d failures"
          % (count, stats[1], stats[0], stats[2], failures))
    return failures


if __name__ == "__main__":
    if not os.access(octet, os.X_OK):
        print("FAIL: %s not built" % octet)
        sys.exit(1)
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    sys.exit(1 if (check_all() if mode == "all" else check_mutations()) else 0)
