/* matmul.c — MatMul (N-D, batch broadcasting, 1-D operands) and Gemm (transA/transB, alpha/beta,
 * C broadcast) over the packed float GEMM; a constant B is packed once at create. */
#include <stdio.h>
#include <string.h>

#include "ops/kernel-util.h"
#include "ops/gemm/sgemm.h"

typedef struct mm_state {
  char node[128];
  /* Gemm attributes */
  float alpha, beta;
  bool trans_a, trans_b, is_gemm;
  /* constant B packed at create */
  const octet_sgemm_ukernel *uk;
  float *packed;
  size_t packed_stride; /* floats per packed batch matrix */
  size_t packed_batches;
  int32_t brank;
  int64_t bdims[OCTET_MAX_RANK];
} mm_state;

void octet_k_matmul_destroy(void *state) {
  mm_state *s = state;
  if (!s) return;
  octet_free(s->packed);
  octet_free(s);
}

/* Packs every K x N matrix of a constant B ([..., K, N], or [K] as K x 1; Gemm: 2-D, maybe
 * transposed). Failing to pack is not an error: run then packs panels on the fly. */
static octet_status pack_constant_b(mm_state *s, const octet_tensor *b, octet_error *err) {
  if (!b || b->dtype != OCTET_DTYPE_FLOAT || b->rank < 1) return OCTET_OK;
  size_t K, N, batches = 1;
  if (b->rank == 1) {
    K = (size_t)b->dims[0];
    N = 1;
  } else {
    size_t r0 = (size_t)b->dims[b->rank - 2], r1 = (size_t)b->dims[b->rank - 1];
    K = s->trans_b ? r1 : r0;
    N = s->trans_b ? r0 : r1;
    for (int i = 0; i < b->rank - 2; i++) batches *= (size_t)b->dims[i];
  }
  if (!K || !N || !batches) return OCTET_OK;
  s->uk = octet_sgemm_ukernel_select();
  size_t per = octet_sgemm_packed_b_size(s->uk, K, N), total;
  if (!per || !octet_mul_size(per, batches, &total) || !octet_mul_size(total, sizeof(float), &total))
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s': B too large", s->node);
  s->packed = octet_malloc(total);
  if (!s->packed)
    return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory packing B", s->node);
  const float *bd = b->data;
  for (size_t i = 0; i < batches; i++)
    octet_sgemm_pack_b(s->uk, s->trans_b, K, N, bd + i * K * N, s->trans_b ? K : N,
                       s->packed + i * per);
  s->packed_stride = per;
  s->packed_batches = batches;
  s->brank = b->rank;
  memcpy(s->bdims, b->dims, sizeof s->bdims);
  return OCTET_OK;
}

static octet_status mm_create(const octet_kernel_info *info, int32_t *out_dtypes, void **state,
                              bool gemm, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 2, gemm ? 3 : 2, err);
  if (st) return st;
  for (size_t i = 0; i < info->n_inputs; i++)
    if (info->input_dtypes[i] != OCTET_DTYPE_UNDEFINED &&
        (st = octet_k_expect_dtype(info, i, OCTET_DT(FLOAT), err)))
      return st;
  mm_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  snprintf(s->node, sizeof s->node, "%s", info->node_name ? info->node_name : "");
  s->is_gemm = gemm;
  s->alpha = 1.0f;
  s->beta = 1.0f;
  if (gemm) {
    int64_t ta, tb;
    if ((st = octet_attr_float(info, "alpha", 1.0f, &s->alpha, err)) ||
        (st = octet_attr_float(info, "beta", 1.0f, &s->beta, err)) ||
        (st = octet_attr_int(info, "transA", 0, &ta, err)) ||
        (st = octet_attr_int(info, "transB", 0, &tb, err)))
      goto fail;
    s->trans_a = ta != 0;
    s->trans_b = tb != 0;
  }
  if ((st = pack_constant_b(s, info->constant_inputs ? info->constant_inputs[1] : NULL, err)))
    goto fail;
  out_dtypes[0] = OCTET_DTYPE_FLOAT;
  *state = s;
  return OCTET_OK;
fail:
  octet_k_matmul_destroy(s);
  return st;
}

OCTET_K_CREATE(octet_k_matmul_create) { return mm_create(info, out_dtypes, state, false, err); }
OCTET_K_CREATE(octet_k_gemm_create) { return mm_create(info, out_dtypes, state, true, err); }

