#!/bin/sh
# arm-cross.sh — builds the int8 kernel tester (tests/kernels) for aarch64 as a standalone
# program (common/ and the ops/quant kernels only: no protobuf, no cmocka) and runs it under
# qemu-aarch64 as a Cortex-A53 (NEON only), a Cortex-A76 (dot product) and "max" (i8mm); each
# CPU reports the variants it lacks as skipped.
# Exit 77 (meson: skipped) when aarch64-linux-gnu-gcc or qemu-aarch64 is missing; Debian
# packages: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user.
set -eu
root=${OCTET_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
out=${OCTET_BUILD_ROOT:-$root/build}/arm-cross
cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
qemu=${QEMU_AARCH64:-qemu-aarch64}
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v "$qemu" >/dev/null 2>&1; then
  echo "arm-cross: $cc or $qemu not found; skipped (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)"
  exit 77
fi
mkdir -p "$out/ops/quant"
# what ops/quant/meson.build generates for an aarch64 build
printf '#define OCTET_QGEMM_AVX2 0\n#define OCTET_QGEMM_NEON 1\n#define OCTET_QGEMM_NEONDOT 1\n#define OCTET_QGEMM_I8MM 1\n' \
  > "$out/ops/quant/qgemm-isa.h"
flags="-std=c11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation
  -ffp-contract=off -D_GNU_SOURCE -DOCTET_KT_STANDALONE -I$out -I$root/include -I$root"
# only the dot-product and matrix-multiply kernels get their -march (as ops/quant/arm/meson.build)
"$cc" $flags -march=armv8.2-a+dotprod -c "$root/ops/quant/arm/qs8-gemm-4x8c4-neondot.c" \
  -o "$out/qs8-gemm-4x8c4-neondot.o"
"$cc" $flags -march=armv8.2-a+i8mm -c "$root/ops/quant/arm/qs8-gemm-4x8c8-neoni8mm.c" \
  -o "$out/qs8-gemm-4x8c8-neoni8mm.o"
"$cc" $flags -static "$root/tests/kernels/test-kernels.c" \
  "$root/common/error.c" "$root/common/alloc.c" "$root/common/arena.c" "$root/common/dtype.c" \
  "$root/ops/cpu.c" "$root/ops/quant/requant.c" "$root/ops/quant/qgemm-ref.c" \
  "$root/ops/quant/qgemm-dispatch.c" "$root/ops/quant/arm/qs16-gemm-4x8-neon.c" \
  "$out/qs8-gemm-4x8c4-neondot.o" "$out/qs8-gemm-4x8c8-neoni8mm.o" -lm -o "$out/test-kernels-aarch64"
status=0
for cpu in cortex-a53 cortex-a76 max; do
  echo "== qemu-aarch64 -cpu $cpu"
  "$qemu" -cpu "$cpu" "$out/test-kernels-aarch64" || status=1
done
exit $status
