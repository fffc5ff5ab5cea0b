/* optimizer.c — the ai.onnx.preview.training update ops Adagrad, Momentum and Adam (opset 1)
 * for float and double tensors: one update step of every (X, G, state...) group of inputs.
 * Operands of a group must have one shape (the spec's broadcasting is not needed in practice). */
#include <math.h>
#include <stdio.h>

#include "ops/kernel-util.h"

enum opt_kind { OPT_ADAGRAD, OPT_MOMENTUM, OPT_ADAM };

typedef struct opt_state {
  int kind;
  size_t n_vars;   /* tensors updated */
  size_t per_var;  /* inputs per tensor: X, G and 1 (Adagrad H, Momentum V) or 2 (Adam V, H) */
  float decay, epsilon, norm, norm_post, alpha, beta;
  bool nesterov;
  char node[96];
} opt_state;

static octet_status opt_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                               octet_error *err, int kind) {
  size_t per = kind == OPT_ADAM ? 4 : 3;
  if (info->n_inputs < 2 + per || (info->n_inputs - 2) % per != 0 ||
      info->n_outputs != (info->n_inputs - 2) / per * (per - 1))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): %zu inputs / %zu outputs do not form R, T and groups of %zu",
                      info->node_name, info->op_type, info->n_inputs, info->n_outputs, per);
  octet_status st;
  if ((st = octet_k_expect_dtype(info, 0, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE), err)) ||
      (st = octet_k_expect_dtype(info, 1, OCTET_DT(INT64), err)))
    return st;
  for (size_t i = 2; i < info->n_inputs; i++)
    if ((st = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT) | OCTET_DT(DOUBLE), err))) return st;
  opt_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  s->kind = kind;
  s->per_var = per;
  s->n_vars = (info->n_inputs - 2) / per;
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  const char *mode;
  if ((st = octet_attr_float(info, "decay_factor", 0.0f, &s->decay, err)) ||
      (st = octet_attr_float(info, "epsilon", 1e-6f, &s->epsilon, err)) ||
      (st = octet_attr_float(info, "norm_coefficient", 0.0f, &s->norm, err)) ||
      (st = octet_attr_float(info, "norm_coefficient_post", 0.0f, &s->norm_post, err)) ||
      (st = octet_attr_float(info, "alpha", kind == OPT_ADAM ? 0.9f : 0.0f, &s->alpha, err)) ||
      (st = octet_attr_float(info, "beta", kind == OPT_ADAM ? 0.999f : 0.0f, &s->beta, err)) ||
      (st = octet_attr_string(info, "mode", "standard", &mode, err))) {
    octet_free(s);
    return st;
  }
  if (kind == OPT_MOMENTUM && strcmp(mode, "standard") && strcmp(mode, "nesterov")) {
    octet_free(s);
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Momentum): unknown mode '%s'",
                      info->node_name, mode);
  }
  s->nesterov = !strcmp(mode, "nesterov");
  /* Outputs: X_new for every tensor, then each state kind for every tensor. */
  for (size_t o = 0; o < info->n_outputs; o++) {
    size_t k = o / s->n_vars, v = o % s->n_vars;
    out_dtypes[o] = info->input_dtypes[2 + (k == 0 ? 0 : k + 1) * s->n_vars + v];
  }
  *state = s;
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_adagrad_create) { return opt_create(info, out_dtypes, state, err, OPT_ADAGRAD); }
OCTET_K_CREATE(octet_k_momentum_create) { return opt_create(info, out_dtypes, state, err, OPT_MOMENTUM); }
OCTET_K_CREATE(octet_k_adam_create) { return opt_create(info, out_dtypes, state, err, OPT_ADAM); }

/* Input index of operand k (0 = X, 1 = G, 2 = first state, 3 = second) of tensor v. */
static size_t opt_in(const opt_state *s, size_t k, size_t v) { return 2 + k * s->n_vars + v; }

OCTET_K_INFER(octet_k_optimizer_infer) {
  opt_state *s = state;
  for (size_t v = 0; v < s->n_vars; v++) {
    const octet_tensor *x = in[opt_in(s, 0, v)];
    for (size_t k = 1; k < s->per_var; k++) {
      const octet_tensor *t = in[opt_in(s, k, v)];
      if (t->rank != x->rank || memcmp(t->dims, x->dims, sizeof(int64_t) * (size_t)x->rank))
        return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                          "node '%s': the operands of tensor %zu differ in shape", s->node, v);
    }
    for (size_t k = 0; k + 1 < s->per_var; k++) {
      octet_tensor *o = &out[k * s->n_vars + v];
      o->dtype = in[opt_in(s, k == 0 ? 0 : k + 1, v)]->dtype;
      octet_k_copy_shape(o, x);
    }
  }
  *workspace = 0;
  return OCTET_OK;
}

static void put(const octet_tensor *t, size_t i, double v) {
  if (t->dtype == OCTET_DTYPE_DOUBLE) ((double *)t->data)[i] = v;
  else ((float *)t->data)[i] = (float)v;
}

OCTET_K_RUN(octet_k_optimizer_run) {
  opt_state *s = state;
  double R = octet_k_get_double(in[0], 0);
  int64_t T = octet_k_get_int(in[1], 0);
  double r = R;
  if (s->kind == OPT_ADAGRAD) r = R / (1.0 + (double)T * s->decay);
  if (s->kind == OPT_ADAM && T > 0)
    r = R * sqrt(1.0 - pow(s->beta, (double)T)) / (1.0 - pow(s->alpha, (double)T));
  double beta_adj = T > 0 ? s->beta : 1.0;
  for (size_t v = 0; v < s->n_vars; v++) {
    const octet_tensor *x = in[opt_in(s, 0, v)], *g = in[opt_in(s, 1, v)];
    const octet_tensor *s1 = in[opt_in(s, 2, v)], *s2 = s->kind == OPT_ADAM ? in[opt_in(s, 3, v)] : NULL;
    octet_tensor *xo = &out[v], *o1 = &out[s->n_vars + v], *o2 = s2 ? &out[2 * s->n_vars + v] : NULL;
    size_t n = octet_tensor_numel(x);
    for (size_t i = 0; i < n; i++) {
      double xv = octet_k_get_double(x, i), gr = s->norm * xv + octet_k_get_double(g, i);
      double a = octet_k_get_double(s1, i);
      if (s->kind == OPT_ADAGRAD) {
        double h = a + gr * gr;
        put(o1, i, h);
        put(xo, i, xv - r * gr / (sqrt(h) + s->epsilon));
      } else if (s->kind == OPT_MOMENTUM) {
        double vn = s->alpha * a + beta_adj * gr;
        put(o1, i, vn);
        put(xo, i, s->nesterov ? xv - R * (gr + s->alpha * vn) : xv - R * vn);
      } else {
        double vn = s->alpha * a + (1.0 - s->alpha) * gr;
        double hn = s->beta * octet_k_get_double(s2, i) + (1.0 - s->beta) * gr * gr;
        put(o1, i, vn);
        put(o2, i, hn);
        put(xo, i, (1.0 - s->norm_post) * (xv - r * vn / (sqrt(hn) + s->epsilon)));
      }
    }
  }
  return OCTET_OK;
}
