/* load.c — .onnx bytes -> octet IR: file mapping, the raw-data pre-pass (wire.c), protobuf-c
 * unpack, conversion of every message into the model's arena, external data with path checks,
 * and validation. The protobuf message is freed before returning. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_io/internal.h"
#include "onnx-ml.pb-c.h"

/* ---- Allocator and regions --------------------------------------------------------------- */

typedef struct pb_alloc_state {
  bool failed;
} pb_alloc_state;

static void *pb_alloc(void *data, size_t size) {
  void *p = octet_malloc(size);
  if (!p && data) ((pb_alloc_state *)data)->failed = true;
  return p;
}
static void pb_free(void *data, void *p) { octet_free(p); }

ProtobufCAllocator onnx_io_pb_allocator = {pb_alloc, pb_free, NULL};

void onnx_io_regions_free(octet_ir_region *r) {
  while (r) {
    octet_ir_region *next = r->next;
    if (r->kind == REGION_MAP && r->addr && r->len) munmap(r->addr, r->len);
    if (r->kind == REGION_HEAP) octet_free(r->addr);
    octet_free(r);
    r = next;
  }
}

octet_status onnx_io_map_file(octet_model *m, const char *path, const char *location,
                              octet_ir_region **region, octet_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return octet_fail(err, OCTET_STATUS_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return octet_fail(err, OCTET_STATUS_IO, "'%s' is not a regular file", path);
  }
  if ((uint64_t)sb.st_size > SIZE_MAX) {
    close(fd);
    return octet_fail(err, OCTET_STATUS_IO, "'%s' is too large to map", path);
  }
  octet_ir_region *r = octet_calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory mapping '%s'", path);
  }
  r->kind = REGION_MAP;
  r->len = (size_t)sb.st_size;
  r->dev = sb.st_dev;
  r->ino = sb.st_ino;
  if (r->len) {
    void *a = mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (a == MAP_FAILED) {
      int e = errno;
      close(fd);
      octet_free(r);
      return octet_fail(err, OCTET_STATUS_IO, "cannot map '%s': %s", path, strerror(e));
    }
    r->addr = a;
  }
  close(fd);
  if (location) {
    r->location = octet_arena_strdup(m->arena, location);
    if (!r->location) {
      onnx_io_regions_free(r);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory mapping '%s'", path);
    }
  }
  r->next = m->regions;
  m->regions = r;
  *region = r;
  return OCTET_OK;
}

/* ---- Conversion context ------------------------------------------------------------------ */

typedef struct load_ctx {
  octet_model *m;
  const uint8_t *src; /* the bytes markers point into */
  size_t src_size;
  bool src_is_map;    /* false: caller's buffer, marked bytes must be copied */
  const char *base_dir; /* NULL: external data refused */
  char *base_real;      /* realpath(base_dir), lazily */
  octet_error *err;
} load_ctx;

static octet_status oom(load_ctx *c, const char *what) {
  return octet_fail(c->err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory while reading %s", what);
}

static const char *dup_str(load_ctx *c, const char *s) {
  return octet_arena_strdup(c->m->arena, s ? s : "");
}

static void *arena(load_ctx *c, size_t n, size_t size) {
  size_t bytes;
  if (!octet_mul_size(n, size, &bytes)) return NULL;
  return octet_arena_alloc(c->m->arena, bytes);
}

/* Copy of bytes that may be unaligned or borrowed; drops the pages of the source it fully
 * covers when the source is our private file mapping, so copying does not double the RSS. */
static void *copy_bytes(load_ctx *c, const uint8_t *p, size_t n, bool from_map) {
  void *d;
  if (n >= (64u << 10)) {
    /* Big copies get their own heap region: the arena would zero them first. */
    octet_ir_region *r = octet_calloc(1, sizeof *r);
    d = octet_malloc(n);
    if (!r || !d) {
      octet_free(r);
      octet_free(d);
      return NULL;
    }
    r->kind = REGION_HEAP;
    r->addr = d;
    r->len = n;
    r->next = c->m->regions;
    c->m->regions = r;
  } else {
    d = octet_arena_alloc(c->m->arena, n);
  }
  if (!d) return NULL;
  if (n) memcpy(d, p, n);
  if (from_map && n) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
  }
  return d;
}

