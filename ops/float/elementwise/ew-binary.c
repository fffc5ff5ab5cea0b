/* ew-binary.c — two-input elementwise kernels (arithmetic, Pow, Mod, comparisons, logic,
 * bitwise, BitShift, PRelu), the variadic Min/Max/Sum/Mean, and Where. Each op is one
 * expression per type family; the broadcast driver in ew-driver.c does the walking. */
#include <tgmath.h> /* pow(x, y) picks powf for floats: one expression serves float and double */

#include "ops/float/elementwise/elementwise.h"

/* Three tight loops per (op, type): both operands advance, or one of them is a scalar. */
#define EW_BDEF(tag, T, U, name, TO, ...)                                                  \
  static void name##_##tag(const void *pa, const void *pb, void *po, size_t n, int mode,   \
                           const ew_params *p) {                                           \
    typedef T ew_t;                                                                        \
    typedef U ew_u;                                                                        \
    (void)(ew_u)0;                                                                         \
    (void)p;                                                                               \
    const ew_t *as = pa, *bs = pb;                                                         \
    TO *os = po;                                                                           \
    if (mode == EW_VV) {                                                                   \
      EW_IVDEP for (size_t i = 0; i < n; i++) {                                            \
        ew_t x = as[i], y = bs[i];                                                         \
        os[i] = (TO)(__VA_ARGS__);                                                         \
      }                                                                                    \
    } else if (mode == EW_SV) {                                                            \
      const ew_t x = as[0];                                                                \
      EW_IVDEP for (size_t i = 0; i < n; i++) {                                            \
        ew_t y = bs[i];                                                                    \
        os[i] = (TO)(__VA_ARGS__);                                                         \
      }                                                                                    \
    } else {                                                                               \
      const ew_t y = bs[0];                                                                \
      EW_IVDEP for (size_t i = 0; i < n; i++) {                                            \
        ew_t x = as[i];                                                                    \
        os[i] = (TO)(__VA_ARGS__);                                                         \
      }                                                                                    \
    }                                                                                      \
  }
#define EW_BENT(tag, T, U, name, ...) [EW_DT_##tag] = name##_##tag,

/* Integer power by squaring, wrapping like numpy; negative exponents truncate toward 0. */
static inline int64_t ew_ipow(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)base;
  for (uint64_t k = (uint64_t)e; k; k >>= 1) {
    if (k & 1) r *= b;
    b *= b;
  }
  return (int64_t)r;
}

/* Python's modulo: the result takes the divisor's sign (ONNX Mod with fmod=0). */
#define PYMOD(r, y) ((r) != 0 && (((r) < 0) != ((y) < 0)) ? (r) + (y) : (r))

/* Arithmetic. Integers wrap through the unsigned type; division by zero gives 0 and INT_MIN
 * / -1 wraps rather than trapping, since a plugin must never take its host down. */
EW_FLOATS(EW_BDEF, b_add, ew_t, x + y)
EW_INTS(EW_BDEF, b_add, ew_t, (ew_u)x + (ew_u)y)
EW_FLOATS(EW_BDEF, b_sub, ew_t, x - y)
EW_INTS(EW_BDEF, b_sub, ew_t, (ew_u)x - (ew_u)y)
EW_FLOATS(EW_BDEF, b_mul, ew_t, x * y)
EW_INTS(EW_BDEF, b_mul, ew_t, (ew_u)x * (ew_u)y)
EW_FLOATS(EW_BDEF, b_div, ew_t, x / y)
EW_SINTS(EW_BDEF, b_div, ew_t, y == 0 ? 0 : y == -1 ? (ew_t)((ew_u)0 - (ew_u)x) : x / y)
EW_UINTS(EW_BDEF, b_div, ew_t, y == 0 ? 0 : x / y)
EW_FLOATS(EW_BDEF, b_pow, ew_t, pow(x, y))
EW_INTS(EW_BDEF, b_pow, ew_t, ew_ipow((int64_t)x, (int64_t)y))
EW_FLOATS(EW_BDEF, b_mod, ew_t, p->flag ? fmod(x, y) : PYMOD(fmod(x, y), y))
EW_SINTS(EW_BDEF, b_mod, ew_t,
         y == 0 || y == -1 ? 0 : p->flag ? x % y : PYMOD((ew_t)(x % y), y))
