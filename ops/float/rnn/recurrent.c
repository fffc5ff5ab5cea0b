/* recurrent.c — the ONNX recurrent layers LSTM, GRU and RNN (opsets 1..17) in float32.
 * One driver serves the three cells: the input projection of every time step is one GEMM,
 * then each step does one recurrent GEMM over the batch and the cell's elementwise update. */
#include <math.h>
#include <stdio.h>

#include "ops/float/rnn/rnn-activation.h"
#include "ops/gemm/sgemm.h"
#include "ops/kernel-util.h"

typedef enum cell_kind { CELL_RNN, CELL_GRU, CELL_LSTM } cell_kind;
typedef enum rnn_direction { DIR_FORWARD, DIR_REVERSE, DIR_BIDIRECTIONAL } rnn_direction;

/* Input slots shared by the three ops. */
enum { IN_X, IN_W, IN_R, IN_B, IN_SEQ, IN_H0, IN_C0, IN_P };

typedef struct rnn_state {
  cell_kind cell;
  size_t gates; /* 1 (RNN), 3 (GRU: z r h), 4 (LSTM: i o f c) */
  int64_t hidden_attr; /* 0 when absent: taken from R */
  rnn_direction direction;
  size_t n_dirs;
  int64_t layout;
  bool has_clip;
  float clip;
  bool input_forget;
  bool linear_before_reset;
  rnn_act acts[2][3];
  /* W and R packed as GEMM B panels when they were constant at create: per direction, pw is
   * W^T [I, G*H]; pr[0] is R^T over the gate columns of the first recurrent GEMM ([H, G*H], or
   * [H, 2H] for GRU without linear_before_reset) and pr[1] the GRU h block ([H, H]). */
  const octet_sgemm_ukernel *uk;
  float *pw, *pr[2];
  size_t pw_size, pr_size[2]; /* floats per direction */
  int64_t packed_input, packed_hidden;
  char node[96];
  const char *op;
} rnn_state;

static void rnn_destroy_impl(void *p) {
  rnn_state *s = p;
  if (!s) return;
  octet_free(s->pw);
  octet_free(s->pr[0]);
  octet_free(s->pr[1]);
  octet_free(s);
}

/* Packs, for each of n_dirs directions, op(B) = M_d^T where M_d is the [n, k] block of rows
 * [row0, row0 + n) of src's [rows, k] matrix d: the B operand of x · M_d^T. */
static float *pack_per_dir(const octet_sgemm_ukernel *uk, const float *src, size_t n_dirs,
                           size_t rows, size_t row0, size_t n, size_t k, size_t *per_dir) {
  size_t one = octet_sgemm_packed_b_size(uk, k, n), total;
  if ((one == 0 && k * n != 0) || !octet_mul_size(one, n_dirs, &total) ||
      !octet_mul_size(total, sizeof(float), &total))
    return NULL;
  float *dst = octet_malloc(total ? total : 1);
  if (!dst) return NULL;
  for (size_t d = 0; d < n_dirs; d++)
    octet_sgemm_pack_b(uk, true, k, n, src + (d * rows + row0) * k, k, dst + d * one);
  *per_dir = one;
  return dst;
}

