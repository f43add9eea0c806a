/* onnx_lower_misc.c: lowerings of the losses (NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss), the training updates of ai.onnx.preview.training
 * (Adagrad, Momentum, Adam: rows keyed "domain:Op" in onnx_ops.c), the
 * quantization operators (QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, MatMulInteger, ConvInteger, QLinearMatMul,
 * QLinearConv), the signal operators (Hann/Hamming/BlackmanWindow, DFT, STFT,
 * MelWeightMatrix), Det and Mish. Constructors are in ir/ops_misc.c.
 */
#include "frontend/onnx/onnx_internal.h"
#include "passes/passes.h"

#include <string.h>

static LossReduction loss_reduction(OnnxCtx *c) {
  const char *r = onnx_attr_string(c, "reduction", "mean");
  if (!strcmp(r, "none")) return LOSS_NONE;
  if (!strcmp(r, "sum")) return LOSS_SUM;
  if (!strcmp(r, "mean")) return LOSS_MEAN;
  ir_fail(c->g, "reduction '%s' is not one of none, sum, mean", r);
}

void onnx_lower_nll_loss(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input"), *t = onnx_input(c, 1, "target"), *w = onnx_opt_input(c, 2);
  bool has_ii = onnx_attr(c, "ignore_index") != NULL;
  c->out[0] = ir_nll_loss(c->g, x, t, w, loss_reduction(c), has_ii, onnx_attr_int(c, "ignore_index", 0));
}

void onnx_lower_softmax_ce(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "scores"), *t = onnx_input(c, 1, "labels"), *w = onnx_opt_input(c, 2);
  bool has_ii = onnx_attr(c, "ignore_index") != NULL;
  c->out[0] = ir_softmax_cross_entropy(c->g, x, t, w, loss_reduction(c), has_ii, onnx_attr_int(c, "ignore_index", 0),
                                       onnx_out_wanted(c, 1) ? &c->out[1] : NULL);
}

/* ---- training (inputs R, T, then `groups` runs of n tensors; outputs likewise) ---- */

/* The number n of tensors per group; checks the input and output counts. */
static int update_count(OnnxCtx *c, int groups, int out_groups) {
  int n = (c->nin - 2) / groups;
  if (c->nin < 2 + groups || (c->nin - 2) % groups)
    ir_fail(c->g, "%d inputs; expected R, T and %d groups of equally many tensors", c->nin, groups);
  if (c->nout > out_groups * n)
    ir_fail(c->g, "%d outputs for %d tensors; expected at most %d", c->nout, n, out_groups * n);
  return n;
}

void onnx_lower_adagrad(OnnxCtx *c) {
  int n = update_count(c, 3, 2);
  Node *r = onnx_input(c, 0, "R"), *t = onnx_input(c, 1, "T");
  double norm = onnx_attr_float(c, "norm_coefficient", 0.0), eps = onnx_attr_float(c, "epsilon", 1e-6);
  double decay = onnx_attr_float(c, "decay_factor", 0.0);
  for (int k = 0; k < n; k++) {
    Node *xn, *hn;
    ir_adagrad(c->g, r, t, onnx_input(c, 2 + k, "X"), onnx_input(c, 2 + n + k, "G"), onnx_input(c, 2 + 2 * n + k, "H"),
               norm, eps, decay, &xn, &hn);
    if (k < c->nout) c->out[k] = xn;
    if (n + k < c->nout) c->out[n + k] = hn;
  }
}

void onnx_lower_momentum(OnnxCtx *c) {
  int n = update_count(c, 3, 2);
  Node *r = onnx_input(c, 0, "R"), *t = onnx_input(c, 1, "T");
  for (const char *const *a = (const char *const[]){"alpha", "beta", "mode", "norm_coefficient", NULL}; *a; a++)
    if (!onnx_attr(c, *a)) ir_fail(c->g, "attribute '%s' is required", *a);
  const char *mode = onnx_attr_string(c, "mode", "standard");
  if (strcmp(mode, "standard") && strcmp(mode, "nesterov"))
    ir_fail(c->g, "mode '%s' is not 'standard' or 'nesterov'", mode);
  double alpha = onnx_attr_float(c, "alpha", 0), beta = onnx_attr_float(c, "beta", 0);
  double norm = onnx_attr_float(c, "norm_coefficient", 0);
  for (int k = 0; k < n; k++) {
    Node *xn, *vn;
    ir_momentum(c->g, r, t, onnx_input(c, 2 + k, "X"), onnx_input(c, 2 + n + k, "G"),
                onnx_input(c, 2 + 2 * n + k, "V"), alpha, beta, norm, !strcmp(mode, "nesterov"), &xn, &vn);
    if (k < c->nout) c->out[k] = xn;
    if (n + k < c->nout) c->out[n + k] = vn;
  }
}

