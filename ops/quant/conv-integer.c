/* conv-integer.c — ConvInteger and QLinearConv (any spatial rank, groups, depthwise, strides,
 * dilations, pads, auto_pad, per-channel weights): im2col of each group's input into rows of
 * output pixels, the qgemm core against weights packed at create, then the requantizing
 * epilogue writing NCHW. */
#include <stdio.h>

#include "ops/quant/qgemm.h"
#include "ops/quant/quant-util.h"

#define CONV_MAX_SPATIAL (OCTET_MAX_RANK - 2)

typedef struct conv_state {
  octet_q_node node;
  bool qlinear;
  size_t i_x, i_w, i_xzp, i_wzp, i_xs, i_ws, i_ys, i_yzp, i_b;
  int32_t y_dt;
  int64_t group;
  char auto_pad[16];
  size_t n_kernel, n_strides, n_dil, n_pads;
  int64_t kernel[CONV_MAX_SPATIAL], strides[CONV_MAX_SPATIAL], dil[CONV_MAX_SPATIAL];
  int64_t pads[2 * CONV_MAX_SPATIAL];
  bool prepacked;
  void *pack_mem;
  octet_qgemm_packed *packed; /* one per group */
} conv_state;

typedef struct conv_geom {
  size_t N, C, M, G, Cg, Mg, S, Kg, P, in_sp;
  int64_t in[CONV_MAX_SPATIAL], k[CONV_MAX_SPATIAL], out[CONV_MAX_SPATIAL];
  int64_t s[CONV_MAX_SPATIAL], d[CONV_MAX_SPATIAL], pb[CONV_MAX_SPATIAL];
} conv_geom;

static octet_status conv_bad(const conv_state *s, octet_error *err, const char *what) {
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): %s", s->node.name,
                    s->node.op, what);
}

