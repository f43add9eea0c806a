/* test_ops_string.c: string tensors (ir/ops_string.c, the DT_STRING paths of
 * graph.c, eval.c and dtype.c) and the string runtime copied into generated
 * files (runtime_stub/strings.h). Expected values follow ONNX's
 * StringNormalizer backend tests (stopwords dropped, an all-stopword input gives
 * one ""), and numpy's repr for float32 -> text (the shortest decimal that reads
 * back to the same float32). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/ops.h"
#include "runtime_stub/helpers.h"
#include "runtime_stub/strings.h"
#include "ops_test_util.h"

/* n strings as a dense DT_STRING buffer (8-byte slots) */
static void *slots(int n, const char *const *v) {
  void *buf = ir_alloc_array(g, (size_t)n, 8);
  for (int k = 0; k < n; k++) dt_store(buf, DT_STRING, k, (Scalar){0, (int64_t)(intptr_t)v[k]});
  return buf;
}

static const char *at(const void *buf, int64_t k) { return (const char *)(intptr_t)dt_load(buf, DT_STRING, k).i; }

static Node *const_strings(int rank, const int64_t *dims, int n, const char *const *v) {
  return ir_const(g, DT_STRING, rank, dims, slots(n, v));
}

static void expect_strings(const Node *n, int count, const char *const *want) {
  assert_int_equal(n->dtype, DT_STRING);
  assert_true(ir_is_const(n));
  assert_int_equal(n->numel, count);
  for (int k = 0; k < count; k++) assert_string_equal(at(n->data, k), want[k]);
}

/* ---- constants ---- */

static void test_const_owns_its_bytes(void **s) {
  (void)s;
  char text[8] = "monday";
  const char *v[1] = {text};
  int64_t d = 1;
  Node *c = const_strings(1, &d, 1, v);
  text[0] = 'M';
  assert_string_equal(at(c->data, 0), "monday");
}

/* ---- StringNormalizer, folded ---- */

static void test_normalize_stopwords_insensitive_upper(void **s) {
  (void)s;
  const char *v[4] = {"Monday", "tuesday", "MONDAY", "wednesday"}, *stop[1] = {"monday"};
  const char *want[2] = {"TUESDAY", "WEDNESDAY"};
  int64_t d[2] = {1, 4};
  Node *y = ir_string_normalize(g, const_strings(2, d, 4, v), STR_CASE_UPPER, false, 1, stop);
  expect_strings(y, 2, want);
  assert_int_equal(y->rank, 2);
  assert_int_equal(y->dims[0], 1);
  assert_int_equal(y->dims[1], 2);
}

static void test_normalize_stopwords_case_sensitive_lower(void **s) {
  (void)s;
  const char *v[3] = {"monday", "Monday", "TUESDAY\xc3\x89"}, *stop[1] = {"monday"};
  const char *want[2] = {"monday", "tuesday\xc3\x89"}; /* "Monday" kept, then lowered; UTF-8 bytes unchanged */
  int64_t d = 3;
  expect_strings(ir_string_normalize(g, const_strings(1, &d, 3, v), STR_CASE_LOWER, true, 1, stop), 2, want);
}

static void test_normalize_all_stopwords_gives_one_empty(void **s) {
  (void)s;
  const char *v[2] = {"monday", "MonDay"}, *stop[1] = {"MONDAY"}, *want[1] = {""};
  int64_t d = 2, d2[2] = {1, 2};
  Node *y = ir_string_normalize(g, const_strings(1, &d, 2, v), STR_CASE_NONE, false, 1, stop);
  expect_strings(y, 1, want);
  assert_int_equal(y->rank, 1);
  y = ir_string_normalize(g, const_strings(2, d2, 2, v), STR_CASE_UPPER, false, 1, stop);
  expect_strings(y, 1, want);
  assert_int_equal(y->rank, 2);
}

/* ---- StringNormalizer at run time ---- */

static void test_normalize_runtime_no_stopwords(void **s) {
  (void)s;
  int64_t d = 3;
  Node *x = ir_input(g, "x", DT_STRING, 1, &d);
  assert_ptr_equal(ir_string_normalize(g, x, STR_CASE_NONE, true, 0, NULL), x);
  Node *y = ir_string_normalize(g, x, STR_CASE_LOWER, false, 0, NULL);
  assert_int_equal(y->kind, NODE_OPAQUE);
  assert_string_equal(y->opaque_name, IR_STRING_CASE);
  assert_int_equal(*(const int *)y->opaque_attr, STR_CASE_LOWER);
  assert_int_equal(y->dtype, DT_STRING);
  assert_int_equal(y->numel, 3);
}

