/* control-flow.c — If, Loop and Scan, run by the runtime itself: their bodies are subgraph
 * plans that read enclosing values directly, and loop-carried state lives in buffers owned by
 * the node. */
#include <string.h>

#include "runtime/runtime.h"

typedef struct cf_buf {
  void *data;
  size_t cap;
} cf_buf;

/* Per-node state of Loop and Scan. */
typedef struct cf_state {
  size_t n_carried, n_scan_out, n_scan_in;
  cf_buf *carry[2]; /* double-buffered carried values: a body output may be another's input */
  octet_tensor *carry_t[2];
  cf_buf *acc;      /* scan outputs, stacked */
  octet_tensor *acc_t; /* shape of one iteration's scan output */
  cf_buf *slices;   /* Scan: the current slice of each scan input */
  int64_t iter;
  uint8_t cond;
} cf_state;

/* Element 0 of a scalar-like tensor, as an integer (cond, trip count). */
static int64_t first_int(const octet_tensor *t) {
  switch (t->dtype) {
  case OCTET_DTYPE_BOOL:
  case OCTET_DTYPE_UINT8: return *(const uint8_t *)t->data;
  case OCTET_DTYPE_INT8: return *(const int8_t *)t->data;
  case OCTET_DTYPE_INT16: return *(const int16_t *)t->data;
  case OCTET_DTYPE_UINT16: return *(const uint16_t *)t->data;
  case OCTET_DTYPE_INT32: return *(const int32_t *)t->data;
  case OCTET_DTYPE_UINT32: return *(const uint32_t *)t->data;
  case OCTET_DTYPE_INT64: return *(const int64_t *)t->data;
  case OCTET_DTYPE_UINT64: return (int64_t)*(const uint64_t *)t->data;
  case OCTET_DTYPE_FLOAT: return *(const float *)t->data != 0.0f;
  case OCTET_DTYPE_DOUBLE: return *(const double *)t->data != 0.0;
  default: return 0;
  }
}

static octet_status cf_reserve(cf_buf *b, size_t bytes, bool preserve, octet_error *err) {
  if (b->cap >= bytes && b->data) return OCTET_OK;
  size_t cap = b->cap * 2 > bytes ? b->cap * 2 : bytes;
  void *d = octet_malloc(cap ? cap : 1);
  if (!d) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory (%zu bytes)", bytes);
  if (preserve && b->data) memcpy(d, b->data, b->cap);
  octet_free(b->data);
  b->data = d;
  b->cap = cap;
  return OCTET_OK;
}

static const octet_ir_graph *graph_attr(const octet_ir_node *n, const char *name) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_GRAPH ? a->g : NULL;
}

static int32_t output_dtype(const rt_graph *sub, size_t i) {
  rt_value *v = rt_value_owner(sub->outputs[i]);
  if (v->dtype) return v->dtype;
  return sub->ir->outputs[i].elem_type;
}

static octet_status add_implicit(rt_node *n, rt_graph *sub, octet_error *err) {
  if (!sub) return OCTET_OK;
  rt_value **a = octet_realloc(n->implicit, (n->n_implicit + sub->n_outer) * sizeof *a);
  if (!a && sub->n_outer) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if (a) n->implicit = a;
  for (size_t i = 0; i < sub->n_outer; i++) n->implicit[n->n_implicit++] = sub->outer[i]->outer;
  return OCTET_OK;
}

static cf_state *state_new(size_t carried, size_t scan_out, size_t scan_in) {
  cf_state *s = octet_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->n_carried = carried;
  s->n_scan_out = scan_out;
  s->n_scan_in = scan_in;
  size_t c = carried ? carried : 1, k = scan_out ? scan_out : 1, m = scan_in ? scan_in : 1;
  s->carry[0] = octet_calloc(c, sizeof(cf_buf));
  s->carry[1] = octet_calloc(c, sizeof(cf_buf));
  s->carry_t[0] = octet_calloc(c, sizeof(octet_tensor));
  s->carry_t[1] = octet_calloc(c, sizeof(octet_tensor));
  s->acc = octet_calloc(k, sizeof(cf_buf));
  s->acc_t = octet_calloc(k, sizeof(octet_tensor));
  s->slices = octet_calloc(m, sizeof(cf_buf));
  if (!s->carry[0] || !s->carry[1] || !s->carry_t[0] || !s->carry_t[1] || !s->acc || !s->acc_t ||
      !s->slices) {
    rt_node tmp = {.cf_mem = s};
    rt_cf_destroy(&tmp);
    return NULL;
  }
  return s;
}

