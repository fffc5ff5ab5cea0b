/* resize.c — Resize (opsets 10-18 forms) and Upsample (7-9): per-axis tap tables (index,
 * weight) built from the coordinate transformation and interpolation mode, then a separable
 * gather. Nearest moves bytes (any dtype); linear and cubic compute in float or double. */
#include <math.h>

#include "ops/float/tensor/tensor-util.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_CROP,
       CT_TF_HALF_PIXEL_NN };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };
enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER };

typedef struct resize_state {
  tk_base b;
  int mode, ctm, nearest, keep_aspect;
  bool upsample;
  float cubic_a, extrapolation;
  int64_t exclude_outside;
  int64_t *axes;
  size_t n_axes;
  float *attr_scales; /* Upsample-7 */
  size_t n_attr_scales;
} resize_state;

typedef struct rs_tap {
  int32_t n, outside;
  int64_t idx[4];
  float w[4];
} rs_tap;

#define RS ((resize_state *)state)

void tk_resize_destroy(void *state) {
  if (!state) return;
  octet_free(RS->axes);
  octet_free(RS->attr_scales);
  octet_free(state);
}

static int pick(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(s, names[i])) return i;
  return -1;
}

OCTET_K_CREATE(tk_resize_create) {
  resize_state *st;
  bool up = !strcmp(info->op_type, "Upsample");
  size_t min_in = up ? (info->opset >= 9 ? 2 : 1) : info->opset >= 11 ? 1 : 2;
  octet_status s = octet_k_expect_inputs(info, min_in, up ? 2 : 4, err);
  if (s || (s = tk_expect_fixed(info, 0, err)) ||
      (s = tk_state_new(info, sizeof *st, (void **)&st, err)))
    return s;
  *state = st;
  st->upsample = up;
  const char *mode, *ctm, *nm, *ka;
  int64_t antialias;
  if ((s = octet_attr_string(info, "mode", "nearest", &mode, err)) ||
      (s = octet_attr_string(info, "coordinate_transformation_mode", "half_pixel", &ctm, err)) ||
      (s = octet_attr_string(info, "nearest_mode", "round_prefer_floor", &nm, err)) ||
      (s = octet_attr_string(info, "keep_aspect_ratio_policy", "stretch", &ka, err)) ||
      (s = octet_attr_float(info, "cubic_coeff_a", -0.75f, &st->cubic_a, err)) ||
      (s = octet_attr_float(info, "extrapolation_value", 0.0f, &st->extrapolation, err)) ||
      (s = octet_attr_int(info, "exclude_outside", 0, &st->exclude_outside, err)) ||
      (s = octet_attr_int(info, "antialias", 0, &antialias, err)))
    return s;
  static const char *const modes[] = {"nearest", "linear", "cubic"};
  static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                     "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn"};
  static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  static const char *const kas[] = {"stretch", "not_larger", "not_smaller"};
  st->mode = pick(mode, modes, 3);
  if (st->mode < 0 && !strcmp(mode, "bilinear")) st->mode = RS_LINEAR; /* Upsample-7 spelling */
  st->ctm = pick(ctm, ctms, 6);
  st->nearest = pick(nm, nms, 4);
  st->keep_aspect = pick(ka, kas, 3);
  if (st->mode < 0 || (up && st->mode == RS_CUBIC))
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown mode '%s'", mode);
  if (st->ctm < 0)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "unknown coordinate_transformation_mode '%s'", ctm);
  if (st->nearest < 0)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown nearest_mode '%s'", nm);
  if (st->keep_aspect < 0)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL,
                        "unknown keep_aspect_ratio_policy '%s'", ka);
  if (antialias)
    return tk_fail_info(info, err, OCTET_STATUS_UNSUPPORTED, "antialias=1 is not supported");
  if (up || info->opset < 11) { /* Upsample and Resize-10: asymmetric, floor for nearest */
    st->ctm = CT_ASYMMETRIC;
    st->nearest = up ? NM_FLOOR : NM_SIMPLE;
  }
  if (st->mode != RS_NEAREST && info->input_dtypes[0] != OCTET_DTYPE_FLOAT &&
      info->input_dtypes[0] != OCTET_DTYPE_DOUBLE)
    return tk_fail_info(info, err, OCTET_STATUS_UNSUPPORTED,
                        "mode '%s' supports float and double, not %s", mode,
                        octet_dtype_name(info->input_dtypes[0]));
  const int64_t *axes;
  size_t na;
  if ((s = octet_attr_ints(info, "axes", &axes, &na, err))) return s;
  if (na) {
    if (!(st->axes = octet_malloc(na * sizeof(int64_t))))
      return tk_fail_info(info, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(st->axes, axes, na * sizeof(int64_t));
    st->n_axes = na;
  }
  if (up && info->opset < 9) {
    const float *sc;
    size_t ns;
    if ((s = octet_attr_floats(info, "scales", &sc, &ns, err))) return s;
    if (!ns)
      return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "attribute 'scales' is required");
    if (!(st->attr_scales = octet_malloc(ns * sizeof(float))))
      return tk_fail_info(info, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    memcpy(st->attr_scales, sc, ns * sizeof(float));
    st->n_attr_scales = ns;
  }
  out_dtypes[0] = info->input_dtypes[0];
  return OCTET_OK;
}

