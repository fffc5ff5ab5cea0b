/* save.c — octet IR -> .onnx: protobuf-c structs that borrow the IR's bytes (nothing is
 * copied), streamed by protobuf_c_message_pack_to_buffer into a temporary file beside the
 * destination, fsynced and renamed. Large tensors optionally go to a side file at 64-byte
 * aligned offsets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_io/internal.h"
#include "onnx-ml.pb-c.h"

#define SIDE_ALIGN 64u

typedef struct save_ctx {
  octet_arena *arena;
  uint64_t threshold;
  const char *side_name;  /* as written into the model */
  octet_atomic_file side; /* opened on first use */
  bool side_open;
  const char *side_path;
  uint64_t side_off;
  octet_error *err;
  octet_status st;
} save_ctx;

static void *A(save_ctx *c, size_t n, size_t size) {
  size_t bytes;
  void *p = octet_mul_size(n, size, &bytes) ? octet_arena_alloc(c->arena, bytes) : NULL;
  if (!p && c->st == OCTET_OK) c->st = octet_fail(c->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory saving the model");
  return p;
}

/* Optional strings: "" is not written. protobuf-c takes char *, it never writes through it. */
static char *opt(const char *s) { return s && s[0] ? (char *)s : NULL; }
static char *req(const char *s) { return (char *)(s ? s : ""); }

static char *u64_str(save_ctx *c, uint64_t v) {
  char *s = A(c, 1, 24);
  if (s) snprintf(s, 24, "%" PRIu64, v);
  return s;
}

static Onnx__StringStringEntryProto *kv(save_ctx *c, const char *k, char *v) {
  Onnx__StringStringEntryProto *e = A(c, 1, sizeof *e);
  if (!e) return NULL;
  onnx__string_string_entry_proto__init(e);
  e->key = (char *)k;
  e->value = v;
  return e;
}

static bool side_write(save_ctx *c, const void *data, size_t n, uint64_t *offset) {
  if (!c->side_open) {
    if ((c->st = octet_atomic_open(&c->side, c->side_path, c->err)) != OCTET_OK) return false;
    c->side_open = true;
  }
  static const uint8_t zeros[SIDE_ALIGN];
  size_t pad = (size_t)((SIDE_ALIGN - c->side_off % SIDE_ALIGN) % SIDE_ALIGN);
  FILE *f = c->side.f;
  if ((pad && fwrite(zeros, 1, pad, f) != pad) || (n && fwrite(data, 1, n, f) != n)) {
    c->st = octet_fail(c->err, OCTET_STATUS_IO, "cannot write external data to '%s': %s", c->side_path, strerror(errno));
    return false;
  }
  *offset = c->side_off + pad;
  c->side_off += pad + n;
  return true;
}

static Onnx__TensorProto *save_tensor(save_ctx *c, const octet_ir_tensor *t) {
  Onnx__TensorProto *tp = A(c, 1, sizeof *tp);
  if (!tp) return NULL;
  onnx__tensor_proto__init(tp);
  tp->name = opt(t->name);
  tp->doc_string = opt(t->doc_string);
  tp->has_data_type = 1;
  tp->data_type = t->dtype;
  tp->n_dims = (size_t)(t->rank > 0 ? t->rank : 0);
  tp->dims = t->dims;
  if (t->dtype == OCTET_DTYPE_STRING) {
    size_t numel = 0;
    octet_shape_numel(t->dims, t->rank, &numel);
    tp->n_string_data = numel;
    if (!(tp->string_data = A(c, numel, sizeof *tp->string_data))) return NULL;
    for (size_t i = 0; i < numel; i++) {
      tp->string_data[i].data = (uint8_t *)t->strings[i];
      tp->string_data[i].len = t->string_lens[i];
    }
    return tp;
  }
  bool external = t->external || (c->threshold && t->nbytes >= c->threshold);
  if (external && c->side_name) {
    uint64_t off;
    if (!side_write(c, t->data, t->nbytes, &off)) return NULL;
    tp->has_data_location = 1;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    tp->n_external_data = 3;
    if (!(tp->external_data = A(c, 3, sizeof *tp->external_data))) return NULL;
    tp->external_data[0] = kv(c, "location", (char *)c->side_name);
    tp->external_data[1] = kv(c, "offset", u64_str(c, off));
    tp->external_data[2] = kv(c, "length", u64_str(c, t->nbytes));
    if (c->st != OCTET_OK) return NULL;
    return tp;
  }
  tp->has_raw_data = 1;
  tp->raw_data.data = (uint8_t *)t->data;
  tp->raw_data.len = t->nbytes;
  return tp;
}

static Onnx__TypeProto *save_type(save_ctx *c, const octet_ir_value *v, bool element) {
  int32_t kind = element ? OCTET_IR_TYPE_TENSOR : v->kind;
  if (kind == OCTET_IR_TYPE_NONE) return NULL;
  Onnx__TypeProto *tp = A(c, 1, sizeof *tp);
  if (!tp) return NULL;
  onnx__type_proto__init(tp);
  Onnx__TensorShapeProto *shape = NULL;
  if (kind == OCTET_IR_TYPE_TENSOR || kind == OCTET_IR_TYPE_SPARSE_TENSOR) {
    if (v->rank >= 0) {
      if (!(shape = A(c, 1, sizeof *shape))) return NULL;
      onnx__tensor_shape_proto__init(shape);
      shape->n_dim = (size_t)v->rank;
      if (!(shape->dim = A(c, shape->n_dim, sizeof *shape->dim))) return NULL;
      for (int32_t i = 0; i < v->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = A(c, 1, sizeof *d);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (v->dims[i].value >= 0) {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
          d->dim_value = v->dims[i].value;
        } else if (v->dims[i].param) {
          d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
          d->dim_param = (char *)v->dims[i].param;
        }
        shape->dim[i] = d;
      }
    }
  }
  switch (kind) {
  case OCTET_IR_TYPE_TENSOR: {
    Onnx__TypeProto__Tensor *tt = A(c, 1, sizeof *tt);
    if (!tt) return NULL;
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = v->elem_type != 0;
    tt->elem_type = v->elem_type;
    tt->shape = shape;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    break;
  }
  case OCTET_IR_TYPE_SPARSE_TENSOR: {
    Onnx__TypeProto__SparseTensor *st = A(c, 1, sizeof *st);
    if (!st) return NULL;
    onnx__type_proto__sparse_tensor__init(st);
    st->has_elem_type = v->elem_type != 0;
    st->elem_type = v->elem_type;
    st->shape = shape;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE;
    tp->sparse_tensor_type = st;
    break;
  }
  case OCTET_IR_TYPE_SEQUENCE:
  case OCTET_IR_TYPE_OPTIONAL: {
    /* The IR keeps only a tensor element: nested sequences/optionals are not represented. */
    Onnx__TypeProto *elem = NULL;
    if (v->elem) {
      elem = save_type(c, v->elem, false);
      if (!elem && c->st != OCTET_OK) return NULL;
    } else if (v->elem_type != 0 || v->rank >= 0) {
      elem = save_type(c, v, true);
      if (!elem) return NULL;
    }
    if (kind == OCTET_IR_TYPE_SEQUENCE) {
      Onnx__TypeProto__Sequence *s = A(c, 1, sizeof *s);
      if (!s) return NULL;
      onnx__type_proto__sequence__init(s);
      s->elem_type = elem;
      tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
      tp->sequence_type = s;
    } else {
      Onnx__TypeProto__Optional *o = A(c, 1, sizeof *o);
      if (!o) return NULL;
      onnx__type_proto__optional__init(o);
      o->elem_type = elem;
      tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
      tp->optional_type = o;
    }
    break;
  }
  case OCTET_IR_TYPE_MAP: {
    Onnx__TypeProto__Map *mp = A(c, 1, sizeof *mp);
    if (!mp) return NULL;
    onnx__type_proto__map__init(mp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE;
    tp->map_type = mp;
    break;
  }
  default: {
    Onnx__TypeProto__Opaque *op = A(c, 1, sizeof *op);
    if (!op) return NULL;
    onnx__type_proto__opaque__init(op);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE;
    tp->opaque_type = op;
    break;
  }
  }
  return tp;
}

static Onnx__ValueInfoProto **save_values(save_ctx *c, const octet_ir_value *v, size_t n) {
  Onnx__ValueInfoProto **out = A(c, n, sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    Onnx__ValueInfoProto *vi = A(c, 1, sizeof *vi);
    if (!vi) return NULL;
    onnx__value_info_proto__init(vi);
    vi->name = req(v[i].name);
    vi->doc_string = opt(v[i].doc_string);
    vi->type = save_type(c, &v[i], false);
    if (c->st != OCTET_OK) return NULL;
    out[i] = vi;
  }
  return out;
}

static Onnx__GraphProto *save_graph(save_ctx *c, const octet_ir_graph *g);

static Onnx__AttributeProto *save_attr(save_ctx *c, const octet_ir_attr *a) {
  Onnx__AttributeProto *ap = A(c, 1, sizeof *ap);
  if (!ap) return NULL;
  onnx__attribute_proto__init(ap);
  ap->name = req(a->name);
  ap->doc_string = opt(a->doc_string);
  ap->ref_attr_name = opt(a->ref_attr_name);
  ap->has_type = 1;
  ap->type = (Onnx__AttributeProto__AttributeType)a->type;
  switch (a->type) {
  case OCTET_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
  case OCTET_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
  case OCTET_ATTR_STRING:
    ap->has_s = 1;
    ap->s.data = (uint8_t *)a->s;
    ap->s.len = a->s_len;
    break;
  case OCTET_ATTR_TENSOR: ap->t = save_tensor(c, a->t); break;
  case OCTET_ATTR_GRAPH: ap->g = save_graph(c, a->g); break;
  case OCTET_ATTR_FLOATS: ap->n_floats = a->n; ap->floats = a->floats; break;
  case OCTET_ATTR_INTS: ap->n_ints = a->n; ap->ints = a->ints; break;
  case OCTET_ATTR_STRINGS:
    ap->n_strings = a->n;
    if (!(ap->strings = A(c, a->n, sizeof *ap->strings))) return NULL;
    for (size_t i = 0; i < a->n; i++) {
      ap->strings[i].data = (uint8_t *)a->strings[i];
      ap->strings[i].len = a->string_lens[i];
    }
    break;
  case OCTET_ATTR_TENSORS:
    ap->n_tensors = a->n;
    if (!(ap->tensors = A(c, a->n, sizeof *ap->tensors))) return NULL;
    for (size_t i = 0; i < a->n && c->st == OCTET_OK; i++) ap->tensors[i] = save_tensor(c, &a->tensors[i]);
    break;
  case OCTET_ATTR_GRAPHS:
    ap->n_graphs = a->n;
    if (!(ap->graphs = A(c, a->n, sizeof *ap->graphs))) return NULL;
    for (size_t i = 0; i < a->n && c->st == OCTET_OK; i++) ap->graphs[i] = save_graph(c, a->graphs[i]);
    break;
  case OCTET_IR_ATTR_TYPE_PROTO:
    if (a->tp) ap->tp = save_type(c, a->tp, false);
    break;
  default:
    c->st = octet_fail(c->err, OCTET_STATUS_INVALID_ARGUMENT, "attribute '%s': cannot save type %d", a->name, (int)a->type);
    return NULL;
  }
  return c->st == OCTET_OK ? ap : NULL;
}

static Onnx__GraphProto *save_graph(save_ctx *c, const octet_ir_graph *g) {
  Onnx__GraphProto *gp = A(c, 1, sizeof *gp);
  if (!gp) return NULL;
  onnx__graph_proto__init(gp);
  gp->name = opt(g->name);
  gp->doc_string = opt(g->doc_string);
  gp->n_input = g->n_inputs;
  gp->input = save_values(c, g->inputs, g->n_inputs);
  gp->n_output = g->n_outputs;
  gp->output = save_values(c, g->outputs, g->n_outputs);
  gp->n_value_info = g->n_value_infos;
  gp->value_info = save_values(c, g->value_infos, g->n_value_infos);
  gp->n_initializer = g->n_initializers;
  gp->initializer = A(c, g->n_initializers, sizeof *gp->initializer);
  for (size_t i = 0; i < g->n_initializers && c->st == OCTET_OK; i++)
    gp->initializer[i] = save_tensor(c, &g->initializers[i]);
  gp->n_node = g->n_nodes;
  gp->node = A(c, g->n_nodes, sizeof *gp->node);
  for (size_t i = 0; i < g->n_nodes && c->st == OCTET_OK; i++) {
    const octet_ir_node *n = &g->nodes[i];
    Onnx__NodeProto *np = A(c, 1, sizeof *np);
    if (!np) break;
    onnx__node_proto__init(np);
    np->name = opt(n->name);
    np->op_type = req(n->op_type);
    np->domain = opt(n->domain);
    np->doc_string = opt(n->doc_string);
    np->n_input = n->n_inputs;
    np->input = (char **)n->inputs;
    np->n_output = n->n_outputs;
    np->output = (char **)n->outputs;
    np->n_attribute = n->n_attrs;
    np->attribute = A(c, n->n_attrs, sizeof *np->attribute);
    for (size_t k = 0; k < n->n_attrs && c->st == OCTET_OK; k++) np->attribute[k] = save_attr(c, &n->attrs[k]);
    gp->node[i] = np;
  }
  return c->st == OCTET_OK ? gp : NULL;
}

typedef struct file_buffer {
  ProtobufCBuffer base;
  FILE *f;
  bool failed;
} file_buffer;

static void file_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
  file_buffer *fb = (file_buffer *)b;
  if (!fb->failed && len && fwrite(data, 1, len, fb->f) != len) fb->failed = true;
}

/* True when path names a file the model maps or was loaded from. */
static bool is_model_file(const octet_model *m, const char *path) {
  struct stat sb;
  if (stat(path, &sb) != 0) return false;
  for (const octet_ir_region *r = m->regions; r; r = r->next)
    if (r->kind == REGION_MAP && r->dev == sb.st_dev && r->ino == sb.st_ino) return true;
  if (m->path) {
    struct stat sm;
    if (stat(m->path, &sm) == 0 && sm.st_dev == sb.st_dev && sm.st_ino == sb.st_ino) return true;
  }
  return false;
}

octet_status octet_model_save(const octet_model *m, const char *path, const octet_save_options *options,
                              octet_error *err) {
  if (!m || !m->graph || !path) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_model_save: NULL argument");
  if (m->n_functions)
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "cannot save '%s': the model has %zu model-local functions, which octet's IR does not keep",
                      path, m->n_functions);
  if (is_model_file(m, path))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "refusing to overwrite '%s': the model was loaded from it or still maps it", path);
  save_ctx c = {0};
  c.err = err;
  c.threshold = options ? options->external_data_threshold : 0;
  c.arena = octet_arena_create();
  if (!c.arena) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory saving '%s'", path);
  char *side_path = NULL, *side_name = NULL;
  /* Side file: given name or "<file>.data", in the output's folder. */
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *name = options && options->external_data_file ? options->external_data_file : NULL;
  size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
  if (name) {
    if (!name[0] || name[0] == '/' || strchr(name, '/')) {
      octet_arena_destroy(c.arena);
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "external data file '%s' must be a plain file name in the output's folder", name);
    }
    side_name = octet_arena_strdup(c.arena, name);
  } else {
    size_t n = strlen(base) + 6;
    if ((side_name = octet_arena_alloc(c.arena, n))) snprintf(side_name, n, "%s.data", base);
  }
  if (side_name && (side_path = octet_arena_alloc(c.arena, dir_len + strlen(side_name) + 1))) {
    memcpy(side_path, path, dir_len);
    strcpy(side_path + dir_len, side_name);
  }
  if (!side_name || !side_path) {
    octet_arena_destroy(c.arena);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory saving '%s'", path);
  }
  c.side_name = side_name;
  c.side_path = side_path;
  if (is_model_file(m, side_path)) {
    octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
               "refusing to overwrite '%s': the model still maps it as external data", side_path);
    octet_arena_destroy(c.arena);
    return OCTET_STATUS_INVALID_ARGUMENT;
  }

  Onnx__ModelProto mp;
  onnx__model_proto__init(&mp);
  mp.has_ir_version = 1;
  mp.ir_version = m->ir_version;
  mp.producer_name = opt(m->producer_name);
  mp.producer_version = opt(m->producer_version);
  mp.domain = opt(m->domain);
  mp.doc_string = opt(m->doc_string);
  mp.has_model_version = m->model_version != 0;
  mp.model_version = m->model_version;
  mp.n_opset_import = m->n_opsets;
  mp.opset_import = A(&c, m->n_opsets, sizeof *mp.opset_import);
  for (size_t i = 0; i < m->n_opsets && c.st == OCTET_OK; i++) {
    Onnx__OperatorSetIdProto *o = A(&c, 1, sizeof *o);
    if (!o) break;
    onnx__operator_set_id_proto__init(o);
    o->domain = req(m->opsets[i].domain);
    o->has_version = 1;
    o->version = m->opsets[i].version;
    mp.opset_import[i] = o;
  }
  mp.n_metadata_props = m->n_metadata;
  mp.metadata_props = A(&c, m->n_metadata, sizeof *mp.metadata_props);
  for (size_t i = 0; i < m->n_metadata && c.st == OCTET_OK; i++)
    mp.metadata_props[i] = kv(&c, req(m->metadata[i].key), req(m->metadata[i].value));
  if (c.st == OCTET_OK) mp.graph = save_graph(&c, m->graph);

  octet_status st = c.st;
  octet_atomic_file out = {0};
  if (st == OCTET_OK) {
    /* protobuf-c writes length prefixes as 32-bit values; ONNX readers stop at 2 GiB. */
    size_t size = protobuf_c_message_get_packed_size(&mp.base);
    if (size > (size_t)INT32_MAX)
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "'%s' would be %zu bytes, over protobuf's 2 GiB limit: set external_data_threshold", path, size);
  }
  if (st == OCTET_OK) st = octet_atomic_open(&out, path, err);
  if (st == OCTET_OK) {
    file_buffer fb = {{file_append}, out.f, false};
    protobuf_c_message_pack_to_buffer(&mp.base, &fb.base);
    if (fb.failed) st = octet_fail(err, OCTET_STATUS_IO, "cannot write '%s': %s", path, strerror(errno));
  }
  /* Side file first, so a model never names a side file that is not there yet. */
  if (st == OCTET_OK && c.side_open) {
    st = octet_atomic_commit(&c.side, err);
    c.side_open = false;
  }
  if (st == OCTET_OK) st = octet_atomic_commit(&out, err);
  octet_atomic_abort(&out);
  if (c.side_open) octet_atomic_abort(&c.side);
  octet_arena_destroy(c.arena);
  return st;
}
