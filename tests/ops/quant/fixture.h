/* fixture.h — reader for the int8 case fixtures (scripts/gen-quant-cases): shared by the
 * statically linked kernel test and the dlopen host test, so it needs only libc and
 * octet_plugin.h. Tensors point into the loaded file (packed: copy before handing to kernels). */
#ifndef OCTET_TESTS_QUANT_FIXTURE_H
#define OCTET_TESTS_QUANT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet/octet_plugin.h"

static inline size_t fx_dtype_size(int32_t dt) {
  switch (dt) {
  case OCTET_DTYPE_FLOAT: case OCTET_DTYPE_INT32: return 4;
  case OCTET_DTYPE_UINT8: case OCTET_DTYPE_INT8: return 1;
  case OCTET_DTYPE_INT16: case OCTET_DTYPE_UINT16: return 2;
  case OCTET_DTYPE_INT64: return 8;
  default: return 0;
  }
}

/* ---- fixture reading ---- */

typedef struct fx_tensor {
  octet_tensor t;
  size_t bytes;
} fx_tensor;

typedef struct fx_case {
  uint32_t id;
  uint8_t source; /* 0 ORT, 1 numpy (ORT lacks the kernel), 2 exact (ORT saturates) */
  char op[40], domain[24];
  int32_t opset;
  size_t n_attrs;
  octet_attr attrs[16];
  char attr_names[16][32];
  char attr_strs[16][32];
  int64_t attr_ints[16][16];
  size_t n_inputs;
  bool present[32], is_const[32];
  fx_tensor in[32];
  size_t n_outputs;
  fx_tensor out[4];
} fx_case;

typedef struct fx_reader {
  const uint8_t *p, *end;
  bool bad;
} fx_reader;

static inline bool rd(fx_reader *r, void *dst, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) return !(r->bad = true);
  memcpy(dst, r->p, n);
  r->p += n;
  return true;
}

static inline void rd_str(fx_reader *r, char *dst, size_t cap) {
  uint16_t n = 0;
  rd(r, &n, 2);
  if (n >= cap) {
    r->bad = true;
    return;
  }
  rd(r, dst, n);
  dst[n] = 0;
}

static inline void rd_tensor(fx_reader *r, fx_tensor *t) {
  uint8_t rank = 0;
  memset(t, 0, sizeof *t);
  rd(r, &t->t.dtype, 4);
  rd(r, &rank, 1);
  if (rank > OCTET_MAX_RANK) {
    r->bad = true;
    return;
  }
  t->t.rank = rank;
  rd(r, t->t.dims, 8u * rank);
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)t->t.dims[i];
  t->bytes = n * fx_dtype_size(t->t.dtype);
  if (r->bad || (size_t)(r->end - r->p) < t->bytes) {
    r->bad = true;
    return;
  }
  t->t.data = (void *)r->p; /* points into the fixture: read-only inputs */
  r->p += t->bytes;
}

static inline bool rd_case(fx_reader *r, fx_case *c) {
  memset(c, 0, sizeof *c);
  rd(r, &c->id, 4);
  rd(r, &c->source, 1);
  rd_str(r, c->op, sizeof c->op);
  rd_str(r, c->domain, sizeof c->domain);
  rd(r, &c->opset, 4);
  uint32_t n = 0;
  rd(r, &n, 4);
  if (n > 16) return !(r->bad = true);
  c->n_attrs = n;
  for (uint32_t i = 0; i < n && !r->bad; i++) {
    octet_attr *a = &c->attrs[i];
    rd_str(r, c->attr_names[i], sizeof c->attr_names[i]);
    a->name = c->attr_names[i];
    uint8_t type = 0;
    rd(r, &type, 1);
    a->type = type;
    if (type == OCTET_ATTR_FLOAT) rd(r, &a->f, 4);
    else if (type == OCTET_ATTR_INT) rd(r, &a->i, 8);
    else if (type == OCTET_ATTR_STRING) {
      rd_str(r, c->attr_strs[i], sizeof c->attr_strs[i]);
      a->s = c->attr_strs[i];
      a->s_len = strlen(a->s);
    } else if (type == OCTET_ATTR_INTS) {
      uint32_t k = 0;
      rd(r, &k, 4);
      if (k > 16) return !(r->bad = true);
      rd(r, c->attr_ints[i], 8u * k);
      a->ints = c->attr_ints[i];
      a->n = k;
    } else {
      return !(r->bad = true);
    }
  }
  rd(r, &n, 4);
  if (n > 32) return !(r->bad = true);
  c->n_inputs = n;
  for (uint32_t i = 0; i < n && !r->bad; i++) {
    uint8_t flags = 0;
    rd(r, &flags, 1);
    c->present[i] = flags & 1;
    c->is_const[i] = flags & 2;
    if (c->present[i]) rd_tensor(r, &c->in[i]);
  }
  rd(r, &n, 4);
  if (n > 4) return !(r->bad = true);
  c->n_outputs = n;
  for (uint32_t i = 0; i < n && !r->bad; i++) rd_tensor(r, &c->out[i]);
  return !r->bad;
}

typedef struct fx_file {
  uint8_t *data;
  size_t size;
  uint32_t count;
} fx_file;

static inline int load_file(fx_file *fx, const char *env, const char *name) {
  const char *path = env ? getenv(env) : NULL;
  char buf[4096];
  if (!path) {
    const char *root = getenv("OCTET_SOURCE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/ops/quant/data/%s", root ? root : ".", name);
    path = buf;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  fx->data = size > 8 ? malloc((size_t)size) : NULL;
  if (!fx->data || fread(fx->data, 1, (size_t)size, f) != (size_t)size || memcmp(fx->data, "OQF1", 4)) {
    fclose(f);
    fprintf(stderr, "bad fixture %s\n", path);
    return -1;
  }
  fclose(f);
  fx->size = (size_t)size;
  memcpy(&fx->count, fx->data + 4, 4);
  return 0;
}


#endif
