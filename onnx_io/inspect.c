/* inspect.c — octet_model_inspect: a model described for people (text) or programs (JSON):
 * IR version, opsets, producer, inputs/outputs, op histogram (subgraphs included), parameters
 * by dtype (initializers and Constant nodes), quantization form, external-data files. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_io/internal.h"

typedef struct sbuf {
  char *s;
  size_t n, cap;
  bool oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) OCTET_PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->s && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t ncap = b->cap ? b->cap * 2 : 1024;
    while (ncap < b->n + (size_t)k + 1) ncap *= 2;
    char *p = octet_realloc(b->s, ncap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->s = p;
    b->cap = ncap;
  }
}

/* JSON string (quoted) or plain text. */
static void put_str(sbuf *b, const char *s, bool json) {
  if (!json) {
    put(b, "%s", s ? s : "");
    return;
  }
  put(b, "\"");
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') put(b, "\\%c", *p);
    else if (*p < 0x20) put(b, "\\u%04x", *p);
    else put(b, "%c", *p);
  }
  put(b, "\"");
}

typedef struct op_count {
  const char *domain, *op;
  size_t count;
} op_count;

typedef struct stats {
  op_count *ops;
  size_t n_ops, cap_ops;
  uint64_t params[OCTET_DTYPE_COUNT], bytes[OCTET_DTYPE_COUNT];
  size_t n_nodes, n_subgraphs, n_constants;
  const char *ext[64];
  uint64_t ext_bytes[64];
  size_t n_ext;
  bool oom;
} stats;

static void count_op(stats *s, const char *domain, const char *op) {
  for (size_t i = 0; i < s->n_ops; i++)
    if (!strcmp(s->ops[i].op, op) && !strcmp(s->ops[i].domain, domain)) {
      s->ops[i].count++;
      return;
    }
  if (s->n_ops == s->cap_ops) {
    size_t ncap = s->cap_ops ? s->cap_ops * 2 : 32;
    op_count *p = octet_realloc(s->ops, ncap * sizeof *p);
    if (!p) {
      s->oom = true;
      return;
    }
    s->ops = p;
    s->cap_ops = ncap;
  }
  s->ops[s->n_ops++] = (op_count){domain, op, 1};
}

static void count_tensor(stats *s, const octet_ir_tensor *t) {
  size_t numel = 0;
  if (t->dtype <= 0 || t->dtype >= OCTET_DTYPE_COUNT || !octet_shape_numel(t->dims, t->rank, &numel)) return;
  s->params[t->dtype] += numel;
  s->bytes[t->dtype] += t->dtype == OCTET_DTYPE_STRING ? 0 : t->nbytes;
  if (t->external) {
    size_t i;
    for (i = 0; i < s->n_ext; i++)
      if (!strcmp(s->ext[i], t->external->location)) break;
    if (i == s->n_ext && s->n_ext < OCTET_COUNTOF(s->ext)) s->ext[s->n_ext++] = t->external->location;
    if (i < s->n_ext) s->ext_bytes[i] += t->external->length;
  }
}

static void walk(stats *s, const octet_ir_graph *g, int depth) {
  if (depth > 64) return;
  for (size_t i = 0; i < g->n_initializers; i++) count_tensor(s, &g->initializers[i]);
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    s->n_nodes++;
    count_op(s, n->domain ? n->domain : "", n->op_type);
    bool constant = !strcmp(n->op_type, "Constant") && (!n->domain || !n->domain[0]);
    if (constant) s->n_constants++;
    for (size_t a = 0; a < n->n_attrs; a++) {
      const octet_ir_attr *at = &n->attrs[a];
      if (constant) {
        if (at->type == OCTET_ATTR_TENSOR && at->t) count_tensor(s, at->t);
        else if (at->type == OCTET_ATTR_FLOAT) s->params[OCTET_DTYPE_FLOAT] += 1, s->bytes[OCTET_DTYPE_FLOAT] += 4;
        else if (at->type == OCTET_ATTR_INT) s->params[OCTET_DTYPE_INT64] += 1, s->bytes[OCTET_DTYPE_INT64] += 8;
        else if (at->type == OCTET_ATTR_FLOATS) s->params[OCTET_DTYPE_FLOAT] += at->n, s->bytes[OCTET_DTYPE_FLOAT] += 4 * at->n;
        else if (at->type == OCTET_ATTR_INTS) s->params[OCTET_DTYPE_INT64] += at->n, s->bytes[OCTET_DTYPE_INT64] += 8 * at->n;
      }
      if (at->type == OCTET_ATTR_GRAPH && at->g) {
        s->n_subgraphs++;
        walk(s, at->g, depth + 1);
      }
      if (at->type == OCTET_ATTR_GRAPHS)
        for (size_t k = 0; k < at->n; k++) {
          s->n_subgraphs++;
          walk(s, at->graphs[k], depth + 1);
        }
    }
  }
}

