/* qop.h — QDQ to QOperator lowering: DequantizeLinear -> op -> QuantizeLinear groups become
 * QLinearConv / QLinearMatMul / QGemm / QLinearAdd / ... so int8 kernels run them. Used by
 * `octet quantize --format qop` and by the runtime when it opens a QDQ model. */
#ifndef OCTET_QUANTIZE_QOP_H
#define OCTET_QUANTIZE_QOP_H

#include "onnx_io/ir.h"

typedef struct octet_qop_report {
  size_t converted;       /* QOperator nodes made (QLinearConv, QGemm, MatMulIntegerToFloat, ...) */
  size_t passthrough;     /* MaxPool/Reshape/Transpose/... now running on the int8 tensor */
  size_t folded;          /* Relu/Clip removed because the output range enforces them */
  size_t removed_qdq;     /* QuantizeLinear/DequantizeLinear nodes that disappeared */
  size_t float_compute;   /* Conv/ConvTranspose/MatMul/Gemm left in float */
  char float_nodes[512];  /* "name (op), ..." of those, truncated */
} octet_qop_report;

/* Rewrites the top-level graph of m in place (subgraphs are left as they are). The result
 * computes what ONNX Runtime computes for the QDQ graph: a group is converted only when its
 * scales and zero points are constants, activations are per tensor, int32 biases have scale
 * input_scale x weight_scale, and a folded Relu/Clip is exactly what saturation to the output
 * range does. Everything else stays as it was (correct, in float). r may be NULL. */
octet_status octet_qdq_to_qop(octet_model *m, octet_qop_report *r, octet_error *err);

/* Whether the top-level graph has a DequantizeLinear node (a QDQ model worth lowering). */
bool octet_model_has_qdq(const octet_model *m);

/* For the runtime at session creation: clones `in` (ir-clone.h: in must outlive *out, which
 * borrows its tensor bytes) and lowers the clone. *out is NULL (and OCTET_OK returned) when the
 * model has no DequantizeLinear or nothing could be converted: run `in` as it is. */
octet_status octet_runtime_lower_qdq(const octet_model *in, octet_model **out, octet_error *err);

#endif
