/* cmd-quantize.c — `octet quantize`: float model + calibration data in, int8 model out, with
 * an optional side-by-side evaluation of float and int8 (accuracy and speed). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli-data.h"
#include "cli/cli-util.h"
#include "cli/cli.h"

static const char usage_text[] =
  "usage: octet quantize MODEL OUTPUT --data [NAME=]PATH... [options]\n\n"
  "  --method M             activation ranges: minmax (default), percentile, entropy, mse\n"
  "  --percentile P         for --method percentile (default 99.999)\n"
  "  --format F             qdq (default, portable), qop (QLinear* operators) or octet\n"
  "                         (QLinear ops in domain ai.octet, for ONNX Runtime with the octet plugin)\n"
  "  --per-tensor           one scale per weight tensor (default: per output channel)\n"
  "  --int8-activations     signed int8 activations (default uint8)\n"
  "  --weight-type T        uint8 (default: zero point 128, exact in ONNX Runtime on AVX2) or int8\n"
  "  --exclude-nodes A,B    keep these nodes in float\n"
  "  --exclude-ops X,Y      keep these op types in float (e.g. Softmax)\n"
  "  --eval-data X.npy      after quantizing, run float and int8 on X and compare\n"
  "  --eval-labels Y.npy    integer labels for --eval-data: report top-1 accuracy\n"
  "  --report FILE.html     per-layer error report: a table on the terminal and an HTML page\n"
  "                         (float vs chosen range, clipped %, SQNR, histograms); measured on\n"
  "                         --eval-data when given, else on the calibration data\n"
  "  --max-drop X           accuracy-driven fallback: keep the most harmful layers float until\n"
  "                         the drop on --eval-data is at most X (top-1 points with\n"
  "                         --eval-labels, else agreement with float)\n"
  "  --metric M             for --max-drop: top1, agree, or iou:T (IoU of output > T maps vs\n"
  "                         float, worst sample; X in IoU x 100)\n"
  "  --min-sqnr DB          accuracy guard (default 20; 0 turns it off): without --max-drop,\n"
  "                         the int8 model's output must stay within DB dB SQNR of float on\n"
  "                         the first 16 calibration samples; if it does not, the layers whose\n"
  "                         int8 error costs most are kept float until it does\n"
  "  --bias-correction      correct the per-channel mean shift of Conv/Gemm outputs (measured\n"
  "                         against float on the calibration data) in the int32 biases\n"
  "  --calibration-table T  take activation ranges from a table written by `octet calibrate`\n"
  "                         (instead of --data; the same --method rules pick from it)\n"
  "  --mode M               static (default: calibrated activation ranges), dynamic (int8\n"
  "                         weights, activations quantized at run time; no --data needed) or\n"
  "                         auto (dynamic for recurrent/matmul-heavy graphs, static for conv)\n"
  "  --threads N            threads (default: all cores)\n"
  "  --plugin PATH          kernel module (default: next to the octet library)\n";

static long long file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Runs a model over the evaluation set; fills predictions (argmax of output 0) and seconds. */
static octet_status evaluate(const char *path, const char *plugin, uint32_t threads, octet_dataset *x,
                             uint64_t n, int64_t *pred, double *seconds, octet_error *err) {
  octet_model *m = NULL;
  octet_session *s = NULL;
  octet_session_options so = {.n_threads = threads, .plugin_path = plugin};
  octet_status st = octet_model_load(path, NULL, &m, err);
  if (!st) st = octet_session_create(m, &so, &s, err);
  if (!st && octet_session_input_count(s) != 1)
    st = cli_fail(err, "--eval-data works with one-input models; this one has %zu", octet_session_input_count(s));
  octet_tensor type = {0};
  const char *name;
  if (!st) st = octet_model_input(m, 0, &name, &type, err);
  uint64_t step = type.rank > 0 && type.dims[0] > 0 ? (uint64_t)type.dims[0] : 1; /* latency: batch 1 */
  double t = 0;
  for (uint64_t at = 0; !st && at < n; at += step) {
    octet_tensor in, out[8];
    size_t n_out = octet_session_output_count(s) < 8 ? octet_session_output_count(s) : 8;
    uint64_t b = n - at < step ? n - at : step;
    if ((st = octet_dataset_read(x, at, b, type.dtype ? type.dtype : OCTET_DTYPE_FLOAT, &in, err))) break;
    double t0 = cli_seconds();
    st = octet_session_run(s, &in, 1, out, n_out, err);
    t += cli_seconds() - t0;
    octet_tensor_free(&in);
    if (st) break;
    if (out[0].dtype != OCTET_DTYPE_FLOAT || out[0].rank < 1) {
      st = cli_fail(err, "--eval-data expects a float score output [N, classes]");
      break;
    }
    int64_t classes = 1;
    for (int r = 1; r < out[0].rank; r++) classes *= out[0].dims[r];
    for (uint64_t i = 0; i < b; i++) {
      const float *row = (const float *)out[0].data + i * (uint64_t)classes;
      int64_t best = 0;
      for (int64_t c = 1; c < classes; c++) if (row[c] > row[best]) best = c;
      pred[at + i] = best;
    }
  }
  *seconds = t;
  octet_session_destroy(s);
  octet_model_destroy(m);
  return st;
}

