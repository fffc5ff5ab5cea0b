/* ew-cast.c — Cast and CastLike between bool, the integer types, float, double, float16 and
 * bfloat16: one generated loop per (from, to) pair of the C types, half types through float. */
#include <strings.h>

#include "ops/float/elementwise/elementwise.h"

/* Converting one value: bool is "not zero"; everything else is C's conversion (float to
 * integer truncates; out-of-range is undefined in ONNX too). */
#define CV_b8(D, v) ((D)((v) != 0))
#define CV_i8(D, v) ((D)(v))
#define CV_i16(D, v) ((D)(v))
#define CV_i32(D, v) ((D)(v))
#define CV_i64(D, v) ((D)(v))
#define CV_u8(D, v) ((D)(v))
#define CV_u16(D, v) ((D)(v))
#define CV_u32(D, v) ((D)(v))
#define CV_u64(D, v) ((D)(v))
#define CV_f32(D, v) ((D)(v))
#define CV_f64(D, v) ((D)(v))

#define CAST_DEF(dtag, D, stag, S)                                                    \
  static void c_##stag##_##dtag(const void *px, void *py, size_t n, const ew_params *p) { \
    (void)p;                                                                          \
    const S *xs = px;                                                                 \
    D *ys = py;                                                                       \
    EW_IVDEP for (size_t i = 0; i < n; i++) ys[i] = CV_##dtag(D, xs[i]);               \
  }
#define CAST_ENT(dtag, D, stag, S) [EW_DT_##stag][EW_DT_##dtag] = c_##stag##_##dtag,
/* The sources, listed again because a type-list macro cannot expand inside itself. */
#define CAST_FROM(X, dtag, D)                                                          \
  X(dtag, D, b8, uint8_t) X(dtag, D, i8, int8_t) X(dtag, D, i16, int16_t)             \
  X(dtag, D, i32, int32_t) X(dtag, D, i64, int64_t) X(dtag, D, u8, uint8_t)           \
  X(dtag, D, u16, uint16_t) X(dtag, D, u32, uint32_t) X(dtag, D, u64, uint64_t)       \
  X(dtag, D, f32, float) X(dtag, D, f64, double)
#define CAST_DEFS_TO(tag, T, U, ...) CAST_FROM(CAST_DEF, tag, T)
#define CAST_ENTS_TO(tag, T, U, ...) CAST_FROM(CAST_ENT, tag, T)
EW_NUMS(CAST_DEFS_TO, _)
EW_BOOLS(CAST_DEFS_TO, _)
static const ew_unary_fn cast_table[OCTET_DTYPE_COUNT][OCTET_DTYPE_COUNT] = {
  EW_NUMS(CAST_ENTS_TO, _) EW_BOOLS(CAST_ENTS_TO, _)};

uint16_t ew_float_to_bf16_trunc(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* keep NaN */
  return (uint16_t)(x >> 16);
}

/* double -> float16 rounded once: go to float with round-to-odd (float has 13 more bits than
 * half, so the second rounding to half is then exact), then round to nearest even. */
static uint16_t double_to_half(double d) {
  float f = (float)d;
  if (isfinite(f) && (double)f != d) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if (fabs((double)f) > fabs(d)) u -= 1; /* rounded away from zero: take the lower neighbour */
    u |= 1;
    memcpy(&f, &u, 4);
  }
  return octet_float_to_half(f);
}

#define CAST_BLOCK 256

typedef struct cast_state {
  int32_t from, to;
  char node[];
} cast_state;

static bool castable(int32_t dt) {
  return dt > 0 && dt < OCTET_DTYPE_COUNT && dt != OCTET_DTYPE_STRING &&
         dt != OCTET_DTYPE_COMPLEX64 && dt != OCTET_DTYPE_COMPLEX128;
}

/* Converts n <= CAST_BLOCK elements. */
static void cast_block(int32_t from, const char *x, int32_t to, char *y, size_t n) {
  float fb[CAST_BLOCK], tb[CAST_BLOCK];
  const void *src = x;
  if (ew_is_half(from)) {
    const uint16_t *h = (const void *)x;
    for (size_t i = 0; i < n; i++)
      fb[i] = from == OCTET_DTYPE_FLOAT16 ? octet_half_to_float(h[i]) : octet_bf16_to_float(h[i]);
    src = fb;
    from = OCTET_DTYPE_FLOAT;
  }
  if (!ew_is_half(to)) {
    cast_table[from][to](src, y, n, NULL);
    return;
  }
  uint16_t *h = (void *)y;
  if (from == OCTET_DTYPE_DOUBLE && to == OCTET_DTYPE_FLOAT16) {
    for (size_t i = 0; i < n; i++) h[i] = double_to_half(((const double *)src)[i]);
    return;
  }
  const float *f = src;
  if (from != OCTET_DTYPE_FLOAT) {
    cast_table[from][OCTET_DTYPE_FLOAT](src, tb, n, NULL);
    f = tb;
  }
  if (to == OCTET_DTYPE_FLOAT16)
    for (size_t i = 0; i < n; i++) h[i] = octet_float_to_half(f[i]);
  else /* ONNX's reference (through opset 18) truncates to bfloat16 */
    for (size_t i = 0; i < n; i++) h[i] = ew_float_to_bf16_trunc(f[i]);
}

