/* test-onnx-io.c — onnx_io: round trips over every available real model, data-field
 * normalization, hostile files (each with its error), truncation/bit-flip corpus, allocation
 * failure injection, external data, tensor files and inspect. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_io/ir.h"
#include "onnx_io/onnx-ml.pb-c.h"

static char tmpdir[256];

static int make_tmpdir(void **s) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/octet-onnx-io-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **s) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static char *tmp_path(const char *name) {
  static char buf[4][400];
  static int k;
  k = (k + 1) & 3;
  snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
  return buf[k];
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)n + 1);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
  fclose(f);
  *size = (size_t)n;
  return b;
}

static void write_all(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* ---- Model lists ------------------------------------------------------------------------- */

typedef struct path_list {
  char **v;
  size_t n;
} path_list;

static void collect(path_list *l, const char *dir, const char *want, int depth) {
  DIR *d = opendir(dir);
  if (!d || depth > 6) {
    if (d) closedir(d);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (stat(p, &sb) != 0) continue;
    size_t nl = strlen(e->d_name), wl = strlen(want);
    if (S_ISDIR(sb.st_mode)) {
      collect(l, p, want, depth + 1);
    } else if (nl >= wl && !strcmp(e->d_name + nl - wl, want)) {
      l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
      l->v[l->n++] = strdup(p);
    }
  }
  closedir(d);
}

