/* internal.h — what the files of onnx_io share and nobody else sees: the region list a model
 * keeps alive, the protobuf-c allocator that honours failure injection, the wire pre-pass. */
#ifndef OCTET_ONNX_IO_INTERNAL_H
#define OCTET_ONNX_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "onnx_io/ir.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx_io assumes a little-endian host (ONNX raw_data is little-endian)"
#endif

typedef enum region_kind { REGION_MAP = 1, REGION_HEAP = 2 } region_kind;

struct octet_ir_region {
  octet_ir_region *next;
  region_kind kind;
  void *addr;
  size_t len;
  /* Identity of a mapped file, so save can refuse to overwrite it. */
  dev_t dev;
  ino_t ino;
  const char *location; /* side file location as written in the model, or NULL for the model */
};

/* Maps path read-only (an empty file maps as a zero-length region) and links it to m. */
octet_status onnx_io_map_file(octet_model *m, const char *path, const char *location,
                              octet_ir_region **region, octet_error *err);
void onnx_io_regions_free(octet_ir_region *r);

/* protobuf-c allocations go through octet_malloc so failure injection covers them. */
extern ProtobufCAllocator onnx_io_pb_allocator;

/* Field number of the private marker the pre-pass puts where a large raw_data was. Its payload
 * is two varints: offset of the bytes in the source buffer, and their length. */
#define ONNX_IO_MARKER_FIELD 0x1ce7u
#define ONNX_IO_MARKER_MIN_BYTES 1024u

/* Rewrites a serialized ModelProto: every TensorProto.raw_data of at least
 * ONNX_IO_MARKER_MIN_BYTES becomes a marker (see wire.c). *out is NULL when nothing needed
 * rewriting (unpack the input directly); otherwise octet_free it. */
octet_status onnx_io_strip_raw(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
                               octet_error *err);

/* Converts an unpacked Onnx__TensorProto (passed as void * so this header stays free of the
 * generated code) into t, with its bytes in m's arena. External data is refused. */
octet_status onnx_io_tensor_from_proto(octet_model *m, const void *tensor_proto, octet_ir_tensor *t,
                                       octet_error *err);
/* A model with an arena and nothing else (for tensor files and the loader). */
octet_model *onnx_io_model_empty(void);

/* Wire helpers shared with tensor-file.c. */
bool onnx_io_read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif
