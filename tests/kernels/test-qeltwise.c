/* test-qeltwise.c — QLinearAdd and QLinearMul runs (qgemm-dispatch.h): every variant this CPU
 * runs against the plain-C one bit for bit (every tail length, unaligned pointers, ties,
 * saturation, NaN and infinite constants), the plain-C one against MLAS's formula, and both
 * operators through the registry (same shapes, scalar and broadcast operands) against that
 * formula for any split. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/registry.h"

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}
static float rnd_f(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() % 1000001) / 1e6f; }

/* MLAS's saturation, written from the definition: NaN and below-range to min, above to max,
 * else round half to even. */
static int32_t sat(float v, bool sgn) {
  float lo = sgn ? -128.0f : 0.0f, hi = sgn ? 127.0f : 255.0f;
  if (!(v >= lo)) return (int32_t)lo;
  if (v > hi) return (int32_t)hi;
  return (int32_t)nearbyintf(v);
}
static int32_t val(const uint8_t *p, size_t i, bool sgn) { return sgn ? (int8_t)p[i] : p[i]; }

/* One run of n elements through the plain-C run (into y0) and variant v (into y1), QLinearAdd
 * or QLinearMul, both operands varying (vs = 0) or the second constant (vs = 1), with constants
 * of a kind: random, exact ties, saturating, infinite, NaN, or rounding-sensitive. Each element of y0 must be MLAS's
 * formula, written out here from the definition. Mode 5 searches constants that tell a fused
 * multiply-add from a separate multiply and add on this run's data. */
static int g_sensitive[4]; /* mode-5 runs that found such constants, per operation */

