/* ops_misc.c: losses, training updates, quantization and signal processing,
 * all built from the five meta-ops.
 *
 *   losses      NLL: GATHER input[n, target[n, d..], d..] through an IX_LOAD of
 *               the target, with `target != ignore_index` as the GATHER's
 *               condition (fill 0); the class weight is a second such GATHER.
 *               Reductions are SCATTER(add) to a scalar. Softmax cross-entropy
 *               is NLL of log-softmax along axis 1.
 *   training    Adagrad, Momentum, Adam: MAPs of the tensors with the scalar
 *               learning rate R and step T broadcast.
 *   quantize    MAPs (divide, round half to even, add zero point, clip, cast);
 *               integer conv/matmul cast to int32, subtract zero points and run
 *               the ordinary contraction in int32; requantization is float64.
 *   signal      windows and mel matrices are constants computed here; DFT is
 *               SCATTER(add, MAP(mul, GATHER(x), GATHER(W))) with W a constant
 *               [K, N, 2, R] table of cos/sin of exact angles 2*pi*(k*n mod N)/N,
 *               accumulated in float64; STFT gathers frames and runs the DFT.
 *   Det         Leibniz expansion: GATHER x[.., i, perm[p][i]] through a
 *               constant permutation table, SCATTER(mul) over i, times the
 *               permutation's sign, SCATTER(add) over p (n <= 5).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops.h"

static const double PI = 3.14159265358979323846;

static const char *fmt_dims(char *buf, size_t n, int rank, const int64_t *dims)
{
  size_t k = 0;
  k += (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

static Node *op_c(Graph *g, MapOp op, Node *x, double c)
{
  return ir_binary(g, op, x, ir_scalar_like(g, x, c));
}

/* A one-element tensor as a rank-0 node. */
static Node *as_scalar(Graph *g, const char *op, const char *what, Node *v)
{
  if (v->numel != 1 || v->rank > 1)
    ir_fail(g, "%s: %s must be a scalar (or have one element), it has %d dims and %lld elements", op, what,
            v->rank, (long long)v->numel);
  return v->rank ? ir_reshape(g, v, 0, NULL) : v;
}

/* ---- losses ---- */

Node *ir_nll_loss(Graph *g, Node *input, Node *target, Node *weight, LossReduction red, bool has_ii, int64_t ii)
{
  char b1[200], b2[200];
  if (input->rank < 2) ir_fail(g, "NegativeLogLikelihoodLoss: input has %d dims, needs [N, C, d...]", input->rank);
  if (!dt_is_float(input->dtype))
    ir_fail(g, "NegativeLogLikelihoodLoss: input dtype %s is not floating point", dt_name(input->dtype));
  if (!dt_is_int(target->dtype))
    ir_fail(g, "NegativeLogLikelihoodLoss: target dtype %s is not an integer type", dt_name(target->dtype));
  bool ok = target->rank == input->rank - 1 && target->dims[0] == input->dims[0];
  for (int k = 1; ok && k < target->rank; k++) ok = target->dims[k] == input->dims[k + 1];
  if (!ok)
    ir_fail(g, "NegativeLogLikelihoodLoss: input is %s, so target must be [N, d...] without C, it is %s",
            fmt_dims(b1, sizeof b1, input->rank, input->dims), fmt_dims(b2, sizeof b2, target->rank, target->dims));
  int64_t c = input->dims[1];
  if (weight) {
    if (weight->rank != 1 || weight->dims[0] != c)
      ir_fail(g, "NegativeLogLikelihoodLoss: weight must be [%lld] (classes), it is %s", (long long)c,
              fmt_dims(b1, sizeof b1, weight->rank, weight->dims));
    if (weight->dtype != input->dtype)
      ir_fail(g, "NegativeLogLikelihoodLoss: weight is %s, input is %s", dt_name(weight->dtype),
              dt_name(input->dtype));
  }
  if (red < LOSS_NONE || red > LOSS_MEAN) ir_fail(g, "NegativeLogLikelihoodLoss: invalid reduction %d", (int)red);
  int tr = target->rank;
  Ix *tv[IR_MAX_RANK], *xi[IR_MAX_RANK];
  for (int k = 0; k < tr; k++) tv[k] = ix_var(g, k);
  Ix *t = ix_load(g, target, tr, tv); /* the class of position (n, d...) */
  Ix *cond = has_ii ? ix_cmp(g, IX_NE, t, ix_const(g, ii)) : NULL;
  /* -input[n, t, d...]; a class outside [0, C) reads 0 */
  xi[0] = tv[0];
  xi[1] = t;
  for (int k = 1; k < tr; k++) xi[k + 1] = tv[k];
  Node *loss = ir_unary(g, MAP_NEG, ir_gather(g, input, tr, target->dims, xi, cond, sc_i(0)));
  Node *w = NULL;
  if (weight) { /* weight[clip(t, 0, C-1)], 0 where ignored (numpy's take mode='clip') */
    Ix *wi[1] = {ix_max(g, ix_const(g, 0), ix_min(g, t, ix_const(g, c - 1)))};
    w = ir_gather(g, weight, tr, target->dims, wi, cond, sc_i(0));
  } else if (has_ii) { /* 1, 0 where ignored */
    w = ir_gather(g, ir_scalar_like(g, input, 1.0), tr, target->dims, NULL, cond, sc_i(0));
  }
  if (w) loss = ir_binary(g, MAP_MUL, w, loss);
  if (red == LOSS_NONE) return loss;
  int axes[IR_MAX_RANK];
  for (int k = 0; k < tr; k++) axes[k] = k;
  Node *sum = ir_reduce(g, loss, RED_ADD, tr, axes, false);
  if (red == LOSS_SUM) return sum;
  if (w) return ir_binary(g, MAP_DIV, sum, ir_reduce(g, w, RED_ADD, tr, axes, false));
  return op_c(g, MAP_DIV, sum, (double)target->numel);
}

