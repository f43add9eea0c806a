/* onnx_lower_nn.c: lowerings of the neural-network operators: Conv,
 * ConvTranspose, Gemm, MatMul, MaxPool/AveragePool and their global forms,
 * BatchNormalization (inference), LayerNormalization, InstanceNormalization,
 * Softmax and LogSoftmax. The window operators share window_params(), which
 * checks kernel_shape/strides/dilations/pads against the input's rank and
 * resolves auto_pad (SAME_UPPER, SAME_LOWER, VALID) into explicit pads.
 */
#include "frontend/onnx/onnx_internal.h"

#include <string.h>

typedef enum { WIN_CONV, WIN_CONV_TRANSPOSE, WIN_POOL } WindowKind;

static int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

/* One per-axis attribute list: absent -> def, else exactly `want` values >= lo. */
static void axis_list(OnnxCtx *c, const char *name, int want, int64_t def, int64_t lo, int64_t *out, int rank) {
  int64_t v[2 * IR_MAX_SPATIAL];
  int n = onnx_attr_ints(c, name, v, 2 * IR_MAX_SPATIAL);
  if (n < 0) {
    for (int k = 0; k < want; k++) out[k] = def;
    return;
  }
  if (n != want)
    ir_fail(c->g, "%s has %d values, input is %d-D (%d expected)", name, n, rank, want);
  for (int k = 0; k < want; k++) {
    if (v[k] < lo) ir_fail(c->g, "%s[%d] is %lld, must be >= %lld", name, k, (long long)v[k], (long long)lo);
    out[k] = v[k];
  }
}

/* Fill p from the node's attributes. kdims: the weight's spatial dims (conv) or NULL
 * (pooling: kernel_shape is required). */
static void window_params(OnnxCtx *c, WindowKind kind, const Node *x, const int64_t *kdims, WindowParams *p) {
  memset(p, 0, sizeof *p);
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > IR_MAX_SPATIAL)
    ir_fail(c->g, "input is %d-D; only 1 to %d spatial dims are supported", x->rank, IR_MAX_SPATIAL);
  p->nsp = nsp;
  p->group = 1;
  int64_t ks[IR_MAX_RANK];
  int nk = onnx_attr_ints(c, "kernel_shape", ks, IR_MAX_RANK);
  if (nk >= 0 && nk != nsp) ir_fail(c->g, "kernel_shape has %d values, input is %d-D", nk, x->rank);
  if (nk < 0 && !kdims) ir_fail(c->g, "attribute 'kernel_shape' is required");
  for (int k = 0; k < nsp; k++) {
    if (nk >= 0 && kdims && ks[k] != kdims[k])
      ir_fail(c->g, "kernel_shape[%d] is %lld, the weight's kernel is %lld", k, (long long)ks[k], (long long)kdims[k]);
    p->kernel[k] = nk >= 0 ? ks[k] : kdims[k];
    if (p->kernel[k] < 1) ir_fail(c->g, "kernel_shape[%d] is %lld, must be >= 1", k, (long long)p->kernel[k]);
  }
  axis_list(c, "strides", nsp, 1, 1, p->stride, x->rank);
  if (kind != WIN_POOL || onnx_attr(c, "dilations")) axis_list(c, "dilations", nsp, 1, 1, p->dilation, x->rank);
  else for (int k = 0; k < nsp; k++) p->dilation[k] = 1;
  int64_t pads[2 * IR_MAX_SPATIAL];
  axis_list(c, "pads", 2 * nsp, 0, 0, pads, x->rank);
  for (int k = 0; k < nsp; k++) {
    p->pad_begin[k] = pads[k];
    p->pad_end[k] = pads[nsp + k];
  }
  if (kind == WIN_POOL) {
    p->ceil_mode = onnx_attr_int(c, "ceil_mode", 0) != 0;
    p->count_include_pad = onnx_attr_int(c, "count_include_pad", 0) != 0;
  }
  const char *ap = onnx_attr_string(c, "auto_pad", "NOTSET");
  if (!strcmp(ap, "NOTSET") || !*ap) return;
  bool upper = !strcmp(ap, "SAME_UPPER"), lower = !strcmp(ap, "SAME_LOWER");
  if (!upper && !lower && strcmp(ap, "VALID"))
    ir_fail(c->g, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
  for (int k = 0; k < nsp; k++) {
    p->pad_begin[k] = p->pad_end[k] = 0;
    if ((!upper && !lower) || kind == WIN_CONV_TRANSPOSE) continue; /* the caller resolves SAME */
    int64_t in = x->dims[2 + k], s = p->stride[k], ext = (p->kernel[k] - 1) * p->dilation[k] + 1;
    int64_t total = (ceil_div(in, s) - 1) * s + ext - in; /* output = ceil(input / stride) */
    if (total < 0) total = 0;
    p->pad_begin[k] = upper ? total / 2 : total - total / 2;
    p->pad_end[k] = total - p->pad_begin[k];
  }
}