EW_UINTS(EW_BDEF, b_mod, ew_t, y == 0 ? 0 : x % y)
EW_UINTS(EW_BDEF, b_shl, ew_t, y >= sizeof(ew_t) * 8 ? 0 : (ew_u)x << y)
EW_UINTS(EW_BDEF, b_shr, ew_t, y >= sizeof(ew_t) * 8 ? 0 : x >> y)
EW_FLOATS(EW_BDEF, b_prelu, ew_t, x < 0 ? x * y : x)
EW_SINTS(EW_BDEF, b_prelu, ew_t, x < 0 ? (ew_t)((ew_u)x * (ew_u)y) : x)
EW_UINTS(EW_BDEF, b_prelu, ew_t, (void)y, x)
/* Min/Max propagate NaN, as numpy's minimum/maximum do. */
EW_FLOATS(EW_BDEF, b_min, ew_t, isnan(x) || x < y ? x : y)
EW_INTS(EW_BDEF, b_min, ew_t, x < y ? x : y)
EW_FLOATS(EW_BDEF, b_max, ew_t, isnan(x) || x > y ? x : y)
EW_INTS(EW_BDEF, b_max, ew_t, x > y ? x : y)

/* Comparisons and logic write bool (one byte, 0 or 1). */
EW_NUMS(EW_BDEF, b_eq, uint8_t, x == y)
EW_BOOLS(EW_BDEF, b_eq, uint8_t, !x == !y)
EW_NUMS(EW_BDEF, b_lt, uint8_t, x < y)
EW_NUMS(EW_BDEF, b_gt, uint8_t, x > y)
EW_NUMS(EW_BDEF, b_le, uint8_t, x <= y)
EW_NUMS(EW_BDEF, b_ge, uint8_t, x >= y)
EW_BOOLS(EW_BDEF, b_and, uint8_t, x && y)
EW_BOOLS(EW_BDEF, b_or, uint8_t, x || y)
EW_BOOLS(EW_BDEF, b_xor, uint8_t, !x != !y)
EW_INTS(EW_BDEF, b_bitand, ew_t, x & y)
EW_INTS(EW_BDEF, b_bitor, ew_t, x | y)
EW_INTS(EW_BDEF, b_bitxor, ew_t, x ^ y)

#define TABLE(name, LIST1, LIST2) \
  static const ew_binary_fn t_##name[OCTET_DTYPE_COUNT] = {LIST1(EW_BENT, name) LIST2(EW_BENT, name)};
#define EW_NONE(X, ...)
TABLE(b_add, EW_FLOATS, EW_INTS)
TABLE(b_sub, EW_FLOATS, EW_INTS)
TABLE(b_mul, EW_FLOATS, EW_INTS)
TABLE(b_div, EW_FLOATS, EW_INTS)
TABLE(b_pow, EW_FLOATS, EW_INTS)
TABLE(b_mod, EW_FLOATS, EW_INTS)
TABLE(b_shl, EW_UINTS, EW_NONE)
TABLE(b_shr, EW_UINTS, EW_NONE)
TABLE(b_prelu, EW_FLOATS, EW_INTS)
TABLE(b_min, EW_FLOATS, EW_INTS)
TABLE(b_max, EW_FLOATS, EW_INTS)
TABLE(b_eq, EW_NUMS, EW_BOOLS)
TABLE(b_lt, EW_NUMS, EW_NONE)
TABLE(b_gt, EW_NUMS, EW_NONE)
TABLE(b_le, EW_NUMS, EW_NONE)
TABLE(b_ge, EW_NUMS, EW_NONE)
TABLE(b_and, EW_BOOLS, EW_NONE)
TABLE(b_or, EW_BOOLS, EW_NONE)
TABLE(b_xor, EW_BOOLS, EW_NONE)
TABLE(b_bitand, EW_INTS, EW_NONE)
TABLE(b_bitor, EW_INTS, EW_NONE)
TABLE(b_bitxor, EW_INTS, EW_NONE)