/* Per-axis plan: output dims, the scale used by the coordinate transform, roi. */
typedef struct rs_plan {
  int32_t rank;
  int64_t in[OCTET_MAX_RANK], out[OCTET_MAX_RANK];
  double scale[OCTET_MAX_RANK], roi0[OCTET_MAX_RANK], roi1[OCTET_MAX_RANK];
} rs_plan;

static octet_status rs_plan_make(resize_state *st, const octet_tensor *const *in, size_t n_in,
                                 rs_plan *p, octet_error *err) {
  const octet_tensor *x = in[0];
  int32_t r = x->rank;
  p->rank = r;
  const octet_tensor *roi = NULL, *scales = NULL, *sizes = NULL;
  if (st->upsample || st->b.opset < 11) {
    scales = n_in > 1 ? in[1] : NULL;
  } else {
    roi = n_in > 1 ? in[1] : NULL;
    scales = n_in > 2 ? in[2] : NULL;
    sizes = n_in > 3 ? in[3] : NULL;
  }
  if (scales && octet_tensor_numel(scales) == 0) scales = NULL;
  if (sizes && octet_tensor_numel(sizes) == 0) sizes = NULL;
  if (roi && octet_tensor_numel(roi) == 0) roi = NULL;
  /* axes (opset 18): which dims scales/sizes/roi refer to */
  int64_t ax[OCTET_MAX_RANK];
  size_t na = st->n_axes ? st->n_axes : (size_t)r;
  if (na > (size_t)r)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "more axes than the input rank");
  for (size_t i = 0; i < na; i++) {
    int64_t a = st->n_axes ? st->axes[i] : (int64_t)i;
    if (a < -r || a >= r)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "axis %lld is out of range for rank %d", (long long)a, (int)r);
    ax[i] = a < 0 ? a + r : a;
  }
  for (int32_t i = 0; i < r; i++) {
    p->in[i] = x->dims[i], p->out[i] = x->dims[i], p->scale[i] = 1;
    p->roi0[i] = 0, p->roi1[i] = 1;
  }
  if (st->attr_scales) {
    if (st->n_attr_scales != (size_t)r)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "scales has %zu entries for rank %d", st->n_attr_scales, (int)r);
    for (int32_t i = 0; i < r; i++) p->scale[i] = st->attr_scales[i];
  } else if (sizes) {
    if (sizes->dtype != OCTET_DTYPE_INT64 || octet_tensor_numel(sizes) != na)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "sizes must be int64 with %zu entries", na);
    if (scales)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "only one of scales and sizes may be given");
    double ratio = st->keep_aspect == KA_NOT_LARGER ? INFINITY : 0;
    for (size_t i = 0; i < na; i++) {
      double s = (double)octet_k_get_int(sizes, i) / (double)x->dims[ax[i]];
      if (st->keep_aspect == KA_NOT_LARGER && s < ratio) ratio = s;
      if (st->keep_aspect == KA_NOT_SMALLER && s > ratio) ratio = s;
    }
    for (size_t i = 0; i < na; i++) {
      int64_t a = ax[i];
      if (st->keep_aspect == KA_STRETCH) {
        p->out[a] = octet_k_get_int(sizes, i);
        p->scale[a] = (double)p->out[a] / (double)x->dims[a];
      } else {
        p->out[a] = (int64_t)floor(ratio * (double)x->dims[a] + 0.5);
        p->scale[a] = ratio;
      }
    }
  } else if (scales) {
    if (scales->dtype != OCTET_DTYPE_FLOAT || octet_tensor_numel(scales) != na)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                     "scales must be float with %zu entries", na);
    for (size_t i = 0; i < na; i++) p->scale[ax[i]] = ((const float *)scales->data)[i];
  } else {
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "one of scales or sizes is required");
  }
  for (int32_t i = 0; i < r; i++) {
    if (!(p->scale[i] > 0) || !isfinite(p->scale[i]))
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "scale on axis %d must be > 0",
                     (int)i);
    if (!sizes) p->out[i] = (int64_t)((double)x->dims[i] * p->scale[i]);
  }
  if (roi && st->ctm == CT_TF_CROP) {
    if (octet_tensor_numel(roi) != 2 * na)
      return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "roi must have %zu entries",
                     2 * na);
    for (size_t i = 0; i < na; i++) {
      p->roi0[ax[i]] = octet_k_get_double(roi, i);
      p->roi1[ax[i]] = octet_k_get_double(roi, i + na);
    }
  }
  return tk_check_shape(&st->b, p->out, r, err);
}

