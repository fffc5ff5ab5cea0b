/* ir.c — IR helpers: lookups, builders, validation (names, sizes, cycles), topological order,
 * deep equality and tensor views. Nothing here knows about protobuf. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "onnx_io/internal.h"
#include "onnx_io/ir.h"

/* ---- Lookups ----------------------------------------------------------------------------- */

int64_t octet_ir_opset_version(const octet_model *m, const char *domain) {
  if (!m) return 0;
  if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
  for (size_t i = 0; i < m->n_opsets; i++) {
    const char *d = m->opsets[i].domain ? m->opsets[i].domain : "";
    if (!strcmp(d, "ai.onnx")) d = "";
    if (!strcmp(d, domain)) return m->opsets[i].version;
  }
  return 0;
}

const octet_ir_attr *octet_ir_node_attr(const octet_ir_node *n, const char *name) {
  if (!n || !name) return NULL;
  for (size_t i = 0; i < n->n_attrs; i++)
    if (n->attrs[i].name && !strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

const octet_ir_tensor *octet_ir_graph_initializer(const octet_ir_graph *g, const char *name) {
  if (!g || !name) return NULL;
  for (size_t i = 0; i < g->n_initializers; i++)
    if (g->initializers[i].name && !strcmp(g->initializers[i].name, name)) return &g->initializers[i];
  return NULL;
}

/* ---- Builders ---------------------------------------------------------------------------- */

octet_model *octet_ir_model_new(void) {
  octet_model *m = octet_calloc(1, sizeof *m);
  if (!m) return NULL;
  m->arena = octet_arena_create();
  if (!m->arena) {
    octet_free(m);
    return NULL;
  }
  m->ir_version = 8;
  m->producer_name = "";
  m->producer_version = "";
  m->domain = "";
  m->doc_string = "";
  m->graph = octet_ir_graph_new(m);
  if (!m->graph) {
    octet_model_destroy(m);
    return NULL;
  }
  return m;
}

void octet_model_destroy(octet_model *m) {
  if (!m) return;
  onnx_io_regions_free(m->regions);
  octet_arena_destroy(m->arena);
  octet_free(m);
}

octet_ir_graph *octet_ir_graph_new(octet_model *m) {
  octet_ir_graph *g = octet_arena_alloc(m->arena, sizeof *g);
  if (!g) return NULL;
  g->name = "";
  g->doc_string = "";
  return g;
}

/* Arrays in the arena grow by doubling; the old block stays in the arena until the model dies,
 * which costs at most as much again as the final array. */
static bool grow(octet_model *m, void **arr, size_t n, size_t *cap, size_t elem) {
  if (n < *cap) return true;
  size_t ncap = *cap ? *cap * 2 : 8, bytes;
  if (ncap < n + 1) ncap = n + 1;
  if (!octet_mul_size(ncap, elem, &bytes)) return false;
  void *p = octet_arena_alloc(m->arena, bytes);
  if (!p) return false;
  if (n) memcpy(p, *arr, n * elem);
  *arr = p;
  *cap = ncap;
  return true;
}

octet_ir_node *octet_ir_graph_add_node(octet_model *m, octet_ir_graph *g, const char *op_type,
                                       const char *domain, const char *name) {
  if (!m || !g || !op_type) return NULL;
  if (!grow(m, (void **)&g->nodes, g->n_nodes, &g->cap_nodes, sizeof *g->nodes)) return NULL;
  if (domain && !strcmp(domain, "ai.onnx")) domain = "";
  octet_ir_node n = {0};
  n.op_type = octet_arena_strdup(m->arena, op_type);
  n.domain = octet_arena_strdup(m->arena, domain);
  n.name = octet_arena_strdup(m->arena, name);
  n.doc_string = "";
  if (!n.op_type || !n.domain || !n.name) return NULL;
  g->nodes[g->n_nodes] = n;
  return &g->nodes[g->n_nodes++];
}

octet_ir_tensor *octet_ir_graph_add_initializer(octet_model *m, octet_ir_graph *g,
                                                const char *name, int32_t dtype, int32_t rank,
                                                const int64_t *dims, const void *data) {
  if (!m || !g || !name || rank < 0 || (rank > 0 && !dims)) return NULL;
  size_t numel, nbytes, esize = octet_dtype_size(dtype);
  if (!octet_dtype_get(dtype) || dtype == OCTET_DTYPE_UNDEFINED) return NULL;
  if (!octet_shape_numel(dims, rank, &numel)) return NULL;
  if (!octet_mul_size(numel, esize, &nbytes)) return NULL;
  if (!grow(m, (void **)&g->initializers, g->n_initializers, &g->cap_initializers,
            sizeof *g->initializers))
    return NULL;
  octet_ir_tensor t = {0};
  t.name = octet_arena_strdup(m->arena, name);
  t.dtype = dtype;
  t.rank = rank;
  t.doc_string = "";
  t.dims = octet_arena_alloc(m->arena, (size_t)rank * sizeof(int64_t));
  if (!t.name || !t.dims) return NULL;
  if (rank) memcpy(t.dims, dims, (size_t)rank * sizeof(int64_t));
  if (dtype == OCTET_DTYPE_STRING) {
    /* Strings start empty; a caller fills strings[i] with arena strings. */
    t.strings = octet_arena_alloc(m->arena, numel * sizeof(char *));
    t.string_lens = octet_arena_alloc(m->arena, numel * sizeof(size_t));
    if (!t.strings || !t.string_lens) return NULL;
    for (size_t i = 0; i < numel; i++) t.strings[i] = "";
  } else {
    void *d = octet_arena_alloc(m->arena, nbytes);
    if (!d) return NULL;
    if (data && nbytes) memcpy(d, data, nbytes);
    t.data = d;
    t.nbytes = nbytes;
    t.owned = true;
  }
  g->initializers[g->n_initializers] = t;
  return &g->initializers[g->n_initializers++];
}

/* ---- Name tables: open addressing over borrowed strings ---------------------------------- */

typedef struct name_entry {
  const char *name;
  int64_t producer; /* node index, or -1 for inputs/initializers */
  int kind;         /* 1 input, 2 initializer, 3 node output */
} name_entry;

typedef struct name_table {
  name_entry *slots;
  size_t cap, count;
  const struct name_table *outer;
} name_table;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool table_init(name_table *t, size_t expected, const name_table *outer) {
  size_t cap = 16;
  while (cap < expected * 2 + 1) {
    if (cap > SIZE_MAX / 4) return false;
    cap *= 2;
  }
  t->slots = octet_calloc(cap, sizeof *t->slots);
  t->cap = cap;
  t->count = 0;
  t->outer = outer;
  return t->slots != NULL;
}

static void table_free(name_table *t) { octet_free(t->slots); }

static name_entry *table_find_local(const name_table *t, const char *name) {
  size_t i = (size_t)hash_str(name) & (t->cap - 1);
  while (t->slots[i].name) {
    if (!strcmp(t->slots[i].name, name)) return &t->slots[i];
    i = (i + 1) & (t->cap - 1);
  }
  return NULL;
}

static const name_entry *table_find(const name_table *t, const char *name) {
  for (; t; t = t->outer) {
    const name_entry *e = table_find_local(t, name);
    if (e) return e;
  }
  return NULL;
}

/* Inserts; the table was sized for every name so it never needs to grow. */
static name_entry *table_insert(name_table *t, const char *name) {
  size_t i = (size_t)hash_str(name) & (t->cap - 1);
  while (t->slots[i].name) i = (i + 1) & (t->cap - 1);
  t->slots[i].name = name;
  t->count++;
  return &t->slots[i];
}

static size_t graph_name_count(const octet_ir_graph *g) {
  size_t n = g->n_inputs + g->n_initializers;
  for (size_t i = 0; i < g->n_nodes; i++) n += g->nodes[i].n_outputs;
  return n;
}

/* ---- Free variables of subgraphs (outer-scope names they use) ----------------------------- */

typedef struct str_list {
  const char **v;
  size_t n, cap;
} str_list;

static bool list_push(str_list *l, const char *s) {
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 16;
    const char **p = octet_realloc(l->v, ncap * sizeof *p);
    if (!p) return false;
    l->v = p;
    l->cap = ncap;
  }
  l->v[l->n++] = s;
  return true;
}

static bool graph_free_vars(const octet_ir_graph *g, str_list *out, int depth);

static bool node_subgraph_free_vars(const octet_ir_node *n, str_list *out, int depth) {
  for (size_t a = 0; a < n->n_attrs; a++) {
    const octet_ir_attr *at = &n->attrs[a];
    if (at->type == OCTET_ATTR_GRAPH && at->g && !graph_free_vars(at->g, out, depth + 1)) return false;
    if (at->type == OCTET_ATTR_GRAPHS)
      for (size_t k = 0; k < at->n; k++)
        if (at->graphs[k] && !graph_free_vars(at->graphs[k], out, depth + 1)) return false;
  }
  return true;
}

/* Appends to out every name g (recursively) reads without defining it. */
static bool graph_free_vars(const octet_ir_graph *g, str_list *out, int depth) {
  if (depth > 64) return false;
  name_table defs;
  if (!table_init(&defs, graph_name_count(g), NULL)) return false;
  bool ok = true;
  for (size_t i = 0; i < g->n_inputs; i++)
    if (!table_find_local(&defs, g->inputs[i].name)) table_insert(&defs, g->inputs[i].name);
  for (size_t i = 0; i < g->n_initializers; i++)
    if (!table_find_local(&defs, g->initializers[i].name)) table_insert(&defs, g->initializers[i].name);
  for (size_t i = 0; i < g->n_nodes; i++)
    for (size_t o = 0; o < g->nodes[i].n_outputs; o++) {
      const char *s = g->nodes[i].outputs[o];
      if (s[0] && !table_find_local(&defs, s)) table_insert(&defs, s);
    }
  str_list inner = {0};
  for (size_t i = 0; ok && i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    for (size_t k = 0; ok && k < n->n_inputs; k++)
      if (n->inputs[k][0] && !table_find_local(&defs, n->inputs[k])) ok = list_push(out, n->inputs[k]);
    inner.n = 0;
    if (ok) ok = node_subgraph_free_vars(n, &inner, depth);
    for (size_t k = 0; ok && k < inner.n; k++)
      if (!table_find_local(&defs, inner.v[k])) ok = list_push(out, inner.v[k]);
  }
  for (size_t i = 0; ok && i < g->n_outputs; i++)
    if (!table_find_local(&defs, g->outputs[i].name)) ok = list_push(out, g->outputs[i].name);
  octet_free(inner.v);
  table_free(&defs);
  return ok;
}

/* ---- Topological order ------------------------------------------------------------------- */

static const char *node_label(const octet_ir_node *n) {
  return n->name && n->name[0] ? n->name : "(unnamed)";
}

octet_status octet_ir_topological_order(const octet_ir_graph *g, size_t **order, octet_error *err) {
  if (!g || !order) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "topological order: NULL argument");
  size_t n = g->n_nodes;
  octet_status st = OCTET_OK;
  name_table producers = {0};
  size_t *indeg = NULL, *head = NULL, *edges = NULL, *queue = NULL, *deps_start = NULL;
  str_list deps = {0}, sub = {0};
  if (!table_init(&producers, graph_name_count(g), NULL)) goto oom;
  for (size_t i = 0; i < n; i++)
    for (size_t o = 0; o < g->nodes[i].n_outputs; o++) {
      const char *s = g->nodes[i].outputs[o];
      if (s[0] && !table_find_local(&producers, s)) table_insert(&producers, s)->producer = (int64_t)i;
    }
  /* Every dependency of node i, flattened: its inputs, then the outer names its subgraphs use. */
  deps_start = octet_calloc(n + 1, sizeof *deps_start);
  if (!deps_start) goto oom;
  for (size_t i = 0; i < n; i++) {
    const octet_ir_node *nd = &g->nodes[i];
    deps_start[i] = deps.n;
    for (size_t k = 0; k < nd->n_inputs; k++)
      if (nd->inputs[k][0] && !list_push(&deps, nd->inputs[k])) goto oom;
    sub.n = 0;
    if (!node_subgraph_free_vars(nd, &sub, 0)) goto oom;
    for (size_t k = 0; k < sub.n; k++)
      if (!list_push(&deps, sub.v[k])) goto oom;
  }
  deps_start[n] = deps.n;
  indeg = octet_calloc(n + 1, sizeof *indeg);
  head = octet_calloc(n + 1, sizeof *head);
  edges = octet_calloc(deps.n + 1, sizeof *edges);
  queue = octet_calloc(n + 1, sizeof *queue);
  if (!indeg || !head || !edges || !queue) goto oom;
  /* CSR adjacency producer -> consumers, one edge per dependency occurrence. */
  for (size_t i = 0; i < n; i++)
    for (size_t k = deps_start[i]; k < deps_start[i + 1]; k++) {
      name_entry *e = table_find_local(&producers, deps.v[k]);
      if (e) head[e->producer + 1]++;
    }
  for (size_t i = 0; i < n; i++) head[i + 1] += head[i];
  {
    size_t *fill = queue; /* reuse as a cursor array before the sort starts */
    for (size_t i = 0; i < n; i++) fill[i] = head[i];
    for (size_t i = 0; i < n; i++)
      for (size_t k = deps_start[i]; k < deps_start[i + 1]; k++) {
        name_entry *e = table_find_local(&producers, deps.v[k]);
        if (e) {
          edges[fill[e->producer]++] = i;
          indeg[i]++;
        }
      }
  }
  size_t qh = 0, qt = 0;
  for (size_t i = 0; i < n; i++)
    if (indeg[i] == 0) queue[qt++] = i;
  while (qh < qt) {
    size_t u = queue[qh++];
    for (size_t e = head[u]; e < head[u + 1]; e++)
      if (--indeg[edges[e]] == 0) queue[qt++] = edges[e];
  }
  if (qt != n) {
    for (size_t i = 0; i < n; i++)
      if (indeg[i]) {
        st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "graph '%s': cycle: node '%s' (%s) depends on its own output", g->name ? g->name : "",
                        node_label(&g->nodes[i]), g->nodes[i].op_type);
        break;
      }
    goto done;
  }
  *order = queue;
  queue = NULL;
  goto done;
