/* fallback.c — accuracy-driven fallback: quantize, measure against float on evaluation data
 * (top-1 with labels, argmax agreement, IoU of thresholded output maps, or output SQNR), and hand
 * the most harmful layers back to float until the bound holds.
 *
 * Search: (1) grow a float prefix of the candidates in graph order, one node at a time, up to a
 * quarter of them, and stop at the first that meets the bound; (2) failing that, rank the
 * candidates by how much the output error shrinks when each alone stays float (measured on a few
 * samples) and bisect the shortest ranked prefix that meets it (ending, if need be, with every
 * candidate float); (3) try returning each chosen node to int8, last added first, and keep it
 * there when the bound still holds, so the set is minimal in the one-removal sense. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantize/ir-clone.h"
#include "quantize/passes.h"
#include "quantize/report.h"

#define MAX_IO 64
#define EPS 1e-9 /* drops are differences of counts / n: compare past their rounding */
#define RANK_MAX_CANDIDATES 128 /* above this, graph order instead of one measurement per node */

typedef enum { METRIC_TOP1, METRIC_AGREE, METRIC_IOU, METRIC_SQNR } metric_kind;
#define SQNR_EXACT 200.0 /* dB given to outputs without any quantization noise */

typedef struct fb {
  octet_model *m; /* prepared float model (never modified during the search) */
  const octet_calibrator *cal;
  const octet_quantize_options *qo;
  const octet_fallback_options *fo;
  const char *label; /* line prefix: "fallback", or the caller's */
  metric_kind metric;
  double threshold;
  size_t n_in;
  octet_tensor types[MAX_IO];
  uint64_t n, batch;
  float *labels;     /* n */
  float *ref;        /* float output 0, all samples */
  size_t per_sample; /* values of output 0 per sample */
  double float_score;
  const char **cand; /* candidate node names, graph order */
  size_t n_cand;
  size_t evals;
} fb;

/* Score of a model on samples [0, n): top-1 %, agreement %, or worst-sample IoU x 100; err2: the
 * summed squared difference of output 0 against float (a smooth figure for ranking). */
static octet_status evaluate(fb *f, const octet_model *m, uint64_t n, bool fill_ref, double *score, double *mean,
                             double *err2, octet_error *err) {
  octet_session *s = NULL;
  octet_session_options so = f->fo->session;
  so.observer = NULL;
  so.observe_names = NULL;
  so.n_observe_names = 0;
  octet_status st = octet_session_create(m, &so, &s, err);
  size_t n_out = st ? 0 : octet_session_output_count(s);
  if (!st && (n_out < 1 || n_out > MAX_IO)) st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "fallback needs 1 to %d outputs", MAX_IO);
  octet_tensor in[MAX_IO], out[MAX_IO];
  memset(in, 0, sizeof in);
  double good = 0, worst = INFINITY, sum = 0, e2 = 0, sig_all = 0, noise_all = 0;
  for (uint64_t at = 0; !st && at < n;) {
    uint64_t b = n - at < f->batch ? n - at : f->batch;
    for (size_t k = 0; !st && k < f->n_in; k++)
      st = octet_dataset_read(f->fo->data[k], f->fo->first + at, b,
                              f->types[k].dtype ? f->types[k].dtype : OCTET_DTYPE_FLOAT, &in[k], err);
    if (!st) st = octet_session_run(s, in, f->n_in, out, n_out, err);
    for (size_t k = 0; k < f->n_in; k++) octet_tensor_free(&in[k]);
    if (st) break;
    const octet_tensor *o = &out[0];
    size_t numel = octet_tensor_numel(o);
    if (o->dtype != OCTET_DTYPE_FLOAT || o->rank < 1 || (uint64_t)o->dims[0] != b || numel / b == 0) {
      st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "fallback: output '%s' must be float with the samples on its first axis",
                      octet_session_output_name(s, 0));
      break;
    }
    size_t per = numel / (size_t)b;
    if (fill_ref && at == 0) {
      uint64_t total;
      if (__builtin_mul_overflow((uint64_t)per, n, &total) || total > ((uint64_t)1 << 28)) {
        st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "fallback: output '%s' is too large to keep for %llu samples",
                        octet_session_output_name(s, 0), (unsigned long long)n);
        break;
      }
      f->per_sample = per;
      f->ref = octet_malloc((size_t)total * sizeof *f->ref);
      if (!f->ref) {
        st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
        break;
      }
    }
    if (per != f->per_sample) {
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "fallback: output size differs from the float model's");
      break;
    }
    const float *y = o->data;
    float *r = f->ref + at * per;
    if (fill_ref) memcpy(r, y, numel * sizeof *y);
    for (uint64_t i = 0; i < b; i++) {
      const float *yi = y + i * per, *ri = r + i * per;
      for (size_t j = 0; j < per; j++) e2 += ((double)yi[j] - ri[j]) * ((double)yi[j] - ri[j]);
      if (f->metric == METRIC_SQNR) {
        double sig = 0, noise = 0;
        for (size_t j = 0; j < per; j++) {
          double d = (double)yi[j] - ri[j];
          sig += (double)ri[j] * ri[j];
          noise += d * d;
        }
        sig_all += sig;
        noise_all += noise;
      } else if (f->metric == METRIC_IOU) {
        uint64_t inter = 0, uni = 0;
        for (size_t j = 0; j < per; j++) {
          bool p = yi[j] > f->threshold, q = ri[j] > f->threshold;
          inter += p && q;
          uni += p || q;
        }
        double iou = uni ? (double)inter / (double)uni : 1.0;
        sum += iou;
        if (iou < worst) worst = iou;
      } else {
        size_t a = 0, c = 0;
        for (size_t j = 1; j < per; j++) {
          if (yi[j] > yi[a]) a = j;
          if (ri[j] > ri[c]) c = j;
        }
        good += f->metric == METRIC_TOP1 ? (double)(a == (size_t)f->labels[at + i]) : (double)(a == c);
      }
    }
    at += b;
  }
  octet_session_destroy(s);
  if (st) return st;
  f->evals++;
  if (f->metric == METRIC_SQNR) { /* over all samples: one quiet sample must not decide it */
    double db = noise_all == 0  ? SQNR_EXACT
                : sig_all == 0  ? -SQNR_EXACT
                                : fmin(SQNR_EXACT, 10.0 * log10(sig_all / noise_all));
    *score = isnan(db) ? -SQNR_EXACT : db; /* NaN outputs: the worst */
    if (mean) *mean = *score;
  } else if (f->metric == METRIC_IOU) {
    *score = 100.0 * worst;
    if (mean) *mean = 100.0 * sum / (double)n;
  } else {
    *score = 100.0 * good / (double)n;
    if (mean) *mean = *score;
  }
  if (err2) *err2 = e2;
  return OCTET_OK;
}

