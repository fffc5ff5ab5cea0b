/* ort-adapter.c — ONNX Runtime's custom-op entry point, RegisterCustomOps: octet's int8 kernels
 * as ops of domain "ai.octet". Each ORT kernel instance wraps one octet kernel, created once from
 * the node's attributes and constant inputs and run through the octet_kernel table, so whatever
 * ISA variant the table selects serves ORT too. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "ops/registry.h"
#include "plugin/ort-api.h"

#define OCTET_ORT_DOMAIN "ai.octet"
#define MAX_IN 9
#define MS "com.microsoft"

/* Input roles: the three int8 element types a variant fixes (X: activations in, W: weights,
 * Y: activations out), then fixed types. */
enum { R_X, R_W, R_Y, R_F32, R_I32 };
enum { W_CONV, W_MATMUL, W_ELEMENTS };

typedef struct attr_desc {
  const char *name;
  int32_t type; /* octet_attr_type */
} attr_desc;

/* One ai.octet op: the same inputs and attributes as the ONNX / com.microsoft op it names. ORT
 * cannot list a node's attributes, so every attribute the kernel reads is named here. */
typedef struct op_desc {
  const char *name;
  const char *octet_domain; /* the domain octet's kernel table files the op under */
  int32_t opset;
  size_t n_in;
  uint8_t role[MAX_IN];
  uint16_t optional; /* bit i: input i may be absent */
  uint8_t work;      /* W_*: how to estimate a run's multiply-adds */
  bool one_type;     /* every int8 input and the output share one type (com.microsoft ops) */
  const attr_desc *attrs;
  size_t n_attrs;
} op_desc;

static const attr_desc conv_attrs[] = {
    {"auto_pad", OCTET_ATTR_STRING}, {"group", OCTET_ATTR_INT},     {"dilations", OCTET_ATTR_INTS},
    {"kernel_shape", OCTET_ATTR_INTS}, {"pads", OCTET_ATTR_INTS}, {"strides", OCTET_ATTR_INTS}};
static const attr_desc gemm_attrs[] = {
    {"alpha", OCTET_ATTR_FLOAT}, {"transA", OCTET_ATTR_INT}, {"transB", OCTET_ATTR_INT}};
static const attr_desc avgpool_attrs[] = {
    {"auto_pad", OCTET_ATTR_STRING},       {"ceil_mode", OCTET_ATTR_INT},
    {"channels_last", OCTET_ATTR_INT},     {"count_include_pad", OCTET_ATTR_INT},
    {"kernel_shape", OCTET_ATTR_INTS},     {"pads", OCTET_ATTR_INTS},
    {"strides", OCTET_ATTR_INTS}};
static const attr_desc gap_attrs[] = {{"channels_last", OCTET_ATTR_INT}};
static const attr_desc leaky_attrs[] = {{"alpha", OCTET_ATTR_FLOAT}};
static const attr_desc softmax_attrs[] = {{"axis", OCTET_ATTR_INT}, {"opset", OCTET_ATTR_INT}};

/* QGemm's y_scale/y_zero_point are required here: ORT infers a custom op's output type from its
 * last int8 input, which is y_zero_point only when it is there (float-output QGemm stays ORT's). */
