/* quantize.c — the public quantization API: prepare, then rewrite a calibrated model. */
#include <stdio.h>
#include <string.h>

#include "quantize/passes.h"
#include "quantize/qop.h"

/* A default chosen by measurement on the dev models (README, "Choosing ranges"). */
#define DEFAULT_METHOD OCTET_RANGE_MINMAX

static octet_status set_text(char **out, const char *text, octet_error *err) {
  if (!out) return OCTET_OK;
  *out = octet_strdup(text);
  return *out ? OCTET_OK : octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
}


octet_status octet_quantize_prepare(octet_model *m, char **notes, octet_error *err) {
  if (!m) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_prepare: no model");
  octet_prepare_report r;
  octet_status st = octet_quantize_prepare_graph(m, &r, err);
  if (st) return st;
  char text[256];
  snprintf(text, sizeof text,
           "prepare: %zu Constant nodes became initializers, %zu BatchNormalization and %zu Mul/Add by "
           "constants folded into Conv", r.constants, r.folded_bn, r.folded_affine);
  return set_text(notes, text, err);
}

octet_range_method octet_quantize_default_method(void) { return DEFAULT_METHOD; }

int octet_model_is_quantized(const octet_model *m) { return m && octet_ir_is_quantized(m); }

/* --mode dynamic (or auto choosing it): quantize/dynamic.c; *handled false leaves it to static. */
static octet_status quantize_dynamic_mode(octet_model *m, const octet_quantize_options *o, char **summary,
                                          bool *handled, octet_error *err) {
  *handled = false;
  char why[160] = "";
  const char *mode = o->mode;
  if (!strcmp(mode, "auto")) mode = octet_quantize_auto_mode(m, why, sizeof why);
  else if (strcmp(mode, "dynamic"))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "unknown mode '%s' (static, dynamic or auto)", o->mode);
  if (strcmp(mode, "dynamic")) return OCTET_OK;
  *handled = true;
  if (octet_ir_is_quantized(m))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "the model is already quantized; octet never quantizes twice");
  if (o->format && strcmp(o->format, "qdq"))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "dynamic quantization has its own form; --format does not apply");
  octet_qdq_options qo = {0};
  qo.per_tensor_weights = o->per_tensor_weights;
  qo.signed_weights = o->signed_weights;
  qo.exclude_nodes = o->exclude_nodes;
  qo.exclude_ops = o->exclude_ops;
  octet_dynamic_report r;
  octet_status st = octet_quantize_dynamic(m, &qo, &r, err);
  if (st) return st;
  char text[1024];
  int n = snprintf(text, sizeof text,
                   "%s%s%sdynamic: %zu MatMul + %zu Gemm -> DynamicQuantizeMatMul (%zu bias Adds folded), %zu Conv -> "
                   "DynamicQuantizeLinear + ConvInteger; weights %s %s, activations uint8 at run time\n",
                   why[0] ? "mode auto: " : "", why, why[0] ? "\n" : "", r.matmuls, r.gemms, r.fused_bias, r.convs,
                   qo.signed_weights ? "int8" : "uint8 (zero point 128)", qo.per_tensor_weights ? "per tensor" : "per channel");
  if (r.excluded && n > 0 && (size_t)n < sizeof text)
    n += snprintf(text + n, sizeof text - (size_t)n, "kept float as excluded (the options, or the search above): %zu nodes\n", r.excluded);
  if (r.no_weight && n > 0 && (size_t)n < sizeof text)
    n += snprintf(text + n, sizeof text - (size_t)n, "kept float: %zu MatMul/Gemm/Conv without a constant weight "
                                                     "(activation x activation)\n", r.no_weight);
  if (r.kept_float[0] && n > 0 && (size_t)n < sizeof text)
    snprintf(text + n, sizeof text - (size_t)n, "kept float: %s (octet has no int8 recurrent kernel; weights inside "
                                                "If/Loop bodies stay float)\n", r.kept_float);
  return set_text(summary, text, err);
}

/* --format octet: the QOperator graph with QLinearConv, QLinearMatMul and int8-output QGemm in
 * domain ai.octet, so an ONNX Runtime that loaded liboctet-kernels.so (RegisterCustomOps) runs
 * them with octet's kernels; everything else stays standard. */
static octet_status to_octet_domain(octet_model *m, size_t *moved, octet_error *err) {
  octet_ir_graph *g = m->graph;
  for (size_t i = 0; i < g->n_nodes; i++) {
    octet_ir_node *n = &g->nodes[i];
    bool conv_mm = !n->domain[0] && (!strcmp(n->op_type, "QLinearConv") || !strcmp(n->op_type, "QLinearMatMul"));
    bool qgemm = !strcmp(n->domain, "com.microsoft") && !strcmp(n->op_type, "QGemm") && n->n_inputs == 9 &&
                 n->inputs[8][0];
    if (!conv_mm && !qgemm) continue;
    n->domain = "ai.octet";
    (*moved)++;
  }
  if (!*moved || octet_ir_opset_version(m, "ai.octet")) return OCTET_OK;
  octet_ir_opset *ops = octet_arena_alloc(m->arena, (m->n_opsets + 1) * sizeof *ops);
  if (!ops) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if (m->n_opsets) memcpy(ops, m->opsets, m->n_opsets * sizeof *ops);
  ops[m->n_opsets].domain = "ai.octet";
  ops[m->n_opsets].version = 1;
  m->opsets = ops;
  m->n_opsets++;
  return OCTET_OK;
}