/* The user's exclusions plus the first k names of list (k = 0: the user's only). */
static char *exclusions(const fb *f, const char **list, size_t k, const bool *skip) {
  size_t len = f->qo->exclude_nodes ? strlen(f->qo->exclude_nodes) + 1 : 1;
  for (size_t i = 0; i < k; i++) len += strlen(list[i]) + 1;
  char *s = octet_malloc(len + 1);
  if (!s) return NULL;
  size_t at = 0;
  s[0] = 0;
  if (f->qo->exclude_nodes && *f->qo->exclude_nodes) at += (size_t)sprintf(s, "%s", f->qo->exclude_nodes);
  for (size_t i = 0; i < k; i++) {
    if (skip && skip[i]) continue;
    at += (size_t)sprintf(s + at, "%s%s", at ? "," : "", list[i]);
  }
  return s;
}

/* Quantizes a copy of the float model with `excluded` kept float and scores it. */
static octet_status trial(fb *f, const char *excluded, uint64_t n, double *score, double *err2, octet_error *err) {
  octet_model *c = NULL;
  octet_status st = octet_ir_model_clone(f->m, &c, err);
  octet_quantize_options o = *f->qo;
  o.exclude_nodes = excluded;
  if (!st) st = octet_quantize_model(c, f->cal, &o, NULL, err);
  if (!st) st = evaluate(f, c, n, false, score, NULL, err2, err);
  octet_model_destroy(c);
  return st;
}

static bool is_candidate_op(const char *op) {
  static const char *const ops[] = {"Conv", "ConvTranspose", "MatMul", "Gemm", "Add", "Mul",
                                    "AveragePool", "GlobalAveragePool", "Concat"};
  for (size_t i = 0; i < OCTET_COUNTOF(ops); i++)
    if (!strcmp(op, ops[i])) return true;
  return false;
}

/* Candidates: nodes of a kind the quantizer puts in int8 that read a DequantizeLinear output in
 * the fully quantized model in QDQ form (whatever the format asked for: in QOperator form they
 * read int8 tensors; exclusions act on the QDQ form either way). Data-movement nodes add no error
 * of their own. */
