/* dtype.c — the data-type table, indexed by ONNX's TensorProto.DataType number. */
#include <string.h>

#include "common/common.h"
#include "octet/octet.h"

static const octet_dtype_info dtypes[] = {
  [OCTET_DTYPE_UNDEFINED] = {"undefined", 0},
  [OCTET_DTYPE_FLOAT] = {"float", 4},
  [OCTET_DTYPE_UINT8] = {"uint8", 1},
  [OCTET_DTYPE_INT8] = {"int8", 1},
  [OCTET_DTYPE_UINT16] = {"uint16", 2},
  [OCTET_DTYPE_INT16] = {"int16", 2},
  [OCTET_DTYPE_INT32] = {"int32", 4},
  [OCTET_DTYPE_INT64] = {"int64", 8},
  [OCTET_DTYPE_STRING] = {"string", 0},
  [OCTET_DTYPE_BOOL] = {"bool", 1},
  [OCTET_DTYPE_FLOAT16] = {"float16", 2},
  [OCTET_DTYPE_DOUBLE] = {"double", 8},
  [OCTET_DTYPE_UINT32] = {"uint32", 4},
  [OCTET_DTYPE_UINT64] = {"uint64", 8},
  [OCTET_DTYPE_COMPLEX64] = {"complex64", 8},
  [OCTET_DTYPE_COMPLEX128] = {"complex128", 16},
  [OCTET_DTYPE_BFLOAT16] = {"bfloat16", 2},
};
_Static_assert(OCTET_COUNTOF(dtypes) == OCTET_DTYPE_COUNT, "one row per octet_dtype");

const octet_dtype_info *octet_dtype_get(int32_t dtype) {
  if (dtype < 0 || dtype >= OCTET_DTYPE_COUNT) return NULL;
  return &dtypes[dtype];
}

size_t octet_dtype_size(int32_t dtype) {
  const octet_dtype_info *d = octet_dtype_get(dtype);
  return d ? d->size : 0;
}

const char *octet_dtype_name(int32_t dtype) {
  const octet_dtype_info *d = octet_dtype_get(dtype);
  return d ? d->name : "unknown";
}

bool octet_shape_numel(const int64_t *dims, int32_t rank, size_t *numel) {
  size_t n = 1;
  for (int32_t i = 0; i < rank; i++) {
    if (dims[i] < 0) return false;
    if ((uint64_t)dims[i] > SIZE_MAX || !octet_mul_size(n, (size_t)dims[i], &n)) return false;
  }
  *numel = n;
  return true;
}

size_t octet_tensor_numel(const octet_tensor *t) {
  size_t n = 1;
  for (int32_t i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

size_t octet_tensor_nbytes(const octet_tensor *t) {
  return octet_tensor_numel(t) * octet_dtype_size(t->dtype);
}

float octet_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalize */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400u));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t octet_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xff;
  uint32_t man = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
  uint32_t rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++; /* may carry into exponent: correct */
  return (uint16_t)half;
}

float octet_bf16_to_float(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t octet_float_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1u);
  return (uint16_t)((x + rounding) >> 16);
}