OCTET_K_INFER(tk_resize_infer) {
  (void)n_out;
  rs_plan p;
  octet_status s = rs_plan_make(RS, in, n_in, &p, err);
  if (s) return s;
  out[0].dtype = in[0]->dtype;
  out[0].rank = p.rank;
  memcpy(out[0].dims, p.out, sizeof(int64_t) * (size_t)p.rank);
  size_t taps = 0;
  for (int32_t i = 0; i < p.rank; i++) taps += (size_t)p.out[i];
  *workspace = taps * sizeof(rs_tap);
  return OCTET_OK;
}

static void cubic_coeffs(double s, double A, double *c) {
  double t = 1 - s;
  c[0] = ((A * (s + 1) - 5 * A) * (s + 1) + 8 * A) * (s + 1) - 4 * A;
  c[1] = ((A + 2) * s - (A + 3)) * s * s + 1;
  c[2] = ((A + 2) * t - (A + 3)) * t * t + 1;
  c[3] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
}

static void axis_taps(const resize_state *st, const rs_plan *p, int32_t d, rs_tap *taps) {
  int64_t in = p->in[d], outn = p->out[d];
  double scale = p->scale[d], ow = scale * (double)in; /* ONNX uses the unrounded width */
  for (int64_t o = 0; o < outn; o++) {
    rs_tap *t = &taps[o];
    double x;
    t->outside = 0;
    switch (st->ctm) {
    case CT_ALIGN_CORNERS: x = ow == 1 ? 0 : (double)o * (double)(in - 1) / (ow - 1); break;
    case CT_ASYMMETRIC: x = (double)o / scale; break;
    case CT_TF_CROP:
      x = ow == 1 ? (p->roi1[d] - p->roi0[d]) * (double)(in - 1) / 2
                  : (double)o * (p->roi1[d] - p->roi0[d]) * (double)(in - 1) / (ow - 1);
      x += p->roi0[d] * (double)(in - 1);
      if (x < 0 || x > (double)(in - 1)) t->outside = 1;
      break;
    case CT_PYTORCH_HALF_PIXEL: x = ow == 1 ? -0.5 : ((double)o + 0.5) / scale - 0.5; break;
    case CT_TF_HALF_PIXEL_NN: x = ((double)o + 0.5) / scale; break;
    default: x = ((double)o + 0.5) / scale - 0.5;
    }
    /* the reference takes the left neighbour at ratio 1 when x is integral */
    double fl = floor(x), ratio = x - fl;
    int64_t x0 = (int64_t)fl;
    if (ratio == 0) ratio = 1, x0 -= 1;
    double w[4];
    int64_t first;
    int n;
    if (st->mode == RS_NEAREST) {
      bool right;
      switch (st->nearest) {
      case NM_ROUND_PREFER_CEIL: right = ratio >= 0.5; break;
      case NM_FLOOR: right = ratio == 1; break;
      case NM_CEIL: right = true; break;
      case NM_SIMPLE: /* Resize-10 as onnxruntime: ceil when shrinking, else floor */
        right = scale < 1 ? true : ratio == 1;
        break;
      default: right = ratio > 0.5;
      }
      n = 1, first = right ? x0 + 1 : x0, w[0] = 1;
    } else if (st->mode == RS_LINEAR) {
      n = 2, first = x0, w[0] = 1 - ratio, w[1] = ratio;
    } else {
      n = 4, first = x0 - 1;
      cubic_coeffs(ratio, st->cubic_a, w);
    }
    if (st->exclude_outside && n > 1) {
      double sum = 0;
      for (int k = 0; k < n; k++) {
        int64_t i = first + k;
        if (i < 0 || i >= in) w[k] = 0;
        sum += w[k];
      }
      for (int k = 0; k < n; k++) w[k] = sum != 0 ? w[k] / sum : 0;
    }
    t->n = 0;
    for (int k = 0; k < n; k++) {
      if (n > 1 && w[k] == 0) continue;
      int64_t i = first + k;
      i = i < 0 ? 0 : i >= in ? in - 1 : i;
      t->idx[t->n] = i;
      t->w[t->n] = (float)w[k];
      t->n++;
    }
    if (t->n == 0) t->n = 1, t->idx[0] = x0 < 0 ? 0 : x0 >= in ? in - 1 : x0, t->w[0] = 0;
  }
}

