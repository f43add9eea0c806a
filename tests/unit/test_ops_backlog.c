/* test_ops_backlog.c: TopK, TfIdfVectorizer and the value-shaped ops (NonZero,
 * Unique, NonMaxSuppression) of ir/ops_backlog.c, evaluated by the reference
 * interpreter (ir_eval_graph). Expected values are ONNX's documented examples
 * (Operators.md and the backend-test generators) or worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/ops.h"
#include "ops_test_util.h"

/* ---- helpers ---- */

static Node *in_f32(const char *name, int rank, const int64_t *dims) { return ir_input(g, name, DT_F32, rank, dims); }

/* Mark the outputs, evaluate the graph on inputs, return output values in order. */
static void run(int n, Node *const *outs, void *const *inputs, void **vals)
{
  for (int k = 0; k < n; k++) ir_mark_output(g, outs[k], "y");
  void **all = ir_alloc_array(g, (size_t)g->noutputs, sizeof(void *));
  ir_eval_graph(g, inputs, all);
  for (int k = 0; k < n; k++) vals[k] = all[g->noutputs - n + k];
}

static void expect_f32(const float *got, const float *want, int64_t n)
{
  for (int64_t k = 0; k < n; k++)
    if (!(fabs((double)got[k] - (double)want[k]) <= 1e-6 * (1 + fabs((double)want[k])))) {
      print_error("element %lld: got %.8g, want %.8g\n", (long long)k, got[k], want[k]);
      fail();
    }
}

static void expect_i64(const int64_t *got, const int64_t *want, int64_t n)
{
  for (int64_t k = 0; k < n; k++)
    if (got[k] != want[k]) {
      print_error("element %lld: got %lld, want %lld\n", (long long)k, (long long)got[k], (long long)want[k]);
      fail();
    }
}

static void expect_shape(const Node *n, int rank, const int64_t *dims)
{
  assert_int_equal(n->rank, rank);
  for (int k = 0; k < rank; k++) assert_int_equal(n->dims[k], dims[k]);
}

/* ---- TopK ---- */

static void test_topk_onnx_example(void **s)
{
  (void)s;
  /* Operators.md: X = arange(12).reshape(3, 4), k = 3, axis = 1 */
  int64_t d[2] = {3, 4}, od[2] = {3, 3};
  float x[12];
  for (int k = 0; k < 12; k++) x[k] = (float)k;
  Node *v, *i;
  ir_topk(g, in_f32("x", 2, d), 1, 3, true, &v, &i);
  expect_shape(v, 2, od);
  expect_shape(i, 2, od);
  assert_int_equal(i->dtype, DT_I64);
  Node *outs[2] = {v, i};
  const void *in[1] = {x};
  void *got[2];
  run(2, outs, (void *const *)in, got);
  float wv[9] = {3, 2, 1, 7, 6, 5, 11, 10, 9};
  int64_t wi[9] = {3, 2, 1, 3, 2, 1, 3, 2, 1};
  expect_f32(got[0], wv, 9);
  expect_i64(got[1], wi, 9);
}

static void test_topk_ties_and_smallest(void **s)
{
  (void)s;
  /* equal values: the lower index comes first, largest and smallest alike */
  int64_t d[1] = {6};
  float x[6] = {1, 3, 3, 2, 3, 1};
  Node *xi = in_f32("x", 1, d);
  Node *lv, *li, *sv, *si;
  ir_topk(g, xi, 0, 4, true, &lv, &li);
  ir_topk(g, xi, 0, 3, false, &sv, &si);
  Node *outs[4] = {lv, li, sv, si};
  const void *in[1] = {x};
  void *got[4];
  run(4, outs, (void *const *)in, got);
  float wlv[4] = {3, 3, 3, 2}, wsv[3] = {1, 1, 2};
  int64_t wli[4] = {1, 2, 4, 3}, wsi[3] = {0, 5, 3};
  expect_f32(got[0], wlv, 4);
  expect_i64(got[1], wli, 4);
  expect_f32(got[2], wsv, 3);
  expect_i64(got[3], wsi, 3);
}

static void test_topk_axis0_int(void **s)
{
  (void)s;
  /* columns of [[5, 1], [7, 9], [6, 9]] along axis 0, k = 2 */
  int64_t d[2] = {3, 2};
  int32_t x[6] = {5, 1, 7, 9, 6, 9};
  Node *v, *i;
  ir_topk(g, ir_input(g, "x", DT_I32, 2, d), 0, 2, true, &v, &i);
  Node *outs[2] = {v, i};
  const void *in[1] = {x};
  void *got[2];
  run(2, outs, (void *const *)in, got);
  int32_t wv[4] = {7, 9, 6, 9};
  int64_t wi[4] = {1, 1, 2, 2};
  for (int k = 0; k < 4; k++) assert_int_equal(((int32_t *)got[0])[k], wv[k]);
  expect_i64(got[1], wi, 4);
}