static octet_status rnn_create_common(const octet_kernel_info *info, int32_t *out_dtypes,
                                      void **state, octet_error *err, cell_kind cell) {
  size_t max_in = cell == CELL_LSTM ? 8 : 6;
  octet_status st = octet_k_expect_inputs(info, 3, max_in, err);
  if (st) return st;
  for (size_t i = 0; i < info->n_inputs; i++) {
    if (info->input_dtypes[i] == OCTET_DTYPE_UNDEFINED) continue;
    uint32_t allowed = i == IN_SEQ ? (OCTET_DT(INT32) | OCTET_DT(INT64)) : OCTET_DT(FLOAT);
    if ((st = octet_k_expect_dtype(info, i, allowed, err))) return st;
  }
  size_t max_out = cell == CELL_LSTM ? 3 : 2;
  if (info->n_outputs > max_out)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): has %zu outputs, at most %zu",
                      info->node_name, info->op_type, info->n_outputs, max_out);

  rnn_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  s->cell = cell;
  s->gates = cell == CELL_LSTM ? 4 : (cell == CELL_GRU ? 3 : 1);
  s->op = cell == CELL_LSTM ? "LSTM" : (cell == CELL_GRU ? "GRU" : "RNN");
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");

  const char *dir;
  int64_t hidden, layout, input_forget, lbr;
  const octet_attr *clip = octet_attr_find(info, "clip");
  if ((st = octet_attr_int(info, "hidden_size", 0, &hidden, err)) ||
      (st = octet_attr_string(info, "direction", "forward", &dir, err)) ||
      (st = octet_attr_int(info, "layout", 0, &layout, err)) ||
      (st = octet_attr_int(info, "input_forget", 0, &input_forget, err)) ||
      (st = octet_attr_int(info, "linear_before_reset", 0, &lbr, err)) ||
      (clip && (st = octet_attr_float(info, "clip", 0.0f, &s->clip, err))))
    goto fail;
  if (hidden < 0 || (layout != 0 && layout != 1)) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                    "node '%s' (%s): hidden_size %lld / layout %lld out of range", info->node_name,
                    s->op, (long long)hidden, (long long)layout);
    goto fail;
  }
  s->hidden_attr = hidden;
  s->layout = layout;
  s->input_forget = input_forget != 0;
  s->linear_before_reset = lbr != 0;
  s->has_clip = clip != NULL;
  if (s->has_clip && !(s->clip > 0.0f)) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): clip must be > 0",
                    info->node_name, s->op);
    goto fail;
  }
  if (!strcmp(dir, "forward")) s->direction = DIR_FORWARD;
  else if (!strcmp(dir, "reverse")) s->direction = DIR_REVERSE;
  else if (!strcmp(dir, "bidirectional")) s->direction = DIR_BIDIRECTIONAL;
  else {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): unknown direction '%s'",
                    info->node_name, s->op, dir);
    goto fail;
  }
  s->n_dirs = s->direction == DIR_BIDIRECTIONAL ? 2 : 1;

  static const rnn_act_kind lstm_defaults[3] = {RNN_ACT_SIGMOID, RNN_ACT_TANH, RNN_ACT_TANH};
  static const rnn_act_kind gru_defaults[2] = {RNN_ACT_SIGMOID, RNN_ACT_TANH};
  static const rnn_act_kind rnn_defaults[1] = {RNN_ACT_TANH};
  const rnn_act_kind *defaults = cell == CELL_LSTM ? lstm_defaults : (cell == CELL_GRU ? gru_defaults : rnn_defaults);
  size_t n_acts = cell == CELL_LSTM ? 3 : (cell == CELL_GRU ? 2 : 1);
  if ((st = rnn_parse_activations(info, s->n_dirs, n_acts, defaults, s->acts, err))) goto fail;

  /* Pre-transpose constant weights so the GEMMs read them row-major as [K, N]. */
  const octet_tensor *w = info->constant_inputs ? info->constant_inputs[IN_W] : NULL;
  const octet_tensor *r = info->constant_inputs ? info->constant_inputs[IN_R] : NULL;
  if (w && r && w->rank == 3 && r->rank == 3 && w->dtype == OCTET_DTYPE_FLOAT &&
      r->dtype == OCTET_DTYPE_FLOAT && w->dims[0] == (int64_t)s->n_dirs &&
      r->dims[0] == (int64_t)s->n_dirs && w->dims[1] == r->dims[1] && r->dims[1] > 0 &&
      r->dims[1] == (int64_t)s->gates * r->dims[2] && w->dims[2] >= 0) {
    size_t GH = (size_t)r->dims[1], H = (size_t)r->dims[2], I = (size_t)w->dims[2];
    bool split = cell == CELL_GRU && !s->linear_before_reset;
    s->uk = octet_sgemm_ukernel_select();
    s->pw = pack_per_dir(s->uk, w->data, s->n_dirs, GH, 0, GH, I, &s->pw_size);
    s->pr[0] = pack_per_dir(s->uk, r->data, s->n_dirs, GH, 0, split ? 2 * H : GH, H, &s->pr_size[0]);
    if (split) s->pr[1] = pack_per_dir(s->uk, r->data, s->n_dirs, GH, 2 * H, H, H, &s->pr_size[1]);
    if (!s->pw || !s->pr[0] || (split && !s->pr[1])) {
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s' (%s): out of memory packing weights",
                      info->node_name, s->op);
      goto fail;
    }
    s->packed_input = w->dims[2];
    s->packed_hidden = r->dims[2];
  }
  for (size_t i = 0; i < info->n_outputs; i++) out_dtypes[i] = OCTET_DTYPE_FLOAT;
  *state = s;
  return OCTET_OK;