static void normalize_runtime_stopwords(void) {
  int64_t d = 3;
  const char *stop[1] = {"a"};
  ir_string_normalize(g, ir_input(g, "x", DT_STRING, 1, &d), STR_CASE_NONE, true, 1, stop);
}
static void test_normalize_runtime_stopwords_fails(void **s) {
  (void)s;
  expect_fail(normalize_runtime_stopwords, "with stopwords the output length depends on the input's values");
}

/* ---- strings move like any element ---- */

static void test_transpose_moves_strings(void **s) {
  (void)s;
  const char *v[6] = {"a", "b", "c", "d", "e", "f"}, *want[6] = {"a", "d", "b", "e", "c", "f"};
  int64_t d[2] = {2, 3};
  int perm[2] = {1, 0};
  Node *x = ir_input(g, "x", DT_STRING, 2, d);
  Node *y = ir_transpose(g, x, perm);
  ir_mark_output(g, y, "y");
  void *in[1] = {slots(6, v)}, *out[1];
  ir_eval_graph(g, in, out);
  for (int k = 0; k < 6; k++) assert_string_equal(at(out[0], k), want[k]);
}

/* Unique (over a constant, like the other value-shaped ops) orders strings by their bytes */
static void test_unique_strings(void **s) {
  (void)s;
  const char *v[4] = {"b", "\xc3\xa9", "a", "b"}, *want[3] = {"a", "b", "\xc3\xa9"};
  int64_t d = 4;
  Node *y, *counts;
  ir_unique(g, const_strings(1, &d, 4, v), false, 0, true, &y, NULL, NULL, &counts);
  expect_strings(ir_fold(g, y), 3, want);
  const int64_t *c = ir_fold(g, counts)->data;
  assert_true(c[0] == 1 && c[1] == 2 && c[2] == 1);
}

/* ---- Cast ---- */

static void test_cast_to_and_from_string(void **s) {
  (void)s;
  int64_t d[2] = {3, 4};
  Node *x = ir_input(g, "x", DT_F32, 2, d);
  Node *t = ir_cast(g, x, DT_STRING);
  assert_int_equal(t->kind, NODE_OPAQUE);
  assert_string_equal(t->opaque_name, IR_STRING_FORMAT);
  assert_int_equal(t->dtype, DT_STRING);
  Node *f = ir_cast(g, t, DT_F64);
  assert_string_equal(f->opaque_name, IR_STRING_PARSE);
  assert_int_equal(f->dtype, DT_F64);
  assert_ptr_equal(ir_cast(g, t, DT_STRING), t);
}

/* the interpreter runs the string kernels, so constant operands fold */
static void test_cast_folds_constants(void **s) {
  (void)s;
  float v[3] = {0.5f, NAN, -1e-7f};
  const char *want[3] = {"0.5", "NaN", "-1e-07"}, *text[3] = {"2.5", "-INF", "x"};
  int64_t d = 3;
  Node *t = ir_fold(g, ir_cast(g, ir_const(g, DT_F32, 1, &d, v), DT_STRING));
  expect_strings(t, 3, want);
  Node *f = ir_fold(g, ir_cast(g, const_strings(1, &d, 3, text), DT_F32));
  assert_true(ir_is_const(f));
  const float *got = f->data;
  assert_true(got[0] == 2.5f && isinf(got[1]) && got[1] < 0 && isnan(got[2]));
  Node *i = ir_fold(g, ir_cast(g, const_strings(1, &d, 3, text), DT_I32));
  const int32_t *gi = i->data;
  assert_true(gi[0] == 2 && gi[1] == 0 && gi[2] == 0);
}

/* ---- everything else refuses strings ---- */

static void add_strings(void) {
  int64_t d = 2;
  Node *a = ir_input(g, "a", DT_STRING, 1, &d);
  ir_binary(g, MAP_ADD, a, a);
}
static void sum_strings(void) {
  int64_t d = 2;
  int axes[1] = {0};
  ir_reduce(g, ir_input(g, "a", DT_STRING, 1, &d), RED_ADD, 1, axes, false);
}
static void test_string_operand_rejected(void **s) {
  (void)s;
  expect_fail(add_strings, "ADD of a string tensor is not supported");
  expect_fail(sum_strings, "of a string tensor is not supported");
}