oom:
  st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "graph '%s': out of memory ordering %zu nodes",
                  g->name ? g->name : "", n);
done:
  table_free(&producers);
  octet_free(indeg);
  octet_free(head);
  octet_free(edges);
  octet_free(queue);
  octet_free(deps_start);
  octet_free(deps.v);
  octet_free(sub.v);
  return st;
}

/* ---- Validation -------------------------------------------------------------------------- */

static octet_status validate_tensor(const octet_ir_tensor *t, const char *where, octet_error *err) {
  const char *name = t->name ? t->name : "";
  const octet_dtype_info *d = octet_dtype_get(t->dtype);
  if (!d || t->dtype == OCTET_DTYPE_UNDEFINED)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': unknown data type %d", where,
                      name, (int)t->dtype);
  if (t->rank < 0 || (t->rank > 0 && !t->dims))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': invalid rank %d", where, name,
                      (int)t->rank);
  for (int32_t i = 0; i < t->rank; i++)
    if (t->dims[i] < 0)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': negative dimension %" PRId64
                        " at axis %d", where, name, t->dims[i], (int)i);
  size_t numel, nbytes;
  if (!octet_shape_numel(t->dims, t->rank, &numel) || !octet_mul_size(numel, d->size ? d->size : 1, &nbytes))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': shape overflows the address space",
                      where, name);
  if (t->dtype == OCTET_DTYPE_STRING) {
    if (numel && (!t->strings || !t->string_lens))
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': %zu strings missing", where,
                        name, numel);
    return OCTET_OK;
  }
  if (t->nbytes != nbytes)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "%stensor '%s': data has %zu bytes but shape and type need %zu", where, name,
                      t->nbytes, nbytes);
  if (nbytes && !t->data)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': data missing", where, name);
  return OCTET_OK;
}

