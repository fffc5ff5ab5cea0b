/* cpu.c — x86 feature detection with cpuid + xgetbv (the OS must save the wide registers), the
 * OCTET_CPU_MASK override, and the ISA name. Other architectures report no features. */
#include "ops/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void) {
  uint32_t a, b, c, d, f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (d & (1u << 26)) f |= OCTET_CPU_SSE2;
  if (c & (1u << 9)) f |= OCTET_CPU_SSSE3;
  if (c & (1u << 19)) f |= OCTET_CPU_SSE41;
  int osxsave = (c & (1u << 27)) != 0;
  int avx = (c & (1u << 28)) != 0, fma = (c & (1u << 12)) != 0, f16c = (c & (1u << 29)) != 0;
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  int ymm_ok = (xcr0 & 0x6) == 0x6;    /* XMM and YMM state */
  int zmm_ok = (xcr0 & 0xe6) == 0xe6;  /* plus opmask and both ZMM halves */
  if (!ymm_ok) return f;
  if (avx) f |= OCTET_CPU_AVX;
  if (fma) f |= OCTET_CPU_FMA;
  if (f16c) f |= OCTET_CPU_F16C;
  if (__get_cpuid_max(0, NULL) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  if (b & (1u << 5)) f |= OCTET_CPU_AVX2;
  if (zmm_ok) {
    if (b & (1u << 16)) f |= OCTET_CPU_AVX512F;
    if (b & (1u << 17)) f |= OCTET_CPU_AVX512DQ;
    if (b & (1u << 30)) f |= OCTET_CPU_AVX512BW;
    if (b & (1u << 31)) f |= OCTET_CPU_AVX512VL;
    if (c & (1u << 11)) f |= OCTET_CPU_AVX512VNNI;
  }
  uint32_t a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  if (a1 & (1u << 4)) f |= OCTET_CPU_AVXVNNI;
  return f;
}
#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

static uint32_t detect(void) {
  /* Bit numbers from the kernel's uapi asm/hwcap.h (stable ABI). */
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  uint32_t f = 0;
  if (hw & (1ul << 1)) f |= OCTET_CPU_NEON;     /* HWCAP_ASIMD */
  if (hw & (1ul << 20)) f |= OCTET_CPU_ASIMDDP; /* HWCAP_ASIMDDP */
  if (hw2 & (1ul << 13)) f |= OCTET_CPU_I8MM;   /* HWCAP2_I8MM */
  return f;
}
#else
static uint32_t detect(void) { return 0; }
#endif

/* 0 means "not yet detected": bit 31 marks a detected value so a CPU without features caches too. */
#define DETECTED (1u << 31)
static uint32_t g_detected;
static uint32_t g_mask;
static int g_mask_set;
static uint32_t g_generation;

uint32_t octet_cpu_detected(void) {
  uint32_t v = __atomic_load_n(&g_detected, __ATOMIC_ACQUIRE);
  if (!v) {
    v = detect() | DETECTED; /* idempotent: a race only computes the same value twice */
    __atomic_store_n(&g_detected, v, __ATOMIC_RELEASE);
  }
  return v & ~DETECTED;
}

static uint32_t mask_from_env(void) {
  const char *s = getenv("OCTET_CPU_MASK");
  if (!s || !*s) return ~0u;
  static const struct { const char *name; uint32_t mask; } names[] = {
    {"scalar", 0},
    {"none", 0},
    {"ref", 0},
    {"sse2", OCTET_CPU_SSE2 | OCTET_CPU_SSSE3 | OCTET_CPU_SSE41},
    {"avx2", OCTET_CPU_SSE2 | OCTET_CPU_SSSE3 | OCTET_CPU_SSE41 | OCTET_CPU_F16C | OCTET_CPU_LEVEL_AVX2},
    {"avx512", OCTET_CPU_SSE2 | OCTET_CPU_SSSE3 | OCTET_CPU_SSE41 | OCTET_CPU_F16C | OCTET_CPU_LEVEL_AVX512},
    {"avx512vnni", ~0u},
    {"neon", OCTET_CPU_NEON},
    {"dotprod", OCTET_CPU_NEON | OCTET_CPU_ASIMDDP},
    {"i8mm", ~0u},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(s, names[i].name)) return names[i].mask;
  char *end;
  unsigned long v = strtoul(s, &end, 0);
  if (*end) return ~0u;
  return (uint32_t)v;
}

uint32_t octet_cpu_features(void) {
  if (!__atomic_load_n(&g_mask_set, __ATOMIC_ACQUIRE)) {
    __atomic_store_n(&g_mask, mask_from_env(), __ATOMIC_RELAXED);
    __atomic_store_n(&g_mask_set, 1, __ATOMIC_RELEASE);
  }
  return octet_cpu_detected() & __atomic_load_n(&g_mask, __ATOMIC_RELAXED);
}

void octet_cpu_set_mask(uint32_t mask) {
  __atomic_store_n(&g_mask, mask, __ATOMIC_RELAXED);
  __atomic_store_n(&g_mask_set, 1, __ATOMIC_RELEASE);
  __atomic_add_fetch(&g_generation, 1, __ATOMIC_ACQ_REL);
}

uint32_t octet_cpu_generation(void) { return __atomic_load_n(&g_generation, __ATOMIC_ACQUIRE); }

const char *octet_cpu_isa_name(void) {
  uint32_t f = octet_cpu_features();
  if ((f & (OCTET_CPU_LEVEL_AVX512 | OCTET_CPU_AVX512VNNI)) == (OCTET_CPU_LEVEL_AVX512 | OCTET_CPU_AVX512VNNI))
    return "avx512vnni";
  if ((f & OCTET_CPU_LEVEL_AVX512) == OCTET_CPU_LEVEL_AVX512) return "avx512";
  if ((f & OCTET_CPU_LEVEL_AVX2) == OCTET_CPU_LEVEL_AVX2) return "avx2";
  if (f & OCTET_CPU_SSE2) return "sse2";
  if (f & OCTET_CPU_I8MM) return "i8mm";
  if (f & OCTET_CPU_ASIMDDP) return "dotprod";
  if (f & OCTET_CPU_NEON) return "neon";
  return "scalar";
}
