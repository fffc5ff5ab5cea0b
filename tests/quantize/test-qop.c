/* test-qop.c — the QDQ -> QOperator lowering on small hand-made graphs (which node list comes
 * out, what stays float and why), the model clone, and sessions running lowered QDQ models on
 * int8 kernels with the same results as the float QDQ path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet/octet.h"
#include "quantize/ir-clone.h"
#include "quantize/qop.h"

/* ---- a tiny graph builder ---- */

typedef struct gb {
  octet_model *m;
  octet_ir_graph *g;
} gb;

static gb gb_new(int64_t opset) {
  gb b;
  b.m = octet_ir_model_new();
  assert_non_null(b.m);
  b.g = b.m->graph;
  b.m->opsets = octet_arena_alloc(b.m->arena, sizeof *b.m->opsets);
  b.m->opsets[0].domain = "";
  b.m->opsets[0].version = opset;
  b.m->n_opsets = 1;
  b.m->ir_version = 8;
  return b;
}

static octet_ir_value *add_value(gb *b, octet_ir_value **arr, size_t *n, const char *name, int32_t dt, int32_t rank,
                                 const int64_t *dims) {
  octet_ir_value *v = octet_arena_alloc(b->m->arena, (*n + 1) * sizeof *v);
  if (*n) memcpy(v, *arr, *n * sizeof *v);
  *arr = v;
  octet_ir_value *x = &v[(*n)++];
  x->name = octet_arena_strdup(b->m->arena, name);
  x->kind = OCTET_IR_TYPE_TENSOR;
  x->elem_type = dt;
  x->rank = rank;
  x->doc_string = "";
  x->dims = octet_arena_alloc(b->m->arena, (size_t)(rank > 0 ? rank : 1) * sizeof *x->dims);
  for (int32_t i = 0; i < rank; i++) x->dims[i].value = dims[i];
  return x;
}

static void input(gb *b, const char *name, int32_t rank, const int64_t *dims) {
  add_value(b, &b->g->inputs, &b->g->n_inputs, name, OCTET_DTYPE_FLOAT, rank, dims);
}
static void output(gb *b, const char *name) { add_value(b, &b->g->outputs, &b->g->n_outputs, name, OCTET_DTYPE_FLOAT, -1, NULL); }

static void init(gb *b, const char *name, int32_t dt, int32_t rank, const int64_t *dims, const void *data) {
  assert_non_null(octet_ir_graph_add_initializer(b->m, b->g, name, dt, rank, dims, data));
}
static void scalar_f(gb *b, const char *name, float v) { init(b, name, OCTET_DTYPE_FLOAT, 0, NULL, &v); }
static void scalar_u8(gb *b, const char *name, uint8_t v) { init(b, name, OCTET_DTYPE_UINT8, 0, NULL, &v); }

/* node(b, "Conv", "name", "in1,in2,in3", "out") — comma-separated names. */
static octet_ir_node *node(gb *b, const char *op, const char *domain, const char *ins, const char *outs) {
  static int counter;
  char nm[64];
  snprintf(nm, sizeof nm, "%s_%d", op, counter++);
  octet_ir_node *n = octet_ir_graph_add_node(b->m, b->g, op, domain, nm);
  assert_non_null(n);
  const char *lists[2] = {ins, outs};
  for (int l = 0; l < 2; l++) {
    size_t cnt = lists[l][0] ? 1 : 0;
    for (const char *p = lists[l]; *p; p++) cnt += *p == ',';
    const char **v = octet_arena_alloc(b->m->arena, (cnt ? cnt : 1) * sizeof *v);
    const char *p = lists[l];
    for (size_t i = 0; i < cnt; i++) {
      size_t k = strcspn(p, ",");
      v[i] = octet_arena_strndup(b->m->arena, p, k);
      p += k + (p[k] == ',');
    }
    if (l == 0) n->inputs = v, n->n_inputs = cnt;
    else n->outputs = v, n->n_outputs = cnt;
  }
  return n;
}

