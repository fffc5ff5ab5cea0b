/* qgemm-dispatch.c — packing into int16-pair panels, the portable epilogue, the portable C
 * variant (the format's own oracle in the kernel tester) and the run-time choice of variant. */
#include "ops/quant/qgemm-dispatch.h"

#include <string.h>

#include "common/common.h"
#include "ops/cpu.h"
#include "ops/quant/qgemm-isa.h"
#include "ops/quant/qgemm-ukernels.h"
#include "ops/quant/requant.h"

/* ---- packing ---- */

bool octet_qgemm_panels_size(size_t rows, size_t K, size_t tile, size_t *bytes) {
  size_t panels = rows / tile + (rows % tile != 0), k2 = K / 2 + (K & 1), n;
  if (!octet_mul_size(panels, tile, &n) || !octet_mul_size(n, k2, &n) ||
      !octet_mul_size(n, 2 * sizeof(int16_t), &n) || !octet_add_size(n, 64, &n))
    return false;
  *bytes = n;
  return true;
}

void octet_qgemm_panels_init(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile) {
  p->rows = rows;
  p->K = K;
  p->k2 = K / 2 + (K & 1);
  p->tile = tile;
  /* 32-byte alignment for the vector loads (mem carries 64 bytes of slack for it). */
  p->data = (int16_t *)(((uintptr_t)mem + 31) & ~(uintptr_t)31);
  p->data8 = NULL;
  p->kq = p->kg = 0, p->q8 = NULL, p->rsum = p->rz = NULL;
}


static int32_t zero_point(const void *z, int32_t z_dtype, size_t n_z, size_t r) {
  if (!z || !n_z) return 0;
  size_t i = n_z > 1 ? r : 0;
  if (z_dtype == OCTET_DTYPE_INT32) return ((const int32_t *)z)[i];
  return z_dtype == OCTET_DTYPE_INT8 ? ((const int8_t *)z)[i] : ((const uint8_t *)z)[i];
}

bool octet_qgemm_panels_pack8(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile,
                              const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                              int32_t z_dtype, size_t n_z) {
  octet_qgemm_panels_init(p, mem, rows, K, tile);
  int8_t *d8 = (int8_t *)p->data;
  size_t k2 = p->k2, rend = (rows + tile - 1) / tile * tile;
  for (size_t r = 0; r < rend; r++) {
    int8_t *dst = d8 + (r / tile) * tile * k2 * 2 + (r % tile) * 2;
    if (r >= rows) {
      for (size_t k = 0; k < k2; k++) dst[k * tile * 2] = dst[k * tile * 2 + 1] = 0;
      continue;
    }
    int32_t zr = zero_point(z, z_dtype, n_z, r);
    const uint8_t *su = (const uint8_t *)src + r * sr;
    const int8_t *ss = (const int8_t *)src + r * sr;
    for (size_t k = 0; k < K; k++) {
      int32_t v = (src_signed ? ss[k * sk] : su[k * sk]) - zr;
      if (v < -128 || v > 127) return false;
      dst[(k / 2) * tile * 2 + (k & 1)] = (int8_t)v;
    }
    if (K & 1) dst[(K / 2) * tile * 2 + 1] = 0;
  }
  p->data8 = d8;
  p->data = NULL;
  return true;
}

void octet_qgemm_panels_pack(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile,
                      const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                      int32_t z_dtype, size_t n_z, size_t r0, size_t r1) {
  octet_qgemm_panels_init(p, mem, rows, K, tile);
  size_t k2 = p->k2, rend = r1 == rows ? (rows + tile - 1) / tile * tile : r1;
  for (size_t r = r0; r < rend; r++) {
    int16_t *dst = p->data + (r / tile) * tile * k2 * 2 + (r % tile) * 2;
    if (r >= rows) {
      for (size_t k = 0; k < k2; k++) dst[k * tile * 2] = dst[k * tile * 2 + 1] = 0;
      continue;
    }
    int32_t zr = zero_point(z, z_dtype, n_z, r);
    const uint8_t *su = (const uint8_t *)src + r * sr;
    const int8_t *ss = (const int8_t *)src + r * sr;
    for (size_t k = 0; k < K; k++) {
      int32_t v = src_signed ? ss[k * sk] : su[k * sk];
      dst[(k / 2) * tile * 2 + (k & 1)] = (int16_t)(v - zr);
    }
    if (K & 1) dst[(K / 2) * tile * 2 + 1] = 0;
  }
}