static octet_status validate_value(const octet_ir_value *v, const char *what, const char *gname,
                                   octet_error *err) {
  if (!v->name || !v->name[0])
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': %s without a name", gname, what);
  if (v->elem_type != 0 && (!octet_dtype_get(v->elem_type)))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': %s '%s' has unknown data type %d",
                      gname, what, v->name, (int)v->elem_type);
  if (v->rank > 0 && !v->dims)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': %s '%s' has no dims", gname, what, v->name);
  for (int32_t i = 0; i < v->rank; i++)
    if (v->dims[i].value < -1)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': %s '%s' has negative dimension %" PRId64,
                        gname, what, v->name, v->dims[i].value);
  return OCTET_OK;
}

static octet_status validate_graph(const octet_ir_graph *g, const name_table *outer, int depth,
                                   octet_error *err);

static octet_status validate_node_attrs(const octet_ir_node *n, const name_table *scope, int depth,
                                        octet_error *err) {
  char where[300];
  for (size_t a = 0; a < n->n_attrs; a++) {
    const octet_ir_attr *at = &n->attrs[a];
    snprintf(where, sizeof where, "node '%s' (%s) attribute '%s': ", node_label(n), n->op_type,
             at->name ? at->name : "");
    octet_status st = OCTET_OK;
    if (at->type == OCTET_ATTR_TENSOR) {
      if (!at->t) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%stensor missing", where);
      st = validate_tensor(at->t, where, err);
    } else if (at->type == OCTET_ATTR_TENSORS) {
      for (size_t k = 0; st == OCTET_OK && k < at->n; k++) st = validate_tensor(&at->tensors[k], where, err);
    } else if (at->type == OCTET_ATTR_GRAPH) {
      if (!at->g) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%sgraph missing", where);
      st = validate_graph(at->g, scope, depth + 1, err);
      if (st != OCTET_OK) octet_fail_prefix(err, "node '%s' (%s) subgraph '%s'", node_label(n), n->op_type, at->name);
    } else if (at->type == OCTET_ATTR_GRAPHS) {
      for (size_t k = 0; st == OCTET_OK && k < at->n; k++) {
        if (!at->graphs[k]) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%sgraph missing", where);
        st = validate_graph(at->graphs[k], scope, depth + 1, err);
        if (st != OCTET_OK)
          octet_fail_prefix(err, "node '%s' (%s) subgraph '%s'[%zu]", node_label(n), n->op_type, at->name, k);
      }
    }
    if (st != OCTET_OK) return st;
  }
  return OCTET_OK;
}

