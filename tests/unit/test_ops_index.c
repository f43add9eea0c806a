/* test_ops_index.c: the indexing constructors (ir/ops_index.c) evaluated by
 * the reference interpreter (ir_eval_graph). Expected values are ONNX's
 * documented examples, values worked out by hand, or a plain loop in the test
 * (naive matmul for einsum, the triangle rule for trilu). */
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

static Node *c_f32(int rank, const int64_t *dims, const float *v) { return ir_const(g, DT_F32, rank, dims, v); }
static Node *c_i64(int rank, const int64_t *dims, const int64_t *v) { return ir_const(g, DT_I64, rank, dims, v); }
static Node *in_f32(const char *name, int rank, const int64_t *dims) { return ir_input(g, name, DT_F32, rank, dims); }

/* Mark `out` as an output, evaluate the graph, return its value. */
static void *run(Node *out, void *const *inputs)
{
  ir_mark_output(g, out, "y");
  void **outs = ir_alloc_array(g, (size_t)g->noutputs, sizeof(void *));
  ir_eval_graph(g, inputs, outs);
  return outs[g->noutputs - 1];
}

static void expect_f32(const float *got, const float *want, int64_t n)
{
  for (int64_t k = 0; k < n; k++) {
    double d = fabs((double)got[k] - (double)want[k]);
    if (!(d <= 1e-5 * (1 + fabs((double)want[k])))) {
      print_error("element %lld: got %.8g, want %.8g\n", (long long)k, got[k], want[k]);
      fail();
    }
  }
}

static void expect_shape(const Node *n, int rank, const int64_t *dims)
{
  assert_int_equal(n->rank, rank);
  for (int k = 0; k < rank; k++) assert_int_equal(n->dims[k], dims[k]);
}

/* ---- gathers ---- */

static void test_gather_elements(void **s)
{
  (void)s;
  /* ONNX example: axis 1 */
  int64_t d22[2] = {2, 2};
  float x[4] = {1, 2, 3, 4};
  int64_t ind[4] = {0, 0, 1, 0};
  Node *xi = in_f32("x", 2, d22);
  Node *y = ir_gather_elements(g, xi, c_i64(2, d22, ind), 1);
  expect_shape(y, 2, d22);
  const void *in[1] = {x};
  float want[4] = {1, 1, 4, 3};
  expect_f32(run(y, (void *const *)in), want, 4);
}

static void test_gather_elements_negative(void **s)
{
  (void)s;
  /* ONNX example: axis 0, negative indices count from the end */
  int64_t d33[2] = {3, 3}, d23[2] = {2, 3};
  float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int64_t ind[6] = {-1, -2, 0, -2, 0, 0};
  Node *xi = in_f32("x", 2, d33);
  Node *y = ir_gather_elements(g, xi, c_i64(2, d23, ind), 0);
  expect_shape(y, 2, d23);
  const void *in[1] = {x};
  float want[6] = {7, 5, 3, 4, 2, 3};
  expect_f32(run(y, (void *const *)in), want, 6);
}

static void test_gather_nd(void **s)
{
  (void)s;
  int64_t d22[2] = {2, 2}, d2[1] = {2};
  float x[4] = {0, 1, 2, 3};
  int64_t ind[4] = {0, 0, 1, 1};
  Node *xi = in_f32("x", 2, d22);
  Node *y = ir_gather_nd(g, xi, c_i64(2, d22, ind), 0);
  expect_shape(y, 1, d2);
  const void *in[1] = {x};
  float want[2] = {0, 3};
  expect_f32(run(y, (void *const *)in), want, 2);
}

