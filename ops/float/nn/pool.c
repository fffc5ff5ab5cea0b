/* pool.c — MaxPool (with Indices, storage_order, dilations, ceil_mode; float/int8/uint8),
 * AveragePool (count_include_pad, ceil_mode), LpPool and the Global{Average,Max,Lp}Pool kernels,
 * 1-D to 3-D, parallel over N*C planes. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/float/nn/nn-geom.h"
#include "ops/float/nn/nn-kernels.h"

enum { POOL_MAX, POOL_AVG, POOL_LP };

typedef struct pool_state {
  char node[128];
  int kind;
  bool global;
  nn_attrs attrs;
  int64_t storage_order, count_include_pad;
  float p;
  int32_t dtype;
  nn_geom g; /* set by infer */
} pool_state;

static octet_status pool_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                                int kind, bool global, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 1, 1, err);
  if (st) return st;
  uint32_t allowed = OCTET_DT(FLOAT);
  if (kind == POOL_MAX && !global) allowed |= OCTET_DT(INT8) | OCTET_DT(UINT8);
  if ((st = octet_k_expect_dtype(info, 0, allowed, err))) return st;
  if (info->n_outputs > (kind == POOL_MAX && !global ? 2u : 1u))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): too many outputs",
                      info->node_name, info->op_type);
  pool_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  s->kind = kind;
  s->global = global;
  s->dtype = info->input_dtypes[0];
  if (!global && (st = nn_attrs_read(info, kind != POOL_LP, &s->attrs, err))) goto fail;
  if ((st = octet_attr_int(info, "storage_order", 0, &s->storage_order, err)) ||
      (st = octet_attr_int(info, "count_include_pad", 0, &s->count_include_pad, err)) ||
      (st = octet_attr_float(info, "p", 2.0f, &s->p, err)))
    goto fail;
  if (kind == POOL_LP && !(s->p > 0.0f)) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': p must be > 0", s->node);
    goto fail;
  }
  if (!global && s->attrs.n_kernel == 0) {
    st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): kernel_shape is required",
                    s->node, info->op_type);
    goto fail;
  }
  out_dtypes[0] = s->dtype;
  if (info->n_outputs > 1) out_dtypes[1] = OCTET_DTYPE_INT64;
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s);
  return st;
}

OCTET_K_CREATE(octet_k_maxpool_create) { return pool_create(info, out_dtypes, state, POOL_MAX, false, err); }
OCTET_K_CREATE(octet_k_averagepool_create) { return pool_create(info, out_dtypes, state, POOL_AVG, false, err); }
OCTET_K_CREATE(octet_k_lppool_create) { return pool_create(info, out_dtypes, state, POOL_LP, false, err); }
OCTET_K_CREATE(octet_k_globalmaxpool_create) { return pool_create(info, out_dtypes, state, POOL_MAX, true, err); }
OCTET_K_CREATE(octet_k_globalaveragepool_create) { return pool_create(info, out_dtypes, state, POOL_AVG, true, err); }
OCTET_K_CREATE(octet_k_globallppool_create) { return pool_create(info, out_dtypes, state, POOL_LP, true, err); }

OCTET_K_INFER(octet_k_pool_infer) {
  pool_state *s = state;
  const octet_tensor *x = in[0];
  if (x->rank < 3)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': pooling needs an input of rank >= 3 (N, C, spatial...), got %d",
                      s->node, (int)x->rank);
  int nsp = x->rank - 2;
  out[0].dtype = s->dtype;
  out[0].rank = x->rank;
  out[0].dims[0] = x->dims[0];
  out[0].dims[1] = x->dims[1];
  *workspace = 0;
  if (s->global) {
    /* Flatten every spatial dim into W so any rank works. */
    memset(&s->g, 0, sizeof s->g);
    int64_t sp = 1;
    for (int i = 0; i < nsp; i++) {
      sp *= x->dims[2 + i];
      out[0].dims[2 + i] = 1;
    }
    s->g.nsp = 1;
    s->g.in[0] = s->g.in[1] = 1;
    s->g.in[2] = sp;
    return OCTET_OK;
  }
  octet_status st = nn_geom_resolve(&s->attrs, s->node, nsp, x->dims + 2, NULL, true, &s->g, err);
  if (st) return st;
  nn_geom_out_dims(&s->g, out[0].dims + 2);
  if (n_out > 1) {
    out[1].dtype = OCTET_DTYPE_INT64;
    octet_k_copy_shape(&out[1], &out[0]);
  }
  return OCTET_OK;
}

