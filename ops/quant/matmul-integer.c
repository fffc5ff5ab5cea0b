/* matmul-integer.c — every int8 matrix product that is not a convolution: MatMulInteger,
 * QLinearMatMul, and com.microsoft's QGemm, MatMulIntegerToFloat, DynamicQuantizeMatMul.
 * All run the qgemm core (B packed at create when constant) and differ only in the epilogue. */
#include "ops/quant/q8-dynamic-quant.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/quant/qgemm.h"
#include "ops/quant/quant-util.h"

enum mm_op { OP_MMI, OP_QLMM, OP_MMI2F, OP_DQMM, OP_QGEMM };
enum { NO_INPUT = 99 };

typedef struct mm_state {
  octet_q_node node;
  int op;
  size_t i_a, i_b, i_azp, i_bzp, i_as, i_bs, i_ys, i_yzp, i_bias;
  int32_t a_dt, b_dt, y_dt;
  bool trans_a, trans_b;
  float alpha;
  bool prepacked;
  octet_qgemm_packed packed;
  void *pack_mem;
  /* The fast path (qgemm-dispatch.h), chosen at create; NULL runs the reference core. */
  const octet_qgemm_ukernel *uk;
  octet_qgemm_panels fb;
  /* DynamicQuantizeMatMul: the activation quantizer; with int16-pair panels A is quantized
   * straight into them (fused_dq), never stored as uint8. */
  const octet_q8_dynq *dq;
  bool fused_dq;
  /* A constant b_scale found valid at create: runs that get the same tensor skip the check. */
  const void *bs_ok;
} mm_state;

/* Shapes of one call: out = batch x M x N; per batch, where A's and B's matrices start. */
typedef struct mm_shape {
  size_t M, K, N, batch, b_batch;
  int32_t rank_batch;
  int64_t out_batch_dims[OCTET_MAX_RANK];
  int64_t a_bstride[OCTET_MAX_RANK], b_bstride[OCTET_MAX_RANK]; /* in matrices */
  size_t a_lda_k, a_lda_m; /* A element (m, k) at m * a_lda_m + k * a_lda_k */
  size_t b_sk, b_sn;       /* B element (k, n) at k * b_sk + n * b_sn */
} mm_shape;

static const octet_tensor *opt_in(const octet_tensor *const *in, size_t n_in, size_t i) {
  return i < n_in ? in[i] : NULL;
}

static octet_status mm_bad(const mm_state *s, octet_error *err, const char *what) {
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): %s", s->node.name,
                    s->node.op, what);
}

