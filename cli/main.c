/* main.c — the `octet` command: one table of subcommands, each in its own cmd-*.c file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
  {"inspect", octet_cmd_inspect, "describe a model: inputs, outputs, ops, parameters"},
  {"run", octet_cmd_run, "run a model on inputs from .npy/.pb files"},
  {"calibrate", octet_cmd_calibrate, "record activation ranges over calibration data"},
  {"quantize", octet_cmd_quantize, "quantize a float model to int8 (QDQ) with calibration data"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: octet <command> [options]   (octet <command> --help for details)\n\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("octet %s\n", octet_version());
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "octet: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
