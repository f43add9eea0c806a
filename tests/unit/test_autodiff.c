/* test_autodiff.c: pass_grad (passes/autodiff.c). Gradients of composite
 * functions are checked against central finite differences in float64 through
 * the interpreter: element-wise math, reductions, softmax, matmul, conv, max
 * pooling, pad/slice/transpose. Exact cases: ties of a max split the gradient,
 * a second derivative (the gradient graph differentiated again), an OPAQUE
 * node on the path is an error. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ir/ops.h"
#include "passes/passes.h"

typedef Node *(*Builder)(Graph *g, Node *x);

static double sum_of(const double *v, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += v[i];
  return s;
}

/* Build y = f(x) for x of the given shape, its gradient, and compare d(sum y)/dx with
 * central differences at x[i] = 1.4 sin(1.3 i + 0.2): no two equal, so no max has a tie (a kink). */
static void check_numeric(Builder f, int rank, const int64_t *dims, double tol) {
  Graph *g = ir_graph_new();
  Node *x = ir_input(g, "x", DT_F64, rank, dims);
  Node *y = f(g, x);
  Node **gr = pass_grad(g, y, NULL, 1, &x);
  ir_mark_output(g, y, "y");
  ir_mark_output(g, gr[0], "dx");
  int64_t n = x->numel;
  double *xv = ir_alloc(g, (size_t)n * sizeof(double));
  for (int64_t i = 0; i < n; i++) xv[i] = 1.4 * sin(1.3 * (double)i + 0.2);
  void *in[1] = {xv}, *out[2];
  ir_eval_graph(g, in, out);
  double *dx = ir_alloc(g, (size_t)n * sizeof(double));
  memcpy(dx, out[1], (size_t)n * sizeof(double));
  const double h = 1e-6;
  for (int64_t i = 0; i < n; i++) {
    double keep = xv[i];
    xv[i] = keep + h;
    ir_eval_graph(g, in, out);
    double up = sum_of(out[0], y->numel);
    xv[i] = keep - h;
    ir_eval_graph(g, in, out);
    double down = sum_of(out[0], y->numel);
    xv[i] = keep;
    double num = (up - down) / (2 * h);
    if (fabs(num - dx[i]) > tol * (1 + fabs(num))) fail_msg("dx[%lld] = %.9g, finite differences %.9g", (long long)i, dx[i], num);
  }
  ir_graph_free(g);
}

static Node *f_elementwise(Graph *g, Node *x) {
  Node *one = ir_scalar(g, DT_F64, 1.0);
  Node *a = ir_binary(g, MAP_DIV, ir_binary(g, MAP_MUL, ir_unary(g, MAP_TANH, x), ir_unary(g, MAP_EXP, ir_unary(g, MAP_SIN, x))),
                      ir_binary(g, MAP_ADD, one, ir_binary(g, MAP_MUL, x, x)));
  Node *b = ir_binary(g, MAP_MUL, ir_unary(g, MAP_SIGMOID, x), ir_unary(g, MAP_ERF, x));
  Node *c = ir_unary(g, MAP_SQRT, ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, x, x), one));
  Node *d = ir_binary(g, MAP_POW, ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, x, x), one), ir_unary(g, MAP_COS, x));
  Node *e = ir_binary(g, MAP_MAX, x, ir_scalar(g, DT_F64, 0.123)); /* no x equals 0.123 */
  Node *s = ir_binary(g, MAP_ADD, ir_binary(g, MAP_ADD, a, b), ir_binary(g, MAP_SUB, c, ir_binary(g, MAP_MUL, d, e)));
  return ir_binary(g, MAP_ADD, s, ir_unary(g, MAP_LOG, ir_binary(g, MAP_ADD, ir_unary(g, MAP_ABS, x), one)));
}

static Node *f_softmax_rows(Graph *g, Node *x) {
  Node *w = ir_unary(g, MAP_COS, x); /* weights so the sum is not constant */
  return ir_binary(g, MAP_MUL, ir_softmax(g, x, 1, false), w);
}