static void free_list(path_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

/* load -> save -> load and compare; returns 0 on success and prints the failure otherwise. */
static int round_trip(const char *path, uint64_t threshold) {
  octet_model *a = NULL, *b = NULL;
  octet_error err = {0};
  octet_save_options so = {threshold, NULL};
  int bad = 0;
  const char *out = tmp_path("rt.onnx");
  if (octet_model_load(path, NULL, &a, &err) || octet_model_save(a, out, &so, &err) ||
      octet_model_load(out, NULL, &b, &err)) {
    print_message("round trip failed: %s: %s\n", path, err.message);
    bad = 1;
  } else {
    char what[512];
    if (!octet_ir_model_equal(a, b, what, sizeof what)) {
      print_message("round trip differs: %s: %s\n", path, what);
      bad = 1;
    }
  }
  octet_model_destroy(a);
  octet_model_destroy(b);
  return bad;
}

static void every_testdata_model_round_trips_to_an_equal_ir(void **s) {
  path_list l = {0};
  collect(&l, "/usr/share/libonnx-testdata/data", "model.onnx", 0);
  if (l.n == 0) {
    free_list(&l);
    skip(); /* package libonnx-testdata not installed */
  }
  int bad = 0;
  for (size_t i = 0; i < l.n; i++) bad += round_trip(l.v[i], 0);
  print_message("%zu libonnx-testdata models round-tripped\n", l.n);
  free_list(&l);
  assert_int_equal(bad, 0);
}

static void shared_and_npm_models_round_trip_inline_and_with_external_data(void **s) {
  path_list l = {0};
  collect(&l, "/work/shared/models", ".onnx", 0);
  const char *root = getenv("OCTET_SOURCE_ROOT");
  char deps[512];
  snprintf(deps, sizeof deps, "%s/.deps", root ? root : ".");
  size_t before = l.n;
  collect(&l, deps, ".onnx", 0);
  if (l.n == before) print_message("note: %s absent, npm models skipped\n", deps);
  int bad = 0;
  for (size_t i = 0; i < l.n; i++) bad += round_trip(l.v[i], 0) + round_trip(l.v[i], 1024);
  print_message("%zu shared/npm models round-tripped twice\n", l.n);
  free_list(&l);
  assert_int_equal(bad, 0);
}

/* ---- Hand-built models ------------------------------------------------------------------- */

/* A minimal valid model: X[2] float -> Add(X, W) -> Y, with W a float initializer [2]. */
typedef struct tiny {
  Onnx__ModelProto m;
  Onnx__GraphProto g;
  Onnx__NodeProto n;
  Onnx__ValueInfoProto x, y;
  Onnx__ValueInfoProto *ins[1], *outs[1];
  Onnx__TypeProto xt, yt;
  Onnx__TypeProto__Tensor xtt, ytt;
  Onnx__TensorProto w;
  Onnx__TensorProto *inits[1];
  Onnx__NodeProto *nodes[2];
  Onnx__OperatorSetIdProto op;
  Onnx__OperatorSetIdProto *ops[1];
  char *node_in[2], *node_out[1];
  int64_t wdims[1];
  float wdata[2];
  Onnx__StringStringEntryProto ext[3];
  Onnx__StringStringEntryProto *extp[3];
} tiny;

static void tiny_init(tiny *t) {
  memset(t, 0, sizeof *t);
  onnx__model_proto__init(&t->m);
  onnx__graph_proto__init(&t->g);
  onnx__node_proto__init(&t->n);
  onnx__value_info_proto__init(&t->x);
  onnx__value_info_proto__init(&t->y);
  onnx__type_proto__init(&t->xt);
  onnx__type_proto__init(&t->yt);
  onnx__type_proto__tensor__init(&t->xtt);
  onnx__type_proto__tensor__init(&t->ytt);
  onnx__tensor_proto__init(&t->w);
  onnx__operator_set_id_proto__init(&t->op);
  t->m.has_ir_version = 1;
  t->m.ir_version = 8;
  t->op.domain = "";
  t->op.has_version = 1;
  t->op.version = 13;
  t->ops[0] = &t->op;
  t->m.n_opset_import = 1;
  t->m.opset_import = t->ops;
  t->m.graph = &t->g;
  t->g.name = "tiny";
  t->xtt.has_elem_type = t->ytt.has_elem_type = 1;
  t->xtt.elem_type = t->ytt.elem_type = 1;
  t->xt.value_case = t->yt.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  t->xt.tensor_type = &t->xtt;
  t->yt.tensor_type = &t->ytt;
  t->x.name = "X";
  t->x.type = &t->xt;
  t->y.name = "Y";
  t->y.type = &t->yt;
  t->ins[0] = &t->x;
  t->outs[0] = &t->y;
  t->g.n_input = 1;
  t->g.input = t->ins;
  t->g.n_output = 1;
  t->g.output = t->outs;
  t->w.name = "W";
  t->w.has_data_type = 1;
  t->w.data_type = 1;
  t->wdims[0] = 2;
  t->w.n_dims = 1;
  t->w.dims = t->wdims;
  t->wdata[0] = 1.5f;
  t->wdata[1] = -2.0f;
  t->w.has_raw_data = 1;
  t->w.raw_data.len = 8;
  t->w.raw_data.data = (uint8_t *)t->wdata;
  t->inits[0] = &t->w;
  t->g.n_initializer = 1;
  t->g.initializer = t->inits;
  t->n.name = "add";
  t->n.op_type = "Add";
  t->node_in[0] = "X";
  t->node_in[1] = "W";
  t->node_out[0] = "Y";
  t->n.n_input = 2;
  t->n.input = t->node_in;
  t->n.n_output = 1;
  t->n.output = t->node_out;
  t->nodes[0] = &t->n;
  t->g.n_node = 1;
  t->g.node = t->nodes;
}

static void tiny_external(tiny *t, const char *location, const char *offset, const char *length) {
  t->w.has_raw_data = 0;
  t->w.has_data_location = 1;
  t->w.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {location, offset, length};
  t->w.n_external_data = 0;
  for (int i = 0; i < 3; i++) {
    if (!vals[i]) continue;
    onnx__string_string_entry_proto__init(&t->ext[i]);
    t->ext[i].key = (char *)keys[i];
    t->ext[i].value = (char *)vals[i];
    t->extp[t->w.n_external_data++] = &t->ext[i];
  }
  t->w.external_data = t->extp;
}

static uint8_t *tiny_pack(tiny *t, size_t *n) {
  *n = protobuf_c_message_get_packed_size(&t->m.base);
  uint8_t *b = malloc(*n + 1);
  protobuf_c_message_pack(&t->m.base, b);
  return b;
}

/* Loads t from a buffer (or from a file in tmpdir when as_file) and returns the status. */
static octet_status tiny_load(tiny *t, bool as_file, octet_model **out, octet_error *err) {
  size_t n;
  uint8_t *b = tiny_pack(t, &n);
  octet_model *m = NULL;
  octet_status st;
  if (as_file) {
    write_all(tmp_path("tiny.onnx"), b, n);
    st = octet_model_load(tmp_path("tiny.onnx"), NULL, &m, err);
  } else {
    st = octet_model_load_buffer(b, n, NULL, &m, err);
  }
  free(b);
  if (out) *out = m;
  else octet_model_destroy(m);
  return st;
}

static void expect_error(tiny *t, bool as_file, octet_status want, const char *substring) {
  octet_error err = {0};
  octet_status st = tiny_load(t, as_file, NULL, &err);
  if (st != want || !strstr(err.message, substring))
    print_message("want %d '%s', got %d '%s'\n", (int)want, substring, (int)st, err.message);
  assert_int_equal(st, want);
  assert_non_null(strstr(err.message, substring));
}

static void a_valid_tiny_model_loads_with_its_values(void **s) {
  tiny t;
  tiny_init(&t);
  octet_model *m = NULL;
  octet_error err = {0};
  assert_int_equal(tiny_load(&t, false, &m, &err), OCTET_OK);
  assert_int_equal(octet_ir_opset_version(m, "ai.onnx"), 13);
  const octet_ir_tensor *w = octet_ir_graph_initializer(m->graph, "W");
  assert_non_null(w);
  assert_int_equal(w->nbytes, 8);
  assert_memory_equal(w->data, t.wdata, 8);
  assert_string_equal(m->graph->nodes[0].op_type, "Add");
  octet_model_destroy(m);
}

static void hostile_fields_each_give_their_error(void **s) {
  tiny t;
  int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40}, neg[1] = {-3};
  tiny_init(&t);
  t.w.dims = huge;
  t.w.n_dims = 2;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "overflows");
  tiny_init(&t);
  t.w.dims = neg;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "negative dimension");
  tiny_init(&t);
  t.w.raw_data.len = 6;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "raw_data has 6 bytes but shape and type need 8");
  tiny_init(&t);
  t.w.data_type = 99;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "unknown data type 99");
  tiny_init(&t);
  t.node_in[1] = "nowhere";
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "input 1 'nowhere' is not produced");
  tiny_init(&t);
  t.node_out[0] = "W";
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "duplicate output");
  tiny_init(&t);
  t.m.ir_version = 2;
  t.m.n_opset_import = 0;
  expect_error(&t, false, OCTET_STATUS_UNSUPPORTED, "no opset_import");
  tiny_init(&t);
  t.m.ir_version = 11;
  expect_error(&t, false, OCTET_STATUS_UNSUPPORTED, "unsupported IR version 11");
  tiny_init(&t);
  t.op.version = 22;
  expect_error(&t, false, OCTET_STATUS_UNSUPPORTED, "unsupported ai.onnx opset 22");
  tiny_init(&t);
  t.m.graph = NULL;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "no graph");
  tiny_init(&t);
  t.w.has_raw_data = 0;
  float fd[3] = {1, 2, 3};
  t.w.n_float_data = 3;
  t.w.float_data = fd;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "3 values but the shape needs 2");
}

