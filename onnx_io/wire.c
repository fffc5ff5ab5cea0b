/* wire.c — the pre-pass that keeps large tensor bytes out of protobuf-c.
 *
 * Why: protobuf_c_message_unpack copies every bytes field, so unpacking a 100 MB model would
 * touch every page of the file and double the memory. Instead we walk the wire format of the
 * ModelProto along the only paths that can hold tensors (ModelProto.graph -> GraphProto
 * .initializer / .sparse_initializer / .node -> NodeProto.attribute -> AttributeProto.t /
 * .tensors / .sparse_tensor(s) / .g / .graphs, recursively) and write a rewritten copy in which
 * each TensorProto.raw_data of at least ONNX_IO_MARKER_MIN_BYTES is replaced by a private field
 * (number ONNX_IO_MARKER_FIELD, length-delimited, payload: varint offset + varint length of the
 * bytes in the original buffer). Every enclosing length prefix is recomputed. protobuf-c keeps
 * that unknown field in base.unknown_fields, and the converter points the IR tensor at
 * original + offset, i.e. into the file mapping. Raw-data pages are never read by loading.
 * Everything else is copied verbatim; a marker already present in the input is dropped so a
 * hostile file cannot forge one. */
#include <string.h>

#include "onnx_io/internal.h"

enum { K_OTHER, K_MODEL, K_GRAPH, K_NODE, K_ATTR, K_TENSOR, K_SPARSE };

/* Deep enough for any real model (each subgraph level costs 3: graph, node, attribute). */
#define MAX_WIRE_DEPTH 200

static int child_kind(int kind, uint64_t field) {
  switch (kind) {
  case K_MODEL: return field == 7 ? K_GRAPH : K_OTHER;
  case K_GRAPH: return field == 1 ? K_NODE : field == 5 ? K_TENSOR : field == 15 ? K_SPARSE : K_OTHER;
  case K_NODE: return field == 5 ? K_ATTR : K_OTHER;
  case K_ATTR:
    if (field == 5 || field == 10) return K_TENSOR;
    if (field == 6 || field == 11) return K_GRAPH;
    if (field == 22 || field == 23) return K_SPARSE;
    return K_OTHER;
  case K_SPARSE: return field == 1 || field == 2 ? K_TENSOR : K_OTHER;
  default: return K_OTHER;
  }
}

bool onnx_io_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t r = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return false;
    uint8_t b = *(*p)++;
    if (shift == 63 && b > 1) return false;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void put_varint(uint8_t *out, size_t *pos, uint64_t v) {
  while (v >= 0x80) {
    if (out) out[*pos] = (uint8_t)(v | 0x80);
    (*pos)++;
    v >>= 7;
  }
  if (out) out[*pos] = (uint8_t)v;
  (*pos)++;
}

static void put_bytes(uint8_t *out, size_t *pos, const uint8_t *p, size_t n) {
  if (out && n) memcpy(out + *pos, p, n);
  *pos += n;
}

typedef struct wire {
  const uint8_t *base;
  bool changed;
  octet_error *err;
} wire;

static octet_status corrupt(wire *w, const uint8_t *at, const char *what) {
  return octet_fail(w->err, OCTET_STATUS_INVALID_MODEL,
                    "not a valid ONNX model: %s at byte %zu (truncated or corrupt protobuf)", what,
                    (size_t)(at - w->base));
}

/* Emits the rewritten message [p, end) of the given kind at out+*pos (out NULL: only counts). */
static octet_status rewrite(wire *w, const uint8_t *p, const uint8_t *end, int kind, uint8_t *out,
                            size_t *pos, int depth) {
  if (depth > MAX_WIRE_DEPTH) return corrupt(w, p, "messages nested too deeply");
  while (p < end) {
    const uint8_t *field_start = p;
    uint64_t tag;
    if (!onnx_io_read_varint(&p, end, &tag)) return corrupt(w, field_start, "bad field tag");
    uint64_t field = tag >> 3;
    unsigned wt = (unsigned)(tag & 7);
    if (field == 0) return corrupt(w, field_start, "field number 0");
    uint64_t v;
    switch (wt) {
    case 0:
      if (!onnx_io_read_varint(&p, end, &v)) return corrupt(w, field_start, "truncated varint");
      put_bytes(out, pos, field_start, (size_t)(p - field_start));
      continue;
    case 1:
    case 5: {
      size_t n = wt == 1 ? 8 : 4;
      if ((size_t)(end - p) < n) return corrupt(w, field_start, "truncated fixed-size field");
      p += n;
      put_bytes(out, pos, field_start, (size_t)(p - field_start));
      continue;
    }
    case 2: break;
    default: return corrupt(w, field_start, "unsupported wire type");
    }
    if (!onnx_io_read_varint(&p, end, &v)) return corrupt(w, field_start, "truncated length");
    if (v > (uint64_t)(end - p)) return corrupt(w, field_start, "length runs past the end");
    const uint8_t *body = p, *body_end = p + v;
    p = body_end;
    if (kind == K_TENSOR && field == ONNX_IO_MARKER_FIELD) {
      w->changed = true; /* forged marker: drop it */
      continue;
    }
    if (kind == K_TENSOR && field == 9 && v >= ONNX_IO_MARKER_MIN_BYTES) {
      uint64_t off = (uint64_t)(body - w->base);
      size_t payload = varint_size(off) + varint_size(v);
      put_varint(out, pos, ((uint64_t)ONNX_IO_MARKER_FIELD << 3) | 2u);
      put_varint(out, pos, payload);
      put_varint(out, pos, off);
      put_varint(out, pos, v);
      w->changed = true;
      continue;
    }
    int ck = child_kind(kind, field);
    if (ck == K_OTHER) {
      put_bytes(out, pos, field_start, (size_t)(p - field_start));
      continue;
    }
    size_t inner = 0;
    octet_status st = rewrite(w, body, body_end, ck, NULL, &inner, depth + 1);
    if (st != OCTET_OK) return st;
    put_varint(out, pos, tag);
    put_varint(out, pos, inner);
    if (out) {
      size_t before = *pos;
      st = rewrite(w, body, body_end, ck, out, pos, depth + 1);
      if (st != OCTET_OK) return st;
      if (*pos - before != inner) return octet_fail(w->err, OCTET_STATUS_INTERNAL, "wire rewrite size mismatch");
    } else {
      *pos += inner;
    }
  }
  return OCTET_OK;
}

octet_status onnx_io_strip_raw(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                               octet_error *err) {
  wire w = {in, false, err};
  size_t size = 0;
  octet_status st = rewrite(&w, in, in + len, K_MODEL, NULL, &size, 0);
  if (st != OCTET_OK) return st;
  if (!w.changed) {
    *out = NULL;
    *out_len = 0;
    return OCTET_OK;
  }
  uint8_t *buf = octet_malloc(size ? size : 1);
  if (!buf)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory: %zu bytes for the model's structure", size);
  size_t pos = 0;
  st = rewrite(&w, in, in + len, K_MODEL, buf, &pos, 0);
  if (st != OCTET_OK) {
    octet_free(buf);
    return st;
  }
  *out = buf;
  *out_len = pos;
  return OCTET_OK;
}