Node *ir_softmax_cross_entropy(Graph *g, Node *scores, Node *labels, Node *weight, LossReduction red, bool has_ii,
                               int64_t ii, Node **log_prob)
{
  if (scores->rank < 2)
    ir_fail(g, "SoftmaxCrossEntropyLoss: scores have %d dims, need [N, C, d...]", scores->rank);
  Node *lp = ir_softmax(g, scores, 1, true);
  if (log_prob) *log_prob = lp;
  return ir_nll_loss(g, lp, labels, weight, red, has_ii, ii);
}

/* ---- training updates ---- */

/* Checks shared by the optimizers: R a float scalar of x's dtype, T an integer scalar,
 * the per-tensor operands of x's shape and dtype. Returns T as x's dtype, rank 0. */
static Node *check_update(Graph *g, const char *op, Node **r, Node *t, Node *x, int n, Node *const *same,
                          const char *const *names)
{
  char b1[200], b2[200];
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: X is %s, not floating point", op, dt_name(x->dtype));
  *r = as_scalar(g, op, "R", *r);
  if ((*r)->dtype != x->dtype) ir_fail(g, "%s: R is %s, X is %s", op, dt_name((*r)->dtype), dt_name(x->dtype));
  t = as_scalar(g, op, "T", t);
  if (!dt_is_int(t->dtype)) ir_fail(g, "%s: T is %s, not an integer", op, dt_name(t->dtype));
  for (int k = 0; k < n; k++) {
    if (!ir_same_shape(same[k], x))
      ir_fail(g, "%s: %s is %s but X is %s", op, names[k], fmt_dims(b1, sizeof b1, same[k]->rank, same[k]->dims),
              fmt_dims(b2, sizeof b2, x->rank, x->dims));
    if (same[k]->dtype != x->dtype)
      ir_fail(g, "%s: %s is %s, X is %s", op, names[k], dt_name(same[k]->dtype), dt_name(x->dtype));
  }
  return ir_cast(g, t, x->dtype);
}

/* norm * x + g */
static Node *regularized(Graph *g, Node *x, Node *gr, double norm)
{
  return norm == 0 ? gr : ir_binary(g, MAP_ADD, op_c(g, MAP_MUL, x, norm), gr);
}

void ir_adagrad(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *h, double norm, double eps, double decay,
                Node **x_new, Node **h_new)
{
  static const char *const names[] = {"G", "H"};
  Node *same[2] = {gr, h};
  Node *tf = check_update(g, "Adagrad", &r, t, x, 2, same, names);
  /* r' = R / (1 + T*decay); H' = H + g^2; X' = X - r' * g / (sqrt(H') + eps) */
  Node *rr = ir_binary(g, MAP_DIV, r, op_c(g, MAP_ADD, op_c(g, MAP_MUL, tf, decay), 1.0));
  Node *gg = regularized(g, x, gr, norm);
  *h_new = ir_binary(g, MAP_ADD, h, ir_binary(g, MAP_MUL, gg, gg));
  Node *hs = op_c(g, MAP_ADD, ir_unary(g, MAP_SQRT, *h_new), eps);
  *x_new = ir_binary(g, MAP_SUB, x, ir_binary(g, MAP_DIV, ir_binary(g, MAP_MUL, rr, gg), hs));
}

void ir_momentum(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *v, double alpha, double beta, double norm,
                 bool nesterov, Node **x_new, Node **v_new)
{
  static const char *const names[] = {"G", "V"};
  Node *same[2] = {gr, v};
  Node *tf = check_update(g, "Momentum", &r, t, x, 2, same, names);
  /* beta' = T > 0 ? beta : 1; V' = alpha*V + beta'*g;
   * X' = X - R*V' (standard) or X - R*(g + alpha*V') (nesterov) */
  Node *ba = ir_where(g, op_c(g, MAP_GT, tf, 0.0), ir_scalar_like(g, x, beta), ir_scalar_like(g, x, 1.0));
  Node *gg = regularized(g, x, gr, norm);
  *v_new = ir_binary(g, MAP_ADD, op_c(g, MAP_MUL, v, alpha), ir_binary(g, MAP_MUL, ba, gg));
  Node *step = nesterov ? ir_binary(g, MAP_ADD, gg, op_c(g, MAP_MUL, *v_new, alpha)) : *v_new;
  *x_new = ir_binary(g, MAP_SUB, x, ir_binary(g, MAP_MUL, r, step));
}