static void attr_ints(gb *b, octet_ir_node *n, const char *name, const int64_t *v, size_t cnt) {
  octet_ir_attr *a = octet_arena_alloc(b->m->arena, (n->n_attrs + 1) * sizeof *a);
  if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
  octet_ir_attr *x = &a[n->n_attrs++];
  x->name = name;
  x->type = cnt ? OCTET_ATTR_INTS : OCTET_ATTR_INT;
  x->s = x->doc_string = x->ref_attr_name = "";
  if (cnt) {
    x->ints = octet_arena_alloc(b->m->arena, cnt * sizeof *x->ints);
    memcpy(x->ints, v, cnt * sizeof *v);
    x->n = cnt;
  } else {
    x->i = v[0];
  }
  n->attrs = a;
}
static void attr_int(gb *b, octet_ir_node *n, const char *name, int64_t v) { attr_ints(b, n, name, &v, 0); }

/* "QuantizeLinear,QLinearConv,DequantizeLinear": op types in node order (sorted by name of op
 * would hide order; the pass sorts topologically, so this is the execution order). */
static void node_list(const octet_model *m, char *out, size_t size) {
  out[0] = 0;
  for (size_t i = 0; i < m->graph->n_nodes; i++) {
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s%s", i ? "," : "", m->graph->nodes[i].op_type);
  }
}

static const octet_ir_node *find_op(const octet_model *m, const char *op) {
  for (size_t i = 0; i < m->graph->n_nodes; i++)
    if (!strcmp(m->graph->nodes[i].op_type, op)) return &m->graph->nodes[i];
  return NULL;
}

/* ---- a standard conv group: x -> Q -> DQ -> Conv(W, B) -> [act] -> Q -> DQ -> y ---- */

typedef struct conv_opts {
  const char *act;      /* NULL, "Relu", "Clip" */
  float clip_hi;        /* for Clip (lo 0) */
  float y_scale;
  uint8_t y_zp;
  float bias_scale_factor; /* 1: the right bias scale */
} conv_opts;

static const int64_t X_DIMS[4] = {1, 2, 5, 5};

static gb conv_model(const conv_opts *o) {
  gb b = gb_new(13);
  input(&b, "x", 4, X_DIMS);
  output(&b, "y");
  float xs = 0.02f, ws[3] = {0.01f, 0.02f, 0.005f};
  scalar_f(&b, "xs", xs);
  scalar_u8(&b, "xz", 128);
  scalar_f(&b, "ys", o->y_scale);
  scalar_u8(&b, "yz", o->y_zp);
  int64_t wd[4] = {3, 2, 3, 3}, c3 = 3;
  uint8_t w[54];
  for (int i = 0; i < 54; i++) w[i] = (uint8_t)(128 + (i * 37 % 61) - 30);
  uint8_t wz[3] = {128, 128, 128};
  int32_t bias[3] = {100, -2000, 35};
  float bs[3];
  for (int i = 0; i < 3; i++) bs[i] = xs * ws[i] * o->bias_scale_factor;
  init(&b, "w", OCTET_DTYPE_UINT8, 4, wd, w);
  init(&b, "ws", OCTET_DTYPE_FLOAT, 1, &c3, ws);
  init(&b, "wz", OCTET_DTYPE_UINT8, 1, &c3, wz);
  init(&b, "b", OCTET_DTYPE_INT32, 1, &c3, bias);
  init(&b, "bs", OCTET_DTYPE_FLOAT, 1, &c3, bs);
  node(&b, "QuantizeLinear", "", "x,xs,xz", "xq");
  node(&b, "DequantizeLinear", "", "xq,xs,xz", "xd");
  attr_int(&b, node(&b, "DequantizeLinear", "", "w,ws,wz", "wd"), "axis", 0);
  attr_int(&b, node(&b, "DequantizeLinear", "", "b,bs", "bd"), "axis", 0);
  octet_ir_node *c = node(&b, "Conv", "", "xd,wd,bd", o->act ? "c" : "a");
  int64_t pads[4] = {1, 1, 1, 1};
  attr_ints(&b, c, "pads", pads, 4);
  if (o->act && !strcmp(o->act, "Relu")) node(&b, "Relu", "", "c", "a");
  if (o->act && !strcmp(o->act, "Clip")) {
    scalar_f(&b, "lo", 0.0f);
    scalar_f(&b, "hi", o->clip_hi);
    node(&b, "Clip", "", "c,lo,hi", "a");
  }
  node(&b, "QuantizeLinear", "", "a,ys,yz", "aq");
  node(&b, "DequantizeLinear", "", "aq,ys,yz", "y");
  return b;
}

