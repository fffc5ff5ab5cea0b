/* bench-ort-plugin.c — ONNX Runtime 1.30 with octet's custom ops (ai.octet models, octet's module
 * registered) against ORT's own int8 kernels on the same QOperator model, and octet's own runtime
 * for reference, taking turns run by run (the machine is shared: compare ratios, not absolutes).
 *
 * usage: bench-ort-plugin [MODELS_DIR [SECONDS_PER_CASE]]
 * MODELS_DIR holds NAME.{qop,octet}.onnx + NAME.x.npy (make-bench-models.py; made in the build
 * tree when absent). $ORT_LIB picks the ORT library, $OCTET_PLUGIN octet's module. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ort-host.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef struct ort_case {
  ort_host *h;
  OrtSession *s;
  const octet_tensor *x;
} ort_case;

static int run_ort(ort_case *c) {
  octet_tensor y;
  OrtStatus *st = ort_host_run(c->h, c->s, c->x, &y);
  if (st) {
    fprintf(stderr, "ORT: %s\n", c->h->api->GetErrorMessage(st));
    c->h->api->ReleaseStatus(st);
    return 1;
  }
  free(y.data);
  return 0;
}

static int run_octet(octet_session *s, const octet_tensor *x) {
  octet_tensor y;
  octet_error err;
  if (octet_session_run(s, x, 1, &y, 1, &err)) {
    fprintf(stderr, "octet: %s\n", err.message);
    return 1;
  }
  return 0;
}

/* The adapter's promise: ORT with octet's kernels computes exactly what octet's runtime does.
 * Returns 1 when the outputs are byte-identical, 0 when not, -1 on an error. */
static int same_outputs(ort_host *h, OrtSession *mine, octet_session *os, const octet_tensor *x) {
  octet_tensor ya, yb;
  octet_error err;
  OrtStatus *st = ort_host_run(h, mine, x, &ya);
  if (st) {
    fprintf(stderr, "ORT: %s\n", h->api->GetErrorMessage(st));
    h->api->ReleaseStatus(st);
    return -1;
  }
  if (octet_session_run(os, x, 1, &yb, 1, &err)) {
    fprintf(stderr, "octet: %s\n", err.message);
    free(ya.data);
    return -1;
  }
  int same = ya.dtype == yb.dtype && ya.rank == yb.rank &&
             !memcmp(ya.dims, yb.dims, (size_t)ya.rank * sizeof ya.dims[0]) &&
             !memcmp(ya.data, yb.data, ort_host_nbytes(&ya));
  free(ya.data);
  return same;
}

static OrtSession *ort_session(ort_host *h, const char *model, const char *plugin, int threads) {
  OrtSession *s = NULL;
  OrtStatus *st = ort_host_session(h, model, plugin, threads, &s);
  if (st) {
    fprintf(stderr, "%s: %s\n", model, h->api->GetErrorMessage(st));
    h->api->ReleaseStatus(st);
  }
  return s;
}

/* The three ways run in turns (one run each per round, after a warm-up round), so load changes
 * on the shared machine hit all of them alike; medians of at least 5 rounds within `budget`. */
static int bench_case(ort_host *h, const char *qop, const char *oct, const char *plugin,
                      int threads, const octet_tensor *x, double budget, double ms[3], int *same) {
  static double t[3][1000];
  ort_case own = {h, ort_session(h, qop, NULL, threads), x};
  ort_case mine = {h, ort_session(h, oct, plugin, threads), x};
  octet_model *m = NULL;
  octet_session *os = NULL;
  octet_error err;
  octet_session_options opt = {.n_threads = (uint32_t)threads};
  int rc = 1;
  if (!own.s || !mine.s) goto done;
  if (octet_model_load(qop, NULL, &m, &err) || octet_session_create(m, &opt, &os, &err)) {
    fprintf(stderr, "octet on %s: %s\n", qop, err.message);
    goto done;
  }
  if (run_ort(&own) || run_ort(&mine) || run_octet(os, x)) goto done;
  if ((*same = same_outputs(h, mine.s, os, x)) < 0) goto done;
  size_t n = 0;
  double start = now();
  while (n < 1000 && (n < 5 || now() - start < budget)) {
    double t0 = now();
    if (run_ort(&own)) goto done;
    double t1 = now();
    if (run_ort(&mine)) goto done;
    double t2 = now();
    if (run_octet(os, x)) goto done;
    double t3 = now();
    t[0][n] = (t1 - t0) * 1e3, t[1][n] = (t2 - t1) * 1e3, t[2][n] = (t3 - t2) * 1e3;
    n++;
  }
  for (int k = 0; k < 3; k++) {
    qsort(t[k], n, sizeof(double), cmp_double);
    ms[k] = t[k][n / 2];
  }
  rc = 0;
done:
  if (own.s) h->api->ReleaseSession(own.s);
  if (mine.s) h->api->ReleaseSession(mine.s);
  octet_session_destroy(os);
  octet_model_destroy(m);
  return rc;
}

int main(int argc, char **argv) {
  char dir[1024];
  double budget = argc > 2 ? atof(argv[2]) : 3.0;
  if (argc > 1) {
    snprintf(dir, sizeof dir, "%s", argv[1]);
  } else {
    snprintf(dir, sizeof dir, "%s", OCTET_BENCH_MODELS);
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/resnet18.octet.onnx", dir);
    if (access(probe, F_OK) != 0) {
      char cmd[4096];
      snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/bench/ort-plugin/make-bench-models.py' '%s' '%s' '%s'",
               OCTET_SOURCE_DIR, dir, OCTET_CLI, OCTET_SOURCE_DIR "/../shared/models");
      fprintf(stderr, "making models: %s\n", cmd);
      if (system(cmd) != 0) return 1;
    }
  }
  const char *plugin = getenv("OCTET_PLUGIN");
  if (!plugin) plugin = OCTET_PLUGIN_PATH;
  ort_host h;
  char msg[1200];
  if (ort_host_open(&h, ort_host_default_path(), msg, sizeof msg)) {
    fprintf(stderr, "%s\n", msg);
    return 1;
  }
  printf("ONNX Runtime %s; octet %s; median ms per run\n", h.base->GetVersionString(), octet_version());
  printf("%-12s %7s %14s %14s %14s %10s  %s\n", "model", "threads", "ORT int8", "ORT+octet", "octet", "ORT/ORT+o",
         "ORT+octet output vs octet");
  const char *names[] = {"fmnist_cnn", "resnet18"};
  for (size_t i = 0; i < 2; i++) {
    char qop[1200], oct[1200], xp[1200];
    snprintf(qop, sizeof qop, "%s/%s.qop.onnx", dir, names[i]);
    snprintf(oct, sizeof oct, "%s/%s.octet.onnx", dir, names[i]);
    snprintf(xp, sizeof xp, "%s/%s.x.npy", dir, names[i]);
    octet_tensor x;
    octet_error err;
    if (octet_tensor_load(xp, &x, NULL, &err)) {
      fprintf(stderr, "%s: %s\n", xp, err.message);
      return 1;
    }
    for (int threads = 1; threads <= 2; threads++) {
      double ms[3];
      int same = 0;
      if (bench_case(&h, qop, oct, plugin, threads, &x, budget, ms, &same)) return 1;
      printf("%-12s %7d %14.3f %14.3f %14.3f %9.2fx  %s\n", names[i], threads, ms[0], ms[1], ms[2],
             ms[0] / ms[1], same ? "identical" : "DIFFERS");
      fflush(stdout);
    }
    octet_tensor_free(&x);
  }
  ort_host_close(&h);
  return 0;
}