static octet_status mm_shape_of(const mm_state *s, const octet_tensor *a, const octet_tensor *b,
                                const octet_tensor *azp, mm_shape *sh, octet_tensor *out,
                                octet_error *err) {
  memset(sh, 0, sizeof *sh);
  if (s->op == OP_QGEMM) {
    if (a->rank != 2 || b->rank != 2) return mm_bad(s, err, "A and B must be 2-D");
    sh->M = (size_t)a->dims[s->trans_a ? 1 : 0];
    sh->K = (size_t)a->dims[s->trans_a ? 0 : 1];
    size_t kb = (size_t)b->dims[s->trans_b ? 1 : 0];
    sh->N = (size_t)b->dims[s->trans_b ? 0 : 1];
    if (kb != sh->K) return mm_bad(s, err, "inner dimensions of A and B differ");
    sh->a_lda_m = s->trans_a ? 1 : sh->K;
    sh->a_lda_k = s->trans_a ? sh->M : 1;
    sh->b_sk = s->trans_b ? 1 : sh->N;
    sh->b_sn = s->trans_b ? sh->K : 1;
    sh->batch = sh->b_batch = 1;
    out->rank = 2;
    out->dims[0] = (int64_t)sh->M;
    out->dims[1] = (int64_t)sh->N;
    return OCTET_OK;
  }
  if (a->rank < 1 || b->rank < 1) return mm_bad(s, err, "A and B must have rank >= 1");
  int64_t ad[OCTET_MAX_RANK + 1], bd[OCTET_MAX_RANK + 1];
  int32_t ar = a->rank, br = b->rank;
  memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
  memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
  bool a1 = ar == 1, b1 = br == 1;
  if (a1) ad[1] = ad[0], ad[0] = 1, ar = 2;
  if (b1) bd[1] = 1, br = 2;
  sh->M = (size_t)ad[ar - 2];
  sh->K = (size_t)ad[ar - 1];
  sh->N = (size_t)bd[br - 1];
  if ((size_t)bd[br - 2] != sh->K) return mm_bad(s, err, "inner dimensions of A and B differ");
  int32_t ra = ar - 2, rb = br - 2, r = ra > rb ? ra : rb;
  sh->rank_batch = r;
  sh->batch = 1;
  int64_t sa = 1, sb = 1;
  for (int32_t i = r - 1; i >= 0; i--) {
    int32_t ia = i - (r - ra), ib = i - (r - rb);
    int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
    if (da != db && da != 1 && db != 1) return mm_bad(s, err, "batch dimensions do not broadcast");
    int64_t d = da == 1 ? db : da;
    sh->out_batch_dims[i] = d;
    sh->a_bstride[i] = da == 1 ? 0 : sa;
    sh->b_bstride[i] = db == 1 ? 0 : sb;
    sa *= da, sb *= db;
    sh->batch *= (size_t)d;
  }
  sh->b_batch = (size_t)sb;
  sh->a_lda_m = sh->K, sh->a_lda_k = 1, sh->b_sk = sh->N, sh->b_sn = 1;
  int32_t orank = 0;
  for (int32_t i = 0; i < r; i++) out->dims[orank++] = sh->out_batch_dims[i];
  if (!a1) out->dims[orank++] = (int64_t)sh->M;
  if (!b1) out->dims[orank++] = (int64_t)sh->N;
  out->rank = orank;
  /* One B for every batch (weights): A's matrices follow each other, and so do Y's, so the
   * batch is one product of batch * M rows: one pass over B's panels, whole row tiles instead
   * of a ragged last tile per matrix (a ViT's 17 tokens), one hand-off to the threads. Not with
   * MatMulInteger's per-row A zero points, which are indexed by the row within a matrix. */
  bool per_row_za = s->op == OP_MMI && azp && octet_tensor_numel(azp) > 1;
  size_t rows;
  if (sh->b_batch == 1 && sh->batch > 1 && !per_row_za && octet_mul_size(sh->M, sh->batch, &rows)) {
    sh->M = rows;
    sh->batch = 1;
    sh->rank_batch = 0;
  }
  return OCTET_OK;
}

/* Matrix offsets (in matrices) of A and B for output batch index bi. */
static void mm_batch_offsets(const mm_shape *sh, size_t bi, size_t *ao, size_t *bo) {
  size_t a = 0, b = 0;
  for (int32_t i = sh->rank_batch - 1; i >= 0; i--) {
    size_t d = (size_t)sh->out_batch_dims[i], c = bi % d;
    bi /= d;
    a += c * (size_t)sh->a_bstride[i];
    b += c * (size_t)sh->b_bstride[i];
  }
  *ao = a, *bo = b;
}

/* A per-column parameter (scale or zero point of B) of N or b_batch * N elements, or one. */
static octet_status mm_check_col_param(const mm_state *s, const octet_tensor *t,
                                       const mm_shape *sh, const char *what, octet_error *err) {
  if (!t) return OCTET_OK;
  size_t n = octet_tensor_numel(t);
  if (n == 1 || n == sh->N || n == sh->N * sh->b_batch) return OCTET_OK;
  return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                    "node '%s' (%s): %s has %zu elements; expected 1, N = %zu or batch x N",
                    s->node.name, s->node.op, what, n, sh->N);
}
static size_t col_off(const octet_tensor *t, const mm_shape *sh, size_t b_mat) {
  return t && octet_tensor_numel(t) == sh->N * sh->b_batch && sh->b_batch > 1 ? b_mat * sh->N : 0;
}

/* ---- create ---- */

