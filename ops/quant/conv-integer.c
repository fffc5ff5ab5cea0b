/* conv-integer.c — ConvInteger and QLinearConv (any spatial rank, groups, depthwise, strides,
 * dilations, pads, auto_pad, per-channel weights): im2col of each group's input into rows of
 * output pixels, the qgemm core against weights packed at create, then the requantizing
 * epilogue writing NCHW. */
#include <stdio.h>

#include "ops/quant/qgemm-dispatch.h"
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
  /* The fast path (qgemm-dispatch.h), chosen at create; NULL runs the reference core. */
  const octet_qgemm_ukernel *uk;
  bool fast_packed;           /* fw holds every group's weights as A panels */
  octet_qgemm_panels *fw;     /* one per group */
  int16_t *dww;               /* depthwise: per channel kh x (kw rounded up to even), w - zw */
  size_t dw_kh, dw_kw;
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

/* ---- the fast path ---- */

/* 2-D view of the geometry for qgemm-dispatch.h (1-D convolutions are one row high); a
 * pointwise convolution with stride 1 and no padding is one long row. */
static bool conv_fast_geom(const conv_geom *g, octet_qconv_geom *f) {
  memset(f, 0, sizeof *f);
  if (g->S != 1 && g->S != 2) return false;
  size_t o = g->S - 1;
  f->cg = g->Cg;
  f->ih = g->S == 2 ? (size_t)g->in[0] : 1, f->iw = (size_t)g->in[o];
  f->kh = g->S == 2 ? (size_t)g->k[0] : 1, f->kw = (size_t)g->k[o];
  f->sh = g->S == 2 ? (size_t)g->s[0] : 1, f->sw = (size_t)g->s[o];
  f->dh = g->S == 2 ? (size_t)g->d[0] : 1, f->dw = (size_t)g->d[o];
  f->pt = g->S == 2 ? (size_t)g->pb[0] : 0, f->pl = (size_t)g->pb[o];
  f->oh = g->S == 2 ? (size_t)g->out[0] : 1, f->ow = (size_t)g->out[o];
  if (f->kh == 1 && f->kw == 1 && f->sh == 1 && f->sw == 1 && f->pt == 0 && f->pl == 0 &&
      f->oh == f->ih && f->ow == f->iw)
    f->iw = f->ow = f->ih * f->iw, f->ih = f->oh = 1;
  /* rows/columns past the input that the last output reads (right and bottom padding) */
  size_t need_h = (f->oh - 1) * f->sh + (f->kh - 1) * f->dh + 1;
  size_t need_w = (f->ow - 1) * f->sw + (f->kw - 1) * f->dw + 1;
  f->pb = need_h > f->ih + f->pt ? need_h - f->ih - f->pt : 0;
  f->pr = need_w > f->iw + f->pl ? need_w - f->iw - f->pl : 0;
  f->virt = f->oh > 1 && f->sh == f->sw;
  return f->oh && f->ow && octet_qconv_layout(f);
}

/* Depthwise (one input and one output channel per group, 2-D, stride 1 or 2, no dilation):
 * the dedicated kernel, when its weights were packed at create. */
static bool conv_is_dw(const conv_state *s, const conv_geom *g) {
  return s->dww && s->qlinear && g->S == 2 && g->Cg == 1 && g->Mg == 1 && g->s[0] == g->s[1] &&
         (g->s[0] == 1 || g->s[0] == 2) && g->d[0] == 1 && g->d[1] == 1 &&
         (size_t)g->k[0] == s->dw_kh && (size_t)g->k[1] == s->dw_kw;
}