static const op_desc op_descs[] = {
    {"QLinearConv", "", 10, 9, {R_X, R_F32, R_X, R_W, R_F32, R_W, R_F32, R_Y, R_I32}, 1u << 8,
     W_CONV, false, conv_attrs, OCTET_COUNTOF(conv_attrs)},
    {"QLinearMatMul", "", 10, 8, {R_X, R_F32, R_X, R_W, R_F32, R_W, R_F32, R_Y}, 0, W_MATMUL,
     false, NULL, 0},
    {"QGemm", MS, 1, 9, {R_X, R_F32, R_X, R_W, R_F32, R_W, R_I32, R_F32, R_Y},
     (1u << 2) | (1u << 5) | (1u << 6), W_MATMUL, false, gemm_attrs, OCTET_COUNTOF(gemm_attrs)},
    /* com.microsoft's single-type int8 ops, so a whole QOperator model can run on octet. */
    {"QLinearAdd", MS, 1, 8, {R_X, R_F32, R_X, R_X, R_F32, R_X, R_F32, R_Y},
     (1u << 2) | (1u << 5) | (1u << 7), W_ELEMENTS, true, NULL, 0},
    {"QLinearMul", MS, 1, 8, {R_X, R_F32, R_X, R_X, R_F32, R_X, R_F32, R_Y},
     (1u << 2) | (1u << 5) | (1u << 7), W_ELEMENTS, true, NULL, 0},
    {"QLinearLeakyRelu", MS, 1, 5, {R_X, R_F32, R_X, R_F32, R_Y}, (1u << 2) | (1u << 4),
     W_ELEMENTS, true, leaky_attrs, OCTET_COUNTOF(leaky_attrs)},
    {"QLinearSigmoid", MS, 1, 5, {R_X, R_F32, R_X, R_F32, R_Y}, (1u << 2) | (1u << 4),
     W_ELEMENTS, true, NULL, 0},
    {"QLinearSoftmax", MS, 1, 5, {R_X, R_F32, R_X, R_F32, R_Y}, (1u << 2) | (1u << 4),
     W_ELEMENTS, true, softmax_attrs, OCTET_COUNTOF(softmax_attrs)},
    {"QLinearGlobalAveragePool", MS, 1, 5, {R_X, R_F32, R_X, R_F32, R_Y}, (1u << 2) | (1u << 4),
     W_ELEMENTS, true, gap_attrs, OCTET_COUNTOF(gap_attrs)},
    {"QLinearAveragePool", MS, 1, 5, {R_X, R_F32, R_X, R_F32, R_Y}, (1u << 2) | (1u << 4),
     W_ELEMENTS, true, avgpool_attrs, OCTET_COUNTOF(avgpool_attrs)},
};

/* One OrtCustomOp per (op, X type, W type, Y type): ORT picks the variant matching the node's
 * types, and a fixed type per input lets ORT infer the output type. */
typedef struct ort_op {
  OrtCustomOp base; /* first: ORT hands back &base */
  const op_desc *desc;
  int32_t q[3]; /* element types of R_X, R_W, R_Y */
} ort_op;

#define N_VARIANTS 8
static ort_op op_table[OCTET_COUNTOF(op_descs) * N_VARIANTS];
static size_t op_table_len;
static pthread_once_t op_table_once = PTHREAD_ONCE_INIT;

typedef struct ort_kernel {
  const OrtApi *api;
  const ort_op *op;
  const octet_kernel *k;
  void *state;
  char node[128];
  uint32_t n_threads;
  bool trans_a; /* QGemm's transA, for the work estimate */
  pthread_mutex_t ws_lock; /* ORT may run one session from several threads at once */
  void *ws;
  size_t ws_size;
} ort_kernel;

static const ort_op *op_of(const OrtCustomOp *op) { return (const ort_op *)op; }

static OrtStatus *ort_fail(const OrtApi *api, OrtErrorCode code, const char *fmt, ...)
    OCTET_PRINTF(3, 4);