/* ---- the dot-product formats ---- */

static bool q8_size(size_t rows, size_t K, size_t tile, size_t kq, size_t *bytes) {
  size_t padded = (rows + tile - 1) / tile * tile, kg = (K + kq - 1) / kq, n, sums;
  if (!octet_mul_size(padded, kg, &n) || !octet_mul_size(n, kq, &n) ||
      !octet_mul_size(padded, 2 * sizeof(int32_t), &sums) || !octet_add_size(n, sums, &n) ||
      !octet_add_size(n, 128, &n))
    return false;
  *bytes = n;
  return true;
}

static void q8_init(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile, size_t kq) {
  octet_qgemm_panels_init(p, mem, rows, K, tile);
  size_t padded = (rows + tile - 1) / tile * tile;
  p->kq = kq;
  p->kg = (K + kq - 1) / kq;
  p->q8 = (int8_t *)p->data;
  p->data = NULL;
  size_t qb = (padded * p->kg * kq + 31) & ~(size_t)31;
  p->rsum = (int32_t *)(void *)(p->q8 + qb);
  p->rz = p->rsum + padded;
}

static void q8_pack(octet_qgemm_panels *p, void *mem, size_t rows, size_t K, size_t tile, size_t kq,
                    const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                    int32_t z_dtype, size_t n_z, size_t r0, size_t r1) {
  q8_init(p, mem, rows, K, tile, kq);
  size_t kg = p->kg, rend = r1 == rows ? (rows + tile - 1) / tile * tile : r1;
  int32_t c = src_signed ? 0 : 128;
  for (size_t r = r0; r < rend; r++) {
    int8_t *dst = p->q8 + (r / tile) * tile * kg * kq + (r % tile) * kq;
    for (size_t k = 0; k < kg * kq; k++) dst[(k / kq) * tile * kq + k % kq] = 0;
    if (r >= rows) {
      p->rsum[r] = p->rz[r] = 0;
      continue;
    }
    const uint8_t *su = (const uint8_t *)src + r * sr;
    const int8_t *ss = (const int8_t *)src + r * sr;
    uint32_t sum = 0;
    for (size_t k = 0; k < K; k++) {
      int32_t v = (src_signed ? ss[k * sk] : su[k * sk]) - c;
      dst[(k / kq) * tile * kq + k % kq] = (int8_t)v;
      sum += (uint32_t)v;
    }
    p->rsum[r] = (int32_t)sum;
    p->rz[r] = (int32_t)((uint32_t)c - (uint32_t)zero_point(z, z_dtype, n_z, r));
  }
}

static size_t fmt_kq(int fmt) { return fmt == OCTET_QFMT_Q8X8 ? 8 : 4; }

bool octet_qgemm_size(const octet_qgemm_ukernel *uk, size_t rows, size_t K, bool is_b, size_t *bytes) {
  size_t tile = is_b ? uk->nr : uk->mr;
  return uk->fmt != OCTET_QFMT_I16X2 ? q8_size(rows, K, tile, fmt_kq(uk->fmt), bytes)
                                     : octet_qgemm_panels_size(rows, K, tile, bytes);
}

void octet_qgemm_pack_a(const octet_qgemm_ukernel *uk, octet_qgemm_panels *p, void *mem, size_t rows,
                        size_t K, const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                        int32_t z_dtype, size_t n_z, size_t r0, size_t r1) {
  if (uk->fmt != OCTET_QFMT_I16X2)
    q8_pack(p, mem, rows, K, uk->mr, fmt_kq(uk->fmt), src, src_signed, sr, sk, z, z_dtype, n_z, r0, r1);
  else
    octet_qgemm_panels_pack(p, mem, rows, K, uk->mr, src, src_signed, sr, sk, z, z_dtype, n_z, r0, r1);
}

