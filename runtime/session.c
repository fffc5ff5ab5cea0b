/* session.c — builds a graph's execution plan (values, constants, kernels created in topological
 * order) and runs it: input binding, infer -> allocate -> run per node, buffers reused by
 * lifetime, observer, profile. Also the public octet_session_* API. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "runtime/runtime.h"
#include "quantize/qop.h"

#define ALIGN 64

/* Zero-byte tensors point here, so kernels never see NULL data for a present tensor. */
static _Alignas(ALIGN) unsigned char empty_data[ALIGN];

struct octet_session {
  rt_session_shared sh;
  rt_graph *g;
  octet_model *lowered; /* QDQ groups rewritten to int8 QOperator nodes (quantize/qop.h), or NULL */
  octet_profile_entry *prof;
  size_t n_prof, cap_prof;
};

/* ---- small helpers ---------------------------------------------------------------------- */

octet_status rt_tensor_bytes(const octet_tensor *t, size_t *bytes, octet_error *err) {
  size_t es = octet_dtype_size(t->dtype);
  if (es == 0)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "tensors of type %s are not supported",
                      octet_dtype_name(t->dtype));
  if (t->rank < 0 || t->rank > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "rank %d is outside [0, %d]", t->rank,
                      OCTET_MAX_RANK);
  size_t numel;
  if (!octet_shape_numel(t->dims, t->rank, &numel) || !octet_mul_size(numel, es, bytes))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "shape has a negative dim or its size overflows");
  return OCTET_OK;
}

static const char *node_label(const octet_ir_node *n) {
  if (n->name && *n->name) return n->name;
  if (n->n_outputs && n->outputs[0] && *n->outputs[0]) return n->outputs[0];
  return "(unnamed)";
}

static octet_status node_fail_prefix(const octet_ir_node *n, octet_error *err) {
  return octet_fail_prefix(err, "node '%s' (%s%s%s)", node_label(n), n->domain && *n->domain ? n->domain : "",
                           n->domain && *n->domain ? "." : "", n->op_type);
}

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static rt_value *map_find(const rt_graph *g, const char *name) {
  if (!g->map_cap) return NULL;
  size_t mask = g->map_cap - 1;
  for (size_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
    rt_value *v = g->map[i];
    if (!v) return NULL;
    if (!strcmp(v->name, name)) return v;
  }
}

static bool map_insert(rt_graph *g, rt_value *v) {
  if ((g->n_values + 1) * 2 > g->map_cap) {
    size_t cap = g->map_cap ? g->map_cap * 2 : 64;
    while ((g->n_values + 1) * 2 > cap) cap *= 2;
    rt_value **m = octet_calloc(cap, sizeof *m);
    if (!m) return false;
    for (size_t i = 0; i < g->map_cap; i++) {
      rt_value *o = g->map[i];
      if (!o) continue;
      size_t j = hash_name(o->name) & (cap - 1);
      while (m[j]) j = (j + 1) & (cap - 1);
      m[j] = o;
    }
    octet_free(g->map);
    g->map = m;
    g->map_cap = cap;
  }
  size_t mask = g->map_cap - 1;
  size_t i = hash_name(v->name) & mask;
  while (g->map[i]) i = (i + 1) & mask;
  g->map[i] = v;
  return true;
}

/* A new value of g; named values also enter the name map (an empty name stays anonymous). */
static rt_value *new_value(rt_graph *g, const char *name, rt_value_kind kind, octet_error *err) {
  if (g->n_values == g->cap_values) {
    size_t cap = g->cap_values ? g->cap_values * 2 : 32;
    rt_value **vs = octet_realloc(g->values, cap * sizeof *vs);
    if (!vs) {
      octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
      return NULL;
    }
    g->values = vs;
    g->cap_values = cap;
  }
  rt_value *v = octet_calloc(1, sizeof *v);
  if (!v) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
    return NULL;
  }
  v->name = name ? name : "";
  v->kind = kind;
  v->last_use = -1;
  v->buf = -1;
  v->buf_plan = -1;
  if (*v->name && !map_insert(g, v)) {
    octet_free(v);
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
    return NULL;
  }
  g->values[g->n_values++] = v;
  return v;
}

static bool push_ptr(rt_value ***arr, size_t *n, rt_value *v) {
  rt_value **a = octet_realloc(*arr, (*n + 1) * sizeof *a);
  if (!a) return false;
  a[(*n)++] = v;
  *arr = a;
  return true;
}

/* The value called name as seen from g: its own, or an enclosing graph's (then g gets an
 * outer reference, which the node owning g reads implicitly). */
static rt_value *resolve(rt_graph *g, const char *name, octet_error *err) {
  rt_value *v = map_find(g, name);
  if (v || !g->parent) return v;
  rt_value *pv = resolve(g->parent, name, err);
  if (!pv) return NULL;
  v = new_value(g, name, RT_VALUE_OUTER, err);
  if (!v) return NULL;
  v->outer = pv;
  v->dtype = pv->dtype;
  if (!push_ptr(&g->outer, &g->n_outer, v)) {
    octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
    return NULL;
  }
  return v;
}

static bool wants_observer(const rt_session_shared *sh, const char *name) {
  if (!sh->observer || !name || !*name) return false;
  if (!sh->observe_names) return true;
  for (size_t i = 0; i < sh->n_observe_names; i++)
    if (sh->observe_names[i] && !strcmp(sh->observe_names[i], name)) return true;
  return false;
}

/* ---- buffers ---------------------------------------------------------------------------- */

