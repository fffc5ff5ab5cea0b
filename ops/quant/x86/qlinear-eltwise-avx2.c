/* qlinear-eltwise-avx2.c — AVX2 + FMA runs of QLinearAdd and QLinearMul (qgemm-dispatch.h),
 * 32 elements a step; bit-identical to the plain-C runs in qlinear-eltwise.c. */
#include <immintrin.h>
#include <string.h>

#include "ops/quant/qgemm-dispatch.h"

/* 8 bytes at p as int32 (u8 or s8). */
static inline __m256i load8i(const uint8_t *p, bool sgn) {
  __m128i v = _mm_loadl_epi64((const __m128i *)p);
  return sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

/* 8 bytes at p as floats. */
static inline __m256 load8(const uint8_t *p, bool sgn) { return _mm256_cvtepi32_ps(load8i(p, sgn)); }

/* sat(): maxps with the value first returns lo for a NaN as the reference's !(v >= lo) does;
 * once inside [lo, hi] cvtps2dq rounds half to even (default MXCSR) like nearbyintf, and the
 * packs cannot saturate. */
static inline __m256i clamp_round(__m256 v, __m256 lo, __m256 hi) {
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, lo), hi));
}

static inline void store32(uint8_t *y, const __m256i q[4], bool sgn) {
  __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
  __m256i b = sgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
  /* lanes hold 4-byte groups in the order 0 2 4 6 | 1 3 5 7 of the 8-value groups' halves */
  b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256((__m256i *)y, b);
}

/* The constants of a run, broadcast once. */
typedef struct consts {
  __m256 r1, r2, c, lo, hi; /* add: ra, rb, c; mul: m, -, zc */
  __m256i z1, z2;           /* mul: za and zb, or zx and k */
  bool sgn;
} consts;

static inline consts make_consts(bool sgn, float r1, float r2, float c, int32_t z1, int32_t z2) {
  return (consts){_mm256_set1_ps(r1), _mm256_set1_ps(r2), _mm256_set1_ps(c), _mm256_set1_ps(sgn ? -128.0f : 0.0f),
                  _mm256_set1_ps(sgn ? 127.0f : 255.0f), _mm256_set1_epi32(z1), _mm256_set1_epi32(z2), sgn};
}

/* 32 outputs from 32 bytes of a (and of b when the operation has two varying operands). The
 * multiplies of QLinearMul stay apart from its add (this file is built with -ffp-contract=off):
 * the reference rounds twice there; QLinearAdd's reference fuses, so it calls fmadd. */
typedef void (*block_fn)(uint8_t *y, const uint8_t *a, const uint8_t *b, const consts *k);

static inline void add_vv_block(uint8_t *y, const uint8_t *a, const uint8_t *b, const consts *k) {
  __m256i q[4];
  for (int j = 0; j < 4; j++)
    q[j] = clamp_round(_mm256_fmadd_ps(load8(a + 8 * j, k->sgn), k->r1,
                                       _mm256_fmadd_ps(load8(b + 8 * j, k->sgn), k->r2, k->c)),
                       k->lo, k->hi);
  store32(y, q, k->sgn);
}

static inline void add_vs_block(uint8_t *y, const uint8_t *x, const uint8_t *unused, const consts *k) {
  (void)unused;
  __m256i q[4];
  for (int j = 0; j < 4; j++) q[j] = clamp_round(_mm256_fmadd_ps(load8(x + 8 * j, k->sgn), k->r1, k->c), k->lo, k->hi);
  store32(y, q, k->sgn);
}

/* The exact product (|p| <= 255 * 255 converts to float exactly), times m, plus zc. */
static inline __m256i mul_round(__m256i p, const consts *k) {
  return clamp_round(_mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(p), k->r1), k->c), k->lo, k->hi);
}

static inline void mul_vv_block(uint8_t *y, const uint8_t *a, const uint8_t *b, const consts *k) {
  __m256i q[4];
  for (int j = 0; j < 4; j++)
    q[j] = mul_round(_mm256_mullo_epi32(_mm256_sub_epi32(load8i(a + 8 * j, k->sgn), k->z1),
                                        _mm256_sub_epi32(load8i(b + 8 * j, k->sgn), k->z2)),
                     k);
  store32(y, q, k->sgn);
}

static inline void mul_vs_block(uint8_t *y, const uint8_t *x, const uint8_t *unused, const consts *k) {
  (void)unused;
  __m256i q[4];
  for (int j = 0; j < 4; j++) q[j] = mul_round(_mm256_mullo_epi32(_mm256_sub_epi32(load8i(x + 8 * j, k->sgn), k->z1), k->z2), k);
  store32(y, q, k->sgn);
}

/* n elements in blocks of 32; the tail goes through zero-filled scratch, so nothing past y + n
 * is written and nothing past a + n (b + n) is read. Inlined with a constant f. */
static inline void run32(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, block_fn f, const consts *k) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) f(y + i, a + i, b ? b + i : NULL, k);
  if (i == n) return;
  uint8_t ta[32] = {0}, tb[32] = {0}, ty[32];
  memcpy(ta, a + i, n - i);
  if (b) memcpy(tb, b + i, n - i);
  f(ty, ta, b ? tb : NULL, k);
  memcpy(y + i, ty, n - i);
}

void octet_qadd_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, float ra,
                         float rb, float c) {
  consts k = make_consts(sgn, ra, rb, c, 0, 0);
  run32(y, a, b, n, add_vv_block, &k);
}

void octet_qadd_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c) {
  consts k = make_consts(sgn, r, 0, c, 0, 0);
  run32(y, x, NULL, n, add_vs_block, &k);
}

void octet_qmul_vv__avx2(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za, int32_t zb,
                         float m, float zc) {
  consts k = make_consts(sgn, m, 0, zc, za, zb);
  run32(y, a, b, n, mul_vv_block, &k);
}

void octet_qmul_vs__avx2(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k_, float m,
                         float zc) {
  consts k = make_consts(sgn, m, 0, zc, zx, k_);
  run32(y, x, NULL, n, mul_vs_block, &k);
}