void octet_qgemm_pack_b(const octet_qgemm_ukernel *uk, octet_qgemm_panels *p, void *mem, size_t rows,
                        size_t K, const void *src, bool src_signed, size_t sr, size_t sk, const void *z,
                        int32_t z_dtype, size_t n_z) {
  if (uk->fmt != OCTET_QFMT_I16X2)
    q8_pack(p, mem, rows, K, uk->nr, fmt_kq(uk->fmt), src, src_signed, sr, sk, z, z_dtype, n_z, 0, rows);
  else if (!uk->b8 || !octet_qgemm_panels_pack8(p, mem, rows, K, uk->nr, src, src_signed, sr, sk, z, z_dtype, n_z))
    octet_qgemm_panels_pack(p, mem, rows, K, uk->nr, src, src_signed, sr, sk, z, z_dtype, n_z, 0, rows);
}

/* ---- convolution: channel-pair planes ---- */

bool octet_qconv_layout(octet_qconv_geom *g) {
  size_t wp, rs, ps, prs, pe, k2;
  g->cpairs = g->cg / 2 + (g->cg & 1);
  g->rows = g->ih + g->pt + g->pb;
  if (!octet_add_size(g->iw, g->pl + g->pr, &wp)) return false;
  if (g->virt && (g->sw != g->sh || g->sw == 0)) g->virt = false;
  /* row tiles run up to 16 pixels past a row's end; virtual rows run on into the next row,
   * and past the last plane into a final slack */
  g->rph = g->virt ? g->sh : 1;
  g->prows = (g->rows + g->rph - 1) / g->rph;
  g->phase_w = g->virt ? (wp + g->sw - 1) / g->sw : wp / g->sw + 1 + 32;
  /* Stride 1 with pr <= pl: a row's right padding is the next row's left padding (both zeros),
   * so rows are pl + iw wide: fewer virtual pixels to compute and drop. pr <= (kw - 1) * dw
   * keeps every output column inside the row (ow <= pl + iw); a valid pixel's taps past column
   * pl + iw - 1 wrap into the next row's first pr <= pl columns, which are zeros; past the last
   * row they land in the next plane's top padding or left padding, or the zeroed slack. */
  if (g->virt && g->sw == 1 && g->pr <= g->pl && g->pr <= (g->kw - 1) * g->dw) g->phase_w = g->pl + g->iw;
  size_t slack = g->virt ? 2 * (g->kw * g->dw + 64) + 2 * wp : 0;
  if (!octet_mul_size(g->phase_w, 2, &rs) || !octet_mul_size(g->prows, rs, &ps) ||
      !octet_mul_size(g->sw * g->rph, ps, &prs) || !octet_mul_size(g->cpairs, prs, &pe) ||
      !octet_add_size(pe, slack, &pe) || !octet_mul_size(g->cpairs, g->kh * g->kw, &k2))
    return false;
  g->row_stride = rs, g->phase_stride = ps, g->pair_stride = prs, g->plane_elems = pe, g->k2 = k2;
  /* koff entries are int32: planes past 2^31 elements take the reference path */
  return pe <= INT32_MAX;
}
/* Whether some tap k < kn (dilation d) lands on phase p of s. */
static bool phase_read(size_t kn, size_t d, size_t s, size_t p) {
  for (size_t k = 0; k < kn && k < s; k++)
    if (k * d % s == p) return true;
  return false;
}