/* ---- Tensors ----------------------------------------------------------------------------- */

static bool path_has_dotdot(const char *s) {
  const char *p = s;
  while (*p) {
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 2 && p[0] == '.' && p[1] == '.') return true;
    if (!q) break;
    p = q + 1;
  }
  return false;
}

static octet_status external_bytes(load_ctx *c, const Onnx__TensorProto *tp, octet_ir_tensor *t,
                                   size_t nbytes, const char *where) {
  const char *location = NULL;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    const char *k = e->key ? e->key : "", *v = e->value ? e->value : "";
    if (!strcmp(k, "location")) {
      location = v;
    } else if (!strcmp(k, "offset") || !strcmp(k, "length")) {
      char *endp;
      errno = 0;
      if (!v[0] || v[0] == '-') goto bad_number;
      unsigned long long x = strtoull(v, &endp, 10);
      if (errno || *endp) goto bad_number;
      if (k[0] == 'o') offset = x;
      else {
        length = x;
        has_length = true;
      }
      continue;
    bad_number:
      return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': external data %s '%s' is not a number",
                        where, t->name, k, v);
    }
  }
  if (!location || !location[0])
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': external data without a location", where, t->name);
  if (!c->base_dir)
    return octet_fail(c->err, OCTET_STATUS_INVALID_ARGUMENT,
                      "%stensor '%s': external data '%s' needs a folder (model loaded from a buffer without external_data_dir)",
                      where, t->name, location);
  if (location[0] == '/' || path_has_dotdot(location))
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL,
                      "%stensor '%s': external data location '%s' is absolute or contains '..' (refused)", where,
                      t->name, location);
  if (!c->base_real) {
    c->base_real = realpath(c->base_dir, NULL);
    if (!c->base_real)
      return octet_fail(c->err, OCTET_STATUS_IO, "external data folder '%s': %s", c->base_dir, strerror(errno));
  }
  size_t plen = strlen(c->base_dir) + strlen(location) + 2;
  char *joined = octet_malloc(plen);
  if (!joined) return oom(c, "an external data path");
  snprintf(joined, plen, "%s/%s", c->base_dir, location);
  char *real = realpath(joined, NULL);
  octet_free(joined);
  if (!real)
    return octet_fail(c->err, OCTET_STATUS_IO, "%stensor '%s': external data file '%s': %s", where, t->name,
                      location, strerror(errno));
  size_t blen = strlen(c->base_real);
  bool inside = !strncmp(real, c->base_real, blen) && (real[blen] == '/' || (blen == 1 && c->base_real[0] == '/'));
  if (!inside) {
    free(real);
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL,
                      "%stensor '%s': external data location '%s' resolves outside the model's folder (refused)",
                      where, t->name, location);
  }
  /* One mapping per side file, found by its resolved path. */
  octet_ir_region *r = NULL;
  for (octet_ir_region *x = c->m->regions; x; x = x->next)
    if (x->kind == REGION_MAP && x->location && !strcmp(x->location, real)) r = x;
  octet_status st = OCTET_OK;
  if (!r) st = onnx_io_map_file(c->m, real, real, &r, c->err);
  free(real);
  if (st != OCTET_OK) return octet_fail_prefix(c->err, "%stensor '%s' external data", where, t->name);
  if (offset > r->len)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': external data offset %" PRIu64
                      " is past the end of '%s' (%zu bytes)", where, t->name, offset, location, r->len);
  if (!has_length) length = r->len - offset;
  if (length > r->len - offset)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': external data [%" PRIu64 ", +%" PRIu64
                      ") runs past the end of '%s' (%zu bytes)", where, t->name, offset, length, location, r->len);
  if (length != nbytes)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL,
                      "%stensor '%s': external data has %" PRIu64 " bytes but shape and type need %zu", where,
                      t->name, length, nbytes);
  octet_ir_external *ext = arena(c, 1, sizeof *ext);
  if (!ext || !(ext->location = dup_str(c, location))) return oom(c, "external data");
  ext->offset = offset;
  ext->length = length;
  t->external = ext;
  const uint8_t *p = (const uint8_t *)r->addr + offset;
  size_t esize = octet_dtype_size(t->dtype);
  if (nbytes && (uintptr_t)p % esize) {
    if (!(t->data = copy_bytes(c, p, nbytes, true))) return oom(c, "external data");
    t->owned = true;
  } else {
    t->data = nbytes ? p : NULL;
  }
  t->nbytes = nbytes;
  return OCTET_OK;
}