/* ---- runtime_stub/strings.h ---- */

static void test_runtime_format(void **s) {
  (void)s;
  char t[32];
  /* test_cast_FLOAT_to_STRING's expected text (numpy repr of float32) */
  jtc_fmt_f32(t, 0.9767611f), assert_string_equal(t, "0.9767611");
  jtc_fmt_f32(t, 0.039187793f), assert_string_equal(t, "0.039187793");
  jtc_fmt_f32(t, 0.5f), assert_string_equal(t, "0.5");
  jtc_fmt_f32(t, 1e10f), assert_string_equal(t, "1e+10");
  jtc_fmt_f32(t, NAN), assert_string_equal(t, "NaN");
  jtc_fmt_f32(t, -INFINITY), assert_string_equal(t, "-INF");
  jtc_fmt_f64(t, 0.1), assert_string_equal(t, "0.1");
  jtc_fmt_f64(t, 1.0 / 3), assert_string_equal(t, "0.3333333333333333");
  jtc_fmt_i64(t, INT64_MIN), assert_string_equal(t, "-9223372036854775808");
  jtc_fmt_u64(t, UINT64_MAX), assert_string_equal(t, "18446744073709551615");
  for (int k = 0; k < 100000; k++) { /* round trip over a spread of float32 bit patterns */
    uint32_t bits = (uint32_t)k * 42943u + 12345u;
    float v;
    memcpy(&v, &bits, 4);
    if (isnan(v)) continue;
    jtc_fmt_f32(t, v);
    assert_true(jtc_parse_f32(t) == v);
  }
}

static void test_runtime_parse(void **s) {
  (void)s;
  assert_true(jtc_parse_f32("0.47892547") == 0.47892547f);
  assert_true(isinf(jtc_parse_f32("INF")) && jtc_parse_f32("+INF") > 0 && jtc_parse_f32("-INF") < 0);
  assert_true(isinf(jtc_parse_f32("inf")));
  assert_true(isnan(jtc_parse_f32("NaN")) && isnan(jtc_parse_f64("nan")));
  assert_true(isnan(jtc_parse_f32("monday")) && isnan(jtc_parse_f32("")));
  assert_true(jtc_parse_i64("-42") == -42 && jtc_parse_i64("x") == 0);
  assert_true(jtc_parse_u64("18446744073709551615") == UINT64_MAX);
  assert_true(jtc_parse_bool("1") == 1 && jtc_parse_bool("0.0") == 0 && jtc_parse_bool("yes") == 0);
}

static void test_runtime_store(void **s) {
  (void)s;
  char buf[8];
  jtc_strstore st = {buf, sizeof buf, 0};
  assert_string_equal(jtc_str_copy(&st, "Ab\xc3\x89z", 2), "AB\xc3\x89Z");
  assert_int_equal(st.used, 6);
  assert_string_equal(jtc_str_copy(&st, "xyz", 1), ""); /* 4 more bytes do not fit in 8 */
  assert_int_equal(st.used, 10);                        /* but are counted */
  assert_string_equal(jtc_str_copy(&st, "", 0), "");
  assert_int_equal(st.used, 11);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_const_owns_its_bytes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_normalize_stopwords_insensitive_upper, setup, teardown),
    cmocka_unit_test_setup_teardown(test_normalize_stopwords_case_sensitive_lower, setup, teardown),
    cmocka_unit_test_setup_teardown(test_normalize_all_stopwords_gives_one_empty, setup, teardown),
    cmocka_unit_test_setup_teardown(test_normalize_runtime_no_stopwords, setup, teardown),
    cmocka_unit_test_setup_teardown(test_normalize_runtime_stopwords_fails, setup, teardown),
    cmocka_unit_test_setup_teardown(test_transpose_moves_strings, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unique_strings, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cast_to_and_from_string, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cast_folds_constants, setup, teardown),
    cmocka_unit_test_setup_teardown(test_string_operand_rejected, setup, teardown),
    cmocka_unit_test(test_runtime_format),
    cmocka_unit_test(test_runtime_parse),
    cmocka_unit_test(test_runtime_store),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
