/* unique.c — Unique (opset 11): unique elements or slices along an axis, sorted or in order of
 * first occurrence, with first indices, inverse indices and counts. A stable merge sort keeps
 * "first occurrence" exact; run uses only the workspace that infer sized. */
#include "ops/float/tensor/tensor-util.h"

#define ST ((tk_state *)state)

OCTET_K_CREATE(tk_unique_create) {
  tk_state *st;
  octet_status s = octet_k_expect_inputs(info, 1, 1, err);
  if (s || (s = octet_k_expect_dtype(info, 0, OCTET_DT_NUMERIC | OCTET_DT(BOOL), err)) ||
      (s = tk_new(info, &st, err)))
    return s;
  *state = st;
  if ((s = octet_attr_int(info, "sorted", 1, &st->iv[0], err)) ||
      (s = octet_attr_int(info, "axis", 0, &st->axis, err)))
    return s;
  st->iv[1] = octet_attr_find(info, "axis") != NULL;
  if (info->n_outputs < 1 || info->n_outputs > 4)
    return tk_fail_info(info, err, OCTET_STATUS_INVALID_MODEL, "Unique has 1 to 4 outputs");
  out_dtypes[0] = info->input_dtypes[0];
  for (size_t i = 1; i < info->n_outputs; i++) out_dtypes[i] = OCTET_DTYPE_INT64;
  return OCTET_OK;
}

typedef struct uq {
  const uint8_t *x;
  int32_t dtype;
  size_t es, n, outer, inner; /* n slices, each outer x inner elements */
  size_t *perm, *tmp, *group, *first, *count, *pos;
  size_t n_groups;
} uq;

static int cmp_el(int32_t dt, const uint8_t *a, const uint8_t *b) {
#define CMP(T)                                                                             \
  {                                                                                        \
    T x, y;                                                                                \
    memcpy(&x, a, sizeof x), memcpy(&y, b, sizeof y);                                      \
    return x < y ? -1 : x > y ? 1 : 0;                                                     \
  }
  switch (dt) {
  case OCTET_DTYPE_FLOAT: CMP(float)
  case OCTET_DTYPE_DOUBLE: CMP(double)
  case OCTET_DTYPE_INT8: CMP(int8_t)
  case OCTET_DTYPE_INT16: CMP(int16_t)
  case OCTET_DTYPE_INT32: CMP(int32_t)
  case OCTET_DTYPE_INT64: CMP(int64_t)
  case OCTET_DTYPE_UINT8:
  case OCTET_DTYPE_BOOL: CMP(uint8_t)
  case OCTET_DTYPE_UINT16: CMP(uint16_t)
  case OCTET_DTYPE_UINT32: CMP(uint32_t)
  case OCTET_DTYPE_UINT64: CMP(uint64_t)
  default: {
    double x = tk_load_double(dt, a), y = tk_load_double(dt, b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  }
#undef CMP
}

static int cmp_slice(const uq *u, size_t i, size_t j) {
  size_t len = u->n * u->inner; /* elements per outer step */
  for (size_t o = 0; o < u->outer; o++)
    for (size_t k = 0; k < u->inner; k++) {
      size_t a = o * len + i * u->inner + k, b = o * len + j * u->inner + k;
      int c = cmp_el(u->dtype, u->x + a * u->es, u->x + b * u->es);
      if (c) return c;
    }
  return 0;
}

/* Stable merge sort of idx[0..n) by key: by slice (keys == NULL) or by keys[idx]. */
static void merge_sort(const uq *u, const size_t *keys, size_t *idx, size_t *tmp, size_t n) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t a = lo, b = mid, k = lo;
      while (a < mid && b < hi) {
        int c = keys ? (keys[idx[b]] < keys[idx[a]] ? -1 : 1) : cmp_slice(u, idx[b], idx[a]);
        tmp[k++] = c < 0 ? idx[b++] : idx[a++];
      }
      while (a < mid) tmp[k++] = idx[a++];
      while (b < hi) tmp[k++] = idx[b++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
  }
}

static void unique_compute(uq *u, bool sorted) {
  size_t n = u->n;
  for (size_t i = 0; i < n; i++) u->perm[i] = i;
  merge_sort(u, NULL, u->perm, u->tmp, n);
  size_t g = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && cmp_slice(u, u->perm[i - 1], u->perm[i]) != 0) g++;
    if (i == 0 || g != u->group[u->perm[i - 1]]) {
      u->first[g] = u->perm[i]; /* stable: the first in sorted order is the earliest */
      u->count[g] = 0;
    }
    u->group[u->perm[i]] = g;
    u->count[g]++;
  }
  u->n_groups = n ? g + 1 : 0;
  for (size_t k = 0; k < u->n_groups; k++) u->perm[k] = k;
  if (!sorted) merge_sort(u, u->first, u->perm, u->tmp, u->n_groups); /* by first index */
  for (size_t p = 0; p < u->n_groups; p++) u->pos[u->perm[p]] = p;
}

