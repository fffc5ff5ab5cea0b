/* tensor-file.c — single tensors on disk: NumPy .npy (v1/v2/v3, little-endian, C order) and
 * ONNX TensorProto .pb files; reading picks the format by content, writing is atomic. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_io/internal.h"
#include "onnx-ml.pb-c.h"
#include "onnx_io/npy.h"

static const struct {
  char code[3];
  int32_t dtype;
} npy_types[] = {
    {"f4", OCTET_DTYPE_FLOAT}, {"f8", OCTET_DTYPE_DOUBLE}, {"f2", OCTET_DTYPE_FLOAT16}, {"i1", OCTET_DTYPE_INT8},
    {"u1", OCTET_DTYPE_UINT8}, {"i2", OCTET_DTYPE_INT16},  {"u2", OCTET_DTYPE_UINT16},  {"i4", OCTET_DTYPE_INT32},
    {"u4", OCTET_DTYPE_UINT32}, {"i8", OCTET_DTYPE_INT64}, {"u8", OCTET_DTYPE_UINT64},  {"b1", OCTET_DTYPE_BOOL},
};

/* Finds 'key': in the header dict and returns the first non-space character after the colon. */
static const char *dict_value(const char *h, size_t n, const char *key) {
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 < n; i++) {
    if ((h[i] == '\'' || h[i] == '"') && !memcmp(h + i + 1, key, kl) && h[i + 1 + kl] == h[i]) {
      const char *p = h + i + kl + 2, *end = h + n;
      while (p < end && *p == ' ') p++;
      if (p >= end || *p != ':') return NULL;
      p++;
      while (p < end && *p == ' ') p++;
      return p < end ? p : NULL;
    }
  }
  return NULL;
}

octet_status octet_npy_header(const char *path, const unsigned char *b, size_t size, octet_tensor *shape,
                              size_t *data_offset, octet_error *err) {
  if (size < 10) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", path);
  unsigned major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", path);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy format version %u is not supported", path, major);
  }
  if (hlen > size - hstart) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: truncated .npy header", path);
  const char *h = (const char *)b + hstart;
  const char *d = dict_value(h, hlen, "descr"), *f = dict_value(h, hlen, "fortran_order"),
             *s = dict_value(h, hlen, "shape"), *end = h + hlen;
  if (!d || !f || !s)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: .npy header lacks descr, fortran_order or shape", path);
  if (end - d < 5 || (d[0] != '\'' && d[0] != '"') || d[4] != d[0])
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy dtype is not a simple type", path);
  if (d[1] == '>' && !(d[3] == '1'))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: big-endian .npy data ('%.3s') is not supported", path, d + 1);
  if (d[1] != '<' && d[1] != '|' && d[1] != '=' && d[1] != '>')
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy dtype '%.3s' is not supported", path, d + 1);
  int32_t dtype = 0;
  for (size_t i = 0; i < OCTET_COUNTOF(npy_types); i++)
    if (!memcmp(d + 2, npy_types[i].code, 2)) dtype = npy_types[i].dtype;
  if (!dtype) return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy dtype '%.3s' is not supported", path, d + 1);
  if (end - f >= 4 && !memcmp(f, "True", 4))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: Fortran-order .npy arrays are not supported (save with C order)", path);
  if (end - f < 5 || memcmp(f, "False", 5))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: bad fortran_order in .npy header", path);
  if (*s != '(') return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: bad shape in .npy header", path);
  octet_tensor t = {0};
  t.dtype = dtype;
  const char *p = s + 1;
  for (;;) {
    while (p < end && (*p == ' ' || *p == ',')) p++;
    if (p >= end) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: bad shape in .npy header", path);
    if (*p == ')') break;
    if (*p < '0' || *p > '9') return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: bad shape in .npy header", path);
    int64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      if (v > (INT64_MAX - 9) / 10) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: .npy dimension overflows", path);
      v = v * 10 + (*p++ - '0');
    }
    if (p < end && *p == 'L') p++;
    if (t.rank == OCTET_MAX_RANK)
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy rank exceeds %d", path, OCTET_MAX_RANK);
    t.dims[t.rank++] = v;
  }
  size_t numel, nbytes;
  if (!octet_shape_numel(t.dims, t.rank, &numel) || !octet_mul_size(numel, octet_dtype_size(dtype), &nbytes))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: .npy shape overflows", path);
  size_t have = size - hstart - hlen;
  if (have < nbytes)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: truncated .npy data: %zu bytes of %zu", path, have, nbytes);
  *shape = t;
  *data_offset = hstart + hlen;
  return OCTET_OK;
}

static octet_status npy_parse(const char *path, const uint8_t *b, size_t size, octet_tensor *out, octet_error *err) {
  octet_tensor t;
  size_t offset;
  octet_status st = octet_npy_header(path, b, size, &t, &offset, err);
  if (st) return st;
  size_t nbytes = octet_tensor_nbytes(&t);
  if (size - offset > nbytes)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: .npy has %zu bytes after the data (expected %zu)", path,
                      size - offset - nbytes, nbytes);
  if (!(t.data = octet_malloc(nbytes ? nbytes : 1)))
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", path, nbytes);
  if (nbytes) memcpy(t.data, b + offset, nbytes);
  *out = t;
  return OCTET_OK;
}