static OrtStatus *ort_fail(const OrtApi *api, OrtErrorCode code, const char *fmt, ...) {
  char msg[OCTET_ERROR_MESSAGE_SIZE + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return api->CreateStatus(code, msg);
}

static OrtErrorCode ort_code(octet_status st) {
  switch (st) {
  case OCTET_STATUS_INVALID_ARGUMENT: return ORT_INVALID_ARGUMENT;
  case OCTET_STATUS_INVALID_MODEL: return ORT_INVALID_GRAPH;
  case OCTET_STATUS_UNSUPPORTED: return ORT_NOT_IMPLEMENTED;
  default: return ORT_FAIL;
  }
}

/* ---- schema callbacks ---- */

static const char *op_name(const OrtCustomOp *op) { return op_of(op)->desc->name; }
static const char *op_ep(const OrtCustomOp *op) { (void)op; return NULL; }
static size_t op_in_count(const OrtCustomOp *op) { return op_of(op)->desc->n_in; }
static size_t op_out_count(const OrtCustomOp *op) { (void)op; return 1; }

static ONNXTensorElementDataType op_in_type(const OrtCustomOp *op, size_t i) {
  const ort_op *o = op_of(op);
  if (i >= o->desc->n_in) return OCTET_DTYPE_UNDEFINED;
  int r = o->desc->role[i];
  return r == R_F32 ? OCTET_DTYPE_FLOAT : r == R_I32 ? OCTET_DTYPE_INT32 : o->q[r];
}
static ONNXTensorElementDataType op_out_type(const OrtCustomOp *op, size_t i) {
  (void)i;
  return op_of(op)->q[R_Y];
}
static OrtCustomOpInputOutputCharacteristic op_in_char(const OrtCustomOp *op, size_t i) {
  const ort_op *o = op_of(op);
  return i < o->desc->n_in && (o->desc->optional >> i) & 1u ? INPUT_OUTPUT_OPTIONAL
                                                              : INPUT_OUTPUT_REQUIRED;
}
static OrtCustomOpInputOutputCharacteristic op_out_char(const OrtCustomOp *op, size_t i) {
  (void)op, (void)i;
  return INPUT_OUTPUT_REQUIRED;
}
static OrtMemType op_in_mem(const OrtCustomOp *op, size_t i) {
  (void)op, (void)i;
  return OrtMemTypeDefault;
}
static int op_one(const OrtCustomOp *op) { (void)op; return 1; }

/* ---- ORT tensors as octet views ---- */

static OrtStatus *view_of(const ort_kernel *kn, const OrtValue *v, const char *what, size_t idx,
                          octet_tensor *t) {
  const OrtApi *api = kn->api;
  OrtTensorTypeAndShapeInfo *info = NULL;
  OrtStatus *s = api->GetTensorTypeAndShape(v, &info);
  if (s) return s;
  ONNXTensorElementDataType et = 0;
  size_t rank = 0;
  memset(t, 0, sizeof *t);
  if (!(s = api->GetTensorElementType(info, &et)) && !(s = api->GetDimensionsCount(info, &rank))) {
    if (rank > OCTET_MAX_RANK)
      s = ort_fail(api, ORT_INVALID_ARGUMENT, "octet %s node '%s': %s %zu has rank %zu (max %d)",
                   kn->op->desc->name, kn->node, what, idx, rank, OCTET_MAX_RANK);
    else
      s = api->GetDimensions(info, t->dims, rank);
  }
  api->ReleaseTensorTypeAndShapeInfo(info);
  if (s) return s;
  t->dtype = et;
  t->rank = (int32_t)rank;
  /* Inputs are only read; GetTensorMutableData is the one accessor every version has. */
  return api->GetTensorMutableData((OrtValue *)v, &t->data);
}

/* ---- create ---- */

typedef struct create_scratch {
  octet_attr attrs[8];
  size_t n_attrs;
  void *attr_mem[8];
  int32_t dtypes[MAX_IN];
  octet_tensor consts[MAX_IN];
  const octet_tensor *const_ptr[MAX_IN];
} create_scratch;

static void scratch_free(create_scratch *sc) {
  for (size_t i = 0; i < OCTET_COUNTOF(sc->attr_mem); i++) octet_free(sc->attr_mem[i]);
}

/* Reads one attribute into sc; an attribute the node lacks is left out (the kernel's default). */
static OrtStatus *read_attr(const ort_kernel *kn, const OrtKernelInfo *info, const attr_desc *a,
                            create_scratch *sc) {
  const OrtApi *api = kn->api;
  if (sc->n_attrs >= OCTET_COUNTOF(sc->attrs))
    return ort_fail(api, ORT_FAIL, "octet %s: more attributes than the adapter holds",
                    kn->op->desc->name);
  octet_attr *out = &sc->attrs[sc->n_attrs];
  void **mem = &sc->attr_mem[sc->n_attrs];
  memset(out, 0, sizeof *out);
  out->name = a->name;
  out->type = a->type;
  OrtStatus *s = NULL;
  size_t n = 0;
  switch (a->type) {
  case OCTET_ATTR_INT: s = api->KernelInfoGetAttribute_int64(info, a->name, &out->i); break;
  case OCTET_ATTR_FLOAT: s = api->KernelInfoGetAttribute_float(info, a->name, &out->f); break;
  case OCTET_ATTR_STRING:
  case OCTET_ATTR_INTS:
    /* Two calls: the first asks for the size. */
    s = a->type == OCTET_ATTR_STRING ? api->KernelInfoGetAttribute_string(info, a->name, NULL, &n)
                                     : api->KernelInfoGetAttributeArray_int64(info, a->name, NULL, &n);
    if (s) break;
    size_t bytes;
    if (!octet_mul_size(n ? n : 1, a->type == OCTET_ATTR_STRING ? 1 : sizeof(int64_t), &bytes) ||
        !(*mem = octet_calloc(1, bytes)))
      return ort_fail(api, ORT_FAIL, "octet %s node '%s': out of memory reading attribute %s",
                      kn->op->desc->name, kn->node, a->name);
    if (a->type == OCTET_ATTR_STRING) {
      if (n && (s = api->KernelInfoGetAttribute_string(info, a->name, *mem, &n))) break;
      out->s = *mem;
      out->s_len = strlen(out->s);
    } else {
      if (n && (s = api->KernelInfoGetAttributeArray_int64(info, a->name, *mem, &n))) break;
      out->ints = *mem;
      out->n = n;
    }
    break;
  default: break;
  }
  if (s) {
    /* ORT reports an absent attribute as an error status: absent means default. */
    api->ReleaseStatus(s);
    octet_free(*mem);
    *mem = NULL;
    return NULL;
  }
  sc->n_attrs++;
  return NULL;
}

static void kernel_free(ort_kernel *kn) {
  if (!kn) return;
  if (kn->k && kn->state) kn->k->destroy(kn->state);
  pthread_mutex_destroy(&kn->ws_lock);
  octet_free(kn->ws);
  octet_free(kn);
}

static OrtStatus *kernel_create(const OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info,
                                void **out) {
  const ort_op *o = op_of(op);
  *out = NULL;
  ort_kernel *kn = octet_calloc(1, sizeof *kn);
  if (!kn) return api->CreateStatus(ORT_FAIL, "octet: out of memory creating a kernel");
  kn->api = api;
  kn->op = o;
  pthread_mutex_init(&kn->ws_lock, NULL);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  kn->n_threads = cpus > 1 ? (uint32_t)(cpus > 256 ? 256 : cpus) : 1;
  size_t len = sizeof kn->node;
  OrtStatus *s = api->KernelInfo_GetNodeName(info, kn->node, &len);
  if (s) { /* a name longer than the buffer: keep a placeholder, names are only for messages */
    api->ReleaseStatus(s);
    snprintf(kn->node, sizeof kn->node, "%s", "?");
  }

  create_scratch sc;
  memset(&sc, 0, sizeof sc);
  size_t n_in = 0, n_out = 0;
  if ((s = api->KernelInfo_GetInputCount(info, &n_in)) ||
      (s = api->KernelInfo_GetOutputCount(info, &n_out)))
    goto fail;
  if (n_in > o->desc->n_in || n_out != 1) {
    s = ort_fail(api, ORT_INVALID_GRAPH, "octet %s node '%s': %zu inputs and %zu outputs (want <= %zu and 1)",
                 o->desc->name, kn->node, n_in, n_out, o->desc->n_in);
    goto fail;
  }
  for (size_t i = 0; i < n_in; i++) {
    OrtTypeInfo *ti = NULL;
    const OrtTensorTypeAndShapeInfo *tti = NULL;
    ONNXTensorElementDataType et = OCTET_DTYPE_UNDEFINED;
    /* An absent optional input has no type: it stays UNDEFINED, as octet_kernel_info wants. */
    OrtStatus *e = api->KernelInfo_GetInputTypeInfo(info, i, &ti);
    if (!e && ti) e = api->CastTypeInfoToTensorInfo(ti, &tti);
    if (!e && tti) e = api->GetTensorElementType(tti, &et);
    if (e) api->ReleaseStatus(e), et = OCTET_DTYPE_UNDEFINED;
    if (ti) api->ReleaseTypeInfo(ti);
    sc.dtypes[i] = et;
    if (et == OCTET_DTYPE_UNDEFINED) continue;
    int is_const = 0;
    const OrtValue *cv = NULL;
    e = api->KernelInfoGetConstantInput_tensor(info, i, &is_const, &cv);
    if (e) {
      api->ReleaseStatus(e);
      continue;
    }
    if (is_const && cv) {
      if ((s = view_of(kn, cv, "input", i, &sc.consts[i]))) goto fail;
      sc.const_ptr[i] = &sc.consts[i];
    }
  }
  for (size_t a = 0; a < o->desc->n_attrs; a++)
    if ((s = read_attr(kn, info, &o->desc->attrs[a], &sc))) goto fail;

  for (size_t a = 0; a < sc.n_attrs; a++)
    if (!strcmp(sc.attrs[a].name, "transA")) kn->trans_a = sc.attrs[a].i != 0;

  kn->k = octet_ops_find(octet_ops_plugin(), o->desc->octet_domain, o->desc->name, o->desc->opset);
  if (!kn->k) {
    s = ort_fail(api, ORT_NOT_IMPLEMENTED, "octet %s node '%s': octet's kernel table has no %s",
                 o->desc->name, kn->node, o->desc->name);
    goto fail;
  }
  octet_kernel_info ki = {
      .node_name = kn->node,
      .domain = o->desc->octet_domain,
      .op_type = o->desc->name,
      .opset = o->desc->opset,
      .n_attrs = sc.n_attrs,
      .attrs = sc.attrs,
      .n_inputs = n_in,
      .input_dtypes = sc.dtypes,
      .constant_inputs = sc.const_ptr,
      .n_outputs = 1,
  };
  int32_t out_dt[1] = {0};
  octet_error err = {0};
  octet_status st = kn->k->create(&ki, out_dt, &kn->state, &err);
  if (st) {
    kn->state = NULL;
    s = ort_fail(api, ort_code(st), "octet %s: %s", o->desc->name, err.message);
    goto fail;
  }
  if (out_dt[0] != o->q[R_Y]) {
    s = ort_fail(api, ORT_INVALID_GRAPH, "octet %s node '%s': the kernel produces %s, ORT expects %s",
                 o->desc->name, kn->node, octet_dtype_name(out_dt[0]), octet_dtype_name(o->q[R_Y]));
    goto fail;
  }
  scratch_free(&sc);
  *out = kn;
  return NULL;
fail:
  scratch_free(&sc);
  kernel_free(kn);
  return s;
}

/* ---- compute ---- */

/* octet's parallel_for over ORT's intra-op pool: n items in contiguous chunks. */
typedef struct ort_host_ctx {
  const OrtApi *api;
  const OrtKernelContext *ctx;
  uint32_t n_threads;
} ort_host_ctx;

typedef struct ort_job {
  octet_task_fn task;
  void *arg;
  size_t n, chunks;
} ort_job;

static void ort_job_run(void *p, size_t i) {
  const ort_job *j = p;
  size_t b = j->n / j->chunks * i + (i < j->n % j->chunks ? i : j->n % j->chunks);
  size_t e = b + j->n / j->chunks + (i < j->n % j->chunks ? 1 : 0);
  if (b < e) j->task(j->arg, b, e);
}

static void ort_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  ort_host_ctx *h = ctx;
  size_t chunks = h->n_threads; /* as octet's own pool: one contiguous range per thread */
  if (chunks > n) chunks = n;
  ort_job j = {task, arg, n, chunks};
  OrtStatus *s = h->api->KernelContext_ParallelFor(h->ctx, ort_job_run, chunks, 0, &j);
  if (s) {
    /* Every chunk writes only its own range from unchanged inputs: running all of it again
     * serially gives the same bytes. */
    h->api->ReleaseStatus(s);
    task(arg, 0, n);
  }
}

