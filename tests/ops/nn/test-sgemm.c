/* test-sgemm.c — every float GEMM micro-kernel the CPU runs, through the packed driver, against
 * octet_sgemm_ref on edge shapes; variants the CPU lacks are skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "ops/cpu.h"
#include "ops/gemm/sgemm.h"

static const size_t dims[] = {1, 2, 3, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 48, 49, 64, 67};

/* Relative tolerance scaled by K: FMA and blocking change rounding, not the math. */
static int close_gemm(const float *got, const float *want, size_t n, size_t K) {
  return th_close(got, want, n, 1e-5f * (float)(K + 4), 1e-5f * (float)(K + 4));
}

static bool variant_runs(const octet_sgemm_ukernel *uk) {
  return (octet_cpu_detected() & uk->cpu_features) == uk->cpu_features;
}

/* One variant over every (M, N, K) combination, with all four transposition forms, both plain
 * and pre-packed operands, alpha/beta and row bias. */
static void check_variant(const octet_sgemm_ukernel *uk) {
  size_t nd = sizeof dims / sizeof dims[0];
  int checked = 0;
  for (size_t im = 0; im < nd; im += 2)
    for (size_t in = 0; in < nd; in += 3)
      for (size_t ik = 0; ik < nd; ik += 2) {
        size_t M = dims[im], N = dims[(in + im) % nd], K = dims[ik];
        int form = (int)((im + in + ik) % 4);
        bool ta = form & 1, tb = form & 2;
        float alpha = (im & 1) ? 0.5f : 1.0f, beta = (ik % 3 == 0) ? 0.0f : 0.75f;
        float *A = th_random(M * K), *B = th_random(K * N), *C0 = th_random(M * N);
        float *bias = th_random(M);
        float *want = malloc(M * N * sizeof(float)), *got = malloc(M * N * sizeof(float));
        memcpy(want, C0, M * N * sizeof(float));
        octet_sgemm_ref(ta, tb, M, N, K, alpha, A, ta ? M : K, B, tb ? K : N, beta, want, N);
        /* plain operands */
        memcpy(got, C0, M * N * sizeof(float));
        octet_sgemm_operand a = {.data = A, .ld = ta ? M : K, .trans = ta};
        octet_sgemm_operand b = {.data = B, .ld = tb ? K : N, .trans = tb};
        octet_sgemm_run(uk, M, N, K, alpha, &a, &b, beta, got, N, NULL, NULL);
        if (!close_gemm(got, want, M * N, K))
          fail_msg("%s plain M=%zu N=%zu K=%zu ta=%d tb=%d", uk->name, M, N, K, ta, tb);
        /* pre-packed operands, with a row bias */
        float *pa = malloc(octet_sgemm_packed_a_size(uk, M, K) * sizeof(float));
        float *pb = malloc(octet_sgemm_packed_b_size(uk, K, N) * sizeof(float));
        octet_sgemm_pack_a(uk, ta, M, K, A, ta ? M : K, pa);
        octet_sgemm_pack_b(uk, tb, K, N, B, tb ? K : N, pb);
        octet_sgemm_operand ap = {.packed = pa}, bp = {.packed = pb};
        memcpy(got, C0, M * N * sizeof(float));
        octet_sgemm_run(uk, M, N, K, alpha, &ap, &bp, beta, got, N, bias, NULL);
        for (size_t m = 0; m < M; m++)
          for (size_t n = 0; n < N; n++) want[m * N + n] += bias[m];
        if (!close_gemm(got, want, M * N, K))
          fail_msg("%s packed M=%zu N=%zu K=%zu ta=%d tb=%d", uk->name, M, N, K, ta, tb);
        free(pa);
        free(pb);
        free(A);
        free(B);
        free(C0);
        free(bias);
        free(want);
        free(got);
        checked++;
      }
  assert_true(checked > 50);
}

