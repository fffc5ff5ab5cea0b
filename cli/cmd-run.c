/* cmd-run.c — `octet run`. */
#include <stdio.h>

#include "cli/cli.h"

int octet_cmd_run(int argc, char **argv) {
  fprintf(stderr, "octet run: not implemented yet\n");
  return 1;
}
