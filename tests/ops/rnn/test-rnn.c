/* test-rnn.c — LSTM, GRU, RNN, Einsum and the other kernels of ops/float/rnn (losses, signal
 * ops, Det, training optimizers) through the registry: against ONNX Runtime's
 * and ONNX's numbers (fixtures.h, made by gen-fixtures.py), against the straightforward
 * references below on random shapes, and on their error paths. */
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
#include "ops/registry.h"

typedef struct fx_tensor {
  const char *name; /* "" = absent */
  int32_t dtype;
  int32_t rank;
  int64_t dims[8];
  const void *data;
} fx_tensor;

typedef struct fx_attr {
  const char *name;
  int32_t type;
  int64_t i;
  float f;
  const char *s;
  size_t n;
  const char *const *strings;
  const float *floats;
  const int64_t *ints;
} fx_attr;

typedef struct fx_case {
  const char *name, *op, *domain;
  int opset, const_weights;
  size_t n_attrs;
  fx_attr attrs[10];
  size_t n_in;
  fx_tensor in[12];
  size_t n_out;
  fx_tensor out[6];
} fx_case;

#include "fixtures.h"

/* ---- running a kernel ---- */

typedef struct run_result {
  octet_status create_st, infer_st, run_st;
  char message[OCTET_ERROR_MESSAGE_SIZE];
  octet_tensor out[6];
} run_result;

static void free_result(run_result *r) {
  for (int i = 0; i < 6; i++) free(r->out[i].data);
}

/* Creates, infers and runs op on the inputs (NULL = absent); constant_mask marks inputs the
 * kernel sees at create. */
static run_result run_op_in(const char *domain, const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                         const octet_tensor *const *in, size_t n_in, size_t n_out,
                         uint32_t constant_mask) {
  run_result res;
  memset(&res, 0, sizeof res);
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), domain, op, opset);
  assert_non_null(k);
  int32_t dtypes[16];
  const octet_tensor *consts[16];
  for (size_t i = 0; i < n_in; i++) {
    dtypes[i] = in[i] ? in[i]->dtype : OCTET_DTYPE_UNDEFINED;
    consts[i] = in[i] && (constant_mask >> i & 1) ? in[i] : NULL;
  }
  octet_kernel_info info = {.node_name = "n0", .domain = domain, .op_type = op, .opset = opset,
                            .n_attrs = n_attrs, .attrs = attrs, .n_inputs = n_in,
                            .input_dtypes = dtypes, .constant_inputs = consts, .n_outputs = n_out};
  int32_t out_dt[6] = {0};
  void *state = NULL;
  octet_error err = {0};
  res.create_st = k->create(&info, out_dt, &state, &err);
  if (res.create_st) {
    memcpy(res.message, err.message, sizeof res.message);
    return res;
  }
  size_t ws_bytes = 0;
  res.infer_st = k->infer(state, in, n_in, res.out, n_out, &ws_bytes, &err);
  if (!res.infer_st) {
    for (size_t i = 0; i < n_out; i++) {
      assert_int_equal(res.out[i].dtype, out_dt[i]);
      size_t nb = octet_tensor_nbytes(&res.out[i]);
      res.out[i].data = malloc(nb ? nb : 1);
      memset(res.out[i].data, 0x7f, nb); /* garbage the kernel must overwrite */
    }
    void *ws = malloc(ws_bytes ? ws_bytes : 1);
    res.run_st = k->run(state, in, n_in, res.out, n_out, ws, NULL, &err);
    free(ws);
  }
  if (res.infer_st || res.run_st) memcpy(res.message, err.message, sizeof res.message);
  k->destroy(state);
  return res;
}

static run_result run_op(const char *op, int opset, const octet_attr *attrs, size_t n_attrs,
                         const octet_tensor *const *in, size_t n_in, size_t n_out,
                         uint32_t constant_mask) {
  return run_op_in("", op, opset, attrs, n_attrs, in, n_in, n_out, constant_mask);
}

static double elem(const void *data, int32_t dtype, size_t i) {
  switch (dtype) {
  case OCTET_DTYPE_FLOAT: return ((const float *)data)[i];
  case OCTET_DTYPE_DOUBLE: return ((const double *)data)[i];
  case OCTET_DTYPE_INT32: return ((const int32_t *)data)[i];
  default: return (double)((const int64_t *)data)[i];
  }
}