static void test_each_ukernel_matches_reference_on_edge_shapes(void **st) {
  (void)st;
  int ran = 0;
  for (size_t i = 0; i < octet_sgemm_ukernel_count(); i++) {
    const octet_sgemm_ukernel *uk = octet_sgemm_ukernel_at(i);
    if (!variant_runs(uk)) {
      printf("  %s: not supported by this CPU (skipped)\n", uk->name);
      continue;
    }
    check_variant(uk);
    printf("  %s (%ux%u): ok\n", uk->name, uk->mr, uk->nr);
    ran++;
  }
  assert_true(ran >= 1);
}

/* One test per variant, so a variant the CPU lacks shows up as skipped. */
static void check_named(const char *name) {
  for (size_t i = 0; i < octet_sgemm_ukernel_count(); i++) {
    const octet_sgemm_ukernel *uk = octet_sgemm_ukernel_at(i);
    if (strcmp(uk->name, name)) continue;
    if (!variant_runs(uk)) skip();
    check_variant(uk);
    return;
  }
  skip(); /* not compiled into this build */
}
static void test_avx512f_12x32_matches_reference(void **st) { (void)st; check_named("octet_f32_gemm_12x32__avx512f"); }
static void test_avx2_6x16_matches_reference(void **st) { (void)st; check_named("octet_f32_gemm_6x16__avx2"); }
static void test_scalar_4x16_matches_reference(void **st) { (void)st; check_named("octet_f32_gemm_4x16__scalar"); }

static void test_large_k_blocks_accumulate_correctly(void **st) {
  (void)st;
  size_t M = 50, N = 300, K = 600; /* several KC, MC and NC blocks */
  float *A = th_random(M * K), *B = th_random(K * N), *C = th_random(M * N);
  float *want = malloc(M * N * sizeof(float));
  memcpy(want, C, M * N * sizeof(float));
  octet_sgemm_ref(false, false, M, N, K, 1.0f, A, K, B, N, 1.0f, want, N);
  octet_sgemm(false, false, M, N, K, 1.0f, A, K, B, N, 1.0f, C, N, NULL);
  assert_true(close_gemm(C, want, M * N, K));
  free(A);
  free(B);
  free(C);
  free(want);
}

static void test_results_identical_for_any_thread_split(void **st) {
  (void)st;
  size_t M = 100, N = 500, K = 300;
  float *A = th_random(M * K), *B = th_random(K * N);
  float *c1 = calloc(M * N, sizeof(float)), *c2 = calloc(M * N, sizeof(float));
  octet_sgemm(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, c1, N, NULL);
  for (size_t chunks = 2; chunks <= 7; chunks += 5) {
    th_pool pool = {chunks};
    octet_host host = {.ctx = &pool, .n_threads = (uint32_t)chunks, .parallel_for = th_parallel_for};
    octet_sgemm(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, c2, N, &host);
    assert_memory_equal(c1, c2, M * N * sizeof(float));
  }
  free(A);
  free(B);
  free(c1);
  free(c2);
}

static void test_beta_zero_ignores_nan_in_c(void **st) {
  (void)st;
  float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4] = {NAN, NAN, NAN, NAN};
  octet_sgemm(false, false, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2, NULL);
  assert_true(C[0] == 1 && C[1] == 2 && C[2] == 3 && C[3] == 4);
}

static void test_cpu_mask_lowers_the_selected_kernel(void **st) {
  (void)st;
  octet_cpu_set_mask(0);
  assert_string_equal(octet_sgemm_ukernel_select()->name, "octet_f32_gemm_4x16__scalar");
  assert_string_equal(octet_cpu_isa_name(), "scalar");
  octet_cpu_set_mask(~0u);
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2))
    assert_string_not_equal(octet_sgemm_ukernel_select()->name, "octet_f32_gemm_4x16__scalar");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_each_ukernel_matches_reference_on_edge_shapes),
    cmocka_unit_test(test_avx512f_12x32_matches_reference),
    cmocka_unit_test(test_avx2_6x16_matches_reference),
    cmocka_unit_test(test_scalar_4x16_matches_reference),
    cmocka_unit_test(test_large_k_blocks_accumulate_correctly),
    cmocka_unit_test(test_results_identical_for_any_thread_split),
    cmocka_unit_test(test_beta_zero_ignores_nan_in_c),
    cmocka_unit_test(test_cpu_mask_lowers_the_selected_kernel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