static octet_status unique_setup(tk_state *st, const octet_tensor *x, uq *u, int64_t *axis,
                                 octet_error *err) {
  memset(u, 0, sizeof *u);
  u->x = x->data;
  u->dtype = x->dtype;
  u->es = octet_dtype_size(x->dtype);
  u->outer = 1, u->inner = 1;
  if (st->iv[1]) {
    if (octet_k_axis(st->axis, x->rank, axis, err))
      return octet_fail_prefix(err, "node '%s' (Unique): ", st->b.node);
    for (int32_t i = 0; i < *axis; i++) u->outer *= (size_t)x->dims[i];
    for (int32_t i = (int32_t)*axis + 1; i < x->rank; i++) u->inner *= (size_t)x->dims[i];
    u->n = (size_t)x->dims[*axis];
    if (u->outer * u->inner == 0) u->outer = 1, u->inner = 0;
  } else {
    *axis = -1;
    u->n = octet_tensor_numel(x);
  }
  return OCTET_OK;
}

static void unique_bind(uq *u, size_t *mem) {
  size_t n = u->n;
  u->perm = mem, u->tmp = mem + n, u->group = mem + 2 * n, u->first = mem + 3 * n;
  u->count = mem + 4 * n, u->pos = mem + 5 * n;
}

static void unique_shapes(const octet_tensor *x, const uq *u, int64_t axis, octet_tensor *out,
                          size_t n_out) {
  out[0].dtype = x->dtype;
  if (axis < 0) {
    out[0].rank = 1;
    out[0].dims[0] = (int64_t)u->n_groups;
  } else {
    octet_k_copy_shape(&out[0], x);
    out[0].dims[axis] = (int64_t)u->n_groups;
  }
  for (size_t i = 1; i < n_out; i++) {
    out[i].dtype = OCTET_DTYPE_INT64;
    out[i].rank = 1;
    out[i].dims[0] = (int64_t)(i == 2 ? u->n : u->n_groups);
  }
}

OCTET_K_INFER(tk_unique_infer) {
  (void)n_in;
  uq u;
  int64_t axis;
  octet_status s = unique_setup(ST, in[0], &u, &axis, err);
  if (s) return s;
  size_t bytes;
  if (!octet_mul_size(u.n, 6 * sizeof(size_t), &bytes))
    return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "input is too large");
  size_t *mem = octet_malloc(bytes ? bytes : 1);
  if (!mem) return tk_fail(&ST->b, err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  unique_bind(&u, mem);
  unique_compute(&u, ST->iv[0] != 0);
  octet_free(mem);
  unique_shapes(in[0], &u, axis, out, n_out);
  *workspace = bytes;
  return OCTET_OK;
}

OCTET_K_RUN(tk_unique_run) {
  (void)n_in, (void)host;
  uq u;
  int64_t axis;
  octet_status s = unique_setup(ST, in[0], &u, &axis, err);
  if (s) return s;
  if (u.n && !ws) return tk_fail(&ST->b, err, OCTET_STATUS_INVALID_ARGUMENT, "no workspace given");
  unique_bind(&u, ws);
  unique_compute(&u, ST->iv[0] != 0);
  size_t G = u.n_groups, row = u.inner * u.es;
  for (size_t g = 0; g < G; g++) {
    size_t p = u.pos[g];
    for (size_t o = 0; o < u.outer; o++)
      if (row)
        memcpy((uint8_t *)out[0].data + (o * G + p) * row, u.x + (o * u.n + u.first[g]) * row, row);
    if (n_out > 1) ((int64_t *)out[1].data)[p] = (int64_t)u.first[g];
    if (n_out > 3) ((int64_t *)out[3].data)[p] = (int64_t)u.count[g];
  }
  if (n_out > 2)
    for (size_t i = 0; i < u.n; i++) ((int64_t *)out[2].data)[i] = (int64_t)u.pos[u.group[i]];
  return OCTET_OK;
}
