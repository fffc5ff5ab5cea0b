/* main.c — the `octet` command: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "octet/octet.h"

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    printf("usage: octet <command> [options]\n");
    return argc < 2 ? 2 : 0;
  }
  fprintf(stderr, "octet: unknown command '%s'\n", argv[1]);
  return 2;
}