void rt_cf_destroy(rt_node *n) {
  rt_graph_destroy(n->sub[0]);
  rt_graph_destroy(n->sub[1]);
  n->sub[0] = n->sub[1] = NULL;
  cf_state *s = n->cf_mem;
  if (s) {
    for (int b = 0; b < 2; b++) {
      for (size_t i = 0; s->carry[b] && i < s->n_carried; i++) octet_free(s->carry[b][i].data);
      octet_free(s->carry[b]);
      octet_free(s->carry_t[b]);
    }
    for (size_t i = 0; s->acc && i < s->n_scan_out; i++) octet_free(s->acc[i].data);
    for (size_t i = 0; s->slices && i < s->n_scan_in; i++) octet_free(s->slices[i].data);
    octet_free(s->acc);
    octet_free(s->acc_t);
    octet_free(s->slices);
    octet_free(s);
  }
  n->cf_mem = NULL;
  octet_free(n->scan_in_axes);
  octet_free(n->scan_in_dirs);
  octet_free(n->scan_out_axes);
  octet_free(n->scan_out_dirs);
  n->scan_in_axes = n->scan_in_dirs = n->scan_out_axes = n->scan_out_dirs = NULL;
}

/* Copies an INTS attribute of length want (default fill when absent). */
static octet_status ints_attr(const octet_ir_node *n, const char *name, size_t want, int64_t dflt,
                              int64_t **out, octet_error *err) {
  int64_t *v = octet_calloc(want ? want : 1, sizeof *v);
  if (!v) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  if (a && a->type == OCTET_ATTR_INTS) {
    if (a->n != want) {
      octet_free(v);
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "attribute %s has %zu entries, expected %zu",
                        name, a->n, want);
    }
    memcpy(v, a->ints, want * sizeof *v);
  } else {
    for (size_t i = 0; i < want; i++) v[i] = dflt;
  }
  *out = v;
  return OCTET_OK;
}

