/* graph-edit.c — graph editing helpers for the quantizer's passes. Lookups are linear scans:
 * graphs have thousands of nodes at most and passes touch each node a few times. */
#include <stdio.h>
#include <string.h>

#include "quantize/graph-edit.h"

octet_status octet_edit_begin(octet_edit *e, octet_model *m, octet_ir_graph *g, octet_error *err) {
  memset(e, 0, sizeof *e);
  e->m = m;
  e->g = g;
  return OCTET_OK;
}

void octet_edit_end(octet_edit *e) {
  octet_free(e->dead);
  e->dead = NULL;
}

static bool ensure_dead(octet_edit *e) {
  if (e->cap_dead >= e->g->n_nodes) return true;
  size_t cap = e->g->n_nodes * 2 + 16;
  bool *d = octet_realloc(e->dead, cap * sizeof *d);
  if (!d) return false;
  memset(d + e->cap_dead, 0, (cap - e->cap_dead) * sizeof *d);
  e->dead = d;
  e->cap_dead = cap;
  return true;
}

bool octet_edit_is_dead(const octet_edit *e, size_t node) {
  return node < e->cap_dead && e->dead[node];
}

void octet_edit_kill(octet_edit *e, size_t node) {
  if (ensure_dead(e)) e->dead[node] = true;
}

size_t octet_edit_producer(const octet_edit *e, const char *name) {
  if (!name || !*name) return SIZE_MAX;
  for (size_t i = 0; i < e->g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    const octet_ir_node *n = &e->g->nodes[i];
    for (size_t k = 0; k < n->n_outputs; k++)
      if (!strcmp(n->outputs[k], name)) return i;
  }
  return SIZE_MAX;
}

static bool graph_reads(const octet_ir_graph *g, const char *name);

size_t octet_edit_sole_reader(const octet_edit *e, const char *name) {
  if (!name || !name[0] || octet_edit_is_graph_output(e, name) || octet_edit_consumers(e, name) != 1)
    return SIZE_MAX;
  for (size_t i = 0; i < e->g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    const octet_ir_node *n = &e->g->nodes[i];
    for (size_t k = 0; k < n->n_inputs; k++)
      if (!strcmp(n->inputs[k], name)) return i;
  }
  return SIZE_MAX; /* read only inside a subgraph */
}

static bool node_reads(const octet_ir_node *n, const char *name) {
  for (size_t k = 0; k < n->n_inputs; k++)
    if (!strcmp(n->inputs[k], name)) return true;
  for (size_t a = 0; a < n->n_attrs; a++) {
    const octet_ir_attr *at = &n->attrs[a];
    if (at->g && graph_reads(at->g, name)) return true;
    for (size_t k = 0; at->graphs && k < at->n; k++)
      if (graph_reads(at->graphs[k], name)) return true;
  }
  return false;
}

/* Whether a subgraph reads name from its outer scope (its own definitions shadow it). */
static bool graph_reads(const octet_ir_graph *g, const char *name) {
  for (size_t i = 0; i < g->n_inputs; i++)
    if (!strcmp(g->inputs[i].name, name)) return false;
  for (size_t i = 0; i < g->n_initializers; i++)
    if (!strcmp(g->initializers[i].name, name)) return false;
  for (size_t i = 0; i < g->n_nodes; i++)
    if (node_reads(&g->nodes[i], name)) return true;
  for (size_t i = 0; i < g->n_outputs; i++)
    if (!strcmp(g->outputs[i].name, name)) return true;
  return false;
}

size_t octet_edit_consumers(const octet_edit *e, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < e->g->n_nodes; i++) {
    if (octet_edit_is_dead(e, i)) continue;
    const octet_ir_node *nd = &e->g->nodes[i];
    for (size_t k = 0; k < nd->n_inputs; k++) n += !strcmp(nd->inputs[k], name);
    for (size_t a = 0; a < nd->n_attrs; a++) {
      const octet_ir_attr *at = &nd->attrs[a];
      if (at->g && graph_reads(at->g, name)) n++;
      for (size_t k = 0; at->graphs && k < at->n; k++) n += graph_reads(at->graphs[k], name);
    }
  }
  return n;
}

bool octet_edit_is_graph_output(const octet_edit *e, const char *name) {
  for (size_t i = 0; i < e->g->n_outputs; i++)
    if (!strcmp(e->g->outputs[i].name, name)) return true;
  return false;
}

