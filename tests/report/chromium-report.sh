#!/bin/sh
# chromium-report.sh — `octet quantize --report` on fmnist_cnn, then the page rendered by a real
# browser (headless chromium screenshot): a PNG must come out, and the page must hold one
# histogram per quantized activation. Skips (77) without chromium or the models.
set -eu
octet=$1
models=${OCTET_SHARED_MODELS:-/work/shared/models}
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "chromium not installed: skipped"; exit 77; }
[ -f "$models/fmnist_cnn.onnx" ] || { echo "no $models/fmnist_cnn.onnx: skipped"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$octet" quantize "$models/fmnist_cnn.onnx" "$dir/q.onnx" --data "$models/fmnist_cnn.calib.npy" \
  --report "$dir/report.html" > "$dir/log.txt" 2> "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
pairs=$(sed -n 's/.*(\([0-9][0-9]*\) activations with Q\/DQ.*/\1/p' "$dir/log.txt")
hists=$(grep -o '<svg class="hist"' "$dir/report.html" | wc -l)
echo "quantized activations: $pairs, histograms: $hists"
[ -n "$pairs" ] && [ "$pairs" -gt 0 ] && [ "$hists" -eq "$pairs" ] || { echo "FAIL: histogram count"; exit 1; }
grep -q '<svg class="sqnr"' "$dir/report.html" || { echo "FAIL: no SQNR chart"; exit 1; }
# Nothing may be fetched: the only URL allowed is the SVG namespace.
if grep -o 'https\?://[^" ]*' "$dir/report.html" | grep -v '^http://www.w3.org/2000/svg$' | grep -q .; then
  echo "FAIL: the page refers to the network"; exit 1
fi
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$dir/profile" --screenshot="$dir/out.png" --window-size=1200,2000 \
  "file://$dir/report.html" > "$dir/chromium.log" 2>&1 || { cat "$dir/chromium.log"; echo "FAIL: chromium"; exit 1; }
[ -s "$dir/out.png" ] || { echo "FAIL: no screenshot"; exit 1; }
magic=$(od -An -tx1 -N8 "$dir/out.png" | tr -d ' \n')
[ "$magic" = "89504e470d0a1a0a" ] || { echo "FAIL: not a PNG ($magic)"; exit 1; }
echo "screenshot: $(wc -c < "$dir/out.png") bytes"