static octet_status validate_graph(const octet_ir_graph *g, const name_table *outer, int depth,
                                   octet_error *err) {
  const char *gname = g->name ? g->name : "";
  if (depth > 64)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': subgraphs nested deeper than 64", gname);
  name_table t;
  if (!table_init(&t, graph_name_count(g), outer))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "graph '%s': out of memory validating", gname);
  octet_status st = OCTET_OK;
  for (size_t i = 0; st == OCTET_OK && i < g->n_inputs; i++) {
    st = validate_value(&g->inputs[i], "input", gname, err);
    if (st != OCTET_OK) break;
    if (table_find_local(&t, g->inputs[i].name)) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': input '%s' is declared twice", gname,
                      g->inputs[i].name);
      break;
    }
    table_insert(&t, g->inputs[i].name)->kind = 1;
  }
  for (size_t i = 0; st == OCTET_OK && i < g->n_initializers; i++) {
    const octet_ir_tensor *it = &g->initializers[i];
    if (!it->name || !it->name[0]) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': initializer %zu has no name", gname, i);
      break;
    }
    st = validate_tensor(it, "initializer: ", err);
    if (st != OCTET_OK) break;
    name_entry *e = table_find_local(&t, it->name);
    if (e && e->kind == 2) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': initializer '%s' is defined twice", gname, it->name);
      break;
    }
    if (!e) table_insert(&t, it->name)->kind = 2; /* same name as an input: IR < 4 default value */
  }
  for (size_t i = 0; st == OCTET_OK && i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (!n->op_type || !n->op_type[0]) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': node %zu ('%s') has no op_type", gname, i,
                      node_label(n));
      break;
    }
    for (size_t o = 0; o < n->n_outputs; o++) {
      const char *s = n->outputs[o];
      if (!s[0]) continue;
      name_entry *e = table_find_local(&t, s);
      if (e) {
        if (e->kind == 3)
          st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                          "graph '%s': duplicate output: '%s' is produced by node '%s' (%s) and again by node '%s' (%s)",
                          gname, s, node_label(&g->nodes[e->producer]), g->nodes[e->producer].op_type,
                          node_label(n), n->op_type);
        else
          st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                          "graph '%s': duplicate output: node '%s' (%s) produces '%s', which is already a graph %s",
                          gname, node_label(n), n->op_type, s, e->kind == 1 ? "input" : "initializer");
        break;
      }
      e = table_insert(&t, s);
      e->kind = 3;
      e->producer = (int64_t)i;
    }
  }
  for (size_t i = 0; st == OCTET_OK && i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    for (size_t k = 0; k < n->n_inputs; k++) {
      const char *s = n->inputs[k];
      if (s[0] && !table_find(&t, s)) {
        st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "graph '%s': node '%s' (%s) input %zu '%s' is not produced by any node, input or initializer",
                        gname, node_label(n), n->op_type, k, s);
        break;
      }
    }
    if (st == OCTET_OK) st = validate_node_attrs(n, &t, depth, err);
  }
  for (size_t i = 0; st == OCTET_OK && i < g->n_outputs; i++) {
    st = validate_value(&g->outputs[i], "output", gname, err);
    if (st == OCTET_OK && !table_find(&t, g->outputs[i].name))
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph '%s': output '%s' is not produced by any node",
                      gname, g->outputs[i].name);
  }
  for (size_t i = 0; st == OCTET_OK && i < g->n_value_infos; i++)
    st = validate_value(&g->value_infos[i], "value_info", gname, err);
  if (st == OCTET_OK) {
    size_t *order = NULL;
    st = octet_ir_topological_order(g, &order, err);
    octet_free(order);
  }
  table_free(&t);
  return st;
}

