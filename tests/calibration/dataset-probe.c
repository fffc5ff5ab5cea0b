/* dataset-probe.c — test helper: reads samples through octet_dataset and prints them as JSON.
 *   dataset-probe PATH MEMBER|- FIRST COUNT [HxW nchw|nhwc rgb|bgr] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "octet/octet.h"

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  octet_image_options img = {0};
  if (argc >= 8) {
    sscanf(argv[5], "%dx%d", &img.height, &img.width);
    img.nhwc = !strcmp(argv[6], "nhwc");
    img.bgr = !strcmp(argv[7], "bgr");
    img.scale = 1.0f; /* raw pixel values, easy to compare */
  }
  octet_dataset *ds;
  octet_error err = {0};
  if (octet_dataset_open(argv[1], strcmp(argv[2], "-") ? argv[2] : NULL, &img, &ds, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  octet_tensor t;
  if (octet_dataset_read(ds, strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
                         OCTET_DTYPE_FLOAT, &t, &err)) {
    fprintf(stderr, "%s\n", err.message);
    octet_dataset_destroy(ds);
    return 1;
  }
  printf("{\"count\": %llu, \"shape\": [", (unsigned long long)octet_dataset_count(ds));
  for (int i = 0; i < t.rank; i++) printf("%s%lld", i ? ", " : "", (long long)t.dims[i]);
  printf("], \"values\": [");
  size_t n = 1;
  for (int i = 0; i < t.rank; i++) n *= (size_t)t.dims[i];
  for (size_t i = 0; i < n; i++) printf("%s%.9g", i ? ", " : "", ((float *)t.data)[i]);
  printf("]}\n");
  octet_tensor_free(&t);
  octet_dataset_destroy(ds);
  return 0;
}
