/* test-session.c — the runtime: sessions on built and real models, buffer reuse by lifetime,
 * allocation-free repeat runs, observer, threads, If/Loop with outer-scope values, constant
 * folding, profile, and the error messages for bad inputs, unknown ops and broken modules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "onnx_io/ir.h"
#include "runtime/runtime.h"

/* ---- model building helpers ------------------------------------------------------------- */

static octet_model *model_new(int64_t opset) {
  octet_model *m = octet_ir_model_new();
  assert_non_null(m);
  m->opsets = octet_arena_alloc(m->arena, sizeof *m->opsets);
  m->opsets[0].domain = "";
  m->opsets[0].version = opset;
  m->n_opsets = 1;
  return m;
}

static void add_value(octet_model *m, octet_ir_value **arr, size_t *n, const char *name,
                      int32_t dtype, int32_t rank, const int64_t *dims, const char *const *params) {
  octet_ir_value *a = octet_arena_alloc(m->arena, (*n + 1) * sizeof *a);
  assert_non_null(a);
  if (*n) memcpy(a, *arr, *n * sizeof *a);
  octet_ir_value *v = &a[*n];
  v->name = octet_arena_strdup(m->arena, name);
  v->kind = OCTET_IR_TYPE_TENSOR;
  v->elem_type = dtype;
  v->rank = rank;
  v->doc_string = "";
  if (rank > 0) {
    v->dims = octet_arena_alloc(m->arena, (size_t)rank * sizeof *v->dims);
    for (int32_t i = 0; i < rank; i++) {
      v->dims[i].value = dims ? dims[i] : -1;
      v->dims[i].param = params && params[i] ? octet_arena_strdup(m->arena, params[i]) : NULL;
    }
  }
  *arr = a;
  (*n)++;
}

static void graph_input(octet_model *m, octet_ir_graph *g, const char *name, int32_t dtype,
                        int32_t rank, const int64_t *dims, const char *const *params) {
  add_value(m, &g->inputs, &g->n_inputs, name, dtype, rank, dims, params);
}

static void graph_output(octet_model *m, octet_ir_graph *g, const char *name) {
  add_value(m, &g->outputs, &g->n_outputs, name, 0, -1, NULL, NULL);
}

/* Comma-separated names ("a,,b": b is input 2, input 1 absent). */
static const char **name_list(octet_model *m, const char *csv, size_t *n) {
  *n = 0;
  if (!*csv) return NULL;
  size_t count = 1;
  for (const char *p = csv; *p; p++) count += *p == ',';
  const char **out = octet_arena_alloc(m->arena, count * sizeof *out);
  const char *s = csv;
  for (size_t i = 0; i < count; i++) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    out[i] = octet_arena_strndup(m->arena, s, len);
    s = e ? e + 1 : s + len;
  }
  *n = count;
  return out;
}

static octet_ir_node *add_node(octet_model *m, octet_ir_graph *g, const char *op, const char *name,
                               const char *ins, const char *outs) {
  octet_ir_node *n = octet_ir_graph_add_node(m, g, op, "", name);
  assert_non_null(n);
  n->inputs = name_list(m, ins, &n->n_inputs);
  n->outputs = name_list(m, outs, &n->n_outputs);
  return n;
}

static octet_ir_attr *add_attr(octet_model *m, octet_ir_node *n, const char *name, int32_t type) {
  octet_ir_attr *a = octet_arena_alloc(m->arena, (n->n_attrs + 1) * sizeof *a);
  if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
  n->attrs = a;
  octet_ir_attr *at = &a[n->n_attrs++];
  at->name = octet_arena_strdup(m->arena, name);
  at->type = type;
  at->s = "";
  at->doc_string = "";
  return at;
}

static void attr_graph(octet_model *m, octet_ir_node *n, const char *name, octet_ir_graph *g) {
  add_attr(m, n, name, OCTET_ATTR_GRAPH)->g = g;
}

static void attr_ints(octet_model *m, octet_ir_node *n, const char *name, const int64_t *v, size_t k) {
  octet_ir_attr *a = add_attr(m, n, name, OCTET_ATTR_INTS);
  a->ints = octet_arena_alloc(m->arena, k * sizeof *a->ints);
  memcpy(a->ints, v, k * sizeof *v);
  a->n = k;
}

