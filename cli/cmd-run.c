/* cmd-run.c — `octet run`: load a model, bind inputs from .npy/.pb files, run it (repeatedly,
 * for timing), print a summary per output and optionally write the outputs. Public API only. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"

#define MAX_NAMED 256

static void run_usage(FILE *f) {
  fprintf(f,
          "usage: octet run MODEL [--input NAME=FILE]... [--inputs DIR] [--output-dir DIR] [--pb]\n"
          "                 [--repeat N] [--threads N] [--plugin PATH] [--profile]\n"
          "  --input NAME=FILE  value of graph input NAME (.npy or TensorProto .pb)\n"
          "  --inputs DIR       ONNX test-data layout: DIR/input_0.pb, input_1.pb, ... in input order\n"
          "  --output-dir DIR   write DIR/output_<i>.npy (or .pb with --pb) for each output\n"
          "  --repeat N         run N times and report the median time (default 1)\n"
          "  --threads N        worker threads (default: all cores)\n"
          "  --plugin PATH      kernel module (default: $OCTET_PLUGIN, then next to octet)\n"
          "  --profile          per-node timings of the last run\n");
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static bool parse_count(const char *s, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return false;
  *out = v;
  return true;
}

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t numel_of(const octet_tensor *t) {
  size_t n = 1;
  for (int32_t i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

static bool element_as_double(const octet_tensor *t, size_t i, double *v) {
  const void *d = t->data;
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT: *v = ((const float *)d)[i]; return true;
  case OCTET_DTYPE_DOUBLE: *v = ((const double *)d)[i]; return true;
  case OCTET_DTYPE_UINT8:
  case OCTET_DTYPE_BOOL: *v = ((const uint8_t *)d)[i]; return true;
  case OCTET_DTYPE_INT8: *v = ((const int8_t *)d)[i]; return true;
  case OCTET_DTYPE_UINT16: *v = ((const uint16_t *)d)[i]; return true;
  case OCTET_DTYPE_INT16: *v = ((const int16_t *)d)[i]; return true;
  case OCTET_DTYPE_INT32: *v = ((const int32_t *)d)[i]; return true;
  case OCTET_DTYPE_UINT32: *v = ((const uint32_t *)d)[i]; return true;
  case OCTET_DTYPE_INT64: *v = (double)((const int64_t *)d)[i]; return true;
  case OCTET_DTYPE_UINT64: *v = (double)((const uint64_t *)d)[i]; return true;
  default: return false;
  }
}

static void print_summary(const char *name, const octet_tensor *t) {
  printf("%s: %s[", name, octet_dtype_name(t->dtype));
  for (int32_t i = 0; i < t->rank; i++) printf("%s%lld", i ? "," : "", (long long)t->dims[i]);
  printf("]");
  size_t n = numel_of(t);
  double mn = INFINITY, mx = -INFINITY, sum = 0, v;
  size_t nan = 0;
  bool numeric = true;
  for (size_t i = 0; i < n && numeric; i++) {
    numeric = element_as_double(t, i, &v);
    if (!numeric) break;
    if (isnan(v)) {
      nan++;
      continue;
    }
    if (v < mn) mn = v;
    if (v > mx) mx = v;
    sum += v;
  }
  if (numeric && n > nan)
    printf(" min=%.6g max=%.6g mean=%.6g", mn, mx, sum / (double)(n - nan));
  if (nan) printf(" nan=%zu", nan);
  printf("\n");
}

static void print_profile(const octet_session *s) {
  const octet_profile_entry *e;
  size_t n = octet_session_profile(s, &e);
  /* Nodes inside If/Loop/Scan follow their node and are part of its time, so no total here. */
  printf("profile (last run, %zu nodes executed; subgraph nodes follow their If/Loop/Scan):\n", n);
  for (size_t i = 0; i < n; i++)
    printf("  %9.3f ms  %-20s %-28s %s\n", e[i].seconds * 1e3, e[i].op_type, e[i].kernel,
           e[i].node_name);
}