static bool packed_matches(const mm_state *s, const octet_tensor *b) {
  return s->packed && b->rank == s->brank && !memcmp(b->dims, s->bdims, sizeof s->bdims);
}

/* ---- MatMul ---- */

typedef struct mm_shape {
  int32_t brank; /* batch rank of the output */
  int64_t bdims[OCTET_MAX_RANK], astr[OCTET_MAX_RANK], bstr[OCTET_MAX_RANK];
  size_t M, N, K, batches;
} mm_shape;

static octet_status mm_shapes(const mm_state *s, const octet_tensor *a, const octet_tensor *b,
                              mm_shape *sh, octet_tensor *out, octet_error *err) {
  if (a->rank < 1 || b->rank < 1)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': MatMul of a scalar", s->node);
  int64_t M = a->rank == 1 ? 1 : a->dims[a->rank - 2], Ka = a->dims[a->rank - 1];
  int64_t Kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  int64_t N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
  if (Ka != Kb)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': inner dims differ (A has K = %lld, B has K = %lld)", s->node,
                      (long long)Ka, (long long)Kb);
  octet_tensor ab = {0}, bb = {0}, ob = {0};
  ab.rank = a->rank > 2 ? a->rank - 2 : 0;
  bb.rank = b->rank > 2 ? b->rank - 2 : 0;
  memcpy(ab.dims, a->dims, (size_t)ab.rank * sizeof(int64_t));
  memcpy(bb.dims, b->dims, (size_t)bb.rank * sizeof(int64_t));
  octet_status st = octet_broadcast_shape(&ab, &bb, &ob, err);
  if (st) return octet_fail_prefix(err, "node '%s': batch dims: ", s->node);
  sh->brank = ob.rank;
  memcpy(sh->bdims, ob.dims, sizeof ob.dims);
  octet_broadcast_strides(&ab, ob.rank, ob.dims, sh->astr);
  octet_broadcast_strides(&bb, ob.rank, ob.dims, sh->bstr);
  sh->M = (size_t)M;
  sh->N = (size_t)N;
  sh->K = (size_t)Ka;
  sh->batches = 1;
  for (int i = 0; i < ob.rank; i++) sh->batches *= (size_t)ob.dims[i];
  if (out) {
    out->dtype = OCTET_DTYPE_FLOAT;
    out->rank = ob.rank;
    memcpy(out->dims, ob.dims, (size_t)ob.rank * sizeof(int64_t));
    if (a->rank > 1) out->dims[out->rank++] = M;
    if (b->rank > 1) out->dims[out->rank++] = N;
    size_t n;
    if (!octet_shape_numel(out->dims, out->rank, &n))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': output too large", s->node);
  }
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_matmul_infer) {
  mm_shape sh;
  *workspace = 0;
  return mm_shapes(state, in[0], in[1], &sh, &out[0], err);
}

typedef struct mm_batch_job {
  const mm_state *s;
  const mm_shape *sh;
  const float *ad, *bd;
  float *yd;
  bool packed;
  const octet_host *host; /* NULL: batches are the parallel unit */
} mm_batch_job;

static void mm_batch_task(void *arg, size_t begin, size_t end) {
  const mm_batch_job *j = arg;
  const mm_shape *sh = j->sh;
  octet_sgemm_operand a = {.ld = sh->K}, b = {.ld = sh->N};
  for (size_t t = begin; t < end; t++) {
    size_t rem = t;
    int64_t aoff = 0, boff = 0;
    for (int i = sh->brank - 1; i >= 0; i--) {
      int64_t idx = (int64_t)(rem % (size_t)sh->bdims[i]);
      rem /= (size_t)sh->bdims[i];
      aoff += idx * sh->astr[i];
      boff += idx * sh->bstr[i];
    }
    a.data = j->ad + aoff * (int64_t)(sh->M * sh->K);
    if (j->packed) b.packed = j->s->packed + boff * (int64_t)j->s->packed_stride;
    else b.data = j->bd + boff * (int64_t)(sh->K * sh->N);
    octet_sgemm_run(j->packed ? j->s->uk : NULL, sh->M, sh->N, sh->K, 1.0f, &a, &b, 0.0f,
                    j->yd + t * sh->M * sh->N, sh->N, NULL, j->host);
  }
}