/* Writes n typed values (of width `from` bytes each, from a protobuf repeated field) as
 * little-endian elements of `to` bytes: int32_data carries int8/uint8/int16/uint16/bool/fp16. */
static void narrow(uint8_t *dst, const void *src, size_t n, size_t from, size_t to) {
  const uint8_t *s = src;
  for (size_t i = 0; i < n; i++) memcpy(dst + i * to, s + i * from, to);
}

static octet_status convert_tensor(load_ctx *c, const Onnx__TensorProto *tp, octet_ir_tensor *t,
                                   const char *where) {
  if (!(t->name = dup_str(c, tp->name)) || !(t->doc_string = dup_str(c, tp->doc_string))) return oom(c, "a tensor");
  t->dtype = tp->has_data_type ? tp->data_type : 0;
  const octet_dtype_info *d = octet_dtype_get(t->dtype);
  if (!d || t->dtype == OCTET_DTYPE_UNDEFINED)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': unknown data type %d", where, t->name,
                      (int)t->dtype);
  if (tp->n_dims > INT32_MAX)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': too many dims", where, t->name);
  t->rank = (int32_t)tp->n_dims;
  if (!(t->dims = arena(c, tp->n_dims, sizeof(int64_t)))) return oom(c, "tensor dims");
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0)
      return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': negative dimension %" PRId64 " at axis %zu",
                        where, t->name, tp->dims[i], i);
    t->dims[i] = tp->dims[i];
  }
  size_t numel, nbytes;
  if (!octet_shape_numel(t->dims, t->rank, &numel) || !octet_mul_size(numel, d->size, &nbytes))
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': shape overflows the address space", where,
                      t->name);
  if (tp->segment)
    return octet_fail(c->err, OCTET_STATUS_UNSUPPORTED, "%stensor '%s': segmented tensors are not supported", where, t->name);
  if (t->dtype == OCTET_DTYPE_STRING) {
    if (tp->n_string_data != numel)
      return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': %zu strings but the shape needs %zu", where,
                        t->name, tp->n_string_data, numel);
    t->strings = arena(c, numel, sizeof(char *));
    t->string_lens = arena(c, numel, sizeof(size_t));
    if (!t->strings || !t->string_lens) return oom(c, "string tensor");
    for (size_t i = 0; i < numel; i++) {
      t->string_lens[i] = tp->string_data[i].len;
      if (!(t->strings[i] = octet_arena_strndup(c->m->arena, (const char *)tp->string_data[i].data, tp->string_data[i].len)))
        return oom(c, "string tensor");
    }
    return OCTET_OK;
  }
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return external_bytes(c, tp, t, nbytes, where);

  /* A marker left by the pre-pass: the bytes are in c->src. The last one wins, as in protobuf. */
  const ProtobufCMessageUnknownField *marker = NULL;
  for (size_t i = 0; i < tp->base.n_unknown_fields; i++)
    if (tp->base.unknown_fields[i].tag == ONNX_IO_MARKER_FIELD &&
        tp->base.unknown_fields[i].wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
      marker = &tp->base.unknown_fields[i];
  const uint8_t *raw = NULL;
  size_t raw_len = 0;
  bool have_raw = false, raw_in_src = false;
  if (marker) {
    const uint8_t *p = marker->data, *end = marker->data + marker->len;
    uint64_t off, len, prefix;
    /* protobuf-c keeps a length-delimited unknown field with its length prefix. */
    if (!onnx_io_read_varint(&p, end, &prefix) || prefix != (uint64_t)(end - p) ||
        !c->src || !onnx_io_read_varint(&p, end, &off) || !onnx_io_read_varint(&p, end, &len) || off > c->src_size ||
        len > c->src_size - off)
      return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': unexpected private field %u", where, t->name, ONNX_IO_MARKER_FIELD);
    raw = c->src + off;
    raw_len = (size_t)len;
    have_raw = raw_in_src = true;
  } else if (tp->has_raw_data) {
    raw = tp->raw_data.data;
    raw_len = tp->raw_data.len;
    have_raw = true;
  }
  size_t esize = d->size;
  if (have_raw) {
    if (raw_len != nbytes)
      return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL,
                        "%stensor '%s': raw_data has %zu bytes but shape and type need %zu", where, t->name, raw_len,
                        nbytes);
    t->nbytes = nbytes;
    if (!nbytes) return OCTET_OK;
    if (raw_in_src && c->src_is_map && (uintptr_t)raw % esize == 0) {
      t->data = raw; /* stays in the mapping: never touched */
      return OCTET_OK;
    }
    if (!(t->data = copy_bytes(c, raw, nbytes, raw_in_src && c->src_is_map))) return oom(c, "tensor data");
    t->owned = true;
    return OCTET_OK;
  }
  /* Typed fields. */
  const void *src = NULL;
  size_t count = 0, from = 0, mult = 1;
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT: src = tp->float_data; count = tp->n_float_data; from = 4; break;
  case OCTET_DTYPE_COMPLEX64: src = tp->float_data; count = tp->n_float_data; from = 4; mult = 2; break;
  case OCTET_DTYPE_DOUBLE: src = tp->double_data; count = tp->n_double_data; from = 8; break;
  case OCTET_DTYPE_COMPLEX128: src = tp->double_data; count = tp->n_double_data; from = 8; mult = 2; break;
  case OCTET_DTYPE_INT64: src = tp->int64_data; count = tp->n_int64_data; from = 8; break;
  case OCTET_DTYPE_UINT32:
  case OCTET_DTYPE_UINT64: src = tp->uint64_data; count = tp->n_uint64_data; from = 8; break;
  default: src = tp->int32_data; count = tp->n_int32_data; from = 4; break;
  }
  if (count == 0 && numel != 0)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': no data (the shape needs %zu elements)", where,
                      t->name, numel);
  if (count != numel * mult)
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor '%s': %zu values but the shape needs %zu", where,
                      t->name, count, numel * mult);
  t->nbytes = nbytes;
  if (!nbytes) return OCTET_OK;
  uint8_t *dst = octet_arena_alloc(c->m->arena, nbytes);
  if (!dst) return oom(c, "tensor data");
  narrow(dst, src, count, from, esize / mult);
  t->data = dst;
  t->owned = true;
  return OCTET_OK;
}

