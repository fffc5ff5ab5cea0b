#!/bin/sh
# run.sh [BUILD_DIR] — one run prints everything: makes the ONNX models (make-models.py), times
# them in ONNX Runtime (ort-time.js, one thread), then runs bench-qgemm with those times.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$here/make-models.py" "$dir"
node "$here/ort-time.js" "$dir" > "$dir/ort.tsv"
"$build/bench/qgemm/bench-qgemm" "$dir/ort.tsv"
