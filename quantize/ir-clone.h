/* ir-clone.h — a deep copy of a model's graph structure, so a pass can rewrite a model that
 * its owner still uses (the runtime lowers QDQ models this way without touching the caller's). */
#ifndef OCTET_QUANTIZE_IR_CLONE_H
#define OCTET_QUANTIZE_IR_CLONE_H

#include "onnx_io/ir.h"

/* Copies every string, array, node, attribute, value and subgraph of `src` into a new model's
 * arena. Tensor element bytes (initializers and tensor attributes) are NOT copied: the clone's
 * tensors point at the source's bytes and are marked not owned, so `src` must outlive the clone
 * and passes must replace (never write through) shared tensor data. String tensors are copied.
 * The clone has no file regions of its own; path and base_dir are copied as strings. */
octet_status octet_ir_model_clone(const octet_model *src, octet_model **out, octet_error *err);

#endif
