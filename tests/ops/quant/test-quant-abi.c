/* test-quant-abi.c — a host that knows octet only through include/octet/octet_plugin.h: it
 * dlopens the kernel module ($OCTET_PLUGIN), checks the versioned entry point, lists the int8
 * kernels and runs every QLinearConv and QLinearMatMul case of the ORT fixture through the
 * function table, comparing with ONNX Runtime's outputs bit for bit. Links no octet library. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tests/ops/quant/fixture.h"

static void *module;
static const octet_plugin *plugin;
static fx_file cases;

static int setup(void **state) {
  (void)state;
  const char *path = getenv("OCTET_PLUGIN");
  if (!path) {
    fprintf(stderr, "OCTET_PLUGIN is not set\n");
    return -1;
  }
  module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!module) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return -1;
  }
  octet_plugin_get_fn get = (octet_plugin_get_fn)(uintptr_t)dlsym(module, OCTET_PLUGIN_ENTRY);
  if (!get) return -1;
  plugin = get(OCTET_PLUGIN_ABI_VERSION);
  return load_file(&cases, NULL, "quant-cases.bin");
}

static int teardown(void **state) {
  (void)state;
  free(cases.data);
  if (module) dlclose(module);
  return 0;
}

static bool same_domain(const char *a, const char *b) {
  if (!a || !strcmp(a, "ai.onnx")) a = "";
  if (!b || !strcmp(b, "ai.onnx")) b = "";
  return !strcmp(a, b);
}

/* The host's own lookup: the entry with the largest since_version <= opset. */
static const octet_kernel *find(const char *domain, const char *op, int32_t opset) {
  const octet_kernel *best = NULL;
  for (size_t i = 0; i < plugin->n_kernels; i++) {
    const octet_kernel *k = &plugin->kernels[i];
    if (strcmp(k->op_type, op) || !same_domain(k->domain, domain) || k->since_version > opset) continue;
    if (!best || k->since_version > best->since_version) best = k;
  }
  return best;
}

static void entry_point_rejects_an_unknown_abi_version(void **state) {
  (void)state;
  octet_plugin_get_fn get = (octet_plugin_get_fn)(uintptr_t)dlsym(module, OCTET_PLUGIN_ENTRY);
  assert_non_null(get);
  assert_null(get(OCTET_PLUGIN_ABI_VERSION + 1000));
  assert_non_null(plugin);
  assert_int_equal(plugin->abi_version, OCTET_PLUGIN_ABI_VERSION);
}

static void module_lists_every_int8_kernel(void **state) {
  (void)state;
  static const char *const ops[][2] = {
      {"", "QuantizeLinear"}, {"", "DequantizeLinear"}, {"", "DynamicQuantizeLinear"},
      {"", "MatMulInteger"}, {"", "ConvInteger"}, {"", "QLinearMatMul"}, {"", "QLinearConv"},
      {"com.microsoft", "QLinearAdd"}, {"com.microsoft", "QLinearMul"},
      {"com.microsoft", "QLinearGlobalAveragePool"}, {"com.microsoft", "QLinearAveragePool"},
      {"com.microsoft", "QLinearConcat"}, {"com.microsoft", "QLinearLeakyRelu"},
      {"com.microsoft", "QLinearSigmoid"}, {"com.microsoft", "QLinearSoftmax"},
      {"com.microsoft", "QGemm"}, {"com.microsoft", "DynamicQuantizeMatMul"},
      {"com.microsoft", "MatMulIntegerToFloat"}};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    const octet_kernel *k = find(ops[i][0], ops[i][1], 21);
    if (!k) fprintf(stderr, "missing %s %s\n", ops[i][0], ops[i][1]);
    assert_non_null(k);
    assert_non_null(k->create);
    assert_non_null(k->infer);
    assert_non_null(k->run);
    assert_non_null(k->destroy);
  }
  printf("module '%s' %s (isa %s): %zu kernels\n", plugin->name, plugin->version, plugin->isa,
         plugin->n_kernels);
}

