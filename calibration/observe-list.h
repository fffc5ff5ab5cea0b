/* observe-list.h — which tensors a calibration run must observe for the static quantizer, so a
 * calibrating session can skip the histograms nobody reads (session options' observe_names). */
#ifndef OCTET_CALIBRATION_OBSERVE_LIST_H
#define OCTET_CALIBRATION_OBSERVE_LIST_H

#include "octet/octet.h"

typedef struct octet_observe_list_options {
  /* The quantizer's exclusions (comma-separated, as in octet_quantize_options): an excluded
   * Relu/Clip is not folded into its producer, so the producer's own output is then needed. */
  const char *exclude_nodes;
  const char *exclude_ops;
  /* As octet_quantize_options.per_tensor_weights: with it, a model below opset 13 keeps its
   * opset, so x*Clip(x+3,0,6)/6 is not fused into one HardSwish and its steps need ranges. */
  int per_tensor_weights;
} octet_observe_list_options;

/* The tensors of `model` (prepared, as it will be calibrated and quantized) whose ranges the
 * static quantizer can use: data inputs and outputs of the ops it quantizes (Conv,
 * ConvTranspose, MatMul, Gemm, Add, Mul, pools, Concat, and the data-movement ops that pass a
 * quantized input on), with a Relu/Clip that folds into its producer standing in for the
 * producer's output, and Softmax inputs (whose rank the opset upgrade checks). The steps of a
 * spelled-out hard-swish that the quantizer fuses into one float HardSwish are left out. Every other float
 * tensor (what flows between ops that stay float) is left out. *names points into the model's
 * strings (valid while it lives); free the array with octet_observe_list_free. Pass them as
 * octet_session_options.observe_names / n_observe_names; leave observe_names NULL to observe
 * every tensor, as before. Keep the op lists in step with quantize/qdq.c's op_role. */
OCTET_API octet_status octet_observe_list(const octet_model *model,
                                          const octet_observe_list_options *options,
                                          const char ***names, size_t *n_names, octet_error *err);
OCTET_API void octet_observe_list_free(const char **names);

#endif
