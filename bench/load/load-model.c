/* load-model.c — times octet's loader (and optionally save + reload + compare) on one model.
 * usage: load-model MODEL [OUT THRESHOLD]   Prints wall times; run it under /usr/bin/time -v
 * for peak RSS (see run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "onnx_io/ir.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: load-model MODEL [OUT THRESHOLD]\n");
    return 2;
  }
  octet_error err = {0};
  octet_model *m = NULL, *b = NULL;
  double t0 = now();
  if (octet_model_load(argv[1], NULL, &m, &err)) {
    fprintf(stderr, "load-model: %s\n", err.message);
    return 1;
  }
  double t1 = now();
  size_t params = 0, bytes = 0;
  for (size_t i = 0; i < m->graph->n_initializers; i++) bytes += m->graph->initializers[i].nbytes, params++;
  printf("load: %.3f s (%zu initializers, %zu bytes)\n", t1 - t0, params, bytes);
  int rc = 0;
  if (argc == 4) {
    octet_save_options so = {strtoull(argv[3], NULL, 10), NULL};
    if (octet_model_save(m, argv[2], &so, &err)) {
      fprintf(stderr, "load-model: save: %s\n", err.message);
      rc = 1;
    } else {
      double t2 = now();
      if (octet_model_load(argv[2], NULL, &b, &err)) {
        fprintf(stderr, "load-model: reload: %s\n", err.message);
        rc = 1;
      } else {
        double t3 = now();
        char what[256];
        bool eq = octet_ir_model_equal(m, b, what, sizeof what);
        printf("save: %.3f s, reload: %.3f s, compare: %.3f s, equal: %s %s\n", t2 - t1, t3 - t2, now() - t3,
               eq ? "yes" : "NO", eq ? "" : what);
        rc = eq ? 0 : 1;
      }
    }
  }
  octet_model_destroy(b);
  octet_model_destroy(m);
  return rc;
}