static void one_run(const octet_qeltwise *v, bool mul, bool vs, int mode, bool sgn, const uint8_t *a,
                    const uint8_t *b, uint8_t *y0, uint8_t *y1, size_t n) {
  float r1 = 0, r2 = 0, c = 0;
  int32_t z1 = sgn ? (int8_t)rnd() : (uint8_t)rnd(), z2 = sgn ? (int8_t)rnd() : (uint8_t)rnd();
  if (mul && vs) z2 = (int32_t)(rnd() % 511) - 255; /* k: the constant operand minus its zero point */
  switch (mode) {
  case 0:
    if (mul) r1 = rnd_f(1e-4f, 0.05f), c = (float)(sgn ? (int8_t)rnd() : (uint8_t)rnd());
    else r1 = rnd_f(0.01f, 2.0f), r2 = rnd_f(0.01f, 2.0f), c = rnd_f(-300, 300);
    break;
  case 1: /* ties: the x.5 and x.25 grid */
    r1 = 0.5f, r2 = 0.25f, c = mul ? (float)(rnd() % 64) + 0.5f : (float)((int)(rnd() % 64) - 32) + 0.5f;
    break;
  case 2: r1 = mul ? rnd_f(0.5f, 40) : rnd_f(3, 40), r2 = rnd_f(3, 40), c = mul ? rnd_f(-100, 100) : rnd_f(-5000, 5000); break;
  case 3: /* to +-inf (and 0 * inf = NaN for QLinearMul) */
    r1 = mul ? INFINITY : 1e30f, r2 = 1e30f, c = mul ? 0 : (rnd() % 2 ? 3e38f : -3e38f);
    break;
  case 4: r1 = mul ? NAN : rnd_f(0.1f, 1), r2 = rnd_f(0.1f, 1), c = mul ? 1 : (rnd() % 2 ? NAN : INFINITY); break;
  default: /* constants where one rounding more or less changes an output: a fused multiply-add
              in place of QLinearMul's two roundings (or two in place of QLinearAdd's fused
              ones) must show. Large cancelling terms expose the product's rounding. */
    for (int tries = 0; tries < (n >= 16 ? 3000 : 1); tries++) {
      r1 = rnd_f(0.05f, 3), r2 = rnd_f(0.05f, 3), c = rnd_f(-3000, 0);
      bool differs = false;
      for (size_t i = 0; i < n && !differs; i++) {
        float fa = (float)val(a, i, sgn), fb = (float)val(b, i, sgn);
        if (mul) {
          float p = (float)((val(a, i, sgn) - z1) * (vs ? z2 : val(b, i, sgn) - z2));
          differs = sat(p * r1 + c, sgn) != sat(fmaf(p, r1, c), sgn);
        } else {
          differs = vs ? sat(fmaf(fa, r1, c), sgn) != sat(fa * r1 + c, sgn)
                       : sat(fmaf(fa, r1, fmaf(fb, r2, c)), sgn) != sat(fa * r1 + (fb * r2 + c), sgn);
        }
      }
      if (differs) {
        g_sensitive[mul * 2 + vs]++;
        break;
      }
    }
    break;
  }
  if (mul && vs) octet_qmul_vs_c(y0, a, n, sgn, z1, z2, r1, c), v->mul_vs(y1, a, n, sgn, z1, z2, r1, c);
  else if (mul) octet_qmul_vv_c(y0, a, b, n, sgn, z1, z2, r1, c), v->mul_vv(y1, a, b, n, sgn, z1, z2, r1, c);
  else if (vs) octet_qadd_vs_c(y0, a, n, sgn, r1, c), v->add_vs(y1, a, n, sgn, r1, c);
  else octet_qadd_vv_c(y0, a, b, n, sgn, r1, r2, c), v->add_vv(y1, a, b, n, sgn, r1, r2, c);
  const char *what = mul ? (vs ? "mul vs" : "mul vv") : (vs ? "add vs" : "add vv");
  for (size_t i = 0; i < n; i++) {
    float fa = (float)val(a, i, sgn), fb = (float)val(b, i, sgn), f;
    if (mul) f = (float)((val(a, i, sgn) - z1) * (vs ? z2 : val(b, i, sgn) - z2)) * r1 + c;
    else f = vs ? fmaf(fa, r1, c) : fmaf(fa, r1, fmaf(fb, r2, c));
    if (val(y0, i, sgn) != sat(f, sgn))
      fail_msg("c %s n=%zu mode=%d %s: element %zu is %d, formula %d", what, n, mode, sgn ? "s8" : "u8", i,
               val(y0, i, sgn), sat(f, sgn));
    if (y1[i] != y0[i])
      fail_msg("%s %s n=%zu mode=%d %s: element %zu is %d, c variant %d", v->name, what, n, mode,
               sgn ? "s8" : "u8", i, val(y1, i, sgn), val(y0, i, sgn));
  }
}

/* Every variant this CPU runs, every tail length, unaligned pointers, both types; nothing
 * outside the run written. */
static void test_variants_match_c_and_formula(void **state) {
  (void)state;
  enum { NMAX = 300 };
  uint8_t a[NMAX + 8], b[NMAX + 8], y0[NMAX + 8], y1[NMAX + 8];
  int ran = 0;
  for (size_t vi = 0; vi < octet_qeltwise_count(); vi++) {
    const octet_qeltwise *v = octet_qeltwise_at(vi);
    if ((octet_cpu_features() & v->cpu_features) != v->cpu_features) {
      printf("  skipped %s (CPU lacks it)\n", v->name);
      continue;
    }
    ran++;
    for (size_t n = 0; n <= NMAX; n += n < 80 ? 1 : 37)
      for (int mode = 0; mode < 6; mode++)
        for (int sg = 0; sg < 2; sg++)
          for (int op = 0; op < 4; op++) {
            bool sgn = sg, mul = op >= 2, vs = op % 2;
            size_t off = rnd() % 5;
            for (size_t i = 0; i < sizeof a; i++) a[i] = (uint8_t)rnd(), b[i] = (uint8_t)rnd();
            if (rnd() % 4 == 0) a[off] = sgn ? 0x80 : 0xff, b[off] = sgn ? 0x80 : 0; /* corners */
            memset(y0, 0xa5, sizeof y0), memset(y1, 0x5a, sizeof y1);
            one_run(v, mul, vs, mode, sgn, a + off, b + off, y0 + off, y1 + off, n);
            for (size_t i = 0; i < sizeof y1; i++)
              if ((i < off || i >= off + n) && y1[i] != 0x5a)
                fail_msg("%s op %d n=%zu: byte %zu outside the run written", v->name, op, n, i);
          }
  }
  assert_true(ran >= 1);
  for (int op = 0; op < 4; op++) /* the rounding-sensitive mode tested something for each */
    if (g_sensitive[op] < 10) fail_msg("op %d: only %d rounding-sensitive runs", op, g_sensitive[op]);
}