static void lower_ok(octet_model *m, octet_qop_report *r) {
  octet_error err = {0};
  octet_status st = octet_qdq_to_qop(m, r, &err);
  if (st) fail_msg("octet_qdq_to_qop: %s", err.message);
}

static void conv_relu_group_becomes_one_qlinearconv(void **state) {
  conv_opts o = {.act = "Relu", .y_scale = 0.05f, .y_zp = 0, .bias_scale_factor = 1};
  gb b = conv_model(&o);
  octet_qop_report r;
  lower_ok(b.m, &r);
  char list[512];
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,QLinearConv,DequantizeLinear");
  assert_int_equal(r.converted, 1);
  assert_int_equal(r.folded, 1);
  assert_int_equal(r.float_compute, 0);
  const octet_ir_node *q = find_op(b.m, "QLinearConv");
  assert_int_equal(q->n_inputs, 9);
  const char *want[9] = {"xq", "xs", "xz", "w", "ws", NULL, "ys", "yz", "b"};
  for (int i = 0; i < 9; i++)
    if (want[i]) assert_string_equal(q->inputs[i], want[i]);
  /* the per-channel weight zero points (all equal) become one scalar of the same value */
  const octet_ir_tensor *wz = octet_ir_graph_initializer(b.m->graph, q->inputs[5]);
  assert_non_null(wz);
  assert_int_equal(wz->rank, 0);
  assert_int_equal(wz->dtype, OCTET_DTYPE_UINT8);
  assert_int_equal(*(const uint8_t *)wz->data, 128);
  assert_string_equal(q->outputs[0], "aq");
  assert_non_null(octet_ir_node_attr(q, "pads"));
  /* the float weights' DQ nodes and the Relu are gone; no com.microsoft import was needed */
  assert_int_equal(octet_ir_opset_version(b.m, "com.microsoft"), 0);
  octet_model_destroy(b.m);
}

static void relu_stays_and_conv_stays_float_when_zero_point_is_above_qmin(void **state) {
  /* zp 10: Q(Relu(v)) differs from Q(v) for v in (-10 * scale, 0), so nothing may be folded */
  conv_opts o = {.act = "Relu", .y_scale = 0.05f, .y_zp = 10, .bias_scale_factor = 1};
  gb b = conv_model(&o);
  octet_qop_report r;
  lower_ok(b.m, &r);
  assert_non_null(find_op(b.m, "Conv"));
  assert_non_null(find_op(b.m, "Relu"));
  assert_null(find_op(b.m, "QLinearConv"));
  assert_int_equal(r.float_compute, 1);
  assert_non_null(strstr(r.float_nodes, "(Conv)"));
  octet_model_destroy(b.m);
}

static void clip6_folds_only_when_the_output_range_saturates_at_6(void **state) {
  /* 255 * 0.0235 = 5.99: Q(6) = 255 = qmax, the Clip is redundant */
  conv_opts o = {.act = "Clip", .clip_hi = 6.0f, .y_scale = 0.0235f, .y_zp = 0, .bias_scale_factor = 1};
  gb b = conv_model(&o);
  octet_qop_report r;
  lower_ok(b.m, &r);
  assert_non_null(find_op(b.m, "QLinearConv"));
  assert_null(find_op(b.m, "Clip"));
  octet_model_destroy(b.m);
  /* 255 * 0.03 = 7.65: values in (6, 7.65] would pass a folded Clip, so it must stay */
  o.y_scale = 0.03f;
  b = conv_model(&o);
  lower_ok(b.m, &r);
  assert_null(find_op(b.m, "QLinearConv"));
  assert_non_null(find_op(b.m, "Clip"));
  octet_model_destroy(b.m);
}

static void bias_whose_scale_is_not_input_times_weight_scale_keeps_conv_float(void **state) {
  conv_opts o = {.y_scale = 0.05f, .y_zp = 128, .bias_scale_factor = 1.5f};
  gb b = conv_model(&o);
  octet_qop_report r;
  lower_ok(b.m, &r);
  assert_null(find_op(b.m, "QLinearConv"));
  assert_non_null(find_op(b.m, "Conv"));
  octet_model_destroy(b.m);
}

