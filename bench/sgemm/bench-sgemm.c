/* bench-sgemm.c — hand-run benchmark: GFLOP/s of octet_sgemm (every micro-kernel this CPU
 * runs) against octet_sgemm_ref, on a transformer projection (128x768x768) and on 3x3 and
 * depthwise convolutions through the Conv kernel. Usage: bench-sgemm [repeats] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/gemm/sgemm.h"
#include "ops/registry.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *rnd(size_t n) {
  float *p = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

/* Best of `reps` runs, in seconds. */
#define TIME_BEST(reps, stmt)                      \
  ({                                               \
    double best_ = 1e30;                           \
    for (int r_ = 0; r_ < (reps); r_++) {          \
      double t0_ = now();                          \
      stmt;                                        \
      double t_ = now() - t0_;                     \
      if (t_ < best_) best_ = t_;                  \
    }                                              \
    best_;                                         \
  })

static void bench_gemm(size_t M, size_t N, size_t K, int reps) {
  float *A = rnd(M * K), *B = rnd(K * N), *C = calloc(M * N, sizeof(float));
  double flop = 2.0 * (double)M * (double)N * (double)K;
  double tr = TIME_BEST(1, octet_sgemm_ref(false, false, M, N, K, 1, A, K, B, N, 0, C, N));
  printf("sgemm %zux%zux%zu  reference            %7.2f GFLOP/s\n", M, N, K, flop / tr * 1e-9);
  for (size_t i = 0; i < octet_sgemm_ukernel_count(); i++) {
    const octet_sgemm_ukernel *uk = octet_sgemm_ukernel_at(i);
    if ((octet_cpu_detected() & uk->cpu_features) != uk->cpu_features) continue;
    octet_sgemm_operand a = {.data = A, .ld = K}, b = {.data = B, .ld = N};
    double t = TIME_BEST(reps, octet_sgemm_run(uk, M, N, K, 1, &a, &b, 0, C, N, NULL, NULL));
    float *pb = malloc(octet_sgemm_packed_b_size(uk, K, N) * sizeof(float));
    octet_sgemm_pack_b(uk, false, K, N, B, N, pb);
    octet_sgemm_operand bp = {.packed = pb};
    double tp = TIME_BEST(reps, octet_sgemm_run(uk, M, N, K, 1, &a, &bp, 0, C, N, NULL, NULL));
    printf("sgemm %zux%zux%zu  %-30s %7.2f GFLOP/s (B pre-packed: %7.2f)\n", M, N, K, uk->name,
           flop / t * 1e-9, flop / tp * 1e-9);
    free(pb);
  }
  free(A);
  free(B);
  free(C);
}

static void bench_conv(const char *what, int64_t C, int64_t H, int64_t W, int64_t M, int64_t k,
                       int64_t stride, int64_t group, int reps) {
  const octet_kernel *kern = octet_ops_find(octet_ops_plugin(), "", "Conv", 11);
  int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C / group, k, k}, bd[1] = {M};
  octet_tensor X = {.dtype = OCTET_DTYPE_FLOAT, .rank = 4}, Wt = X, B = X, Y = X;
  memcpy(X.dims, xd, sizeof xd);
  memcpy(Wt.dims, wd, sizeof wd);
  B.rank = 1;
  memcpy(B.dims, bd, sizeof bd);
  X.data = rnd((size_t)(C * H * W));
  Wt.data = rnd((size_t)(M * (C / group) * k * k));
  B.data = rnd((size_t)M);
  int64_t pads[4] = {k / 2, k / 2, k / 2, k / 2}, strides[2] = {stride, stride};
  octet_attr attrs[3] = {
    {.name = "pads", .type = OCTET_ATTR_INTS, .n = 4, .ints = pads},
    {.name = "strides", .type = OCTET_ATTR_INTS, .n = 2, .ints = strides},
    {.name = "group", .type = OCTET_ATTR_INT, .i = group},
  };
  int32_t dts[3] = {1, 1, 1}, odt[1];
  const octet_tensor *consts[3] = {NULL, &Wt, &B}, *ins[3] = {&X, &Wt, &B};
  octet_kernel_info info = {.node_name = "bench", .op_type = "Conv", .opset = 11, .n_attrs = 3,
                            .attrs = attrs, .n_inputs = 3, .input_dtypes = dts,
                            .constant_inputs = consts, .n_outputs = 1};
  void *st;
  octet_error err;
  size_t ws;
  if (kern->create(&info, odt, &st, &err) || kern->infer(st, ins, 3, &Y, 1, &ws, &err)) {
    printf("conv %s: %s\n", what, err.message);
    return;
  }
  size_t ny = (size_t)(Y.dims[1] * Y.dims[2] * Y.dims[3]);
  Y.data = malloc(ny * sizeof(float));
  void *wsp = malloc(ws ? ws : 1);
  double flop = 2.0 * (double)ny * (double)(C / group) * (double)(k * k);
  double t = TIME_BEST(reps, kern->run(st, ins, 3, &Y, 1, wsp, NULL, &err));
  /* The reference: explicit im2col, then octet_sgemm_ref (plain convolutions only). */
  if (group == 1) {
    size_t Kd = (size_t)(C * k * k), N = (size_t)(Y.dims[2] * Y.dims[3]);
    float *col = calloc(Kd * N, sizeof(float));
    const float *x = X.data;
    for (size_t r = 0; r < Kd; r++) {
      int64_t c = (int64_t)r / (k * k), kh = ((int64_t)r / k) % k, kw = (int64_t)r % k;
      for (int64_t oh = 0; oh < Y.dims[2]; oh++)
        for (int64_t ow = 0; ow < Y.dims[3]; ow++) {
          int64_t ih = oh * stride - k / 2 + kh, iw = ow * stride - k / 2 + kw;
          if (ih >= 0 && ih < H && iw >= 0 && iw < W)
            col[r * N + (size_t)(oh * Y.dims[3] + ow)] = x[(c * H + ih) * W + iw];
        }
    }
    float *y2 = malloc(ny * sizeof(float));
    double tr = TIME_BEST(1, octet_sgemm_ref(false, false, (size_t)M, N, Kd, 1, Wt.data, Kd, col, N, 0, y2, N));
    printf("conv %-34s reference (GEMM only)  %7.2f GFLOP/s\n", what, flop / tr * 1e-9);
    free(col);
    free(y2);
  }
  printf("conv %-34s octet (%s)          %7.2f GFLOP/s  %8.3f ms\n", what, octet_cpu_isa_name(),
         flop / t * 1e-9, t * 1e3);
  kern->destroy(st);
  free(wsp);
  free(Y.data);
  free(X.data);
  free(Wt.data);
  free(B.data);
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  if (reps < 1) reps = 1;
  printf("CPU: %s (single thread)\n", octet_cpu_isa_name());
  bench_gemm(128, 768, 768, reps);
  bench_conv("3x3 64->64 @ 80x80", 64, 80, 80, 64, 3, 1, 1, reps);
  bench_conv("3x3 96->24 @ 160x160", 96, 160, 160, 24, 3, 1, 1, reps);
  bench_conv("3x3 s2 32->64 @ 160x160", 32, 160, 160, 64, 3, 2, 1, reps);
  bench_conv("1x1 96->24 @ 80x80", 96, 80, 80, 24, 1, 1, 1, reps);
  bench_conv("dw 3x3 96 @ 80x80", 96, 80, 80, 96, 3, 1, 96, reps);
  bench_conv("dw 5x5 s2 96 @ 80x80", 96, 80, 80, 96, 5, 2, 96, reps);
  return 0;
}
