/* alloc.c — the one allocator, with a failure-injection hook for tests. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static _Atomic uint64_t fail_countdown;

void octet_alloc_fail_after(uint64_t n) { atomic_store(&fail_countdown, n); }

static bool should_fail(void) {
  uint64_t n = atomic_load(&fail_countdown);
  while (n != 0) {
    if (atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) return n == 1;
  }
  return false;
}

void *octet_malloc(size_t size) { return should_fail() ? NULL : malloc(size ? size : 1); }
void *octet_calloc(size_t count, size_t size) {
  return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}
void *octet_realloc(void *ptr, size_t size) {
  return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}
void octet_free(void *ptr) { free(ptr); }

char *octet_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = octet_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