static octet_tensor tensor_f32(float *data, int32_t rank, const int64_t *dims) {
  octet_tensor t = {.dtype = OCTET_DTYPE_FLOAT, .rank = rank, .data = data};
  for (int32_t i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

/* x[4,256] -> Neg -> t1 -> Neg -> t2 ... -> y (n nodes). */
static octet_model *neg_chain(int n) {
  octet_model *m = model_new(17);
  octet_ir_graph *g = m->graph;
  int64_t dims[2] = {4, 256};
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 2, dims, NULL);
  char in[16] = "x", out[16];
  for (int i = 1; i <= n; i++) {
    if (i == n) snprintf(out, sizeof out, "y");
    else snprintf(out, sizeof out, "t%d", i);
    char name[16];
    snprintf(name, sizeof name, "neg%d", i);
    add_node(m, g, "Neg", name, in, out);
    memcpy(in, out, sizeof in);
  }
  graph_output(m, g, "y");
  return m;
}

static octet_session *make_session(const octet_model *m, const octet_session_options *o) {
  octet_session *s = NULL;
  octet_error err = {0};
  octet_status st = octet_session_create(m, o, &s, &err);
  if (st) fail_msg("session create: %s", err.message);
  return s;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static float chain_x[4 * 256];

static void fill_chain_x(void) {
  for (int i = 0; i < 4 * 256; i++) chain_x[i] = (float)(i % 97) * 0.25f - 7.0f;
}

static void chain_reuses_buffers_and_keeps_the_output(void **state) {
  (void)state;
  const int n = 8;
  octet_model *m = neg_chain(n);
  octet_session *s = make_session(m, NULL);
  fill_chain_x();
  int64_t dims[2] = {4, 256};
  octet_tensor x = tensor_f32(chain_x, 2, dims), y;
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  assert_int_equal(y.rank, 2);
  assert_int_equal(y.dims[1], 256);
  for (int i = 0; i < 4 * 256; i++) assert_true(((float *)y.data)[i] == chain_x[i]); /* (-1)^8 */
  size_t one = 4 * 256 * sizeof(float);
  size_t arena = octet_rt_session_arena_bytes(s);
  /* 7 intermediates plus the output would be 8 buffers without reuse. */
  assert_true(arena < (size_t)(n - 1) * one);
  assert_true(arena <= 3 * one);
  octet_session_destroy(s);
  octet_model_destroy(m);
}

static void repeat_runs_allocate_nothing(void **state) {
  (void)state;
  octet_model *m = neg_chain(5);
  octet_session *s = make_session(m, NULL);
  fill_chain_x();
  int64_t dims[2] = {4, 256};
  octet_tensor x = tensor_f32(chain_x, 2, dims), y;
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  uint64_t allocs = octet_rt_session_alloc_count(s);
  /* Any allocation now fails: a second run with the same shapes must not need one. */
  octet_alloc_fail_after(1);
  octet_status st = octet_session_run(s, &x, 1, &y, 1, &err);
  octet_alloc_fail_after(0);
  assert_int_equal(st, OCTET_OK);
  assert_int_equal(octet_rt_session_alloc_count(s), allocs);
  for (int i = 0; i < 4 * 256; i++) assert_true(((float *)y.data)[i] == -chain_x[i]);
  octet_session_destroy(s);
  octet_model_destroy(m);
}

typedef struct seen {
  int calls;
  char names[16][16];
  char nodes[16][16];
  float first[16];
  int stop_at;
} seen;

static int record(void *ctx, const char *tensor, const char *node, const octet_tensor *v) {
  seen *s = ctx;
  if (s->calls < 16) {
    snprintf(s->names[s->calls], 16, "%s", tensor);
    snprintf(s->nodes[s->calls], 16, "%s", node);
    s->first[s->calls] = ((const float *)v->data)[1];
  }
  s->calls++;
  return s->stop_at && s->calls == s->stop_at;
}

static void observer_sees_every_tensor_or_the_chosen_ones(void **state) {
  (void)state;
  octet_model *m = neg_chain(3);
  fill_chain_x();
  int64_t dims[2] = {4, 256};
  octet_tensor x = tensor_f32(chain_x, 2, dims), y;
  octet_error err = {0};
  seen all = {0};
  octet_session_options o = {.observer = record, .observer_ctx = &all};
  octet_session *s = make_session(m, &o);
  assert_int_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  assert_int_equal(all.calls, 3);
  assert_string_equal(all.names[0], "t1");
  assert_string_equal(all.names[1], "t2");
  assert_string_equal(all.names[2], "y");
  assert_string_equal(all.nodes[1], "neg2");
  assert_true(all.first[0] == -chain_x[1]);
  assert_true(all.first[1] == chain_x[1]);
  assert_true(all.first[2] == -chain_x[1]);
  octet_session_destroy(s);

  seen some = {0};
  const char *names[] = {"t2"};
  o = (octet_session_options){.observer = record, .observer_ctx = &some, .observe_names = names,
                              .n_observe_names = 1};
  s = make_session(m, &o);
  assert_int_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  assert_int_equal(some.calls, 1);
  assert_string_equal(some.names[0], "t2");
  octet_session_destroy(s);

  seen stop = {.stop_at = 2};
  o = (octet_session_options){.observer = record, .observer_ctx = &stop};
  s = make_session(m, &o);
  assert_int_not_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  assert_non_null(strstr(err.message, "observer stopped the run at tensor 't2'"));
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* A shared model file: the repository's examples/ first, then the team's models folder; NULL
 * (the test skips) when neither has it. */
static const char *model_file(const char *name) {
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ % 4];
  const char *root = getenv("OCTET_SOURCE_ROOT");
  snprintf(p, 1024, "%s/examples/%s", root ? root : ".", name);
  FILE *f = fopen(p, "rb");
  if (!f) {
    snprintf(p, 1024, "/work/shared/models/%s", name);
    f = fopen(p, "rb");
  }
  if (!f) return NULL;
  fclose(f);
  return p;
}

static octet_model *load(const char *path) {
  octet_model *m = NULL;
  octet_error err = {0};
  if (octet_model_load(path, NULL, &m, &err)) fail_msg("load %s: %s", path, err.message);
  return m;
}

static octet_tensor load_rows(const char *path, int64_t rows) {
  octet_tensor t = {0};
  octet_error err = {0};
  if (octet_tensor_load(path, &t, NULL, &err)) fail_msg("load %s: %s", path, err.message);
  if (t.dims[0] > rows) t.dims[0] = rows;
  return t;
}

/* y = relu(x W0^T + b0) ... in double, straight from the initializers. */
static void digits_reference(const octet_model *m, const float *x, int64_t rows, double *out) {
  const char *w[3] = {"n.0.weight", "n.2.weight", "n.4.weight"};
  const char *b[3] = {"n.0.bias", "n.2.bias", "n.4.bias"};
  double act[2][128];
  for (int64_t r = 0; r < rows; r++) {
    int64_t width = 64;
    for (int k = 0; k < 64; k++) act[0][k] = x[r * 64 + k];
    int cur = 0;
    for (int l = 0; l < 3; l++) {
      const octet_ir_tensor *W = octet_ir_graph_initializer(m->graph, w[l]);
      const octet_ir_tensor *B = octet_ir_graph_initializer(m->graph, b[l]);
      assert_non_null(W);
      assert_non_null(B);
      int64_t outw = W->dims[0];
      for (int64_t o = 0; o < outw; o++) {
        double acc = ((const float *)B->data)[o];
        for (int64_t k = 0; k < width; k++) acc += act[cur][k] * ((const float *)W->data)[o * width + k];
        act[!cur][o] = l < 2 && acc < 0 ? 0 : acc;
      }
      cur = !cur;
      width = outw;
    }
    for (int k = 0; k < 10; k++) out[r * 10 + k] = act[cur][k];
  }
}

static void digits_mlp_matches_a_double_reference(void **state) {
  (void)state;
  const char *mp = model_file("digits_mlp.onnx"), *xp = model_file("digits_mlp.test_x.npy");
  if (!mp || !xp) skip();
  octet_model *m = load(mp);
  octet_tensor x = load_rows(xp, 64);
  octet_session *s = make_session(m, NULL);
  octet_tensor y;
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, &x, 1, &y, 1, &err), OCTET_OK);
  assert_int_equal(y.dims[0], 64);
  assert_int_equal(y.dims[1], 10);
  static double ref[64 * 10];
  digits_reference(m, x.data, 64, ref);
  for (int i = 0; i < 640; i++)
    assert_true(fabs(((float *)y.data)[i] - ref[i]) <= 1e-4 * (1 + fabs(ref[i])));
  octet_session_destroy(s);
  octet_tensor_free(&x);
  octet_model_destroy(m);
}

