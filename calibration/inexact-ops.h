/* inexact-ops.h — float ops whose results differ in their last bits between runtimes' math
 * libraries (Erf, Exp, Tanh, ...). The quantizer quantizes their outputs even when only a float
 * op reads them, so every runtime rounds the same values, and calibration observes them; both
 * ask this one list. */
#ifndef OCTET_CALIBRATION_INEXACT_OPS_H
#define OCTET_CALIBRATION_INEXACT_OPS_H

#include <stdbool.h>
#include <string.h>

static inline bool octet_inexact_float_op(const char *op) {
  static const char *const ops[] = {"Erf", "Exp", "Log", "Tanh", "Sigmoid", "Softplus", "Softsign",
                                    "Sin", "Cos", "Gelu"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp(op, ops[i])) return true;
  return false;
}

#endif
