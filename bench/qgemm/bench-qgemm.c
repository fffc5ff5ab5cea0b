/* bench-qgemm.c — hand-run benchmark of the int8 QLinearMatMul / QLinearConv kernels (one
 * thread): GMAC/s, share of the machine's measured exact-int8 peak, the reference kernel's time
 * and, given ONNX Runtime's times (bench/qgemm/run.sh measures them in the same run), the ratio.
 * Usage: bench-qgemm [ort-times.tsv [case-name]] (a case name runs only that case, no reference) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/registry.h"

#if OCTET_BENCH_AVX2
double octet_bench_peak_avx2(void);
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the machine is shared */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct bcase {
  const char *name; /* as in make-models.py */
  bool conv;
  size_t M, K, N;                /* GEMM */
  int64_t C, H, W, Mo, k, group; /* convolution */
  int64_t stride;                 /* 0 means 1 */
} bcase;

static const bcase k_cases[] = {
    {"gemm_1x768x768", false, 1, 768, 768, 0, 0, 0, 0, 0, 0, 0},
    {"gemm_128x768x768", false, 128, 768, 768, 0, 0, 0, 0, 0, 0, 0},
    {"gemm_128x768x3072", false, 128, 768, 3072, 0, 0, 0, 0, 0, 0, 0},
    {"gemm_512x1024x1024", false, 512, 1024, 1024, 0, 0, 0, 0, 0, 0, 0},
    {"conv3x3_64_64_56", true, 0, 0, 0, 64, 56, 56, 64, 3, 1, 0},
    {"conv1x1_256_64_56", true, 0, 0, 0, 256, 56, 56, 64, 1, 1, 0},
    {"dw3x3_144_56", true, 0, 0, 0, 144, 56, 56, 144, 3, 144, 0},
    /* ResNet-18's other shapes (octet only: no ORT model is made for them) */
    {"conv7x7s2_3_64_224", true, 0, 0, 0, 3, 224, 224, 64, 7, 1, 2},
    {"conv3x3s2_128_256_28", true, 0, 0, 0, 128, 28, 28, 256, 3, 1, 2},
    {"conv3x3_256_256_14", true, 0, 0, 0, 256, 14, 14, 256, 3, 1, 0},
    {"conv3x3_512_512_7", true, 0, 0, 0, 512, 7, 7, 512, 3, 1, 0},
    {"conv1x1s2_128_256_28", true, 0, 0, 0, 128, 28, 28, 256, 1, 1, 2},
    /* MobileNetV2's last pointwise layers */
    {"conv1x1_320_1280_7", true, 0, 0, 0, 320, 7, 7, 1280, 1, 1, 0},
    {"conv1x1_960_160_7", true, 0, 0, 0, 960, 7, 7, 160, 1, 1, 0},
    {"conv1x1_16_96_112", true, 0, 0, 0, 16, 112, 112, 96, 1, 1, 0},
    {"conv3x3s2_3_32_224", true, 0, 0, 0, 3, 224, 224, 32, 3, 1, 2},
    {"dw3x3s2_96_112", true, 0, 0, 0, 96, 112, 112, 96, 3, 96, 2},
    {"dw3x3_960_7", true, 0, 0, 0, 960, 7, 7, 960, 3, 960, 0},
};

static double ort_time(const char *file, const char *name) {
  if (!file) return 0;
  FILE *f = fopen(file, "r");
  if (!f) return 0;
  char n[128];
  double t, r = 0;
  while (fscanf(f, "%127s %lf", n, &t) == 2)
    if (!strcmp(n, name)) r = t;
  fclose(f);
  return r;
}

static void *rnd_bytes(size_t n, uint32_t seed) {
  uint8_t *p = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(((i + seed) * 2654435761u) >> 24);
  return p;
}