static void two_nodes_producing_one_name_or_a_cycle_are_refused(void **s) {
  tiny t;
  tiny_init(&t);
  Onnx__NodeProto n2;
  onnx__node_proto__init(&n2);
  char *in2[2] = {"X", "X"}, *out2[1] = {"Y"};
  n2.name = "second";
  n2.op_type = "Mul";
  n2.n_input = 2;
  n2.input = in2;
  n2.n_output = 1;
  n2.output = out2;
  t.nodes[1] = &n2;
  t.g.n_node = 2;
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "'Y' is produced by node 'add' (Add) and again by node 'second'");
  /* add: (X, Z) -> Y ; second: (Y, Y) -> Z : a cycle. */
  out2[0] = "Z";
  in2[0] = in2[1] = "Y";
  t.node_in[1] = "Z";
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "cycle");
}

static void subgraphs_see_outer_names_and_report_their_own_dangling_ones(void **s) {
  tiny t;
  tiny_init(&t);
  /* If(cond=X) with a then-branch that reads the outer W and an else-branch that reads "ghost". */
  Onnx__GraphProto br[2];
  Onnx__NodeProto bn[2], ifn;
  Onnx__ValueInfoProto bo[2];
  Onnx__ValueInfoProto *bop[2][1];
  Onnx__NodeProto *bnp[2][1];
  Onnx__AttributeProto at[2];
  Onnx__AttributeProto *atp[2];
  char *bin[2][1] = {{"W"}, {"W"}}, *bout[2][1] = {{"r0"}, {"r1"}};
  for (int i = 0; i < 2; i++) {
    onnx__graph_proto__init(&br[i]);
    onnx__node_proto__init(&bn[i]);
    onnx__value_info_proto__init(&bo[i]);
    onnx__attribute_proto__init(&at[i]);
    bn[i].op_type = "Identity";
    bn[i].n_input = 1;
    bn[i].input = bin[i];
    bn[i].n_output = 1;
    bn[i].output = bout[i];
    bnp[i][0] = &bn[i];
    br[i].n_node = 1;
    br[i].node = bnp[i];
    bo[i].name = bout[i][0];
    bop[i][0] = &bo[i];
    br[i].n_output = 1;
    br[i].output = bop[i];
    br[i].name = i ? "else" : "then";
    at[i].name = i ? "else_branch" : "then_branch";
    at[i].has_type = 1;
    at[i].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    at[i].g = &br[i];
    atp[i] = &at[i];
  }
  onnx__node_proto__init(&ifn);
  char *ifin[1] = {"X"}, *ifout[1] = {"Z"};
  ifn.name = "branch";
  ifn.op_type = "If";
  ifn.n_input = 1;
  ifn.input = ifin;
  ifn.n_output = 1;
  ifn.output = ifout;
  ifn.n_attribute = 2;
  ifn.attribute = atp;
  t.nodes[1] = &ifn;
  t.g.n_node = 2;
  octet_model *m = NULL;
  octet_error err = {0};
  assert_int_equal(tiny_load(&t, false, &m, &err), OCTET_OK);
  const octet_ir_attr *a = octet_ir_node_attr(&m->graph->nodes[1], "then_branch");
  assert_non_null(a);
  assert_int_equal(a->type, OCTET_ATTR_GRAPH);
  assert_string_equal(a->g->nodes[0].inputs[0], "W");
  octet_model_destroy(m);
  bin[1][0] = "ghost";
  expect_error(&t, false, OCTET_STATUS_INVALID_MODEL, "'ghost' is not produced");
  /* The If node reads Y (produced later by "add") only through its subgraph: order must follow. */
  bin[1][0] = "Y";
  t.nodes[0] = &ifn;
  t.nodes[1] = &t.n;
  assert_int_equal(tiny_load(&t, false, &m, &err), OCTET_OK);
  size_t *order = NULL;
  assert_int_equal(octet_ir_topological_order(m->graph, &order, &err), OCTET_OK);
  assert_int_equal(order[0], 1);
  assert_int_equal(order[1], 0);
  octet_free(order);
  octet_model_destroy(m);
}