typedef struct pool_job {
  const pool_state *s;
  const void *x;
  void *y;
  int64_t *idx;
  bool fast2d;
  octet_nn_pool_row_fn max_row, sum_row;
  octet_nn_pool_row_u8_fn u8_row;
  octet_nn_pool_row_s8_fn s8_row;
} pool_job;

/* Window bounds along one dim, for dilation 1 (avg/lp) or any (max: checked per tap). */
/* As ONNX Runtime: start from the type's lowest value and take strictly greater values, so
 * NaN inputs are skipped; the index is the first valid tap when nothing was greater. */
#define MAX_WINDOW(T, NAME, LOWEST)                                                             \
  static void NAME(const pool_job *j, size_t plane) {                                          \
    const nn_geom *g = &j->s->g;                                                                \
    const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];                                  \
    const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];                              \
    const int64_t isz = ID * IH * IW;                                                           \
    const T *x = (const T *)j->x + plane * isz;                                                 \
    T *y = (T *)j->y + plane * OD * OH * OW;                                                    \
    int64_t *yi = j->idx ? j->idx + plane * OD * OH * OW : NULL;                               \
    const bool colmajor = j->s->storage_order != 0;                                            \
    for (int64_t od = 0; od < OD; od++)                                                         \
      for (int64_t oh = 0; oh < OH; oh++)                                                       \
        for (int64_t ow = 0; ow < OW; ow++) {                                                   \
          T best = LOWEST;                                                                      \
          int64_t bi = -1, first = -1;                                                          \
          for (int64_t kd = 0; kd < g->k[0]; kd++) {                                            \
            int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];                               \
            if (id < 0 || id >= ID) continue;                                                   \
            for (int64_t kh = 0; kh < g->k[1]; kh++) {                                          \
              int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];                             \
              if (ih < 0 || ih >= IH) continue;                                                 \
              const T *row = x + (id * IH + ih) * IW;                                           \
              for (int64_t kw = 0; kw < g->k[2]; kw++) {                                        \
                int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];                           \
                if (iw < 0 || iw >= IW) continue;                                               \
                T v = row[iw];                                                                  \
                int64_t at = colmajor ? (iw * IH + ih) * ID + id : (id * IH + ih) * IW + iw;   \
                if (first < 0) first = at;                                                      \
                if (v > best) {                                                                 \
                  best = v;                                                                     \
                  bi = at;                                                                      \
                }                                                                               \
              }                                                                                 \
            }                                                                                   \
          }                                                                                     \
          int64_t o = (od * OH + oh) * OW + ow;                                                 \
          y[o] = best;                                                                          \
          if (yi) yi[o] = (bi < 0 ? first : bi) + (int64_t)plane * isz;                         \
        }                                                                                       \
  }

MAX_WINDOW(float, max_plane_f32, -FLT_MAX)
MAX_WINDOW(int8_t, max_plane_s8, INT8_MIN)
MAX_WINDOW(uint8_t, max_plane_u8, 0)

/* 2-D int8 max pooling without Indices (what quantized CNNs run between their convolutions):
 * output rows start at the type's lowest value and take the strictly greater taps of each
 * valid input row, as the window loop does, through the (vectorized) int8 row kernels. */
#define MAX_ROWS_2D(T, name, LOWEST, ROW)                                                      \
  static void name(const pool_job *j, size_t plane) {                                          \
    const nn_geom *g = &j->s->g;                                                               \
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];                 \
    const T *x = (const T *)j->x + plane * (size_t)(IH * IW);                                  \
    T *y = (T *)j->y + plane * (size_t)(OH * OW);                                              \
    for (int64_t oh = 0; oh < OH; oh++) {                                                      \
      T *yr = y + oh * OW;                                                                     \
      for (int64_t ow = 0; ow < OW; ow++) yr[ow] = LOWEST;                                     \
      int64_t h0 = oh * g->s[1] - g->pb[1];                                                    \
      for (int64_t kh = 0; kh < g->k[1]; kh++) {                                               \
        int64_t ih = h0 + kh * g->d[1];                                                        \
        if (ih >= 0 && ih < IH) j->ROW(x + ih * IW, IW, g->k[2], g->s[2], g->d[2], g->pb[2], OW, yr); \
      }                                                                                        \
    }                                                                                          \
  }

