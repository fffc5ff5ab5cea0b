#!/bin/sh
# methods.sh — top-1 drop of each range method on the dev models (how the default was chosen).
# The accuracy guard is off (--min-sqnr 0): this measures the ranges alone.
#   bench/quantize/methods.sh [build dir]
set -eu
b=${1:-build}
S=$(cd "$(dirname "$0")/../../../shared/models" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-12s %-11s %s\n' model method result
for m in digits_mlp mnist_cnn fmnist_cnn fmnist_vit; do
  for meth in minmax percentile entropy mse; do
    r=$("$b/octet" quantize "$S/$m.onnx" "$tmp/q.onnx" --method $meth --data "$S/$m.calib.npy" --min-sqnr 0 \
        --eval-data "$S/$m.test_x.npy" --eval-labels "$S/$m.test_y.npy" 2>/dev/null | grep '^drop' || echo failed)
    printf '%-12s %-11s %s\n' "$m" "$meth" "$r"
  done
done
