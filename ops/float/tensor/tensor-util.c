/* tensor-util.c — base state, error helpers and the strided copy engine of the tensor kernels. */
#include <stdarg.h>
#include <stdio.h>

#include "ops/float/tensor/tensor-util.h"

octet_status tk_state_new(const octet_kernel_info *info, size_t size, void **state,
                          octet_error *err) {
  tk_base *b = octet_calloc(1, size);
  if (!b)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s' (%s): out of memory",
                      info->node_name ? info->node_name : "", info->op_type);
  snprintf(b->node, sizeof b->node, "%s", info->node_name ? info->node_name : "");
  snprintf(b->op, sizeof b->op, "%s", info->op_type ? info->op_type : "");
  b->opset = info->opset;
  b->dtype = info->n_inputs > 0 ? info->input_dtypes[0] : OCTET_DTYPE_UNDEFINED;
  *state = b;
  return OCTET_OK;
}

static octet_status vfail(octet_error *err, const char *node, const char *op, octet_status st,
                          const char *fmt, va_list ap) {
  char msg[OCTET_ERROR_MESSAGE_SIZE];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return octet_fail(err, st, "node '%s' (%s): %s", node, op, msg);
}

octet_status tk_fail(const tk_base *b, octet_error *err, octet_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  octet_status r = vfail(err, b->node, b->op, st, fmt, ap);
  va_end(ap);
  return r;
}

octet_status tk_fail_info(const octet_kernel_info *info, octet_error *err, octet_status st,
                          const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  octet_status r = vfail(err, info->node_name ? info->node_name : "", info->op_type, st, fmt, ap);
  va_end(ap);
  return r;
}

octet_status tk_expect_fixed(const octet_kernel_info *info, size_t input, octet_error *err) {
  int32_t dt = input < info->n_inputs ? info->input_dtypes[input] : OCTET_DTYPE_UNDEFINED;
  if (octet_dtype_size(dt) == 0)
    return tk_fail_info(info, err, OCTET_STATUS_UNSUPPORTED,
                        "input %zu has type %s, which this kernel does not support", input,
                        octet_dtype_name(dt));
  return OCTET_OK;
}

octet_status tk_check_shape(const tk_base *b, const int64_t *dims, int32_t rank,
                            octet_error *err) {
  size_t n;
  if (rank < 0 || rank > OCTET_MAX_RANK)
    return tk_fail(b, err, OCTET_STATUS_UNSUPPORTED, "output rank %d exceeds the maximum %d",
                   (int)rank, OCTET_MAX_RANK);
  for (int32_t i = 0; i < rank; i++)
    if (dims[i] < 0)
      return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "output dim %d is negative (%lld)",
                     (int)i, (long long)dims[i]);
  if (!octet_shape_numel(dims, rank, &n) || !octet_mul_size(n, 16, &n))
    return tk_fail(b, err, OCTET_STATUS_INVALID_ARGUMENT, "output shape is too large");
  return OCTET_OK;
}

octet_status tk_int_list(const tk_base *b, const octet_tensor *t, const char *what, size_t *n,
                         octet_error *err) {
  if (t->dtype != OCTET_DTYPE_INT64 && t->dtype != OCTET_DTYPE_INT32)
    return tk_fail(b, err, OCTET_STATUS_INVALID_MODEL, "'%s' must be int32 or int64, not %s", what,
                   octet_dtype_name(t->dtype));
  if (t->rank > 1)
    return tk_fail(b, err, OCTET_STATUS_INVALID_MODEL, "'%s' must be 1-D, has rank %d", what,
                   (int)t->rank);
  *n = octet_tensor_numel(t);
  return OCTET_OK;
}

