/* calibrator.c — one histogram per observed float tensor, partial states for sharding, and the
 * calibration table (JSON) and TensorRT cache writers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calibrator.h"

#define STATE_MAGIC "OCTETCAL"
#define STATE_VERSION 1u

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

octet_status octet_calibrator_create(const octet_calibrator_options *options,
                                     octet_calibrator **out, octet_error *err) {
  uint32_t bins = options && options->bins_per_side ? options->bins_per_side : 2048;
  if (bins < 8 || bins > (1u << 20) || (bins & (bins - 1)))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "histogram bins per side must be a power of two in [8, 2^20], got %u", bins);
  octet_calibrator *c = octet_calloc(1, sizeof *c);
  if (!c) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  c->half_bins = bins;
  *out = c;
  return OCTET_OK;
}

void octet_calibrator_destroy(octet_calibrator *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    octet_hist_free(&c->entries[i].hist);
    octet_free(c->entries[i].name);
  }
  octet_free(c->entries);
  octet_free(c->slots);
  octet_free(c);
}

static octet_status grow_slots(octet_calibrator *c, octet_error *err) {
  size_t cap = c->cap_slots ? 2 * c->cap_slots : 64;
  size_t *slots = octet_malloc(cap * sizeof *slots);
  if (!slots) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < cap; i++) slots[i] = SIZE_MAX;
  for (size_t e = 0; e < c->n; e++) {
    size_t s = hash_name(c->entries[e].name) & (cap - 1);
    while (slots[s] != SIZE_MAX) s = (s + 1) & (cap - 1);
    slots[s] = e;
  }
  octet_free(c->slots);
  c->slots = slots;
  c->cap_slots = cap;
  return OCTET_OK;
}

octet_calib_entry *octet_calibrator_find(const octet_calibrator *c, const char *name) {
  if (!c->cap_slots) return NULL;
  size_t s = hash_name(name) & (c->cap_slots - 1);
  while (c->slots[s] != SIZE_MAX) {
    if (!strcmp(c->entries[c->slots[s]].name, name)) return &c->entries[c->slots[s]];
    s = (s + 1) & (c->cap_slots - 1);
  }
  return NULL;
}

octet_status octet_calibrator_entry(octet_calibrator *c, const char *name, octet_calib_entry **out,
                                    octet_error *err) {
  octet_calib_entry *e = octet_calibrator_find(c, name);
  if (e) {
    *out = e;
    return OCTET_OK;
  }
  octet_status st;
  if (2 * (c->n + 1) > c->cap_slots && (st = grow_slots(c, err))) return st;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 32;
    octet_calib_entry *entries = octet_realloc(c->entries, cap * sizeof *entries);
    if (!entries) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    c->entries = entries;
    c->cap = cap;
  }
  e = &c->entries[c->n];
  memset(e, 0, sizeof *e);
  e->rank = -1;
  if (!(e->name = octet_strdup(name))) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if ((st = octet_hist_init(&e->hist, c->half_bins, err))) {
    octet_free(e->name);
    return st;
  }
  size_t s = hash_name(name) & (c->cap_slots - 1);
  while (c->slots[s] != SIZE_MAX) s = (s + 1) & (c->cap_slots - 1);
  c->slots[s] = c->n++;
  *out = e;
  return OCTET_OK;
}

/* Big activations are binned from a fixed subsample: every k-th value of each sample, k a power
 * of two dividing the per-sample size, leaving at least OCTET_CALIB_BINNED_PER_SAMPLE values a
 * sample. Min, max and counts still see every value. Because the pattern restarts with each
 * sample, the histogram does not depend on batch sizes, so shards still merge exactly. Tensors
 * whose first axis is not the batch (the caller says the batch with octet_calibrator_set_batch)
 * are binned whole. Binning every value of every tensor cost as much as inference itself on
 * PaddleOCR det, whose hundreds of elementwise ops each produce megabytes. */
#define OCTET_CALIB_BINNED_PER_SAMPLE 16384

static size_t sample_stride(const octet_calibrator *c, const octet_tensor *t, size_t numel) {
  if (!c->batch || t->rank < 1 || t->dims[0] != (int64_t)c->batch) return 1;
  size_t per = numel / c->batch, k = 1;
  while (per % (2 * k) == 0 && per / (2 * k) >= OCTET_CALIB_BINNED_PER_SAMPLE) k *= 2;
  return k;
}

void octet_calibrator_set_batch(octet_calibrator *c, uint64_t batch) { c->batch = batch; }

octet_status octet_calibrator_observe(octet_calibrator *c, const char *name,
                                      const octet_tensor *value, octet_error *err) {
  if (value->dtype != OCTET_DTYPE_FLOAT) return OCTET_OK;
  octet_calib_entry *e;
  octet_status st = octet_calibrator_entry(c, name, &e, err);
  if (st) return st;
  e->rank = value->rank;
  size_t numel = octet_tensor_numel(value);
  octet_hist_add_sampled(&e->hist, value->data, numel, sample_stride(c, value, numel));
  return OCTET_OK;
}

void octet_calibrator_add_samples(octet_calibrator *c, uint64_t samples) { c->samples += samples; }

int octet_calibrator_observer(void *ctx, const char *tensor_name, const char *node_name,
                              const octet_tensor *value) {
  octet_calibrator *c = ctx;
  octet_error err = {0};
  if (octet_calibrator_observe(c, tensor_name, value, &err) == OCTET_OK) return 0;
  if (c->last_error.status == OCTET_OK) c->last_error = err;
  return 1;
}

const octet_error *octet_calibrator_last_error(const octet_calibrator *c) { return &c->last_error; }

/* ---- partial states ---- */

