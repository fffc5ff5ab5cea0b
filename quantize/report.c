/* report.c — the per-layer error report: finds every quantized activation of a QDQ model, runs
 * the float and the quantized model on the same samples with observers, and sums, per tensor,
 * the float signal and the error of the quantized model's DequantizeLinear output against it.
 * With an observer set the runtime runs Q/DQ as written (float simulation of the int8 grid), so
 * the figures describe the QDQ model's numbers, not a particular int8 kernel's rounding. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calibrator.h"
#include "quantize/passes.h"
#include "quantize/report.h"

#define MAX_IO 64

double octet_report_sqnr(double sig2, double err2) {
  if (err2 <= 0.0) return INFINITY;
  if (sig2 <= 0.0) return -INFINITY;
  return 10.0 * log10(sig2 / err2);
}

double octet_report_clipped(const octet_hist *h, double lo, double hi) {
  if (!h->bins || h->binned == 0 || h->exp == OCTET_HIST_EMPTY_EXP) return 0.0;
  if (h->min >= lo && h->max <= hi) return 0.0;
  double w = octet_hist_width(h), out = 0.0;
  size_t nb = 2 * (size_t)h->half_bins;
  for (size_t i = 0; i < nb; i++) {
    double c = (double)h->bins[i];
    if (i == h->half_bins) c -= (double)(h->zeros < h->bins[i] ? h->zeros : h->bins[i]); /* 0 is always kept */
    if (c <= 0.0) continue;
    /* The values of a bin lie in [edge, edge + w) and inside [min, max]: spread them evenly there. */
    double a = fmax(octet_hist_edge(h, i), (double)h->min), b = fmin(octet_hist_edge(h, i) + w, (double)h->max);
    if (b <= a) { /* all at one point */
      if (a < lo || a > hi) out += c;
      continue;
    }
    if (a < lo) out += c * (fmin(b, lo) - a) / (b - a);
    if (b > hi) out += c * (b - fmax(a, hi)) / (b - a);
  }
  return out / (double)h->binned;
}

/* ---- finding the quantized activations ---- */

static const octet_ir_tensor *init_of(const octet_ir_graph *g, const char *name) {
  return name && *name ? octet_ir_graph_initializer(g, name) : NULL;
}

static int row_order_cmp(const void *a, const void *b) {
  const octet_report_row *x = a, *y = b;
  if (x->order != y->order) return x->order < y->order ? -1 : 1;
  return strcmp(x->tensor, y->tensor);
}

static octet_status add_row(octet_quantize_report *r, size_t *cap, const octet_model *fm, const octet_calibrator *cal,
                            const octet_ir_node *qn, const char *dq, const octet_ir_graph *qg, octet_error *err) {
  const octet_ir_tensor *s = init_of(qg, qn->n_inputs > 1 ? qn->inputs[1] : NULL);
  const octet_ir_tensor *z = init_of(qg, qn->n_inputs > 2 ? qn->inputs[2] : NULL);
  if (!s || s->dtype != OCTET_DTYPE_FLOAT || s->nbytes != 4) return OCTET_OK; /* per-axis activation: not ours */
  if (r->n_rows == *cap) {
    size_t nc = *cap ? 2 * *cap : 64;
    octet_report_row *rows = octet_realloc(r->rows, nc * sizeof *rows);
    if (!rows) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    r->rows = rows;
    *cap = nc;
  }
  octet_report_row *row = &r->rows[r->n_rows];
  memset(row, 0, sizeof *row);
  row->scale = *(const float *)s->data;
  row->dtype = z ? z->dtype : OCTET_DTYPE_UINT8;
  if (z && z->nbytes >= 1) row->zero_point = z->dtype == OCTET_DTYPE_INT8 ? *(const int8_t *)z->data : *(const uint8_t *)z->data;
  int32_t qmin = row->dtype == OCTET_DTYPE_INT8 ? -128 : 0, qmax = row->dtype == OCTET_DTYPE_INT8 ? 127 : 255;
  row->lo = (double)(qmin - row->zero_point) * row->scale;
  row->hi = (double)(qmax - row->zero_point) * row->scale;
  const char *x = qn->inputs[0], *producer = "";
  /* A quantized graph output keeps its name on the DQ (the float producer writes "<name>_f"). */
  for (size_t i = 0; i < qg->n_outputs; i++)
    if (!strcmp(qg->outputs[i].name, dq)) x = dq;
  const octet_ir_graph *fg = fm->graph;
  for (size_t i = 0; i < fg->n_nodes && !*producer; i++)
    for (size_t k = 0; k < fg->nodes[i].n_outputs; k++)
      if (!strcmp(fg->nodes[i].outputs[k], x)) {
        producer = fg->nodes[i].name ? fg->nodes[i].name : "";
        row->order = i + 1;
        break;
      }
  row->tensor = octet_strdup(x);
  row->dq = octet_strdup(dq);
  row->producer = octet_strdup(producer);
  r->n_rows++; /* counted now so destroy frees whatever was allocated */
  if (!row->tensor || !row->dq || !row->producer) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  const octet_calib_entry *ce = cal ? octet_calibrator_find(cal, x) : NULL;
  if (ce) {
    octet_status st = octet_hist_init(&row->hist, ce->hist.half_bins, err);
    if (!st) st = octet_hist_merge(&row->hist, &ce->hist, err);
    if (st) return octet_fail_prefix(err, "tensor '%s'", x);
    row->fmin = ce->hist.min;
    row->fmax = ce->hist.max;
    row->clipped = octet_report_clipped(&ce->hist, row->lo, row->hi);
  } else {
    row->fmin = NAN;
    row->fmax = NAN;
    row->clipped = NAN;
  }
  return OCTET_OK;
}