/* Pow with an exponent of another type (opset >= 12): computed in double like numpy's
 * mixed-type power, then converted to the base's type. */
static double load_double(int32_t dt, const void *v, size_t i) {
  switch (dt) {
  case OCTET_DTYPE_FLOAT: return ((const float *)v)[i];
  case OCTET_DTYPE_DOUBLE: return ((const double *)v)[i];
  case OCTET_DTYPE_FLOAT16: return octet_half_to_float(((const uint16_t *)v)[i]);
  case OCTET_DTYPE_BFLOAT16: return octet_bf16_to_float(((const uint16_t *)v)[i]);
  case OCTET_DTYPE_INT8: return ((const int8_t *)v)[i];
  case OCTET_DTYPE_UINT8: return ((const uint8_t *)v)[i];
  case OCTET_DTYPE_INT16: return ((const int16_t *)v)[i];
  case OCTET_DTYPE_UINT16: return ((const uint16_t *)v)[i];
  case OCTET_DTYPE_INT32: return ((const int32_t *)v)[i];
  case OCTET_DTYPE_UINT32: return ((const uint32_t *)v)[i];
  case OCTET_DTYPE_INT64: return (double)((const int64_t *)v)[i];
  case OCTET_DTYPE_UINT64: return (double)((const uint64_t *)v)[i];
  default: return 0;
  }
}
static bool is_int_dtype(int32_t dt) {
  return dt != OCTET_DTYPE_FLOAT && dt != OCTET_DTYPE_DOUBLE && !ew_is_half(dt) &&
         dt != OCTET_DTYPE_BOOL;
}
#define EW_POWMIX(tag, T, U, name, ...)                                                       \
  static void name##_##tag(const void *pa, const void *pb, void *po, size_t n, int mode,      \
                           const ew_params *p) {                                              \
    const T *as = pa;                                                                         \
    T *os = po;                                                                               \
    bool int_exp = is_int_dtype(p->b_dtype);                                                  \
    for (size_t i = 0; i < n; i++) {                                                          \
      T x = as[mode == EW_SV ? 0 : i];                                                        \
      double e = load_double(p->b_dtype, pb, mode == EW_VS ? 0 : i);                          \
      if (__VA_ARGS__ && int_exp)                                                             \
        os[i] = (T)ew_ipow((int64_t)x, (int64_t)e);                                           \
      else                                                                                    \
        os[i] = (T)pow((double)x, e);                                                         \
    }                                                                                         \
  }
EW_FLOATS(EW_POWMIX, b_powmix, false)
EW_INTS(EW_POWMIX, b_powmix, true)
TABLE(b_powmix, EW_FLOATS, EW_INTS)

/* Pow by a constant 2 or 0.5 (LayerNorm and RMSNorm decompositions, GELU): x * x is the
 * correctly rounded square as pow's is; sqrt matches pow(x, 0.5) once -0 and -inf are mapped
 * as pow maps them. */
EW_FLOATS(EW_BDEF, b_square, ew_t, (void)y, x * x)
EW_FLOATS(EW_BDEF, b_sqrtpow, ew_t, (void)y, x == -INFINITY ? INFINITY : sqrt(x) + 0)
TABLE(b_square, EW_FLOATS, EW_NONE)
TABLE(b_sqrtpow, EW_FLOATS, EW_NONE)