void octet_qconv_planes(const octet_qgemm_ukernel *uk, const octet_qconv_geom *g, int16_t *planes,
                        const uint8_t *x, bool x_signed, int32_t zx, size_t cp0, size_t cp1) {
  size_t plane = g->ih * g->iw;
  for (size_t cp = cp0; cp < cp1; cp++) {
    const uint8_t *x0 = x + 2 * cp * plane;
    const uint8_t *x1 = 2 * cp + 1 < g->cg ? x0 + plane : NULL;
    for (size_t pq = 0; pq < g->rph * g->sw; pq++) {
      size_t py = pq / g->sw, q = pq % g->sw;
      int16_t *ph = planes + cp * g->pair_stride + pq * g->phase_stride;
      if (!phase_read(g->kh, g->dh, g->rph, py) || !phase_read(g->kw, g->dw, g->sw, q)) {
        /* no tap reads it (a 1x1 strided convolution reads one phase of four): zeros only */
        memset(ph, 0, g->phase_stride * sizeof *ph);
        continue;
      }
      /* padded column X = i * sw + q is input column X - pl when inside [pl, pl + iw) */
      size_t i0 = g->pl > q ? (g->pl - q + g->sw - 1) / g->sw : 0;
      size_t iend = (g->pl + g->iw - q + g->sw - 1) / g->sw; /* first i with X >= pl + iw */
      if (g->pl + g->iw <= q) iend = 0;
      for (size_t r = 0; r < g->prows; r++) {
        size_t y = r * g->rph + py; /* padded row */
        int16_t *d = ph + r * g->row_stride;
        if (y < g->pt || y - g->pt >= g->ih || y >= g->rows || iend <= i0) {
          memset(d, 0, g->row_stride * sizeof *d);
          continue;
        }
        memset(d, 0, i0 * 2 * sizeof *d);
        const uint8_t *r0 = x0 + (y - g->pt) * g->iw, *r1 = x1 ? x1 + (y - g->pt) * g->iw : NULL;
        size_t c0 = i0 * g->sw + q - g->pl;
        if (g->sw == 1) {
          uk->widen2(d + 2 * i0, r0 + c0, r1 ? r1 + c0 : NULL, iend - i0, x_signed, zx);
        } else {
          /* the phase's bytes gathered into short runs, then widened as pairs */
          uint8_t t0[256], t1[256];
          for (size_t i = i0, c = c0; i < iend; i += 256, c += 256 * g->sw) {
            size_t n = iend - i < 256 ? iend - i : 256;
            for (size_t j = 0; j < n; j++) t0[j] = r0[c + j * g->sw];
            if (r1)
              for (size_t j = 0; j < n; j++) t1[j] = r1[c + j * g->sw];
            uk->widen2(d + 2 * i, t0, r1 ? t1 : NULL, n, x_signed, zx);
          }
        }
        memset(d + 2 * iend, 0, (g->row_stride - 2 * iend) * sizeof *d);
      }
    }
  }
  if (cp1 == g->cpairs && cp0 < cp1) {
    size_t used = g->cpairs * g->pair_stride;
    memset(planes + used, 0, (g->plane_elems - used) * sizeof *planes);
  }
}

void octet_qconv_pointwise_pack(const octet_qgemm_ukernel *uk, const octet_qgemm_panels *p,
                                const uint8_t *x, size_t P, size_t cg, bool x_signed, int32_t zx,
                                size_t t0, size_t t1) {
  size_t nr = p->tile, k2 = p->k2;
  for (size_t t = t0; t < t1; t++) {
    size_t p0 = t * nr, n = P - p0 < nr ? P - p0 : nr;
    int16_t *panel = p->data + t * nr * k2 * 2;
    for (size_t cp = 0; cp < k2; cp++) {
      int16_t *d = panel + cp * nr * 2;
      const uint8_t *s0 = x + 2 * cp * P + p0, *s1 = 2 * cp + 1 < cg ? s0 + P : NULL;
      uk->widen2(d, s0, s1, n, x_signed, zx);
      if (n < nr) memset(d + 2 * n, 0, (nr - n) * 2 * sizeof *d);
    }
  }
}

void octet_qconv_offsets(const octet_qconv_geom *g, int32_t *koff) {
  size_t kp = 0;
  for (size_t cp = 0; cp < g->cpairs; cp++)
    for (size_t ky = 0; ky < g->kh; ky++)
      for (size_t kx = 0; kx < g->kw; kx++)
        koff[kp++] = (int32_t)(cp * g->pair_stride +
                               (ky * g->dh % g->rph * g->sw + kx * g->dw % g->sw) * g->phase_stride +
                               ky * g->dh / g->rph * g->row_stride + (kx * g->dw / g->sw) * 2);
}

bool octet_qconv_weights_size(const octet_qconv_geom *g, size_t mg, size_t tile, size_t *bytes) {
  return octet_qgemm_panels_size(mg, 2 * g->k2, tile, bytes);
}

