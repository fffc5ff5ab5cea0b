"""`octet quantize --calibration-table`: a table written by `octet calibrate` gives the same model,
byte for byte, as calibrating inside `quantize`; tables that do not fit the request, and broken or
hostile files, are refused with a message naming the problem, and no output is written.
    calibration-table.py OCTET"""
import os
import sys
import tempfile

from checks import SHARED, check, finish, octet, read

exe = sys.argv[1]
model = os.path.join(SHARED, "fmnist_cnn.onnx")
data = os.path.join(SHARED, "fmnist_cnn.calib.npy")


def run(*args):
    return octet(exe, *args)


with tempfile.TemporaryDirectory() as d:
    table = os.path.join(d, "t.json")
    r = run("calibrate", model, "--data", data, "--samples", "96", "-o", table)
    check(r.returncode == 0, f"calibrate: {r.stderr}")
    # Same ranges, same model: the default method and each single method. The accuracy guard
    # needs the data itself; with --data it passes on these ranges and changes nothing, but not
    # on entropy's clipped ones (it would keep layers float), so it is off for that one
    for extra in ([], ["--method", "entropy", "--min-sqnr", "0"], ["--method", "percentile"], ["--format", "qop"]):
        a, b = os.path.join(d, "a.onnx"), os.path.join(d, "b.onnx")
        ra = run("quantize", model, a, "--data", data, "--samples", "96", *extra)
        rb = run("quantize", model, b, "--calibration-table", table, *extra)
        check(ra.returncode == 0 and rb.returncode == 0, f"{extra}: {ra.stderr} {rb.stderr}")
        check(rb.returncode != 0 or "ranges from" in rb.stdout, f"{extra}: summary names the table")
        check(os.path.exists(a) and os.path.exists(b) and read(a) == read(b),
              f"{extra}: the table gives a different model than calibrating in quantize")

    # Tables that do not fit the request
    only_mse = os.path.join(d, "mse.json")
    run("calibrate", model, "--data", data, "--samples", "32", "--method", "mse", "-o", only_mse)
    pct = os.path.join(d, "pct.json")
    run("calibrate", model, "--data", data, "--samples", "32", "--percentile", "99.9", "-o", pct)
    out = os.path.join(d, "never.onnx")
    for args, text in [
        (["--calibration-table", only_mse], '"minmax"'),  # the default method is not in it
        (["--calibration-table", table, "--int8-activations"], "uint8"),
        (["--calibration-table", pct, "--method", "percentile"], "percentile 99.9"),
        (["--calibration-table", table, "--data", data], "replaces --data"),
        (["--calibration-table", table, "--bias-correction"], "need the data"),
        (["--calibration-table", os.path.join(d, "missing.json")], "missing.json"),
    ]:
        r = run("quantize", model, out, *args)
        check(r.returncode != 0 and text in r.stderr, f"{args}: exit {r.returncode}, {r.stderr.strip()}")
        check(not os.path.exists(out), f"{args}: an output was written")

    # Broken and hostile files: every prefix of a real table, wrong documents, deep nesting
    text = read(table)
    bad = os.path.join(d, "bad.json")
    cases = [text[:n] for n in range(0, len(text), max(1, len(text) // 97))]
    cases += [b"[]", b"{}", b"null", b'{"format": "octet-calibration", "version": 2, "tensors": {}}',
              b'{"format": "octet-calibration", "version": 1, "tensors": []}',
              b'{"format": "octet-calibration", "version": 1, "tensors": {"x": {"min": 0, "max": 1, "ranges": {"mse": [1, 2]}}}}',
              b'{"format": "octet-calibration", "version": 1, "tensors": {"x": 1}}',
              b"[" * 100000, b'{"a": "\\ud800\\u0000"}', b'"\x01"', b"\xff\xfe", b"{\"format\": 1e999999}",
              text.replace(b'"min"', b'"mi\\u006e"', 1) + b"x"]
    for i, c in enumerate(cases):
        with open(bad, "wb") as f:
            f.write(c)
        r = run("quantize", model, out, "--calibration-table", bad)
        check(r.returncode == 1 and "calibration table" in r.stderr and r.stderr.count("\n") == 1,
              f"bad table {i} ({c[:40]!r}...): exit {r.returncode}, {r.stderr.strip()[:200]}")
        check(not os.path.exists(out), f"bad table {i}: an output was written")

finish("calibration table: ok")
