/* qlinear-eltwise.c — com.microsoft element-wise int8 operators of ONNX Runtime's QOperator
 * format: QLinearAdd, QLinearMul (broadcasting), QLinearLeakyRelu and QLinearSigmoid (256-entry
 * tables), QLinearSoftmax and QLinearConcat. The float steps copy the order of operations of
 * ORT's x86 kernels (see each function) so results agree bit for bit. */
#include <float.h>

#include "ops/cpu.h"
#include "ops/quant/qgemm-dispatch.h"
#include "ops/quant/qgemm-isa.h"
#include "ops/quant/quant-util.h"

static const octet_tensor *opt(const octet_tensor *const *in, size_t n_in, size_t i) {
  return i < n_in ? in[i] : NULL;
}

static int32_t sat8(float v, int32_t dtype) {
  /* cvtps (round half even) then saturating packs, as ORT's SIMD kernels store. */
  octet_qrange r = octet_qrange_of(dtype);
  if (!(v >= (float)r.min)) return r.min; /* also NaN, like cvtps' 0x80000000 */
  if (v > (float)r.max) return r.max;
  int32_t q = (int32_t)octet_round_even(v);
  return q < r.min ? r.min : q > r.max ? r.max : q;
}

/* ---- QLinearAdd runs: the plain-C variant (the oracle of the others) and the choice ---- */

void octet_qadd_vv_c(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, float ra,
                     float rb, float c) {
  int32_t dt = sgn ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  for (size_t i = 0; i < n; i++) {
    float fa = (float)octet_q8_load(a, i, dt), fb = (float)octet_q8_load(b, i, dt);
    octet_q8_store(y, i, dt, sat8(fmaf(fa, ra, fmaf(fb, rb, c)), dt));
  }
}

void octet_qadd_vs_c(uint8_t *y, const uint8_t *x, size_t n, bool sgn, float r, float c) {
  int32_t dt = sgn ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  for (size_t i = 0; i < n; i++) octet_q8_store(y, i, dt, sat8(fmaf((float)octet_q8_load(x, i, dt), r, c), dt));
}

void octet_qmul_vv_c(uint8_t *y, const uint8_t *a, const uint8_t *b, size_t n, bool sgn, int32_t za, int32_t zb,
                     float m, float zc) {
  int32_t dt = sgn ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  for (size_t i = 0; i < n; i++) {
    float p = (float)((octet_q8_load(a, i, dt) - za) * (octet_q8_load(b, i, dt) - zb));
    octet_q8_store(y, i, dt, sat8(p * m + zc, dt));
  }
}

void octet_qmul_vs_c(uint8_t *y, const uint8_t *x, size_t n, bool sgn, int32_t zx, int32_t k, float m, float zc) {
  int32_t dt = sgn ? OCTET_DTYPE_INT8 : OCTET_DTYPE_UINT8;
  for (size_t i = 0; i < n; i++) {
    float p = (float)((octet_q8_load(x, i, dt) - zx) * k);
    octet_q8_store(y, i, dt, sat8(p * m + zc, dt));
  }
}

static const octet_qeltwise g_qeltwise[] = {
#if OCTET_QGEMM_AVX2
    {"avx2", OCTET_CPU_LEVEL_AVX2, octet_qadd_vv__avx2, octet_qadd_vs__avx2, octet_qmul_vv__avx2, octet_qmul_vs__avx2},
#endif
    {"c", 0, octet_qadd_vv_c, octet_qadd_vs_c, octet_qmul_vv_c, octet_qmul_vs_c},
};

size_t octet_qeltwise_count(void) { return OCTET_COUNTOF(g_qeltwise); }
const octet_qeltwise *octet_qeltwise_at(size_t i) {
  return i < OCTET_COUNTOF(g_qeltwise) ? &g_qeltwise[i] : NULL;
}
const octet_qeltwise *octet_qeltwise_select(void) {
  uint32_t f = octet_cpu_features();
  for (size_t i = 0; i < OCTET_COUNTOF(g_qeltwise); i++)
    if ((f & g_qeltwise[i].cpu_features) == g_qeltwise[i].cpu_features) return &g_qeltwise[i];
  return &g_qeltwise[OCTET_COUNTOF(g_qeltwise) - 1];
}