octet_status rt_cf_build(rt_graph *g, rt_node *n, int32_t *out_dtypes, octet_error *err) {
  const octet_ir_node *ir = n->ir;
  octet_status st;
  if (n->kind == RT_NODE_IF) {
    const octet_ir_graph *tb = graph_attr(ir, "then_branch"), *eb = graph_attr(ir, "else_branch");
    if (!tb || !eb || n->n_in != 1 || !n->in[0])
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "If needs a cond input and then_branch/else_branch graphs");
    st = rt_graph_build(g->sh, g, tb, NULL, 0, &n->sub[0], err);
    if (st) return octet_fail_prefix(err, "then_branch");
    st = rt_graph_build(g->sh, g, eb, NULL, 0, &n->sub[1], err);
    if (st) return octet_fail_prefix(err, "else_branch");
    for (int b = 0; b < 2; b++)
      if (n->sub[b]->n_outputs != n->n_out)
        return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%s has %zu outputs, the node %zu",
                          b ? "else_branch" : "then_branch", n->sub[b]->n_outputs, n->n_out);
    for (size_t j = 0; j < n->n_out; j++) {
      out_dtypes[j] = output_dtype(n->sub[0], j);
      if (!out_dtypes[j]) out_dtypes[j] = output_dtype(n->sub[1], j);
    }
    st = add_implicit(n, n->sub[0], err);
    return st ? st : add_implicit(n, n->sub[1], err);
  }
  const octet_ir_graph *body = graph_attr(ir, "body");
  if (!body) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "%s needs a body graph", ir->op_type);
  size_t n_body_in = body->n_inputs;
  int32_t *dt = octet_calloc(n_body_in ? n_body_in : 1, sizeof *dt);
  if (!dt) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  size_t carried = 0, scan_in = 0;
  if (n->kind == RT_NODE_LOOP) {
    if (n->n_in < 2 || n_body_in != n->n_in) {
      octet_free(dt);
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "Loop has %zu inputs and its body %zu; expected M, cond, then the same "
                        "loop-carried values", n->n_in, n_body_in);
    }
    carried = n->n_in - 2;
    dt[0] = OCTET_DTYPE_INT64;
    dt[1] = OCTET_DTYPE_BOOL;
    for (size_t i = 0; i < carried; i++)
      dt[2 + i] = n->in[2 + i] ? rt_value_owner(n->in[2 + i])->dtype : 0;
  } else {
    /* Scan-8 takes sequence_lens first; its body sees the same states and slices. */
    size_t first = n->opset < 9 ? 1 : 0;
    const octet_ir_attr *a = octet_ir_node_attr(ir, "num_scan_inputs");
    if (!a || a->type != OCTET_ATTR_INT || a->i < 1 || (size_t)a->i + first > n->n_in ||
        n_body_in != n->n_in - first) {
      octet_free(dt);
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "Scan needs num_scan_inputs in [1, %zu] and a body taking every state and "
                        "scan input", n->n_in - first);
    }
    scan_in = (size_t)a->i;
    carried = n->n_in - first - scan_in;
    for (size_t i = first; i < n->n_in; i++) {
      if (!n->in[i]) {
        octet_free(dt);
        return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "Scan input %zu is missing", i);
      }
      dt[i - first] = rt_value_owner(n->in[i])->dtype;
    }
  }
  st = rt_graph_build(g->sh, g, body, dt, n_body_in, &n->sub[0], err);
  octet_free(dt);
  if (st) return octet_fail_prefix(err, "body");
  rt_graph *b = n->sub[0];
  size_t first_state_out = n->kind == RT_NODE_LOOP ? 1 : 0;
  if (b->n_outputs < first_state_out + carried || n->n_out != b->n_outputs - first_state_out)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "body has %zu outputs; expected %s%zu carried values and then scan outputs "
                      "(the node has %zu outputs)", b->n_outputs, first_state_out ? "cond, " : "",
                      carried, n->n_out);
  size_t scan_out = n->n_out - carried;
  for (size_t j = 0; j < n->n_out; j++) {
    out_dtypes[j] = output_dtype(b, first_state_out + j);
    if (!out_dtypes[j] && j < carried) out_dtypes[j] = b->inputs[b->n_inputs - carried - scan_in + j]->dtype;
  }
  if (n->kind == RT_NODE_SCAN) {
    st = ints_attr(ir, "scan_input_axes", scan_in, 0, &n->scan_in_axes, err);
    if (!st) st = ints_attr(ir, n->opset < 9 ? "directions" : "scan_input_directions", scan_in, 0,
                            &n->scan_in_dirs, err);
    if (!st) st = ints_attr(ir, "scan_output_axes", scan_out, 0, &n->scan_out_axes, err);
    if (!st) st = ints_attr(ir, "scan_output_directions", scan_out, 0, &n->scan_out_dirs, err);
    if (st) return st;
  }
  n->cf_mem = state_new(carried, scan_out, scan_in);
  if (!n->cf_mem) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  return add_implicit(n, b, err);
}

/* Copies src into a new output j of n (allocated from g's arena). */
static octet_status emit_output(rt_graph *g, rt_node *n, size_t j, const octet_tensor *src,
                                octet_error *err) {
  rt_value *v = n->out[j];
  v->t = *src;
  v->t.data = NULL;
  octet_status st = rt_graph_alloc_output(g, n, j, err);
  if (st) return st;
  size_t bytes;
  st = rt_tensor_bytes(src, &bytes, err);
  if (st) return st;
  if (bytes) memcpy(v->t.data, src->data, bytes);
  return OCTET_OK;
}