static int eval_report(const char *in, const char *out, const char *plugin, uint32_t threads,
                       const char *xpath, const char *ypath) {
  octet_error err = {0};
  octet_dataset *x = NULL, *y = NULL;
  int rc = 1;
  int64_t *pf = NULL, *pq = NULL;
  octet_tensor labels = {0};
  if (octet_dataset_open(xpath, NULL, NULL, &x, &err)) goto fail;
  uint64_t n = octet_dataset_count(x);
  if (ypath) {
    if (octet_dataset_open(ypath, NULL, NULL, &y, &err) || octet_dataset_read(y, 0, octet_dataset_count(y),
                                                                             OCTET_DTYPE_FLOAT, &labels, &err))
      goto fail;
    if (octet_dataset_count(y) < n) n = octet_dataset_count(y);
  }
  pf = calloc(n, sizeof *pf);
  pq = calloc(n, sizeof *pq);
  double tf, tq;
  if (!pf || !pq) goto fail;
  if (evaluate(in, plugin, threads, x, n, pf, &tf, &err) || evaluate(out, plugin, threads, x, n, pq, &tq, &err))
    goto fail;
  uint64_t agree = 0, cf = 0, cq = 0;
  for (uint64_t i = 0; i < n; i++) {
    agree += pf[i] == pq[i];
    if (ypath) {
      int64_t lab = (int64_t)((float *)labels.data)[i];
      cf += pf[i] == lab;
      cq += pq[i] == lab;
    }
  }
  printf("\n%-8s %12s %12s %14s\n", "", "top-1", "agreement", "latency/run");
  if (ypath) {
    printf("%-8s %11.2f%% %12s %11.3f ms\n", "float", 100.0 * (double)cf / (double)n, "", 1e3 * tf / (double)n);
    printf("%-8s %11.2f%% %11.2f%% %11.3f ms\n", "int8", 100.0 * (double)cq / (double)n,
           100.0 * (double)agree / (double)n, 1e3 * tq / (double)n);
    printf("drop: %.2f points on %llu samples; int8 is %.2fx the float speed\n",
           100.0 * ((double)cf - (double)cq) / (double)n, (unsigned long long)n, tf / tq);
  } else {
    printf("%-8s %12s %11.2f%% %11.3f ms\n", "int8", "", 100.0 * (double)agree / (double)n, 1e3 * tq / (double)n);
  }
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "octet quantize: evaluation: %s\n", err.message[0] ? err.message : "out of memory");
out:
  free(pf);
  free(pq);
  octet_tensor_free(&labels);
  octet_dataset_destroy(x);
  octet_dataset_destroy(y);
  return rc;
}

/* --bias-correction: against a freshly loaded and prepared float model, on the calibration data. */
static int correct_bias(const char *in, octet_model *quantized, const char *plugin, uint32_t threads,
                        octet_dataset *const *ds, uint64_t n, char **line) {
  octet_error err = {0};
  octet_model *fm = NULL;
  octet_session_options so = {.n_threads = threads, .plugin_path = plugin};
  int rc = 0;
  if (octet_model_load(in, NULL, &fm, &err) || octet_quantize_prepare(fm, NULL, &err) ||
      octet_quantize_bias_correction(fm, quantized, ds, 0, n, &so, line, &err)) {
    fprintf(stderr, "octet quantize: bias correction: %s\n", err.message);
    rc = 1;
  }
  octet_model_destroy(fm);
  return rc;
}