void ir_adam(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *v, Node *h, double alpha, double beta, double eps,
             double norm, double norm_post, Node **x_new, Node **v_new, Node **h_new)
{
  static const char *const names[] = {"G", "V", "H"};
  Node *same[3] = {gr, v, h};
  Node *tf = check_update(g, "Adam", &r, t, x, 3, same, names);
  /* V' = alpha*V + (1-alpha)*g; H' = beta*H + (1-beta)*g^2;
   * r' = T > 0 ? R*sqrt(1 - beta^T)/(1 - alpha^T) : R;
   * X' = (1 - norm_post) * (X - r' * V'/(sqrt(H') + eps)) */
  Node *gg = regularized(g, x, gr, norm);
  *v_new = ir_binary(g, MAP_ADD, op_c(g, MAP_MUL, v, alpha), op_c(g, MAP_MUL, gg, 1 - alpha));
  *h_new = ir_binary(g, MAP_ADD, op_c(g, MAP_MUL, h, beta), op_c(g, MAP_MUL, ir_binary(g, MAP_MUL, gg, gg), 1 - beta));
  Node *hs = op_c(g, MAP_ADD, ir_unary(g, MAP_SQRT, *h_new), eps);
  Node *bt = ir_binary(g, MAP_POW, ir_scalar_like(g, x, beta), tf);
  Node *at = ir_binary(g, MAP_POW, ir_scalar_like(g, x, alpha), tf);
  Node *one = ir_scalar_like(g, x, 1.0);
  Node *corr = ir_binary(g, MAP_DIV, ir_unary(g, MAP_SQRT, ir_binary(g, MAP_SUB, one, bt)),
                         ir_binary(g, MAP_SUB, one, at));
  Node *ra = ir_where(g, op_c(g, MAP_GT, tf, 0.0), ir_binary(g, MAP_MUL, r, corr), r);
  Node *xn = ir_binary(g, MAP_SUB, x, ir_binary(g, MAP_MUL, ra, ir_binary(g, MAP_DIV, *v_new, hs)));
  *x_new = norm_post == 0 ? xn : op_c(g, MAP_MUL, xn, 1 - norm_post);
}

/* ---- quantization ---- */

static void qrange(Dtype t, double *lo, double *hi)
{
  *lo = t == DT_I8 ? -128 : t == DT_U8 ? 0 : t == DT_I16 ? -32768 : 0;
  *hi = t == DT_I8 ? 127 : t == DT_U8 ? 255 : t == DT_I16 ? 32767 : 65535;
}

/* v (a scale or zero point) shaped for x: one element becomes rank 0 (broadcasts);
 * a 1-D [x.dims[axis]] tensor is read along `axis` (map `i<axis>`). */
static Node *per_axis(Graph *g, const char *op, const char *what, Node *v, Node *x, int axis)
{
  char b1[200];
  if (v->numel == 1 && v->rank <= 1) return as_scalar(g, op, what, v);
  if (v->rank != 1 || axis < 0 || axis >= x->rank || v->dims[0] != x->dims[axis])
    ir_fail(g, "%s: %s is %s; it must have one element or be 1-D with the %lld elements of axis %d of the input",
            op, what, fmt_dims(b1, sizeof b1, v->rank, v->dims),
            (long long)(axis >= 0 && axis < x->rank ? x->dims[axis] : 0), axis);
  Ix *idx[1] = {ix_var(g, axis)};
  return ir_gather(g, v, x->rank, x->dims, idx, NULL, sc_i(0));
}

/* round half to even, then + zp, clip to the range of `out`, cast */
static Node *saturate_cast(Graph *g, Node *q, Node *zp_f, Dtype out)
{
  double lo, hi;
  qrange(out, &lo, &hi);
  q = ir_unary(g, MAP_ROUND, q);
  if (zp_f) q = ir_binary(g, MAP_ADD, q, zp_f);
  q = ir_clip(g, q, ir_scalar_like(g, q, lo), ir_scalar_like(g, q, hi));
  return ir_cast(g, q, out);
}

static void check_qtype(Graph *g, const char *op, const char *what, Dtype t)
{
  if (t != DT_U8 && t != DT_I8) ir_fail(g, "%s: %s is %s; uint8 and int8 are supported", op, what, dt_name(t));
}

Node *ir_quantize_linear(Graph *g, Node *x, Node *scale, Node *zp, int axis, Dtype out)
{
  const char *op = "QuantizeLinear";
  if (zp) out = zp->dtype;
  check_qtype(g, op, zp ? "the zero point" : "the output type", out);
  if (!dt_is_float(scale->dtype)) ir_fail(g, "%s: scale is %s, not floating point", op, dt_name(scale->dtype));
  if (x->dtype == DT_I32) x = ir_cast(g, x, scale->dtype);
  if (x->dtype != scale->dtype)
    ir_fail(g, "%s: input is %s, scale is %s", op, dt_name(x->dtype), dt_name(scale->dtype));
  Node *s = per_axis(g, op, "scale", scale, x, axis);
  Node *zf = zp ? ir_cast(g, per_axis(g, op, "zero point", zp, x, axis), x->dtype) : NULL;
  return saturate_cast(g, ir_binary(g, MAP_DIV, x, s), zf, out);
}

