/* conv.c — Conv and ConvTranspose (float, 1-D/2-D/3-D, groups, dilations, strides, pads,
 * auto_pad). Conv is a packed GEMM over implicit im2col panels (no im2col buffer), with weights
 * pre-packed at create; depthwise 2-D convolutions take a direct kernel. ConvTranspose is a GEMM
 * into a column buffer (the workspace) followed by col2im. */
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ops/float/nn/nn-geom.h"
#include "ops/float/nn/nn-kernels.h"
#include "ops/gemm/sgemm.h"

typedef struct conv_state {
  const char *node;
  char node_buf[128];
  nn_attrs attrs;
  int64_t group;
  bool transpose;
  /* ConvTranspose only */
  size_t n_out_pad, n_out_shape;
  int64_t out_pad[NN_MAX_SP], out_shape[OCTET_MAX_RANK];
  /* weights pre-packed at create (NULL when W is not constant) */
  const octet_sgemm_ukernel *uk;
  float *packed;
  size_t packed_group_stride;
  int64_t wdims[OCTET_MAX_RANK];
  int32_t wrank;
  /* set by infer */
  nn_geom g;
} conv_state;

static void conv_destroy_state(conv_state *s) {
  if (!s) return;
  octet_free(s->packed);
  octet_free(s);
}

void octet_k_conv_destroy(void *state) { conv_destroy_state(state); }

static octet_status conv_create_common(const octet_kernel_info *info, int32_t *out_dtypes,
                                       void **state, bool transpose, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 2, 3, err);
  if (st) return st;
  for (size_t i = 0; i < info->n_inputs; i++)
    if (info->input_dtypes[i] != OCTET_DTYPE_UNDEFINED &&
        (st = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err)))
      return st;
  conv_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node_buf, sizeof s->node_buf, "%s", info->node_name ? info->node_name : "");
  s->node = s->node_buf;
  s->transpose = transpose;
  if ((st = nn_attrs_read(info, false, &s->attrs, err)) ||
      (st = octet_attr_int(info, "group", 1, &s->group, err)))
    goto fail;
  if (s->group < 1) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): group must be >= 1",
                    info->node_name, info->op_type);
    goto fail;
  }
  if (transpose) {
    const int64_t *v;
    size_t n;
    if ((st = octet_attr_ints(info, "output_padding", &v, &n, err))) goto fail;
    if (n > NN_MAX_SP) {
      st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s': output_padding too long", s->node);
      goto fail;
    }
    if (n) memcpy(s->out_pad, v, n * sizeof *v);
    s->n_out_pad = n;
    if ((st = octet_attr_ints(info, "output_shape", &v, &n, err))) goto fail;
    if (n > OCTET_MAX_RANK) {
      st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s': output_shape too long", s->node);
      goto fail;
    }
    if (n) memcpy(s->out_shape, v, n * sizeof *v);
    s->n_out_shape = n;
  }
  /* Pre-pack constant weights, per group, in the micro-kernel's A layout. */
  const octet_tensor *w = info->constant_inputs ? info->constant_inputs[1] : NULL;
  if (w && w->dtype == OCTET_DTYPE_FLOAT && w->rank >= 3 && w->rank <= 2 + NN_MAX_SP) {
    int64_t kprod = 1;
    for (int i = 2; i < w->rank; i++) kprod *= w->dims[i];
    int64_t M, K;
    bool trans;
    size_t lda;
    if (!transpose) {
      if (w->dims[0] % s->group) goto no_pack;
      M = w->dims[0] / s->group;
      K = w->dims[1] * kprod;
      trans = false;
      lda = (size_t)K;
    } else {
      if (w->dims[0] % s->group) goto no_pack;
      M = w->dims[1] * kprod; /* A = W_g^T: (M/g * kprod) x (C/g) */
      K = w->dims[0] / s->group;
      trans = true;
      lda = (size_t)M;
    }
    s->uk = octet_sgemm_ukernel_select();
    size_t per = octet_sgemm_packed_a_size(s->uk, (size_t)M, (size_t)K), total;
    if (!per || !octet_mul_size(per, (size_t)s->group, &total) ||
        !octet_mul_size(total, sizeof(float), &total)) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': weights too large", s->node);
      goto fail;
    }
    s->packed = octet_malloc(total);
    if (!s->packed) {
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing weights",
                      s->node);
      goto fail;
    }
    s->packed_group_stride = per;
    const float *wd = w->data;
    for (int64_t gi = 0; gi < s->group; gi++)
      octet_sgemm_pack_a(s->uk, trans, (size_t)M, (size_t)K, wd + gi * M * K, lda,
                         s->packed + gi * per);
    s->wrank = w->rank;
    memcpy(s->wdims, w->dims, sizeof s->wdims);
  }
