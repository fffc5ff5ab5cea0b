/* nn-geom.h — window geometry shared by Conv, ConvTranspose and the pools: attribute parsing
 * (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) and output sizes, with every
 * spatial rank 1..3 normalized to 3-D (leading dims of size 1) so one code path serves all. */
#ifndef OCTET_NN_GEOM_H
#define OCTET_NN_GEOM_H

#include "ops/kernel-util.h"

#define NN_MAX_SP 3

enum { NN_PAD_NOTSET = 0, NN_PAD_SAME_UPPER, NN_PAD_SAME_LOWER, NN_PAD_VALID };

typedef struct nn_attrs {
  int auto_pad;
  int ceil_mode;
  size_t n_kernel, n_strides, n_dil, n_pads;
  int64_t kernel[NN_MAX_SP], strides[NN_MAX_SP], dil[NN_MAX_SP], pads[2 * NN_MAX_SP];
} nn_attrs;

/* Reads the window attributes (absent ones stay empty). ceil_mode is read when want_ceil. */
octet_status nn_attrs_read(const octet_kernel_info *info, bool want_ceil, nn_attrs *a,
                           octet_error *err);

/* Resolved geometry, normalized to 3 spatial dims (index 0 = D, 1 = H, 2 = W). */
typedef struct nn_geom {
  int nsp; /* the model's spatial rank */
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} nn_geom;

/* Resolves the geometry of a pool/conv window over spatial dims `in` (nsp of them), with
 * kernel dims `k` (NULL: from the attributes). Conv-style output unless pool_ceil is used. */
octet_status nn_geom_resolve(const nn_attrs *a, const char *node, int nsp, const int64_t *in,
                             const int64_t *k, bool is_pool, nn_geom *g, octet_error *err);

/* Writes the model's nsp output dims from a normalized geometry. */
static inline void nn_geom_out_dims(const nn_geom *g, int64_t *dims) {
  for (int i = 0; i < g->nsp; i++) dims[i] = g->out[3 - g->nsp + i];
}

static inline size_t nn_prod3(const int64_t *v) { return (size_t)(v[0] * v[1] * v[2]); }

#endif
