/* quant-util.h — checks and small readers shared by the int8 kernels: scale / zero-point
 * tensors (scalar, per-axis), dtype masks, messages that name the node. */
#ifndef OCTET_OPS_QUANT_UTIL_H
#define OCTET_OPS_QUANT_UTIL_H

#include "ops/kernel-util.h"
#include "ops/quant/requant.h"

#define OCTET_DT_Q8 (OCTET_DT(UINT8) | OCTET_DT(INT8))

/* Node identification copied at create, for messages from infer/run. */
typedef struct octet_q_node {
  char name[96];
  char op[32];
} octet_q_node;
void octet_q_node_init(octet_q_node *n, const octet_kernel_info *info);

static inline bool octet_q_is_scalar(const octet_tensor *t) { return octet_tensor_numel(t) == 1; }
static inline float octet_q_f32(const octet_tensor *t, size_t i) { return ((const float *)t->data)[i]; }
/* Zero point element i (u8/s8/i32), or 0 for an absent tensor. */
static inline int32_t octet_q_zp(const octet_tensor *t, size_t i) {
  if (!t) return 0;
  if (t->dtype == OCTET_DTYPE_INT32) return ((const int32_t *)t->data)[i];
  return octet_q8_load(t->data, i, t->dtype);
}

/* Fails unless t holds `want` elements (want 0: exactly one), is float for scales, and every
 * scale is finite and > 0. `what` names the input in the message. */
octet_status octet_q_check_scale(const octet_q_node *n, const octet_tensor *t, size_t want,
                                 const char *what, octet_error *err);
/* Fails unless t (when present) has `want` elements (0: one element) of dtype `dtype`. */
octet_status octet_q_check_zp(const octet_q_node *n, const octet_tensor *t, size_t want,
                              int32_t dtype, const char *what, octet_error *err);

/* Per-input dtype check with the 8-bit mask, naming the input. */
octet_status octet_q_expect(const octet_kernel_info *info, size_t input, uint32_t mask,
                            octet_error *err);

#endif