/* ---- QLinearAdd through the registry ---- */

static void chunked_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  size_t chunk = *(const size_t *)ctx;
  for (size_t b = n; b > 0;) { /* uneven chunks, last first */
    size_t s = b > chunk ? b - chunk : 0;
    task(arg, s, b);
    b = s;
    chunk = chunk % 3 + 1;
  }
}

typedef struct qadd_case {
  int rank;
  int64_t ad[4], bd[4];
} qadd_case;

static size_t numel(int rank, const int64_t *d) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)d[i];
  return n;
}

/* Runs QLinearAdd on A (ad) and B (bd), right-aligned dims of the same rank, and checks every
 * output element against MLAS's formula for the path ORT takes. */
static void run_qadd_case(const qadd_case *qc, bool sgn, bool mul, const octet_host *host) {
  const char *op = mul ? "QLinearMul" : "QLinearAdd";
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "com.microsoft", op, 1);
  assert_non_null(k);
  int32_t dt = sgn ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  size_t na = numel(qc->rank, qc->ad), nb = numel(qc->rank, qc->bd);
  int64_t od[4];
  for (int i = 0; i < qc->rank; i++) od[i] = qc->ad[i] > qc->bd[i] ? qc->ad[i] : qc->bd[i];
  size_t n = numel(qc->rank, od);
  uint8_t *a = malloc(na), *b = malloc(nb), *y = malloc(n + 1);
  for (size_t i = 0; i < na; i++) a[i] = (uint8_t)rnd();
  for (size_t i = 0; i < nb; i++) b[i] = (uint8_t)rnd();
  float sa = rnd_f(0.01f, 0.1f), sb = rnd_f(0.01f, 0.1f), sc = rnd_f(0.02f, 0.2f);
  uint8_t za = (uint8_t)rnd(), zb = (uint8_t)rnd(), zc = (uint8_t)rnd();
  octet_tensor t[8];
  memset(t, 0, sizeof t);
  t[0] = (octet_tensor){.dtype = dt, .rank = qc->rank, .data = a};
  t[3] = (octet_tensor){.dtype = dt, .rank = qc->rank, .data = b};
  for (int i = 0; i < qc->rank; i++) t[0].dims[i] = qc->ad[i], t[3].dims[i] = qc->bd[i];
  t[1] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &sa};
  t[4] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &sb};
  t[6] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &sc};
  t[2] = (octet_tensor){.dtype = dt, .data = &za};
  t[5] = (octet_tensor){.dtype = dt, .data = &zb};
  t[7] = (octet_tensor){.dtype = dt, .data = &zc};
  const octet_tensor *ins[8];
  int32_t dts[8];
  for (int i = 0; i < 8; i++) ins[i] = &t[i], dts[i] = t[i].dtype;
  octet_kernel_info info = {.node_name = "bin", .domain = "com.microsoft", .op_type = op, .opset = 1,
                            .n_inputs = 8, .input_dtypes = dts, .n_outputs = 1};
  int32_t odt;
  void *st = NULL;
  octet_error err = {0};
  assert_int_equal(k->create(&info, &odt, &st, &err), 0);
  octet_tensor out;
  memset(&out, 0, sizeof out);
  size_t ws = 0;
  assert_int_equal(k->infer(st, ins, 8, &out, 1, &ws, &err), 0);
  assert_int_equal(octet_tensor_numel(&out), n);
  out.data = y;
  void *w = malloc(ws + 1);
  assert_int_equal(k->run(st, ins, 8, &out, 1, w, host, &err), 0);
  free(w);
  k->destroy(st);
  /* ORT's path: by the innermost non-1 output dimension */
  int inner = -1;
  for (int i = qc->rank - 1; i >= 0; i--)
    if (od[i] > 1) {
      inner = i;
      break;
    }
  int path = 0;
  if (inner < 0 || na == 1) path = 1;
  else if (nb == 1 || qc->bd[inner] == 1) path = 2;
  else if (qc->ad[inner] == 1) path = 1;
  float rA = sa / sc, rB = sb / sc;
  int32_t zA = sgn ? (int8_t)za : za, zB = sgn ? (int8_t)zb : zb, zC = sgn ? (int8_t)zc : zc;
  float fixed = (float)zC - fmaf(rA, (float)zA, rB * (float)zB);
  for (size_t e = 0; e < n; e++) {
    size_t r = e, ia = 0, ib = 0, pa = 1, pb = 1;
    for (int d = qc->rank - 1; d >= 0; d--) {
      size_t i = r % (size_t)od[d];
      r /= (size_t)od[d];
      ia += (qc->ad[d] > 1 ? i : 0) * pa, ib += (qc->bd[d] > 1 ? i : 0) * pb;
      pa *= (size_t)qc->ad[d], pb *= (size_t)qc->bd[d];
    }
    float fa = (float)val(a, ia, sgn), fb = (float)val(b, ib, sgn);
    float v = path == 0 ? fmaf(fa, rA, fmaf(fb, rB, fixed))
              : path == 1 ? fmaf(fb, rB, fixed + fa * rA)
                          : fmaf(fa, rA, fixed + fb * rB);
    if (mul) /* MLAS: the exact integer product, times sA*sB/sC, plus zC (any path) */
      v = (float)((val(a, ia, sgn) - zA) * (val(b, ib, sgn) - zB)) * (sa * sb / sc) + (float)zC;
    if (val(y, e, sgn) != sat(v, sgn))
      fail_msg("%s rank %d %s path %d: element %zu is %d, formula %d", op, qc->rank, sgn ? "s8" : "u8",
               path, e, val(y, e, sgn), sat(v, sgn));
  }
  free(a), free(b), free(y);
}

