/* bias-correction.c — bias correction: rounding the weights of a Conv/Gemm shifts the mean of each
 * output channel by sum_k (Wq - W)[c, k] * E[x_k]. E[x] is measured per input channel on the
 * layer's actual (quantized) input over calibration data, and the shift is taken off the int32 bias
 * (in steps of bias scale = input scale x weight scale). Only each layer's own weight error is
 * corrected: comparing whole-model outputs instead would count upstream shifts twice. Padding is
 * ignored (border taps see zeros, interior ones the channel mean). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantize/passes.h"
#include "quantize/report.h"

#define MAX_IO 64

typedef struct layer {
  const char *node, *in;  /* node name, its input activation in the quantized model */
  octet_ir_tensor *qbias; /* int32 bias initializer in the quantized model */
  const float *bscale;    /* per channel bias scale */
  size_t channels;        /* output channels */
  double *shift_w;        /* [channels x in_channels]: sum over kernel taps of (Wq - W) */
  size_t in_channels, group;
  int axis;               /* channel axis of the input: 1 for Conv, last for Gemm */
  double *sum_in;         /* per input channel */
  uint64_t count_in;
} layer;

typedef struct bc {
  layer *l;
  size_t n;
  octet_error err;
} bc;

static const octet_ir_tensor *init_of(const octet_ir_graph *g, const char *name) {
  return name && *name ? octet_ir_graph_initializer(g, name) : NULL;
}

static int channel_sums(layer *l, const octet_tensor *v, octet_error *err) {
  if (v->dtype != OCTET_DTYPE_FLOAT || v->rank < 2) return 0;
  int axis = l->axis < 0 ? v->rank - 1 : l->axis;
  if ((size_t)v->dims[axis] != l->in_channels) {
    octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': input '%s' has %lld channels, its weight %zu", l->node, l->in,
               (long long)v->dims[axis], l->in_channels);
    return 1;
  }
  size_t outer = 1, inner = 1;
  for (int d = 0; d < axis; d++) outer *= (size_t)v->dims[d];
  for (int d = axis + 1; d < v->rank; d++) inner *= (size_t)v->dims[d];
  const float *x = v->data;
  for (size_t o = 0; o < outer; o++)
    for (size_t c = 0; c < l->in_channels; c++) {
      const float *p = x + (o * l->in_channels + c) * inner;
      double s = 0;
      for (size_t i = 0; i < inner; i++) s += p[i];
      l->sum_in[c] += s;
    }
  l->count_in += outer * inner;
  return 0;
}

static int observe(void *ctx, const char *tensor, const char *node, const octet_tensor *v) {
  bc *b = ctx;
  for (size_t i = 0; i < b->n; i++) /* several layers may read one tensor */
    if (!strcmp(b->l[i].in, tensor) && channel_sums(&b->l[i], v, &b->err)) return 1;
  return 0;
}

static int64_t attr_i(const octet_ir_node *n, const char *name, int64_t dflt) {
  const octet_ir_attr *a = octet_ir_node_attr(n, name);
  return a && a->type == OCTET_ATTR_INT ? a->i : dflt;
}

static const octet_ir_node *producer(const octet_ir_graph *g, const char *name) {
  for (size_t j = 0; j < g->n_nodes; j++)
    if (g->nodes[j].n_outputs && !strcmp(g->nodes[j].outputs[0], name)) return &g->nodes[j];
  return NULL;
}

/* (Wq - W) summed over kernel taps, per (output channel, input channel of its group). */
static bool weight_error(layer *l, const octet_ir_tensor *w, const octet_ir_tensor *wq, const octet_ir_tensor *ws,
                         const octet_ir_tensor *wz, bool transposed) {
  size_t numel, co = l->channels;
  if (!octet_shape_numel(w->dims, w->rank, &numel) || numel * octet_dtype_size(wq->dtype) != wq->nbytes) return false;
  size_t rows = transposed ? (size_t)w->dims[1] : (size_t)w->dims[0]; /* Gemm transB=0: W is [K, N] */
  size_t cols = numel / (rows ? rows : 1);
  size_t n_scale = ws->nbytes / 4;
  bool u8 = wq->dtype == OCTET_DTYPE_UINT8;
  if (n_scale != 1 && n_scale != co) return false;
  if (!transposed && rows != co) return false;
  size_t taps = transposed ? 1 : cols / (l->in_channels / l->group);
  const float *wf = w->data, *sc = ws->data;
  for (size_t i = 0; i < numel; i++) {
    size_t c, k;
    if (transposed) { /* [K, N]: row k, column c */
      c = i % rows;
      k = i / rows;
    } else {
      c = i / cols;
      k = (i % cols) / taps; /* input channel within the group */
    }
    size_t ch = n_scale == 1 ? 0 : c;
    int32_t z = wz ? (u8 ? ((const uint8_t *)wz->data)[wz->nbytes == 1 ? 0 : ch] : ((const int8_t *)wz->data)[wz->nbytes == 1 ? 0 : ch]) : 0;
    int32_t q = u8 ? ((const uint8_t *)wq->data)[i] : ((const int8_t *)wq->data)[i];
    double dq = (double)(q - z) * sc[ch];
    l->shift_w[c * (l->in_channels / l->group) + k] += dq - (double)wf[i];
  }
  return true;
}

