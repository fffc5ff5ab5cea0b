/* test-observe-list.c — calibrating only the tensors octet_observe_list names gives the same
 * quantized model, byte for byte, as calibrating every tensor, on the team's real models; and
 * the list leaves out what the quantizer never reads (a Conv output that a Relu/Clip replaces, the
 * steps of a hard-swish it fuses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "octet/octet.h"
#include "octet/octet.h"

static const char *shared_file(const char *name) {
  static char buf[8][1024];
  static int k;
  char *p = buf[k++ % 8];
  const char *root = getenv("OCTET_SOURCE_ROOT");
  snprintf(p, 1024, "%s/examples/%s", root ? root : ".", name);
  if (access(p, R_OK) == 0) return p;
  snprintf(p, 1024, "%s/../shared/models/%s", root ? root : ".", name);
  if (access(p, R_OK) == 0) return p;
  snprintf(p, 1024, "/work/shared/models/%s", name);
  if (access(p, R_OK) == 0) return p;
  snprintf(p, 1024, "%s/.deps/ocr-models/assets/%s", root ? root : ".", name);
  return access(p, R_OK) == 0 ? p : NULL;
}

static void ok(octet_status st, const octet_error *err, const char *what) {
  if (st) fail_msg("%s: %s", what, err->message);
}

static bool listed(const char **names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(names[i], name)) return true;
  return false;
}

/* Prepares, calibrates samples [0, samples) observing `names` (NULL: every tensor), quantizes
 * with the given method, and returns the saved model's bytes. */
static unsigned char *quantized_bytes(const char *model_path, const char *data_path, uint64_t samples,
                                      const char *method, bool per_tensor, bool use_list, size_t *size,
                                      size_t *observed) {
  octet_error err = {0};
  octet_model *m;
  octet_dataset *ds;
  octet_calibrator *cal;
  octet_session *s;
  ok(octet_model_load(model_path, NULL, &m, &err), &err, model_path);
  ok(octet_quantize_prepare(m, NULL, &err), &err, "prepare");
  ok(octet_dataset_open(data_path, NULL, NULL, &ds, &err), &err, data_path);
  const char **names = NULL;
  size_t n_names = 0;
  octet_observe_list_options lo = {.per_tensor_weights = per_tensor};
  if (use_list) ok(octet_observe_list(m, &lo, &names, &n_names, &err), &err, "observe list");
  ok(octet_calibrator_create(NULL, &cal, &err), &err, "calibrator");
  octet_session_options so = {.n_threads = 1, .observer = octet_calibrator_observer, .observer_ctx = cal,
                              .observe_names = names, .n_observe_names = n_names};
  ok(octet_session_create(m, &so, &s, &err), &err, "session");
  ok(octet_calibrate(cal, s, m, &ds, 0, samples, 0, NULL, NULL, &err), &err, "calibrate");
  octet_session_destroy(s);
  char table[256];
  snprintf(table, sizeof table, "/tmp/octet-observe-list-%d.json", (int)getpid());
  ok(octet_calibrator_write_table(cal, NULL, table, &err), &err, "table");
  FILE *tf = fopen(table, "rb");
  size_t tensors = 0;
  for (int c; tf && (c = fgetc(tf)) != EOF;) tensors += c == '{'; /* one object per tensor, plus a few */
  if (tf) fclose(tf);
  unlink(table);
  *observed = tensors;
  octet_quantize_options qo = {.method = method, .per_tensor_weights = per_tensor};
  ok(octet_quantize_model(m, cal, &qo, NULL, &err), &err, "quantize");
  char path[256];
  snprintf(path, sizeof path, "/tmp/octet-observe-list-%d.onnx", (int)getpid());
  ok(octet_model_save(m, path, NULL, &err), &err, "save");
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *size = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *bytes = malloc(*size ? *size : 1);
  assert_int_equal(fread(bytes, 1, *size, f), *size);
  fclose(f);
  unlink(path);
  octet_observe_list_free(names);
  octet_calibrator_destroy(cal);
  octet_dataset_destroy(ds);
  octet_model_destroy(m);
  return bytes;
}

