/* onnx_lower_math.c: lowerings of ONNX's element-wise operators (unary,
 * binary and variadic with numpy broadcasting, activations, Clip, Cast,
 * Where, Identity, Dropout) and of the Reduce* family. Each is a direct call
 * of the matching constructor in ir/ops.h; the opset differences handled here
 * are attributes turning into inputs (Clip 11, Reduce* axes 13/18, Dropout 12)
 * and the legacy broadcast/axis attributes of the binary ops before opset 7.
 */
#include "frontend/onnx/onnx_internal.h"

#include <float.h>
#include <string.h>

typedef struct { const char *op; MapOp map; } OpMap;

static const OpMap unary_ops[] = {
  {"Abs", MAP_ABS},     {"Neg", MAP_NEG},     {"Exp", MAP_EXP},     {"Log", MAP_LOG},
  {"Sqrt", MAP_SQRT},   {"Reciprocal", MAP_RECIP}, {"Floor", MAP_FLOOR}, {"Ceil", MAP_CEIL},
  {"Round", MAP_ROUND}, {"Sign", MAP_SIGN},   {"Sin", MAP_SIN},     {"Cos", MAP_COS},
  {"Tan", MAP_TAN},     {"Asin", MAP_ASIN},   {"Acos", MAP_ACOS},   {"Atan", MAP_ATAN},
  {"Sinh", MAP_SINH},   {"Cosh", MAP_COSH},   {"Asinh", MAP_ASINH}, {"Acosh", MAP_ACOSH},
  {"Atanh", MAP_ATANH}, {"Tanh", MAP_TANH},   {"Erf", MAP_ERF},     {"Sigmoid", MAP_SIGMOID},
  {"IsNaN", MAP_ISNAN}, {"Not", MAP_NOT},
};

static const OpMap binary_ops[] = {
  {"Add", MAP_ADD},     {"Sub", MAP_SUB},     {"Mul", MAP_MUL},     {"Div", MAP_DIV},
  {"Pow", MAP_POW},     {"Mod", MAP_MOD},     {"Equal", MAP_EQ},    {"Less", MAP_LT},
  {"Greater", MAP_GT},  {"LessOrEqual", MAP_LE}, {"GreaterOrEqual", MAP_GE},
  {"And", MAP_AND},     {"Or", MAP_OR},       {"Xor", MAP_XOR},
  {"Sum", MAP_ADD},     {"Mean", MAP_ADD},    {"Max", MAP_MAX},     {"Min", MAP_MIN},
};

static MapOp find_map(OnnxCtx *c, const OpMap *tab, size_t n) {
  const char *op = onnx_op_type(c->node);
  for (size_t k = 0; k < n; k++)
    if (!strcmp(tab[k].op, op)) return tab[k].map;
  jtc_unreachable();
}

void onnx_lower_unary(OnnxCtx *c) {
  MapOp op = find_map(c, unary_ops, sizeof unary_ops / sizeof unary_ops[0]);
  c->out[0] = ir_unary(c->g, op, onnx_input(c, 0, "X"));
}

/* Before opset 7, B broadcast only with broadcast=1, aligned at `axis` (default:
 * trailing). Reshape B so numpy rules give the same result. */
static Node *legacy_broadcast(OnnxCtx *c, Node *a, Node *b) {
  if (c->opset >= 7 || !onnx_attr(c, "broadcast") || !onnx_attr_int(c, "broadcast", 0)) return b;
  int64_t axis = onnx_attr_int(c, "axis", a->rank - b->rank);
  if (axis < 0) axis += a->rank;
  if (axis < 0 || axis + b->rank > a->rank)
    ir_fail(c->g, "axis %lld does not fit a %d-D B into a %d-D A", (long long)axis, b->rank, a->rank);
  int64_t dims[IR_MAX_RANK];
  int rank = (int)axis + b->rank;
  for (int k = 0; k < rank; k++) dims[k] = k < axis ? 1 : b->dims[k - axis];
  return ir_reshape(c->g, b, rank, dims);
}