static octet_status pb_parse(const char *path, const uint8_t *b, size_t size, octet_tensor *out, char **name,
                             octet_error *err) {
  ProtobufCAllocator alloc = onnx_io_pb_allocator;
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&alloc, size, b);
  if (!tp)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: neither a .npy array nor a valid ONNX TensorProto", path);
  octet_model *m = onnx_io_model_empty();
  octet_status st = OCTET_OK;
  octet_ir_tensor it = {0};
  octet_tensor t = {0};
  char *nm = NULL;
  if (!m) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
  if (st == OCTET_OK) st = onnx_io_tensor_from_proto(m, tp, &it, err);
  if (st == OCTET_OK && it.dtype == OCTET_DTYPE_STRING)
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: string tensors are not supported", path);
  if (st == OCTET_OK && it.rank > OCTET_MAX_RANK)
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: rank %d exceeds %d", path, (int)it.rank, OCTET_MAX_RANK);
  if (st == OCTET_OK) {
    t.dtype = it.dtype;
    t.rank = it.rank;
    for (int32_t i = 0; i < it.rank; i++) t.dims[i] = it.dims[i];
    t.data = octet_malloc(it.nbytes ? it.nbytes : 1);
    if (name && it.name && it.name[0]) nm = octet_strdup(it.name);
    if (!t.data || (name && it.name && it.name[0] && !nm))
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    else if (it.nbytes)
      memcpy(t.data, it.data, it.nbytes);
  }
  protobuf_c_message_free_unpacked(&tp->base, &alloc);
  octet_model_destroy(m);
  if (st != OCTET_OK) {
    octet_free(t.data);
    octet_free(nm);
    return st;
  }
  *out = t;
  if (name) *name = nm;
  return OCTET_OK;
}

octet_status octet_tensor_load(const char *path, octet_tensor *tensor, char **name, octet_error *err) {
  if (!path || !tensor) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_tensor_load: NULL argument");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return octet_fail(err, OCTET_STATUS_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return octet_fail(err, OCTET_STATUS_IO, "'%s' is not a regular file", path);
  }
  size_t size = (size_t)sb.st_size;
  const uint8_t *b = (const uint8_t *)"";
  void *map = NULL;
  if (size) {
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int e = errno;
      close(fd);
      return octet_fail(err, OCTET_STATUS_IO, "cannot map '%s': %s", path, strerror(e));
    }
    b = map;
  }
  close(fd);
  octet_tensor t = {0};
  char *nm = NULL;
  octet_status st;
  if (size >= 6 && !memcmp(b, "\x93NUMPY", 6)) st = npy_parse(path, b, size, &t, err);
  else st = pb_parse(path, b, size, &t, name ? &nm : NULL, err);
  if (map) munmap(map, size);
  if (st != OCTET_OK) return st;
  *tensor = t;
  if (name) *name = nm;
  return OCTET_OK;
}

void octet_tensor_free(octet_tensor *tensor) {
  if (!tensor) return;
  octet_free(tensor->data);
  tensor->data = NULL;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

octet_status octet_tensor_save(const char *path, const octet_tensor *t, const char *name, octet_error *err) {
  if (!path || !t) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_tensor_save: NULL argument");
  if (t->rank < 0 || t->rank > OCTET_MAX_RANK)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: rank %d is out of range", path, (int)t->rank);
  size_t numel, nbytes, esize = octet_dtype_size(t->dtype);
  if (!esize) return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: cannot save dtype %s", path, octet_dtype_name(t->dtype));
  if (!octet_shape_numel(t->dims, t->rank, &numel) || !octet_mul_size(numel, esize, &nbytes))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: invalid shape", path);
  if (nbytes && !t->data) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "%s: tensor has no data", path);
  octet_atomic_file af;
  octet_status st = octet_atomic_open(&af, path, err);
  if (st != OCTET_OK) return st;
  FILE *f = af.f;
  bool ok = true;
  if (ends_with(path, ".pb")) {
    Onnx__TensorProto tp;
    onnx__tensor_proto__init(&tp);
    tp.name = name && name[0] ? (char *)name : NULL;
    tp.has_data_type = 1;
    tp.data_type = t->dtype;
    tp.n_dims = (size_t)t->rank;
    tp.dims = (int64_t *)t->dims;
    tp.has_raw_data = 1;
    tp.raw_data.len = nbytes;
    tp.raw_data.data = t->data;
    size_t n = protobuf_c_message_get_packed_size(&tp.base);
    uint8_t *buf = octet_malloc(n ? n : 1);
    if (!buf) {
      octet_atomic_abort(&af);
      return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    protobuf_c_message_pack(&tp.base, buf);
    ok = fwrite(buf, 1, n, f) == n;
    octet_free(buf);
  } else {
    const char *code = NULL;
    for (size_t i = 0; i < OCTET_COUNTOF(npy_types); i++)
      if (npy_types[i].dtype == t->dtype) code = npy_types[i].code;
    if (!code) {
      octet_atomic_abort(&af);
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "%s: .npy cannot hold dtype %s", path, octet_dtype_name(t->dtype));
    }
    char dict[400];
    int len = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                       esize == 1 ? '|' : '<', code);
    for (int32_t i = 0; i < t->rank; i++)
      len += snprintf(dict + len, sizeof dict - (size_t)len, "%" PRId64 "%s", t->dims[i],
                      t->rank == 1 ? "," : i + 1 < t->rank ? ", " : "");
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    /* Pad with spaces so the data starts at a multiple of 64, as NumPy does; end with '\n'. */
    size_t total = 10 + (size_t)len + 1;
    size_t padded = (total + 63) / 64 * 64, hlen = padded - 10;
    uint8_t head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};
    ok = fwrite(head, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = (size_t)len; ok && i + 1 < hlen; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && (!nbytes || fwrite(t->data, 1, nbytes, f) == nbytes);
  }
  if (!ok) {
    int e = errno;
    octet_atomic_abort(&af);
    return octet_fail(err, OCTET_STATUS_IO, "cannot write '%s': %s", path, strerror(e));
  }
  return octet_atomic_commit(&af, err);
}