fail:
  rnn_destroy_impl(s);
  return st;
}

/* Shapes of one call, derived from the inputs. */
typedef struct rnn_dims {
  size_t T, B, I, H, D, G;
} rnn_dims;

static const octet_tensor *opt_in(const octet_tensor *const *in, size_t n_in, size_t i) {
  return i < n_in ? in[i] : NULL;
}

static octet_status bad_shape(const rnn_state *s, const char *what, octet_error *err) {
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): %s", s->node, s->op, what);
}

static octet_status rnn_check_dims(const rnn_state *s, const octet_tensor *const *in, size_t n_in,
                                   rnn_dims *d, octet_error *err) {
  const octet_tensor *x = in[IN_X], *w = in[IN_W], *r = in[IN_R];
  if (!x || !w || !r) return bad_shape(s, "X, W and R are required", err);
  if (x->rank != 3 || w->rank != 3 || r->rank != 3) return bad_shape(s, "X, W and R must be 3-D", err);
  for (int i = 0; i < 3; i++)
    if (x->dims[i] < 0 || w->dims[i] < 0 || r->dims[i] < 0) return bad_shape(s, "negative dim", err);
  d->T = (size_t)(s->layout ? x->dims[1] : x->dims[0]);
  d->B = (size_t)(s->layout ? x->dims[0] : x->dims[1]);
  d->I = (size_t)x->dims[2];
  d->H = s->hidden_attr ? (size_t)s->hidden_attr : (size_t)r->dims[2];
  d->D = s->n_dirs;
  d->G = s->gates;
  if ((size_t)w->dims[0] != d->D || (size_t)r->dims[0] != d->D)
    return bad_shape(s, "W and R must have num_directions as dim 0 (2 when bidirectional)", err);
  if ((size_t)w->dims[1] != d->G * d->H || (size_t)r->dims[1] != d->G * d->H ||
      (size_t)r->dims[2] != d->H)
    return bad_shape(s, "W is [D, gates*hidden, input] and R is [D, gates*hidden, hidden]: "
                        "dims disagree with hidden_size", err);
  if ((size_t)w->dims[2] != d->I) return bad_shape(s, "W's last dim must equal X's input size", err);
  const octet_tensor *b = opt_in(in, n_in, IN_B);
  if (b && (b->rank != 2 || (size_t)b->dims[0] != d->D || (size_t)b->dims[1] != 2 * d->G * d->H))
    return bad_shape(s, "B must be [num_directions, 2*gates*hidden]", err);
  const octet_tensor *seq = opt_in(in, n_in, IN_SEQ);
  if (seq && (seq->rank != 1 || (size_t)seq->dims[0] != d->B))
    return bad_shape(s, "sequence_lens must be [batch_size]", err);
  for (size_t i = IN_H0; i <= IN_C0; i++) {
    const octet_tensor *h0 = opt_in(in, n_in, i);
    if (!h0 || (i == IN_C0 && s->cell != CELL_LSTM)) continue;
    size_t d0 = s->layout ? d->B : d->D, d1 = s->layout ? d->D : d->B;
    if (h0->rank != 3 || (size_t)h0->dims[0] != d0 || (size_t)h0->dims[1] != d1 ||
        (size_t)h0->dims[2] != d->H)
      return bad_shape(s, s->layout ? "initial_h/initial_c must be [batch, num_directions, hidden]"
                                    : "initial_h/initial_c must be [num_directions, batch, hidden]",
                       err);
  }
  const octet_tensor *p = s->cell == CELL_LSTM ? opt_in(in, n_in, IN_P) : NULL;
  if (p && (p->rank != 2 || (size_t)p->dims[0] != d->D || (size_t)p->dims[1] != 3 * d->H))
    return bad_shape(s, "P must be [num_directions, 3*hidden]", err);
  if (s->pw && ((size_t)s->packed_input != d->I || (size_t)s->packed_hidden != d->H))
    return bad_shape(s, "constant weights disagree with the inputs", err);
  return OCTET_OK;
}

