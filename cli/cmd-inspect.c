/* cmd-inspect.c — `octet inspect`. */
#include <stdio.h>

#include "cli/cli.h"

int octet_cmd_inspect(int argc, char **argv) {
  fprintf(stderr, "octet inspect: not implemented yet\n");
  return 1;
}
