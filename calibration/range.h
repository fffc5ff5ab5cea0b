/* range.h — choosing a quantization range from a histogram: minmax, percentile, entropy, mse. */
#ifndef OCTET_CALIBRATION_RANGE_H
#define OCTET_CALIBRATION_RANGE_H

#include <stdbool.h>

#include "calibration/histogram.h"

typedef enum octet_range_method {
  OCTET_RANGE_MINMAX = 0,
  OCTET_RANGE_PERCENTILE,
  OCTET_RANGE_ENTROPY,
  OCTET_RANGE_MSE,
  OCTET_RANGE_METHOD_COUNT,
} octet_range_method;

typedef struct octet_range_options {
  octet_range_method method;
  bool symmetric;           /* range [-T, T] (s8 weights-style); else [lo, hi] with 0 inside */
  bool unsigned_target;     /* u8 (256 levels from 0) vs s8 (255 symmetric levels, -127..127) */
  double percentile;        /* percentile: e.g. 99.99 (in (50, 100]) */
  uint32_t entropy_levels;  /* entropy: quantized levels of the folded histogram (TensorRT: 128) */
  uint32_t entropy_bins;    /* entropy: bins over [0, max|x|] (TensorRT: 2048); 0 = all */
} octet_range_options;

/* TensorRT-like defaults for the method. */
void octet_range_defaults(octet_range_options *o, octet_range_method method);

/* Parses "minmax", "percentile", "entropy", "mse". */
octet_status octet_range_method_parse(const char *name, octet_range_method *method,
                                      octet_error *err);
const char *octet_range_method_name(octet_range_method method);

/* Chooses [lo, hi] (lo <= 0 <= hi) from h. An empty or all-zero histogram gives [0, 0]. */
octet_status octet_range_choose(const octet_hist *h, const octet_range_options *o, double *lo,
                                double *hi, octet_error *err);

/* TensorRT's entropy calibration on a magnitude histogram: the bin index i in
 * [levels, n] minimising KL(P_i || Q_i); the threshold is i * bin width. Exposed for tests. */
size_t octet_range_entropy_threshold_bin(const uint64_t *abs_hist, size_t n, size_t levels);

#endif