typedef struct rs_job {
  const resize_state *st;
  const rs_plan *p;
  const rs_tap *taps[OCTET_MAX_RANK];
  const octet_tensor *x;
  octet_tensor *y;
  int64_t is[OCTET_MAX_RANK];
} rs_job;

#define MAX_COMBOS 256
#define BLEND_MAX 2048 /* floats of one blended input row kept on the stack */

/* One output row (all axes but the last fixed): list the input row offsets and weights that
 * the outer axes contribute, then walk the last axis. */
#define RS_ROW_BODY(T)                                                                     \
  for (int64_t c = 0; c < cols; c++) {                                                    \
    const rs_tap *t = &last[c];                                                           \
    T acc = 0;                                                                            \
    if (outside || t->outside) {                                                          \
      o[c] = (T)j->st->extrapolation;                                                     \
      continue;                                                                           \
    }                                                                                     \
    for (int q = 0; q < nc; q++)                                                          \
      for (int k = 0; k < t->n; k++) acc += (T)(cw[q] * t->w[k]) * src[coff[q] + t->idx[k]]; \
    o[c] = acc;                                                                           \
  }

#define NEAREST_ROW(T)                                                                    \
  {                                                                                       \
    const T *s_ = (const T *)src;                                                         \
    T *o_ = (T *)o;                                                                       \
    for (int64_t c = 0; c < cols; c++) o_[c] = s_[last[c].idx[0]];                        \
  }

