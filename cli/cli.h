/* cli.h — subcommands of the octet command. Each returns the process exit status:
 * 0 success, 1 the work failed (bad model, bad data), 2 bad usage (unknown option, missing file
 * argument). Messages go to stderr, prefixed "octet <command>: ". */
#ifndef OCTET_CLI_H
#define OCTET_CLI_H

#include "octet/octet.h"

int octet_cmd_inspect(int argc, char **argv);
int octet_cmd_run(int argc, char **argv);
int octet_cmd_calibrate(int argc, char **argv);
int octet_cmd_quantize(int argc, char **argv);

#endif
