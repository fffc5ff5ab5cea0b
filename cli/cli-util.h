/* cli-util.h — small helpers the subcommands share: usage errors, number parsing, clocks. */
#ifndef OCTET_CLI_UTIL_H
#define OCTET_CLI_UTIL_H

#include <stdint.h>

#include "octet/octet.h"

/* Prints "octet <cmd>: <message>" and a hint to stderr; returns 2 (usage error). */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses a decimal integer in [lo, hi]; non-zero on anything else. */
int cli_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Fills err with OCTET_STATUS_INVALID_ARGUMENT and the message; returns that status. */
octet_status cli_fail(octet_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Monotonic seconds. */
double cli_seconds(void);

#endif
