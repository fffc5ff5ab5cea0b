/* signal.c — the opset-17 signal ops (HannWindow, HammingWindow, BlackmanWindow, DFT, STFT,
 * MelWeightMatrix) and Det, in float and double. DFT/STFT are direct O(n^2) transforms with
 * twiddles computed in double: exact enough for any length, including primes. */
#include <math.h>
#include <stdio.h>

#include "ops/kernel-util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct sig_state {
  int kind; /* see sig_kind */
  int32_t dtype;  /* output type */
  int64_t periodic, axis, inverse, onesided;
  char node[96];
} sig_state;

enum sig_kind { SIG_HANN, SIG_HAMMING, SIG_BLACKMAN, SIG_DFT, SIG_STFT, SIG_MEL, SIG_DET };

static double ld(const octet_tensor *t, size_t i) { return octet_k_get_double(t, i); }
static void st(int32_t dtype, void *p, size_t i, double v) {
  if (dtype == OCTET_DTYPE_DOUBLE) ((double *)p)[i] = v;
  else ((float *)p)[i] = (float)v;
}

static octet_status sig_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                               octet_error *err, int kind) {
  static const size_t min_in[] = {1, 1, 1, 1, 2, 5, 1}, max_in[] = {1, 1, 1, 2, 4, 5, 1};
  octet_status s_ = octet_k_expect_inputs(info, min_in[kind], max_in[kind], err);
  if (s_) return s_;
  sig_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  s->kind = kind;
  int64_t out_dt = OCTET_DTYPE_FLOAT;
  if ((s_ = octet_attr_int(info, "periodic", 1, &s->periodic, err)) ||
      (s_ = octet_attr_int(info, "axis", 1, &s->axis, err)) ||
      (s_ = octet_attr_int(info, "inverse", 0, &s->inverse, err)) ||
      (s_ = octet_attr_int(info, "onesided", kind == SIG_STFT ? 1 : 0, &s->onesided, err)) ||
      (s_ = octet_attr_int(info, "output_datatype", OCTET_DTYPE_FLOAT, &out_dt, err)))
    goto fail;
  if (kind == SIG_DFT || kind == SIG_STFT || kind == SIG_DET) {
    if ((s_ = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE), err))) goto fail;
    s->dtype = info->input_dtypes[0];
  } else {
    s->dtype = (int32_t)out_dt;
    if (out_dt != OCTET_DTYPE_FLOAT && out_dt != OCTET_DTYPE_DOUBLE) {
      s_ = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): output_datatype %lld is not supported",
                      info->node_name, info->op_type, (long long)out_dt);
      goto fail;
    }
  }
  out_dtypes[0] = s->dtype;
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s);
  return s_;
}

OCTET_K_CREATE(octet_k_hann_create) { return sig_create(info, out_dtypes, state, err, SIG_HANN); }
OCTET_K_CREATE(octet_k_hamming_create) { return sig_create(info, out_dtypes, state, err, SIG_HAMMING); }
OCTET_K_CREATE(octet_k_blackman_create) { return sig_create(info, out_dtypes, state, err, SIG_BLACKMAN); }
OCTET_K_CREATE(octet_k_dft_create) { return sig_create(info, out_dtypes, state, err, SIG_DFT); }
OCTET_K_CREATE(octet_k_stft_create) { return sig_create(info, out_dtypes, state, err, SIG_STFT); }
OCTET_K_CREATE(octet_k_mel_create) { return sig_create(info, out_dtypes, state, err, SIG_MEL); }
OCTET_K_CREATE(octet_k_det_create) { return sig_create(info, out_dtypes, state, err, SIG_DET); }

static octet_status bad(const sig_state *s, const char *what, octet_error *err) {
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': %s", s->node, what);
}

static const octet_tensor *opt(const octet_tensor *const *in, size_t n_in, size_t i) {
  return i < n_in ? in[i] : NULL;
}

