#!/bin/sh
# run.sh BUILD_DIR [MB] — loading figures: generates a ~MB (default 100) model with inline
# weights and a 3×MB model with external data, then reports wall time and peak RSS of
# `octet inspect` and of the load-only tool against the file size. Files go to a temp folder
# and are removed afterwards.
set -eu
build=${1:?usage: run.sh BUILD_DIR [MB]}
mb=${2:-100}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/octet-bench-load-XXXXXX)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/make-model.py" "$work/inline.onnx" "$mb"
/usr/bin/python3 "$here/make-model.py" "$work/ext.onnx" $((mb * 3)) --external
measure() { # label, command...
  label=$1; shift
  /usr/bin/time -v "$@" > "$work/out.txt" 2> "$work/time.txt" || { cat "$work/out.txt" "$work/time.txt"; exit 1; }
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$work/time.txt")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
  usr=$(sed -n 's/.*User time (seconds): //p' "$work/time.txt")
  sys=$(sed -n 's/.*System time (seconds): //p' "$work/time.txt")
  # CPU time is reported too: on a shared machine wall time mostly measures waiting for a core.
  printf '%-30s wall %-7s cpu %5.2f s  peak RSS %7.1f MB  %s\n' "$label" "$wall" "$(echo "$usr + $sys" | bc -l)" \
    "$(echo "$rss / 1024" | bc -l)" \
    "$(grep -E '^(load|save):' "$work/out.txt" | tr '\n' ' ')"
}
size=$(stat -c %s "$work/inline.onnx")
ext=$(stat -c %s "$work/ext.onnx.weights")
printf 'inline model: %.1f MB; external model: %.1f MB proto + %.1f MB side file\n' \
  "$(echo "$size / 1048576" | bc -l)" "$(echo "$(stat -c %s "$work/ext.onnx") / 1048576" | bc -l)" \
  "$(echo "$ext / 1048576" | bc -l)"
sync
measure "octet inspect (inline)" "$build/octet" inspect "$work/inline.onnx"
measure "load-model (inline)" "$build/bench/load/load-model" "$work/inline.onnx"
measure "octet inspect (external)" "$build/octet" inspect "$work/ext.onnx"
measure "load+save+reload (external)" "$build/bench/load/load-model" "$work/ext.onnx" "$work/resaved.onnx" 1024
measure "load+save inline->external" "$build/bench/load/load-model" "$work/inline.onnx" "$work/split.onnx" 1024