static void fallback_step(void *ctx, const char *line) {
  (void)ctx;
  fputs(line, stderr); /* the search can take minutes: show each step as it happens */
}

/* --max-drop: the search runs on the evaluation set (quantize/fallback.c). */
static int fallback(octet_model *model, const octet_calibrator *cal, const octet_quantize_options *qo, const char *plugin,
                    uint32_t threads, const char *xpath, const char *ypath, const char *metric, double max_drop,
                    char **summary, int *met) {
  octet_error err = {0};
  octet_dataset *x = NULL, *y = NULL;
  int rc = 1;
  if (octet_dataset_open(xpath, NULL, NULL, &x, &err) || (ypath && octet_dataset_open(ypath, NULL, NULL, &y, &err))) goto fail;
  uint64_t n = octet_dataset_count(x);
  if (y && octet_dataset_count(y) < n) n = octet_dataset_count(y);
  octet_fallback_options fo = {.max_drop = max_drop, .metric = metric, .data = &x, .labels = y, .first = 0, .last = n,
                               .session = {.n_threads = threads, .plugin_path = plugin}, .progress = fallback_step};
  if (octet_model_input_count(model) != 1) {
    fprintf(stderr, "octet quantize: --max-drop works with one-input models\n");
    goto done;
  }
  if (octet_quantize_fallback(model, cal, qo, &fo, summary, met, &err)) goto fail;
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "octet quantize: fallback: %s\n", err.message);
done:
  octet_dataset_destroy(x);
  octet_dataset_destroy(y);
  return rc;
}

#define GUARD_SAMPLES 16

/* The accuracy guard (default): the fallback search with the output-SQNR metric on the first
 * calibration samples. Well-behaved models pass the first check (one float and one int8 run on
 * GUARD_SAMPLES samples) and are quantized as usual; models whose int8 output drifts far from
 * float (PaddleOCR det: 11 dB) get their most harmful layers kept float. The search needs the
 * ranges of every tensor (a node kept float moves the Q/DQ points), so when calibration observed
 * only the quantizer's list it is run again on everything first. When the check itself cannot
 * run (an output that is not float data with samples first), *ran is 0 and the caller quantizes
 * without it. */
static int guard(octet_model *model, octet_calibrator **cal, bool observed_all, const octet_quantize_options *qo,
                 const char *plugin, uint32_t threads, octet_dataset *const *ds, uint64_t total, uint64_t batch,
                 double min_sqnr, char **summary, int *ran) {
  octet_error err = {0};
  octet_session *sess = NULL;
  int met = 0;
  octet_fallback_options fo = {.metric = "sqnr", .min_sqnr = min_sqnr, .data = ds, .first = 0,
                               .last = total < GUARD_SAMPLES ? total : GUARD_SAMPLES, .check_only = 1,
                               .session = {.n_threads = threads, .plugin_path = plugin}, .progress = fallback_step,
                               .label = "accuracy guard"};
  *ran = 0;
  /* The check first: a model it cannot judge (an output that is not float data with samples
   * first, sizes that vary by sample...) is quantized without it. */
  octet_status st = octet_quantize_fallback(model, *cal, qo, &fo, summary, &met, &err);
  if (st) {
    fprintf(stderr, "octet quantize: accuracy guard skipped: %s\n", err.message);
    return 0;
  }
  if (!met && !observed_all) {
    fprintf(stderr, "octet quantize: accuracy guard: the int8 output is below %.1f dB SQNR; calibrating every "
                    "tensor for the search\n", min_sqnr);
    octet_calibrator_destroy(*cal);
    *cal = NULL;
    octet_session_options so = {.n_threads = threads, .plugin_path = plugin, .observer = octet_calibrator_observer};
    cli_progress p;
    st = octet_calibrator_create(NULL, cal, &err);
    so.observer_ctx = *cal;
    if (!st) st = octet_session_create(model, &so, &sess, &err);
    if (!st) cli_progress_start(&p, "calibrate");
    if (!st) st = octet_calibrate(*cal, sess, model, ds, 0, total, batch, cli_progress_update, &p, &err);
    octet_session_destroy(sess);
  }
  if (!st && !met) {
    fo.check_only = 0;
    st = octet_quantize_fallback(model, *cal, qo, &fo, summary, &met, &err);
  }
  if (st) {
    fprintf(stderr, "octet quantize: accuracy guard: %s\n", err.message);
    return 1;
  }
  *ran = 1;
  if (!met) fprintf(stderr, "octet quantize: warning: the output SQNR bound %.1f dB was not met\n", min_sqnr);
  return 0;
}

