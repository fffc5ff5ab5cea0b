/* cmd-calibrate.c — `octet calibrate`: run the float model over calibration data, keep a
 * histogram per tensor, write the calibration table (or a shard's partial state). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-util.h"

static const char usage_text[] =
  "usage: octet calibrate MODEL --data [NAME=]PATH... [options] -o TABLE.json\n"
  "       octet calibrate --merge STATE... [options] -o TABLE.json\n"
  "\n"
  "Data: PATH is a .npy/.npz array (first axis = samples), a folder of .pb tensors or of ONNX\n"
  "test-data sets, or a folder of PNG/JPEG images. NAME= picks the graph input (needed when the\n"
  "model has several).\n"
  "  --samples N            use the first N samples (default: all)\n"
  "  --batch N              samples per run when the batch axis is free (default 16)\n"
  "  --method LIST          minmax,percentile,entropy,mse or all (default all)\n"
  "  --percentile P         for percentile (default 99.999)\n"
  "  --bins N               histogram bins per side of zero, power of two (default 2048)\n"
  "  --entropy-bins N       bins the entropy search folds to (default 2048)\n"
  "  --entropy-levels N     quantized levels of the entropy search (default 128)\n"
  "  --symmetric            ranges symmetric around zero\n"
  "  --int8                 signed int8 activations (default uint8)\n"
  "  --shard K/N            process only the K-th of N equal slices (K from 0); with --state-out\n"
  "  --state-out FILE       write the partial histogram state instead of (or besides) a table\n"
  "  --merge STATE...       merge partial states (all following non-option arguments)\n"
  "  --trt-cache FILE       also write a TensorRT calibration cache (entropy ranges)\n"
  "  --threads N            threads for the float model (default: all cores)\n"
  "  --plugin PATH          kernel module (default: next to the octet library)\n"
  "Images: --image-size HxW  --scale S (default 1/255)  --mean A,B,C  --std A,B,C\n"
  "        --layout nchw|nhwc (default nchw)  --channel-order rgb|bgr (default rgb)\n";

#define MAX_DATA 16
#define MAX_MERGE 256

typedef struct source {
  const char *name; /* NULL: the only input */
  const char *path;
  size_t input;     /* graph input index */
  octet_dataset *ds;
} source;

static int parse_floats3(const char *s, float v[3]) {
  char *end;
  for (int i = 0; i < 3; i++) {
    v[i] = strtof(s, &end);
    if (end == s || (i < 2 && *end != ',') || (i == 2 && *end)) return -1;
    s = end + 1;
  }
  return 0;
}

static void progress(uint64_t done, uint64_t total, double t0, int tty, uint64_t *last_line) {
  double el = cli_seconds() - t0, rate = el > 0 ? (double)done / el : 0;
  double eta = rate > 0 ? (double)(total - done) / rate : 0;
  if (tty) {
    int w = 30, fill = total ? (int)((double)w * (double)done / (double)total) : w;
    fprintf(stderr, "\r[%.*s%*s] %llu/%llu samples  %.1f samples/s  ETA %.0fs ", fill,
            "##############################", w - fill, "", (unsigned long long)done,
            (unsigned long long)total, rate, eta);
    if (done == total) fputc('\n', stderr);
  } else if (done == total || done * 10 / (total ? total : 1) > *last_line) {
    *last_line = done * 10 / (total ? total : 1);
    fprintf(stderr, "calibrate: %llu/%llu samples, %.1f samples/s\n", (unsigned long long)done,
            (unsigned long long)total, rate);
  }
}

