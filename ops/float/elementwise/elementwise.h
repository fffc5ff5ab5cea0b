/* elementwise.h — internal to ops/float/elementwise: the per-dtype type lists that generate
 * the op variants, and the unary / binary / ternary drivers that every elementwise kernel uses. */
#ifndef OCTET_OPS_ELEMENTWISE_H
#define OCTET_OPS_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>

#include "ops/kernel-util.h"

/* Loops that write o[i] from a[i] (and b[i]) only: output 0 may alias input 0 exactly, so
 * restrict would be a lie; ivdep tells GCC the same thing without it. */
#if defined(__GNUC__) && !defined(__clang__)
#define EW_IVDEP _Pragma("GCC ivdep")
#else
#define EW_IVDEP
#endif

/* Type lists: X(tag, C type, wide unsigned type for wrapping integer arithmetic, ...).
 * The unsigned type is at least 32 bits so small types never promote to signed int. */
#define EW_FLOATS(X, ...) \
  X(f32, float, float, __VA_ARGS__) X(f64, double, double, __VA_ARGS__)
#define EW_SINTS(X, ...)                                                              \
  X(i8, int8_t, uint32_t, __VA_ARGS__) X(i16, int16_t, uint32_t, __VA_ARGS__)          \
  X(i32, int32_t, uint32_t, __VA_ARGS__) X(i64, int64_t, uint64_t, __VA_ARGS__)
#define EW_UINTS(X, ...)                                                              \
  X(u8, uint8_t, uint32_t, __VA_ARGS__) X(u16, uint16_t, uint32_t, __VA_ARGS__)        \
  X(u32, uint32_t, uint32_t, __VA_ARGS__) X(u64, uint64_t, uint64_t, __VA_ARGS__)
#define EW_INTS(X, ...) EW_SINTS(X, __VA_ARGS__) EW_UINTS(X, __VA_ARGS__)
#define EW_NUMS(X, ...) EW_FLOATS(X, __VA_ARGS__) EW_INTS(X, __VA_ARGS__)
#define EW_BOOLS(X, ...) X(b8, uint8_t, uint32_t, __VA_ARGS__)

/* dtype number of each tag, so generated tables can be indexed by dtype. */
enum {
  EW_DT_f32 = OCTET_DTYPE_FLOAT, EW_DT_f64 = OCTET_DTYPE_DOUBLE, EW_DT_i8 = OCTET_DTYPE_INT8,
  EW_DT_i16 = OCTET_DTYPE_INT16, EW_DT_i32 = OCTET_DTYPE_INT32, EW_DT_i64 = OCTET_DTYPE_INT64,
  EW_DT_u8 = OCTET_DTYPE_UINT8, EW_DT_u16 = OCTET_DTYPE_UINT16, EW_DT_u32 = OCTET_DTYPE_UINT32,
  EW_DT_u64 = OCTET_DTYPE_UINT64, EW_DT_b8 = OCTET_DTYPE_BOOL,
};

/* Everything an op variant may need besides its operands. */
typedef struct ew_params {
  float alpha, beta, gamma;
  double lo, hi;         /* Clip bounds for float types */
  int64_t ilo, ihi;      /* Clip bounds for signed integer types */
  uint64_t ulo, uhi;     /* Clip bounds for unsigned integer types */
  int64_t flag;          /* Mod's fmod, BitShift's direction (1 = left), IsInf's detect mask */
  int32_t b_dtype;       /* Pow: the exponent's dtype when it differs from the base's */
} ew_params;

/* Unary variant: y[i] = f(x[i]) for n elements. */
typedef void (*ew_unary_fn)(const void *x, void *y, size_t n, const ew_params *p);

/* Binary variant. mode says which operand advances: both, only b (a is one scalar), or only
 * a (b is one scalar); the broadcast driver reduces every layout to runs of these. */
enum { EW_VV = 0, EW_SV = 1, EW_VS = 2 };
typedef void (*ew_binary_fn)(const void *a, const void *b, void *o, size_t n, int mode,
                             const ew_params *p);

/* A prepared unary call: fn works on fn_dtype elements; inputs of float16/bfloat16 are
 * converted to float (fn_dtype FLOAT) in small blocks, and so is the output when out_dtype is
 * half-sized too. */
typedef struct ew_unary_call {
  ew_unary_fn fn;
  int32_t in_dtype, out_dtype;
  ew_params p;
} ew_unary_call;

typedef struct ew_binary_call {
  ew_binary_fn fn;
  int32_t a_dtype, b_dtype, out_dtype;
  ew_params p;
} ew_binary_call;

static inline bool ew_is_half(int32_t dt) {
  return dt == OCTET_DTYPE_FLOAT16 || dt == OCTET_DTYPE_BFLOAT16;
}

/* Runs y = f(x) over n elements, in parallel blocks when n is large. */
void ew_unary_apply(const ew_unary_call *c, const void *x, void *y, size_t n,
                    const octet_host *host);
/* Runs out = f(a, b) with a and b broadcast (numpy rules) to out's shape, which the caller
 * has already checked. */
void ew_binary_apply(const ew_binary_call *c, const octet_tensor *a, const octet_tensor *b,
                     octet_tensor *out, const octet_host *host);

/* Fills out (dtype already set) with the broadcast shape of n tensors; fails naming the node. */
octet_status ew_broadcast_n(const char *node, const char *op, const octet_tensor *const *t,
                            size_t n, octet_tensor *out, octet_error *err);

/* The elements of a shape, failing on overflow. */
octet_status ew_numel(const octet_tensor *t, size_t *n, octet_error *err);

/* float -> bfloat16 as ONNX's opset <= 18 reference does it: truncation. */
uint16_t ew_float_to_bf16_trunc(float f);

#endif