static void test_gather_nd_batch(void **s)
{
  (void)s;
  /* ONNX example: batch_dims 1; data [2,2,2], indices [[1],[0]] -> [[2,3],[4,5]] */
  int64_t d222[3] = {2, 2, 2}, d21[2] = {2, 1}, d22[2] = {2, 2};
  float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  int64_t ind[2] = {1, 0};
  Node *xi = in_f32("x", 3, d222);
  Node *y = ir_gather_nd(g, xi, c_i64(2, d21, ind), 1);
  expect_shape(y, 2, d22);
  const void *in[1] = {x};
  float want[4] = {2, 3, 4, 5};
  expect_f32(run(y, (void *const *)in), want, 4);
}

/* ---- scatters ---- */

/* ONNX's duplicate-indices example: data [[1,2,3,4,5]], indices [[1,1]], updates [[1.1,2.1]], axis 1 */
static Node *scatter_dup(Node *data, ReduceOp red)
{
  int64_t d12[2] = {1, 2};
  float upd[2] = {1.1f, 2.1f};
  int64_t ind[2] = {1, 1};
  return ir_scatter_elements(g, data, c_i64(2, d12, ind), c_f32(2, d12, upd), 1, red);
}

static void test_scatter_elements(void **s)
{
  (void)s;
  float x[5] = {1, 2, 3, 4, 5};
  const void *in[1] = {x};
  int64_t d15[2] = {1, 5};
  Node *data = in_f32("x", 2, d15);
  Node *none = scatter_dup(data, RED_ASSIGN), *add = scatter_dup(data, RED_ADD), *mul = scatter_dup(data, RED_MUL);
  ir_mark_output(g, none, "none");
  ir_mark_output(g, add, "add");
  ir_mark_output(g, mul, "mul");
  void *outs[3];
  ir_eval_graph(g, (void *const *)in, outs);
  float want_none[5] = {1, 2.1f, 3, 4, 5}; /* the last duplicate wins */
  float want_add[5] = {1, 2 + 1.1f + 2.1f, 3, 4, 5};
  float want_mul[5] = {1, 2 * 1.1f * 2.1f, 3, 4, 5};
  expect_f32(outs[0], want_none, 5);
  expect_f32(outs[1], want_add, 5);
  expect_f32(outs[2], want_mul, 5);
}

static void test_scatter_elements_axis0_negative(void **s)
{
  (void)s;
  /* data 3x3 zeros; indices [[1,0,2],[0,2,-2]] axis 0, updates [[1.0,1.1,1.2],[2.0,2.1,2.2]] */
  int64_t d33[2] = {3, 3}, d23[2] = {2, 3};
  float x[9] = {0};
  float upd[6] = {1.0f, 1.1f, 1.2f, 2.0f, 2.1f, 2.2f};
  int64_t ind[6] = {1, 0, 2, 0, 2, -2};
  Node *data = in_f32("x", 2, d33);
  Node *y = ir_scatter_elements(g, data, c_i64(2, d23, ind), c_f32(2, d23, upd), 0, RED_ASSIGN);
  const void *in[1] = {x};
  float want[9] = {2.0f, 1.1f, 0, 1.0f, 0, 2.2f, 0, 2.1f, 1.2f};
  expect_f32(run(y, (void *const *)in), want, 9);
}

static void test_scatter_nd(void **s)
{
  (void)s;
  /* ONNX example: data 1..8, indices [[4],[3],[1],[7]], updates [9,10,11,12] */
  int64_t d8[1] = {8}, d41[2] = {4, 1}, d4[1] = {4};
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float upd[4] = {9, 10, 11, 12};
  int64_t ind[4] = {4, 3, 1, 7};
  Node *data = in_f32("x", 1, d8);
  Node *y = ir_scatter_nd(g, data, c_i64(2, d41, ind), c_f32(1, d4, upd), RED_ASSIGN);
  const void *in[1] = {x};
  float want[8] = {1, 11, 3, 10, 9, 6, 7, 12};
  expect_f32(run(y, (void *const *)in), want, 8);
}