static void typed_data_fields_become_little_endian_bytes(void **s) {
  static const struct {
    int32_t dtype;
    int which; /* 0 int32_data, 1 int64, 2 uint64, 3 double, 4 float */
  } cases[] = {{OCTET_DTYPE_FLOAT16, 0}, {OCTET_DTYPE_BOOL, 0},   {OCTET_DTYPE_INT8, 0},  {OCTET_DTYPE_UINT8, 0},
               {OCTET_DTYPE_INT16, 0},   {OCTET_DTYPE_UINT16, 0}, {OCTET_DTYPE_INT32, 0}, {OCTET_DTYPE_INT64, 1},
               {OCTET_DTYPE_UINT32, 2},  {OCTET_DTYPE_UINT64, 2}, {OCTET_DTYPE_DOUBLE, 3}, {OCTET_DTYPE_FLOAT, 4},
               {OCTET_DTYPE_BFLOAT16, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    tiny t;
    tiny_init(&t);
    int32_t i32[2] = {0x3c00, 1};
    int64_t i64[2] = {-5, INT64_C(1) << 40};
    uint64_t u64[2] = {7, 0xffffffffu};
    double f64[2] = {0.25, -1e300};
    float f32[2] = {3.5f, -0.0f};
    if (cases[c].dtype == OCTET_DTYPE_INT8) i32[0] = -2;
    if (cases[c].dtype == OCTET_DTYPE_INT16) i32[0] = -300;
    if (cases[c].dtype == OCTET_DTYPE_INT32) i32[0] = -70000;
    t.w.data_type = cases[c].dtype;
    t.w.has_raw_data = 0;
    switch (cases[c].which) {
    case 0: t.w.n_int32_data = 2; t.w.int32_data = i32; break;
    case 1: t.w.n_int64_data = 2; t.w.int64_data = i64; break;
    case 2: t.w.n_uint64_data = 2; t.w.uint64_data = u64; break;
    case 3: t.w.n_double_data = 2; t.w.double_data = f64; break;
    default: t.w.n_float_data = 2; t.w.float_data = f32; break;
    }
    /* The graph's Add no longer type-checks, but the loader checks structure, not op types. */
    octet_model *m = NULL;
    octet_error err = {0};
    assert_int_equal(tiny_load(&t, false, &m, &err), OCTET_OK);
    const octet_ir_tensor *w = octet_ir_graph_initializer(m->graph, "W");
    size_t es = octet_dtype_size(cases[c].dtype);
    assert_int_equal(w->nbytes, 2 * es);
    uint8_t want[16] = {0};
    for (int k = 0; k < 2; k++) {
      switch (cases[c].which) {
      case 0: memcpy(want + k * es, &i32[k], es); break; /* low bytes of a little-endian int32 */
      case 1: memcpy(want + k * es, &i64[k], es); break;
      case 2: memcpy(want + k * es, &u64[k], es); break;
      case 3: memcpy(want + k * es, &f64[k], es); break;
      default: memcpy(want + k * es, &f32[k], es); break;
      }
    }
    assert_memory_equal(w->data, want, 2 * es);
    if (cases[c].dtype == OCTET_DTYPE_FLOAT16) assert_true(octet_half_to_float(*(const uint16_t *)w->data) == 1.0f);
    if (cases[c].dtype == OCTET_DTYPE_INT16) assert_int_equal(*(const int16_t *)w->data, -300);
    octet_model_destroy(m);
  }
}

/* ---- External data ----------------------------------------------------------------------- */

static void external_data_is_read_and_bad_locations_are_refused(void **s) {
  float w[2] = {4.0f, 8.0f};
  char blob[64] = {0};
  memcpy(blob + 16, w, 8);
  write_all(tmp_path("w.bin"), blob, sizeof blob);
  tiny t;
  tiny_init(&t);
  tiny_external(&t, "w.bin", "16", "8");
  octet_model *m = NULL;
  octet_error err = {0};
  assert_int_equal(tiny_load(&t, true, &m, &err), OCTET_OK);
  const octet_ir_tensor *wt = octet_ir_graph_initializer(m->graph, "W");
  assert_memory_equal(wt->data, w, 8);
  assert_non_null(wt->external);
  assert_string_equal(wt->external->location, "w.bin");
  assert_int_equal(wt->external->offset, 16);
  /* Saving over the side file the model maps is refused. */
  octet_save_options so = {1, "w.bin"};
  assert_int_equal(octet_model_save(m, tmp_path("other.onnx"), &so, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "refusing to overwrite"));
  assert_int_equal(octet_model_save(m, tmp_path("tiny.onnx"), NULL, &err), OCTET_STATUS_INVALID_ARGUMENT);
  octet_model_destroy(m);

  tiny_external(&t, "../w.bin", "16", "8");
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "contains '..'");
  tiny_external(&t, "/etc/passwd", NULL, NULL);
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "absolute");
  unlink(tmp_path("escape.bin"));
  assert_int_equal(symlink("/etc/hostname", tmp_path("escape.bin")), 0);
  tiny_external(&t, "escape.bin", NULL, NULL);
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "resolves outside the model's folder");
  tiny_external(&t, "w.bin", "60", "8");
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "runs past the end");
  tiny_external(&t, "w.bin", "100", "8");
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "past the end");
  tiny_external(&t, "w.bin", "0", "12");
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "external data has 12 bytes but shape and type need 8");
  tiny_external(&t, "w.bin", "-1", "8");
  expect_error(&t, true, OCTET_STATUS_INVALID_MODEL, "not a number");
  tiny_external(&t, "missing.bin", "0", "8");
  expect_error(&t, true, OCTET_STATUS_IO, "missing.bin");
  tiny_external(&t, "w.bin", "16", "8");
  expect_error(&t, false, OCTET_STATUS_INVALID_ARGUMENT, "needs a folder");
  /* From a buffer, external data is read relative to external_data_dir. */
  size_t n;
  uint8_t *b = tiny_pack(&t, &n);
  octet_load_options lo = {tmpdir};
  assert_int_equal(octet_model_load_buffer(b, n, &lo, &m, &err), OCTET_OK);
  assert_memory_equal(octet_ir_graph_initializer(m->graph, "W")->data, w, 8);
  octet_model_destroy(m);
  free(b);
}

