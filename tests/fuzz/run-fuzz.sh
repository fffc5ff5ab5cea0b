#!/bin/sh
# run-fuzz.sh SOURCE_ROOT BUILD_ROOT SECONDS — builds the loader's libFuzzer target with clang
# (when the meson option `fuzz` did not already build it) and runs it for a bounded time,
# seeded with the small real models. Exit 77 (skip) without clang.
set -eu
src=$1 build=$2 secs=${3:-30}
work=$(mktemp -d /tmp/octet-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
fuzzer=$build/tests/fuzz/fuzz-load
if [ ! -x "$fuzzer" ]; then
  if ! command -v clang >/dev/null 2>&1; then echo "SKIP: clang not installed"; exit 77; fi
  fuzzer=$work/fuzz-load
  clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src/include" -I"$src" -I"$build" -I"$build/onnx_io" \
    "$src/tests/fuzz/fuzz-load.c" "$src"/onnx_io/*.c "$src"/common/*.c "$build/onnx_io/onnx-ml.pb-c.c" \
    -lprotobuf-c -lm -o "$fuzzer"
fi
mkdir -p "$work/corpus"
n=0
for m in "$src"/examples/*.onnx /work/shared/models/*.onnx \
         /usr/share/libonnx-testdata/data/node/test_if/model.onnx \
         /usr/share/libonnx-testdata/data/node/test_loop11/model.onnx \
         /usr/share/libonnx-testdata/data/node/test_scan9_sum/model.onnx \
         /usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/model.onnx \
         /usr/share/libonnx-testdata/data/node/test_qlinearconv/model.onnx \
         /usr/share/libonnx-testdata/data/node/test_constant/model.onnx \
         /usr/share/libonnx-testdata/data/simple/test_sequence_model1/model.onnx; do
  [ -f "$m" ] || continue
  [ "$(stat -c %s "$m")" -le 262144 ] || continue
  n=$((n + 1)); cp "$m" "$work/corpus/seed$n.onnx"
done
echo "fuzzing the loader for ${secs}s from $n seed models"
cd "$work"
status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -max_len=300000 -print_final_stats=1 corpus > fuzz.log 2>&1 || status=$?
tail -25 fuzz.log
for f in crash-* leak-* timeout-* oom-*; do [ -f "$f" ] && cp "$f" /tmp/octet-fuzz-"$f" && echo "kept /tmp/octet-fuzz-$f"; done
exit $status
