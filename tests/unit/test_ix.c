/* test_ix.c: index expressions: hash-consing, canonical sums, the
 * floor-division identities, affine summaries, ranges, range-based
 * simplification (checked by brute force over small domains) and printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ir/ir.h"

static Graph *g;
static int setup(void **s) { (void)s; g = ir_graph_new(); return 0; }
static int teardown(void **s) { (void)s; ir_graph_free(g); return 0; }

static const char *str(const Ix *e) {
  static char buf[256];
  ix_print(buf, sizeof buf, e);
  return buf;
}

#define V(k) ix_var(g, k)
#define C(v) ix_const(g, v)

static void test_hash_consing(void **s) {
  (void)s;
  assert_ptr_equal(V(0), V(0));
  Ix *a = ix_add(g, ix_mulc(g, V(1), 2), ix_addc(g, V(0), 3));
  Ix *b = ix_add(g, C(3), ix_add(g, V(0), ix_mul(g, C(2), V(1))));
  assert_ptr_equal(a, b);
  assert_string_equal(str(a), "i0+i1*2+3");
  assert_ptr_equal(ix_sub(g, a, a), C(0));
  assert_ptr_equal(ix_mul(g, V(2), C(1)), V(2));
  assert_ptr_equal(ix_add(g, V(2), C(0)), V(2));
}

static void test_printing(void **s) {
  (void)s;
  Ix *e = ix_add(g, ix_addc(g, ix_mulc(g, V(2), 2), -1), V(5));
  assert_string_equal(str(e), "i2*2+i5-1");
  assert_string_equal(str(ix_mod(g, ix_div(g, V(1), C(4)), C(3))), "i1/4%3");
  assert_string_equal(str(ix_sub(g, V(0), V(1))), "i0-i1");
  assert_string_equal(str(ix_cmp(g, IX_LT, V(0), C(3))), "(i0<3)");
}

static void test_affine_summary(void **s) {
  (void)s;
  Ix *e = ix_addc(g, ix_add(g, ix_mulc(g, V(0), 6), ix_mulc(g, V(3), -2)), 7);
  assert_true(e->affine);
  assert_int_equal(e->c0, 7);
  assert_int_equal(e->coef[0], 6);
  assert_int_equal(e->coef[3], -2);
  assert_int_equal(e->coef[1], 0);
  assert_int_equal(e->maxvar, 3);
  assert_false(ix_div(g, V(0), C(2))->affine);
  assert_true(ix_uses_var(e, 3));
  assert_false(ix_uses_var(e, 2));
}

static void test_floor_identities(void **s) {
  (void)s;
  /* (x/c)*c + x%c -> x, for any x */
  Ix *x = ix_add(g, V(0), ix_mulc(g, V(1), 5));
  Ix *e = ix_add(g, ix_mulc(g, ix_div(g, x, C(4)), 4), ix_mod(g, x, C(4)));
  assert_ptr_equal(e, x);
  /* ((x/c)%d)*c + x%c -> x%(c*d) */
  Ix *f = ix_add(g, ix_mulc(g, ix_mod(g, ix_div(g, V(2), C(3)), C(5)), 3), ix_mod(g, V(2), C(3)));
  assert_ptr_equal(f, ix_mod(g, V(2), C(15)));
  /* reshape round trip [6] -> [2,3] -> [6] */
  Ix *lin = ix_add(g, ix_mulc(g, ix_div(g, V(0), C(3)), 3), ix_mod(g, V(0), C(3)));
  assert_ptr_equal(lin, V(0));
  /* (q*c + r)/c, (q*c + r)%c with coefficient multiples */
  assert_ptr_equal(ix_div(g, ix_add(g, ix_mulc(g, V(0), 4), C(8)), C(4)), ix_addc(g, V(0), 2));
  assert_ptr_equal(ix_mod(g, ix_add(g, ix_mulc(g, V(0), 4), V(1)), C(4)), ix_mod(g, V(1), C(4)));
  assert_ptr_equal(ix_div(g, ix_div(g, V(0), C(2)), C(3)), ix_div(g, V(0), C(6)));
}

