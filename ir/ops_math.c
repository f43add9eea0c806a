/* ops_math.c: broadcasting and element-wise op constructors.
 *
 * Broadcasting is a GATHER: out[i0..ir) = x[j...] where x's dimension k,
 * right-aligned to output dimension k + (r - rank(x)), reads that output
 * variable, or the constant 0 where x's extent is 1 (e.g. x [3,1] to [2,3,4]
 * is the map `i1, 0`). A rank-0 x is broadcast with no index at all. Every
 * element-wise op broadcasts its operands to the common numpy shape and then
 * emits one MAP; composite activations (elu, gelu, ...) are a few MAPs over
 * rank-0 constants, so constant folding and fusion see plain arithmetic.
 */
#include <math.h>
#include <stdio.h>

#include "ops.h"

/* "[2, 3, 4]" for messages */
static const char *fmt_dims(char *buf, size_t n, int rank, const int64_t *dims)
{
  size_t k = 0;
  k += (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

Node *ir_scalar(Graph *g, Dtype t, double v)
{
  unsigned char buf[16] = {0};
  Scalar s = {v, 0};
  if (!dt_is_float(t)) {
    s.i = t == DT_BOOL ? (v != 0) : (isfinite(v) ? (int64_t)v : 0);
    s.f = (double)s.i;
  }
  dt_store(buf, t, 0, s);
  return ir_const(g, t, 0, NULL, buf);
}

Node *ir_scalar_like(Graph *g, const Node *x, double v)
{
  return ir_scalar(g, x->dtype, v);
}

bool ir_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rank, int64_t *dims)
{
  int r = ra > rb ? ra : rb;
  if (r > IR_MAX_RANK) return false;
  for (int k = 0; k < r; k++) {
    int ka = k - (r - ra), kb = k - (r - rb);
    int64_t da = ka >= 0 ? a[ka] : 1, db = kb >= 0 ? b[kb] : 1;
    if (da != db && da != 1 && db != 1) return false;
    dims[k] = da == 1 ? db : da;
  }
  *rank = r;
  return true;
}

/* Map `i<k+off>` or `0` for each x dim, x right-aligned to dims. */
Node *ir_broadcast(Graph *g, Node *x, int rank, const int64_t *dims)
{
  if (x->rank == rank) {
    bool same = true;
    for (int k = 0; k < rank; k++) same = same && x->dims[k] == dims[k];
    if (same) return x;
  }
  char b1[200], b2[200];
  bool ok = x->rank <= rank;
  Ix *idx[IR_MAX_RANK];
  int off = rank - x->rank;
  for (int k = 0; ok && k < x->rank; k++) {
    int64_t d = x->dims[k], o = dims[k + off];
    if (d == 1) idx[k] = ix_const(g, 0);
    else if (d == o) idx[k] = ix_var(g, k + off);
    else ok = false;
  }
  if (!ok)
    ir_fail(g, "cannot broadcast shape %s to %s", fmt_dims(b1, sizeof b1, x->rank, x->dims),
            fmt_dims(b2, sizeof b2, rank, dims));
  return ir_gather(g, x, rank, dims, idx, NULL, sc_i(0));
}

/* The op must have a C form for the operand dtype (ops.def c_float/c_int). */
static void check_op_dtype(Graph *g, MapOp op, Dtype t)
{
  const MapOpInfo *m = &map_ops[op];
  if (t == DT_UNDEF || (dt_is_float(t) ? m->c_float : m->c_int) == NULL)
    ir_fail(g, "%s is not defined for %s operands", m->name, dt_name(t));
}

Node *ir_unary(Graph *g, MapOp op, Node *x)
{
  if (map_ops[op].arity != 1) ir_fail(g, "%s is not a unary op", map_ops[op].name);
  check_op_dtype(g, op, x->dtype);
  return ir_map(g, op, DT_UNDEF, 1, &x);
}

Node *ir_binary(Graph *g, MapOp op, Node *a, Node *b)
{
  if (map_ops[op].arity != 2) ir_fail(g, "%s is not a binary op", map_ops[op].name);
  if (a->dtype != b->dtype)
    ir_fail(g, "%s: operand dtypes differ: %s and %s", map_ops[op].name, dt_name(a->dtype),
            dt_name(b->dtype));
  check_op_dtype(g, op, a->dtype);
  int rank;
  int64_t dims[IR_MAX_RANK];
  if (!ir_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &rank, dims)) {
    char b1[200], b2[200];
    ir_fail(g, "%s: shapes %s and %s do not broadcast", map_ops[op].name,
            fmt_dims(b1, sizeof b1, a->rank, a->dims), fmt_dims(b2, sizeof b2, b->rank, b->dims));
  }
  Node *in[2] = {ir_broadcast(g, a, rank, dims), ir_broadcast(g, b, rank, dims)};
  return ir_map(g, op, DT_UNDEF, 2, in);
}