Node *ir_dequantize_linear(Graph *g, Node *x, Node *scale, Node *zp, int axis)
{
  const char *op = "DequantizeLinear";
  if (x->dtype != DT_U8 && x->dtype != DT_I8 && x->dtype != DT_I32)
    ir_fail(g, "%s: input is %s; uint8, int8 and int32 are supported", op, dt_name(x->dtype));
  if (zp && zp->dtype != x->dtype)
    ir_fail(g, "%s: zero point is %s, input is %s", op, dt_name(zp->dtype), dt_name(x->dtype));
  if (!dt_is_float(scale->dtype)) ir_fail(g, "%s: scale is %s, not floating point", op, dt_name(scale->dtype));
  Node *s = per_axis(g, op, "scale", scale, x, axis);
  Node *xf = ir_cast(g, x, scale->dtype);
  if (zp) xf = ir_binary(g, MAP_SUB, xf, ir_cast(g, per_axis(g, op, "zero point", zp, x, axis), scale->dtype));
  return ir_binary(g, MAP_MUL, xf, s);
}

void ir_dynamic_quantize_linear(Graph *g, Node *x, Node **y, Node **scale, Node **zp)
{
  if (x->dtype != DT_F32) ir_fail(g, "DynamicQuantizeLinear: input is %s, float32 is supported", dt_name(x->dtype));
  int axes[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++) axes[k] = k;
  /* lo = min(0, min x), hi = max(0, max x); scale = (hi - lo) / 255;
   * zp = saturate(round(-lo / scale)); y = saturate(round(x / scale) + zp) */
  Node *lo = op_c(g, MAP_MIN, ir_reduce(g, x, RED_MIN, x->rank, axes, false), 0.0);
  Node *hi = op_c(g, MAP_MAX, ir_reduce(g, x, RED_MAX, x->rank, axes, false), 0.0);
  *scale = op_c(g, MAP_DIV, ir_binary(g, MAP_SUB, hi, lo), 255.0);
  Node *izp = ir_unary(g, MAP_NEG, ir_binary(g, MAP_DIV, lo, *scale));
  *zp = saturate_cast(g, izp, NULL, DT_U8);
  *y = saturate_cast(g, ir_binary(g, MAP_DIV, x, *scale), ir_cast(g, *zp, DT_F32), DT_U8);
}

/* x as int32 minus its zero point (zp NULL: none; zp already shaped to broadcast) */
static Node *shifted(Graph *g, Node *x, Node *zp)
{
  Node *xi = ir_cast(g, x, DT_I32);
  return zp ? ir_binary(g, MAP_SUB, xi, ir_cast(g, zp, DT_I32)) : xi;
}

/* A zero point of a matmul operand: one element, or 1-D with `len` elements read
 * along dim `axis` of a rank-`rank` operand (per row of A, per column of B). */
static Node *mm_zp(Graph *g, const char *op, const char *what, Node *zp, Node *x, int rank_axis)
{
  if (!zp) return NULL;
  if (zp->dtype != x->dtype) ir_fail(g, "%s: %s is %s, its operand is %s", op, what, dt_name(zp->dtype), dt_name(x->dtype));
  if (zp->numel == 1 && zp->rank <= 1) return as_scalar(g, op, what, zp);
  return per_axis(g, op, what, zp, x, rank_axis);
}

Node *ir_matmul_integer(Graph *g, Node *a, Node *b, Node *a_zp, Node *b_zp)
{
  const char *op = "MatMulInteger";
  check_qtype(g, op, "A", a->dtype);
  check_qtype(g, op, "B", b->dtype);
  if (a->rank < 1 || b->rank < 1) ir_fail(g, "%s: operands must have at least 1 dim", op);
  Node *za = mm_zp(g, op, "a_zero_point", a_zp, a, a->rank >= 2 ? a->rank - 2 : -1);
  Node *zb = mm_zp(g, op, "b_zero_point", b_zp, b, b->rank >= 2 ? b->rank - 1 : -1);
  return ir_matmul(g, shifted(g, a, za), shifted(g, b, zb));
}

/* int32 accumulator * mult + zp, rounded half to even and saturated to `out`,
 * in float64 as ONNX's reference computes it. mult broadcasts to acc. */
static Node *requantize(Graph *g, Node *acc, Node *mult, Node *zp, Dtype out)
{
  Node *r = ir_binary(g, MAP_MUL, ir_cast(g, acc, DT_F64), ir_cast(g, mult, DT_F64));
  return saturate_cast(g, r, zp ? ir_cast(g, zp, DT_F64) : NULL, out);
}

static Node *float_scalar(Graph *g, const char *op, const char *what, Node *s)
{
  s = as_scalar(g, op, what, s);
  if (!dt_is_float(s->dtype)) ir_fail(g, "%s: %s is %s, not floating point", op, what, dt_name(s->dtype));
  return s;
}