static octet_status conv_geom_of(const conv_state *s, const octet_tensor *x, const octet_tensor *w,
                                 conv_geom *g, octet_error *err) {
  memset(g, 0, sizeof *g);
  if (x->rank < 3 || w->rank != x->rank) return conv_bad(s, err, "X and W must have the same rank >= 3");
  g->S = (size_t)x->rank - 2;
  g->N = (size_t)x->dims[0], g->C = (size_t)x->dims[1], g->M = (size_t)w->dims[0];
  g->G = (size_t)s->group;
  if (g->G == 0 || g->C % g->G || g->M % g->G) return conv_bad(s, err, "channels are not divisible by group");
  g->Cg = g->C / g->G, g->Mg = g->M / g->G;
  if ((size_t)w->dims[1] != g->Cg) return conv_bad(s, err, "W's second dimension must be C / group");
  if ((s->n_kernel && s->n_kernel != g->S) || (s->n_strides && s->n_strides != g->S) ||
      (s->n_dil && s->n_dil != g->S) || (s->n_pads && s->n_pads != 2 * g->S))
    return conv_bad(s, err, "kernel_shape/strides/dilations/pads do not match the spatial rank");
  g->Kg = g->Cg, g->P = 1, g->in_sp = 1;
  for (size_t i = 0; i < g->S; i++) {
    g->in[i] = x->dims[2 + i];
    g->k[i] = w->dims[2 + i];
    if (s->n_kernel && s->kernel[i] != g->k[i]) return conv_bad(s, err, "kernel_shape differs from W's shape");
    g->s[i] = s->n_strides ? s->strides[i] : 1;
    g->d[i] = s->n_dil ? s->dil[i] : 1;
    if (g->s[i] < 1 || g->d[i] < 1) return conv_bad(s, err, "strides and dilations must be >= 1");
    int64_t ext = (g->k[i] - 1) * g->d[i] + 1, pb = 0, pe = 0, o;
    if (!strcmp(s->auto_pad, "SAME_UPPER") || !strcmp(s->auto_pad, "SAME_LOWER")) {
      o = (g->in[i] + g->s[i] - 1) / g->s[i];
      int64_t total = (o - 1) * g->s[i] + ext - g->in[i];
      if (total < 0) total = 0;
      pb = !strcmp(s->auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (!strcmp(s->auto_pad, "VALID")) {
      pb = pe = 0;
    } else {
      pb = s->n_pads ? s->pads[i] : 0;
      pe = s->n_pads ? s->pads[g->S + i] : 0;
    }
    if (pb < 0 || pe < 0) return conv_bad(s, err, "pads must be >= 0");
    int64_t span = g->in[i] + pb + pe - ext;
    if (span < 0) return conv_bad(s, err, "the kernel is larger than the padded input");
    o = span / g->s[i] + 1;
    g->out[i] = o, g->pb[i] = pb;
    g->Kg *= (size_t)g->k[i];
    g->P *= (size_t)o;
    g->in_sp *= (size_t)g->in[i];
  }
  return OCTET_OK;
}

static octet_status conv_create(const octet_kernel_info *info, bool qlinear, int32_t *out_dtypes,
                                void **state, octet_error *err) {
  conv_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->qlinear = qlinear;
  octet_status st;
  if (qlinear) {
    s->i_x = 0, s->i_xs = 1, s->i_xzp = 2, s->i_w = 3, s->i_ws = 4, s->i_wzp = 5, s->i_ys = 6,
    s->i_yzp = 7, s->i_b = 8;
    if ((st = octet_k_expect_inputs(info, 8, 9, err)) ||
        (st = octet_k_expect_dtype(info, 7, OCTET_DT_Q8, err)))
      goto fail;
    s->y_dt = info->input_dtypes[7];
    if (info->n_inputs > 8 && info->input_dtypes[8] &&
        (st = octet_k_expect_dtype(info, 8, OCTET_DT(INT32), err)))
      goto fail;
  } else {
    s->i_x = 0, s->i_w = 1, s->i_xzp = 2, s->i_wzp = 3;
    s->i_xs = s->i_ws = s->i_ys = s->i_yzp = s->i_b = 99;
    if ((st = octet_k_expect_inputs(info, 2, 4, err))) goto fail;
    s->y_dt = OCTET_DTYPE_INT32;
  }
  if ((st = octet_k_expect_dtype(info, s->i_x, OCTET_DT_Q8, err)) ||
      (st = octet_k_expect_dtype(info, s->i_w, OCTET_DT_Q8, err)))
    goto fail;
  const char *ap;
  const int64_t *v;
  size_t n;
  if ((st = octet_attr_int(info, "group", 1, &s->group, err)) ||
      (st = octet_attr_string(info, "auto_pad", "NOTSET", &ap, err)))
    goto fail;
  snprintf(s->auto_pad, sizeof s->auto_pad, "%s", ap);
  if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID") && strcmp(ap, "SAME_UPPER") && strcmp(ap, "SAME_LOWER")) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): unknown auto_pad '%s'",
                    info->node_name, info->op_type, ap);
    goto fail;
  }
  if (s->group < 1) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): group must be >= 1",
                    info->node_name, info->op_type);
    goto fail;
  }
  struct { const char *name; int64_t *dst; size_t *cnt; size_t max; } lists[] = {
      {"kernel_shape", s->kernel, &s->n_kernel, CONV_MAX_SPATIAL},
      {"strides", s->strides, &s->n_strides, CONV_MAX_SPATIAL},
      {"dilations", s->dil, &s->n_dil, CONV_MAX_SPATIAL},
      {"pads", s->pads, &s->n_pads, 2 * CONV_MAX_SPATIAL}};
  for (size_t i = 0; i < 4; i++) {
    if ((st = octet_attr_ints(info, lists[i].name, &v, &n, err))) goto fail;
    if (n > lists[i].max) {
      st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): %s has %zu values",
                      info->node_name, info->op_type, lists[i].name, n);
      goto fail;
    }
    if (n) memcpy(lists[i].dst, v, n * sizeof *v);
    *lists[i].cnt = n;
  }
  out_dtypes[0] = s->y_dt;

  /* Constant weights (and their zero points): pack every group now. */
  const octet_tensor *w = info->constant_inputs ? info->constant_inputs[s->i_w] : NULL;
  bool has_wzp = s->i_wzp < info->n_inputs && info->input_dtypes[s->i_wzp];
  const octet_tensor *wzp = has_wzp && info->constant_inputs ? info->constant_inputs[s->i_wzp] : NULL;
  if (w && w->rank >= 3 && (!has_wzp || wzp)) {
    size_t M = (size_t)w->dims[0], G = (size_t)s->group, Kg = 1;
    for (int32_t i = 1; i < w->rank; i++) Kg *= (size_t)w->dims[i];
    size_t nz = wzp ? octet_tensor_numel(wzp) : 0, one, total;
    if (M % G == 0 && (!wzp || nz == 1 || nz == M) &&
        octet_qgemm_packed_size(Kg, M / G, &one) && octet_mul_size((one + 63) & ~(size_t)63, G, &total)) {
      size_t Mg = M / G, stride = (one + 63) & ~(size_t)63;
      s->pack_mem = octet_malloc(total ? total : 1);
      s->packed = octet_calloc(G, sizeof *s->packed);
      if (!s->pack_mem || !s->packed) {
        st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing W", info->node_name);
        goto fail;
      }
      for (size_t g = 0; g < G; g++)
        octet_qgemm_pack(&s->packed[g], (char *)s->pack_mem + g * stride, Kg, Mg,
                         (const uint8_t *)w->data + g * Mg * Kg, w->dtype == OCTET_DTYPE_INT8, 1, Kg,
                         wzp ? (const uint8_t *)wzp->data + (nz > 1 ? g * Mg : 0) : NULL,
                         wzp && wzp->dtype == OCTET_DTYPE_INT8, nz > 1 ? Mg : nz);
      s->prepacked = true;
    }
  }
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s->pack_mem);
  octet_free(s->packed);
  octet_free(s);
  return st;
}