void octet_qconv_weights_pack(octet_qgemm_panels *p, void *mem, const octet_qconv_geom *g,
                              size_t mg, size_t tile, const void *w, bool w_signed, const void *z,
                              int32_t z_dtype, size_t n_z) {
  octet_qgemm_panels_init(p, mem, mg, 2 * g->k2, tile);
  size_t kspat = g->kh * g->kw, kg = g->cg * kspat, rend = (mg + tile - 1) / tile * tile;
  for (size_t r = 0; r < rend; r++) {
    int16_t *dst = p->data + (r / tile) * tile * p->k2 * 2 + (r % tile) * 2;
    int32_t zr = r < mg ? zero_point(z, z_dtype, n_z, r) : 0;
    const uint8_t *wu = (const uint8_t *)w + r * kg;
    const int8_t *ws = (const int8_t *)w + r * kg;
    size_t kp = 0;
    for (size_t cp = 0; cp < g->cpairs; cp++)
      for (size_t kk = 0; kk < kspat; kk++, kp++)
        for (size_t h = 0; h < 2; h++) {
          size_t c = 2 * cp + h;
          int32_t v = 0;
          if (r < mg && c < g->cg) v = (w_signed ? ws[c * kspat + kk] : wu[c * kspat + kk]) - zr;
          dst[kp * tile * 2 + h] = (int16_t)v;
        }
  }
}

/* ---- epilogue ---- */

void octet_qgemm_epi_scalar(const octet_qgemm_epi *ep, size_t m, size_t n, int32_t acc) {
  if (ep->bias) acc = (int32_t)((uint32_t)acc + (uint32_t)ep->bias[m * ep->bias_rs + n * ep->bias_cs]);
  size_t o = m * ep->ldo + n;
  switch (ep->kind) {
  case OCTET_QEPI_I32: ((int32_t *)ep->out)[o] = acc; break;
  case OCTET_QEPI_Q8:
    octet_q8_store(ep->out, o, ep->out_dtype,
                   octet_requant_value(acc, ep->scale[m * ep->scale_rs + n * ep->scale_cs], ep->zp,
                                       octet_qrange_of(ep->out_dtype)));
    break;
  default: {
    float v = (float)acc * ep->scale[m * ep->scale_rs + n * ep->scale_cs];
    ((float *)ep->out)[o] = ep->fbias ? v + ep->fbias[n] : v;
  }
  }
}

/* ---- the portable C variant: same panels, same tile loop ---- */

static void compute_c(const octet_qgemm_panels *a, const octet_qgemm_panels *b, size_t m0,
                      size_t m1, size_t n0, size_t n1, const octet_qgemm_epi *ep) {
  enum { MR = 4, NR = 8 };
  size_t k2 = a->k2;
  for (size_t m = m0; m < m1; m += MR) {
    const int16_t *ap = a->data + m * k2 * 2;
    for (size_t n = n0; n < n1; n += NR) {
      const int16_t *bp = b->data ? b->data + n * k2 * 2 : NULL;
      const int8_t *bp8 = b->data8 ? b->data8 + n * k2 * 2 : NULL;
      uint32_t acc[MR][NR] = {{0}};
      for (size_t k = 0; k < k2; k++)
        for (size_t i = 0; i < MR; i++)
          for (size_t j = 0; j < NR; j++) {
            size_t bi = (k * NR + j) * 2;
            int32_t b0 = bp ? bp[bi] : bp8[bi], b1 = bp ? bp[bi + 1] : bp8[bi + 1];
            acc[i][j] += (uint32_t)((int32_t)ap[(k * MR + i) * 2] * b0 + (int32_t)ap[(k * MR + i) * 2 + 1] * b1);
          }
      for (size_t i = 0; i < MR && m + i < m1; i++)
        for (size_t j = 0; j < NR && n + j < n1; j++)
          octet_qgemm_epi_scalar(ep, m + i, n + j, (int32_t)acc[i][j]);
    }
  }
}

