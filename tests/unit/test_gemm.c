/* test_gemm.c: runtime_stub/gemm.h against a naive triple loop in double.
 *
 * Built twice: build/tests/test_gemm with the default flags (the portable
 * kernel unless CFLAGS name an ISA) and build/tests/test_gemm_native with
 * -march=native -fopenmp (AVX-512 or AVX2 here, and the threaded split).
 * Every SIMD case also runs the portable micro-kernel (epi.scalar = 1) on the
 * same layouts.
 *
 * Tolerance. Each C[i][j] is a sum of T = K + t terms x_1..x_T in float (the
 * K products a*b, each rounded into a fused or unfused multiply-add, plus up
 * to t = 4 epilogue terms: the old C, bias_row, bias_col, residual). Any
 * summation order gives |computed - exact| <= gamma_{2T} * sum|x| with
 * gamma_n = n*u/(1 - n*u), u = 2^-24 (Higham, Accuracy and Stability, 3.1:
 * one rounding for the product, one per addition). With n*u < 0.01 that is
 * below 1.01 * T * 2^-23 * sum|x|; the test allows (K + 4) * 2^-23 * sum|x|
 * plus 1e-30 for all-zero sums. The reference is exact enough in double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_stub/gemm.h"

static uint64_t rng = 88172645463325252ULL;
static float frand(void) { /* xorshift, uniform in [-1, 1) */
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *frand_array(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = frand();
  return p;
}

enum { ACC = 1, BIAS_ROW = 2, BIAS_COL = 4, RESID = 8, RELU = 16, TRANS_B = 32, CLIP6 = 64, POST = 128 };

/* a post epilogue that shows its coordinates and that it ran once per element: v -> 2v + i - j/4 */
static void post_mark(const void *ctx, float *c, int64_t ldc, int64_t i, int64_t j, int64_t m, int64_t n) {
  assert_int_equal(*(const int *)ctx, 42);
  for (int64_t r = 0; r < m; r++)
    for (int64_t q = 0; q < n; q++) c[r * ldc + q] = 2 * c[r * ldc + q] + (float)(i + r) - 0.25f * (float)(j + q);
}

/* Run one product and check every element of C, and that C's padding
 * columns (ldc > N) are untouched. `threads` sizes the scratch. */
static void check_case(int64_t M, int64_t N, int64_t K, int64_t ldc, int flags, int scalar, int threads) {
  float *A = frand_array(M * K), *B = frand_array(K * N), *C = frand_array(M * ldc);
  float *C0 = malloc(sizeof(float) * (size_t)(M * ldc));
  memcpy(C0, C, sizeof(float) * (size_t)(M * ldc));
  float *br = frand_array(M), *bc = frand_array(N), *res = frand_array(M * (N + 3));
  float *Bt = NULL;
  float *Ap = malloc(sizeof(float) * (size_t)(jtc_gemm_packed_a_floats(M, K) + 1));
  jtc_gemm_pack_a(M, K, A, K, Ap);
  jtc_gemm_bmat bm = {B, N};
  if (flags & TRANS_B) { /* the same B stored N x K */
    Bt = malloc(sizeof(float) * (size_t)(K * N + 1));
    for (int64_t k = 0; k < K; k++)
      for (int64_t j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
    bm.B = Bt, bm.ldb = K;
  }
  jtc_gemm_epi epi;
  memset(&epi, 0, sizeof epi);
  epi.scalar = scalar;
  if (flags & BIAS_ROW) epi.bias_row = br;
  if (flags & BIAS_COL) epi.bias_col = bc;
  if (flags & RESID) epi.residual = res, epi.ldr = N + 3;
  if (flags & RELU) epi.clamp = 1, epi.lo = 0.0f, epi.hi = FLT_MAX;
  if (flags & CLIP6) epi.clamp = 1, epi.lo = -0.25f, epi.hi = 0.5f;
  static const int post_ctx = 42;
  if (flags & POST) epi.post = post_mark, epi.post_ctx = &post_ctx;
  size_t sb = jtc_gemm_scratch_bytes(N, K, threads);
  void *scratch = malloc(sb);
  int rc = jtc_gemm(M, N, K, Ap, (flags & TRANS_B) ? jtc_gemm_pack_b_trans : jtc_gemm_pack_b_rowmajor, &bm, C, ldc,
                    flags & ACC, &epi, scratch, sb);
  assert_int_equal(rc, 0);
  int64_t bad = 0;
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) {
      double s = 0, sa = 0;
      for (int64_t k = 0; k < K; k++) {
        double p = (double)A[i * K + k] * (double)B[k * N + j];
        s += p, sa += fabs(p);
      }
      double extra[4] = {(flags & ACC) ? C0[i * ldc + j] : 0, (flags & BIAS_ROW) ? br[i] : 0,
                         (flags & BIAS_COL) ? bc[j] : 0, (flags & RESID) ? res[i * (N + 3) + j] : 0};
      for (int t = 0; t < 4; t++) s += extra[t], sa += fabs(extra[t]);
      double tol = (double)(K + 4) * 0x1p-23 * sa + 1e-30;
      if (epi.clamp) s = s < epi.lo ? epi.lo : (s > epi.hi ? epi.hi : s); /* clamp only shrinks errors */
      if (flags & POST) s = 2 * s + (double)i - 0.25 * (double)j, tol = 2 * tol + 1e-6 * (double)(i + j);
      double got = C[i * ldc + j];
      if (!(fabs(got - s) <= tol)) {
        if (bad++ < 5)
          print_error("M=%lld N=%lld K=%lld flags=%d scalar=%d: C[%lld][%lld] = %.9g, want %.9g (tol %.3g)\n",
                      (long long)M, (long long)N, (long long)K, flags, scalar, (long long)i, (long long)j, got,
                      s, tol);
      }
    }
    for (int64_t j = N; j < ldc; j++)
      if (C[i * ldc + j] != C0[i * ldc + j]) bad++;
  }
  assert_int_equal(bad, 0);
  free(A), free(B), free(C), free(C0), free(br), free(bc), free(res), free(Bt), free(Ap), free(scratch);
}

