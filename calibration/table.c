/* table.c — the calibration table (JSON) and a TensorRT calibration cache, from a calibrator. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calibrator.h"

octet_status octet_calibration_methods(const char *list, bool enabled[OCTET_RANGE_METHOD_COUNT],
                                       octet_error *err) {
  bool all = !list || !strcmp(list, "all");
  for (int m = 0; m < OCTET_RANGE_METHOD_COUNT; m++) enabled[m] = all;
  if (all) return OCTET_OK;
  char name[32];
  for (const char *p = list; *p;) {
    size_t n = strcspn(p, ",");
    if (n == 0 || n >= sizeof name)
      return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "bad calibration method list '%s'", list);
    memcpy(name, p, n);
    name[n] = 0;
    octet_range_method m;
    octet_status st = octet_range_method_parse(name, &m, err);
    if (st) return st;
    enabled[m] = true;
    p += n + (p[n] == ',');
  }
  return OCTET_OK;
}

void octet_calibration_range_options(const octet_calibration_choice *choice,
                                     octet_range_method method, octet_range_options *o) {
  octet_range_defaults(o, method);
  if (!choice) return;
  if (choice->percentile > 0) o->percentile = choice->percentile;
  if (choice->entropy_bins) o->entropy_bins = choice->entropy_bins;
  if (choice->entropy_levels) o->entropy_levels = choice->entropy_levels;
  o->symmetric = choice->symmetric != 0;
  o->unsigned_target = !choice->signed_target;
}

static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* Shortest text that reads back to the same double. */
static void json_number(FILE *f, double v) {
  if (!isfinite(v)) {
    fputs("null", f);
    return;
  }
  char buf[40];
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  fputs(buf, f);
}

static octet_status check_choice(const octet_calibration_choice *choice, octet_error *err) {
  if (!choice) return OCTET_OK;
  if (choice->percentile != 0 && !(choice->percentile > 50 && choice->percentile <= 100))
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "percentile must be in (50, 100], got %g",
                      choice->percentile);
  if (choice->entropy_levels == 1)
    return octet_fail(err, OCTET_STATUS_INVALID_ARGUMENT, "entropy levels must be >= 2");
  return OCTET_OK;
}

octet_status octet_calibrator_write_table(const octet_calibrator *c,
                                          const octet_calibration_choice *choice, const char *path,
                                          octet_error *err) {
  bool enabled[OCTET_RANGE_METHOD_COUNT];
  octet_status st = check_choice(choice, err);
  if (!st) st = octet_calibration_methods(choice ? choice->methods : NULL, enabled, err);
  if (st) return st;
  octet_calib_entry **v;
  if ((st = octet_calibrator_sorted(c, &v, err))) return st;
  octet_atomic_file af;
  if ((st = octet_atomic_open(&af, path, err))) {
    octet_free(v);
    return st;
  }
  FILE *f = af.f;
  fprintf(f, "{\n  \"format\": \"octet-calibration\",\n  \"version\": 1,\n  \"samples\": %llu,\n",
          (unsigned long long)c->samples);
  fprintf(f, "  \"bins_per_side\": %u,\n  \"symmetric\": %s,\n  \"target\": \"%s\",\n", c->half_bins,
          choice && choice->symmetric ? "true" : "false",
          choice && choice->signed_target ? "int8" : "uint8");
  octet_range_options pct, ent;
  octet_calibration_range_options(choice, OCTET_RANGE_PERCENTILE, &pct);
  octet_calibration_range_options(choice, OCTET_RANGE_ENTROPY, &ent);
  fputs("  \"percentile\": ", f);
  json_number(f, pct.percentile);
  fprintf(f, ",\n  \"entropy_bins\": %u,\n  \"entropy_levels\": %u,\n", ent.entropy_bins, ent.entropy_levels);
  fputs("  \"tensors\": {", f);
  for (size_t i = 0; i < c->n && !st; i++) {
    const octet_hist *h = &v[i]->hist;
    fputs(i ? ",\n    " : "\n    ", f);
    json_string(f, v[i]->name);
    fputs(": {\"min\": ", f);
    json_number(f, h->count ? h->min : 0.0);
    fputs(", \"max\": ", f);
    json_number(f, h->count ? h->max : 0.0);
    fprintf(f, ", \"count\": %llu, \"zeros\": %llu, \"nonfinite\": %llu, \"rank\": %d, \"ranges\": {",
            (unsigned long long)h->count, (unsigned long long)h->zeros,
            (unsigned long long)h->nonfinite, (int)v[i]->rank);
    int k = 0;
    for (int m = 0; m < OCTET_RANGE_METHOD_COUNT && !st; m++) {
      if (!enabled[m]) continue;
      octet_range_options o;
      octet_calibration_range_options(choice, (octet_range_method)m, &o);
      double lo, hi;
      if ((st = octet_range_choose(h, &o, &lo, &hi, err))) break;
      fprintf(f, "%s\"%s\": [", k++ ? ", " : "", octet_range_method_name((octet_range_method)m));
      json_number(f, lo);
      fputs(", ", f);
      json_number(f, hi);
      fputc(']', f);
    }
    fputs("}, \"histogram\": {\"bin_width\": ", f);
    json_number(f, octet_hist_width(h));
    static const double qs[] = {0.0001, 0.01, 0.5, 0.99, 0.9999};
    static const char *const qn[] = {"p0.01", "p1", "p50", "p99", "p99.99"};
    for (size_t q = 0; q < OCTET_COUNTOF(qs); q++) {
      fprintf(f, ", \"%s\": ", qn[q]);
      json_number(f, octet_hist_quantile(h, qs[q]));
    }
    fputs("}}", f);
  }
  fputs("\n  }\n}\n", f);
  octet_free(v);
  if (st) {
    octet_atomic_abort(&af);
    return octet_fail_prefix(err, "calibration table");
  }
  return octet_atomic_commit(&af, err);
}

octet_status octet_calibrator_write_trt_cache(const octet_calibrator *c,
                                              const octet_calibration_choice *choice,
                                              const char *method, const char *path,
                                              octet_error *err) {
  octet_range_method m;
  octet_status st = check_choice(choice, err);
  if (!st) st = octet_range_method_parse(method ? method : "entropy", &m, err);
  if (st) return st;
  octet_calib_entry **v;
  if ((st = octet_calibrator_sorted(c, &v, err))) return st;
  octet_atomic_file af;
  if ((st = octet_atomic_open(&af, path, err))) {
    octet_free(v);
    return st;
  }
  /* TensorRT's cache: a header naming the calibrator, then "tensor: <float scale as hex bits>"
   * with symmetric int8 scale = threshold / 127. */
  fprintf(af.f, "TRT-8601-%s\n", m == OCTET_RANGE_ENTROPY ? "EntropyCalibration2" : "MinMaxCalibration");
  octet_calibration_choice sym = choice ? *choice : (octet_calibration_choice){0};
  sym.symmetric = 1;
  sym.signed_target = 1;
  for (size_t i = 0; i < c->n && !st; i++) {
    octet_range_options o;
    octet_calibration_range_options(&sym, m, &o);
    double lo, hi;
    if ((st = octet_range_choose(&v[i]->hist, &o, &lo, &hi, err))) break;
    float scale = (float)(fmax(-lo, hi) / 127.0);
    uint32_t bits;
    memcpy(&bits, &scale, 4);
    fprintf(af.f, "%s: %08x\n", v[i]->name, bits);
  }
  octet_free(v);
  if (st) {
    octet_atomic_abort(&af);
    return st;
  }
  return octet_atomic_commit(&af, err);
}