/* ONNX's backend tolerance: |got - want| <= atol + rtol * |want|. */
static void expect_close(const char *what, const void *got, const void *want, int32_t dtype, size_t n,
                         double rtol, double atol) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double g = elem(got, dtype, i), w = elem(want, dtype, i);
    if (!(fabs(g - w) <= atol + rtol * fabs(w))) {
      if (bad++ < 5) print_error("%s[%zu]: got %.9g, want %.9g\n", what, i, g, w);
    }
  }
  if (bad) fail_msg("%s: %zu of %zu values differ", what, bad, n);
}

/* ---- fixtures: ONNX Runtime and ONNX node-test numbers ---- */

static void run_fixture(const fx_case *c, uint32_t constant_mask) {
  octet_tensor tin[12];
  const octet_tensor *pin[12];
  octet_attr attrs[10];
  for (size_t i = 0; i < c->n_attrs; i++) {
    const fx_attr *a = &c->attrs[i];
    attrs[i] = (octet_attr){.name = a->name, .type = a->type, .i = a->i, .f = a->f, .s = a->s,
                            .s_len = a->s ? strlen(a->s) : 0, .n = a->n, .strings = a->strings,
                            .floats = a->floats, .ints = a->ints};
  }
  for (size_t i = 0; i < c->n_in; i++) {
    const fx_tensor *t = &c->in[i];
    pin[i] = NULL;
    if (!t->name[0]) continue;
    tin[i] = (octet_tensor){.dtype = t->dtype, .rank = t->rank, .data = (void *)t->data};
    memcpy(tin[i].dims, t->dims, sizeof t->dims);
    pin[i] = &tin[i];
  }
  run_result r = run_op_in(c->domain, c->op, c->opset, attrs, c->n_attrs, pin, c->n_in, c->n_out,
                           constant_mask);
  if (r.create_st || r.infer_st || r.run_st) fail_msg("%s: %s", c->name, r.message);
  for (size_t i = 0; i < c->n_out; i++) {
    const fx_tensor *w = &c->out[i];
    if (!w->name[0]) continue;
    assert_int_equal(r.out[i].rank, w->rank);
    for (int d = 0; d < w->rank; d++) assert_int_equal(r.out[i].dims[d], w->dims[d]);
    char what[128];
    snprintf(what, sizeof what, "%s output %zu", c->name, i);
    expect_close(what, r.out[i].data, w->data, w->dtype, octet_tensor_numel(&r.out[i]), 1e-3, 1e-5);
  }
  free_result(&r);
}

static void fixture_matches_reference_numbers(void **state) {
  const fx_case *c = *state;
  run_fixture(c, 0);
  /* Weights known at create take the pre-packed path: it must give the same numbers. */
  if (strcmp(c->op, "Einsum")) run_fixture(c, 0xe);
  else run_fixture(c, 0xffff);
}

/* ---- a straightforward reference for the recurrent ops ---- */

enum { CELL_RNN, CELL_GRU, CELL_LSTM };

typedef struct ref_cfg {
  int cell, dirs, reverse_only, layout, input_forget, lbr;
  float clip; /* 0 = none */
  size_t T, B, I, H;
  const float *x, *w, *r, *bias, *h0, *c0, *p;
  const int32_t *seq;
} ref_cfg;

static float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }
static float clipv(const ref_cfg *c, float v) {
  return c->clip > 0 ? (v < -c->clip ? -c->clip : (v > c->clip ? c->clip : v)) : v;
}