/* The per-layer report: the float model loaded and prepared again (the quantized one was
 * rewritten in place), both run on the evaluation inputs, else on the calibration data. */
static int layer_report(const char *in, const octet_model *quantized, const octet_calibrator *cal,
                        const octet_quantize_options *qo, const char *plugin, uint32_t threads, const char *eval_x,
                        octet_dataset *const *calib, uint64_t calib_n, const char *html) {
  octet_error err = {0};
  octet_model *fm = NULL;
  octet_dataset *ex = NULL;
  octet_quantize_report *rep = NULL;
  char *text = NULL;
  int rc = 1;
  octet_session_options so = {.n_threads = threads, .plugin_path = plugin};
  octet_dataset *const *ds = calib;
  uint64_t n = calib_n;
  if (octet_model_load(in, NULL, &fm, &err) || octet_quantize_prepare(fm, NULL, &err)) goto fail;
  if (eval_x) {
    if (octet_model_input_count(fm) != 1) {
      fprintf(stderr, "octet quantize: --eval-data works with one-input models\n");
      goto done;
    }
    if (octet_dataset_open(eval_x, NULL, NULL, &ex, &err)) goto fail;
    ds = &ex;
    n = octet_dataset_count(ex);
  }
  if (octet_quantize_report_create(fm, quantized, cal, qo->method, ds, 0, n, &so, &rep, &err) ||
      octet_quantize_report_text(rep, &text, &err) || octet_quantize_report_write_html(rep, html, &err))
    goto fail;
  printf("\n%swrote %s\n", text, html);
  rc = 0;
  goto done;
fail:
  fprintf(stderr, "octet quantize: report: %s\n", err.message);
done:
  octet_string_free(text);
  octet_quantize_report_destroy(rep);
  octet_dataset_destroy(ex);
  octet_model_destroy(fm);
  return rc;
}