static octet_status buf_reserve(rt_session_shared *sh, rt_buffer *b, size_t bytes, bool preserve,
                                octet_error *err) {
  if (b->cap >= bytes && b->data) return OCTET_OK;
  size_t total;
  if (!octet_add_size(bytes, ALIGN, &total))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "buffer of %zu bytes is too large", bytes);
  void *base = octet_malloc(total);
  if (!base)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory allocating %zu bytes", bytes);
  void *data = (void *)(((uintptr_t)base + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
  if (preserve && b->data && b->cap) memcpy(data, b->data, b->cap);
  octet_free(b->base);
  b->base = base;
  b->data = data;
  b->cap = bytes;
  sh->n_allocs++;
  return OCTET_OK;
}

static octet_status new_buffer(rt_graph *g, int32_t *id, octet_error *err) {
  if (g->n_bufs == g->cap_bufs) {
    size_t cap = g->cap_bufs ? g->cap_bufs * 2 : 16;
    rt_buffer *b = octet_realloc(g->bufs, cap * sizeof *b);
    int32_t *fl = octet_realloc(g->free_list, cap * sizeof *fl);
    if (b) g->bufs = b;
    if (fl) g->free_list = fl;
    if (!b || !fl) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning buffers");
    g->cap_bufs = cap;
  }
  memset(&g->bufs[g->n_bufs], 0, sizeof g->bufs[0]);
  *id = (int32_t)g->n_bufs++;
  return OCTET_OK;
}

/* Planning run: the free buffer that fits best, else the largest free one (grown), else new. */
static octet_status pick_buffer(rt_graph *g, size_t bytes, int32_t *id, octet_error *err) {
  size_t best = SIZE_MAX, largest = SIZE_MAX;
  for (size_t i = 0; i < g->n_free; i++) {
    rt_buffer *b = &g->bufs[g->free_list[i]];
    if (b->cap >= bytes && (best == SIZE_MAX || b->cap < g->bufs[g->free_list[best]].cap)) best = i;
    if (largest == SIZE_MAX || b->cap > g->bufs[g->free_list[largest]].cap) largest = i;
  }
  size_t pick = best != SIZE_MAX ? best : largest;
  if (pick != SIZE_MAX) {
    *id = g->free_list[pick];
    g->free_list[pick] = g->free_list[--g->n_free];
    return OCTET_OK;
  }
  return new_buffer(g, id, err);
}

static void release_value(rt_graph *g, rt_value *v) {
  if (v->buf >= 0 && !g->planned) {
    rt_buffer *b = &g->bufs[v->buf];
    if (--b->refs == 0) g->free_list[g->n_free++] = v->buf;
  }
  v->buf = -1;
}

octet_status rt_graph_alloc_output(rt_graph *g, rt_node *n, size_t j, octet_error *err) {
  rt_value *v = n->out[j];
  size_t bytes;
  octet_status st = rt_tensor_bytes(&v->t, &bytes, err);
  if (st) return octet_fail_prefix(err, "output '%s'", v->name);
  v->buf = -1;
  bool alias = n->kind == RT_NODE_KERNEL && j == 0 && (n->kernel->flags & OCTET_KERNEL_ALIAS_INPUT0);
  if (alias) {
    rt_value *src = n->n_in && n->in[0] ? rt_value_owner(n->in[0]) : NULL;
    size_t src_bytes = 0;
    if (!src || rt_tensor_bytes(&src->t, &src_bytes, NULL) || src_bytes < bytes)
      return octet_fail(err, OCTET_STATUS_INTERNAL,
                        "output '%s' (%zu bytes) cannot alias input 0 (%zu bytes)", v->name, bytes,
                        src_bytes);
    v->t.data = src->t.data;
    if (n->in[0]->kind == RT_VALUE_NODE && src->buf >= 0) {
      v->buf = src->buf;
      if (!g->planned) g->bufs[v->buf].refs++;
    }
    return OCTET_OK;
  }
  if (bytes == 0) {
    v->t.data = empty_data;
    return OCTET_OK;
  }
  int32_t id;
  if (g->planned) {
    if (v->buf_plan < 0) {
      /* Empty at planning time, not now: a buffer of its own keeps the plan valid. */
      st = new_buffer(g, &v->buf_plan, err);
      if (st) return st;
    }
    id = v->buf_plan;
    st = buf_reserve(g->sh, &g->bufs[id], bytes, v->inplace_plan, err);
    if (st) return octet_fail_prefix(err, "output '%s'", v->name);
  } else {
    rt_value *in0 = n->n_in && n->in[0] ? n->in[0] : NULL;
    bool inplace = n->kind == RT_NODE_KERNEL && j == 0 &&
                   (n->kernel->flags & OCTET_KERNEL_INPLACE0) && in0 &&
                   in0->kind == RT_VALUE_NODE && in0->buf >= 0 && !in0->keep &&
                   in0->last_use == (int32_t)(n - g->nodes) && g->bufs[in0->buf].refs == 1 &&
                   g->bufs[in0->buf].cap >= bytes && in0->t.dtype == v->t.dtype;
    /* A value read through two inputs (Mul(x, x)) is not overwritten while the kernel may still
     * read it at other positions. */
    for (size_t k = 1; inplace && k < n->n_in; k++)
      if (n->in[k] == in0) inplace = false;
    if (inplace) {
      id = in0->buf;
      v->inplace_plan = true;
    } else {
      st = pick_buffer(g, bytes, &id, err);
      if (st) return st;
      st = buf_reserve(g->sh, &g->bufs[id], bytes, false, err);
      if (st) {
        g->free_list[g->n_free++] = id;
        return octet_fail_prefix(err, "output '%s'", v->name);
      }
      v->inplace_plan = false;
    }
    g->bufs[id].refs++;
    v->buf_plan = id;
  }
  v->buf = id;
  v->t.data = g->bufs[id].data;
  return OCTET_OK;
}

/* After a failed planning run, every buffer is free again and the next run plans anew. */
static void reset_plan(rt_graph *g) {
  g->n_free = 0;
  for (size_t i = 0; i < g->n_bufs; i++) {
    g->bufs[i].refs = 0;
    g->free_list[g->n_free++] = (int32_t)i;
  }
  for (size_t i = 0; i < g->n_values; i++) {
    g->values[i]->buf = -1;
    g->values[i]->buf_plan = -1;
    g->values[i]->inplace_plan = false;
  }
  g->planned = false;
}

static octet_status reserve_workspace(rt_session_shared *sh, size_t bytes, octet_error *err) {
  if (bytes <= sh->ws_cap && sh->ws) return OCTET_OK;
  rt_buffer b = {sh->ws_base, sh->ws, sh->ws_cap, 0};
  octet_status st = buf_reserve(sh, &b, bytes ? bytes : 1, false, err);
  if (st) return octet_fail_prefix(err, "workspace");
  sh->ws_base = b.base;
  sh->ws = b.data;
  sh->ws_cap = b.cap;
  return OCTET_OK;
}

/* ---- constants ---------------------------------------------------------------------------- */

static octet_status const_from_ir_tensor(rt_graph *g, const char *name, const octet_ir_tensor *t,
                                         rt_value **out, octet_error *err) {
  octet_tensor view;
  octet_status st = octet_ir_tensor_view(t, &view, err);
  if (st) return octet_fail_prefix(err, "constant '%s'", name);
  rt_value *v = new_value(g, name, RT_VALUE_CONST, err);
  if (!v) return err ? err->status : OCTET_STATUS_OUT_OF_MEMORY;
  v->t = view;
  if (!v->t.data) v->t.data = empty_data;
  v->dtype = view.dtype;
  if (out) *out = v;
  return OCTET_OK;
}

/* A Constant node's output: one of value / value_float(s) / value_int(s). The data stays in
 * the model's memory (the model outlives its sessions). */
static octet_status constant_node(rt_graph *g, const octet_ir_node *n, octet_error *err) {
  if (n->n_outputs < 1 || !*n->outputs[0])
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "Constant has no output");
  if (map_find(g, n->outputs[0]))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "output '%s' is produced twice", n->outputs[0]);
  for (size_t i = 0; i < n->n_attrs; i++) {
    const octet_ir_attr *a = &n->attrs[i];
    if (!strcmp(a->name, "value") && a->type == OCTET_ATTR_TENSOR && a->t)
      return const_from_ir_tensor(g, n->outputs[0], a->t, NULL, err);
    octet_tensor t = {0};
    if (!strcmp(a->name, "value_float") && a->type == OCTET_ATTR_FLOAT) {
      t.dtype = OCTET_DTYPE_FLOAT;
      t.data = (void *)&a->f;
    } else if (!strcmp(a->name, "value_floats") && a->type == OCTET_ATTR_FLOATS) {
      t.dtype = OCTET_DTYPE_FLOAT;
      t.rank = 1;
      t.dims[0] = (int64_t)a->n;
      t.data = a->n ? (void *)a->floats : empty_data;
    } else if (!strcmp(a->name, "value_int") && a->type == OCTET_ATTR_INT) {
      t.dtype = OCTET_DTYPE_INT64;
      t.data = (void *)&a->i;
    } else if (!strcmp(a->name, "value_ints") && a->type == OCTET_ATTR_INTS) {
      t.dtype = OCTET_DTYPE_INT64;
      t.rank = 1;
      t.dims[0] = (int64_t)a->n;
      t.data = a->n ? (void *)a->ints : empty_data;
    } else {
      continue;
    }
    rt_value *v = new_value(g, n->outputs[0], RT_VALUE_CONST, err);
    if (!v) return err ? err->status : OCTET_STATUS_OUT_OF_MEMORY;
    v->t = t;
    v->dtype = t.dtype;
    return OCTET_OK;
  }
  return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                    "Constant needs a value, value_float(s) or value_int(s) attribute (string and "
                    "sparse constants are not supported)");
}