/* x -> Q -> DQ -> MaxPool -> Q' -> DQ' -> y, with Q' equal to Q or not. */
static gb maxpool_model(float out_scale) {
  gb b = gb_new(13);
  input(&b, "x", 4, X_DIMS);
  output(&b, "y");
  scalar_f(&b, "s", 0.1f);
  scalar_u8(&b, "z", 7);
  scalar_f(&b, "s2", out_scale);
  node(&b, "QuantizeLinear", "", "x,s,z", "xq");
  node(&b, "DequantizeLinear", "", "xq,s,z", "xd");
  octet_ir_node *p = node(&b, "MaxPool", "", "xd", "p");
  int64_t k[2] = {2, 2};
  attr_ints(&b, p, "kernel_shape", k, 2);
  node(&b, "QuantizeLinear", "", "p,s2,z", "pq");
  node(&b, "DequantizeLinear", "", "pq,s2,z", "y");
  return b;
}

static void maxpool_between_equal_qdq_runs_on_uint8_and_otherwise_stays(void **state) {
  gb b = maxpool_model(0.1f);
  octet_qop_report r;
  lower_ok(b.m, &r);
  char list[512];
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,MaxPool,DequantizeLinear");
  assert_string_equal(find_op(b.m, "MaxPool")->inputs[0], "xq");
  assert_int_equal(r.passthrough, 1);
  octet_model_destroy(b.m);
  b = maxpool_model(0.2f); /* a requantization: MaxPool on uint8 would skip it */
  lower_ok(b.m, &r);
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,DequantizeLinear,MaxPool,QuantizeLinear,DequantizeLinear");
  assert_int_equal(r.passthrough, 0);
  octet_model_destroy(b.m);
}

/* a [2,4] x w [4,3] -> MatMul (+ optional Q of the output) and a Gemm with int32 bias. */
static gb matmul_model(bool quantized_output, const char *op) {
  gb b = gb_new(13);
  int64_t ad[2] = {2, 4}, wd[2] = {4, 3}, c3 = 3;
  input(&b, "a", 2, ad);
  output(&b, "y");
  scalar_f(&b, "as", 0.05f);
  scalar_u8(&b, "az", 120);
  uint8_t w[12] = {1, 50, 128, 200, 255, 0, 140, 90, 17, 33, 250, 128};
  float ws[3] = {0.1f, 0.2f, 0.3f};
  uint8_t wz[3] = {128, 128, 128};
  init(&b, "w", OCTET_DTYPE_UINT8, 2, wd, w);
  init(&b, "ws", OCTET_DTYPE_FLOAT, 1, &c3, ws);
  init(&b, "wz", OCTET_DTYPE_UINT8, 1, &c3, wz);
  node(&b, "QuantizeLinear", "", "a,as,az", "aq");
  node(&b, "DequantizeLinear", "", "aq,as,az", "ad");
  attr_int(&b, node(&b, "DequantizeLinear", "", "w,ws,wz", "wd"), "axis", 1);
  const char *mm_out = quantized_output ? "m" : "y";
  if (!strcmp(op, "Gemm")) {
    int32_t bias[3] = {5, -5, 1000};
    float bs[3] = {0.05f * 0.1f, 0.05f * 0.2f, 0.05f * 0.3f};
    init(&b, "b", OCTET_DTYPE_INT32, 1, &c3, bias);
    init(&b, "bs", OCTET_DTYPE_FLOAT, 1, &c3, bs);
    attr_int(&b, node(&b, "DequantizeLinear", "", "b,bs", "bd"), "axis", 0);
    node(&b, "Gemm", "", "ad,wd,bd", mm_out);
  } else {
    node(&b, "MatMul", "", "ad,wd", mm_out);
  }
  if (quantized_output) {
    scalar_f(&b, "ms", 0.25f);
    scalar_u8(&b, "mz", 100);
    node(&b, "QuantizeLinear", "", "m,ms,mz", "mq");
    node(&b, "DequantizeLinear", "", "mq,ms,mz", "y");
  }
  return b;
}

static void matmul_groups_become_qlinearmatmul_or_matmulintegertofloat(void **state) {
  gb b = matmul_model(true, "MatMul");
  octet_qop_report r;
  lower_ok(b.m, &r);
  char list[512];
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,QLinearMatMul,DequantizeLinear");
  octet_model_destroy(b.m);
  b = matmul_model(false, "MatMul"); /* float output: no Q to fold into */
  lower_ok(b.m, &r);
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,MatMulIntegerToFloat");
  assert_string_equal(find_op(b.m, "MatMulIntegerToFloat")->domain, "com.microsoft");
  assert_int_equal(octet_ir_opset_version(b.m, "com.microsoft"), 1);
  octet_model_destroy(b.m);
}

