/* calib-bench.c — what calibration costs on top of float inference: runs the same batches
 * through a plain session and through a calibrating one (histograms on every float tensor), and
 * times choosing the ranges with each method. Interleaved rounds; the best round counts.
 *   calib-bench MODEL DATA.npy [SAMPLES] [ROUNDS] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "octet/octet.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check(octet_status st, const octet_error *err) {
  if (st) fprintf(stderr, "calib-bench: %s\n", err->message);
  return st != OCTET_OK;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: calib-bench MODEL DATA.npy [SAMPLES] [ROUNDS]\n");
    return 2;
  }
  octet_error err = {0};
  octet_model *m;
  octet_dataset *ds;
  if (check(octet_model_load(argv[1], NULL, &m, &err), &err) ||
      check(octet_dataset_open(argv[2], NULL, NULL, &ds, &err), &err))
    return 1;
  uint64_t n = octet_dataset_count(ds);
  if (argc > 3 && strtoull(argv[3], NULL, 10) < n) n = strtoull(argv[3], NULL, 10);
  int rounds = argc > 4 ? atoi(argv[4]) : 3;
  octet_session_options po = {.n_threads = 1};
  octet_session *plain;
  if (check(octet_session_create(m, &po, &plain, &err), &err)) return 1;
  double best_plain = 1e30, best_cal = 1e30;
  octet_calibrator *cal = NULL;
  for (int r = 0; r < rounds; r++) {
    octet_calibrator_destroy(cal);
    if (check(octet_calibrator_create(NULL, &cal, &err), &err)) return 1;
    octet_session_options co = {.n_threads = 1, .observer = octet_calibrator_observer, .observer_ctx = cal};
    octet_session *cs;
    if (check(octet_session_create(m, &co, &cs, &err), &err)) return 1;
    octet_calibrator *dummy;
    octet_calibrator_create(NULL, &dummy, &err);
    double t0 = now();
    /* the plain session still observes the inputs through a throwaway calibrator: same work
     * outside the session on both sides */
    if (check(octet_calibrate(dummy, plain, m, &ds, 0, n, 0, NULL, NULL, &err), &err)) return 1;
    double t1 = now();
    if (check(octet_calibrate(cal, cs, m, &ds, 0, n, 0, NULL, NULL, &err), &err)) return 1;
    double t2 = now();
    if (t1 - t0 < best_plain) best_plain = t1 - t0;
    if (t2 - t1 < best_cal) best_cal = t2 - t1;
    octet_session_destroy(cs);
    octet_calibrator_destroy(dummy);
  }
  printf("%s: %llu samples, float inference %.3f s, with histograms %.3f s: +%.1f %%\n", argv[1],
         (unsigned long long)n, best_plain, best_cal, 100.0 * (best_cal / best_plain - 1.0));
  static const char *const methods[] = {"minmax", "percentile", "entropy", "mse"};
  for (int k = 0; k < 4; k++) {
    octet_calibration_choice ch = {.methods = methods[k]};
    double t0 = now();
    if (check(octet_calibrator_write_table(cal, &ch, "/tmp/octet-calib-bench-table.json", &err), &err)) return 1;
    printf("  choose %-10s %.3f s (+%.1f %% of float inference)\n", methods[k], now() - t0,
           100.0 * (now() - t0) / best_plain);
  }
  octet_calibrator_destroy(cal);
  octet_session_destroy(plain);
  octet_dataset_destroy(ds);
  octet_model_destroy(m);
  return 0;
}
