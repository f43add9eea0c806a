/* test_ops_rnn.c: the recurrent-layer constructors (ops_rnn.c): take, stack,
 * the RNN activations, and ir_rnn for RNN, GRU (both reset placements) and
 * LSTM (peepholes, input_forget, clip, both directions, sequence_lens as a
 * constant and as a run-time input). References are a hand-computed step and
 * a plain double-precision loop over ONNX's equations, written here. */
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

static void fill_rand(float *v, int64_t n, uint32_t seed, float scale)
{
  for (int64_t k = 0; k < n; k++) {
    seed = seed * 1664525u + 1013904223u;
    v[k] = ((float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f) * scale;
  }
}

/* Evaluate the graph; outs[k] receives output k's value. */
static void eval(void *const *inputs, void **outs)
{
  void **o = ir_alloc_array(g, (size_t)g->noutputs, sizeof(void *));
  ir_eval_graph(g, inputs, o);
  for (int k = 0; k < g->noutputs; k++) outs[k] = o[k];
}

static void expect_close(const float *got, const double *want, int64_t n, double tol)
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

/* ---- take, stack ---- */

static void test_take_stack(void **s)
{
  (void)s;
  int64_t d[3] = {2, 3, 2};
  float v[12];
  for (int k = 0; k < 12; k++) v[k] = (float)k;
  Node *x = ir_const(g, DT_F32, 3, d, v);
  Node *t = ir_take(g, x, 1, 2); /* x[:, 2, :] */
  int64_t td[2] = {2, 2};
  expect_shape(t, 2, td);
  /* stack five slices along a new middle axis: a balanced concat tree */
  Node *parts[5];
  for (int k = 0; k < 5; k++) parts[k] = ir_binary(g, MAP_ADD, t, ir_scalar(g, DT_F32, 100.0 * k));
  Node *st = ir_stack(g, 5, parts, 1);
  int64_t sd[3] = {2, 5, 2};
  expect_shape(st, 3, sd);
  ir_mark_output(g, t, "t");
  ir_mark_output(g, st, "s");
  void *o[2];
  eval(NULL, o);
  const float *tv = o[0], *sv = o[1];
  float want_t[4] = {4, 5, 10, 11};
  for (int k = 0; k < 4; k++) assert_true(tv[k] == want_t[k]);
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 5; k++)
      for (int j = 0; j < 2; j++) assert_true(sv[(i * 5 + k) * 2 + j] == want_t[i * 2 + j] + 100.0f * (float)k);
}

static Node *bad_x;
static void take_out_of_range(void) { ir_take(g, bad_x, 0, 2); }
static void stack_mismatch(void)
{
  int64_t d1[1] = {3};
  Node *xs[2] = {bad_x, ir_input(g, "z", DT_F32, 1, d1)};
  ir_stack(g, 2, xs, 0);
}

static void test_take_stack_errors(void **s)
{
  (void)s;
  int64_t d[1] = {2};
  bad_x = ir_input(g, "x", DT_F32, 1, d);
  expect_fail(take_out_of_range, "index 2 is out of range for axis 0 of extent 2");
  expect_fail(stack_mismatch, "stack: input 1 differs");
}

/* ---- activations ---- */

static double act_ref(RnnAct a, double x)
{
  switch (a.kind) {
  case RNN_ACT_RELU: return x > 0 ? x : 0;
  case RNN_ACT_TANH: return tanh(x);
  case RNN_ACT_SIGMOID: return 1 / (1 + exp(-x));
  case RNN_ACT_AFFINE: return a.alpha * x + a.beta;
  case RNN_ACT_LEAKY_RELU: return x >= 0 ? x : a.alpha * x;
  case RNN_ACT_THRESHOLDED_RELU: return x > a.alpha ? x : 0;
  case RNN_ACT_SCALED_TANH: return a.alpha * tanh(a.beta * x);
  case RNN_ACT_HARD_SIGMOID: return fmin(fmax(a.alpha * x + a.beta, 0), 1);
  case RNN_ACT_ELU: return x >= 0 ? x : a.alpha * (exp(x) - 1);
  case RNN_ACT_SOFTSIGN: return x / (1 + fabs(x));
  case RNN_ACT_SOFTPLUS: return log(1 + exp(x));
  default: return NAN;
  }
}

