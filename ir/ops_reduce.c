/* ops_reduce.c: reductions and the normalizations built on them.
 *
 * A reduction is one SCATTER over x's loop variables whose index map keeps
 * the surviving variables: summing x [N, C, H] over axis 2 is SCATTER(add)
 * into [N, C] with the map `i0, i1`, and with keepdims into [N, C, 1] with
 * `i0, i1, 0`. Means divide by the element count; softmax subtracts the
 * row maximum before exp; batch and layer normalization are broadcasts,
 * MAPs and these reductions, so fusion turns them into one or two kernels.
 */

#include "ops.h"

static int norm_axis(Graph *g, const char *op, int axis, int rank)
{
  int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ir_fail(g, "%s: axis %d is out of range for rank %d", op, axis, rank);
  return a;
}

Node *ir_reduce(Graph *g, Node *x, ReduceOp op, int naxes, const int *axes, bool keepdims)
{
  bool red[IR_MAX_RANK] = {false};
  if (op < 0 || op >= RED_COUNT) ir_fail(g, "Reduce: invalid reduction %d", (int)op);
  for (int k = 0; k < naxes; k++) {
    int a = axes[k];
    if (a < 0 || a >= x->rank)
      ir_fail(g, "Reduce: axis %d is out of range for rank %d", a, x->rank);
    if (red[a]) ir_fail(g, "Reduce: axis %d is listed twice", a);
    red[a] = true;
  }
  if (naxes == 0) return x;
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++) {
    if (!red[k]) {
      dims[r] = x->dims[k];
      idx[r++] = ix_var(g, k);
    } else if (keepdims) {
      dims[r] = 1;
      idx[r++] = ix_const(g, 0);
    }
  }
  return ir_scatter(g, x, op, r, dims, idx, NULL);
}

Node *ir_reduce_mean(Graph *g, Node *x, int naxes, const int *axes, bool keepdims)
{
  if (!dt_is_float(x->dtype) && !dt_is_int(x->dtype))
    ir_fail(g, "ReduceMean: input dtype %s is not numeric", dt_name(x->dtype));
  Node *s = ir_reduce(g, x, RED_ADD, naxes, axes, keepdims);
  int64_t count = 1;
  for (int k = 0; k < naxes; k++) count *= x->dims[axes[k]];
  if (count == 1) return s;
  return ir_binary(g, MAP_DIV, s, ir_scalar_like(g, x, (double)count));
}

/* softmax: e = exp(x - max), e / sum(e); log: (x - max) - log(sum(e)) */
Node *ir_softmax(Graph *g, Node *x, int axis, bool log)
{
  const char *op = log ? "LogSoftmax" : "Softmax";
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: input dtype %s is not floating point", op, dt_name(x->dtype));
  int a = norm_axis(g, op, axis, x->rank);
  Node *m = ir_reduce(g, x, RED_MAX, 1, &a, true);
  Node *d = ir_binary(g, MAP_SUB, x, m);
  Node *e = ir_unary(g, MAP_EXP, d);
  Node *s = ir_reduce(g, e, RED_ADD, 1, &a, true);
  if (log) return ir_binary(g, MAP_SUB, d, ir_unary(g, MAP_LOG, s));
  return ir_binary(g, MAP_DIV, e, s);
}

/* [C] vector v read along axis 1 of x's shape: map `i1` */
static Node *along_channels(Graph *g, Node *v, const Node *x)
{
  Ix *idx[1] = {ix_var(g, 1)};
  return ir_gather(g, v, x->rank, x->dims, idx, NULL, sc_i(0));
}

/* y = x*a + b with a = scale/sqrt(var + eps), b = bias - mean*a, both [C]:
 * with constant statistics a and b fold to two small constants. */
Node *ir_batchnorm(Graph *g, Node *x, Node *scale, Node *bias, Node *mean, Node *var, double eps)
{
  static const char *const names[] = {"scale", "bias", "mean", "var"};
  Node *p[4] = {scale, bias, mean, var};
  if (x->rank < 2) ir_fail(g, "BatchNormalization: input has %d dims, needs at least 2 (N, C)", x->rank);
  if (!dt_is_float(x->dtype))
    ir_fail(g, "BatchNormalization: input dtype %s is not floating point", dt_name(x->dtype));
  int64_t c = x->dims[1];
  for (int k = 0; k < 4; k++) {
    if (!p[k]) ir_fail(g, "BatchNormalization: %s is missing", names[k]);
    if (p[k]->rank != 1 || p[k]->dims[0] != c)
      ir_fail(g, "BatchNormalization: %s must be [%lld] (input channels), has %d dims", names[k],
              (long long)c, p[k]->rank);
    if (p[k]->dtype != x->dtype)
      ir_fail(g, "BatchNormalization: %s is %s, input is %s", names[k], dt_name(p[k]->dtype),
              dt_name(x->dtype));
  }
  Node *sd = ir_unary(g, MAP_SQRT, ir_binary(g, MAP_ADD, var, ir_scalar_like(g, var, eps)));
  Node *a = ir_binary(g, MAP_DIV, scale, sd);
  Node *b = ir_binary(g, MAP_SUB, bias, ir_binary(g, MAP_MUL, mean, a));
  Node *y = ir_binary(g, MAP_MUL, x, along_channels(g, a, x));
  return ir_binary(g, MAP_ADD, y, along_channels(g, b, x));
}

/* d = x - mean(x), y = d / sqrt(mean(d*d) + eps) * scale + bias over axes [axis, rank) */
Node *ir_layernorm(Graph *g, Node *x, Node *scale, Node *bias, int axis, double eps)
{
  if (!dt_is_float(x->dtype))
    ir_fail(g, "LayerNormalization: input dtype %s is not floating point", dt_name(x->dtype));
  int a = norm_axis(g, "LayerNormalization", axis, x->rank);
  int axes[IR_MAX_RANK], n = 0;
  for (int k = a; k < x->rank; k++) axes[n++] = k;
  Node *mu = ir_reduce_mean(g, x, n, axes, true);
  Node *d = ir_binary(g, MAP_SUB, x, mu);
  Node *v = ir_reduce_mean(g, ir_binary(g, MAP_MUL, d, d), n, axes, true);
  Node *rs = ir_unary(g, MAP_RECIP, ir_unary(g, MAP_SQRT, ir_binary(g, MAP_ADD, v, ir_scalar_like(g, x, eps))));
  Node *y = ir_binary(g, MAP_MUL, d, rs);
  if (scale) {
    if (scale->dtype != x->dtype)
      ir_fail(g, "LayerNormalization: scale is %s, input is %s", dt_name(scale->dtype), dt_name(x->dtype));
    y = ir_binary(g, MAP_MUL, y, ir_broadcast(g, scale, x->rank, x->dims));
  }
  if (bias) {
    if (bias->dtype != x->dtype)
      ir_fail(g, "LayerNormalization: bias is %s, input is %s", dt_name(bias->dtype), dt_name(x->dtype));
    y = ir_binary(g, MAP_ADD, y, ir_broadcast(g, bias, x->rank, x->dims));
  }
  return y;
}