void onnx_lower_binary(OnnxCtx *c) {
  MapOp op = find_map(c, binary_ops, sizeof binary_ops / sizeof binary_ops[0]);
  Node *a = onnx_input(c, 0, "A"), *b = onnx_input(c, 1, "B");
  b = legacy_broadcast(c, a, b);
  if (op == MAP_POW && b->dtype != a->dtype) b = ir_cast(c->g, b, a->dtype); /* Pow: T1 ^ T2 -> T1 */
  if (op == MAP_MOD && onnx_attr_int(c, "fmod", 0)) op = MAP_FMOD;
  if (op == MAP_MOD && dt_is_float(a->dtype))
    ir_fail(c->g, "Mod of floating-point tensors needs fmod=1");
  c->out[0] = ir_binary(c->g, op, a, b);
}

void onnx_lower_variadic(OnnxCtx *c) {
  MapOp op = find_map(c, binary_ops, sizeof binary_ops / sizeof binary_ops[0]);
  Node *acc = onnx_input(c, 0, "data_0");
  int n = 1;
  for (int k = 1; k < c->nin; k++) {
    if (!c->in[k]) continue;
    acc = ir_binary(c->g, op, acc, c->in[k]);
    n++;
  }
  if (!strcmp(onnx_op_type(c->node), "Mean"))
    acc = n > 1 ? ir_binary(c->g, MAP_DIV, acc, ir_scalar_like(c->g, acc, n)) : acc;
  c->out[0] = acc;
}

void onnx_lower_activation(OnnxCtx *c) {
  const char *op = onnx_op_type(c->node);
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "X");
  if (!strcmp(op, "Relu")) c->out[0] = ir_relu(g, x);
  else if (!strcmp(op, "LeakyRelu")) c->out[0] = ir_leaky_relu(g, x, onnx_attr_float(c, "alpha", 0.01));
  else if (!strcmp(op, "PRelu")) {
    Node *slope = onnx_input(c, 1, "slope");
    if (c->opset < 7 && slope->rank == 1 && x->rank > 2 && slope->numel > 1 && slope->dims[0] == x->dims[1]) {
      int64_t d[IR_MAX_RANK]; /* before opset 7 a 1-D slope is per channel (axis 1) */
      d[0] = slope->dims[0];
      for (int k = 1; k < x->rank - 1; k++) d[k] = 1;
      slope = ir_reshape(g, slope, x->rank - 1, d);
    }
    c->out[0] = ir_prelu(g, x, slope);
  }
  else if (!strcmp(op, "Elu")) c->out[0] = ir_elu(g, x, onnx_attr_float(c, "alpha", 1.0));
  else if (!strcmp(op, "Selu"))
    c->out[0] = ir_selu(g, x, onnx_attr_float(c, "alpha", 1.67326319217681884765625),
                        onnx_attr_float(c, "gamma", 1.05070102214813232421875));
  else if (!strcmp(op, "HardSigmoid"))
    c->out[0] = ir_hard_sigmoid(g, x, onnx_attr_float(c, "alpha", 0.2), onnx_attr_float(c, "beta", 0.5));
  else if (!strcmp(op, "HardSwish")) c->out[0] = ir_hard_swish(g, x);
  else if (!strcmp(op, "Softplus")) c->out[0] = ir_softplus(g, x);
  else if (!strcmp(op, "Softsign")) /* x / (1 + |x|) */
    c->out[0] = ir_binary(g, MAP_DIV, x,
                          ir_binary(g, MAP_ADD, ir_unary(g, MAP_ABS, x), ir_scalar_like(g, x, 1.0)));
  else if (!strcmp(op, "Celu")) { /* max(0, x) + min(0, alpha * (exp(x / alpha) - 1)) */
    double alpha = onnx_attr_float(c, "alpha", 1.0);
    Node *e = ir_binary(g, MAP_DIV, x, ir_scalar_like(g, x, alpha));
    e = ir_binary(g, MAP_MUL, ir_binary(g, MAP_SUB, ir_unary(g, MAP_EXP, e), ir_scalar_like(g, x, 1)),
                  ir_scalar_like(g, x, alpha));
    Node *zero = ir_scalar_like(g, x, 0);
    c->out[0] = ir_binary(g, MAP_ADD, ir_binary(g, MAP_MAX, x, zero), ir_binary(g, MAP_MIN, e, zero));
  } else if (!strcmp(op, "ThresholdedRelu")) { /* x > alpha ? x : 0 */
    Node *t = ir_scalar_like(g, x, onnx_attr_float(c, "alpha", 1.0));
    c->out[0] = ir_where(g, ir_binary(g, MAP_GT, x, t), x, ir_scalar_like(g, x, 0));
  } else if (!strcmp(op, "Shrink")) { /* x < -l ? x + bias : x > l ? x - bias : 0 */
    double l = onnx_attr_float(c, "lambd", 0.5), bias = onnx_attr_float(c, "bias", 0.0);
    Node *hi = ir_where(g, ir_binary(g, MAP_GT, x, ir_scalar_like(g, x, l)),
                        ir_binary(g, MAP_SUB, x, ir_scalar_like(g, x, bias)), ir_scalar_like(g, x, 0));
    c->out[0] = ir_where(g, ir_binary(g, MAP_LT, x, ir_scalar_like(g, x, -l)),
                         ir_binary(g, MAP_ADD, x, ir_scalar_like(g, x, bias)), hi);
  } else if (!strcmp(op, "IsInf")) {
    bool neg = onnx_attr_int(c, "detect_negative", 1) != 0, pos = onnx_attr_int(c, "detect_positive", 1) != 0;
    Node *r = ir_unary(g, MAP_ISINF, x);
    if (!neg || !pos) {
      Node *sign = ir_binary(g, pos ? MAP_GT : MAP_LT, x, ir_scalar_like(g, x, 0));
      r = neg || pos ? ir_binary(g, MAP_AND, r, sign) : ir_binary(g, MAP_AND, r, ir_unary(g, MAP_NOT, r));
    }
    c->out[0] = r;
  } else if (!strcmp(op, "Gelu")) {
    const char *approx = onnx_attr_string(c, "approximate", "none");
    if (strcmp(approx, "none") && strcmp(approx, "tanh"))
      ir_fail(g, "approximate must be 'none' or 'tanh', it is '%s'", approx);
    c->out[0] = ir_gelu(g, x, !strcmp(approx, "tanh"));
  } else
    jtc_unreachable();
}