static void test_activations(void **s)
{
  (void)s;
  int64_t d[1] = {7};
  float v[7] = {-3, -1, -0.25f, 0, 0.5f, 1.5f, 4};
  Node *x = ir_input(g, "x", DT_F32, 1, d);
  RnnAct acts[RNN_ACT_COUNT];
  for (int k = 0; k < RNN_ACT_COUNT; k++) {
    bool ua, ub;
    double da, db;
    assert_true(ir_rnn_act_params((RnnActKind)k, &ua, &ub, &da, &db));
    acts[k] = (RnnAct){(RnnActKind)k, ua ? 0.7 : 0, ub ? 0.3 : 0};
    ir_mark_output(g, ir_rnn_act(g, x, acts[k]), ir_rnn_act_name((RnnActKind)k));
  }
  assert_string_equal(ir_rnn_act_name(RNN_ACT_HARD_SIGMOID), "HardSigmoid");
  void *in[1] = {v}, *o[RNN_ACT_COUNT];
  eval(in, o);
  for (int k = 0; k < RNN_ACT_COUNT; k++) {
    double want[7];
    for (int j = 0; j < 7; j++) want[j] = act_ref(acts[k], v[j]);
    expect_close(o[k], want, 7, 1e-6);
  }
}

/* ---- ir_rnn ---- */

/* One hand-computed RNN step: T = 1, N = 1, I = 2, H = 1, tanh. */
static void test_rnn_one_step(void **s)
{
  (void)s;
  int64_t xd[3] = {1, 1, 2}, wd[3] = {1, 1, 2}, rd[3] = {1, 1, 1}, bd[2] = {1, 2}, hd[3] = {1, 1, 1};
  float x[2] = {1, 2}, w[2] = {0.5f, -0.25f}, r[1] = {2}, b[2] = {0.1f, 0.2f}, h0[1] = {0.3f};
  RnnInputs in = {0};
  in.x = ir_input(g, "x", DT_F32, 3, xd);
  in.w = ir_const(g, DT_F32, 3, wd, w);
  in.r = ir_const(g, DT_F32, 3, rd, r);
  in.b = ir_const(g, DT_F32, 2, bd, b);
  in.h0 = ir_const(g, DT_F32, 3, hd, h0);
  RnnParams p = {.kind = RNN_SIMPLE, .ndir = 1, .hidden = 1};
  p.act[0][0].kind = RNN_ACT_TANH;
  Node *y, *yh;
  ir_rnn(g, &p, &in, &y, &yh, NULL);
  int64_t yd[4] = {1, 1, 1, 1};
  expect_shape(y, 4, yd);
  expect_shape(yh, 3, hd);
  ir_mark_output(g, y, "y");
  ir_mark_output(g, yh, "yh");
  void *iv[1] = {x}, *o[2];
  eval(iv, o);
  /* 1*0.5 + 2*(-0.25) + 0.3*2 + 0.1 + 0.2 = 0.9 */
  double want = tanh(0.9);
  expect_close(o[0], &want, 1, 1e-6);
  expect_close(o[1], &want, 1, 1e-6);
}

/* Reference over ONNX's equations, layout 0; lens may be NULL. */
typedef struct {
  RnnKind kind;
  int T, N, I, H, D;
  bool reverse, lbr, input_forget;
  double clip;
  RnnAct act[2][3];
  const float *x, *w, *r, *b, *h0, *c0, *p;
  const int32_t *lens;
} Ref;

static double clipv(const Ref *R, double v)
{
  return R->clip > 0 ? fmin(fmax(v, -R->clip), R->clip) : v;
}

