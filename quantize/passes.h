/* passes.h — the quantizer's graph passes, in the order octet_quantize runs them. */
#ifndef OCTET_QUANTIZE_PASSES_H
#define OCTET_QUANTIZE_PASSES_H

#include "calibration/calibrator.h"
#include "calibration/quant-rules.h"

#include "quantize/graph-edit.h"

typedef struct octet_prepare_report {
  size_t constants; /* Constant nodes turned into initializers */
  size_t folded_bn; /* BatchNormalization nodes folded into Conv/ConvTranspose */
  size_t folded_affine; /* Mul/Add by per-channel constants folded into Conv/ConvTranspose */
} octet_prepare_report;

/* Constant nodes -> initializers, BatchNormalization -> Conv weights. Run before calibration so
 * the calibrated tensors are the ones the quantized graph has. */
octet_status octet_quantize_prepare_graph(octet_model *m, octet_prepare_report *r, octet_error *err);

/* Raises the default-domain opset to 13 (per-axis QuantizeLinear), converting the nodes whose
 * form changed; refuses (naming the node) where meaning would change. cal gives tensor ranks. */
octet_status octet_quantize_upgrade_opset(octet_model *m, const octet_calibrator *cal,
                                          bool *upgraded, octet_error *err);

/* x * Clip(x + 3, 0, 6) / 6 -> HardSwish(x) (raising opset 13 to 14); models below 13 are left
 * as they are. Run after calibration: x and the result keep their names and ranges. */
octet_status octet_quantize_fuse_hardswish(octet_model *m, size_t *fused, octet_error *err);

/* Quantization parameters of one tensor: per tensor (n = 1) or per channel along axis. */
typedef struct octet_qparams {
  int32_t dtype; /* OCTET_DTYPE_UINT8 / INT8 (INT32 for biases) */
  size_t n;
  float *scale;  /* n entries (arena) */
  int32_t *zero_point;
  int64_t axis;
} octet_qparams;

/* Scale and zero point for a float range (made to include 0), ONNX Runtime's convention:
 * scale = (hi - lo) / (qmax - qmin), zp = round(qmin - lo / scale); symmetric when zp is fixed
 * at the middle. A degenerate range gets scale 1. */
void octet_qparams_from_range(double lo, double hi, int32_t dtype, bool symmetric, float *scale,
                              int32_t *zero_point);
/* round-half-to-even(x / scale) + zp, saturated to dtype's range. */
int32_t octet_quantize_value(float x, float scale, int32_t zp, int32_t dtype);

typedef struct octet_qdq_options {
  octet_range_method method;
  octet_calibration_choice choice; /* percentile, entropy settings */
  bool per_tensor_weights;
  bool signed_weights;       /* int8 weights; default uint8 with zero point 128 (same values) */
  bool signed_activations;
  const char *exclude_nodes; /* comma-separated node names */
  const char *exclude_ops;   /* comma-separated op types */
} octet_qdq_options;

typedef struct octet_qdq_report {
  size_t quantized_nodes;    /* compute/data nodes now between DQ and Q */
  size_t quantized_tensors;  /* activations with a Q/DQ pair */
  size_t quantized_weights;
  size_t dropped_activations; /* Relu/Clip removed: the Q after them saturates the same way */
  size_t excluded;           /* nodes kept float because the user said so */
  size_t unsupported;        /* float nodes of types octet does not quantize */
  char kept_float[1024];     /* op types kept float, with counts, for the summary */
} octet_qdq_report;

/* Inserts QuantizeLinear/DequantizeLinear pairs around the quantizable nodes using the ranges in
 * cal, quantizes weights (per channel by default) and biases (int32). */
octet_status octet_quantize_qdq(octet_model *m, const octet_calibrator *cal,
                                const octet_qdq_options *o, octet_qdq_report *r, octet_error *err);

/* Whether the graph already holds quantized ops (Q/DQ pairs or QLinear* / *Integer ops). */
bool octet_ir_is_quantized(const octet_model *m);

typedef struct octet_dynamic_report {
  size_t matmuls, gemms, convs; /* rewritten to dynamic int8 forms */
  size_t fused_bias;            /* Adds folded into DynamicQuantizeMatMul's bias */
  size_t excluded;
  size_t no_weight;             /* MatMul/Gemm/Conv left float: no constant weight (attention) */
  char kept_float[256];         /* recurrent op types left float (LSTM, GRU, RNN) */
} octet_dynamic_report;

/* Dynamic quantization (quantize/dynamic.c): constant-weight MatMul/Gemm -> DynamicQuantizeMatMul,
 * Conv -> DynamicQuantizeLinear + ConvInteger + rescale; recurrent layers stay float. Uses the
 * weight options of o (per_tensor_weights, signed_weights, exclusions). */
octet_status octet_quantize_dynamic(octet_model *m, const octet_qdq_options *o, octet_dynamic_report *r,
                                    octet_error *err);

/* The range method octet_quantize_model uses when the options name none. */
octet_range_method octet_quantize_default_method(void);

#endif
