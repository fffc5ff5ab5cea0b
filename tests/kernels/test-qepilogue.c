/* test-qepilogue.c — the fused requantizing epilogue of every qgemm variant this CPU runs, on
 * scales on both sides of 0.5 (variants may skip the float clamp below it), accumulators from
 * tiny to the int32 extremes (bias near +-2^31), every zero point corner and both output types,
 * against octet_requant_value bit for bit. */
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
#include "ops/quant/requant.h"

static uint64_t g_rng = 0x853c49e6748fea9bull;
static uint32_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return (uint32_t)(g_rng >> 16);
}

static const float k_scales[] = {1e-6f, 0.003f, 0.25f, 0.49999997f, 0.5f, 0.50000006f, 0.75f, 1.0f, 2.5f, 1e3f, 3e9f};

static void test_epilogue_matches_requant_value_around_the_clamp_bound(void **state) {
  (void)state;
  int ran = 0;
  for (size_t vi = 0; vi < octet_qgemm_ukernel_count(); vi++) {
    const octet_qgemm_ukernel *u = octet_qgemm_ukernel_at(vi);
    if ((octet_cpu_features() & u->cpu_features) != u->cpu_features) {
      printf("  skipped %s (CPU lacks it)\n", u->name);
      continue;
    }
    ran++;
    for (int it = 0; it < 200; it++) {
      size_t M = 1 + rnd() % 13, N = 1 + rnd() % 40, K = 1 + rnd() % 9;
      bool a_s = rnd() % 2, b_s = rnd() % 2, o_s = rnd() % 2;
      uint8_t *a = malloc(M * K), *b = malloc(N * K);
      for (size_t i = 0; i < M * K; i++) a[i] = (uint8_t)rnd();
      for (size_t i = 0; i < N * K; i++) b[i] = (uint8_t)rnd();
      int32_t za = 0, zb = 0;
      float scale[16];
      int32_t bias[16];
      for (size_t m = 0; m < M; m++) {
        scale[m] = k_scales[rnd() % OCTET_COUNTOF(k_scales)];
        switch (rnd() % 4) { /* accumulators small, near the bounds' preimage, or near +-2^31 */
        case 0: bias[m] = (int32_t)(rnd() % 2001) - 1000; break;
        case 1: bias[m] = (int32_t)((float)((int32_t)(rnd() % 600) - 300) / scale[m]); break;
        case 2: bias[m] = INT32_MAX - (int32_t)(rnd() % 300000); break;
        default: bias[m] = INT32_MIN + (int32_t)(rnd() % 300000); break;
        }
      }
      int32_t zy = o_s ? (int32_t)(rnd() % 3) * 127 - 128 : (int32_t)(rnd() % 3) * 127 + 1;
      if (rnd() % 3 == 0) zy = o_s ? (int32_t)(rnd() % 256) - 128 : (int32_t)(rnd() % 256);
      size_t asz, bsz;
      assert_true(octet_qgemm_size(u, M, K, false, &asz));
      assert_true(octet_qgemm_size(u, N, K, true, &bsz));
      void *am = malloc(asz), *bm = malloc(bsz);
      octet_qgemm_panels ap, bp;
      octet_qgemm_pack_a(u, &ap, am, M, K, a, a_s, K, 1, &za, OCTET_DTYPE_INT32, 1, 0, M);
      octet_qgemm_pack_b(u, &bp, bm, N, K, b, b_s, K, 1, &zb, OCTET_DTYPE_INT32, 1);
      uint8_t *got = calloc(M * N, 1);
      int32_t odt = o_s ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
      octet_qgemm_epi ep = {.kind = OCTET_QEPI_Q8, .bias = bias, .bias_rs = 1, .scale = scale, .scale_rs = 1,
                            .zp = zy, .out_dtype = odt, .out = got, .ldo = N};
      u->compute(&ap, &bp, 0, M, 0, N, &ep);
      octet_qrange r = octet_qrange_of(odt);
      for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
          uint32_t acc = (uint32_t)bias[m];
          for (size_t k = 0; k < K; k++)
            acc += (uint32_t)((a_s ? (int8_t)a[m * K + k] : a[m * K + k]) * (b_s ? (int8_t)b[n * K + k] : b[n * K + k]));
          int32_t want = octet_requant_value((int32_t)acc, scale[m], zy, r);
          int32_t have = o_s ? (int8_t)got[m * N + n] : got[m * N + n];
          if (have != want)
            fail_msg("%s: M=%zu N=%zu K=%zu row %zu col %zu scale %g acc %d zy %d %s: %d, reference %d", u->name,
                     M, N, K, m, n, (double)scale[m], (int32_t)acc, zy, o_s ? "s8" : "u8", have, want);
        }
      free(a), free(b), free(am), free(bm), free(got);
    }
  }
  assert_true(ran >= 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_epilogue_matches_requant_value_around_the_clamp_bound),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