/* Conv/Gemm nodes of the QDQ model whose bias is DequantizeLinear(int32 initializer, scales) and
 * whose weight is DequantizeLinear(int8 initializer) of the float model's weight. */
static octet_status find_layers(bc *b, const octet_model *fm, octet_model *qm, octet_error *err) {
  octet_ir_graph *g = qm->graph;
  b->l = octet_calloc(g->n_nodes + 1, sizeof *b->l);
  if (!b->l) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  for (size_t i = 0; i < g->n_nodes; i++) {
    const octet_ir_node *n = &g->nodes[i];
    bool conv = !strcmp(n->op_type, "Conv"), gemm = !strcmp(n->op_type, "Gemm");
    if (n->domain[0] || (!conv && !gemm) || n->n_inputs < 3 || !n->inputs[2][0] || !n->name || !*n->name) continue;
    if (gemm && attr_i(n, "transA", 0)) continue;
    const octet_ir_node *bdq = producer(g, n->inputs[2]), *wdq = producer(g, n->inputs[1]), *fn = NULL;
    for (size_t j = 0; j < fm->graph->n_nodes && !fn; j++)
      if (fm->graph->nodes[j].name && !strcmp(fm->graph->nodes[j].name, n->name)) fn = &fm->graph->nodes[j];
    if (!bdq || bdq->n_inputs < 2 || !wdq || wdq->n_inputs < 2 || strcmp(wdq->op_type, "DequantizeLinear") || !fn ||
        fn->n_inputs < 2)
      continue;
    const octet_ir_tensor *qb = init_of(g, bdq->inputs[0]), *sc = init_of(g, bdq->inputs[1]);
    const octet_ir_tensor *wq = init_of(g, wdq->inputs[0]), *ws = init_of(g, wdq->inputs[1]);
    const octet_ir_tensor *wz = wdq->n_inputs > 2 ? init_of(g, wdq->inputs[2]) : NULL;
    const octet_ir_tensor *w = init_of(fm->graph, fn->inputs[1]);
    if (!qb || !sc || qb->dtype != OCTET_DTYPE_INT32 || qb->rank != 1 || sc->dtype != OCTET_DTYPE_FLOAT ||
        sc->nbytes != qb->nbytes || !wq || !ws || !w || w->dtype != OCTET_DTYPE_FLOAT || w->rank < 2 ||
        (wq->dtype != OCTET_DTYPE_INT8 && wq->dtype != OCTET_DTYPE_UINT8) || ws->dtype != OCTET_DTYPE_FLOAT ||
        (wz && wz->dtype != wq->dtype))
      continue;
    bool transposed = gemm && !attr_i(n, "transB", 0);
    layer *l = &b->l[b->n];
    l->node = n->name;
    l->in = n->inputs[0];
    l->qbias = (octet_ir_tensor *)qb; /* its data is replaced below, never written through */
    l->bscale = sc->data;
    l->channels = (size_t)qb->dims[0];
    l->group = conv ? (size_t)attr_i(n, "group", 1) : 1;
    if (l->group < 1) continue;
    l->in_channels = gemm ? (size_t)(transposed ? w->dims[0] : w->dims[1]) : (size_t)w->dims[1] * l->group;
    l->axis = conv ? 1 : -1;
    if ((size_t)(transposed ? w->dims[1] : w->dims[0]) != l->channels || l->channels % l->group) continue;
    l->shift_w = octet_calloc(l->channels * (l->in_channels / l->group) + 1, sizeof *l->shift_w);
    l->sum_in = octet_calloc(l->in_channels + 1, sizeof *l->sum_in);
    b->n++;
    if (!l->shift_w || !l->sum_in) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    if (!weight_error(l, w, wq, ws, wz, transposed)) b->n--; /* shapes not as expected: leave it */
  }
  return OCTET_OK;
}