/* ---- kernel creation -------------------------------------------------------------------- */

/* The attributes as kernels see them; lives only for the create call. */
typedef struct attr_scratch {
  octet_attr *attrs;
  size_t n;
  octet_tensor *views; /* TENSOR and TENSORS attributes, in order */
} attr_scratch;

static void attr_scratch_free(attr_scratch *s) {
  octet_free(s->attrs);
  octet_free(s->views);
}

static octet_status convert_attrs(const octet_ir_node *n, attr_scratch *s, octet_error *err) {
  memset(s, 0, sizeof *s);
  size_t n_views = 0;
  for (size_t i = 0; i < n->n_attrs; i++) {
    if (n->attrs[i].type == OCTET_ATTR_TENSOR && n->attrs[i].t) n_views++;
    if (n->attrs[i].type == OCTET_ATTR_TENSORS) n_views += n->attrs[i].n;
  }
  s->attrs = octet_calloc(n->n_attrs ? n->n_attrs : 1, sizeof *s->attrs);
  s->views = octet_calloc(n_views ? n_views : 1, sizeof *s->views);
  if (!s->attrs || !s->views) {
    attr_scratch_free(s);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory converting attributes");
  }
  size_t vi = 0;
  for (size_t i = 0; i < n->n_attrs; i++) {
    const octet_ir_attr *a = &n->attrs[i];
    if (a->type == OCTET_ATTR_GRAPH || a->type == OCTET_ATTR_GRAPHS) continue;
    octet_attr *o = &s->attrs[s->n++];
    o->name = a->name;
    o->type = a->type;
    o->i = a->i;
    o->f = a->f;
    o->s = a->s;
    o->s_len = a->s_len;
    o->n = a->n;
    o->ints = a->ints;
    o->floats = a->floats;
    o->strings = (const char *const *)a->strings;
    if (a->type == OCTET_ATTR_TENSOR && a->t) {
      octet_status st = octet_ir_tensor_view(a->t, &s->views[vi], err);
      if (st) {
        attr_scratch_free(s);
        return octet_fail_prefix(err, "attribute '%s'", a->name);
      }
      o->t = &s->views[vi++];
    } else if (a->type == OCTET_ATTR_TENSORS) {
      o->tensors = &s->views[vi];
      for (size_t k = 0; k < a->n; k++) {
        octet_status st = octet_ir_tensor_view(&a->tensors[k], &s->views[vi++], err);
        if (st) {
          attr_scratch_free(s);
          return octet_fail_prefix(err, "attribute '%s'", a->name);
        }
      }
    }
  }
  return OCTET_OK;
}

