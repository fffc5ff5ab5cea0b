/* cmd-calibrate.c — `octet calibrate`: run the float model over calibration data, keep a
 * histogram per tensor, write the calibration table (or a shard's partial state). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli-data.h"
#include "cli/cli-util.h"
#include "cli/cli.h"

static const char usage_text[] =
  "usage: octet calibrate MODEL --data [NAME=]PATH... [options] -o TABLE.json\n"
  "       octet calibrate --merge STATE... [options] -o TABLE.json\n\n"
  "  -o FILE                write the calibration table (JSON)\n"
  "  --method LIST          minmax,percentile,entropy,mse or all (default all)\n"
  "  --percentile P         for percentile (default 99.999)\n"
  "  --bins N               histogram bins per side of zero, power of two (default 2048)\n"
  "  --entropy-bins N       bins the entropy search folds to (default 2048)\n"
  "  --entropy-levels N     quantized levels of the entropy search (default 128)\n"
  "  --symmetric            ranges symmetric around zero\n"
  "  --int8                 signed int8 activations (default uint8)\n"
  "  --shard K/N            process only the K-th of N equal slices (K from 0); with --state-out\n"
  "  --state-out FILE       write the partial histogram state (merge it with --merge)\n"
  "  --merge STATE...       merge partial states (all following non-option arguments)\n"
  "  --trt-cache FILE       also write a TensorRT calibration cache (entropy ranges)\n"
  "  --threads N            threads for the float model (default: all cores)\n"
  "  --plugin PATH          kernel module (default: next to the octet library)\n";

#define MAX_MERGE 256

int octet_cmd_calibrate(int argc, char **argv) {
  const char *model_path = NULL, *out = NULL, *state_out = NULL, *trt = NULL, *plugin = NULL;
  const char *merge[MAX_MERGE];
  size_t n_merge = 0;
  uint64_t shard_k = 0, shard_n = 1, u;
  uint32_t bins = 0, threads = 0;
  octet_calibration_choice choice = {0};
  cli_data data = {0};
  int merging = 0, r;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      fputs(cli_data_usage, stdout);
      return 0;
    }
    if (a[0] != '-') {
      if (merging && n_merge < MAX_MERGE) merge[n_merge++] = a;
      else if (merging) return cli_usage("calibrate", "too many --merge states");
      else if (!model_path) model_path = a;
      else return cli_usage("calibrate", "unexpected argument '%s'", a);
      continue;
    }
    merging = 0;
    if ((r = cli_data_option(&data, "calibrate", argc, argv, &i))) {
      if (r == 2) return 2;
      continue;
    }
    if (!strcmp(a, "--merge")) {
      merging = 1;
      continue;
    }
    if (!strcmp(a, "--symmetric") || !strcmp(a, "--int8")) {
      *(a[2] == 's' ? &choice.symmetric : &choice.signed_target) = 1;
      continue;
    }
    static const char *const with_value[] = {"-o", "--output", "--state-out", "--trt-cache", "--plugin",
                                             "--method", "--threads", "--bins", "--entropy-bins",
                                             "--entropy-levels", "--percentile", "--shard"};
    size_t k = 0;
    while (k < sizeof with_value / sizeof *with_value && strcmp(a, with_value[k])) k++;
    if (k == sizeof with_value / sizeof *with_value) return cli_usage("calibrate", "unknown option '%s'", a);
    if (i + 1 >= argc) return cli_usage("calibrate", "option %s needs a value", a);
    const char *v = argv[++i];
    if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
    else if (!strcmp(a, "--state-out")) state_out = v;
    else if (!strcmp(a, "--trt-cache")) trt = v;
    else if (!strcmp(a, "--plugin")) plugin = v;
    else if (!strcmp(a, "--method")) choice.methods = v;
    else if (!strcmp(a, "--threads")) {
      if (cli_parse_u64(v, 0, 1024, &u)) return cli_usage("calibrate", "bad --threads '%s'", v);
      threads = (uint32_t)u;
    } else if (!strcmp(a, "--bins")) {
      if (cli_parse_u64(v, 8, 1 << 20, &u)) return cli_usage("calibrate", "bad --bins '%s'", v);
      bins = (uint32_t)u;
    } else if (!strcmp(a, "--entropy-bins") || !strcmp(a, "--entropy-levels")) {
      if (cli_parse_u64(v, 2, 1 << 20, &u)) return cli_usage("calibrate", "bad %s '%s'", a, v);
      *(a[10] == 'b' ? &choice.entropy_bins : &choice.entropy_levels) = (uint32_t)u;
    } else if (!strcmp(a, "--percentile")) {
      char *end;
      choice.percentile = strtod(v, &end);
      if (*end || !(choice.percentile > 50 && choice.percentile <= 100))
        return cli_usage("calibrate", "--percentile must be in (50, 100], got '%s'", v);
    } else if (sscanf(v, "%llu/%llu", (unsigned long long *)&shard_k, (unsigned long long *)&shard_n) != 2 ||
               shard_n == 0 || shard_k >= shard_n) {
      return cli_usage("calibrate", "--shard wants K/N with 0 <= K < N, got '%s'", v);
    }
  }
  if (!out && !state_out) return cli_usage("calibrate", "say where to write: -o TABLE.json or --state-out FILE");
  if (!model_path && !n_merge) return cli_usage("calibrate", "give a MODEL with --data, or --merge STATE...");
  if (model_path && !data.n) return cli_usage("calibrate", "give calibration data with --data");
  if (shard_n > 1 && !state_out) return cli_usage("calibrate", "--shard writes a partial state: add --state-out FILE");

  octet_error err = {0};
  octet_calibrator_options co = {.bins_per_side = bins};
  octet_calibrator *cal = NULL;
  octet_model *model = NULL;
  octet_session *sess = NULL;
  octet_dataset *ds[CLI_MAX_DATA] = {0};
  size_t n_in = 0;
  int rc = 1;
  if (octet_calibrator_create(&co, &cal, &err)) goto fail;
  for (size_t i = 0; i < n_merge; i++)
    if (octet_calibrator_merge_state(cal, merge[i], &err)) goto fail;
  if (model_path) {
    octet_session_options so = {.n_threads = threads, .plugin_path = plugin,
                                .observer = octet_calibrator_observer, .observer_ctx = cal};
    uint64_t total;
    /* Calibrate the graph the quantizer will see (Constants as initializers, BatchNormalization
     * folded into Conv), so the table's tensors and ranges are the ones `quantize` uses. */
    if (octet_model_load(model_path, NULL, &model, &err) || octet_quantize_prepare(model, NULL, &err) ||
        octet_session_create(model, &so, &sess, &err))
      goto fail;
    n_in = octet_session_input_count(sess);
    if (n_in > CLI_MAX_DATA) {
      fprintf(stderr, "octet calibrate: the model has %zu inputs (at most %d supported)\n", n_in, CLI_MAX_DATA);
      goto out;
    }
    if (cli_data_open(&data, sess, ds, &total, &err)) goto fail;
    cli_progress p;
    cli_progress_start(&p, "calibrate");
    if (octet_calibrate(cal, sess, model, ds, total * shard_k / shard_n, total * (shard_k + 1) / shard_n,
                        data.batch, cli_progress_update, &p, &err))
      goto fail;
  }
  if (state_out && octet_calibrator_save_state(cal, state_out, &err)) goto fail;
  if (out && octet_calibrator_write_table(cal, &choice, out, &err)) goto fail;
  if (trt && octet_calibrator_write_trt_cache(cal, &choice, "entropy", trt, &err)) goto fail;
  if (out) fprintf(stderr, "calibrate: wrote %s\n", out);
  if (state_out) fprintf(stderr, "calibrate: wrote state %s\n", state_out);
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "octet calibrate: %s\n", err.message);
out:
  cli_data_close(ds, n_in);
  octet_session_destroy(sess);
  octet_model_destroy(model);
  octet_calibrator_destroy(cal);
  return rc;
}
