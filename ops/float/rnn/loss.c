/* loss.c — NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12/13) for float and
 * double: class axis 1, optional per-class weight, ignore_index, reduction none/sum/mean. */
#include <math.h>
#include <stdio.h>

#include "ops/kernel-util.h"

typedef enum loss_reduction { RED_NONE, RED_SUM, RED_MEAN } loss_reduction;

typedef struct loss_state {
  bool sce; /* SoftmaxCrossEntropyLoss: log-softmax first, optional log_prob output */
  bool has_ignore;
  int64_t ignore_index;
  loss_reduction reduction;
  int32_t dtype;
  char node[96];
} loss_state;

static octet_status loss_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                                octet_error *err, bool sce) {
  octet_status st = octet_k_expect_inputs(info, 2, 3, err);
  if (st) return st;
  if ((st = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE), err)) ||
      (st = octet_k_expect_dtype(info, 1, OCTET_DT(INT32) | OCTET_DT(INT64), err)))
    return st;
  if (info->n_inputs > 2 && info->input_dtypes[2] != OCTET_DTYPE_UNDEFINED &&
      info->input_dtypes[2] != info->input_dtypes[0])
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): weight type differs from input",
                      info->node_name, info->op_type);
  if (info->n_outputs < 1 || info->n_outputs > (sce ? 2u : 1u))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): wrong number of outputs",
                      info->node_name, info->op_type);
  const char *red;
  int64_t ii;
  if ((st = octet_attr_string(info, "reduction", "mean", &red, err)) ||
      (st = octet_attr_int(info, "ignore_index", 0, &ii, err)))
    return st;
  loss_reduction r;
  if (!strcmp(red, "none")) r = RED_NONE;
  else if (!strcmp(red, "sum")) r = RED_SUM;
  else if (!strcmp(red, "mean")) r = RED_MEAN;
  else
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): unknown reduction '%s'",
                      info->node_name, info->op_type, red);
  loss_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  s->sce = sce;
  s->has_ignore = octet_attr_find(info, "ignore_index") != NULL;
  s->ignore_index = ii;
  s->reduction = r;
  s->dtype = info->input_dtypes[0];
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  for (size_t i = 0; i < info->n_outputs; i++) out_dtypes[i] = s->dtype;
  *state = s;
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_nllloss_create) { return loss_create(info, out_dtypes, state, err, false); }
OCTET_K_CREATE(octet_k_sceloss_create) { return loss_create(info, out_dtypes, state, err, true); }

/* N, C and D (the product of the dims after the class axis), checked against target/weight. */
static octet_status loss_dims(const loss_state *s, const octet_tensor *const *in, size_t n_in,
                              size_t *N, size_t *C, size_t *D, octet_error *err) {
  const octet_tensor *x = in[0], *t = in[1], *w = n_in > 2 ? in[2] : NULL;
  const char *op = s->sce ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss";
  if (x->rank < 2 || t->rank != x->rank - 1)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): input must be [N, C, d1..] and target [N, d1..]", s->node, op);
  if (t->dims[0] != x->dims[0])
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): target's N differs", s->node, op);
  size_t d = 1;
  for (int i = 2; i < x->rank; i++) {
    if (t->dims[i - 1] != x->dims[i])
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): target dim %d is %lld, input has %lld", s->node, op, i - 1,
                        (long long)t->dims[i - 1], (long long)x->dims[i]);
    d *= (size_t)x->dims[i];
  }
  if (w && (w->rank != 1 || w->dims[0] != x->dims[1]))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): weight must be [C]", s->node, op);
  *N = (size_t)x->dims[0];
  *C = (size_t)x->dims[1];
  *D = d;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_loss_infer) {
  loss_state *s = state;
  size_t N, C, D;
  octet_status st = loss_dims(s, in, n_in, &N, &C, &D, err);
  if (st) return st;
  out[0].dtype = s->dtype;
  if (s->reduction == RED_NONE) octet_k_copy_shape(&out[0], in[1]);
  else out[0].rank = 0;
  if (n_out > 1) {
    out[1].dtype = s->dtype;
    octet_k_copy_shape(&out[1], in[0]);
  }
  /* SCE without a log_prob output keeps the log-probabilities in the workspace. */
  *workspace = 0;
  if (s->sce && n_out < 2) {
    size_t n = octet_tensor_numel(in[0]);
    if (!octet_mul_size(n, sizeof(double), workspace))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': size overflows", s->node);
  }
  return OCTET_OK;
}

static double load(int32_t dtype, const void *p, size_t i) {
  return dtype == OCTET_DTYPE_DOUBLE ? ((const double *)p)[i] : ((const float *)p)[i];
}
static void store(int32_t dtype, void *p, size_t i, double v) {
  if (dtype == OCTET_DTYPE_DOUBLE) ((double *)p)[i] = v;
  else ((float *)p)[i] = (float)v;
}

OCTET_K_RUN(octet_k_loss_run) {
  loss_state *s = state;
  size_t N, C, D;
  octet_status st = loss_dims(s, in, n_in, &N, &C, &D, err);
  if (st) return st;
  const octet_tensor *x = in[0], *t = in[1], *w = n_in > 2 ? in[2] : NULL;
  int32_t dt = s->dtype;
  const void *lp = x->data;
  int32_t lp_dt = dt;
  if (s->sce) {
    /* log_softmax over the class axis, into log_prob (same type) or the double workspace. */
    void *dst = n_out > 1 ? out[1].data : ws;
    lp_dt = n_out > 1 ? dt : OCTET_DTYPE_DOUBLE;
    for (size_t n = 0; n < N; n++)
      for (size_t d = 0; d < D; d++) {
        size_t base = n * C * D + d;
        double mx = -INFINITY, sum = 0.0;
        for (size_t c = 0; c < C; c++) mx = fmax(mx, load(dt, x->data, base + c * D));
        for (size_t c = 0; c < C; c++) sum += exp(load(dt, x->data, base + c * D) - mx);
        double lse = mx + log(sum);
        for (size_t c = 0; c < C; c++) store(lp_dt, dst, base + c * D, load(dt, x->data, base + c * D) - lse);
      }
    lp = dst;
  }
  double total = 0.0, wsum = 0.0;
  for (size_t n = 0; n < N; n++)
    for (size_t d = 0; d < D; d++) {
      size_t i = n * D + d;
      int64_t cls = octet_k_get_int(t, i);
      double loss = 0.0, wt = 0.0;
      if (!(s->has_ignore && cls == s->ignore_index)) {
        if (cls < 0 || (size_t)cls >= C)
          return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                            "node '%s': target %lld at %zu is outside [0, %zu)", s->node,
                            (long long)cls, i, C);
        wt = w ? load(dt, w->data, (size_t)cls) : 1.0;
        loss = -load(lp_dt, lp, (n * C + (size_t)cls) * D + d) * wt;
      }
      if (s->reduction == RED_NONE) store(dt, out[0].data, i, loss);
      total += loss;
      wsum += wt;
    }
  if (s->reduction == RED_SUM) store(dt, out[0].data, 0, total);
  else if (s->reduction == RED_MEAN) store(dt, out[0].data, 0, total / wsum);
  return OCTET_OK;
}