/* every shape with the SIMD kernel and the portable one */
static void check_both(int64_t M, int64_t N, int64_t K, int64_t ldc, int flags) {
  check_case(M, N, K, ldc, flags, 0, 1);
  check_case(M, N, K, ldc, flags, 1, 1);
}

static void test_tiny_and_primes(void **s) {
  (void)s;
  static const int64_t shapes[][3] = {{1, 1, 1},   {7, 13, 29},  {13, 7, 1},   {1, 31, 17},  {31, 1, 17},
                                      {2, 3, 5},   {11, 17, 3},  {12, 32, 8},  {13, 33, 9},  {5, 15, 2},
                                      {24, 16, 7}, {23, 47, 61}, {6, 17, 19},  {4, 48, 11},  {9, 31, 64},
                                      {37, 67, 101}, {12, 64, 1}, {3, 1, 1}, {1, 64, 1}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    check_both(shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][1], 0);
}

static void test_k_and_n_blocks(void **s) {
  (void)s;
  check_both(13, 29, JTC_GEMM_KC, 29, 0);      /* exactly one k block */
  check_both(13, 29, JTC_GEMM_KC + 1, 29, 0);  /* two uneven-free k blocks */
  check_both(25, 37, 3 * JTC_GEMM_KC + 7, 37, ACC | BIAS_ROW | RELU);
  check_both(7, JTC_GEMM_NCR + 1, 9, JTC_GEMM_NCR + 1, 0);        /* two n blocks */
  check_both(14, 2 * JTC_GEMM_NCR + 77, 300, 2 * JTC_GEMM_NCR + 77, BIAS_COL);
}

static void test_k_one_n_one(void **s) {
  (void)s;
  check_both(50, 70, 1, 70, 0);
  check_both(50, 70, 1, 70, ACC | BIAS_ROW);
  check_both(1000, 1, 512, 1, BIAS_ROW);
  check_both(1, 1000, 512, 1000, BIAS_COL | RELU);
  check_both(1, 1, 700, 1, 0);
  /* one strip of columns: K in one block while it fits a full block's scratch, else cut */
  check_both(30, 1, 3000, 1, BIAS_ROW | RELU);
  check_both(30, 5, 5000, 5, ACC | RESID);
  check_both(13, 9, 2000, 9, 0);
  /* last strips of every width: on AVX-512 1..4 columns run the thin kernel, 5..8 the
   * 12 x 8 one, 17..24 one vector and then one of those */
  for (int64_t extra = 1; extra < JTC_GEMM_NR; extra++) {
    check_both(25, JTC_GEMM_NR + extra, 33, JTC_GEMM_NR + extra, 0);
    check_both(25, JTC_GEMM_NR + extra, 300, JTC_GEMM_NR + extra + 2, ACC | BIAS_ROW | BIAS_COL | RESID | RELU);
    check_both(7, extra, 5, extra, ACC | CLIP6);
  }
}