/* The variant for Pow when the exponent is one float/double value of the base's type. */
static ew_binary_fn pow_special(const ew_binary_call *c, const octet_tensor *b) {
  int32_t dt = c->a_dtype;
  if (b->dtype != dt || octet_tensor_numel(b) != 1 ||
      (dt != OCTET_DTYPE_FLOAT && dt != OCTET_DTYPE_DOUBLE))
    return NULL;
  double e = dt == OCTET_DTYPE_FLOAT ? *(const float *)b->data : *(const double *)b->data;
  return e == 2.0 ? t_b_square[dt] : e == 0.5 ? t_b_sqrtpow[dt] : NULL;
}

enum { K_ARITH, K_CMP, K_PRELU, K_POW, K_SHIFT, K_MOD };

typedef struct binary_op {
  const char *name;
  const ew_binary_fn *table;
  uint8_t kind;
  bool legacy; /* opset < 7 form with 'broadcast' and 'axis' attributes */
} binary_op;

static const binary_op binary_ops[] = {
  {"Add", t_b_add, K_ARITH, true},
  {"Sub", t_b_sub, K_ARITH, true},
  {"Mul", t_b_mul, K_ARITH, true},
  {"Div", t_b_div, K_ARITH, true},
  {"Pow", t_b_pow, K_POW, true},
  {"Mod", t_b_mod, K_MOD, false},
  {"BitShift", t_b_shl, K_SHIFT, false},
  {"PRelu", t_b_prelu, K_PRELU, false},
  {"Equal", t_b_eq, K_CMP, true},
  {"Less", t_b_lt, K_CMP, true},
  {"Greater", t_b_gt, K_CMP, true},
  {"LessOrEqual", t_b_le, K_CMP, false},
  {"GreaterOrEqual", t_b_ge, K_CMP, false},
  {"And", t_b_and, K_CMP, true},
  {"Or", t_b_or, K_CMP, true},
  {"Xor", t_b_xor, K_CMP, true},
  {"BitwiseAnd", t_b_bitand, K_ARITH, false},
  {"BitwiseOr", t_b_bitor, K_ARITH, false},
  {"BitwiseXor", t_b_bitxor, K_ARITH, false},
  {"Min", t_b_min, K_ARITH, false},
  {"Max", t_b_max, K_ARITH, false},
  {"Sum", t_b_add, K_ARITH, false},
  {"Mean", t_b_add, K_ARITH, false},
};

typedef struct binary_state {
  const binary_op *op;
  ew_binary_call call;
  int64_t legacy_axis; /* legacy broadcast: -1 = align B to A's trailing dims */
  bool legacy_bcast;   /* opset < 7 with broadcast=1 */
  bool legacy_strict;  /* opset < 7 with broadcast=0: shapes must match */
  char node[];
} binary_state;

static int32_t compute_dtype(int32_t dt) { return ew_is_half(dt) ? OCTET_DTYPE_FLOAT : dt; }

static const binary_op *find_op(const char *name) {
  for (size_t i = 0; i < OCTET_COUNTOF(binary_ops); i++)
    if (!strcmp(binary_ops[i].name, name)) return &binary_ops[i];
  return NULL;
}

static octet_status unsupported(const octet_kernel_info *info, size_t i, int32_t dt,
                                octet_error *err) {
  return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): input %zu type %s is not supported",
                    info->node_name, info->op_type, i, octet_dtype_name(dt));
}

static binary_state *state_new(const octet_kernel_info *info) {
  const char *name = info->node_name ? info->node_name : "";
  size_t len = strlen(name) + 1;
  binary_state *s = octet_calloc(1, sizeof *s + len);
  if (s) memcpy(s->node, name, len);
  return s;
}

