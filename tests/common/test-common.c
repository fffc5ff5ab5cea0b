/* test-common.c — the shared helpers: errors, allocator hook, arena, dtype table, half floats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/common.h"

static void error_messages_are_formatted_and_prefixed(void **s) {
  octet_error err = {0};
  assert_int_equal(octet_fail(&err, OCTET_STATUS_INVALID_MODEL, "tensor '%s' is bad", "w"),
                   OCTET_STATUS_INVALID_MODEL);
  octet_fail_prefix(&err, "node '%s'", "conv1");
  assert_string_equal(err.message, "node 'conv1': tensor 'w' is bad");
  assert_int_equal(err.status, OCTET_STATUS_INVALID_MODEL);
}

static void allocation_failure_can_be_injected(void **s) {
  octet_alloc_fail_after(2);
  void *a = octet_malloc(8);
  void *b = octet_malloc(8);
  void *c = octet_malloc(8);
  assert_non_null(a);
  assert_null(b);
  assert_non_null(c);
  octet_free(a);
  octet_free(c);
}

static void arena_allocations_are_zeroed_aligned_and_survive_big_blocks(void **s) {
  octet_arena *a = octet_arena_create();
  char *small = octet_arena_alloc(a, 3);
  char *big = octet_arena_alloc(a, 1 << 20);
  char *after = octet_arena_strdup(a, "hello");
  assert_true(((uintptr_t)small & 15) == 0);
  assert_true(((uintptr_t)big & 15) == 0);
  assert_int_equal(big[12345], 0);
  assert_string_equal(after, "hello");
  octet_arena_destroy(a);
  octet_arena_destroy(NULL);
}

static void dtype_table_matches_onnx_numbers(void **s) {
  assert_int_equal(octet_dtype_size(OCTET_DTYPE_FLOAT), 4);
  assert_int_equal(octet_dtype_size(OCTET_DTYPE_INT64), 8);
  assert_int_equal(octet_dtype_size(OCTET_DTYPE_BFLOAT16), 2);
  assert_string_equal(octet_dtype_name(2), "uint8");
  assert_null(octet_dtype_get(99));
  assert_null(octet_dtype_get(-1));
}

static void shape_numel_rejects_overflow_and_negative_dims(void **s) {
  size_t n;
  int64_t ok[3] = {2, 3, 4}, neg[2] = {2, -1}, huge[3] = {INT64_MAX, INT64_MAX, 2};
  assert_true(octet_shape_numel(ok, 3, &n));
  assert_int_equal(n, 24);
  assert_false(octet_shape_numel(neg, 2, &n));
  assert_false(octet_shape_numel(huge, 3, &n));
  assert_true(octet_shape_numel(ok, 0, &n));
  assert_int_equal(n, 1);
}

static void half_and_bfloat16_round_trip_and_round_to_even(void **s) {
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = octet_half_to_float((uint16_t)h);
    if (f != f) continue; /* NaN payloads need not survive */
    assert_int_equal(octet_float_to_half(f), h);
  }
  assert_int_equal(octet_float_to_half(1.0f + 1.0f / 2048), 0x3c00); /* tie: to even */
  assert_int_equal(octet_float_to_half(65520.0f), 0x7c00);           /* overflow: inf */
  assert_true(octet_bf16_to_float(octet_float_to_bf16(3.0f)) == 3.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(error_messages_are_formatted_and_prefixed),
    cmocka_unit_test(allocation_failure_can_be_injected),
    cmocka_unit_test(arena_allocations_are_zeroed_aligned_and_survive_big_blocks),
    cmocka_unit_test(dtype_table_matches_onnx_numbers),
    cmocka_unit_test(shape_numel_rejects_overflow_and_negative_dims),
    cmocka_unit_test(half_and_bfloat16_round_trip_and_round_to_even),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