/* ---- Types and values -------------------------------------------------------------------- */

static octet_status convert_shape(load_ctx *c, const Onnx__TensorShapeProto *sh, octet_ir_value *v) {
  if (!sh) {
    v->rank = -1;
    return OCTET_OK;
  }
  if (sh->n_dim > INT32_MAX) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "value '%s': too many dims", v->name);
  v->rank = (int32_t)sh->n_dim;
  if (!(v->dims = arena(c, sh->n_dim, sizeof *v->dims))) return oom(c, "a shape");
  for (size_t i = 0; i < sh->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
    v->dims[i].value = -1;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (d->dim_value < -1)
        return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "value '%s': negative dimension %" PRId64 " at axis %zu",
                          v->name, d->dim_value, i);
      v->dims[i].value = d->dim_value;
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) {
      if (!(v->dims[i].param = dup_str(c, d->dim_param))) return oom(c, "a shape");
    }
  }
  return OCTET_OK;
}

static octet_status convert_type(load_ctx *c, const Onnx__TypeProto *tp, octet_ir_value *v, int depth) {
  v->rank = -1;
  if (!tp) return OCTET_OK;
  if (depth > 16) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "value '%s': type nested too deeply", v->name);
  switch (tp->value_case) {
  case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
    v->kind = OCTET_IR_TYPE_TENSOR;
    v->elem_type = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
    return convert_shape(c, tp->tensor_type->shape, v);
  case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
    v->kind = OCTET_IR_TYPE_SPARSE_TENSOR;
    v->elem_type = tp->sparse_tensor_type->has_elem_type ? tp->sparse_tensor_type->elem_type : 0;
    return convert_shape(c, tp->sparse_tensor_type->shape, v);
  case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
  case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: {
    const Onnx__TypeProto *e = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? tp->sequence_type->elem_type
                                                                                        : tp->optional_type->elem_type;
    octet_status st = convert_type(c, e, v, depth + 1);
    v->kind = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? OCTET_IR_TYPE_SEQUENCE : OCTET_IR_TYPE_OPTIONAL;
    if (st != OCTET_OK || !e) return st;
    if (!(v->elem = arena(c, 1, sizeof *v->elem))) return oom(c, "a type");
    v->elem->name = "";
    v->elem->doc_string = "";
    return convert_type(c, e, v->elem, depth + 1);
  }
  case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: v->kind = OCTET_IR_TYPE_MAP; return OCTET_OK;
  case ONNX__TYPE_PROTO__VALUE__NOT_SET: v->kind = OCTET_IR_TYPE_NONE; return OCTET_OK;
  default: v->kind = OCTET_IR_TYPE_OTHER; return OCTET_OK;
  }
}

