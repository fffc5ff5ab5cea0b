/* ew-driver.c — the two loops every elementwise kernel runs through: a unary block loop and
 * a numpy-broadcasting binary loop, both split across the host's threads into disjoint output
 * ranges, with float16/bfloat16 computed in float. */
#include "ops/float/elementwise/elementwise.h"

/* Below this many elements a thread hand-off costs more than it saves. */
#define EW_PAR_MIN 32768
/* Elements per parallel work unit. */
#define EW_BLOCK 8192
/* Elements converted at a time on the half-precision path (stack buffers). */
#define EW_HBLOCK 256

static void half_to_f32(int32_t dt, const void *x, float *y, size_t n) {
  const uint16_t *h = x;
  if (dt == OCTET_DTYPE_FLOAT16)
    for (size_t i = 0; i < n; i++) y[i] = octet_half_to_float(h[i]);
  else
    for (size_t i = 0; i < n; i++) y[i] = octet_bf16_to_float(h[i]);
}

static void f32_to_half(int32_t dt, const float *x, void *y, size_t n) {
  uint16_t *h = y;
  if (dt == OCTET_DTYPE_FLOAT16)
    for (size_t i = 0; i < n; i++) h[i] = octet_float_to_half(x[i]);
  else
    for (size_t i = 0; i < n; i++) h[i] = octet_float_to_bf16(x[i]);
}

octet_status ew_numel(const octet_tensor *t, size_t *n, octet_error *err) {
  if (!octet_shape_numel(t->dims, t->rank, n))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "tensor shape is negative or too large");
  size_t bytes;
  if (!octet_mul_size(*n, 16, &bytes))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "tensor is too large");
  return OCTET_OK;
}

octet_status ew_broadcast_n(const char *node, const char *op, const octet_tensor *const *t,
                            size_t n, octet_tensor *out, octet_error *err) {
  out->rank = 0;
  for (size_t i = 0; i < n; i++) {
    if (!t[i]) continue;
    if (t[i]->rank < 0 || t[i]->rank > OCTET_MAX_RANK)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): input %zu has rank %d",
                        node, op, i, (int)t[i]->rank);
    octet_tensor tmp = *out;
    octet_status st = octet_broadcast_shape(&tmp, t[i], out, err);
    if (st)
      return octet_fail_prefix(err, "node '%s' (%s): input %zu", node, op, i);
  }
  size_t numel;
  octet_status st = ew_numel(out, &numel, err);
  if (st) return octet_fail_prefix(err, "node '%s' (%s): output", node, op);
  return OCTET_OK;
}

/* ---------------- unary ---------------- */

typedef struct unary_job {
  const ew_unary_call *c;
  const char *x;
  char *y;
  size_t n, in_sz, out_sz;
} unary_job;

static void unary_range(const ew_unary_call *c, const char *x, char *y, size_t n, size_t in_sz,
                        size_t out_sz) {
  if (!ew_is_half(c->in_dtype)) {
    c->fn(x, y, n, &c->p);
    return;
  }
  float xb[EW_HBLOCK], yb[EW_HBLOCK];
  bool half_out = ew_is_half(c->out_dtype);
  for (size_t s = 0; s < n; s += EW_HBLOCK) {
    size_t len = n - s < EW_HBLOCK ? n - s : EW_HBLOCK;
    half_to_f32(c->in_dtype, x + s * in_sz, xb, len);
    if (half_out) {
      c->fn(xb, yb, len, &c->p);
      f32_to_half(c->out_dtype, yb, y + s * out_sz, len);
    } else {
      c->fn(xb, y + s * out_sz, len, &c->p);
    }
  }
}

static void unary_task(void *arg, size_t begin, size_t end) {
  const unary_job *j = arg;
  size_t s = begin * EW_BLOCK, e = end * EW_BLOCK;
  if (e > j->n) e = j->n;
  unary_range(j->c, j->x + s * j->in_sz, j->y + s * j->out_sz, e - s, j->in_sz, j->out_sz);
}

void ew_unary_apply(const ew_unary_call *c, const void *x, void *y, size_t n,
                    const octet_host *host) {
  unary_job j = {c, x, y, n, octet_dtype_size(c->in_dtype), octet_dtype_size(c->out_dtype)};
  size_t units = (n + EW_BLOCK - 1) / EW_BLOCK;
  if (n < EW_PAR_MIN)
    unary_task(&j, 0, units);
  else
    octet_parallel_for(host, units, unary_task, &j);
}

/* ---------------- binary ---------------- */

/* The broadcast, reduced: out is rows x inner (inner contiguous in out); the outer dims walk
 * a and b with their own strides, and within a row a and b each either advance or stay. */
typedef struct binary_job {
  const ew_binary_call *c;
  const char *a, *b;
  char *o;
  size_t a_sz, b_sz, o_sz;
  int32_t outer_rank; /* dims of the row index, outermost first */
  int64_t dims[OCTET_MAX_RANK], sa[OCTET_MAX_RANK], sb[OCTET_MAX_RANK];
  size_t inner, chunks; /* chunks per row */
  size_t chunk;
  int mode;
} binary_job;

