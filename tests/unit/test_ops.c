/* test_ops.c: the op constructors (ops_*.c) and the reference interpreter
 * (eval.c). Each test builds a small graph from ir_input/ir_const and a
 * constructor, evaluates it with ir_eval_graph, and compares with values
 * written by hand or computed by a plain loop in the test (a naive conv, a
 * direct scatter loop for conv-transpose, PyTorch's pooling formulas). */
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
static Node *c_f32(int rank, const int64_t *dims, const float *v) { return ir_const(g, DT_F32, rank, dims, v); }

/* Deterministic values in [-1, 1). */
static void fill_rand(float *v, int64_t n, uint32_t seed)
{
  for (int64_t k = 0; k < n; k++) {
    seed = seed * 1664525u + 1013904223u;
    v[k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

/* Mark `out` as an output, evaluate the graph, return its value. */
static void *run(Node *out, void *const *inputs)
{
  ir_mark_output(g, out, "y");
  void **outs = ir_alloc_array(g, (size_t)g->noutputs, sizeof(void *));
  ir_eval_graph(g, inputs, outs);
  return outs[g->noutputs - 1];
}

static void expect_f32(const float *got, const float *want, int64_t n, double tol)
{
  for (int64_t k = 0; k < n; k++) {
    double d = fabs((double)got[k] - (double)want[k]);
    if (!(d <= tol * (1 + fabs((double)want[k])))) {
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

/* ---- eval: MAP semantics ---- */

static void test_eval_map_semantics(void **s)
{
  (void)s;
  int64_t d4[1] = {4};
  int32_t a[4] = {7, -7, 7, -7}, b[4] = {2, 2, -2, -2};
  Node *ca = ir_const(g, DT_I32, 1, d4, a), *cb = ir_const(g, DT_I32, 1, d4, b);
  int32_t *dv = run(ir_binary(g, MAP_DIV, ca, cb), NULL);
  int32_t *md = run(ir_binary(g, MAP_MOD, ca, cb), NULL);
  int32_t *fm = run(ir_binary(g, MAP_FMOD, ca, cb), NULL);
  int32_t want_div[4] = {3, -3, -3, 3}, want_mod[4] = {1, 1, -1, -1}, want_fmod[4] = {1, -1, 1, -1};
  for (int k = 0; k < 4; k++) {
    assert_int_equal(dv[k], want_div[k]);
    assert_int_equal(md[k], want_mod[k]);
    assert_int_equal(fm[k], want_fmod[k]);
  }
  float fa[4] = {7.5f, -7.5f, 1e-8f, NAN}, fb[4] = {2, 2, 1, 3};
  Node *xa = c_f32(1, d4, fa), *xb = c_f32(1, d4, fb);
  float *fmod_f = run(ir_binary(g, MAP_MOD, xa, xb), NULL);
  assert_true(fmod_f[0] == 1.5f && fmod_f[1] == 0.5f);
  float *mx = run(ir_binary(g, MAP_MAX, xa, xb), NULL);
  assert_true(isnan(mx[3])); /* NaN propagates, as numpy.maximum (ONNX's reference) */
  /* float32 math is done in float: 1 + 1e-8 rounds to 1 */
  float *ad = run(ir_binary(g, MAP_SUB, ir_binary(g, MAP_ADD, xa, xb), xb), NULL);
  assert_true(ad[2] == 0.0f);
  /* uint64 compares unsigned; casts truncate toward zero */
  uint64_t ua[1] = {UINT64_MAX}, ub[1] = {1};
  int64_t d1[1] = {1};
  uint8_t *lt = run(ir_binary(g, MAP_LT, ir_const(g, DT_U64, 1, d1, ua), ir_const(g, DT_U64, 1, d1, ub)), NULL);
  assert_int_equal(lt[0], 0);
  int32_t *ci = run(ir_cast(g, xa, DT_I32), NULL);
  assert_int_equal(ci[0], 7);
  assert_int_equal(ci[1], -7);
  assert_int_equal(ci[3], 0);
  uint8_t *isn = run(ir_unary(g, MAP_ISNAN, xa), NULL);
  assert_int_equal(isn[3], 1);
  assert_int_equal(isn[0], 0);
}

static void test_fold(void **s)
{
  (void)s;
  int64_t d2[1] = {2};
  float a[2] = {1, 2}, b[2] = {10, 20};
  Node *m = ir_binary(g, MAP_ADD, c_f32(1, d2, a), c_f32(1, d2, b));
  Node *f = ir_fold(g, m);
  assert_true(ir_is_const(f));
  assert_true(((float *)f->data)[1] == 22);
  g->max_const_fold = 1;
  assert_ptr_equal(ir_fold(g, m), m);
  Node *x = in_f32("x", 1, d2);
  g->max_const_fold = 100;
  Node *mx = ir_binary(g, MAP_ADD, x, x);
  assert_ptr_equal(ir_fold(g, mx), mx);
}

/* ---- ops_math.c ---- */

static void test_broadcast_add(void **s)
{
  (void)s;
  int64_t da[3] = {2, 1, 3}, db[2] = {4, 1};
  float a[6] = {1, 2, 3, 4, 5, 6}, b[4] = {10, 20, 30, 40};
  Node *x = in_f32("a", 3, da), *y = in_f32("b", 2, db);
  Node *z = ir_binary(g, MAP_ADD, x, y);
  int64_t dz[3] = {2, 4, 3};
  expect_shape(z, 3, dz);
  void *ins[2] = {a, b};
  float *r = run(z, ins);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 3; k++) assert_true(r[(i * 4 + j) * 3 + k] == a[i * 3 + k] + b[j]);
  /* rank-0 scalar */
  float *r2 = run(ir_binary(g, MAP_MUL, x, ir_scalar(g, DT_F32, 2)), ins);
  for (int k = 0; k < 6; k++) assert_true(r2[k] == 2 * a[k]);
  int rank;
  int64_t dims[IR_MAX_RANK], e1[1] = {3}, e2[1] = {4};
  assert_false(ir_broadcast_shape(1, e1, 1, e2, &rank, dims));
}

static Node *g_a, *g_b;
static void bad_binary(void) { ir_binary(g, MAP_ADD, g_a, g_b); }

static void test_binary_errors(void **s)
{
  (void)s;
  int64_t d[1] = {3}, d4[1] = {4};
  g_a = in_f32("a", 1, d);
  g_b = ir_input(g, "b", DT_I32, 1, d);
  expect_fail(bad_binary, "float32 and int32");
  g_b = in_f32("c", 1, d4);
  expect_fail(bad_binary, "[3] and [4] do not broadcast");
}

static void test_activations(void **s)
{
  (void)s;
  int64_t d[1] = {7};
  float x[7] = {-30, -2, -0.5f, 0, 0.5f, 2, 30};
  void *ins[1] = {x};
  Node *in = in_f32("x", 1, d);
  float *relu = run(ir_relu(g, in), ins);
  float *elu = run(ir_elu(g, in, 0.7), ins);
  float *selu = run(ir_selu(g, in, 1.6732632, 1.0507010), ins);
  float *hs = run(ir_hard_swish(g, in), ins);
  float *sp = run(ir_softplus(g, in), ins);
  float *ge = run(ir_gelu(g, in, false), ins);
  float *gt = run(ir_gelu(g, in, true), ins);
  float *lr = run(ir_leaky_relu(g, in, 0.1), ins);
  float lo = -1, hi = 1;
  float *cl = run(ir_clip(g, in, c_f32(0, NULL, &lo), c_f32(0, NULL, &hi)), ins);
  for (int k = 0; k < 7; k++) {
    double v = x[k];
    float w[9] = {
      (float)(v > 0 ? v : 0),
      (float)(v < 0 ? 0.7 * (exp(v) - 1) : v),
      (float)(1.0507010 * (v <= 0 ? 1.6732632 * exp(v) - 1.6732632 : v)),
      (float)(v * fmax(0, fmin(1, v / 6 + 0.5))),
      (float)log1p(exp(v)),
      (float)(0.5 * v * (1 + erf(v / sqrt(2)))),
      (float)(0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))),
      (float)(v < 0 ? 0.1 * v : v),
      (float)fmin(1, fmax(-1, v)),
    };
    float got[9] = {relu[k], elu[k], selu[k], hs[k], sp[k], ge[k], gt[k], lr[k], cl[k]};
    expect_f32(got, w, 9, 1e-5);
  }
}

/* ---- ops_layout.c ---- */

static void test_reshape(void **s)
{
  (void)s;
  int64_t d[3] = {2, 3, 4}, d2[2] = {4, 6}, d3[1] = {24}, d4[4] = {3, 1, 2, 4};
  float x[24];
  for (int k = 0; k < 24; k++) x[k] = (float)k;
  void *ins[1] = {x};
  Node *in = in_f32("x", 3, d);
  Node *r1 = ir_reshape(g, in, 2, d2);
  expect_shape(r1, 2, d2);
  float *a = run(r1, ins);
  float *b = run(ir_reshape(g, in, 1, d3), ins);
  float *c = run(ir_reshape(g, ir_reshape(g, in, 2, d2), 4, d4), ins);
  float *e = run(ir_reshape(g, ir_reshape(g, in, 1, d3), 3, d), ins);
  expect_f32(a, x, 24, 0);
  expect_f32(b, x, 24, 0);
  expect_f32(c, x, 24, 0);
  expect_f32(e, x, 24, 0);
  assert_ptr_equal(ir_reshape(g, in, 3, d), in);
  /* size-1 dims and rank 0 */
  int64_t d5[3] = {3, 1, 8}, d6[4] = {1, 24, 1, 1}, one[1] = {1};
  float *f = run(ir_reshape(g, ir_reshape(g, ir_reshape(g, in, 3, d5), 4, d6), 3, d), ins);
  expect_f32(f, x, 24, 0);
  float v = 5;
  Node *sc = c_f32(0, NULL, &v);
  float *r0 = run(ir_reshape(g, ir_reshape(g, sc, 1, one), 0, NULL), ins);
  assert_true(*r0 == 5);
}

static void test_transpose(void **s)
{
  (void)s;
  int64_t d[3] = {2, 3, 4};
  float x[24];
  fill_rand(x, 24, 1);
  void *ins[1] = {x};
  int perm[3] = {2, 0, 1};
  Node *t = ir_transpose(g, in_f32("x", 3, d), perm);
  int64_t dt[3] = {4, 2, 3};
  expect_shape(t, 3, dt);
  float *r = run(t, ins);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 2; j++)
      for (int k = 0; k < 3; k++) assert_true(r[(i * 2 + j) * 3 + k] == x[(j * 3 + k) * 4 + i]);
}

static void test_slice_negative_step(void **s)
{
  (void)s;
  int64_t d[2] = {5, 4};
  float x[20];
  for (int k = 0; k < 20; k++) x[k] = (float)k;
  void *ins[1] = {x};
  int64_t start[2] = {4, 1}, step[2] = {-2, 2}, len[2] = {3, 2};
  float *r = run(ir_slice(g, in_f32("x", 2, d), start, step, len), ins);
  float want[6] = {17, 19, 9, 11, 1, 3};
  expect_f32(r, want, 6, 0);
}

static void test_pad_modes(void **s)
{
  (void)s;
  int64_t d[1] = {3};
  float x[3] = {1, 2, 3};
  void *ins[1] = {x};
  Node *in = in_f32("x", 1, d);
  int64_t b[1] = {2}, a[1] = {3};
  float *rf = run(ir_pad(g, in, b, a, PAD_REFLECT, sc_f(0)), ins);
  float *ed = run(ir_pad(g, in, b, a, PAD_EDGE, sc_f(0)), ins);
  float *wr = run(ir_pad(g, in, b, a, PAD_WRAP, sc_f(0)), ins);
  float *co = run(ir_pad(g, in, b, a, PAD_CONSTANT, sc_f(9)), ins);
  float w_rf[8] = {3, 2, 1, 2, 3, 2, 1, 2}, w_ed[8] = {1, 1, 1, 2, 3, 3, 3, 3};
  float w_wr[8] = {2, 3, 1, 2, 3, 1, 2, 3}, w_co[8] = {9, 9, 1, 2, 3, 9, 9, 9};
  expect_f32(rf, w_rf, 8, 0);
  expect_f32(ed, w_ed, 8, 0);
  expect_f32(wr, w_wr, 8, 0);
  expect_f32(co, w_co, 8, 0);
  /* reflect wider than the axis keeps reflecting (numpy): pad 5 on [1,2,3] */
  int64_t b5[1] = {5};
  float *rw = run(ir_pad(g, in, b5, b5, PAD_REFLECT, sc_f(0)), ins);
  float w_rw[13] = {2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
  expect_f32(rw, w_rw, 13, 0);
  /* 2-D: crop one row at the top, edge-pad one column each side */
  int64_t d2[2] = {3, 2};
  float y[6] = {1, 2, 3, 4, 5, 6};
  void *ins2[2] = {x, y};
  int64_t b2[2] = {-1, 1}, a2[2] = {0, 1};
  Node *p = ir_pad(g, in_f32("y", 2, d2), b2, a2, PAD_EDGE, sc_f(0));
  int64_t dp[2] = {2, 4};
  expect_shape(p, 2, dp);
  float *r2 = run(p, ins2);
  float w2[8] = {3, 3, 4, 4, 5, 5, 6, 6};
  expect_f32(r2, w2, 8, 0);
}

static void test_concat3(void **s)
{
  (void)s;
  int64_t d0[2] = {2, 1}, d1[2] = {2, 3}, d2[2] = {2, 2};
  float a[2] = {1, 2}, b[6] = {10, 11, 12, 13, 14, 15}, c[4] = {20, 21, 22, 23};
  Node *xs[3] = {in_f32("a", 2, d0), in_f32("b", 2, d1), in_f32("c", 2, d2)};
  Node *y = ir_concat(g, 3, xs, 1);
  int64_t dy[2] = {2, 6};
  expect_shape(y, 2, dy);
  void *ins[3] = {a, b, c};
  float *r = run(y, ins);
  float want[12] = {1, 10, 11, 12, 20, 21, 2, 13, 14, 15, 22, 23};
  expect_f32(r, want, 12, 0);
  /* axis 0 with an empty input in the middle */
  int64_t de[2] = {0, 1};
  Node *ys[3] = {xs[0], in_f32("e", 2, de), xs[0]};
  float e[1] = {0};
  void *ins2[4] = {a, b, c, e};
  float *r2 = run(ir_concat(g, 3, ys, 0), ins2);
  float want2[4] = {1, 2, 1, 2};
  expect_f32(r2, want2, 4, 0);
}

static void test_gather_axis(void **s)
{
  (void)s;
  int64_t dx[2] = {3, 4}, di[2] = {2, 2};
  float x[12];
  for (int k = 0; k < 12; k++) x[k] = (float)k;
  int64_t idx[4] = {0, -1, 2, 5}; /* -1 wraps to the last; 5 is out of range: reads 0 */
  Node *in = in_f32("x", 2, dx);
  Node *ii = ir_input(g, "i", DT_I64, 2, di);
  void *ins[2] = {x, idx};
  Node *y0 = ir_gather_axis(g, in, ii, 0);
  int64_t d0[3] = {2, 2, 4};
  expect_shape(y0, 3, d0);
  float *r0 = run(y0, ins);
  for (int q = 0; q < 4; q++)
    for (int j = 0; j < 4; j++) {
      int64_t row = idx[q] < 0 ? idx[q] + 3 : idx[q];
      float want = row >= 0 && row < 3 ? x[row * 4 + j] : 0;
      assert_true(r0[q * 4 + j] == want);
    }
  /* axis 1 (= -1) with constant int32 indices */
  int32_t ci[2] = {-4, 3};
  int64_t dc[1] = {2};
  float *r1 = run(ir_gather_axis(g, in, ir_const(g, DT_I32, 1, dc, ci), -1), ins);
  float want1[6] = {0, 3, 4, 7, 8, 11};
  expect_f32(r1, want1, 6, 0);
}

/* ---- ops_reduce.c ---- */

static void test_reduce_keepdims(void **s)
{
  (void)s;
  int64_t d[3] = {2, 3, 4};
  float x[24];
  fill_rand(x, 24, 7);
  void *ins[1] = {x};
  Node *in = in_f32("x", 3, d);
  int axes[2] = {0, 2};
  Node *k1 = ir_reduce(g, in, RED_ADD, 2, axes, true);
  Node *k0 = ir_reduce(g, in, RED_ADD, 2, axes, false);
  int64_t dk[3] = {1, 3, 1}, dn[1] = {3};
  expect_shape(k1, 3, dk);
  expect_shape(k0, 1, dn);
  float *a = run(k1, ins), *b = run(k0, ins);
  float *mx = run(ir_reduce(g, in, RED_MAX, 1, &axes[1], false), ins);
  float *mean = run(ir_reduce_mean(g, in, 2, axes, false), ins);
  for (int j = 0; j < 3; j++) {
    double sum = 0;
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++) sum += x[(i * 3 + j) * 4 + k];
    float w[3] = {(float)sum, (float)sum, (float)(sum / 8)};
    float got[3] = {a[j], b[j], mean[j]};
    expect_f32(got, w, 3, 1e-5);
  }
  for (int r = 0; r < 6; r++) {
    float m = -INFINITY;
    for (int k = 0; k < 4; k++) m = fmaxf(m, x[r * 4 + k]);
    assert_true(mx[r] == m);
  }
  assert_ptr_equal(ir_reduce(g, in, RED_ADD, 0, NULL, true), in);
}

static void test_reduce_int(void **s)
{
  (void)s;
  int64_t d[2] = {2, 3};
  int32_t x[6] = {5, -7, 2, INT32_MAX, 1, 3};
  uint8_t b[6] = {0, 1, 0, 0, 0, 0};
  Node *in = ir_const(g, DT_I32, 2, d, x);
  int ax0 = 0, ax1 = 1;
  int32_t *sum = run(ir_reduce(g, in, RED_ADD, 1, &ax1, false), NULL);
  int32_t *mx = run(ir_reduce(g, in, RED_MAX, 1, &ax0, true), NULL);
  int32_t *mn = run(ir_reduce(g, in, RED_MIN, 1, &ax1, false), NULL);
  uint8_t *any = run(ir_reduce(g, ir_const(g, DT_BOOL, 2, d, b), RED_OR, 1, &ax1, false), NULL);
  assert_int_equal(sum[0], 0);
  assert_int_equal(sum[1], INT32_MIN + 3); /* wraps like C */
  assert_int_equal(mx[0], INT32_MAX);
  assert_int_equal(mx[1], 1);
  assert_int_equal(mx[2], 3);
  assert_int_equal(mn[0], -7);
  assert_int_equal(mn[1], 1);
  assert_int_equal(any[0], 1);
  assert_int_equal(any[1], 0);
}

static void test_softmax(void **s)
{
  (void)s;
  int64_t d[2] = {3, 5};
  float x[15];
  fill_rand(x, 15, 3);
  x[0] = 80; /* large values must not overflow */
  void *ins[1] = {x};
  Node *in = in_f32("x", 2, d);
  float *sm = run(ir_softmax(g, in, 1, false), ins);
  float *ls = run(ir_softmax(g, in, -1, true), ins);
  for (int r = 0; r < 3; r++) {
    double sum = 0;
    for (int k = 0; k < 5; k++) {
      sum += sm[r * 5 + k];
      float l = logf(sm[r * 5 + k]);
      if (sm[r * 5 + k] > 1e-30f) expect_f32(&ls[r * 5 + k], &l, 1, 1e-5);
    }
    assert_true(fabs(sum - 1) < 1e-5);
  }
  /* along axis 0 the columns sum to 1 */
  float *s0 = run(ir_softmax(g, in, 0, false), ins);
  for (int k = 0; k < 5; k++) assert_true(fabs(s0[k] + s0[5 + k] + s0[10 + k] - 1) < 1e-5);
}

static void test_batchnorm(void **s)
{
  (void)s;
  int64_t d[4] = {2, 3, 2, 2}, dc[1] = {3};
  float x[24], sc[3] = {1, 2, 0.5f}, bi[3] = {0, 1, -1}, mu[3] = {0.1f, -0.2f, 0.3f}, var[3] = {1, 0.5f, 2};
  fill_rand(x, 24, 11);
  void *ins[1] = {x};
  Node *y = ir_batchnorm(g, in_f32("x", 4, d), c_f32(1, dc, sc), c_f32(1, dc, bi), c_f32(1, dc, mu),
                         c_f32(1, dc, var), 1e-5);
  float *r = run(y, ins);
  for (int k = 0; k < 24; k++) {
    int c = (k / 4) % 3;
    float want = (float)((x[k] - mu[c]) / sqrt(var[c] + 1e-5) * sc[c] + bi[c]);
    expect_f32(&r[k], &want, 1, 1e-5);
  }
}

static void test_layernorm(void **s)
{
  (void)s;
  int64_t d[3] = {2, 3, 4}, ds[2] = {3, 4};
  float x[24], sc[12], bi[12];
  fill_rand(x, 24, 5);
  fill_rand(sc, 12, 6);
  fill_rand(bi, 12, 9);
  void *ins[1] = {x};
  Node *in = in_f32("x", 3, d);
  float *r = run(ir_layernorm(g, in, c_f32(2, ds, sc), c_f32(2, ds, bi), 1, 1e-5), ins);
  float *r2 = run(ir_layernorm(g, in, c_f32(1, &ds[1], sc), NULL, -1, 1e-5), ins);
  for (int n = 0; n < 2; n++) {
    double m = 0, v = 0;
    for (int k = 0; k < 12; k++) m += x[n * 12 + k];
    m /= 12;
    for (int k = 0; k < 12; k++) v += (x[n * 12 + k] - m) * (x[n * 12 + k] - m);
    v /= 12;
    for (int k = 0; k < 12; k++) {
      float want = (float)((x[n * 12 + k] - m) / sqrt(v + 1e-5) * sc[k] + bi[k]);
      expect_f32(&r[n * 12 + k], &want, 1, 1e-4);
    }
  }
  for (int row = 0; row < 6; row++) {
    double m = 0, v = 0;
    for (int k = 0; k < 4; k++) m += x[row * 4 + k];
    m /= 4;
    for (int k = 0; k < 4; k++) v += (x[row * 4 + k] - m) * (x[row * 4 + k] - m);
    v /= 4;
    for (int k = 0; k < 4; k++) {
      float want = (float)((x[row * 4 + k] - m) / sqrt(v + 1e-5) * sc[k]);
      expect_f32(&r2[row * 4 + k], &want, 1, 1e-4);
    }
  }
}

/* ---- ops_nn.c: matmul, gemm ---- */

/* c[b][m][n] = sum_k a[ab][m][k] * b[bb][k][n] for contiguous 3-D views */
static void naive_mm(const float *a, const float *b, float *c, int M, int N, int K)
{
  for (int m = 0; m < M; m++)
    for (int n = 0; n < N; n++) {
      double acc = 0;
      for (int k = 0; k < K; k++) acc += (double)a[m * K + k] * b[k * N + n];
      c[m * N + n] = (float)acc;
    }
}

static void test_matmul(void **s)
{
  (void)s;
  float a[2 * 1 * 2 * 3], b[3 * 3 * 4], v[3], w[3];
  fill_rand(a, 12, 21);
  fill_rand(b, 36, 22);
  fill_rand(v, 3, 23);
  fill_rand(w, 3, 24);
  int64_t da[4] = {2, 1, 2, 3}, db[3] = {3, 3, 4}, dv[1] = {3};
  Node *A = c_f32(4, da, a), *B = c_f32(3, db, b), *V = c_f32(1, dv, v), *W = c_f32(1, dv, w);
  /* 1-D x 1-D: rank 0 */
  Node *dot = ir_matmul(g, V, W);
  assert_int_equal(dot->rank, 0);
  float *rd = run(dot, NULL);
  float wd = v[0] * w[0] + v[1] * w[1] + v[2] * w[2];
  expect_f32(rd, &wd, 1, 1e-6);
  /* 2-D x 1-D: [2] */
  int64_t d23[2] = {2, 3};
  float *rm = run(ir_matmul(g, c_f32(2, d23, a), V), NULL);
  float wm[2];
  naive_mm(a, v, wm, 2, 1, 3);
  expect_f32(rm, wm, 2, 1e-6);
  /* 1-D x 3-D: [3, 4] */
  Node *vb = ir_matmul(g, V, B);
  int64_t d34[2] = {3, 4};
  expect_shape(vb, 2, d34);
  float *rv = run(vb, NULL), wv[12];
  for (int bb = 0; bb < 3; bb++) naive_mm(v, b + bb * 12, wv + bb * 4, 1, 4, 3);
  expect_f32(rv, wv, 12, 1e-6);
  /* batched broadcast: [2,1,2,3] x [3,3,4] -> [2,3,2,4] */
  Node *ab = ir_matmul(g, A, B);
  int64_t dab[4] = {2, 3, 2, 4};
  expect_shape(ab, 4, dab);
  float *rab = run(ab, NULL), wab[48];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) naive_mm(a + i * 6, b + j * 12, wab + (i * 3 + j) * 8, 2, 4, 3);
  expect_f32(rab, wab, 48, 1e-6);
}

static void test_gemm(void **s)
{
  (void)s;
  float a[6], b[12], c[4];
  fill_rand(a, 6, 31);
  fill_rand(b, 12, 32);
  fill_rand(c, 4, 33);
  int64_t d32[2] = {3, 2}, d43[2] = {4, 3}, d4[1] = {4};
  /* A^T [2,3] * B^T [3,4] with A stored [3,2] and B stored [4,3] */
  Node *y = ir_gemm(g, c_f32(2, d32, a), c_f32(2, d43, b), c_f32(1, d4, c), 0.5, 2.0, true, true);
  int64_t dy[2] = {2, 4};
  expect_shape(y, 2, dy);
  float *r = run(y, NULL);
  for (int m = 0; m < 2; m++)
    for (int n = 0; n < 4; n++) {
      double acc = 0;
      for (int k = 0; k < 3; k++) acc += (double)a[k * 2 + m] * b[n * 3 + k];
      float want = (float)(0.5 * acc + 2.0 * c[n]);
      expect_f32(&r[m * 4 + n], &want, 1, 1e-6);
    }
  /* no transposes, no C */
  int64_t d23[2] = {2, 3}, d34[2] = {3, 4};
  float *r2 = run(ir_gemm(g, c_f32(2, d23, a), c_f32(2, d34, b), NULL, 1, 1, false, false), NULL);
  float w2[8];
  naive_mm(a, b, w2, 2, 4, 3);
  expect_f32(r2, w2, 8, 1e-6);
}

/* ---- ops_nn.c: conv ---- */

static WindowParams wp2(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt,
                        int64_t pl, int64_t pb, int64_t pr, int64_t group)
{
  WindowParams p = {0};
  p.nsp = 2;
  p.kernel[0] = kh, p.kernel[1] = kw;
  p.stride[0] = sh, p.stride[1] = sw;
  p.dilation[0] = dh, p.dilation[1] = dw;
  p.pad_begin[0] = pt, p.pad_begin[1] = pl;
  p.pad_end[0] = pb, p.pad_end[1] = pr;
  p.group = group;
  return p;
}

static void test_conv(void **s)
{
  (void)s;
  enum { N = 2, C = 4, H = 7, W = 6, M = 6, G = 2, KH = 3, KW = 2 };
  float x[N * C * H * W], w[M * (C / G) * KH * KW], bias[M];
  fill_rand(x, N * C * H * W, 41);
  fill_rand(w, M * (C / G) * KH * KW, 42);
  fill_rand(bias, M, 43);
  WindowParams p = wp2(KH, KW, 2, 1, 1, 2, 1, 0, 2, 1, G);
  int64_t dx[4] = {N, C, H, W}, dw[4] = {M, C / G, KH, KW}, db[1] = {M};
  Node *y = ir_conv(g, in_f32("x", 4, dx), c_f32(4, dw, w), c_f32(1, db, bias), &p);
  int64_t OH = ir_window_out(H, KH, 2, 1, 1, 2, false), OW = ir_window_out(W, KW, 1, 2, 0, 1, false);
  assert_int_equal(OH, (7 + 3 - 3) / 2 + 1);
  assert_int_equal(OW, (6 + 1 - 3) / 1 + 1);
  int64_t dy[4] = {N, M, OH, OW};
  expect_shape(y, 4, dy);
  void *ins[1] = {x};
  float *r = run(y, ins);
  for (int n = 0; n < N; n++)
    for (int m = 0; m < M; m++)
      for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
          double acc = bias[m];
          int gi = m / (M / G);
          for (int c = 0; c < C / G; c++)
            for (int kh = 0; kh < KH; kh++)
              for (int kw = 0; kw < KW; kw++) {
                int ih = oh * 2 - 1 + kh, iw = ow * 1 - 0 + kw * 2;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += (double)x[((n * C + gi * (C / G) + c) * H + ih) * W + iw] *
                       w[((m * (C / G) + c) * KH + kh) * KW + kw];
              }
          float want = (float)acc;
          expect_f32(&r[((n * M + m) * OH + oh) * OW + ow], &want, 1, 1e-5);
        }
}