/* Each time step and unit written out from the ONNX equations, one direction at a time. */
static void ref_recurrent(const ref_cfg *c, float *y, float *yh, float *yc) {
  const size_t T = c->T, B = c->B, I = c->I, H = c->H, D = (size_t)c->dirs;
  const size_t G = c->cell == CELL_LSTM ? 4 : (c->cell == CELL_GRU ? 3 : 1);
  memset(y, 0, T * D * B * H * sizeof(float));
  float *hp = calloc(H, sizeof(float)), *cp = calloc(H, sizeof(float));
  float *hn = calloc(H, sizeof(float)), *cn = calloc(H, sizeof(float));
  for (size_t d = 0; d < D; d++) {
    int reverse = c->reverse_only || d == 1;
    const float *W = c->w + d * G * H * I, *R = c->r + d * G * H * H;
    const float *Wb = c->bias ? c->bias + d * 2 * G * H : NULL, *Rb = Wb ? Wb + G * H : NULL;
    const float *P = c->p ? c->p + d * 3 * H : NULL;
    for (size_t b = 0; b < B; b++) {
      size_t so = c->layout ? (b * D + d) * H : (d * B + b) * H;
      for (size_t j = 0; j < H; j++) {
        hp[j] = c->h0 ? c->h0[so + j] : 0.0f;
        cp[j] = c->c0 ? c->c0[so + j] : 0.0f;
      }
      size_t len = c->seq ? (size_t)c->seq[b] : T;
      for (size_t s = 0; s < len; s++) {
        size_t t = reverse ? len - 1 - s : s;
        const float *xt = c->x + (c->layout ? (b * T + t) : (t * B + b)) * I;
        /* pre[g][j] = x·W_g + h·R_g + biases, per gate g, per unit j */
        float pre_x[4][64], pre_h[4][64];
        for (size_t g = 0; g < G; g++)
          for (size_t j = 0; j < H; j++) {
            double ax = Wb ? Wb[g * H + j] : 0, ah = Rb ? Rb[g * H + j] : 0;
            for (size_t i = 0; i < I; i++) ax += xt[i] * W[(g * H + j) * I + i];
            for (size_t i = 0; i < H; i++) ah += hp[i] * R[(g * H + j) * H + i];
            pre_x[g][j] = (float)ax;
            pre_h[g][j] = (float)ah;
          }
        for (size_t j = 0; j < H; j++) {
          if (c->cell == CELL_RNN) {
            hn[j] = tanhf(clipv(c, pre_x[0][j] + pre_h[0][j]));
          } else if (c->cell == CELL_LSTM) {
            float i_ = sigm(clipv(c, pre_x[0][j] + pre_h[0][j] + (P ? P[j] * cp[j] : 0)));
            float f_ = c->input_forget ? 1.0f - i_
                                       : sigm(clipv(c, pre_x[2][j] + pre_h[2][j] + (P ? P[2 * H + j] * cp[j] : 0)));
            float g_ = tanhf(clipv(c, pre_x[3][j] + pre_h[3][j]));
            cn[j] = f_ * cp[j] + i_ * g_;
            float o_ = sigm(clipv(c, pre_x[1][j] + pre_h[1][j] + (P ? P[H + j] * cn[j] : 0)));
            hn[j] = o_ * tanhf(cn[j]);
          } else {
            float z = sigm(clipv(c, pre_x[0][j] + pre_h[0][j]));
            float r = sigm(clipv(c, pre_x[1][j] + pre_h[1][j]));
            float hh;
            if (c->lbr) {
              hh = tanhf(clipv(c, pre_x[2][j] + r * pre_h[2][j]));
            } else {
              double acc = pre_x[2][j] + (Rb ? Rb[2 * H + j] : 0);
              /* (r ⊙ h_prev)·Rh^T needs every unit's r: recompute r for each unit i. */
              for (size_t i = 0; i < H; i++) {
                float ri = sigm(clipv(c, pre_x[1][i] + pre_h[1][i]));
                acc += ri * hp[i] * R[(2 * H + j) * H + i];
              }
              hh = tanhf(clipv(c, (float)acc));
            }
            hn[j] = (1.0f - z) * hh + z * hp[j];
          }
        }
        memcpy(hp, hn, H * sizeof(float));
        if (c->cell == CELL_LSTM) memcpy(cp, cn, H * sizeof(float));
        size_t yo = c->layout ? ((b * T + t) * D + d) * H : ((t * D + d) * B + b) * H;
        memcpy(y + yo, hp, H * sizeof(float));
      }
      /* ONNX Runtime's convention for an empty sequence: zero final states. */
      if (len == 0) memset(hp, 0, H * sizeof(float)), memset(cp, 0, H * sizeof(float));
      memcpy(yh + so, hp, H * sizeof(float));
      if (yc) memcpy(yc + so, cp, H * sizeof(float));
    }
  }
  free(hp);
  free(cp);
  free(hn);
  free(cn);
}