static void test_epilogues(void **s) {
  (void)s;
  static const int flags[] = {0,           ACC,     BIAS_ROW, BIAS_COL,  RESID, RELU,
                              ACC | RELU,  BIAS_ROW | RELU,   ACC | BIAS_ROW | BIAS_COL | RESID | RELU,
                              CLIP6,       ACC | RESID | CLIP6, POST, BIAS_ROW | RELU | POST, ACC | POST};
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    check_both(29, 45, 70, 45, flags[i]);
    check_both(12, 32, 300, 40, flags[i]); /* ldc > N, two k blocks */
  }
}

static void test_ldc_and_trans_b(void **s) {
  (void)s;
  check_both(17, 19, 23, 27, 0);
  check_both(17, 19, 23, 19, TRANS_B);
  check_both(40, 100, 280, 130, TRANS_B | ACC | BIAS_ROW);
}

static void test_k_zero(void **s) {
  (void)s;
  check_both(5, 9, 0, 9, 0);
  check_both(5, 9, 0, 11, ACC | BIAS_ROW | RELU);
  check_both(5, 9, 0, 9, POST);
}

static void test_resnet_shapes(void **s) {
  (void)s;
  check_case(64, 3136, 576, 3136, BIAS_ROW | RELU, 0, 1);
  check_case(512, 49, 4608, 49, ACC, 0, 1);
  check_case(512, 49, 2304, 49, BIAS_ROW | RESID | RELU, 0, 1);
  check_case(256, 8, 9216, 8, BIAS_ROW | RELU, 0, 1); /* the MNIST CNN's fc1 at batch 8 */
  check_case(64, 3136, 576, 3136, 0, 1, 1);
}

static void test_threads(void **s) {
  (void)s;
  /* scratch for 4 threads: jtc_gemm uses up to min(4, omp threads) */
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
  check_case(64, 3136, 576, 3136, BIAS_ROW | RELU, 0, 4);  /* split by columns */
  check_case(512, 49, 1000, 53, ACC | BIAS_COL, 0, 4);     /* split by rows */
  check_case(1000, 1, 512, 1, BIAS_ROW, 0, 4);
  check_case(37, 67, 101, 67, RESID | RELU, 1, 4);
  check_case(3, 3, 3, 3, 0, 0, 4);                         /* too small to split */
  check_case(64, 3136, 64, 3136, BIAS_ROW | POST, 0, 4);   /* the post epilogue on every thread's tiles */
  check_case(512, 49, 300, 49, POST, 0, 4);
}

static void test_scratch_too_small(void **s) {
  (void)s;
  float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4] = {7, 7, 7, 7};
  float Ap[12 * 3];
  char scratch[64];
  jtc_gemm_pack_a(2, 3, A, 3, Ap);
  jtc_gemm_bmat bm = {B, 2};
  assert_int_equal(jtc_gemm(2, 2, 3, Ap, jtc_gemm_pack_b_rowmajor, &bm, C, 2, 0, NULL, scratch, sizeof scratch), -1);
  assert_true(C[0] == 7 && C[3] == 7);
  size_t sb = jtc_gemm_scratch_bytes(2, 3, 1);
  void *big = malloc(sb);
  assert_int_equal(jtc_gemm(2, 2, 3, Ap, jtc_gemm_pack_b_rowmajor, &bm, C, 2, 0, NULL, big, sb), 0);
  assert_true(C[0] == 4 && C[1] == 5 && C[2] == 10 && C[3] == 11);
  free(big);
}

/* The packed-A layout is the documented one, whatever the ISA. */
static void test_packed_a_layout(void **s) {
  (void)s;
  float A[14 * 3], Ap[24 * 3];
  for (int i = 0; i < 14 * 3; i++) A[i] = (float)(i + 1);
  assert_int_equal(jtc_gemm_packed_a_floats(14, 3), 24 * 3);
  jtc_gemm_pack_a(14, 3, A, 3, Ap);
  for (int p = 0; p < 2; p++)
    for (int k = 0; k < 3; k++)
      for (int r = 0; r < 12; r++) {
        int i = p * 12 + r;
        assert_true(Ap[p * 12 * 3 + k * 12 + r] == (i < 14 ? A[i * 3 + k] : 0.0f));
      }
}

/* A 3x3 convolution (stride s, pad 1) as GEMM: M = Cout, K = Cin*9,
 * N = OH*OW, with B produced by an implicit-im2col provider writing the
 * packed layout directly. */
typedef struct {
  const float *x; /* Cin x H x W */
  int64_t cin, h, w, oh, ow, stride;
} ConvCtx;