int octet_cmd_run(int argc, char **argv) {
  const char *model_path = NULL, *inputs_dir = NULL, *output_dir = NULL, *plugin = NULL;
  const char *named[MAX_NAMED];
  size_t n_named = 0;
  long repeat = 1, threads = 0;
  bool pb = false, profile = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    const char *eq = strchr(a, '=');
    char opt[64];
    if (!strncmp(a, "--", 2) && eq && (size_t)(eq - a) < sizeof opt) {
      memcpy(opt, a, (size_t)(eq - a));
      opt[eq - a] = 0;
      val = eq + 1;
      a = opt;
    }
#define NEED_VALUE()                                                               \
  do {                                                                             \
    if (!val) {                                                                    \
      if (i + 1 >= argc) {                                                         \
        fprintf(stderr, "octet run: %s needs a value\n", a);                       \
        return 2;                                                                  \
      }                                                                            \
      val = argv[++i];                                                             \
    }                                                                              \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      run_usage(stdout);
      return 0;
    } else if (!strcmp(a, "--input")) {
      NEED_VALUE();
      if (!strchr(val, '=')) {
        fprintf(stderr, "octet run: --input wants NAME=FILE, got '%s'\n", val);
        return 2;
      }
      if (n_named == MAX_NAMED) {
        fprintf(stderr, "octet run: too many --input options\n");
        return 2;
      }
      named[n_named++] = val;
    } else if (!strcmp(a, "--inputs")) {
      NEED_VALUE();
      inputs_dir = val;
    } else if (!strcmp(a, "--output-dir")) {
      NEED_VALUE();
      output_dir = val;
    } else if (!strcmp(a, "--plugin")) {
      NEED_VALUE();
      plugin = val;
    } else if (!strcmp(a, "--repeat")) {
      NEED_VALUE();
      if (!parse_count(val, 1, 1000000, &repeat)) {
        fprintf(stderr, "octet run: --repeat wants a count >= 1, got '%s'\n", val);
        return 2;
      }
    } else if (!strcmp(a, "--threads")) {
      NEED_VALUE();
      if (!parse_count(val, 0, 1024, &threads)) {
        fprintf(stderr, "octet run: --threads wants a count in [0, 1024], got '%s'\n", val);
        return 2;
      }
    } else if (!strcmp(a, "--pb") && !val) {
      pb = true;
    } else if (!strcmp(a, "--profile") && !val) {
      profile = true;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "octet run: unknown option '%s'\n", argv[i]);
      run_usage(stderr);
      return 2;
    } else if (!model_path) {
      model_path = a;
    } else {
      fprintf(stderr, "octet run: unexpected argument '%s' (one model only)\n", a);
      return 2;
    }