no_pack:
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = s;
  return OCTET_OK;
fail:
  conv_destroy_state(s);
  return st;
}

OCTET_K_CREATE(octet_k_conv_create) { return conv_create_common(info, out_dtypes, state, false, err); }
OCTET_K_CREATE(octet_k_convtranspose_create) {
  return conv_create_common(info, out_dtypes, state, true, err);
}

static octet_status check_inputs(conv_state *s, const octet_tensor *const *in, size_t n_in,
                                 octet_error *err) {
  const octet_tensor *x = in[0], *w = in[1];
  if (x->rank < 3 || x->rank > 2 + NN_MAX_SP || w->rank != x->rank)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': input rank %d and weight rank %d; both must be 3..%d and equal",
                      s->node, (int)x->rank, (int)w->rank, 2 + NN_MAX_SP);
  if (s->packed && (w->rank != s->wrank || memcmp(w->dims, s->wdims, sizeof s->wdims)))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': weights changed shape", s->node);
  int64_t C = x->dims[1];
  if (!s->transpose) {
    if (C != w->dims[1] * s->group || w->dims[0] % s->group)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': input has %lld channels, weights expect %lld x group %lld "
                        "(and %lld outputs must divide by group)", s->node, (long long)C,
                        (long long)w->dims[1], (long long)s->group, (long long)w->dims[0]);
  } else if (C != w->dims[0] || C % s->group) {
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': input has %lld channels, weights have %lld (group %lld)", s->node,
                      (long long)C, (long long)w->dims[0], (long long)s->group);
  }
  if (n_in > 2 && in[2]) {
    int64_t M = s->transpose ? w->dims[1] * s->group : w->dims[0];
    if (in[2]->rank != 1 || in[2]->dims[0] != M)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': bias must be 1-D with %lld values", s->node, (long long)M);
  }
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_conv_infer) {
  conv_state *s = state;
  octet_status st = check_inputs(s, in, n_in, err);
  if (st) return st;
  const octet_tensor *x = in[0], *w = in[1];
  int nsp = x->rank - 2;
  if ((st = nn_geom_resolve(&s->attrs, s->node, nsp, x->dims + 2, w->dims + 2, false, &s->g, err)))
    return st;
  out[0].dtype = OCTET_DTYPE_FLOAT;
  out[0].rank = x->rank;
  out[0].dims[0] = x->dims[0];
  out[0].dims[1] = w->dims[0];
  nn_geom_out_dims(&s->g, out[0].dims + 2);
  size_t n;
  if (!octet_shape_numel(out[0].dims, out[0].rank, &n) || !octet_mul_size(n, 4, &n))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': output too large", s->node);
  *workspace = 0;
  return OCTET_OK;
}

/* ---- Implicit im2col: builds B panels (K = C/g * kD*kH*kW rows, N = output positions). ---- */

typedef struct im2col_ctx {
  const float *x; /* this image and group's first channel */
  const nn_geom *g;
} im2col_ctx;