static void pack_b_im2col(const void *ctx, float *panel, int64_t k0, int64_t kc, int64_t n0, int64_t nc) {
  const ConvCtx *cv = ctx;
  for (int64_t sidx = 0; sidx * JTC_GEMM_NR < nc; sidx++) {
    float *dst = panel + sidx * kc * JTC_GEMM_NR;
    for (int64_t k = 0; k < kc; k++) {
      int64_t kk = k0 + k, ci = kk / 9, kh = kk % 9 / 3, kw = kk % 3;
      for (int64_t jj = 0; jj < JTC_GEMM_NR; jj++) {
        int64_t j = n0 + sidx * JTC_GEMM_NR + jj;
        float v = 0.0f;
        if (sidx * JTC_GEMM_NR + jj < nc) {
          int64_t y = j / cv->ow * cv->stride + kh - 1, x = j % cv->ow * cv->stride + kw - 1;
          if (y >= 0 && y < cv->h && x >= 0 && x < cv->w) v = cv->x[(ci * cv->h + y) * cv->w + x];
        }
        dst[k * JTC_GEMM_NR + jj] = v;
      }
    }
  }
}

static void check_conv(int64_t cin, int64_t cout, int64_t h, int64_t w, int64_t stride, int scalar) {
  int64_t oh = (h + 2 - 3) / stride + 1, ow = (w + 2 - 3) / stride + 1, K = cin * 9, N = oh * ow;
  float *x = frand_array(cin * h * w), *wt = frand_array(cout * K), *bias = frand_array(cout);
  float *y = malloc(sizeof(float) * (size_t)(cout * N));
  float *Ap = malloc(sizeof(float) * (size_t)jtc_gemm_packed_a_floats(cout, K));
  jtc_gemm_pack_a(cout, K, wt, K, Ap); /* OIHW weights are already Cout x (Cin*9) */
  ConvCtx cv = {x, cin, h, w, oh, ow, stride};
  jtc_gemm_epi epi;
  memset(&epi, 0, sizeof epi);
  epi.bias_row = bias, epi.clamp = 1, epi.lo = 0.0f, epi.hi = FLT_MAX, epi.scalar = scalar;
  size_t sb = jtc_gemm_scratch_bytes(N, K, 2);
  void *scratch = malloc(sb);
  assert_int_equal(jtc_gemm(cout, N, K, Ap, pack_b_im2col, &cv, y, N, 0, &epi, scratch, sb), 0);
  int64_t bad = 0;
  for (int64_t co = 0; co < cout; co++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        double sum = bias[co], sa = fabs(bias[co]);
        for (int64_t ci = 0; ci < cin; ci++)
          for (int64_t kh = 0; kh < 3; kh++)
            for (int64_t kw = 0; kw < 3; kw++) {
              int64_t yy = oy * stride + kh - 1, xx = ox * stride + kw - 1;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              double p = (double)wt[((co * cin + ci) * 3 + kh) * 3 + kw] * x[(ci * h + yy) * w + xx];
              sum += p, sa += fabs(p);
            }
        double want = sum > 0 ? sum : 0, got = y[co * N + oy * ow + ox];
        if (!(fabs(got - want) <= (double)(K + 4) * 0x1p-23 * sa + 1e-30) && bad++ < 5)
          print_error("conv cin=%lld cout=%lld %lldx%lld s%lld: y[%lld][%lld][%lld] = %.9g, want %.9g\n",
                      (long long)cin, (long long)cout, (long long)h, (long long)w, (long long)stride,
                      (long long)co, (long long)oy, (long long)ox, got, want);
      }
  assert_int_equal(bad, 0);
  free(x), free(wt), free(bias), free(y), free(Ap), free(scratch);
}

static void test_conv3x3_im2col(void **s) {
  (void)s;
  for (int sc = 0; sc < 2; sc++) {
    check_conv(3, 16, 17, 19, 1, sc);
    check_conv(8, 13, 9, 9, 2, sc);
    check_conv(64, 64, 14, 14, 1, sc); /* K = 576 > KC */
    check_conv(1, 1, 1, 1, 1, sc);
  }
}

/* jtc_gemm_put: runs of a block row land at column q = strip q / NR, lane q % NR, strips
 * kc * NR floats apart; nothing else is written */
