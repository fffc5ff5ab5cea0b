/* ort-host.c — dlopen'ed ONNX Runtime behind plugin/ort-api.h, for tests/ort-host and
 * bench/ort-plugin. */
#include "ort-host.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t ort_host_dtype_size(int32_t dtype) {
  switch (dtype) {
  case OCTET_DTYPE_UINT8: case OCTET_DTYPE_INT8: case OCTET_DTYPE_BOOL: return 1;
  case OCTET_DTYPE_UINT16: case OCTET_DTYPE_INT16: case OCTET_DTYPE_FLOAT16: case OCTET_DTYPE_BFLOAT16: return 2;
  case OCTET_DTYPE_FLOAT: case OCTET_DTYPE_INT32: case OCTET_DTYPE_UINT32: return 4;
  case OCTET_DTYPE_INT64: case OCTET_DTYPE_UINT64: case OCTET_DTYPE_DOUBLE: return 8;
  default: return 0;
  }
}

size_t ort_host_numel(const octet_tensor *t) {
  size_t n = 1;
  for (int32_t i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

size_t ort_host_nbytes(const octet_tensor *t) { return ort_host_numel(t) * ort_host_dtype_size(t->dtype); }

const char *ort_host_default_path(void) {
  const char *env = getenv("ORT_LIB");
  if (env && *env) return env;
  return OCTET_ORT_DEFAULT_LIB;
}

int ort_host_open(ort_host *h, const char *path, char *msg, size_t msg_size) {
  memset(h, 0, sizeof *h);
  snprintf(h->path, sizeof h->path, "%s", path);
  if (access(path, F_OK) != 0) {
    snprintf(msg, msg_size, "no ONNX Runtime library at %s", path);
    return 1;
  }
  h->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h->lib) {
    snprintf(msg, msg_size, "cannot load %s: %s", path, dlerror());
    return -1;
  }
  OrtGetApiBase_fn get_base = (OrtGetApiBase_fn)(void (*)(void))dlsym(h->lib, "OrtGetApiBase");
  if (!get_base) {
    snprintf(msg, msg_size, "%s has no symbol OrtGetApiBase: not an ONNX Runtime library", path);
    ort_host_close(h);
    return -1;
  }
  h->base = get_base();
  h->api = h->base ? h->base->GetApi(OCTET_ORT_API_VERSION) : NULL;
  if (!h->api) {
    snprintf(msg, msg_size, "ONNX Runtime %s at %s does not provide C API version %u",
             h->base && h->base->GetVersionString ? h->base->GetVersionString() : "?", path,
             OCTET_ORT_API_VERSION);
    ort_host_close(h);
    return -1;
  }
  OrtStatus *s = h->api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "octet-ort-host", &h->env);
  if (!s) s = h->api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &h->cpu);
  if (s) {
    snprintf(msg, msg_size, "ONNX Runtime: %s", h->api->GetErrorMessage(s));
    h->api->ReleaseStatus(s);
    ort_host_close(h);
    return -1;
  }
  return 0;
}

void ort_host_close(ort_host *h) {
  if (h->api) {
    if (h->cpu) h->api->ReleaseMemoryInfo(h->cpu);
    if (h->env) h->api->ReleaseEnv(h->env);
  }
  /* ORT stays mapped: it keeps process-wide state (CPU info, logging) that unloading would
   * strand, and a host loads it once anyway. */
  memset(h, 0, sizeof *h);
}

OrtStatus *ort_host_session(ort_host *h, const char *model, const char *plugin, int threads,
                            OrtSession **out) {
  const OrtApi *api = h->api;
  OrtSessionOptions *opt = NULL;
  *out = NULL;
  OrtStatus *s = api->CreateSessionOptions(&opt);
  if (!s) s = api->SetIntraOpNumThreads(opt, threads);
  if (!s) s = api->SetSessionLogSeverityLevel(opt, ORT_LOGGING_LEVEL_ERROR);
  if (!s) s = api->SetSessionGraphOptimizationLevel(opt, ORT_ENABLE_ALL);
  if (!s && getenv("ORT_HOST_NO_SPIN"))
    s = api->AddSessionConfigEntry(opt, "session.intra_op.allow_spinning", "0");
  if (!s && plugin) s = api->RegisterCustomOpsLibrary_V2(opt, plugin);
  if (!s) s = api->CreateSession(h->env, model, opt, out);
  if (opt) api->ReleaseSessionOptions(opt);
  return s;
}

static OrtStatus *io_name(ort_host *h, OrtSession *s, int output, char *buf, size_t size) {
  OrtAllocator *alloc = NULL;
  char *name = NULL;
  OrtStatus *st = h->api->GetAllocatorWithDefaultOptions(&alloc);
  if (!st) st = output ? h->api->SessionGetOutputName(s, 0, alloc, &name)
                       : h->api->SessionGetInputName(s, 0, alloc, &name);
  if (st) return st;
  snprintf(buf, size, "%s", name);
  return h->api->AllocatorFree(alloc, name);
}

OrtStatus *ort_host_run(ort_host *h, OrtSession *s, const octet_tensor *x, octet_tensor *y) {
  const OrtApi *api = h->api;
  char in_name[256], out_name[256];
  OrtStatus *st = io_name(h, s, 0, in_name, sizeof in_name);
  if (!st) st = io_name(h, s, 1, out_name, sizeof out_name);
  if (st) return st;
  OrtValue *xv = NULL, *yv = NULL;
  size_t xbytes = ort_host_nbytes(x);
  st = api->CreateTensorWithDataAsOrtValue(h->cpu, x->data, xbytes, x->dims, (size_t)x->rank,
                                           x->dtype, &xv);
  if (st) return st;
  const char *in_names[1] = {in_name}, *out_names[1] = {out_name};
  const OrtValue *ins[1] = {xv};
  st = api->Run(s, NULL, in_names, ins, 1, out_names, 1, &yv);
  api->ReleaseValue(xv);
  if (st) return st;
  OrtTensorTypeAndShapeInfo *info = NULL;
  ONNXTensorElementDataType et = 0;
  size_t rank = 0;
  void *data = NULL;
  memset(y, 0, sizeof *y);
  st = api->GetTensorTypeAndShape(yv, &info);
  if (!st) st = api->GetTensorElementType(info, &et);
  if (!st) st = api->GetDimensionsCount(info, &rank);
  if (!st && rank > OCTET_MAX_RANK) st = api->CreateStatus(ORT_FAIL, "output rank too large");
  if (!st) st = api->GetDimensions(info, y->dims, rank);
  if (info) api->ReleaseTensorTypeAndShapeInfo(info);
  if (!st) st = api->GetTensorMutableData(yv, &data);
  if (!st) {
    y->dtype = et;
    y->rank = (int32_t)rank;
    size_t bytes = ort_host_nbytes(y);
    y->data = malloc(bytes ? bytes : 1);
    if (!y->data) st = api->CreateStatus(ORT_FAIL, "out of memory");
    else memcpy(y->data, data, bytes);
  }
  api->ReleaseValue(yv);
  return st;
}
