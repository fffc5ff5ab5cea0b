/* cli-data.h — calibration-data options shared by `octet calibrate` and `octet quantize`:
 * --data [NAME=]PATH, --samples, --batch and the image options, and a progress bar. */
#ifndef OCTET_CLI_DATA_H
#define OCTET_CLI_DATA_H

#include "octet/octet.h"

#define CLI_MAX_DATA 16

typedef struct cli_data {
  const char *names[CLI_MAX_DATA]; /* NULL: the model's only input */
  const char *paths[CLI_MAX_DATA];
  size_t n;
  uint64_t samples; /* 0: all */
  uint64_t batch;   /* 0: the input's fixed batch, else 16 */
  octet_image_options image;
} cli_data;

extern const char cli_data_usage[];

/* If argv[*i] is a data option, consumes it (and its value) and returns 1; returns 0 when it is
 * not one; prints a usage message and returns 2 on a bad value. */
int cli_data_option(cli_data *d, const char *cmd, int argc, char **argv, int *i);

/* Opens one dataset per session input (ds has octet_session_input_count entries, zeroed);
 * *total = samples available (limited by --samples). */
octet_status cli_data_open(const cli_data *d, octet_session *s, octet_dataset **ds, uint64_t *total,
                           octet_error *err);
void cli_data_close(octet_dataset **ds, size_t n);

/* A progress bar on a terminal, a line per 10 % otherwise. ctx: a cli_progress. */
typedef struct cli_progress {
  const char *label;
  double t0;
  int tty;
  uint64_t last_tenth;
} cli_progress;
void cli_progress_start(cli_progress *p, const char *label);
void cli_progress_update(void *p, uint64_t done, uint64_t total);

#endif
