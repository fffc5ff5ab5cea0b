/* ew-unary.c — one-input elementwise kernels (math, activations, Clip, IsNaN/IsInf, Not,
 * BitwiseNot) and Dropout in inference. Each op is one expression per type family; the tables
 * below map (op, dtype) to its generated loop. */
#include <float.h>
#include <tgmath.h> /* exp(x) picks expf for float x: one expression serves float and double */

#include "ops/float/elementwise/elementwise.h"

/* ---- float exp / tanh / erf without branches, so the loops above vectorize (libm's calls
 * do not). Polynomials fitted (least squares on Chebyshev nodes, weighted for relative error)
 * by us; each is within ~2 ulp of the correctly rounded result, checked in the tests. ---- */

static inline float ew_f_from_bits(int32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* e^x = 2^n * e^r, |r| <= ln2/2; 2^n is applied in two halves so results that are subnormal
 * or overflow come out as libm's do. */
static inline float ew_expf(float x) {
  float xc = x < -104.0f ? -104.0f : x > 89.0f ? 89.0f : x;
  xc = xc == xc ? xc : 0.0f; /* NaN: keep the integer conversion defined */
  float n = (xc * 1.44269504089f + 12582912.0f) - 12582912.0f; /* round to nearest */
  float r = xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  float p = 1.382942061e-03f;
  p = p * r + 8.374771520e-03f;
  p = p * r + 4.166835803e-02f;
  p = p * r + 1.666642083e-01f;
  p = p * r + 4.999999149e-01f;
  p = p * r + 1.000000036e+00f;
  p = p * r + 1.0f;
  int32_t ni = (int32_t)n, n1 = ni / 2, n2 = ni - n1;
  float y = p * ew_f_from_bits((n1 + 127) << 23) * ew_f_from_bits((n2 + 127) << 23);
  return x == x ? y : x;
}

/* tanh: an odd polynomial near 0, else 1 - 2 / (e^2|x| + 1), which rounds to 1 from |x| = 10 on. */
static inline float ew_tanhf(float x) {
  float a = fabsf(x), u = x * x;
  float p = 1.866462180e-02f;
  p = p * u - 5.353374958e-02f;
  p = p * u + 1.333088323e-01f;
  p = p * u - 3.333328455e-01f;
  p = p * u + 9.999999984e-01f;
  float ac = a > 10.0f ? 10.0f : a;
  float big = copysignf(1.0f - 2.0f / (ew_expf(2.0f * ac) + 1.0f), x);
  return a < 0.4f ? x * p : big;
}

/* erf: x * P(x^2) below 1; above, 1 - e^(-x^2) * R(1/x) with R = erfc(x) e^(x^2) fitted on
 * [1, 4]; past 4 erf is 1 in float. */
static inline float ew_erff(float x) {
  float a = fabsf(x), u = x * x;
  float p = 7.847259148e-05f;
  p = p * u - 8.008189329e-04f;
  p = p * u + 5.188098890e-03f;
  p = p * u - 2.685369110e-02f;
  p = p * u + 1.128358225e-01f;
  p = p * u - 3.761262557e-01f;
  p = p * u + 1.128379166e+00f;
  float ac = a < 1.0f ? 1.0f : a > 4.0f ? 4.0f : a;
  float t = 1.0f / ac;
  float q = -1.007576983e-02f;
  q = q * t + 3.165554382e-02f;
  q = q * t + 1.721281296e-02f;
  q = q * t - 2.342706964e-01f;
  q = q * t + 4.915504756e-01f;
  q = q * t - 4.692513673e-01f;
  q = q * t + 4.135510985e-02f;
  q = q * t + 5.591439190e-01f;
  q = q * t + 2.635271086e-04f;
  float big = copysignf(1.0f - ew_expf(-ac * ac) * q, x);
  return a < 1.0f ? x * p : big;
}

/* float picks the vectorizable form, double keeps libm. */
#define VEXP(v) _Generic((v), float: ew_expf((float)(v)), default: exp(v))
#define VTANH(v) _Generic((v), float: ew_tanhf((float)(v)), default: tanh(v))
#define VERF(v) _Generic((v), float: ew_erff((float)(v)), default: erf(v))

/* y[i] = expr(x) for one (op, type); ew_t is the element type, C(v) a constant of it. */
#define C(v) ((ew_t)(v))
#define EW_UDEF(tag, T, U, name, TO, ...)                                             \
  static void name##_##tag(const void *px, void *py, size_t n, const ew_params *p) { \
    typedef T ew_t;                                                                   \
    typedef U ew_u;                                                                   \
    (void)(ew_u)0;                                                                    \
    (void)p;                                                                          \
    const ew_t *xs = px;                                                              \
    TO *ys = py;                                                                      \
    EW_IVDEP for (size_t i = 0; i < n; i++) {                                         \
      ew_t x = xs[i];                                                                 \
      ys[i] = (TO)(__VA_ARGS__);                                                      \
    }                                                                                 \
  }