octet_status octet_ir_validate(const octet_model *m, octet_error *err) {
  if (!m || !m->graph) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "model has no graph");
  if (m->ir_version < 3 || m->ir_version > 10)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "unsupported IR version %" PRId64 " (octet reads 3 to 10)%s",
                      m->ir_version, m->n_opsets ? "" : "; the model has no opset_import");
  if (m->n_opsets == 0)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "model has no opset_import");
  for (size_t i = 0; i < m->n_opsets; i++) {
    const char *d = m->opsets[i].domain ? m->opsets[i].domain : "";
    int64_t v = m->opsets[i].version;
    bool onnx = !d[0] || !strcmp(d, "ai.onnx");
    if (onnx && (v < 1 || v > 21))
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "unsupported ai.onnx opset %" PRId64 " (octet reads 1 to 21)", v);
    if (!onnx && v < 1)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "opset '%s' has invalid version %" PRId64, d, v);
    for (size_t j = 0; j < i; j++) {
      const char *dj = m->opsets[j].domain ? m->opsets[j].domain : "";
      if (!strcmp(dj, "ai.onnx")) dj = "";
      if (!strcmp(dj, onnx ? "" : d))
        return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "opset '%s' is imported twice", onnx ? "ai.onnx" : d);
    }
  }
  return validate_graph(m->graph, NULL, 0, err);
}

