/* graph-edit.h — what graph passes need on top of the IR builders: who produces and consumes a
 * name, fresh names, adding nodes with their inputs and outputs, dropping nodes, re-sorting. */
#ifndef OCTET_QUANTIZE_GRAPH_EDIT_H
#define OCTET_QUANTIZE_GRAPH_EDIT_H

#include "onnx_io/ir.h"

typedef struct octet_edit {
  octet_model *m;
  octet_ir_graph *g;
  bool *dead; /* nodes marked for removal (by index), applied by octet_edit_finish */
  size_t cap_dead;
  uint64_t counter; /* for fresh names */
} octet_edit;

octet_status octet_edit_begin(octet_edit *e, octet_model *m, octet_ir_graph *g, octet_error *err);
/* Removes dead nodes and sorts the rest topologically (files must list nodes in order). */
octet_status octet_edit_finish(octet_edit *e, octet_error *err);
void octet_edit_end(octet_edit *e);

/* Index of the node producing `name`, or SIZE_MAX (graph input, initializer, outer scope). */
size_t octet_edit_producer(const octet_edit *e, const char *name);
/* Number of live node inputs reading `name` (subgraph reads count as one), and whether it is a
 * graph output. */
size_t octet_edit_consumers(const octet_edit *e, const char *name);
bool octet_edit_is_graph_output(const octet_edit *e, const char *name);
/* The live node reading `name` when it is its only reader and `name` is no graph output; else
 * SIZE_MAX (what a pass needs before folding a node into its successor). */
size_t octet_edit_sole_reader(const octet_edit *e, const char *name);
/* Replaces `from` by `to` in the inputs of every live node except `except` (SIZE_MAX: none). */
void octet_edit_rename_uses(octet_edit *e, const char *from, const char *to, size_t except);

/* A fresh tensor/node name "<base>_<suffix>" (made unique if taken). Arena string. */
const char *octet_edit_name(octet_edit *e, const char *base, const char *suffix);

/* Appends a node; returns its index or SIZE_MAX on out-of-memory. inputs/outputs are copied. */
size_t octet_edit_add_node(octet_edit *e, const char *op_type, const char *domain, const char *name,
                           size_t n_in, const char *const *inputs, size_t n_out,
                           const char *const *outputs);
/* Adds an INT attribute / FLOAT / INTS to node `index`. */
bool octet_edit_attr_int(octet_edit *e, size_t node, const char *name, int64_t v);
bool octet_edit_attr_float(octet_edit *e, size_t node, const char *name, float v);
bool octet_edit_attr_ints(octet_edit *e, size_t node, const char *name, const int64_t *v, size_t n);
void octet_edit_kill(octet_edit *e, size_t node);
bool octet_edit_is_dead(const octet_edit *e, size_t node);

/* Constant value of a name: an initializer of g (NULL if not constant). */
const octet_ir_tensor *octet_edit_constant(const octet_edit *e, const char *name);
/* Replaces (or adds) an initializer's content; data is copied into the arena. */
octet_ir_tensor *octet_edit_set_initializer(octet_edit *e, const char *name, int32_t dtype,
                                            int32_t rank, const int64_t *dims, const void *data);

/* Zero points the quantizer adds, shared by value: a model needs a handful of distinct ones. */
typedef struct octet_zp_cache {
  struct { int32_t dtype, zp; int64_t len; const char *name; } e[64];
  size_t n;
} octet_zp_cache;
/* The initializer holding zero point zp of dtype (uint8, int8 or int32): a scalar when len < 0,
 * else len equal values. Named u8_<zp>_zp (s8_, i32_) or, vectors, z<zp>_<len>. NULL when out of
 * memory. */
const char *octet_edit_zero_point(octet_edit *e, octet_zp_cache *c, int32_t dtype, int32_t zp, int64_t len);

#endif