/* Workspace, in floats: xproj [T*B, G*H], gates [B, G*H], h [B,H], c [B,H], bias [2*G*H],
 * GRU: rh [B,H] and hh [B,H]. */
static bool rnn_workspace_floats(const rnn_dims *d, size_t *n) {
  size_t gh, tb, a, b;
  if (!octet_mul_size(d->G, d->H, &gh) || !octet_mul_size(d->T, d->B, &tb) ||
      !octet_mul_size(tb, gh, &a) || !octet_mul_size(d->B, gh, &b))
    return false;
  size_t bh;
  if (!octet_mul_size(d->B, d->H, &bh)) return false;
  size_t total = a;
  if (!octet_add_size(total, b, &total) || !octet_add_size(total, 4 * bh, &total) ||
      !octet_add_size(total, 2 * gh, &total) || !octet_add_size(total, 16, &total))
    return false;
  *n = total;
  return true;
}

static octet_status rnn_infer_impl(void *state, const octet_tensor *const *in, size_t n_in,
                                   octet_tensor *out, size_t n_out, size_t *workspace,
                                   octet_error *err) {
  rnn_state *s = state;
  rnn_dims d;
  octet_status st = rnn_check_dims(s, in, n_in, &d, err);
  if (st) return st;
  size_t nf;
  if (!rnn_workspace_floats(&d, &nf) || !octet_mul_size(nf, sizeof(float), workspace))
    return bad_shape(s, "workspace size overflows", err);
  for (size_t i = 0; i < n_out; i++) {
    out[i].dtype = OCTET_DTYPE_FLOAT;
    if (i == 0) {
      out[i].rank = 4;
      int64_t y[4] = {(int64_t)d.T, (int64_t)d.D, (int64_t)d.B, (int64_t)d.H};
      int64_t y1[4] = {(int64_t)d.B, (int64_t)d.T, (int64_t)d.D, (int64_t)d.H};
      memcpy(out[i].dims, s->layout ? y1 : y, sizeof y);
    } else {
      out[i].rank = 3;
      out[i].dims[0] = (int64_t)(s->layout ? d.B : d.D);
      out[i].dims[1] = (int64_t)(s->layout ? d.D : d.B);
      out[i].dims[2] = (int64_t)d.H;
    }
  }
  return OCTET_OK;
}

/* Everything a direction's step loop needs. */
typedef struct rnn_pass {
  const rnn_state *s;
  rnn_dims d;
  size_t dir;
  bool reverse;
  const float *r;          /* this direction's R ([G*H, H]) when not pre-packed */
  const float *r_packed[2]; /* this direction's packed R blocks (see rnn_state.pr) */
  const float *p;   /* peepholes [3H] or NULL */
  float *xproj, *gates, *h, *c, *bias, *rh, *hh;
  const octet_tensor *seq;
  const octet_host *host;
} rnn_pass;

static size_t seq_len_of(const rnn_pass *ps, size_t b) {
  return ps->seq ? (size_t)octet_k_get_int(ps->seq, b) : ps->d.T;
}