static octet_status find_candidates(fb *f, octet_error *err) {
  octet_model *c = NULL;
  octet_status st = octet_ir_model_clone(f->m, &c, err);
  octet_quantize_options o = *f->qo;
  o.format = "qdq";
  if (!st) st = octet_quantize_model(c, f->cal, &o, NULL, err);
  if (!st) {
    const octet_ir_graph *g = c->graph;
    f->cand = octet_calloc(g->n_nodes + 1, sizeof *f->cand);
    if (!f->cand) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    /* Names from the float model (the clone dies here); graph order of the float model. */
    const octet_ir_graph *fg = f->m->graph;
    for (size_t i = 0; !st && i < fg->n_nodes; i++) {
      const octet_ir_node *fn = &fg->nodes[i];
      if (fn->domain[0] || !is_candidate_op(fn->op_type) || !fn->name || !*fn->name) continue;
      for (size_t j = 0; j < g->n_nodes; j++) {
        const octet_ir_node *qn = &g->nodes[j];
        if (!qn->name || strcmp(qn->name, fn->name)) continue;
        bool reads_dq = false;
        for (size_t k = 0; k < qn->n_inputs && !reads_dq; k++)
          for (size_t d = 0; d < g->n_nodes && !reads_dq; d++)
            reads_dq = !strcmp(g->nodes[d].op_type, "DequantizeLinear") && g->nodes[d].n_outputs &&
                       !strcmp(g->nodes[d].outputs[0], qn->inputs[k]) && qn->inputs[k][0];
        if (reads_dq) f->cand[f->n_cand++] = fn->name;
        break;
      }
    }
  }
  octet_model_destroy(c);
  return st;
}

typedef struct ranked {
  size_t index;
  double gain;
} ranked;

static int ranked_cmp(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->gain != y->gain) return x->gain > y->gain ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static octet_status parse_metric(fb *f, octet_error *err) {
  const char *m = f->fo->metric;
  if (!m || !*m) {
    f->metric = f->fo->labels ? METRIC_TOP1 : METRIC_AGREE;
    return OCTET_OK;
  }
  if (!strcmp(m, "top1")) {
    if (!f->fo->labels) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "metric top1 needs labels");
    f->metric = METRIC_TOP1;
    return OCTET_OK;
  }
  if (!strcmp(m, "agree")) {
    f->metric = METRIC_AGREE;
    return OCTET_OK;
  }
  if (!strncmp(m, "iou", 3)) {
    f->metric = METRIC_IOU;
    f->threshold = 0.5;
    if (m[3] == ':') {
      char *end;
      f->threshold = strtod(m + 4, &end);
      if (*end || !isfinite(f->threshold)) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "bad IoU threshold in '%s'", m);
    } else if (m[3]) {
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "unknown metric '%s'", m);
    }
    return OCTET_OK;
  }
  if (!strcmp(m, "sqnr")) {
    if (!(f->fo->min_sqnr > -SQNR_EXACT && f->fo->min_sqnr < SQNR_EXACT))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "metric sqnr needs a bound in dB (min_sqnr)");
    f->metric = METRIC_SQNR;
    return OCTET_OK;
  }
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "unknown metric '%s' (top1, agree, iou:T or sqnr)", m);
}

/* A line of the search: to the caller's progress callback, and to the summary when `always` (the
 * first measurement and the result) or when nobody watches progress (each step: the summary keeps
 * to one screen). */
static void note(const fb *f, octet_sbuf *log, bool always, const char *fmt, va_list ap) {
  char line[2048];
  int n = snprintf(line, sizeof line, "%s: ", f->label);
  if (n < 0 || (size_t)n >= sizeof line) n = 0;
  vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  if (always || !f->fo->progress) octet_sb_printf(log, "%s", line);
  if (f->fo->progress) f->fo->progress(f->fo->progress_ctx, line);
}

static void say(const fb *f, octet_sbuf *log, const char *fmt, ...) OCTET_PRINTF(3, 4);
static void say(const fb *f, octet_sbuf *log, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  note(f, log, true, fmt, ap);
  va_end(ap);
}

static void step(const fb *f, octet_sbuf *log, const char *fmt, ...) OCTET_PRINTF(3, 4);
static void step(const fb *f, octet_sbuf *log, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  note(f, log, false, fmt, ap);
  va_end(ap);
}

static const char *metric_name(const fb *f) {
  return f->metric == METRIC_TOP1    ? "top-1"
         : f->metric == METRIC_AGREE ? "agreement with float"
         : f->metric == METRIC_IOU   ? "worst-sample IoU x100"
                                     : "output SQNR in dB";
}