static octet_status run_if(rt_graph *g, rt_node *n, octet_error *err) {
  const octet_tensor *c = &rt_value_owner(n->in[0])->t;
  size_t numel = 0;
  if (!octet_shape_numel(c->dims, c->rank, &numel) || numel != 1 || !octet_dtype_size(c->dtype))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "cond must hold one element");
  bool cond = first_int(c) != 0;
  rt_graph *sub = n->sub[cond ? 0 : 1];
  octet_status st = rt_graph_run(sub, err);
  if (st) return octet_fail_prefix(err, "%s", cond ? "then_branch" : "else_branch");
  for (size_t j = 0; j < n->n_out; j++) {
    st = emit_output(g, n, j, &rt_value_owner(sub->outputs[j])->t, err);
    if (st) return st;
  }
  return OCTET_OK;
}

/* Stores body result src as carried value i for the next iteration (buffer set `to`). */
static octet_status store_carry(cf_state *s, int to, size_t i, const octet_tensor *src,
                                octet_error *err) {
  size_t bytes;
  octet_status st = rt_tensor_bytes(src, &bytes, err);
  if (st) return st;
  st = cf_reserve(&s->carry[to][i], bytes, false, err);
  if (st) return st;
  if (bytes) memcpy(s->carry[to][i].data, src->data, bytes);
  s->carry_t[to][i] = *src;
  s->carry_t[to][i].data = s->carry[to][i].data;
  return OCTET_OK;
}

/* Appends one iteration's scan output k at stacked position pos (of count). */
static octet_status accumulate(cf_state *s, size_t k, const octet_tensor *src, int64_t iter,
                               octet_error *err) {
  size_t bytes;
  octet_status st = rt_tensor_bytes(src, &bytes, err);
  if (st) return st;
  if (iter == 0) {
    s->acc_t[k] = *src;
    s->acc_t[k].data = NULL;
  } else if (src->dtype != s->acc_t[k].dtype || src->rank != s->acc_t[k].rank ||
             memcmp(src->dims, s->acc_t[k].dims, (size_t)src->rank * sizeof src->dims[0])) {
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "scan output %zu changes shape at iteration %lld", k, (long long)iter);
  }
  size_t need;
  if (!octet_mul_size(bytes, (size_t)iter + 1, &need))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "scan output %zu is too large", k);
  st = cf_reserve(&s->acc[k], need, true, err);
  if (st) return st;
  if (bytes) memcpy((char *)s->acc[k].data + bytes * (size_t)iter, src->data, bytes);
  return OCTET_OK;
}

/* Output j of n from the stacked scan results: count iterations along a new axis. */
static octet_status emit_stacked(rt_graph *g, rt_node *n, size_t j, cf_state *s, size_t k,
                                 int64_t count, int64_t axis, bool reverse, octet_error *err) {
  octet_tensor one = s->acc_t[k];
  if (count == 0 && one.dtype == 0) one.dtype = n->out[j]->dtype;
  if (one.rank + 1 > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "scan output %zu has too high a rank", k);
  if (axis < 0) axis += one.rank + 1;
  if (axis < 0 || axis > one.rank)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "scan output axis out of range");
  octet_tensor out = one;
  out.rank = one.rank + 1;
  for (int32_t d = 0, e = 0; d < out.rank; d++) out.dims[d] = d == axis ? count : one.dims[e++];
  rt_value *v = n->out[j];
  v->t = out;
  v->t.data = NULL;
  octet_status st = rt_graph_alloc_output(g, n, j, err);
  if (st) return st;
  size_t es = octet_dtype_size(one.dtype);
  size_t pre = 1, post = es;
  for (int32_t d = 0; d < one.rank; d++) {
    if (d < axis) pre *= (size_t)one.dims[d];
    else post *= (size_t)one.dims[d];
  }
  const char *src = s->acc[k].data;
  char *dst = v->t.data;
  size_t L = (size_t)count;
  for (size_t it = 0; it < L; it++) {
    size_t pos = reverse ? L - 1 - it : it;
    for (size_t p = 0; p < pre; p++)
      memcpy(dst + (p * L + pos) * post, src + (it * pre + p) * post, post);
  }
  return OCTET_OK;
}