/* Clip: min/max attributes before opset 11, optional inputs from 11. */
void onnx_lower_clip(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input"), *lo = NULL, *hi = NULL;
  if (c->opset < 11) {
    if (onnx_attr(c, "min")) lo = ir_scalar(c->g, x->dtype, onnx_attr_float(c, "min", -FLT_MAX));
    if (onnx_attr(c, "max")) hi = ir_scalar(c->g, x->dtype, onnx_attr_float(c, "max", FLT_MAX));
  } else {
    lo = onnx_opt_input(c, 1);
    hi = onnx_opt_input(c, 2);
    if (lo && lo->numel != 1) ir_fail(c->g, "input 'min' must have one element, it has %lld", (long long)lo->numel);
    if (hi && hi->numel != 1) ir_fail(c->g, "input 'max' must have one element, it has %lld", (long long)hi->numel);
    if (lo && lo->rank) lo = ir_reshape(c->g, lo, 0, NULL);
    if (hi && hi->rank) hi = ir_reshape(c->g, hi, 0, NULL);
  }
  c->out[0] = ir_clip(c->g, x, lo, hi);
}

/* Opset 1 spells `to` as a string ("FLOAT"); later opsets as a DataType number. */
static int cast_target(OnnxCtx *c) {
  const Onnx__AttributeProto *a = onnx_attr(c, "to");
  if (!a) ir_fail(c->g, "attribute 'to' is required");
  if (a->has_s || (a->has_type && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)) {
    const char *s = onnx_attr_string(c, "to", "");
    for (int t = 1; t <= ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16; t++)
      if (!strcmp(onnx_dtype_name(t), s)) return t;
    ir_fail(c->g, "attribute 'to' names an unknown type '%s'", s);
  }
  return (int)onnx_attr_int(c, "to", 0);
}