static void results_are_identical_for_one_and_two_threads(void **state) {
  (void)state;
  const char *models[][2] = {
    {"mnist_cnn.onnx", "mnist_cnn.test_x.npy"},
    {"digits_mlp.onnx", "digits_mlp.test_x.npy"},
  };
  int ran = 0;
  for (size_t k = 0; k < 2; k++) {
    const char *mp = model_file(models[k][0]), *xp = model_file(models[k][1]);
    if (!mp || !xp) continue;
    ran++;
    octet_model *m = load(mp);
    octet_tensor x = load_rows(xp, 16);
    octet_tensor y1, y2;
    octet_error err = {0};
    octet_session_options o1 = {.n_threads = 1}, o2 = {.n_threads = 2};
    octet_session *s1 = make_session(m, &o1), *s2 = make_session(m, &o2);
    assert_int_equal(octet_session_run(s1, &x, 1, &y1, 1, &err), OCTET_OK);
    assert_int_equal(octet_session_run(s2, &x, 1, &y2, 1, &err), OCTET_OK);
    assert_int_equal(y1.rank, y2.rank);
    assert_memory_equal(y1.dims, y2.dims, sizeof y1.dims);
    assert_memory_equal(y1.data, y2.data, octet_tensor_nbytes(&y1));
    octet_session_destroy(s1);
    octet_session_destroy(s2);
    octet_tensor_free(&x);
    octet_model_destroy(m);
  }
  if (!ran) skip();
}