static int cmp_entry_name(const void *a, const void *b) {
  return strcmp((*(octet_calib_entry *const *)a)->name, (*(octet_calib_entry *const *)b)->name);
}

octet_status octet_calibrator_sorted(const octet_calibrator *c, octet_calib_entry ***out,
                                     octet_error *err) {
  octet_calib_entry **v = octet_malloc((c->n ? c->n : 1) * sizeof *v);
  if (!v) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < c->n; i++) v[i] = &c->entries[i];
  qsort(v, c->n, sizeof *v, cmp_entry_name);
  *out = v;
  return OCTET_OK;
}

#define PUT(f, x) fwrite(&(x), sizeof(x), 1, f)

octet_status octet_calibrator_save_state(const octet_calibrator *c, const char *path,
                                         octet_error *err) {
  octet_calib_entry **v;
  octet_status st = octet_calibrator_sorted(c, &v, err);
  if (st) return st;
  octet_atomic_file af;
  if ((st = octet_atomic_open(&af, path, err))) {
    octet_free(v);
    return st;
  }
  FILE *f = af.f;
  uint32_t version = STATE_VERSION, n = (uint32_t)c->n;
  fwrite(STATE_MAGIC, 1, 8, f);
  PUT(f, version);
  PUT(f, c->half_bins);
  PUT(f, c->samples);
  PUT(f, n);
  for (size_t i = 0; i < c->n; i++) {
    const octet_calib_entry *e = v[i];
    const octet_hist *h = &e->hist;
    uint32_t len = (uint32_t)strlen(e->name), nz = 0;
    for (size_t b = 0; b < 2 * (size_t)h->half_bins; b++) nz += h->bins[b] != 0;
    PUT(f, len);
    fwrite(e->name, 1, len, f);
    PUT(f, e->rank);
    PUT(f, h->exp);
    PUT(f, h->count);
    PUT(f, h->binned);
    PUT(f, h->zeros);
    PUT(f, h->nonfinite);
    PUT(f, h->min);
    PUT(f, h->max);
    PUT(f, nz);
    for (uint32_t b = 0; b < 2 * h->half_bins; b++)
      if (h->bins[b]) {
        PUT(f, b);
        PUT(f, h->bins[b]);
      }
  }
  octet_free(v);
  return octet_atomic_commit(&af, err);
}

typedef struct reader {
  const unsigned char *p, *end;
  bool bad;
} reader;

static void take(reader *r, void *dst, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = true;
    memset(dst, 0, n);
    return;
  }
  memcpy(dst, r->p, n);
  r->p += n;
}

octet_status octet_calibrator_merge_state(octet_calibrator *c, const char *path, octet_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return octet_fail(err, OCTET_STATUS_IO, "cannot open calibration state '%s'", path);
  unsigned char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      unsigned char *nb = octet_realloc(buf, cap);
      if (!nb) {
        octet_free(buf);
        fclose(f);
        return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory reading '%s'", path);
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  fclose(f);
  reader r = {buf, buf + len, false};
  char magic[8];
  uint32_t version, half_bins, n;
  uint64_t samples;
  octet_status st = OCTET_OK;
  take(&r, magic, 8);
  take(&r, &version, 4);
  take(&r, &half_bins, 4);
  take(&r, &samples, 8);
  take(&r, &n, 4);
  if (r.bad || memcmp(magic, STATE_MAGIC, 8)) {
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "'%s' is not an octet calibration state", path);
  } else if (version != STATE_VERSION) {
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "'%s': calibration state version %u (expected %u)",
                    path, version, STATE_VERSION);
  } else if (half_bins != c->half_bins) {
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "'%s' has %u histogram bins per side, this calibrator %u", path, half_bins,
                    c->half_bins);
  }
  octet_hist h = {0};
  if (!st) st = octet_hist_init(&h, half_bins, err);
  for (uint32_t i = 0; !st && i < n; i++) {
    uint32_t name_len, nz;
    take(&r, &name_len, 4);
    if (r.bad || name_len > (size_t)(r.end - r.p)) {
      r.bad = true;
      break;
    }
    char *name = octet_malloc(name_len + 1);
    if (!name) {
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      break;
    }
    take(&r, name, name_len);
    name[name_len] = 0;
    memset(h.bins, 0, 2 * (size_t)half_bins * sizeof *h.bins);
    int32_t rank;
    take(&r, &rank, 4);
    take(&r, &h.exp, 4);
    take(&r, &h.count, 8);
    take(&r, &h.binned, 8);
    take(&r, &h.zeros, 8);
    take(&r, &h.nonfinite, 8);
    take(&r, &h.min, 4);
    take(&r, &h.max, 4);
    take(&r, &nz, 4);
    for (uint32_t k = 0; k < nz && !r.bad; k++) {
      uint32_t b;
      uint64_t cnt;
      take(&r, &b, 4);
      take(&r, &cnt, 8);
      if (b >= 2 * half_bins) r.bad = true;
      else h.bins[b] = cnt;
    }
    bool exp_ok = h.exp == OCTET_HIST_EMPTY_EXP || (h.exp > -200 && h.exp < 200);
    if (!r.bad && !exp_ok) r.bad = true;
    octet_calib_entry *e = NULL;
    if (!r.bad && !(st = octet_calibrator_entry(c, name, &e, err))) {
      st = octet_hist_merge(&e->hist, &h, err);
      if (rank >= 0) e->rank = rank;
    }
    octet_free(name);
  }
  if (!st && r.bad)
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "calibration state '%s' is truncated or corrupt",
                    path);
  if (!st) c->samples += samples;
  octet_hist_free(&h);
  octet_free(buf);
  return st;
}