void onnx_lower_cast(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int to = cast_target(c);
  Dtype dt = onnx_dtype(to);
  if (dt == DT_UNDEF) ir_fail(c->g, "cast to %s is not supported", onnx_dtype_name(to));
  c->out[0] = ir_cast(c->g, x, dt);
}

void onnx_lower_cast_like(OnnxCtx *c) {
  c->out[0] = ir_cast(c->g, onnx_input(c, 0, "input"), onnx_input(c, 1, "target_type")->dtype);
}

void onnx_lower_identity(OnnxCtx *c) {
  c->out[0] = onnx_input(c, 0, "input");
}

/* Inference: Y = X; the mask, if asked for, is all true (all ones before opset 10). */
void onnx_lower_dropout(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  if (c->opset >= 12 && onnx_opt_input(c, 2) && onnx_const_scalar(c, 2, "training_mode") != 0) {
    onnx_lower_dropout_training(c);
    return;
  }
  if (c->opset < 7 && onnx_attr(c, "is_test") && !onnx_attr_int(c, "is_test", 0))
    ir_fail(c->g, "is_test=0 (training) is not supported (inference only)");
  if (c->g->training) { /* --train: a fresh mask per step, kept elements scaled by 1 / (1 - ratio), as PyTorch does */
    double ratio = c->opset >= 12 ? (onnx_opt_input(c, 1) ? onnx_const_scalar(c, 1, "ratio") : 0.5) : onnx_attr_float(c, "ratio", 0.5);
    if (!(ratio >= 0 && ratio <= 1)) ir_fail(c->g, "ratio %g is outside [0, 1]", ratio);
    if (!dt_is_float(x->dtype)) ir_fail(c->g, "input dtype %s is not floating point", dt_name(x->dtype));
    Node *keep = ir_binary(c->g, MAP_GE, ir_random_uniform(c->g, x->rank, x->dims), ir_scalar(c->g, DT_F32, ratio));
    Node *scale = ir_scalar_like(c->g, x, ratio < 1 ? 1 / (1 - ratio) : 0);
    c->out[0] = ir_where(c->g, keep, ir_binary(c->g, MAP_MUL, x, scale), ir_scalar_like(c->g, x, 0));
    if (onnx_out_wanted(c, 1)) c->out[1] = c->opset >= 10 ? keep : ir_cast(c->g, keep, x->dtype);
    return;
  }
  c->out[0] = x;
  if (onnx_out_wanted(c, 1)) {
    Node *one = c->opset >= 10 ? ir_scalar(c->g, DT_BOOL, 1) : ir_scalar_like(c->g, x, 1);
    c->out[1] = ir_broadcast(c->g, one, x->rank, x->dims);
  }
}

void onnx_lower_where(OnnxCtx *c) {
  c->out[0] = ir_where(c->g, onnx_input(c, 0, "condition"), onnx_input(c, 1, "X"), onnx_input(c, 2, "Y"));
}

/* ---- Reduce* ---- */

/* The reduction axes: attribute `axes` until ReduceSum-13 / others-18, then an
 * optional input. Returns the count (all axes when none are given, unless
 * noop_with_empty_axes), or -1 for "no reduction at all". */
static int reduce_axes(OnnxCtx *c, Node *x, int *axes) {
  bool from_input = !strcmp(onnx_op_type(c->node), "ReduceSum") ? c->opset >= 13 : c->opset >= 18;
  int64_t raw[IR_MAX_RANK];
  int n;
  if (from_input) {
    n = onnx_opt_input(c, 1) ? onnx_const_ints(c, 1, "axes", raw, IR_MAX_RANK) : 0;
    if (n == 0 && onnx_attr_int(c, "noop_with_empty_axes", 0)) return -1;
  } else {
    n = onnx_attr_ints(c, "axes", raw, IR_MAX_RANK);
    if (n < 0) n = 0;
  }
  if (n == 0) {
    for (int k = 0; k < x->rank; k++) axes[k] = k;
    return x->rank;
  }
  for (int k = 0; k < n; k++) {
    axes[k] = onnx_axis(c, raw[k], x->rank, "axis");
    for (int j = 0; j < k; j++)
      if (axes[j] == axes[k]) ir_fail(c->g, "axis %d is listed twice", axes[k]);
  }
  return n;
}

