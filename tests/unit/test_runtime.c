/* test_runtime.c: the helpers copied into every generated file
 * (runtime_stub/helpers.h): NaN-propagating max/min and the integer division
 * helpers that avoid C's undefined cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "runtime_stub/helpers.h"

static void test_max_min_nan(void **s) {
  (void)s;
  assert_true(isnan(jtc_fmaxf(NAN, 1.0f)) && isnan(jtc_fmaxf(1.0f, NAN)));
  assert_true(isnan(jtc_fminf(NAN, 1.0f)) && isnan(jtc_fminf(1.0f, NAN)));
  assert_true(jtc_fmaxf(-1.0f, 2.0f) == 2.0f && jtc_fminf(-1.0f, 2.0f) == -1.0f);
}

static void test_floor_division(void **s) {
  (void)s;
  assert_int_equal(jtc_floordiv(-7, 2), -4);
  assert_int_equal(jtc_floormod(-7, 2), 1);
  assert_int_equal(jtc_floormod(7, -2), -1);
  assert_int_equal(jtc_floordiv(INT64_MIN, -1), INT64_MIN); /* wraps instead of trapping */
  assert_int_equal(jtc_idiv(5, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_max_min_nan),
    cmocka_unit_test(test_floor_division),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