/* Below this many multiply-adds a run takes ~0.2 ms on one core: splitting it over ORT's pool
 * (tens of microseconds per dispatch, more on a loaded machine, and conv kernels dispatch once
 * per image and group) costs more than it saves. Measured on fmnist_cnn: 2 threads were 3x
 * slower than 1 without this gate. */
#define PARALLEL_MIN_MACS (1.0 * (1 << 20))

static double run_macs(const ort_kernel *kn, const octet_tensor *const *in, size_t n_in,
                       const octet_tensor *y) {
  const octet_tensor *a = n_in > 0 ? in[0] : NULL, *w = n_in > 3 ? in[3] : NULL;
  double out = 1, k = 1;
  for (int32_t i = 0; i < y->rank; i++) out *= (double)y->dims[i];
  if (kn->op->desc->work == W_ELEMENTS || !a || !w || a->rank < 1) {
    double x = 1;
    for (int32_t i = 0; a && i < a->rank; i++) x *= (double)a->dims[i];
    return x > out ? x : out;
  }
  if (kn->op->desc->work == W_CONV)
    for (int32_t i = 1; i < w->rank; i++) k *= (double)w->dims[i];
  else
    k = (double)a->dims[kn->trans_a && a->rank == 2 ? 0 : a->rank - 1];
  return out * k;
}