#define EW_UENT(tag, T, U, name, ...) [EW_DT_##tag] = name##_##tag,
/* The exponential linear units compute exp unconditionally on min(x, 0) and add max(x, 0),
 * so the loop has no branch around exp and vectorizes; NaN passes through POSPART. */
#define NEGPART(v) ((v) < C(0) ? (v) : C(0))
#define POSPART(v) ((v) < C(0) ? C(0) : (v))
/* max then min, as numpy's clip: with lo > hi every value becomes hi (ONNX Clip); NaN stays. */
#define CLIP(v, lo, hi) (((v) < (lo) ? (lo) : (v)) > (hi) ? (hi) : ((v) < (lo) ? (lo) : (v)))
#define CLAMP01(v) ((v) < C(0) ? C(0) : (v) > C(1) ? C(1) : (v))

/* Floating-point ops. */
#define FLOAT_OPS(X)                                                                   \
  X(u_sqrt, sqrt(x))                                                                   \
  X(u_exp, VEXP(x))                                                                     \
  X(u_log, log(x))                                                                     \
  X(u_erf, VERF(x))                                                                     \
  X(u_tanh, VTANH(x))                                                                   \
  X(u_sigmoid, (x < C(0) ? VEXP(-fabs(x)) : C(1)) / (C(1) + VEXP(-fabs(x))))                                          \
  X(u_hardsigmoid, CLAMP01(C(p->alpha) * x + C(p->beta)))                              \
  X(u_hardswish, x * CLAMP01(x * C(1.0 / 6.0) + C(0.5)))                               \
  X(u_leakyrelu, x < C(0) ? C(p->alpha) * x : x)                                       \
  X(u_reciprocal, C(1) / x)                                                            \
  X(u_floor, floor(x))                                                                 \
  X(u_ceil, ceil(x))                                                                   \
  X(u_round, rint(x)) /* the default rounding mode: half to even, as ONNX wants */     \
  X(u_softplus, x > C(0) ? x + log1p(exp(-x)) : log1p(exp(x)))                         \
  X(u_softsign, x / (C(1) + fabs(x)))                                                  \
  X(u_elu, C(p->alpha) * (VEXP(NEGPART(x)) - C(1)) + POSPART(x))                  \
  X(u_selu, C(p->gamma) * (C(p->alpha) * (VEXP(NEGPART(x)) - C(1)) + POSPART(x)))   \
  X(u_celu, C(p->alpha) * (VEXP(NEGPART(x) / C(p->alpha)) - C(1)) + POSPART(x))   \
  X(u_thresholdedrelu, x > C(p->alpha) ? x : C(0))                                     \
  X(u_sin, sin(x))                                                                     \
  X(u_cos, cos(x))                                                                     \
  X(u_tan, tan(x))                                                                     \
  X(u_asin, asin(x))                                                                   \
  X(u_acos, acos(x))                                                                   \
  X(u_atan, atan(x))                                                                   \
  X(u_sinh, sinh(x))                                                                   \
  X(u_cosh, cosh(x))                                                                   \
  X(u_asinh, asinh(x))                                                                 \
  X(u_acosh, acosh(x))                                                                 \
  X(u_atanh, atanh(x))                                                                 \
  X(u_mish, x * tanh(log1p(exp(x))))                                                   \
  X(u_shrink, x < -C(p->alpha) ? x + C(p->beta) : x > C(p->alpha) ? x - C(p->beta) : C(0))