static octet_status create_kernel(rt_graph *g, rt_node *rn, int32_t *out_dtypes,
                                  octet_error *err) {
  const octet_ir_node *n = rn->ir;
  attr_scratch as;
  octet_status st = convert_attrs(n, &as, err);
  if (st) return st;
  int32_t *in_dtypes = octet_calloc(rn->n_in ? rn->n_in : 1, sizeof *in_dtypes);
  const octet_tensor **consts = octet_calloc(rn->n_in ? rn->n_in : 1, sizeof *consts);
  if (!in_dtypes || !consts) {
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory creating the kernel");
    goto done;
  }
  for (size_t i = 0; i < rn->n_in; i++) {
    rt_value *v = rn->in[i] ? rt_value_owner(rn->in[i]) : NULL;
    if (!v) continue;
    in_dtypes[i] = v->dtype;
    if (v->kind == RT_VALUE_CONST) consts[i] = &v->t;
  }
  octet_kernel_info info = {
    .node_name = n->name ? n->name : "",
    .domain = n->domain ? n->domain : "",
    .op_type = n->op_type,
    .opset = (int32_t)rn->opset,
    .n_attrs = as.n,
    .attrs = as.attrs,
    .n_inputs = rn->n_in,
    .input_dtypes = in_dtypes,
    .constant_inputs = consts,
    .n_outputs = rn->n_out,
  };
  octet_error kerr = {0};
  st = rn->kernel->create(&info, out_dtypes, &rn->state, &kerr);
  if (st) {
    if (err) *err = kerr;
    if (!kerr.message[0]) octet_fail(err, st, "kernel create failed");
  }
done:
  octet_free(in_dtypes);
  octet_free(consts);
  attr_scratch_free(&as);
  (void)g;
  return st;
}

/* Runs a kernel node: infer, allocate outputs, workspace, run. */
static octet_status run_kernel(rt_graph *g, rt_node *n, octet_error *err) {
  for (size_t i = 0; i < n->n_in; i++) n->in_t[i] = n->in[i] ? &rt_value_owner(n->in[i])->t : NULL;
  for (size_t j = 0; j < n->n_out; j++) {
    memset(&n->out_t[j], 0, sizeof n->out_t[j]);
    n->out_t[j].dtype = n->out[j]->dtype;
  }
  size_t ws = 0;
  octet_error kerr = {0};
  octet_status st = n->kernel->infer(n->state, n->in_t, n->n_in, n->out_t, n->n_out, &ws, &kerr);
  if (st) {
    if (err) *err = kerr;
    if (!kerr.message[0]) octet_fail(err, st, "shape inference failed");
    return st;
  }
  for (size_t j = 0; j < n->n_out; j++) {
    rt_value *v = n->out[j];
    if (n->out_t[j].dtype == OCTET_DTYPE_UNDEFINED) n->out_t[j].dtype = v->dtype;
    v->t = n->out_t[j];
    v->t.data = NULL;
    st = rt_graph_alloc_output(g, n, j, err);
    if (st) return st;
    n->out_t[j].data = v->t.data;
  }
  if (n->kernel->flags & OCTET_KERNEL_ALIAS_INPUT0) return OCTET_OK;
  st = reserve_workspace(g->sh, ws, err);
  if (st) return st;
  st = n->kernel->run(n->state, n->in_t, n->n_in, n->out_t, n->n_out, g->sh->ws, &g->sh->host, &kerr);
  if (st) {
    if (err) *err = kerr;
    if (!kerr.message[0]) octet_fail(err, st, "kernel run failed");
  }
  return st;
}

static bool foldable(const rt_node *rn) {
  if (rn->n_in == 0) return false;
  const char *op = rn->ir->op_type;
  /* Random ops must draw anew on every run. */
  if (strstr(op, "Random") || !strcmp(op, "Multinomial") || !strcmp(op, "Bernoulli")) return false;
  for (size_t i = 0; i < rn->n_in; i++)
    if (rn->in[i] && rt_value_owner(rn->in[i])->kind != RT_VALUE_CONST) return false;
  return true;
}

/* Evaluates a node whose inputs are all constant once, here; its outputs become constants
 * that later kernels receive at create (shape subgraphs, weight transposes). */
static octet_status fold_node(rt_graph *g, rt_node *rn, octet_error *err) {
  octet_status st = OCTET_OK;
  for (size_t i = 0; i < rn->n_in; i++) rn->in_t[i] = rn->in[i] ? &rt_value_owner(rn->in[i])->t : NULL;
  for (size_t j = 0; j < rn->n_out; j++) {
    memset(&rn->out_t[j], 0, sizeof rn->out_t[j]);
    rn->out_t[j].dtype = rn->out[j]->dtype;
  }
  size_t ws = 0;
  octet_error kerr = {0};
  st = rn->kernel->infer(rn->state, rn->in_t, rn->n_in, rn->out_t, rn->n_out, &ws, &kerr);
  if (st) goto kernel_failed;
  for (size_t j = 0; j < rn->n_out; j++) {
    rt_value *v = rn->out[j];
    if (rn->out_t[j].dtype == OCTET_DTYPE_UNDEFINED) rn->out_t[j].dtype = v->dtype;
    size_t bytes;
    st = rt_tensor_bytes(&rn->out_t[j], &bytes, err);
    if (st) return octet_fail_prefix(err, "output '%s'", v->name);
    if (j == 0 && (rn->kernel->flags & OCTET_KERNEL_ALIAS_INPUT0)) {
      rn->out_t[j].data = rn->in_t[0] ? rn->in_t[0]->data : empty_data;
    } else if (bytes == 0) {
      rn->out_t[j].data = empty_data;
    } else {
      void *data = octet_malloc(bytes);
      if (!data) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory folding");
      memset(data, 0, bytes);
      rn->out_t[j].data = data;
      v->owned_const = true;
    }
    v->t = rn->out_t[j];
    v->dtype = v->t.dtype;
    v->kind = RT_VALUE_CONST;
  }
  if (!(rn->kernel->flags & OCTET_KERNEL_ALIAS_INPUT0)) {
    st = reserve_workspace(g->sh, ws, err);
    if (st) return st;
    st = rn->kernel->run(rn->state, rn->in_t, rn->n_in, rn->out_t, rn->n_out, g->sh->ws,
                         &g->sh->host, &kerr);
    if (st) goto kernel_failed;
  }
  return OCTET_OK;
kernel_failed:
  if (err) *err = kerr;
  if (!kerr.message[0]) octet_fail(err, st, "kernel failed while evaluating constant inputs");
  return st;
}