static OrtStatus *kernel_compute(void *p, OrtKernelContext *ctx) {
  ort_kernel *kn = p;
  if (!kn) return NULL;
  const OrtApi *api = kn->api;
  size_t n_in = 0;
  OrtStatus *s = api->KernelContext_GetInputCount(ctx, &n_in);
  if (s) return s;
  if (n_in > MAX_IN) n_in = MAX_IN;
  octet_tensor in[MAX_IN];
  const octet_tensor *inp[MAX_IN];
  for (size_t i = 0; i < n_in; i++) {
    const OrtValue *v = NULL;
    if ((s = api->KernelContext_GetInput(ctx, i, &v))) return s;
    inp[i] = NULL;
    if (!v) continue; /* absent optional input */
    if ((s = view_of(kn, v, "input", i, &in[i]))) return s;
    inp[i] = &in[i];
  }
  octet_tensor out;
  memset(&out, 0, sizeof out);
  size_t ws_bytes = 0;
  octet_error err = {0};
  octet_status st = kn->k->infer(kn->state, inp, n_in, &out, 1, &ws_bytes, &err);
  if (st) return ort_fail(api, ort_code(st), "octet %s: %s", kn->op->desc->name, err.message);
  OrtValue *ov = NULL;
  if ((s = api->KernelContext_GetOutput(ctx, 0, out.dims, (size_t)out.rank, &ov)) ||
      (s = api->GetTensorMutableData(ov, &out.data)))
    return s;

  uint32_t threads = run_macs(kn, inp, n_in, &out) < PARALLEL_MIN_MACS ? 1 : kn->n_threads;
  ort_host_ctx hc = {api, ctx, threads};
  octet_host host = {&hc, threads, ort_parallel_for};
  /* The cached workspace serves one call at a time; a concurrent call gets its own. */
  void *ws = NULL, *own = NULL;
  bool locked = pthread_mutex_trylock(&kn->ws_lock) == 0;
  if (locked && kn->ws_size < ws_bytes) {
    octet_free(kn->ws);
    kn->ws = octet_malloc(ws_bytes);
    kn->ws_size = kn->ws ? ws_bytes : 0;
  }
  if (locked && kn->ws_size >= ws_bytes) ws = kn->ws;
  else if (ws_bytes && !(ws = own = octet_malloc(ws_bytes))) {
    if (locked) pthread_mutex_unlock(&kn->ws_lock);
    return ort_fail(api, ORT_FAIL, "octet %s node '%s': out of memory for a %zu-byte workspace",
                    kn->op->desc->name, kn->node, ws_bytes);
  }
  st = kn->k->run(kn->state, inp, n_in, &out, 1, ws, &host, &err);
  if (locked) pthread_mutex_unlock(&kn->ws_lock);
  octet_free(own);
  if (st) return ort_fail(api, ort_code(st), "octet %s: %s", kn->op->desc->name, err.message);
  return NULL;
}

