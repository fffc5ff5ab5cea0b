/* ir-clone.c — deep copy of an octet_model's structure into a new arena; tensor bytes shared
 * with the source (see ir-clone.h for the lifetime rule). */
#include <string.h>

#include "quantize/ir-clone.h"

typedef struct cloner {
  octet_arena *a;
  bool oom;
} cloner;

static void *dup_mem(cloner *c, const void *p, size_t count, size_t elem) {
  if (!p) return NULL;
  size_t bytes;
  if (!octet_mul_size(count, elem, &bytes)) {
    c->oom = true;
    return NULL;
  }
  void *d = octet_arena_alloc(c->a, bytes ? bytes : 1);
  if (!d) {
    c->oom = true;
    return NULL;
  }
  if (bytes) memcpy(d, p, bytes);
  return d;
}

static const char *dup_str(cloner *c, const char *s) {
  if (!s) return NULL;
  char *d = octet_arena_strdup(c->a, s);
  if (!d) c->oom = true;
  return d;
}

/* Byte strings (attribute `s`, string tensors) may hold NULs: copy by length, keep the NUL. */
static const char *dup_bytes(cloner *c, const char *s, size_t len) {
  if (!s) return NULL;
  char *d = octet_arena_strndup(c->a, s, len);
  if (!d) {
    c->oom = true;
    return NULL;
  }
  memcpy(d, s, len);
  return d;
}

static const char **dup_strs(cloner *c, const char *const *v, size_t n) {
  if (!v) return NULL;
  const char **d = dup_mem(c, v, n, sizeof *v);
  for (size_t i = 0; d && i < n; i++) d[i] = dup_str(c, v[i]);
  return d;
}

static octet_ir_graph *clone_graph(cloner *c, const octet_ir_graph *g);

static void clone_value_into(cloner *c, octet_ir_value *d, const octet_ir_value *s) {
  *d = *s;
  d->name = dup_str(c, s->name);
  d->doc_string = dup_str(c, s->doc_string);
  if (s->dims && s->rank > 0) {
    d->dims = dup_mem(c, s->dims, (size_t)s->rank, sizeof *s->dims);
    for (int32_t i = 0; d->dims && i < s->rank; i++) d->dims[i].param = dup_str(c, s->dims[i].param);
  }
  if (s->elem) {
    d->elem = octet_arena_alloc(c->a, sizeof *d->elem);
    if (d->elem) clone_value_into(c, d->elem, s->elem);
    else c->oom = true;
  }
}

static octet_ir_value *clone_values(cloner *c, const octet_ir_value *v, size_t n) {
  if (!v) return NULL;
  octet_ir_value *d = octet_arena_alloc(c->a, (n ? n : 1) * sizeof *d);
  if (!d) {
    c->oom = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++) clone_value_into(c, &d[i], &v[i]);
  return d;
}

static void clone_tensor_into(cloner *c, octet_ir_tensor *d, const octet_ir_tensor *s) {
  *d = *s;
  d->name = dup_str(c, s->name);
  d->doc_string = dup_str(c, s->doc_string);
  if (s->dims) d->dims = dup_mem(c, s->dims, s->rank > 0 ? (size_t)s->rank : 0, sizeof *s->dims);
  /* Element bytes stay where they are; the clone does not own them. */
  d->owned = false;
  if (s->strings) {
    size_t n = 0;
    if (!octet_shape_numel(s->dims, s->rank, &n)) n = 0;
    d->strings = dup_mem(c, s->strings, n, sizeof *s->strings);
    d->string_lens = dup_mem(c, s->string_lens, n, sizeof *s->string_lens);
    for (size_t i = 0; d->strings && i < n; i++)
      d->strings[i] = dup_bytes(c, s->strings[i], s->string_lens ? s->string_lens[i] : strlen(s->strings[i]));
  }
  if (s->external) {
    octet_ir_external *x = dup_mem(c, s->external, 1, sizeof *x);
    if (x) x->location = dup_str(c, s->external->location);
    d->external = x;
  }
}

static octet_ir_tensor *clone_tensors(cloner *c, const octet_ir_tensor *t, size_t n) {
  if (!t) return NULL;
  octet_ir_tensor *d = octet_arena_alloc(c->a, (n ? n : 1) * sizeof *d);
  if (!d) {
    c->oom = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++) clone_tensor_into(c, &d[i], &t[i]);
  return d;
}