static bool is_control_flow(const octet_ir_node *n, rt_node_kind *kind) {
  if (n->domain && *n->domain) return false;
  if (!strcmp(n->op_type, "If")) *kind = RT_NODE_IF;
  else if (!strcmp(n->op_type, "Loop")) *kind = RT_NODE_LOOP;
  else if (!strcmp(n->op_type, "Scan")) *kind = RT_NODE_SCAN;
  else return false;
  return true;
}

static void node_release(rt_node *rn) {
  if (rn->kind == RT_NODE_KERNEL) {
    if (rn->state && rn->kernel && rn->kernel->destroy) rn->kernel->destroy(rn->state);
  } else {
    rt_cf_destroy(rn);
  }
  rn->state = NULL;
  octet_free(rn->in);
  octet_free(rn->out);
  octet_free(rn->in_t);
  octet_free(rn->out_t);
  octet_free(rn->implicit);
  octet_free(rn->dying);
  rn->in = rn->out = rn->implicit = rn->dying = NULL;
  rn->in_t = NULL;
  rn->out_t = NULL;
}

static octet_status no_kernel_error(const rt_session_shared *sh, const octet_ir_node *n,
                                    int64_t opset, octet_error *err) {
  const char *dom = n->domain && *n->domain ? n->domain : "ai.onnx";
  int32_t lowest = 0;
  for (size_t i = 0; i < sh->plugin->n_kernels; i++) {
    const octet_kernel *k = &sh->plugin->kernels[i];
    if (k->op_type && !strcmp(k->op_type, n->op_type) &&
        (!lowest || k->since_version < lowest))
      lowest = k->since_version;
  }
  if (lowest)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s': operator %s %s at opset %lld has no kernel (the kernel module "
                      "serves it from opset %d)", node_label(n), dom, n->op_type, (long long)opset,
                      lowest);
  return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                    "node '%s': unknown operator %s %s (opset %lld): no kernel in the module",
                    node_label(n), dom, n->op_type, (long long)opset);
}

static void make_label(rt_node *rn) {
  const char *dtype = "";
  for (size_t i = 0; i < rn->n_in && !*dtype; i++)
    if (rn->in[i]) dtype = octet_dtype_name(rt_value_owner(rn->in[i])->dtype);
  if (rn->kind != RT_NODE_KERNEL) {
    snprintf(rn->label, sizeof rn->label, "runtime %s", rn->ir->op_type);
    return;
  }
  snprintf(rn->label, sizeof rn->label, "%s %s%s%s v%d", dtype, rn->kernel->domain && *rn->kernel->domain ? rn->kernel->domain : "",
           rn->kernel->domain && *rn->kernel->domain ? "." : "", rn->kernel->op_type,
           rn->kernel->since_version);
}

/* One node of the topological order: a Constant, a folded node, or a planned node. */
static octet_status build_node(rt_graph *g, const octet_ir_node *n, octet_error *err) {
  if ((!n->domain || !*n->domain) && !strcmp(n->op_type, "Constant")) {
    octet_status st = constant_node(g, n, err);
    return st ? node_fail_prefix(n, err) : OCTET_OK;
  }
  rt_node *rn = &g->nodes[g->n_nodes];
  memset(rn, 0, sizeof *rn);
  rn->ir = n;
  rn->n_in = n->n_inputs;
  rn->n_out = n->n_outputs;
  rn->in = octet_calloc(rn->n_in ? rn->n_in : 1, sizeof *rn->in);
  rn->out = octet_calloc(rn->n_out ? rn->n_out : 1, sizeof *rn->out);
  rn->in_t = octet_calloc(rn->n_in ? rn->n_in : 1, sizeof *rn->in_t);
  rn->out_t = octet_calloc(rn->n_out ? rn->n_out : 1, sizeof *rn->out_t);
  int32_t *out_dtypes = octet_calloc(rn->n_out ? rn->n_out : 1, sizeof *out_dtypes);
  octet_status st = OCTET_OK;
  if (!rn->in || !rn->out || !rn->in_t || !rn->out_t || !out_dtypes) {
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning node '%s'", node_label(n));
    goto fail;
  }
  for (size_t i = 0; i < rn->n_in; i++) {
    if (!n->inputs[i] || !*n->inputs[i]) continue;
    rn->in[i] = resolve(g, n->inputs[i], err);
    if (!rn->in[i]) {
      if (err && err->status == OCTET_STATUS_OUT_OF_MEMORY) goto fail;
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "input '%s' is not a graph input, initializer or output of an earlier node",
                      n->inputs[i]);
      goto fail_prefixed;
    }
  }
  rn->opset = octet_ir_opset_version(g->sh->model, n->domain ? n->domain : "");
  /* A domain the model does not import (com.microsoft in some exporters' graphs) is taken at
   * version 1, as ONNX Runtime does. */
  if (rn->opset <= 0) rn->opset = 1;
  bool folded = false;
  if (is_control_flow(n, &rn->kind)) {
    st = rt_cf_build(g, rn, out_dtypes, err);
    if (st) goto fail_prefixed;
  } else {
    rn->kind = RT_NODE_KERNEL;
    rn->kernel = octet_rt_find_kernel(g->sh->plugin, n->domain, n->op_type, rn->opset);
    if (!rn->kernel) {
      st = no_kernel_error(g->sh, n, rn->opset, err);
      goto fail;
    }
    st = create_kernel(g, rn, out_dtypes, err);
    if (st) goto fail_prefixed;
    folded = foldable(rn);
  }
  for (size_t j = 0; j < rn->n_out; j++) {
    const char *name = n->outputs[j] ? n->outputs[j] : "";
    if (*name && map_find(g, name)) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "output '%s' is produced twice", name);
      goto fail_prefixed;
    }
    rt_value *v = new_value(g, name, RT_VALUE_NODE, err);
    if (!v) {
      st = err ? err->status : OCTET_STATUS_OUT_OF_MEMORY;
      goto fail;
    }
    v->dtype = out_dtypes[j];
    v->t.dtype = out_dtypes[j];
    v->observe = wants_observer(g->sh, name);
    rn->out[j] = v;
  }
  if (folded) {
    st = fold_node(g, rn, err);
    if (st) goto fail_prefixed;
    for (size_t j = 0; j < rn->n_out; j++) {
      if (!rn->out[j]->observe) continue;
      size_t k = g->n_folded_observed;
      const char **names = octet_realloc(g->folded_node_names, (k + 1) * sizeof *names);
      if (names) g->folded_node_names = names;
      if (!names || !push_ptr(&g->folded_observed, &g->n_folded_observed, rn->out[j])) {
        st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning node '%s'", node_label(n));
        goto fail;
      }
      names[k] = n->name ? n->name : "";
    }
    node_release(rn);
    octet_free(out_dtypes);
    return OCTET_OK;
  }
  make_label(rn);
  g->n_nodes++;
  octet_free(out_dtypes);
  return OCTET_OK;