MAX_ROWS_2D(int8_t, max2d_plane_s8, INT8_MIN, s8_row)
MAX_ROWS_2D(uint8_t, max2d_plane_u8, 0, u8_row)

static bool int8_2d(const pool_job *j) {
  const nn_geom *g = &j->s->g;
  return !j->idx && g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1 && g->pb[0] == 0;
}

/* 2-D max / average pooling row by row through the (vectorized) row kernels; no Indices. */
static bool pool2d_fits(const pool_job *j) {
  const nn_geom *g = &j->s->g;
  return !j->idx && j->s->kind != POOL_LP && j->s->dtype == OCTET_DTYPE_FLOAT && g->k[0] == 1 &&
         g->in[0] == 1 && g->out[0] == 1 && g->pb[0] == 0 && g->out[2] <= 4096;
}

static void pool2d_plane(const pool_job *j, size_t plane) {
  const pool_state *s = j->s;
  const nn_geom *g = &s->g;
  const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];
  const float *x = (const float *)j->x + plane * IH * IW;
  float *y = (float *)j->y + plane * OH * OW;
  const bool is_max = s->kind == POOL_MAX;
  float wdiv[4096];
  if (!is_max) {
    for (int64_t ow = 0; ow < OW; ow++) {
      int64_t st = ow * g->s[2] - g->pb[2], n = 0;
      if (s->count_include_pad) {
        int64_t en = st + (g->k[2] - 1) * g->d[2] + 1;
        if (en > IW + g->pe[2]) en = IW + g->pe[2];
        n = (en - st + g->d[2] - 1) / g->d[2];
      } else {
        for (int64_t kw = 0; kw < g->k[2]; kw++) {
          int64_t iw = st + kw * g->d[2];
          n += iw >= 0 && iw < IW;
        }
      }
      wdiv[ow] = (float)n;
    }
  }
  for (int64_t oh = 0; oh < OH; oh++) {
    float *yr = y + oh * OW;
    for (int64_t ow = 0; ow < OW; ow++) yr[ow] = is_max ? -FLT_MAX : 0.0f;
    int64_t st = oh * g->s[1] - g->pb[1], hn = 0;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
      int64_t ih = st + kh * g->d[1];
      if (ih < 0 || ih >= IH) continue;
      hn++;
      (is_max ? j->max_row : j->sum_row)(x + ih * IW, IW, g->k[2], g->s[2], g->d[2], g->pb[2], OW, yr);
    }
    if (!is_max) {
      if (s->count_include_pad) {
        int64_t en = st + (g->k[1] - 1) * g->d[1] + 1;
        if (en > IH + g->pe[1]) en = IH + g->pe[1];
        hn = (en - st + g->d[1] - 1) / g->d[1];
      }
      /* Same rounding as the generic path: one division by the element count. */
      for (int64_t ow = 0; ow < OW; ow++) {
        float div = (float)hn * wdiv[ow];
        yr[ow] = div > 0 ? yr[ow] / div : 0.0f;
      }
    }
  }
}