static void test_scatter_nd_slices_add(void **s)
{
  (void)s;
  /* data [3,2] of ones; indices [[0],[2],[0]] write whole rows; add sums duplicates */
  int64_t d32[2] = {3, 2}, d31[2] = {3, 1};
  float x[6] = {1, 1, 1, 1, 1, 1};
  float upd[6] = {1, 2, 3, 4, 5, 6};
  int64_t ind[3] = {0, 2, 0};
  Node *data = in_f32("x", 2, d32);
  Node *y = ir_scatter_nd(g, data, c_i64(2, d31, ind), c_f32(2, d32, upd), RED_ADD);
  const void *in[1] = {x};
  float want[6] = {1 + 1 + 5, 1 + 2 + 6, 1, 1, 1 + 3, 1 + 4};
  expect_f32(run(y, (void *const *)in), want, 6);
}

static Node *bad_scatter_nd(void)
{
  int64_t d8[1] = {8}, d41[2] = {4, 1}, d3[1] = {3};
  int64_t ind[4] = {0, 1, 2, 3};
  float upd[3] = {0};
  return ir_scatter_nd(g, in_f32("x", 1, d8), c_i64(2, d41, ind), c_f32(1, d3, upd), RED_ASSIGN);
}
static void do_bad_scatter_nd(void) { bad_scatter_nd(); }

static void do_bad_gather_elements(void)
{
  int64_t d22[2] = {2, 2}, d2[1] = {2};
  int64_t ind[2] = {0, 1};
  ir_gather_elements(g, in_f32("x", 2, d22), c_i64(1, d2, ind), 0);
}

static void test_index_errors(void **s)
{
  (void)s;
  expect_fail(do_bad_scatter_nd, "do not match");
  expect_fail(do_bad_gather_elements, "ranks must match");
}

/* ---- trilu, cumsum, eye ---- */

static void check_trilu(bool upper, int64_t k)
{
  ir_graph_free(g);
  g = ir_graph_new();
  int64_t d[3] = {2, 3, 4};
  float x[24], want[24];
  for (int j = 0; j < 24; j++) x[j] = (float)(j + 1);
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) {
        int o = (b * 3 + i) * 4 + j;
        bool keep = upper ? j - i >= k : j - i <= k;
        want[o] = keep ? x[o] : 0;
      }
  Node *xi = in_f32("x", 3, d);
  const void *in[1] = {x};
  expect_f32(run(ir_trilu(g, xi, upper, k), (void *const *)in), want, 24);
}

static void test_trilu(void **s)
{
  (void)s;
  check_trilu(true, 0);
  check_trilu(true, 1);
  check_trilu(true, -1);
  check_trilu(false, 0);
  check_trilu(false, 2);
  check_trilu(false, -5); /* nothing kept */
  check_trilu(true, -9);  /* everything kept */
}

static void test_cumsum(void **s)
{
  (void)s;
  int64_t d5[1] = {5};
  float x[5] = {1, 2, 3, 4, 5};
  Node *xi = in_f32("x", 1, d5);
  Node *ys[4] = {ir_cumsum(g, xi, 0, false, false), ir_cumsum(g, xi, 0, true, false),
                 ir_cumsum(g, xi, 0, false, true), ir_cumsum(g, xi, 0, true, true)};
  for (int k = 0; k < 4; k++) ir_mark_output(g, ys[k], "y");
  void *outs[4];
  const void *in[1] = {x};
  ir_eval_graph(g, (void *const *)in, outs);
  float w0[5] = {1, 3, 6, 10, 15}, w1[5] = {0, 1, 3, 6, 10}, w2[5] = {15, 14, 12, 9, 5}, w3[5] = {14, 12, 9, 5, 0};
  expect_f32(outs[0], w0, 5);
  expect_f32(outs[1], w1, 5);
  expect_f32(outs[2], w2, 5);
  expect_f32(outs[3], w3, 5);
}