static float *rand_floats(size_t n, float scale, unsigned *seed) {
  float *v = malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    v[i] = scale * ((float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f);
  }
  return v;
}

static octet_tensor tensor3(float *data, int64_t a, int64_t b, int64_t c) {
  return (octet_tensor){.dtype = OCTET_DTYPE_FLOAT, .rank = 3, .dims = {a, b, c}, .data = data};
}

/* One random recurrent case: our kernel vs ref_recurrent, weights constant or not. */
static void check_random_recurrent(int cell, const char *direction, int layout, int with_bias,
                                   int with_seq, int with_init, int with_peep, float clip,
                                   int input_forget, int lbr, unsigned seed) {
  ref_cfg c = {.cell = cell, .layout = layout, .clip = clip, .input_forget = input_forget, .lbr = lbr,
               .T = 6, .B = 4, .I = 5, .H = 7};
  c.dirs = !strcmp(direction, "bidirectional") ? 2 : 1;
  c.reverse_only = !strcmp(direction, "reverse");
  const size_t G = cell == CELL_LSTM ? 4 : (cell == CELL_GRU ? 3 : 1), D = (size_t)c.dirs;
  float *x = rand_floats(c.T * c.B * c.I, 1.0f, &seed), *w = rand_floats(D * G * c.H * c.I, 0.6f, &seed);
  float *r = rand_floats(D * G * c.H * c.H, 0.6f, &seed), *bias = rand_floats(D * 2 * G * c.H, 0.5f, &seed);
  float *h0 = rand_floats(D * c.B * c.H, 1.0f, &seed), *c0 = rand_floats(D * c.B * c.H, 1.0f, &seed);
  float *p = rand_floats(D * 3 * c.H, 0.5f, &seed);
  int32_t seq[4] = {6, 3, 0, 5};
  c.x = x, c.w = w, c.r = r, c.bias = with_bias ? bias : NULL, c.h0 = with_init ? h0 : NULL;
  c.c0 = with_init && cell == CELL_LSTM ? c0 : NULL;
  c.p = with_peep ? p : NULL, c.seq = with_seq ? seq : NULL;

  size_t ny = c.T * D * c.B * c.H, ns = D * c.B * c.H;
  float *y = malloc(ny * sizeof(float)), *yh = malloc(ns * sizeof(float)), *yc = malloc(ns * sizeof(float));
  ref_recurrent(&c, y, yh, cell == CELL_LSTM ? yc : NULL);

  int64_t T = (int64_t)c.T, B = (int64_t)c.B, H = (int64_t)c.H, Dd = (int64_t)D;
  octet_tensor tx = layout ? tensor3(x, B, T, (int64_t)c.I) : tensor3(x, T, B, (int64_t)c.I);
  octet_tensor tw = tensor3(w, Dd, (int64_t)G * H, (int64_t)c.I), tr = tensor3(r, Dd, (int64_t)G * H, H);
  octet_tensor tb = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {Dd, 2 * (int64_t)G * H}, .data = bias};
  octet_tensor tseq = {.dtype = OCTET_DTYPE_INT32, .rank = 1, .dims = {B}, .data = seq};
  octet_tensor th0 = layout ? tensor3(h0, B, Dd, H) : tensor3(h0, Dd, B, H);
  octet_tensor tc0 = layout ? tensor3(c0, B, Dd, H) : tensor3(c0, Dd, B, H);
  octet_tensor tp = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {Dd, 3 * H}, .data = p};
  const octet_tensor *in[8] = {&tx, &tw, &tr, c.bias ? &tb : NULL, c.seq ? &tseq : NULL,
                               c.h0 ? &th0 : NULL, c.c0 ? &tc0 : NULL, c.p ? &tp : NULL};
  size_t n_in = cell == CELL_LSTM ? 8 : 6;
  octet_attr attrs[6];
  size_t na = 0;
  attrs[na++] = (octet_attr){.name = "hidden_size", .type = OCTET_ATTR_INT, .i = H};
  attrs[na++] = (octet_attr){.name = "direction", .type = OCTET_ATTR_STRING, .s = direction, .s_len = strlen(direction)};
  attrs[na++] = (octet_attr){.name = "layout", .type = OCTET_ATTR_INT, .i = layout};
  if (clip > 0) attrs[na++] = (octet_attr){.name = "clip", .type = OCTET_ATTR_FLOAT, .f = clip};
  if (input_forget) attrs[na++] = (octet_attr){.name = "input_forget", .type = OCTET_ATTR_INT, .i = 1};
  if (lbr) attrs[na++] = (octet_attr){.name = "linear_before_reset", .type = OCTET_ATTR_INT, .i = 1};
  const char *op = cell == CELL_LSTM ? "LSTM" : (cell == CELL_GRU ? "GRU" : "RNN");
  size_t n_out = cell == CELL_LSTM ? 3 : 2;
  for (uint32_t mask = 0; mask <= 0xe; mask += 0xe) {
    run_result res = run_op(op, 14, attrs, na, in, n_in, n_out, mask);
    if (res.create_st || res.infer_st || res.run_st) fail_msg("%s: %s", op, res.message);
    expect_close("Y", res.out[0].data, y, OCTET_DTYPE_FLOAT, ny, 1e-4, 1e-5);
    expect_close("Y_h", res.out[1].data, yh, OCTET_DTYPE_FLOAT, ns, 1e-4, 1e-5);
    if (cell == CELL_LSTM) expect_close("Y_c", res.out[2].data, yc, OCTET_DTYPE_FLOAT, ns, 1e-4, 1e-5);
    free_result(&res);
  }
  free(x), free(w), free(r), free(bias), free(h0), free(c0), free(p), free(y), free(yh), free(yc);
}