static octet_status run_loop(rt_graph *g, rt_node *n, octet_error *err) {
  cf_state *s = n->cf_mem;
  rt_graph *b = n->sub[0];
  int64_t max_trip = INT64_MAX;
  bool cond = true;
  if (n->in[0]) {
    const octet_tensor *m = &rt_value_owner(n->in[0])->t;
    if (octet_tensor_numel(m) != 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "M must hold one element");
    max_trip = first_int(m);
  }
  if (n->in[1]) {
    const octet_tensor *c = &rt_value_owner(n->in[1])->t;
    if (octet_tensor_numel(c) != 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "cond must hold one element");
    cond = first_int(c) != 0;
  }
  octet_status st;
  int cur = 0;
  for (size_t i = 0; i < s->n_carried; i++) {
    rt_value *v = n->in[2 + i] ? rt_value_owner(n->in[2 + i]) : NULL;
    if (!v) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "loop-carried input %zu is missing", i);
    st = store_carry(s, cur, i, &v->t, err);
    if (st) return st;
  }
  octet_tensor iter_t = {.dtype = OCTET_DTYPE_INT64, .rank = 0, .data = &s->iter};
  octet_tensor cond_t = {.dtype = OCTET_DTYPE_BOOL, .rank = 0, .data = &s->cond};
  int64_t it = 0;
  for (; it < max_trip && cond; it++) {
    s->iter = it;
    s->cond = 1;
    b->inputs[0]->t = iter_t;
    b->inputs[1]->t = cond_t;
    for (size_t i = 0; i < s->n_carried; i++) b->inputs[2 + i]->t = s->carry_t[cur][i];
    st = rt_graph_run(b, err);
    if (st) return octet_fail_prefix(err, "body iteration %lld", (long long)it);
    const octet_tensor *c = &rt_value_owner(b->outputs[0])->t;
    if (octet_tensor_numel(c) != 1)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "body cond output must hold one element");
    cond = first_int(c) != 0;
    for (size_t i = 0; i < s->n_carried; i++) {
      st = store_carry(s, !cur, i, &rt_value_owner(b->outputs[1 + i])->t, err);
      if (st) return st;
    }
    cur = !cur;
    for (size_t k = 0; k < s->n_scan_out; k++) {
      st = accumulate(s, k, &rt_value_owner(b->outputs[1 + s->n_carried + k])->t, it, err);
      if (st) return st;
    }
  }
  for (size_t i = 0; i < s->n_carried; i++) {
    st = emit_output(g, n, i, &s->carry_t[cur][i], err);
    if (st) return st;
  }
  for (size_t k = 0; k < s->n_scan_out; k++) {
    if (it == 0) memset(&s->acc_t[k], 0, sizeof s->acc_t[k]);
    st = emit_stacked(g, n, s->n_carried + k, s, k, it, 0, false, err);
    if (st) return st;
  }
  return OCTET_OK;
}

/* The scan loop shared by both Scan forms: states[i] and scan inputs xs[m] (sequence axis
 * axes[m], length L, of which the first `steps` iterations run). Leaves the final states in
 * s->carry_t[*cur] and the stacked scan outputs in s->acc. */