/* out[b] = hin[b] · R_blk^T for the gate-column block [col0, col0 + ncols) of R; block is 0
 * for the block starting at column 0 and 1 for GRU's h block. */
static void recurrent_gemm(const rnn_pass *ps, int block, const float *hin, size_t col0,
                           size_t ncols, float *outp, size_t ldo) {
  const size_t H = ps->d.H;
  if (ps->r_packed[block]) {
    octet_sgemm_operand a = {.data = hin, .ld = H}, b = {.packed = ps->r_packed[block]};
    octet_sgemm_run(ps->s->uk, ps->d.B, ncols, H, 1.0f, &a, &b, 0.0f, outp, ldo, NULL, ps->host);
  } else {
    octet_sgemm(false, true, ps->d.B, ncols, H, 1.0f, hin, H, ps->r + col0 * H, H, 0.0f, outp, ldo,
                ps->host);
  }
}

static inline void clip_n(const rnn_state *s, float *x, size_t n) {
  if (!s->has_clip) return;
  for (size_t i = 0; i < n; i++) x[i] = rnn_clip(x[i], s->clip);
}

static size_t x_row(const rnn_pass *ps, size_t t, size_t b) {
  return ps->s->layout ? b * ps->d.T + t : t * ps->d.B + b;
}

static void write_y(const rnn_pass *ps, float *y, size_t t, size_t b, const float *hv) {
  if (!y) return;
  const rnn_dims *d = &ps->d;
  size_t off = ps->s->layout ? ((b * d->T + t) * d->D + ps->dir) * d->H
                             : ((t * d->D + ps->dir) * d->B + b) * d->H;
  memcpy(y + off, hv, d->H * sizeof(float));
}