static void expect_run_error(octet_session *s, const octet_tensor *in, size_t n, const char *a,
                             const char *b) {
  octet_tensor out[4];
  octet_error err = {0};
  octet_status st = octet_session_run(s, in, n, out, octet_session_output_count(s), &err);
  assert_int_equal(st, OCTET_STATUS_INVALID_ARGUMENT);
  if (!strstr(err.message, a) || (b && !strstr(err.message, b)))
    fail_msg("message '%s' lacks '%s' / '%s'", err.message, a, b ? b : "");
}

static void bad_inputs_are_named_with_the_expected_type(void **state) {
  (void)state;
  const char *mp = model_file("digits_mlp.onnx");
  if (!mp) skip();
  octet_model *m = load(mp);
  octet_session *s = make_session(m, NULL);
  static float data[2 * 64];
  int64_t good[2] = {2, 64}, narrow[2] = {2, 63}, flat[1] = {64};
  octet_tensor x = tensor_f32(data, 2, good);
  octet_tensor two[2] = {x, x};
  expect_run_error(s, NULL, 0, "missing input", "'input'");
  expect_run_error(s, two, 2, "too many inputs", "takes 1");
  octet_tensor wrong_type = x;
  wrong_type.dtype = OCTET_DTYPE_INT32;
  expect_run_error(s, &wrong_type, 1, "input 'input': expected float[batch,64], got int32[2,64]",
                   "wrong dtype");
  octet_tensor wrong_dim = tensor_f32(data, 2, narrow);
  expect_run_error(s, &wrong_dim, 1, "input 'input': expected float[batch,64]", "dim 1 must be 64");
  octet_tensor wrong_rank = tensor_f32(data, 1, flat);
  expect_run_error(s, &wrong_rank, 1, "input 'input'", "rank 1 instead of 2");
  octet_session_destroy(s);
  octet_model_destroy(m);

  /* A symbolic dim binds once across inputs. */
  m = model_new(17);
  const char *params[2] = {"N", NULL};
  int64_t dims[2] = {-1, 4};
  graph_input(m, m->graph, "a", OCTET_DTYPE_FLOAT, 2, dims, params);
  graph_input(m, m->graph, "b", OCTET_DTYPE_FLOAT, 2, dims, params);
  add_node(m, m->graph, "Add", "add", "a,b", "c");
  graph_output(m, m->graph, "c");
  s = make_session(m, NULL);
  int64_t d2[2] = {2, 4}, d3[2] = {3, 4};
  octet_tensor ab[2] = {tensor_f32(data, 2, d2), tensor_f32(data, 2, d3)};
  expect_run_error(s, ab, 2, "input 'b': expected float[N,4], got float[3,4]", "which input 'a' set to 2");
  octet_session_destroy(s);
  octet_model_destroy(m);
}