/* ---- QLinearAdd / QLinearMul ---- */

typedef struct qbin_state {
  octet_q_node node;
  bool mul;
  int32_t dt;
} qbin_state;

static octet_status qbin_create(const octet_kernel_info *info, bool mul, int32_t *out_dtypes,
                                void **state, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 7, 8, err);
  if (st || (st = octet_k_expect_dtype(info, 0, OCTET_DT_Q8, err))) return st;
  if (info->input_dtypes[3] != info->input_dtypes[0])
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): A and B types differ",
                      info->node_name, info->op_type);
  qbin_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->mul = mul;
  s->dt = info->input_dtypes[0];
  out_dtypes[0] = s->dt;
  *state = s;
  return OCTET_OK;
}
OCTET_K_CREATE(octet_k_qlinear_add_create) { return qbin_create(info, false, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_mul_create) { return qbin_create(info, true, out_dtypes, state, err); }

OCTET_K_INFER(octet_k_qbin_infer) {
  qbin_state *s = state;
  octet_status st = octet_broadcast_shape(in[0], in[3], &out[0], err);
  if (st) return octet_fail_prefix(err, "node '%s' (%s): ", s->node.name, s->node.op);
  out[0].dtype = s->dt;
  *workspace = 0;
  return OCTET_OK;
}

/* QLinearAdd over output elements [e, e + len): A from element ia, B from ib, each stepping by 1
 * (path 0), or the scalar side (A in path 1, B in path 2) held at its first element. The float
 * steps per path are the reference's (see the README): MLAS AVX2 computes
 * fma(a, rA, fma(b, rB, fixed)) when both vary, fma(v, r, fixed + s * r_s) when one is a scalar
 * within ORT's span. */
typedef struct qadd_task {
  const octet_qeltwise *v;
  const uint8_t *a, *b;
  uint8_t *y;
  bool sgn, mul;
  int path;
  float rA, rB, fixed;    /* QLinearAdd */
  int32_t zA, zB;         /* QLinearMul: y = sat((float)((a - zA) * (b - zB)) * mratio + zC) */
  float mratio, zC;
  size_t n;
} qadd_task;

#define QADD_CHUNK ((size_t)16384)

static void qadd_span(const qadd_task *t, size_t e, size_t len, size_t ia, size_t ib) {
  if (t->mul) { /* the integer product commutes exactly: a scalar side becomes the constant k */
    if (t->path == 0) {
      t->v->mul_vv(t->y + e, t->a + ia, t->b + ib, len, t->sgn, t->zA, t->zB, t->mratio, t->zC);
    } else if (t->path == 1) {
      int32_t a = t->sgn ? (int32_t)(int8_t)t->a[ia] : (int32_t)t->a[ia];
      t->v->mul_vs(t->y + e, t->b + ib, len, t->sgn, t->zB, a - t->zA, t->mratio, t->zC);
    } else {
      int32_t b = t->sgn ? (int32_t)(int8_t)t->b[ib] : (int32_t)t->b[ib];
      t->v->mul_vs(t->y + e, t->a + ia, len, t->sgn, t->zA, b - t->zB, t->mratio, t->zC);
    }
    return;
  }
  if (t->path == 0) {
    t->v->add_vv(t->y + e, t->a + ia, t->b + ib, len, t->sgn, t->rA, t->rB, t->fixed);
  } else if (t->path == 1) {
    float a = (float)(t->sgn ? (int32_t)(int8_t)t->a[ia] : (int32_t)t->a[ia]);
    t->v->add_vs(t->y + e, t->b + ib, len, t->sgn, t->rB, t->fixed + a * t->rA);
  } else {
    float b = (float)(t->sgn ? (int32_t)(int8_t)t->b[ib] : (int32_t)t->b[ib]);
    t->v->add_vs(t->y + e, t->a + ia, len, t->sgn, t->rA, t->fixed + b * t->rB);
  }
}

/* Chunks [c0, c1) of a run over the whole tensor (no broadcasting but a scalar operand). */
static void qadd_chunks(void *arg, size_t c0, size_t c1) {
  const qadd_task *t = arg;
  size_t e0 = c0 * QADD_CHUNK, e1 = c1 * QADD_CHUNK < t->n ? c1 * QADD_CHUNK : t->n;
  qadd_span(t, e0, e1 - e0, t->path == 1 ? 0 : e0, t->path == 2 ? 0 : e0);
}

OCTET_K_RUN(octet_k_qbin_run) {
  qbin_state *s = state;
  const octet_tensor *A = in[0], *B = in[3];
  const octet_tensor *azp = opt(in, n_in, 2), *bzp = opt(in, n_in, 5), *czp = opt(in, n_in, 7);
  octet_status st;
  if ((st = octet_q_check_scale(&s->node, in[1], 0, "A_scale", err)) ||
      (st = octet_q_check_scale(&s->node, in[4], 0, "B_scale", err)) ||
      (st = octet_q_check_scale(&s->node, in[6], 0, "C_scale", err)) ||
      (st = octet_q_check_zp(&s->node, azp, 0, s->dt, "A_zero_point", err)) ||
      (st = octet_q_check_zp(&s->node, bzp, 0, s->dt, "B_zero_point", err)) ||
      (st = octet_q_check_zp(&s->node, czp, 0, s->dt, "C_zero_point", err)))
    return st;
  octet_tensor o;
  if ((st = octet_broadcast_shape(A, B, &o, err))) return st;
  int64_t sa[OCTET_MAX_RANK], sb[OCTET_MAX_RANK];
  octet_broadcast_strides(A, o.rank, o.dims, sa);
  octet_broadcast_strides(B, o.rank, o.dims, sb);
  /* ORT loops over spans of the innermost broadcast pattern: A scalar per span, B scalar per
   * span, or both full. Which one changes the float rounding, so find it the same way. */
  int path = 0; /* 0 both, 1 A scalar, 2 B scalar */
  int32_t inner = -1;
  for (int32_t i = o.rank - 1; i >= 0; i--)
    if (o.dims[i] > 1) {
      inner = i;
      break;
    }
  if (inner < 0 || octet_tensor_numel(A) == 1) path = 1;
  else if (octet_tensor_numel(B) == 1 || sb[inner] == 0) path = 2;
  else if (sa[inner] == 0) path = 1;

  float sA = octet_q_f32(in[1], 0), sB = octet_q_f32(in[4], 0), sC = octet_q_f32(in[6], 0);
  int32_t zA = octet_q_zp(azp, 0), zB = octet_q_zp(bzp, 0), zC = octet_q_zp(czp, 0);
  float rA = sA / sC, rB = sB / sC;
  /* ORT's MLAS computes the constant part with a fused multiply-add: near-ties round the other
   * way without it. */
  float fixed = (float)zC - fmaf(rA, (float)zA, rB * (float)zB);
  size_t n = octet_tensor_numel(&o);
  /* Runs along the innermost non-1 dimension (each operand steps by 0 or 1 there); a whole
   * tensor at once when neither operand is broadcast along the outer dimensions. QLinearMul:
   * MLAS (SSE2) takes the exact int16 product, times (sA*sB)/sC, plus zC, then rounds. */
  qadd_task t = {octet_qeltwise_select(), A->data, B->data, out[0].data, s->dt == OCTET_DTYPE_INT8, s->mul,
                 path, rA, rB, fixed, zA, zB, sA * sB / sC, (float)zC, 0};
  size_t L = inner < 0 ? 1 : (size_t)o.dims[inner];
  size_t na = octet_tensor_numel(A), nb = octet_tensor_numel(B);
  if (n && (path == 0 ? na == n && nb == n : path == 1 ? na == 1 && nb == n : nb == 1 && na == n)) {
    t.n = n;
    octet_parallel_for(host, (n + QADD_CHUNK - 1) / QADD_CHUNK, qadd_chunks, &t);
    return OCTET_OK;
  }
  int64_t idx[OCTET_MAX_RANK] = {0};
  size_t ia = 0, ib = 0, outer = L ? n / L : 0;
  for (size_t r = 0; r < outer; r++) {
    qadd_span(&t, r * L, L, ia, ib);
    for (int32_t d = inner - 1; d >= 0; d--) {
      ia += (size_t)sa[d], ib += (size_t)sb[d];
      if (++idx[d] < o.dims[d]) break;
      ia -= (size_t)(sa[d] * o.dims[d]), ib -= (size_t)(sb[d] * o.dims[d]);
      idx[d] = 0;
    }
  }
  return OCTET_OK;
}

/* ---- lookup-table activations ---- */

typedef struct qlut_state {
  octet_q_node node;
  int32_t dt;
  int kind; /* 0 leaky relu, 1 sigmoid */
  float alpha;
  bool fixed;
  uint8_t table[256];
} qlut_state;

static void leaky_relu_map(float *v, size_t n, const void *ctx) {
  float alpha = *(const float *)ctx;
  for (size_t i = 0; i < n; i++) v[i] = v[i] >= 0.0f ? v[i] : alpha * v[i];
}

/* MLAS's logistic (MlasLogisticKernelFma3, the kernel ORT picks on AVX2 CPUs): Eigen's rational
 * polynomial on x clamped to [-18, 18], evaluated with fused multiply-adds, floored at 0. */
static void logistic_map(float *v, size_t n, const void *ctx) {
  static const float a9 = 4.37031012579801e-11f, a7 = 1.15627324459942e-07f,
                     a5 = 6.08574864600143e-05f, a3 = 8.51377133304701e-03f,
                     a1 = 2.48287947061529e-01f, b10 = 6.10247389755681e-13f,
                     b8 = 5.76102136993427e-09f, b6 = 6.29106785017040e-06f,
                     b4 = 1.70198817374094e-03f, b2 = 1.16817656904453e-01f,
                     b0 = 9.93151921023180e-01f;
  (void)ctx;
  for (size_t i = 0; i < n; i++) {
    float x = v[i];
    x = -18.0f > x ? -18.0f : x;
    x = 18.0f < x ? 18.0f : x;
    float x2 = x * x;
    float p = fmaf(x2, a9, a7);
    p = fmaf(x2, p, a5);
    p = fmaf(x2, p, a3);
    p = fmaf(x2, p, a1);
    float q = fmaf(x2, b10, b8);
    q = fmaf(x2, q, b6);
    q = fmaf(x2, q, b4);
    q = fmaf(x2, q, b2);
    q = fmaf(x2, q, b0);
    p = x * p;
    float r = p / q + 0.5f;
    v[i] = 0.0f > r ? 0.0f : r;
  }
}

static void qlut_build(qlut_state *s, const octet_tensor *xs, const octet_tensor *xzp,
                       const octet_tensor *ys, const octet_tensor *yzp, uint8_t *table) {
  octet_build_lut(table, s->dt, octet_q_f32(xs, 0), octet_q_zp(xzp, 0), s->dt, octet_q_f32(ys, 0),
                  octet_q_zp(yzp, 0), s->kind ? logistic_map : leaky_relu_map, &s->alpha);
}

static octet_status qlut_create(const octet_kernel_info *info, int kind, int32_t *out_dtypes,
                                void **state, octet_error *err) {
  octet_status st = octet_k_expect_inputs(info, 2, 5, err);
  if (st || (st = octet_k_expect_dtype(info, 0, OCTET_DT_Q8, err))) return st;
  if (info->n_inputs < 4 || info->input_dtypes[3] != OCTET_DTYPE_FLOAT)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (%s): Y_scale (input 3) is required",
                      info->node_name, info->op_type);
  qlut_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->dt = info->input_dtypes[0];
  s->kind = kind;
  if ((st = octet_attr_float(info, "alpha", 0.01f, &s->alpha, err))) {
    octet_free(s);
    return st;
  }
  /* Constant scales and zero points: the table is built once, here. */
  const octet_tensor *const *c = info->constant_inputs;
  bool has_xzp = info->n_inputs > 2 && info->input_dtypes[2] != OCTET_DTYPE_UNDEFINED;
  bool has_yzp = info->n_inputs > 4 && info->input_dtypes[4] != OCTET_DTYPE_UNDEFINED;
  if (c && c[1] && c[3] && (!has_xzp || c[2]) && (!has_yzp || c[4])) {
    octet_error e2;
    if (!octet_q_check_scale(&s->node, c[1], 0, "X_scale", &e2) &&
        !octet_q_check_scale(&s->node, c[3], 0, "Y_scale", &e2) &&
        !octet_q_check_zp(&s->node, has_xzp ? c[2] : NULL, 0, s->dt, "X_zero_point", &e2) &&
        !octet_q_check_zp(&s->node, has_yzp ? c[4] : NULL, 0, s->dt, "Y_zero_point", &e2)) {
      qlut_build(s, c[1], has_xzp ? c[2] : NULL, c[3], has_yzp ? c[4] : NULL, s->table);
      s->fixed = true;
    }
  }
  out_dtypes[0] = s->dt;
  *state = s;
  return OCTET_OK;
}
OCTET_K_CREATE(octet_k_qlinear_leaky_relu_create) { return qlut_create(info, 0, out_dtypes, state, err); }
OCTET_K_CREATE(octet_k_qlinear_sigmoid_create) { return qlut_create(info, 1, out_dtypes, state, err); }