static void reference(const Ref *R, double *y, double *yh, double *yc)
{
  int T = R->T, N = R->N, I = R->I, H = R->H, D = R->D;
  int G = R->kind == RNN_SIMPLE ? 1 : R->kind == RNN_GRU ? 3 : 4;
  memset(y, 0, sizeof(double) * (size_t)(T * D * N * H));
  for (int d = 0; d < D; d++) {
    const RnnAct *a = R->act[d];
    bool rev = D == 2 ? d == 1 : R->reverse;
    for (int n = 0; n < N; n++) {
      double h[8], c[8], gt[4][8], hn[8], cn[8];
      for (int j = 0; j < H; j++) {
        h[j] = R->h0 ? R->h0[(d * N + n) * H + j] : 0;
        c[j] = R->c0 ? R->c0[(d * N + n) * H + j] : 0;
      }
      int len = R->lens ? R->lens[n] : T;
      for (int s = 0; s < T; s++) {
        int t = rev ? T - 1 - s : s;
        if (t >= len) continue;
        for (int q = 0; q < G; q++)
          for (int j = 0; j < H; j++) {
            int row = d * G * H + q * H + j;
            double v = R->b ? R->b[d * 2 * G * H + q * H + j] : 0;
            for (int i = 0; i < I; i++) v += R->x[(t * N + n) * I + i] * R->w[row * I + i];
            if (!(R->kind == RNN_GRU && q == 2)) {
              for (int i = 0; i < H; i++) v += h[i] * R->r[row * H + i];
              if (R->b) v += R->b[d * 2 * G * H + (G + q) * H + j];
            }
            gt[q][j] = v;
          }
        for (int j = 0; j < H; j++) {
          if (R->kind == RNN_SIMPLE) {
            hn[j] = act_ref(a[0], clipv(R, gt[0][j]));
          } else if (R->kind == RNN_GRU) {
            double z = act_ref(a[0], clipv(R, gt[0][j]));
            int row = d * G * H + 2 * H + j;
            double rbh = R->b ? R->b[d * 2 * G * H + 5 * H + j] : 0, v = gt[2][j], acc = 0;
            if (R->lbr) {
              for (int i = 0; i < H; i++) acc += h[i] * R->r[row * H + i];
              v += act_ref(a[0], clipv(R, gt[1][j])) * (acc + rbh);
            } else {
              for (int i = 0; i < H; i++) acc += act_ref(a[0], clipv(R, gt[1][i])) * h[i] * R->r[row * H + i];
              v += acc + rbh;
            }
            double hh = act_ref(a[1], clipv(R, v));
            hn[j] = (1 - z) * hh + z * h[j];
          } else {
            double pi = R->p ? R->p[d * 3 * H + j] : 0, po = R->p ? R->p[d * 3 * H + H + j] : 0,
                   pf = R->p ? R->p[d * 3 * H + 2 * H + j] : 0;
            double ig = act_ref(a[0], clipv(R, gt[0][j] + pi * c[j]));
            double fg = R->input_forget ? 1 - ig : act_ref(a[0], clipv(R, gt[2][j] + pf * c[j]));
            cn[j] = fg * c[j] + ig * act_ref(a[1], clipv(R, gt[3][j]));
            double og = act_ref(a[0], clipv(R, gt[1][j] + po * cn[j]));
            hn[j] = og * act_ref(a[2], cn[j]);
          }
        }
        for (int j = 0; j < H; j++) {
          h[j] = hn[j];
          if (R->kind == RNN_LSTM) c[j] = cn[j];
          y[((t * D + d) * N + n) * H + j] = hn[j];
        }
      }
      for (int j = 0; j < H; j++) {
        yh[(d * N + n) * H + j] = h[j];
        if (yc) yc[(d * N + n) * H + j] = c[j];
      }
    }
  }
}

/* Builds the layer from R (x, h0, c0 and lens as graph inputs when runtime_lens),
 * evaluates it and compares all outputs with the reference. */