static void im2col_pack(const void *vctx, size_t n0, size_t count, size_t k0, size_t kc,
                        size_t width, float *dst) {
  const im2col_ctx *c = vctx;
  const nn_geom *g = c->g;
  const int64_t OH = g->out[1], OW = g->out[2];
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
  const int64_t plane = ID * IH * IW, kvol = g->k[0] * g->k[1] * g->k[2], khw = g->k[1] * g->k[2];
  /* Columns split into runs sharing one output row (od, oh). */
  int64_t run_start[NR_RUNS_MAX + 1], run_d[NR_RUNS_MAX], run_h[NR_RUNS_MAX], run_w[NR_RUNS_MAX];
  int nruns = 0;
  {
    int64_t p = (int64_t)n0, ow = p % OW, oh = (p / OW) % OH, od = p / (OW * OH);
    size_t j = 0;
    while (j < count) {
      run_start[nruns] = (int64_t)j;
      run_d[nruns] = od * g->s[0] - g->pb[0];
      run_h[nruns] = oh * g->s[1] - g->pb[1];
      run_w[nruns] = ow * g->s[2] - g->pb[2];
      size_t len = (size_t)(OW - ow);
      if (len > count - j) len = count - j;
      j += len;
      nruns++;
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        od++;
      }
    }
    run_start[nruns] = (int64_t)count;
  }
  const int64_t sw = g->s[2];
  /* (ci, kd, kh, kw) of row k0, then stepped: no divisions per row. */
  int64_t ci = (int64_t)k0 / kvol, r0 = (int64_t)k0 % kvol;
  int64_t kd = r0 / khw, kh = (r0 / g->k[2]) % g->k[1], kw = r0 % g->k[2];
  for (size_t kk = 0; kk < kc; kk++) {
    const float *xc = c->x + ci * plane;
    float *d = dst + kk * width;
    const int64_t dd = kd * g->d[0], dh = kh * g->d[1], dwo = kw * g->d[2];
    for (int ri = 0; ri < nruns; ri++) {
      int64_t j0 = run_start[ri], j1 = run_start[ri + 1];
      int64_t id = run_d[ri] + dd, ih = run_h[ri] + dh;
      if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
        for (int64_t j = j0; j < j1; j++) d[j] = 0.0f;
        continue;
      }
      const float *row = xc + (id * IH + ih) * IW;
      int64_t iw0 = run_w[ri] + dwo;
      if (sw == 1) {
        /* iw = iw0 + (j - j0): valid for j in [j0 - iw0, j0 - iw0 + IW) */
        int64_t lo = j0 - iw0 > j0 ? j0 - iw0 : j0, hi = j0 - iw0 + IW < j1 ? j0 - iw0 + IW : j1;
        if (hi < lo) hi = lo;
        const float *src = row + iw0 - j0;
        if (lo == 0 && hi == 16 && j0 == 0 && j1 == 16) {
          /* The common case: one full interior run; a constant size inlines the copy. */
          memcpy(d, src, 16 * sizeof(float));
          continue;
        }
        for (int64_t j = j0; j < lo; j++) d[j] = 0.0f;
        if (hi > lo) memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
        for (int64_t j = hi; j < j1; j++) d[j] = 0.0f;
      } else if (iw0 >= 0 && iw0 + (j1 - j0 - 1) * sw < IW) {
        const float *src = row + iw0;
#if defined(__SSE2__)
        if (sw == 2 && j1 - j0 == 16 && iw0 + 32 <= IW) {
          /* Stride 2, one full interior run: even elements of 32 with SSE shuffles. */
          for (int q = 0; q < 4; q++) {
            __m128 lo4 = _mm_loadu_ps(src + 8 * q), hi4 = _mm_loadu_ps(src + 8 * q + 4);
            _mm_storeu_ps(d + j0 + 4 * q, _mm_shuffle_ps(lo4, hi4, _MM_SHUFFLE(2, 0, 2, 0)));
          }
          continue;
        }
#endif
        for (int64_t j = j0; j < j1; j++) d[j] = src[(j - j0) * sw];
      } else {
        for (int64_t j = j0; j < j1; j++) {
          int64_t iw = iw0 + (j - j0) * sw;
          d[j] = iw >= 0 && iw < IW ? row[iw] : 0.0f;
        }
      }
    }
    for (size_t j = count; j < width; j++) d[j] = 0.0f;
    if (++kw == g->k[2]) {
      kw = 0;
      if (++kh == g->k[1]) {
        kh = 0;
        if (++kd == g->k[0]) {
          kd = 0;
          ci++;
        }
      }
    }
  }
}

/* ---- Depthwise (one input channel per group), 2-D: direct, parallel over planes. ---- */