void onnx_lower_conv(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *w = onnx_input(c, 1, "W"), *b = onnx_opt_input(c, 2);
  if (w->rank != x->rank) ir_fail(c->g, "input X is %d-D, weight W is %d-D", x->rank, w->rank);
  WindowParams p;
  window_params(c, WIN_CONV, x, w->dims + 2, &p);
  p.group = onnx_attr_int(c, "group", 1);
  if (p.group < 1) ir_fail(c->g, "group is %lld, must be >= 1", (long long)p.group);
  c->out[0] = ir_conv(c->g, x, w, b, &p);
}

void onnx_lower_conv_transpose(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *w = onnx_input(c, 1, "W"), *b = onnx_opt_input(c, 2);
  if (w->rank != x->rank) ir_fail(c->g, "input X is %d-D, weight W is %d-D", x->rank, w->rank);
  WindowParams p;
  window_params(c, WIN_CONV_TRANSPOSE, x, w->dims + 2, &p);
  p.group = onnx_attr_int(c, "group", 1);
  if (p.group < 1) ir_fail(c->g, "group is %lld, must be >= 1", (long long)p.group);
  int nsp = p.nsp;
  axis_list(c, "output_padding", nsp, 0, 0, p.output_padding, x->rank);
  const char *ap = onnx_attr_string(c, "auto_pad", "NOTSET");
  bool upper = !strcmp(ap, "SAME_UPPER");
  int64_t os[IR_MAX_RANK];
  int nos = onnx_attr_ints(c, "output_shape", os, IR_MAX_RANK);
  if (nos >= 0) {
    if (nos != nsp && nos != nsp + 2)
      ir_fail(c->g, "output_shape has %d values, input is %d-D", nos, x->rank);
    const int64_t *o = os + (nos - nsp); /* some exporters include N and C */
    for (int k = 0; k < nsp; k++) {
      int64_t ext = (p.kernel[k] - 1) * p.dilation[k] + 1;
      int64_t total = p.stride[k] * (x->dims[2 + k] - 1) + p.output_padding[k] + ext - o[k];
      if (total < 0) { /* a larger output: the extra rows get only the bias */
        p.output_padding[k] -= total;
        total = 0;
      }
      p.pad_begin[k] = upper ? total / 2 : total - total / 2;
      p.pad_end[k] = total - p.pad_begin[k];
    }
  } else if (upper || !strcmp(ap, "SAME_LOWER")) { /* output = input * stride */
    for (int k = 0; k < nsp; k++) {
      int64_t ext = (p.kernel[k] - 1) * p.dilation[k] + 1;
      int64_t total = p.stride[k] * (x->dims[2 + k] - 1) + p.output_padding[k] + ext - x->dims[2 + k] * p.stride[k];
      if (total < 0) total = 0;
      p.pad_begin[k] = upper ? total / 2 : total - total / 2;
      p.pad_end[k] = total - p.pad_begin[k];
    }
  }
  c->out[0] = ir_conv_transpose(c->g, x, w, b, &p);
}

void onnx_lower_gemm(OnnxCtx *c) {
  Node *a = onnx_input(c, 0, "A"), *b = onnx_input(c, 1, "B"), *cc = onnx_opt_input(c, 2);
  c->out[0] = ir_gemm(c->g, a, b, cc, onnx_attr_float(c, "alpha", 1.0), onnx_attr_float(c, "beta", 1.0),
                      onnx_attr_int(c, "transA", 0) != 0, onnx_attr_int(c, "transB", 0) != 0);
}

void onnx_lower_matmul(OnnxCtx *c) {
  c->out[0] = ir_matmul(c->g, onnx_input(c, 0, "A"), onnx_input(c, 1, "B"));
}

void onnx_lower_pool(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  bool max = !strcmp(onnx_op_type(c->node), "MaxPool");
  WindowParams p;
  window_params(c, WIN_POOL, x, NULL, &p);
  c->out[0] = max ? ir_maxpool(c->g, x, &p) : ir_avgpool(c->g, x, &p);
  if (max && onnx_out_wanted(c, 1)) /* ir/ops_spatial.c */
    c->out[1] = ir_maxpool_indices(c->g, x, &p, c->out[0], onnx_attr_int(c, "storage_order", 0) != 0);
}

void onnx_lower_global_pool(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  if (x->rank < 3) ir_fail(c->g, "input is %d-D, needs [N, C, spatial...]", x->rank);
  int axes[IR_MAX_RANK];
  for (int k = 2; k < x->rank; k++) axes[k - 2] = k;
  bool max = !strcmp(onnx_op_type(c->node), "GlobalMaxPool");
  c->out[0] = max ? ir_reduce(c->g, x, RED_MAX, x->rank - 2, axes, true)
                  : ir_reduce_mean(c->g, x, x->rank - 2, axes, true);
}