static void check_layer(const Ref *R, bool const_lens)
{
  int G = R->kind == RNN_SIMPLE ? 1 : R->kind == RNN_GRU ? 3 : 4;
  int64_t T = R->T, N = R->N, I = R->I, H = R->H, D = R->D;
  int64_t xd[3] = {T, N, I}, wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H},
          hd[3] = {D, N, H}, pd[2] = {D, 3 * H}, ld[1] = {N};
  RnnInputs in = {0};
  void *vals[4];
  int nin = 0;
  in.x = ir_input(g, "x", DT_F32, 3, xd);
  vals[nin++] = (void *)R->x;
  in.w = ir_const(g, DT_F32, 3, wd, R->w);
  in.r = ir_const(g, DT_F32, 3, rd, R->r);
  if (R->b) in.b = ir_const(g, DT_F32, 2, bd, R->b);
  if (R->p) in.peep = ir_const(g, DT_F32, 2, pd, R->p);
  if (R->h0) {
    in.h0 = ir_input(g, "h0", DT_F32, 3, hd);
    vals[nin++] = (void *)R->h0;
  }
  if (R->c0) {
    in.c0 = ir_input(g, "c0", DT_F32, 3, hd);
    vals[nin++] = (void *)R->c0;
  }
  if (R->lens && const_lens) {
    in.seq_lens = ir_const(g, DT_I32, 1, ld, R->lens);
  } else if (R->lens) {
    in.seq_lens = ir_input(g, "lens", DT_I32, 1, ld);
    vals[nin++] = (void *)R->lens;
  }
  RnnParams p = {.kind = R->kind, .ndir = R->D, .reverse = R->reverse, .hidden = R->H, .clip = R->clip,
                 .linear_before_reset = R->lbr, .input_forget = R->input_forget};
  memcpy(p.act, R->act, sizeof p.act);
  Node *y, *yh, *yc = NULL;
  ir_rnn(g, &p, &in, &y, &yh, R->kind == RNN_LSTM ? &yc : NULL);
  int64_t yd[4] = {T, D, N, H};
  expect_shape(y, 4, yd);
  expect_shape(yh, 3, hd);
  ir_mark_output(g, y, "y");
  ir_mark_output(g, yh, "yh");
  if (yc) ir_mark_output(g, yc, "yc");
  void *o[3];
  eval(vals, o);
  double wy[256], wh[64], wc[64];
  assert_true(T * D * N * H <= 256 && D * N * H <= 64);
  reference(R, wy, wh, yc ? wc : NULL);
  expect_close(o[0], wy, T * D * N * H, 1e-5);
  expect_close(o[1], wh, D * N * H, 1e-5);
  if (yc) expect_close(o[2], wc, D * N * H, 1e-5);
}

static float xs[128], ws[256], rs[256], bs[64], h0s[32], c0s[32], ps[32];

static Ref make_ref(RnnKind kind, int T, int N, int I, int H, int D)
{
  int G = kind == RNN_SIMPLE ? 1 : kind == RNN_GRU ? 3 : 4;
  fill_rand(xs, T * N * I, 1, 1.0f);
  fill_rand(ws, D * G * H * I, 2, 0.6f);
  fill_rand(rs, D * G * H * H, 3, 0.6f);
  fill_rand(bs, D * 2 * G * H, 4, 0.5f);
  fill_rand(h0s, D * N * H, 5, 1.0f);
  fill_rand(c0s, D * N * H, 6, 1.0f);
  fill_rand(ps, D * 3 * H, 7, 0.5f);
  Ref R = {.kind = kind, .T = T, .N = N, .I = I, .H = H, .D = D, .x = xs, .w = ws, .r = rs};
  for (int d = 0; d < 2; d++) {
    R.act[d][0].kind = kind == RNN_SIMPLE ? RNN_ACT_TANH : RNN_ACT_SIGMOID;
    R.act[d][1].kind = RNN_ACT_TANH;
    R.act[d][2].kind = RNN_ACT_TANH;
  }
  return R;
}

static void test_rnn_reverse_activation(void **s)
{
  (void)s;
  Ref R = make_ref(RNN_SIMPLE, 4, 2, 3, 3, 1);
  R.reverse = true;
  R.b = bs;
  R.act[0][0] = (RnnAct){RNN_ACT_LEAKY_RELU, 0.1, 0};
  check_layer(&R, false);
}