void tk_strides(const int64_t *dims, int32_t rank, int64_t *strides) {
  int64_t s = 1;
  for (int32_t i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
}

void tk_fill(void *dst, const void *val, size_t es, size_t n) {
  uint8_t *d = dst;
  if (n == 0) return;
  if (es == 1) {
    memset(d, *(const uint8_t *)val, n);
    return;
  }
  memcpy(d, val, es);
  /* Doubling copies: log(n) memcpy calls. */
  size_t done = 1;
  while (done < n) {
    size_t c = done < n - done ? done : n - done;
    memcpy(d + done * es, d, c * es);
    done += c;
  }
}

/* ---- strided copy ---- */

typedef struct copy_job {
  uint8_t *dst;
  const uint8_t *src;
  size_t es;
  int32_t rank;
  int64_t dims[TK_MAX_COPY_RANK];
  int64_t strides[TK_MAX_COPY_RANK];
  int64_t offset;
  /* blocked transpose: the last two dims form a tile grid */
  int64_t tiles_i, tiles_j;
} copy_job;

#define TILE 64

/* Offset of the outer row `row` (index over dims[0..nouter)). */
static int64_t outer_offset(const copy_job *j, int32_t nouter, size_t row) {
  int64_t off = j->offset;
  for (int32_t d = nouter - 1; d >= 0; d--) {
    int64_t idx = (int64_t)(row % (size_t)j->dims[d]);
    row /= (size_t)j->dims[d];
    off += idx * j->strides[d];
  }
  return off;
}

static void copy_rows(void *arg, size_t begin, size_t end) {
  const copy_job *j = arg;
  int32_t r = j->rank;
  int64_t inner = j->dims[r - 1], s = j->strides[r - 1];
  size_t es = j->es, row_bytes = (size_t)inner * es;
  int64_t idx[TK_MAX_COPY_RANK];
  int64_t off = outer_offset(j, r - 1, begin);
  {
    size_t row = begin;
    for (int32_t d = r - 2; d >= 0; d--) {
      idx[d] = (int64_t)(row % (size_t)j->dims[d]);
      row /= (size_t)j->dims[d];
    }
  }
  for (size_t row = begin; row < end; row++) {
    uint8_t *o = j->dst + row * row_bytes;
    const uint8_t *in = j->src + off * (int64_t)es;
    if (s == 1) {
      memcpy(o, in, row_bytes);
    } else if (s == 0) {
      tk_fill(o, in, es, (size_t)inner);
    } else {
      switch (es) {
      case 1:
        for (int64_t k = 0; k < inner; k++) o[k] = in[k * s];
        break;
      case 2:
        for (int64_t k = 0; k < inner; k++) memcpy(o + 2 * k, in + 2 * k * s, 2);
        break;
      case 4:
        for (int64_t k = 0; k < inner; k++) memcpy(o + 4 * k, in + 4 * k * s, 4);
        break;
      case 8:
        for (int64_t k = 0; k < inner; k++) memcpy(o + 8 * k, in + 8 * k * s, 8);
        break;
      default:
        for (int64_t k = 0; k < inner; k++) memcpy(o + es * (size_t)k, in + (int64_t)es * k * s, es);
      }
    }
    /* advance the odometer over the outer dims */
    for (int32_t d = r - 2; d >= 0; d--) {
      off += j->strides[d];
      if (++idx[d] < j->dims[d]) break;
      off -= j->strides[d] * j->dims[d];
      idx[d] = 0;
    }
  }
}

/* 8x8 blocks (16x16 for bytes) through a local buffer: the reads walk 8 input lines contiguously and the writes 8
 * output lines contiguously, so neither side thrashes a cache set when a stride is a large
 * power of two (NCHW <-> NHWC on 2^k planes). Edges fall back to the element loop. */
#define MB_BLOCK(T, ib, cb)                                                               \
  {                                                                                       \
    if (ib + MB <= i1 && cb + MB <= c1) {                                                 \
      T tmp[MB][MB];                                                                      \
      for (int c = 0; c < MB; c++)                                                        \
        for (int i = 0; i < MB; i++) tmp[i][c] = in[(cb + c) * s + ib + i];               \
      for (int i = 0; i < MB; i++)                                                        \
        for (int c = 0; c < MB; c++) o[(ib + i) * cols + cb + c] = tmp[i][c];             \
    } else {                                                                              \
      int64_t ie = ib + MB < i1 ? ib + MB : i1, ce = cb + MB < c1 ? cb + MB : c1;         \
      for (int64_t i = ib; i < ie; i++)                                                   \
        for (int64_t c = cb; c < ce; c++) o[i * cols + c] = in[c * s + i];                \
    }                                                                                     \
  }
/* The side with the larger stride keeps its 8 lines fixed in the inner loop. */
#define TILE_LOOP(T)                                                                      \
  {                                                                                       \
    enum { MB = sizeof(T) == 1 ? 16 : 8 }; /* a block row spans >= 16 bytes */            \
    const T *in = (const T *)j->src + off;                                                \
    T *o = (T *)j->dst + (size_t)base_out;                                                \
    if (s > cols) {                                                                       \
      for (int64_t cb = c0; cb < c1; cb += MB)                                            \
        for (int64_t ib = i0; ib < i1; ib += MB) MB_BLOCK(T, ib, cb)                      \
    } else {                                                                              \
      for (int64_t ib = i0; ib < i1; ib += MB)                                            \
        for (int64_t cb = c0; cb < c1; cb += MB) MB_BLOCK(T, ib, cb)                      \
    }                                                                                     \
  }

/* out[i][c] = in[off + i + c*s]: rows of the output read a column of the input. Tiles keep the
 * touched input lines in cache. */
static void copy_tiles(void *arg, size_t begin, size_t end) {
  const copy_job *j = arg;
  int32_t r = j->rank;
  int64_t rows = j->dims[r - 2], cols = j->dims[r - 1], s = j->strides[r - 1];
  size_t per_outer = (size_t)(j->tiles_i * j->tiles_j);
  for (size_t t = begin; t < end; t++) {
    size_t outer = t / per_outer, tt = t % per_outer;
    int64_t ti = (int64_t)(tt / (size_t)j->tiles_j), tj = (int64_t)(tt % (size_t)j->tiles_j);
    int64_t off = outer_offset(j, r - 2, outer);
    int64_t base_out = (int64_t)outer * rows * cols;
    int64_t i0 = ti * TILE, i1 = i0 + TILE < rows ? i0 + TILE : rows;
    int64_t c0 = tj * TILE, c1 = c0 + TILE < cols ? c0 + TILE : cols;
    switch (j->es) {
    case 1: TILE_LOOP(uint8_t) break;
    case 2: TILE_LOOP(uint16_t) break;
    case 4: TILE_LOOP(uint32_t) break;
    case 8: TILE_LOOP(uint64_t) break;
    default:
      for (int64_t i = i0; i < i1; i++)
        for (int64_t c = c0; c < c1; c++)
          memcpy(j->dst + (size_t)(base_out + i * cols + c) * j->es,
                 j->src + (size_t)(off + i + c * s) * j->es, j->es);
    }
  }
}

void tk_strided_copy(void *dst, const void *src, size_t elsize, int32_t rank,
                     const int64_t *out_dims, const int64_t *in_strides, int64_t in_offset,
                     const octet_host *host) {
  copy_job j;
  j.dst = dst;
  j.src = src;
  j.es = elsize;
  j.offset = in_offset;
  j.rank = 0;
  size_t total = 1;
  for (int32_t d = 0; d < rank; d++) {
    if (out_dims[d] == 0) return;
    total *= (size_t)out_dims[d];
    if (out_dims[d] == 1) continue;
    /* merge with the previous dim when the two walk the input as one */
    if (j.rank > 0 && j.strides[j.rank - 1] == in_strides[d] * out_dims[d]) {
      j.dims[j.rank - 1] *= out_dims[d];
      j.strides[j.rank - 1] = in_strides[d];
      continue;
    }
    j.dims[j.rank] = out_dims[d];
    j.strides[j.rank] = in_strides[d];
    j.rank++;
  }
  if (j.rank == 0) {
    tk_copy_el(dst, (const uint8_t *)src + in_offset * (int64_t)elsize, elsize);
    return;
  }
  bool big = total * elsize >= (1u << 16);
  int32_t r = j.rank;
  if (r >= 2 && j.strides[r - 2] == 1 && j.strides[r - 1] != 1 && j.strides[r - 1] != 0 &&
      j.dims[r - 2] >= 8 && j.dims[r - 1] >= 8) {
    j.tiles_i = (j.dims[r - 2] + TILE - 1) / TILE;
    j.tiles_j = (j.dims[r - 1] + TILE - 1) / TILE;
    size_t outer = total / (size_t)(j.dims[r - 2] * j.dims[r - 1]);
    size_t n = outer * (size_t)(j.tiles_i * j.tiles_j);
    if (big)
      octet_parallel_for(host, n, copy_tiles, &j);
    else
      copy_tiles(&j, 0, n);
    return;
  }
  size_t rows = total / (size_t)j.dims[r - 1];
  if (big)
    octet_parallel_for(host, rows, copy_rows, &j);
  else
    copy_rows(&j, 0, rows);
}

octet_status tk_new(const octet_kernel_info *info, tk_state **st, octet_error *err) {
  void *p;
  octet_status s = tk_state_new(info, sizeof(tk_state), &p, err);
  if (s) return s;
  *st = p;
  return OCTET_OK;
}

void tk_state_destroy(void *state) {
  tk_state *st = state;
  if (!st) return;
  for (int i = 0; i < TK_LISTS; i++) octet_free(st->lists[i]);
  octet_free(st);
}

octet_status tk_keep_ints(const octet_kernel_info *info, tk_state *st, int slot, const char *name,
                          octet_error *err) {
  const int64_t *v;
  size_t n;
  octet_status s = octet_attr_ints(info, name, &v, &n, err);
  if (s) return s;
  st->has_list[slot] = octet_attr_find(info, name) != NULL;
  st->nlists[slot] = n;
  if (n == 0) return OCTET_OK;
  st->lists[slot] = octet_malloc(n * sizeof(int64_t));
  if (!st->lists[slot])
    return tk_fail(&st->b, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory copying '%s'", name);
  memcpy(st->lists[slot], v, n * sizeof(int64_t));
  return OCTET_OK;
}

OCTET_K_RUN(tk_alias_run) {
  (void)state, (void)n_in, (void)n_out, (void)ws, (void)host, (void)err;
  if (out[0].data != in[0]->data && octet_tensor_nbytes(in[0]))
    memmove(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
  return OCTET_OK;
}

bool tk_store_double(int32_t dtype, void *p, double v) {
  /* p may be unaligned (a byte buffer inside a state): store through memcpy */
#define STORE(T, expr)                                                                     \
  {                                                                                        \
    T x_ = (expr);                                                                         \
    memcpy(p, &x_, sizeof x_);                                                             \
    return true;                                                                           \
  }
  switch (dtype) {
  case OCTET_DTYPE_FLOAT: STORE(float, (float)v)
  case OCTET_DTYPE_DOUBLE: STORE(double, v)
  case OCTET_DTYPE_FLOAT16: STORE(uint16_t, octet_float_to_half((float)v))
  case OCTET_DTYPE_BFLOAT16: STORE(uint16_t, octet_float_to_bf16((float)v))
  case OCTET_DTYPE_INT8: STORE(int8_t, (int8_t)v)
  case OCTET_DTYPE_UINT8: STORE(uint8_t, (uint8_t)v)
  case OCTET_DTYPE_INT16: STORE(int16_t, (int16_t)v)
  case OCTET_DTYPE_UINT16: STORE(uint16_t, (uint16_t)v)
  case OCTET_DTYPE_INT32: STORE(int32_t, (int32_t)v)
  case OCTET_DTYPE_UINT32: STORE(uint32_t, (uint32_t)v)
  case OCTET_DTYPE_INT64: STORE(int64_t, (int64_t)v)
  case OCTET_DTYPE_UINT64: STORE(uint64_t, (uint64_t)v)
  case OCTET_DTYPE_BOOL: STORE(uint8_t, v != 0)
  default: return false;
  }
#undef STORE
}

double tk_load_double(int32_t dtype, const void *p) {
  uint64_t buf[2]; /* aligned copy: p may point into a byte buffer */
  memcpy(buf, p, octet_dtype_size(dtype) <= sizeof buf ? octet_dtype_size(dtype) : sizeof buf);
  octet_tensor t = {.dtype = dtype, .rank = 0, .data = buf};
  return octet_k_get_double(&t, 0);
}
