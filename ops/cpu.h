/* cpu.h — CPU feature detection, done once, shared by the float and int8 kernels. The mask can
 * be lowered (never raised) by the environment variable OCTET_CPU_MASK or by tests. */
#ifndef OCTET_OPS_CPU_H
#define OCTET_OPS_CPU_H

#include <stdint.h>

enum {
  OCTET_CPU_SSE2 = 1u << 0,
  OCTET_CPU_SSSE3 = 1u << 1,
  OCTET_CPU_SSE41 = 1u << 2,
  OCTET_CPU_AVX = 1u << 3,
  OCTET_CPU_F16C = 1u << 4,
  OCTET_CPU_FMA = 1u << 5,
  OCTET_CPU_AVX2 = 1u << 6,
  OCTET_CPU_AVX512F = 1u << 7,
  OCTET_CPU_AVX512BW = 1u << 8,
  OCTET_CPU_AVX512DQ = 1u << 9,
  OCTET_CPU_AVX512VL = 1u << 10,
  OCTET_CPU_AVX512VNNI = 1u << 11,
  OCTET_CPU_AVXVNNI = 1u << 12,
  /* aarch64 (getauxval): Advanced SIMD, the dot product (sdot/udot), the int8 matrix multiply
   * (smmla/usmmla). */
  OCTET_CPU_NEON = 1u << 13,
  OCTET_CPU_ASIMDDP = 1u << 14,
  OCTET_CPU_I8MM = 1u << 15,
};

/* Feature sets the kernels ask for. */
#define OCTET_CPU_LEVEL_AVX2 (OCTET_CPU_AVX | OCTET_CPU_AVX2 | OCTET_CPU_FMA)
#define OCTET_CPU_LEVEL_AVX512 \
  (OCTET_CPU_LEVEL_AVX2 | OCTET_CPU_AVX512F | OCTET_CPU_AVX512BW | OCTET_CPU_AVX512DQ | \
   OCTET_CPU_AVX512VL)

/* What the CPU and OS support (cpuid + xgetbv), detected on first call; no mask applied. */
uint32_t octet_cpu_detected(void);

/* What kernels may use: detected & mask. The mask starts from OCTET_CPU_MASK, which is either
 * a number (e.g. 0x7f) or an ISA name: "scalar"/"none", "sse2", "avx2", "avx512",
 * "avx512vnni" (each allows that level and below); on aarch64 "neon", "dotprod", "i8mm".
 * Unset or unparsable: everything. */
uint32_t octet_cpu_features(void);

/* True when every bit of `need` is in octet_cpu_features(). */
static inline int octet_cpu_has(uint32_t need) { return (octet_cpu_features() & need) == need; }

/* Replaces the mask (tests). Kernels that cached a choice must re-read it: see each dispatcher. */
void octet_cpu_set_mask(uint32_t mask);

/* Bumped on every octet_cpu_set_mask, so dispatchers know to choose again. */
uint32_t octet_cpu_generation(void);

/* Name of the best level enabled: "avx512vnni", "avx512", "avx2", "sse2" or "scalar". */
const char *octet_cpu_isa_name(void);

#endif