static void run_steps(rnn_pass *ps, float *y) {
  const rnn_state *s = ps->s;
  const size_t H = ps->d.H, G = ps->d.G, GH = G * H, B = ps->d.B, T = ps->d.T;
  const rnn_act *acts = s->acts[ps->dir];
  for (size_t step = 0; step < T; step++) {
    bool any = false;
    for (size_t b = 0; b < B && !any; b++) any = step < seq_len_of(ps, b);
    if (!any) break;
    bool gru_split = s->cell == CELL_GRU && !s->linear_before_reset;
    recurrent_gemm(ps, 0, ps->h, 0, gru_split ? 2 * H : GH, ps->gates, GH);
    for (size_t b = 0; b < B; b++) {
      size_t len = seq_len_of(ps, b);
      float *g = ps->gates + b * GH, *hb = ps->h + b * H;
      if (step >= len) {
        if (gru_split) memset(ps->rh + b * H, 0, H * sizeof(float));
        continue;
      }
      size_t t = ps->reverse ? len - 1 - step : step;
      const float *xr = ps->xproj + x_row(ps, t, b) * GH;
      if (s->cell == CELL_RNN) {
        for (size_t j = 0; j < H; j++) g[j] += xr[j] + ps->bias[j] + ps->bias[GH + j];
        clip_n(s, g, H);
        rnn_act_apply(&acts[0], g, H);
        memcpy(hb, g, H * sizeof(float));
        write_y(ps, y, t, b, hb);
      } else if (s->cell == CELL_LSTM) {
        float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H, *cb = ps->c + b * H;
        for (size_t j = 0; j < GH; j++) g[j] += xr[j] + ps->bias[j] + ps->bias[GH + j];
        if (ps->p)
          for (size_t j = 0; j < H; j++) {
            gi[j] += ps->p[j] * cb[j];
            gf[j] += ps->p[2 * H + j] * cb[j];
          }
        clip_n(s, gi, H);
        rnn_act_apply(&acts[0], gi, H);
        if (s->input_forget) {
          for (size_t j = 0; j < H; j++) gf[j] = 1.0f - gi[j];
        } else {
          clip_n(s, gf, H);
          rnn_act_apply(&acts[0], gf, H);
        }
        clip_n(s, gc, H);
        rnn_act_apply(&acts[1], gc, H);
        for (size_t j = 0; j < H; j++) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
        if (ps->p)
          for (size_t j = 0; j < H; j++) go[j] += ps->p[H + j] * cb[j];
        clip_n(s, go, H);
        rnn_act_apply(&acts[0], go, H);
        /* h(C) goes through gc's storage: the candidate is no longer needed. */
        memcpy(gc, cb, H * sizeof(float));
        rnn_act_apply(&acts[2], gc, H);
        for (size_t j = 0; j < H; j++) hb[j] = go[j] * gc[j];
        write_y(ps, y, t, b, hb);
      } else { /* GRU */
        const float *wb = ps->bias, *rb = ps->bias + GH;
        float *gz = g, *gr = g + H;
        for (size_t j = 0; j < 2 * H; j++) g[j] += xr[j] + wb[j] + rb[j];
        clip_n(s, g, 2 * H);
        rnn_act_apply(&acts[0], g, 2 * H);
        if (gru_split) {
          for (size_t j = 0; j < H; j++) ps->rh[b * H + j] = gr[j] * hb[j];
        } else {
          float *gh = g + 2 * H;
          for (size_t j = 0; j < H; j++)
            gh[j] = xr[2 * H + j] + wb[2 * H + j] + gr[j] * (gh[j] + rb[2 * H + j]);
          clip_n(s, gh, H);
          rnn_act_apply(&acts[1], gh, H);
          for (size_t j = 0; j < H; j++) hb[j] = (1.0f - gz[j]) * gh[j] + gz[j] * hb[j];
          write_y(ps, y, t, b, hb);
        }
      }
    }
    if (gru_split) {
      /* ht = g(Xt·Wh^T + (rt ⊙ Ht-1)·Rh^T + Rbh + Wbh): needs every row's r first. */
      recurrent_gemm(ps, 1, ps->rh, 2 * H, H, ps->hh, H);
      const float *wb = ps->bias, *rb = ps->bias + GH;
      for (size_t b = 0; b < B; b++) {
        size_t len = seq_len_of(ps, b);
        if (step >= len) continue;
        size_t t = ps->reverse ? len - 1 - step : step;
        const float *xr = ps->xproj + x_row(ps, t, b) * GH;
        float *hh = ps->hh + b * H, *hb = ps->h + b * H, *gz = ps->gates + b * GH;
        for (size_t j = 0; j < H; j++) hh[j] += xr[2 * H + j] + wb[2 * H + j] + rb[2 * H + j];
        clip_n(s, hh, H);
        rnn_act_apply(&acts[1], hh, H);
        for (size_t j = 0; j < H; j++) hb[j] = (1.0f - gz[j]) * hh[j] + gz[j] * hb[j];
        write_y(ps, y, t, b, hb);
      }
    }
  }
}