/* The float forms of ops that take integers too. */
#define FLOAT_INT_OPS(X)                                                               \
  X(u_relu, x < C(0) ? C(0) : x) /* NaN stays NaN, as numpy's maximum */              \
  X(u_abs, fabs(x))                                                                    \
  X(u_neg, -x)                                                                         \
  X(u_sign, x > C(0) ? C(1) : x < C(0) ? C(-1) : x)                                    \
  X(u_clip, CLIP(x, C(p->lo), C(p->hi)))
#define DEF_FLOAT(name, ...) EW_FLOATS(EW_UDEF, name, ew_t, __VA_ARGS__)
FLOAT_OPS(DEF_FLOAT)
FLOAT_INT_OPS(DEF_FLOAT)
EW_FLOATS(EW_UDEF, u_isnan, uint8_t, x != x)
EW_FLOATS(EW_UDEF, u_isinf, uint8_t,
          isinf(x) && ((x > 0 && (p->flag & 1)) || (x < 0 && (p->flag & 2))))

/* Integer ops: arithmetic through the wide unsigned type, so INT_MIN wraps instead of UB. */
EW_SINTS(EW_UDEF, u_relu, ew_t, x < 0 ? 0 : x)
EW_SINTS(EW_UDEF, u_abs, ew_t, x < 0 ? (ew_u)0 - (ew_u)x : (ew_u)x)
EW_SINTS(EW_UDEF, u_neg, ew_t, (ew_u)0 - (ew_u)x)
EW_SINTS(EW_UDEF, u_sign, ew_t, x > 0 ? 1 : x < 0 ? -1 : 0)
EW_SINTS(EW_UDEF, u_clip, ew_t, CLIP(x, (ew_t)p->ilo, (ew_t)p->ihi))
EW_UINTS(EW_UDEF, u_abs, ew_t, x)
EW_UINTS(EW_UDEF, u_sign, ew_t, x > 0 ? 1 : 0)
EW_UINTS(EW_UDEF, u_clip, ew_t, CLIP(x, (ew_t)p->ulo, (ew_t)p->uhi))
EW_INTS(EW_UDEF, u_bitnot, ew_t, ~x)
EW_BOOLS(EW_UDEF, u_not, ew_t, !x)

#define TABLE_FLOAT(name, ...) \
  static const ew_unary_fn t_##name[OCTET_DTYPE_COUNT] = {EW_FLOATS(EW_UENT, name)};
FLOAT_OPS(TABLE_FLOAT)
#undef TABLE_FLOAT
static const ew_unary_fn t_u_relu[OCTET_DTYPE_COUNT] = {EW_FLOATS(EW_UENT, u_relu)
                                                            EW_SINTS(EW_UENT, u_relu)};
static const ew_unary_fn t_u_abs[OCTET_DTYPE_COUNT] = {EW_NUMS(EW_UENT, u_abs)};
static const ew_unary_fn t_u_neg[OCTET_DTYPE_COUNT] = {EW_FLOATS(EW_UENT, u_neg)
                                                           EW_SINTS(EW_UENT, u_neg)};