typedef struct dw_job {
  const float *x, *w, *bias;
  float *y;
  const nn_geom *g;
  int64_t C, M, mult; /* mult = output channels per input channel */
  octet_nn_dw_row_fn row;
} dw_job;

static void dw_task(void *arg, size_t begin, size_t end) {
  const dw_job *j = arg;
  const nn_geom *g = j->g;
  const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];
  const int64_t KH = g->k[1], KW = g->k[2];
  for (size_t t = begin; t < end; t++) {
    int64_t n = (int64_t)t / j->M, m = (int64_t)t % j->M, c = m / j->mult;
    const float *x = j->x + (n * j->C + c) * IH * IW;
    const float *w = j->w + m * KH * KW;
    float *y = j->y + (int64_t)t * OH * OW;
    float b = j->bias ? j->bias[m] : 0.0f;
    for (int64_t oh = 0; oh < OH; oh++)
      j->row(x, IH, IW, w, KH, KW, g->s[1], g->s[2], g->d[1], g->d[2], g->pb[1],
                      g->pb[2], oh, OW, b, y + oh * OW);
  }
}

typedef struct conv_gemm_job {
  const conv_state *s;
  const float *x, *w, *bias;
  float *y;
  int64_t C, M, G;
  size_t K, in_sp, out_sp;
  bool pointwise;
  const octet_host *host; /* NULL: (image, group) pairs are the parallel unit */
} conv_gemm_job;

/* GEMMs of (image, group) pairs [begin, end): Y_g = W_g * im2col(X_g) + bias_g. */
static void conv_gemm_task(void *arg, size_t begin, size_t end) {
  const conv_gemm_job *j = arg;
  const conv_state *s = j->s;
  const int64_t Cg = j->C / j->G, Mg = j->M / j->G;
  for (size_t u = begin; u < end; u++) {
    int64_t n = (int64_t)u / j->G, gi = (int64_t)u % j->G;
    const float *xg = j->x + (n * j->C + gi * Cg) * (int64_t)j->in_sp;
    float *yg = j->y + (n * j->M + gi * Mg) * (int64_t)j->out_sp;
    octet_sgemm_operand a = {0}, b = {0};
    if (s->packed) {
      a.packed = s->packed + gi * s->packed_group_stride;
    } else {
      a.data = j->w + gi * Mg * (int64_t)j->K;
      a.ld = j->K;
    }
    im2col_ctx ic = {.x = xg, .g = &s->g};
    if (j->pointwise) {
      b.data = xg;
      b.ld = j->in_sp;
    } else {
      b.pack = im2col_pack;
      b.ctx = &ic;
    }
    octet_sgemm_run(s->packed ? s->uk : NULL, (size_t)Mg, j->out_sp, j->K, 1.0f, &a, &b, 0.0f, yg,
                    j->out_sp, j->bias ? j->bias + gi * Mg : NULL, j->host);
  }
}

OCTET_K_RUN(octet_k_conv_run) {
  conv_state *s = state;
  const nn_geom *g = &s->g;
  const octet_tensor *x = in[0], *w = in[1];
  const float *bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  const int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = s->group;
  const int64_t Cg = C / G, Mg = M / G;
  const size_t in_sp = nn_prod3(g->in), out_sp = nn_prod3(g->out), kvol = nn_prod3(g->k);
  const float *xd = x->data, *wd = w->data;
  float *yd = out[0].data;
  /* Direct kernel for depthwise convolutions (G > 1); a single-channel input (G = 1) goes to
   * the GEMM, where all output channels share each im2col panel. */
  if (Cg == 1 && G > 1 && g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1 && g->pb[0] == 0) {
    dw_job j = {.x = xd, .w = wd, .bias = bias, .y = yd, .g = g, .C = C, .M = M, .mult = Mg,
                .row = octet_nn_dw_row_select()};
    octet_parallel_for(host, (size_t)(N * M), dw_task, &j);
    return OCTET_OK;
  }
  const size_t K = (size_t)Cg * kvol;
  bool pointwise = kvol == 1 && g->s[0] == 1 && g->s[1] == 1 && g->s[2] == 1 && g->pb[0] == 0 &&
                   g->pb[1] == 0 && g->pb[2] == 0 && g->pe[0] == 0 && g->pe[1] == 0 &&
                   g->pe[2] == 0;
  conv_gemm_job j = {.s = s, .x = xd, .w = wd, .bias = bias, .y = yd, .C = C, .M = M, .G = G,
                    .K = K, .in_sp = in_sp, .out_sp = out_sp, .pointwise = pointwise};
  size_t units = (size_t)(N * G), work = (size_t)Mg * out_sp * K;
  if (units > 1 && work < (size_t)1 << 20) {
    /* Many small images or groups: one (image, group) per task, each GEMM single-threaded. */
    octet_parallel_for(host, units, conv_gemm_task, &j);
  } else {
    j.host = host;
    conv_gemm_task(&j, 0, units);
  }
  return OCTET_OK;
}