static int op_cmp(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return x->count < y->count ? 1 : -1;
  int d = strcmp(x->domain, y->domain);
  return d ? d : strcmp(x->op, y->op);
}

static size_t ops_named(const stats *s, const char *const *names, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < s->n_ops; i++)
    for (size_t k = 0; k < n; k++)
      if (!strcmp(s->ops[i].op, names[k])) c += s->ops[i].count;
  return c;
}

/* The model's quantization form, judged by the operators it uses. */
static const char *quant_form(const stats *s) {
  static const char *const dynamic[] = {"DynamicQuantizeLinear", "DynamicQuantizeMatMul"};
  static const char *const qop[] = {"QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul", "QGemm",
                                    "QLinearSigmoid", "QLinearLeakyRelu", "QLinearAveragePool",
                                    "QLinearGlobalAveragePool", "QLinearConcat", "QLinearSoftmax",
                                    "ConvInteger", "MatMulInteger", "QAttention"};
  static const char *const qdq[] = {"QuantizeLinear", "DequantizeLinear"};
  size_t nd = ops_named(s, dynamic, OCTET_COUNTOF(dynamic));
  size_t nq = ops_named(s, qop, OCTET_COUNTOF(qop));
  size_t nqdq = ops_named(s, qdq, OCTET_COUNTOF(qdq));
  if (nd) return "dynamic";
  if (nq && nqdq) return "QOperator+QDQ";
  if (nq) return "QOperator";
  if (nqdq) return "QDQ";
  return "float";
}

static bool is_initializer(const octet_ir_graph *g, const char *name) {
  return octet_ir_graph_initializer(g, name) != NULL;
}

static void put_value(sbuf *b, const octet_ir_value *v, bool json) {
  const char *kind = v->kind == OCTET_IR_TYPE_SEQUENCE ? "sequence" : v->kind == OCTET_IR_TYPE_OPTIONAL ? "optional"
                     : v->kind == OCTET_IR_TYPE_MAP ? "map" : v->kind == OCTET_IR_TYPE_SPARSE_TENSOR ? "sparse_tensor"
                     : v->kind == OCTET_IR_TYPE_OTHER ? "other" : "tensor";
  const char *dt = v->elem_type ? octet_dtype_name(v->elem_type) : "unknown";
  if (json) {
    put(b, "{\"name\": ");
    put_str(b, v->name, true);
    put(b, ", \"kind\": \"%s\", \"dtype\": \"%s\", \"shape\": ", kind, dt);
    if (v->rank < 0) {
      put(b, "null}");
      return;
    }
    put(b, "[");
    for (int32_t i = 0; i < v->rank; i++) {
      if (i) put(b, ", ");
      if (v->dims[i].value >= 0) put(b, "%" PRId64, v->dims[i].value);
      else if (v->dims[i].param) put_str(b, v->dims[i].param, true);
      else put(b, "null");
    }
    put(b, "]}");
    return;
  }
  put(b, "  %-24s %s%s%s ", v->name, kind[0] == 't' ? "" : kind, kind[0] == 't' ? "" : " of ", dt);
  if (v->rank < 0) {
    put(b, "[?]\n");
    return;
  }
  put(b, "[");
  for (int32_t i = 0; i < v->rank; i++) {
    if (i) put(b, ", ");
    if (v->dims[i].value >= 0) put(b, "%" PRId64, v->dims[i].value);
    else put(b, "%s", v->dims[i].param ? v->dims[i].param : "?");
  }
  put(b, "]\n");
}