/* Whether a score meets the bound: a drop from float of at most max_drop, or for SQNR at least
 * min_sqnr dB. */
static bool meets(const fb *f, double score) {
  if (f->metric == METRIC_SQNR) return score >= f->fo->min_sqnr - EPS;
  return f->float_score - score <= f->fo->max_drop + EPS;
}

/* "97.20 (drop 2.80)" or "18.3 dB" */
static const char *show(const fb *f, double score, char buf[64]) {
  if (f->metric == METRIC_SQNR) snprintf(buf, 64, "%.1f dB", score);
  else snprintf(buf, 64, "%.2f (drop %.2f)", score, f->float_score - score);
  return buf;
}

/* The first prefix of order (1, 2, ... up to max nodes float) that meets the bound; *len = max
 * and *score its score when none does. */
static octet_status first_prefix(fb *f, const char **order, size_t max, octet_sbuf *log, size_t *len, double *score,
                                 octet_error *err) {
  octet_status st = OCTET_OK;
  char buf[64];
  double s = NAN;
  size_t k = 1;
  for (; !st && k <= max; k++) {
    char *excl = exclusions(f, order, k, NULL);
    st = excl ? trial(f, excl, f->n, &s, NULL, err) : octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    octet_free(excl);
    if (st) break;
    step(f, log, "graph order, %zu float (to %s): %s\n", k, order[k - 1], show(f, s, buf));
    if (meets(f, s)) break;
  }
  *len = k > max ? max : k;
  *score = s;
  return st;
}

/* Shortest prefix of order that meets the bound (bisection between a failing and a meeting
 * length; the score is taken as monotone in the prefix). *len = n_cand and *score its score
 * when even every candidate float misses the bound. */
static octet_status bisect(fb *f, const char **order, octet_sbuf *log, size_t *len, double *score, octet_error *err) {
  size_t lo = 0, hi = f->n_cand;
  double s_hi = NAN;
  octet_status st = OCTET_OK;
  char buf[64];
  while (!st && hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    char *excl = exclusions(f, order, mid, NULL);
    double s;
    st = excl ? trial(f, excl, f->n, &s, NULL, err) : octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    octet_free(excl);
    if (st) break;
    step(f, log, "ranked, %zu float: %s\n", mid, show(f, s, buf));
    if (meets(f, s)) {
      hi = mid;
      s_hi = s;
    } else {
      lo = mid;
    }
  }
  if (!st && isnan(s_hi)) { /* every candidate float: check it, it may still miss the bound */
    char *excl = exclusions(f, order, hi, NULL);
    st = excl ? trial(f, excl, f->n, &s_hi, NULL, err) : octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    octet_free(excl);
  }
  *len = hi;
  *score = s_hi;
  return st;
}

