/* test_runtime.c: the helpers copied into every generated file
 * (runtime_stub/helpers.h): jtc_expf against double-precision exp and at its
 * edges, NaN-propagating max/min, and the integer division helpers that
 * avoid C's undefined cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "runtime_stub/helpers.h"

static void test_expf_accuracy(void **s) {
  (void)s;
  double worst = 0;
  for (int i = 0; i <= 400000; i++) {
    float x = -87.0f + 175.6f * (float)i / 400000.0f;
    double want = exp((double)x), got = jtc_expf(x);
    double rel = fabs(got - want) / want;
    if (rel > worst) worst = rel;
  }
  /* float32 rounds to 2^-24 relative; allow 4 ulp (2^-21) */
  assert_true(worst < 0x1p-21);
  assert_true(jtc_expf(0.0f) == 1.0f);
}

static void test_expf_edges(void **s) {
  (void)s;
  assert_true(isnan(jtc_expf(NAN)));
  assert_true(isinf(jtc_expf(89.0f)) && jtc_expf(89.0f) > 0);
  assert_true(isinf(jtc_expf(INFINITY)));
  assert_true(jtc_expf(-INFINITY) == 0.0f);
  assert_true(jtc_expf(-100.0f) == 0.0f);
  assert_true(jtc_expf(-87.0f) > 0.0f && jtc_expf(88.5f) > 1e38f && !isinf(jtc_expf(88.5f)));
}

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
    cmocka_unit_test(test_expf_accuracy),
    cmocka_unit_test(test_expf_edges),
    cmocka_unit_test(test_max_min_nan),
    cmocka_unit_test(test_floor_division),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