Node *ir_qlinear_matmul(Graph *g, Node *a, Node *a_scale, Node *a_zp, Node *b, Node *b_scale, Node *b_zp,
                        Node *y_scale, Node *y_zp)
{
  const char *op = "QLinearMatMul";
  Node *acc = ir_matmul_integer(g, a, b, a_zp, b_zp);
  Node *sa = float_scalar(g, op, "a_scale", a_scale), *sb = float_scalar(g, op, "b_scale", b_scale);
  Node *sy = float_scalar(g, op, "y_scale", y_scale);
  if (sb->dtype != sa->dtype || sy->dtype != sa->dtype) ir_fail(g, "%s: the scales' types differ", op);
  Dtype out = y_zp ? y_zp->dtype : a->dtype;
  check_qtype(g, op, "y_zero_point", out);
  Node *mult = ir_binary(g, MAP_DIV, ir_binary(g, MAP_MUL, sa, sb), sy);
  return requantize(g, acc, mult, y_zp ? as_scalar(g, op, "y_zero_point", y_zp) : NULL, out);
}

/* per-output-channel vector [M] shaped [M, 1, ...] to broadcast over [N, M, spatial...] */
static Node *per_channel(Graph *g, const char *op, const char *what, Node *v, int64_t m, int xrank)
{
  char b1[200];
  if (v->numel == 1 && v->rank <= 1) return as_scalar(g, op, what, v);
  if (v->rank != 1 || v->dims[0] != m)
    ir_fail(g, "%s: %s is %s; it must have one element or one per output channel (%lld)", op, what,
            fmt_dims(b1, sizeof b1, v->rank, v->dims), (long long)m);
  int64_t d[IR_MAX_RANK];
  d[0] = m;
  for (int k = 1; k < xrank - 1; k++) d[k] = 1;
  return ir_reshape(g, v, xrank - 1, d);
}

Node *ir_conv_integer(Graph *g, Node *x, Node *w, Node *x_zp, Node *w_zp, Node *bias, const WindowParams *p)
{
  const char *op = "ConvInteger";
  check_qtype(g, op, "x", x->dtype);
  check_qtype(g, op, "w", w->dtype);
  if (w->rank < 1) ir_fail(g, "%s: w has no dims", op);
  if (x_zp && x_zp->dtype != x->dtype) ir_fail(g, "%s: x_zero_point is %s, x is %s", op, dt_name(x_zp->dtype), dt_name(x->dtype));
  if (w_zp && w_zp->dtype != w->dtype) ir_fail(g, "%s: w_zero_point is %s, w is %s", op, dt_name(w_zp->dtype), dt_name(w->dtype));
  Node *xs = shifted(g, x, x_zp ? as_scalar(g, op, "x_zero_point", x_zp) : NULL); /* pads read 0: the zero point */
  Node *ws = shifted(g, w, w_zp ? per_channel(g, op, "w_zero_point", w_zp, w->dims[0], w->rank + 1) : NULL);
  return ir_conv(g, xs, ws, bias, p);
}

Node *ir_qlinear_conv(Graph *g, Node *x, Node *x_scale, Node *x_zp, Node *w, Node *w_scale, Node *w_zp,
                      Node *y_scale, Node *y_zp, Node *bias, const WindowParams *p)
{
  const char *op = "QLinearConv";
  if (bias && bias->dtype != DT_I32) ir_fail(g, "%s: bias B is %s, must be int32", op, dt_name(bias->dtype));
  Node *acc = ir_conv_integer(g, x, w, x_zp, w_zp, bias, p);
  Node *sx = float_scalar(g, op, "x_scale", x_scale), *sy = float_scalar(g, op, "y_scale", y_scale);
  if (!dt_is_float(w_scale->dtype)) ir_fail(g, "%s: w_scale is %s, not floating point", op, dt_name(w_scale->dtype));
  Node *sw = per_channel(g, op, "w_scale", w_scale, w->dims[0], acc->rank);
  if (sw->dtype != sx->dtype || sy->dtype != sx->dtype) ir_fail(g, "%s: the scales' types differ", op);
  Dtype out = y_zp ? y_zp->dtype : x->dtype;
  check_qtype(g, op, "y_zero_point", out);
  Node *mult = ir_binary(g, MAP_DIV, ir_binary(g, MAP_MUL, sx, sw), sy);
  return requantize(g, acc, mult, y_zp ? as_scalar(g, op, "y_zero_point", y_zp) : NULL, out);
}

/* ---- signal ---- */

static void check_out_float(Graph *g, const char *op, Dtype t)
{
  if (!dt_is_float(t) && !dt_is_int(t)) ir_fail(g, "%s: output type %s is not numeric", op, dt_name(t));
}