octet_status octet_model_inspect(const octet_model *m, int json, char **text, octet_error *err) {
  if (!m || !m->graph || !text) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_model_inspect: NULL argument");
  stats s = {0};
  walk(&s, m->graph, 0);
  if (s.n_ops) qsort(s.ops, s.n_ops, sizeof *s.ops, op_cmp);
  uint64_t total_params = 0, total_bytes = 0;
  for (int d = 0; d < OCTET_DTYPE_COUNT; d++) total_params += s.params[d], total_bytes += s.bytes[d];
  const octet_ir_graph *g = m->graph;
  sbuf b = {0};
  if (json) {
    put(&b, "{\n  \"path\": ");
    put_str(&b, m->path, true);
    put(&b, ",\n  \"ir_version\": %" PRId64 ",\n  \"opsets\": [", m->ir_version);
    for (size_t i = 0; i < m->n_opsets; i++) {
      put(&b, "%s{\"domain\": ", i ? ", " : "");
      put_str(&b, m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx", true);
      put(&b, ", \"version\": %" PRId64 "}", m->opsets[i].version);
    }
    put(&b, "],\n  \"producer\": ");
    put_str(&b, m->producer_name, true);
    put(&b, ",\n  \"producer_version\": ");
    put_str(&b, m->producer_version, true);
    put(&b, ",\n  \"graph\": ");
    put_str(&b, g->name, true);
    put(&b, ",\n  \"inputs\": [");
    bool first = true;
    for (size_t i = 0; i < g->n_inputs; i++) {
      if (is_initializer(g, g->inputs[i].name)) continue;
      put(&b, "%s\n    ", first ? "" : ",");
      first = false;
      put_value(&b, &g->inputs[i], true);
    }
    put(&b, "],\n  \"outputs\": [");
    for (size_t i = 0; i < g->n_outputs; i++) {
      put(&b, "%s\n    ", i ? "," : "");
      put_value(&b, &g->outputs[i], true);
    }
    put(&b, "],\n  \"nodes\": %zu,\n  \"subgraphs\": %zu,\n  \"functions\": %zu,\n  \"ops\": {", s.n_nodes,
        s.n_subgraphs, m->n_functions);
    for (size_t i = 0; i < s.n_ops; i++) {
      char key[300];
      snprintf(key, sizeof key, "%s%s%s", s.ops[i].domain, s.ops[i].domain[0] ? "::" : "", s.ops[i].op);
      put(&b, "%s", i ? ", " : "");
      put_str(&b, key, true);
      put(&b, ": %zu", s.ops[i].count);
    }
    put(&b, "},\n  \"parameters\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"constant_nodes\": %zu, \"by_dtype\": {",
        total_params, total_bytes, s.n_constants);
    first = true;
    for (int d = 0; d < OCTET_DTYPE_COUNT; d++) {
      if (!s.params[d]) continue;
      put(&b, "%s\"%s\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}", first ? "" : ", ", octet_dtype_name(d),
          s.params[d], s.bytes[d]);
      first = false;
    }
    put(&b, "}},\n  \"quantization\": \"%s\",\n  \"external_data\": [", quant_form(&s));
    for (size_t i = 0; i < s.n_ext; i++) {
      put(&b, "%s{\"file\": ", i ? ", " : "");
      put_str(&b, s.ext[i], true);
      put(&b, ", \"bytes\": %" PRIu64 "}", s.ext_bytes[i]);
    }
    put(&b, "]\n}\n");
  } else {
    put(&b, "model:        %s\n", m->path ? m->path : "(buffer)");
    put(&b, "ir version:   %" PRId64 "\nopsets:      ", m->ir_version);
    for (size_t i = 0; i < m->n_opsets; i++)
      put(&b, " %s %" PRId64, m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx", m->opsets[i].version);
    put(&b, "\nproducer:     %s %s\n", m->producer_name, m->producer_version);
    put(&b, "quantization: %s\n", quant_form(&s));
    put(&b, "nodes:        %zu (%zu in %zu subgraphs)\n", s.n_nodes, s.n_nodes - g->n_nodes, s.n_subgraphs);
    if (m->n_functions) put(&b, "functions:    %zu (model-local, not runnable by octet)\n", m->n_functions);
    put(&b, "inputs:\n");
    for (size_t i = 0; i < g->n_inputs; i++)
      if (!is_initializer(g, g->inputs[i].name)) put_value(&b, &g->inputs[i], false);
    put(&b, "outputs:\n");
    for (size_t i = 0; i < g->n_outputs; i++) put_value(&b, &g->outputs[i], false);
    put(&b, "parameters:   %" PRIu64 " (%" PRIu64 " bytes, %zu Constant nodes)\n", total_params, total_bytes, s.n_constants);
    for (int d = 0; d < OCTET_DTYPE_COUNT; d++)
      if (s.params[d]) put(&b, "  %-10s %12" PRIu64 " values %14" PRIu64 " bytes\n", octet_dtype_name(d), s.params[d], s.bytes[d]);
    put(&b, "ops:\n");
    for (size_t i = 0; i < s.n_ops; i++) {
      char key[300];
      snprintf(key, sizeof key, "%s%s%s", s.ops[i].domain, s.ops[i].domain[0] ? "::" : "", s.ops[i].op);
      put(&b, "  %-28s %zu\n", key, s.ops[i].count);
    }
    if (s.n_ext) {
      put(&b, "external data:\n");
      for (size_t i = 0; i < s.n_ext; i++) put(&b, "  %s (%" PRIu64 " bytes)\n", s.ext[i], s.ext_bytes[i]);
    }
  }
  octet_free(s.ops);
  if (b.oom || s.oom || !b.s) {
    octet_free(b.s);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory describing the model");
  }
  *text = b.s;
  return OCTET_OK;
}

void octet_string_free(char *s) { octet_free(s); }