Node *ir_where(Graph *g, Node *cond, Node *a, Node *b)
{
  if (cond->dtype != DT_BOOL) ir_fail(g, "Where: condition is %s, not bool", dt_name(cond->dtype));
  if (a->dtype != b->dtype)
    ir_fail(g, "Where: operand dtypes differ: %s and %s", dt_name(a->dtype), dt_name(b->dtype));
  int r1, rank;
  int64_t d1[IR_MAX_RANK], dims[IR_MAX_RANK];
  if (!ir_broadcast_shape(cond->rank, cond->dims, a->rank, a->dims, &r1, d1) ||
      !ir_broadcast_shape(r1, d1, b->rank, b->dims, &rank, dims)) {
    char b1[200], b2[200], b3[200];
    ir_fail(g, "Where: shapes %s, %s and %s do not broadcast",
            fmt_dims(b1, sizeof b1, cond->rank, cond->dims), fmt_dims(b2, sizeof b2, a->rank, a->dims),
            fmt_dims(b3, sizeof b3, b->rank, b->dims));
  }
  Node *in[3] = {ir_broadcast(g, cond, rank, dims), ir_broadcast(g, a, rank, dims),
                 ir_broadcast(g, b, rank, dims)};
  return ir_map(g, MAP_WHERE, DT_UNDEF, 3, in);
}

Node *ir_cast(Graph *g, Node *x, Dtype t)
{
  if (x->dtype == t) return x;
  if (t == DT_UNDEF || t >= DT_COUNT) ir_fail(g, "Cast: invalid target dtype %d", (int)t);
  if (t == DT_STRING || x->dtype == DT_STRING) return ir_string_cast(g, x, t);
  return ir_map(g, MAP_CAST, t, 1, &x);
}

/* min(max(x, lo), hi) written with WHERE so that NaN passes through */
Node *ir_clip(Graph *g, Node *x, Node *lo, Node *hi)
{
  if (lo) x = ir_where(g, ir_binary(g, MAP_LT, x, lo), lo, x);
  if (hi) x = ir_where(g, ir_binary(g, MAP_GT, x, hi), hi, x);
  return x;
}

static void need_float(Graph *g, const char *op, const Node *x)
{
  if (!dt_is_float(x->dtype))
    ir_fail(g, "%s: input dtype %s is not floating point", op, dt_name(x->dtype));
}

/* x op scalar c (c in x's dtype) */
static Node *op_c(Graph *g, MapOp op, Node *x, double c)
{
  return ir_binary(g, op, x, ir_scalar_like(g, x, c));
}

/* max(x, 0); a NaN input gives 0 (fmax) */
Node *ir_relu(Graph *g, Node *x)
{
  return op_c(g, MAP_MAX, x, 0);
}

/* x < 0 ? alpha*x : x */
Node *ir_leaky_relu(Graph *g, Node *x, double alpha)
{
  need_float(g, "LeakyRelu", x);
  return ir_where(g, op_c(g, MAP_LT, x, 0), op_c(g, MAP_MUL, x, alpha), x);
}