Node *ir_window(Graph *g, SignalWindow kind, int64_t size, bool periodic, Dtype t)
{
  static const char *const names[] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
  if (kind < SIGWIN_HANN || kind > SIGWIN_BLACKMAN) ir_fail(g, "window: invalid kind %d", (int)kind);
  const char *op = names[kind];
  check_out_float(g, op, t);
  if (size < 1 || size > ((int64_t)1 << 24)) ir_fail(g, "%s: size is %lld, must be in [1, 2^24]", op, (long long)size);
  /* y[n] = a0 - a1*cos(2*pi*n/N) + a2*cos(4*pi*n/N), N = size (periodic) or size-1 (symmetric) */
  double a0 = kind == SIGWIN_HANN ? 0.5 : kind == SIGWIN_HAMMING ? 25.0 / 46.0 : 0.42;
  double a1 = kind == SIGWIN_BLACKMAN ? 0.5 : 1 - a0, a2 = kind == SIGWIN_BLACKMAN ? 0.08 : 0;
  double n_div = periodic ? (double)size : (double)(size - 1);
  void *buf = ir_alloc_array(g, (size_t)size, dt_size(t));
  for (int64_t n = 0; n < size; n++) {
    double y = n_div > 0 ? a0 - a1 * cos(2 * PI * (double)n / n_div) + a2 * cos(4 * PI * (double)n / n_div)
                         : a0 - a1 + a2;
    dt_store(buf, t, n, sc_f(y));
  }
  int64_t d[1] = {size};
  return ir_const(g, t, 1, d, buf);
}

Node *ir_dft(Graph *g, Node *x, int axis, int64_t length, bool inverse, bool onesided)
{
  char b1[200];
  const char *op = "DFT";
  int r = x->rank;
  if (r < 2 || r + 2 > IR_MAX_RANK)
    ir_fail(g, "%s: input has %d dims; it must be [batch, signal..., 1 or 2] with at most %d dims", op, r,
            IR_MAX_RANK - 2);
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: input is %s, not floating point", op, dt_name(x->dtype));
  int64_t cr = x->dims[r - 1];
  if (cr != 1 && cr != 2)
    ir_fail(g, "%s: input is %s; its last dim must be 1 (real) or 2 (complex)", op, fmt_dims(b1, sizeof b1, r, x->dims));
  if (axis < 1 || axis > r - 2) ir_fail(g, "%s: axis %d must be a signal dim, in [1, %d]", op, axis, r - 2);
  if (length < 1 || length > ((int64_t)1 << 20)) ir_fail(g, "%s: dft_length is %lld", op, (long long)length);
  int64_t nk = onesided ? length / 2 + 1 : length;
  if (nk > 0 && length > ((int64_t)1 << 26) / nk / 4)
    ir_fail(g, "%s: the %lld x %lld twiddle table is too large", op, (long long)nk, (long long)length);
  /* W[k, n, c, q]: out[.., k, .., c] = sum_n sum_q x[.., n, .., q] * W[k, n, c, q]
   * with theta = 2*pi*(k*n mod L)/L, s = -1 (forward) or +1 (inverse, scaled 1/L):
   *   c=0: q=0 cos, q=1 -s*sin;  c=1: q=0 s*sin, q=1 cos */
  int64_t wd[4] = {nk, length, 2, cr};
  double *w = ir_alloc_array(g, (size_t)(nk * length * 2 * cr), sizeof(double));
  double s = inverse ? 1 : -1, scale = inverse ? 1.0 / (double)length : 1.0;
  for (int64_t k = 0; k < nk; k++)
    for (int64_t n = 0; n < length; n++) {
      double th = 2 * PI * (double)((k * n) % length) / (double)length, cs = cos(th) * scale, sn = sin(th) * scale;
      double *e = w + ((k * length + n) * 2) * cr;
      e[0] = cs;
      e[cr] = s * sn;
      if (cr == 2) {
        e[1] = -s * sn;
        e[3] = cs;
      }
    }
  Node *wn = ir_const(g, DT_F64, 4, wd, w);
  /* domain: x's dims with axis -> K and last -> 2, then n (var r), q (var r+1) */
  int64_t dom[IR_MAX_RANK];
  Ix *ix[IR_MAX_RANK], *iw[4], *io[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    dom[d] = d == axis ? nk : d == r - 1 ? 2 : x->dims[d];
    io[d] = ix_var(g, d);
    ix[d] = d == axis ? ix_var(g, r) : d == r - 1 ? ix_var(g, r + 1) : ix_var(g, d);
  }
  dom[r] = length;
  dom[r + 1] = cr;
  iw[0] = ix_var(g, axis);
  iw[1] = ix_var(g, r);
  iw[2] = ix_var(g, r - 1);
  iw[3] = ix_var(g, r + 1);
  Node *gx = ir_gather(g, ir_cast(g, x, DT_F64), r + 2, dom, ix, NULL, sc_i(0)); /* zero-padded past the signal */
  Node *gw = ir_gather(g, wn, r + 2, dom, iw, NULL, sc_i(0));
  Node *in[2] = {gx, gw};
  Node *y = ir_scatter(g, ir_map(g, MAP_MUL, DT_UNDEF, 2, in), RED_ADD, r, dom, io, NULL);
  return ir_cast(g, y, x->dtype);
}

