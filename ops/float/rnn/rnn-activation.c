/* rnn-activation.c — parsing and applying the recurrent ops' activation functions. */
#include <math.h>
#include <strings.h>

#include "ops/float/rnn/rnn-activation.h"

typedef struct act_desc {
  const char *name;
  rnn_act_kind kind;
  int n_alpha, n_beta; /* how many of activation_alpha / activation_beta it consumes */
  float alpha, beta;   /* defaults: those of the ONNX operator of the same name */
} act_desc;

static const act_desc act_table[] = {
  {"Sigmoid", RNN_ACT_SIGMOID, 0, 0, 0.0f, 0.0f},
  {"Tanh", RNN_ACT_TANH, 0, 0, 0.0f, 0.0f},
  {"Relu", RNN_ACT_RELU, 0, 0, 0.0f, 0.0f},
  {"Affine", RNN_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
  {"LeakyRelu", RNN_ACT_LEAKY_RELU, 1, 0, 0.01f, 0.0f},
  {"ThresholdedRelu", RNN_ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0.0f},
  {"ScaledTanh", RNN_ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f},
  {"HardSigmoid", RNN_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
  {"Elu", RNN_ACT_ELU, 1, 0, 1.0f, 0.0f},
  {"Softsign", RNN_ACT_SOFTSIGN, 0, 0, 0.0f, 0.0f},
  {"Softplus", RNN_ACT_SOFTPLUS, 0, 0, 0.0f, 0.0f},
};

static const act_desc *find_desc(rnn_act_kind kind) {
  for (size_t i = 0; i < OCTET_COUNTOF(act_table); i++)
    if (act_table[i].kind == kind) return &act_table[i];
  return NULL;
}

octet_status rnn_parse_activations(const octet_kernel_info *info, size_t n_dirs, size_t n_per_dir,
                                   const rnn_act_kind *defaults, rnn_act acts[2][3],
                                   octet_error *err) {
  const octet_attr *names = octet_attr_find(info, "activations");
  const float *alphas, *betas;
  size_t n_alphas, n_betas;
  octet_status st = octet_attr_floats(info, "activation_alpha", &alphas, &n_alphas, err);
  if (!st) st = octet_attr_floats(info, "activation_beta", &betas, &n_betas, err);
  if (st) return st;
  size_t n_names = 0;
  if (names) {
    if (names->type != OCTET_ATTR_STRINGS)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (%s): attribute 'activations' must be a list of strings",
                        info->node_name, info->op_type);
    n_names = names->n;
    if (n_names != n_per_dir * n_dirs && n_names != n_per_dir)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (%s): 'activations' has %zu entries, expected %zu",
                        info->node_name, info->op_type, n_names, n_per_dir * n_dirs);
  }
  /* alpha/beta lists are consumed in order by the functions that take them. */
  size_t ia = 0, ib = 0;
  for (size_t d = 0; d < n_dirs; d++) {
    for (size_t k = 0; k < n_per_dir; k++) {
      const act_desc *desc = NULL;
      if (n_names) {
        size_t idx = n_names == n_per_dir ? k : d * n_per_dir + k;
        const char *nm = names->strings[idx];
        for (size_t i = 0; i < OCTET_COUNTOF(act_table); i++)
          if (!strcasecmp(nm, act_table[i].name)) desc = &act_table[i];
        if (!desc)
          return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                            "node '%s' (%s): unknown activation function '%s'", info->node_name,
                            info->op_type, nm);
      } else {
        desc = find_desc(defaults[k]);
      }
      rnn_act *a = &acts[d][k];
      a->kind = desc->kind;
      a->alpha = desc->alpha;
      a->beta = desc->beta;
      if (n_names) {
        if (desc->n_alpha && ia < n_alphas) a->alpha = alphas[ia++];
        if (desc->n_beta && ib < n_betas) a->beta = betas[ib++];
      }
    }
  }
  return OCTET_OK;
}

void rnn_act_apply(const rnn_act *act, float *x, size_t n) {
  const float a = act->alpha, b = act->beta;
  switch (act->kind) {
  case RNN_ACT_SIGMOID:
    for (size_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
    break;
  case RNN_ACT_TANH:
    for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
    break;
  case RNN_ACT_RELU:
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    break;
  case RNN_ACT_AFFINE:
    for (size_t i = 0; i < n; i++) x[i] = a * x[i] + b;
    break;
  case RNN_ACT_LEAKY_RELU:
    for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : a * x[i];
    break;
  case RNN_ACT_THRESHOLDED_RELU:
    for (size_t i = 0; i < n; i++) x[i] = x[i] > a ? x[i] : 0.0f;
    break;
  case RNN_ACT_SCALED_TANH:
    for (size_t i = 0; i < n; i++) x[i] = a * tanhf(b * x[i]);
    break;
  case RNN_ACT_HARD_SIGMOID:
    for (size_t i = 0; i < n; i++) {
      float v = a * x[i] + b;
      x[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    break;
  case RNN_ACT_ELU:
    for (size_t i = 0; i < n; i++) x[i] = x[i] >= 0.0f ? x[i] : a * (expf(x[i]) - 1.0f);
    break;
  case RNN_ACT_SOFTSIGN:
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + fabsf(x[i]));
    break;
  case RNN_ACT_SOFTPLUS:
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 20.0f ? x[i] : log1pf(expf(x[i]));
    break;
  }
}