/* ---- ConvTranspose ---- */

OCTET_K_INFER(octet_k_convtranspose_infer) {
  conv_state *s = state;
  octet_status st = check_inputs(s, in, n_in, err);
  if (st) return st;
  const octet_tensor *x = in[0], *w = in[1];
  const nn_attrs *a = &s->attrs;
  int nsp = x->rank - 2;
  if ((a->n_kernel && a->n_kernel != (size_t)nsp) || (a->n_strides && a->n_strides != (size_t)nsp) ||
      (a->n_dil && a->n_dil != (size_t)nsp) || (a->n_pads && a->n_pads != 2 * (size_t)nsp) ||
      (s->n_out_pad && s->n_out_pad != (size_t)nsp) ||
      (s->n_out_shape && s->n_out_shape != (size_t)nsp && s->n_out_shape != (size_t)x->rank))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s': attribute lengths do not match %d spatial dims", s->node, nsp);
  nn_geom *g = &s->g;
  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    int64_t k = w->dims[2 + i];
    if (a->n_kernel && a->kernel[i] != k)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s': kernel_shape does not match the weights", s->node);
    int64_t st_ = a->n_strides ? a->strides[i] : 1, dil = a->n_dil ? a->dil[i] : 1;
    int64_t op = s->n_out_pad ? s->out_pad[i] : 0, inn = x->dims[2 + i];
    int64_t ext = (k - 1) * dil + 1, pb, pe, out;
    if (s->n_out_shape || a->auto_pad == NN_PAD_SAME_UPPER || a->auto_pad == NN_PAD_SAME_LOWER) {
      if (s->n_out_shape) out = s->out_shape[s->n_out_shape - nsp + i];
      else out = inn * st_;
      int64_t total = st_ * (inn - 1) + op + ext - out;
      if (total < 0) total = 0; /* ONNX Runtime clamps too */
      if (a->auto_pad == NN_PAD_SAME_UPPER) {
        pb = total / 2;
        pe = total - pb;
      } else if (a->auto_pad == NN_PAD_SAME_LOWER || !a->n_pads) {
        pe = total / 2;
        pb = total - pe;
      } else {
        pb = a->pads[i];
        pe = a->pads[i + nsp];
      }
    } else {
      pb = a->n_pads && a->auto_pad == NN_PAD_NOTSET ? a->pads[i] : 0;
      pe = a->n_pads && a->auto_pad == NN_PAD_NOTSET ? a->pads[i + nsp] : 0;
      out = st_ * (inn - 1) + op + ext - pb - pe;
    }
    if (out < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': spatial dim %d gives output size %lld", s->node, i, (long long)out);
    g->in[j] = inn;
    g->out[j] = out;
    g->k[j] = k;
    g->s[j] = st_;
    g->d[j] = dil;
    g->pb[j] = pb;
    g->pe[j] = pe;
  }
  out[0].dtype = OCTET_DTYPE_FLOAT;
  out[0].rank = x->rank;
  out[0].dims[0] = x->dims[0];
  out[0].dims[1] = w->dims[1] * s->group;
  nn_geom_out_dims(g, out[0].dims + 2);
  size_t cols, n;
  if (!octet_shape_numel(out[0].dims, out[0].rank, &n) ||
      !octet_mul_size((size_t)w->dims[1], nn_prod3(g->k), &cols) ||
      !octet_mul_size(cols, nn_prod3(g->in), &cols) || !octet_mul_size(cols, sizeof(float), &cols))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': sizes overflow", s->node);
  *workspace = cols;
  return OCTET_OK;
}

