/* test_ops_spatial.c: the resampling and local-normalization constructors
 * (ir/ops_spatial.c), evaluated with ir_eval_graph. Expected values are the
 * examples printed in ONNX's operator documentation (Resize, MaxUnpool), hand
 * arithmetic, or plain loops in this file that follow the published formulas
 * (PyTorch's grid_sample, LRN, MVN, group norm). */
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

static Node *in_f32(const char *name, int rank, const int64_t *dims) { return ir_input(g, name, DT_F32, rank, dims); }

static void fill_rand(float *v, int64_t n, uint32_t seed)
{
  for (int64_t k = 0; k < n; k++) {
    seed = seed * 1664525u + 1013904223u;
    v[k] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

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

/* Resize parameters for scales on a 4-D [1, 1, H, W] input */
static ResizeParams resize_scales(const Node *x, double sh, double sw, ResizeMode mode, ResizeCoord coord)
{
  ResizeParams p;
  memset(&p, 0, sizeof p);
  p.mode = mode;
  p.coord = coord;
  p.nearest = RESIZE_ROUND_PREFER_FLOOR;
  p.cubic_a = -0.75;
  double s[4] = {1, 1, sh, sw};
  for (int a = 0; a < 4; a++) {
    p.scale[a] = s[a];
    p.out_width[a] = s[a] * (double)x->dims[a];
    p.out[a] = (int64_t)floor(p.out_width[a]);
    p.roi_start[a] = 0;
    p.roi_end[a] = 1;
  }
  return p;
}

/* ---- Resize: the examples of ONNX's Resize documentation ---- */

static void test_resize_nearest(void **s)
{
  (void)s;
  int64_t d[4] = {1, 1, 2, 2};
  float x[4] = {1, 2, 3, 4};
  Node *in = in_f32("x", 4, d);
  ResizeParams p = resize_scales(in, 2, 3, RESIZE_NEAREST, RESIZE_HALF_PIXEL);
  Node *y = ir_resize(g, in, &p);
  int64_t dy[4] = {1, 1, 4, 6};
  expect_shape(y, 4, dy);
  /* integer up-sampling is an affine GATHER, no table */
  assert_int_equal(y->kind, NODE_GATHER);
  assert_int_equal(y->nin, 1);
  void *ins[1] = {x};
  float want[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
  expect_f32(run(y, ins), want, 24, 0);
  /* downsample 0.6 of [[1 2 3 4] [5 6 7 8]] -> [[1 3]] */
  int64_t d2[4] = {1, 1, 2, 4};
  float x2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  Node *in2 = in_f32("x2", 4, d2);
  ResizeParams p2 = resize_scales(in2, 0.6, 0.6, RESIZE_NEAREST, RESIZE_HALF_PIXEL);
  void *ins2[2] = {x, x2};
  float want2[2] = {1, 3};
  expect_f32(run(ir_resize(g, in2, &p2), ins2), want2, 2, 0);
}

static void test_resize_linear(void **s)
{
  (void)s;
  int64_t d[4] = {1, 1, 2, 2};
  float x[4] = {1, 2, 3, 4};
  Node *in = in_f32("x", 4, d);
  ResizeParams p = resize_scales(in, 2, 2, RESIZE_LINEAR, RESIZE_HALF_PIXEL);
  void *ins[1] = {x};
  float want[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
  expect_f32(run(ir_resize(g, in, &p), ins), want, 16, 1e-6);
  ResizeParams pa = resize_scales(in, 2, 2, RESIZE_LINEAR, RESIZE_ALIGN_CORNERS);
  float wa[16] = {1, 1.33333333f, 1.66666667f, 2, 1.66666667f, 2, 2.33333333f, 2.66666667f,
                  2.33333333f, 2.66666667f, 3, 3.33333333f, 3, 3.33333333f, 3.66666667f, 4};
  expect_f32(run(ir_resize(g, in, &pa), ins), wa, 16, 1e-6);
  /* align_corners downsample 0.6 uses the real output width 2.4: [[1 3.142857]] */
  int64_t d2[4] = {1, 1, 2, 4};
  float x2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  Node *in2 = in_f32("x2", 4, d2);
  ResizeParams p2 = resize_scales(in2, 0.6, 0.6, RESIZE_LINEAR, RESIZE_ALIGN_CORNERS);
  void *ins2[2] = {x, x2};
  float want2[2] = {1, 3.142857f};
  expect_f32(run(ir_resize(g, in2, &p2), ins2), want2, 2, 1e-6);
}

static void test_resize_cubic(void **s)
{
  (void)s;
  int64_t d[4] = {1, 1, 4, 4};
  float x[16];
  for (int k = 0; k < 16; k++) x[k] = (float)(k + 1);
  Node *in = in_f32("x", 4, d);
  ResizeParams p = resize_scales(in, 2, 2, RESIZE_CUBIC, RESIZE_HALF_PIXEL);
  Node *y = ir_resize(g, in, &p);
  void *ins[1] = {x};
  float *r = run(y, ins);
  float row0[8] = {0.47265625f, 0.76953125f, 1.24609375f, 1.875f, 2.28125f, 2.91015625f, 3.38671875f, 3.68359375f};
  float row7[8] = {13.31640625f, 13.61328125f, 14.08984375f, 14.71875f, 15.125f, 15.75390625f, 16.23046875f, 16.52734375f};
  expect_f32(r, row0, 8, 1e-6);
  expect_f32(r + 56, row7, 8, 1e-6);
  /* downsample 0.8, half_pixel */
  ResizeParams pd = resize_scales(in, 0.8, 0.8, RESIZE_CUBIC, RESIZE_HALF_PIXEL);
  float wd[9] = {1.47119141f, 2.78125f, 4.08251953f, 6.71142578f, 8.02148438f, 9.32275391f,
                 11.91650391f, 13.2265625f, 14.52783203f};
  expect_f32(run(ir_resize(g, in, &pd), ins), wd, 9, 1e-6);
}

/* tf_crop_and_resize on a 1-D ramp: source x_ori = 1 + j * 1.5 * 3 / 2 over [0, 1, 2, 3]:
 * 1, 3.25 (outside: extrapolated), 5.5 (outside) */
static void test_resize_crop(void **s)
{
  (void)s;
  int64_t d[1] = {4};
  float x[4] = {10, 20, 30, 40};
  Node *in = in_f32("x", 1, d);
  ResizeParams p;
  memset(&p, 0, sizeof p);
  p.mode = RESIZE_LINEAR;
  p.coord = RESIZE_TF_CROP_AND_RESIZE;
  p.out[0] = 3;
  p.scale[0] = 0.75;
  p.out_width[0] = 3;
  p.roi_start[0] = 1.0 / 3;
  p.roi_end[0] = 1.0 / 3 + 1.5;
  p.extrapolation = -7;
  void *ins[1] = {x};
  float want[3] = {20, -7, -7};
  expect_f32(run(ir_resize(g, in, &p), ins), want, 3, 1e-6);
  /* a crop inside: roi [0.25, 0.75] -> x_ori 0.75, 1.5, 2.25 */
  p.roi_start[0] = 0.25;
  p.roi_end[0] = 0.75;
  float want2[3] = {17.5f, 25, 32.5f};
  expect_f32(run(ir_resize(g, in, &p), ins), want2, 3, 1e-6);
}

static Node *bad_x;
static void bad_resize(void)
{
  ResizeParams p = resize_scales(bad_x, 0.1, 1, RESIZE_NEAREST, RESIZE_HALF_PIXEL);
  ir_resize(g, bad_x, &p);
}

static void test_resize_errors(void **s)
{
  (void)s;
  int64_t d[4] = {1, 1, 2, 2};
  bad_x = in_f32("x", 4, d);
  expect_fail(bad_resize, "axis 2: input 2 gives output size 0");
}

/* ---- GridSample: a plain loop of PyTorch's bilinear/zeros rule ---- */

static float px(const float *x, int64_t H, int64_t W, int64_t n, int64_t c, int64_t C, int64_t yy, int64_t xx)
{
  if (yy < 0 || yy >= H || xx < 0 || xx >= W) return 0;
  return x[((n * C + c) * H + yy) * W + xx];
}

static void test_grid_sample(void **s)
{
  (void)s;
  enum { N = 2, C = 3, H = 4, W = 5, HO = 3, WO = 4 };
  int64_t dx[4] = {N, C, H, W}, dg[4] = {N, HO, WO, 2};
  float x[N * C * H * W], gr[N * HO * WO * 2];
  fill_rand(x, N * C * H * W, 11);
  fill_rand(gr, N * HO * WO * 2, 12);
  for (int k = 0; k < N * HO * WO * 2; k++) gr[k] *= 1.3f; /* some positions outside */
  Node *xi = in_f32("x", 4, dx), *gi = in_f32("grid", 4, dg);
  void *ins[2] = {x, gr};
  for (int align = 0; align < 2; align++) {
    float *r = run(ir_grid_sample(g, xi, gi, GRID_BILINEAR, GRID_PAD_ZEROS, align), ins);
    float *rn = run(ir_grid_sample(g, xi, gi, GRID_NEAREST, GRID_PAD_BORDER, align), ins);
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++)
        for (int i = 0; i < HO; i++)
          for (int j = 0; j < WO; j++) {
            const float *gp = &gr[((n * HO + i) * WO + j) * 2];
            double fx = align ? (gp[0] + 1) / 2.0 * (W - 1) : ((gp[0] + 1) * W - 1) / 2.0;
            double fy = align ? (gp[1] + 1) / 2.0 * (H - 1) : ((gp[1] + 1) * H - 1) / 2.0;
            double x0 = floor(fx), y0 = floor(fy), tx = fx - x0, ty = fy - y0;
            int64_t ix = (int64_t)x0, iy = (int64_t)y0;
            double v = (1 - ty) * (1 - tx) * px(x, H, W, n, c, C, iy, ix) + (1 - ty) * tx * px(x, H, W, n, c, C, iy, ix + 1) +
                       ty * (1 - tx) * px(x, H, W, n, c, C, iy + 1, ix) + ty * tx * px(x, H, W, n, c, C, iy + 1, ix + 1);
            int64_t o = ((n * C + c) * HO + i) * WO + j;
            float want = (float)v;
            expect_f32(&r[o], &want, 1, 1e-5);
            /* nearest, border: clamp then round half to even */
            int64_t nx = (int64_t)nearbyint(fmin(W - 1, fmax(0, fx))), ny = (int64_t)nearbyint(fmin(H - 1, fmax(0, fy)));
            float wn = px(x, H, W, n, c, C, ny, nx);
            expect_f32(&rn[o], &wn, 1, 0);
          }
  }
}

static Node *bad_grid;
static void grid_bad(void) { ir_grid_sample(g, bad_x, bad_grid, GRID_BILINEAR, GRID_PAD_ZEROS, false); }

static void test_grid_sample_errors(void **s)
{
  (void)s;
  int64_t dx[4] = {1, 1, 2, 2}, dg[4] = {1, 2, 2, 3};
  bad_x = in_f32("x", 4, dx);
  bad_grid = in_f32("grid", 4, dg);
  expect_fail(grid_bad, "grid must be [N=1, H_out, W_out, 2]");
}

/* ---- RoiAlign: x[h][w] = 4h + w is linear, so bilinear samples are exact ---- */

static void test_roi_align(void **s)
{
  (void)s;
  int64_t dx[4] = {1, 1, 4, 4}, dr[2] = {2, 4}, db[1] = {2};
  float x[16];
  for (int k = 0; k < 16; k++) x[k] = (float)k;
  float rois[8] = {0, 0, 3, 3, 1, 0, 2, 2};
  int64_t batch[2] = {0, 0};
  Node *xi = in_f32("x", 4, dx), *ri = in_f32("rois", 2, dr), *bi = ir_input(g, "b", DT_I64, 1, db);
  RoiAlignParams p = {.out_h = 1, .out_w = 2, .sampling_ratio = 1, .spatial_scale = 1, .half_pixel = false};
  void *ins[3] = {x, rois, batch};
  float *r = run(ir_roi_align(g, xi, ri, bi, &p), ins);
  /* roi 0: bins of width 1.5, samples at x 0.75, 2.25, y 1.5 -> 4*1.5 + x;
   * roi 1: width 1 (bins 0.5), height 2: samples at x 1.25, 1.75, y 1 */
  float want[4] = {6.75f, 8.25f, 5.25f, 5.75f};
  expect_f32(r, want, 4, 1e-6);
  /* half_pixel shifts the roi by -0.5: roi 0 samples x 0.25, 1.75, y 1 */
  p.half_pixel = true;
  float *r2 = run(ir_roi_align(g, xi, ri, bi, &p), ins);
  float want2[2] = {4.25f, 5.75f};
  expect_f32(r2, want2, 2, 1e-6);
}

/* ---- MaxUnpool: ONNX's example ---- */

static void test_max_unpool(void **s)
{
  (void)s;
  int64_t d[4] = {1, 1, 2, 2}, id[4] = {1, 1, 4, 4}, od[4] = {1, 1, 5, 5};
  float x[4] = {5, 6, 7, 8};
  int64_t ind[4] = {5, 7, 13, 15};
  Node *xi = in_f32("x", 4, d), *ii = ir_input(g, "i", DT_I64, 4, d);
  void *ins[2] = {x, ind};
  float *r = run(ir_max_unpool(g, xi, ii, id, 4, id), ins);
  float want[16] = {0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8};
  expect_f32(r, want, 16, 0);
  float *r5 = run(ir_max_unpool(g, xi, ii, id, 4, od), ins);
  float want5[25] = {0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0, 0};
  expect_f32(r5, want5, 25, 0);
}

/* ---- MaxPool Indices: x [[1 4] [3 2]] and [[5 5] [1 0]] in two channels,
 * one 2x2 window: the first maximum's flat index, row- or column-major ---- */

static void test_maxpool_indices(void **s)
{
  (void)s;
  int64_t d[4] = {1, 2, 2, 2};
  float x[8] = {1, 4, 3, 2, 5, 5, 1, 0};
  Node *xi = in_f32("x", 4, d);
  WindowParams p;
  memset(&p, 0, sizeof p);
  p.nsp = 2;
  p.kernel[0] = p.kernel[1] = 2;
  p.stride[0] = p.stride[1] = 1;
  p.dilation[0] = p.dilation[1] = 1;
  Node *y = ir_maxpool(g, xi, &p);
  void *ins[1] = {x};
  int64_t *r = run(ir_maxpool_indices(g, xi, &p, y, false), ins);
  assert_int_equal(r[0], 1);
  assert_int_equal(r[1], 4); /* tie: the first in row-major order */
  int64_t *rc = run(ir_maxpool_indices(g, xi, &p, y, true), ins);
  assert_int_equal(rc[0], 2); /* (h 0, w 1): h + w * H */
  assert_int_equal(rc[1], 4);
}

/* ---- LpPool ---- */

static void test_lppool(void **s)
{
  (void)s;
  int64_t d[3] = {1, 1, 3};
  float x[3] = {3, -4, 0};
  Node *xi = in_f32("x", 3, d);
  WindowParams p;
  memset(&p, 0, sizeof p);
  p.nsp = 1;
  p.kernel[0] = 2;
  p.stride[0] = 1;
  p.dilation[0] = 1;
  p.pad_end[0] = 1;
  void *ins[1] = {x};
  float want2[3] = {5, 4, 0}, want1[3] = {7, 4, 0};
  expect_f32(run(ir_lppool(g, xi, &p, 2), ins), want2, 3, 1e-6);
  expect_f32(run(ir_lppool(g, xi, &p, 1), ins), want1, 3, 1e-6);
  float want3[3] = {(float)cbrt(91.0), 4, 0};
  expect_f32(run(ir_lppool(g, xi, &p, 3), ins), want3, 3, 1e-6);
}

/* ---- LRN, MVN, GroupNorm: plain loops of the formulas ---- */

static void test_lrn(void **s)
{
  (void)s;
  enum { N = 2, C = 5, S = 3 };
  int64_t d[3] = {N, C, S};
  float x[N * C * S];
  fill_rand(x, N * C * S, 3);
  Node *xi = in_f32("x", 3, d);
  void *ins[1] = {x};
  float *r = run(ir_lrn(g, xi, 4, 0.02, 0.75, 2), ins);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++)
      for (int k = 0; k < S; k++) {
        double ss = 0;
        for (int cc = c - 1; cc <= c + 2; cc++) /* floor(3/2) = 1 before, ceil(3/2) = 2 after */
          if (cc >= 0 && cc < C) ss += (double)x[(n * C + cc) * S + k] * x[(n * C + cc) * S + k];
        float want = (float)(x[(n * C + c) * S + k] / pow(2 + 0.02 / 4 * ss, 0.75));
        expect_f32(&r[(n * C + c) * S + k], &want, 1, 1e-5);
      }
}

static void test_mvn(void **s)
{
  (void)s;
  enum { N = 2, C = 3, S = 4 };
  int64_t d[3] = {N, C, S};
  float x[N * C * S];
  fill_rand(x, N * C * S, 5);
  Node *xi = in_f32("x", 3, d);
  int axes[2] = {0, 2};
  void *ins[1] = {x};
  float *r = run(ir_mvn(g, xi, 2, axes), ins);
  for (int c = 0; c < C; c++) {
    double m = 0, m2 = 0;
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        double v = x[(n * C + c) * S + k];
        m += v / (N * S);
        m2 += v * v / (N * S);
      }
    for (int n = 0; n < N; n++)
      for (int k = 0; k < S; k++) {
        float want = (float)((x[(n * C + c) * S + k] - m) / (sqrt(m2 - m * m) + 1e-9));
        expect_f32(&r[(n * C + c) * S + k], &want, 1, 1e-4);
      }
  }
}

static void test_group_norm(void **s)
{
  (void)s;
  enum { N = 2, C = 4, S = 3, G = 2 };
  int64_t d[3] = {N, C, S}, dg[1] = {G}, dc[1] = {C};
  float x[N * C * S], sg[G] = {2, -1}, bg[G] = {0.5f, 1}, scc[C] = {1, 2, 3, 4}, bc[C] = {0, 0, 1, 1};
  fill_rand(x, N * C * S, 9);
  Node *xi = in_f32("x", 3, d);
  void *ins[1] = {x};
  float *r = run(ir_group_norm(g, xi, ir_const(g, DT_F32, 1, dg, sg), ir_const(g, DT_F32, 1, dg, bg), G, 1e-5, false), ins);
  float *rc = run(ir_group_norm(g, xi, ir_const(g, DT_F32, 1, dc, scc), ir_const(g, DT_F32, 1, dc, bc), G, 1e-5, true), ins);
  int per = C / G * S;
  for (int n = 0; n < N; n++)
    for (int gg = 0; gg < G; gg++) {
      const float *b = &x[(n * C + gg * (C / G)) * S];
      double m = 0, v = 0;
      for (int k = 0; k < per; k++) m += b[k] / per;
      for (int k = 0; k < per; k++) v += (b[k] - m) * (b[k] - m) / per;
      for (int k = 0; k < per; k++) {
        int c = gg * (C / G) + k / S;
        double z = (b[k] - m) / sqrt(v + 1e-5);
        int64_t o = (n * C + gg * (C / G)) * S + k;
        float want = (float)(z * sg[gg] + bg[gg]), wantc = (float)(z * scc[c] + bc[c]);
        expect_f32(&r[o], &want, 1, 1e-4);
        expect_f32(&rc[o], &wantc, 1, 1e-4);
      }
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_resize_nearest, setup, teardown),
    cmocka_unit_test_setup_teardown(test_resize_linear, setup, teardown),
    cmocka_unit_test_setup_teardown(test_resize_cubic, setup, teardown),
    cmocka_unit_test_setup_teardown(test_resize_crop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_resize_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_grid_sample, setup, teardown),
    cmocka_unit_test_setup_teardown(test_grid_sample_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_roi_align, setup, teardown),
    cmocka_unit_test_setup_teardown(test_max_unpool, setup, teardown),
    cmocka_unit_test_setup_teardown(test_maxpool_indices, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lppool, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lrn, setup, teardown),
    cmocka_unit_test_setup_teardown(test_mvn, setup, teardown),
    cmocka_unit_test_setup_teardown(test_group_norm, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
