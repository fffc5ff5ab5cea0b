/* inexact-ops.h — op facts the quantizer and calibration share. Float ops whose results differ in their last bits between runtimes' math
 * libraries (Erf, Exp, Tanh, ...). The quantizer quantizes their outputs even when only a float
 * op reads them, so every runtime rounds the same values, and calibration observes them; both
 * ask this one list. */
#ifndef OCTET_CALIBRATION_INEXACT_OPS_H
#define OCTET_CALIBRATION_INEXACT_OPS_H

#include <stdbool.h>
#include <string.h>

#include "onnx_io/ir.h"

static inline bool octet_inexact_float_op(const char *op) {
  static const char *const ops[] = {"Erf", "Exp", "Log", "Tanh", "Sigmoid", "Softplus", "Softsign",
                                    "Sin", "Cos", "Gelu"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp(op, ops[i])) return true;
  return false;
}

/* Resize in nearest mode only moves values (any dtype): it passes int8 data through like
 * MaxPool or Reshape, keeping its input's quantization. */
static inline bool octet_nearest_resize(const octet_ir_node *n) {
  if (strcmp(n->op_type, "Resize") || n->domain[0]) return false;
  const octet_ir_attr *a = octet_ir_node_attr(n, "mode");
  return !a || !a->s || !strcmp(a->s, "nearest");
}

#endif