static void saving_with_a_threshold_writes_aligned_side_file_offsets(void **s) {
  octet_model *m = octet_ir_model_new();
  assert_non_null(m);
  octet_ir_opset op = {"", 13};
  m->opsets = &op;
  m->n_opsets = 1;
  octet_ir_value out = {.name = "c", .kind = OCTET_IR_TYPE_TENSOR, .elem_type = OCTET_DTYPE_FLOAT, .rank = -1};
  m->graph->outputs = &out;
  m->graph->n_outputs = 1;
  float data[300];
  for (int i = 0; i < 300; i++) data[i] = (float)i * 0.5f;
  int64_t d1[1] = {3}, d2[1] = {300};
  assert_non_null(octet_ir_graph_add_initializer(m, m->graph, "a", OCTET_DTYPE_FLOAT, 1, d1, data));
  assert_non_null(octet_ir_graph_add_initializer(m, m->graph, "b", OCTET_DTYPE_FLOAT, 1, d2, data));
  octet_ir_node *n = octet_ir_graph_add_node(m, m->graph, "Add", "", "add");
  const char *ins[2] = {"a", "b"}, *outs[1] = {"c"};
  n->inputs = ins;
  n->n_inputs = 2;
  n->outputs = outs;
  n->n_outputs = 1;
  octet_error err = {0};
  assert_int_equal(octet_ir_validate(m, &err), OCTET_OK);
  octet_save_options so = {8, NULL};
  assert_int_equal(octet_model_save(m, tmp_path("built.onnx"), &so, &err), OCTET_OK);
  octet_model *b = NULL;
  assert_int_equal(octet_model_load(tmp_path("built.onnx"), NULL, &b, &err), OCTET_OK);
  char what[256];
  assert_true(octet_ir_model_equal(m, b, what, sizeof what));
  const octet_ir_tensor *ta = octet_ir_graph_initializer(b->graph, "a"), *tb = octet_ir_graph_initializer(b->graph, "b");
  assert_non_null(ta->external);
  assert_string_equal(ta->external->location, "built.onnx.data");
  assert_int_equal(ta->external->offset % 64, 0);
  assert_int_equal(tb->external->offset % 64, 0);
  assert_int_equal(tb->external->offset, 64); /* 12 bytes of a, padded to 64 */
  assert_memory_equal(tb->data, data, sizeof data);
  char *j = NULL;
  assert_int_equal(octet_model_inspect(b, 1, &j, &err), OCTET_OK);
  assert_non_null(strstr(j, "\"external_data\": [{\"file\": \"built.onnx.data\", \"bytes\": 1212}]"));
  octet_string_free(j);
  octet_model_destroy(b);
  m->opsets = NULL;
  m->graph->outputs = NULL;
  octet_model_destroy(m);
}

static void saving_over_the_loaded_file_is_refused(void **s) {
  tiny t;
  tiny_init(&t);
  octet_model *m = NULL;
  octet_error err = {0};
  assert_int_equal(tiny_load(&t, true, &m, &err), OCTET_OK);
  assert_int_equal(octet_model_save(m, tmp_path("tiny.onnx"), NULL, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "refusing to overwrite"));
  octet_model_destroy(m);
}