/* Picks the variant for inputs of types a and b, checking them; fills call. */
static octet_status setup_call(const octet_kernel_info *info, const binary_op *op, int32_t a,
                               size_t bi, int32_t b, ew_binary_call *call, octet_error *err) {
  int32_t ca = compute_dtype(a);
  if (a <= 0 || a >= OCTET_DTYPE_COUNT || !op->table[ca]) return unsupported(info, 0, a, err);
  call->fn = op->table[ca];
  call->a_dtype = a, call->b_dtype = b, call->out_dtype = op->kind == K_CMP ? OCTET_DTYPE_BOOL : a;
  if (b == a) return OCTET_OK;
  if (op->kind != K_POW || b <= 0 || b >= OCTET_DTYPE_COUNT || b == OCTET_DTYPE_BOOL ||
      !octet_dtype_size(b) || b == OCTET_DTYPE_COMPLEX64 || b == OCTET_DTYPE_COMPLEX128)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (%s): input %zu has type %s but input 0 has type %s",
                      info->node_name, info->op_type, bi, octet_dtype_name(b), octet_dtype_name(a));
  call->fn = t_b_powmix[ca];
  /* The driver converts a half exponent to float only when the base is half too. */
  call->p.b_dtype = ew_is_half(a) && ew_is_half(b) ? OCTET_DTYPE_FLOAT : b;
  return OCTET_OK;
}

OCTET_K_CREATE(octet_k_binary_create) {
  const binary_op *op = find_op(info->op_type);
  if (!op)
    return octet_fail(err, OCTET_STATUS_INTERNAL, "node '%s': '%s' is not a binary kernel",
                      info->node_name, info->op_type);
  octet_status st = octet_k_expect_inputs(info, 2, 2, err);
  if (st) return st;
  binary_state s0 = {.op = op, .legacy_axis = -1};
  if ((st = setup_call(info, op, info->input_dtypes[0], 1, info->input_dtypes[1], &s0.call, err)))
    return st;
  if (op->kind == K_MOD) {
    int64_t fmod_attr;
    if ((st = octet_attr_int(info, "fmod", 0, &fmod_attr, err))) return st;
    s0.call.p.flag = fmod_attr != 0;
  } else if (op->kind == K_SHIFT) {
    const char *dir;
    if ((st = octet_attr_string(info, "direction", "", &dir, err))) return st;
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                        "node '%s' (BitShift): direction must be LEFT or RIGHT, got '%s'",
                        info->node_name, dir);
    s0.call.fn = (!strcmp(dir, "LEFT") ? t_b_shl : t_b_shr)[s0.call.a_dtype];
  }
  if (op->legacy && info->opset < 7) {
    int64_t bc, axis;
    if ((st = octet_attr_int(info, "broadcast", 0, &bc, err)) ||
        (st = octet_attr_int(info, "axis", -1, &axis, err)))
      return st;
    s0.legacy_bcast = bc != 0;
    s0.legacy_strict = bc == 0;
    s0.legacy_axis = octet_attr_find(info, "axis") ? axis : INT64_MIN;
  }
  binary_state *s = state_new(info);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  /* Field by field: the node name may start inside the struct's trailing padding. */
  s->op = s0.op;
  s->call = s0.call;
  s->legacy_axis = s0.legacy_axis;
  s->legacy_bcast = s0.legacy_bcast;
  s->legacy_strict = s0.legacy_strict;
  out_dtypes[0] = s->call.out_dtype;
  *state = s;
  return OCTET_OK;
}

/* The B operand as the driver sees it: with legacy broadcast (opset < 7), B's dims sit at
 * A's dims [axis, axis + rank(B)) and are padded with 1s to A's rank. */
static octet_status view_b(const binary_state *s, const octet_tensor *a, const octet_tensor *b,
                           octet_tensor *bv, octet_error *err) {
  *bv = *b;
  if (s->legacy_strict) {
    if (a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank))
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                        "node '%s' (%s): inputs differ in shape and broadcast=0", s->node,
                        s->op->name);
    return OCTET_OK;
  }
  if (!s->legacy_bcast) return OCTET_OK;
  int64_t axis = s->legacy_axis == INT64_MIN ? a->rank - b->rank : s->legacy_axis;
  if (axis < 0) axis += a->rank;
  if (b->rank > a->rank || axis < 0 || axis + b->rank > a->rank)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): B of rank %d cannot broadcast into A of rank %d at axis %lld",
                      s->node, s->op->name, (int)b->rank, (int)a->rank, (long long)s->legacy_axis);
  bv->rank = a->rank;
  for (int32_t i = 0; i < a->rank; i++)
    bv->dims[i] = i >= axis && i < axis + b->rank ? b->dims[i - axis] : 1;
  return OCTET_OK;
}