static const ew_unary_fn t_u_sign[OCTET_DTYPE_COUNT] = {EW_NUMS(EW_UENT, u_sign)};
static const ew_unary_fn t_u_clip[OCTET_DTYPE_COUNT] = {EW_NUMS(EW_UENT, u_clip)};
static const ew_unary_fn t_u_isnan[OCTET_DTYPE_COUNT] = {EW_FLOATS(EW_UENT, u_isnan)};
static const ew_unary_fn t_u_isinf[OCTET_DTYPE_COUNT] = {EW_FLOATS(EW_UENT, u_isinf)};
static const ew_unary_fn t_u_bitnot[OCTET_DTYPE_COUNT] = {EW_INTS(EW_UENT, u_bitnot)};
static const ew_unary_fn t_u_not[OCTET_DTYPE_COUNT] = {EW_BOOLS(EW_UENT, u_not)};

/* Which attribute feeds alpha / beta / gamma, with ONNX's defaults. */
typedef struct attr_spec {
  const char *name;
  float dflt;
} attr_spec;

typedef struct unary_op {
  const char *name;
  const ew_unary_fn *table;
  bool bool_out;
  attr_spec alpha, beta, gamma;
} unary_op;

static const unary_op unary_ops[] = {
  {"Sqrt", t_u_sqrt, false, {0}, {0}, {0}},
  {"Exp", t_u_exp, false, {0}, {0}, {0}},
  {"Log", t_u_log, false, {0}, {0}, {0}},
  {"Erf", t_u_erf, false, {0}, {0}, {0}},
  {"Tanh", t_u_tanh, false, {0}, {0}, {0}},
  {"Sigmoid", t_u_sigmoid, false, {0}, {0}, {0}},
  {"HardSigmoid", t_u_hardsigmoid, false, {"alpha", 0.2f}, {"beta", 0.5f}, {0}},
  {"HardSwish", t_u_hardswish, false, {0}, {0}, {0}},
  {"Relu", t_u_relu, false, {0}, {0}, {0}},
  {"LeakyRelu", t_u_leakyrelu, false, {"alpha", 0.01f}, {0}, {0}},
  {"Abs", t_u_abs, false, {0}, {0}, {0}},
  {"Neg", t_u_neg, false, {0}, {0}, {0}},
  {"Reciprocal", t_u_reciprocal, false, {0}, {0}, {0}},
  {"Floor", t_u_floor, false, {0}, {0}, {0}},
  {"Ceil", t_u_ceil, false, {0}, {0}, {0}},
  {"Round", t_u_round, false, {0}, {0}, {0}},
  {"Softplus", t_u_softplus, false, {0}, {0}, {0}},
  {"Softsign", t_u_softsign, false, {0}, {0}, {0}},
  {"Elu", t_u_elu, false, {"alpha", 1.0f}, {0}, {0}},
  {"Selu", t_u_selu, false, {"alpha", 1.67326319217681884765625f}, {0},
   {"gamma", 1.05070102214813232421875f}},
  {"Celu", t_u_celu, false, {"alpha", 1.0f}, {0}, {0}},
  {"ThresholdedRelu", t_u_thresholdedrelu, false, {"alpha", 1.0f}, {0}, {0}},
  {"Sign", t_u_sign, false, {0}, {0}, {0}},
  {"Sin", t_u_sin, false, {0}, {0}, {0}},
  {"Cos", t_u_cos, false, {0}, {0}, {0}},
  {"Tan", t_u_tan, false, {0}, {0}, {0}},
  {"Asin", t_u_asin, false, {0}, {0}, {0}},
  {"Acos", t_u_acos, false, {0}, {0}, {0}},
  {"Atan", t_u_atan, false, {0}, {0}, {0}},
  {"Sinh", t_u_sinh, false, {0}, {0}, {0}},
  {"Cosh", t_u_cosh, false, {0}, {0}, {0}},
  {"Asinh", t_u_asinh, false, {0}, {0}, {0}},
  {"Acosh", t_u_acosh, false, {0}, {0}, {0}},
  {"Atanh", t_u_atanh, false, {0}, {0}, {0}},
  {"Mish", t_u_mish, false, {0}, {0}, {0}},
  {"Shrink", t_u_shrink, false, {"lambd", 0.5f}, {"bias", 0.0f}, {0}},
  {"IsNaN", t_u_isnan, true, {0}, {0}, {0}},
  {"IsInf", t_u_isinf, true, {0}, {0}, {0}},
  {"Not", t_u_not, false, {0}, {0}, {0}},
  {"BitwiseNot", t_u_bitnot, false, {0}, {0}, {0}},
  {"Clip", t_u_clip, false, {0}, {0}, {0}},
};