static void test_conv1d_depthwise(void **s)
{
  (void)s;
  enum { C = 3, L = 9, K = 3 };
  float x[C * L], w[2 * C * K];
  fill_rand(x, C * L, 51);
  fill_rand(w, 2 * C * K, 52);
  WindowParams p = {0};
  p.nsp = 1;
  p.kernel[0] = K, p.stride[0] = 3, p.dilation[0] = 1, p.pad_begin[0] = 1, p.pad_end[0] = 1, p.group = C;
  int64_t dx[3] = {1, C, L}, dw[3] = {2 * C, 1, K};
  float *r = run(ir_conv(g, c_f32(3, dx, x), c_f32(3, dw, w), NULL, &p), NULL);
  int OL = (L + 2 - K) / 3 + 1;
  for (int m = 0; m < 2 * C; m++)
    for (int o = 0; o < OL; o++) {
      double acc = 0;
      for (int k = 0; k < K; k++) {
        int i = o * 3 - 1 + k;
        if (i >= 0 && i < L) acc += (double)x[(m / 2) * L + i] * w[m * K + k];
      }
      float want = (float)acc;
      expect_f32(&r[m * OL + o], &want, 1, 1e-5);
    }
}

static Node *e_x, *e_w;
static void bad_conv(void)
{
  WindowParams p = wp2(3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1);
  ir_conv(g, e_x, e_w, NULL, &p);
}

