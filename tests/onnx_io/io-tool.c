/* io-tool.c — a small driver the script tests use: re-save a model through octet's IR, or dump
 * a tensor file as raw bytes plus a JSON description (so Node.js can feed it to ONNX Runtime). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_io/ir.h"

int main(int argc, char **argv) {
  octet_error err = {0};
  if (argc == 5 && !strcmp(argv[1], "resave")) {
    octet_model *m = NULL;
    octet_save_options so = {strtoull(argv[4], NULL, 10), NULL};
    if (octet_model_load(argv[2], NULL, &m, &err) || octet_model_save(m, argv[3], &so, &err)) {
      fprintf(stderr, "io-tool: %s\n", err.message);
      octet_model_destroy(m);
      return 1;
    }
    octet_model_destroy(m);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "tensor")) {
    octet_tensor t = {0};
    char *name = NULL;
    if (octet_tensor_load(argv[2], &t, &name, &err)) {
      fprintf(stderr, "io-tool: %s\n", err.message);
      return 1;
    }
    FILE *f = fopen(argv[3], "wb");
    size_t n = octet_tensor_nbytes(&t);
    if (!f || fwrite(t.data, 1, n, f) != n || fclose(f)) return 1;
    printf("{\"name\": \"%s\", \"dtype\": %d, \"dims\": [", name ? name : "", (int)t.dtype);
    for (int32_t i = 0; i < t.rank; i++) printf("%s%" PRId64, i ? ", " : "", t.dims[i]);
    printf("]}\n");
    octet_tensor_free(&t);
    octet_string_free(name);
    return 0;
  }
  fprintf(stderr, "usage: io-tool resave IN OUT THRESHOLD | io-tool tensor FILE RAW_OUT\n");
  return 2;
}
