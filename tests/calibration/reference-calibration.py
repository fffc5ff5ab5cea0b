#!/usr/bin/python3
"""Checks octet's histogram and range choosers against an independent NumPy implementation on
synthetic distributions (Gaussian, Laplace, ReLU with outliers, bimodal).
Usage: reference-calibration.py PATH/TO/calib-probe"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

probe = sys.argv[1]
rng = np.random.default_rng(1234)
N = 200_000
dists = {
    "gaussian": rng.normal(0.3, 1.7, N),
    "laplace": rng.laplace(-0.2, 0.8, N),
    "relu_outliers": np.concatenate([np.maximum(rng.normal(0.5, 1.0, N), 0), rng.uniform(20, 60, 40)]),
    "bimodal": np.concatenate([rng.normal(-3, 0.5, N // 2), rng.normal(4, 1.0, N // 2)]),
}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def histogram(x, B):
    amax = float(np.max(np.abs(x)))
    e = math.frexp(amax)[1]
    w = 2.0 ** e / B
    idx = np.floor(x.astype(np.float64) / w).astype(np.int64) + B
    return np.bincount(idx, minlength=2 * B).astype(np.float64), w, e


def quantile(bins, w, B, mn, mx, q):
    """Value below which a fraction q lies, interpolating linearly inside the bin."""
    total = bins.sum()
    target = q * total
    cum = np.cumsum(bins)
    i = int(np.searchsorted(cum, target, side="left"))
    while bins[i] == 0:
        i += 1
    before = cum[i] - bins[i]
    lo = max((i - B) * w, mn)
    hi = min((i - B + 1) * w, mx)
    return lo + (hi - lo) * ((target - before) / bins[i])


def folded(bins, B, w, amax, max_bins=None):
    ab = bins[B:] + bins[:B][::-1]
    used = min(B, max(1, int(math.ceil(amax / w))))
    ab = ab[:used].copy()
    while max_bins and len(ab) > max_bins:
        if len(ab) % 2:
            ab = np.append(ab, 0)
        ab = ab[0::2] + ab[1::2]
        w *= 2
    return ab, w


def trt_entropy_bin(hist, levels):
    """TensorRT's KL calibration as NVIDIA describes it (GTC 2017), written from the slides."""
    n = len(hist)
    if n <= levels:
        return n
    best, best_kl = n, math.inf
    for i in range(levels, n + 1):
        p = hist[:i].astype(np.float64).copy()
        p[i - 1] += hist[i:].sum()
        merged = i // levels
        q = np.zeros(i)
        for j in range(levels):
            start = j * merged
            stop = i if j == levels - 1 else start + merged
            nz = np.count_nonzero(p[start:stop])
            if nz:
                q[start:stop] = np.where(p[start:stop] != 0, hist[start:stop].sum() / nz, 0.0)
        pn = p / p.sum()
        qn = q / q.sum() if q.sum() > 0 else q
        m = pn > 0
        qq = np.where(qn[m] == 0, 1e-12, qn[m])
        kl = float(np.sum(pn[m] * np.log(pn[m] / qq)))
        if kl < best_kl:
            best_kl, best = kl, i
    return best


def mse_brute(bins, w, B, symmetric, unsigned):
    steps = 255.0 if unsigned else 254.0
    centers = (np.arange(2 * B) - B + 0.5) * w
    nzi = np.nonzero(bins)[0]
    first, last = min(nzi[0], B), max(nzi[-1] + 1, B)
    best, arg = math.inf, None
    if symmetric:
        for t in range(1, max(B - first, last - B) + 1):
            T = t * w
            inside = (np.arange(2 * B) >= B - t) & (np.arange(2 * B) < B + t)
            clipped = np.clip(centers, -T, T)
            e = np.sum(bins[~inside] * (centers[~inside] - clipped[~inside]) ** 2) + \
                bins[inside].sum() * (2 * T / steps) ** 2 / 12
            if e < best:
                best, arg = e, (-T, T)
    else:
        for a in range(first, B + 1):
            for b in range(B + 1 if a == B else B, last + 1):
                L, H = (a - B) * w, (b - B) * w
                idx = np.arange(2 * B)
                below, above = idx < a, idx >= b
                inside = ~below & ~above
                e = np.sum(bins[below] * (centers[below] - L) ** 2) + \
                    np.sum(bins[above] * (centers[above] - H) ** 2) + \
                    bins[inside].sum() * ((H - L) / steps) ** 2 / 12
                if e < best:
                    best, arg = e, (L, H)
    return arg


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


with tempfile.TemporaryDirectory() as tmp:
    for name, x in dists.items():
        x = x.astype(np.float32)
        for B in (64, 1024):
            path = os.path.join(tmp, f"{name}.f32")
            x.tofile(path)
            out = json.loads(subprocess.check_output([probe, path, str(B)]))
            bins, w, e = histogram(x, B)
            check(out["exp"] == e and np.array_equal(np.array(out["bins"], dtype=np.float64), bins),
                  f"{name}/{B}: histogram differs from numpy's")
            mn, mx = float(x.min()), float(x.max())
            amax = max(-mn, mx)
            for r in out["ranges"]:
                m, sym, uns, lo, hi = r["method"], r["symmetric"], r["unsigned"], r["lo"], r["hi"]
                tag = f"{name}/{B}/{m}/sym{sym}/u{uns}"
                if m == "minmax":
                    exp = (-amax, amax) if sym else (min(mn, 0), max(mx, 0))
                elif m == "percentile":
                    if sym:
                        ab, fw = folded(bins, B, w, amax)
                        cum = np.cumsum(ab)
                        target = 0.999 * bins.sum()
                        k = int(np.searchsorted(cum, target, side="left"))
                        t = min((k + (target - (cum[k] - ab[k])) / ab[k]) * fw, amax)
                        exp = (-t, t)
                        raw = np.percentile(np.abs(x), 99.9)
                        check(abs(t - raw) <= fw, f"{tag}: {t} not within a bin of numpy's {raw}")
                    else:
                        exp = (min(quantile(bins, w, B, mn, mx, 0.001), 0), max(quantile(bins, w, B, mn, mx, 0.999), 0))
                        for got, p in ((exp[0], 0.1), (exp[1], 99.9)):
                            raw = np.percentile(x, p)
                            check(got == 0 or abs(got - raw) <= w, f"{tag}: {got} not within a bin of numpy's {raw}")
                elif m == "entropy":
                    ab, fw = folded(bins, B, w, amax, 2048)
                    levels = 256 if (min(mn, 0) == 0 and uns and not sym) else 128
                    t = trt_entropy_bin(ab, levels) * fw
                    exp = (-min(t, amax), min(t, amax)) if sym else (max(min(mn, 0), -t), min(max(mx, 0), t))
                else:
                    if B > 64:
                        continue  # brute force in Python is quadratic in bins: small histograms only
                    L, H = mse_brute(bins, w, B, sym, uns)
                    exp = (max(L, -amax), min(H, amax)) if sym else (max(L, min(mn, 0)), min(H, max(mx, 0)))
                check(close(lo, exp[0]) and close(hi, exp[1]), f"{tag}: octet [{lo}, {hi}] reference [{exp[0]}, {exp[1]}]")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("calibration choosers agree with the NumPy reference on", len(dists), "distributions")