static void avg_lp_plane(const pool_job *j, size_t plane) {
  const pool_state *s = j->s;
  const nn_geom *g = &s->g;
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
  const int64_t OD = g->out[0], OH = g->out[1], OW = g->out[2];
  const float *x = (const float *)j->x + plane * ID * IH * IW;
  float *y = (float *)j->y + plane * OD * OH * OW;
  const bool lp = s->kind == POOL_LP, p2 = s->p == 2.0f, p1 = s->p == 1.0f;
  for (int64_t od = 0; od < OD; od++) {
    int64_t d0 = od * g->s[0] - g->pb[0];
    for (int64_t oh = 0; oh < OH; oh++) {
      int64_t h0 = oh * g->s[1] - g->pb[1];
      for (int64_t ow = 0; ow < OW; ow++) {
        int64_t w0 = ow * g->s[2] - g->pb[2];
        float acc = 0.0f;
        int64_t cnt = 0;
        for (int64_t kd = 0; kd < g->k[0]; kd++) {
          int64_t id = d0 + kd * g->d[0];
          if (id < 0 || id >= ID) continue;
          for (int64_t kh = 0; kh < g->k[1]; kh++) {
            int64_t ih = h0 + kh * g->d[1];
            if (ih < 0 || ih >= IH) continue;
            const float *row = x + (id * IH + ih) * IW;
            for (int64_t kw = 0; kw < g->k[2]; kw++) {
              int64_t iw = w0 + kw * g->d[2];
              if (iw < 0 || iw >= IW) continue;
              float v = row[iw];
              if (!lp) acc += v;
              else if (p2) acc += v * v;
              else if (p1) acc += fabsf(v);
              else acc += powf(fabsf(v), s->p);
              cnt++;
            }
          }
        }
        float r;
        if (lp) {
          r = p2 ? sqrtf(acc) : p1 ? acc : powf(acc, 1.0f / s->p);
        } else {
          int64_t div = cnt;
          if (s->count_include_pad) {
            /* Windows count padding up to the padded edge, not ceil_mode's overhang. */
            div = 1;
            for (int i = 0; i < 3; i++) {
              int64_t o = i == 0 ? od : i == 1 ? oh : ow;
              int64_t st = o * g->s[i] - g->pb[i];
              int64_t en = st + (g->k[i] - 1) * g->d[i] + 1;
              if (en > g->in[i] + g->pe[i]) en = g->in[i] + g->pe[i];
              div *= (en - st + g->d[i] - 1) / g->d[i];
            }
          }
          r = div > 0 ? acc / (float)div : 0.0f;
        }
        y[(od * OH + oh) * OW + ow] = r;
      }
    }
  }
}

static void global_plane(const pool_job *j, size_t plane) {
  const pool_state *s = j->s;
  const int64_t n = s->g.in[2];
  const float *x = (const float *)j->x + plane * n;
  float r;
  if (s->kind == POOL_MAX) {
    r = n ? x[0] : 0.0f;
    for (int64_t i = 1; i < n; i++)
      if (x[i] > r || x[i] != x[i]) {
        r = x[i];
        if (r != r) break;
      }
  } else {
    /* Eight partial sums: vectorizable, and the same order whatever the thread split. */
    float acc[8] = {0};
    int64_t i = 0;
    if (s->kind == POOL_AVG) {
      for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k];
      for (; i < n; i++) acc[0] += x[i];
    } else if (s->p == 2.0f) {
      for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[i + k] * x[i + k];
      for (; i < n; i++) acc[0] += x[i] * x[i];
    } else {
      for (; i < n; i++) acc[0] += powf(fabsf(x[i]), s->p);
    }
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    if (s->kind == POOL_AVG) r = n ? sum / (float)n : 0.0f;
    else r = s->p == 2.0f ? sqrtf(sum) : powf(sum, 1.0f / s->p);
  }
  ((float *)j->y)[plane] = r;
}

static void pool_task(void *arg, size_t begin, size_t end) {
  const pool_job *j = arg;
  for (size_t p = begin; p < end; p++) {
    if (j->s->global) global_plane(j, p);
    else if (j->fast2d) pool2d_plane(j, p);
    else if (j->s->kind != POOL_MAX) avg_lp_plane(j, p);
    else if (j->s->dtype == OCTET_DTYPE_FLOAT) max_plane_f32(j, p);
    else if (j->s->dtype == OCTET_DTYPE_INT8) (int8_2d(j) ? max2d_plane_s8 : max_plane_s8)(j, p);
    else (int8_2d(j) ? max2d_plane_u8 : max_plane_u8)(j, p);
  }
}

OCTET_K_RUN(octet_k_pool_run) {
  pool_state *s = state;
  pool_job j = {.s = s, .x = in[0]->data, .y = out[0].data,
                .idx = n_out > 1 && out[1].data ? out[1].data : NULL};
  if (!s->global) {
    j.fast2d = pool2d_fits(&j);
    octet_nn_pool_row_select(&j.max_row, &j.sum_row);
    octet_nn_pool_row_int8_select(&j.u8_row, &j.s8_row);
  }
  octet_parallel_for(host, (size_t)(in[0]->dims[0] * in[0]->dims[1]), pool_task, &j);
  return OCTET_OK;
}