static void topk_too_big(void)
{
  int64_t d[1] = {4};
  Node *v;
  ir_topk(g, in_f32("x", 1, d), 0, 5, true, &v, NULL);
}

static void test_topk_errors(void **s)
{
  (void)s;
  expect_fail(topk_too_big, "k = 5 is outside [1, 4]");
}

/* ---- TfIdfVectorizer ---- */

/* the backend tests' pool: unigrams 2 3 5 4, bigrams (5 6) (7 8) (6 7), columns 0..6 */
static const int64_t pool[10] = {2, 3, 5, 4, 5, 6, 7, 8, 6, 7};
static const int64_t counts[2] = {0, 4};
static const int64_t indexes[7] = {0, 1, 2, 3, 4, 5, 6};
static const int32_t words[12] = {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8};

static TfIdfParams tf_params(int64_t min_gram, int64_t max_gram, int64_t max_skip)
{
  TfIdfParams p = {TFIDF_TF, min_gram, max_gram, max_skip, 2, counts, 10, pool, 7, indexes, 0, NULL};
  return p;
}

static void test_tfidf_uni_and_bigrams_skip5(void **s)
{
  (void)s;
  /* tfidfvectorizer.py, tf_uniandbigrams_skip5: unigrams once, bigrams at distances 1..6
   * (7 8 occurs at positions (5,6), (8,11) and (5,11)) */
  int64_t d[1] = {12}, od[1] = {7};
  TfIdfParams p = tf_params(1, 2, 5);
  Node *y = ir_tfidf(g, ir_input(g, "x", DT_I32, 1, d), &p);
  expect_shape(y, 1, od);
  assert_int_equal(y->dtype, DT_F32);
  const void *in[1] = {words};
  void *got[1];
  run(1, &y, (void *const *)in, got);
  float want[7] = {0, 3, 1, 0, 1, 3, 1};
  expect_f32(got[0], want, 7);
}

