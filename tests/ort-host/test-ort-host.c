/* test-ort-host.c — octet's kernel module inside ONNX Runtime 1.30: the module registered with
 * RegisterCustomOpsLibrary_V2 runs ai.octet models with exactly octet's own runtime's outputs, the
 * ORT API slots of plugin/ort-api.h answer as declared, and a wrong API version or a missing
 * symbol gives an error message instead of a crash. Skipped (77) when ORT is not installed. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ort-host.h"

/* Sanitizer builds: ONNX Runtime's CreateEnv leaks 14 bytes of its own (seen with a bare
 * dlopen + CreateEnv + ReleaseEnv, no octet code). Leaks whose allocating caller is in ORT are
 * suppressed; two-frame stacks keep that from hiding a leak allocated by octet's code, whose
 * caller frame is octet's. */
const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void) { return "malloc_context_size=2"; }
const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void) { return "leak:libonnxruntime.so\n"; }

static ort_host host;
static char models[1024];
static const char *plugin;

static void fail_on(OrtStatus *s, const char *what) {
  if (!s) return;
  print_error("%s: %s\n", what, host.api->GetErrorMessage(s));
  host.api->ReleaseStatus(s);
  fail();
}

static void model_path(char *buf, size_t size, const char *name, const char *form) {
  snprintf(buf, size, "%s/%s.%s.onnx", models, name, form);
}

/* ---- API slots ---- */

static void test_api_slots_answer_as_declared(void **state) {
  (void)state;
  const OrtApi *api = host.api;
  assert_null(host.base->GetApi(100000));
  assert_ptr_equal(host.base->GetApi(1)->CreateStatus, api->CreateStatus);
  OrtStatus *s = api->CreateStatus(ORT_INVALID_GRAPH, "slot check");
  assert_int_equal(api->GetErrorCode(s), ORT_INVALID_GRAPH);
  assert_string_equal(api->GetErrorMessage(s), "slot check");
  api->ReleaseStatus(s);

  int64_t dims[3] = {2, 3, 4};
  uint8_t data[24];
  for (int i = 0; i < 24; i++) data[i] = (uint8_t)i;
  OrtValue *v = NULL;
  fail_on(api->CreateTensorWithDataAsOrtValue(host.cpu, data, sizeof data, dims, 3,
                                              OCTET_DTYPE_UINT8, &v),
          "CreateTensorWithDataAsOrtValue");
  OrtTensorTypeAndShapeInfo *info = NULL;
  fail_on(api->GetTensorTypeAndShape(v, &info), "GetTensorTypeAndShape");
  ONNXTensorElementDataType et = 0;
  size_t rank = 0;
  int64_t got[3] = {0};
  fail_on(api->GetTensorElementType(info, &et), "GetTensorElementType");
  fail_on(api->GetDimensionsCount(info, &rank), "GetDimensionsCount");
  fail_on(api->GetDimensions(info, got, 3), "GetDimensions");
  api->ReleaseTensorTypeAndShapeInfo(info);
  assert_int_equal(et, OCTET_DTYPE_UINT8);
  assert_int_equal(rank, 3);
  assert_memory_equal(got, dims, sizeof dims);
  void *p = NULL;
  fail_on(api->GetTensorMutableData(v, &p), "GetTensorMutableData");
  assert_ptr_equal(p, data);
  api->ReleaseValue(v);
}

/* ---- same outputs as octet's runtime ---- */