static void binary_call(const binary_job *j, const char *a, const char *b, char *o, size_t n) {
  const ew_binary_call *c = j->c;
  if (!ew_is_half(c->a_dtype)) {
    c->fn(a, b, o, n, j->mode, &c->p);
    return;
  }
  /* Half inputs: compute in float. */
  float ab[EW_HBLOCK], bb[EW_HBLOCK], ob[EW_HBLOCK];
  bool half_out = ew_is_half(c->out_dtype);
  for (size_t s = 0; s < n; s += EW_HBLOCK) {
    size_t len = n - s < EW_HBLOCK ? n - s : EW_HBLOCK;
    if (j->mode == EW_SV) half_to_f32(c->a_dtype, a, ab, 1);
    else half_to_f32(c->a_dtype, a + s * j->a_sz, ab, len);
    const void *bp; /* Pow's exponent may be of another type: its variant reads it as is */
    if (!ew_is_half(c->b_dtype)) {
      bp = j->mode == EW_VS ? b : b + s * j->b_sz;
    } else {
      if (j->mode == EW_VS) half_to_f32(c->b_dtype, b, bb, 1);
      else half_to_f32(c->b_dtype, b + s * j->b_sz, bb, len);
      bp = bb;
    }
    if (half_out) {
      c->fn(ab, bp, ob, len, j->mode, &c->p);
      f32_to_half(c->out_dtype, ob, o + s * j->o_sz, len);
    } else {
      c->fn(ab, bp, o + s * j->o_sz, len, j->mode, &c->p);
    }
  }
}

static void binary_task(void *arg, size_t begin, size_t end) {
  const binary_job *j = arg;
  size_t row = begin / j->chunks, ch = begin % j->chunks;
  int64_t idx[OCTET_MAX_RANK];
  int64_t ao = 0, bo = 0;
  size_t r = row;
  for (int32_t k = j->outer_rank - 1; k >= 0; k--) {
    idx[k] = (int64_t)(r % (size_t)j->dims[k]);
    r /= (size_t)j->dims[k];
    ao += idx[k] * j->sa[k];
    bo += idx[k] * j->sb[k];
  }
  size_t ainc = j->mode == EW_SV ? 0 : 1, binc = j->mode == EW_VS ? 0 : 1;
  for (size_t u = begin; u < end; u++) {
    size_t s = ch * j->chunk;
    size_t len = j->inner - s < j->chunk ? j->inner - s : j->chunk;
    binary_call(j, j->a + ((size_t)ao + s * ainc) * j->a_sz, j->b + ((size_t)bo + s * binc) * j->b_sz,
                j->o + (row * j->inner + s) * j->o_sz, len);
    if (++ch < j->chunks) continue;
    ch = 0;
    row++;
    for (int32_t k = j->outer_rank - 1; k >= 0; k--) { /* odometer step */
      ao += j->sa[k];
      bo += j->sb[k];
      if (++idx[k] < j->dims[k]) break;
      ao -= idx[k] * j->sa[k];
      bo -= idx[k] * j->sb[k];
      idx[k] = 0;
    }
  }
}

void ew_binary_apply(const ew_binary_call *c, const octet_tensor *a, const octet_tensor *b,
                     octet_tensor *out, const octet_host *host) {
  int32_t rank = out->rank;
  int64_t sa[OCTET_MAX_RANK], sb[OCTET_MAX_RANK];
  octet_broadcast_strides(a, rank, out->dims, sa);
  octet_broadcast_strides(b, rank, out->dims, sb);
  binary_job j = {.c = c, .a = a->data, .b = b->data, .o = out->data,
                  .a_sz = octet_dtype_size(c->a_dtype), .b_sz = octet_dtype_size(c->b_dtype),
                  .o_sz = octet_dtype_size(c->out_dtype)};
  /* Drop size-1 dims and merge neighbours that both operands walk contiguously. */
  int32_t m = 0;
  for (int32_t i = 0; i < rank; i++) {
    int64_t d = out->dims[i];
    if (d == 0) return;
    if (d == 1) continue;
    if (m > 0 && j.sa[m - 1] == sa[i] * d && j.sb[m - 1] == sb[i] * d) {
      j.dims[m - 1] *= d;
      j.sa[m - 1] = sa[i];
      j.sb[m - 1] = sb[i];
      continue;
    }
    j.dims[m] = d;
    j.sa[m] = sa[i];
    j.sb[m] = sb[i];
    m++;
  }
  if (m == 0) { /* one element */
    j.dims[0] = 1;
    j.sa[0] = j.sb[0] = 1;
    m = 1;
  }
  j.inner = (size_t)j.dims[m - 1];
  j.mode = j.sa[m - 1] == 0 ? EW_SV : j.sb[m - 1] == 0 ? EW_VS : EW_VV;
  j.outer_rank = m - 1;
  size_t rows = 1;
  for (int32_t k = 0; k < m - 1; k++) rows *= (size_t)j.dims[k];
  j.chunk = EW_BLOCK;
  j.chunks = (j.inner + EW_BLOCK - 1) / EW_BLOCK;
  size_t units = rows * j.chunks;
  if (rows * j.inner < EW_PAR_MIN)
    binary_task(&j, 0, units);
  else
    octet_parallel_for(host, units, binary_task, &j);
}