static void test_conv_errors(void **s)
{
  (void)s;
  int64_t dx[4] = {1, 2, 5, 5}, dw[3] = {4, 2, 3}, dw2[4] = {4, 3, 3, 3};
  e_x = in_f32("x", 4, dx);
  e_w = in_f32("w", 3, dw);
  expect_fail(bad_conv, "Conv: weight has 3 dims, input has 4");
  e_w = in_f32("w2", 4, dw2);
  expect_fail(bad_conv, "Conv: weight has 3 input channels");
}

static void test_conv_transpose(void **s)
{
  (void)s;
  enum { N = 1, C = 4, H = 3, W = 4, G = 2, MG = 3, M = MG * G, KH = 3, KW = 2 };
  const int SH = 2, SW = 3, DH = 1, DW = 2, OPH = 1, OPW = 2, PT = 1, PL = 0, PB = 0, PR = 1;
  float x[N * C * H * W], w[C * MG * KH * KW], bias[M];
  fill_rand(x, N * C * H * W, 61);
  fill_rand(w, C * MG * KH * KW, 62);
  fill_rand(bias, M, 63);
  WindowParams p = wp2(KH, KW, SH, SW, DH, DW, PT, PL, PB, PR, G);
  p.output_padding[0] = OPH, p.output_padding[1] = OPW;
  int64_t dx[4] = {N, C, H, W}, dw[4] = {C, MG, KH, KW}, db[1] = {M};
  Node *y = ir_conv_transpose(g, in_f32("x", 4, dx), c_f32(4, dw, w), c_f32(1, db, bias), &p);
  enum { OH = SH * (H - 1) + OPH + (KH - 1) * DH + 1 - PT - PB, OW = SW * (W - 1) + OPW + (KW - 1) * DW + 1 - PL - PR };
  int64_t dy[4] = {N, M, OH, OW};
  expect_shape(y, 4, dy);
  void *ins[1] = {x};
  float *r = run(y, ins);
  static double want[N * M * OH * OW];
  for (int m = 0; m < M; m++)
    for (int k = 0; k < OH * OW; k++) want[m * OH * OW + k] = bias[m];
  for (int c = 0; c < C; c++)
    for (int ih = 0; ih < H; ih++)
      for (int iw = 0; iw < W; iw++)
        for (int ml = 0; ml < MG; ml++)
          for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) {
              int m = (c / (C / G)) * MG + ml;
              int oh = ih * SH - PT + kh * DH, ow = iw * SW - PL + kw * DW;
              if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
              want[(m * OH + oh) * OW + ow] +=
                  (double)x[(c * H + ih) * W + iw] * w[((c * MG + ml) * KH + kh) * KW + kw];
            }
  for (int k = 0; k < N * M * OH * OW; k++) {
    float wf = (float)want[k];
    expect_f32(&r[k], &wf, 1, 1e-5);
  }
}