typedef struct col2im_job {
  const float *cols;
  float *y;
  const nn_geom *g;
} col2im_job;

/* Scatters the columns of output channels [begin, end) into y (already holding the bias). */
static void col2im_task(void *arg, size_t begin, size_t end) {
  const col2im_job *j = arg;
  const nn_geom *g = j->g;
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
  const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
  const int64_t kvol = (int64_t)nn_prod3(g->k), in_sp = ID * IH * IW, out_sp = OD * OH * OW;
  for (size_t m = begin; m < end; m++) {
    float *y = j->y + (int64_t)m * out_sp;
    for (int64_t r = 0; r < kvol; r++) {
      int64_t kd = r / (g->k[1] * g->k[2]), kh = (r / g->k[2]) % g->k[1], kw = r % g->k[2];
      const float *col = j->cols + ((int64_t)m * kvol + r) * in_sp;
      for (int64_t id = 0; id < ID; id++) {
        int64_t od = id * g->s[0] - g->pb[0] + kd * g->d[0];
        if (od < 0 || od >= OD) continue;
        for (int64_t ih = 0; ih < IH; ih++) {
          int64_t oh = ih * g->s[1] - g->pb[1] + kh * g->d[1];
          if (oh < 0 || oh >= OH) continue;
          const float *c = col + (id * IH + ih) * IW;
          float *yr = y + (od * OH + oh) * OW;
          /* ow = iw * sw + off must lie in [0, OW): a branch-free range of iw */
          const int64_t sw = g->s[2], off = kw * g->d[2] - g->pb[2];
          int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
          int64_t hi = OW - 1 - off >= 0 ? (OW - 1 - off) / sw + 1 : 0;
          if (hi > IW) hi = IW;
          if (sw == 1)
            for (int64_t iw = lo; iw < hi; iw++) yr[iw + off] += c[iw];
          else
            for (int64_t iw = lo; iw < hi; iw++) yr[iw * sw + off] += c[iw];
        }
      }
    }
  }
}

OCTET_K_RUN(octet_k_convtranspose_run) {
  conv_state *s = state;
  const nn_geom *g = &s->g;
  const octet_tensor *x = in[0], *w = in[1];
  const float *bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  const int64_t N = x->dims[0], C = x->dims[1], G = s->group, Mg = w->dims[1], M = Mg * G;
  const int64_t Cg = C / G;
  const size_t in_sp = nn_prod3(g->in), out_sp = nn_prod3(g->out), kvol = nn_prod3(g->k);
  const size_t rows = (size_t)Mg * kvol;
  float *cols = ws, *yd = out[0].data;
  const float *xd = x->data, *wd = w->data;
  for (int64_t n = 0; n < N; n++) {
    for (int64_t m = 0; m < M; m++) {
      float b = bias ? bias[m] : 0.0f, *y = yd + (n * M + m) * (int64_t)out_sp;
      for (size_t i = 0; i < out_sp; i++) y[i] = b;
    }
    for (int64_t gi = 0; gi < G; gi++) {
      octet_sgemm_operand a = {0}, b = {0};
      if (s->packed) a.packed = s->packed + gi * s->packed_group_stride;
      else {
        a.data = wd + gi * Cg * (int64_t)rows;
        a.ld = rows;
        a.trans = true;
      }
      b.data = xd + (n * C + gi * Cg) * (int64_t)in_sp;
      b.ld = in_sp;
      octet_sgemm_run(s->packed ? s->uk : NULL, rows, in_sp, (size_t)Cg, 1.0f, &a, &b, 0.0f, cols,
                      in_sp, NULL, host);
      col2im_job j = {.cols = cols, .y = yd + (n * M + gi * Mg) * (int64_t)out_sp, .g = g};
      octet_parallel_for(host, (size_t)Mg, col2im_task, &j);
    }
  }
  return OCTET_OK;
}