static void test_tfidf_batch_bigrams_skip0(void **s)
{
  (void)s;
  /* tf_batch_onlybigrams_skip0: rows are separate, no n-gram crosses a row */
  int64_t d[2] = {2, 6}, od[2] = {2, 7};
  TfIdfParams p = tf_params(2, 2, 0);
  Node *y = ir_tfidf(g, ir_input(g, "x", DT_I32, 2, d), &p);
  expect_shape(y, 2, od);
  const void *in[1] = {words};
  void *got[1];
  run(1, &y, (void *const *)in, got);
  float want[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
  expect_f32(got[0], want, 14);
}

static void test_tfidf_weighted_modes(void **s)
{
  (void)s;
  /* counts of skip5 above are {0, 3, 1, 0, 1, 3, 1}; IDF gives w where count > 0, TFIDF count * w */
  int64_t d[1] = {12};
  double w[7] = {0.5, 2, 3, 4, 5, 6, 7};
  TfIdfParams p = tf_params(1, 2, 5);
  p.weights = w;
  p.nweights = 7;
  Node *x = ir_input(g, "x", DT_I32, 1, d);
  p.mode = TFIDF_IDF;
  Node *idf = ir_tfidf(g, x, &p);
  p.mode = TFIDF_TFIDF;
  Node *tfidf = ir_tfidf(g, x, &p);
  Node *outs[2] = {idf, tfidf};
  const void *in[1] = {words};
  void *got[2];
  run(2, outs, (void *const *)in, got);
  float want_idf[7] = {0, 2, 3, 0, 5, 6, 7}, want_tfidf[7] = {0, 6, 3, 0, 5, 18, 7};
  expect_f32(got[0], want_idf, 7);
  expect_f32(got[1], want_tfidf, 7);
}

static void tfidf_bad_pool(void)
{
  int64_t d[1] = {12};
  int64_t bad_counts[2] = {0, 5}; /* 5 bigram values: not a multiple of 2 */
  TfIdfParams p = tf_params(1, 2, 0);
  p.ngram_counts = bad_counts;
  ir_tfidf(g, ir_input(g, "x", DT_I32, 1, d), &p);
}

static void test_tfidf_errors(void **s)
{
  (void)s;
  expect_fail(tfidf_bad_pool, "5 pool values for 2-grams is not a multiple of 2");
}

/* ---- value-shaped ops over constants ---- */

static void test_nonzero(void **s)
{
  (void)s;
  /* Operators.md: [[1, 0], [1, 1]] -> [[0, 1, 1], [0, 0, 1]] */
  int64_t d[2] = {2, 2}, od[2] = {2, 3};
  float x[4] = {1, 0, 1, 1};
  Node *y = ir_nonzero(g, ir_const(g, DT_F32, 2, d, x));
  expect_shape(y, 2, od);
  int64_t want[6] = {0, 1, 1, 0, 0, 1};
  expect_i64(y->data, want, 6);
}

static void nonzero_runtime(void)
{
  int64_t d[1] = {3};
  ir_nonzero(g, in_f32("x", 1, d));
}

static void test_nonzero_runtime_input(void **s)
{
  (void)s;
  expect_fail(nonzero_runtime, "output shape depends on the values");
}

static void test_unique_not_sorted(void **s)
{
  (void)s;
  /* unique.py: [2, 1, 1, 3, 4, 3], sorted=0 */
  int64_t d[1] = {6};
  float x[6] = {2, 1, 1, 3, 4, 3};
  Node *y, *idx, *inv, *cnt;
  ir_unique(g, ir_const(g, DT_F32, 1, d, x), false, 0, false, &y, &idx, &inv, &cnt);
  float wy[4] = {2, 1, 3, 4};
  int64_t wi[4] = {0, 1, 3, 4}, winv[6] = {0, 1, 1, 2, 3, 2}, wc[4] = {1, 2, 2, 1};
  assert_int_equal(y->numel, 4);
  expect_f32(y->data, wy, 4);
  expect_i64(idx->data, wi, 4);
  expect_i64(inv->data, winv, 6);
  expect_i64(cnt->data, wc, 4);
}

static void test_unique_sorted_axis(void **s)
{
  (void)s;
  /* unique.py, sorted_with_axis_3d: x [2, 4, 2], axis 1 */
  int64_t d[3] = {2, 4, 2}, yd[3] = {2, 3, 2};
  float x[16] = {1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 1};
  Node *y, *idx, *inv, *cnt;
  ir_unique(g, ir_const(g, DT_F32, 3, d, x), true, 1, true, &y, &idx, &inv, &cnt);
  expect_shape(y, 3, yd);
  float wy[12] = {0, 1, 1, 1, 2, 1, 0, 1, 1, 1, 2, 1};
  int64_t wi[3] = {1, 0, 2}, winv[4] = {1, 0, 2, 0}, wc[3] = {2, 1, 1};
  expect_f32(y->data, wy, 12);
  expect_i64(idx->data, wi, 3);
  expect_i64(inv->data, winv, 4);
  expect_i64(cnt->data, wc, 3);
}

static void test_nms_suppress_by_iou(void **s)
{
  (void)s;
  /* nonmaxsuppression.py, suppress_by_IOU_and_scores: max 3, iou 0.5, score 0.4 */
  int64_t bd[3] = {1, 6, 4}, sd[3] = {1, 1, 6}, od[2] = {2, 3};
  float boxes[24] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101};
  float scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};
  Node *b = ir_const(g, DT_F32, 3, bd, boxes), *sc = ir_const(g, DT_F32, 3, sd, scores);
  Node *y = ir_nms(g, b, sc, 3, 0.5, true, 0.4, false);
  expect_shape(y, 2, od);
  int64_t want[6] = {0, 0, 3, 0, 0, 0};
  expect_i64(y->data, want, 6);
  /* without the score threshold the third pick is box 5 */
  Node *z = ir_nms(g, b, sc, 3, 0.5, false, 0, false);
  int64_t od3[2] = {3, 3}, want3[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
  expect_shape(z, 2, od3);
  expect_i64(z->data, want3, 9);
}

static void test_nms_center_format(void **s)
{
  (void)s;
  /* nonmaxsuppression.py, center_point_box_format: the same boxes as (x, y, w, h) */
  int64_t bd[3] = {1, 6, 4}, sd[3] = {1, 1, 6};
  float boxes[24] = {0.5f, 0.5f, 1, 1, 0.5f, 0.6f, 1, 1, 0.5f, 0.4f, 1, 1,
                     0.5f, 10.5f, 1, 1, 0.5f, 10.6f, 1, 1, 0.5f, 100.5f, 1, 1};
  float scores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};
  Node *y = ir_nms(g, ir_const(g, DT_F32, 3, bd, boxes), ir_const(g, DT_F32, 3, sd, scores), 3, 0.5, true, 0, true);
  int64_t od[2] = {3, 3}, want[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
  expect_shape(y, 2, od);
  expect_i64(y->data, want, 9);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_topk_onnx_example, setup, teardown),
    cmocka_unit_test_setup_teardown(test_topk_ties_and_smallest, setup, teardown),
    cmocka_unit_test_setup_teardown(test_topk_axis0_int, setup, teardown),
    cmocka_unit_test_setup_teardown(test_topk_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tfidf_uni_and_bigrams_skip5, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tfidf_batch_bigrams_skip0, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tfidf_weighted_modes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_tfidf_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nonzero, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nonzero_runtime_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unique_not_sorted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unique_sorted_axis, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nms_suppress_by_iou, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nms_center_format, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