static void test_gru(void **s)
{
  (void)s;
  Ref R = make_ref(RNN_GRU, 3, 2, 3, 4, 1);
  R.b = bs; /* zero initial state, linear_before_reset = 0 */
  check_layer(&R, false);
}

static void test_gru_linear_before_reset_bidir(void **s)
{
  (void)s;
  static const int32_t lens[2] = {3, 1};
  Ref R = make_ref(RNN_GRU, 3, 2, 3, 4, 2);
  R.b = bs;
  R.h0 = h0s;
  R.lbr = true;
  R.lens = lens;
  R.act[1][1] = (RnnAct){RNN_ACT_SCALED_TANH, 1.5, 0.8};
  check_layer(&R, false);
}

static void test_lstm_peephole_clip_bidir(void **s)
{
  (void)s;
  static const int32_t lens[3] = {4, 2, 0};
  Ref R = make_ref(RNN_LSTM, 4, 3, 2, 3, 2);
  R.b = bs;
  R.h0 = h0s;
  R.c0 = c0s;
  R.p = ps;
  R.clip = 0.7;
  R.lens = lens;
  R.act[0][0] = (RnnAct){RNN_ACT_HARD_SIGMOID, 0.3, 0.4};
  R.act[1][2] = (RnnAct){RNN_ACT_SOFTSIGN, 0, 0};
  check_layer(&R, true); /* constant sequence_lens */
}

static void test_lstm_input_forget_runtime_lens(void **s)
{
  (void)s;
  static const int32_t lens[2] = {1, 3};
  Ref R = make_ref(RNN_LSTM, 3, 2, 2, 2, 1);
  R.b = bs;
  R.c0 = c0s;
  R.input_forget = true;
  R.lens = lens;
  check_layer(&R, false);
}

/* ---- ir_rnn errors ---- */

static RnnParams err_p;
static RnnInputs err_in;
static void rnn_call(void)
{
  Node *y;
  ir_rnn(g, &err_p, &err_in, &y, NULL, NULL);
}

static void test_rnn_errors(void **s)
{
  (void)s;
  int64_t xd[3] = {2, 1, 3}, wd[3] = {1, 4, 3}, rd[3] = {1, 4, 4}, wbad[3] = {1, 4, 2}, ld[1] = {1};
  err_p = (RnnParams){.kind = RNN_SIMPLE, .ndir = 1, .hidden = 4};
  err_in = (RnnInputs){0};
  err_in.x = ir_input(g, "x", DT_F32, 3, xd);
  err_in.w = ir_input(g, "w", DT_F32, 3, wbad);
  err_in.r = ir_input(g, "r", DT_F32, 3, rd);
  expect_fail(rnn_call, "RNN: W is [1, 4, 2], expected [1, 4, 3]");
  err_in.w = ir_input(g, "w2", DT_F32, 3, wd);
  int32_t lens[1] = {3};
  err_in.seq_lens = ir_const(g, DT_I32, 1, ld, lens);
  expect_fail(rnn_call, "sequence_lens[0] is 3, outside [0, seq_length 2]");
  err_in.seq_lens = NULL;
  err_in.x = ir_input(g, "xi", DT_I32, 3, xd);
  expect_fail(rnn_call, "X is int32, a float type is required");
  err_in.x = ir_input(g, "x2", DT_F32, 3, xd);
  err_p.kind = RNN_GRU;
  expect_fail(rnn_call, "GRU: W is [1, 4, 3], expected [1, 12, 3]");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_take_stack, setup, teardown),
    cmocka_unit_test_setup_teardown(test_take_stack_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_activations, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rnn_one_step, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rnn_reverse_activation, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gru, setup, teardown),
    cmocka_unit_test_setup_teardown(test_gru_linear_before_reset_bidir, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lstm_peephole_clip_bidir, setup, teardown),
    cmocka_unit_test_setup_teardown(test_lstm_input_forget_runtime_lens, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rnn_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