static octet_status scan_core(rt_node *n, const octet_tensor *const *states,
                              const octet_tensor *const *xs, const int64_t *axes, int64_t L,
                              int64_t steps, int *cur_out, octet_error *err) {
  cf_state *s = n->cf_mem;
  rt_graph *b = n->sub[0];
  size_t N = s->n_carried, M = s->n_scan_in;
  octet_status st;
  int cur = 0;
  for (size_t i = 0; i < N; i++) {
    st = store_carry(s, cur, i, states[i], err);
    if (st) return st;
  }
  for (int64_t it = 0; it < steps; it++) {
    for (size_t i = 0; i < N; i++) b->inputs[i]->t = s->carry_t[cur][i];
    for (size_t m = 0; m < M; m++) {
      const octet_tensor *t = xs[m];
      int64_t a = axes[m];
      size_t es = octet_dtype_size(t->dtype), pre = 1, post = es;
      octet_tensor slice = {.dtype = t->dtype, .rank = t->rank - 1};
      for (int32_t d = 0, e = 0; d < t->rank; d++) {
        if (d < a) pre *= (size_t)t->dims[d];
        if (d > a) post *= (size_t)t->dims[d];
        if (d != a) slice.dims[e++] = t->dims[d];
      }
      st = cf_reserve(&s->slices[m], pre * post, false, err);
      if (st) return st;
      int64_t pos = n->scan_in_dirs[m] ? steps - 1 - it : it;
      for (size_t p = 0; p < pre; p++)
        memcpy((char *)s->slices[m].data + p * post,
               (const char *)t->data + (p * (size_t)L + (size_t)pos) * post, post);
      slice.data = s->slices[m].data;
      b->inputs[N + m]->t = slice;
    }
    st = rt_graph_run(b, err);
    if (st) return octet_fail_prefix(err, "body iteration %lld", (long long)it);
    for (size_t i = 0; i < N; i++) {
      st = store_carry(s, !cur, i, &rt_value_owner(b->outputs[i])->t, err);
      if (st) return st;
    }
    cur = !cur;
    for (size_t k = 0; k < s->n_scan_out; k++) {
      st = accumulate(s, k, &rt_value_owner(b->outputs[N + k])->t, it, err);
      if (st) return st;
    }
  }
  for (size_t k = 0; k < s->n_scan_out && steps <= 0; k++) memset(&s->acc_t[k], 0, sizeof s->acc_t[k]);
  *cur_out = cur;
  return OCTET_OK;
}

static octet_status run_scan(rt_graph *g, rt_node *n, octet_error *err) {
  cf_state *s = n->cf_mem;
  size_t N = s->n_carried, M = s->n_scan_in;
  int64_t L = -1;
  int64_t axes[64];
  const octet_tensor *states[64], *xs[64];
  if (M > 64 || N > 64) return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "more than 64 scan inputs or states");
  for (size_t i = 0; i < N; i++) states[i] = &rt_value_owner(n->in[i])->t;
  for (size_t m = 0; m < M; m++) {
    const octet_tensor *t = &rt_value_owner(n->in[N + m])->t;
    xs[m] = t;
    int64_t a = n->scan_in_axes[m];
    if (a < 0) a += t->rank;
    if (a < 0 || a >= t->rank)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "scan input %zu: axis out of range", m);
    axes[m] = a;
    if (L >= 0 && t->dims[a] != L)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "scan inputs disagree on the sequence length (%lld and %lld)", (long long)L,
                        (long long)t->dims[a]);
    L = t->dims[a];
  }
  int cur;
  octet_status st = scan_core(n, states, xs, axes, L, L, &cur, err);
  if (st) return st;
  for (size_t i = 0; i < N; i++) {
    st = emit_output(g, n, i, &s->carry_t[cur][i], err);
    if (st) return st;
  }
  for (size_t k = 0; k < s->n_scan_out; k++) {
    st = emit_stacked(g, n, N + k, s, k, L < 0 ? 0 : L, n->scan_out_axes[k],
                      n->scan_out_dirs[k] != 0, err);
    if (st) return st;
  }
  return OCTET_OK;
}

/* Scan-8: every input and output has a leading batch axis and the sequence axis after it;
 * optional sequence_lens (input 0) shortens a batch entry's scan, its tail outputs are zero. */