static octet_status find_rows(octet_quantize_report *r, const octet_model *fm, const octet_model *qm,
                              const octet_calibrator *cal, octet_error *err) {
  const octet_ir_graph *g = qm->graph;
  size_t cap = 0;
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *q = &g->nodes[i];
    if (strcmp(q->op_type, "QuantizeLinear") || q->domain[0] || q->n_inputs < 2 || init_of(g, q->inputs[0])) continue;
    for (size_t j = 0; j < g->n_nodes; j++) {
      const octet_ir_node *d = &g->nodes[j];
      if (strcmp(d->op_type, "DequantizeLinear") || d->n_inputs < 1 || d->n_outputs < 1 ||
          strcmp(d->inputs[0], q->outputs[0]))
        continue;
      octet_status st = add_row(r, &cap, fm, cal, q, d->outputs[0], g, err);
      if (st) return st;
      break;
    }
  }
  if (r->n_rows) qsort(r->rows, r->n_rows, sizeof *r->rows, row_order_cmp);
  return OCTET_OK;
}

/* ---- running both models ---- */

typedef struct lookup {
  const char *key;
  size_t row;
} lookup;

static int lookup_cmp(const void *a, const void *b) { return strcmp(((const lookup *)a)->key, ((const lookup *)b)->key); }

typedef struct run_ctx {
  octet_quantize_report *r;
  lookup *by_tensor, *by_dq;
  octet_error err;
} run_ctx;

static octet_report_row *row_of(const run_ctx *c, const lookup *index, const char *name) {
  lookup key = {name, 0};
  const lookup *hit = bsearch(&key, index, c->r->n_rows, sizeof *index, lookup_cmp);
  return hit ? &c->r->rows[hit->row] : NULL;
}

static int keep_reference(octet_report_row *row, const octet_tensor *v, octet_error *err) {
  size_t n = octet_tensor_numel(v);
  if (v->dtype != OCTET_DTYPE_FLOAT) {
    octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "tensor '%s' is not float in the float model", row->tensor);
    return 1;
  }
  if (n > row->ref_cap) {
    float *p = octet_realloc(row->ref, (n ? n : 1) * sizeof *p);
    if (!p) {
      octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory keeping tensor '%s' (%zu values)", row->tensor, n);
      return 1;
    }
    row->ref = p;
    row->ref_cap = n;
  }
  memcpy(row->ref, v->data, n * sizeof(float));
  row->ref_n = n;
  return 0;
}

static int float_observer(void *ctx, const char *tensor, const char *node, const octet_tensor *v) {
  run_ctx *c = ctx;
  octet_report_row *row = row_of(c, c->by_tensor, tensor);
  return row ? keep_reference(row, v, &c->err) : 0;
}