void onnx_lower_adam(OnnxCtx *c) {
  int n = update_count(c, 4, 3);
  Node *r = onnx_input(c, 0, "R"), *t = onnx_input(c, 1, "T");
  double alpha = onnx_attr_float(c, "alpha", 0.9), beta = onnx_attr_float(c, "beta", 0.999);
  double eps = onnx_attr_float(c, "epsilon", 1e-6), norm = onnx_attr_float(c, "norm_coefficient", 0.0);
  double post = onnx_attr_float(c, "norm_coefficient_post", 0.0);
  for (int k = 0; k < n; k++) {
    Node *xn, *vn, *hn;
    ir_adam(c->g, r, t, onnx_input(c, 2 + k, "X"), onnx_input(c, 2 + n + k, "G"), onnx_input(c, 2 + 2 * n + k, "V"),
            onnx_input(c, 2 + 3 * n + k, "H"), alpha, beta, eps, norm, post, &xn, &vn, &hn);
    if (k < c->nout) c->out[k] = xn;
    if (n + k < c->nout) c->out[n + k] = vn;
    if (2 * n + k < c->nout) c->out[2 * n + k] = hn;
  }
}

/* Gradient (ai.onnx.preview.training): d(sum y)/dx for each x named in xs, where y is a
 * value computed earlier in the graph; the node's inputs are xs then zs (zs are only
 * held constant, which a graph value that is not differentiated already is). */
void onnx_lower_gradient(OnnxCtx *c) {
  const Onnx__AttributeProto *xs = onnx_attr(c, "xs");
  const char *yname = onnx_attr_string(c, "y", NULL);
  if (!xs || !xs->n_strings) ir_fail(c->g, "attribute 'xs' (the tensors to differentiate by) is missing or empty");
  if (!yname) ir_fail(c->g, "attribute 'y' (the tensor to differentiate) is missing");
  int nx = (int)xs->n_strings;
  if (nx > c->nin) ir_fail(c->g, "'xs' names %d tensors but the node has %d inputs", nx, c->nin);
  Node *y = onnx_scope_value(c->scope, yname);
  if (!y) ir_fail(c->g, "'y' names '%s', which no earlier node or input defines", yname);
  Node **x = ir_alloc_array(c->g, (size_t)nx, sizeof(Node *));
  for (int k = 0; k < nx; k++) {
    char what[32];
    snprintf(what, sizeof what, "xs[%d]", k);
    x[k] = onnx_input(c, k, what);
    if (!dt_is_float(x[k]->dtype)) ir_fail(c->g, "xs[%d] is %s; only float tensors have gradients", k, dt_name(x[k]->dtype));
  }
  Node **d = pass_grad(c->g, y, NULL, nx, x);
  for (int k = 0; k < nx && k < c->nout; k++) c->out[k] = d[k];
}

/* ---- quantization ---- */

/* Opset 13 added per-axis scales (attribute axis, default 1); before, scalars only.
 * The default axis may not exist (1-D input): it only matters for a 1-D scale. */
static int quant_axis(OnnxCtx *c, const Node *x) {
  if (c->opset < 13) return -1;
  if (!onnx_attr(c, "axis") && x->rank < 2) return -1;
  return onnx_axis(c, onnx_attr_int(c, "axis", 1), x->rank, "axis");
}

void onnx_lower_quantize_linear(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "x"), *s = onnx_input(c, 1, "y_scale"), *zp = onnx_opt_input(c, 2);
  c->out[0] = ir_quantize_linear(c->g, x, s, zp, quant_axis(c, x), DT_U8);
}

void onnx_lower_dequantize_linear(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "x"), *s = onnx_input(c, 1, "x_scale"), *zp = onnx_opt_input(c, 2);
  c->out[0] = ir_dequantize_linear(c->g, x, s, zp, quant_axis(c, x));
}