static octet_status mm_create(const octet_kernel_info *info, int op, int32_t *out_dtypes,
                              void **state, octet_error *err) {
  mm_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->op = op;
  s->alpha = 1.0f;
  s->i_azp = s->i_bzp = s->i_as = s->i_bs = s->i_ys = s->i_yzp = s->i_bias = NO_INPUT;
  octet_status st;
  size_t min_in = 2, max_in = 4;
  switch (op) {
  case OP_MMI: s->i_a = 0, s->i_b = 1, s->i_azp = 2, s->i_bzp = 3; break;
  case OP_QLMM:
    s->i_a = 0, s->i_as = 1, s->i_azp = 2, s->i_b = 3, s->i_bs = 4, s->i_bzp = 5, s->i_ys = 6,
    s->i_yzp = 7, min_in = max_in = 8;
    break;
  case OP_MMI2F:
    s->i_a = 0, s->i_b = 1, s->i_as = 2, s->i_bs = 3, s->i_azp = 4, s->i_bzp = 5, s->i_bias = 6;
    min_in = 4, max_in = 7;
    break;
  case OP_DQMM: s->i_a = 0, s->i_b = 1, s->i_bs = 2, s->i_bzp = 3, s->i_bias = 4, min_in = 3, max_in = 5; break;
  default:
    s->i_a = 0, s->i_as = 1, s->i_azp = 2, s->i_b = 3, s->i_bs = 4, s->i_bzp = 5, s->i_bias = 6,
    s->i_ys = 7, s->i_yzp = 8, min_in = 6, max_in = 9;
    break;
  }
  if ((st = octet_k_expect_inputs(info, min_in, max_in, err))) goto fail;
  s->a_dt = info->input_dtypes[s->i_a];
  s->b_dt = info->input_dtypes[s->i_b];
  if ((st = octet_k_expect_dtype(info, s->i_a, op == OP_DQMM ? OCTET_DT(FLOAT) : OCTET_DT_Q8, err)) ||
      (st = octet_k_expect_dtype(info, s->i_b, OCTET_DT_Q8, err)))
    goto fail;
  /* Zero points, when present, carry their tensor's type. */
  size_t zp_of[2][2] = {{s->i_azp, s->i_a}, {s->i_bzp, s->i_b}};
  for (int z = 0; z < 2; z++) {
    size_t zi = zp_of[z][0];
    if (zi < info->n_inputs && info->input_dtypes[zi] && op != OP_DQMM &&
        info->input_dtypes[zi] != info->input_dtypes[zp_of[z][1]]) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): zero point input %zu has type %s, its tensor is %s",
                      info->node_name, info->op_type, zi, octet_dtype_name(info->input_dtypes[zi]),
                      octet_dtype_name(info->input_dtypes[zp_of[z][1]]));
      goto fail;
    }
  }
  switch (op) {
  case OP_MMI: s->y_dt = OCTET_DTYPE_INT32; break;
  case OP_QLMM:
    s->y_dt = info->input_dtypes[s->i_yzp];
    if ((st = octet_k_expect_dtype(info, s->i_yzp, OCTET_DT_Q8, err))) goto fail;
    break;
  case OP_MMI2F:
  case OP_DQMM: s->y_dt = OCTET_DTYPE_FLOAT; break;
  default: {
    int64_t ta, tb;
    if ((st = octet_attr_int(info, "transA", 0, &ta, err)) ||
        (st = octet_attr_int(info, "transB", 0, &tb, err)) ||
        (st = octet_attr_float(info, "alpha", 1.0f, &s->alpha, err)))
      goto fail;
    s->trans_a = ta != 0, s->trans_b = tb != 0;
    bool has_yzp = s->i_yzp < info->n_inputs && info->input_dtypes[s->i_yzp];
    bool has_ys = s->i_ys < info->n_inputs && info->input_dtypes[s->i_ys];
    if (has_yzp && !has_ys) {
      st = octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (QGemm): y_zero_point given without y_scale", info->node_name);
      goto fail;
    }
    /* ORT requantizes only when y_zero_point is given; without y_scale the output is float. */
    s->y_dt = has_yzp ? info->input_dtypes[s->i_yzp] : OCTET_DTYPE_FLOAT;
    if (has_ys && !has_yzp) {
      st = octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (QGemm): y_scale without y_zero_point is not supported",
                      info->node_name);
      goto fail;
    }
  }
  }
  out_dtypes[0] = s->y_dt;

  s->uk = octet_qgemm_select();
  const octet_tensor *cbs = s->i_bs < info->n_inputs && info->constant_inputs ? info->constant_inputs[s->i_bs] : NULL;
  octet_error ignored;
  if (cbs && cbs->data && !octet_q_check_scale(&s->node, cbs, octet_tensor_numel(cbs), "b_scale", &ignored))
    s->bs_ok = cbs->data;
  if (op == OP_DQMM) {
    s->dq = octet_q8_dynq_select();
    s->fused_dq = s->uk && s->uk->fmt == OCTET_QFMT_I16X2;
  }
  /* Constant 2-D B (and its zero point): pack now, once. */
  const octet_tensor *b = info->constant_inputs ? info->constant_inputs[s->i_b] : NULL;
  bool zp_known = s->i_bzp >= info->n_inputs || !info->input_dtypes[s->i_bzp] ||
                  (info->constant_inputs && info->constant_inputs[s->i_bzp]);
  if (b && b->rank == 2 && zp_known) {
    const octet_tensor *zb = s->i_bzp < info->n_inputs && info->constant_inputs ? info->constant_inputs[s->i_bzp] : NULL;
    size_t K = (size_t)b->dims[s->trans_b ? 1 : 0], N = (size_t)b->dims[s->trans_b ? 0 : 1];
    size_t nzb = zb ? octet_tensor_numel(zb) : 0, bytes;
    if (!zb || nzb == 1 || nzb == N) {
      if (s->uk ? !octet_qgemm_size(s->uk, N, K, true, &bytes) : !octet_qgemm_packed_size(K, N, &bytes)) {
        st = octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': B is too large", info->node_name);
        goto fail;
      }
      s->pack_mem = octet_malloc(bytes ? bytes : 1);
      if (!s->pack_mem) {
        st = octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing B",
                        info->node_name);
        goto fail;
      }
      if (s->uk)
        octet_qgemm_pack_b(s->uk, &s->fb, s->pack_mem, N, K, b->data, b->dtype == OCTET_DTYPE_INT8,
                           s->trans_b ? K : 1, s->trans_b ? 1 : N, zb ? zb->data : NULL,
                           zb ? zb->dtype : 0, nzb);
      else
        octet_qgemm_pack(&s->packed, s->pack_mem, K, N, b->data, b->dtype == OCTET_DTYPE_INT8,
                         s->trans_b ? 1 : N, s->trans_b ? K : 1, zb ? zb->data : NULL,
                         zb && zb->dtype == OCTET_DTYPE_INT8, nzb);
      s->prepacked = true;
    }
  }
  *state = s;
  return OCTET_OK;