/* ---- ops_nn.c: pooling ---- */

static void test_window_out(void **s)
{
  (void)s;
  assert_int_equal(ir_window_out(5, 2, 2, 1, 0, 0, false), 2);
  assert_int_equal(ir_window_out(5, 2, 2, 1, 0, 0, true), 3);
  /* ceil would give 4 but the last window starts at 6 >= 5 + 1: dropped */
  assert_int_equal(ir_window_out(5, 3, 2, 1, 1, 1, true), 3);
  assert_int_equal(ir_window_out(6, 3, 2, 1, 1, 1, true), 4);
  assert_int_equal(ir_window_out(7, 3, 1, 2, 2, 2, false), 7);
  assert_int_equal(ir_window_out(224, 7, 2, 1, 3, 3, false), 112);
}

/* PyTorch's max/avg pool over one [H, W] plane (dilation 1 for avg). */
static void naive_pool(const float *x, int H, int W, const WindowParams *p, bool is_max, float *out, int OH,
                       int OW)
{
  for (int oh = 0; oh < OH; oh++)
    for (int ow = 0; ow < OW; ow++) {
      int hs = oh * (int)p->stride[0] - (int)p->pad_begin[0], ws = ow * (int)p->stride[1] - (int)p->pad_begin[1];
      if (is_max) {
        float m = -INFINITY;
        for (int kh = 0; kh < p->kernel[0]; kh++)
          for (int kw = 0; kw < p->kernel[1]; kw++) {
            int ih = hs + kh * (int)p->dilation[0], iw = ws + kw * (int)p->dilation[1];
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) m = fmaxf(m, x[ih * W + iw]);
          }
        out[oh * OW + ow] = m;
        continue;
      }
      int he = hs + (int)p->kernel[0], we = ws + (int)p->kernel[1];
      if (he > H + p->pad_end[0]) he = H + (int)p->pad_end[0];
      if (we > W + p->pad_end[1]) we = W + (int)p->pad_end[1];
      int size = (he - hs) * (we - ws);
      if (hs < 0) hs = 0;
      if (ws < 0) ws = 0;
      if (he > H) he = H;
      if (we > W) we = W;
      if (!p->count_include_pad) size = (he - hs) * (we - ws);
      double sum = 0;
      for (int ih = hs; ih < he; ih++)
        for (int iw = ws; iw < we; iw++) sum += x[ih * W + iw];
      out[oh * OW + ow] = (float)(sum / size);
    }
}