static void gemm_with_int32_bias_becomes_qgemm_with_com_microsoft_import(void **state) {
  gb b = matmul_model(true, "Gemm");
  octet_qop_report r;
  lower_ok(b.m, &r);
  char list[512];
  node_list(b.m, list, sizeof list);
  assert_string_equal(list, "QuantizeLinear,QGemm,DequantizeLinear");
  const octet_ir_node *q = find_op(b.m, "QGemm");
  assert_int_equal(q->n_inputs, 9);
  assert_string_equal(q->inputs[6], "b");
  assert_string_equal(q->inputs[7], "ms");
  assert_null(octet_ir_node_attr(q, "beta")); /* QGemm has no beta */
  assert_int_equal(octet_ir_opset_version(b.m, "com.microsoft"), 1);
  octet_model_destroy(b.m);
}

/* two branches: Add of two DQs, Concat of two DQs; a DQ also feeding a float Softmax. */
static void add_concat_convert_and_dq_feeding_float_op_stays(void **state) {
  gb b = gb_new(13);
  int64_t d[2] = {2, 3};
  input(&b, "x", 2, d);
  input(&b, "z", 2, d);
  output(&b, "y1");
  output(&b, "y2");
  output(&b, "y3");
  scalar_f(&b, "s1", 0.1f);
  scalar_f(&b, "s2", 0.2f);
  scalar_f(&b, "s3", 0.3f);
  scalar_u8(&b, "zp", 128);
  node(&b, "QuantizeLinear", "", "x,s1,zp", "xq");
  node(&b, "DequantizeLinear", "", "xq,s1,zp", "xd");
  node(&b, "QuantizeLinear", "", "z,s2,zp", "zq");
  node(&b, "DequantizeLinear", "", "zq,s2,zp", "zd");
  node(&b, "Add", "", "xd,zd", "sum");
  node(&b, "QuantizeLinear", "", "sum,s3,zp", "sq");
  node(&b, "DequantizeLinear", "", "sq,s3,zp", "y1");
  attr_int(&b, node(&b, "Concat", "", "xd,zd", "cat"), "axis", 1);
  node(&b, "QuantizeLinear", "", "cat,s3,zp", "cq");
  node(&b, "DequantizeLinear", "", "cq,s3,zp", "y2");
  node(&b, "Softmax", "", "xd", "y3");
  octet_qop_report r;
  lower_ok(b.m, &r);
  assert_int_equal(r.converted, 2);
  const octet_ir_node *add = find_op(b.m, "QLinearAdd"), *cat = find_op(b.m, "QLinearConcat");
  assert_non_null(add);
  assert_non_null(cat);
  assert_int_equal(add->n_inputs, 8);
  assert_int_equal(cat->n_inputs, 8);
  assert_string_equal(cat->inputs[0], "s3");
  assert_string_equal(cat->inputs[2], "xq");
  assert_string_equal(cat->inputs[5], "zq");
  /* Softmax still reads the DQ of x, which therefore stays; the DQ of z is gone */
  const octet_ir_node *sm = find_op(b.m, "Softmax");
  assert_string_equal(sm->inputs[0], "xd");
  size_t dq = 0;
  for (size_t i = 0; i < b.g->n_nodes; i++) dq += !strcmp(b.g->nodes[i].op_type, "DequantizeLinear");
  assert_int_equal(dq, 3); /* xd, y1, y2 */
  octet_model_destroy(b.m);
}

static void clone_equals_source_and_edits_do_not_reach_it(void **state) {
  conv_opts o = {.act = "Relu", .y_scale = 0.05f, .y_zp = 0, .bias_scale_factor = 1};
  gb b = conv_model(&o);
  octet_error err = {0};
  octet_model *c;
  assert_int_equal(octet_ir_model_clone(b.m, &c, &err), OCTET_OK);
  char what[256];
  assert_true(octet_ir_model_equal(b.m, c, what, sizeof what));
  assert_ptr_not_equal(c->graph->nodes, b.m->graph->nodes);
  /* tensor bytes are borrowed, and marked so */
  assert_ptr_equal(c->graph->initializers[0].data, b.m->graph->initializers[0].data);
  assert_false(c->graph->initializers[0].owned);
  lower_ok(c, NULL);
  assert_non_null(find_op(c, "QLinearConv"));
  assert_non_null(find_op(b.m, "Conv"));
  assert_non_null(find_op(b.m, "Relu"));
  assert_int_equal(octet_ir_validate(b.m, &err), OCTET_OK);
  octet_model_destroy(c);
  octet_model_destroy(b.m);
}

