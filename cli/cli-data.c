/* cli-data.c — calibration-data options and progress for the subcommands that read data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli-data.h"
#include "cli/cli-util.h"

const char cli_data_usage[] =
  "Data: --data [NAME=]PATH, once per graph input (NAME may be left out for one-input models).\n"
  "  PATH is a .npy/.npz array (first axis = samples), a folder of .pb tensors or of ONNX\n"
  "  test-data sets (test_data_set_N/input_K.pb), or a folder of PNG/JPEG images.\n"
  "  --samples N            use the first N samples (default: all)\n"
  "  --batch N              samples per run when the batch axis is free (default 16)\n"
  "Images: --image-size HxW  --scale S (default 1/255)  --mean A,B,C  --std A,B,C\n"
  "        --layout nchw|nhwc (default nchw)  --channel-order rgb|bgr (default rgb)\n";

static int parse_floats3(const char *s, float v[3]) {
  char *end;
  for (int i = 0; i < 3; i++) {
    v[i] = strtof(s, &end);
    if (end == s || (i < 2 && *end != ',') || (i == 2 && *end)) return -1;
    s = end + 1;
  }
  return 0;
}

int cli_data_option(cli_data *d, const char *cmd, int argc, char **argv, int *i) {
  static const char *const opts[] = {"--data", "--samples", "--batch", "--image-size", "--scale",
                                     "--mean", "--std", "--layout", "--channel-order"};
  const char *a = argv[*i];
  size_t k = 0;
  while (k < sizeof opts / sizeof *opts && strcmp(a, opts[k])) k++;
  if (k == sizeof opts / sizeof *opts) return 0;
  if (*i + 1 >= argc) return cli_usage(cmd, "option %s needs a value", a);
  const char *v = argv[++*i];
  uint64_t u;
  char *end;
  switch (k) {
  case 0: {
    if (d->n == CLI_MAX_DATA) return cli_usage(cmd, "too many --data sources");
    const char *eq = strchr(v, '=');
    /* NAME=PATH unless the part before '=' looks like a path */
    if (eq && eq != v && !memchr(v, '/', (size_t)(eq - v))) {
      static char names[CLI_MAX_DATA][256];
      snprintf(names[d->n], sizeof names[d->n], "%.*s", (int)(eq - v), v);
      d->names[d->n] = names[d->n];
      d->paths[d->n++] = eq + 1;
    } else {
      d->names[d->n] = NULL;
      d->paths[d->n++] = v;
    }
    return 1;
  }
  case 1:
    if (cli_parse_u64(v, 1, UINT64_MAX, &u)) return cli_usage(cmd, "bad --samples '%s'", v);
    d->samples = u;
    return 1;
  case 2:
    if (cli_parse_u64(v, 1, 1 << 20, &u)) return cli_usage(cmd, "bad --batch '%s'", v);
    d->batch = u;
    return 1;
  case 3:
    if (sscanf(v, "%dx%d", &d->image.height, &d->image.width) != 2 || d->image.height <= 0 ||
        d->image.width <= 0)
      return cli_usage(cmd, "--image-size wants HxW, got '%s'", v);
    return 1;
  case 4:
    d->image.scale = strtof(v, &end);
    if (*end || d->image.scale == 0) return cli_usage(cmd, "bad --scale '%s'", v);
    return 1;
  case 5:
    if (parse_floats3(v, d->image.mean)) return cli_usage(cmd, "--mean wants A,B,C, got '%s'", v);
    return 1;
  case 6:
    if (parse_floats3(v, d->image.std)) return cli_usage(cmd, "--std wants A,B,C, got '%s'", v);
    return 1;
  case 7:
    if (strcmp(v, "nchw") && strcmp(v, "nhwc")) return cli_usage(cmd, "--layout is nchw or nhwc, got '%s'", v);
    d->image.nhwc = !strcmp(v, "nhwc");
    return 1;
  default:
    if (strcmp(v, "rgb") && strcmp(v, "bgr")) return cli_usage(cmd, "--channel-order is rgb or bgr, got '%s'", v);
    d->image.bgr = !strcmp(v, "bgr");
    return 1;
  }
}

octet_status cli_data_open(const cli_data *d, octet_session *s, octet_dataset **ds, uint64_t *total,
                           octet_error *err) {
  size_t n_in = octet_session_input_count(s);
  if (d->n != n_in)
    return cli_fail(err,
                             "the model has %zu inputs and %zu --data sources were given", n_in, d->n);
  uint64_t t = UINT64_MAX;
  for (size_t i = 0; i < d->n; i++) {
    size_t k = 0;
    if (d->names[i]) {
      while (k < n_in && strcmp(octet_session_input_name(s, k), d->names[i])) k++;
      if (k == n_in)
        return cli_fail(err, "the model has no input named '%s'",
                                 d->names[i]);
    } else if (n_in != 1) {
      return cli_fail(err,
                               "the model has %zu inputs: write --data NAME=PATH", n_in);
    }
    if (ds[k])
      return cli_fail(err, "input '%s' has two --data sources",
                               octet_session_input_name(s, k));
    char member[32];
    snprintf(member, sizeof member, "%zu", k);
    /* .npz members are named after the input; test-data folders are numbered */
    const char *mem = strstr(d->paths[i], ".npz") ? octet_session_input_name(s, k) : member;
    octet_status st = octet_dataset_open(d->paths[i], mem, &d->image, &ds[k], err);
    if (st) return st;
    uint64_t c = octet_dataset_count(ds[k]);
    if (c < t) t = c;
  }
  if (d->samples && d->samples < t) t = d->samples;
  *total = t;
  return OCTET_OK;
}

void cli_data_close(octet_dataset **ds, size_t n) {
  for (size_t i = 0; i < n; i++) octet_dataset_destroy(ds[i]);
}

void cli_progress_start(cli_progress *p, const char *label) {
  p->label = label;
  p->t0 = cli_seconds();
  p->tty = isatty(2);
  p->last_tenth = 0;
}

void cli_progress_update(void *ctx, uint64_t done, uint64_t total) {
  cli_progress *p = ctx;
  double el = cli_seconds() - p->t0, rate = el > 0 ? (double)done / el : 0;
  double eta = rate > 0 ? (double)(total - done) / rate : 0;
  if (p->tty) {
    int w = 30, fill = total ? (int)((double)w * (double)done / (double)total) : w;
    fprintf(stderr, "\r%s [%.*s%*s] %llu/%llu samples  %.1f samples/s  ETA %.0fs ", p->label, fill,
            "##############################", w - fill, "", (unsigned long long)done,
            (unsigned long long)total, rate, eta);
    if (done == total) fputc('\n', stderr);
  } else if (done == total || done * 10 / (total ? total : 1) > p->last_tenth) {
    p->last_tenth = done * 10 / (total ? total : 1);
    fprintf(stderr, "%s: %llu/%llu samples, %.1f samples/s\n", p->label, (unsigned long long)done,
            (unsigned long long)total, rate);
  }
}