static octet_status conv_pack_fast(conv_state *s, const octet_tensor *w, const octet_tensor *wzp,
                                   const octet_kernel_info *info, octet_error *err) {
  size_t M = (size_t)w->dims[0], G = (size_t)s->group, nz = wzp ? octet_tensor_numel(wzp) : 0;
  if (M % G || (wzp && nz != 1 && nz != M)) return OCTET_OK; /* run reports the error */
  size_t Mg = M / G;
  octet_qconv_geom f = {.cg = (size_t)w->dims[1], .kh = w->rank == 4 ? (size_t)w->dims[2] : 1,
                        .kw = (size_t)w->dims[w->rank - 1], .ih = 1, .iw = 1, .sh = 1, .sw = 1,
                        .dh = 1, .dw = 1, .oh = 1, .ow = 1};
  bool strided_ok = true, dil1 = true;
  for (size_t i = 0; i < s->n_strides; i++) strided_ok &= s->strides[i] == s->strides[0] &&
                                                        (s->strides[0] == 1 || s->strides[0] == 2);
  for (size_t i = 0; i < s->n_dil; i++) dil1 &= s->dil[i] == 1;
  size_t kw2 = f.kw + (f.kw & 1);
  if (s->qlinear && s->uk->dwconv && w->rank == 4 && f.cg == 1 && Mg == 1 && strided_ok && dil1 &&
      f.kh * kw2 / 2 <= OCTET_QDW_MAX_PAIRS) {
    s->dww = octet_calloc(M * f.kh * kw2, sizeof(int16_t));
    if (!s->dww) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing W", info->node_name);
    for (size_t m = 0; m < M; m++) {
      int32_t z = wzp ? octet_q8_load(wzp->data, nz > 1 ? m : 0, wzp->dtype) : 0;
      for (size_t ky = 0; ky < f.kh; ky++)
        for (size_t kx = 0; kx < f.kw; kx++)
          s->dww[(m * f.kh + ky) * kw2 + kx] =
              (int16_t)(octet_q8_load(w->data, (m * f.kh + ky) * f.kw + kx, w->dtype) - z);
    }
    s->dw_kh = f.kh, s->dw_kw = f.kw;
    return OCTET_OK;
  }
  size_t one, total;
  if (!octet_qconv_layout(&f) || !octet_qconv_weights_size(&f, Mg, s->uk->mr, &one) ||
      !octet_mul_size((one + 63) & ~(size_t)63, G, &total))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': W is too large", info->node_name);
  size_t stride = (one + 63) & ~(size_t)63;
  s->pack_mem = octet_malloc(total ? total : 1);
  s->fw = octet_calloc(G, sizeof *s->fw);
  if (!s->pack_mem || !s->fw)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing W", info->node_name);
  size_t kg = f.cg * f.kh * f.kw;
  for (size_t g = 0; g < G; g++)
    octet_qconv_weights_pack(&s->fw[g], (char *)s->pack_mem + g * stride, &f, Mg, s->uk->mr,
                             (const uint8_t *)w->data + g * Mg * kg, w->dtype == OCTET_DTYPE_INT8,
                             wzp ? (const uint8_t *)wzp->data + (nz > 1 ? g * Mg : 0) : NULL,
                             wzp ? wzp->dtype : 0, nz > 1 ? Mg : nz);
  s->fast_packed = true;
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
  s->uk = octet_qgemm_select();
  if (s->uk && w && (w->rank == 3 || w->rank == 4) && (!has_wzp || wzp)) {
    if ((st = conv_pack_fast(s, w, wzp, info, err))) goto fail;
  } else if (w && w->rank >= 3 && (!has_wzp || wzp)) {
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
  octet_free(s->fw);
  octet_free(s->dww);
  octet_free(s);
  return st;
}

void octet_k_qconv_destroy(void *state) {
  conv_state *s = state;
  if (!s) return;
  octet_free(s->pack_mem);
  octet_free(s->packed);
  octet_free(s->fw);
  octet_free(s->dww);
  octet_free(s);
}

OCTET_K_CREATE(octet_k_conv_integer_create) { return conv_create(info, false, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_conv_create) { return conv_create(info, true, out_dtypes, state, err); }

typedef struct conv_ws {
  size_t col, acc, pack, scales, planes, koff, total;
  int path; /* 0 reference, 1 fast GEMM on channel-pair planes, 2 depthwise, 3 pointwise GEMM */
  octet_qconv_geom f;
  size_t dw_pw, dw_plane; /* depthwise plane row width and elements per channel */
  bool dw3;               /* 3x3 stride 1: uk->dw3 straight from the bytes (dw_plane: its scratch) */
} conv_ws;

static bool conv_ws_layout(const conv_state *s, const conv_geom *g, conv_ws *w) {
  size_t col = 0, acc = 0, pack = 0, planes = 0, koff = 0, total = 0;
  memset(w, 0, sizeof *w);
  if (s->uk && conv_fast_geom(g, &w->f)) {
    const octet_qconv_geom *f = &w->f;
    if (conv_is_dw(s, g)) {
      w->path = 2;
      w->dw_pw = octet_qdw_plane_width(f->iw, f->pl, f->pr);
      w->dw3 = s->uk->dw3 && f->kh == 3 && f->kw == 3 && f->sh == 1 && f->sw == 1;
      if (w->dw3) {
        size_t words;
        if (!octet_qdw3_scratch(f->oh, f->ow, &words) || !octet_mul_size(words, 2, &w->dw_plane) ||
            !octet_add_size(w->dw_plane, 16, &w->dw_plane)) /* int16 units, + 32-byte alignment */
          return false;
      } else if (!octet_mul_size(f->rows, w->dw_pw, &w->dw_plane)) {
        return false;
      }
      if (!octet_mul_size(w->dw_plane, g->C * sizeof(int16_t), &planes)) return false;
    } else if (!s->dww) {
      /* one row whose pixels are the input's: channel planes are exactly P pixels apart */
      bool pointwise = s->uk->fmt == OCTET_QFMT_I16X2 && f->kh == 1 && f->kw == 1 && f->ih == 1 &&
                       f->oh == 1 && f->pt == 0 && f->sw == 1 && f->pl == 0 && f->pr == 0 &&
                       f->ow == f->iw && f->iw == g->in_sp;
      w->path = pointwise ? 3 : 1;
      if (pointwise ? !octet_qgemm_panels_size(f->ow, g->Cg, s->uk->nr, &planes)
                    : (!octet_mul_size(f->plane_elems, sizeof(int16_t), &planes) ||
                       !octet_mul_size(f->k2, sizeof(int32_t), &koff)))
        return false;
      if (!s->fast_packed && !octet_qconv_weights_size(f, g->Mg, s->uk->mr, &pack)) return false;
    }
  }
  if (!w->path) {
    if (!octet_mul_size(g->P, g->Kg, &col) || !octet_mul_size(g->P, g->Mg, &acc) ||
        !octet_mul_size(acc, 4, &acc))
      return false;
    if (!s->prepacked && !octet_qgemm_packed_size(g->Kg, g->Mg, &pack)) return false;
  }
  size_t sizes[6] = {col, acc, pack, g->M * sizeof(float), planes, koff};
  size_t *offs[6] = {&w->col, &w->acc, &w->pack, &w->scales, &w->planes, &w->koff};
  for (int i = 0; i < 6; i++) {
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

/* One (image, group) of the fast paths. */
typedef struct conv_fast_task {
  const conv_state *s;
  const conv_geom *g;
  const conv_ws *L;
  const uint8_t *xc; /* this image's (and group's) input channels */
  bool x_signed;
  int32_t zx;
  int16_t *planes;
  octet_qgemm_panels bp; /* pointwise: the pixel panels */
  octet_qconv_args args;
  octet_qgemm_epi ep;
  /* depthwise */
  const int32_t *bias;
  const float *scales;
  bool per_ch;
  int32_t zy;
  char *y;
} conv_fast_task;

static void conv_fast_planes(void *arg, size_t cp0, size_t cp1) {
  const conv_fast_task *t = arg;
  octet_qconv_planes(t->s->uk, &t->L->f, t->planes, t->xc, t->x_signed, t->zx, cp0, cp1);
}

/* Tiles of 16 (nr) output pixels along a row (or along the virtual rows), each against every
 * output channel of the group. */
static void conv_fast_tiles(void *arg, size_t t0, size_t t1) {
  const conv_fast_task *t = arg;
  const octet_qconv_geom *f = &t->L->f;
  size_t nr = t->s->uk->nr, ntx = (f->ow + nr - 1) / nr;
  if (f->virt) {
    size_t nv = f->oh * f->phase_w, v1 = t1 * nr < nv ? t1 * nr : nv;
    /* Blocks of output channels whose weights stay in L2 while every pixel tile of the range
     * passes over them (deep layers have few pixels and megabytes of weights). */
    size_t mr = t->s->uk->mr, row_bytes = t->args.w->k2 * 4, mb = (128 * 1024 / row_bytes) / mr * mr;
    if (mb < mr) mb = mr;
    for (size_t m = 0; m < t->g->Mg; m += mb)
      t->s->uk->conv(&t->args, 0, t0 * nr, v1, m, m + mb < t->g->Mg ? m + mb : t->g->Mg);
    return;
  }
  for (size_t i = t0; i < t1; i++) {
    size_t oy = i / ntx, ox0 = (i % ntx) * nr, ox1 = ox0 + nr < f->ow ? ox0 + nr : f->ow;
    t->s->uk->conv(&t->args, oy, ox0, ox1, 0, t->g->Mg);
  }
}

/* Pointwise: pixel tiles [t0, t1), packed as GEMM B panels a few at a time (they stay in cache
 * for every row tile of weights), then the GEMM with the per-channel epilogue. */
static void conv_fast_pointwise(void *arg, size_t t0, size_t t1) {
  const conv_fast_task *t = arg;
  const octet_qconv_geom *f = &t->L->f;
  size_t nr = t->s->uk->nr, P = f->ow;
  for (size_t c0 = t0; c0 < t1; c0 += 8) {
    size_t c1 = c0 + 8 < t1 ? c0 + 8 : t1;
    octet_qconv_pointwise_pack(t->s->uk, &t->bp, t->xc, P, t->g->Cg, t->x_signed, t->zx, c0, c1);
    t->s->uk->compute(t->args.w, &t->bp, 0, t->g->Mg, c0 * nr, c1 * nr < P ? c1 * nr : P, &t->ep);
  }
}

/* Channels [c0, c1) of one image: each builds its own padded plane, then runs the kernel. */
static void conv_fast_dw(void *arg, size_t c0, size_t c1) {
  const conv_fast_task *t = arg;
  const octet_qconv_geom *f = &t->L->f;
  const conv_geom *g = t->g;
  size_t kw2 = f->kw + (f->kw & 1);
  /* The plane slot of c0 is this task's alone (ranges are disjoint): reusing it for every
   * channel of the range keeps it in cache. */
  int16_t *plane = t->planes + c0 * t->L->dw_plane;
  if (t->L->dw3) {
    int32_t *scratch = (int32_t *)(((uintptr_t)plane + 31) & ~(uintptr_t)31);
    for (size_t c = c0; c < c1; c++) {
      octet_qdw3_args a = {t->xc + c * g->in_sp, t->x_signed, t->zx, f->ih, f->iw, f->pt, f->pl,
                           f->oh, f->ow, t->s->dww + c * f->kh * kw2, t->bias ? t->bias[c] : 0,
                           t->scales[t->per_ch ? c : 0], t->zy, t->s->y_dt, t->y + c * g->P, scratch};
      t->s->uk->dw3(&a);
    }
    return;
  }
  for (size_t c = c0; c < c1; c++) {
    /* the padding and slack zeros are written once per task: later channels rewrite the rows */
    if (c == c0)
      octet_qdw_plane(t->s->uk, plane, t->L->dw_pw, t->xc + c * g->in_sp, t->x_signed, t->zx, f->ih, f->iw,
                      f->pt, f->pb, f->pl);
    else
      octet_qdw_plane_rows(t->s->uk, plane, t->L->dw_pw, t->xc + c * g->in_sp, t->x_signed, t->zx, f->ih,
                           f->iw, f->pt, f->pl);
    octet_qdw_args a = {plane, t->L->dw_pw, f->kh, f->kw, f->sh, f->oh, f->ow,
                        t->s->dww + c * f->kh * kw2, t->bias ? t->bias[c] : 0,
                        t->scales[t->per_ch ? c : 0], t->zy, t->s->y_dt, t->y + c * g->P};
    t->s->uk->dwconv(&a);
  }
}

static void conv_fast_run(const conv_state *s, const conv_geom *g, const conv_ws *L, char *wsb,
                          const octet_tensor *x, const octet_tensor *w, const octet_tensor *wzp,
                          const octet_tensor *bias, const float *scales, bool per_ch, int32_t zx,
                          int32_t zy, void *y, const octet_host *host) {
  size_t ysz = octet_dtype_size(s->y_dt), nwz = wzp ? octet_tensor_numel(wzp) : 0;
  const octet_qconv_geom *f = &L->f;
  conv_fast_task t = {.s = s, .g = g, .L = L, .x_signed = x->dtype == OCTET_DTYPE_INT8, .zx = zx,
                      .planes = (int16_t *)(wsb + L->planes)};
  if (L->path == 2) {
    t.bias = bias ? bias->data : NULL, t.scales = scales, t.per_ch = per_ch, t.zy = zy;
    for (size_t n = 0; n < g->N; n++) {
      t.xc = (const uint8_t *)x->data + n * g->C * g->in_sp;
      t.y = (char *)y + n * g->M * g->P;
      octet_parallel_for(host, g->C, conv_fast_dw, &t);
    }
    return;
  }
  int32_t *koff = (int32_t *)(wsb + L->koff);
  if (L->path == 1) octet_qconv_offsets(f, koff);
  size_t ntiles = f->virt ? (f->oh * f->phase_w + s->uk->nr - 1) / s->uk->nr
                          : f->oh * ((f->ow + s->uk->nr - 1) / s->uk->nr);
  for (size_t n = 0; n < g->N; n++) {
    for (size_t gi = 0; gi < g->G; gi++) {
      octet_qgemm_panels wp;
      if (s->fast_packed) {
        wp = s->fw[gi];
      } else {
        octet_qconv_weights_pack(&wp, wsb + L->pack, f, g->Mg, s->uk->mr,
                                 (const uint8_t *)w->data + gi * g->Mg * g->Kg, w->dtype == OCTET_DTYPE_INT8,
                                 wzp ? (const uint8_t *)wzp->data + (nwz > 1 ? gi * g->Mg : 0) : NULL,
                                 wzp ? wzp->dtype : 0, nwz > 1 ? g->Mg : nwz);
      }
      t.xc = (const uint8_t *)x->data + (n * g->C + gi * g->Cg) * g->in_sp;
      octet_qgemm_epi *ep = &t.ep;
      memset(ep, 0, sizeof *ep);
      ep->out = (char *)y + ((n * g->M + gi * g->Mg) * g->P) * ysz;
      ep->ldo = g->P;
      if (s->qlinear) {
        ep->kind = OCTET_QEPI_Q8;
        ep->bias = bias ? (const int32_t *)bias->data + gi * g->Mg : NULL;
        ep->bias_rs = 1;
        ep->scale = per_ch ? scales + gi * g->Mg : scales;
        ep->scale_rs = per_ch;
        ep->zp = zy;
        ep->out_dtype = s->y_dt;
      } else {
        ep->kind = OCTET_QEPI_I32;
      }
      t.args = (octet_qconv_args){&wp, t.planes, koff, f->sh * f->row_stride, f->ow, ep,
                                  f->virt ? f->phase_w : 0, f->oh};
      if (L->path == 3) {
        /* every pixel tile is computed whole by one task: any split gives the same result */
        octet_qgemm_panels_init(&t.bp, t.planes, f->ow, g->Cg, s->uk->nr);
        octet_parallel_for(host, (f->ow + s->uk->nr - 1) / s->uk->nr, conv_fast_pointwise, &t);
        continue;
      }
      /* Planes split by channel pair, tiles by output pixel: any split gives the same result. */
      octet_parallel_for(host, f->cpairs, conv_fast_planes, &t);
      octet_parallel_for(host, ntiles, conv_fast_tiles, &t);
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

  if (L.path) {
    conv_fast_run(s, &g, &L, wsb, x, w, wzp, bias, scales, per_ch, zx, zy, out[0].data, host);
    return OCTET_OK;
  }
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
