/* octet_plugin.h — the versioned C ABI between a host runtime and octet's kernel module.
 * Self-contained: a host includes only this header and dlopens the module. */
#ifndef OCTET_PLUGIN_H
#define OCTET_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OCTET_PLUGIN_ABI_VERSION 1u
#define OCTET_PLUGIN_ENTRY "octet_plugin_get"
#define OCTET_MAX_RANK 8

/* Status codes shared by the whole project (the public API reuses them). */
typedef enum octet_status {
  OCTET_OK = 0,
  OCTET_STATUS_INVALID_ARGUMENT = 1, /* a caller passed something wrong (option, shape, dtype) */
  OCTET_STATUS_INVALID_MODEL = 2,    /* the model file or graph is malformed */
  OCTET_STATUS_UNSUPPORTED = 3,      /* valid, but octet does not implement it */
  OCTET_STATUS_OUT_OF_MEMORY = 4,
  OCTET_STATUS_IO = 5,               /* a file could not be opened, read or written */
  OCTET_STATUS_INTERNAL = 6,
} octet_status;

#define OCTET_ERROR_MESSAGE_SIZE 512
typedef struct octet_error {
  octet_status status;
  char message[OCTET_ERROR_MESSAGE_SIZE];
} octet_error;

/* Element types: the numbers are ONNX's TensorProto.DataType, so no table translates them. */
typedef enum octet_dtype {
  OCTET_DTYPE_UNDEFINED = 0,
  OCTET_DTYPE_FLOAT = 1,
  OCTET_DTYPE_UINT8 = 2,
  OCTET_DTYPE_INT8 = 3,
  OCTET_DTYPE_UINT16 = 4,
  OCTET_DTYPE_INT16 = 5,
  OCTET_DTYPE_INT32 = 6,
  OCTET_DTYPE_INT64 = 7,
  OCTET_DTYPE_STRING = 8,
  OCTET_DTYPE_BOOL = 9,
  OCTET_DTYPE_FLOAT16 = 10,
  OCTET_DTYPE_DOUBLE = 11,
  OCTET_DTYPE_UINT32 = 12,
  OCTET_DTYPE_UINT64 = 13,
  OCTET_DTYPE_COMPLEX64 = 14,
  OCTET_DTYPE_COMPLEX128 = 15,
  OCTET_DTYPE_BFLOAT16 = 16,
  OCTET_DTYPE_COUNT = 17,
} octet_dtype;

/* A dense, row-major, contiguous tensor. The host owns dims and data. */
typedef struct octet_tensor {
  int32_t dtype; /* octet_dtype */
  int32_t rank;
  int64_t dims[OCTET_MAX_RANK];
  void *data;
} octet_tensor;

/* Attribute types: ONNX's AttributeProto.AttributeType numbers. */
typedef enum octet_attr_type {
  OCTET_ATTR_UNDEFINED = 0,
  OCTET_ATTR_FLOAT = 1,
  OCTET_ATTR_INT = 2,
  OCTET_ATTR_STRING = 3,
  OCTET_ATTR_TENSOR = 4,
  OCTET_ATTR_GRAPH = 5,
  OCTET_ATTR_FLOATS = 6,
  OCTET_ATTR_INTS = 7,
  OCTET_ATTR_STRINGS = 8,
  OCTET_ATTR_TENSORS = 9,
  OCTET_ATTR_GRAPHS = 10,
} octet_attr_type;

typedef struct octet_attr {
  const char *name;
  int32_t type; /* octet_attr_type; GRAPH attributes are never passed to kernels */
  int64_t i;
  float f;
  const char *s; /* STRING: bytes, s_len of them, also NUL-terminated */
  size_t s_len;
  size_t n; /* element count of ints / floats / strings / tensors */
  const int64_t *ints;
  const float *floats;
  const char *const *strings;
  const octet_tensor *t;       /* TENSOR */
  const octet_tensor *tensors; /* TENSORS */
} octet_attr;

