/* quant-rules.h — the rules the quantizer (quantize/qdq.c) and calibration's list of tensors to
 * observe (calibration/observe-list.c) must agree on. Float ops whose results differ in their last bits between runtimes' math
 * libraries (Erf, Exp, Tanh, ...). The quantizer quantizes their outputs even when only a float
 * op reads them, so every runtime rounds the same values, and calibration observes them; both
 * ask this one list. */
#ifndef OCTET_CALIBRATION_QUANT_RULES_H
#define OCTET_CALIBRATION_QUANT_RULES_H

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

/* Whether `name` is one of the comma-separated names in `list` (--exclude-nodes/--exclude-ops). */
static inline bool octet_name_in_list(const char *list, const char *name) {
  if (!list || !name || !*name) return false;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    size_t k = strcspn(p, ",");
    if (k == n && !strncmp(p, name, n)) return true;
    p += k + (p[k] == ',');
  }
  return false;
}

#endif