/* The run reads elements by the types create saw: a host that changed them is refused. */
static octet_status check_types(const char *node, const char *op, const octet_tensor *const *in,
                                size_t first, size_t n, int32_t a, int32_t b, octet_error *err) {
  for (size_t i = first; i < n; i++) {
    int32_t want = i == first ? a : b;
    if (in[i] && in[i]->dtype != want)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (%s): input %zu is %s, expected %s",
                        node, op, i, octet_dtype_name(in[i]->dtype), octet_dtype_name(want));
  }
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_binary_infer) {
  binary_state *s = state;
  octet_tensor bv;
  octet_status st = check_types(s->node, s->op->name, in, 0, 2, s->call.a_dtype, s->call.b_dtype, err);
  if (st) return st;
  st = view_b(s, in[0], in[1], &bv, err);
  if (st) return st;
  const octet_tensor *ops[2] = {in[0], &bv};
  if ((st = ew_broadcast_n(s->node, s->op->name, ops, 2, &out[0], err))) return st;
  if ((s->op->kind == K_PRELU || s->legacy_bcast) &&
      (out[0].rank != in[0]->rank ||
       memcmp(out[0].dims, in[0]->dims, sizeof(int64_t) * (size_t)out[0].rank)))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT,
                      "node '%s' (%s): input 1 must broadcast to input 0's shape", s->node,
                      s->op->name);
  out[0].dtype = s->call.out_dtype;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_binary_run) {
  binary_state *s = state;
  octet_tensor bv;
  octet_status st = view_b(s, in[0], in[1], &bv, err);
  if (st) return st;
  ew_binary_fn special = s->op->kind == K_POW ? pow_special(&s->call, &bv) : NULL;
  if (special) {
    ew_binary_call c = s->call;
    c.fn = special;
    ew_binary_apply(&c, in[0], &bv, &out[0], host);
    return OCTET_OK;
  }
  ew_binary_apply(&s->call, in[0], &bv, &out[0], host);
  return OCTET_OK;
}

/* ---- Min / Max / Sum / Mean: any number of inputs, folded left to right into the output. ---- */