static void check_pool(WindowParams p, bool is_max, uint32_t seed)
{
  enum { N = 2, C = 2, H = 6, W = 7 };
  float x[N * C * H * W];
  fill_rand(x, N * C * H * W, seed);
  int64_t dx[4] = {N, C, H, W};
  Node *in = c_f32(4, dx, x);
  Node *y = is_max ? ir_maxpool(g, in, &p) : ir_avgpool(g, in, &p);
  int OH = (int)y->dims[2], OW = (int)y->dims[3];
  assert_int_equal(OH, ir_window_out(H, p.kernel[0], p.stride[0], p.dilation[0], p.pad_begin[0], p.pad_end[0], p.ceil_mode));
  float *r = run(y, NULL);
  float want[64];
  for (int pl = 0; pl < N * C; pl++) {
    naive_pool(x + pl * H * W, H, W, &p, is_max, want, OH, OW);
    expect_f32(r + pl * OH * OW, want, OH * OW, 1e-6);
  }
}

static void test_maxpool(void **s)
{
  (void)s;
  WindowParams p = wp2(3, 2, 2, 2, 1, 1, 1, 0, 1, 0, 1);
  check_pool(p, true, 71);
  p.ceil_mode = true;
  check_pool(p, true, 72);
  WindowParams q = wp2(2, 2, 1, 2, 2, 2, 0, 1, 1, 1, 1); /* dilated */
  check_pool(q, true, 73);
}

