/* fuzz-load.c — libFuzzer target for the loader: any bytes -> octet_model_load_buffer, and for
 * inputs that load, validation again and inspect (text and JSON) must succeed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "onnx_io/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  octet_model *m = NULL;
  octet_error err = {0};
  if (octet_model_load_buffer(data, size, NULL, &m, &err) != OCTET_OK) {
    if (!err.message[0]) abort(); /* every error carries a message */
    return 0;
  }
  if (octet_ir_validate(m, &err) != OCTET_OK) abort();
  for (int json = 0; json < 2; json++) {
    char *text = NULL;
    if (octet_model_inspect(m, json, &text, &err) != OCTET_OK) abort();
    octet_string_free(text);
  }
  octet_model_destroy(m);
  return 0;
}
