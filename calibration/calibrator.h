/* calibrator.h — the calibrator's insides, shared by the table writer and the quantizer. */
#ifndef OCTET_CALIBRATION_CALIBRATOR_H
#define OCTET_CALIBRATION_CALIBRATOR_H

#include "calibration/histogram.h"
#include "calibration/range.h"
#include "common/common.h"

typedef struct octet_calib_entry {
  char *name;
  int32_t rank; /* of the last tensor observed (-1 before any); the quantizer checks ops with it */
  octet_hist hist;
  /* Read from a calibration table (table-read.c): fixed ranges per method, no histogram. */
  bool from_table;
  bool table_has[OCTET_RANGE_METHOD_COUNT];
  double table_range[OCTET_RANGE_METHOD_COUNT][2];
} octet_calib_entry;

struct octet_calibrator {
  uint32_t half_bins;
  uint64_t samples;
  octet_calib_entry *entries;
  size_t n, cap;
  size_t *slots; /* open-addressing index into entries */
  size_t cap_slots;
  octet_error last_error;
  uint64_t batch; /* samples in the batch being observed (0: unknown) */
  struct {          /* the settings a loaded calibration table was written with */
    bool symmetric, signed_target;
    double percentile;
    uint32_t entropy_bins, entropy_levels;
  } table;
};

/* Tells the calibrator how many samples the next observed tensors hold (for sampling). */
void octet_calibrator_set_batch(octet_calibrator *c, uint64_t batch);

octet_calib_entry *octet_calibrator_find(const octet_calibrator *c, const char *name);
octet_status octet_calibrator_entry(octet_calibrator *c, const char *name, octet_calib_entry **out,
                                    octet_error *err);
/* Entries sorted by name (allocated array of pointers; free with octet_free). */
octet_status octet_calibrator_sorted(const octet_calibrator *c, octet_calib_entry ***out,
                                     octet_error *err);

/* Parses a method list ("minmax,entropy", NULL or "all" = every method) into flags. */
octet_status octet_calibration_methods(const char *list, bool enabled[OCTET_RANGE_METHOD_COUNT],
                                       octet_error *err);
/* Range options for one method from a public choice. */
void octet_calibration_range_options(const octet_calibration_choice *choice,
                                     octet_range_method method, octet_range_options *o);

/* The range a loaded table holds for e under o's method; an error when the table lacks it or was
 * written for other settings (symmetry, target type, percentile, entropy bins). */
octet_status octet_calibration_table_range(const octet_calibrator *c, const octet_calib_entry *e,
                                           const octet_range_options *o, double *lo, double *hi,
                                           octet_error *err);

#endif
