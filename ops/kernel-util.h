/* kernel-util.h — small helpers every kernel uses: attributes, shapes, broadcasting, errors.
 * Kernels are plain C against octet_plugin.h; nothing here knows the IR or the runtime. */
#ifndef OCTET_KERNEL_UTIL_H
#define OCTET_KERNEL_UTIL_H

#include <stdbool.h>
#include <string.h>

#include "common/common.h"
#include "octet/octet_plugin.h"

/* Signatures, for kernels that define their four functions. */
#define OCTET_K_CREATE(fn) \
  octet_status fn(const octet_kernel_info *info, int32_t *out_dtypes, void **state, octet_error *err)
#define OCTET_K_INFER(fn)                                                                  \
  octet_status fn(void *state, const octet_tensor *const *in, size_t n_in, octet_tensor *out, \
                  size_t n_out, size_t *workspace, octet_error *err)
#define OCTET_K_RUN(fn)                                                                    \
  octet_status fn(void *state, const octet_tensor *const *in, size_t n_in, octet_tensor *out, \
                  size_t n_out, void *ws, const octet_host *host, octet_error *err)

/* Attributes. Getters return the default when absent; typed getters fail on a wrong type. */
const octet_attr *octet_attr_find(const octet_kernel_info *info, const char *name);
octet_status octet_attr_int(const octet_kernel_info *info, const char *name, int64_t dflt,
                            int64_t *out, octet_error *err);
octet_status octet_attr_float(const octet_kernel_info *info, const char *name, float dflt,
                              float *out, octet_error *err);
/* String attribute; *out points into info (valid only during create: copy it if needed). */
octet_status octet_attr_string(const octet_kernel_info *info, const char *name, const char *dflt,
                               const char **out, octet_error *err);
/* INTS attribute: *n = 0 and *vals = NULL when absent. */
octet_status octet_attr_ints(const octet_kernel_info *info, const char *name,
                             const int64_t **vals, size_t *n, octet_error *err);
octet_status octet_attr_floats(const octet_kernel_info *info, const char *name,
                               const float **vals, size_t *n, octet_error *err);

/* Input count/dtype checks with messages naming the node. */
octet_status octet_k_expect_inputs(const octet_kernel_info *info, size_t min, size_t max,
                                   octet_error *err);
octet_status octet_k_expect_dtype(const octet_kernel_info *info, size_t input,
                                  uint32_t allowed_mask, octet_error *err);
#define OCTET_DT(x) (1u << OCTET_DTYPE_##x)
#define OCTET_DT_NUMERIC                                                                   \
  (OCTET_DT(FLOAT) | OCTET_DT(DOUBLE) | OCTET_DT(FLOAT16) | OCTET_DT(BFLOAT16) |          \
   OCTET_DT(INT8) | OCTET_DT(UINT8) | OCTET_DT(INT16) | OCTET_DT(UINT16) | OCTET_DT(INT32) | \
   OCTET_DT(UINT32) | OCTET_DT(INT64) | OCTET_DT(UINT64))

/* Numpy-style multidirectional broadcasting of a and b into out (rank/dims only). */
octet_status octet_broadcast_shape(const octet_tensor *a, const octet_tensor *b, octet_tensor *out,
                                   octet_error *err);
/* Row-major strides of t (in elements), with stride 0 on broadcast dims when aligned to the
 * right-hand side of a shape of rank `rank` with dims `dims`. */
void octet_broadcast_strides(const octet_tensor *t, int32_t rank, const int64_t *dims,
                             int64_t *strides);

/* Normalizes an axis in [-rank, rank) to [0, rank); fails otherwise. */
octet_status octet_k_axis(int64_t axis, int32_t rank, int64_t *out, octet_error *err);

/* Reads element i of an integer tensor (int32/int64/...) as int64 (shape inputs). */
int64_t octet_k_get_int(const octet_tensor *t, size_t i);
/* Reads element i of any numeric tensor as double. */
double octet_k_get_double(const octet_tensor *t, size_t i);

/* Small state for kernels that keep only a few numbers: kernels allocate with octet_calloc and
 * octet_k_state_destroy frees it. */
void octet_k_state_destroy(void *state);

/* Sets out's dtype/rank/dims from t. */
static inline void octet_k_copy_shape(octet_tensor *out, const octet_tensor *t) {
  out->rank = t->rank;
  memcpy(out->dims, t->dims, sizeof out->dims);
}

#endif
