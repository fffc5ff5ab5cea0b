/* error.c — formatting octet_error messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "octet/octet.h"

octet_status octet_fail(octet_error *err, octet_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

octet_status octet_fail_prefix(octet_error *err, const char *fmt, ...) {
  if (!err) return OCTET_STATUS_INTERNAL;
  char prefix[OCTET_ERROR_MESSAGE_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  char old[OCTET_ERROR_MESSAGE_SIZE];
  memcpy(old, err->message, sizeof old);
  old[sizeof old - 1] = 0;
  snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
  if (err->status == OCTET_OK) err->status = OCTET_STATUS_INTERNAL;
  return err->status;
}

void octet_error_clear(octet_error *err) {
  if (err) {
    err->status = OCTET_OK;
    err->message[0] = 0;
  }
}

const char *octet_status_name(octet_status status) {
  switch (status) {
  case OCTET_OK: return "ok";
  case OCTET_STATUS_INVALID_ARGUMENT: return "invalid argument";
  case OCTET_STATUS_INVALID_MODEL: return "invalid model";
  case OCTET_STATUS_UNSUPPORTED: return "unsupported";
  case OCTET_STATUS_OUT_OF_MEMORY: return "out of memory";
  case OCTET_STATUS_IO: return "i/o error";
  case OCTET_STATUS_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char *octet_version(void) { return "0.1.0"; }