void onnx_lower_reduce(OnnxCtx *c) {
  const char *op = onnx_op_type(c->node) + strlen("Reduce");
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "data");
  bool keep = onnx_attr_int(c, "keepdims", 1) != 0;
  int axes[IR_MAX_RANK];
  int n = reduce_axes(c, x, axes);
  if (n < 0) {
    c->out[0] = x;
    return;
  }
  if (!strcmp(op, "Sum")) c->out[0] = ir_reduce(g, x, RED_ADD, n, axes, keep);
  else if (!strcmp(op, "Mean")) c->out[0] = ir_reduce_mean(g, x, n, axes, keep);
  else if (!strcmp(op, "Max")) c->out[0] = ir_reduce(g, x, RED_MAX, n, axes, keep);
  else if (!strcmp(op, "Min")) c->out[0] = ir_reduce(g, x, RED_MIN, n, axes, keep);
  else if (!strcmp(op, "Prod")) c->out[0] = ir_reduce(g, x, RED_MUL, n, axes, keep);
  else if (!strcmp(op, "SumSquare")) c->out[0] = ir_reduce(g, ir_binary(g, MAP_MUL, x, x), RED_ADD, n, axes, keep);
  else if (!strcmp(op, "LogSum")) c->out[0] = ir_unary(g, MAP_LOG, ir_reduce(g, x, RED_ADD, n, axes, keep));
  else if (!strcmp(op, "L1")) c->out[0] = ir_reduce(g, ir_unary(g, MAP_ABS, x), RED_ADD, n, axes, keep);
  else if (!strcmp(op, "L2"))
    c->out[0] = ir_unary(g, MAP_SQRT, ir_reduce(g, ir_binary(g, MAP_MUL, x, x), RED_ADD, n, axes, keep));
  else if (!strcmp(op, "LogSumExp")) { /* m + log(sum(exp(x - m))), m = max */
    Node *m = ir_reduce(g, x, RED_MAX, n, axes, true);
    Node *s = ir_reduce(g, ir_unary(g, MAP_EXP, ir_binary(g, MAP_SUB, x, m)), RED_ADD, n, axes, true);
    Node *r = ir_binary(g, MAP_ADD, ir_unary(g, MAP_LOG, s), m);
    if (!keep) {
      int64_t dims[IR_MAX_RANK];
      int rank = 0;
      for (int k = 0; k < x->rank; k++) {
        bool reduced = false;
        for (int j = 0; j < n; j++) reduced |= axes[j] == k;
        if (!reduced) dims[rank++] = x->dims[k];
      }
      r = ir_reshape(g, r, rank, dims);
    }
    c->out[0] = r;
  } else
    jtc_unreachable();
}

/* ArgMax/ArgMin: the first (or, with select_last_index, last) position along
 * `axis` equal to the max/min: reduce-min of where(x == max, index, dim). */
void onnx_lower_arg_reduce(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "data");
  bool is_max = !strcmp(onnx_op_type(c->node), "ArgMax");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  bool keep = onnx_attr_int(c, "keepdims", 1) != 0, last = onnx_attr_int(c, "select_last_index", 0) != 0;
  int64_t n = x->dims[axis], d[IR_MAX_RANK];
  int64_t *iota = ir_alloc_array(g, (size_t)(n ? n : 1), sizeof(int64_t));
  for (int64_t k = 0; k < n; k++) iota[k] = k;
  for (int k = 0; k < x->rank; k++) d[k] = k == axis ? n : 1;
  Node *idx = ir_const(g, DT_I64, x->rank, d, iota);
  Node *m = ir_reduce(g, x, is_max ? RED_MAX : RED_MIN, 1, &axis, true);
  Node *cand = ir_where(g, ir_binary(g, MAP_EQ, x, m), idx, ir_scalar(g, DT_I64, last ? -1.0 : (double)n));
  c->out[0] = ir_reduce(g, cand, last ? RED_MAX : RED_MIN, 1, &axis, keep);
}