OCTET_K_INFER(octet_k_qunary_infer) {
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_qlut_run) {
  qlut_state *s = state;
  uint8_t local[256];
  const uint8_t *table = s->table;
  if (!s->fixed) {
    const octet_tensor *xzp = opt(in, n_in, 2), *yzp = opt(in, n_in, 4);
    octet_status st;
    if ((st = octet_q_check_scale(&s->node, in[1], 0, "X_scale", err)) ||
        (st = octet_q_check_scale(&s->node, in[3], 0, "Y_scale", err)) ||
        (st = octet_q_check_zp(&s->node, xzp, 0, s->dt, "X_zero_point", err)) ||
        (st = octet_q_check_zp(&s->node, yzp, 0, s->dt, "Y_zero_point", err)))
      return st;
    qlut_build(s, in[1], xzp, in[3], yzp, local);
    table = local;
  }
  size_t n = octet_tensor_numel(in[0]);
  const uint8_t *x = in[0]->data;
  uint8_t *y = out[0].data;
  for (size_t i = 0; i < n; i++) y[i] = table[x[i]];
  return OCTET_OK;
}

/* ---- QLinearSoftmax ---- */

/* ORT's softmax narrows floats with plain C++ casts; vt * y_scale can overflow to inf for short
 * rows. These give the x86 results of those casts (cvttss2si: out of range or NaN -> INT_MIN;
 * to uint32 through a 64-bit conversion), defined here instead of undefined behaviour. */
