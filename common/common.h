/* common.h — what every part of octet shares: error formatting, the one allocator, arenas,
 * the dtype table, checked size arithmetic. Internal; never installed. */
#ifndef OCTET_COMMON_H
#define OCTET_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "octet/octet.h"

#define OCTET_INTERNAL __attribute__((visibility("hidden")))
#define OCTET_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define OCTET_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* Fills err (when non-NULL) and returns status, so `return octet_fail(err, ...)` reads well. */
octet_status octet_fail(octet_error *err, octet_status status, const char *fmt, ...) OCTET_PRINTF(3, 4);
/* Prefixes an existing message with context, e.g. the node name. */
octet_status octet_fail_prefix(octet_error *err, const char *fmt, ...) OCTET_PRINTF(2, 3);
void octet_error_clear(octet_error *err);

/* ---- Allocation: everything goes through here so tests can inject failures. ---- */
void *octet_malloc(size_t size);
void *octet_calloc(size_t count, size_t size);
void *octet_realloc(void *ptr, size_t size);
void octet_free(void *ptr);
char *octet_strdup(const char *s);
/* Test hook: the n-th allocation from now fails (n = 0 disables). */
void octet_alloc_fail_after(uint64_t n);

/* Checked arithmetic: false on overflow. */
static inline bool octet_mul_size(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool octet_add_size(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* ---- Arena: many small allocations, one free. Large blocks get their own chunk. ---- */
typedef struct octet_arena octet_arena;
octet_arena *octet_arena_create(void);
void *octet_arena_alloc(octet_arena *a, size_t size); /* zeroed, 16-byte aligned; NULL on OOM */
char *octet_arena_strdup(octet_arena *a, const char *s);
char *octet_arena_strndup(octet_arena *a, const char *s, size_t n);
void octet_arena_destroy(octet_arena *a);

/* ---- Data types, described once. ---- */
typedef struct octet_dtype_info {
  const char *name; /* ONNX spelling: "float", "uint8", ... */
  size_t size;      /* bytes per element; 0 for string and undefined */
} octet_dtype_info;
const octet_dtype_info *octet_dtype_get(int32_t dtype); /* NULL for an unknown number */
size_t octet_dtype_size(int32_t dtype);                 /* 0 when unknown or variable */

/* Number of elements; false on overflow or negative dims. */
bool octet_shape_numel(const int64_t *dims, int32_t rank, size_t *numel);
size_t octet_tensor_numel(const octet_tensor *t);   /* assumes a validated shape */
size_t octet_tensor_nbytes(const octet_tensor *t);

/* IEEE half and bfloat16 conversion (round to nearest even). */
float octet_half_to_float(uint16_t h);
uint16_t octet_float_to_half(float f);
float octet_bf16_to_float(uint16_t h);
uint16_t octet_float_to_bf16(float f);

/* ---- Atomic file output: write to a temporary file beside the target, then rename. ---- */
typedef struct octet_atomic_file {
  void *f;        /* FILE *, while open */
  char *path;     /* the destination */
  char *tmp_path; /* where the bytes go until commit */
} octet_atomic_file;
octet_status octet_atomic_open(octet_atomic_file *af, const char *path, octet_error *err);
/* Flushes, fsyncs and renames over the destination; on failure removes the temporary. */
octet_status octet_atomic_commit(octet_atomic_file *af, octet_error *err);
/* Removes the temporary; safe after a commit (no-op) and on a zeroed struct. */
void octet_atomic_abort(octet_atomic_file *af);

#endif