/* ---- Broken bytes ------------------------------------------------------------------------ */

static int check_broken(const uint8_t *b, size_t n) {
  octet_model *m = NULL;
  octet_error err = {0};
  octet_status st = octet_model_load_buffer(b, n, NULL, &m, &err);
  if (st == OCTET_OK) {
    octet_error e2 = {0};
    assert_int_equal(octet_ir_validate(m, &e2), OCTET_OK);
    octet_model_destroy(m);
    return 0;
  }
  assert_null(m);
  assert_true(err.message[0] != 0);
  assert_true(st == OCTET_STATUS_INVALID_MODEL || st == OCTET_STATUS_UNSUPPORTED || st == OCTET_STATUS_INVALID_ARGUMENT);
  return 1;
}

static void truncations_and_bit_flips_give_errors_never_crashes(void **s) {
  const char *files[] = {"/usr/share/libonnx-testdata/data/node/test_if/model.onnx",
                         "/usr/share/libonnx-testdata/data/node/test_loop11/model.onnx",
                         "/work/shared/models/digits_mlp.onnx"};
  srand(12345);
  size_t tried = 0, refused = 0;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    size_t n;
    uint8_t *orig = read_all(files[f], &n);
    if (!orig) continue;
    size_t step = n > 2000 ? n / 500 : 1;
    for (size_t cut = 0; cut < n; cut += (cut < 300 ? 1 : step)) {
      refused += (size_t)check_broken(orig, cut);
      tried++;
    }
    uint8_t *copy = malloc(n);
    for (int k = 0; k < 600; k++) {
      memcpy(copy, orig, n);
      int flips = 1 + rand() % 4;
      for (int j = 0; j < flips; j++) copy[(size_t)rand() % n] ^= (uint8_t)(1u << (rand() % 8));
      refused += (size_t)check_broken(copy, n);
      tried++;
    }
    free(copy);
    free(orig);
  }
  print_message("%zu broken inputs, %zu refused with an error, the rest still valid\n", tried, refused);
  assert_true(tried > 1000);
  assert_true(refused > tried / 2);
}

static void every_allocation_failure_in_the_loader_returns_out_of_memory(void **s) {
  /* test_if has subgraphs; the generated model has a raw tensor >= 1 KiB and external data. */
  float big[512];
  for (int i = 0; i < 512; i++) big[i] = (float)i;
  octet_model *src = octet_ir_model_new();
  octet_ir_opset op = {"", 13};
  src->opsets = &op;
  src->n_opsets = 1;
  int64_t d[1] = {512};
  octet_ir_graph_add_initializer(src, src->graph, "big", OCTET_DTYPE_FLOAT, 1, d, big);
  octet_ir_graph_add_initializer(src, src->graph, "ext", OCTET_DTYPE_FLOAT, 1, d, big);
  octet_ir_value out = {.name = "y", .kind = OCTET_IR_TYPE_TENSOR, .elem_type = OCTET_DTYPE_FLOAT, .rank = 1};
  octet_ir_dim od = {512, NULL};
  out.dims = &od;
  src->graph->outputs = &out;
  src->graph->n_outputs = 1;
  octet_ir_node *n = octet_ir_graph_add_node(src, src->graph, "Add", "", "add");
  const char *ins[2] = {"big", "ext"}, *outs[1] = {"y"};
  n->inputs = ins;
  n->n_inputs = 2;
  n->outputs = outs;
  n->n_outputs = 1;
  octet_error err = {0};
  /* Only "ext" goes to the side file: mark it external so the saver puts it there. */
  static const octet_ir_external ext = {"x", 0, 2048};
  src->graph->initializers[1].external = &ext;
  octet_save_options so = {0, "oom.data"};
  assert_int_equal(octet_model_save(src, tmp_path("oom.onnx"), &so, &err), OCTET_OK);
  src->opsets = NULL;
  src->graph->outputs = NULL;
  octet_model_destroy(src);

  const char *files[] = {"/usr/share/libonnx-testdata/data/node/test_if/model.onnx", tmp_path("oom.onnx")};
  for (size_t f = 0; f < 2; f++) {
    if (access(files[f], R_OK) != 0) continue;
    size_t points = 0;
    for (uint64_t k = 1; k < 100000; k++) {
      octet_model *m = NULL;
      octet_alloc_fail_after(k);
      octet_status st = octet_model_load(files[f], NULL, &m, &err);
      octet_alloc_fail_after(0);
      if (st == OCTET_OK) {
        octet_model_destroy(m);
        break;
      }
      if (st != OCTET_STATUS_OUT_OF_MEMORY) print_message("failure point %zu: %s\n", (size_t)k, err.message);
      assert_int_equal(st, OCTET_STATUS_OUT_OF_MEMORY);
      assert_null(m);
      points++;
    }
    print_message("%s: %zu allocation failure points, all OUT_OF_MEMORY\n", files[f], points);
    assert_true(points > 20);
  }
}

/* ---- Tensor files ------------------------------------------------------------------------ */

static void npy_and_pb_tensors_round_trip_in_every_dtype(void **s) {
  const int32_t dtypes[] = {OCTET_DTYPE_FLOAT, OCTET_DTYPE_DOUBLE, OCTET_DTYPE_FLOAT16, OCTET_DTYPE_INT8,
                            OCTET_DTYPE_UINT8, OCTET_DTYPE_INT16,  OCTET_DTYPE_UINT16,  OCTET_DTYPE_INT32,
                            OCTET_DTYPE_UINT32, OCTET_DTYPE_INT64, OCTET_DTYPE_UINT64,  OCTET_DTYPE_BOOL};
  uint8_t bytes[2 * 3 * 8];
  for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (uint8_t)(i * 37 + 1);
  for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
    if (dtypes[k] == OCTET_DTYPE_BOOL)
      for (size_t i = 0; i < sizeof bytes; i++) bytes[i] &= 1;
    octet_tensor t = {.dtype = dtypes[k], .rank = 2, .dims = {2, 3}, .data = bytes};
    for (int pb = 0; pb < 2; pb++) {
      const char *p = tmp_path(pb ? "t.pb" : "t.npy");
      octet_error err = {0};
      assert_int_equal(octet_tensor_save(p, &t, pb ? "named" : NULL, &err), OCTET_OK);
      octet_tensor r = {0};
      char *name = NULL;
      assert_int_equal(octet_tensor_load(p, &r, &name, &err), OCTET_OK);
      assert_int_equal(r.dtype, dtypes[k]);
      assert_int_equal(r.rank, 2);
      assert_int_equal(r.dims[1], 3);
      assert_memory_equal(r.data, bytes, 6 * octet_dtype_size(dtypes[k]));
      if (pb) assert_string_equal(name, "named");
      else assert_null(name);
      octet_tensor_free(&r);
      octet_string_free(name);
    }
  }
  /* A scalar and a 1-D array keep their rank. */
  float one = 1.0f;
  octet_tensor sc = {.dtype = OCTET_DTYPE_FLOAT, .rank = 0, .data = &one};
  octet_error err = {0};
  assert_int_equal(octet_tensor_save(tmp_path("s.npy"), &sc, NULL, &err), OCTET_OK);
  octet_tensor r = {0};
  assert_int_equal(octet_tensor_load(tmp_path("s.npy"), &r, NULL, &err), OCTET_OK);
  assert_int_equal(r.rank, 0);
  assert_true(*(float *)r.data == 1.0f);
  octet_tensor_free(&r);
}