static void accumulate(double *sig2, double *err2, double *max_err, uint64_t *count, const float *ref,
                       const float *got, size_t n) {
  double s = 0, e = 0, m = *max_err;
  for (size_t i = 0; i < n; i++) {
    double d = (double)got[i] - (double)ref[i];
    s += (double)ref[i] * ref[i];
    e += d * d;
    if (fabs(d) > m) m = fabs(d);
  }
  *sig2 += s;
  *err2 += e;
  *max_err = m;
  *count += n;
}

static int quant_observer(void *ctx, const char *tensor, const char *node, const octet_tensor *v) {
  run_ctx *c = ctx;
  octet_report_row *row = row_of(c, c->by_dq, tensor);
  if (!row) return 0;
  size_t n = octet_tensor_numel(v);
  if (v->dtype != OCTET_DTYPE_FLOAT || n != row->ref_n) {
    octet_fail(&c->err, OCTET_STATUS_INVALID_ARGUMENT,
               "tensor '%s' has %zu values in the quantized model and %zu in the float model", row->dq, n,
               row->ref_n);
    return 1;
  }
  accumulate(&row->sig2, &row->err2, &row->max_err, &row->count, row->ref, v->data, n);
  return 0;
}

static octet_status compare_outputs(octet_quantize_report *r, const octet_tensor *f, const octet_tensor *q,
                                    octet_error *err) {
  for (size_t k = 0; k < r->n_outputs; k++) {
    octet_report_output *o = &r->outputs[k];
    if (f[k].dtype != OCTET_DTYPE_FLOAT || q[k].dtype != OCTET_DTYPE_FLOAT) continue;
    size_t n = octet_tensor_numel(&f[k]);
    if (n != octet_tensor_numel(&q[k]))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "output '%s' differs in size between the models", o->name);
    accumulate(&o->sig2, &o->err2, &o->max_err, &o->count, f[k].data, q[k].data, n);
    if (f[k].rank == 2 && f[k].dims[1] > 1) { /* scores [N, classes]: does the winner agree? */
      int64_t c = f[k].dims[1];
      for (int64_t i = 0; i < f[k].dims[0]; i++) {
        const float *a = (const float *)f[k].data + i * c, *b = (const float *)q[k].data + i * c;
        int64_t ba = 0, bb = 0;
        for (int64_t j = 1; j < c; j++) {
          if (a[j] > a[ba]) ba = j;
          if (b[j] > b[bb]) bb = j;
        }
        o->rows++;
        o->agree += ba == bb;
      }
    }
  }
  return OCTET_OK;
}

void octet_quantize_report_destroy(octet_quantize_report *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_rows; i++) {
    octet_free(r->rows[i].tensor);
    octet_free(r->rows[i].dq);
    octet_free(r->rows[i].producer);
    octet_free(r->rows[i].ref);
    octet_hist_free(&r->rows[i].hist);
  }
  for (size_t i = 0; i < r->n_outputs; i++) octet_free(r->outputs[i].name);
  octet_free(r->rows);
  octet_free(r->outputs);
  octet_free(r->method);
  octet_free(r);
}

/* Samples per run: the input's fixed batch, else as many as keep one input batch near 1 MiB
 * (every observed activation of the batch is held in memory at once). */
static uint64_t pick_batch(const octet_tensor *type, size_t sample_bytes) {
  if (type->rank > 0 && type->dims[0] > 0) return (uint64_t)type->dims[0];
  uint64_t b = sample_bytes ? (1u << 20) / sample_bytes : 32;
  return b < 1 ? 1 : b > 32 ? 32 : b;
}