void onnx_lower_dynamic_quantize_linear(OnnxCtx *c) {
  Node *y, *s, *zp;
  ir_dynamic_quantize_linear(c->g, onnx_input(c, 0, "x"), &y, &s, &zp);
  c->out[0] = y;
  if (c->nout > 1) c->out[1] = s;
  if (c->nout > 2) c->out[2] = zp;
}

void onnx_lower_matmul_integer(OnnxCtx *c) {
  c->out[0] = ir_matmul_integer(c->g, onnx_input(c, 0, "A"), onnx_input(c, 1, "B"), onnx_opt_input(c, 2),
                                onnx_opt_input(c, 3));
}

void onnx_lower_qlinear_matmul(OnnxCtx *c) {
  c->out[0] = ir_qlinear_matmul(c->g, onnx_input(c, 0, "a"), onnx_input(c, 1, "a_scale"), onnx_input(c, 2, "a_zero_point"),
                                onnx_input(c, 3, "b"), onnx_input(c, 4, "b_scale"), onnx_input(c, 5, "b_zero_point"),
                                onnx_input(c, 6, "y_scale"), onnx_input(c, 7, "y_zero_point"));
}

/* Conv's attributes (kernel_shape, strides, dilations, pads, auto_pad, group) for
 * x [N, C, spatial...] and w [M, C/group, k...]. */
static void conv_params(OnnxCtx *c, const Node *x, const Node *w, WindowParams *p) {
  memset(p, 0, sizeof *p);
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > IR_MAX_SPATIAL)
    ir_fail(c->g, "input is %d-D; only 1 to %d spatial dims are supported", x->rank, IR_MAX_SPATIAL);
  if (w->rank != x->rank) ir_fail(c->g, "input is %d-D, weight is %d-D", x->rank, w->rank);
  p->nsp = nsp;
  p->group = onnx_attr_int(c, "group", 1);
  if (p->group < 1) ir_fail(c->g, "group is %lld, must be >= 1", (long long)p->group);
  int64_t v[2 * IR_MAX_SPATIAL];
  int n = onnx_attr_ints(c, "kernel_shape", v, IR_MAX_SPATIAL);
  if (n >= 0 && n != nsp) ir_fail(c->g, "kernel_shape has %d values, input is %d-D", n, x->rank);
  for (int k = 0; k < nsp; k++) {
    p->kernel[k] = w->dims[2 + k];
    if (n >= 0 && v[k] != p->kernel[k])
      ir_fail(c->g, "kernel_shape[%d] is %lld, the weight's kernel is %lld", k, (long long)v[k], (long long)p->kernel[k]);
  }
  static const char *const lists[] = {"strides", "dilations"};
  for (int l = 0; l < 2; l++) {
    int64_t *dst = l ? p->dilation : p->stride;
    n = onnx_attr_ints(c, lists[l], v, IR_MAX_SPATIAL);
    if (n >= 0 && n != nsp) ir_fail(c->g, "%s has %d values, input is %d-D", lists[l], n, x->rank);
    for (int k = 0; k < nsp; k++) {
      dst[k] = n >= 0 ? v[k] : 1;
      if (dst[k] < 1) ir_fail(c->g, "%s[%d] is %lld, must be >= 1", lists[l], k, (long long)dst[k]);
    }
  }
  n = onnx_attr_ints(c, "pads", v, 2 * IR_MAX_SPATIAL);
  if (n >= 0 && n != 2 * nsp) ir_fail(c->g, "pads has %d values, input is %d-D", n, x->rank);
  for (int k = 0; k < nsp; k++) {
    p->pad_begin[k] = n >= 0 ? v[k] : 0;
    p->pad_end[k] = n >= 0 ? v[nsp + k] : 0;
  }
  const char *ap = onnx_attr_string(c, "auto_pad", "NOTSET");
  if (!strcmp(ap, "NOTSET") || !*ap) return;
  bool upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
  if (!upper && !lower && strcmp(ap, "VALID"))
    ir_fail(c->g, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
  for (int k = 0; k < nsp; k++) {
    p->pad_begin[k] = p->pad_end[k] = 0;
    if (!upper && !lower) continue;
    int64_t in = x->dims[2 + k], s = p->stride[k], ext = (p->kernel[k] - 1) * p->dilation[k] + 1;
    int64_t total = ((in + s - 1) / s - 1) * s + ext - in;
    if (total < 0) total = 0;
    p->pad_begin[k] = upper ? total / 2 : total - total / 2;
    p->pad_end[k] = total - p->pad_begin[k];
  }
}