static void rs_rows(void *arg, size_t begin, size_t end) {
  const rs_job *j = arg;
  int32_t r = j->p->rank;
  int64_t cols = j->p->out[r - 1];
  const rs_tap *last = j->taps[r - 1];
  size_t es = octet_dtype_size(j->x->dtype);
  int64_t prev_off = -1;
  for (size_t row = begin; row < end; row++) {
    int64_t oi[OCTET_MAX_RANK];
    size_t rr = row;
    for (int32_t d = r - 2; d >= 0; d--) {
      oi[d] = (int64_t)(rr % (size_t)j->p->out[d]);
      rr /= (size_t)j->p->out[d];
    }
    int64_t coff[MAX_COMBOS];
    float cw[MAX_COMBOS];
    int nc = 1, outside = 0;
    coff[0] = 0, cw[0] = 1;
    for (int32_t d = 0; d < r - 1; d++) {
      const rs_tap *t = &j->taps[d][oi[d]];
      outside |= t->outside;
      if (nc * t->n > MAX_COMBOS) { /* cannot happen: at most 4 taps on 4 axes... keep 1 */
        for (int q = 0; q < nc; q++) coff[q] += t->idx[0] * j->is[d];
        continue;
      }
      int n2 = 0;
      int64_t noff[MAX_COMBOS];
      float nw[MAX_COMBOS];
      for (int q = 0; q < nc; q++)
        for (int k = 0; k < t->n; k++) {
          noff[n2] = coff[q] + t->idx[k] * j->is[d];
          nw[n2] = cw[q] * t->w[k];
          n2++;
        }
      memcpy(coff, noff, (size_t)n2 * sizeof *coff);
      memcpy(cw, nw, (size_t)n2 * sizeof *cw);
      nc = n2;
    }
    if (j->st->mode == RS_NEAREST) {
      size_t row_bytes = (size_t)cols * es;
      uint8_t *o = (uint8_t *)j->y->data + row * row_bytes;
      /* upsampling repeats source rows: copy the row this task just wrote */
      if (row > begin && coff[0] == prev_off) {
        memcpy(o, o - row_bytes, row_bytes);
        continue;
      }
      prev_off = coff[0];
      const uint8_t *src = (const uint8_t *)j->x->data + (size_t)coff[0] * es;
      switch (es) {
      case 1: NEAREST_ROW(uint8_t) break;
      case 2: NEAREST_ROW(uint16_t) break;
      case 4: NEAREST_ROW(uint32_t) break;
      case 8: NEAREST_ROW(uint64_t) break;
      default:
        for (int64_t c = 0; c < cols; c++)
          memcpy(o + (size_t)c * es, src + (size_t)last[c].idx[0] * es, es);
      }
    } else if (j->x->dtype == OCTET_DTYPE_FLOAT && j->p->in[r - 1] <= BLEND_MAX) {
      /* blend the contributing input rows once (width of the input), then interpolate the
       * last axis from that row: per output element only the last axis' taps remain */
      const float *src = j->x->data;
      float *o = (float *)j->y->data + row * (size_t)cols;
      float blend[BLEND_MAX];
      int64_t inw = j->p->in[r - 1];
      if (!outside) {
        for (int64_t x = 0; x < inw; x++) blend[x] = 0;
        for (int q = 0; q < nc; q++) {
          const float *sr = src + coff[q];
          float wq = cw[q];
          for (int64_t x = 0; x < inw; x++) blend[x] += wq * sr[x];
        }
      }
      for (int64_t c = 0; c < cols; c++) {
        const rs_tap *t = &last[c];
        if (outside || t->outside) {
          o[c] = j->st->extrapolation;
          continue;
        }
        float acc = 0;
        for (int k = 0; k < t->n; k++) acc += t->w[k] * blend[t->idx[k]];
        o[c] = acc;
      }
    } else if (j->x->dtype == OCTET_DTYPE_FLOAT) {
      const float *src = j->x->data;
      float *o = (float *)j->y->data + row * (size_t)cols;
      RS_ROW_BODY(float)
    } else {
      const double *src = j->x->data;
      double *o = (double *)j->y->data + row * (size_t)cols;
      RS_ROW_BODY(double)
    }
  }
}

OCTET_K_RUN(tk_resize_run) {
  (void)n_out;
  rs_plan p;
  octet_status s = rs_plan_make(RS, in, n_in, &p, err);
  if (s) return s;
  size_t total = octet_tensor_numel(&out[0]);
  if (total == 0) return OCTET_OK;
  if (octet_tensor_numel(in[0]) == 0)
    return tk_fail(&RS->b, err, OCTET_STATUS_INVALID_ARGUMENT, "cannot resize an empty input");
  if (p.rank == 0) {
    tk_copy_el(out[0].data, in[0]->data, octet_dtype_size(in[0]->dtype));
    return OCTET_OK;
  }
  if (!ws) return tk_fail(&RS->b, err, OCTET_STATUS_INVALID_ARGUMENT, "no workspace given");
  rs_job j = {.st = RS, .p = &p, .x = in[0], .y = &out[0]};
  rs_tap *t = ws;
  for (int32_t d = 0; d < p.rank; d++) {
    axis_taps(RS, &p, d, t);
    j.taps[d] = t;
    t += p.out[d];
  }
  tk_strides(in[0]->dims, p.rank, j.is);
  size_t rows = total / (size_t)p.out[p.rank - 1];
  if (total >= (1u << 14))
    octet_parallel_for(host, rows, rs_rows, &j);
  else
    rs_rows(&j, 0, rows);
  return OCTET_OK;
}