/* DFT geometry: outer x n_in_axis x inner complex lines; n = dft length; m = output bins. */
typedef struct dft_geom {
  size_t outer, len, inner, n, m, comps;
  int32_t axis;
} dft_geom;

static octet_status dft_geometry(const sig_state *s, const octet_tensor *const *in, size_t n_in,
                                 dft_geom *g, octet_error *err) {
  const octet_tensor *x = in[0], *len = opt(in, n_in, 1);
  if (x->rank < 3 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
    return bad(s, "DFT input must be [batch, signal dims..., 1 or 2]", err);
  int64_t axis = s->axis < 0 ? s->axis + x->rank : s->axis; /* negative counts from the end */
  if (axis < 1 || axis > x->rank - 2) return bad(s, "DFT axis must select a signal dim", err);
  g->axis = (int32_t)axis;
  g->comps = (size_t)x->dims[x->rank - 1];
  g->outer = 1;
  for (int64_t i = 0; i < axis; i++) g->outer *= (size_t)x->dims[i];
  g->inner = 1;
  for (int64_t i = axis + 1; i < x->rank - 1; i++) g->inner *= (size_t)x->dims[i];
  g->len = (size_t)x->dims[axis];
  int64_t n = len ? octet_k_get_int(len, 0) : x->dims[axis];
  if (n < 1) return bad(s, "dft_length must be >= 1", err);
  g->n = (size_t)n;
  if (s->onesided && g->comps == 2) return bad(s, "onesided DFT needs a real input", err);
  g->m = s->onesided ? g->n / 2 + 1 : g->n;
  return OCTET_OK;
}

/* One complex line: out[k] = scale * sum_j in[j] e^{sign 2πi jk/n}, reading `len` inputs. */
static void dft_line(const octet_tensor *x, size_t base, size_t stride, size_t comps, size_t len,
                     size_t n, size_t m, bool inverse, const double *win, void *out, int32_t odt,
                     size_t obase, size_t ostride) {
  double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / (double)n : 1.0;
  size_t use = len < n ? len : n;
  for (size_t k = 0; k < m; k++) {
    double re = 0.0, im = 0.0;
    for (size_t j = 0; j < use; j++) {
      double a = ld(x, base + j * stride), b = comps == 2 ? ld(x, base + j * stride + 1) : 0.0;
      if (win) a *= win[j], b *= win[j];
      double ang = sign * 2.0 * M_PI * (double)((j * k) % n) / (double)n;
      double c = cos(ang), sn = sin(ang);
      re += a * c - b * sn;
      im += a * sn + b * c;
    }
    st(odt, out, obase + k * ostride, re * scale);
    st(odt, out, obase + k * ostride + 1, im * scale);
  }
}

OCTET_K_INFER(octet_k_signal_infer) {
  sig_state *s = state;
  out[0].dtype = s->dtype;
  *workspace = 0;
  octet_status r;
  switch (s->kind) {
  case SIG_HANN:
  case SIG_HAMMING:
  case SIG_BLACKMAN: {
    int64_t size = octet_k_get_int(in[0], 0);
    if (octet_tensor_numel(in[0]) != 1 || size < 0) return bad(s, "window size must be a scalar >= 0", err);
    out[0].rank = 1;
    out[0].dims[0] = size;
    return OCTET_OK;
  }
  case SIG_DFT: {
    dft_geom g;
    if ((r = dft_geometry(s, in, n_in, &g, err))) return r;
    octet_k_copy_shape(&out[0], in[0]);
    out[0].dims[g.axis] = (int64_t)g.m;
    out[0].dims[in[0]->rank - 1] = 2;
    return OCTET_OK;
  }
  case SIG_STFT: {
    const octet_tensor *x = in[0], *win = opt(in, n_in, 2), *fl = opt(in, n_in, 3);
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2)) return bad(s, "STFT signal must be [batch, length, 1 or 2]", err);
    int64_t step = octet_k_get_int(in[1], 0);
    int64_t n = fl ? octet_k_get_int(fl, 0) : (win ? win->dims[0] : -1);
    if (step < 1 || n < 1 || n > x->dims[1]) return bad(s, "STFT needs frame_step >= 1 and 1 <= frame_length <= signal length", err);
    if (win && (win->rank != 1 || win->dims[0] != n)) return bad(s, "STFT window must be [frame_length]", err);
    if (s->onesided && x->dims[2] == 2) return bad(s, "onesided STFT needs a real signal", err);
    out[0].rank = 4;
    out[0].dims[0] = x->dims[0];
    out[0].dims[1] = (x->dims[1] - n) / step + 1;
    out[0].dims[2] = s->onesided ? n / 2 + 1 : n;
    out[0].dims[3] = 2;
    if (!octet_mul_size((size_t)n, sizeof(double), workspace)) return bad(s, "size overflows", err);
    return OCTET_OK;
  }
  case SIG_MEL: {
    int64_t bins = octet_k_get_int(in[0], 0), dft = octet_k_get_int(in[1], 0);
    if (bins < 1 || dft < 1) return bad(s, "num_mel_bins and dft_length must be >= 1", err);
    out[0].rank = 2;
    out[0].dims[0] = dft / 2 + 1;
    out[0].dims[1] = bins;
    if (!octet_mul_size((size_t)bins + 2, sizeof(int64_t), workspace)) return bad(s, "size overflows", err);
    return OCTET_OK;
  }
  default: { /* Det */
    const octet_tensor *x = in[0];
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2]) return bad(s, "Det needs [..., M, M]", err);
    out[0].rank = x->rank - 2;
    memcpy(out[0].dims, x->dims, sizeof(int64_t) * (size_t)out[0].rank);
    size_t m = (size_t)x->dims[x->rank - 1], mm;
    if (!octet_mul_size(m, m, &mm) || !octet_mul_size(mm, sizeof(double), workspace)) return bad(s, "size overflows", err);
    return OCTET_OK;
  }
  }
}