static void unknown_operator_names_node_op_and_opset(void **state) {
  (void)state;
  octet_model *m = model_new(17);
  int64_t dims[1] = {4};
  graph_input(m, m->graph, "x", OCTET_DTYPE_FLOAT, 1, dims, NULL);
  add_node(m, m->graph, "Frobnicate", "frob1", "x", "y");
  graph_output(m, m->graph, "y");
  octet_session *s = NULL;
  octet_error err = {0};
  assert_int_equal(octet_session_create(m, NULL, &s, &err), OCTET_STATUS_UNSUPPORTED);
  assert_null(s);
  assert_non_null(strstr(err.message, "node 'frob1'"));
  assert_non_null(strstr(err.message, "Frobnicate"));
  assert_non_null(strstr(err.message, "opset 17"));
  octet_model_destroy(m);
}

static void expect_plugin_error(const char *path, octet_status status, const char *text) {
  octet_model *m = neg_chain(1);
  octet_session_options o = {.plugin_path = path};
  octet_session *s = NULL;
  octet_error err = {0};
  assert_int_equal(octet_session_create(m, &o, &s, &err), status);
  assert_null(s);
  if (!strstr(err.message, text)) fail_msg("message '%s' lacks '%s'", err.message, text);
  octet_model_destroy(m);
}

static void broken_kernel_modules_give_clear_errors(void **state) {
  (void)state;
  expect_plugin_error("/nonexistent/liboctet-kernels.so", OCTET_STATUS_IO, "does not exist");
  expect_plugin_error(FAKE_NOSYM_PATH, OCTET_STATUS_INVALID_ARGUMENT, "does not export octet_plugin_get");
  expect_plugin_error(FAKE_ABI_PATH, OCTET_STATUS_UNSUPPORTED, "does not speak plugin ABI version 1");
  /* Not a shared object at all (as a module for another architecture is): dlopen's reason. */
  char junk[] = "/tmp/octet-rt-junk-XXXXXX";
  int fd = mkstemp(junk);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("this is not an ELF file, it is padding to get past the header size check......\n", f);
  fclose(f);
  expect_plugin_error(junk, OCTET_STATUS_IO, "cannot load kernel module");
  remove(junk);
  /* The environment variable is used, and named, when no path is given. */
  char *saved = getenv("OCTET_PLUGIN") ? strdup(getenv("OCTET_PLUGIN")) : NULL;
  setenv("OCTET_PLUGIN", "/nonexistent/env.so", 1);
  expect_plugin_error(NULL, OCTET_STATUS_IO, "$OCTET_PLUGIN");
  if (saved) setenv("OCTET_PLUGIN", saved, 1);
  else unsetenv("OCTET_PLUGIN");
  free(saved);
}