typedef struct unary_state {
  const unary_op *op;
  const char *node; /* for run-time messages; points at a copy owned by the state */
  ew_unary_call call;
  bool clip_inputs;  /* Clip >= 11: bounds come from inputs 1 and 2 */
  char node_buf[];
} unary_state;

static octet_status get_attr(const octet_kernel_info *info, const attr_spec *a, float *out,
                             octet_error *err) {
  if (!a->name) return OCTET_OK;
  return octet_attr_float(info, a->name, a->dflt, out, err);
}

static const unary_op *find_op(const char *name) {
  for (size_t i = 0; i < OCTET_COUNTOF(unary_ops); i++)
    if (!strcmp(unary_ops[i].name, name)) return &unary_ops[i];
  return NULL;
}

/* The dtype whose variant runs: half types compute in float. */
static int32_t compute_dtype(int32_t dt) { return ew_is_half(dt) ? OCTET_DTYPE_FLOAT : dt; }

/* Clip's bounds when absent: the type's lowest and highest values (ONNX's default). */
static void clip_defaults(int32_t dt, ew_params *p) {
  switch (dt) {
  case OCTET_DTYPE_DOUBLE: p->lo = -DBL_MAX, p->hi = DBL_MAX; break;
  case OCTET_DTYPE_FLOAT16: p->lo = -65504.0, p->hi = 65504.0; break;
  case OCTET_DTYPE_BFLOAT16:
  case OCTET_DTYPE_FLOAT: p->lo = -FLT_MAX, p->hi = FLT_MAX; break;
  case OCTET_DTYPE_INT8: p->ilo = INT8_MIN, p->ihi = INT8_MAX; break;
  case OCTET_DTYPE_INT16: p->ilo = INT16_MIN, p->ihi = INT16_MAX; break;
  case OCTET_DTYPE_INT32: p->ilo = INT32_MIN, p->ihi = INT32_MAX; break;
  case OCTET_DTYPE_INT64: p->ilo = INT64_MIN, p->ihi = INT64_MAX; break;
  case OCTET_DTYPE_UINT8: p->ulo = 0, p->uhi = UINT8_MAX; break;
  case OCTET_DTYPE_UINT16: p->ulo = 0, p->uhi = UINT16_MAX; break;
  case OCTET_DTYPE_UINT32: p->ulo = 0, p->uhi = UINT32_MAX; break;
  default: p->ulo = 0, p->uhi = UINT64_MAX; break;
  }
}

/* Reads a Clip bound tensor (a scalar of the input's type) into p. */
static octet_status clip_bound(const unary_state *s, const octet_tensor *t, bool hi, ew_params *p,
                               octet_error *err) {
  if (!t) return OCTET_OK;
  size_t n;
  octet_status st = ew_numel(t, &n, err);
  if (st) return st;
  if (n != 1 || t->dtype != s->call.in_dtype)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (Clip): '%s' must be one %s value, got %zu %s values", s->node,
                      hi ? "max" : "min", octet_dtype_name(s->call.in_dtype), n,
                      octet_dtype_name(t->dtype));
  int64_t iv = 0;
  double dv = 0;
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT:
  case OCTET_DTYPE_DOUBLE:
  case OCTET_DTYPE_FLOAT16:
  case OCTET_DTYPE_BFLOAT16:
    dv = octet_k_get_double(t, 0);
    *(hi ? &p->hi : &p->lo) = dv;
    break;
  case OCTET_DTYPE_UINT64:
  case OCTET_DTYPE_UINT32:
  case OCTET_DTYPE_UINT16:
  case OCTET_DTYPE_UINT8:
    iv = octet_k_get_int(t, 0);
    *(hi ? &p->uhi : &p->ulo) = (uint64_t)iv;
    break;
  default:
    iv = octet_k_get_int(t, 0);
    *(hi ? &p->ihi : &p->ilo) = iv;
    break;
  }
  return OCTET_OK;
}