static void test_put_across_strips(void **s) {
  (void)s;
  enum { KC = 3, STRIPS = 4, W = STRIPS * JTC_GEMM_NR };
  float panel[KC * W], src[2 * W];
  for (int i = 0; i < 2 * W; i++) src[i] = (float)(i + 1);
  for (int stride = 1; stride <= 2; stride++)
    for (int64_t p = 0; p < W; p += 5)
      for (int64_t n = 0; p + n <= W; n += 7) {
        for (int i = 0; i < KC * W; i++) panel[i] = -1.0f;
        float *row = panel + 1 * JTC_GEMM_NR; /* row k = 1 */
        jtc_gemm_put(row, KC, p, (p + n) % 2 ? NULL : src, stride, n);
        for (int64_t q = 0; q < W; q++)
          for (int k = 0; k < KC; k++) {
            float got = panel[q / JTC_GEMM_NR * KC * JTC_GEMM_NR + k * JTC_GEMM_NR + q % JTC_GEMM_NR];
            float want = -1.0f;
            if (k == 1 && q >= p && q < p + n) want = (p + n) % 2 ? 0.0f : src[(q - p) * stride];
            assert_true(got == want);
          }
      }
}

/* jtc_gemm_window_row: lane j is src[off + j] inside the H x W bounds (row r0 + row[j],
 * column c0 + col[j]), else 0; a source ending at the last valid element is not overread */
static void test_window_row(void **s) {
  (void)s;
  enum { H = 5, W = 7 };
  float *src = malloc(sizeof(float) * H * W), dst[JTC_GEMM_NR];
  int32_t row[JTC_GEMM_NR], col[JTC_GEMM_NR];
  for (int i = 0; i < H * W; i++) src[i] = (float)(i + 1);
  for (int64_t n0 = 0; n0 < H * W; n0 += 3)
    for (int64_t r0 = -1; r0 <= 1; r0++)
      for (int64_t c0 = -1; c0 <= 1; c0++) {
        for (int j = 0; j < JTC_GEMM_NR; j++) {
          int64_t n = n0 + j;
          row[j] = n < H * W ? (int32_t)(n / W) : -1000000000;
          col[j] = (int32_t)(n % W);
        }
        jtc_gemm_window_row(dst, src, n0 + r0 * W + c0, row, col, r0, c0, H, W);
        for (int j = 0; j < JTC_GEMM_NR; j++) {
          int64_t n = n0 + j, r = n / W + r0, c = n % W + c0;
          float want = n < H * W && r >= 0 && r < H && c >= 0 && c < W ? src[r * W + c] : 0.0f;
          assert_true(dst[j] == want);
        }
      }
  free(src);
}

/* the providers' run copies: every length 0..40 at stride 1 and 2, from a source that ends
 * at the last element read (the AVX-512 forms use masked loads for the tail), nothing
 * written past n */
static void test_run_copies(void **s) {
  (void)s;
  enum { MAXN = 40 };
  float dst[MAXN + 8];
  for (int stride = 1; stride <= 2; stride++)
    for (int64_t n = 0; n <= MAXN; n++) {
      int64_t len = n ? (n - 1) * stride + 1 : 1;
      float *src = malloc(sizeof(float) * (size_t)len);
      for (int64_t i = 0; i < len; i++) src[i] = (float)(i * 3 + 1);
      for (int i = 0; i < MAXN + 8; i++) dst[i] = -1.0f;
      if (stride == 1) jtc_gemm_copy(dst, src, n);
      else jtc_gemm_copy2(dst, src, n);
      for (int64_t i = 0; i < n; i++) assert_true(dst[i] == src[i * stride]);
      for (int64_t i = n; i < MAXN + 8; i++) assert_true(dst[i] == -1.0f);
      free(src);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_packed_a_layout),
    cmocka_unit_test(test_tiny_and_primes),
    cmocka_unit_test(test_k_and_n_blocks),
    cmocka_unit_test(test_k_one_n_one),
    cmocka_unit_test(test_epilogues),
    cmocka_unit_test(test_ldc_and_trans_b),
    cmocka_unit_test(test_k_zero),
    cmocka_unit_test(test_scratch_too_small),
    cmocka_unit_test(test_conv3x3_im2col),
    cmocka_unit_test(test_resnet_shapes),
    cmocka_unit_test(test_threads),
    cmocka_unit_test(test_run_copies),
    cmocka_unit_test(test_put_across_strips),
    cmocka_unit_test(test_window_row),
  };
  print_message("gemm isa: %s, MR=%d NR=%d KC=%d NC=%d\n", JTC_GEMM_ISA, JTC_GEMM_MR, JTC_GEMM_NR, JTC_GEMM_KC,
                JTC_GEMM_NCR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