fail_prefixed:
  node_fail_prefix(n, err);
fail:
  node_release(rn);
  octet_free(out_dtypes);
  return st ? st : (err ? err->status : OCTET_STATUS_INTERNAL);
}

/* Static lifetimes: each node-produced value dies after its last reader (or at once when
 * nothing reads it); graph outputs never die. */
static octet_status plan_lifetimes(rt_graph *g, octet_error *err) {
  for (size_t i = 0; i < g->n_nodes; i++) {
    rt_node *n = &g->nodes[i];
    for (size_t k = 0; k < n->n_in + n->n_implicit; k++) {
      rt_value *v = k < n->n_in ? n->in[k] : n->implicit[k - n->n_in];
      if (v && v->kind == RT_VALUE_NODE) v->last_use = (int32_t)i;
    }
  }
  for (size_t i = 0; i < g->n_nodes; i++) {
    rt_node *n = &g->nodes[i];
    for (size_t j = 0; j < n->n_out; j++) {
      rt_value *v = n->out[j];
      if (v->keep) continue;
      int32_t at = v->last_use < 0 ? (int32_t)i : v->last_use;
      if (!push_ptr(&g->nodes[at].dying, &g->nodes[at].n_dying, v))
        return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning lifetimes");
    }
  }
  return OCTET_OK;
}

octet_status rt_graph_build(rt_session_shared *sh, rt_graph *parent, const octet_ir_graph *ir,
                            const int32_t *input_dtypes, size_t n_input_dtypes, rt_graph **out,
                            octet_error *err) {
  rt_graph *g = octet_calloc(1, sizeof *g);
  if (!g) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
  g->sh = sh;
  g->parent = parent;
  g->ir = ir;
  octet_status st = OCTET_OK;
  size_t *order = NULL;
  g->nodes = octet_calloc(ir->n_nodes ? ir->n_nodes : 1, sizeof *g->nodes);
  g->inputs = octet_calloc(ir->n_inputs ? ir->n_inputs : 1, sizeof *g->inputs);
  g->outputs = octet_calloc(ir->n_outputs ? ir->n_outputs : 1, sizeof *g->outputs);
  if (!g->nodes || !g->inputs || !g->outputs) {
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory planning the graph");
    goto fail;
  }
  for (size_t i = 0; i < ir->n_inputs; i++) {
    const octet_ir_value *d = &ir->inputs[i];
    /* IR < 4 lists initializers among inputs: they are weights, not caller inputs. */
    if (octet_ir_graph_initializer(ir, d->name)) continue;
    if (map_find(g, d->name)) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "graph input '%s' is listed twice", d->name);
      goto fail;
    }
    rt_value *v = new_value(g, d->name, RT_VALUE_INPUT, err);
    if (!v) {
      st = err ? err->status : OCTET_STATUS_OUT_OF_MEMORY;
      goto fail;
    }
    v->decl = d;
    size_t k = g->n_inputs;
    v->dtype = k < n_input_dtypes && input_dtypes[k] ? input_dtypes[k] : d->elem_type;
    v->t.dtype = v->dtype;
    g->inputs[g->n_inputs++] = v;
  }
  for (size_t i = 0; i < ir->n_initializers; i++) {
    const octet_ir_tensor *t = &ir->initializers[i];
    if (map_find(g, t->name)) continue; /* a duplicate the validator let through */
    st = const_from_ir_tensor(g, t->name, t, NULL, err);
    if (st) goto fail;
  }
  st = octet_ir_topological_order(ir, &order, err);
  if (st) goto fail;
  for (size_t i = 0; i < ir->n_nodes; i++) {
    st = build_node(g, &ir->nodes[order[i]], err);
    if (st) goto fail;
  }
  for (size_t i = 0; i < ir->n_outputs; i++) {
    const char *name = ir->outputs[i].name;
    rt_value *v = name && *name ? resolve(g, name, err) : NULL;
    if (!v) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "graph output '%s' is not produced by any node, input or initializer",
                      name ? name : "");
      goto fail;
    }
    v->keep = true;
    if (!v->decl) v->decl = &ir->outputs[i];
    g->outputs[g->n_outputs++] = v;
  }
  for (size_t i = 0; i < g->n_values; i++)
    if (g->values[i]->kind == RT_VALUE_INPUT) g->values[i]->observe = false;
  st = plan_lifetimes(g, err);
  if (st) goto fail;
  octet_free(order);
  *out = g;
  return OCTET_OK;