static void run_octet(const char *path, const octet_tensor *x, octet_tensor *y) {
  octet_model *m = NULL;
  octet_session *s = NULL;
  octet_error err = {0};
  octet_session_options opt = {.n_threads = 2};
  if (octet_model_load(path, NULL, &m, &err) || octet_session_create(m, &opt, &s, &err) ||
      octet_session_run(s, x, 1, y, 1, &err)) {
    print_error("octet on %s: %s\n", path, err.message);
    fail();
  }
  size_t bytes = ort_host_nbytes(y);
  void *copy = malloc(bytes ? bytes : 1);
  assert_non_null(copy);
  memcpy(copy, y->data, bytes);
  y->data = copy;
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* Returns how many elements differ; asserts dtype and shape agree. */
static size_t compare(const octet_tensor *a, const octet_tensor *b, double *max_diff) {
  assert_int_equal(a->dtype, b->dtype);
  assert_int_equal(a->rank, b->rank);
  assert_memory_equal(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
  size_t n = ort_host_numel(a), diff = 0;
  *max_diff = 0;
  for (size_t i = 0; i < n; i++) {
    double x, y;
    switch (a->dtype) {
    case OCTET_DTYPE_UINT8: x = ((uint8_t *)a->data)[i], y = ((uint8_t *)b->data)[i]; break;
    case OCTET_DTYPE_INT8: x = ((int8_t *)a->data)[i], y = ((int8_t *)b->data)[i]; break;
    case OCTET_DTYPE_FLOAT: x = ((float *)a->data)[i], y = ((float *)b->data)[i]; break;
    default: fail_msg("unexpected output type %d", a->dtype); return 0;
    }
    if (x != y) diff++;
    if (x - y > *max_diff) *max_diff = x - y;
    if (y - x > *max_diff) *max_diff = y - x;
  }
  return diff;
}

static void check_model_matches_octet(const char *name) {
  char qop[1200], oct[1200], xpath[1200];
  model_path(qop, sizeof qop, name, "qop");
  model_path(oct, sizeof oct, name, "octet");
  snprintf(xpath, sizeof xpath, "%s/%s.x.npy", models, name);
  octet_tensor x, want, got, ort_own;
  octet_error err = {0};
  if (octet_tensor_load(xpath, &x, NULL, &err)) fail_msg("%s: %s", xpath, err.message);
  run_octet(qop, &x, &want);

  OrtSession *s = NULL;
  fail_on(ort_host_session(&host, oct, plugin, 2, &s), oct);
  fail_on(ort_host_run(&host, s, &x, &got), oct);
  /* Twice: the second run reuses the kernel instances and their cached workspaces. */
  octet_tensor again;
  fail_on(ort_host_run(&host, s, &x, &again), oct);
  host.api->ReleaseSession(s);

  double md;
  size_t diff = compare(&want, &got, &md);
  if (diff) print_error("%s: %zu elements differ from octet's runtime (max %g)\n", name, diff, md);
  assert_int_equal(diff, 0);
  assert_memory_equal(got.data, again.data, ort_host_nbytes(&got));

  /* For the record: ORT's own kernels on the ONNX-domain model (u8 x s8 may differ by design,
   * ops/quant/README.md). */
  memset(&ort_own, 0, sizeof ort_own);
  OrtStatus *st = ort_host_session(&host, qop, NULL, 2, &s);
  if (!st) st = ort_host_run(&host, s, &x, &ort_own);
  if (s) host.api->ReleaseSession(s);
  if (st) {
    print_message("%-30s ORT+octet == octet (%zu values); ORT's own kernels refuse it: %s\n", name,
                  ort_host_numel(&want), host.api->GetErrorMessage(st));
    host.api->ReleaseStatus(st);
  } else {
    diff = compare(&want, &ort_own, &md);
    print_message("%-30s ORT+octet == octet (%zu values); ORT's own kernels: %zu differ, max %g\n",
                  name, ort_host_numel(&want), diff, md);
  }
  free(want.data), free(got.data), free(again.data), free(ort_own.data);
  octet_tensor_free(&x);
}

static void test_qlinear_conv_variants_match_octet_runtime(void **state) {
  (void)state;
  check_model_matches_octet("conv-u8s8-per-channel");
  check_model_matches_octet("conv-u8u8-depthwise-stride2");
  check_model_matches_octet("conv-s8s8-dilated-same");
  check_model_matches_octet("conv-u8s8-to-s8-grouped");
  check_model_matches_octet("conv-u8s8-large"); /* enough work to split over ORT's pool */
}

static void test_qlinear_matmul_and_qgemm_match_octet_runtime(void **state) {
  (void)state;
  check_model_matches_octet("matmul-u8s8");
  check_model_matches_octet("matmul-s8s8-to-u8");
  check_model_matches_octet("qgemm-u8s8-transb");
  check_model_matches_octet("qgemm-u8u8");
}

static void test_com_microsoft_single_type_ops_match_octet_runtime(void **state) {
  (void)state;
  check_model_matches_octet("ms-eltwise-pools-u8");
  check_model_matches_octet("ms-eltwise-pools-s8");
  check_model_matches_octet("softmax-u8");
  check_model_matches_octet("softmax-s8");
}

static void test_custom_op_outputs_feed_native_and_custom_ops(void **state) {
  (void)state;
  check_model_matches_octet("chain-conv-maxpool-dw-pw");
}

static void test_quantized_fmnist_cnn_matches_octet_runtime(void **state) {
  (void)state;
  check_model_matches_octet("fmnist_cnn");
  check_model_matches_octet("fmnist_cnn-all"); /* GAP in ai.octet too */
}

/* ---- the test's own custom op: KernelContext_ParallelFor and the OrtCustomOp layout ---- */

typedef struct probe_kernel {
  const OrtApi *api;
} probe_kernel;

typedef struct probe_job {
  const float *x;
  float *y;
  int *hits; /* how often each index ran: exactly once each */
} probe_job;

static void probe_item(void *p, size_t i) {
  probe_job *j = p;
  j->y[i] = 2 * j->x[i];
  __atomic_add_fetch(&j->hits[i], 1, __ATOMIC_RELAXED);
}

static OrtStatus *probe_create(const OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info,
                               void **out) {
  (void)op, (void)info;
  probe_kernel *k = calloc(1, sizeof *k);
  if (!k) return api->CreateStatus(ORT_FAIL, "out of memory");
  k->api = api;
  *out = k;
  return NULL;
}

static OrtStatus *probe_compute(void *p, OrtKernelContext *ctx) {
  probe_kernel *k = p;
  const OrtApi *api = k->api;
  const OrtValue *xv = NULL;
  OrtValue *yv = NULL;
  OrtTensorTypeAndShapeInfo *info = NULL;
  int64_t n = 0;
  size_t rank = 0;
  void *x = NULL, *y = NULL;
  OrtStatus *s = api->KernelContext_GetInput(ctx, 0, &xv);
  if (!s) s = api->GetTensorTypeAndShape(xv, &info);
  if (!s) s = api->GetDimensionsCount(info, &rank);
  if (!s && rank != 1) s = api->CreateStatus(ORT_INVALID_ARGUMENT, "probe: want a vector");
  if (!s) s = api->GetDimensions(info, &n, 1);
  if (info) api->ReleaseTensorTypeAndShapeInfo(info);
  if (!s) s = api->KernelContext_GetOutput(ctx, 0, &n, 1, &yv);
  if (!s) s = api->GetTensorMutableData((OrtValue *)xv, &x);
  if (!s) s = api->GetTensorMutableData(yv, &y);
  if (s) return s;
  int *hits = calloc((size_t)n, sizeof *hits);
  if (!hits) return api->CreateStatus(ORT_FAIL, "out of memory");
  probe_job j = {x, y, hits};
  s = api->KernelContext_ParallelFor(ctx, probe_item, (size_t)n, 0, &j);
  for (int64_t i = 0; !s && i < n; i++)
    if (hits[i] != 1) s = api->CreateStatus(ORT_FAIL, "probe: ParallelFor skipped or repeated an index");
  free(hits);
  return s;
}

static void probe_destroy(void *p) { free(p); }
static const char *probe_name(const OrtCustomOp *op) { (void)op; return "ParallelProbe"; }
static ONNXTensorElementDataType probe_type(const OrtCustomOp *op, size_t i) {
  (void)op, (void)i;
  return OCTET_DTYPE_FLOAT;
}
static size_t probe_one(const OrtCustomOp *op) { (void)op; return 1; }
static const char *probe_cpu(const OrtCustomOp *op) { (void)op; return NULL; }
static OrtMemType probe_mem(const OrtCustomOp *op, size_t i) {
  (void)op, (void)i;
  return OrtMemTypeDefault;
}
static OrtCustomOpInputOutputCharacteristic probe_required(const OrtCustomOp *op, size_t i) {
  (void)op, (void)i;
  return INPUT_OUTPUT_REQUIRED;
}

static void test_parallel_for_slot_runs_every_index_once(void **state) {
  (void)state;
  OrtCustomOp op;
  memset(&op, 0, sizeof op);
  op.version = OCTET_ORT_API_VERSION;
  op.GetName = probe_name;
  op.GetExecutionProviderType = probe_cpu; /* ORT calls these two unconditionally */
  op.GetInputMemoryType = probe_mem;
  op.GetInputType = probe_type;
  op.GetInputTypeCount = probe_one;
  op.GetOutputType = probe_type;
  op.GetOutputTypeCount = probe_one;
  op.KernelDestroy = probe_destroy;
  op.GetInputCharacteristic = probe_required;
  op.GetOutputCharacteristic = probe_required;
  op.CreateKernelV2 = probe_create;
  op.KernelComputeV2 = probe_compute;
  const OrtApi *api = host.api;
  OrtSessionOptions *opt = NULL;
  OrtCustomOpDomain *dom = NULL;
  OrtSession *s = NULL;
  char path[1200];
  snprintf(path, sizeof path, "%s/parallel-probe.onnx", models);
  fail_on(api->CreateSessionOptions(&opt), "CreateSessionOptions");
  fail_on(api->SetIntraOpNumThreads(opt, 2), "SetIntraOpNumThreads");
  fail_on(api->CreateCustomOpDomain("octet.test", &dom), "CreateCustomOpDomain");
  fail_on(api->CustomOpDomain_Add(dom, &op), "CustomOpDomain_Add");
  fail_on(api->AddCustomOpDomain(opt, dom), "AddCustomOpDomain");
  fail_on(api->CreateSession(host.env, path, opt, &s), path);
  float xs[1000];
  for (int i = 0; i < 1000; i++) xs[i] = (float)i - 300.5f;
  octet_tensor x = {.dtype = OCTET_DTYPE_FLOAT, .rank = 1, .dims = {1000}, .data = xs}, y;
  fail_on(ort_host_run(&host, s, &x, &y), path);
  assert_int_equal(y.rank, 1);
  assert_int_equal(y.dims[0], 1000);
  for (int i = 0; i < 1000; i++) assert_true(((float *)y.data)[i] == 2 * xs[i]);
  free(y.data);
  api->ReleaseSession(s);
  api->ReleaseSessionOptions(opt);
  api->ReleaseCustomOpDomain(dom);
}

/* ---- errors, not crashes ---- */

static const OrtApi *v1_only(uint32_t version) {
  return version == 1 ? host.base->GetApi(1) : NULL;
}
static const OrtApi *no_api(uint32_t version) {
  (void)version;
  return NULL;
}
static const char *fake_version(void) { return "0.9-fake"; }

static void test_register_explains_a_missing_api_version(void **state) {
  (void)state;
  void *mod = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
  assert_non_null(mod);
  RegisterCustomOps_fn reg = (RegisterCustomOps_fn)(void (*)(void))dlsym(mod, "RegisterCustomOps");
  assert_non_null(reg);
  OrtSessionOptions *opt = NULL;
  fail_on(host.api->CreateSessionOptions(&opt), "CreateSessionOptions");

  OrtApiBase old = {v1_only, fake_version};
  OrtStatus *s = reg(opt, &old);
  assert_non_null(s);
  assert_int_equal(host.api->GetErrorCode(s), ORT_NOT_IMPLEMENTED);
  assert_non_null(strstr(host.api->GetErrorMessage(s), "0.9-fake"));
  assert_non_null(strstr(host.api->GetErrorMessage(s), "C API version 17"));
  host.api->ReleaseStatus(s);

  /* No table at all: nothing to build a status with; it must still return, not crash. */
  OrtApiBase none = {no_api, NULL};
  assert_null(reg(opt, &none));
  assert_null(reg(opt, NULL));

  /* The real table registers. */
  s = reg(opt, host.base);
  fail_on(s, "RegisterCustomOps");
  host.api->ReleaseSessionOptions(opt);
  dlclose(mod);
}

static void test_legacy_register_custom_ops_library_runs_the_same_ops(void **state) {
  (void)state;
  const OrtApi *api = host.api;
  OrtSessionOptions *opt = NULL;
  OrtSession *s = NULL;
  void *handle = NULL;
  char path[1200], xpath[1200];
  model_path(path, sizeof path, "matmul-u8s8", "octet");
  snprintf(xpath, sizeof xpath, "%s/matmul-u8s8.x.npy", models);
  fail_on(api->CreateSessionOptions(&opt), "CreateSessionOptions");
  fail_on(api->RegisterCustomOpsLibrary(opt, plugin, &handle), "RegisterCustomOpsLibrary");
  assert_non_null(handle);
  fail_on(api->CreateSession(host.env, path, opt, &s), path);
  octet_tensor x, y, want;
  octet_error err = {0};
  if (octet_tensor_load(xpath, &x, NULL, &err)) fail_msg("%s: %s", xpath, err.message);
  fail_on(ort_host_run(&host, s, &x, &y), path);
  model_path(path, sizeof path, "matmul-u8s8", "qop");
  run_octet(path, &x, &want);
  assert_int_equal(ort_host_nbytes(&y), ort_host_nbytes(&want));
  assert_memory_equal(y.data, want.data, ort_host_nbytes(&y));
  free(y.data), free(want.data);
  octet_tensor_free(&x);
  api->ReleaseSession(s);
  api->ReleaseSessionOptions(opt);
  dlclose(handle); /* this entry point leaves the handle to the caller, after its sessions */
}

static void test_library_without_register_custom_ops_is_refused(void **state) {
  (void)state;
  char lib[1200];
  snprintf(lib, sizeof lib, "%s/liboctet.so", getenv("OCTET_BUILD_ROOT"));
  char oct[1200];
  model_path(oct, sizeof oct, "conv-u8s8-per-channel", "octet");
  OrtSession *s = NULL;
  OrtStatus *st = ort_host_session(&host, oct, lib, 1, &s);
  assert_non_null(st);
  print_message("ORT on a library without the entry point: %s\n", host.api->GetErrorMessage(st));
  assert_non_null(strstr(host.api->GetErrorMessage(st), "RegisterCustomOps"));
  host.api->ReleaseStatus(st);
  assert_null(s);
}

static void test_host_loader_names_a_missing_symbol(void **state) {
  (void)state;
  ort_host h;
  char msg[1200];
  assert_int_equal(ort_host_open(&h, plugin, msg, sizeof msg), -1);
  assert_non_null(strstr(msg, "OrtGetApiBase"));
}

static void test_models_fail_cleanly_without_the_plugin_or_with_unknown_ops(void **state) {
  (void)state;
  char path[1200];
  OrtSession *s = NULL;
  model_path(path, sizeof path, "conv-u8s8-per-channel", "octet");
  OrtStatus *st = ort_host_session(&host, path, NULL, 1, &s);
  assert_non_null(st);
  assert_non_null(strstr(host.api->GetErrorMessage(st), "ai.octet"));
  host.api->ReleaseStatus(st);
  model_path(path, sizeof path, "unknown-op", "octet");
  st = ort_host_session(&host, path, plugin, 1, &s);
  assert_non_null(st);
  assert_non_null(strstr(host.api->GetErrorMessage(st), "OctetNoSuchOp"));
  host.api->ReleaseStatus(st);
  assert_null(s);
}

int main(void) {
  char msg[1200];
  int r = ort_host_open(&host, ort_host_default_path(), msg, sizeof msg);
  if (r == 1) {
    printf("SKIP: %s (scripts/install-deps.sh installs it; or set ORT_LIB)\n", msg);
    return 77;
  }
  if (r != 0) {
    fprintf(stderr, "%s\n", msg);
    return 1;
  }
  const char *src = getenv("OCTET_SOURCE_ROOT"), *build = getenv("OCTET_BUILD_ROOT");
  plugin = getenv("OCTET_PLUGIN");
  if (!src || !build || !plugin) {
    fprintf(stderr, "OCTET_SOURCE_ROOT, OCTET_BUILD_ROOT and OCTET_PLUGIN must be set (meson test)\n");
    return 1;
  }
  snprintf(models, sizeof models, "%s/tests/ort-host/models", build);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 '%s/tests/ort-host/make-test-models.py' '%s' '%s/octet' "
           "'%s/../shared/models' 2>/dev/null",
           src, models, build, src);
  if (system(cmd) != 0) {
    fprintf(stderr, "making the test models failed: %s\n", cmd);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_api_slots_answer_as_declared),
      cmocka_unit_test(test_parallel_for_slot_runs_every_index_once),
      cmocka_unit_test(test_qlinear_conv_variants_match_octet_runtime),
      cmocka_unit_test(test_qlinear_matmul_and_qgemm_match_octet_runtime),
      cmocka_unit_test(test_com_microsoft_single_type_ops_match_octet_runtime),
      cmocka_unit_test(test_custom_op_outputs_feed_native_and_custom_ops),
      cmocka_unit_test(test_quantized_fmnist_cnn_matches_octet_runtime),
      cmocka_unit_test(test_register_explains_a_missing_api_version),
      cmocka_unit_test(test_legacy_register_custom_ops_library_runs_the_same_ops),
      cmocka_unit_test(test_library_without_register_custom_ops_is_refused),
      cmocka_unit_test(test_host_loader_names_a_missing_symbol),
      cmocka_unit_test(test_models_fail_cleanly_without_the_plugin_or_with_unknown_ops),
  };
  if (getenv("ORT_HOST_TEST")) cmocka_set_test_filter(getenv("ORT_HOST_TEST")); /* by hand */
  r = cmocka_run_group_tests_name("ort-host", tests, NULL, NULL);
  ort_host_close(&host);
  return r;
}