Node *ir_stft(Graph *g, Node *signal, int64_t step, Node *window, int64_t frame_length, bool onesided)
{
  char b1[200];
  const char *op = "STFT";
  if (signal->rank != 3 || (signal->dims[2] != 1 && signal->dims[2] != 2))
    ir_fail(g, "%s: signal is %s; it must be [batch, length, 1 or 2]", op,
            fmt_dims(b1, sizeof b1, signal->rank, signal->dims));
  if (!dt_is_float(signal->dtype)) ir_fail(g, "%s: signal is %s, not floating point", op, dt_name(signal->dtype));
  if (window) {
    if (window->rank != 1) ir_fail(g, "%s: window has %d dims, must be 1-D", op, window->rank);
    if (window->dtype != signal->dtype)
      ir_fail(g, "%s: window is %s, signal is %s", op, dt_name(window->dtype), dt_name(signal->dtype));
    if (frame_length > 0 && frame_length != window->dims[0])
      ir_fail(g, "%s: frame_length %lld differs from the window's length %lld", op, (long long)frame_length,
              (long long)window->dims[0]);
    frame_length = window->dims[0];
  }
  int64_t len = signal->dims[1];
  if (frame_length < 1 || frame_length > len)
    ir_fail(g, "%s: frame length %lld must be in [1, signal length %lld]", op, (long long)frame_length, (long long)len);
  if (step < 1) ir_fail(g, "%s: frame_step is %lld, must be >= 1", op, (long long)step);
  int64_t nf = (len - frame_length) / step + 1;
  /* frames [B, F, L, R]: signal[b, f*step + n, q] (times window[n]) */
  int64_t fd[4] = {signal->dims[0], nf, frame_length, signal->dims[2]};
  Ix *fi[3] = {ix_var(g, 0), ix_add(g, ix_mulc(g, ix_var(g, 1), step), ix_var(g, 2)), ix_var(g, 3)};
  Node *frames = ir_gather(g, signal, 4, fd, fi, NULL, sc_i(0));
  if (window) {
    Ix *wi[1] = {ix_var(g, 2)};
    frames = ir_binary(g, MAP_MUL, frames, ir_gather(g, window, 4, fd, wi, NULL, sc_i(0)));
  }
  return ir_dft(g, frames, 2, frame_length, false, onesided);
}

Node *ir_mel_weight_matrix(Graph *g, int64_t num_mel_bins, int64_t dft_length, int64_t sample_rate, double lower_hz,
                           double upper_hz, Dtype t)
{
  const char *op = "MelWeightMatrix";
  check_out_float(g, op, t);
  if (num_mel_bins < 1 || num_mel_bins > 4096 || dft_length < 1 || dft_length > ((int64_t)1 << 20) || sample_rate < 1)
    ir_fail(g, "%s: num_mel_bins %lld, dft_length %lld, sample_rate %lld out of range", op, (long long)num_mel_bins,
            (long long)dft_length, (long long)sample_rate);
  if (!(lower_hz >= 0 && upper_hz > lower_hz))
    ir_fail(g, "%s: edges %g Hz to %g Hz must satisfy 0 <= lower < upper", op, lower_hz, upper_hz);
  int64_t nspec = dft_length / 2 + 1, nb = num_mel_bins + 2;
  int64_t *bins = ir_alloc_array(g, (size_t)nb, sizeof(int64_t));
  double lo_mel = 2595 * log10(1 + lower_hz / 700), hi_mel = 2595 * log10(1 + upper_hz / 700);
  double step = (hi_mel - lo_mel) / (double)nb;
  for (int64_t k = 0; k < nb; k++) { /* mel-spaced edges as spectrogram bins, floored */
    double hz = 700 * (pow(10, ((double)k * step + lo_mel) / 2595) - 1);
    bins[k] = (int64_t)floor((double)(dft_length + 1) * hz / (double)sample_rate);
    if (bins[k] < 0 || bins[k] >= nspec)
      ir_fail(g, "%s: mel edge %lld falls on spectrogram bin %lld, outside [0, %lld)", op, (long long)k,
              (long long)bins[k], (long long)nspec);
  }
  int64_t d[2] = {nspec, num_mel_bins};
  double *w = ir_alloc_array(g, (size_t)(nspec * num_mel_bins), sizeof(double));
  for (int64_t i = 0; i < num_mel_bins; i++) { /* triangle lo -> center -> hi */
    int64_t lo = bins[i], ce = bins[i + 1], hi = bins[i + 2];
    if (ce == lo) w[ce * num_mel_bins + i] = 1;
    else
      for (int64_t j = lo; j <= ce; j++) w[j * num_mel_bins + i] = (double)(j - lo) / (double)(ce - lo);
    if (hi > ce)
      for (int64_t j = ce; j < hi; j++) w[j * num_mel_bins + i] = (double)(hi - j) / (double)(hi - ce);
  }
  void *buf = ir_alloc_array(g, (size_t)(nspec * num_mel_bins), dt_size(t));
  for (int64_t k = 0; k < nspec * num_mel_bins; k++) dt_store(buf, t, k, sc_f(w[k]));
  return ir_const(g, t, 2, d, buf);
}

#define DET_MAX_N 5