fail:
  octet_free(order);
  rt_graph_destroy(g);
  return st ? st : OCTET_STATUS_INTERNAL;
}

void rt_graph_destroy(rt_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_nodes; i++) node_release(&g->nodes[i]);
  for (size_t i = 0; i < g->n_values; i++) {
    rt_value *v = g->values[i];
    if (v->owned_const) octet_free(v->t.data);
    octet_free(v);
  }
  for (size_t i = 0; i < g->n_bufs; i++) octet_free(g->bufs[i].base);
  octet_free(g->bufs);
  octet_free(g->free_list);
  octet_free(g->values);
  octet_free(g->map);
  octet_free(g->inputs);
  octet_free(g->outputs);
  octet_free(g->outer);
  octet_free(g->nodes);
  octet_free(g->folded_observed);
  octet_free(g->folded_node_names);
  octet_free(g);
}

/* ---- running ------------------------------------------------------------------------------ */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static octet_status observe(rt_graph *g, rt_value *v, const char *node_name, octet_error *err) {
  rt_session_shared *sh = g->sh;
  if (sh->observer(sh->observer_ctx, v->name, node_name, &rt_value_owner(v)->t))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "the observer stopped the run at tensor '%s'",
                      v->name);
  return OCTET_OK;
}

octet_status rt_graph_run(rt_graph *g, octet_error *err) {
  octet_status st = OCTET_OK;
  for (size_t i = 0; i < g->n_folded_observed; i++) {
    st = observe(g, g->folded_observed[i], g->folded_node_names[i], err);
    if (st) return st;
  }
  bool profile = g->sh->profile;
  for (size_t i = 0; i < g->n_nodes; i++) {
    rt_node *n = &g->nodes[i];
    double t0 = profile ? now_seconds() : 0;
    st = n->kind == RT_NODE_KERNEL ? run_kernel(g, n, err) : rt_cf_run(g, n, err);
    if (st) {
      node_fail_prefix(n->ir, err);
      break;
    }
    if (profile) {
      n->seconds += now_seconds() - t0;
      n->n_exec++;
    }
    for (size_t j = 0; j < n->n_out && !st; j++)
      if (n->out[j]->observe) st = observe(g, n->out[j], n->ir->name ? n->ir->name : "", err);
    if (st) break;
    for (size_t k = 0; k < n->n_dying; k++) release_value(g, n->dying[k]);
  }
  if (st) {
    if (!g->planned) reset_plan(g);
    return st;
  }
  g->planned = true;
  return OCTET_OK;
}

static void reset_profile(rt_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_nodes; i++) {
    g->nodes[i].seconds = 0;
    g->nodes[i].n_exec = 0;
    reset_profile(g->nodes[i].sub[0]);
    reset_profile(g->nodes[i].sub[1]);
  }
}

/* ---- public API ------------------------------------------------------------------------- */

OCTET_API octet_status octet_session_create(const octet_model *model,
                                            const octet_session_options *options,
                                            octet_session **session, octet_error *err) {
  if (!model || !model->graph || !session)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_session_create: model and session are required");
  octet_session_options defaults = {0};
  const octet_session_options *o = options ? options : &defaults;
  if (o->n_observe_names && !o->observe_names)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "n_observe_names is set but observe_names is NULL");
  octet_session *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory creating the session");
  rt_session_shared *sh = &s->sh;
  /* QDQ models run on int8 kernels: DQ -> op -> Q groups become QLinear* nodes in a clone that
   * borrows the caller's tensors. Observers name float tensors of the model as given: keep it. */
  octet_status st = OCTET_OK;
  if (!o->observer && (st = octet_runtime_lower_qdq(model, &s->lowered, err))) goto fail;
  if (s->lowered) model = s->lowered;
  sh->model = model;
  sh->observer = o->observer;
  sh->observer_ctx = o->observer_ctx;
  sh->observe_names = o->observe_names;
  sh->n_observe_names = o->observe_names ? o->n_observe_names : 0;
  sh->profile = o->profile != 0;
  st = octet_rt_plugin_load(o->plugin_path, &sh->plugin, err);
  if (st) goto fail;
  st = octet_rt_pool_create(o->n_threads, &sh->pool, err);
  if (st) goto fail;
  octet_rt_pool_host(sh->pool, &sh->host);
  st = rt_graph_build(sh, NULL, model->graph, NULL, 0, &s->g, err);
  if (st) goto fail;
  *session = s;
  return OCTET_OK;
fail:
  octet_session_destroy(s);
  return st;
}

OCTET_API void octet_session_destroy(octet_session *s) {
  if (!s) return;
  rt_graph_destroy(s->g);
  octet_rt_pool_destroy(s->sh.pool);
  octet_free(s->sh.ws_base);
  octet_free(s->prof);
  octet_model_destroy(s->lowered);
  octet_free(s);
}

OCTET_API size_t octet_session_input_count(const octet_session *s) { return s ? s->g->n_inputs : 0; }
OCTET_API size_t octet_session_output_count(const octet_session *s) { return s ? s->g->n_outputs : 0; }
OCTET_API const char *octet_session_input_name(const octet_session *s, size_t i) {
  return s && i < s->g->n_inputs ? s->g->inputs[i]->name : NULL;
}
OCTET_API const char *octet_session_output_name(const octet_session *s, size_t i) {
  return s && i < s->g->n_outputs ? s->g->ir->outputs[i].name : NULL;
}