/* One case through the registry kernel: seconds per run (best of up to ~1 s of runs). */
static double run_case(const bcase *c, int max_reps, double *macs) {
  float xs = 0.02f, ys = 0.05f, bs = 0.01f;
  uint8_t xz = 128, yz = 128;
  int8_t bz = 0;
  octet_tensor t[9];
  memset(t, 0, sizeof t);
  const octet_kernel *k;
  size_t n_in;
  float *wsc = NULL;
  int8_t *wz = NULL;
  int32_t *bias = NULL;
  octet_attr attrs[3];
  int64_t pads[4], strides[2];
  size_t n_attrs = 0;
  if (!c->conv) {
    k = octet_ops_find(octet_ops_plugin(), "", "QLinearMatMul", 10);
    n_in = 8;
    t[0] = (octet_tensor){.dtype = OCTET_DTYPE_UINT8, .rank = 2, .dims = {(int64_t)c->M, (int64_t)c->K}};
    t[3] = (octet_tensor){.dtype = OCTET_DTYPE_INT8, .rank = 2, .dims = {(int64_t)c->K, (int64_t)c->N}};
    t[0].data = rnd_bytes(c->M * c->K, 1);
    t[3].data = rnd_bytes(c->K * c->N, 2);
    t[4] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &bs};
    t[5] = (octet_tensor){.dtype = OCTET_DTYPE_INT8, .data = &bz};
    t[6] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &ys};
    t[7] = (octet_tensor){.dtype = OCTET_DTYPE_UINT8, .data = &yz};
    *macs = (double)c->M * (double)c->K * (double)c->N;
  } else {
    k = octet_ops_find(octet_ops_plugin(), "", "QLinearConv", 10);
    n_in = 9;
    int64_t cg = c->C / c->group;
    t[0] = (octet_tensor){.dtype = OCTET_DTYPE_UINT8, .rank = 4, .dims = {1, c->C, c->H, c->W}};
    t[3] = (octet_tensor){.dtype = OCTET_DTYPE_INT8, .rank = 4, .dims = {c->Mo, cg, c->k, c->k}};
    t[0].data = rnd_bytes((size_t)(c->C * c->H * c->W), 1);
    t[3].data = rnd_bytes((size_t)(c->Mo * cg * c->k * c->k), 2);
    wsc = malloc((size_t)c->Mo * sizeof(float));
    wz = calloc((size_t)c->Mo, 1);
    bias = malloc((size_t)c->Mo * sizeof(int32_t));
    for (int64_t i = 0; i < c->Mo; i++) wsc[i] = 0.001f + 0.0001f * (float)(i % 50), bias[i] = (int32_t)(i * 37 % 2000) - 1000;
    t[4] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .rank = 1, .dims = {c->Mo}, .data = wsc};
    t[5] = (octet_tensor){.dtype = OCTET_DTYPE_INT8, .rank = 1, .dims = {c->Mo}, .data = wz};
    t[6] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &ys};
    t[7] = (octet_tensor){.dtype = OCTET_DTYPE_UINT8, .data = &yz};
    t[8] = (octet_tensor){.dtype = OCTET_DTYPE_INT32, .rank = 1, .dims = {c->Mo}, .data = bias};
    for (int i = 0; i < 4; i++) pads[i] = c->k / 2;
    attrs[0] = (octet_attr){.name = "pads", .type = OCTET_ATTR_INTS, .n = 4, .ints = pads};
    attrs[1] = (octet_attr){.name = "group", .type = OCTET_ATTR_INT, .i = c->group};
    int64_t sd = c->stride ? c->stride : 1, oh = (c->H + 2 * (c->k / 2) - c->k) / sd + 1,
            ow = (c->W + 2 * (c->k / 2) - c->k) / sd + 1;
    strides[0] = strides[1] = sd;
    attrs[2] = (octet_attr){.name = "strides", .type = OCTET_ATTR_INTS, .n = 2, .ints = strides};
    n_attrs = 3;
    *macs = (double)(c->Mo * oh * ow) * (double)(cg * c->k * c->k);
  }
  t[1] = (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .data = &xs};
  t[2] = (octet_tensor){.dtype = OCTET_DTYPE_UINT8, .data = &xz};
  int32_t dts[9];
  const octet_tensor *consts[9], *ins[9];
  for (size_t i = 0; i < n_in; i++) {
    dts[i] = t[i].dtype;
    ins[i] = &t[i];
    consts[i] = i == 0 ? NULL : &t[i];
  }
  octet_kernel_info info = {.node_name = c->name, .op_type = c->conv ? "QLinearConv" : "QLinearMatMul",
                            .opset = 10, .n_attrs = n_attrs, .attrs = attrs, .n_inputs = n_in,
                            .input_dtypes = dts, .constant_inputs = consts, .n_outputs = 1};
  int32_t odt[1];
  void *st = NULL;
  octet_error err;
  octet_tensor y;
  memset(&y, 0, sizeof y);
  size_t ws = 0;
  double best = 1e30;
  if (k->create(&info, odt, &st, &err) || k->infer(st, ins, n_in, &y, 1, &ws, &err)) {
    printf("%s: %s\n", c->name, err.message);
  } else {
    size_t ny = 1;
    for (int32_t i = 0; i < y.rank; i++) ny *= (size_t)y.dims[i];
    y.data = malloc(ny);
    void *wsp = malloc(ws ? ws : 1);
    double t_end = now() + 1.0;
    for (int r = 0; r < max_reps && (r < 3 || now() < t_end); r++) {
      double t0 = now();
      k->run(st, ins, n_in, &y, 1, wsp, NULL, &err);
      double dt = now() - t0;
      if (dt < best) best = dt;
    }
    free(wsp);
    free(y.data);
  }
  k->destroy(st);
  free(t[0].data), free(t[3].data), free(wsc), free(wz), free(bias);
  return best;
}

int main(int argc, char **argv) {
  const char *ort = argc > 1 ? argv[1] : NULL, *only = argc > 2 ? argv[2] : NULL;
  const octet_qgemm_ukernel *uk = octet_qgemm_select();
  double peak = 0;
#if OCTET_BENCH_AVX2
  if (octet_cpu_has(OCTET_CPU_LEVEL_AVX2)) peak = octet_bench_peak_avx2();
#endif
  printf("octet int8 kernels, one thread; kernel %s\n", uk ? uk->name : "reference");
  printf("measured exact-int8 peak (vpmaddwd + vpaddd chains): %.1f GMAC/s\n\n", peak * 1e-9);
  printf("%-20s %9s %8s %7s %9s %9s %8s %9s\n", "case", "octet ms", "GMAC/s", "%peak", "ref ms",
         "ORT ms", "ORT GMAC", "ORT/octet");
  for (size_t i = 0; i < OCTET_COUNTOF(k_cases); i++) {
    const bcase *c = &k_cases[i];
    if (only && strcmp(only, c->name)) continue;
    double macs, tr = 0;
    double t = run_case(c, 1000, &macs);
    if (!only) {
      /* the reference (plain C) once, for scale */
      uint32_t f = octet_cpu_features();
      octet_cpu_set_mask(0);
      tr = run_case(c, 1, &macs);
      octet_cpu_set_mask(f);
    }
    double to = ort_time(ort, c->name);
    printf("%-20s %9.3f %8.1f %6.1f%% %9.2f", c->name, t * 1e3, macs / t * 1e-9,
           peak > 0 ? 100.0 * macs / t / peak : 0.0, tr * 1e3);
    if (to > 0) printf(" %9.3f %8.1f %8.2fx\n", to * 1e3, macs / to * 1e-9, to / t);
    else printf(" %9s %8s %9s\n", "-", "-", "-");
  }
  return 0;
}