static int32_t x86_f32_to_i32(float v) {
  return v > -2147483904.0f && v < 2147483648.0f ? (int32_t)v : INT32_MIN;
}
static uint32_t x86_f32_to_u32(float v) {
  int64_t t = v > -9.2233720e18f && v < 9.2233720e18f ? (int64_t)v : INT64_MIN;
  return (uint32_t)(uint64_t)t;
}

typedef struct qsoftmax_state {
  octet_q_node node;
  int32_t dt;
  int64_t axis, opset;
} qsoftmax_state;

OCTET_K_CREATE(octet_k_qlinear_softmax_create) {
  octet_status st = octet_k_expect_inputs(info, 4, 5, err);
  if (st || (st = octet_k_expect_dtype(info, 0, OCTET_DT_Q8, err))) return st;
  qsoftmax_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->dt = info->input_dtypes[0];
  if (!octet_attr_find(info, "opset")) {
    octet_free(s);
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (QLinearSoftmax): attribute 'opset' is required", info->node_name);
  }
  if ((st = octet_attr_int(info, "opset", 13, &s->opset, err)) ||
      /* ORT 1.30 defaults axis to -1 for every opset (its outputs show it; the schema text says 1
       * before opset 13). */
      (st = octet_attr_int(info, "axis", -1, &s->axis, err))) {
    octet_free(s);
    return st;
  }
  out_dtypes[0] = s->dt;
  *state = s;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_qlinear_softmax_run) {
  qsoftmax_state *s = state;
  const octet_tensor *x = in[0], *yzp = opt(in, n_in, 4);
  octet_status st;
  int64_t ax;
  if ((st = octet_q_check_scale(&s->node, in[1], 0, "X_scale", err)) ||
      (st = octet_q_check_scale(&s->node, in[3], 0, "Y_scale", err)) ||
      (st = octet_q_check_zp(&s->node, yzp, 0, s->dt, "y_zero_point", err)))
    return st;
  if ((st = octet_k_axis(s->axis, x->rank, &ax, err)))
    return octet_fail_prefix(err, "node '%s' (QLinearSoftmax): ", s->node.name);
  size_t outer = 1, D = 1, inner = 1;
  for (int32_t i = 0; i < x->rank; i++) {
    size_t d = (size_t)x->dims[i];
    if (i < ax) outer *= d;
    else if (i == ax || s->opset < 13) D *= d;
    else inner *= d;
  }
  if (outer * D * inner == 0) return OCTET_OK;
  /* ORT's exp table: entries exp((i - 255 + shift) * x_scale) with a shift keeping the row sum
   * finite in float; computed in double from a float quotient, as ORT does. */
  float xs = octet_q_f32(in[1], 0);
  double shift = log((double)(FLT_MAX / (float)D));
  shift = (shift - 5.0 > 0.0 ? shift - 5.0 : 0.0) / (double)xs;
  float table[256];
  bool is_signed = s->dt == OCTET_DTYPE_INT8;
  for (int i = 0; i < 256; i++) {
    uint8_t index = (uint8_t)(is_signed ? i - 128 : i);
    table[index] = (float)exp(((double)i - 255 + shift) * (double)xs);
  }
  float ys = floorf(1.0f / octet_q_f32(in[3], 0));
  int32_t zy = octet_q_zp(yzp, 0);
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      size_t base = o * D * inner + i;
      if (!is_signed) {
        const uint8_t *xp = x->data;
        uint8_t *yp = out[0].data;
        uint8_t xmax = 0;
        for (size_t d = 0; d < D; d++) xmax = xp[base + d * inner] > xmax ? xp[base + d * inner] : xmax;
        const float *t = table + 255 - xmax;
        float sum = 0.0f;
        for (size_t d = 0; d < D; d++) sum += t[xp[base + d * inner]];
        for (size_t d = 0; d < D; d++) {
          uint32_t q = x86_f32_to_u32(nearbyintf((t[xp[base + d * inner]] * ys) / sum)) + (uint32_t)zy;
          yp[base + d * inner] = q > 255 ? 255 : (uint8_t)q;
        }
      } else {
        const int8_t *xp = x->data;
        int8_t *yp = out[0].data;
        int8_t xmax = -128;
        for (size_t d = 0; d < D; d++) xmax = xp[base + d * inner] > xmax ? xp[base + d * inner] : xmax;
        int32_t adj = 127 - xmax;
        float sum = 0.0f;
        for (size_t d = 0; d < D; d++) sum += table[(uint8_t)(adj + xp[base + d * inner])];
        for (size_t d = 0; d < D; d++) {
          float vt = table[(uint8_t)(adj + xp[base + d * inner])];
          int32_t q = (int32_t)((uint32_t)x86_f32_to_i32(nearbyintf((vt * ys) / sum)) + (uint32_t)zy);
          yp[base + d * inner] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
        }
      }
    }
  return OCTET_OK;
}