static void runtime_lowering_leaves_float_models_alone(void **state) {
  gb b = gb_new(13);
  int64_t d[2] = {1, 4};
  input(&b, "x", 2, d);
  output(&b, "y");
  node(&b, "Relu", "", "x", "y");
  octet_model *out = (octet_model *)1;
  octet_error err = {0};
  assert_int_equal(octet_runtime_lower_qdq(b.m, &out, &err), OCTET_OK);
  assert_null(out);
  octet_model_destroy(b.m);
}

/* ---- sessions ---- */

static int keep_going(void *ctx, const char *t, const char *n, const octet_tensor *v) { return 0; }

static void run_conv_model(const octet_model *m, bool observe, float *y, size_t n, bool *int8_conv) {
  octet_session_options so = {.n_threads = 1, .profile = 1};
  if (observe) so.observer = keep_going; /* an observer keeps the model as given: the float path */
  octet_session *s;
  octet_error err = {0};
  if (octet_session_create(m, &so, &s, &err)) fail_msg("session: %s", err.message);
  float x[50];
  for (int i = 0; i < 50; i++) x[i] = sinf((float)i * 0.7f) * 2.0f;
  octet_tensor in = {.dtype = OCTET_DTYPE_FLOAT, .rank = 4, .dims = {1, 2, 5, 5}, .data = x}, out;
  if (octet_session_run(s, &in, 1, &out, 1, &err)) fail_msg("run: %s", err.message);
  assert_int_equal(out.dtype, OCTET_DTYPE_FLOAT);
  memcpy(y, out.data, n * sizeof *y);
  const octet_profile_entry *e;
  size_t np = octet_session_profile(s, &e);
  *int8_conv = false;
  for (size_t i = 0; i < np; i++) {
    if (!strcmp(e[i].op_type, "QLinearConv")) *int8_conv = true;
    if (!strcmp(e[i].op_type, "Conv")) *int8_conv = false;
  }
  octet_session_destroy(s);
}

static void session_runs_qdq_conv_on_qlinearconv_matching_the_float_qdq_path(void **state) {
  conv_opts o = {.act = "Relu", .y_scale = 0.05f, .y_zp = 0, .bias_scale_factor = 1};
  gb b = conv_model(&o);
  float lowered[75], reference[75];
  bool int8_lowered, int8_reference;
  run_conv_model(b.m, false, lowered, 75, &int8_lowered);
  run_conv_model(b.m, true, reference, 75, &int8_reference);
  assert_true(int8_lowered);
  assert_false(int8_reference);
  /* both dequantize the same uint8 grid; float accumulation order may move a value across a
   * rounding boundary, never by more than one step */
  size_t same = 0;
  for (int i = 0; i < 75; i++) {
    assert_true(fabsf(lowered[i] - reference[i]) <= o.y_scale * 1.0001f);
    same += lowered[i] == reference[i];
  }
  assert_true(same >= 70);
  /* the caller's model is untouched */
  assert_non_null(find_op(b.m, "Conv"));
  octet_model_destroy(b.m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(conv_relu_group_becomes_one_qlinearconv),
      cmocka_unit_test(relu_stays_and_conv_stays_float_when_zero_point_is_above_qmin),
      cmocka_unit_test(clip6_folds_only_when_the_output_range_saturates_at_6),
      cmocka_unit_test(bias_whose_scale_is_not_input_times_weight_scale_keeps_conv_float),
      cmocka_unit_test(maxpool_between_equal_qdq_runs_on_uint8_and_otherwise_stays),
      cmocka_unit_test(matmul_groups_become_qlinearmatmul_or_matmulintegertofloat),
      cmocka_unit_test(gemm_with_int32_bias_becomes_qgemm_with_com_microsoft_import),
      cmocka_unit_test(add_concat_convert_and_dq_feeding_float_op_stays),
      cmocka_unit_test(clone_equals_source_and_edits_do_not_reach_it),
      cmocka_unit_test(runtime_lowering_leaves_float_models_alone),
      cmocka_unit_test(session_runs_qdq_conv_on_qlinearconv_matching_the_float_qdq_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