static octet_status run_side(bc *b, const octet_model *m, octet_dataset *const *data, uint64_t first,
                             uint64_t last, const octet_session_options *base, const char **names, octet_error *err) {
  octet_session_options so = base ? *base : (octet_session_options){0};
  so.observer = observe;
  so.observer_ctx = b;
  so.observe_names = names;
  so.n_observe_names = b->n;
  so.profile = 0;
  octet_session *s = NULL;
  octet_status st = octet_session_create(m, &so, &s, err);
  size_t n_in = st ? 0 : octet_session_input_count(s), n_out = st ? 0 : octet_session_output_count(s);
  if (!st && (n_in > MAX_IO || n_out > MAX_IO)) st = octet_fail(err, OCTET_STATUS_UNSUPPORTED, "too many inputs/outputs");
  octet_tensor types[MAX_IO], in[MAX_IO], out[MAX_IO];
  memset(in, 0, sizeof in);
  uint64_t batch = 16;
  for (size_t k = 0; !st && k < n_in; k++) {
    const char *name;
    st = octet_model_input(m, k, &name, &types[k], err);
    if (!st && types[k].rank > 0 && types[k].dims[0] > 0) batch = (uint64_t)types[k].dims[0];
  }
  if (!st && n_in && batch == 16) { /* big samples one at a time */
    octet_tensor one;
    st = octet_dataset_read(data[0], first, 1, types[0].dtype ? types[0].dtype : OCTET_DTYPE_FLOAT, &one, err);
    if (!st && octet_tensor_nbytes(&one) > (256u << 10)) batch = 1;
    if (!st) octet_tensor_free(&one);
  }
  for (uint64_t at = first; !st && at < last;) {
    uint64_t nb = last - at < batch ? last - at : batch;
    for (size_t k = 0; !st && k < n_in; k++)
      st = octet_dataset_read(data[k], at, nb, types[k].dtype ? types[k].dtype : OCTET_DTYPE_FLOAT, &in[k], err);
    if (!st && (st = octet_session_run(s, in, n_in, out, n_out, err)) && b->err.status && err) *err = b->err;
    for (size_t k = 0; k < n_in; k++) octet_tensor_free(&in[k]);
    at += nb;
  }
  octet_session_destroy(s);
  return st;
}

octet_status octet_quantize_bias_correction(const octet_model *float_model, octet_model *quantized,
                                            octet_dataset *const *data, uint64_t first, uint64_t last,
                                            const octet_session_options *session_options, char **summary,
                                            octet_error *err) {
  if (!float_model || !quantized || !data || last <= first)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "octet_quantize_bias_correction: models and data are required");
  bc b = {0};
  const char **names = NULL;
  octet_status st = find_layers(&b, float_model, quantized, err);
  if (!st) {
    names = octet_calloc(b.n + 1, sizeof *names);
    if (!names) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; !st && i < b.n; i++) names[i] = b.l[i].in;
  }
  if (!st && b.n) st = run_side(&b, quantized, data, first, last, session_options, names, err);
  size_t corrected = 0, steps = 0;
  double worst = 0;
  const char *worst_node = "";
  for (size_t i = 0; !st && i < b.n; i++) {
    layer *l = &b.l[i];
    if (!l->count_in) continue; /* not reached */
    int32_t *nb = octet_arena_alloc(quantized->arena, l->channels * sizeof *nb);
    if (!nb) {
      st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
      break;
    }
    const int32_t *ob = l->qbias->data;
    size_t per_group = l->in_channels / l->group, out_per_group = l->channels / l->group;
    for (size_t c = 0; c < l->channels; c++) {
      double shift = 0; /* E[(Wq - W) x] for output channel c */
      size_t g0 = (c / out_per_group) * per_group;
      for (size_t k = 0; k < per_group; k++)
        shift += l->shift_w[c * per_group + k] * l->sum_in[g0 + k] / (double)l->count_in;
      double v = rint((double)ob[c] - shift / (double)l->bscale[c]);
      if (!(l->bscale[c] > 0) || !isfinite(v)) v = ob[c];
      if (v > INT32_MAX) v = INT32_MAX;
      if (v < INT32_MIN) v = INT32_MIN;
      nb[c] = (int32_t)v;
      steps += nb[c] != ob[c];
      if (fabs(shift) > worst) {
        worst = fabs(shift);
        worst_node = l->node;
      }
    }
    l->qbias->data = nb;
    l->qbias->owned = true;
    l->qbias->external = NULL;
    corrected++;
  }
  if (!st && summary) {
    char text[512];
    snprintf(text, sizeof text,
             "bias correction: %zu Conv/Gemm biases adjusted for their weights' rounding, input means from %llu samples "
             "(%zu channel values changed; largest shift %.4g at %s)\n",
             corrected, (unsigned long long)(last - first), steps, worst, worst_node[0] ? worst_node : "-");
    *summary = octet_strdup(text);
    if (!*summary) st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  }
  for (size_t i = 0; i < b.n; i++) {
    octet_free(b.l[i].shift_w);
    octet_free(b.l[i].sum_in);
  }
  octet_free(b.l);
  octet_free(names);
  return st;
}