/* ---- Deep equality ----------------------------------------------------------------------- */

typedef struct eq_ctx {
  char *what;
  size_t size;
} eq_ctx;

static bool differ(eq_ctx *c, const char *fmt, const char *a, const char *b) {
  if (c->what && c->size) snprintf(c->what, c->size, fmt, a, b);
  return false;
}

static bool str_eq(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static bool tensor_eq(eq_ctx *c, const octet_ir_tensor *a, const octet_ir_tensor *b, const char *ctx) {
  if (!str_eq(a->name, b->name)) return differ(c, "%s: tensor name differs ('%s')", ctx, a->name);
  if (a->dtype != b->dtype || a->rank != b->rank) return differ(c, "%s: tensor '%s' type or rank differs", ctx, a->name);
  for (int32_t i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return differ(c, "%s: tensor '%s' dims differ", ctx, a->name);
  if (!str_eq(a->doc_string, b->doc_string)) return differ(c, "%s: tensor '%s' doc_string differs", ctx, a->name);
  if (a->dtype == OCTET_DTYPE_STRING) {
    size_t numel = 1;
    octet_shape_numel(a->dims, a->rank, &numel);
    for (size_t i = 0; i < numel; i++)
      if (a->string_lens[i] != b->string_lens[i] || memcmp(a->strings[i], b->strings[i], a->string_lens[i]))
        return differ(c, "%s: tensor '%s' strings differ", ctx, a->name);
    return true;
  }
  if (a->nbytes != b->nbytes) return differ(c, "%s: tensor '%s' size differs", ctx, a->name);
  if (a->nbytes && memcmp(a->data, b->data, a->nbytes)) return differ(c, "%s: tensor '%s' bytes differ", ctx, a->name);
  return true;
}

static bool value_eq(eq_ctx *c, const octet_ir_value *a, const octet_ir_value *b, const char *ctx) {
  if (!str_eq(a->name, b->name)) return differ(c, "%s: value name differs ('%s')", ctx, a->name);
  if (a->kind != b->kind || a->elem_type != b->elem_type || a->rank != b->rank)
    return differ(c, "%s: value '%s' type differs", ctx, a->name);
  for (int32_t i = 0; i < a->rank; i++)
    if (a->dims[i].value != b->dims[i].value || !str_eq(a->dims[i].param, b->dims[i].param) ||
        (a->dims[i].param == NULL) != (b->dims[i].param == NULL))
      return differ(c, "%s: value '%s' shape differs", ctx, a->name);
  if (!str_eq(a->doc_string, b->doc_string)) return differ(c, "%s: value '%s' doc_string differs", ctx, a->name);
  if ((a->elem == NULL) != (b->elem == NULL)) return differ(c, "%s: value '%s' element type differs", ctx, a->name);
  return a->elem ? value_eq(c, a->elem, b->elem, ctx) : true;
}

static bool graph_eq(eq_ctx *c, const octet_ir_graph *a, const octet_ir_graph *b);

static bool attr_eq(eq_ctx *c, const octet_ir_attr *a, const octet_ir_attr *b, const char *node) {
  if (!str_eq(a->name, b->name) || a->type != b->type)
    return differ(c, "node '%s': attribute '%s' name or type differs", node, a->name);
  if (!str_eq(a->ref_attr_name, b->ref_attr_name) || !str_eq(a->doc_string, b->doc_string))
    return differ(c, "node '%s': attribute '%s' ref_attr_name/doc_string differs", node, a->name);
  bool ok = true;
  switch (a->type) {
  case OCTET_ATTR_FLOAT: ok = !memcmp(&a->f, &b->f, sizeof a->f); break;
  case OCTET_ATTR_INT: ok = a->i == b->i; break;
  case OCTET_ATTR_STRING: ok = a->s_len == b->s_len && !memcmp(a->s, b->s, a->s_len); break;
  case OCTET_ATTR_TENSOR: return tensor_eq(c, a->t, b->t, node);
  case OCTET_ATTR_GRAPH: return graph_eq(c, a->g, b->g);
  case OCTET_ATTR_FLOATS: ok = a->n == b->n && (!a->n || !memcmp(a->floats, b->floats, a->n * sizeof(float))); break;
  case OCTET_ATTR_INTS: ok = a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, a->n * sizeof(int64_t))); break;
  case OCTET_ATTR_STRINGS:
    ok = a->n == b->n;
    for (size_t i = 0; ok && i < a->n; i++)
      ok = a->string_lens[i] == b->string_lens[i] && !memcmp(a->strings[i], b->strings[i], a->string_lens[i]);
    break;
  case OCTET_ATTR_TENSORS:
    if (a->n != b->n) ok = false;
    for (size_t i = 0; ok && i < a->n; i++)
      if (!tensor_eq(c, &a->tensors[i], &b->tensors[i], node)) return false;
    break;
  case OCTET_ATTR_GRAPHS:
    if (a->n != b->n) ok = false;
    for (size_t i = 0; ok && i < a->n; i++)
      if (!graph_eq(c, a->graphs[i], b->graphs[i])) return false;
    break;
  case OCTET_IR_ATTR_TYPE_PROTO:
    if (!a->tp || !b->tp) ok = a->tp == b->tp;
    else return value_eq(c, a->tp, b->tp, node);
    break;
  default: break;
  }
  return ok ? true : differ(c, "node '%s': attribute '%s' value differs", node, a->name);
}