static void conv_c(const octet_qconv_args *a, size_t oy, size_t ox0, size_t ox1, size_t m0, size_t m1) {
  size_t k2 = a->w->k2, tile = a->w->tile;
  for (size_t m = m0; m < m1; m++) {
    const int16_t *wp = a->w->data + (m / tile) * tile * k2 * 2 + (m % tile) * 2;
    for (size_t ox = ox0; ox < ox1; ox++) {
      const int16_t *base = a->planes + oy * a->y_stride + ox * 2;
      uint32_t acc = 0;
      for (size_t k = 0; k < k2; k++) {
        const int16_t *b = base + a->koff[k];
        acc += (uint32_t)((int32_t)wp[k * tile * 2] * b[0] + (int32_t)wp[k * tile * 2 + 1] * b[1]);
      }
      if (!a->vw) {
        octet_qgemm_epi_scalar(a->ep, m, oy * a->ow + ox, (int32_t)acc);
      } else if (ox % a->vw < a->ow && ox / a->vw < a->oh) {
        octet_qgemm_epi_scalar(a->ep, m, ox / a->vw * a->ow + ox % a->vw, (int32_t)acc);
      }
    }
  }
}

void octet_qdw_c(const octet_qdw_args *a) {
  size_t kw2 = a->kw + (a->kw & 1);
  octet_qrange r = octet_qrange_of(a->out_dtype);
  for (size_t oy = 0; oy < a->oh; oy++)
    for (size_t ox = 0; ox < a->ow; ox++) {
      uint32_t acc = (uint32_t)a->bias;
      for (size_t ky = 0; ky < a->kh; ky++) {
        const int16_t *row = a->plane + (oy * a->stride + ky) * a->pw + ox * a->stride;
        for (size_t kx = 0; kx < a->kw; kx++) acc += (uint32_t)((int32_t)row[kx] * a->w[ky * kw2 + kx]);
      }
      octet_q8_store(a->out, oy * a->ow + ox, a->out_dtype,
                     octet_requant_value((int32_t)acc, a->scale, a->zp, r));
    }
}

bool octet_qdw3_scratch(size_t oh, size_t ow, size_t *words) {
  if (ow > SIZE_MAX / 2 - 16) return false;
  return octet_mul_size(oh / 2 + 2, octet_qdw3_width(ow), words) && octet_add_size(*words, 8, words);
}

/* The 3x3 stride-1 kernels' twin: a direct loop over the bytes, padding read as zx. */
void octet_qdw3_c(const octet_qdw3_args *a) {
  octet_qrange r = octet_qrange_of(a->out_dtype);
  for (size_t oy = 0; oy < a->oh; oy++)
    for (size_t ox = 0; ox < a->ow; ox++) {
      uint32_t acc = (uint32_t)a->bias;
      for (size_t ky = 0; ky < 3; ky++)
        for (size_t kx = 0; kx < 3; kx++) {
          size_t p = oy + ky, q = ox + kx;
          if (p < a->pt || p - a->pt >= a->ih || q < a->pl || q - a->pl >= a->iw) continue;
          size_t i = (p - a->pt) * a->iw + (q - a->pl);
          int32_t v = (a->x_signed ? (int32_t)(int8_t)a->x[i] : (int32_t)a->x[i]) - a->zx;
          acc += (uint32_t)(v * a->w[ky * 4 + kx]);
        }
      octet_q8_store(a->out, oy * a->ow + ox, a->out_dtype,
                     octet_requant_value((int32_t)acc, a->scale, a->zp, r));
    }
}

size_t octet_qdw_plane_width(size_t iw, size_t pl, size_t pr) {
  return (iw + pl + pr + 48 + 15) & ~(size_t)15;
}

void octet_qdw_plane_rows(const octet_qgemm_ukernel *uk, int16_t *plane, size_t pw_out, const uint8_t *x,
                          bool x_signed, int32_t zx, size_t ih, size_t iw, size_t pt, size_t pl) {
  for (size_t y = 0; y < ih; y++) uk->widen(plane + (pt + y) * pw_out + pl, x + y * iw, iw, x_signed, zx);
}

void octet_qdw_plane(const octet_qgemm_ukernel *uk, int16_t *plane, size_t pw_out, const uint8_t *x,
                     bool x_signed, int32_t zx, size_t ih, size_t iw, size_t pt, size_t pb, size_t pl) {
  /* zeros only where no input lands (padding rows, and each row's left padding and right
   * padding + slack): the plane is rewritten for every channel */
  memset(plane, 0, pt * pw_out * sizeof *plane);
  for (size_t y = 0; y < ih; y++) {
    int16_t *d = plane + (pt + y) * pw_out;
    memset(d, 0, pl * sizeof *d);
    uk->widen(d + pl, x + y * iw, iw, x_signed, zx);
    memset(d + pl + iw, 0, (pw_out - pl - iw) * sizeof *d);
  }
  memset(plane + (pt + ih) * pw_out, 0, pb * pw_out * sizeof *plane);
}

