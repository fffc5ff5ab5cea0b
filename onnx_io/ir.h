/* ir.h — octet's model IR: what an .onnx file says, without protobuf types.
 * Everything in a model (strings, arrays, small tensor data) lives in model->arena and is freed
 * with the model. Large tensor data may point into a read-only file mapping the model keeps
 * alive; never write through octet_ir_tensor.data unless `owned` says the bytes are ours. */
#ifndef OCTET_IR_H
#define OCTET_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "octet/octet.h"

typedef struct octet_ir_graph octet_ir_graph;

/* A dimension: a number, or a symbol (param) when value < 0. */
typedef struct octet_ir_dim {
  int64_t value; /* -1: unknown or symbolic */
  const char *param; /* symbolic name, or NULL */
} octet_ir_dim;

typedef enum octet_ir_type_kind {
  OCTET_IR_TYPE_NONE = 0, /* no type given */
  OCTET_IR_TYPE_TENSOR,
  OCTET_IR_TYPE_SEQUENCE, /* of tensors: elem_type/shape describe the element */
  OCTET_IR_TYPE_OPTIONAL, /* of a tensor */
  OCTET_IR_TYPE_MAP,
  OCTET_IR_TYPE_SPARSE_TENSOR,
  OCTET_IR_TYPE_OTHER,
} octet_ir_type_kind;

/* A graph input/output or value_info entry. */
typedef struct octet_ir_value {
  const char *name;
  int32_t kind;      /* octet_ir_type_kind */
  int32_t elem_type; /* octet_dtype; 0 unknown */
  int32_t rank;      /* -1: shape unknown */
  octet_ir_dim *dims;
  const char *doc_string;
  /* Added: for SEQUENCE / OPTIONAL, the full element type (name ""), so nested types such as
   * optional(sequence(tensor)) survive a round trip; elem_type/rank/dims above still describe
   * the innermost tensor. NULL when the element type is not given. */
  struct octet_ir_value *elem;
} octet_ir_value;

/* Where an external tensor's bytes are in its side file. */
typedef struct octet_ir_external {
  const char *location; /* relative to the model's folder, checked on load */
  uint64_t offset;
  uint64_t length;
} octet_ir_external;

typedef struct octet_ir_tensor {
  const char *name;
  int32_t dtype; /* octet_dtype */
  int32_t rank;
  int64_t *dims;
  /* Contiguous little-endian element bytes, nbytes of them (numel * dtype size). For STRING
   * tensors: data is NULL and strings/string_lens hold numel entries. */
  const void *data;
  size_t nbytes;
  const char **strings;
  size_t *string_lens;
  bool owned;                   /* data was allocated for this tensor (arena or heap) */
  /* Alignment: the loader keeps data in the file mapping only when it is aligned to the
   * element size; otherwise it copies, so typed access through data is always aligned. */
  const octet_ir_external *external; /* non-NULL: came from (and by default returns to) a side file */
  const char *doc_string;
} octet_ir_tensor;

typedef struct octet_ir_attr {
  const char *name;
  int32_t type; /* octet_attr_type */
  int64_t i;
  float f;
  const char *s; /* bytes, s_len, NUL-terminated */
  size_t s_len;
  size_t n; /* count for ints/floats/strings/tensors/graphs */
  int64_t *ints;
  float *floats;
  const char **strings;
  size_t *string_lens;
  octet_ir_tensor *t;
  octet_ir_tensor *tensors;
  octet_ir_graph *g;
  octet_ir_graph **graphs;
  const char *ref_attr_name; /* inside functions */
  const char *doc_string;
  /* Added for ONNX's TYPE_PROTO attributes (Optional's `type`): the type; name is "". */
  struct octet_ir_value *tp;
} octet_ir_attr;

/* AttributeProto.TYPE_PROTO (octet_attr_type has no entry: kernels never see it). */
#define OCTET_IR_ATTR_TYPE_PROTO 13