static void test_avgpool(void **s)
{
  (void)s;
  WindowParams p = wp2(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1);
  for (int ceil = 0; ceil < 2; ceil++)
    for (int cip = 0; cip < 2; cip++) {
      p.ceil_mode = ceil, p.count_include_pad = cip;
      check_pool(p, false, 80 + (uint32_t)(ceil * 2 + cip));
    }
  /* asymmetric pads, ceil mode */
  WindowParams q = wp2(2, 2, 2, 2, 1, 1, 0, 1, 0, 0, 1);
  q.ceil_mode = true;
  check_pool(q, false, 90);
  q.count_include_pad = true;
  check_pool(q, false, 91);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_eval_map_semantics, setup, teardown),
    cmocka_unit_test_setup_teardown(test_fold, setup, teardown),
    cmocka_unit_test_setup_teardown(test_broadcast_add, setup, teardown),
    cmocka_unit_test_setup_teardown(test_binary_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_activations, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reshape, setup, teardown),
    cmocka_unit_test_setup_teardown(test_transpose, setup, teardown),
    cmocka_unit_test_setup_teardown(test_slice_negative_step, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pad_modes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_concat3, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gather_axis, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reduce_keepdims, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reduce_int, setup, teardown),
    cmocka_unit_test_setup_teardown(test_softmax, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batchnorm, setup, teardown),
    cmocka_unit_test_setup_teardown(test_layernorm, setup, teardown),
    cmocka_unit_test_setup_teardown(test_matmul, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gemm, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conv, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conv1d_depthwise, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conv_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conv_transpose, setup, teardown),
    cmocka_unit_test_setup_teardown(test_window_out, setup, teardown),
    cmocka_unit_test_setup_teardown(test_maxpool, setup, teardown),
    cmocka_unit_test_setup_teardown(test_avgpool, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