static void serial_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  (void)ctx;
  for (size_t i = 0; i < n; i++) task(arg, i, i + 1); /* one item per call: any split must agree */
}

static int run_case(const fx_case *c) {
  const octet_kernel *k = find(c->domain, c->op, c->opset);
  if (!k) return 1;
  int32_t dtypes[32];
  const octet_tensor *consts[32], *ins[32];
  octet_tensor copies[32], outs[4];
  memset(outs, 0, sizeof outs);
  for (size_t i = 0; i < c->n_inputs; i++) {
    dtypes[i] = c->present[i] ? c->in[i].t.dtype : OCTET_DTYPE_UNDEFINED;
    copies[i] = c->in[i].t;
    copies[i].data = NULL;
    if (c->present[i]) {
      copies[i].data = malloc(c->in[i].bytes + 1);
      memcpy(copies[i].data, c->in[i].t.data, c->in[i].bytes);
    }
    consts[i] = c->present[i] && c->is_const[i] ? &copies[i] : NULL;
    ins[i] = c->present[i] ? &copies[i] : NULL;
  }
  octet_kernel_info info = {.node_name = "host", .domain = c->domain, .op_type = c->op,
                            .opset = c->opset, .n_attrs = c->n_attrs, .attrs = c->attrs,
                            .n_inputs = c->n_inputs, .input_dtypes = dtypes,
                            .constant_inputs = consts, .n_outputs = c->n_outputs};
  octet_host host = {NULL, 2, serial_for};
  int32_t odt[4] = {0};
  void *st = NULL, *ws = NULL;
  size_t ws_bytes = 0;
  octet_error err = {0};
  int bad = 1;
  if (k->create(&info, odt, &st, &err) || k->infer(st, ins, c->n_inputs, outs, c->n_outputs, &ws_bytes, &err)) {
    printf("case %u %s: %s\n", c->id, c->op, err.message);
    goto done;
  }
  for (size_t o = 0; o < c->n_outputs; o++) outs[o].data = calloc(1, c->out[o].bytes + 1);
  ws = malloc(ws_bytes ? ws_bytes : 1);
  if (k->run(st, ins, c->n_inputs, outs, c->n_outputs, ws, &host, &err)) {
    printf("case %u %s: %s\n", c->id, c->op, err.message);
    goto done;
  }
  bad = 0;
  for (size_t o = 0; o < c->n_outputs; o++)
    if (odt[o] != c->out[o].t.dtype || memcmp(outs[o].data, c->out[o].t.data, c->out[o].bytes)) bad = 1;
  if (bad) printf("case %u %s: output differs from the reference\n", c->id, c->op);
done:
  for (size_t o = 0; o < c->n_outputs; o++) free(outs[o].data);
  for (size_t i = 0; i < c->n_inputs; i++) free(copies[i].data);
  free(ws);
  k->destroy(st);
  return bad;
}

static void qlinear_conv_and_matmul_run_through_the_abi_alone(void **state) {
  (void)state;
  fx_reader r = {cases.data + 8, cases.data + cases.size, false};
  static fx_case c;
  unsigned conv = 0, mm = 0, failed = 0;
  for (uint32_t i = 0; i < cases.count; i++) {
    assert_true(rd_case(&r, &c));
    bool is_conv = !strcmp(c.op, "QLinearConv"), is_mm = !strcmp(c.op, "QLinearMatMul");
    if (!is_conv && !is_mm) continue;
    conv += is_conv, mm += is_mm;
    failed += (unsigned)run_case(&c);
  }
  printf("through dlopen: %u QLinearConv and %u QLinearMatMul cases, %u mismatches\n", conv, mm, failed);
  assert_true(conv > 0 && mm > 0);
  assert_int_equal(failed, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(entry_point_rejects_an_unknown_abi_version),
      cmocka_unit_test(module_lists_every_int8_kernel),
      cmocka_unit_test(qlinear_conv_and_matmul_run_through_the_abi_alone),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
