/* detection.c — NonMaxSuppression (opset 10/11) and GridSample (opset 16): the two sampling /
 * selection ops that detection and OCR post-processing graphs use. Float inputs. */
#include <math.h>

#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

/* ---- NonMaxSuppression ---- */

OCTET_K_CREATE(tk_nms_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 2, 5, err);
  if (s || (s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT), err)) ||
      (s = octet_k_expect_dtype(info, 1, OCTET_DT(FLOAT), err)) || (s = tk_new(info, &st, err)))
    return s;
  *state = st;
  out_dtypes[0] = OCTET_DTYPE_INT64;
  if ((s = octet_attr_int(info, "center_point_box", 0, &st->iv[0], err))) return s;
  if (st->iv[0] != 0 && st->iv[0] != 1)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "center_point_box must be 0 or 1");
  return OCTET_OK;
}

typedef struct nms_box {
  float x1, y1, x2, y2, area;
} nms_box;

static nms_box nms_read(const float *b, bool center) {
  nms_box r;
  if (center) {
    r.x1 = b[0] - b[2] / 2, r.x2 = b[0] + b[2] / 2;
    r.y1 = b[1] - b[3] / 2, r.y2 = b[1] + b[3] / 2;
  } else { /* [y1, x1, y2, x2], corners in either order */
    r.y1 = fminf(b[0], b[2]), r.y2 = fmaxf(b[0], b[2]);
    r.x1 = fminf(b[1], b[3]), r.x2 = fmaxf(b[1], b[3]);
  }
  r.area = (r.x2 - r.x1) * (r.y2 - r.y1);
  return r;
}

/* Intersection over union exceeds the threshold? Degenerate boxes never suppress. */
static bool nms_suppress(const nms_box *a, const nms_box *b, float thr) {
  if (a->area <= 0 || b->area <= 0) return false;
  float ix = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1), iy = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
  if (ix <= 0 || iy <= 0) return false;
  float inter = ix * iy, uni = a->area + b->area - inter;
  return uni > 0 && inter / uni > thr;
}

typedef struct nms_plan {
  int64_t batches, classes, spatial, max_out;
  float iou, score;
  bool has_score;
} nms_plan;

static octet_status nms_plan_make(tk_state *st, const octet_tensor *const *in, size_t n_in,
                                  nms_plan *p, octet_error *err) {
  const octet_tensor *b = in[0], *s = in[1];
  if (b->rank != 3 || b->dims[2] != 4 || s->rank != 3 || s->dims[0] != b->dims[0] ||
      s->dims[2] != b->dims[1])
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "boxes must be [batches, boxes, 4] and scores [batches, classes, boxes]");
  p->batches = b->dims[0], p->spatial = b->dims[1], p->classes = s->dims[1];
  p->max_out = n_in > 2 && in[2] && octet_tensor_numel(in[2]) ? octet_k_get_int(in[2], 0) : 0;
  p->iou = n_in > 3 && in[3] && octet_tensor_numel(in[3]) ? (float)octet_k_get_double(in[3], 0) : 0;
  p->has_score = n_in > 4 && in[4] && octet_tensor_numel(in[4]);
  p->score = p->has_score ? (float)octet_k_get_double(in[4], 0) : 0;
  if (p->iou < 0 || p->iou > 1)
    return tk_fail(&st->b, err, OCTET_STATUS_INVALID_ARGUMENT, "iou_threshold %g is outside [0, 1]",
                   (double)p->iou);
  if (p->max_out < 0) p->max_out = 0;
  return OCTET_OK;
}

/* Runs the greedy selection; writes triples to out (when non-NULL) and returns the count.
 * cand and sel hold `spatial` entries each. */
static size_t nms_select(const nms_plan *p, const float *boxes, const float *scores, bool center,
                         int64_t *cand, int64_t *sel, int64_t *out) {
  size_t total = 0;
  for (int64_t bt = 0; bt < p->batches; bt++)
    for (int64_t c = 0; c < p->classes; c++) {
      const float *sc = scores + (bt * p->classes + c) * p->spatial;
      const float *bx = boxes + bt * p->spatial * 4;
      int64_t n = 0;
      for (int64_t i = 0; i < p->spatial; i++)
        if (!p->has_score || sc[i] > p->score) cand[n++] = i;
      /* insertion sort by score descending, lower index first on ties (stable) */
      for (int64_t i = 1; i < n; i++) {
        int64_t v = cand[i], k = i;
        while (k > 0 && sc[cand[k - 1]] < sc[v]) cand[k] = cand[k - 1], k--;
        cand[k] = v;
      }
      int64_t ns = 0;
      for (int64_t i = 0; i < n && ns < p->max_out; i++) {
        nms_box a = nms_read(bx + cand[i] * 4, center);
        bool keep = true;
        for (int64_t k = 0; k < ns && keep; k++) {
          nms_box b = nms_read(bx + sel[k] * 4, center);
          if (nms_suppress(&a, &b, p->iou)) keep = false;
        }
        if (!keep) continue;
        sel[ns++] = cand[i];
        if (out) {
          out[total * 3] = bt, out[total * 3 + 1] = c, out[total * 3 + 2] = cand[i];
        }
        total++;
      }
    }
  return total;
}