OCTET_K_RUN(octet_k_matmul_run) {
  mm_state *s = state;
  mm_shape sh;
  octet_status st = mm_shapes(s, in[0], in[1], &sh, NULL, err);
  if (st) return st;
  const float *ad = in[0]->data, *bd = in[1]->data;
  float *yd = out[0].data;
  const bool packed = packed_matches(s, in[1]);
  bool b_shared = true; /* one B matrix for every batch: fold the batch into M */
  for (int i = 0; i < sh.brank; i++)
    if (sh.bstr[i] != 0 && sh.bdims[i] != 1) b_shared = false;
  bool a_dense = true; /* A's batches are consecutive in the output order */
  {
    int64_t expect = 1;
    for (int i = sh.brank - 1; i >= 0; i--) {
      if (sh.bdims[i] != 1 && sh.astr[i] != expect) a_dense = false;
      expect *= sh.bdims[i];
    }
  }
  octet_sgemm_operand a = {.ld = sh.K}, b = {.ld = sh.N};
  if (b_shared && a_dense) {
    a.data = ad;
    if (packed) b.packed = s->packed;
    else b.data = bd;
    octet_sgemm_run(packed ? s->uk : NULL, sh.M * sh.batches, sh.N, sh.K, 1.0f, &a, &b, 0.0f, yd,
                    sh.N, NULL, host);
    return OCTET_OK;
  }
  mm_batch_job j = {.s = s, .sh = &sh, .ad = ad, .bd = bd, .yd = yd, .packed = packed};
  if (sh.M * sh.N * sh.K < (size_t)1 << 18) {
    /* Small matrices (attention heads): one batch per task, each GEMM single-threaded. */
    octet_parallel_for(host, sh.batches, mm_batch_task, &j);
  } else {
    j.host = host;
    mm_batch_task(&j, 0, sh.batches);
  }
  return OCTET_OK;
}

/* ---- Gemm ---- */

OCTET_K_INFER(octet_k_gemm_infer) {
  mm_state *s = state;
  const octet_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
  if (a->rank != 2 || b->rank != 2)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s': Gemm needs 2-D A and B", s->node);
  int64_t M = s->trans_a ? a->dims[1] : a->dims[0], Ka = s->trans_a ? a->dims[0] : a->dims[1];
  int64_t Kb = s->trans_b ? b->dims[1] : b->dims[0], N = s->trans_b ? b->dims[0] : b->dims[1];
  if (Ka != Kb)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s': inner dims differ (%lld vs %lld)", s->node, (long long)Ka,
                      (long long)Kb);
  if (c) {
    bool ok = c->rank <= 2;
    for (int i = 0; ok && i < c->rank; i++) {
      int64_t want = i == c->rank - 1 ? N : M;
      ok = c->dims[i] == 1 || c->dims[i] == want;
    }
    if (!ok)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s': C (rank %d) does not broadcast to [%lld, %lld]", s->node,
                        (int)c->rank, (long long)M, (long long)N);
  }
  out[0].dtype = OCTET_DTYPE_FLOAT;
  out[0].rank = 2;
  out[0].dims[0] = M;
  out[0].dims[1] = N;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_gemm_run) {
  mm_state *s = state;
  const octet_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
  size_t M = (size_t)out[0].dims[0], N = (size_t)out[0].dims[1];
  size_t K = (size_t)(s->trans_a ? a->dims[0] : a->dims[1]);
  float *y = out[0].data;
  float beta = 0.0f;
  if (c && s->beta != 0.0f) {
    const float *cd = c->data;
    size_t sm = c->rank == 2 && c->dims[0] != 1 ? (size_t)c->dims[1] : 0;
    size_t sn = c->rank >= 1 && c->dims[c->rank - 1] != 1 ? 1 : 0;
    for (size_t m = 0; m < M; m++)
      for (size_t n = 0; n < N; n++) y[m * N + n] = cd[m * sm + n * sn];
    beta = s->beta;
  }
  octet_sgemm_operand ao = {.data = a->data, .ld = (size_t)a->dims[1], .trans = s->trans_a};
  octet_sgemm_operand bo = {.data = b->data, .ld = (size_t)b->dims[1], .trans = s->trans_b};
  const bool packed = packed_matches(s, b);
  if (packed) bo.packed = s->packed;
  octet_sgemm_run(packed ? s->uk : NULL, M, N, K, s->alpha, &ao, &bo, beta, y, N, NULL, host);
  return OCTET_OK;
}