typedef struct cast_job {
  const cast_state *s;
  const char *x;
  char *y;
  size_t n;
} cast_job;

static void cast_task(void *arg, size_t begin, size_t end) {
  const cast_job *j = arg;
  size_t in_sz = octet_dtype_size(j->s->from), out_sz = octet_dtype_size(j->s->to);
  size_t e = end * 8192 < j->n ? end * 8192 : j->n;
  for (size_t i = begin * 8192; i < e; i += CAST_BLOCK) {
    size_t len = e - i < CAST_BLOCK ? e - i : CAST_BLOCK;
    cast_block(j->s->from, j->x + i * in_sz, j->s->to, j->y + i * out_sz, len);
  }
}

OCTET_K_CREATE(octet_k_cast_create) {
  bool like = !strcmp(info->op_type, "CastLike");
  octet_status st = octet_k_expect_inputs(info, like ? 2 : 1, like ? 2 : 1, err);
  if (st) return st;
  int32_t from = info->input_dtypes[0];
  int64_t to;
  if (like) {
    to = info->input_dtypes[1];
  } else {
    if (!octet_attr_find(info, "to"))
      return octet_fail(err, OCTET_STATUS_INVALID_MODEL, "node '%s' (Cast): attribute 'to' is required",
                        info->node_name);
    const octet_attr *a = octet_attr_find(info, "to");
    if (a->type == OCTET_ATTR_STRING) { /* Cast-1 names the type: "FLOAT", "INT64", ... */
      to = -1;
      for (int32_t d = 1; d < OCTET_DTYPE_COUNT; d++)
        if (!strcasecmp(a->s, octet_dtype_name(d))) to = d;
    } else if ((st = octet_attr_int(info, "to", 0, &to, err))) {
      return st;
    }
  }
  if (!castable(from))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): cannot cast from %s",
                      info->node_name, info->op_type, octet_dtype_name(from));
  if (to < 0 || to >= OCTET_DTYPE_COUNT || !castable((int32_t)to))
    return octet_fail(err, OCTET_STATUS_UNSUPPORTED, "node '%s' (%s): cannot cast to %s",
                      info->node_name, info->op_type, octet_dtype_name((int32_t)to));
  const char *name = info->node_name ? info->node_name : "";
  cast_state *s = octet_calloc(1, sizeof *s + strlen(name) + 1);
  if (!s) return octet_fail(err, OCTET_STATUS_OUT_OF_MEMORY, "node '%s': out of memory", name);
  s->from = from;
  s->to = (int32_t)to;
  strcpy(s->node, name);
  out_dtypes[0] = s->to;
  *state = s;
  return OCTET_OK;
}

OCTET_K_INFER(octet_k_cast_infer) {
  cast_state *s = state;
  size_t n;
  octet_status st = ew_numel(in[0], &n, err);
  if (st) return octet_fail_prefix(err, "node '%s' (Cast)", s->node);
  if (in[0]->dtype != s->from)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "node '%s' (Cast): input is %s, expected %s",
                      s->node, octet_dtype_name(in[0]->dtype), octet_dtype_name(s->from));
  out[0].dtype = s->to;
  octet_k_copy_shape(&out[0], in[0]);
  *workspace = 0;
  return OCTET_OK;
}

OCTET_K_RUN(octet_k_cast_run) {
  cast_state *s = state;
  cast_job j = {s, in[0]->data, out[0].data, octet_tensor_numel(in[0])};
  if (s->from == s->to) {
    if (out[0].data != in[0]->data) memcpy(out[0].data, in[0]->data, octet_tensor_nbytes(in[0]));
    return OCTET_OK;
  }
  size_t units = (j.n + 8191) / 8192;
  if (j.n < 32768)
    cast_task(&j, 0, units);
  else
    octet_parallel_for(host, units, cast_task, &j);
  return OCTET_OK;
}