void octet_edit_rename_uses(octet_edit *e, const char *from, const char *to, size_t except) {
  for (size_t i = 0; i < e->g->n_nodes; i++) {
    if (i == except || octet_edit_is_dead(e, i)) continue;
    octet_ir_node *n = &e->g->nodes[i];
    for (size_t k = 0; k < n->n_inputs; k++)
      if (!strcmp(n->inputs[k], from)) n->inputs[k] = to;
  }
}

static bool name_taken(const octet_edit *e, const char *name) {
  const octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    if (!strcmp(n->name, name)) return true;
    for (size_t k = 0; k < n->n_outputs; k++)
      if (!strcmp(n->outputs[k], name)) return true;
  }
  for (size_t i = 0; i < g->n_initializers; i++)
    if (!strcmp(g->initializers[i].name, name)) return true;
  for (size_t i = 0; i < g->n_inputs; i++)
    if (!strcmp(g->inputs[i].name, name)) return true;
  return false;
}

const char *octet_edit_name(octet_edit *e, const char *base, const char *suffix) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s_%s", base, suffix);
  while (name_taken(e, buf)) snprintf(buf, sizeof buf, "%s_%s%llu", base, suffix, (unsigned long long)++e->counter);
  return octet_arena_strdup(e->m->arena, buf);
}

static const char **copy_names(octet_edit *e, size_t n, const char *const *names) {
  const char **v = octet_arena_alloc(e->m->arena, (n ? n : 1) * sizeof *v);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    v[i] = octet_arena_strdup(e->m->arena, names[i] ? names[i] : "");
    if (!v[i]) return NULL;
  }
  return v;
}

size_t octet_edit_add_node(octet_edit *e, const char *op_type, const char *domain, const char *name,
                           size_t n_in, const char *const *inputs, size_t n_out,
                           const char *const *outputs) {
  const char **in = copy_names(e, n_in, inputs), **out = copy_names(e, n_out, outputs);
  if (!in || !out) return SIZE_MAX;
  octet_ir_node *n = octet_ir_graph_add_node(e->m, e->g, op_type, domain, name);
  if (!n || !ensure_dead(e)) return SIZE_MAX;
  n->inputs = in;
  n->n_inputs = n_in;
  n->outputs = out;
  n->n_outputs = n_out;
  return e->g->n_nodes - 1;
}

static octet_ir_attr *add_attr(octet_edit *e, size_t node, const char *name, int32_t type) {
  octet_ir_node *n = &e->g->nodes[node];
  octet_ir_attr *a = octet_arena_alloc(e->m->arena, (n->n_attrs + 1) * sizeof *a);
  if (!a) return NULL;
  if (n->n_attrs) memcpy(a, n->attrs, n->n_attrs * sizeof *a);
  n->attrs = a;
  octet_ir_attr *at = &a[n->n_attrs++];
  memset(at, 0, sizeof *at);
  at->name = octet_arena_strdup(e->m->arena, name);
  at->type = type;
  at->s = "";
  at->doc_string = "";
  at->ref_attr_name = "";
  return at->name ? at : NULL;
}

bool octet_edit_attr_int(octet_edit *e, size_t node, const char *name, int64_t v) {
  octet_ir_attr *a = add_attr(e, node, name, OCTET_ATTR_INT);
  if (a) a->i = v;
  return a != NULL;
}

bool octet_edit_attr_float(octet_edit *e, size_t node, const char *name, float v) {
  octet_ir_attr *a = add_attr(e, node, name, OCTET_ATTR_FLOAT);
  if (a) a->f = v;
  return a != NULL;
}

bool octet_edit_attr_ints(octet_edit *e, size_t node, const char *name, const int64_t *v, size_t n) {
  octet_ir_attr *a = add_attr(e, node, name, OCTET_ATTR_INTS);
  if (!a) return false;
  a->ints = octet_arena_alloc(e->m->arena, (n ? n : 1) * sizeof *a->ints);
  if (!a->ints) return false;
  if (n) memcpy(a->ints, v, n * sizeof *v);
  a->n = n;
  return true;
}

const octet_ir_tensor *octet_edit_constant(const octet_edit *e, const char *name) {
  if (!name || !*name) return NULL;
  return octet_ir_graph_initializer(e->g, name);
}