static void write_npy(const char *path, int version, const char *dict, const void *data, size_t n) {
  uint8_t head[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (uint8_t)version, 0};
  size_t dl = strlen(dict), hsz = version == 1 ? 10 : 12;
  if (version == 1) {
    head[8] = (uint8_t)dl;
    head[9] = (uint8_t)(dl >> 8);
  } else {
    head[8] = (uint8_t)dl;
    head[9] = (uint8_t)(dl >> 8);
    head[10] = head[11] = 0;
  }
  FILE *f = fopen(path, "wb");
  fwrite(head, 1, hsz, f);
  fwrite(dict, 1, dl, f);
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

static void npy_headers_are_checked_with_clear_errors(void **s) {
  int32_t v[4] = {1, 2, 3, 4};
  octet_tensor t = {0};
  octet_error err = {0};
  write_npy(tmp_path("v2.npy"), 2, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }\n", v, 16);
  assert_int_equal(octet_tensor_load(tmp_path("v2.npy"), &t, NULL, &err), OCTET_OK);
  assert_int_equal(t.dtype, OCTET_DTYPE_INT32);
  assert_int_equal(t.dims[0], 4);
  assert_int_equal(((int32_t *)t.data)[3], 4);
  octet_tensor_free(&t);
  write_npy(tmp_path("v3.npy"), 3, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }\n", v, 16);
  assert_int_equal(octet_tensor_load(tmp_path("v3.npy"), &t, NULL, &err), OCTET_OK);
  assert_int_equal(t.rank, 2);
  octet_tensor_free(&t);
  write_npy(tmp_path("f.npy"), 1, "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }\n", v, 16);
  assert_int_equal(octet_tensor_load(tmp_path("f.npy"), &t, NULL, &err), OCTET_STATUS_UNSUPPORTED);
  assert_non_null(strstr(err.message, "Fortran"));
  write_npy(tmp_path("be.npy"), 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (4,), }\n", v, 16);
  assert_int_equal(octet_tensor_load(tmp_path("be.npy"), &t, NULL, &err), OCTET_STATUS_UNSUPPORTED);
  assert_non_null(strstr(err.message, "big-endian"));
  write_npy(tmp_path("tr.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }\n", v, 10);
  assert_int_equal(octet_tensor_load(tmp_path("tr.npy"), &t, NULL, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "truncated .npy data: 10 bytes of 16"));
  write_npy(tmp_path("c.npy"), 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", v, 8);
  assert_int_equal(octet_tensor_load(tmp_path("c.npy"), &t, NULL, &err), OCTET_STATUS_UNSUPPORTED);
  write_all(tmp_path("junk.pb"), "\xff\xff\xff", 3);
  assert_int_equal(octet_tensor_load(tmp_path("junk.pb"), &t, NULL, &err), OCTET_STATUS_INVALID_ARGUMENT);
  assert_int_equal(octet_tensor_load(tmp_path("absent.npy"), &t, NULL, &err), OCTET_STATUS_IO);
}

static void real_npy_and_pb_files_load_with_their_shapes(void **s) {
  octet_tensor t = {0};
  octet_error err = {0};
  if (access("/work/shared/models/digits_mlp.test_x.npy", R_OK) == 0) {
    assert_int_equal(octet_tensor_load("/work/shared/models/digits_mlp.test_x.npy", &t, NULL, &err), OCTET_OK);
    assert_int_equal(t.dtype, OCTET_DTYPE_FLOAT);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[1], 64);
    octet_tensor_free(&t);
  }
  const char *pb = "/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/input_0.pb";
  if (access(pb, R_OK) == 0) {
    char *name = NULL;
    assert_int_equal(octet_tensor_load(pb, &t, &name, &err), OCTET_OK);
    assert_int_equal(t.rank, 3);
    assert_int_equal(t.dims[0], 3);
    assert_int_equal(t.dims[2], 5);
    assert_string_equal(name, "x");
    octet_tensor_free(&t);
    octet_string_free(name);
  }
}

/* ---- Inspect ----------------------------------------------------------------------------- */

static char *inspect_file(const char *path, int json) {
  octet_model *m = NULL;
  octet_error err = {0};
  if (octet_model_load(path, NULL, &m, &err) != OCTET_OK) return NULL;
  char *text = NULL;
  assert_int_equal(octet_model_inspect(m, json, &text, &err), OCTET_OK);
  octet_model_destroy(m);
  return text;
}

static void inspect_reports_shapes_ops_parameters_and_quantization(void **s) {
  const char *root = getenv("OCTET_SOURCE_ROOT");
  char p[512];
  snprintf(p, sizeof p, "%s/examples/digits_mlp.onnx", root ? root : ".");
  char *j = inspect_file(p, 1);
  assert_non_null(j);
  assert_non_null(strstr(j, "\"quantization\": \"float\""));
  assert_non_null(strstr(j, "\"parameters\": {\"count\": 17226, \"bytes\": 68904"));
  assert_non_null(strstr(j, "\"Gemm\": 3"));
  assert_non_null(strstr(j, "\"shape\": [\"batch\", 64]"));
  assert_non_null(strstr(j, "{\"domain\": \"ai.onnx\", \"version\": 13}"));
  octet_string_free(j);
  char *t = inspect_file(p, 0);
  assert_non_null(strstr(t, "input                    float [batch, 64]"));
  octet_string_free(t);
  static const struct {
    const char *test, *form;
  } forms[] = {{"test_qlinearconv", "QOperator"},
               {"test_dynamicquantizelinear", "dynamic"},
               {"test_quantizelinear", "QDQ"},
               {"test_if", "float"}};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    snprintf(p, sizeof p, "/usr/share/libonnx-testdata/data/node/%s/model.onnx", forms[i].test);
    if (access(p, R_OK) != 0) continue;
    char want[64];
    snprintf(want, sizeof want, "\"quantization\": \"%s\"", forms[i].form);
    j = inspect_file(p, 1);
    assert_non_null(j);
    assert_non_null(strstr(j, want));
    octet_string_free(j);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_valid_tiny_model_loads_with_its_values),
      cmocka_unit_test(hostile_fields_each_give_their_error),
      cmocka_unit_test(two_nodes_producing_one_name_or_a_cycle_are_refused),
      cmocka_unit_test(subgraphs_see_outer_names_and_report_their_own_dangling_ones),
      cmocka_unit_test(typed_data_fields_become_little_endian_bytes),
      cmocka_unit_test(external_data_is_read_and_bad_locations_are_refused),
      cmocka_unit_test(saving_with_a_threshold_writes_aligned_side_file_offsets),
      cmocka_unit_test(saving_over_the_loaded_file_is_refused),
      cmocka_unit_test(truncations_and_bit_flips_give_errors_never_crashes),
      cmocka_unit_test(every_allocation_failure_in_the_loader_returns_out_of_memory),
      cmocka_unit_test(npy_and_pb_tensors_round_trip_in_every_dtype),
      cmocka_unit_test(npy_headers_are_checked_with_clear_errors),
      cmocka_unit_test(real_npy_and_pb_files_load_with_their_shapes),
      cmocka_unit_test(inspect_reports_shapes_ops_parameters_and_quantization),
      cmocka_unit_test(every_testdata_model_round_trips_to_an_equal_ir),
      cmocka_unit_test(shared_and_npm_models_round_trip_inline_and_with_external_data),
  };
  return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