static void kernel_destroy(void *p) { kernel_free(p); }

/* Version-1 callbacks, for completeness: ORT calls the V2 ones for ops of version >= 16. */
static void *kernel_create_v1(const OrtCustomOp *op, const OrtApi *api, const OrtKernelInfo *info) {
  void *k = NULL;
  OrtStatus *s = kernel_create(op, api, info, &k);
  if (s) api->ReleaseStatus(s);
  return k;
}
static void kernel_compute_v1(void *p, OrtKernelContext *ctx) {
  ort_kernel *kn = p;
  if (!kn) return;
  OrtStatus *s = kernel_compute(p, ctx);
  if (s) kn->api->ReleaseStatus(s);
}

/* ---- registration ---- */

static void op_table_build(void) {
  static const int32_t q8[2] = {OCTET_DTYPE_UINT8, OCTET_DTYPE_INT8};
  size_t n = 0;
  for (size_t d = 0; d < OCTET_COUNTOF(op_descs); d++) {
    for (int v = 0; v < N_VARIANTS; v++) {
      if (op_descs[d].one_type && v != 0 && v != N_VARIANTS - 1) continue; /* all u8 or all s8 */
      ort_op *o = &op_table[n++];
      memset(o, 0, sizeof *o);
      o->desc = &op_descs[d];
      o->q[R_X] = q8[v & 1];
      o->q[R_W] = q8[(v >> 1) & 1];
      o->q[R_Y] = q8[(v >> 2) & 1];
      OrtCustomOp *c = &o->base;
      c->version = OCTET_ORT_API_VERSION;
      c->CreateKernel = kernel_create_v1;
      c->GetName = op_name;
      c->GetExecutionProviderType = op_ep;
      c->GetInputType = op_in_type;
      c->GetInputTypeCount = op_in_count;
      c->GetOutputType = op_out_type;
      c->GetOutputTypeCount = op_out_count;
      c->KernelCompute = kernel_compute_v1;
      c->KernelDestroy = kernel_destroy;
      c->GetInputCharacteristic = op_in_char;
      c->GetOutputCharacteristic = op_out_char;
      c->GetInputMemoryType = op_in_mem;
      c->GetVariadicInputMinArity = op_one;
      c->GetVariadicInputHomogeneity = op_one;
      c->GetVariadicOutputMinArity = op_one;
      c->GetVariadicOutputHomogeneity = op_one;
      c->CreateKernelV2 = kernel_create;
      c->KernelComputeV2 = kernel_compute;
    }
  }
  op_table_len = n;
}