static octet_status run_scan8(rt_graph *g, rt_node *n, octet_error *err) {
  cf_state *s = n->cf_mem;
  size_t N = s->n_carried, M = s->n_scan_in;
  if (M > 64 || N > 64) return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "more than 64 scan inputs or states");
  const octet_tensor *lens = n->in[0] ? &rt_value_owner(n->in[0])->t : NULL;
  const octet_tensor *full[128];
  int64_t B = -1, L = -1;
  for (size_t i = 0; i < N + M; i++) {
    full[i] = &rt_value_owner(n->in[1 + i])->t;
    if (full[i]->rank < (i < N ? 1 : 2))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input %zu lacks the batch%s axis", 1 + i,
                        i < N ? "" : " and sequence");
    if (B >= 0 && full[i]->dims[0] != B)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "inputs disagree on the batch size");
    B = full[i]->dims[0];
    if (i >= N) {
      if (L >= 0 && full[i]->dims[1] != L)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "scan inputs disagree on the sequence length");
      L = full[i]->dims[1];
    }
  }
  if (lens && (octet_tensor_numel(lens) != (size_t)B || (lens->dtype != OCTET_DTYPE_INT32 && lens->dtype != OCTET_DTYPE_INT64)))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "sequence_lens must hold one int per batch entry");
  octet_tensor views[128];
  const octet_tensor *vp[128];
  int64_t axes[64] = {0};
  octet_status st;
  for (int64_t bi = 0; bi < B; bi++) {
    for (size_t i = 0; i < N + M; i++) {
      views[i] = *full[i];
      views[i].rank--;
      memmove(views[i].dims, views[i].dims + 1, (size_t)views[i].rank * sizeof views[i].dims[0]);
      size_t bytes;
      st = rt_tensor_bytes(&views[i], &bytes, err);
      if (st) return st;
      views[i].data = (char *)full[i]->data + bytes * (size_t)bi;
      vp[i] = &views[i];
    }
    int64_t steps = L;
    if (lens) {
      steps = lens->dtype == OCTET_DTYPE_INT32 ? ((const int32_t *)lens->data)[bi] : ((const int64_t *)lens->data)[bi];
      if (steps < 0 || steps > L)
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                          (long long)bi, (long long)steps, (long long)L);
    }
    int cur;
    st = scan_core(n, vp, vp + N, axes, L, steps, &cur, err);
    if (st) return st;
    for (size_t j = 0; j < N + s->n_scan_out; j++) {
      octet_tensor one = j < N ? s->carry_t[cur][j] : s->acc_t[j - N];
      octet_tensor out = one;
      size_t extra = j < N ? 1 : 2;
      if (one.rank + (int32_t)extra > OCTET_MAX_RANK)
        return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "output %zu has too high a rank", j);
      out.rank = one.rank + (int32_t)extra;
      out.dims[0] = B;
      if (j >= N) out.dims[1] = L;
      memcpy(out.dims + extra, one.dims, (size_t)one.rank * sizeof one.dims[0]);
      size_t bytes;
      st = rt_tensor_bytes(&one, &bytes, err);
      if (st) return st;
      rt_value *v = n->out[j];
      if (bi == 0) {
        v->t = out;
        v->t.data = NULL;
        st = rt_graph_alloc_output(g, n, j, err);
        if (st) return st;
        size_t total;
        st = rt_tensor_bytes(&v->t, &total, err);
        if (st) return st;
        memset(v->t.data, 0, total);
      } else if (v->t.rank != out.rank || memcmp(v->t.dims, out.dims, (size_t)out.rank * sizeof out.dims[0])) {
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "output %zu changes shape across the batch", j);
      }
      if (j < N) {
        memcpy((char *)v->t.data + bytes * (size_t)bi, one.data, bytes);
      } else {
        /* acc holds `steps` slices in iteration order; a reverse scan output fills from the end
         * of the valid part, the padding stays zero. */
        size_t k = j - N;
        char *dst = (char *)v->t.data + bytes * (size_t)L * (size_t)bi;
        for (int64_t it = 0; it < steps; it++)
          memcpy(dst + bytes * (size_t)it, (const char *)s->acc[k].data + bytes * (size_t)it, bytes);
      }
    }
  }
  return OCTET_OK;
}

octet_status rt_cf_run(rt_graph *g, rt_node *n, octet_error *err) {
  switch (n->kind) {
  case RT_NODE_IF: return run_if(g, n, err);
  case RT_NODE_LOOP: return run_loop(g, n, err);
  case RT_NODE_SCAN: return n->opset < 9 ? run_scan8(g, n, err) : run_scan(g, n, err);
  default: return octet_fail(err, OCTET_STATUS_INTERNAL, "not a control-flow node");
  }
}