fail:
  octet_free(s->pack_mem);
  octet_free(s);
  return st;
}

void octet_k_qmatmul_destroy(void *state) {
  mm_state *s = state;
  if (!s) return;
  octet_free(s->pack_mem);
  octet_free(s);
}

OCTET_K_CREATE(octet_k_matmul_integer_create) { return mm_create(info, OP_MMI, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_matmul_create) { return mm_create(info, OP_QLMM, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_matmul_integer_to_float_create) { return mm_create(info, OP_MMI2F, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_dynamic_quantize_matmul_create) { return mm_create(info, OP_DQMM, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qgemm_create) { return mm_create(info, OP_QGEMM, out_dtypes, state, err); }

/* ---- infer ---- */

typedef struct mm_ws {
  size_t acc, pack, aq, at, scales, apack, total;
} mm_ws;

static octet_status mm_ws_layout(const mm_state *s, const octet_tensor *a, const mm_shape *sh,
                                 mm_ws *w) {
  size_t mn, pack = 0, total = 0;
  memset(w, 0, sizeof *w);
  size_t apack = 0;
  if (s->uk) {
    /* Fast path: packed A panels instead of the int32 accumulator and transposed A. */
    mn = 0;
    if (!octet_qgemm_size(s->uk, sh->M, sh->K, false, &apack) ||
        (!s->prepacked && !octet_qgemm_size(s->uk, sh->N, sh->K, true, &pack)))
      return OCTET_STATUS_INVALID_ARGUMENT;
  } else {
    if (!octet_mul_size(sh->M, sh->N, &mn) || !octet_mul_size(mn, 4, &mn)) return OCTET_STATUS_INVALID_ARGUMENT;
    if (!s->prepacked && !octet_qgemm_packed_size(sh->K, sh->N, &pack)) return OCTET_STATUS_INVALID_ARGUMENT;
  }
  size_t sizes[6] = {mn, pack, s->op == OP_DQMM && !s->fused_dq ? octet_tensor_numel(a) : 0,
                     s->trans_a && !s->uk ? sh->M * sh->K : 0, sh->N * sh->b_batch * sizeof(float), apack};
  size_t *offs[6] = {&w->acc, &w->pack, &w->aq, &w->at, &w->scales, &w->apack};
  for (int i = 0; i < 6; i++) {
    *offs[i] = total;
    if (!octet_add_size(total, (sizes[i] + 63) & ~(size_t)63, &total)) return OCTET_STATUS_INVALID_ARGUMENT;
  }
  w->total = total;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_qmatmul_infer) {
  mm_state *s = state;
  mm_shape sh;
  octet_status st = mm_shape_of(s, in[s->i_a], in[s->i_b], opt_in(in, n_in, s->i_azp), &sh, &out[0], err);
  if (st) return st;
  out[0].dtype = s->y_dt;
  mm_ws w;
  if (mm_ws_layout(s, in[s->i_a], &sh, &w))
    return mm_bad(s, err, "workspace size overflows");
  *workspace = w.total;
  return OCTET_OK;
}

/* ---- run ---- */

/* One matrix of a (batched) product, run over a range of rows of A. */
typedef struct mm_task {
  const mm_state *s;
  const mm_shape *sh;
  const octet_qgemm_packed *p;
  const uint8_t *a;
  bool a_signed;
  const octet_tensor *azp;
  bool per_row_za;
  int32_t za;
  int32_t *acc;
  const octet_tensor *bias;
  bool has_yzp;
  int32_t yz;
  const float *sc;
  bool per_col_scale;
  char *y;
} mm_task;

static void mm_rows(void *arg, size_t m0, size_t m1) {
  const mm_task *t = arg;
  const mm_state *s = t->s;
  const mm_shape *sh = t->sh;
  const octet_tensor *bias = t->bias;
  size_t ysz = octet_dtype_size(s->y_dt);
  if (t->per_row_za) {
    /* Per-row A zero points (MatMulInteger only): one row at a time. */
    for (size_t m = m0; m < m1; m++) {
      int32_t zm = octet_q_zp(t->azp, m);
      octet_qgemm_ref(1, t->a + m * sh->K, t->a_signed, sh->K, &zm, false, t->p, t->acc + m * sh->N, sh->N);
    }
  } else {
    octet_qgemm_ref(m1 - m0, t->a + m0 * sh->K, t->a_signed, sh->K, &t->za, false, t->p,
                    t->acc + m0 * sh->N, sh->N);
  }
  for (size_t m = m0; m < m1; m++) {
    int32_t *row = t->acc + m * sh->N;
    char *y = t->y + m * sh->N * ysz;
    if (s->op == OP_QGEMM && bias) {
      /* C broadcasts as (), (N), (1, N), (M, 1) or (M, N); it joins the int32 accumulator. */
      const int32_t *c = bias->data;
      size_t n = octet_tensor_numel(bias);
      for (size_t j = 0; j < sh->N; j++) {
        int32_t cv = n == 1 ? c[0]
                     : bias->rank == 1 || bias->dims[0] == 1 ? c[j]
                     : bias->dims[1] == 1 ? c[m]
                                          : c[m * sh->N + j];
        row[j] = (int32_t)((uint32_t)row[j] + (uint32_t)cv);
      }
    }
    if (s->op == OP_MMI) {
      memcpy(y, row, sh->N * 4);
    } else if (s->op == OP_QLMM || (s->op == OP_QGEMM && t->has_yzp)) {
      octet_requant_row(row, NULL, t->sc, t->per_col_scale, t->yz, s->y_dt, y, 1, sh->N);
    } else {
      /* float output: acc * (a_scale * b_scale) (+ bias), as ORT's scale-bias processor */
      float *yf = (float *)y;
      const float *bf = bias && s->op != OP_QGEMM ? bias->data : NULL;
      for (size_t j = 0; j < sh->N; j++) {
        float v = (float)row[j] * t->sc[t->per_col_scale ? j : 0];
        yf[j] = bf ? v + bf[j] : v;
      }
    }
  }
}

/* ---- the fast path: packed panels and a fused epilogue (qgemm-dispatch.h) ---- */

typedef struct mm_fast_args {
  const mm_state *s;
  const mm_shape *sh;
  const mm_ws *w;
  char *ws;
  const void *a_data;
  bool a_signed;
  const octet_tensor *azp;
  bool per_row_za;
  int32_t za;
  const octet_tensor *bias;
  bool has_yzp;
  int32_t yz;
  const float *scales;
  bool per_col_scale;
  const octet_host *host;
  const float *af; /* fused DynamicQuantizeMatMul: float A, quantized with a_scale and za */
  float a_scale;
} mm_fast_args;

typedef struct mm_fast_task {
  const mm_fast_args *f;
  const uint8_t *a;
  const float *af;
  octet_qgemm_panels ap;
  const octet_qgemm_panels *bp;
  octet_qgemm_epi ep;
  size_t per, tiles; /* a task index covers `per` tiles of the `tiles` there are */
} mm_fast_task;

/* Tasks below this many multiply-adds (a few microseconds) cost more to hand to another
 * thread than they save; small products run as fewer, larger tasks. */
#define MM_MIN_TASK_MACS ((size_t)128 * 1024)

static size_t mm_tasks(const mm_shape *sh, size_t tiles) {
  size_t macs = sh->M, most;
  if (!octet_mul_size(macs, sh->N, &macs) || !octet_mul_size(macs, sh->K, &macs)) macs = SIZE_MAX;
  most = macs / MM_MIN_TASK_MACS;
  most = most ? most : 1;
  return tiles < most ? tiles : most;
}

static void mm_fast_pack_a(mm_fast_task *t, size_t r0, size_t r1) {
  const mm_fast_args *f = t->f;
  const mm_shape *sh = f->sh;
  size_t sr = f->s->trans_a ? 1 : sh->K, sk = f->s->trans_a ? sh->M : 1;
  if (t->af)
    octet_qs16_quant_pack(f->s->dq, &t->ap, f->ws + f->w->apack, sh->M, sh->K, f->s->uk->mr, t->af,
                          sh->K, f->a_scale, f->za, r0, r1);
  else if (f->per_row_za)
    octet_qgemm_pack_a(f->s->uk, &t->ap, f->ws + f->w->apack, sh->M, sh->K, t->a, f->a_signed, sr, sk,
                       f->azp->data, f->azp->dtype, sh->M, r0, r1);
  else
    octet_qgemm_pack_a(f->s->uk, &t->ap, f->ws + f->w->apack, sh->M, sh->K, t->a, f->a_signed, sr, sk,
                       &f->za, OCTET_DTYPE_INT32, 1, r0, r1);
}

/* Row tiles [t0, t1): each task packs the A rows it multiplies, so no packing is shared. */
static void mm_fast_rows(void *arg, size_t c0, size_t c1) {
  mm_fast_task *t = arg;
  size_t mr = t->f->s->uk->mr, M = t->f->sh->M;
  size_t t0 = c0 * t->per, t1 = c1 * t->per < t->tiles ? c1 * t->per : t->tiles;
  size_t m0 = t0 * mr, m1 = t1 * mr < M ? t1 * mr : M;
  mm_fast_task local = *t; /* the panel header is per task; the panel memory is per row */
  mm_fast_pack_a(&local, m0, m1);
  t->f->s->uk->compute(&local.ap, t->bp, m0, m1, 0, t->f->sh->N, &t->ep);
}

/* Column panels [t0, t1) against A packed beforehand (few rows: GEMV-like shapes). */
static void mm_fast_cols(void *arg, size_t c0, size_t c1) {
  const mm_fast_task *t = arg;
  size_t nr = t->f->s->uk->nr, N = t->f->sh->N;
  size_t t0 = c0 * t->per, t1 = c1 * t->per < t->tiles ? c1 * t->per : t->tiles;
  t->f->s->uk->compute(&t->ap, t->bp, 0, t->f->sh->M, t0 * nr, t1 * nr < N ? t1 * nr : N, &t->ep);
}

static void mm_run_fast(const mm_fast_args *f, const octet_tensor *b, const octet_tensor *bzp,
                        const octet_tensor *bs, void *y) {
  const mm_state *s = f->s;
  const mm_shape *sh = f->sh;
  const octet_qgemm_ukernel *uk = s->uk;
  size_t a_mat = sh->M * sh->K, b_mat = sh->K * sh->N, y_mat = sh->M * sh->N;
  size_t ysz = octet_dtype_size(s->y_dt);
  for (size_t bi = 0; bi < sh->batch; bi++) {
    size_t ao, bo;
    mm_batch_offsets(sh, bi, &ao, &bo);
    mm_fast_task t = {.f = f, .a = (const uint8_t *)f->a_data + ao * a_mat,
                      .af = f->af ? f->af + ao * a_mat : NULL};
    octet_qgemm_panels bp;
    if (s->prepacked) {
      t.bp = &s->fb;
    } else {
      size_t zo = col_off(bzp, sh, bo);
      octet_qgemm_pack_b(uk, &bp, f->ws + f->w->pack, sh->N, sh->K, (const uint8_t *)b->data + bo * b_mat,
                         b->dtype == OCTET_DTYPE_INT8, sh->b_sn, sh->b_sk,
                         bzp ? (const uint8_t *)bzp->data + zo : NULL, bzp ? bzp->dtype : 0,
                         bzp ? (octet_tensor_numel(bzp) == 1 ? 1 : sh->N) : 0);
      t.bp = &bp;
    }
    octet_qgemm_epi *ep = &t.ep;
    ep->out = (char *)y + bi * y_mat * ysz;
    ep->ldo = sh->N;
    ep->scale = f->scales + (f->per_col_scale ? col_off(bs, sh, bo) : 0);
    ep->scale_cs = f->per_col_scale;
    ep->zp = f->yz;
    ep->out_dtype = s->y_dt;
    const octet_tensor *bias = f->bias;
    if (s->op == OP_MMI) {
      ep->kind = OCTET_QEPI_I32;
    } else if (s->op == OP_QLMM || (s->op == OP_QGEMM && f->has_yzp)) {
      ep->kind = OCTET_QEPI_Q8;
    } else {
      ep->kind = OCTET_QEPI_F32;
      if (bias && s->op != OP_QGEMM) ep->fbias = bias->data;
    }
    if (s->op == OP_QGEMM && bias) {
      /* C broadcasts as (), (N), (1, N), (M, 1) or (M, N); it joins the int32 accumulator. */
      size_t n = octet_tensor_numel(bias);
      ep->bias = bias->data;
      if (n == 1) ep->bias_rs = 0, ep->bias_cs = 0;
      else if (bias->rank == 1 || bias->dims[0] == 1) ep->bias_rs = 0, ep->bias_cs = 1;
      else if (bias->dims[1] == 1) ep->bias_rs = 1, ep->bias_cs = 0;
      else ep->bias_rs = sh->N, ep->bias_cs = 1;
    }
    size_t mtiles = (sh->M + uk->mr - 1) / uk->mr, ntiles = (sh->N + uk->nr - 1) / uk->nr;
    /* Tiles split across the host's threads over M (or over N when M is one tile); every
     * output element is computed whole by one tile, so any split gives the same result. */
    t.tiles = mtiles > 1 || ntiles == 1 ? mtiles : ntiles;
    size_t tasks = mm_tasks(sh, t.tiles);
    t.per = (t.tiles + tasks - 1) / tasks;
    tasks = (t.tiles + t.per - 1) / t.per;
    if (mtiles > 1 || ntiles == 1) {
      octet_parallel_for(f->host, tasks, mm_fast_rows, &t);
    } else {
      mm_fast_pack_a(&t, 0, sh->M);
      octet_parallel_for(f->host, tasks, mm_fast_cols, &t);
    }
  }
}

OCTET_K_RUN(octet_k_qmatmul_run) {
  mm_state *s = state;
  const octet_tensor *a = in[s->i_a], *b = in[s->i_b];
  const octet_tensor *azp = opt_in(in, n_in, s->i_azp), *bzp = opt_in(in, n_in, s->i_bzp);
  const octet_tensor *as = opt_in(in, n_in, s->i_as), *bs = opt_in(in, n_in, s->i_bs);
  const octet_tensor *ys = opt_in(in, n_in, s->i_ys), *yzp = opt_in(in, n_in, s->i_yzp);
  const octet_tensor *bias = opt_in(in, n_in, s->i_bias);
  mm_shape sh;
  octet_tensor shape_out;
  octet_status st = mm_shape_of(s, a, b, azp, &sh, &shape_out, err);
  if (st) return st;
  mm_ws w;
  if (mm_ws_layout(s, a, &sh, &w)) return mm_bad(s, err, "workspace size overflows");
  char *ws_bytes = ws;
  int32_t *acc = (int32_t *)(ws_bytes + w.acc);
  float *scales = (float *)(ws_bytes + w.scales);

  /* Validate the quantization parameters. */
  if ((st = mm_check_col_param(s, bzp, &sh, "b_zero_point", err)) ||
      (st = mm_check_col_param(s, bs, &sh, "b_scale", err)))
    return st;
  if (bs && bzp && octet_tensor_numel(bs) != octet_tensor_numel(bzp))
    return mm_bad(s, err, "b_scale and b_zero_point differ in size");
  if (bs && bs->data != s->bs_ok &&
      (st = octet_q_check_scale(&s->node, bs, octet_tensor_numel(bs), "b_scale", err)))
    return st;
  if (as && (st = octet_q_check_scale(&s->node, as, 0, "a_scale", err))) return st;
  if (ys && (st = octet_q_check_scale(&s->node, ys, 0, "y_scale", err))) return st;
  if (yzp && (st = octet_q_check_zp(&s->node, yzp, 0, s->y_dt, "y_zero_point", err))) return st;
  bool per_row_za = false;
  if (azp) {
    size_t n = octet_tensor_numel(azp);
    if (n == sh.M && n != 1 && s->op == OP_MMI) per_row_za = true;
    else if (n != 1) return mm_bad(s, err, "a_zero_point must be a scalar (or, for MatMulInteger, M values)");
  }
  if (bias) {
    size_t n = octet_tensor_numel(bias);
    if (s->op == OP_QGEMM) {
      bool ok = n == 1 || (bias->rank <= 2 && n == sh.N && bias->dims[bias->rank - 1] == (int64_t)sh.N) ||
                (bias->rank == 2 && bias->dims[0] == (int64_t)sh.M && bias->dims[1] == 1) ||
                (bias->rank == 2 && bias->dims[0] == (int64_t)sh.M && bias->dims[1] == (int64_t)sh.N);
      if (!ok || bias->dtype != OCTET_DTYPE_INT32) return mm_bad(s, err, "C must be int32, broadcastable to M x N");
    } else if (n != sh.N || bias->dtype != OCTET_DTYPE_FLOAT) {
      return mm_bad(s, err, "bias must be float with N elements");
    }
  }

  /* A: DynamicQuantizeMatMul quantizes it now; transA copies it row-major. */
  const void *a_data = a->data;
  bool a_signed = a->dtype == OCTET_DTYPE_INT8;
  int32_t za = azp ? octet_q_zp(azp, 0) : 0;
  float a_scale = as ? octet_q_f32(as, 0) : 1.0f;
  if (s->op == OP_DQMM) {
    size_t n = octet_tensor_numel(a);
    uint8_t z;
    octet_q8_dynq_qparams(s->dq, a->data, n, &a_scale, &z);
    a_signed = false, za = z;
    if (!s->fused_dq) {
      uint8_t *aq = (uint8_t *)(ws_bytes + w.aq);
      s->dq->quantize(aq, a->data, n, a_scale, z);
      a_data = aq;
    }
  }
  if (s->trans_a && !s->uk) {
    uint8_t *at = (uint8_t *)(ws_bytes + w.at);
    for (size_t m = 0; m < sh.M; m++)
      for (size_t k = 0; k < sh.K; k++) at[m * sh.K + k] = ((const uint8_t *)a->data)[k * sh.M + m];
    a_data = at;
  }

  /* Output scales per column (and per B batch). */
  size_t n_scales = bs ? octet_tensor_numel(bs) : 1;
  for (size_t i = 0; i < n_scales; i++) {
    float b_scale = bs ? octet_q_f32(bs, i) : 1.0f;
    switch (s->op) {
    case OP_QLMM: scales[i] = a_scale * b_scale / octet_q_f32(ys, 0); break;
    case OP_QGEMM:
      scales[i] = s->alpha * a_scale * b_scale;
      if (ys) scales[i] /= octet_q_f32(ys, 0);
      break;
    default: scales[i] = a_scale * b_scale; break;
    }
  }
  bool per_col_scale = n_scales > 1;
  int32_t yz = yzp ? octet_q_zp(yzp, 0) : 0;

  size_t a_mat = sh.M * sh.K, b_mat = sh.K * sh.N, y_mat = sh.M * sh.N;
  size_t ysz = octet_dtype_size(s->y_dt);
  if (s->uk) {
    mm_fast_args fa = {s, &sh, &w, ws_bytes, a_data, a_signed, azp, per_row_za, za, bias,
                       yzp != NULL, yz, scales, per_col_scale, host,
                       s->fused_dq ? (const float *)a->data : NULL, a_scale};
    mm_run_fast(&fa, b, bzp, bs, out[0].data);
    return OCTET_OK;
  }
  for (size_t bi = 0; bi < sh.batch; bi++) {
    size_t ao, bo;
    mm_batch_offsets(&sh, bi, &ao, &bo);
    const octet_qgemm_packed *p = &s->packed;
    octet_qgemm_packed tmp;
    if (!s->prepacked) {
      size_t zo = col_off(bzp, &sh, bo);
      octet_qgemm_pack(&tmp, ws_bytes + w.pack, sh.K, sh.N, (const uint8_t *)b->data + bo * b_mat,
                       b->dtype == OCTET_DTYPE_INT8, sh.b_sk, sh.b_sn,
                       bzp ? (const uint8_t *)bzp->data + zo : NULL, bzp && bzp->dtype == OCTET_DTYPE_INT8,
                       bzp ? (octet_tensor_numel(bzp) == 1 ? 1 : sh.N) : 0);
      p = &tmp;
    }
    mm_task t = {s, &sh, p, (const uint8_t *)a_data + ao * a_mat, a_signed, azp, per_row_za,
                 za, acc, bias, yzp != NULL, yz, scales + (per_col_scale ? col_off(bs, &sh, bo) : 0),
                 per_col_scale, (char *)out[0].data + bi * y_mat * ysz};
    /* Rows split across the host's threads: A, acc and Y are indexed by row. */
    octet_parallel_for(host, sh.M, mm_rows, &t);
  }
  return OCTET_OK;
}
