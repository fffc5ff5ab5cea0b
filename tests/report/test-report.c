/* test-report.c — the per-layer error report: clipped shares read off histograms, SQNR, and a
 * real model (digits_mlp) quantized, compared with float tensor by tensor, printed and rendered
 * to HTML with one histogram per quantized activation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibration/calibrator.h"
#include "octet/octet.h"
#include "onnx_io/ir.h"
#include "quantize/report.h"

static void clipped_share_interpolates_inside_bins(void **state) {
  (void)state;
  octet_hist h;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&h, 256, &err), OCTET_OK);
  float v[1000];
  for (int i = 0; i < 1000; i++) v[i] = 0.1f + (float)i * 0.01f; /* uniform on [0.1, 10.09] */
  octet_hist_add(&h, v, 1000);
  assert_true(fabs(octet_report_clipped(&h, 0.0, 5.095) - 0.5) < 0.01);
  assert_true(fabs(octet_report_clipped(&h, -1.0, 100.0)) < 1e-12); /* all inside */
  assert_true(fabs(octet_report_clipped(&h, 0.0, 2.595) - 0.75) < 0.01);
  octet_hist_free(&h);
}

static void clipped_share_never_counts_exact_zeros(void **state) {
  (void)state;
  octet_hist h;
  octet_error err = {0};
  assert_int_equal(octet_hist_init(&h, 64, &err), OCTET_OK);
  float v[100] = {0};
  v[99] = 8.0f; /* 99 zeros and one outlier */
  octet_hist_add(&h, v, 100);
  assert_true(fabs(octet_report_clipped(&h, 0.0, 0.001) - 0.01) < 1e-9);
  octet_hist_free(&h);
}

static void sqnr_is_ten_log_ratio(void **state) {
  (void)state;
  assert_true(fabs(octet_report_sqnr(100.0, 1.0) - 20.0) < 1e-12);
  assert_true(isinf(octet_report_sqnr(1.0, 0.0)) && octet_report_sqnr(1.0, 0.0) > 0);
}

static const char *model_path(const char *name, char *buf, size_t n) {
  snprintf(buf, n, "/work/shared/models/%s", name);
  return buf;
}

static size_t count(const char *hay, const char *needle) {
  size_t k = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) k++;
  return k;
}

static size_t activation_pairs(const octet_model *m) {
  size_t k = 0;
  for (size_t i = 0; i < m->graph->n_nodes; i++) {
    const octet_ir_node *n = &m->graph->nodes[i];
    if (!strcmp(n->op_type, "QuantizeLinear") && !octet_ir_graph_initializer(m->graph, n->inputs[0])) k++;
  }
  return k;
}

/* digits_mlp: every quantized activation gets a row with sane numbers, the text names each,
 * and the HTML page holds one histogram per row. */
static void report_on_digits_mlp_has_a_row_and_a_histogram_per_quantized_tensor(void **state) {
  (void)state;
  char mp[1024], dp[1024], html[1200];
  octet_error err = {0};
  octet_model *fm = NULL, *qm = NULL;
  octet_calibrator *cal = NULL;
  octet_session *s = NULL;
  octet_dataset *ds = NULL;
  model_path("digits_mlp.onnx", mp, sizeof mp);
  model_path("digits_mlp.calib.npy", dp, sizeof dp);
  if (octet_model_load(mp, NULL, &fm, &err) != OCTET_OK) skip();
  assert_int_equal(octet_model_load(mp, NULL, &qm, &err), OCTET_OK);
  assert_int_equal(octet_quantize_prepare(fm, NULL, &err), OCTET_OK);
  assert_int_equal(octet_quantize_prepare(qm, NULL, &err), OCTET_OK);
  assert_int_equal(octet_calibrator_create(NULL, &cal, &err), OCTET_OK);
  octet_session_options so = {.n_threads = 1, .observer = octet_calibrator_observer, .observer_ctx = cal};
  assert_int_equal(octet_session_create(qm, &so, &s, &err), OCTET_OK);
  assert_int_equal(octet_dataset_open(dp, NULL, NULL, &ds, &err), OCTET_OK);
  assert_int_equal(octet_calibrate(cal, s, qm, &ds, 0, 200, 50, NULL, NULL, &err), OCTET_OK);
  octet_session_destroy(s);
  octet_quantize_options qo = {.method = "minmax"};
  assert_int_equal(octet_quantize_model(qm, cal, &qo, NULL, &err), OCTET_OK);
  size_t pairs = activation_pairs(qm);
  assert_true(pairs >= 4);

  octet_quantize_report *r = NULL;
  octet_session_options ro = {.n_threads = 1};
  octet_status st = octet_quantize_report_create(fm, qm, cal, "minmax", &ds, 0, 200, &ro, &r, &err);
  if (st) fprintf(stderr, "%s\n", err.message);
  assert_int_equal(st, OCTET_OK);
  assert_int_equal(r->n_rows, pairs);
  assert_int_equal(r->samples, 200);
  for (size_t i = 0; i < r->n_rows; i++) {
    const octet_report_row *w = &r->rows[i];
    double db = octet_report_sqnr(w->sig2, w->err2);
    assert_true(w->count > 0);
    assert_true(db > 15.0); /* 8-bit grids over minmax ranges: tens of dB */
    /* minmax covers every calibration value up to the zero point's rounding (one step). */
    assert_true(w->clipped >= 0.0 && w->clipped < 0.005);
    assert_true(w->lo <= w->fmin + w->scale && w->hi >= w->fmax - w->scale);
    assert_true(w->max_err <= fmax(fabs(w->fmin), fabs(w->fmax)));
    if (i) assert_true(w->order >= r->rows[i - 1].order); /* graph order */
  }
  assert_int_equal(r->n_outputs, 1);
  assert_int_equal(r->outputs[0].rows, 200);
  assert_true(r->outputs[0].agree >= 190);

  char *text = NULL;
  assert_int_equal(octet_quantize_report_text(r, &text, &err), OCTET_OK);
  for (size_t i = 0; i < r->n_rows; i++) assert_non_null(strstr(text, r->rows[i].tensor));
  assert_non_null(strstr(text, "top-1 agreement"));
  octet_string_free(text);

  const char *root = getenv("OCTET_BUILD_ROOT");
  snprintf(html, sizeof html, "%s/digits-report.html", root ? root : ".");
  assert_int_equal(octet_quantize_report_write_html(r, html, &err), OCTET_OK);
  FILE *f = fopen(html, "rb");
  assert_non_null(f);
  static char page[1 << 22];
  size_t len = fread(page, 1, sizeof page - 1, f);
  fclose(f);
  page[len] = 0;
  assert_int_equal(count(page, "<svg class=\"hist\""), pairs);
  assert_int_equal(count(page, "<svg class=\"sqnr\""), 1);
  assert_null(strstr(page, "<script")); /* self-contained, nothing to run */
  assert_null(strstr(page, "https://"));
  remove(html);

  octet_quantize_report_destroy(r);
  octet_dataset_destroy(ds);
  octet_calibrator_destroy(cal);
  octet_model_destroy(fm);
  octet_model_destroy(qm);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(clipped_share_interpolates_inside_bins),
    cmocka_unit_test(clipped_share_never_counts_exact_zeros),
    cmocka_unit_test(sqnr_is_ten_log_ratio),
    cmocka_unit_test(report_on_digits_mlp_has_a_row_and_a_histogram_per_quantized_tensor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