octet_status octet_quantize_report_create(const octet_model *float_model, const octet_model *quantized_model,
                                          const octet_calibrator *cal, const char *method,
                                          octet_dataset *const *datasets, uint64_t first, uint64_t last,
                                          const octet_session_options *session_options,
                                          octet_quantize_report **out, octet_error *err) {
  if (!float_model || !quantized_model || !datasets || !out)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_report_create: missing argument");
  octet_quantize_report *r = octet_calloc(1, sizeof *r);
  if (!r) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  run_ctx c = {.r = r};
  octet_session *fs = NULL, *qs = NULL;
  const char **names = NULL;
  octet_tensor inputs[MAX_IO], fout[MAX_IO], qout[MAX_IO], types[MAX_IO];
  memset(inputs, 0, sizeof inputs);
  octet_status st = OCTET_OK;
  if (!method) method = octet_range_method_name(octet_quantize_default_method());
  r->method = octet_strdup(method);
  if (!r->method) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  if (!st) st = find_rows(r, float_model, quantized_model, cal, err);
  if (!st && r->n_rows == 0)
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "the quantized model has no QuantizeLinear/DequantizeLinear pair on an activation to report on");
  size_t n = r->n_rows;
  if (!st) {
    c.by_tensor = octet_calloc(n, sizeof *c.by_tensor);
    c.by_dq = octet_calloc(n, sizeof *c.by_dq);
    names = octet_calloc(2 * n, sizeof *names);
    if (!c.by_tensor || !c.by_dq || !names) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; !st && i < n; i++) {
    c.by_tensor[i] = (lookup){r->rows[i].tensor, i};
    c.by_dq[i] = (lookup){r->rows[i].dq, i};
    names[i] = r->rows[i].tensor;
    names[n + i] = r->rows[i].dq;
  }
  if (!st) {
    qsort(c.by_tensor, n, sizeof *c.by_tensor, lookup_cmp);
    qsort(c.by_dq, n, sizeof *c.by_dq, lookup_cmp);
    octet_session_options so = {0};
    if (session_options) so = *session_options;
    so.profile = 0;
    so.observer = float_observer;
    so.observer_ctx = &c;
    so.observe_names = names;
    so.n_observe_names = n;
    st = octet_session_create(float_model, &so, &fs, err);
    so.observer = quant_observer;
    so.observe_names = names + n;
    if (!st) st = octet_session_create(quantized_model, &so, &qs, err);
  }
  size_t n_in = st ? 0 : octet_session_input_count(fs), n_out = st ? 0 : octet_session_output_count(fs);
  if (!st && (n_in > MAX_IO || n_out > MAX_IO || n_out != octet_session_output_count(qs) ||
              n_in != octet_session_input_count(qs)))
    st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "the float and quantized models differ in inputs/outputs (or have more than %d)",
                    MAX_IO);
  if (!st) {
    r->outputs = octet_calloc(n_out ? n_out : 1, sizeof *r->outputs);
    if (!r->outputs) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; !st && k < n_out; k++) {
      r->outputs[k].name = octet_strdup(octet_session_output_name(fs, k));
      r->n_outputs++;
      if (!r->outputs[k].name) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
  }
  uint64_t step = 0;
  for (size_t k = 0; !st && k < n_in; k++) {
    const char *name;
    st = octet_model_input(float_model, k, &name, &types[k], err);
    if (!st && !datasets[k]) st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "no data for input '%s'", name);
    if (!st && octet_dataset_count(datasets[k]) < last)
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "input '%s' has %llu samples, %llu needed", name,
                      (unsigned long long)octet_dataset_count(datasets[k]), (unsigned long long)last);
    if (!st && k == 0 && first < last) {
      octet_tensor one;
      int32_t dt = types[k].dtype ? types[k].dtype : OCTET_DTYPE_FLOAT;
      st = octet_dataset_read(datasets[k], first, 1, dt, &one, err);
      if (!st) {
        step = pick_batch(&types[k], octet_tensor_nbytes(&one));
        octet_tensor_free(&one);
      }
    }
  }
  for (uint64_t at = first; !st && at < last;) {
    uint64_t b = last - at < step ? last - at : step;
    for (size_t k = 0; !st && k < n_in; k++) {
      int32_t dt = types[k].dtype ? types[k].dtype : OCTET_DTYPE_FLOAT;
      st = octet_dataset_read(datasets[k], at, b, dt, &inputs[k], err);
      /* A quantized graph input: the observer sees produced tensors only, so keep it here. */
      octet_report_row *row = st ? NULL : row_of(&c, c.by_tensor, octet_session_input_name(fs, k));
      if (row && keep_reference(row, &inputs[k], err)) st = err ? err->status : OCTET_STATUS_OUT_OF_MEMORY;
    }
    if (!st && (st = octet_session_run(fs, inputs, n_in, fout, n_out, err)) && c.err.status && err) *err = c.err;
    if (!st && (st = octet_session_run(qs, inputs, n_in, qout, n_out, err)) && c.err.status && err) *err = c.err;
    if (!st) st = compare_outputs(r, fout, qout, err);
    for (size_t k = 0; k < n_in; k++) octet_tensor_free(&inputs[k]);
    at += b;
    r->samples += b;
  }
  for (size_t i = 0; i < n; i++) { /* scratch no longer needed */
    octet_free(r->rows[i].ref);
    r->rows[i].ref = NULL;
    r->rows[i].ref_cap = r->rows[i].ref_n = 0;
  }
  octet_session_destroy(fs);
  octet_session_destroy(qs);
  octet_free(c.by_tensor);
  octet_free(c.by_dq);
  octet_free(names);
  if (st) {
    octet_quantize_report_destroy(r);
    return st;
  }
  *out = r;
  return OCTET_OK;
}