/* ORT does not own a domain added to session options, and sessions built from those options use
 * it: domains live as long as the module. The list keeps them reachable. */
typedef struct domain_node {
  OrtCustomOpDomain *domain;
  struct domain_node *next;
} domain_node;
static domain_node *domains;
static pthread_mutex_t domains_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((visibility("default"))) OrtStatus *RegisterCustomOps(OrtSessionOptions *options,
                                                                    const OrtApiBase *base) {
  /* Without a table there is no way to build an OrtStatus: nothing can be registered or said. */
  if (!base || !base->GetApi) return NULL;
  const OrtApi *api = base->GetApi(OCTET_ORT_API_VERSION);
  if (!api) {
    /* Version 1 is the oldest table; its CreateStatus can still explain the refusal. */
    const OrtApi *v1 = base->GetApi(1);
    if (!v1 || !v1->CreateStatus) return NULL;
    char msg[256];
    snprintf(msg, sizeof msg,
             "octet: this ONNX Runtime (%s) does not provide C API version %u; octet's custom ops "
             "(domain " OCTET_ORT_DOMAIN ") need ONNX Runtime 1.17 or newer",
             base->GetVersionString ? base->GetVersionString() : "unknown version",
             OCTET_ORT_API_VERSION);
    return v1->CreateStatus(ORT_NOT_IMPLEMENTED, msg);
  }
  if (!options) return api->CreateStatus(ORT_INVALID_ARGUMENT, "octet: RegisterCustomOps needs session options");
  pthread_once(&op_table_once, op_table_build);
  domain_node *node = octet_calloc(1, sizeof *node);
  if (!node) return api->CreateStatus(ORT_FAIL, "octet: out of memory registering custom ops");
  OrtStatus *s = api->CreateCustomOpDomain(OCTET_ORT_DOMAIN, &node->domain);
  if (s) {
    octet_free(node);
    return s;
  }
  for (size_t i = 0; i < op_table_len && !s; i++)
    s = api->CustomOpDomain_Add(node->domain, &op_table[i].base);
  if (!s) s = api->AddCustomOpDomain(options, node->domain);
  if (s) {
    api->ReleaseCustomOpDomain(node->domain);
    octet_free(node);
    return s;
  }
  pthread_mutex_lock(&domains_lock);
  node->next = domains;
  domains = node;
  pthread_mutex_unlock(&domains_lock);
  return NULL;
}