OCTET_K_CREATE(octet_k_variadic_create) {
  const binary_op *op = find_op(info->op_type);
  if (!op)
    return octet_fail(err, OCTET_STATUS_INTERNAL, "node '%s': '%s' is not a variadic kernel",
                      info->node_name, info->op_type);
  octet_status st = octet_k_expect_inputs(info, 1, SIZE_MAX, err);
  if (st) return st;
  binary_state *s = state_new(info);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", info->node_name);
  s->op = op;
  for (size_t i = 0; i < info->n_inputs && !st; i++)
    st = setup_call(info, op, info->input_dtypes[0], i, info->input_dtypes[i], &s->call, err);
  int32_t dt = info->input_dtypes[0];
  if (!st && !strcmp(op->name, "Mean") && dt != OCTET_DTYPE_FLOAT && dt != OCTET_DTYPE_DOUBLE &&
      !ew_is_half(dt))
    st = unsupported(info, 0, dt, err);
  if (st) {
    octet_free(s);
    return st;
  }
  out_dtypes[0] = s->call.out_dtype;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_variadic_infer) {
  binary_state *s = state;
  octet_status st = check_types(s->node, s->op->name, in, 0, n_in, s->call.a_dtype, s->call.a_dtype, err);
  if (st) return st;
  st = ew_broadcast_n(s->node, s->op->name, in, n_in, &out[0], err);
  if (st) return st;
  out[0].dtype = s->call.out_dtype;
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_variadic_run) {
  binary_state *s = state;
  if (n_in == 1) {
    if (out[0].data != in[0]->data) memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
  } else {
    ew_binary_apply(&s->call, in[0], in[1], &out[0], host);
    for (size_t i = 2; i < n_in; i++) ew_binary_apply(&s->call, &out[0], in[i], &out[0], host);
  }
  if (!strcmp(s->op->name, "Mean")) { /* Mean: divide the sum by the count, as ONNX's reference does */
    double nd = (double)n_in;
    float nf = (float)n_in;
    uint16_t nh = s->call.a_dtype == OCTET_DTYPE_BFLOAT16 ? octet_float_to_bf16(nf)
                                                          : octet_float_to_half(nf);
    octet_tensor count = {.dtype = s->call.a_dtype, .rank = 0};
    switch (s->call.a_dtype) {
    case OCTET_DTYPE_DOUBLE: count.data = &nd; break;
    case OCTET_DTYPE_FLOAT: count.data = &nf; break;
    case OCTET_DTYPE_FLOAT16:
    case OCTET_DTYPE_BFLOAT16: count.data = &nh; break;
    default:
      return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (Mean): type %s is not supported",
                        s->node, octet_dtype_name(s->call.a_dtype));
    }
    ew_binary_call div = s->call;
    div.fn = t_b_div[compute_dtype(div.a_dtype)];
    ew_binary_apply(&div, &out[0], &count, &out[0], host);
  }
  return OCTET_OK;
}

/* ---- Where(cond, X, Y): a three-way broadcast that copies elements of X's size. ---- */

typedef struct where_state {
  int32_t dtype;
  char node[];
} where_state;

OCTET_K_CREATE(octet_k_where_create) {
  octet_status st = octet_k_expect_inputs(info, 3, 3, err);
  if (st) return st;
  if ((st = octet_k_expect_dtype(info, 0, OCTET_DT(BOOL), err))) return st;
  int32_t dt = info->input_dtypes[1];
  size_t sz = octet_dtype_size(dt);
  if (sz != 1 && sz != 2 && sz != 4 && sz != 8 && sz != 16) return unsupported(info, 1, dt, err);
  if (info->input_dtypes[2] != dt)
    return octet_fail(err, OCTET_STATUS_INVALID_MODEL,
                      "node '%s' (Where): input 2 has type %s but input 1 has type %s",
                      info->node_name, octet_dtype_name(info->input_dtypes[2]), octet_dtype_name(dt));
  const char *name = info->node_name ? info->node_name : "";
  where_state *s = octet_calloc(1, sizeof *s + strlen(name) + 1);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", name);
  s->dtype = dt;
  strcpy(s->node, name);
  out_dtypes[0] = dt;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_where_infer) {
  where_state *s = state;
  octet_status st = check_types(s->node, "Where", in, 1, 3, s->dtype, s->dtype, err);
  if (!st && in[0]->dtype != OCTET_DTYPE_BOOL)
    st = octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Where): condition is %s, not bool",
                    s->node, octet_dtype_name(in[0]->dtype));
  if (st) return st;
  st = ew_broadcast_n(s->node, "Where", in, 3, &out[0], err);
  if (st) return st;
  out[0].dtype = s->dtype;
  *workspace = 0;
  return OCTET_OK;
}

typedef struct where_job {
  const uint8_t *c;
  const char *x, *y;
  char *o;
  size_t sz, inner;
  int32_t outer;
  int64_t dims[OCTET_MAX_RANK], s[3][OCTET_MAX_RANK];
} where_job;