static void clone_attr_into(cloner *c, octet_ir_attr *d, const octet_ir_attr *s) {
  *d = *s;
  d->name = dup_str(c, s->name);
  d->s = dup_bytes(c, s->s, s->s_len);
  d->ints = dup_mem(c, s->ints, s->n, sizeof *s->ints);
  d->floats = dup_mem(c, s->floats, s->n, sizeof *s->floats);
  if (s->strings) {
    d->strings = dup_mem(c, s->strings, s->n, sizeof *s->strings);
    d->string_lens = dup_mem(c, s->string_lens, s->n, sizeof *s->string_lens);
    for (size_t i = 0; d->strings && i < s->n; i++)
      d->strings[i] = dup_bytes(c, s->strings[i], s->string_lens ? s->string_lens[i] : strlen(s->strings[i]));
  }
  d->t = clone_tensors(c, s->t, 1);
  d->tensors = clone_tensors(c, s->tensors, s->n);
  d->g = s->g ? clone_graph(c, s->g) : NULL;
  if (s->graphs) {
    d->graphs = dup_mem(c, s->graphs, s->n, sizeof *s->graphs);
    for (size_t i = 0; d->graphs && i < s->n; i++) d->graphs[i] = s->graphs[i] ? clone_graph(c, s->graphs[i]) : NULL;
  }
  d->ref_attr_name = dup_str(c, s->ref_attr_name);
  d->doc_string = dup_str(c, s->doc_string);
  d->tp = clone_values(c, s->tp, 1);
}

static octet_ir_graph *clone_graph(cloner *c, const octet_ir_graph *g) {
  octet_ir_graph *d = octet_arena_alloc(c->a, sizeof *d);
  if (!d) {
    c->oom = true;
    return NULL;
  }
  *d = *g;
  d->name = dup_str(c, g->name);
  d->doc_string = dup_str(c, g->doc_string);
  /* Arrays get exactly n slots; the IR builders grow them on demand from cap. */
  d->cap_nodes = g->n_nodes;
  d->nodes = g->n_nodes ? octet_arena_alloc(c->a, g->n_nodes * sizeof *d->nodes) : NULL;
  if (g->n_nodes && !d->nodes) c->oom = true;
  for (size_t i = 0; d->nodes && i < g->n_nodes; i++) {
    const octet_ir_node *sn = &g->nodes[i];
    octet_ir_node *dn = &d->nodes[i];
    *dn = *sn;
    dn->name = dup_str(c, sn->name);
    dn->op_type = dup_str(c, sn->op_type);
    dn->domain = dup_str(c, sn->domain);
    dn->doc_string = dup_str(c, sn->doc_string);
    dn->inputs = dup_strs(c, sn->inputs, sn->n_inputs);
    dn->outputs = dup_strs(c, sn->outputs, sn->n_outputs);
    if (sn->attrs) {
      dn->attrs = octet_arena_alloc(c->a, (sn->n_attrs ? sn->n_attrs : 1) * sizeof *dn->attrs);
      if (!dn->attrs) c->oom = true;
      for (size_t k = 0; dn->attrs && k < sn->n_attrs; k++) clone_attr_into(c, &dn->attrs[k], &sn->attrs[k]);
    }
  }
  d->cap_initializers = g->n_initializers;
  d->initializers = g->n_initializers ? clone_tensors(c, g->initializers, g->n_initializers) : NULL;
  d->inputs = clone_values(c, g->inputs, g->n_inputs);
  d->outputs = clone_values(c, g->outputs, g->n_outputs);
  d->value_infos = clone_values(c, g->value_infos, g->n_value_infos);
  return d;
}

octet_status octet_ir_model_clone(const octet_model *src, octet_model **out, octet_error *err) {
  if (!src || !src->graph || !out)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_ir_model_clone: model and output are required");
  octet_model *m = octet_ir_model_new();
  if (!m) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory cloning the model");
  cloner c = {.a = m->arena};
  octet_arena *arena = m->arena;
  *m = *src;
  m->arena = arena;
  m->regions = NULL; /* the source keeps its mappings alive; the clone borrows them */
  m->opsets = dup_mem(&c, src->opsets, src->n_opsets, sizeof *src->opsets);
  for (size_t i = 0; m->opsets && i < src->n_opsets; i++) m->opsets[i].domain = dup_str(&c, src->opsets[i].domain);
  m->producer_name = dup_str(&c, src->producer_name);
  m->producer_version = dup_str(&c, src->producer_version);
  m->domain = dup_str(&c, src->domain);
  m->doc_string = dup_str(&c, src->doc_string);
  m->metadata = dup_mem(&c, src->metadata, src->n_metadata, sizeof *src->metadata);
  for (size_t i = 0; m->metadata && i < src->n_metadata; i++) {
    m->metadata[i].key = dup_str(&c, src->metadata[i].key);
    m->metadata[i].value = dup_str(&c, src->metadata[i].value);
  }
  m->path = dup_str(&c, src->path);
  m->base_dir = dup_str(&c, src->base_dir);
  m->graph = clone_graph(&c, src->graph);
  if (c.oom) {
    octet_model_destroy(m);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory cloning the model");
  }
  *out = m;
  return OCTET_OK;
}
