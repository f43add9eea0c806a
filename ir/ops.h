/* ops.h: op constructors built from the five meta-ops. Frontends (ONNX, jtpy)
 * lower every operator by calling these; each validates its operands, fails
 * through ir_fail() with a message saying what is wrong, and returns the node
 * holding the result. No constructor reads tensor *values* except where the
 * doc says so (shape-like operands must already be constants).
 *
 * Families: ops_math.c (broadcast, element-wise), ops_layout.c (reshape,
 * transpose, slice, pad, concat, gather), ops_reduce.c (reductions, softmax,
 * normalizations), ops_nn.c (matmul, conv, pooling).
 */
#ifndef JTC_OPS_H
#define JTC_OPS_H

#include "ir.h"

/* ---- ops_math.c ---- */
Node *ir_scalar(Graph *g, Dtype t, double v);             /* rank-0 constant */
Node *ir_scalar_like(Graph *g, const Node *x, double v);  /* rank 0, x's dtype */
/* numpy broadcast of two shapes; false if incompatible */
bool ir_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rank, int64_t *dims);
Node *ir_broadcast(Graph *g, Node *x, int rank, const int64_t *dims); /* numpy rules; x itself if same shape */
Node *ir_unary(Graph *g, MapOp op, Node *x);
Node *ir_binary(Graph *g, MapOp op, Node *a, Node *b);    /* broadcasts; operand dtypes must match */
Node *ir_where(Graph *g, Node *cond, Node *a, Node *b);   /* broadcasts all three */
Node *ir_cast(Graph *g, Node *x, Dtype t);                /* x itself if already t */
Node *ir_clip(Graph *g, Node *x, Node *lo, Node *hi);     /* lo/hi may be NULL */
/* Composite activations (float x): alpha/beta/gamma as ONNX defines them */
Node *ir_relu(Graph *g, Node *x);
Node *ir_leaky_relu(Graph *g, Node *x, double alpha);
Node *ir_prelu(Graph *g, Node *x, Node *slope);           /* slope broadcasts to x */
Node *ir_elu(Graph *g, Node *x, double alpha);
Node *ir_selu(Graph *g, Node *x, double alpha, double gamma);
Node *ir_hard_sigmoid(Graph *g, Node *x, double alpha, double beta);
Node *ir_hard_swish(Graph *g, Node *x);
Node *ir_softplus(Graph *g, Node *x);
Node *ir_gelu(Graph *g, Node *x, bool tanh_approx);

/* ---- ops_layout.c ---- */
/* Same elements, new shape (row-major); numel must match. */
Node *ir_reshape(Graph *g, Node *x, int rank, const int64_t *dims);
/* out dim k = x dim perm[k] */
Node *ir_transpose(Graph *g, Node *x, const int *perm);
/* Per axis: out len[k] elements from start[k] stepping step[k] (step != 0, may be < 0).
 * Callers clamp ONNX starts/ends first; the result must stay in bounds. */
Node *ir_slice(Graph *g, Node *x, const int64_t *start, const int64_t *step, const int64_t *len);
typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;
/* pads may be negative (crop). */
Node *ir_pad(Graph *g, Node *x, const int64_t *before, const int64_t *after, PadMode mode, Scalar value);
Node *ir_concat(Graph *g, int n, Node *const *xs, int axis);
/* ONNX Gather: out shape = x.shape[:axis] + idx.shape + x.shape[axis+1:];
 * negative indices count from the end; out-of-range indices read 0. */
Node *ir_gather_axis(Graph *g, Node *x, Node *indices, int axis);

/* ---- ops_reduce.c ---- */
/* Reduce over the listed axes (each in [0, rank), no repeats); naxes == 0 means none. */
Node *ir_reduce(Graph *g, Node *x, ReduceOp op, int naxes, const int *axes, bool keepdims);
Node *ir_reduce_mean(Graph *g, Node *x, int naxes, const int *axes, bool keepdims);
Node *ir_softmax(Graph *g, Node *x, int axis, bool log);  /* along one axis, max-subtracted */
/* y = (x - mean) / sqrt(var + eps) * scale + bias over channel axis 1 */
Node *ir_batchnorm(Graph *g, Node *x, Node *scale, Node *bias, Node *mean, Node *var, double eps);
/* normalize over axes [axis, rank); scale/bias broadcast over those axes; bias may be NULL */
Node *ir_layernorm(Graph *g, Node *x, Node *scale, Node *bias, int axis, double eps);

/* ---- ops_nn.c ---- */
/* numpy matmul: 1-D operands promoted and the added dim removed; batch dims broadcast.
 * Built as SCATTER(add, MAP(mul, GATHER(a), GATHER(b))) over [batch..., M, N, K]. */
Node *ir_matmul(Graph *g, Node *a, Node *b);
/* Gemm: alpha*op(A)*op(B) + beta*C, C broadcast to [M,N] (C may be NULL) */
Node *ir_gemm(Graph *g, Node *a, Node *b, Node *c, double alpha, double beta, bool trans_a, bool trans_b);

#define IR_MAX_SPATIAL 3
typedef struct {
  int nsp;                                   /* spatial dims: 1, 2 or 3 */
  int64_t kernel[IR_MAX_SPATIAL];
  int64_t stride[IR_MAX_SPATIAL];
  int64_t dilation[IR_MAX_SPATIAL];
  int64_t pad_begin[IR_MAX_SPATIAL], pad_end[IR_MAX_SPATIAL]; /* already resolved from auto_pad */
  int64_t group;
  int64_t output_padding[IR_MAX_SPATIAL];    /* ConvTranspose only */
  bool ceil_mode, count_include_pad;         /* pooling only */
} WindowParams;
/* x [N, C, spatial...], w [M, C/group, k...]; bias [M] or NULL.
 * SCATTER(add) over [N, M, out..., C/group, k...] of x-window * w. */
Node *ir_conv(Graph *g, Node *x, Node *w, Node *bias, const WindowParams *p);
/* x [N, C, in...], w [C, M/group, k...]; out size from stride/pads/output_padding. */
Node *ir_conv_transpose(Graph *g, Node *x, Node *w, Node *bias, const WindowParams *p);
/* Window pooling: SCATTER(max) / SCATTER(add) of a window GATHER; avg divides by the
 * count of in-bounds (or, with count_include_pad, in-padded-bounds) elements. */
Node *ir_maxpool(Graph *g, Node *x, const WindowParams *p);
Node *ir_avgpool(Graph *g, Node *x, const WindowParams *p);
/* Output spatial size of a window op (floor or ceil mode, pooling's ceil rule). */
int64_t ir_window_out(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pb, int64_t pe, bool ceil_mode);

/* ---- gather/scatter/index family (onnx_lower_index.c, ir/ops_index.c) ---- */
/* @family:index (declarations above this line) */

/* ---- resize and spatial family (onnx_lower_spatial.c, ir/ops_spatial.c) ---- */
/* @family:spatial (declarations above this line) */

/* ---- losses, training updates, quantization, signal (onnx_lower_misc.c, ir/ops_misc.c) ---- */
/* @family:misc (declarations above this line) */

/* ---- recurrent nets and control flow (onnx_lower_rnn.c, ir/ops_rnn.c) ---- */
/* @family:rnn (declarations above this line) */

#endif
