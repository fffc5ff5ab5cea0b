/* qparams.c — float range -> (scale, zero point), and the one quantize-a-value rule. */
#include <math.h>

#include "quantize/passes.h"

static void qrange(int32_t dtype, bool symmetric, double *qmin, double *qmax) {
  if (dtype == OCTET_DTYPE_INT8) {
    *qmin = symmetric ? -127.0 : -128.0; /* symmetric int8 keeps -128 unused, as ORT does */
    *qmax = 127.0;
  } else {
    *qmin = 0.0;
    *qmax = 255.0;
  }
}

void octet_qparams_from_range(double lo, double hi, int32_t dtype, bool symmetric, float *scale,
                              int32_t *zero_point) {
  double qmin, qmax;
  qrange(dtype, symmetric, &qmin, &qmax);
  lo = fmin(lo, 0.0);
  hi = fmax(hi, 0.0);
  if (symmetric) {
    double a = fmax(-lo, hi);
    lo = -a;
    hi = a;
  }
  float s = (float)((hi - lo) / (qmax - qmin));
  if (!(s > 0.0f) || !isfinite(s)) s = 1.0f;
  double zp = nearbyint(qmin - lo / (double)s);
  if (zp < qmin) zp = qmin;
  if (zp > qmax) zp = qmax;
  *scale = s;
  *zero_point = (int32_t)zp;
}

int32_t octet_quantize_value(float x, float scale, int32_t zp, int32_t dtype) {
  double lo = dtype == OCTET_DTYPE_INT8 ? -128 : dtype == OCTET_DTYPE_UINT8 ? 0 : -2147483648.0;
  double hi = dtype == OCTET_DTYPE_INT8 ? 127 : dtype == OCTET_DTYPE_UINT8 ? 255 : 2147483647.0;
  /* ONNX QuantizeLinear: divide (never multiply by 1/scale), round half to even, add zp. */
  double q = nearbyint((double)(x / scale)) + zp;
  if (q < lo) q = lo;
  if (q > hi) q = hi;
  return (int32_t)q;
}
