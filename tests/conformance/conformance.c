/* conformance.c — octet-conformance: runs ONNX's node tests (model.onnx + test_data_set_*)
 * through the public API and compares with the expected outputs as ONNX's own runner does
 * (float: |a-b| <= atol + rtol*|b|, rtol 1e-3, atol 1e-7; integers and bool exact; NaN matches
 * NaN). Each test runs in a child process, so a crashing or hanging kernel fails one test and
 * never the runner. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "octet/octet.h"
#include "onnx_io/ir.h" /* struct fields only: declared types of graph inputs/outputs */

#define DEFAULT_DATA "/usr/share/libonnx-testdata/data/node"
#define RTOL 1e-3
#define ATOL 1e-7

static const char *plugin_path;
static unsigned timeout_seconds = 60;

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static size_t numel_of(const octet_tensor *t) {
  size_t n = 1;
  for (int32_t i = 0; i < t->rank; i++) n *= (size_t)t->dims[i];
  return n;
}

static double half_to_double(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return s ? -v : v;
}

static double bf16_to_double(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static bool float_value(const octet_tensor *t, size_t i, double *v) {
  switch (t->dtype) {
  case OCTET_DTYPE_FLOAT: *v = ((const float *)t->data)[i]; return true;
  case OCTET_DTYPE_DOUBLE: *v = ((const double *)t->data)[i]; return true;
  case OCTET_DTYPE_FLOAT16: *v = half_to_double(((const uint16_t *)t->data)[i]); return true;
  case OCTET_DTYPE_BFLOAT16: *v = bf16_to_double(((const uint16_t *)t->data)[i]); return true;
  default: return false;
  }
}

static void shape_text(const octet_tensor *t, char *out, size_t size) {
  size_t len = (size_t)snprintf(out, size, "%s[", octet_dtype_name(t->dtype));
  for (int32_t i = 0; i < t->rank && len < size; i++)
    len += (size_t)snprintf(out + len, size - len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (len < size) snprintf(out + len, size - len, "]");
}

/* Empty string when equal within tolerance, else what differs. */
static void compare(const octet_tensor *got, const octet_tensor *want, char *why, size_t size) {
  why[0] = 0;
  char g[128], w[128];
  shape_text(got, g, sizeof g);
  shape_text(want, w, sizeof w);
  if (got->dtype != want->dtype || got->rank != want->rank ||
      memcmp(got->dims, want->dims, (size_t)want->rank * sizeof want->dims[0])) {
    snprintf(why, size, "got %s, expected %s", g, w);
    return;
  }
  size_t n = numel_of(want);
  double a, b;
  bool is_float = want->dtype == OCTET_DTYPE_FLOAT || want->dtype == OCTET_DTYPE_DOUBLE ||
                  want->dtype == OCTET_DTYPE_FLOAT16 || want->dtype == OCTET_DTYPE_BFLOAT16;
  if (is_float) {
    size_t bad = 0, first = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
      float_value(got, i, &a);
      float_value(want, i, &b);
      bool ok;
      if (isnan(b) || isnan(a)) ok = isnan(a) && isnan(b);
      else if (isinf(b) || isinf(a)) ok = a == b;
      else ok = fabs(a - b) <= ATOL + RTOL * fabs(b);
      if (!ok) {
        if (!bad) first = i;
        bad++;
        double d = fabs(a - b);
        if (d > worst || isnan(d)) worst = d;
      }
    }
    if (bad) {
      float_value(got, first, &a);
      float_value(want, first, &b);
      snprintf(why, size, "%zu of %zu values differ (first at %zu: got %.9g, expected %.9g; max abs diff %.3g)",
               bad, n, first, a, b, worst);
    }
    return;
  }
  if (want->dtype == OCTET_DTYPE_STRING) {
    snprintf(why, size, "string outputs are not compared");
    return;
  }
  size_t es = 0;
  switch (want->dtype) {
  case OCTET_DTYPE_BOOL:
  case OCTET_DTYPE_INT8:
  case OCTET_DTYPE_UINT8: es = 1; break;
  case OCTET_DTYPE_INT16:
  case OCTET_DTYPE_UINT16: es = 2; break;
  case OCTET_DTYPE_INT32:
  case OCTET_DTYPE_UINT32: es = 4; break;
  case OCTET_DTYPE_INT64:
  case OCTET_DTYPE_UINT64:
  case OCTET_DTYPE_COMPLEX64: es = 8; break;
  case OCTET_DTYPE_COMPLEX128: es = 16; break;
  default: snprintf(why, size, "cannot compare dtype %s", octet_dtype_name(want->dtype)); return;
  }
  for (size_t i = 0; i < n; i++) {
    const unsigned char *x = (const unsigned char *)got->data + i * es;
    const unsigned char *y = (const unsigned char *)want->data + i * es;
    if (want->dtype == OCTET_DTYPE_BOOL ? (!*x != !*y) : memcmp(x, y, es) != 0) {
      long long gv = 0, wv = 0;
      if (es <= 8) {
        memcpy(&gv, x, es);
        memcpy(&wv, y, es);
      }
      snprintf(why, size, "value %zu differs: got %lld, expected %lld (exact match required)", i, gv, wv);
      return;
    }
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of the subfolders of dir starting with prefix (NULL: all). */
static char **list_dirs(const char *dir, const char *prefix, size_t *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof *names);
  struct dirent *e;
  while (names && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (prefix && strncmp(e->d_name, prefix, strlen(prefix))) continue;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) continue;
    if (n == cap) {
      cap *= 2;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) break;
      names = nn;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, n, sizeof *names, cmp_str);
  *count = n;
  return names;
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* numpy has no bfloat16, so ONNX's generator stored bfloat16 test data as uint16 bytes; give
 * such a tensor the type the graph declares for it (same bytes). */
static void bf16_from_uint16(const octet_ir_value *vals, size_t n, const char *name, octet_tensor *t) {
  if (t->dtype != OCTET_DTYPE_UINT16 || !name) return;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(vals[i].name, name) && vals[i].elem_type == OCTET_DTYPE_BFLOAT16) t->dtype = OCTET_DTYPE_BFLOAT16;
}

/* Runs one test folder; 0 on pass, else writes the reason. */
static int run_one(const char *dir, char *why, size_t size) {
  char path[4096];
  octet_error err = {0};
  octet_model *model = NULL;
  octet_session *session = NULL;
  int rc = 1;
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  if (octet_model_load(path, NULL, &model, &err)) {
    snprintf(why, size, "load: %s", err.message);
    return 1;
  }
  octet_session_options opts = {.n_threads = 1, .plugin_path = plugin_path};
  if (octet_session_create(model, &opts, &session, &err)) {
    snprintf(why, size, "create: %s", err.message);
    octet_model_destroy(model);
    return 1;
  }
  size_t n_in = octet_session_input_count(session), n_out = octet_session_output_count(session);
  size_t n_sets;
  char **sets = list_dirs(dir, "test_data_set_", &n_sets);
  octet_tensor *in = calloc(n_in + 1, sizeof *in);
  octet_tensor *out = calloc(n_out + 1, sizeof *out);
  if (!sets || !n_sets || !in || !out) {
    snprintf(why, size, "no test_data_set_* folders");
    goto done;
  }
  for (size_t s = 0; s < n_sets; s++) {
    size_t loaded = 0;
    for (;; loaded++) {
      snprintf(path, sizeof path, "%s/%s/input_%zu.pb", dir, sets[s], loaded);
      if (!file_exists(path)) break;
      if (loaded >= n_in) {
        snprintf(why, size, "%s: %zu inputs in the data, the session takes %zu", sets[s], loaded + 1, n_in);
        goto free_inputs;
      }
      if (octet_tensor_load(path, &in[loaded], NULL, &err)) {
        snprintf(why, size, "%s: %s", path, err.message);
        goto free_inputs;
      }
      bf16_from_uint16(model->graph->inputs, model->graph->n_inputs,
                       octet_session_input_name(session, loaded), &in[loaded]);
    }
    if (octet_session_run(session, in, loaded, out, n_out, &err)) {
      snprintf(why, size, "%s: run: %s", sets[s], err.message);
      goto free_inputs;
    }
    for (size_t j = 0; j < n_out; j++) {
      snprintf(path, sizeof path, "%s/%s/output_%zu.pb", dir, sets[s], j);
      octet_tensor want = {0};
      if (octet_tensor_load(path, &want, NULL, &err)) {
        snprintf(why, size, "%s: %s", path, err.message);
        goto free_inputs;
      }
      bf16_from_uint16(model->graph->outputs, model->graph->n_outputs,
                       octet_session_output_name(session, j), &want);
      char diff[400];
      compare(&out[j], &want, diff, sizeof diff);
      octet_tensor_free(&want);
      if (diff[0]) {
        snprintf(why, size, "%s output %zu '%s': %s", sets[s], j, octet_session_output_name(session, j), diff);
        goto free_inputs;
      }
    }
    for (size_t i = 0; i < loaded; i++) octet_tensor_free(&in[i]);
    continue;
  free_inputs:
    for (size_t i = 0; i < loaded; i++) octet_tensor_free(&in[i]);
    goto done;
  }
  rc = 0;
done:
  free(in);
  free(out);
  if (sets) free_list(sets, n_sets);
  octet_session_destroy(session);
  octet_model_destroy(model);
  return rc;
}

/* Runs a test in a child process: crashes and hangs become failures with a reason. */
static bool run_isolated(const char *data, const char *name, char *why, size_t size) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", data, name);
  int fds[2];
  if (pipe(fds)) {
    snprintf(why, size, "pipe: %s", strerror(errno));
    return false;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, size, "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(timeout_seconds);
    char msg[1024] = "";
    int rc = run_one(dir, msg, sizeof msg);
    size_t len = strlen(msg);
    ssize_t w = write(fds[1], msg, len);
    (void)w;
    close(fds[1]);
    _exit(rc ? 1 : 0);
  }
  close(fds[1]);
  char msg[1024];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof msg - 1 && (r = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0) len += (size_t)r;
  msg[len] = 0;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    if (sig == SIGALRM) snprintf(why, size, "timed out after %u s", timeout_seconds);
    else snprintf(why, size, "crashed (signal %d, %s)", sig, strsignal(sig));
    return false;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  snprintf(why, size, "%s", len ? msg : "failed without a message");
  return false;
}