static Node *f_layout(Graph *g, Node *x) { /* pad, slice, transpose, reshape, broadcast */
  int64_t b[2] = {1, 0}, a[2] = {0, 2};
  Node *p = ir_pad(g, x, b, a, PAD_REFLECT, sc_f(0));
  int64_t st[2] = {1, 1}, step[2] = {1, 2}, len[2] = {3, 2};
  Node *s = ir_slice(g, p, st, step, len);
  int perm[2] = {1, 0};
  Node *t = ir_transpose(g, s, perm);
  int64_t r[1] = {6};
  Node *flat = ir_reshape(g, t, 1, r);
  return ir_binary(g, MAP_MUL, flat, ir_unary(g, MAP_EXP, flat));
}

static Node *f_matmul(Graph *g, Node *x) { /* x [3,4] @ W [4,2] and x^T x */
  double w[8] = {0.5, -1, 2, 0.25, -0.75, 1.5, 1, -2};
  int64_t dw[2] = {4, 2};
  Node *m = ir_matmul(g, x, ir_const(g, DT_F64, 2, dw, w));
  int perm[2] = {1, 0};
  Node *xtx = ir_matmul(g, ir_transpose(g, x, perm), x);
  int axes[2] = {0, 1};
  return ir_binary(g, MAP_ADD, ir_reduce(g, ir_unary(g, MAP_TANH, m), RED_ADD, 2, axes, false),
                   ir_reduce(g, ir_unary(g, MAP_SIN, xtx), RED_ADD, 2, axes, false));
}

static Node *f_conv_pool(Graph *g, Node *x) { /* x [1,2,5,5]: conv 3x3 pad 1, then 2x2 max pool */
  double w[36];
  for (int i = 0; i < 36; i++) w[i] = 0.1 * (double)((i * 5) % 9) - 0.4;
  int64_t dw[4] = {2, 2, 3, 3};
  WindowParams cp = {.nsp = 2, .kernel = {3, 3}, .stride = {1, 1}, .dilation = {1, 1}, .pad_begin = {1, 1},
                     .pad_end = {1, 1}, .group = 1};
  Node *y = ir_unary(g, MAP_TANH, ir_conv(g, x, ir_const(g, DT_F64, 4, dw, w), NULL, &cp));
  WindowParams pp = {.nsp = 2, .kernel = {2, 2}, .stride = {2, 2}, .dilation = {1, 1}, .group = 1};
  return ir_maxpool(g, y, &pp);
}

/* x [1,2,7,7]: conv 3x3, stride 2, dilation 2, pad (1,0): the inverted adjoint's divisibility and bounds */
static Node *f_conv_strided(Graph *g, Node *x) {
  double w[36];
  for (int i = 0; i < 36; i++) w[i] = 0.1 * (double)((i * 7) % 11) - 0.5;
  int64_t dw[4] = {2, 2, 3, 3};
  WindowParams cp = {.nsp = 2, .kernel = {3, 3}, .stride = {2, 2}, .dilation = {2, 2}, .pad_begin = {1, 0},
                     .pad_end = {1, 0}, .group = 1};
  return ir_unary(g, MAP_SIN, ir_conv(g, x, ir_const(g, DT_F64, 4, dw, w), NULL, &cp));
}

/* x [3,4]: products of rows (ReduceProd over axis 1) of x - c, where c makes element 5
 * exactly zero at check_numeric's point (one zero in row 1) and elements 8 and 10 too (two
 * zeros in row 2), while the derivative through them is still 1 */
static Node *f_prod(Graph *g, Node *x) {
  double c[12] = {0};
  for (int i = 5; i <= 10; i += i == 5 ? 3 : 2) c[i] = 1.4 * sin(1.3 * (double)i + 0.2);
  int64_t d[2] = {3, 4};
  Node *shift = ir_binary(g, MAP_SUB, x, ir_const(g, DT_F64, 2, d, c));
  int axis = 1;
  Node *p = ir_reduce(g, shift, RED_MUL, 1, &axis, false);
  int all = 0;
  return ir_reduce(g, ir_unary(g, MAP_SIN, p), RED_ADD, 1, &all, false);
}

static void test_elementwise(void **s) {
  (void)s;
  int64_t d[1] = {11};
  check_numeric(f_elementwise, 1, d, 1e-5);
}