static void lstm_matches_reference_in_every_direction_and_option(void **s) {
  const char *dirs[3] = {"forward", "reverse", "bidirectional"};
  for (int d = 0; d < 3; d++) {
    check_random_recurrent(CELL_LSTM, dirs[d], 0, 0, 0, 0, 0, 0, 0, 0, 11u + d);
    check_random_recurrent(CELL_LSTM, dirs[d], 0, 1, 1, 1, 1, 0, 0, 0, 21u + d);
    check_random_recurrent(CELL_LSTM, dirs[d], 1, 1, 1, 1, 1, 0, 0, 0, 31u + d);
    check_random_recurrent(CELL_LSTM, dirs[d], 1, 1, 0, 1, 0, 0.8f, 1, 0, 41u + d);
  }
}

static void gru_matches_reference_with_and_without_linear_before_reset(void **s) {
  const char *dirs[3] = {"forward", "reverse", "bidirectional"};
  for (int d = 0; d < 3; d++)
    for (int lbr = 0; lbr < 2; lbr++) {
      check_random_recurrent(CELL_GRU, dirs[d], 0, 0, 0, 0, 0, 0, 0, lbr, 51u + d);
      check_random_recurrent(CELL_GRU, dirs[d], 0, 1, 1, 1, 0, 0, 0, lbr, 61u + d);
      check_random_recurrent(CELL_GRU, dirs[d], 1, 1, 1, 1, 0, 0.5f, 0, lbr, 71u + d);
    }
}

static void rnn_matches_reference_in_every_direction(void **s) {
  const char *dirs[3] = {"forward", "reverse", "bidirectional"};
  for (int d = 0; d < 3; d++) {
    check_random_recurrent(CELL_RNN, dirs[d], 0, 0, 0, 0, 0, 0, 0, 0, 81u + d);
    check_random_recurrent(CELL_RNN, dirs[d], 0, 1, 1, 1, 0, 0, 0, 0, 91u + d);
    check_random_recurrent(CELL_RNN, dirs[d], 1, 1, 1, 1, 0, 0.3f, 0, 0, 101u + d);
  }
}