/* x[4] -> Neg -> nx; If(cond) then Relu(nx) else Abs(nx): nx is read only by the branches. */
static void if_branches_read_outer_values(void **state) {
  (void)state;
  octet_model *m = model_new(17);
  octet_ir_graph *g = m->graph;
  int64_t d4[1] = {4};
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 1, d4, NULL);
  graph_input(m, g, "cond", OCTET_DTYPE_BOOL, 0, NULL, NULL);
  add_node(m, g, "Neg", "neg", "x", "nx");
  octet_ir_graph *tb = octet_ir_graph_new(m), *eb = octet_ir_graph_new(m);
  add_node(m, tb, "Relu", "relu", "nx", "r");
  graph_output(m, tb, "r");
  add_node(m, eb, "Abs", "abs", "nx", "a");
  graph_output(m, eb, "a");
  octet_ir_node *n = add_node(m, g, "If", "if", "cond", "y");
  attr_graph(m, n, "then_branch", tb);
  attr_graph(m, n, "else_branch", eb);
  add_node(m, g, "Neg", "neg2", "y", "z");
  graph_output(m, g, "z");
  octet_session_options o = {.profile = 1};
  octet_session *s = make_session(m, &o);
  float xv[4] = {1, -2, 3, -4};
  uint8_t c = 1;
  octet_tensor in[2] = {tensor_f32(xv, 1, d4), {.dtype = OCTET_DTYPE_BOOL, .rank = 0, .data = &c}};
  octet_tensor z;
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, in, 2, &z, 1, &err), OCTET_OK);
  float want_then[4] = {-0.0f, -2, -0.0f, -4};
  for (int i = 0; i < 4; i++) assert_true(((float *)z.data)[i] == want_then[i]);
  const octet_profile_entry *e;
  size_t np = octet_session_profile(s, &e);
  assert_int_equal(np, 4); /* neg, if, relu (inside), neg2 */
  assert_string_equal(e[1].op_type, "If");
  assert_string_equal(e[2].op_type, "Relu");
  c = 0;
  assert_int_equal(octet_session_run(s, in, 2, &z, 1, &err), OCTET_OK);
  float want_else[4] = {-1, -2, -3, -4};
  for (int i = 0; i < 4; i++) assert_true(((float *)z.data)[i] == want_else[i]);
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* Loop M=3 times: v <- v + one (one from the outer graph), scan output collects every v. */
static void loop_carries_state_and_stacks_scan_outputs(void **state) {
  (void)state;
  octet_model *m = model_new(17);
  octet_ir_graph *g = m->graph;
  int64_t d2[1] = {2};
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 1, d2, NULL);
  int64_t trip = 3;
  uint8_t yes = 1;
  float one[2] = {1, 1};
  assert_non_null(octet_ir_graph_add_initializer(m, g, "M", OCTET_DTYPE_INT64, 0, NULL, &trip));
  assert_non_null(octet_ir_graph_add_initializer(m, g, "c0", OCTET_DTYPE_BOOL, 0, NULL, &yes));
  assert_non_null(octet_ir_graph_add_initializer(m, g, "one", OCTET_DTYPE_FLOAT, 1, d2, one));
  octet_ir_graph *body = octet_ir_graph_new(m);
  graph_input(m, body, "i", OCTET_DTYPE_INT64, 0, NULL, NULL);
  graph_input(m, body, "cin", OCTET_DTYPE_BOOL, 0, NULL, NULL);
  graph_input(m, body, "v", OCTET_DTYPE_FLOAT, 1, d2, NULL);
  add_node(m, body, "Identity", "cid", "cin", "cout");
  add_node(m, body, "Add", "add", "v,one", "vout");
  add_node(m, body, "Identity", "sid", "vout", "scan");
  graph_output(m, body, "cout");
  graph_output(m, body, "vout");
  graph_output(m, body, "scan");
  octet_ir_node *n = add_node(m, g, "Loop", "loop", "M,c0,x", "vfinal,stacked");
  attr_graph(m, n, "body", body);
  graph_output(m, g, "vfinal");
  graph_output(m, g, "stacked");
  octet_session *s = make_session(m, NULL);
  float xv[2] = {10, 20};
  octet_tensor in = tensor_f32(xv, 1, d2), out[2];
  octet_error err = {0};
  for (int rep = 0; rep < 2; rep++) {
    assert_int_equal(octet_session_run(s, &in, 1, out, 2, &err), OCTET_OK);
    assert_true(((float *)out[0].data)[0] == 13 && ((float *)out[0].data)[1] == 23);
    assert_int_equal(out[1].rank, 2);
    assert_int_equal(out[1].dims[0], 3);
    assert_int_equal(out[1].dims[1], 2);
    float want[6] = {11, 21, 12, 22, 13, 23};
    assert_memory_equal(out[1].data, want, sizeof want);
  }
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* Scan-9 over axis 1 backwards, scan output stacked on axis 1: a running sum of columns. */
static void scan_runs_reverse_over_a_chosen_axis(void **state) {
  (void)state;
  octet_model *m = model_new(11);
  octet_ir_graph *g = m->graph;
  int64_t d23[2] = {2, 3}, d2[1] = {2};
  graph_input(m, g, "s0", OCTET_DTYPE_FLOAT, 1, d2, NULL);
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 2, d23, NULL);
  octet_ir_graph *body = octet_ir_graph_new(m);
  graph_input(m, body, "s", OCTET_DTYPE_FLOAT, 1, d2, NULL);
  graph_input(m, body, "col", OCTET_DTYPE_FLOAT, 1, d2, NULL);
  add_node(m, body, "Add", "add", "s,col", "s_out");
  add_node(m, body, "Identity", "id", "s_out", "scan_out");
  graph_output(m, body, "s_out");
  graph_output(m, body, "scan_out");
  octet_ir_node *n = add_node(m, g, "Scan", "scan", "s0,x", "s_final,sums");
  attr_graph(m, n, "body", body);
  octet_ir_attr *a = add_attr(m, n, "num_scan_inputs", OCTET_ATTR_INT);
  a->i = 1;
  int64_t one[1] = {1};
  attr_ints(m, n, "scan_input_axes", one, 1);
  attr_ints(m, n, "scan_input_directions", one, 1);
  attr_ints(m, n, "scan_output_axes", one, 1);
  graph_output(m, g, "s_final");
  graph_output(m, g, "sums");
  octet_session *s = make_session(m, NULL);
  float s0[2] = {0, 0}, x[6] = {1, 2, 3, 4, 5, 6};
  octet_tensor in[2] = {tensor_f32(s0, 1, d2), tensor_f32(x, 2, d23)}, out[2];
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, in, 2, out, 2, &err), OCTET_OK);
  float want_final[2] = {6, 15}, want_sums[6] = {3, 5, 6, 6, 11, 15};
  assert_memory_equal(out[0].data, want_final, sizeof want_final);
  assert_int_equal(out[1].rank, 2);
  assert_int_equal(out[1].dims[0], 2);
  assert_int_equal(out[1].dims[1], 3);
  assert_memory_equal(out[1].data, want_sums, sizeof want_sums);
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* Constant(value_ints) -> Reshape's shape: evaluated at create; Reshape aliases its input. */
static void constant_nodes_feed_kernels_and_reshape_aliases(void **state) {
  (void)state;
  octet_model *m = model_new(17);
  octet_ir_graph *g = m->graph;
  int64_t d16[1] = {16};
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 1, d16, NULL);
  octet_ir_node *c = add_node(m, g, "Constant", "shape_const", "", "shape");
  int64_t shape[2] = {2, 8};
  octet_ir_attr *a = add_attr(m, c, "value_ints", OCTET_ATTR_INTS);
  a->ints = shape;
  a->n = 2;
  add_node(m, g, "Neg", "neg", "x", "nx");
  add_node(m, g, "Reshape", "reshape", "nx,shape", "r");
  add_node(m, g, "Neg", "neg2", "r", "y");
  int64_t perm[2] = {1, 0};
  attr_ints(m, add_node(m, g, "Transpose", "tr", "y", "t"), "perm", perm, 2);
  graph_output(m, g, "t");
  octet_session *s = make_session(m, NULL);
  float xv[16];
  for (int i = 0; i < 16; i++) xv[i] = (float)i;
  octet_tensor in = tensor_f32(xv, 1, d16), t;
  octet_error err = {0};
  assert_int_equal(octet_session_run(s, &in, 1, &t, 1, &err), OCTET_OK);
  assert_int_equal(t.rank, 2);
  assert_int_equal(t.dims[0], 8);
  assert_int_equal(t.dims[1], 2);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 2; j++) assert_true(((float *)t.data)[i * 2 + j] == (float)(j * 8 + i));
  octet_session_destroy(s);
  octet_model_destroy(m);
}