octet_status octet_quantize_fallback(octet_model *m, const octet_calibrator *cal, const octet_quantize_options *qo,
                                     const octet_fallback_options *fo, char **summary, int *bound_met,
                                     octet_error *err) {
  if (!m || !cal || !fo || !fo->data || fo->last <= fo->first)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_fallback: model, calibrator and evaluation data are required");
  if (!(fo->max_drop >= 0) && !(fo->metric && !strcmp(fo->metric, "sqnr")))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "max drop must be >= 0");
  octet_quantize_options dflt = {0};
  fb f = {.m = m, .cal = cal, .qo = qo ? qo : &dflt, .fo = fo, .n = fo->last - fo->first,
          .label = fo->label && *fo->label ? fo->label : "fallback"};
  octet_sbuf log = {0};
  char *excl = NULL;
  ranked *rk = NULL;
  const char **order = NULL;
  bool *skip = NULL;
  octet_status st = parse_metric(&f, err);
  if (!st) {
    f.n_in = octet_model_input_count(m);
    if (f.n_in > MAX_IO) st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "fallback supports at most %d inputs", MAX_IO);
  }
  for (size_t k = 0; !st && k < f.n_in; k++) {
    const char *name;
    st = octet_model_input(m, k, &name, &f.types[k], err);
    if (!st && (!fo->data[k] || octet_dataset_count(fo->data[k]) < fo->last))
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "evaluation data for input '%s' has fewer than %llu samples", name,
                      (unsigned long long)fo->last);
  }
  if (!st) { /* batch: the fixed one, else samples of about 1 MiB together */
    f.batch = 1;
    if (f.n_in && f.types[0].rank > 0 && f.types[0].dims[0] > 0) {
      f.batch = (uint64_t)f.types[0].dims[0];
    } else if (f.n_in) {
      octet_tensor one;
      st = octet_dataset_read(fo->data[0], fo->first, 1, f.types[0].dtype ? f.types[0].dtype : OCTET_DTYPE_FLOAT, &one, err);
      if (!st) {
        size_t bytes = octet_tensor_nbytes(&one);
        f.batch = bytes ? (1u << 20) / bytes : 32;
        if (f.batch < 1) f.batch = 1;
        if (f.batch > 64) f.batch = 64;
        octet_tensor_free(&one);
      }
    }
  }
  if (!st && f.metric == METRIC_TOP1) {
    octet_tensor lab;
    if (octet_dataset_count(fo->labels) < fo->last)
      st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "fewer labels than evaluation samples");
    if (!st) st = octet_dataset_read(fo->labels, fo->first, f.n, OCTET_DTYPE_FLOAT, &lab, err);
    if (!st) f.labels = lab.data; /* octet-allocated: freed with octet_tensor_free semantics below */
  }
  double float_mean = 0;
  if (!st) {
    double dummy;
    /* Float first: it fills the reference outputs the other metrics compare with. */
    st = evaluate(&f, m, f.n, true, &f.float_score, &float_mean, &dummy, err);
    if (!st && f.metric == METRIC_SQNR) f.float_score = SQNR_EXACT;
    else if (!st && f.metric != METRIC_TOP1) f.float_score = 100.0;
  }
  double score = 0, e_all = 0;
  if (!st) {
    excl = exclusions(&f, NULL, 0, NULL);
    if (!excl) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  if (!st) st = trial(&f, excl, f.n, &score, &e_all, err);
  char b1[64], b2[64];
  size_t chosen = 0;
  bool met = !st && meets(&f, score);
  /* The first measurement opens the summary when a search follows (else the result says it all). */
  if (!st && !met && f.metric == METRIC_SQNR)
    say(&f, &log, "metric %s on %llu samples; all quantized %s (bound %.1f dB)\n", metric_name(&f),
        (unsigned long long)f.n, show(&f, score, b1), fo->min_sqnr);
  else if (!st && !met)
    say(&f, &log, "metric %s on %llu samples; float %.2f, all quantized %.2f (drop %.2f, bound %.2f)\n",
                    metric_name(&f), (unsigned long long)f.n, f.float_score, score, f.float_score - score, fo->max_drop);
  if (!st && !met && fo->check_only) { /* the caller searches later (after calibrating more) */
    octet_free(log.p);
    octet_free(excl);
    octet_free(f.ref);
    if (f.labels) {
      octet_tensor lab = {.data = f.labels};
      octet_tensor_free(&lab);
    }
    if (bound_met) *bound_met = 0;
    return OCTET_OK;
  }
  if (!st && !met) st = find_candidates(&f, err);
  if (!st && !met && f.n_cand == 0) say(&f, &log, "no quantized node to return to float\n");
  if (!st && !met && f.n_cand) {
    rk = octet_calloc(f.n_cand, sizeof *rk);
    order = octet_calloc(f.n_cand, sizeof *order);
    skip = octet_calloc(f.n_cand, sizeof *skip);
    if (!rk || !order || !skip) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    /* Graph order first, early layers first, the float prefix growing one node at a time until
     * the bound is met. In deep, badly conditioned models (PaddleOCR det) the early layers'
     * error is amplified most, and one node alone moves the output too little to rank it; and the
     * output error is not monotone in the float set (the errors of different layers partly
     * cancel), so the first prefix that meets the bound is looked for, not bisected. When none
     * of up to a quarter of the candidates does, the nodes are ranked by measurement (the output
     * error removed when each alone stays float) and the ranked prefix is bisected. */
    bool measure = f.n_cand <= RANK_MAX_CANDIDATES;
    size_t quarter = (f.n_cand + 3) / 4, n_graph = 0;
    double s_graph = NAN;
    /* The scan stops at a quarter of the candidates when ranking can take over: each step is a
     * quantization and an evaluation. */
    if (!st) st = first_prefix(&f, f.cand, measure ? quarter : f.n_cand, &log, &n_graph, &s_graph, err);
    memcpy(order, f.cand, f.n_cand * sizeof *order);
    chosen = n_graph;
    score = s_graph;
    if (!st && measure && !meets(&f, s_graph)) {
      uint64_t rank_n = fo->rank_samples ? fo->rank_samples : 256;
      if (rank_n > f.n) rank_n = f.n;
      double e_base = 0, s_base;
      st = trial(&f, excl, rank_n, &s_base, &e_base, err);
      for (size_t i = 0; !st && i < f.n_cand; i++) {
        rk[i].index = i;
        octet_free(excl);
        excl = exclusions(&f, &f.cand[i], 1, NULL);
        double s, e = 0;
        if (!excl) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
        if (!st) st = trial(&f, excl, rank_n, &s, &e, err);
        rk[i].gain = e_base - e;
      }
      if (!st) qsort(rk, f.n_cand, sizeof *rk, ranked_cmp);
      const char **ranked = octet_calloc(f.n_cand, sizeof *ranked);
      if (!st && !ranked) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      for (size_t i = 0; !st && i < f.n_cand; i++) ranked[i] = f.cand[rk[i].index];
      if (!st) {
        char top[1024] = "";
        for (size_t i = 0, at = 0; i < f.n_cand && i < 5 && at < sizeof top; i++)
          at += (size_t)snprintf(top + at, sizeof top - at, " %s", ranked[i]);
        step(&f, &log, "%zu candidate nodes, ranked by the output error removed when each alone stays "
                      "float; first:%s\n", f.n_cand, top);
      }
      size_t n_ranked = 0;
      double s_ranked = NAN;
      if (!st) st = bisect(&f, ranked, &log, &n_ranked, &s_ranked, err);
      /* (bisect ends with every candidate float when no shorter prefix meets the bound) */
      if (!st) {
        memcpy(order, ranked, f.n_cand * sizeof *order);
        chosen = n_ranked;
        score = s_ranked;
      }
      octet_free(ranked);
    }
    met = !st && meets(&f, score);
    /* Prune: return each chosen node to int8 while the bound holds, the last one added first
     * (the least harmful, or the latest layer). */
    for (size_t i = chosen; met && !st && chosen > 1 && i-- > 0;) {
      skip[i] = true;
      octet_free(excl);
      excl = exclusions(&f, order, chosen, skip);
      if (!excl) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      double s;
      if (!st) st = trial(&f, excl, f.n, &s, NULL, err);
      if (!st && meets(&f, s)) {
        score = s;
        step(&f, &log, "%s back to int8: %s\n", order[i], show(&f, s, b1));
      } else {
        skip[i] = false;
      }
    }
    if (!st) {
      octet_free(excl);
      excl = exclusions(&f, order, chosen, skip);
      if (!excl) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    }
  }
  /* The model itself, with the set found. */
  char *qsum = NULL;
  if (!st) {
    octet_quantize_options o = *f.qo;
    o.exclude_nodes = excl;
    st = octet_quantize_model(m, cal, &o, &qsum, err);
  }
  if (!st) {
    size_t kept = 0;
    for (size_t i = 0; i < chosen; i++) kept += !skip[i];
    if (f.metric == METRIC_SQNR)
      octet_sb_printf(&log, "%s: %s after %zu evaluations: output SQNR %s on %llu samples (bound %.1f dB); kept float: %zu node%s",
                      f.label, met ? "bound met" : "BOUND NOT MET", f.evals, show(&f, score, b2), (unsigned long long)f.n,
                      fo->min_sqnr, kept, kept == 1 ? "" : "s");
    else
      octet_sb_printf(&log, "%s: %s after %zu evaluations: %.2f vs float %.2f, drop %.2f (bound %.2f)%s; kept float: %zu node%s",
                      f.label, met ? "bound met" : "BOUND NOT MET", f.evals, score, f.float_score, f.float_score - score, fo->max_drop,
                      f.metric == METRIC_IOU ? "" : " points", kept, kept == 1 ? "" : "s");
    for (size_t i = 0, j = 0; i < chosen; i++)
      if (!skip[i]) octet_sb_printf(&log, "%s%s", j++ ? ", " : ": ", order[i]);
    octet_sb_printf(&log, "\n%s", qsum ? qsum : "");
    if (log.oom) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  octet_string_free(qsum);
  if (!st && summary) {
    *summary = log.p;
    log.p = NULL;
  }
  octet_free(log.p);
  octet_free(excl);
  octet_free(rk);
  octet_free(order);
  octet_free(skip);
  octet_free(f.cand);
  octet_free(f.ref);
  if (f.labels) {
    octet_tensor lab = {.data = f.labels};
    octet_tensor_free(&lab);
  }
  if (!st && bound_met) *bound_met = met;
  return st;
}