static octet_status convert_values(load_ctx *c, Onnx__ValueInfoProto **in, size_t n, octet_ir_value **out) {
  if (!(*out = arena(c, n, sizeof **out))) return oom(c, "graph values");
  for (size_t i = 0; i < n; i++) {
    octet_ir_value *v = &(*out)[i];
    if (!(v->name = dup_str(c, in[i]->name)) || !(v->doc_string = dup_str(c, in[i]->doc_string))) return oom(c, "a value");
    octet_status st = convert_type(c, in[i]->type, v, 0);
    if (st != OCTET_OK) return st;
  }
  return OCTET_OK;
}

/* ---- Graphs, nodes, attributes ----------------------------------------------------------- */

static octet_status convert_graph(load_ctx *c, const Onnx__GraphProto *gp, octet_ir_graph *g, int depth);

static int32_t infer_attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return (int32_t)a->type;
  /* IR version 1 had no type field: the set field says it. */
  if (a->has_f) return OCTET_ATTR_FLOAT;
  if (a->has_i) return OCTET_ATTR_INT;
  if (a->has_s) return OCTET_ATTR_STRING;
  if (a->t) return OCTET_ATTR_TENSOR;
  if (a->g) return OCTET_ATTR_GRAPH;
  if (a->n_floats) return OCTET_ATTR_FLOATS;
  if (a->n_ints) return OCTET_ATTR_INTS;
  if (a->n_strings) return OCTET_ATTR_STRINGS;
  if (a->n_tensors) return OCTET_ATTR_TENSORS;
  if (a->n_graphs) return OCTET_ATTR_GRAPHS;
  return OCTET_ATTR_UNDEFINED;
}