/* Every allocation of create and the first run fails in turn: each attempt either works or
 * reports out-of-memory, and nothing leaks (ASan builds check). */
static void allocation_failures_are_reported_cleanly(void **state) {
  (void)state;
  octet_model *m = model_new(17);
  octet_ir_graph *g = m->graph;
  int64_t d4[1] = {4};
  graph_input(m, g, "x", OCTET_DTYPE_FLOAT, 1, d4, NULL);
  graph_input(m, g, "cond", OCTET_DTYPE_BOOL, 0, NULL, NULL);
  add_node(m, g, "Neg", "neg", "x", "nx");
  octet_ir_graph *tb = octet_ir_graph_new(m), *eb = octet_ir_graph_new(m);
  add_node(m, tb, "Relu", "relu", "nx", "r");
  graph_output(m, tb, "r");
  add_node(m, eb, "Abs", "abs", "nx", "a");
  graph_output(m, eb, "a");
  octet_ir_node *n = add_node(m, g, "If", "if", "cond", "y");
  attr_graph(m, n, "then_branch", tb);
  attr_graph(m, n, "else_branch", eb);
  graph_output(m, g, "y");
  float xv[4] = {1, -2, 3, -4};
  uint8_t c = 1;
  octet_tensor in[2] = {tensor_f32(xv, 1, d4), {.dtype = OCTET_DTYPE_BOOL, .rank = 0, .data = &c}};
  octet_session_options o = {.n_threads = 2};
  int worked = 0, failed = 0;
  for (uint64_t k = 1; k < 400 && !worked; k++) {
    octet_session *s = NULL;
    octet_error err = {0};
    octet_tensor y;
    octet_alloc_fail_after(k);
    octet_status st = octet_session_create(m, &o, &s, &err);
    if (!st) st = octet_session_run(s, in, 2, &y, 1, &err);
    octet_alloc_fail_after(0);
    if (st) {
      assert_int_equal(st, OCTET_STATUS_OUT_OF_MEMORY);
      failed++;
    } else {
      assert_true(((float *)y.data)[0] == 0.0f && ((float *)y.data)[1] == 2.0f);
      worked = 1;
    }
    octet_session_destroy(s);
  }
  assert_true(worked);
  assert_true(failed > 10);
  octet_model_destroy(m);
}

