/* tensor-util.h — what the tensor-manipulation kernels share: a per-node base state that keeps
 * the node name for error messages, and a strided gather-copy engine (Transpose, Slice, Expand,
 * Tile, DepthToSpace all reduce to "output in row-major order, input at an affine offset"). */
#ifndef OCTET_TENSOR_UTIL_H
#define OCTET_TENSOR_UTIL_H

#include "ops/kernel-util.h"

/* Every kernel state of this group starts with this, so errors can name the node at run time. */
typedef struct tk_base {
  char node[96];
  char op[32];
  int32_t opset;
  int32_t dtype; /* dtype of input 0 at create */
} tk_base;

/* Allocates a zeroed state of `size` bytes (>= sizeof(tk_base)) and fills its base. */
octet_status tk_state_new(const octet_kernel_info *info, size_t size, void **state,
                          octet_error *err);

/* Fails with "node 'n' (Op): <message>". */
octet_status tk_fail(const tk_base *b, octet_error *err, octet_status st, const char *fmt, ...)
    OCTET_PRINTF(4, 5);
octet_status tk_fail_info(const octet_kernel_info *info, octet_error *err, octet_status st,
                          const char *fmt, ...) OCTET_PRINTF(4, 5);

/* Fails when dtype has no fixed element size (string, undefined). */
octet_status tk_expect_fixed(const octet_kernel_info *info, size_t input, octet_error *err);

/* Checks that a shape's element count fits size_t and dims are >= 0. */
octet_status tk_check_shape(const tk_base *b, const int64_t *dims, int32_t rank,
                            octet_error *err);

/* Checks that an integer (shape-like) input is int32/int64 and 1-D or scalar; returns count. */
octet_status tk_int_list(const tk_base *b, const octet_tensor *t, const char *what, size_t *n,
                         octet_error *err);

/* out[i] (row-major over out_dims) = in[in_offset + sum_d idx[d] * in_strides[d]] for elements
 * of `elsize` bytes. Strides are in elements and may be 0 or negative. rank <= OCTET_MAX_RANK*2. */
#define TK_MAX_COPY_RANK (2 * OCTET_MAX_RANK)
void tk_strided_copy(void *dst, const void *src, size_t elsize, int32_t rank,
                     const int64_t *out_dims, const int64_t *in_strides, int64_t in_offset,
                     const octet_host *host);

/* Row-major strides (elements) of dims. */
void tk_strides(const int64_t *dims, int32_t rank, int64_t *strides);

/* Copies one element of size es. */
static inline void tk_copy_el(void *dst, const void *src, size_t es) {
  switch (es) {
  case 1: *(uint8_t *)dst = *(const uint8_t *)src; break;
  case 2: memcpy(dst, src, 2); break;
  case 4: memcpy(dst, src, 4); break;
  case 8: memcpy(dst, src, 8); break;
  default: memcpy(dst, src, es);
  }
}

/* Fills n elements of size es at dst with the element at val. */
void tk_fill(void *dst, const void *val, size_t es, size_t n);

/* The state most kernels of this group use: a few attributes kept from create. */
#define TK_LISTS 4
typedef struct tk_state {
  tk_base b;
  int64_t axis;
  int64_t iv[6];
  double fv[4];
  int64_t *lists[TK_LISTS];
  size_t nlists[TK_LISTS];
  bool has_list[TK_LISTS];
  char mode[40];
  uint8_t value[16]; /* one element, e.g. ConstantOfShape's value or Pad's constant */
  int32_t value_dtype;
} tk_state;

octet_status tk_new(const octet_kernel_info *info, tk_state **st, octet_error *err);
void tk_state_destroy(void *state);
/* Copies an INTS attribute into st->lists[slot]; has_list tells whether it was present. */
octet_status tk_keep_ints(const octet_kernel_info *info, tk_state *st, int slot, const char *name,
                          octet_error *err);
/* The shared run of kernels flagged OCTET_KERNEL_ALIAS_INPUT0: copies when not aliased. */
OCTET_K_RUN(tk_alias_run);

/* Writes v (converted) as one element of dtype at p; false for a non-numeric dtype. */
bool tk_store_double(int32_t dtype, void *p, double v);
double tk_load_double(int32_t dtype, const void *p);

#define TK_ALL_FIXED                                                                       \
  (OCTET_DT_NUMERIC | OCTET_DT(BOOL) | OCTET_DT(COMPLEX64) | OCTET_DT(COMPLEX128))
#define TK_INDEX_TYPES (OCTET_DT(INT32) | OCTET_DT(INT64))

#endif
