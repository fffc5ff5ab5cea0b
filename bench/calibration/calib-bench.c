/* calib-bench.c — what calibration costs on top of float inference. The model is prepared as
 * `octet quantize` prepares it; the same batches go through a plain session, one whose observer
 * does nothing, a calibrating one observing every float tensor, and one observing only the
 * quantizer's tensors (octet_observe_list); then each range method's table is timed. Rounds are
 * interleaved batch by batch after an untimed round, and each batch's best time counts; times
 * are process CPU seconds (steadier than wall time on a shared machine). Small batches (BATCH,
 * default 16 or the model's fixed batch) make the best-of rounds meaningful under load.
 *   calib-bench MODEL DATA.npy [SAMPLES] [ROUNDS] [BATCH] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "octet/octet.h"
#include "octet/octet.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int check(octet_status st, const octet_error *err) {
  if (st) fprintf(stderr, "calib-bench: %s\n", err->message);
  return st != OCTET_OK;
}

/* Sessions of one round: plain (inputs still observed, into a throwaway calibrator, so every
 * kind does the same work outside the session), an observer that does nothing (what observing
 * costs the session itself), every tensor, the quantizer's tensors. */
enum { PLAIN, NOOP, ALL, LIST, KINDS };

typedef struct kind {
  octet_calibrator *cal;
  octet_session *s;
} kind;

static int ignore(void *ctx, const char *tensor, const char *node, const octet_tensor *value) {
  (void)ctx, (void)tensor, (void)node, (void)value;
  return 0;
}

static int make_kind(const octet_model *m, int which, const char **names, size_t n_names, kind *k) {
  octet_error err = {0};
  if (check(octet_calibrator_create(NULL, &k->cal, &err), &err)) return 1;
  octet_session_options so = {.n_threads = 1};
  if (which != PLAIN) {
    so.observer = which == NOOP ? ignore : octet_calibrator_observer;
    so.observer_ctx = k->cal;
  }
  if (which == LIST) {
    so.observe_names = names;
    so.n_observe_names = n_names;
  }
  return check(octet_session_create(m, &so, &k->s, &err), &err);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: calib-bench MODEL DATA.npy [SAMPLES] [ROUNDS] [BATCH]\n");
    return 2;
  }
  octet_error err = {0};
  octet_model *m;
  octet_dataset *ds;
  if (check(octet_model_load(argv[1], NULL, &m, &err), &err) ||
      check(octet_quantize_prepare(m, NULL, &err), &err) ||
      check(octet_dataset_open(argv[2], NULL, NULL, &ds, &err), &err))
    return 1;
  uint64_t n = octet_dataset_count(ds);
  if (argc > 3 && strtoull(argv[3], NULL, 10) < n) n = strtoull(argv[3], NULL, 10);
  int rounds = argc > 4 ? atoi(argv[4]) : 3;
  const char **names;
  size_t n_names;
  if (check(octet_observe_list(m, NULL, &names, &n_names, &err), &err)) return 1;
  /* Batch by batch, each kind taking each turn; a batch's best time over the rounds counts,
   * so a burst of load on the shared machine spoils one batch of one round, not a whole pass. */
  uint64_t step = argc > 5 && atoi(argv[5]) > 0 ? (uint64_t)atoi(argv[5]) : 16;
  for (size_t k = 0; k < octet_model_input_count(m); k++) {
    const char *in_name;
    octet_tensor type;
    if (check(octet_model_input(m, k, &in_name, &type, &err), &err)) return 1;
    if (type.rank > 0 && type.dims[0] > 0) step = (uint64_t)type.dims[0];
  }
  size_t n_batches = (size_t)((n + step - 1) / step);
  double *best = malloc(KINDS * (n_batches ? n_batches : 1) * sizeof *best);
  if (!best) return 1;
  for (size_t i = 0; i < KINDS * n_batches; i++) best[i] = 1e30;
  /* One session per kind for the whole run, and a first round untimed: a session's first run
   * plans and allocates its buffers (page faults that vary with the machine's memory state). The
   * calibrators see the data rounds + 1 times, which changes nothing about the work per value. */
  kind kinds[KINDS] = {{0}};
  for (int k = 0; k < KINDS; k++)
    if (make_kind(m, k, names, n_names, &kinds[k])) return 1;
  for (int r = -1; r < rounds; r++) {
    for (size_t b = 0; b < n_batches; b++) {
      uint64_t first = b * step, last = first + step < n ? first + step : n;
      for (int j = 0; j < KINDS; j++) {
        int k = (int)((r + b + (size_t)j) % KINDS);
        double t0 = now();
        if (check(octet_calibrate(kinds[k].cal, kinds[k].s, m, &ds, first, last, step, NULL, NULL, &err), &err))
          return 1;
        double t = now() - t0;
        if (r >= 0 && t < best[k * n_batches + b]) best[k * n_batches + b] = t;
      }
    }
  }
  double t[KINDS] = {0};
  for (int k = 0; k < KINDS; k++)
    for (size_t b = 0; b < n_batches; b++) t[k] += best[k * n_batches + b];
  free(best);
  double t_plain = t[PLAIN], t_noop = t[NOOP], t_all = t[ALL], t_list = t[LIST];
  octet_calibrator *all = kinds[ALL].cal, *list = kinds[LIST].cal;
  printf("%s: %llu samples, best of %d, CPU seconds\n", argv[1], (unsigned long long)n, rounds);
  printf("  float inference              %8.3f s\n", t_plain);
  printf("  an observer doing nothing    %8.3f s  ratio %.3f (+%.1f %%)\n", t_noop, t_noop / t_plain,
         100.0 * (t_noop / t_plain - 1.0));
  printf("  observing every tensor       %8.3f s  ratio %.3f (+%.1f %%)\n", t_all, t_all / t_plain,
         100.0 * (t_all / t_plain - 1.0));
  printf("  observing the quantizer's %4zu %8.3f s  ratio %.3f (+%.1f %%)\n", n_names, t_list,
         t_list / t_plain, 100.0 * (t_list / t_plain - 1.0));
  static const char *const methods[] = {"minmax", "percentile", "entropy", "mse"};
  const char *names_of[2] = {"every tensor", "quantizer's"};
  octet_calibrator *cals[2] = {all, list};
  double observe[2] = {t_all - t_plain, t_list - t_plain};
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 4; k++) {
      octet_calibration_choice ch = {.methods = methods[k]};
      double best = 1e30;
      for (int r = 0; r < rounds; r++) {
        double t0 = now();
        if (check(octet_calibrator_write_table(cals[c], &ch, "/tmp/octet-calib-bench-table.json", &err), &err))
          return 1;
        if (now() - t0 < best) best = now() - t0;
      }
      printf("  %-12s choose %-10s %7.3f s ratio %.3f; observe + choose: +%.1f %% of float inference\n",
             names_of[c], methods[k], best, best / t_plain, 100.0 * (observe[c] + best) / t_plain);
    }
  octet_observe_list_free(names);
  for (int k = 0; k < KINDS; k++) {
    octet_session_destroy(kinds[k].s);
    octet_calibrator_destroy(kinds[k].cal);
  }
  octet_dataset_destroy(ds);
  octet_model_destroy(m);
  return 0;
}