static octet_status rnn_run_impl(void *state, const octet_tensor *const *in, size_t n_in,
                                 octet_tensor *out, size_t n_out, void *ws, const octet_host *host,
                                 octet_error *err) {
  rnn_state *s = state;
  rnn_dims d;
  octet_status st = rnn_check_dims(s, in, n_in, &d, err);
  if (st) return st;
  const octet_tensor *x = in[IN_X], *w = in[IN_W], *r = in[IN_R];
  const octet_tensor *bt = opt_in(in, n_in, IN_B), *seq = opt_in(in, n_in, IN_SEQ);
  const octet_tensor *h0 = opt_in(in, n_in, IN_H0);
  const octet_tensor *c0 = s->cell == CELL_LSTM ? opt_in(in, n_in, IN_C0) : NULL;
  const octet_tensor *pt = s->cell == CELL_LSTM ? opt_in(in, n_in, IN_P) : NULL;
  if (seq)
    for (size_t b = 0; b < d.B; b++) {
      int64_t len = octet_k_get_int(seq, b);
      if (len < 0 || (size_t)len > d.T)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "node '%s' (%s): sequence_lens[%zu] = %lld is outside [0, %zu]", s->node,
                          s->op, b, (long long)len, d.T);
    }
  const size_t H = d.H, GH = d.G * d.H, B = d.B, T = d.T, D = d.D;
  float *y = n_out > 0 ? out[0].data : NULL;
  float *yh = n_out > 1 ? out[1].data : NULL;
  float *yc = n_out > 2 && s->cell == CELL_LSTM ? out[2].data : NULL;
  /* Steps past a sequence's length stay zero in Y. */
  if (y) memset(y, 0, T * D * B * H * sizeof(float));

  rnn_pass ps = {.s = s, .d = d, .seq = seq, .host = host};
  float *f = ws;
  ps.xproj = f; f += T * B * GH;
  ps.gates = f; f += B * GH;
  ps.h = f; f += B * H;
  ps.c = f; f += B * H;
  ps.rh = f; f += B * H;
  ps.hh = f; f += B * H;
  ps.bias = f;

  for (size_t dir = 0; dir < D; dir++) {
    ps.dir = dir;
    ps.reverse = s->direction == DIR_REVERSE || dir == 1;
    if (T * B > 0 && GH > 0) {
      if (s->pw) {
        octet_sgemm_operand a = {.data = x->data, .ld = d.I}, b = {.packed = s->pw + dir * s->pw_size};
        octet_sgemm_run(s->uk, T * B, GH, d.I, 1.0f, &a, &b, 0.0f, ps.xproj, GH, NULL, host);
      } else
        octet_sgemm(false, true, T * B, GH, d.I, 1.0f, x->data, d.I,
                    (const float *)w->data + dir * GH * d.I, d.I, 0.0f, ps.xproj, GH, host);
    }
    ps.r = (const float *)r->data + dir * GH * H;
    for (int k = 0; k < 2; k++) ps.r_packed[k] = s->pr[k] ? s->pr[k] + dir * s->pr_size[k] : NULL;
    if (bt) memcpy(ps.bias, (const float *)bt->data + dir * 2 * GH, 2 * GH * sizeof(float));
    else memset(ps.bias, 0, 2 * GH * sizeof(float));
    ps.p = pt ? (const float *)pt->data + dir * 3 * H : NULL;
    for (size_t b = 0; b < B; b++) {
      size_t off = s->layout ? (b * D + dir) * H : (dir * B + b) * H;
      if (h0) memcpy(ps.h + b * H, (const float *)h0->data + off, H * sizeof(float));
      else memset(ps.h + b * H, 0, H * sizeof(float));
      if (c0) memcpy(ps.c + b * H, (const float *)c0->data + off, H * sizeof(float));
      else memset(ps.c + b * H, 0, H * sizeof(float));
    }
    run_steps(&ps, y);
    for (size_t b = 0; b < B; b++) {
      size_t off = s->layout ? (b * D + dir) * H : (dir * B + b) * H;
      /* A sequence of length 0 has no last state: ONNX Runtime outputs zeros there. */
      bool empty = seq_len_of(&ps, b) == 0;
      if (yh) {
        if (empty) memset(yh + off, 0, H * sizeof(float));
        else memcpy(yh + off, ps.h + b * H, H * sizeof(float));
      }
      if (yc) {
        if (empty) memset(yc + off, 0, H * sizeof(float));
        else memcpy(yc + off, ps.c + b * H, H * sizeof(float));
      }
    }
  }
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_lstm_create) { return rnn_create_common(info, out_dtypes, state, err, CELL_LSTM); }
OCTET_K_CREATE(octet_k_gru_create) { return rnn_create_common(info, out_dtypes, state, err, CELL_GRU); }
OCTET_K_CREATE(octet_k_rnn_create) { return rnn_create_common(info, out_dtypes, state, err, CELL_RNN); }
OCTET_K_INFER(octet_k_rnn_infer) { return rnn_infer_impl(state, in, n_in, out, n_out, workspace, err); }
OCTET_K_RUN(octet_k_rnn_run) { return rnn_run_impl(state, in, n_in, out, n_out, ws, host, err); }
void octet_k_rnn_destroy(void *state) { rnn_destroy_impl(state); }
