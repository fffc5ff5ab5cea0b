/* calib-probe.c — test helper: histogram + every chooser over raw float32 values, as JSON, so
 * reference-calibration.py can check them against an independent NumPy implementation.
 *   calib-probe VALUES.f32 BINS_PER_SIDE */
#include <stdio.h>
#include <stdlib.h>

#include "calibration/histogram.h"
#include "calibration/range.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: calib-probe VALUES.f32 BINS_PER_SIDE\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  size_t n = (size_t)bytes / 4;
  float *x = malloc(n * 4 + 4);
  if (!x || fread(x, 4, n, f) != n) return 1;
  fclose(f);
  octet_hist h;
  octet_error err = {0};
  if (octet_hist_init(&h, (uint32_t)atoi(argv[2]), &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  for (size_t i = 0; i < n; i += 1000) octet_hist_add(&h, x + i, n - i < 1000 ? n - i : 1000);
  printf("{\"exp\": %d, \"half_bins\": %u, \"width\": %.17g, \"min\": %.9g, \"max\": %.9g, \"count\": %llu,\n",
         h.exp, h.half_bins, octet_hist_width(&h), h.min, h.max, (unsigned long long)h.count);
  printf(" \"bins\": [");
  for (size_t i = 0; i < 2 * (size_t)h.half_bins; i++)
    printf("%s%llu", i ? "," : "", (unsigned long long)h.bins[i]);
  printf("],\n \"ranges\": [");
  int k = 0;
  for (int m = 0; m < OCTET_RANGE_METHOD_COUNT; m++)
    for (int sym = 0; sym < 2; sym++)
      for (int uns = 0; uns < 2; uns++) {
        octet_range_options o;
        octet_range_defaults(&o, (octet_range_method)m);
        o.symmetric = sym;
        o.unsigned_target = uns;
        o.percentile = 99.9;
        double lo, hi;
        if (octet_range_choose(&h, &o, &lo, &hi, &err)) {
          fprintf(stderr, "%s\n", err.message);
          return 1;
        }
        printf("%s\n  {\"method\": \"%s\", \"symmetric\": %d, \"unsigned\": %d, \"lo\": %.17g, \"hi\": %.17g}",
               k++ ? "," : "", octet_range_method_name((octet_range_method)m), sym, uns, lo, hi);
      }
  printf("]}\n");
  octet_hist_free(&h);
  free(x);
  return 0;
}