void octet_k_qconv_destroy(void *state) {
  conv_state *s = state;
  if (!s) return;
  octet_free(s->pack_mem);
  octet_free(s->packed);
  octet_free(s);
}

OCTET_K_CREATE(octet_k_conv_integer_create) { return conv_create(info, false, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_conv_create) { return conv_create(info, true, out_dtypes, state, err); }

typedef struct conv_ws {
  size_t col, acc, pack, scales, total;
} conv_ws;

static bool conv_ws_layout(const conv_state *s, const conv_geom *g, conv_ws *w) {
  size_t col, acc, pack = 0, total = 0;
  if (!octet_mul_size(g->P, g->Kg, &col) || !octet_mul_size(g->P, g->Mg, &acc) ||
      !octet_mul_size(acc, 4, &acc))
    return false;
  if (!s->prepacked && !octet_qgemm_packed_size(g->Kg, g->Mg, &pack)) return false;
  size_t sizes[4] = {col, acc, pack, g->M * sizeof(float)};
  size_t *offs[4] = {&w->col, &w->acc, &w->pack, &w->scales};
  for (int i = 0; i < 4; i++) {
    *offs[i] = total;
    if (!octet_add_size(total, (sizes[i] + 63) & ~(size_t)63, &total)) return false;
  }
  w->total = total;
  return true;
}

OCTET_K_INFER(octet_k_qconv_infer) {
  conv_state *s = state;
  conv_geom g;
  octet_status st = conv_geom_of(s, in[s->i_x], in[s->i_w], &g, err);
  if (st) return st;
  conv_ws w;
  if (!conv_ws_layout(s, &g, &w)) return conv_bad(s, err, "workspace size overflows");
  out[0].dtype = s->y_dt;
  out[0].rank = in[s->i_x]->rank;
  out[0].dims[0] = (int64_t)g.N;
  out[0].dims[1] = (int64_t)g.M;
  for (size_t i = 0; i < g.S; i++) out[0].dims[2 + i] = g.out[i];
  *workspace = w.total;
  return OCTET_OK;
}

/* Rows of output pixels, columns (c, kernel offset) of group channel block `xc` (Cg channels of
 * one image); positions in the padding read the input zero point so they contribute nothing. */
static void im2col(const conv_geom *g, const uint8_t *xc, uint8_t pad, uint8_t *col, size_t p0,
                   size_t p1) {
  size_t kspat = g->Kg / g->Cg;
  int64_t oc[CONV_MAX_SPATIAL], kc[CONV_MAX_SPATIAL];
  for (size_t p = p0; p < p1; p++) {
    size_t r = p;
    for (size_t i = g->S; i-- > 0;) oc[i] = (int64_t)(r % (size_t)g->out[i]), r /= (size_t)g->out[i];
    uint8_t *row = col + p * g->Kg;
    for (size_t kk = 0; kk < kspat; kk++) {
      size_t q = kk;
      for (size_t i = g->S; i-- > 0;) kc[i] = (int64_t)(q % (size_t)g->k[i]), q /= (size_t)g->k[i];
      bool inside = true;
      size_t off = 0;
      for (size_t i = 0; i < g->S; i++) {
        int64_t pos = oc[i] * g->s[i] - g->pb[i] + kc[i] * g->d[i];
        if (pos < 0 || pos >= g->in[i]) inside = false;
        off = off * (size_t)g->in[i] + (size_t)(inside ? pos : 0);
      }
      for (size_t c = 0; c < g->Cg; c++)
        row[c * kspat + kk] = inside ? xc[c * g->in_sp + off] : pad;
    }
  }
}

/* One (image, group) of a convolution, run over a range of output pixels. */
typedef struct conv_task {
  const conv_state *s;
  const conv_geom *g;
  const uint8_t *xc;
  uint8_t *col;
  int32_t *acc;
  const octet_qgemm_packed *p;
  uint8_t pad;
  bool x_signed;
  int32_t zx, zy;
  const int32_t *bias;
  const float *scales;
  bool per_ch;
  char *y; /* output channel block of this group, NCHW */
} conv_task;

static void conv_rows(void *arg, size_t p0, size_t p1) {
  const conv_task *t = arg;
  const conv_geom *g = t->g;
  im2col(g, t->xc, t->pad, t->col, p0, p1);
  octet_qgemm_ref(p1 - p0, t->col + p0 * g->Kg, t->x_signed, g->Kg, &t->zx, false, t->p,
                  t->acc + p0 * g->Mg, g->Mg);
  /* Epilogue: row p of acc holds this group's output channels of pixel p; NCHW strides by P. */
  for (size_t pix = p0; pix < p1; pix++) {
    const int32_t *row = t->acc + pix * g->Mg;
    if (t->s->qlinear) {
      octet_requant_row(row, t->bias, t->scales, t->per_ch, t->zy, t->s->y_dt, t->y + pix, g->P, g->Mg);
    } else {
      int32_t *yi = (int32_t *)t->y + pix;
      for (size_t j = 0; j < g->Mg; j++) yi[j * g->P] = row[j];
    }
  }
}

OCTET_K_RUN(octet_k_qconv_run) {
  conv_state *s = state;
  const octet_tensor *x = in[s->i_x], *w = in[s->i_w];
  const octet_tensor *xzp = s->i_xzp < n_in ? in[s->i_xzp] : NULL;
  const octet_tensor *wzp = s->i_wzp < n_in ? in[s->i_wzp] : NULL;
  const octet_tensor *xs = s->i_xs < n_in ? in[s->i_xs] : NULL;
  const octet_tensor *wsc = s->i_ws < n_in ? in[s->i_ws] : NULL;
  const octet_tensor *ys = s->i_ys < n_in ? in[s->i_ys] : NULL;
  const octet_tensor *yzp = s->i_yzp < n_in ? in[s->i_yzp] : NULL;
  const octet_tensor *bias = s->i_b < n_in ? in[s->i_b] : NULL;
  conv_geom g;
  octet_status st = conv_geom_of(s, x, w, &g, err);
  if (st) return st;
  conv_ws L;
  if (!conv_ws_layout(s, &g, &L)) return conv_bad(s, err, "workspace size overflows");
  char *wsb = ws;
  uint8_t *col = (uint8_t *)(wsb + L.col);
  int32_t *acc = (int32_t *)(wsb + L.acc);
  float *scales = (float *)(wsb + L.scales);

  if ((st = octet_q_check_zp(&s->node, xzp, 0, x->dtype, "x_zero_point", err))) return st;
  size_t nwz = wzp ? octet_tensor_numel(wzp) : 0;
  if (wzp && (wzp->dtype != w->dtype || (nwz != 1 && nwz != g.M)))
    return conv_bad(s, err, "w_zero_point must have W's type and 1 or M elements");
  bool per_ch = false;
  if (s->qlinear) {
    size_t nws = octet_tensor_numel(wsc);
    if (nws != 1 && nws != g.M) return conv_bad(s, err, "w_scale must have 1 or M elements");
    if ((st = octet_q_check_scale(&s->node, xs, 0, "x_scale", err)) ||
        (st = octet_q_check_scale(&s->node, wsc, nws, "w_scale", err)) ||
        (st = octet_q_check_scale(&s->node, ys, 0, "y_scale", err)) ||
        (st = octet_q_check_zp(&s->node, yzp, 0, s->y_dt, "y_zero_point", err)))
      return st;
    if (bias && (bias->dtype != OCTET_DTYPE_INT32 || octet_tensor_numel(bias) != g.M))
      return conv_bad(s, err, "B must be int32 with M elements");
    float xsv = octet_q_f32(xs, 0), ysv = octet_q_f32(ys, 0);
    for (size_t i = 0; i < nws; i++) scales[i] = xsv * octet_q_f32(wsc, i) / ysv;
    per_ch = nws > 1;
  }
  int32_t zx = xzp ? octet_q_zp(xzp, 0) : 0;
  int32_t zy = yzp ? octet_q_zp(yzp, 0) : 0;
  bool x_signed = x->dtype == OCTET_DTYPE_INT8;
  size_t ysz = octet_dtype_size(s->y_dt);

  for (size_t n = 0; n < g.N; n++) {
    for (size_t gi = 0; gi < g.G; gi++) {
      const uint8_t *xc = (const uint8_t *)x->data + (n * g.C + gi * g.Cg) * g.in_sp;
      const octet_qgemm_packed *p;
      octet_qgemm_packed tmp;
      if (s->prepacked) {
        p = &s->packed[gi];
      } else {
        octet_qgemm_pack(&tmp, wsb + L.pack, g.Kg, g.Mg, (const uint8_t *)w->data + gi * g.Mg * g.Kg,
                         w->dtype == OCTET_DTYPE_INT8, 1, g.Kg,
                         wzp ? (const uint8_t *)wzp->data + (nwz > 1 ? gi * g.Mg : 0) : NULL,
                         wzp && wzp->dtype == OCTET_DTYPE_INT8, nwz > 1 ? g.Mg : nwz);
        p = &tmp;
      }
      conv_task t = {s, &g, xc, col, acc, p, (uint8_t)zx, x_signed, zx, zy,
                     bias ? (const int32_t *)bias->data + gi * g.Mg : NULL,
                     per_ch ? scales + gi * g.Mg : scales, per_ch,
                     (char *)out[0].data + ((n * g.M + gi * g.Mg) * g.P) * ysz};
      /* Output pixels split across the host's threads: every buffer is indexed by pixel. */
      octet_parallel_for(host, g.P, conv_rows, &t);
    }
  }
  return OCTET_OK;
}