/* x < 0 ? slope*x : x, slope broadcast to x's shape */
Node *ir_prelu(Graph *g, Node *x, Node *slope)
{
  if (slope->dtype != x->dtype)
    ir_fail(g, "PRelu: slope is %s, input is %s", dt_name(slope->dtype), dt_name(x->dtype));
  Node *s = ir_broadcast(g, slope, x->rank, x->dims);
  return ir_where(g, op_c(g, MAP_LT, x, 0), ir_binary(g, MAP_MUL, x, s), x);
}

/* x < 0 ? alpha*(exp(x)-1) : x */
Node *ir_elu(Graph *g, Node *x, double alpha)
{
  need_float(g, "Elu", x);
  Node *neg = op_c(g, MAP_MUL, op_c(g, MAP_SUB, ir_unary(g, MAP_EXP, x), 1), alpha);
  return ir_where(g, op_c(g, MAP_LT, x, 0), neg, x);
}

/* x <= 0 ? gamma*(alpha*exp(x) - alpha) : gamma*x */
Node *ir_selu(Graph *g, Node *x, double alpha, double gamma)
{
  need_float(g, "Selu", x);
  Node *neg = op_c(g, MAP_SUB, op_c(g, MAP_MUL, ir_unary(g, MAP_EXP, x), alpha), alpha);
  Node *y = ir_where(g, op_c(g, MAP_LE, x, 0), neg, x);
  return op_c(g, MAP_MUL, y, gamma);
}

/* max(0, min(1, alpha*x + beta)) */
Node *ir_hard_sigmoid(Graph *g, Node *x, double alpha, double beta)
{
  need_float(g, "HardSigmoid", x);
  Node *y = op_c(g, MAP_ADD, op_c(g, MAP_MUL, x, alpha), beta);
  return op_c(g, MAP_MAX, op_c(g, MAP_MIN, y, 1), 0);
}

/* x * hard_sigmoid(x, 1/6, 1/2) */
Node *ir_hard_swish(Graph *g, Node *x)
{
  need_float(g, "HardSwish", x);
  return ir_binary(g, MAP_MUL, x, ir_hard_sigmoid(g, x, 1.0 / 6.0, 0.5));
}

/* log(1 + exp(x)) computed as max(x, 0) + log(1 + exp(-|x|)): no overflow for large x */
Node *ir_softplus(Graph *g, Node *x)
{
  need_float(g, "Softplus", x);
  Node *e = ir_unary(g, MAP_EXP, ir_unary(g, MAP_NEG, ir_unary(g, MAP_ABS, x)));
  Node *l = ir_unary(g, MAP_LOG, op_c(g, MAP_ADD, e, 1));
  return ir_binary(g, MAP_ADD, op_c(g, MAP_MAX, x, 0), l);
}

/* exact: 0.5*x*(1 + erf(x/sqrt(2)));
 * tanh:  0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3))) */
Node *ir_gelu(Graph *g, Node *x, bool tanh_approx)
{
  need_float(g, "Gelu", x);
  Node *t;
  if (tanh_approx) {
    Node *x3 = ir_binary(g, MAP_MUL, ir_binary(g, MAP_MUL, x, x), x);
    Node *in = ir_binary(g, MAP_ADD, x, op_c(g, MAP_MUL, x3, 0.044715));
    t = ir_unary(g, MAP_TANH, op_c(g, MAP_MUL, in, 0.7978845608028654 /* sqrt(2/pi) */));
  } else {
    t = ir_unary(g, MAP_ERF, op_c(g, MAP_MUL, x, 1.0 / sqrt(2.0)));
  }
  Node *half_x = op_c(g, MAP_MUL, x, 0.5);
  return ir_binary(g, MAP_MUL, half_x, op_c(g, MAP_ADD, t, 1));
}