static void test_softmax(void **s) {
  (void)s;
  int64_t d[2] = {3, 5};
  check_numeric(f_softmax_rows, 2, d, 1e-5);
}

static void test_layout(void **s) {
  (void)s;
  int64_t d[2] = {3, 4};
  check_numeric(f_layout, 2, d, 1e-5);
}

static void test_matmul(void **s) {
  (void)s;
  int64_t d[2] = {3, 4};
  check_numeric(f_matmul, 2, d, 1e-5);
}

static void test_conv_pool(void **s) {
  (void)s;
  int64_t d[4] = {1, 2, 5, 5};
  check_numeric(f_conv_pool, 4, d, 1e-5);
}

static void test_conv_strided(void **s) {
  (void)s;
  int64_t d[4] = {1, 2, 7, 7};
  check_numeric(f_conv_strided, 4, d, 1e-5);
}

static void test_prod(void **s) {
  (void)s;
  int64_t d[2] = {3, 4};
  check_numeric(f_prod, 2, d, 1e-5);
}

/* max of [1, 3, 3, 2]: the two 3s share the gradient */
static void test_max_ties_split(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[1] = {4};
  Node *x = ir_input(g, "x", DT_F64, 1, d);
  int axes[1] = {0};
  Node *y = ir_reduce(g, x, RED_MAX, 1, axes, false);
  Node **gr = pass_grad(g, y, NULL, 1, &x);
  ir_mark_output(g, gr[0], "dx");
  double xv[4] = {1, 3, 3, 2}, want[4] = {0, 0.5, 0.5, 0};
  void *in[1] = {xv}, *out[1];
  ir_eval_graph(g, in, out);
  assert_memory_equal(out[0], want, sizeof want);
  ir_graph_free(g);
}

/* d/dx of d/dx sum(x^3) is 6x: the gradient graph is differentiable */
static void test_second_derivative(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  int64_t d[1] = {5};
  Node *x = ir_input(g, "x", DT_F64, 1, d);
  Node *y = ir_binary(g, MAP_MUL, ir_binary(g, MAP_MUL, x, x), x);
  Node *g1 = pass_grad(g, y, NULL, 1, &x)[0];
  Node *g2 = pass_grad(g, g1, NULL, 1, &x)[0];
  ir_mark_output(g, g1, "g1");
  ir_mark_output(g, g2, "g2");
  double xv[5] = {-2, -0.5, 0, 1, 3};
  void *in[1] = {xv}, *out[2];
  ir_eval_graph(g, in, out);
  for (int i = 0; i < 5; i++) {
    assert_true(fabs(((double *)out[0])[i] - 3 * xv[i] * xv[i]) < 1e-12);
    assert_true(fabs(((double *)out[1])[i] - 6 * xv[i]) < 1e-12);
  }
  ir_graph_free(g);
}

/* y independent of x: zeros; an OPAQUE node on the path: an error naming it */
static void test_independent_and_opaque(void **s) {
  (void)s;
  Graph *g = ir_graph_new();
  jmp_buf jb;
  g->on_error = &jb;
  int64_t d[1] = {3};
  Node *x = ir_input(g, "x", DT_F64, 1, d), *z = ir_input(g, "z", DT_F64, 1, d);
  if (setjmp(jb) == 0) {
    Node *dz = pass_grad(g, ir_unary(g, MAP_EXP, x), NULL, 1, &z)[0];
    assert_int_equal(dz->numel, 3);
    Node *op = ir_opaque(g, "mystery", DT_F64, 1, d, 1, &x, NULL);
    pass_grad(g, ir_unary(g, MAP_EXP, op), NULL, 1, &x);
    fail_msg("no error for an opaque node");
  }
  assert_non_null(strstr(g->errmsg, "mystery"));
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_elementwise),
    cmocka_unit_test(test_softmax),
    cmocka_unit_test(test_layout),
    cmocka_unit_test(test_matmul),
    cmocka_unit_test(test_conv_pool),
      cmocka_unit_test(test_conv_strided),
      cmocka_unit_test(test_prod),
    cmocka_unit_test(test_max_ties_split),
    cmocka_unit_test(test_second_derivative),
    cmocka_unit_test(test_independent_and_opaque),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
