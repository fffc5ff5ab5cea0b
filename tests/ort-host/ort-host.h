/* ort-host.h — a minimal ONNX Runtime host for tests and benchmarks: dlopens libonnxruntime,
 * takes the C API table through plugin/ort-api.h, builds sessions (optionally with octet's module
 * registered as a custom-op library) and runs one-input, one-output models on octet tensors. */
#ifndef OCTET_ORT_HOST_H
#define OCTET_ORT_HOST_H

#include <stddef.h>

#include "octet/octet.h"
#include "plugin/ort-api.h"

typedef struct ort_host {
  void *lib;
  const OrtApiBase *base;
  const OrtApi *api;
  OrtEnv *env;
  OrtMemoryInfo *cpu;
  char path[1024];
} ort_host;

/* Bytes per element of the types these models use (0: other), elements, and bytes of a tensor. */
size_t ort_host_dtype_size(int32_t dtype);
size_t ort_host_numel(const octet_tensor *t);
size_t ort_host_nbytes(const octet_tensor *t);

/* The library: $ORT_LIB, else the npm package that scripts/install-deps.sh installs. */
const char *ort_host_default_path(void);

/* 0: ready; 1: no library at path (callers skip); -1: error, message in msg. */
int ort_host_open(ort_host *h, const char *path, char *msg, size_t msg_size);
void ort_host_close(ort_host *h);

/* A session on model; plugin (NULL: none) is registered with RegisterCustomOpsLibrary_V2.
 * Returns ORT's status (NULL on success); the caller releases it. */
OrtStatus *ort_host_session(ort_host *h, const char *model, const char *plugin, int threads,
                            OrtSession **out);

/* Runs input 0 -> output 0. y->data is malloc'ed (free()). Returns ORT's status. */
OrtStatus *ort_host_run(ort_host *h, OrtSession *s, const octet_tensor *x, octet_tensor *y);

#endif
