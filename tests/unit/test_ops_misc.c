/* test_ops_misc.c: the constructors of ir/ops_misc.c (losses, optimizer
 * updates, quantization, signal processing, Det, Mish). Each test builds a
 * small graph, evaluates it with ir_eval_graph and compares with values
 * written by hand or computed by a plain loop here (naive DFT, Gaussian
 * elimination for Det, the ONNX formulas written out in double). */
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

static const double PI = 3.14159265358979323846;

/* ---- helpers ---- */

static void fill_rand(float *v, int64_t n, uint32_t seed)
{
  for (int64_t k = 0; k < n; k++) {
    seed = seed * 1664525u + 1013904223u;
    v[k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

/* Mark every node of outs as an output, evaluate, return the values. */
static void **run_n(int n, Node *const *outs, void *const *inputs)
{
  int first = g->noutputs;
  for (int k = 0; k < n; k++) ir_mark_output(g, outs[k], "y");
  void **vals = ir_alloc_array(g, (size_t)g->noutputs, sizeof(void *));
  ir_eval_graph(g, inputs, vals);
  return vals + first;
}

static void *run(Node *out, void *const *inputs) { return run_n(1, &out, inputs)[0]; }

static void expect_f32(const float *got, const double *want, int64_t n, double tol)
{
  for (int64_t k = 0; k < n; k++) {
    double d = fabs((double)got[k] - want[k]);
    if (!(d <= tol * (1 + fabs(want[k])))) {
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

/* ---- losses ---- */

/* input [2, 3, 2], target [2, 2] with one ignored entry, weight [3] */
static const float nll_x[12] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, 0.8f, -0.9f, 1.0f, 1.1f, -1.2f};
static const int64_t nll_t[4] = {2, 0, 1, 1};
static const float nll_w[3] = {0.5f, 2.0f, 1.5f};

static void test_nll_loss(void **s)
{
  (void)s;
  int64_t xd[3] = {2, 3, 2}, td[2] = {2, 2}, wd[1] = {3};
  Node *x = ir_input(g, "x", DT_F32, 3, xd), *t = ir_input(g, "t", DT_I64, 2, td);
  Node *w = ir_const(g, DT_F32, 1, wd, nll_w);
  /* ignore_index 0 drops element (0, 1) (target 0) */
  Node *none = ir_nll_loss(g, x, t, w, LOSS_NONE, true, 0);
  Node *sum = ir_nll_loss(g, x, t, w, LOSS_SUM, true, 0);
  Node *mean = ir_nll_loss(g, x, t, w, LOSS_MEAN, true, 0);
  Node *plain = ir_nll_loss(g, x, t, NULL, LOSS_MEAN, false, 0);
  expect_shape(none, 2, td);
  assert_int_equal(sum->rank, 0);
  Node *outs[4] = {none, sum, mean, plain};
  void *in[2] = {(void *)nll_x, (void *)nll_t};
  void **v = run_n(4, outs, in);
  /* loss[n, d] = -x[n, t, d] * w[t]; x index n*6 + t*2 + d */
  double want[4], ws = 0, ls = 0, pl = 0;
  for (int n = 0; n < 2; n++)
    for (int d = 0; d < 2; d++) {
      int64_t c = nll_t[n * 2 + d];
      double xv = nll_x[n * 6 + c * 2 + d];
      pl += -xv;
      want[n * 2 + d] = c == 0 ? 0 : -xv * nll_w[c];
      ls += want[n * 2 + d];
      ws += c == 0 ? 0 : nll_w[c];
    }
  expect_f32(v[0], want, 4, 1e-6);
  double w_sum = ls, w_mean = ls / ws, w_plain = pl / 4;
  expect_f32(v[1], &w_sum, 1, 1e-6);
  expect_f32(v[2], &w_mean, 1, 1e-6);
  expect_f32(v[3], &w_plain, 1, 1e-6);
}

static void test_softmax_cross_entropy(void **s)
{
  (void)s;
  int64_t xd[2] = {3, 4}, td[1] = {3};
  float xv[12];
  fill_rand(xv, 12, 7);
  int64_t tv[3] = {3, 0, -1};
  Node *x = ir_input(g, "x", DT_F32, 2, xd), *t = ir_input(g, "t", DT_I64, 1, td), *lp = NULL;
  Node *loss = ir_softmax_cross_entropy(g, x, t, NULL, LOSS_MEAN, true, -1, &lp);
  expect_shape(lp, 2, xd);
  Node *outs[2] = {loss, lp};
  void *in[2] = {xv, tv};
  void **v = run_n(2, outs, in);
  double want_lp[12], sum = 0;
  for (int n = 0; n < 3; n++) {
    double z = 0;
    for (int c = 0; c < 4; c++) z += exp(xv[n * 4 + c]);
    for (int c = 0; c < 4; c++) want_lp[n * 4 + c] = xv[n * 4 + c] - log(z);
    if (tv[n] != -1) sum -= want_lp[n * 4 + tv[n]];
  }
  double want = sum / 2; /* two rows count */
  expect_f32(v[1], want_lp, 12, 1e-5);
  expect_f32(v[0], &want, 1, 1e-5);
}

static void bad_nll_target(void)
{
  int64_t xd[3] = {2, 3, 2}, td[2] = {2, 3};
  ir_nll_loss(g, ir_input(g, "x", DT_F32, 3, xd), ir_input(g, "t", DT_I64, 2, td), NULL, LOSS_SUM, false, 0);
}

static void bad_nll_weight(void)
{
  int64_t xd[2] = {2, 3}, td[1] = {2}, wd[1] = {4};
  ir_nll_loss(g, ir_input(g, "x", DT_F32, 2, xd), ir_input(g, "t", DT_I64, 1, td), ir_input(g, "w", DT_F32, 1, wd),
              LOSS_SUM, false, 0);
}

static void test_loss_errors(void **s)
{
  (void)s;
  expect_fail(bad_nll_target, "target must be [N, d...]");
  expect_fail(bad_nll_weight, "weight must be [3]");
}

/* ---- training updates ---- */

static void test_optimizers(void **s)
{
  (void)s;
  int64_t d[1] = {3};
  float xv[3] = {1.2f, -0.8f, 2.0f}, gv[3] = {-0.9f, 0.5f, 0.25f}, vv[3] = {1.7f, -0.3f, 0.0f}, hv[3] = {0.1f, 0.4f, 1.0f};
  float rv = 0.1f;
  int64_t tv = 3;
  Node *r = ir_input(g, "r", DT_F32, 0, NULL), *t = ir_input(g, "t", DT_I64, 0, NULL);
  Node *x = ir_input(g, "x", DT_F32, 1, d), *gr = ir_input(g, "g", DT_F32, 1, d);
  Node *v = ir_input(g, "v", DT_F32, 1, d), *h = ir_input(g, "h", DT_F32, 1, d);
  Node *o[9];
  ir_adagrad(g, r, t, x, gr, h, 0.01, 1e-5, 0.1, &o[0], &o[1]);
  ir_momentum(g, r, t, x, gr, v, 0.9, 0.5, 0.01, false, &o[2], &o[3]);
  ir_momentum(g, r, t, x, gr, v, 0.9, 0.5, 0.01, true, &o[4], &o[5]);
  ir_adam(g, r, t, x, gr, v, h, 0.9, 0.8, 1e-3, 0.01, 0.05, &o[6], &o[7], &o[8]);
  void *in[6] = {&rv, &tv, xv, gv, vv, hv};
  void **val = run_n(9, o, in);
  double w[9][3];
  for (int k = 0; k < 3; k++) {
    double gg = 0.01 * xv[k] + gv[k];
    /* Adagrad */
    double rr = rv / (1 + tv * 0.1), hn = hv[k] + gg * gg;
    w[1][k] = hn;
    w[0][k] = xv[k] - rr * gg / (sqrt(hn) + 1e-5);
    /* Momentum (T > 0: beta applies) */
    double vn = 0.9 * vv[k] + 0.5 * gg;
    w[3][k] = w[5][k] = vn;
    w[2][k] = xv[k] - rv * vn;
    w[4][k] = xv[k] - rv * (gg + 0.9 * vn);
    /* Adam */
    double va = 0.9 * vv[k] + 0.1 * gg, ha = 0.8 * hv[k] + 0.2 * gg * gg;
    double ra = rv * sqrt(1 - pow(0.8, (double)tv)) / (1 - pow(0.9, (double)tv));
    w[7][k] = va;
    w[8][k] = ha;
    w[6][k] = (1 - 0.05) * (xv[k] - ra * va / (sqrt(ha) + 1e-3));
  }
  for (int k = 0; k < 9; k++) expect_f32(val[k], w[k], 3, 1e-5);
}

static void test_momentum_first_step(void **s)
{
  (void)s;
  int64_t d[1] = {2};
  float xv[2] = {1.0f, 2.0f}, gv[2] = {0.5f, -1.0f}, vv[2] = {2.0f, 1.0f}, rv = 0.5f;
  int64_t tv = 0; /* first step: the gradient's coefficient is 1, not beta */
  Node *o[2], *in_n[5]; /* inputs made in order: argument evaluation order is unspecified */
  in_n[0] = ir_input(g, "r", DT_F32, 0, NULL);
  in_n[1] = ir_input(g, "t", DT_I64, 0, NULL);
  in_n[2] = ir_input(g, "x", DT_F32, 1, d);
  in_n[3] = ir_input(g, "g", DT_F32, 1, d);
  in_n[4] = ir_input(g, "v", DT_F32, 1, d);
  ir_momentum(g, in_n[0], in_n[1], in_n[2], in_n[3], in_n[4], 0.5, 0.25, 0.0, false, &o[0], &o[1]);
  void *in[5] = {&rv, &tv, xv, gv, vv};
  void **val = run_n(2, o, in);
  double v_want[2] = {0.5 * 2 + 0.5, 0.5 * 1 - 1.0}; /* 1.5, -0.5 */
  double x_want[2] = {1.0 - 0.5 * 1.5, 2.0 + 0.5 * 0.5};
  expect_f32(val[1], v_want, 2, 1e-6);
  expect_f32(val[0], x_want, 2, 1e-6);
}

/* ---- quantization ---- */

static void test_quantize_linear(void **s)
{
  (void)s;
  int64_t d[1] = {8};
  /* x/2: 0, 0.5, 1.5, 2.5, 500, -127, -200, -0.5 -> round half even 0, 0, 2, 2, 500, -127, -200, -0 */
  float xv[8] = {0, 1, 3, 5, 1000, -254, -400, -1};
  uint8_t zp = 128;
  float sc = 2;
  Node *x = ir_input(g, "x", DT_F32, 1, d);
  Node *y = ir_quantize_linear(g, x, ir_const(g, DT_F32, 0, NULL, &sc), ir_const(g, DT_U8, 0, NULL, &zp), -1, DT_U8);
  assert_int_equal(y->dtype, DT_U8);
  int8_t zs = -1;
  Node *y8 = ir_quantize_linear(g, x, ir_const(g, DT_F32, 0, NULL, &sc), ir_const(g, DT_I8, 0, NULL, &zs), -1, DT_U8);
  assert_int_equal(y8->dtype, DT_I8);
  Node *outs[2] = {y, y8};
  void *in[1] = {xv};
  void **v = run_n(2, outs, in);
  const uint8_t want[8] = {128, 128, 130, 130, 255, 1, 0, 128};
  const int8_t want8[8] = {-1, -1, 1, 1, 127, -128, -128, -1};
  assert_memory_equal(v[0], want, 8);
  assert_memory_equal(v[1], want8, 8);
}

static void test_dequantize_axis(void **s)
{
  (void)s;
  int64_t d[2] = {2, 3}, cd[1] = {3};
  uint8_t xv[6] = {0, 10, 255, 128, 3, 7};
  float sc[3] = {0.5f, 2.0f, 0.25f};
  uint8_t zp[3] = {128, 0, 7};
  Node *y = ir_dequantize_linear(g, ir_input(g, "x", DT_U8, 2, d), ir_const(g, DT_F32, 1, cd, sc),
                                 ir_const(g, DT_U8, 1, cd, zp), 1);
  void *in[1] = {xv};
  float *v = run(y, in);
  double want[6];
  for (int k = 0; k < 6; k++) want[k] = ((double)xv[k] - zp[k % 3]) * sc[k % 3];
  expect_f32(v, want, 6, 0);
}

static void test_dynamic_quantize(void **s)
{
  (void)s;
  int64_t d[1] = {4};
  float xv[4] = {1.0f, 2.0f, 3.0f, 5.1f}; /* min clamps to 0: scale = 5.1/255 = 0.02, zp 0 */
  Node *y, *sc, *zp;
  ir_dynamic_quantize_linear(g, ir_input(g, "x", DT_F32, 1, d), &y, &sc, &zp);
  Node *outs[3] = {y, sc, zp};
  void *in[1] = {xv};
  void **v = run_n(3, outs, in);
  double want_sc = 5.1f / 255.0f;
  expect_f32(v[1], &want_sc, 1, 1e-6);
  assert_int_equal(*(uint8_t *)v[2], 0);
  const uint8_t want[4] = {50, 100, 150, 255};
  assert_memory_equal(v[0], want, 4);
}

static void test_matmul_integer(void **s)
{
  (void)s;
  int64_t ad[2] = {2, 3}, bd[2] = {3, 2}, md[1] = {2};
  uint8_t av[6] = {11, 7, 3, 10, 6, 2}, bv[6] = {1, 4, 2, 5, 3, 6}, azp[2] = {12, 5}, bzp = 2;
  Node *a = ir_input(g, "a", DT_U8, 2, ad), *b = ir_input(g, "b", DT_U8, 2, bd);
  Node *y = ir_matmul_integer(g, a, b, ir_const(g, DT_U8, 1, md, azp), ir_const(g, DT_U8, 0, NULL, &bzp));
  assert_int_equal(y->dtype, DT_I32);
  void *in[2] = {av, bv};
  int32_t *v = run(y, in);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      int32_t want = 0;
      for (int k = 0; k < 3; k++) want += (av[i * 3 + k] - azp[i]) * (bv[k * 2 + j] - bzp);
      assert_int_equal(v[i * 2 + j], want);
    }
}

static void test_conv_integer_padding(void **s)
{
  (void)s;
  int64_t xd[4] = {1, 1, 3, 3}, wd[4] = {1, 1, 2, 2};
  uint8_t xv[9] = {2, 3, 4, 5, 6, 7, 8, 9, 10}, wv[4] = {1, 1, 1, 1}, zp = 1;
  WindowParams p = {.nsp = 2, .kernel = {2, 2}, .stride = {1, 1}, .dilation = {1, 1}, .pad_begin = {1, 1},
                    .pad_end = {1, 1}, .group = 1};
  Node *x = ir_input(g, "x", DT_U8, 4, xd), *w = ir_input(g, "w", DT_U8, 4, wd);
  Node *y = ir_conv_integer(g, x, w, ir_const(g, DT_U8, 0, NULL, &zp), NULL, NULL, &p);
  int64_t od[4] = {1, 1, 4, 4};
  expect_shape(y, 4, od);
  void *in[2] = {xv, wv};
  int32_t *v = run(y, in);
  /* padding reads the zero point: (x - 1) is 1..9 with zeros around */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      int32_t want = 0;
      for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
          int r = i - 1 + a, c = j - 1 + b;
          if (r >= 0 && r < 3 && c >= 0 && c < 3) want += xv[r * 3 + c] - 1;
        }
      assert_int_equal(v[i * 4 + j], want);
    }
}

static void test_qlinear_matmul(void **s)
{
  (void)s;
  int64_t ad[2] = {1, 2}, bd[2] = {2, 2};
  uint8_t av[2] = {20, 30}, bv[4] = {10, 12, 14, 16}, azp = 10, bzp = 10, yzp = 100;
  float as = 0.5f, bs = 0.25f, ys = 0.125f;
  Node *a = ir_input(g, "a", DT_U8, 2, ad), *b = ir_input(g, "b", DT_U8, 2, bd);
  Node *y = ir_qlinear_matmul(g, a, ir_const(g, DT_F32, 0, NULL, &as),
                              ir_const(g, DT_U8, 0, NULL, &azp), b,
                              ir_const(g, DT_F32, 0, NULL, &bs), ir_const(g, DT_U8, 0, NULL, &bzp),
                              ir_const(g, DT_F32, 0, NULL, &ys), ir_const(g, DT_U8, 0, NULL, &yzp));
  void *in[2] = {av, bv};
  uint8_t *v = run(y, in);
  /* acc = [10*0 + 20*4, 10*2 + 20*6] = [80, 140]; * (0.5*0.25/0.125 = 1) + 100 -> 180, 240 */
  assert_int_equal(v[0], 180);
  assert_int_equal(v[1], 240);
}

/* ---- signal ---- */

static void test_windows(void **s)
{
  (void)s;
  Node *hann = ir_window(g, SIGWIN_HANN, 4, true, DT_F32);
  Node *hamm = ir_window(g, SIGWIN_HAMMING, 5, false, DT_F32);
  Node *black = ir_window(g, SIGWIN_BLACKMAN, 3, false, DT_F64);
  assert_true(ir_is_const(hann));
  double w_hann[4] = {0, 0.5, 1, 0.5};
  double a0 = 25.0 / 46.0, w_hamm[5] = {2 * a0 - 1, a0, 1, a0, 2 * a0 - 1};
  expect_f32(hann->data, w_hann, 4, 1e-7);
  expect_f32(hamm->data, w_hamm, 5, 1e-7);
  const double *b = black->data; /* symmetric N=3: 0.42 - 0.5cos(pi n) + 0.08cos(2 pi n) */
  assert_true(fabs(b[0]) < 1e-12 && fabs(b[1] - 1.0) < 1e-12 && fabs(b[2]) < 1e-12);
}

/* naive DFT of x [B, N, R] along axis 1, length L, K bins */
static void naive_dft(const float *x, int64_t b, int64_t n, int64_t r, int64_t l, int64_t k, bool inv, double *out)
{
  for (int64_t bb = 0; bb < b; bb++)
    for (int64_t kk = 0; kk < k; kk++) {
      double re = 0, im = 0;
      for (int64_t j = 0; j < l && j < n; j++) {
        double xr = x[(bb * n + j) * r], xi = r == 2 ? x[(bb * n + j) * r + 1] : 0;
        double th = (inv ? 2 : -2) * PI * (double)kk * (double)j / (double)l;
        re += xr * cos(th) - xi * sin(th);
        im += xr * sin(th) + xi * cos(th);
      }
      out[(bb * k + kk) * 2] = inv ? re / (double)l : re;
      out[(bb * k + kk) * 2 + 1] = inv ? im / (double)l : im;
    }
}

static void test_dft(void **s)
{
  (void)s;
  int64_t d[3] = {2, 6, 2}, dr[3] = {2, 5, 1};
  float xv[24], xr[10];
  fill_rand(xv, 24, 3);
  fill_rand(xr, 10, 4);
  Node *x = ir_input(g, "x", DT_F32, 3, d), *x1 = ir_input(g, "x1", DT_F32, 3, dr);
  Node *fwd = ir_dft(g, x, 1, 6, false, false);
  Node *inv = ir_dft(g, x, 1, 6, true, false);
  Node *one = ir_dft(g, x1, 1, 8, false, true); /* zero-padded to 8, 5 bins */
  int64_t od[3] = {2, 5, 2};
  expect_shape(one, 3, od);
  Node *outs[3] = {fwd, inv, one};
  void *in[2] = {xv, xr};
  void **v = run_n(3, outs, in);
  double w1[24], w2[24], w3[20];
  naive_dft(xv, 2, 6, 2, 6, 6, false, w1);
  naive_dft(xv, 2, 6, 2, 6, 6, true, w2);
  naive_dft(xr, 2, 5, 1, 8, 5, false, w3);
  expect_f32(v[0], w1, 24, 1e-6);
  expect_f32(v[1], w2, 24, 1e-6);
  expect_f32(v[2], w3, 20, 1e-6);
}

static void test_stft(void **s)
{
  (void)s;
  int64_t d[3] = {1, 10, 1}, wd[1] = {4};
  float sv[10], wv[4] = {0.0f, 0.5f, 1.0f, 0.5f};
  for (int k = 0; k < 10; k++) sv[k] = (float)k;
  Node *y = ir_stft(g, ir_input(g, "s", DT_F32, 3, d), 3, ir_const(g, DT_F32, 1, wd, wv), 0, true);
  int64_t od[4] = {1, 3, 3, 2}; /* frames (10-4)/3+1 = 3, bins 4/2+1 = 3 */
  expect_shape(y, 4, od);
  void *in[1] = {sv};
  float *v = run(y, in);
  double want[18];
  for (int f = 0; f < 3; f++) {
    float fr[4];
    for (int n = 0; n < 4; n++) fr[n] = sv[f * 3 + n] * wv[n];
    naive_dft(fr, 1, 4, 1, 4, 3, false, want + f * 6);
  }
  expect_f32(v, want, 18, 1e-6);
}

static void test_mel_weight_matrix(void **s)
{
  (void)s;
  /* ONNX's test_melweightmatrix: 8 mel bins, dft_length 16, 8192 Hz, 0..4096 Hz */
  Node *m = ir_mel_weight_matrix(g, 8, 16, 8192, 0, 4096, DT_F32);
  int64_t d[2] = {9, 8};
  expect_shape(m, 2, d);
  double want[72] = {0};
  const int ones[][2] = {{0, 0}, {0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}};
  for (size_t k = 0; k < sizeof ones / sizeof ones[0]; k++) want[ones[k][0] * 8 + ones[k][1]] = 1;
  expect_f32(m->data, want, 72, 0);
}

/* determinant by Gaussian elimination with partial pivoting */
static double naive_det(const float *a, int n)
{
  double m[25], det = 1;
  for (int k = 0; k < n * n; k++) m[k] = a[k];
  for (int c = 0; c < n; c++) {
    int p = c;
    for (int r = c + 1; r < n; r++)
      if (fabs(m[r * n + c]) > fabs(m[p * n + c])) p = r;
    if (p != c) {
      for (int k = 0; k < n; k++) {
        double t = m[c * n + k];
        m[c * n + k] = m[p * n + k];
        m[p * n + k] = t;
      }
      det = -det;
    }
    det *= m[c * n + c];
    if (m[c * n + c] == 0) return 0;
    for (int r = c + 1; r < n; r++) {
      double f = m[r * n + c] / m[c * n + c];
      for (int k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
    }
  }
  return det;
}

static void test_det(void **s)
{
  (void)s;
  int64_t d3[2] = {3, 3}, d4[3] = {2, 4, 4}, d5[2] = {5, 5};
  float a3[9] = {4, 3, 2, 1, 3, 1, 2, 1, 5}, a4[32], a5[25];
  fill_rand(a4, 32, 11);
  fill_rand(a5, 25, 12);
  Node *o[3];
  o[0] = ir_det(g, ir_input(g, "a", DT_F32, 2, d3));
  o[1] = ir_det(g, ir_input(g, "b", DT_F32, 3, d4));
  o[2] = ir_det(g, ir_input(g, "c", DT_F32, 2, d5));
  assert_int_equal(o[1]->rank, 1);
  void *in[3] = {a3, a4, a5};
  void **v = run_n(3, o, in);
  double w3 = 37, w4[2] = {naive_det(a4, 4), naive_det(a4 + 16, 4)}, w5 = naive_det(a5, 5);
  expect_f32(v[0], &w3, 1, 1e-6);
  expect_f32(v[1], w4, 2, 1e-5);
  expect_f32(v[2], &w5, 1, 1e-5);
}

static void det_too_big(void)
{
  int64_t d[2] = {6, 6};
  ir_det(g, ir_input(g, "a", DT_F32, 2, d));
}

static void dft_bad_last(void)
{
  int64_t d[3] = {1, 4, 3};
  ir_dft(g, ir_input(g, "a", DT_F32, 3, d), 1, 4, false, false);
}

static void quant_bad_scale(void)
{
  int64_t d[2] = {2, 3}, sd[1] = {2};
  ir_quantize_linear(g, ir_input(g, "x", DT_F32, 2, d), ir_input(g, "s", DT_F32, 1, sd), NULL, 1, DT_U8);
}

static void test_signal_errors(void **s)
{
  (void)s;
  expect_fail(det_too_big, "n <= 5");
  expect_fail(dft_bad_last, "last dim must be 1 (real) or 2 (complex)");
  expect_fail(quant_bad_scale, "scale is [2]");
}

static void test_mish(void **s)
{
  (void)s;
  int64_t d[1] = {5};
  float xv[5] = {-30, -1, 0, 0.5f, 20};
  float *v = run(ir_mish(g, ir_input(g, "x", DT_F32, 1, d)), (void *[]){xv});
  double want[5];
  for (int k = 0; k < 5; k++) want[k] = xv[k] * tanh(log1p(exp((double)xv[k])));
  expect_f32(v, want, 5, 1e-6);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_nll_loss, setup, teardown),
    cmocka_unit_test_setup_teardown(test_softmax_cross_entropy, setup, teardown),
    cmocka_unit_test_setup_teardown(test_loss_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_optimizers, setup, teardown),
    cmocka_unit_test_setup_teardown(test_momentum_first_step, setup, teardown),
    cmocka_unit_test_setup_teardown(test_quantize_linear, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dequantize_axis, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dynamic_quantize, setup, teardown),
    cmocka_unit_test_setup_teardown(test_matmul_integer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_conv_integer_padding, setup, teardown),
    cmocka_unit_test_setup_teardown(test_qlinear_matmul, setup, teardown),
    cmocka_unit_test_setup_teardown(test_windows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dft, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stft, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mel_weight_matrix, setup, teardown),
    cmocka_unit_test_setup_teardown(test_det, setup, teardown),
    cmocka_unit_test_setup_teardown(test_signal_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mish, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