typedef struct octet_ir_node {
  const char *name;
  const char *op_type;
  const char *domain; /* "" for ai.onnx ("ai.onnx" is normalized to "") */
  size_t n_inputs;
  const char **inputs; /* "" = absent optional input */
  size_t n_outputs;
  const char **outputs; /* "" = unused optional output */
  size_t n_attrs;
  octet_ir_attr *attrs;
  const char *doc_string;
} octet_ir_node;

struct octet_ir_graph {
  const char *name;
  size_t n_nodes, cap_nodes;
  octet_ir_node *nodes; /* in file order; the loader checks it can be ordered topologically */
  size_t n_initializers, cap_initializers;
  octet_ir_tensor *initializers;
  size_t n_inputs;
  octet_ir_value *inputs; /* may include initializer names (IR < 4 style) */
  size_t n_outputs;
  octet_ir_value *outputs;
  size_t n_value_infos;
  octet_ir_value *value_infos;
  const char *doc_string;
};

typedef struct octet_ir_opset {
  const char *domain; /* "" for ai.onnx */
  int64_t version;
} octet_ir_opset;

typedef struct octet_ir_kv {
  const char *key;
  const char *value;
} octet_ir_kv;

/* A mapped or allocated byte region the model keeps alive (file mappings, side files). */
typedef struct octet_ir_region octet_ir_region;

struct octet_model {
  octet_arena *arena;
  int64_t ir_version;
  size_t n_opsets;
  octet_ir_opset *opsets;
  const char *producer_name;
  const char *producer_version;
  const char *domain;
  int64_t model_version;
  const char *doc_string;
  size_t n_metadata;
  octet_ir_kv *metadata;
  size_t n_functions; /* model-local functions are kept only as a count; octet refuses to run them */
  octet_ir_graph *graph;
  const char *path;     /* file it was loaded from, NULL for buffers */
  const char *base_dir; /* folder external data is relative to */
  octet_ir_region *regions; /* freed with the model */
};

/* ---- Helpers every part uses ---- */

/* The opset version the model imports for domain ("" or "ai.onnx" for the default), or 0. */
int64_t octet_ir_opset_version(const octet_model *m, const char *domain);
const octet_ir_attr *octet_ir_node_attr(const octet_ir_node *n, const char *name);
const octet_ir_tensor *octet_ir_graph_initializer(const octet_ir_graph *g, const char *name);

/* Builders used by passes that edit graphs (quantize/). Strings are copied into the arena. */
octet_model *octet_ir_model_new(void);
octet_ir_graph *octet_ir_graph_new(octet_model *m);
octet_ir_node *octet_ir_graph_add_node(octet_model *m, octet_ir_graph *g, const char *op_type,
                                       const char *domain, const char *name);
octet_ir_tensor *octet_ir_graph_add_initializer(octet_model *m, octet_ir_graph *g,
                                                const char *name, int32_t dtype, int32_t rank,
                                                const int64_t *dims, const void *data);

/* Validates references, uniqueness, acyclicity and tensor sizes of a whole model (recursing
 * into subgraphs); the loader calls it, passes call it after editing. */
octet_status octet_ir_validate(const octet_model *m, octet_error *err);

/* Node indices of g in a topological order (outer-scope names count as available).
 * *order is allocated with octet_malloc; the caller frees it. */
octet_status octet_ir_topological_order(const octet_ir_graph *g, size_t **order, octet_error *err);

/* Deep structural comparison (names, types, shapes, attributes, tensor bytes); on difference
 * returns false and describes the first one in `what`. Used by round-trip tests. */
bool octet_ir_model_equal(const octet_model *a, const octet_model *b, char *what, size_t what_size);

/* A view of an IR tensor for kernels. Fails for strings and rank > OCTET_MAX_RANK. */
octet_status octet_ir_tensor_view(const octet_ir_tensor *t, octet_tensor *view, octet_error *err);

#endif