OCTET_K_INFER(tk_nms_infer) {
  (void)n_out;
  nms_plan p;
  octet_status s = nms_plan_make(ST, in, n_in, &p, err);
  if (s) return s;
  size_t bytes = 2 * (size_t)(p.spatial ? p.spatial : 1) * sizeof(int64_t);
  int64_t *mem = octet_malloc(bytes);
  if (!mem) return tk_fail(&ST->b, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  size_t n = nms_select(&p, in[0]->data, in[1]->data, ST->iv[0] != 0, mem, mem + p.spatial, NULL);
  octet_free(mem);
  out[0].dtype = OCTET_DTYPE_INT64;
  out[0].rank = 2;
  out[0].dims[0] = (int64_t)n;
  out[0].dims[1] = 3;
  *workspace = bytes;
  return OCTET_OK;
}

OCTET_K_RUN(tk_nms_run) {
  (void)n_out, (void)host;
  nms_plan p;
  octet_status s = nms_plan_make(ST, in, n_in, &p, err);
  if (s) return s;
  if (!ws) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "no workspace given");
  int64_t *mem = ws;
  size_t n = nms_select(&p, in[0]->data, in[1]->data, ST->iv[0] != 0, mem, mem + p.spatial, NULL);
  if ((int64_t)n != out[0].dims[0])
    return tk_fail(&ST->b, err, OCTET_STATUS_INTERNAL, "output holds %lld boxes, %zu selected",
                   (long long)out[0].dims[0], n);
  nms_select(&p, in[0]->data, in[1]->data, ST->iv[0] != 0, mem, mem + p.spatial, out[0].data);
  return OCTET_OK;
}

/* ---- GridSample ---- */

enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };

OCTET_K_CREATE(tk_grid_sample_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 2, 2, err);
  if (s || (s = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT), err)) ||
      (s = octet_k_expect_dtype(info, 1, OCTET_DT(FLOAT), err)) || (s = tk_new(info, &st, err)))
    return s;
  *state = st;
  const char *mode, *pad;
  if ((s = octet_attr_int(info, "align_corners", 0, &st->iv[0], err)) ||
      (s = octet_attr_string(info, "mode", "bilinear", &mode, err)) ||
      (s = octet_attr_string(info, "padding_mode", "zeros", &pad, err)))
    return s;
  if (!strcmp(mode, "bilinear") || !strcmp(mode, "linear")) st->iv[1] = GS_BILINEAR;
  else if (!strcmp(mode, "nearest")) st->iv[1] = GS_NEAREST;
  else if (!strcmp(mode, "bicubic") || !strcmp(mode, "cubic")) st->iv[1] = GS_BICUBIC;
  else return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown mode '%s'", mode);
  if (!strcmp(pad, "zeros")) st->iv[2] = GS_ZEROS;
  else if (!strcmp(pad, "border")) st->iv[2] = GS_BORDER;
  else if (!strcmp(pad, "reflection")) st->iv[2] = GS_REFLECTION;
  else return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "unknown padding_mode '%s'", pad);
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  return OCTET_OK;
}

OCTET_K_INFER(tk_grid_sample_infer) {
  (void)n_in, (void)n_out;
  const octet_tensor *x = in[0], *g = in[1];
  if (x->rank != 4 || g->rank != 4 || g->dims[3] != 2 || g->dims[0] != x->dims[0])
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT,
                   "X must be [N, C, H, W] and grid [N, H_out, W_out, 2] (2-D sampling only)");
  out[0].dtype = OCTET_DTYPE_FLOAT;
  out[0].rank = 4;
  out[0].dims[0] = x->dims[0], out[0].dims[1] = x->dims[1];
  out[0].dims[2] = g->dims[1], out[0].dims[3] = g->dims[2];
  *workspace = 0;
  return OCTET_OK;
}