void onnx_lower_conv_integer(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "x"), *w = onnx_input(c, 1, "w");
  WindowParams p;
  conv_params(c, x, w, &p);
  c->out[0] = ir_conv_integer(c->g, x, w, onnx_opt_input(c, 2), onnx_opt_input(c, 3), NULL, &p);
}

void onnx_lower_qlinear_conv(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "x"), *w = onnx_input(c, 3, "w");
  WindowParams p;
  conv_params(c, x, w, &p);
  c->out[0] = ir_qlinear_conv(c->g, x, onnx_input(c, 1, "x_scale"), onnx_input(c, 2, "x_zero_point"), w,
                              onnx_input(c, 4, "w_scale"), onnx_input(c, 5, "w_zero_point"), onnx_input(c, 6, "y_scale"),
                              onnx_input(c, 7, "y_zero_point"), onnx_opt_input(c, 8), &p);
}

/* ---- signal ---- */

/* A constant integer scalar input. */
static int64_t const_int(OnnxCtx *c, int k, const char *what) {
  int64_t v[1];
  if (onnx_const_ints(c, k, what, v, 1) != 1) ir_fail(c->g, "input '%s' must hold one value", what);
  return v[0];
}

static Dtype output_datatype(OnnxCtx *c) {
  int64_t t = onnx_attr_int(c, "output_datatype", 1); /* FLOAT */
  Dtype d = onnx_dtype((int)t);
  if (d == DT_UNDEF || t != (int)t) ir_fail(c->g, "output_datatype %lld is not supported", (long long)t);
  return d;
}

void onnx_lower_window(OnnxCtx *c) {
  const char *op = onnx_op_type(c->node);
  SignalWindow kind = !strcmp(op, "HannWindow") ? SIGWIN_HANN : !strcmp(op, "HammingWindow") ? SIGWIN_HAMMING
                                                                                            : SIGWIN_BLACKMAN;
  c->out[0] = ir_window(c->g, kind, const_int(c, 0, "size"), onnx_attr_int(c, "periodic", 1) != 0, output_datatype(c));
}

void onnx_lower_dft(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int64_t axis = onnx_attr_int(c, "axis", 1);
  if (axis < 0) axis += x->rank;
  if (axis < 1 || axis > x->rank - 2)
    ir_fail(c->g, "axis %lld must name a signal dim of the %d-D input, in [1, %d]", (long long)onnx_attr_int(c, "axis", 1),
            x->rank, x->rank - 2);
  int64_t len = onnx_opt_input(c, 1) ? const_int(c, 1, "dft_length") : x->dims[axis];
  c->out[0] = ir_dft(c->g, x, (int)axis, len, onnx_attr_int(c, "inverse", 0) != 0,
                     onnx_attr_int(c, "onesided", 0) != 0);
}

void onnx_lower_stft(OnnxCtx *c) {
  Node *sig = onnx_input(c, 0, "signal"), *win = onnx_opt_input(c, 2);
  int64_t step = const_int(c, 1, "frame_step");
  int64_t len = onnx_opt_input(c, 3) ? const_int(c, 3, "frame_length") : 0;
  if (!win && !len) ir_fail(c->g, "either 'window' or 'frame_length' must be given");
  c->out[0] = ir_stft(c->g, sig, step, win, len, onnx_attr_int(c, "onesided", 1) != 0);
}

void onnx_lower_mel_weight_matrix(OnnxCtx *c) {
  c->out[0] = ir_mel_weight_matrix(c->g, const_int(c, 0, "num_mel_bins"), const_int(c, 1, "dft_length"),
                                   const_int(c, 2, "sample_rate"), onnx_const_scalar(c, 3, "lower_edge_hertz"),
                                   onnx_const_scalar(c, 4, "upper_edge_hertz"), output_datatype(c));
}

void onnx_lower_det(OnnxCtx *c) {
  c->out[0] = ir_det(c->g, onnx_input(c, 0, "X"));
}

void onnx_lower_mish(OnnxCtx *c) {
  c->out[0] = ir_mish(c->g, onnx_input(c, 0, "X"));
}