static void widen_c(int16_t *d, const uint8_t *s, size_t n, bool sgn, int32_t zx) {
  if (sgn)
    for (size_t i = 0; i < n; i++) d[i] = (int16_t)((int8_t)s[i] - zx);
  else
    for (size_t i = 0; i < n; i++) d[i] = (int16_t)(s[i] - zx);
}

static void widen2_c(int16_t *d, const uint8_t *s0, const uint8_t *s1, size_t n, bool sgn, int32_t zx) {
  for (size_t i = 0; i < n; i++) {
    d[2 * i] = (int16_t)((sgn ? (int32_t)(int8_t)s0[i] : (int32_t)s0[i]) - zx);
    d[2 * i + 1] = s1 ? (int16_t)((sgn ? (int32_t)(int8_t)s1[i] : (int32_t)s1[i]) - zx) : 0;
  }
}

/* ---- the list and the choice ---- */

static const octet_qgemm_ukernel g_ukernels[] = {
#if OCTET_QGEMM_AVX2
    {"octet_qs16_gemm_6x16__avx2", OCTET_CPU_LEVEL_AVX2, 6, 16, true, true, OCTET_QFMT_I16X2, octet_qs16_gemm_6x16__avx2,
     octet_qs16_conv_6x16__avx2, octet_qs16_dwconv__avx2, octet_qs16_widen__avx2, octet_qs16_widen2__avx2,
     octet_qs16_dw3x3__avx2},
#endif
#if OCTET_QGEMM_I8MM
    {"octet_qs8_gemm_4x8c8__neoni8mm", OCTET_CPU_NEON | OCTET_CPU_I8MM, 4, 8, true, false, OCTET_QFMT_Q8X8,
     octet_qs8_gemm_4x8c8__neoni8mm, octet_qs16_conv_4x8__neon, octet_qs16_dwconv__neon, widen_c, widen2_c, NULL},
#endif
#if OCTET_QGEMM_NEONDOT
    /* conv and depthwise run the NEON int16 kernels (same mr) */
    {"octet_qs8_gemm_4x8c4__neondot", OCTET_CPU_NEON | OCTET_CPU_ASIMDDP, 4, 8, true, false, OCTET_QFMT_Q8X4,
     octet_qs8_gemm_4x8c4__neondot, octet_qs16_conv_4x8__neon, octet_qs16_dwconv__neon, widen_c, widen2_c, NULL},
#endif
#if OCTET_QGEMM_NEON
    {"octet_qs16_gemm_4x8__neon", OCTET_CPU_NEON, 4, 8, true, false, OCTET_QFMT_I16X2, octet_qs16_gemm_4x8__neon,
     octet_qs16_conv_4x8__neon, octet_qs16_dwconv__neon, widen_c, widen2_c, NULL},
#endif
    {"octet_qs16_gemm_4x8__c", 0, 4, 8, false, true, OCTET_QFMT_I16X2, compute_c, conv_c, octet_qdw_c, widen_c, widen2_c,
     octet_qdw3_c},
};

size_t octet_qgemm_ukernel_count(void) { return OCTET_COUNTOF(g_ukernels); }
const octet_qgemm_ukernel *octet_qgemm_ukernel_at(size_t i) {
  return i < OCTET_COUNTOF(g_ukernels) ? &g_ukernels[i] : NULL;
}

const octet_qgemm_ukernel *octet_qgemm_select(void) {
  uint32_t f = octet_cpu_features();
  for (size_t i = 0; i < OCTET_COUNTOF(g_ukernels); i++) {
    const octet_qgemm_ukernel *u = &g_ukernels[i];
    if (u->auto_select && (f & u->cpu_features) == u->cpu_features && u->cpu_features) return u;
  }
  return NULL;
}