/* ---- text ---- */

void octet_sb_printf(octet_sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = true;
      return;
    }
    if (b->p && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + (size_t)k + 1) cap *= 2;
    char *p = octet_realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

static const char *fmt_db(double db, char *buf, size_t n) {
  if (isinf(db)) snprintf(buf, n, db > 0 ? "exact" : "-inf");
  else if (isnan(db)) snprintf(buf, n, "-");
  else snprintf(buf, n, "%.1f", db);
  return buf;
}

octet_status octet_quantize_report_text(const octet_quantize_report *r, char **text, octet_error *err) {
  if (!r || !text) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_report_text: missing argument");
  octet_sbuf b = {0};
  size_t width = 6;
  for (size_t i = 0; i < r->n_rows; i++) {
    size_t l = strlen(r->rows[i].tensor);
    if (l > width) width = l;
  }
  if (width > 40) width = 40;
  octet_sb_printf(&b, "per-layer error on %llu samples (ranges by %s; SQNR and max error of the quantized model's tensor vs float)\n",
            (unsigned long long)r->samples, r->method);
  octet_sb_printf(&b, "%-*s %23s %23s %8s %8s %10s\n", (int)width, "tensor", "float range", "chosen range", "clipped",
            "SQNR dB", "max err");
  size_t worst = SIZE_MAX;
  double worst_db = INFINITY;
  for (size_t i = 0; i < r->n_rows; i++) {
    const octet_report_row *w = &r->rows[i];
    double db = octet_report_sqnr(w->sig2, w->err2);
    if (db < worst_db) {
      worst_db = db;
      worst = i;
    }
    char dbs[32], name[64];
    size_t l = strlen(w->tensor);
    if (l > width) snprintf(name, sizeof name, "...%s", w->tensor + l - (width - 3));
    else snprintf(name, sizeof name, "%s", w->tensor);
    octet_sb_printf(&b, "%-*s [%10.4g, %10.4g] [%10.4g, %10.4g] %7.3f%% %8s %10.4g\n", (int)width, name, w->fmin, w->fmax,
              w->lo, w->hi, 100.0 * w->clipped, fmt_db(db, dbs, sizeof dbs), w->max_err);
  }
  for (size_t k = 0; k < r->n_outputs; k++) {
    const octet_report_output *o = &r->outputs[k];
    char dbs[32];
    octet_sb_printf(&b, "output %s: SQNR %s dB, max error %.4g", o->name, fmt_db(octet_report_sqnr(o->sig2, o->err2), dbs, sizeof dbs),
              o->max_err);
    if (o->rows) octet_sb_printf(&b, ", top-1 agreement with float %.2f%% (%llu of %llu)", 100.0 * (double)o->agree / (double)o->rows,
                           (unsigned long long)o->agree, (unsigned long long)o->rows);
    octet_sb_printf(&b, "\n");
  }
  if (worst != SIZE_MAX) {
    char dbs[32];
    octet_sb_printf(&b, "worst layer: %s (%s dB)\n", r->rows[worst].tensor, fmt_db(worst_db, dbs, sizeof dbs));
  }
  if (b.oom) {
    octet_free(b.p);
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  *text = b.p;
  return OCTET_OK;
}
