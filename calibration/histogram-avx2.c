/* histogram-avx2.c — AVX2 twins of histogram.c's scan and bin-index loops (histogram-simd.h),
 * eight floats at a time; the functions carry target("avx2") and run only when the CPU has it. */
#include <float.h>
#include <math.h>

#include "calibration/histogram-simd.h"

static bool simd_off;

void octet_hist_simd_set(bool on) { simd_off = !on; }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <pthread.h>

#define AVX2 __attribute__((target("avx2")))

bool octet_hist_simd_enabled(void) {
  static int have = -1;
  if (have < 0) {
    __builtin_cpu_init();
    have = __builtin_cpu_supports("avx2") != 0;
  }
  return have && !simd_off;
}

AVX2 void octet_hist_scan_avx2(const float *x, size_t n, octet_hist_scan *r) {
  __m256 vlo = _mm256_set1_ps(INFINITY), vhi = _mm256_set1_ps(-INFINITY), zero = _mm256_setzero_ps();
  __m256 maxf = _mm256_set1_ps(FLT_MAX), absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  size_t zeros = 0, nonfinite = 0, i = 0;
  /* Lane counters are 32-bit: flush them every 2^30 vectors. Two accumulators hide latency. */
  while (i + 8 <= n) {
    __m256i vz = _mm256_setzero_si256(), vnf = _mm256_setzero_si256();
    __m256 lo2 = vlo, hi2 = vhi;
    size_t stop = n - i > ((size_t)1 << 33) ? i + ((size_t)1 << 33) : n;
    for (; i + 16 <= stop; i += 16) {
      __m256 a = _mm256_loadu_ps(x + i), b = _mm256_loadu_ps(x + i + 8);
      vlo = _mm256_min_ps(vlo, a);
      vhi = _mm256_max_ps(vhi, a);
      lo2 = _mm256_min_ps(lo2, b);
      hi2 = _mm256_max_ps(hi2, b);
      __m256i za = _mm256_castps_si256(_mm256_cmp_ps(a, zero, _CMP_EQ_OQ));
      __m256i zb = _mm256_castps_si256(_mm256_cmp_ps(b, zero, _CMP_EQ_OQ));
      vz = _mm256_sub_epi32(vz, _mm256_add_epi32(za, zb));
      __m256i na = _mm256_castps_si256(_mm256_cmp_ps(_mm256_and_ps(a, absmask), maxf, _CMP_NLE_UQ));
      __m256i nb = _mm256_castps_si256(_mm256_cmp_ps(_mm256_and_ps(b, absmask), maxf, _CMP_NLE_UQ));
      vnf = _mm256_sub_epi32(vnf, _mm256_add_epi32(na, nb));
    }
    for (; i + 8 <= stop; i += 8) {
      __m256 a = _mm256_loadu_ps(x + i);
      vlo = _mm256_min_ps(vlo, a);
      vhi = _mm256_max_ps(vhi, a);
      vz = _mm256_sub_epi32(vz, _mm256_castps_si256(_mm256_cmp_ps(a, zero, _CMP_EQ_OQ)));
      vnf = _mm256_sub_epi32(
          vnf, _mm256_castps_si256(_mm256_cmp_ps(_mm256_and_ps(a, absmask), maxf, _CMP_NLE_UQ)));
    }
    vlo = _mm256_min_ps(vlo, lo2);
    vhi = _mm256_max_ps(vhi, hi2);
    uint32_t z8[8], n8[8];
    _mm256_storeu_si256((__m256i *)z8, vz);
    _mm256_storeu_si256((__m256i *)n8, vnf);
    for (int k = 0; k < 8; k++) {
      zeros += z8[k];
      nonfinite += n8[k];
    }
  }
  float l8[8], h8[8];
  _mm256_storeu_ps(l8, vlo);
  _mm256_storeu_ps(h8, vhi);
  float lo = INFINITY, hi = -INFINITY;
  for (int k = 0; k < 8; k++) {
    lo = l8[k] < lo ? l8[k] : lo;
    hi = h8[k] > hi ? h8[k] : hi;
  }
  *r = (octet_hist_scan){lo, hi, zeros, nonfinite};
  octet_hist_scan_tail(x, i, n, r);
}

/* Left-packing: for each 8-bit mask, the lanes whose bit is set, as byte indices in order. */
static uint64_t pack_lut[256];
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;

static void make_pack_lut(void) {
  for (unsigned mask = 0; mask < 256; mask++) {
    uint64_t v = 0;
    unsigned k = 0;
    for (unsigned lane = 0; lane < 8; lane++)
      if (mask & (1u << lane)) v |= (uint64_t)lane << (8 * k++);
    pack_lut[mask] = v;
  }
}

/* x * inv_w is exact in float while the product is a normal number (inv_w is a power of two);
 * a product that underflows stays within (-1, 1) and floors right, unless a negative one
 * rounds to -0: those get B - 1 explicitly. Zeros and NaN/inf are packed away. */