static bool graph_eq(eq_ctx *c, const octet_ir_graph *a, const octet_ir_graph *b) {
  const char *gn = a->name ? a->name : "";
  if (!str_eq(a->name, b->name)) return differ(c, "graph name differs ('%s' vs '%s')", a->name, b->name);
  if (!str_eq(a->doc_string, b->doc_string)) return differ(c, "graph '%s': doc_string differs%s", gn, "");
  if (a->n_nodes != b->n_nodes || a->n_initializers != b->n_initializers || a->n_inputs != b->n_inputs ||
      a->n_outputs != b->n_outputs || a->n_value_infos != b->n_value_infos)
    return differ(c, "graph '%s': node/initializer/input/output/value_info counts differ%s", gn, "");
  for (size_t i = 0; i < a->n_inputs; i++)
    if (!value_eq(c, &a->inputs[i], &b->inputs[i], gn)) return false;
  for (size_t i = 0; i < a->n_outputs; i++)
    if (!value_eq(c, &a->outputs[i], &b->outputs[i], gn)) return false;
  for (size_t i = 0; i < a->n_value_infos; i++)
    if (!value_eq(c, &a->value_infos[i], &b->value_infos[i], gn)) return false;
  for (size_t i = 0; i < a->n_initializers; i++)
    if (!tensor_eq(c, &a->initializers[i], &b->initializers[i], gn)) return false;
  for (size_t i = 0; i < a->n_nodes; i++) {
    const octet_ir_node *x = &a->nodes[i], *y = &b->nodes[i];
    const char *nn = node_label(x);
    if (!str_eq(x->name, y->name) || !str_eq(x->op_type, y->op_type) || !str_eq(x->domain, y->domain) ||
        !str_eq(x->doc_string, y->doc_string))
      return differ(c, "node '%s' (%s): name/op_type/domain/doc_string differs", nn, x->op_type);
    if (x->n_inputs != y->n_inputs || x->n_outputs != y->n_outputs || x->n_attrs != y->n_attrs)
      return differ(c, "node '%s' (%s): input/output/attribute counts differ", nn, x->op_type);
    for (size_t k = 0; k < x->n_inputs; k++)
      if (!str_eq(x->inputs[k], y->inputs[k])) return differ(c, "node '%s': input '%s' differs", nn, x->inputs[k]);
    for (size_t k = 0; k < x->n_outputs; k++)
      if (!str_eq(x->outputs[k], y->outputs[k])) return differ(c, "node '%s': output '%s' differs", nn, x->outputs[k]);
    for (size_t k = 0; k < x->n_attrs; k++)
      if (!attr_eq(c, &x->attrs[k], &y->attrs[k], nn)) return false;
  }
  return true;
}