static void test_cumsum_2d_int(void **s)
{
  (void)s;
  int64_t d23[2] = {2, 3};
  int32_t x[6] = {1, 2, 3, 4, 5, 6};
  Node *xi = ir_input(g, "x", DT_I32, 2, d23);
  const void *in[1] = {x};
  const int32_t *y = run(ir_cumsum(g, xi, 0, false, false), (void *const *)in);
  int32_t want[6] = {1, 2, 3, 5, 7, 9};
  for (int k = 0; k < 6; k++) assert_int_equal(y[k], want[k]);
}

static void test_eye(void **s)
{
  (void)s;
  Node *e = ir_eye(g, DT_I32, 3, 4, 1);
  int64_t d34[2] = {3, 4};
  expect_shape(e, 2, d34);
  const int32_t *y = run(e, NULL);
  int32_t want[12] = {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
  for (int k = 0; k < 12; k++) assert_int_equal(y[k], want[k]);
}

/* ---- one-hot, reverse-sequence, hardmax ---- */

static void test_one_hot(void **s)
{
  (void)s;
  /* indices [0, -1, 3, 1] depth 3, values [off=2, on=5]; 3 is out of range: all off */
  int64_t d4[1] = {4}, d2[1] = {2};
  int64_t ind[4] = {0, -1, 3, 1};
  float vals[2] = {2, 5};
  Node *ii = ir_input(g, "i", DT_I64, 1, d4);
  Node *y = ir_one_hot(g, ii, 3, c_f32(1, d2, vals), 1);
  int64_t d43[2] = {4, 3};
  expect_shape(y, 2, d43);
  Node *t = ir_one_hot(g, ii, 3, c_f32(1, d2, vals), 0); /* axis 0: the transpose */
  int64_t d34[2] = {3, 4};
  expect_shape(t, 2, d34);
  ir_mark_output(g, y, "y");
  ir_mark_output(g, t, "t");
  void *outs[2];
  const void *in[1] = {ind};
  ir_eval_graph(g, (void *const *)in, outs);
  float want[12] = {5, 2, 2, 2, 2, 5, 2, 2, 2, 2, 5, 2};
  float want_t[12] = {5, 2, 2, 2, 2, 2, 2, 5, 2, 5, 2, 2};
  expect_f32(outs[0], want, 12);
  expect_f32(outs[1], want_t, 12);
}

static void test_reverse_sequence(void **s)
{
  (void)s;
  /* ONNX example: time_axis 0, batch_axis 1, lens [4, 3, 2, 1] */
  int64_t d44[2] = {4, 4}, d4[1] = {4};
  float x[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  int64_t lens[4] = {4, 3, 2, 1};
  Node *xi = in_f32("x", 2, d44);
  Node *y = ir_reverse_sequence(g, xi, c_i64(1, d4, lens), 1, 0);
  const void *in[1] = {x};
  float want[16] = {3, 6, 9, 12, 2, 5, 8, 13, 1, 4, 10, 14, 0, 7, 11, 15};
  expect_f32(run(y, (void *const *)in), want, 16);
}

static void test_hardmax(void **s)
{
  (void)s;
  /* ties pick the first maximum */
  int64_t d24[2] = {2, 4};
  float x[8] = {3, 0, 1, 3, 0, 2, 2, 1};
  Node *xi = in_f32("x", 2, d24);
  Node *a1 = ir_hardmax(g, xi, 1), *a0 = ir_hardmax(g, xi, 0);
  ir_mark_output(g, a1, "a1");
  ir_mark_output(g, a0, "a0");
  void *outs[2];
  const void *in[1] = {x};
  ir_eval_graph(g, (void *const *)in, outs);
  float w1[8] = {1, 0, 0, 0, 0, 1, 0, 0};
  float w0[8] = {1, 0, 0, 1, 0, 1, 1, 0};
  expect_f32(outs[0], w1, 8);
  expect_f32(outs[1], w0, 8);
}

/* ---- einsum ---- */

static void fill(float *v, int n, int seed)
{
  for (int k = 0; k < n; k++) v[k] = (float)((k * 7 + seed * 3) % 11) - 5.0f;
}

static void test_einsum_matmul(void **s)
{
  (void)s;
  int64_t da[3] = {2, 3, 4}, db[3] = {2, 4, 5};
  float a[24], b[40], want[30], want_ik[15] = {0};
  fill(a, 24, 1);
  fill(b, 40, 2);
  for (int n = 0; n < 2; n++)
    for (int i = 0; i < 3; i++)
      for (int k = 0; k < 5; k++) {
        float acc = 0;
        for (int j = 0; j < 4; j++) acc += a[(n * 3 + i) * 4 + j] * b[(n * 4 + j) * 5 + k];
        want[(n * 3 + i) * 5 + k] = acc;
        want_ik[i * 5 + k] += acc;
      }
  Node *xs[2] = {in_f32("a", 3, da), in_f32("b", 3, db)};
  Node *explicit_ = ir_einsum(g, "bij, bjk -> bik", 2, xs);
  Node *implicit = ir_einsum(g, "bij,bjk", 2, xs); /* implicit output: letters used once, sorted: ik */
  int64_t dy[3] = {2, 3, 5};
  expect_shape(explicit_, 3, dy);
  expect_shape(implicit, 2, dy + 1);
  ir_mark_output(g, explicit_, "e");
  ir_mark_output(g, implicit, "i");
  void *outs[2];
  const void *in[2] = {a, b};
  ir_eval_graph(g, (void *const *)in, outs);
  expect_f32(outs[0], want, 30);
  expect_f32(outs[1], want_ik, 15);
}

static void test_einsum_diagonal_ellipsis(void **s)
{
  (void)s;
  /* "...ii->...i": batch of diagonals; "...ij->...ji": transpose; "ij->": sum */
  int64_t d[3] = {2, 3, 3};
  float x[18], wd[6], wt[18], wsum = 0;
  fill(x, 18, 3);
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 3; i++) {
      wd[b * 3 + i] = x[(b * 3 + i) * 3 + i];
      for (int j = 0; j < 3; j++) wt[(b * 3 + j) * 3 + i] = x[(b * 3 + i) * 3 + j];
    }
  for (int k = 0; k < 18; k++) wsum += x[k];
  Node *xi = in_f32("x", 3, d);
  Node *diag = ir_einsum(g, "...ii->...i", 1, &xi);
  Node *tr = ir_einsum(g, "...ij->...ji", 1, &xi);
  Node *sum = ir_einsum(g, "bij->", 1, &xi);
  int64_t dd[2] = {2, 3};
  expect_shape(diag, 2, dd);
  expect_shape(sum, 0, NULL);
  ir_mark_output(g, diag, "d");
  ir_mark_output(g, tr, "t");
  ir_mark_output(g, sum, "s");
  void *outs[3];
  const void *in[1] = {x};
  ir_eval_graph(g, (void *const *)in, outs);
  expect_f32(outs[0], wd, 6);
  expect_f32(outs[1], wt, 18);
  expect_f32(outs[2], &wsum, 1);
}

static void test_einsum_broadcast_inner(void **s)
{
  (void)s;
  /* "...i,...i->..." with ellipsis dims [2,1] and [3] broadcasting to [2,3] */
  int64_t da[3] = {2, 1, 4}, db[2] = {3, 4};
  float a[8], b[12], want[6];
  fill(a, 8, 4);
  fill(b, 12, 5);
  for (int p = 0; p < 2; p++)
    for (int q = 0; q < 3; q++) {
      float acc = 0;
      for (int i = 0; i < 4; i++) acc += a[p * 4 + i] * b[q * 4 + i];
      want[p * 3 + q] = acc;
    }
  Node *xs[2] = {in_f32("a", 3, da), in_f32("b", 2, db)};
  Node *y = ir_einsum(g, "...i,...i->...", 2, xs);
  int64_t dy[2] = {2, 3};
  expect_shape(y, 2, dy);
  const void *in[2] = {a, b};
  expect_f32(run(y, (void *const *)in), want, 6);
}

static Node *einsum_xs[2];
static void do_einsum_bad_char(void) { ir_einsum(g, "ij,j1->i", 2, einsum_xs); }
static void do_einsum_bad_rank(void) { ir_einsum(g, "ijk,j->i", 2, einsum_xs); }
static void do_einsum_bad_extent(void) { ir_einsum(g, "ij,i->j", 2, einsum_xs); }

static void test_einsum_errors(void **s)
{
  (void)s;
  int64_t d23[2] = {2, 3}, d3[1] = {3};
  einsum_xs[0] = in_f32("a", 2, d23);
  einsum_xs[1] = in_f32("b", 1, d3);
  expect_fail(do_einsum_bad_char, "unexpected character '1'");
  expect_fail(do_einsum_bad_rank, "does not fit operand 0");
  expect_fail(do_einsum_bad_extent, "letter 'i' has extent 3");
}

/* ---- compress ---- */

static void test_compress(void **s)
{
  (void)s;
  int64_t d32[2] = {3, 2}, d3[1] = {3}, d5[1] = {5};
  float x[6] = {1, 2, 3, 4, 5, 6};
  bool c0[3] = {false, true, true}, c1[5] = {false, true, false, false, true};
  Node *xi = in_f32("x", 2, d32);
  Node *a0 = ir_compress(g, xi, ir_const(g, DT_BOOL, 1, d3, c0), 0);
  Node *flat = ir_compress(g, xi, ir_const(g, DT_BOOL, 1, d5, c1), -1);
  int64_t d22[2] = {2, 2}, d2[1] = {2};
  expect_shape(a0, 2, d22);
  expect_shape(flat, 1, d2);
  ir_mark_output(g, a0, "a0");
  ir_mark_output(g, flat, "flat");
  void *outs[2];
  const void *in[1] = {x};
  ir_eval_graph(g, (void *const *)in, outs);
  float w0[4] = {3, 4, 5, 6}, w1[2] = {2, 5};
  expect_f32(outs[0], w0, 4);
  expect_f32(outs[1], w1, 2);
}

static void do_compress_runtime(void)
{
  int64_t d3[1] = {3};
  ir_compress(g, in_f32("x", 1, d3), ir_input(g, "c", DT_BOOL, 1, d3), 0);
}

static void test_compress_runtime_condition(void **s)
{
  (void)s;
  expect_fail(do_compress_runtime, "computed at run time");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_gather_elements, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gather_elements_negative, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gather_nd, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gather_nd_batch, setup, teardown),
    cmocka_unit_test_setup_teardown(test_scatter_elements, setup, teardown),
    cmocka_unit_test_setup_teardown(test_scatter_elements_axis0_negative, setup, teardown),
    cmocka_unit_test_setup_teardown(test_scatter_nd, setup, teardown),
    cmocka_unit_test_setup_teardown(test_scatter_nd_slices_add, setup, teardown),
    cmocka_unit_test_setup_teardown(test_index_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_trilu, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cumsum, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cumsum_2d_int, setup, teardown),
    cmocka_unit_test_setup_teardown(test_eye, setup, teardown),
    cmocka_unit_test_setup_teardown(test_one_hot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reverse_sequence, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hardmax, setup, teardown),
    cmocka_unit_test_setup_teardown(test_einsum_matmul, setup, teardown),
    cmocka_unit_test_setup_teardown(test_einsum_diagonal_ellipsis, setup, teardown),
    cmocka_unit_test_setup_teardown(test_einsum_broadcast_inner, setup, teardown),
    cmocka_unit_test_setup_teardown(test_einsum_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_compress, setup, teardown),
    cmocka_unit_test_setup_teardown(test_compress_runtime_condition, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