Node *ir_det(Graph *g, Node *x)
{
  char b1[200];
  const char *op = "Det";
  int r = x->rank;
  if (r < 2 || x->dims[r - 1] != x->dims[r - 2])
    ir_fail(g, "%s: input is %s; it must be [..., n, n]", op, fmt_dims(b1, sizeof b1, r, x->dims));
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: input is %s, not floating point", op, dt_name(x->dtype));
  int64_t n = x->dims[r - 1];
  if (n < 1 || n > DET_MAX_N)
    ir_fail(g, "%s: %lld x %lld matrices; jtc expands determinants of n <= %d only", op, (long long)n, (long long)n,
            DET_MAX_N);
  /* all permutations of 0..n-1 (Heap's algorithm) with their signs */
  int64_t np = 1;
  for (int64_t k = 2; k <= n; k++) np *= k;
  int64_t *perm = ir_alloc_array(g, (size_t)(np * n), sizeof(int64_t));
  double *sign = ir_alloc_array(g, (size_t)np, sizeof(double));
  int64_t a[DET_MAX_N], c[DET_MAX_N] = {0}, p = 0;
  double sg = 1;
  for (int64_t k = 0; k < n; k++) a[k] = k;
  memcpy(perm, a, (size_t)n * sizeof *a);
  sign[p++] = sg;
  for (int64_t i = 1; i < n;) {
    if (c[i] < i) {
      int64_t j = i % 2 ? c[i] : 0, tmp = a[j];
      a[j] = a[i];
      a[i] = tmp;
      sg = -sg;
      memcpy(perm + p * n, a, (size_t)n * sizeof *a);
      sign[p++] = sg;
      c[i]++;
      i = 1;
    } else {
      c[i++] = 0;
    }
  }
  JTC_ASSERT(p == np);
  int64_t pd[2] = {np, n};
  Node *pn = ir_const(g, DT_I64, 2, pd, perm), *sn = ir_const(g, DT_F64, 1, &np, sign);
  /* domain [batch..., p, i]: x[b.., i, perm[p, i]] */
  int nb = r - 2;
  int64_t dom[IR_MAX_RANK];
  Ix *ix[IR_MAX_RANK], *io[IR_MAX_RANK];
  for (int k = 0; k < nb; k++) {
    dom[k] = x->dims[k];
    ix[k] = io[k] = ix_var(g, k);
  }
  dom[nb] = np;
  dom[nb + 1] = n;
  Ix *pi[2] = {ix_var(g, nb), ix_var(g, nb + 1)};
  ix[nb] = ix_var(g, nb + 1);
  ix[nb + 1] = ix_load(g, pn, 2, pi);
  io[nb] = ix_var(g, nb);
  Node *gx = ir_gather(g, ir_cast(g, x, DT_F64), nb + 2, dom, ix, NULL, sc_i(0));
  Node *prod = ir_scatter(g, gx, RED_MUL, nb + 1, dom, io, NULL); /* [batch..., p] */
  Ix *si[1] = {ix_var(g, nb)};
  Node *term = ir_binary(g, MAP_MUL, prod, ir_gather(g, sn, nb + 1, dom, si, NULL, sc_i(0)));
  Node *det = ir_scatter(g, term, RED_ADD, nb, dom, io, NULL);
  return ir_cast(g, det, x->dtype);
}

/* ---- activations missing elsewhere ---- */

/* x * tanh(softplus(x)) */
Node *ir_mish(Graph *g, Node *x)
{
  if (!dt_is_float(x->dtype)) ir_fail(g, "Mish: input is %s, not floating point", dt_name(x->dtype));
  return ir_binary(g, MAP_MUL, x, ir_unary(g, MAP_TANH, ir_softplus(g, x)));
}

Node *ir_allreduce_mean(Graph *g, Node *x) {
  if (x->dtype != DT_F32 && x->dtype != DT_F64) ir_fail(g, "allreduce_mean of a %s tensor (float32/float64 only)", dt_name(x->dtype));
  return ir_opaque(g, IR_ALLREDUCE_MEAN, x->dtype, x->rank, x->dims, 1, &x, NULL);
}

Node *ir_mpi_ranks(Graph *g, Dtype t) {
  if (t != DT_F32 && t != DT_F64) ir_fail(g, "mpi_ranks as %s (float32/float64 only)", dt_name(t));
  return ir_opaque(g, IR_MPI_RANKS, t, 0, NULL, 0, NULL, NULL);
}

/* The state leaf named name (int64 scalar), or NULL. */
static Node *find_state(Graph *g, const char *name) {
  for (Node *n = g->first; n; n = n->next)
    if (n->kind == NODE_LEAF && n->leaf == LEAF_STATE && !strcmp(n->name, name)) return n;
  return NULL;
}

Node *ir_random_uniform(Graph *g, int rank, const int64_t *dims) {
  Node *seed = find_state(g, "rng.seed"), *step = find_state(g, "rng.step");
  if (!seed) {
    seed = ir_state(g, "rng.seed", DT_I64, 0, NULL, NULL);
    step = ir_state(g, "rng.step", DT_I64, 0, NULL, NULL);
    seed->flags |= NF_FROZEN | NF_SLOT;
    step->flags |= NF_FROZEN | NF_SLOT;
    ir_update(g, step, ir_binary(g, MAP_ADD, step, ir_scalar(g, DT_I64, 1)));
  }
  int *stream = ir_alloc(g, sizeof *stream);
  for (Node *n = g->first; n; n = n->next) *stream += n->kind == NODE_OPAQUE && !strcmp(n->opaque_name, IR_RANDOM_UNIFORM);
  Node *in[2] = {seed, step};
  return ir_opaque(g, IR_RANDOM_UNIFORM, DT_F32, rank, dims, 2, in, stream);
}