/* What a kernel sees when it is created, once per node. */
typedef struct octet_kernel_info {
  const char *node_name;
  const char *domain; /* "" for ai.onnx */
  const char *op_type;
  int32_t opset; /* the model's opset version for this domain */
  size_t n_attrs;
  const octet_attr *attrs;
  size_t n_inputs;
  const int32_t *input_dtypes;                 /* OCTET_DTYPE_UNDEFINED: optional input absent */
  const octet_tensor *const *constant_inputs;  /* entry non-NULL when the value is known now */
  size_t n_outputs;
} octet_kernel_info;

/* The host's thread pool. parallel_for calls task(arg, begin, end) over disjoint ranges that
 * cover [0, n); a kernel must give the same result for any split. */
typedef void (*octet_task_fn)(void *arg, size_t begin, size_t end);
typedef struct octet_host {
  void *ctx;
  uint32_t n_threads;
  void (*parallel_for)(void *ctx, size_t n, octet_task_fn task, void *arg);
} octet_host;

static inline void octet_parallel_for(const octet_host *host, size_t n, octet_task_fn task, void *arg) {
  if (n == 0) return;
  if (host && host->parallel_for && host->n_threads > 1 && n > 1)
    host->parallel_for(host->ctx, n, task, arg);
  else
    task(arg, 0, n);
}

/* Kernel flags. */
#define OCTET_KERNEL_ALIAS_INPUT0 (1u << 0) /* output 0 is input 0's bytes with a new shape: no run */
#define OCTET_KERNEL_INPLACE0 (1u << 1)     /* output 0 may share input 0's buffer when it dies */

/* In the inputs arrays below, a NULL entry is an absent optional input. Every output gets a
 * tensor (the host allocates unused optional outputs too). */

/* One operator implementation. Lifecycle: create (validate attributes and input dtypes, pre-pack
 * constant inputs, report output dtypes) -> infer (output shapes and workspace size from the
 * inputs, whose data is readable, so shape tensors can be used) -> run (never allocates) ->
 * destroy. Every call fills err on failure. */
typedef struct octet_kernel {
  const char *domain;
  const char *op_type;
  int32_t since_version; /* the entry serves opsets >= since_version (until a newer entry) */
  uint32_t flags;
  octet_status (*create)(const octet_kernel_info *info, int32_t *output_dtypes, void **state,
                         octet_error *err);
  octet_status (*infer)(void *state, const octet_tensor *const *inputs, size_t n_inputs,
                        octet_tensor *outputs, size_t n_outputs, size_t *workspace_bytes,
                        octet_error *err);
  octet_status (*run)(void *state, const octet_tensor *const *inputs, size_t n_inputs,
                      octet_tensor *outputs, size_t n_outputs, void *workspace,
                      const octet_host *host, octet_error *err);
  void (*destroy)(void *state);
} octet_kernel;

typedef struct octet_plugin {
  uint32_t abi_version;
  const char *name;
  const char *version;
  const char *isa; /* the best ISA the module selected on this CPU, e.g. "avx512vnni" */
  size_t n_kernels;
  const octet_kernel *kernels;
} octet_plugin;

/* The lookup rule every host uses: the kernel for (domain, op_type) with the largest
 * since_version <= opset; "" and "ai.onnx" are the same domain. NULL when none. */
static inline int octet_plugin_same_domain_(const char *a, const char *b) {
  if (!a || !strcmp(a, "ai.onnx")) a = "";
  if (!b || !strcmp(b, "ai.onnx")) b = "";
  return strcmp(a, b) == 0;
}
static inline const octet_kernel *octet_plugin_find(const octet_plugin *p, const char *domain,
                                                    const char *op_type, int64_t opset) {
  const octet_kernel *best = NULL;
  for (size_t i = 0; i < p->n_kernels; i++) {
    const octet_kernel *k = &p->kernels[i];
    if (!k->op_type || strcmp(k->op_type, op_type) || !octet_plugin_same_domain_(k->domain, domain)) continue;
    if (k->since_version > opset) continue;
    if (!best || k->since_version > best->since_version) best = k;
  }
  return best;
}

/* The module's one entry point: NULL when abi_version is not one it speaks. */
typedef const octet_plugin *(*octet_plugin_get_fn)(uint32_t abi_version);

#ifdef __cplusplus
}
#endif
#endif