static unary_state *state_new(const octet_kernel_info *info, size_t extra) {
  const char *name = info->node_name ? info->node_name : "";
  size_t len = strlen(name) + 1;
  unary_state *s = octet_calloc(1, sizeof *s + len + extra);
  if (!s) return NULL;
  memcpy(s->node_buf, name, len);
  s->node = s->node_buf;
  return s;
}

OCTET_K_CREATE(octet_k_unary_create) {
  const unary_op *op = find_op(info->op_type);
  if (!op)
    return octet_fail(err, OCTET_STATUS_INTERNAL, "node '%s': '%s' is not a unary kernel",
                      info->node_name, info->op_type);
  bool clip_inputs = op->table == t_u_clip && info->opset >= 11;
  octet_status st = octet_k_expect_inputs(info, 1, clip_inputs ? 3 : 1, err);
  if (st) return st;
  int32_t dt = info->input_dtypes[0];
  int32_t cdt = compute_dtype(dt);
  if (dt <= 0 || dt >= OCTET_DTYPE_COUNT || !op->table[cdt])
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (%s): input type %s is not supported", info->node_name,
                      info->op_type, octet_dtype_name(dt));
  for (size_t i = 1; i < info->n_inputs; i++)
    if (info->input_dtypes[i] != OCTET_DTYPE_UNDEFINED && info->input_dtypes[i] != dt)
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (%s): input %zu has type %s, expected %s like input 0",
                        info->node_name, info->op_type, i, octet_dtype_name(info->input_dtypes[i]),
                        octet_dtype_name(dt));
  ew_params p = {0};
  if ((st = get_attr(info, &op->alpha, &p.alpha, err)) ||
      (st = get_attr(info, &op->beta, &p.beta, err)) ||
      (st = get_attr(info, &op->gamma, &p.gamma, err)))
    return st;
  if (op->table == t_u_isinf) {
    int64_t pos, neg;
    if ((st = octet_attr_int(info, "detect_positive", 1, &pos, err)) ||
        (st = octet_attr_int(info, "detect_negative", 1, &neg, err)))
      return st;
    p.flag = (pos ? 1 : 0) | (neg ? 2 : 0);
  }
  if (op->table == t_u_celu && p.alpha == 0.0f)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Celu): alpha must not be 0",
                      info->node_name);
  if (op->table == t_u_clip) {
    clip_defaults(dt, &p);
    if (info->opset < 11) { /* Clip-1 and Clip-6: float attributes, defaults +-FLT_MAX */
      float lo, hi;
      if ((st = octet_attr_float(info, "min", -FLT_MAX, &lo, err)) ||
          (st = octet_attr_float(info, "max", FLT_MAX, &hi, err)))
        return st;
      p.lo = lo, p.hi = hi;
    }
  }
  unary_state *s = state_new(info, 0);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  s->op = op;
  s->clip_inputs = clip_inputs;
  s->call = (ew_unary_call){op->table[cdt], dt, op->bool_out ? OCTET_DTYPE_BOOL : dt, p};
  out_dtypes[0] = s->call.out_dtype;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_unary_infer) {
  unary_state *s = state;
  size_t n;
  octet_status st = ew_numel(in[0], &n, err);
  if (st) return octet_fail_prefix(err, "node '%s' (%s): input 0", s->node, s->op->name);
  if (in[0]->dtype != s->call.in_dtype)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): input 0 is %s, expected %s",
                      s->node, s->op->name, octet_dtype_name(in[0]->dtype),
                      octet_dtype_name(s->call.in_dtype));
  out[0].dtype = s->call.out_dtype;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_unary_run) {
  unary_state *s = state;
  size_t n = octet_tensor_numel(in[0]);
  if (!s->clip_inputs) {
    ew_unary_apply(&s->call, in[0]->data, out[0].data, n, host);
    return OCTET_OK;
  }
  ew_unary_call c = s->call;
  octet_status st;
  if ((st = clip_bound(s, n_in > 1 ? in[1] : NULL, false, &c.p, err)) ||
      (st = clip_bound(s, n_in > 2 ? in[2] : NULL, true, &c.p, err)))
    return st;
  ew_unary_apply(&c, in[0]->data, out[0].data, n, host);
  return OCTET_OK;
}