/* Silero VAD's pattern: one step per call, state carried by the caller through Y_h/Y_c. */
static void lstm_state_carried_across_calls_equals_one_long_sequence(void **s) {
  unsigned seed = 7;
  const int64_t T = 5, B = 1, I = 6, H = 8;
  float *x = rand_floats((size_t)(T * I), 1.0f, &seed), *w = rand_floats((size_t)(4 * H * I), 0.5f, &seed);
  float *r = rand_floats((size_t)(4 * H * H), 0.5f, &seed), *bias = rand_floats((size_t)(8 * H), 0.5f, &seed);
  octet_tensor tx = tensor3(x, T, B, I), tw = tensor3(w, 1, 4 * H, I), tr = tensor3(r, 1, 4 * H, H);
  octet_tensor tb = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {1, 8 * H}, .data = bias};
  octet_attr attrs[1] = {{.name = "hidden_size", .type = OCTET_ATTR_INT, .i = H}};
  const octet_tensor *in[7] = {&tx, &tw, &tr, &tb, NULL, NULL, NULL};
  run_result whole = run_op("LSTM", 15, attrs, 1, in, 7, 3, 0xe);
  assert_int_equal(whole.run_st, OCTET_OK);
  float h[8] = {0}, c[8] = {0};
  for (int64_t t = 0; t < T; t++) {
    octet_tensor xt = tensor3(x + t * I, 1, B, I), th = tensor3(h, 1, B, H), tc = tensor3(c, 1, B, H);
    const octet_tensor *in1[7] = {&xt, &tw, &tr, &tb, NULL, &th, &tc};
    run_result one = run_op("LSTM", 15, attrs, 1, in1, 7, 3, 0xe);
    assert_int_equal(one.run_st, OCTET_OK);
    expect_close("Y step", one.out[0].data, (float *)whole.out[0].data + t * H, OCTET_DTYPE_FLOAT,
                 (size_t)H, 1e-5, 1e-6);
    memcpy(h, one.out[1].data, sizeof h);
    memcpy(c, one.out[2].data, sizeof c);
    free_result(&one);
  }
  expect_close("Y_h", h, whole.out[1].data, OCTET_DTYPE_FLOAT, (size_t)H, 1e-5, 1e-6);
  expect_close("Y_c", c, whole.out[2].data, OCTET_DTYPE_FLOAT, (size_t)H, 1e-5, 1e-6);
  free_result(&whole);
  free(x), free(w), free(r), free(bias);
}

/* ---- error paths ---- */

static void recurrent_ops_reject_bad_attributes_and_lengths(void **s) {
  float x[6] = {0}, w[4 * 2 * 3] = {0}, r[4 * 2 * 2] = {0};
  octet_tensor tx = tensor3(x, 2, 1, 3), tw = tensor3(w, 1, 8, 3), tr = tensor3(r, 1, 8, 2);
  int32_t seq[1] = {3};
  octet_tensor tseq = {.dtype = OCTET_DTYPE_INT32, .rank = 1, .dims = {1}, .data = seq};
  const octet_tensor *in[5] = {&tx, &tw, &tr, NULL, &tseq};
  octet_attr bad_dir[2] = {{.name = "hidden_size", .type = OCTET_ATTR_INT, .i = 2},
                           {.name = "direction", .type = OCTET_ATTR_STRING, .s = "sideways", .s_len = 8}};
  run_result r1 = run_op("LSTM", 14, bad_dir, 2, in, 3, 3, 0);
  assert_int_equal(r1.create_st, OCTET_STATUS_INVALID_MODEL);
  assert_non_null(strstr(r1.message, "sideways"));
  const char *names[3] = {"Sigmoid", "Tanh", "Swish"};
  octet_attr bad_act[2] = {{.name = "hidden_size", .type = OCTET_ATTR_INT, .i = 2},
                           {.name = "activations", .type = OCTET_ATTR_STRINGS, .n = 3, .strings = names}};
  run_result r2 = run_op("LSTM", 14, bad_act, 2, in, 3, 3, 0);
  assert_int_equal(r2.create_st, OCTET_STATUS_UNSUPPORTED);
  assert_non_null(strstr(r2.message, "Swish"));
  run_result r3 = run_op("LSTM", 14, bad_dir, 1, in, 5, 3, 0);
  assert_int_equal(r3.run_st, OCTET_STATUS_INVALID_ARGUMENT);
  assert_non_null(strstr(r3.message, "sequence_lens"));
  free_result(&r3);
  octet_attr wrong_h[1] = {{.name = "hidden_size", .type = OCTET_ATTR_INT, .i = 3}};
  run_result r4 = run_op("GRU", 14, wrong_h, 1, in, 3, 2, 0);
  assert_int_equal(r4.infer_st, OCTET_STATUS_INVALID_ARGUMENT);
}