static octet_status convert_attr(load_ctx *c, const Onnx__AttributeProto *ap, octet_ir_attr *a,
                                 const octet_ir_node *n, int depth) {
  if (!(a->name = dup_str(c, ap->name)) || !(a->doc_string = dup_str(c, ap->doc_string)) ||
      !(a->ref_attr_name = dup_str(c, ap->ref_attr_name)))
    return oom(c, "an attribute");
  a->type = infer_attr_type(ap);
  char where[300];
  snprintf(where, sizeof where, "node '%s' (%s) attribute '%s': ", n->name[0] ? n->name : "(unnamed)", n->op_type, a->name);
  a->f = ap->f;
  a->i = ap->i;
  octet_status st = OCTET_OK;
  switch (a->type) {
  case OCTET_ATTR_FLOAT:
  case OCTET_ATTR_INT: break;
  case OCTET_ATTR_STRING:
    if (!(a->s = octet_arena_strndup(c->m->arena, (const char *)ap->s.data, ap->s.len))) return oom(c, where);
    a->s_len = ap->s.len;
    break;
  case OCTET_ATTR_TENSOR:
    if (!ap->t) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%stensor missing", where);
    if (!(a->t = arena(c, 1, sizeof *a->t))) return oom(c, where);
    st = convert_tensor(c, ap->t, a->t, where);
    break;
  case OCTET_ATTR_GRAPH:
    if (!ap->g) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%sgraph missing", where);
    if (!(a->g = arena(c, 1, sizeof *a->g))) return oom(c, where);
    st = convert_graph(c, ap->g, a->g, depth + 1);
    break;
  case OCTET_ATTR_FLOATS:
    a->n = ap->n_floats;
    if (!(a->floats = arena(c, a->n, sizeof(float)))) return oom(c, where);
    if (a->n) memcpy(a->floats, ap->floats, a->n * sizeof(float));
    break;
  case OCTET_ATTR_INTS:
    a->n = ap->n_ints;
    if (!(a->ints = arena(c, a->n, sizeof(int64_t)))) return oom(c, where);
    if (a->n) memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
    break;
  case OCTET_ATTR_STRINGS:
    a->n = ap->n_strings;
    a->strings = arena(c, a->n, sizeof(char *));
    a->string_lens = arena(c, a->n, sizeof(size_t));
    if (!a->strings || !a->string_lens) return oom(c, where);
    for (size_t i = 0; i < a->n; i++) {
      a->string_lens[i] = ap->strings[i].len;
      if (!(a->strings[i] = octet_arena_strndup(c->m->arena, (const char *)ap->strings[i].data, ap->strings[i].len)))
        return oom(c, where);
    }
    break;
  case OCTET_ATTR_TENSORS:
    a->n = ap->n_tensors;
    if (!(a->tensors = arena(c, a->n, sizeof *a->tensors))) return oom(c, where);
    for (size_t i = 0; st == OCTET_OK && i < a->n; i++) st = convert_tensor(c, ap->tensors[i], &a->tensors[i], where);
    break;
  case OCTET_ATTR_GRAPHS:
    a->n = ap->n_graphs;
    if (!(a->graphs = arena(c, a->n, sizeof *a->graphs))) return oom(c, where);
    for (size_t i = 0; st == OCTET_OK && i < a->n; i++) {
      if (!(a->graphs[i] = arena(c, 1, sizeof **a->graphs))) return oom(c, where);
      st = convert_graph(c, ap->graphs[i], a->graphs[i], depth + 1);
    }
    break;
  case OCTET_IR_ATTR_TYPE_PROTO:
    if (!(a->tp = arena(c, 1, sizeof *a->tp))) return oom(c, where);
    a->tp->name = "";
    a->tp->doc_string = "";
    st = convert_type(c, ap->tp, a->tp, 0);
    break;
  case 11:
  case 12:
  case 14:
    return octet_fail(c->err, OCTET_STATUS_UNSUPPORTED, "%sattribute type %d (sparse tensors / type lists) is not supported",
                      where, (int)a->type);
  default:
    return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "%sunknown attribute type %d", where, (int)a->type);
  }
  return st;
}

static octet_status convert_strings(load_ctx *c, char **in, size_t n, const char ***out) {
  if (!(*out = arena(c, n, sizeof(char *)))) return oom(c, "node inputs/outputs");
  for (size_t i = 0; i < n; i++)
    if (!((*out)[i] = dup_str(c, in[i]))) return oom(c, "node inputs/outputs");
  return OCTET_OK;
}