octet_status octet_quantize_model(octet_model *m, const octet_calibrator *cal,
                                  const octet_quantize_options *o, char **summary, octet_error *err) {
  if (m && o && o->mode && strcmp(o->mode, "static")) {
    bool handled;
    octet_status st = quantize_dynamic_mode(m, o, summary, &handled, err);
    if (st || handled) return st;
  }
  if (!m || !cal) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_model: no model or calibrator");
  octet_quantize_options dflt = {0};
  if (!o) o = &dflt;
  if (octet_ir_is_quantized(m))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "the model is already quantized (it has QuantizeLinear/DequantizeLinear or QLinear ops); "
                      "octet never quantizes twice");
  if (o->format && strcmp(o->format, "qdq") && strcmp(o->format, "qop") && strcmp(o->format, "octet"))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "unknown format '%s' (expected qdq, qop or octet)",
                      o->format);
  octet_qdq_options qo = {0};
  qo.method = DEFAULT_METHOD;
  /* The default, measured on the dev models (README "Choosing ranges"): minmax. */
  if (o->method) {
    octet_status st = octet_range_method_parse(o->method, &qo.method, err);
    if (st) return st;
  }
  qo.choice = o->choice;
  qo.per_tensor_weights = o->per_tensor_weights;
  qo.signed_activations = o->signed_activations;
  qo.signed_weights = o->signed_weights;
  qo.exclude_nodes = o->exclude_nodes;
  qo.exclude_ops = o->exclude_ops;
  bool upgraded = false;
  int64_t opset = octet_ir_opset_version(m, "");
  /* Per-axis QuantizeLinear needs opset 13, QuantizeLinear at all 10: older models are upgraded
   * (to 13) where the semantics allow. */
  if ((!qo.per_tensor_weights && opset < 13) || opset < 10) {
    octet_status st = octet_quantize_upgrade_opset(m, cal, &upgraded, err);
    if (st && !qo.per_tensor_weights)
      return octet_fail_prefix(err, "per-channel weights need opset 13 and the upgrade from %lld failed "
                                    "(--per-tensor keeps an opset of 10 or more)", (long long)opset);
    if (st)
      return octet_fail_prefix(err, "QuantizeLinear needs opset 10 and the upgrade from %lld failed", (long long)opset);
  }
  size_t hardswish = 0;
  octet_status st = octet_quantize_fuse_hardswish(m, &hardswish, err);
  octet_qdq_report r;
  if (!st) st = octet_quantize_qdq(m, cal, &qo, &r, err);
  if (st) return st;
  /* QOperator form: the QDQ graph lowered to QLinear* nodes (quantize/qop.c). */
  octet_qop_report qr = {0};
  bool octet_form = o->format && !strcmp(o->format, "octet");
  bool qop = o->format && (!strcmp(o->format, "qop") || octet_form);
  if (qop && (st = octet_qdq_to_qop(m, &qr, err))) return st;
  size_t moved = 0;
  if (octet_form && (st = to_octet_domain(m, &moved, err))) return st;
  char text[2048];
  int n = snprintf(text, sizeof text,
                   "quantized: %zu nodes (%zu activations with Q/DQ, %zu weight tensors %s %s), "
                   "activations %s, ranges by %s%s\n",
                   r.quantized_nodes, r.quantized_tensors, r.quantized_weights,
                   qo.signed_weights ? "int8" : "uint8 (zero point 128)", qo.per_tensor_weights ? "per tensor" : "per channel",
                   qo.signed_activations ? "int8" : "uint8",
                   octet_range_method_name(qo.method),
                   upgraded ? "; opset upgraded to 13" : "");
  if (hardswish)
    n += snprintf(text + n, sizeof text - (size_t)n, "fused %zu x*Clip(x+3,0,6)/6 into HardSwish (opset 14)\n", hardswish);
  if (r.dropped_activations)
    n += snprintf(text + n, sizeof text - (size_t)n, "removed %zu Relu/Clip: the int8 range saturates the same way\n",
                  r.dropped_activations);
  if (r.excluded) n += snprintf(text + n, sizeof text - (size_t)n, "kept float as excluded (the options, or the search above): %zu nodes\n", r.excluded);
  if (r.unsupported)
    n += snprintf(text + n, sizeof text - (size_t)n, "kept float (no int8 form in QDQ): %zu nodes: %s\n", r.unsupported,
                  r.kept_float);
  if (qop && n >= 0 && (size_t)n < sizeof text)
    snprintf(text + n, sizeof text - (size_t)n, "QOperator: %zu QLinear nodes, %zu int8 data-movement nodes, %zu Relu/Clip folded%s%s\n",
             qr.converted, qr.passthrough, qr.folded, qr.float_compute ? "; float compute: " : "", qr.float_nodes);
  n = (int)strlen(text);
  if (octet_form && n >= 0 && (size_t)n < sizeof text)
    snprintf(text + n, sizeof text - (size_t)n,
             "octet form: %zu nodes in domain ai.octet (ONNX Runtime runs them with the octet plugin)\n", moved);
  return set_text(summary, text, err);
}