/* One row: inner elements, each operand advancing by 0 or 1. */
#define WHERE_ROW(T)                                                                   \
  do {                                                                                 \
    const T *xs = (const T *)x;                                                        \
    const T *ys = (const T *)y;                                                        \
    T *os = (T *)o;                                                                    \
    if (ic && ix && iy) /* all advance: the plain loop vectorizes */                  \
      for (size_t i = 0; i < n; i++) os[i] = c[i] ? xs[i] : ys[i];                      \
    else                                                                               \
      for (size_t i = 0; i < n; i++) os[i] = c[i * ic] ? xs[i * ix] : ys[i * iy];      \
  } while (0)
typedef struct { uint64_t lo, hi; } ew_u128;

static void where_row(const uint8_t *c, const char *x, const char *y, char *o, size_t n,
                      size_t sz, size_t ic, size_t ix, size_t iy) {
  switch (sz) {
  case 1: WHERE_ROW(uint8_t); break;
  case 2: WHERE_ROW(uint16_t); break;
  case 4: WHERE_ROW(uint32_t); break;
  case 8: WHERE_ROW(uint64_t); break;
  default: WHERE_ROW(ew_u128); break;
  }
}

static void where_task(void *arg, size_t begin, size_t end) {
  const where_job *j = arg;
  int64_t idx[OCTET_MAX_RANK], off[3] = {0, 0, 0};
  size_t r = begin;
  for (int32_t k = j->outer - 1; k >= 0; k--) {
    idx[k] = (int64_t)(r % (size_t)j->dims[k]);
    r /= (size_t)j->dims[k];
    for (int t = 0; t < 3; t++) off[t] += idx[k] * j->s[t][k];
  }
  int32_t last = j->outer;
  for (size_t row = begin; row < end; row++) {
    where_row(j->c + off[0], j->x + (size_t)off[1] * j->sz, j->y + (size_t)off[2] * j->sz,
              j->o + row * j->inner * j->sz, j->inner, j->sz, (size_t)j->s[0][last],
              (size_t)j->s[1][last], (size_t)j->s[2][last]);
    for (int32_t k = j->outer - 1; k >= 0; k--) {
      for (int t = 0; t < 3; t++) off[t] += j->s[t][k];
      if (++idx[k] < j->dims[k]) break;
      for (int t = 0; t < 3; t++) off[t] -= idx[k] * j->s[t][k];
      idx[k] = 0;
    }
  }
}

OCTET_K_RUN(octet_k_where_run) {
  where_state *s = state;
  int32_t rank = out[0].rank;
  int64_t st[3][OCTET_MAX_RANK];
  for (int t = 0; t < 3; t++) octet_broadcast_strides(in[t], rank, out[0].dims, st[t]);
  where_job j = {.c = in[0]->data, .x = in[1]->data, .y = in[2]->data, .o = out[0].data,
                 .sz = octet_dtype_size(s->dtype)};
  int32_t m = 0;
  for (int32_t i = 0; i < rank; i++) {
    int64_t d = out[0].dims[i];
    if (d == 0) return OCTET_OK;
    if (d == 1) continue;
    bool merge = m > 0;
    for (int t = 0; t < 3 && merge; t++) merge = j.s[t][m - 1] == st[t][i] * d;
    if (merge) {
      j.dims[m - 1] *= d;
      for (int t = 0; t < 3; t++) j.s[t][m - 1] = st[t][i];
      continue;
    }
    j.dims[m] = d;
    for (int t = 0; t < 3; t++) j.s[t][m] = st[t][i];
    m++;
  }
  if (m == 0) {
    j.dims[0] = 1;
    for (int t = 0; t < 3; t++) j.s[t][0] = 0;
    m = 1;
  }
  j.inner = (size_t)j.dims[m - 1];
  j.outer = m - 1;
  size_t rows = 1;
  for (int32_t k = 0; k < m - 1; k++) rows *= (size_t)j.dims[k];
  if (rows * j.inner < 32768 || rows < 2)
    where_task(&j, 0, rows);
  else
    octet_parallel_for(host, rows, where_task, &j);
  return OCTET_OK;
}