bool octet_ir_model_equal(const octet_model *a, const octet_model *b, char *what, size_t what_size) {
  eq_ctx c = {what, what_size};
  if (what && what_size) what[0] = 0;
  if (!a || !b) return a == b ? true : differ(&c, "one model is NULL%s%s", "", "");
  if (a->ir_version != b->ir_version || a->model_version != b->model_version)
    return differ(&c, "ir_version or model_version differs%s%s", "", "");
  if (!str_eq(a->producer_name, b->producer_name) || !str_eq(a->producer_version, b->producer_version) ||
      !str_eq(a->domain, b->domain) || !str_eq(a->doc_string, b->doc_string))
    return differ(&c, "producer/domain/doc_string differs ('%s' vs '%s')", a->producer_name, b->producer_name);
  if (a->n_opsets != b->n_opsets) return differ(&c, "opset count differs%s%s", "", "");
  for (size_t i = 0; i < a->n_opsets; i++)
    if (!str_eq(a->opsets[i].domain, b->opsets[i].domain) || a->opsets[i].version != b->opsets[i].version)
      return differ(&c, "opset '%s' differs%s", a->opsets[i].domain, "");
  if (a->n_metadata != b->n_metadata) return differ(&c, "metadata count differs%s%s", "", "");
  for (size_t i = 0; i < a->n_metadata; i++)
    if (!str_eq(a->metadata[i].key, b->metadata[i].key) || !str_eq(a->metadata[i].value, b->metadata[i].value))
      return differ(&c, "metadata '%s' differs%s", a->metadata[i].key, "");
  if (a->n_functions != b->n_functions) return differ(&c, "function count differs%s%s", "", "");
  if (!a->graph || !b->graph) return a->graph == b->graph ? true : differ(&c, "one graph is missing%s%s", "", "");
  return graph_eq(&c, a->graph, b->graph);
}

/* ---- Views ------------------------------------------------------------------------------- */

octet_status octet_ir_tensor_view(const octet_ir_tensor *t, octet_tensor *view, octet_error *err) {
  if (!t || !view) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "tensor view: NULL argument");
  if (t->dtype == OCTET_DTYPE_STRING)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "tensor '%s': string tensors have no view", t->name);
  if (t->rank < 0 || t->rank > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "tensor '%s': rank %d exceeds %d", t->name, (int)t->rank,
                      OCTET_MAX_RANK);
  octet_tensor v = {0};
  v.dtype = t->dtype;
  v.rank = t->rank;
  for (int32_t i = 0; i < t->rank; i++) v.dims[i] = t->dims[i];
  v.data = (void *)t->data; /* views are read-only by contract when !t->owned */
  *view = v;
  return OCTET_OK;
}