int octet_cmd_quantize(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *plugin = NULL, *eval_x = NULL, *eval_y = NULL, *report_path = NULL;
  const char *metric = NULL, *table_path = NULL;
  double max_drop = -1, min_sqnr = 20;
  int bias_correction = 0;
  octet_quantize_options qo = {0};
  uint32_t threads = 0;
  uint64_t u;
  cli_data data = {0};
  int r;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      fputs(cli_data_usage, stdout);
      return 0;
    }
    if (a[0] != '-') {
      if (!in) in = a;
      else if (!out) out = a;
      else return cli_usage("quantize", "unexpected argument '%s'", a);
      continue;
    }
    if ((r = cli_data_option(&data, "quantize", argc, argv, &i))) {
      if (r == 2) return 2;
      continue;
    }
    if (!strcmp(a, "--per-tensor")) {
      qo.per_tensor_weights = 1;
      continue;
    }
    if (!strcmp(a, "--bias-correction")) {
      bias_correction = 1;
      continue;
    }
    if (!strcmp(a, "--int8-activations")) {
      qo.signed_activations = 1;
      continue;
    }
    static const char *const with_value[] = {"--method", "--percentile", "--format", "--exclude-nodes",
                                             "--exclude-ops", "--eval-data", "--eval-labels", "--threads",
                                             "--plugin", "--weight-type", "--report", "--max-drop",
                                             "--metric", "--mode", "--calibration-table", "--min-sqnr"};
    size_t k = 0;
    while (k < sizeof with_value / sizeof *with_value && strcmp(a, with_value[k])) k++;
    if (k == sizeof with_value / sizeof *with_value) return cli_usage("quantize", "unknown option '%s'", a);
    if (i + 1 >= argc) return cli_usage("quantize", "option %s needs a value", a);
    const char *v = argv[++i];
    switch (k) {
    case 0: qo.method = v; break;
    case 1: {
      char *end;
      qo.choice.percentile = strtod(v, &end);
      if (*end || !(qo.choice.percentile > 50 && qo.choice.percentile <= 100))
        return cli_usage("quantize", "--percentile must be in (50, 100], got '%s'", v);
      break;
    }
    case 2:
      if (strcmp(v, "qdq") && strcmp(v, "qop") && strcmp(v, "octet"))
        return cli_usage("quantize", "--format is qdq, qop or octet, got '%s'", v);
      qo.format = v;
      break;
    case 3: qo.exclude_nodes = v; break;
    case 4: qo.exclude_ops = v; break;
    case 5: eval_x = v; break;
    case 6: eval_y = v; break;
    case 7:
      if (cli_parse_u64(v, 0, 1024, &u)) return cli_usage("quantize", "bad --threads '%s'", v);
      threads = (uint32_t)u;
      break;
    case 8: plugin = v; break;
    case 10: report_path = v; break;
    case 11: {
      char *end;
      max_drop = strtod(v, &end);
      if (*end || !(max_drop >= 0)) return cli_usage("quantize", "--max-drop must be a number >= 0, got '%s'", v);
      break;
    }
    case 12: metric = v; break;
    case 13:
      if (strcmp(v, "static") && strcmp(v, "dynamic") && strcmp(v, "auto"))
        return cli_usage("quantize", "--mode is static, dynamic or auto, got '%s'", v);
      qo.mode = v;
      break;
    case 14: table_path = v; break;
    case 15: {
      char *end;
      min_sqnr = strtod(v, &end);
      if (*end || !(min_sqnr >= 0 && min_sqnr < 100))
        return cli_usage("quantize", "--min-sqnr must be a number of dB in [0, 100) (0: no guard), got '%s'", v);
      break;
    }
    default:
      if (strcmp(v, "int8") && strcmp(v, "uint8")) return cli_usage("quantize", "--weight-type is int8 or uint8, got '%s'", v);
      qo.signed_weights = !strcmp(v, "int8");
    }
  }
  if (!in || !out) return cli_usage("quantize", "give the input MODEL and the OUTPUT path");
  if (!strcmp(in, out) || same_file(in, out))
    return cli_usage("quantize", "OUTPUT '%s' is the input model: octet never overwrites its input", out);
  if (eval_y && !eval_x) return cli_usage("quantize", "--eval-labels needs --eval-data");
  if (max_drop >= 0 && !eval_x) return cli_usage("quantize", "--max-drop needs --eval-data (and --eval-labels for top-1)");
  if (report_path && qo.format && !strcmp(qo.format, "qop"))
    return cli_usage("quantize", "--report compares the QDQ form with float; use it with --format qdq");
  if (qo.method && strcmp(qo.method, "minmax") && strcmp(qo.method, "percentile") &&
      strcmp(qo.method, "entropy") && strcmp(qo.method, "mse"))
    return cli_usage("quantize", "unknown --method '%s' (minmax, percentile, entropy or mse)", qo.method);

  octet_error err = {0};
  octet_model *model = NULL, *check = NULL;
  octet_session *sess = NULL;
  octet_calibrator *cal = NULL;
  octet_dataset *ds[CLI_MAX_DATA] = {0};
  size_t n_in = 0;
  char *notes = NULL, *summary = NULL, *bias_line = NULL;
  const char **observe = NULL;
  size_t n_observe = 0;
  int rc = 1;
  if (octet_model_load(in, NULL, &model, &err)) goto fail;
  if (octet_model_is_quantized(model)) {
    fprintf(stderr, "octet quantize: %s is already quantized; octet never quantizes twice. "
                    "Run it as is with `octet run`.\n", in);
    goto out;
  }
  /* Mode first: dynamic quantization needs no calibration data. */
  char why[200] = "";
  if (qo.mode && !strcmp(qo.mode, "auto")) qo.mode = octet_quantize_auto_mode(model, why, sizeof why);
  bool dynamic = qo.mode && !strcmp(qo.mode, "dynamic");
  if (why[0]) printf("mode auto picked %s\n", why);
  if (dynamic && (max_drop >= 0 || bias_correction || report_path)) {
    rc = cli_usage("quantize", "--max-drop, --bias-correction and --report work on static (calibrated) quantization");
    goto out;
  }
  if (table_path && (dynamic || data.n || report_path || bias_correction)) {
    rc = cli_usage("quantize", "--calibration-table replaces --data for static quantization; --report and "
                               "--bias-correction need the data itself");
    goto out;
  }
  if (!dynamic && !data.n && !table_path) {
    rc = cli_usage("quantize", "static quantization needs calibration data: --data [NAME=]PATH, or a table from "
                               "`octet calibrate` (--calibration-table), or --mode dynamic");
    goto out;
  }
  if (octet_quantize_prepare(model, &notes, &err)) goto fail;
  uint64_t total = 0;
  if (dynamic) {
    if (octet_quantize_model(model, NULL, &qo, &summary, &err)) goto fail;
  } else {
    if (octet_calibrator_create(NULL, &cal, &err)) goto fail;
    if (table_path) {
      if (octet_calibrator_load_table(cal, table_path, &err)) goto fail;
    } else {
      octet_session_options so = {.n_threads = threads, .plugin_path = plugin,
                                  .observer = octet_calibrator_observer, .observer_ctx = cal};
      /* Observe only the tensors the quantizer reads ranges of (it costs a pass over each);
       * the fallback search, the report and bias correction compare other tensors too. */
      if (max_drop < 0 && !report_path && !bias_correction) {
        octet_observe_list_options lo = {.exclude_nodes = qo.exclude_nodes, .exclude_ops = qo.exclude_ops,
                                         .per_tensor_weights = qo.per_tensor_weights};
        if (octet_observe_list(model, &lo, &observe, &n_observe, &err)) goto fail;
        so.observe_names = observe;
        so.n_observe_names = n_observe;
      }
      if (octet_session_create(model, &so, &sess, &err)) goto fail;
      n_in = octet_session_input_count(sess);
      if (n_in > CLI_MAX_DATA) {
        fprintf(stderr, "octet quantize: the model has %zu inputs (at most %d supported)\n", n_in, CLI_MAX_DATA);
        goto out;
      }
      if (cli_data_open(&data, sess, ds, &total, &err)) goto fail;
      cli_progress p;
      cli_progress_start(&p, "calibrate");
      if (octet_calibrate(cal, sess, model, ds, 0, total, data.batch, cli_progress_update, &p, &err)) goto fail;
      octet_session_destroy(sess);
      sess = NULL;
    }
    if (max_drop >= 0) {
      int met = 0;
      if (fallback(model, cal, &qo, plugin, threads, eval_x, eval_y, metric, max_drop, &summary, &met)) goto out;
      if (!met) fprintf(stderr, "octet quantize: warning: the drop bound %.2f was not met\n", max_drop);
    } else {
      int guarded = 0;
      if (min_sqnr > 0 && table_path)
        fprintf(stderr, "octet quantize: accuracy guard not run: it needs the data (--data), not a table\n");
      if (min_sqnr > 0 && !table_path && total > 0 &&
          guard(model, &cal, observe == NULL, &qo, plugin, threads, ds, total, data.batch, min_sqnr, &summary,
                &guarded))
        goto out;
      if (!guarded && octet_quantize_model(model, cal, &qo, &summary, &err)) goto fail;
    }
    if (bias_correction && correct_bias(in, model, plugin, threads, ds, total, &bias_line)) goto out;
  }
  octet_save_options save = {0};
  if (octet_model_save(model, out, &save, &err)) goto fail;
  /* The output must load and plan in octet before we call it done. */
  octet_session_options plain = {.n_threads = threads, .plugin_path = plugin};
  if (octet_model_load(out, NULL, &check, &err) || octet_session_create(check, &plain, &sess, &err)) {
    fprintf(stderr, "octet quantize: the written model does not load back: %s\n", err.message);
    goto out;
  }
  long long before = file_size(in), after = file_size(out);
  printf("%s\n%s%s", notes, summary, bias_line ? bias_line : "");
  printf("size: %.1f KiB -> %.1f KiB (%.2fx smaller); ", before / 1024.0, after / 1024.0,
         after > 0 ? (double)before / (double)after : 0.0);
  if (dynamic) printf("no calibration (dynamic)\nwrote %s\n", out);
  else if (table_path) printf("ranges from %s\nwrote %s\n", table_path, out);
  else printf("calibrated on %llu samples\nwrote %s\n", (unsigned long long)total, out);
  if (report_path && (rc = layer_report(in, model, cal, &qo, plugin, threads, eval_x, ds, total, report_path))) goto out;
  rc = eval_x ? eval_report(in, out, plugin, threads, eval_x, eval_y) : 0;
  goto out;
fail:
  fprintf(stderr, "octet quantize: %s\n", err.message);
out:
  cli_data_close(ds, n_in);
  octet_session_destroy(sess);
  octet_model_destroy(check);
  octet_model_destroy(model);
  octet_calibrator_destroy(cal);
  octet_observe_list_free(observe);
  octet_string_free(notes);
  octet_string_free(summary);
  octet_string_free(bias_line);
  return rc;
}