static octet_status convert_graph(load_ctx *c, const Onnx__GraphProto *gp, octet_ir_graph *g, int depth) {
  if (depth > 64) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "subgraphs nested deeper than 64");
  if (!(g->name = dup_str(c, gp->name)) || !(g->doc_string = dup_str(c, gp->doc_string))) return oom(c, "a graph");
  if (gp->n_sparse_initializer)
    return octet_fail(c->err, OCTET_STATUS_UNSUPPORTED, "graph '%s': sparse initializers are not supported", g->name);
  octet_status st;
  if ((st = convert_values(c, gp->input, gp->n_input, &g->inputs)) != OCTET_OK) return st;
  g->n_inputs = gp->n_input;
  if ((st = convert_values(c, gp->output, gp->n_output, &g->outputs)) != OCTET_OK) return st;
  g->n_outputs = gp->n_output;
  if ((st = convert_values(c, gp->value_info, gp->n_value_info, &g->value_infos)) != OCTET_OK) return st;
  g->n_value_infos = gp->n_value_info;
  if (!(g->initializers = arena(c, gp->n_initializer, sizeof *g->initializers))) return oom(c, "initializers");
  g->cap_initializers = gp->n_initializer;
  for (size_t i = 0; i < gp->n_initializer; i++) {
    if ((st = convert_tensor(c, gp->initializer[i], &g->initializers[i], "initializer: ")) != OCTET_OK) return st;
    g->n_initializers++;
  }
  if (!(g->nodes = arena(c, gp->n_node, sizeof *g->nodes))) return oom(c, "nodes");
  g->cap_nodes = gp->n_node;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    octet_ir_node *n = &g->nodes[i];
    if (!(n->name = dup_str(c, np->name)) || !(n->op_type = dup_str(c, np->op_type)) ||
        !(n->doc_string = dup_str(c, np->doc_string)))
      return oom(c, "a node");
    n->domain = dup_str(c, np->domain && strcmp(np->domain, "ai.onnx") ? np->domain : "");
    if (!n->domain) return oom(c, "a node");
    if ((st = convert_strings(c, np->input, np->n_input, &n->inputs)) != OCTET_OK) return st;
    n->n_inputs = np->n_input;
    if ((st = convert_strings(c, np->output, np->n_output, &n->outputs)) != OCTET_OK) return st;
    n->n_outputs = np->n_output;
    if (!(n->attrs = arena(c, np->n_attribute, sizeof *n->attrs))) return oom(c, "attributes");
    for (size_t k = 0; k < np->n_attribute; k++) {
      if ((st = convert_attr(c, np->attribute[k], &n->attrs[k], n, depth)) != OCTET_OK) return st;
      n->n_attrs++;
    }
    g->n_nodes++;
  }
  return OCTET_OK;
}

static octet_status convert_model(load_ctx *c, const Onnx__ModelProto *mp) {
  octet_model *m = c->m;
  m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
  m->model_version = mp->has_model_version ? mp->model_version : 0;
  if (!(m->producer_name = dup_str(c, mp->producer_name)) || !(m->producer_version = dup_str(c, mp->producer_version)) ||
      !(m->domain = dup_str(c, mp->domain)) || !(m->doc_string = dup_str(c, mp->doc_string)))
    return oom(c, "model fields");
  if (!(m->opsets = arena(c, mp->n_opset_import, sizeof *m->opsets))) return oom(c, "opsets");
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    const char *d = o->domain && strcmp(o->domain, "ai.onnx") ? o->domain : "";
    if (!(m->opsets[i].domain = dup_str(c, d))) return oom(c, "opsets");
    m->opsets[i].version = o->has_version ? o->version : 0;
  }
  m->n_opsets = mp->n_opset_import;
  if (!(m->metadata = arena(c, mp->n_metadata_props, sizeof *m->metadata))) return oom(c, "metadata");
  for (size_t i = 0; i < mp->n_metadata_props; i++)
    if (!(m->metadata[i].key = dup_str(c, mp->metadata_props[i]->key)) ||
        !(m->metadata[i].value = dup_str(c, mp->metadata_props[i]->value)))
      return oom(c, "metadata");
  m->n_metadata = mp->n_metadata_props;
  m->n_functions = mp->n_functions;
  if (!mp->graph) return octet_fail(c->err, OCTET_STATUS_INVALID_MODEL, "model has no graph");
  if (!(m->graph = arena(c, 1, sizeof *m->graph))) return oom(c, "the graph");
  return convert_graph(c, mp->graph, m->graph, 0);
}