OCTET_K_RUN(octet_k_signal_run) {
  sig_state *s = state;
  octet_status r;
  switch (s->kind) {
  case SIG_HANN:
  case SIG_HAMMING:
  case SIG_BLACKMAN: {
    size_t size = (size_t)out[0].dims[0];
    /* Periodic windows are the first `size` points of a symmetric window of size + 1. */
    double denom = s->periodic ? (double)size : (double)size - 1.0;
    double a0 = s->kind == SIG_HANN ? 0.5 : (s->kind == SIG_HAMMING ? 25.0 / 46.0 : 0.42);
    double a1 = s->kind == SIG_BLACKMAN ? 0.5 : 1.0 - a0, a2 = s->kind == SIG_BLACKMAN ? 0.08 : 0.0;
    for (size_t i = 0; i < size; i++) {
      double ph = denom > 0 ? 2.0 * M_PI * (double)i / denom : 0.0;
      st(s->dtype, out[0].data, i, a0 - a1 * cos(ph) + a2 * cos(2.0 * ph));
    }
    return OCTET_OK;
  }
  case SIG_DFT: {
    dft_geom g;
    if ((r = dft_geometry(s, in, n_in, &g, err))) return r;
    for (size_t o = 0; o < g.outer; o++)
      for (size_t i = 0; i < g.inner; i++)
        dft_line(in[0], (o * g.len * g.inner + i) * g.comps, g.inner * g.comps, g.comps, g.len, g.n,
                 g.m, s->inverse != 0, NULL, out[0].data, s->dtype, (o * g.m * g.inner + i) * 2,
                 g.inner * 2);
    return OCTET_OK;
  }
  case SIG_STFT: {
    const octet_tensor *x = in[0], *win = opt(in, n_in, 2);
    size_t step = (size_t)octet_k_get_int(in[1], 0), n = (size_t)out[0].dims[2];
    size_t frames = (size_t)out[0].dims[1], bins = (size_t)out[0].dims[2], comps = (size_t)x->dims[2];
    n = win ? (size_t)win->dims[0] : (size_t)octet_k_get_int(in[3], 0);
    double *w = ws;
    for (size_t j = 0; j < n; j++) w[j] = win ? ld(win, j) : 1.0;
    for (size_t b = 0; b < (size_t)x->dims[0]; b++)
      for (size_t f = 0; f < frames; f++)
        dft_line(x, (b * (size_t)x->dims[1] + f * step) * comps, comps, comps, n, n, bins, false, w,
                 out[0].data, s->dtype, ((b * frames + f) * bins) * 2, 2);
    return OCTET_OK;
  }
  case SIG_MEL: {
    size_t bins = (size_t)out[0].dims[1], spec = (size_t)out[0].dims[0];
    double dft = (double)octet_k_get_int(in[1], 0), rate = (double)octet_k_get_int(in[2], 0);
    double lo = ld(in[3], 0), hi = ld(in[4], 0);
    if (!(rate > 0)) return bad(s, "sample_rate must be > 0", err);
    /* Band edges equally spaced on the mel scale, mapped to DFT bins as ONNX's reference does:
     * floor((dft_length + 1) * f / sample_rate), with num_mel_bins + 2 edges. */
    double mlo = 2595.0 * log10(1.0 + lo / 700.0), mhi = 2595.0 * log10(1.0 + hi / 700.0);
    double step = (mhi - mlo) / (double)(bins + 2);
    int64_t *edge = ws;
    for (size_t i = 0; i < bins + 2; i++) {
      double hz = 700.0 * (pow(10.0, ((double)i * step + mlo) / 2595.0) - 1.0);
      edge[i] = (int64_t)floor((dft + 1.0) * hz / rate);
    }
    size_t total = spec * bins;
    for (size_t i = 0; i < total; i++) st(s->dtype, out[0].data, i, 0.0);
    for (size_t m = 0; m < bins; m++) {
      int64_t l = edge[m], c = edge[m + 1], h = edge[m + 2];
      if (l < 0 || h >= (int64_t)spec + 1 || c >= (int64_t)spec) return bad(s, "mel band edges fall outside the spectrum", err);
      if (c == l) st(s->dtype, out[0].data, (size_t)c * bins + m, 1.0);
      else
        for (int64_t j = l; j <= c; j++)
          st(s->dtype, out[0].data, (size_t)j * bins + m, (double)(j - l) / (double)(c - l));
      for (int64_t j = c; j < h && h > c; j++)
        st(s->dtype, out[0].data, (size_t)j * bins + m, (double)(h - j) / (double)(h - c));
    }
    return OCTET_OK;
  }
  default: { /* Det: LU with partial pivoting, in double */
    const octet_tensor *x = in[0];
    size_t m = (size_t)x->dims[x->rank - 1], count = octet_tensor_numel(&out[0]);
    double *a = ws;
    for (size_t b = 0; b < count; b++) {
      for (size_t i = 0; i < m * m; i++) a[i] = ld(x, b * m * m + i);
      double det = 1.0;
      for (size_t c = 0; c < m && det != 0.0; c++) {
        size_t piv = c;
        for (size_t r2 = c + 1; r2 < m; r2++)
          if (fabs(a[r2 * m + c]) > fabs(a[piv * m + c])) piv = r2;
        if (a[piv * m + c] == 0.0) {
          det = 0.0;
          break;
        }
        if (piv != c) {
          for (size_t k = 0; k < m; k++) {
            double t = a[c * m + k];
            a[c * m + k] = a[piv * m + k];
            a[piv * m + k] = t;
          }
          det = -det;
        }
        det *= a[c * m + c];
        for (size_t r2 = c + 1; r2 < m; r2++) {
          double f = a[r2 * m + c] / a[c * m + c];
          for (size_t k = c; k < m; k++) a[r2 * m + k] -= f * a[c * m + k];
        }
      }
      st(s->dtype, out[0].data, b, det);
    }
    return OCTET_OK;
  }
  }
}
