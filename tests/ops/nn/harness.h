/* harness.h — runs one kernel of the ops table the way a host does (create, infer, allocate,
 * run, destroy), plus random data and comparison helpers for the nn kernel tests. */
#ifndef OCTET_TEST_NN_HARNESS_H
#define OCTET_TEST_NN_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "ops/registry.h"

typedef struct th_attrs {
  octet_attr a[16];
  int64_t ints[16][8];
  size_t n;
} th_attrs;

static inline void th_int(th_attrs *t, const char *name, int64_t v) {
  octet_attr *a = &t->a[t->n++];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->type = OCTET_ATTR_INT;
  a->i = v;
}
static inline void th_float(th_attrs *t, const char *name, float v) {
  octet_attr *a = &t->a[t->n++];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->type = OCTET_ATTR_FLOAT;
  a->f = v;
}
static inline void th_str(th_attrs *t, const char *name, const char *v) {
  octet_attr *a = &t->a[t->n++];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->type = OCTET_ATTR_STRING;
  a->s = v;
  a->s_len = strlen(v);
}
static inline void th_ints(th_attrs *t, const char *name, const int64_t *v, size_t n) {
  size_t i = t->n++;
  octet_attr *a = &t->a[i];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->type = OCTET_ATTR_INTS;
  memcpy(t->ints[i], v, n * sizeof *v);
  a->ints = t->ints[i];
  a->n = n;
}

static inline octet_tensor th_tensor(int32_t dtype, int rank, const int64_t *dims, void *data) {
  octet_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dtype;
  t.rank = rank;
  memcpy(t.dims, dims, (size_t)rank * sizeof *dims);
  t.data = data;
  return t;
}

static inline size_t th_numel(const octet_tensor *t) {
  size_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

static uint64_t th_rng = 88172645463325252ull;
static inline float th_randf(void) { /* uniform in [-1, 1) */
  th_rng ^= th_rng << 13;
  th_rng ^= th_rng >> 7;
  th_rng ^= th_rng << 17;
  return (float)((th_rng >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}
static inline int th_randi(int lo, int hi) { /* [lo, hi] */
  return lo + (int)((th_randf() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1);
}
static inline float *th_random(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; i++) p[i] = th_randf();
  return p;
}

/* A host that splits [0, n) into `chunks` ranges, runs them last-to-first (a different order
 * and split than the default), to check thread-count independence without threads. */
typedef struct th_pool {
  size_t chunks;
} th_pool;
static inline void th_parallel_for(void *ctx, size_t n, octet_task_fn task, void *arg) {
  th_pool *p = ctx;
  size_t c = p->chunks < n ? p->chunks : n;
  for (size_t i = c; i-- > 0;) task(arg, n * i / c, n * (i + 1) / c);
}

/* Runs op with inputs (NULL entries absent); is_const[i] marks inputs given at create.
 * Outputs get malloc'd data the caller frees. Returns the first failing status. */
static inline octet_status th_run(const char *op, int opset, const th_attrs *attrs,
                                  const octet_tensor *const *ins, size_t n_in,
                                  const bool *is_const, octet_tensor *outs, size_t n_out,
                                  const octet_host *host, octet_error *err) {
  const octet_kernel *k = octet_ops_find(octet_ops_plugin(), "", op, opset);
  if (!k) return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "no kernel %s", op);
  int32_t dts[8];
  const octet_tensor *consts[8];
  for (size_t i = 0; i < n_in; i++) {
    dts[i] = ins[i] ? ins[i]->dtype : OCTET_DTYPE_UNDEFINED;
    consts[i] = ins[i] && is_const && is_const[i] ? ins[i] : NULL;
  }
  octet_kernel_info info = {.node_name = "test", .domain = "", .op_type = op, .opset = opset,
                            .n_attrs = attrs ? attrs->n : 0, .attrs = attrs ? attrs->a : NULL,
                            .n_inputs = n_in, .input_dtypes = dts, .constant_inputs = consts,
                            .n_outputs = n_out};
  int32_t odt[4];
  void *state = NULL;
  octet_status st = k->create(&info, odt, &state, err);
  if (st) return st;
  size_t ws = 0;
  memset(outs, 0, n_out * sizeof *outs);
  st = k->infer(state, ins, n_in, outs, n_out, &ws, err);
  if (!st) {
    for (size_t i = 0; i < n_out; i++) {
      size_t bytes = th_numel(&outs[i]) * octet_dtype_size(outs[i].dtype);
      outs[i].data = malloc(bytes ? bytes : 1);
      memset(outs[i].data, 0xcc, bytes); /* garbage: kernels must write every element */
    }
    void *w = malloc(ws ? ws : 1);
    st = k->run(state, ins, n_in, outs, n_out, w, host, err);
    free(w);
  }
  k->destroy(state);
  return st;
}

/* max |a - b| / (atol + rtol |b|) <= 1 over n values; prints the first offender. */
static inline int th_close(const float *a, const float *b, size_t n, float rtol, float atol) {
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (!(d <= atol + rtol * fabsf(b[i]))) {
      printf("  mismatch at %zu: got %.9g want %.9g\n", i, (double)a[i], (double)b[i]);
      return 0;
    }
  }
  return 1;
}

#endif