/* ---- Entry points ------------------------------------------------------------------------ */

octet_status onnx_io_tensor_from_proto(octet_model *m, const void *tensor_proto, octet_ir_tensor *t,
                                       octet_error *err) {
  load_ctx c = {m, NULL, 0, false, NULL, NULL, err};
  return convert_tensor(&c, tensor_proto, t, "");
}

/* Decodes src (the whole file or buffer) into m. */
static octet_status load_bytes(octet_model *m, const uint8_t *src, size_t size, bool is_map,
                               const char *base_dir, octet_error *err) {
  if (size == 0) return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "not a valid ONNX model: the file is empty");
  uint8_t *small = NULL;
  size_t small_len = 0;
  octet_status st = onnx_io_strip_raw(src, size, &small, &small_len, err);
  if (st != OCTET_OK) return st;
  pb_alloc_state state = {false};
  ProtobufCAllocator alloc = {pb_alloc, pb_free, &state};
  Onnx__ModelProto *mp = (Onnx__ModelProto *)protobuf_c_message_unpack(
      &onnx__model_proto__descriptor, &alloc, small ? small_len : size, small ? small : src);
  if (!mp) {
    octet_free(small);
    if (state.failed) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory decoding the model");
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "not a valid ONNX model: protobuf decoding failed (truncated or corrupt bytes, %zu bytes read)", size);
  }
  load_ctx c = {m, src, size, is_map, base_dir, NULL, err};
  st = convert_model(&c, mp);
  protobuf_c_message_free_unpacked(&mp->base, &alloc);
  octet_free(small);
  free(c.base_real);
  if (st != OCTET_OK) return st;
  return octet_ir_validate(m, err);
}

octet_model *onnx_io_model_empty(void) {
  octet_model *m = octet_calloc(1, sizeof *m);
  if (!m) return NULL;
  if (!(m->arena = octet_arena_create())) {
    octet_free(m);
    return NULL;
  }
  return m;
}

octet_status octet_model_load(const char *path, const octet_load_options *options, octet_model **model,
                              octet_error *err) {
  if (!path || !model) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_model_load: NULL argument");
  octet_model *m = onnx_io_model_empty();
  if (!m) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory loading '%s'", path);
  octet_status st;
  const char *slash = strrchr(path, '/');
  if (options && options->external_data_dir) m->base_dir = octet_arena_strdup(m->arena, options->external_data_dir);
  else if (slash) m->base_dir = octet_arena_strndup(m->arena, path, slash == path ? 1 : (size_t)(slash - path));
  else m->base_dir = octet_arena_strdup(m->arena, ".");
  m->path = octet_arena_strdup(m->arena, path);
  if (!m->base_dir || !m->path) {
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory loading '%s'", path);
    goto fail;
  }
  octet_ir_region *r;
  if ((st = onnx_io_map_file(m, path, NULL, &r, err)) != OCTET_OK) goto fail;
  st = load_bytes(m, r->addr, r->len, true, m->base_dir, err);
  if (st != OCTET_OK) {
    if (st != OCTET_STATUS_OUT_OF_MEMORY) octet_fail_prefix(err, "%s", path);
    goto fail;
  }
  *model = m;
  return OCTET_OK;
fail:
  octet_model_destroy(m);
  return st;
}

octet_status octet_model_load_buffer(const void *data, size_t size, const octet_load_options *options,
                                     octet_model **model, octet_error *err) {
  if ((!data && size) || !model) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_model_load_buffer: NULL argument");
  octet_model *m = onnx_io_model_empty();
  if (!m) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory loading a model buffer");
  octet_status st = OCTET_OK;
  if (options && options->external_data_dir &&
      !(m->base_dir = octet_arena_strdup(m->arena, options->external_data_dir)))
    st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory loading a model buffer");
  if (st == OCTET_OK) st = load_bytes(m, data, size, false, m->base_dir, err);
  if (st != OCTET_OK) {
    octet_model_destroy(m);
    return st;
  }
  *model = m;
  return OCTET_OK;
}
