/* runtime.h — internals of the session: the kernel module loader, the thread pool, and the
 * per-graph execution plan that sessions, If/Loop/Scan bodies share. Never installed. */
#ifndef OCTET_RUNTIME_H
#define OCTET_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "octet/octet.h"
#include "octet/octet_plugin.h"
#include "onnx_io/ir.h"

/* ---- Kernel module (plugin-loader.c) ---- */

/* Resolves the module path (explicit path, $OCTET_PLUGIN, next to liboctet, next to the
 * executable), dlopens it once per process and returns its kernel table. */
octet_status octet_rt_plugin_load(const char *explicit_path, const octet_plugin **plugin,
                                  octet_error *err);
/* The kernel serving (domain, op_type) at opset: the entry with the highest since_version
 * not above opset (the same rule as ops/registry.c). NULL when none. */
const octet_kernel *octet_rt_find_kernel(const octet_plugin *p, const char *domain,
                                         const char *op_type, int64_t opset);

/* ---- Thread pool (thread-pool.c) ---- */

typedef struct octet_rt_pool octet_rt_pool;
/* n_threads counts the calling thread; 1 creates no threads. */
octet_status octet_rt_pool_create(uint32_t n_threads, octet_rt_pool **pool, octet_error *err);
void octet_rt_pool_destroy(octet_rt_pool *pool);
/* Fills host so kernels reach the pool through octet_parallel_for. */
void octet_rt_pool_host(octet_rt_pool *pool, octet_host *host);
uint32_t octet_rt_default_threads(void);

/* ---- Graph plans (session.c, control-flow.c) ---- */

typedef enum rt_value_kind {
  RT_VALUE_INPUT = 0, /* bound by the caller (session input, loop body input) */
  RT_VALUE_CONST,     /* initializer, Constant node, or a node evaluated at create */
  RT_VALUE_NODE,      /* produced by a node while running */
  RT_VALUE_OUTER,     /* a value of an enclosing graph (subgraphs) */
} rt_value_kind;

typedef struct rt_value rt_value;
struct rt_value {
  const char *name;
  rt_value_kind kind;
  int32_t dtype;
  octet_tensor t;      /* current value: dtype, shape, data */
  rt_value *outer;     /* RT_VALUE_OUTER: the enclosing graph's value */
  const octet_ir_value *decl; /* declared type (graph inputs/outputs), or NULL */
  bool keep;           /* graph output: never released */
  bool observe;        /* passed to the observer */
  bool owned_const;    /* t.data was allocated for this constant (folded node) */
  int32_t last_use;    /* index in the plan's order of the last node reading it; -1 none */
  int32_t buf;         /* buffer holding it in the current run, -1 none */
  int32_t buf_plan;    /* buffer assigned by the planning run */
  bool inplace_plan;   /* planning run placed it in input 0's buffer */
};

/* Follows outer references to the value that owns the tensor. */
static inline rt_value *rt_value_owner(rt_value *v) {
  while (v && v->kind == RT_VALUE_OUTER) v = v->outer;
  return v;
}

typedef enum rt_node_kind {
  RT_NODE_KERNEL = 0,
  RT_NODE_IF,
  RT_NODE_LOOP,
  RT_NODE_SCAN,
} rt_node_kind;

typedef struct rt_graph rt_graph;
typedef struct rt_session_shared rt_session_shared;

typedef struct rt_node {
  const octet_ir_node *ir;
  rt_node_kind kind;
  int64_t opset;
  const octet_kernel *kernel;
  void *state;
  size_t n_in, n_out;
  rt_value **in;   /* NULL entry: absent optional input */
  rt_value **out;  /* every output has a value (unused optional ones are anonymous) */
  size_t n_implicit;
  rt_value **implicit; /* values of this graph that subgraphs read */
  rt_graph *sub[2];    /* If: then, else; Loop/Scan: body */
  const octet_tensor **in_t; /* call scratch */
  octet_tensor *out_t;
  size_t n_dying;
  rt_value **dying; /* values whose last reader is this node */
  char label[64];
  double seconds;   /* last run */
  uint64_t n_exec;  /* executions in the last run (loops run nodes many times) */
  /* Scan attributes (parsed at create). */
  int64_t scan_n_inputs;
  int64_t *scan_in_axes, *scan_in_dirs, *scan_out_axes, *scan_out_dirs;
  /* Loop/Scan: carried state buffers that persist between iterations. */
  void *cf_mem;
} rt_node;

typedef struct rt_buffer {
  void *base;  /* as allocated */
  void *data;  /* 64-byte aligned */
  size_t cap;
  int32_t refs;
} rt_buffer;

struct rt_graph {
  rt_session_shared *sh;
  rt_graph *parent;
  const octet_ir_graph *ir;
  /* Values: an array of pointers to values allocated one by one, so pointers stay valid. */
  size_t n_values, cap_values;
  rt_value **values;
  /* name -> value, open addressing over values */
  size_t map_cap;
  rt_value **map;
  size_t n_inputs;
  rt_value **inputs;
  size_t n_outputs;
  rt_value **outputs;
  size_t n_outer;
  rt_value **outer; /* this graph's RT_VALUE_OUTER values */
  size_t n_nodes;
  rt_node *nodes; /* in execution order */
  size_t n_folded_observed;
  rt_value **folded_observed; /* constants made at create by running a node, shown to observers */
  const char **folded_node_names;
  /* buffers */
  size_t n_bufs, cap_bufs;
  rt_buffer *bufs;
  size_t n_free;
  int32_t *free_list;
  bool planned;
};

/* What every graph of one session shares. */
struct rt_session_shared {
  const octet_model *model;
  const octet_plugin *plugin;
  octet_rt_pool *pool;
  octet_host host;
  octet_observer_fn observer;
  void *observer_ctx;
  const char *const *observe_names;
  size_t n_observe_names;
  bool profile;
  void *ws_base;
  void *ws;
  size_t ws_cap;
  uint64_t n_allocs; /* buffer and workspace allocations since create (tests) */
};

/* Builds the plan of graph ir. input_dtypes (optional) overrides the declared input types
 * (loop bodies); parent is the enclosing graph or NULL. */
octet_status rt_graph_build(rt_session_shared *sh, rt_graph *parent, const octet_ir_graph *ir,
                            const int32_t *input_dtypes, size_t n_input_dtypes, rt_graph **out,
                            octet_error *err);
void rt_graph_destroy(rt_graph *g);
/* Runs g with its inputs already bound (g->inputs[i]->t set). Outputs are read from
 * g->outputs[i] (follow rt_value_owner) and stay valid until the next run of g. */
octet_status rt_graph_run(rt_graph *g, octet_error *err);

/* Control flow (control-flow.c): build the subgraph plans and report output dtypes; run. */
octet_status rt_cf_build(rt_graph *g, rt_node *n, int32_t *out_dtypes, octet_error *err);
octet_status rt_cf_run(rt_graph *g, rt_node *n, octet_error *err);
void rt_cf_destroy(rt_node *n);
/* Gives output j of node n a buffer of its shape (already in n->out[j]->t) from g's arena. */
octet_status rt_graph_alloc_output(rt_graph *g, rt_node *n, size_t j, octet_error *err);

/* Size in bytes of t's elements; fails for strings and overflow. */
octet_status rt_tensor_bytes(const octet_tensor *t, size_t *bytes, octet_error *err);

/* Internal statistics for tests: bytes held by the buffers of the top graph, allocations. */
size_t octet_rt_session_arena_bytes(const octet_session *s);
uint64_t octet_rt_session_alloc_count(const octet_session *s);

#endif