int octet_cmd_calibrate(int argc, char **argv) {
  const char *model_path = NULL, *out = NULL, *state_out = NULL, *trt = NULL, *plugin = NULL;
  source src[MAX_DATA];
  size_t n_src = 0, n_merge = 0;
  const char *merge[MAX_MERGE];
  uint64_t max_samples = 0, batch = 16, shard_k = 0, shard_n = 1;
  uint32_t bins = 0, threads = 0;
  octet_calibration_choice choice = {0};
  octet_image_options img = {0};
  int merging = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return 0;
    }
    if (a[0] != '-') {
      if (merging) {
        if (n_merge == MAX_MERGE) return cli_usage("calibrate", "too many --merge states");
        merge[n_merge++] = a;
      } else if (!model_path) {
        model_path = a;
      } else {
        return cli_usage("calibrate", "unexpected argument '%s'", a);
      }
      continue;
    }
    merging = 0;
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--merge")) {
      merging = 1;
      continue;
    }
    if (!strcmp(a, "--symmetric")) {
      choice.symmetric = 1;
      continue;
    }
    if (!strcmp(a, "--int8")) {
      choice.signed_target = 1;
      continue;
    }
    static const char *const with_value[] = {
      "--data", "-o", "--output", "--state-out", "--trt-cache", "--plugin", "--method", "--samples",
      "--batch", "--threads", "--bins", "--entropy-bins", "--entropy-levels", "--percentile",
      "--shard", "--image-size", "--scale", "--mean", "--std", "--layout", "--channel-order"};
    bool known = false;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) known |= !strcmp(a, with_value[k]);
    if (!known) return cli_usage("calibrate", "unknown option '%s'", a);
    if (!v) return cli_usage("calibrate", "option %s needs a value", a);
    i++;
    if (!strcmp(a, "--data")) {
      if (n_src == MAX_DATA) return cli_usage("calibrate", "too many --data sources");
      const char *eq = strchr(v, '=');
      source *s = &src[n_src++];
      memset(s, 0, sizeof *s);
      if (eq && eq != v) {
        char *name = strndup(v, (size_t)(eq - v));
        s->name = name;
        s->path = eq + 1;
      } else {
        s->path = v;
      }
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      out = v;
    } else if (!strcmp(a, "--state-out")) {
      state_out = v;
    } else if (!strcmp(a, "--trt-cache")) {
      trt = v;
    } else if (!strcmp(a, "--plugin")) {
      plugin = v;
    } else if (!strcmp(a, "--method")) {
      choice.methods = v;
    } else if (!strcmp(a, "--samples")) {
      if (cli_parse_u64(v, 1, UINT64_MAX, &max_samples)) return cli_usage("calibrate", "bad --samples '%s'", v);
    } else if (!strcmp(a, "--batch")) {
      if (cli_parse_u64(v, 1, 1 << 20, &batch)) return cli_usage("calibrate", "bad --batch '%s'", v);
    } else if (!strcmp(a, "--threads")) {
      uint64_t t;
      if (cli_parse_u64(v, 0, 1024, &t)) return cli_usage("calibrate", "bad --threads '%s'", v);
      threads = (uint32_t)t;
    } else if (!strcmp(a, "--bins")) {
      uint64_t b;
      if (cli_parse_u64(v, 8, 1 << 20, &b)) return cli_usage("calibrate", "bad --bins '%s'", v);
      bins = (uint32_t)b;
    } else if (!strcmp(a, "--entropy-bins") || !strcmp(a, "--entropy-levels")) {
      uint64_t b;
      if (cli_parse_u64(v, 2, 1 << 20, &b)) return cli_usage("calibrate", "bad %s '%s'", a, v);
      if (a[10] == 'b') choice.entropy_bins = (uint32_t)b;
      else choice.entropy_levels = (uint32_t)b;
    } else if (!strcmp(a, "--percentile")) {
      char *end;
      choice.percentile = strtod(v, &end);
      if (*end || !(choice.percentile > 50 && choice.percentile <= 100))
        return cli_usage("calibrate", "--percentile must be in (50, 100], got '%s'", v);
    } else if (!strcmp(a, "--shard")) {
      if (sscanf(v, "%llu/%llu", (unsigned long long *)&shard_k, (unsigned long long *)&shard_n) != 2 ||
          shard_n == 0 || shard_k >= shard_n)
        return cli_usage("calibrate", "--shard wants K/N with 0 <= K < N, got '%s'", v);
    } else if (!strcmp(a, "--image-size")) {
      if (sscanf(v, "%dx%d", &img.height, &img.width) != 2 || img.height <= 0 || img.width <= 0)
        return cli_usage("calibrate", "--image-size wants HxW, got '%s'", v);
    } else if (!strcmp(a, "--scale")) {
      char *end;
      img.scale = strtof(v, &end);
      if (*end || img.scale == 0) return cli_usage("calibrate", "bad --scale '%s'", v);
    } else if (!strcmp(a, "--mean")) {
      if (parse_floats3(v, img.mean)) return cli_usage("calibrate", "--mean wants A,B,C, got '%s'", v);
    } else if (!strcmp(a, "--std")) {
      if (parse_floats3(v, img.std)) return cli_usage("calibrate", "--std wants A,B,C, got '%s'", v);
    } else if (!strcmp(a, "--layout")) {
      if (strcmp(v, "nchw") && strcmp(v, "nhwc")) return cli_usage("calibrate", "--layout is nchw or nhwc, got '%s'", v);
      img.nhwc = !strcmp(v, "nhwc");
    } else if (!strcmp(a, "--channel-order")) {
      if (strcmp(v, "rgb") && strcmp(v, "bgr")) return cli_usage("calibrate", "--channel-order is rgb or bgr, got '%s'", v);
      img.bgr = !strcmp(v, "bgr");
    } else {
      return cli_usage("calibrate", "unknown option '%s'", a);
    }
  }
  if (!out && !state_out) return cli_usage("calibrate", "say where to write: -o TABLE.json or --state-out FILE");
  if (!model_path && !n_merge) return cli_usage("calibrate", "give a MODEL with --data, or --merge STATE...");
  if (model_path && !n_src) return cli_usage("calibrate", "give calibration data with --data");
  if (shard_n > 1 && !state_out)
    return cli_usage("calibrate", "--shard writes a partial state: add --state-out FILE");

  octet_error err = {0};
  octet_calibrator_options co = {.bins_per_side = bins};
  octet_calibrator *cal = NULL;
  octet_model *model = NULL;
  octet_session *sess = NULL;
  int rc = 1;
  if (octet_calibrator_create(&co, &cal, &err)) goto fail;
  for (size_t i = 0; i < n_merge; i++)
    if (octet_calibrator_merge_state(cal, merge[i], &err)) goto fail;

  if (model_path) {
    if (octet_model_load(model_path, NULL, &model, &err)) goto fail;
    octet_session_options so = {.n_threads = threads, .plugin_path = plugin,
                                .observer = octet_calibrator_observer, .observer_ctx = cal};
    if (octet_session_create(model, &so, &sess, &err)) goto fail;
    size_t n_in = octet_session_input_count(sess);
    if (n_in != n_src && !(n_src == 1 && n_in == 1)) {
      fprintf(stderr, "octet calibrate: the model has %zu inputs and %zu --data sources were given\n",
              n_in, n_src);
      goto out;
    }
    octet_tensor types[MAX_DATA];
    uint64_t total = UINT64_MAX;
    for (size_t s = 0; s < n_src; s++) {
      size_t k = 0;
      if (src[s].name) {
        for (k = 0; k < n_in && strcmp(octet_session_input_name(sess, k), src[s].name); k++) {}
        if (k == n_in) {
          fprintf(stderr, "octet calibrate: the model has no input named '%s'\n", src[s].name);
          goto out;
        }
      } else if (n_in != 1) {
        fprintf(stderr, "octet calibrate: the model has %zu inputs: write --data NAME=PATH\n", n_in);
        goto out;
      }
      src[s].input = k;
      const char *iname = octet_session_input_name(sess, k);
      char member[32];
      snprintf(member, sizeof member, "%zu", k);
      /* .npz members are named after the input; test-data folders are numbered */
      const char *mem = strstr(src[s].path, ".npz") ? iname : member;
      if (octet_dataset_open(src[s].path, mem, &img, &src[s].ds, &err)) goto fail;
      const char *nm;
      if (octet_model_input(model, k, &nm, &types[k], &err)) goto fail;
      uint64_t c = octet_dataset_count(src[s].ds);
      if (c < total) total = c;
    }
    if (max_samples && max_samples < total) total = max_samples;
    uint64_t first = total * shard_k / shard_n, last = total * (shard_k + 1) / shard_n;
    /* A fixed batch axis (say [1,3,48,192]) takes that many samples per run. */
    uint64_t step = batch;
    for (size_t s = 0; s < n_src; s++) {
      const octet_tensor *t = &types[src[s].input];
      if (t->rank > 0 && t->dims[0] > 0) step = (uint64_t)t->dims[0];
    }
    int tty = isatty(2);
    uint64_t last_line = 0;
    double t0 = cli_seconds();
    octet_tensor inputs[MAX_DATA], outputs[64];
    size_t n_out = octet_session_output_count(sess);
    if (n_out > 64) n_out = 64;
    for (uint64_t at = first; at < last;) {
      uint64_t n = last - at < step ? last - at : step;
      memset(inputs, 0, sizeof inputs);
      int bad = 0;
      for (size_t s = 0; s < n_src && !bad; s++) {
        size_t k = src[s].input;
        int32_t dt = types[k].dtype ? types[k].dtype : OCTET_DTYPE_FLOAT;
        bad = octet_dataset_read(src[s].ds, at, n, dt, &inputs[k], &err) != OCTET_OK;
        if (!bad) bad = octet_calibrator_observe(cal, octet_session_input_name(sess, k), &inputs[k], &err) != OCTET_OK;
      }
      if (!bad && octet_session_run(sess, inputs, n_in, outputs, n_out, &err)) {
        const octet_error *oe = octet_calibrator_last_error(cal);
        if (oe->status) err = *oe;
        bad = 1;
      }
      for (size_t k = 0; k < n_in; k++) octet_tensor_free(&inputs[k]);
      if (bad) goto fail;
      octet_calibrator_add_samples(cal, n);
      at += n;
      progress(at - first, last - first, t0, tty, &last_line);
    }
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
  for (size_t s = 0; s < n_src; s++) {
    octet_dataset_destroy(src[s].ds);
    free((char *)src[s].name);
  }
  octet_session_destroy(sess);
  octet_model_destroy(model);
  octet_calibrator_destroy(cal);
  return rc;
}
