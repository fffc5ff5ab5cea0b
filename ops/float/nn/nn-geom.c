/* nn-geom.c — window attribute parsing and output-size arithmetic for Conv and the pools,
 * following the ONNX operator specs (auto_pad, ceil_mode) and ONNX Runtime where the spec is
 * silent (a ceil-mode window that would start past the padded input is dropped). */
#include <string.h>

#include "ops/float/nn/nn-geom.h"

static octet_status read_ints(const octet_kernel_info *info, const char *name, size_t max,
                              int64_t *dst, size_t *n, octet_error *err) {
  const int64_t *v;
  octet_status st = octet_attr_ints(info, name, &v, n, err);
  if (st) return st;
  if (*n > max)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (%s): attribute '%s' has %zu values; at most %zu spatial dims "
                      "are supported", info->node_name, info->op_type, name, *n, max / (strcmp(name, "pads") ? 1 : 2));
  if (*n) memcpy(dst, v, *n * sizeof *v);
  return OCTET_OK;
}

octet_status nn_attrs_read(const octet_kernel_info *info, bool want_ceil, nn_attrs *a,
                           octet_error *err) {
  memset(a, 0, sizeof *a);
  octet_status st;
  if ((st = read_ints(info, "kernel_shape", NN_MAX_SP, a->kernel, &a->n_kernel, err)) ||
      (st = read_ints(info, "strides", NN_MAX_SP, a->strides, &a->n_strides, err)) ||
      (st = read_ints(info, "dilations", NN_MAX_SP, a->dil, &a->n_dil, err)) ||
      (st = read_ints(info, "pads", 2 * NN_MAX_SP, a->pads, &a->n_pads, err)))
    return st;
  const char *ap;
  if ((st = octet_attr_string(info, "auto_pad", "NOTSET", &ap, err))) return st;
  if (!strcmp(ap, "NOTSET") || !*ap) a->auto_pad = NN_PAD_NOTSET;
  else if (!strcmp(ap, "SAME_UPPER")) a->auto_pad = NN_PAD_SAME_UPPER;
  else if (!strcmp(ap, "SAME_LOWER")) a->auto_pad = NN_PAD_SAME_LOWER;
  else if (!strcmp(ap, "VALID")) a->auto_pad = NN_PAD_VALID;
  else
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): unknown auto_pad '%s'",
                      info->node_name, info->op_type, ap);
  if (want_ceil) {
    int64_t c;
    if ((st = octet_attr_int(info, "ceil_mode", 0, &c, err))) return st;
    a->ceil_mode = c != 0;
  }
  for (size_t i = 0; i < a->n_strides; i++)
    if (a->strides[i] < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): strides must be >= 1",
                        info->node_name, info->op_type);
  for (size_t i = 0; i < a->n_dil; i++)
    if (a->dil[i] < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): dilations must be >= 1",
                        info->node_name, info->op_type);
  for (size_t i = 0; i < a->n_pads; i++)
    if (a->pads[i] < 0)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): pads must be >= 0",
                        info->node_name, info->op_type);
  return OCTET_OK;
}

octet_status nn_geom_resolve(const nn_attrs *a, const char *node, int nsp, const int64_t *in,
                             const int64_t *k, bool is_pool, nn_geom *g, octet_error *err) {
  if (nsp < 1 || nsp > NN_MAX_SP)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s': %d spatial dims; 1 to %d are supported", node, nsp, NN_MAX_SP);
  if (!k) {
    if (a->n_kernel != (size_t)nsp)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s': kernel_shape has %zu dims, the input has %d spatial dims",
                        node, a->n_kernel, nsp);
    k = a->kernel;
  } else if (a->n_kernel && a->n_kernel != (size_t)nsp) {
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s': kernel_shape has %zu dims, the weights have %d", node,
                      a->n_kernel, nsp);
  }
  if ((a->n_strides && a->n_strides != (size_t)nsp) || (a->n_dil && a->n_dil != (size_t)nsp) ||
      (a->n_pads && a->n_pads != 2 * (size_t)nsp))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s': strides/dilations/pads do not match %d spatial dims", node, nsp);
  memset(g, 0, sizeof *g);
  g->nsp = nsp;
  for (int i = 0; i < 3; i++) {
    g->in[i] = g->out[i] = g->k[i] = g->s[i] = g->d[i] = 1;
  }
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    int64_t kk = a->n_kernel ? a->kernel[i] : k[i];
    if (k != a->kernel && a->n_kernel && a->kernel[i] != k[i])
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s': kernel_shape[%d] = %lld but the weights have %lld", node, i,
                        (long long)a->kernel[i], (long long)k[i]);
    if (kk < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': kernel dim %d is %lld", node,
                        i, (long long)kk);
    g->in[j] = in[i];
    g->k[j] = kk;
    g->s[j] = a->n_strides ? a->strides[i] : 1;
    g->d[j] = a->n_dil ? a->dil[i] : 1;
    int64_t ext = g->d[j] * (kk - 1) + 1; /* the dilated window */
    int64_t pb = 0, pe = 0, out;
    if (a->auto_pad == NN_PAD_SAME_UPPER || a->auto_pad == NN_PAD_SAME_LOWER) {
      out = (in[i] + g->s[j] - 1) / g->s[j];
      int64_t total = (out - 1) * g->s[j] + ext - in[i];
      if (total < 0) total = 0;
      if (a->auto_pad == NN_PAD_SAME_UPPER) {
        pb = total / 2;
        pe = total - pb;
      } else {
        pe = total / 2;
        pb = total - pe;
      }
    } else {
      if (a->auto_pad == NN_PAD_NOTSET && a->n_pads) {
        pb = a->pads[i];
        pe = a->pads[i + nsp];
      }
      int64_t span = in[i] + pb + pe - ext;
      if (span < 0)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "node '%s': spatial dim %d (%lld, padded %lld) is smaller than the "
                          "window (%lld)", node, i, (long long)in[i], (long long)(in[i] + pb + pe),
                          (long long)ext);
      if (is_pool && a->ceil_mode) {
        out = (span + g->s[j] - 1) / g->s[j] + 1;
        if ((out - 1) * g->s[j] >= in[i] + pb) out--; /* that window would see only padding */
      } else {
        out = span / g->s[j] + 1;
      }
    }
    if (in[i] < 0 || out < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': spatial dim %d gives no output",
                        node, i);
    g->out[j] = out;
    g->pb[j] = pb;
    g->pe[j] = pe;
  }
  return OCTET_OK;
}