/* "float[N=1,64]" style description of a declared type, for messages. */
static void describe_decl(const octet_ir_value *d, char *out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "%s", d->elem_type ? octet_dtype_name(d->elem_type) : "any");
  if (d->rank < 0 || len >= size) return;
  len += (size_t)snprintf(out + len, size - len, "[");
  for (int32_t i = 0; i < d->rank && len < size; i++) {
    const octet_ir_dim *dim = &d->dims[i];
    if (dim->value >= 0)
      len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "," : "", (long long)dim->value);
    else
      len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", dim->param && *dim->param ? dim->param : "?");
  }
  if (len < size) snprintf(out + len, size - len, "]");
}

static void describe_tensor(const octet_tensor *t, char *out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "%s[", octet_dtype_name(t->dtype));
  for (int32_t i = 0; i < t->rank && i < OCTET_MAX_RANK && len < size; i++)
    len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (len < size) snprintf(out + len, size - len, "]");
}

typedef struct sym_binding {
  const char *param;
  int64_t value;
  const char *input;
} sym_binding;

static octet_status bind_inputs(octet_session *s, const octet_tensor *inputs, size_t n,
                                octet_error *err) {
  rt_graph *g = s->g;
  if (n != g->n_inputs) {
    if (n < g->n_inputs)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "missing input: the model takes %zu inputs, got %zu (input '%s' has no value)",
                        g->n_inputs, n, g->inputs[n]->name);
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "too many inputs: the model takes %zu inputs, got %zu", g->n_inputs, n);
  }
  enum { MAX_SYMS = 64 };
  sym_binding syms[MAX_SYMS];
  size_t n_syms = 0;
  for (size_t i = 0; i < n; i++) {
    rt_value *v = g->inputs[i];
    const octet_ir_value *d = v->decl;
    const octet_tensor *t = &inputs[i];
    char want[160], got[160];
    describe_decl(d, want, sizeof want);
    if (t->rank < 0 || t->rank > OCTET_MAX_RANK)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input '%s': rank %d is outside [0, %d]",
                        v->name, t->rank, OCTET_MAX_RANK);
    describe_tensor(t, got, sizeof got);
    if (d->elem_type && t->dtype != d->elem_type)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input '%s': expected %s, got %s (wrong dtype)",
                        v->name, want, got);
    size_t bytes;
    if (rt_tensor_bytes(t, &bytes, err))
      return octet_fail_prefix(err, "input '%s'", v->name);
    if (bytes && !t->data)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input '%s': data is NULL", v->name);
    if (d->rank >= 0) {
      if (t->rank != d->rank)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "input '%s': expected %s, got %s (rank %d instead of %d)", v->name, want,
                          got, t->rank, d->rank);
      for (int32_t k = 0; k < d->rank; k++) {
        const octet_ir_dim *dim = &d->dims[k];
        if (dim->value >= 0 && dim->value != t->dims[k])
          return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                            "input '%s': expected %s, got %s (dim %d must be %lld)", v->name, want,
                            got, k, (long long)dim->value);
        if (dim->value < 0 && dim->param && *dim->param) {
          size_t b = 0;
          while (b < n_syms && strcmp(syms[b].param, dim->param)) b++;
          if (b < n_syms && syms[b].value != t->dims[k])
            return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                              "input '%s': expected %s, got %s (dim %d is '%s', which input '%s' "
                              "set to %lld)", v->name, want, got, k, dim->param, syms[b].input,
                              (long long)syms[b].value);
          if (b == n_syms && n_syms < MAX_SYMS)
            syms[n_syms++] = (sym_binding){dim->param, t->dims[k], v->name};
        }
      }
    }
    v->t = *t;
    if (!bytes) v->t.data = empty_data;
  }
  return OCTET_OK;
}

OCTET_API octet_status octet_session_run(octet_session *s, const octet_tensor *inputs,
                                         size_t n_inputs, octet_tensor *outputs,
                                         size_t n_outputs, octet_error *err) {
  if (!s || (n_inputs && !inputs) || (n_outputs && !outputs))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_session_run: NULL argument");
  if (n_outputs != s->g->n_outputs)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "the model has %zu outputs, the caller asked for %zu", s->g->n_outputs, n_outputs);
  octet_status st = bind_inputs(s, inputs, n_inputs, err);
  if (st) return st;
  if (s->sh.profile) reset_profile(s->g);
  st = rt_graph_run(s->g, err);
  if (st) return st;
  for (size_t i = 0; i < n_outputs; i++) outputs[i] = rt_value_owner(s->g->outputs[i])->t;
  return OCTET_OK;
}

static void collect_profile(octet_session *s, rt_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->n_nodes; i++) {
    rt_node *n = &g->nodes[i];
    if (!n->n_exec) continue;
    if (s->n_prof == s->cap_prof) {
      size_t cap = s->cap_prof ? s->cap_prof * 2 : 64;
      octet_profile_entry *p = octet_realloc(s->prof, cap * sizeof *p);
      if (!p) return;
      s->prof = p;
      s->cap_prof = cap;
    }
    s->prof[s->n_prof++] = (octet_profile_entry){
      .node_name = node_label(n->ir), .op_type = n->ir->op_type, .kernel = n->label,
      .seconds = n->seconds};
    collect_profile(s, n->sub[0]);
    collect_profile(s, n->sub[1]);
  }
}

OCTET_API size_t octet_session_profile(const octet_session *session,
                                       const octet_profile_entry **entries) {
  octet_session *s = (octet_session *)session; /* the entry list is a cache of the last run */
  if (!s) return 0;
  s->n_prof = 0;
  collect_profile(s, s->g);
  if (entries) *entries = s->prof;
  return s->n_prof;
}

size_t octet_rt_session_arena_bytes(const octet_session *s) {
  size_t total = 0;
  for (size_t i = 0; s && i < s->g->n_bufs; i++) total += s->g->bufs[i].cap;
  return total;
}

uint64_t octet_rt_session_alloc_count(const octet_session *s) { return s ? s->sh.n_allocs : 0; }