static void same_model_as(const char *model, const char *data, uint64_t samples, const char *method,
                          bool per_tensor) {
  const char *mp = shared_file(model), *dp = shared_file(data);
  if (!mp || !dp) {
    print_message("%s or %s not found: skipped\n", model, data);
    return;
  }
  size_t na, nb, oa, ob;
  unsigned char *a = quantized_bytes(mp, dp, samples, method, per_tensor, false, &na, &oa);
  unsigned char *b = quantized_bytes(mp, dp, samples, method, per_tensor, true, &nb, &ob);
  print_message("%s (%s%s): %zu vs %zu table objects, model %zu bytes\n", model, method,
                per_tensor ? ", per-tensor weights" : "", oa, ob, na);
  assert_true(ob < oa); /* the list does leave tensors out */
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  free(a);
  free(b);
}

static void same_model(const char *model, const char *data, uint64_t samples, const char *method) {
  same_model_as(model, data, samples, method, false);
}

static void cnn_models_quantize_the_same_from_the_list(void **s) {
  same_model("fmnist_cnn.onnx", "fmnist_cnn.calib.npy", 64, "entropy");
  same_model("fmnist_cnn.onnx", "fmnist_cnn.calib.npy", 64, "percentile");
  same_model("mnist_cnn.onnx", "mnist_cnn.calib.npy", 64, "minmax");
}

static void transformer_and_mlp_quantize_the_same_from_the_list(void **s) {
  same_model("fmnist_vit.onnx", "fmnist_vit.calib.npy", 16, "mse");
  same_model("digits_mlp.onnx", "digits_mlp.calib.npy", 64, "entropy");
}

static void paddleocr_det_quantizes_the_same_from_the_list(void **s) {
  same_model("ch_PP-OCRv4_det_infer.onnx", "ppocr_det.x.npy", 1, "entropy");
  /* per-tensor weights keep opset 11: hard-swish stays spelled out, its steps quantized */
  same_model_as("ch_PP-OCRv4_det_infer.onnx", "ppocr_det.x.npy", 1, "minmax", true);
}

static void list_skips_conv_outputs_a_clip_replaces(void **s) {
  const char *mp = shared_file("fmnist_cnn.onnx");
  if (!mp) skip();
  octet_error err = {0};
  octet_model *m;
  ok(octet_model_load(mp, NULL, &m, &err), &err, mp);
  ok(octet_quantize_prepare(m, NULL, &err), &err, "prepare");
  const char **names;
  size_t n;
  ok(octet_observe_list(m, NULL, &names, &n, &err), &err, "observe list");
  assert_true(listed(names, n, "input"));
  assert_true(listed(names, n, "/f/f.0/f.0.2/Clip_output_0"));   /* ReLU6 after a Conv */
  assert_false(listed(names, n, "/f/f.0/f.0.0/Conv_output_0"));  /* ... replaces its output */
  /* data movement copies its quantized input's range: MaxPool and Flatten need no histogram */
  assert_false(listed(names, n, "/f/f.1/MaxPool_output_0"));
  assert_false(listed(names, n, "/Flatten_output_0"));
  assert_true(listed(names, n, "/GlobalAveragePool_output_0")); /* pooling averages: its own range */
  assert_true(listed(names, n, "logits"));
  octet_observe_list_free(names);
  /* excluding the Clips keeps the Conv outputs */
  octet_observe_list_options o = {.exclude_ops = "Clip"};
  ok(octet_observe_list(m, &o, &names, &n, &err), &err, "observe list");
  assert_true(listed(names, n, "/f/f.0/f.0.0/Conv_output_0"));
  octet_observe_list_free(names);
  octet_model_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(list_skips_conv_outputs_a_clip_replaces),
    cmocka_unit_test(cnn_models_quantize_the_same_from_the_list),
    cmocka_unit_test(transformer_and_mlp_quantize_the_same_from_the_list),
    cmocka_unit_test(paddleocr_det_quantizes_the_same_from_the_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