static void test_qlinear_add_and_mul_match_formula_for_broadcasts_and_splits(void **state) {
  (void)state;
  static const qadd_case cases[] = {
      {4, {1, 64, 56, 56}, {1, 64, 56, 56}}, /* ResNet's residual add: one run */
      {4, {1, 3, 5, 7}, {1, 3, 5, 7}},       {4, {1, 1, 1, 1}, {2, 3, 4, 5}},
      {4, {2, 3, 4, 5}, {1, 1, 1, 1}},       {4, {1, 16, 9, 9}, {1, 16, 1, 1}}, /* per-channel B */
      {4, {1, 16, 1, 1}, {1, 16, 9, 9}},     {2, {7, 1}, {1, 33}},
      {2, {7, 33}, {1, 33}},                 {2, {7, 33}, {7, 1}},
      {3, {3, 1, 40}, {3, 5, 40}},           {1, {1}, {1}},
      {2, {5, 0}, {5, 0}},
  };
  uint32_t prev = octet_cpu_features();
  for (int masked = 0; masked < 2; masked++) {
    if (masked) octet_cpu_set_mask(0);
    for (size_t i = 0; i < OCTET_COUNTOF(cases); i++)
      for (int sg = 0; sg < 2; sg++) {
        size_t chunk = 1 + i % 3;
        octet_host host = {.ctx = &chunk, .n_threads = 3, .parallel_for = chunked_parallel_for};
        for (int mul = 0; mul < 2; mul++) {
          run_qadd_case(&cases[i], sg, mul, NULL);
          run_qadd_case(&cases[i], sg, mul, &host);
        }
      }
    octet_cpu_set_mask(prev);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_variants_match_c_and_formula),
      cmocka_unit_test(test_qlinear_add_and_mul_match_formula_for_broadcasts_and_splits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