/* ---- Dropout in inference: output = input; the optional mask is all true (kept). ---- */

typedef struct dropout_state {
  int32_t mask_dtype;
} dropout_state;

OCTET_K_CREATE(octet_k_dropout_create) {
  octet_status st = octet_k_expect_inputs(info, 1, info->opset >= 12 ? 3 : 1, err);
  if (st) return st;
  if (info->n_outputs < 1 || info->n_outputs > 2)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Dropout): has %zu outputs",
                      info->node_name, info->n_outputs);
  /* Training mode drops at random, which octet does not do; with ratio 0 it drops nothing,
   * so that case is served. Refused here when both inputs are constants, else at run. */
  const octet_tensor *const *k = info->constant_inputs;
  if (info->n_inputs > 2 && k && k[2] && octet_k_get_int(k[2], 0) != 0 &&
      !(info->n_inputs > 1 && k[1] && octet_k_get_double(k[1], 0) == 0.0))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "node '%s' (Dropout): training_mode=true with a ratio other than 0 is not "
                      "supported", info->node_name);
  dropout_state *s = octet_calloc(1, sizeof *s);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  /* Before opset 10 the mask had the data's type. */
  s->mask_dtype = info->opset >= 10 ? OCTET_DTYPE_BOOL : info->input_dtypes[0];
  out_dtypes[0] = info->input_dtypes[0];
  if (info->n_outputs > 1) out_dtypes[1] = s->mask_dtype;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_dropout_infer) {
  dropout_state *s = state;
  size_t n;
  octet_status st = ew_numel(in[0], &n, err);
  if (st) return st;
  out[0].dtype = in[0]->dtype;
  octet_k_copy_shape(&out[0], in[0]);
  if (n_out > 1) {
    out[1].dtype = s->mask_dtype;
    octet_k_copy_shape(&out[1], in[0]);
  }
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_dropout_run) {
  dropout_state *s = state;
  if (n_in > 2 && in[2] && octet_k_get_int(in[2], 0) != 0 &&
      !(in[1] && octet_k_get_double(in[1], 0) == 0.0))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED,
                      "Dropout: training_mode=true with a ratio other than 0 is not supported");
  if (out[0].data != in[0]->data) memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
  if (n_out > 1 && out[1].data) {
    size_t n = octet_tensor_numel(in[0]);
    if (s->mask_dtype == OCTET_DTYPE_BOOL) {
      memset(out[1].data, 1, n);
    } else {
      const uint8_t one_f32[4] = {0, 0, 0x80, 0x3f};
      uint16_t one_h = s->mask_dtype == OCTET_DTYPE_BFLOAT16 ? octet_float_to_bf16(1.0f)
                                                             : octet_float_to_half(1.0f);
      double one_d = 1.0;
      size_t sz = octet_dtype_size(s->mask_dtype);
      const void *one = s->mask_dtype == OCTET_DTYPE_FLOAT ? (const void *)one_f32
                        : s->mask_dtype == OCTET_DTYPE_DOUBLE ? (const void *)&one_d
                                                              : (const void *)&one_h;
      for (size_t i = 0; i < n; i++) memcpy((char *)out[1].data + i * sz, one, sz);
    }
  }
  return OCTET_OK;
}