/* ---- Einsum against naive loops ---- */

static void einsum_batched_matmul_and_attention_match_loops(void **s) {
  unsigned seed = 3;
  const int64_t b = 3, h = 2, q = 5, k = 7, d = 9;
  float *qm = rand_floats((size_t)(b * h * q * d), 1, &seed), *km = rand_floats((size_t)(b * h * k * d), 1, &seed);
  octet_tensor tq = {.dtype = OCTET_DTYPE_FLOAT, .rank = 4, .dims = {b, h, q, d}, .data = qm};
  octet_tensor tk = {.dtype = OCTET_DTYPE_FLOAT, .rank = 4, .dims = {b, h, k, d}, .data = km};
  const octet_tensor *in[2] = {&tq, &tk};
  const char *eq = "bhqd,bhkd->bhqk";
  octet_attr a = {.name = "equation", .type = OCTET_ATTR_STRING, .s = eq, .s_len = strlen(eq)};
  run_result r = run_op("Einsum", 12, &a, 1, in, 2, 1, 0);
  assert_int_equal(r.run_st, OCTET_OK);
  assert_int_equal(r.out[0].rank, 4);
  assert_int_equal(r.out[0].dims[3], k);
  float *want = calloc((size_t)(b * h * q * k), sizeof(float));
  for (int64_t i0 = 0; i0 < b * h; i0++)
    for (int64_t i = 0; i < q; i++)
      for (int64_t j = 0; j < k; j++)
        for (int64_t t = 0; t < d; t++)
          want[(i0 * q + i) * k + j] += qm[(i0 * q + i) * d + t] * km[(i0 * k + j) * d + t];
  expect_close("bhqd,bhkd->bhqk", r.out[0].data, want, OCTET_DTYPE_FLOAT, (size_t)(b * h * q * k), 1e-5, 1e-5);
  free_result(&r);

  /* "bij,bjk->bik" through the int64 path must be exact. */
  int64_t x[2 * 2 * 3], y[2 * 3 * 2], wz[2 * 2 * 2] = {0};
  for (int i = 0; i < 12; i++) x[i] = i - 4, y[i] = 3 * i - 7;
  for (int bb = 0; bb < 2; bb++)
    for (int i = 0; i < 2; i++)
      for (int kk = 0; kk < 2; kk++)
        for (int j = 0; j < 3; j++) wz[(bb * 2 + i) * 2 + kk] += x[(bb * 2 + i) * 3 + j] * y[(bb * 3 + j) * 2 + kk];
  octet_tensor tx = {.dtype = OCTET_DTYPE_INT64, .rank = 3, .dims = {2, 2, 3}, .data = x};
  octet_tensor ty = {.dtype = OCTET_DTYPE_INT64, .rank = 3, .dims = {2, 3, 2}, .data = y};
  const octet_tensor *in2[2] = {&tx, &ty};
  const char *eq2 = "bij,bjk->bik";
  octet_attr a2 = {.name = "equation", .type = OCTET_ATTR_STRING, .s = eq2, .s_len = strlen(eq2)};
  run_result r2 = run_op("Einsum", 12, &a2, 1, in2, 2, 1, 0);
  assert_int_equal(r2.run_st, OCTET_OK);
  assert_memory_equal(r2.out[0].data, wz, sizeof wz);
  free_result(&r2);
  free(qm), free(km), free(want);
}