typedef struct cover {
  int hits[1000];
} cover;

static void mark(void *arg, size_t begin, size_t end) {
  cover *c = arg;
  for (size_t i = begin; i < end; i++) __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
}

static void parallel_for_covers_each_index_once(void **state) {
  (void)state;
  size_t sizes[] = {1, 2, 3, 7, 1000};
  for (uint32_t threads = 1; threads <= 4; threads++) {
    octet_rt_pool *p = NULL;
    octet_error err = {0};
    assert_int_equal(octet_rt_pool_create(threads, &p, &err), OCTET_OK);
    octet_host host;
    octet_rt_pool_host(p, &host);
    assert_int_equal(host.n_threads, threads);
    for (size_t k = 0; k < OCTET_COUNTOF(sizes); k++) {
      static cover c;
      memset(&c, 0, sizeof c);
      for (int rep = 0; rep < 3; rep++) octet_parallel_for(&host, sizes[k], mark, &c);
      for (size_t i = 0; i < sizes[k]; i++) assert_int_equal(c.hits[i], 3);
      for (size_t i = sizes[k]; i < 1000; i++) assert_int_equal(c.hits[i], 0);
    }
    octet_rt_pool_destroy(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(chain_reuses_buffers_and_keeps_the_output),
    cmocka_unit_test(repeat_runs_allocate_nothing),
    cmocka_unit_test(observer_sees_every_tensor_or_the_chosen_ones),
    cmocka_unit_test(digits_mlp_matches_a_double_reference),
    cmocka_unit_test(results_are_identical_for_one_and_two_threads),
    cmocka_unit_test(bad_inputs_are_named_with_the_expected_type),
    cmocka_unit_test(unknown_operator_names_node_op_and_opset),
    cmocka_unit_test(broken_kernel_modules_give_clear_errors),
    cmocka_unit_test(if_branches_read_outer_values),
    cmocka_unit_test(loop_carries_state_and_stacks_scan_outputs),
    cmocka_unit_test(scan_runs_reverse_over_a_chosen_axis),
    cmocka_unit_test(constant_nodes_feed_kernels_and_reshape_aliases),
    cmocka_unit_test(parallel_for_covers_each_index_once),
    cmocka_unit_test(allocation_failures_are_reported_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