/* ---- QLinearConcat ---- */

typedef struct qconcat_state {
  octet_q_node node;
  int32_t dt;
  int64_t axis;
} qconcat_state;

OCTET_K_CREATE(octet_k_qlinear_concat_create) {
  if (info->n_inputs < 5 || (info->n_inputs - 2) % 3)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (QLinearConcat): inputs must be Y_scale, Y_zero_point and "
                      "(tensor, scale, zero point) triples; got %zu", info->node_name, info->n_inputs);
  octet_status st = octet_k_expect_dtype(info, 1, OCTET_DT_Q8, err);
  if (st) return st;
  for (size_t i = 2; i < info->n_inputs; i += 3)
    if (info->input_dtypes[i] != info->input_dtypes[1] || info->input_dtypes[i + 2] != info->input_dtypes[1])
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (QLinearConcat): input %zu or its zero point is not %s",
                        info->node_name, i, octet_dtype_name(info->input_dtypes[1]));
  qconcat_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "out of memory");
  octet_q_node_init(&s->node, info);
  s->dt = info->input_dtypes[1];
  if ((st = octet_attr_int(info, "axis", 0, &s->axis, err))) {
    octet_free(s);
    return st;
  }
  out_dtypes[0] = s->dt;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_qlinear_concat_infer) {
  qconcat_state *s = state;
  const octet_tensor *t0 = in[2];
  int64_t ax;
  if (octet_k_axis(s->axis, t0->rank, &ax, err))
    return octet_fail_prefix(err, "node '%s' (QLinearConcat): ", s->node.name);
  octet_k_copy_shape(&out[0], t0);
  out[0].dims[ax] = 0;
  for (size_t i = 2; i < n_in; i += 3) {
    const octet_tensor *t = in[i];
    if (t->rank != t0->rank) return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (QLinearConcat): ranks differ", s->node.name);
    for (int32_t d = 0; d < t->rank; d++)
      if (d != ax && t->dims[d] != t0->dims[d])
        return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                          "node '%s' (QLinearConcat): input %zu differs in dim %d", s->node.name, i, (int)d);
    out[0].dims[ax] += t->dims[ax];
  }
  out[0].dtype = s->dt;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_qlinear_concat_run) {
  qconcat_state *s = state;
  octet_status st;
  if ((st = octet_q_check_scale(&s->node, in[0], 0, "Y_scale", err)) ||
      (st = octet_q_check_zp(&s->node, in[1], 0, s->dt, "Y_zero_point", err)))
    return st;
  int64_t ax;
  if (octet_k_axis(s->axis, out[0].rank, &ax, err)) return OCTET_STATUS_INVALID_ARGUMENT;
  size_t outer = 1, inner = 1;
  for (int32_t d = 0; d < out[0].rank; d++) {
    if (d < ax) outer *= (size_t)out[0].dims[d];
    if (d > ax) inner *= (size_t)out[0].dims[d];
  }
  size_t out_pitch = (size_t)out[0].dims[ax] * inner, off = 0;
  float ys = octet_q_f32(in[0], 0);
  int32_t zy = octet_q_zp(in[1], 0);
  for (size_t i = 2; i < n_in; i += 3) {
    const octet_tensor *t = in[i];
    if ((st = octet_q_check_scale(&s->node, in[i + 1], 0, "input scale", err)) ||
        (st = octet_q_check_zp(&s->node, in[i + 2], 0, s->dt, "input zero point", err)))
      return st;
    size_t pitch = (size_t)t->dims[ax] * inner;
    float xs = octet_q_f32(in[i + 1], 0);
    int32_t zx = octet_q_zp(in[i + 2], 0);
    /* Same scale and zero point: bytes are copied; otherwise a requantizing table (as ORT). */
    bool copy = xs == ys && zx == zy;
    uint8_t table[256];
    if (!copy) octet_build_lut(table, s->dt, xs, zx, s->dt, ys, zy, NULL, NULL);
    const uint8_t *src = t->data;
    for (size_t o = 0; o < outer; o++) {
      uint8_t *dst = (uint8_t *)out[0].data + o * out_pitch + off;
      for (size_t j = 0; j < pitch; j++) dst[j] = copy ? src[o * pitch + j] : table[src[o * pitch + j]];
    }
    off += pitch;
  }
  return OCTET_OK;
}
