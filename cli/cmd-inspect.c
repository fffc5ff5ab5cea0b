/* cmd-inspect.c — `octet inspect MODEL [--json]`: prints what octet_model_inspect says.
 * Exit 0 ok, 1 the model could not be read, 2 usage (unknown option, missing or absent file). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

static void inspect_usage(FILE *f) {
  fprintf(f, "usage: octet inspect MODEL [--json]\n"
             "  describe a model: IR version, opsets, inputs/outputs, op histogram,\n"
             "  parameters by dtype, quantization form, external-data files\n"
             "  --json   machine-readable output\n");
}

int octet_cmd_inspect(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      inspect_usage(stdout);
      return 0;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "octet inspect: unknown option '%s'\n", a);
      inspect_usage(stderr);
      return 2;
    } else if (path) {
      fprintf(stderr, "octet inspect: one model at a time ('%s' and '%s')\n", path, a);
      return 2;
    } else {
      path = a;
    }
  }
  if (!path) {
    fprintf(stderr, "octet inspect: missing MODEL argument\n");
    inspect_usage(stderr);
    return 2;
  }
  struct stat sb;
  if (stat(path, &sb) != 0) {
    fprintf(stderr, "octet inspect: no such file: '%s'\n", path);
    return 2;
  }
  octet_model *model = NULL;
  octet_error err = {0};
  if (octet_model_load(path, NULL, &model, &err) != OCTET_OK) {
    fprintf(stderr, "octet inspect: %s\n", err.message);
    return 1;
  }
  char *text = NULL;
  octet_status st = octet_model_inspect(model, json, &text, &err);
  octet_model_destroy(model);
  if (st != OCTET_OK) {
    fprintf(stderr, "octet inspect: %s\n", err.message);
    return 1;
  }
  fputs(text, stdout);
  octet_string_free(text);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "octet inspect: cannot write the output\n");
    return 1;
  }
  return 0;
}