#undef NEED_VALUE
  }
  if (!model_path) {
    fprintf(stderr, "octet run: no model given\n");
    run_usage(stderr);
    return 2;
  }

  int rc = 1;
  octet_error err = {0};
  octet_model *model = NULL;
  octet_session *session = NULL;
  octet_tensor *inputs = NULL, *outputs = NULL;
  bool *given = NULL;
  double *times = NULL;
  size_t n_in = 0, n_out = 0;
  if (octet_model_load(model_path, NULL, &model, &err)) {
    fprintf(stderr, "octet run: %s: %s\n", model_path, err.message);
    goto done;
  }
  octet_session_options opts = {.n_threads = (uint32_t)threads, .plugin_path = plugin, .profile = profile};
  if (octet_session_create(model, &opts, &session, &err)) {
    fprintf(stderr, "octet run: %s: %s\n", model_path, err.message);
    goto done;
  }
  n_in = octet_session_input_count(session);
  n_out = octet_session_output_count(session);
  inputs = calloc(n_in ? n_in : 1, sizeof *inputs);
  outputs = calloc(n_out ? n_out : 1, sizeof *outputs);
  given = calloc(n_in ? n_in : 1, sizeof *given);
  times = calloc((size_t)repeat, sizeof *times);
  if (!inputs || !outputs || !given || !times) {
    fprintf(stderr, "octet run: out of memory\n");
    goto done;
  }
  for (size_t k = 0; k < n_named; k++) {
    const char *eq = strchr(named[k], '=');
    size_t len = (size_t)(eq - named[k]);
    size_t i = 0;
    while (i < n_in && (strlen(octet_session_input_name(session, i)) != len ||
                        strncmp(octet_session_input_name(session, i), named[k], len)))
      i++;
    if (i == n_in) {
      fprintf(stderr, "octet run: the model has no input '%.*s'; its inputs are:", (int)len, named[k]);
      for (size_t j = 0; j < n_in; j++) fprintf(stderr, " %s", octet_session_input_name(session, j));
      fprintf(stderr, "\n");
      goto done;
    }
    if (given[i]) {
      fprintf(stderr, "octet run: input '%s' is given twice\n", octet_session_input_name(session, i));
      goto done;
    }
    if (octet_tensor_load(eq + 1, &inputs[i], NULL, &err)) {
      fprintf(stderr, "octet run: input '%s': %s\n", octet_session_input_name(session, i), err.message);
      goto done;
    }
    given[i] = true;
  }
  if (inputs_dir) {
    char path[4096];
    for (size_t i = 0;; i++) {
      const char *found = NULL;
      snprintf(path, sizeof path, "%s/input_%zu.pb", inputs_dir, i);
      if (file_exists(path)) found = path;
      if (!found) {
        snprintf(path, sizeof path, "%s/input_%zu.npy", inputs_dir, i);
        if (file_exists(path)) found = path;
      }
      if (!found) break;
      if (i >= n_in) {
        fprintf(stderr, "octet run: %s: extra input: the model takes %zu inputs\n", found, n_in);
        goto done;
      }
      if (given[i]) continue; /* --input overrides the folder */
      if (octet_tensor_load(found, &inputs[i], NULL, &err)) {
        fprintf(stderr, "octet run: input '%s' (%s): %s\n", octet_session_input_name(session, i),
                found, err.message);
        goto done;
      }
      given[i] = true;
    }
  }
  for (size_t i = 0; i < n_in; i++) {
    if (!given[i]) {
      fprintf(stderr, "octet run: missing input '%s' (input %zu); give it with --input %s=FILE or --inputs DIR\n",
              octet_session_input_name(session, i), i, octet_session_input_name(session, i));
      goto done;
    }
  }
  for (long r = 0; r < repeat; r++) {
    double t0 = now_seconds();
    if (octet_session_run(session, inputs, n_in, outputs, n_out, &err)) {
      fprintf(stderr, "octet run: %s: %s\n", model_path, err.message);
      goto done;
    }
    times[r] = now_seconds() - t0;
  }
  for (size_t i = 0; i < n_out; i++) print_summary(octet_session_output_name(session, i), &outputs[i]);
  qsort(times, (size_t)repeat, sizeof *times, cmp_double);
  double median = repeat % 2 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
  printf("time: median %.3f ms over %ld run%s\n", median * 1e3, repeat, repeat == 1 ? "" : "s");
  if (profile) print_profile(session);
  if (output_dir) {
    if (mkdir(output_dir, 0777) && errno != EEXIST) {
      fprintf(stderr, "octet run: cannot create '%s': %s\n", output_dir, strerror(errno));
      goto done;
    }
    char path[4096];
    for (size_t i = 0; i < n_out; i++) {
      snprintf(path, sizeof path, "%s/output_%zu.%s", output_dir, i, pb ? "pb" : "npy");
      if (octet_tensor_save(path, &outputs[i], octet_session_output_name(session, i), &err)) {
        fprintf(stderr, "octet run: %s: %s\n", path, err.message);
        goto done;
      }
    }
  }
  rc = 0;
done:
  for (size_t i = 0; inputs && i < n_in; i++) octet_tensor_free(&inputs[i]);
  free(inputs);
  free(outputs);
  free(given);
  free(times);
  octet_session_destroy(session);
  octet_model_destroy(model);
  return rc;
}