void onnx_lower_batchnorm(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *scale = onnx_input(c, 1, "scale"), *bias = onnx_input(c, 2, "B");
  Node *mean = onnx_input(c, 3, "input_mean"), *var = onnx_input(c, 4, "input_var");
  if (c->opset >= 14 && onnx_attr_int(c, "training_mode", 0)) { /* onnx_lower_spatial.c */
    onnx_lower_batchnorm_training(c);
    return;
  }
  if (c->g->training) { /* --train: batch statistics, running statistics as state updates */
    onnx_lower_batchnorm_train_step(c);
    return;
  }
  for (int k = 1; k < 5; k++)
    if (onnx_out_wanted(c, k))
      ir_fail(c->g, "training-mode output #%d ('%s') is not supported (inference only)", k, c->node->output[k]);
  if (c->opset < 9 && onnx_attr(c, "spatial") && !onnx_attr_int(c, "spatial", 1))
    ir_fail(c->g, "spatial=0 is not supported");
  c->out[0] = ir_batchnorm(c->g, x, scale, bias, mean, var, onnx_attr_float(c, "epsilon", 1e-5));
}

void onnx_lower_layernorm(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *scale = onnx_input(c, 1, "Scale"), *bias = onnx_opt_input(c, 2);
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", -1), x->rank, "axis");
  double eps = onnx_attr_float(c, "epsilon", 1e-5);
  c->out[0] = ir_layernorm(c->g, x, scale, bias, axis, eps);
  if (onnx_out_wanted(c, 1) || onnx_out_wanted(c, 2)) { /* the statistics, keepdims-shaped */
    Graph *g = c->g;
    int axes[IR_MAX_RANK], n = 0;
    for (int k = axis; k < x->rank; k++) axes[n++] = k;
    Node *mu = ir_reduce_mean(g, x, n, axes, true);
    Node *d = ir_binary(g, MAP_SUB, x, mu);
    Node *var = ir_reduce_mean(g, ir_binary(g, MAP_MUL, d, d), n, axes, true);
    c->out[1] = mu;
    c->out[2] = ir_unary(g, MAP_RECIP, ir_unary(g, MAP_SQRT, ir_binary(g, MAP_ADD, var, ir_scalar_like(g, x, eps))));
  }
}

/* y = scale * (x - mean) / sqrt(var + eps) + B, statistics per (n, c) over the spatial axes. */
void onnx_lower_instancenorm(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "input"), *scale = onnx_input(c, 1, "scale"), *bias = onnx_input(c, 2, "B");
  if (x->rank < 3) ir_fail(g, "input is %d-D, needs [N, C, spatial...]", x->rank);
  if (scale->numel != x->dims[1] || bias->numel != x->dims[1])
    ir_fail(g, "scale and B must have %lld (channel) elements", (long long)x->dims[1]);
  int axes[IR_MAX_RANK];
  for (int k = 2; k < x->rank; k++) axes[k - 2] = k;
  Node *d = ir_binary(g, MAP_SUB, x, ir_reduce_mean(g, x, x->rank - 2, axes, true));
  Node *var = ir_reduce_mean(g, ir_binary(g, MAP_MUL, d, d), x->rank - 2, axes, true);
  Node *eps = ir_scalar_like(g, x, onnx_attr_float(c, "epsilon", 1e-5));
  Node *y = ir_binary(g, MAP_DIV, d, ir_unary(g, MAP_SQRT, ir_binary(g, MAP_ADD, var, eps)));
  int64_t cdims[IR_MAX_RANK];
  cdims[0] = x->dims[1];
  for (int k = 1; k < x->rank - 1; k++) cdims[k] = 1;
  y = ir_binary(g, MAP_MUL, y, ir_reshape(g, scale, x->rank - 1, cdims));
  c->out[0] = ir_binary(g, MAP_ADD, y, ir_reshape(g, bias, x->rank - 1, cdims));
}

/* Before opset 13 (Log)Softmax flattens to 2-D at `axis` (default 1) and
 * normalizes each row; from 13 it normalizes along `axis` (default -1). */
void onnx_lower_softmax(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  bool log = !strcmp(onnx_op_type(c->node), "LogSoftmax");
  if (c->opset >= 13) {
    c->out[0] = ir_softmax(c->g, x, onnx_axis(c, onnx_attr_int(c, "axis", -1), x->rank, "axis"), log);
    return;
  }
  if (x->rank == 0) ir_fail(c->g, "input must have at least one dimension");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 1), x->rank, "axis");
  if (axis == x->rank - 1) {
    c->out[0] = ir_softmax(c->g, x, axis, log);
    return;
  }
  int64_t rows = 1, cols = 1;
  for (int k = 0; k < x->rank; k++) *(k < axis ? &rows : &cols) *= x->dims[k];
  int64_t d2[2] = {rows, cols};
  Node *y = ir_softmax(c->g, ir_reshape(c->g, x, 2, d2), 1, log);
  c->out[0] = ir_reshape(c->g, y, x->rank, x->dims);
}