static char **read_allowlist(const char *path, size_t *count) {
  *count = 0;
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof *names);
  char line[1024];
  while (names && fgets(line, sizeof line, f)) {
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *s = line;
    while (*s == ' ' || *s == '\t') s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    if (!*s) continue;
    if (n == cap) {
      cap *= 2;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) break;
      names = nn;
    }
    names[n++] = strdup(s);
  }
  fclose(f);
  *count = n;
  return names;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: octet-conformance [--data DIR] [--plugin PATH] [--timeout S] [--quiet]\n"
          "                         (--all | --allowlist FILE | TEST...)\n"
          "  --all             run every test under DIR (default " DEFAULT_DATA ")\n"
          "  --allowlist FILE  run the listed tests (one per line, # comments); exit 1 if any fails\n"
          "  --quiet           print only failures and the total\n");
}

int main(int argc, char **argv) {
  const char *data = DEFAULT_DATA, *allowlist = NULL;
  bool all = false, quiet = false;
  char **names = NULL;
  size_t n_names = 0;
  char **given = calloc((size_t)argc + 1, sizeof *given);
  size_t n_given = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--all")) all = true;
    else if (!strcmp(argv[i], "--quiet")) quiet = true;
    else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
    else if (!strcmp(argv[i], "--plugin") && i + 1 < argc) plugin_path = argv[++i];
    else if (!strcmp(argv[i], "--allowlist") && i + 1 < argc) allowlist = argv[++i];
    else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_seconds = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-') {
      usage(stderr);
      return 2;
    } else given[n_given++] = argv[i];
  }
  if ((all ? 1 : 0) + (allowlist ? 1 : 0) + (n_given ? 1 : 0) != 1) {
    usage(stderr);
    return 2;
  }
  if (all) {
    names = list_dirs(data, "test_", &n_names);
    if (!names || !n_names) {
      fprintf(stderr, "octet-conformance: no tests under %s\n", data);
      return 1;
    }
  } else if (allowlist) {
    names = read_allowlist(allowlist, &n_names);
    if (!names) {
      fprintf(stderr, "octet-conformance: cannot read %s: %s\n", allowlist, strerror(errno));
      return 1;
    }
  } else {
    names = malloc(n_given * sizeof *names);
    for (size_t i = 0; i < n_given; i++) names[i] = strdup(given[i]);
    n_names = n_given;
  }
  free(given);
  size_t passed = 0;
  for (size_t i = 0; i < n_names; i++) {
    char why[1200];
    if (run_isolated(data, names[i], why, sizeof why)) {
      passed++;
      if (!quiet) printf("PASS %s\n", names[i]);
    } else {
      printf("FAIL %s: %s\n", names[i], why);
    }
  }
  printf("passed %zu of %zu\n", passed, n_names);
  free_list(names, n_names);
  return passed == n_names ? 0 : 1;
}