static float gs_reflect(float x, float lo, float hi) {
  float rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    float dx = lo - x;
    int n = (int)(dx / rng);
    float r = dx - (float)n * rng;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    float dx = x - hi;
    int n = (int)(dx / rng);
    float r = dx - (float)n * rng;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

typedef struct gs_ctx {
  const float *img;
  int64_t H, W;
  int pad;
  float bx0, by0, bx1, by1; /* reflection bounds */
} gs_ctx;

static float gs_pixel(const gs_ctx *c, int64_t r, int64_t col) {
  if (c->pad == GS_ZEROS) {
    if (col < 0 || col >= c->W || r < 0 || r >= c->H) return 0;
  } else if (c->pad == GS_BORDER) {
    col = col < 0 ? 0 : col >= c->W ? c->W - 1 : col;
    r = r < 0 ? 0 : r >= c->H ? c->H - 1 : r;
  } else {
    col = (int64_t)gs_reflect((float)col, c->bx0, c->bx1);
    r = (int64_t)gs_reflect((float)r, c->by0, c->by1);
    col = col < 0 ? 0 : col >= c->W ? c->W - 1 : col;
    r = r < 0 ? 0 : r >= c->H ? c->H - 1 : r;
  }
  return c->img[r * c->W + col];
}

static void gs_cubic(float x, float *w) {
  const float A = -0.75f;
  x = fabsf(x);
  w[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  w[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  w[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

OCTET_K_RUN(tk_grid_sample_run) {
  (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  const octet_tensor *x = in[0], *g = in[1];
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  int64_t Ho = g->dims[1], Wo = g->dims[2];
  bool ac = ST->iv[0] != 0;
  int mode = (int)ST->iv[1];
  gs_ctx c = {.H = H, .W = W, .pad = (int)ST->iv[2]};
  c.bx0 = ac ? 0 : -0.5f, c.by0 = ac ? 0 : -0.5f;
  c.bx1 = ac ? (float)(W - 1) : (float)W - 0.5f, c.by1 = ac ? (float)(H - 1) : (float)H - 0.5f;
  const float *grid = g->data;
  float *y = out[0].data;
  for (int64_t n = 0; n < N; n++)
    for (int64_t ch = 0; ch < C; ch++) {
      c.img = (const float *)x->data + (n * C + ch) * H * W;
      for (int64_t i = 0; i < Ho * Wo; i++) {
        const float *gp = grid + (n * Ho * Wo + i) * 2;
        float fx = ac ? (gp[0] + 1) / 2 * (float)(W - 1) : ((gp[0] + 1) * (float)W - 1) / 2;
        float fy = ac ? (gp[1] + 1) / 2 * (float)(H - 1) : ((gp[1] + 1) * (float)H - 1) / 2;
        if (mode == GS_NEAREST) fx = nearbyintf(fx), fy = nearbyintf(fy);
        if (fx < c.bx0 || fx > c.bx1 || fy < c.by0 || fy > c.by1) {
          if (c.pad == GS_BORDER) {
            fx = fminf(fmaxf(fx, 0), (float)(W - 1));
            fy = fminf(fmaxf(fy, 0), (float)(H - 1));
          } else if (c.pad == GS_REFLECTION) {
            fx = gs_reflect(fx, c.bx0, c.bx1);
            fy = gs_reflect(fy, c.by0, c.by1);
          }
        }
        float v;
        if (mode == GS_NEAREST) {
          v = gs_pixel(&c, (int64_t)fy, (int64_t)fx);
        } else if (mode == GS_BILINEAR) {
          float x1 = floorf(fx), y1 = floorf(fy);
          int64_t ix = (int64_t)x1, iy = (int64_t)y1;
          float dx1 = fx - x1, dx2 = x1 + 1 - fx, dy1 = fy - y1, dy2 = y1 + 1 - fy;
          v = dy2 * (dx2 * gs_pixel(&c, iy, ix) + dx1 * gs_pixel(&c, iy, ix + 1)) +
              dy1 * (dx2 * gs_pixel(&c, iy + 1, ix) + dx1 * gs_pixel(&c, iy + 1, ix + 1));
        } else {
          float x0 = floorf(fx) - 1, y0 = floorf(fy) - 1, wx[4], wy[4];
          gs_cubic(fx - x0 - 1, wx);
          gs_cubic(fy - y0 - 1, wy);
          v = 0;
          for (int r = 0; r < 4; r++) {
            float row = 0;
            for (int k = 0; k < 4; k++)
              row += wx[k] * gs_pixel(&c, (int64_t)y0 + r, (int64_t)x0 + k);
            v += wy[r] * row;
          }
        }
        y[(n * C + ch) * Ho * Wo + i] = v;
      }
    }
  return OCTET_OK;
}