octet_ir_tensor *octet_edit_set_initializer(octet_edit *e, const char *name, int32_t dtype,
                                            int32_t rank, const int64_t *dims, const void *data) {
  octet_ir_graph *g = e->g;
  for (size_t i = 0; i < g->n_initializers; i++)
    if (!strcmp(g->initializers[i].name, name)) { /* drop the old one: a new entry replaces it */
      g->initializers[i] = g->initializers[--g->n_initializers];
      break;
    }
  return octet_ir_graph_add_initializer(e->m, g, name, dtype, rank, dims, data);
}

static bool used_anywhere(const octet_edit *e, const char *name) {
  return octet_edit_consumers(e, name) > 0 || octet_edit_is_graph_output(e, name);
}

octet_status octet_edit_finish(octet_edit *e, octet_error *err) {
  octet_ir_graph *g = e->g;
  size_t w = 0;
  for (size_t i = 0; i < g->n_nodes; i++)
    if (!octet_edit_is_dead(e, i)) g->nodes[w++] = g->nodes[i];
  g->n_nodes = w;
  if (e->dead) memset(e->dead, 0, e->cap_dead * sizeof *e->dead);
  /* Unused initializers go (the float weights that int8 ones replaced), unless the graph lists
   * them as inputs (a caller may feed them). */
  w = 0;
  for (size_t i = 0; i < g->n_initializers; i++) {
    const char *nm = g->initializers[i].name;
    bool listed = false;
    for (size_t k = 0; k < g->n_inputs; k++) listed |= !strcmp(g->inputs[k].name, nm);
    if (listed || used_anywhere(e, nm)) g->initializers[w++] = g->initializers[i];
  }
  g->n_initializers = w;
  size_t *order;
  octet_status st = octet_ir_topological_order(g, &order, err);
  if (st) return st;
  octet_ir_node *sorted = octet_arena_alloc(e->m->arena, (g->n_nodes ? g->n_nodes : 1) * sizeof *sorted);
  if (!sorted) {
    octet_free(order);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < g->n_nodes; i++) sorted[i] = g->nodes[order[i]];
  memcpy(g->nodes, sorted, g->n_nodes * sizeof *sorted);
  octet_free(order);
  return OCTET_OK;
}

const char *octet_edit_zero_point(octet_edit *e, octet_zp_cache *c, int32_t dtype, int32_t zp, int64_t len) {
  for (size_t i = 0; i < c->n; i++)
    if (c->e[i].dtype == dtype && c->e[i].zp == zp && c->e[i].len == len) return c->e[i].name;
  size_t n = len < 0 ? 1 : (size_t)len, es = dtype == OCTET_DTYPE_INT32 ? 4 : 1;
  uint8_t *v = octet_arena_alloc(e->m->arena, (n ? n : 1) * es);
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (es == 4) memcpy(v + 4 * i, &zp, 4);
    else v[i] = dtype == OCTET_DTYPE_INT8 ? (uint8_t)(int8_t)zp : (uint8_t)zp;
  }
  /* Scalars are referenced by every Q/DQ pair, vectors once per weight: both names short. */
  char base[32], suffix[32];
  const char *t = dtype == OCTET_DTYPE_INT8 ? "s8_" : dtype == OCTET_DTYPE_INT32 ? "i32_" : "u8_";
  if (len < 0) snprintf(base, sizeof base, "%s%d", t, (int)zp);
  else snprintf(base, sizeof base, "z%d", (int)zp);
  snprintf(suffix, sizeof suffix, len < 0 ? "zp" : "%lld", (long long)len);
  /* An earlier pass may have written the same one (the QOperator lowering runs after QDQ). */
  char full[80];
  snprintf(full, sizeof full, "%s_%s", base, suffix);
  const octet_ir_tensor *old = octet_edit_constant(e, full);
  const char *name = NULL;
  if (old && old->dtype == dtype && old->rank == (len >= 0) && (len < 0 || old->dims[0] == len) &&
      old->nbytes == n * es && !memcmp(old->data, v, n * es))
    name = old->name;
  else if (!(name = octet_edit_name(e, base, suffix)) || !octet_edit_set_initializer(e, name, dtype, len >= 0, &len, v))
    return NULL;
  if (c->n < OCTET_COUNTOF(c->e)) c->e[c->n++] = (__typeof__(c->e[0])){dtype, zp, len, name};
  return name;
}