static void einsum_unary_patterns_match_loops(void **s) {
  float m[4 * 4];
  for (int i = 0; i < 16; i++) m[i] = (float)(i * i % 7) - 2.5f;
  octet_tensor tm = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {4, 4}, .data = m};
  const octet_tensor *in[1] = {&tm};
  struct { const char *eq; int rank; float want[16]; } cases[4];
  memset(cases, 0, sizeof cases);
  cases[0].eq = "ij->ji", cases[0].rank = 2;
  cases[1].eq = "ij->i", cases[1].rank = 1;
  cases[2].eq = "ii->i", cases[2].rank = 1;
  cases[3].eq = "ii", cases[3].rank = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      cases[0].want[j * 4 + i] = m[i * 4 + j];
      cases[1].want[i] += m[i * 4 + j];
    }
  for (int i = 0; i < 4; i++) cases[2].want[i] = m[i * 5], cases[3].want[0] += m[i * 5];
  for (int c = 0; c < 4; c++) {
    octet_attr a = {.name = "equation", .type = OCTET_ATTR_STRING, .s = cases[c].eq, .s_len = strlen(cases[c].eq)};
    run_result r = run_op("Einsum", 12, &a, 1, in, 1, 1, 0);
    assert_int_equal(r.run_st, OCTET_OK);
    assert_int_equal(r.out[0].rank, cases[c].rank);
    expect_close(cases[c].eq, r.out[0].data, cases[c].want, OCTET_DTYPE_FLOAT,
                 octet_tensor_numel(&r.out[0]), 1e-6, 1e-6);
    free_result(&r);
  }
}

static void einsum_rejects_mismatched_terms_and_dims(void **s) {
  float v[6] = {0};
  octet_tensor a = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {2, 3}, .data = v};
  octet_tensor b = {.dtype = OCTET_DTYPE_FLOAT, .rank = 2, .dims = {2, 3}, .data = v};
  const octet_tensor *in[2] = {&a, &b};
  const char *eq1 = "ij->ij", *eq2 = "ij,jk->ik", *eq3 = "ij,jk->iz";
  octet_attr a1 = {.name = "equation", .type = OCTET_ATTR_STRING, .s = eq1, .s_len = 6};
  run_result r1 = run_op("Einsum", 12, &a1, 1, in, 2, 1, 0);
  assert_int_equal(r1.create_st, OCTET_STATUS_INVALID_MODEL);
  octet_attr a2 = {.name = "equation", .type = OCTET_ATTR_STRING, .s = eq2, .s_len = 9};
  run_result r2 = run_op("Einsum", 12, &a2, 1, in, 2, 1, 0);
  assert_int_equal(r2.infer_st, OCTET_STATUS_INVALID_ARGUMENT);
  octet_attr a3 = {.name = "equation", .type = OCTET_ATTR_STRING, .s = eq3, .s_len = 9};
  run_result r3 = run_op("Einsum", 12, &a3, 1, in, 2, 1, 0);
  assert_int_equal(r3.create_st, OCTET_STATUS_INVALID_MODEL);
}

int main(void) {
  static const struct CMUnitTest fixed[] = {
    cmocka_unit_test(lstm_matches_reference_in_every_direction_and_option),
    cmocka_unit_test(gru_matches_reference_with_and_without_linear_before_reset),
    cmocka_unit_test(rnn_matches_reference_in_every_direction),
    cmocka_unit_test(lstm_state_carried_across_calls_equals_one_long_sequence),
    cmocka_unit_test(recurrent_ops_reject_bad_attributes_and_lengths),
    cmocka_unit_test(einsum_batched_matmul_and_attention_match_loops),
    cmocka_unit_test(einsum_unary_patterns_match_loops),
    cmocka_unit_test(einsum_rejects_mismatched_terms_and_dims),
  };
  enum { NF = sizeof fixed / sizeof fixed[0], NX = sizeof fx_cases / sizeof fx_cases[0] };
  static struct CMUnitTest tests[NF + NX];
  static char names[NX][96];
  memcpy(tests, fixed, sizeof fixed);
  for (size_t i = 0; i < NX; i++) {
    snprintf(names[i], sizeof names[i], "%s_matches_%s", fx_cases[i].name,
             strncmp(fx_cases[i].name, "onnx_", 5) ? "onnx_runtime" : "onnx_node_test");
    tests[NF + i] = (struct CMUnitTest){.name = names[i], .test_func = fixture_matches_reference_numbers,
                                        .initial_state = (void *)&fx_cases[i]};
  }
  return _cmocka_run_group_tests("rnn", tests, NF + NX, NULL, NULL);
}
