/* rnn-activation.h — the activation functions named by the activations attribute of
 * LSTM/GRU/RNN, with their alpha/beta, parsed once in create and applied to gate vectors. */
#ifndef OCTET_RNN_ACTIVATION_H
#define OCTET_RNN_ACTIVATION_H

#include <stddef.h>

#include "ops/kernel-util.h"

typedef enum rnn_act_kind {
  RNN_ACT_SIGMOID,
  RNN_ACT_TANH,
  RNN_ACT_RELU,
  RNN_ACT_AFFINE,
  RNN_ACT_LEAKY_RELU,
  RNN_ACT_THRESHOLDED_RELU,
  RNN_ACT_SCALED_TANH,
  RNN_ACT_HARD_SIGMOID,
  RNN_ACT_ELU,
  RNN_ACT_SOFTSIGN,
  RNN_ACT_SOFTPLUS,
} rnn_act_kind;

typedef struct rnn_act {
  rnn_act_kind kind;
  float alpha, beta;
} rnn_act;

/* Reads activations / activation_alpha / activation_beta into acts[dir][k] for
 * n_dirs directions of n_per_dir functions each; `defaults` are the op's default kinds.
 * A single set given for a bidirectional op serves both directions (as ONNX Runtime does). */
octet_status rnn_parse_activations(const octet_kernel_info *info, size_t n_dirs, size_t n_per_dir,
                                   const rnn_act_kind *defaults, rnn_act acts[2][3],
                                   octet_error *err);

/* x[i] = act(x[i]) for i < n. */
void rnn_act_apply(const rnn_act *act, float *x, size_t n);

static inline float rnn_clip(float x, float clip) {
  return x < -clip ? -clip : (x > clip ? clip : x);
}

#endif
