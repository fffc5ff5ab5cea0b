/* quant-util.c — shared validation for the int8 kernels (see quant-util.h). */
#include <stdio.h>

#include "ops/quant/quant-util.h"

void octet_q_node_init(octet_q_node *n, const octet_kernel_info *info) {
  snprintf(n->name, sizeof n->name, "%s", info->node_name ? info->node_name : "");
  snprintf(n->op, sizeof n->op, "%s", info->op_type ? info->op_type : "");
}

octet_status octet_q_check_scale(const octet_q_node *n, const octet_tensor *t, size_t want,
                                 const char *what, octet_error *err) {
  if (!t)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): %s is missing", n->name,
                      n->op, what);
  if (t->dtype != OCTET_DTYPE_FLOAT)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): %s must be float, is %s",
                      n->name, n->op, what, octet_dtype_name(t->dtype));
  size_t numel = octet_tensor_numel(t);
  if (numel != (want ? want : 1))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): %s has %zu elements, expected %zu", n->name, n->op, what,
                      numel, want ? want : (size_t)1);
  for (size_t i = 0; i < numel; i++) {
    float s = octet_q_f32(t, i);
    if (!(s > 0.0f) || !isfinite(s))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): %s[%zu] = %g, a scale must be finite and > 0", n->name,
                        n->op, what, i, (double)s);
  }
  return OCTET_OK;
}

octet_status octet_q_check_zp(const octet_q_node *n, const octet_tensor *t, size_t want,
                              int32_t dtype, const char *what, octet_error *err) {
  if (!t) return OCTET_OK;
  if (t->dtype != dtype)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): %s has type %s, expected %s", n->name, n->op, what,
                      octet_dtype_name(t->dtype), octet_dtype_name(dtype));
  size_t numel = octet_tensor_numel(t);
  if (numel != (want ? want : 1))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): %s has %zu elements, expected %zu", n->name, n->op, what,
                      numel, want ? want : (size_t)1);
  return OCTET_OK;
}

octet_status octet_q_expect(const octet_kernel_info *info, size_t input, uint32_t mask,
                            octet_error *err) {
  return octet_k_expect_dtype(info, input, mask, err);
}