static void test_constant_folding_floor(void **s) {
  (void)s;
  assert_ptr_equal(ix_div(g, C(-7), C(2)), C(-4));
  assert_ptr_equal(ix_mod(g, C(-7), C(2)), C(1));
  assert_ptr_equal(ix_mod(g, C(7), C(-2)), C(-1));
  assert_ptr_equal(ix_cmp(g, IX_LT, ix_addc(g, V(0), 1), V(0)), C(0));
  assert_ptr_equal(ix_and(g, C(1), V(0)), V(0));
  assert_ptr_equal(ix_select(g, C(0), V(0), V(1)), V(1));
}

static void test_ranges(void **s) {
  (void)s;
  int64_t ext[3] = {4, 3, 10}, lo, hi;
  ix_range(ix_addc(g, ix_sub(g, ix_mulc(g, V(0), 2), V(1)), -1), ext, &lo, &hi);
  assert_int_equal(lo, -3);
  assert_int_equal(hi, 5);
  ix_range(ix_mod(g, V(2), C(4)), ext, &lo, &hi);
  assert_int_equal(lo, 0);
  assert_int_equal(hi, 3);
  ix_range(ix_div(g, ix_addc(g, V(2), -3), C(2)), ext, &lo, &hi);
  assert_int_equal(lo, -2);
  assert_int_equal(hi, 3);
}

/* Every simplification must agree with the original on every point of the domain. */
static void check_equiv(Ix *e, int n, const int64_t *ext) {
  Ix *s2 = ix_simplify(g, e, n, ext);
  int64_t v[IR_MAX_RANK] = {0};
  for (;;) {
    assert_int_equal(ix_eval(e, v), ix_eval(s2, v));
    int k = 0;
    while (k < n && ++v[k] == ext[k]) v[k++] = 0;
    if (k == n) break;
  }
}

static void test_simplify_equivalence(void **s) {
  (void)s;
  int64_t ext[3] = {3, 4, 5};
  check_equiv(ix_div(g, V(0), C(3)), 3, ext);
  check_equiv(ix_mod(g, V(1), C(4)), 3, ext);
  check_equiv(ix_div(g, ix_add(g, ix_mulc(g, V(0), 8), V(1)), C(4)), 3, ext);
  check_equiv(ix_mod(g, ix_addc(g, V(2), 5), C(5)), 3, ext);
  check_equiv(ix_min(g, V(0), C(7)), 3, ext);
  check_equiv(ix_max(g, ix_addc(g, V(1), -2), C(0)), 3, ext);
  check_equiv(ix_select(g, ix_cmp(g, IX_LT, V(2), C(9)), V(0), V(1)), 3, ext);
  check_equiv(ix_div(g, ix_addc(g, ix_sub(g, V(2), V(1)), -1), C(2)), 3, ext);
  check_equiv(ix_mod(g, ix_div(g, ix_add(g, ix_mulc(g, V(0), 20), ix_add(g, ix_mulc(g, V(1), 5), V(2))), C(5)), C(4)), 3, ext);
  /* exact results for the in-range rules */
  assert_ptr_equal(ix_simplify(g, ix_div(g, V(0), C(3)), 3, ext), C(0));
  assert_ptr_equal(ix_simplify(g, ix_mod(g, V(1), C(4)), 3, ext), V(1));
  assert_ptr_equal(ix_simplify(g, ix_min(g, V(0), C(7)), 3, ext), V(0));
  Ix *lin = ix_add(g, ix_mulc(g, V(0), 4), V(1)); /* i0*4+i1 with i1<4 */
  assert_ptr_equal(ix_simplify(g, ix_div(g, lin, C(4)), 3, ext), V(0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hash_consing),
    cmocka_unit_test(test_printing),
    cmocka_unit_test(test_affine_summary),
    cmocka_unit_test(test_floor_identities),
    cmocka_unit_test(test_constant_folding_floor),
    cmocka_unit_test(test_ranges),
    cmocka_unit_test(test_simplify_equivalence),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