AVX2 size_t octet_hist_index_avx2(const float *x, size_t m, double inv_w, int32_t B, int32_t *idx) {
  if (!(inv_w >= 0x1p-126 && inv_w <= 0x1p127)) return SIZE_MAX;
  pthread_once(&pack_once, make_pack_lut);
  __m256 s = _mm256_set1_ps((float)inv_w), zero = _mm256_setzero_ps(), maxf = _mm256_set1_ps(FLT_MAX);
  __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256i vb = _mm256_set1_epi32(B), vb1 = _mm256_set1_epi32(B - 1);
  size_t i = 0, k = 0;
  for (; i + 8 <= m; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 p = _mm256_mul_ps(v, s);
    __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(_mm256_floor_ps(p)), vb);
    __m256 under = _mm256_and_ps(_mm256_cmp_ps(p, zero, _CMP_EQ_OQ), _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
    q = _mm256_blendv_epi8(q, vb1, _mm256_castps_si256(under));
    __m256 keep = _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_OQ),
                                _mm256_cmp_ps(_mm256_and_ps(v, absmask), maxf, _CMP_LE_OQ));
    unsigned mask = (unsigned)_mm256_movemask_ps(keep);
    __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)pack_lut[mask]));
    _mm256_storeu_si256((__m256i *)(idx + k), _mm256_permutevar8x32_epi32(q, perm));
    k += (size_t)__builtin_popcount(mask);
  }
  if (i < m) k += octet_hist_index_c(x + i, m - i, inv_w, B, idx + k);
  return k;
}

/* One pass: the extremes, zeros and non-finite values of the scan, and the packed indices.
 * Leaner than the two loops above: a negative value's floor is at most -1, so min(q, -1) on
 * negative lanes fixes the products that underflow to -0; and every value is a zero, a packed
 * index or non-finite, so non-finite values are counted as what is left. */
AVX2 size_t octet_hist_scan_index_avx2(const float *x, size_t n, double inv_w, int32_t B, int32_t *idx,
                                       octet_hist_scan *r) {
  if (!(inv_w >= 0x1p-126 && inv_w <= 0x1p127) || n > ((size_t)1 << 33)) return SIZE_MAX;
  pthread_once(&pack_once, make_pack_lut);
  __m256 s = _mm256_set1_ps((float)inv_w), zero = _mm256_setzero_ps(), maxf = _mm256_set1_ps(FLT_MAX);
  __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 vlo = _mm256_set1_ps(INFINITY), vhi = _mm256_set1_ps(-INFINITY);
  __m256i vb = _mm256_set1_epi32(B), vmaxi = _mm256_set1_epi32(INT32_MAX), vz = _mm256_setzero_si256();
  size_t i = 0, k = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
    __m256 isz = _mm256_cmp_ps(v, zero, _CMP_EQ_OQ);
    __m256 fin = _mm256_cmp_ps(_mm256_and_ps(v, absmask), maxf, _CMP_LE_OQ);
    vz = _mm256_sub_epi32(vz, _mm256_castps_si256(isz));
    __m256i q = _mm256_cvttps_epi32(_mm256_floor_ps(_mm256_mul_ps(v, s)));
    __m256i cap = _mm256_or_si256(_mm256_srai_epi32(_mm256_castps_si256(v), 31), vmaxi); /* -1 or INT_MAX */
    q = _mm256_add_epi32(_mm256_min_epi32(q, cap), vb);
    unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_andnot_ps(isz, fin));
    __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)pack_lut[mask]));
    _mm256_storeu_si256((__m256i *)(idx + k), _mm256_permutevar8x32_epi32(q, perm));
    k += (size_t)__builtin_popcount(mask);
  }
  uint32_t z8[8];
  float l8[8], h8[8];
  _mm256_storeu_si256((__m256i *)z8, vz);
  _mm256_storeu_ps(l8, vlo);
  _mm256_storeu_ps(h8, vhi);
  size_t zeros = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int j = 0; j < 8; j++) {
    zeros += z8[j];
    lo = l8[j] < lo ? l8[j] : lo;
    hi = h8[j] > hi ? h8[j] : hi;
  }
  size_t nonfinite = i - zeros - k;
  if (i < n) {
    octet_hist_scan tail;
    octet_hist_scan_c(x + i, n - i, &tail);
    zeros += tail.zeros;
    nonfinite += tail.nonfinite;
    lo = tail.lo < lo ? tail.lo : lo;
    hi = tail.hi > hi ? tail.hi : hi;
    k += octet_hist_index_c(x + i, n - i, inv_w, B, idx + k);
  }
  r->lo = lo;
  r->hi = hi;
  r->zeros = zeros;
  r->nonfinite = nonfinite;
  return k;
}

#else

bool octet_hist_simd_enabled(void) { return false; }
void octet_hist_scan_avx2(const float *x, size_t n, octet_hist_scan *r) { octet_hist_scan_c(x, n, r); }
size_t octet_hist_index_avx2(const float *x, size_t m, double inv_w, int32_t B, int32_t *idx) {
  (void)x, (void)m, (void)inv_w, (void)B, (void)idx;
  return SIZE_MAX;
}
size_t octet_hist_scan_index_avx2(const float *x, size_t n, double inv_w, int32_t B, int32_t *idx,
                                  octet_hist_scan *r) {
  (void)x, (void)n, (void)inv_w, (void)B, (void)idx, (void)r;
  return SIZE_MAX;
}

#endif
