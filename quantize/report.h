/* report.h — the per-layer error report's insides: one row per quantized activation (float
 * range, chosen range, clipped share, SQNR vs float), shared by the text and HTML writers and by
 * the accuracy-driven fallback (which ranks layers by it). */
#ifndef OCTET_QUANTIZE_REPORT_H
#define OCTET_QUANTIZE_REPORT_H

#include "calibration/histogram.h"
#include "common/common.h"

typedef struct octet_report_row {
  char *tensor;    /* the float tensor */
  char *dq;        /* its DequantizeLinear output in the quantized model */
  char *producer;  /* node producing it in the float model ("" for a graph input) */
  size_t order;    /* producer's position in the float graph (0 for graph inputs) */
  double fmin, fmax; /* observed during calibration */
  double lo, hi;     /* the range the int8 grid covers: (qmin - zp) * s .. (qmax - zp) * s */
  float scale;
  int32_t zero_point, dtype;
  double clipped;    /* share of calibration values outside [lo, hi] */
  double sig2, err2, max_err; /* sums over the compared samples */
  uint64_t count;
  octet_hist hist;   /* copy of the calibrator's histogram (bins owned) */
  float *ref;        /* float values of the current batch (scratch) */
  size_t ref_n, ref_cap;
} octet_report_row;

typedef struct octet_report_output {
  char *name;
  double sig2, err2, max_err;
  uint64_t count;
  uint64_t rows, agree; /* argmax agreement for [N, C] outputs (rows = 0 otherwise) */
} octet_report_output;

struct octet_quantize_report {
  char *method;
  octet_report_row *rows;
  size_t n_rows;
  octet_report_output *outputs;
  size_t n_outputs;
  uint64_t samples;
};

/* 10 log10(signal / noise); +inf when the noise is 0, -inf when there is no signal. */
double octet_report_sqnr(double sig2, double err2);
/* Share of the histogram's values outside [lo, hi] (interpolated inside partly covered bins). */
double octet_report_clipped(const octet_hist *h, double lo, double hi);

/* A growing text buffer; oom sticks once an allocation fails. */
typedef struct octet_sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} octet_sbuf;
void octet_sb_printf(octet_sbuf *b, const char *fmt, ...) OCTET_PRINTF(2, 3);

#endif
