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
/* Indices are int32/int64; negative ones count from the end of their axis; one
 * still out of range reads 0 (gathers) or writes nothing (scatters). */
/* ONNX GatherElements: out shape = indices shape, x's `axis` index read from indices. */
Node *ir_gather_elements(Graph *g, Node *x, Node *indices, int axis);
/* ONNX GatherND: indices [batch.., q.., m]; out = [batch.., q.., x.shape[batch+m:]..]. */
Node *ir_gather_nd(Graph *g, Node *x, Node *indices, int batch_dims);
/* ONNX ScatterElements / ScatterND: data with updates written through indices.
 * red: RED_ASSIGN (none: last duplicate wins), RED_ADD, RED_MUL, RED_MAX, RED_MIN. */
Node *ir_scatter_elements(Graph *g, Node *data, Node *indices, Node *updates, int axis, ReduceOp red);
Node *ir_scatter_nd(Graph *g, Node *data, Node *indices, Node *updates, ReduceOp red);
/* Keep the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims, zero elsewhere. */
Node *ir_trilu(Graph *g, Node *x, bool upper, int64_t k);
/* Cumulative sum along axis; exclusive leaves out the element itself, reverse runs from the end. */
Node *ir_cumsum(Graph *g, Node *x, int axis, bool exclusive, bool reverse);
/* [rows, cols] of dtype t: one where col - row == k, else zero. */
Node *ir_eye(Graph *g, Dtype t, int64_t rows, int64_t cols, int64_t k);
/* ONNX OneHot: depth inserted at axis (in [0, indices rank]); values = [off, on]. */
Node *ir_one_hot(Graph *g, Node *indices, int64_t depth, Node *values, int axis);
/* Reverse the first lens[b] elements along time_axis of each batch b (axes 0 and 1). */
Node *ir_reverse_sequence(Graph *g, Node *x, Node *lens, int batch_axis, int time_axis);
/* 1 at the first maximum along axis, 0 elsewhere (x's dtype). */
Node *ir_hardmax(Graph *g, Node *x, int axis);
/* numpy einsum ("ij,jk->ik", implicit output, repeated letters, "..."), no broadcasting of letters. */
Node *ir_einsum(Graph *g, const char *equation, int n, Node *const *xs);
/* Elements of x along axis where cond (a constant, 1-D) is nonzero; axis < 0: x flattened.
 * Reads cond's values: a run-time cond fails (the output shape would depend on it). */
Node *ir_compress(Graph *g, Node *x, Node *cond, int axis);
/* ---- backlog: TopK, TfIdfVectorizer, value-shaped ops (ir/ops_backlog.c) ---- */
/* ONNX TopK along axis: the k largest (smallest) values, sorted, and their int64
 * positions; equal values keep the lower index first. Either output may be NULL. */
void ir_topk(Graph *g, Node *x, int axis, int64_t k, bool largest, Node **values, Node **indices);
typedef enum { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF } TfIdfMode;
typedef struct {
  TfIdfMode mode;
  int64_t min_gram, max_gram, max_skip;      /* n-gram lengths [min, max]; skips 0..max_skip */
  int ncounts; const int64_t *ngram_counts;  /* start in pool of the 1-grams, 2-grams, ... */
  int64_t npool; const int64_t *pool;        /* pool_int64s */
  int64_t nindexes; const int64_t *ngram_indexes; /* output column of each pool n-gram */
  int64_t nweights; const double *weights;   /* per output column; NULL: ones */
} TfIdfParams;
/* x int32/int64 [C] or [N, C] -> float32 [max index + 1] or [N, max index + 1] */
Node *ir_tfidf(Graph *g, Node *x, const TfIdfParams *p);
/* Ops whose output shape depends on input values: the inputs must be constants and
 * the result is a constant computed at compile time (fails otherwise). */
Node *ir_nonzero(Graph *g, Node *x);                      /* int64 [rank, nnz], row-major order */
/* ONNX Unique (has_axis false: x flattened); any output pointer may be NULL. */
void ir_unique(Graph *g, Node *x, bool has_axis, int axis, bool sorted, Node **y, Node **indices, Node **inverse,
               Node **counts);
/* ONNX NonMaxSuppression: boxes [B, N, 4], scores [B, C, N] -> int64 [selected, 3] */
Node *ir_nms(Graph *g, Node *boxes, Node *scores, int64_t max_out, double iou_thr, bool has_score_thr,
             double score_thr, bool center);
/* @family:index (declarations above this line) */

/* ---- resize and spatial family (onnx_lower_spatial.c, ir/ops_spatial.c) ---- */
typedef enum { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } ResizeMode;
typedef enum {
  RESIZE_HALF_PIXEL, RESIZE_PYTORCH_HALF_PIXEL, RESIZE_ALIGN_CORNERS, RESIZE_ASYMMETRIC,
  RESIZE_TF_HALF_PIXEL_FOR_NN, RESIZE_TF_CROP_AND_RESIZE
} ResizeCoord;                               /* ONNX coordinate_transformation_mode */
/* ONNX nearest_mode; SIMPLE (Resize-10, Upsample): floor when up-sampling, ceil when down */
typedef enum { RESIZE_ROUND_PREFER_FLOOR, RESIZE_ROUND_PREFER_CEIL, RESIZE_FLOOR, RESIZE_CEIL, RESIZE_SIMPLE } ResizeNearest;
typedef struct {
  ResizeMode mode;
  ResizeCoord coord;
  ResizeNearest nearest;
  double cubic_a;                            /* cubic_coeff_a, -0.75 by default */
  bool exclude_outside;                      /* cubic/linear: drop taps outside, renormalize */
  double extrapolation;                      /* tf_crop_and_resize: value outside the roi */
  int64_t out[IR_MAX_RANK];                  /* output dims */
  double scale[IR_MAX_RANK];                 /* per axis: the scale (sizes given: out / in) */
  double out_width[IR_MAX_RANK];             /* scale * in, or out when sizes are given (ONNX reference) */
  double roi_start[IR_MAX_RANK], roi_end[IR_MAX_RANK]; /* tf_crop_and_resize, normalized */
} ResizeParams;
/* ONNX Resize with static sizes: per-axis tap tables computed at compile time. */
Node *ir_resize(Graph *g, Node *x, const ResizeParams *p);
typedef enum { GRID_BILINEAR, GRID_NEAREST, GRID_BICUBIC } GridMode;
typedef enum { GRID_PAD_ZEROS, GRID_PAD_BORDER, GRID_PAD_REFLECTION } GridPadding;
/* x [N, C, H, W], grid [N, Ho, Wo, 2] (x, y in [-1, 1]) -> [N, C, Ho, Wo] (PyTorch grid_sample) */
Node *ir_grid_sample(Graph *g, Node *x, Node *grid, GridMode mode, GridPadding pad, bool align_corners);
typedef struct {
  int64_t out_h, out_w, sampling_ratio;      /* sampling_ratio >= 1 (adaptive 0 is data-dependent) */
  double spatial_scale;
  bool half_pixel;                           /* coordinate_transformation_mode half_pixel */
  bool max_mode;                             /* mode "max" (ONNX: max of weighted corners) */
} RoiAlignParams;
/* x [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch [R] -> [R, C, out_h, out_w] */
Node *ir_roi_align(Graph *g, Node *x, Node *rois, Node *batch, const RoiAlignParams *p);
/* out[unflatten(indices[j])] = x[j], zero elsewhere; indices flatten index_dims (the
 * unpooled shape, N and C included), placed at the start of out_dims (>= index_dims) */
Node *ir_max_unpool(Graph *g, Node *x, Node *indices, const int64_t *index_dims, int rank, const int64_t *out_dims);
/* (sum over the window of |x|^p)^(1/p), zero padding */
Node *ir_lppool(Graph *g, Node *x, const WindowParams *p, double pw);
/* x / (bias + alpha/size * sum of x^2 over `size` channels around c)^beta */
Node *ir_lrn(Graph *g, Node *x, int64_t size, double alpha, double beta, double bias);
/* (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9) over axes */
Node *ir_mvn(Graph *g, Node *x, int naxes, const int *axes);
/* normalize x [N, C, ...] over groups of C/groups channels; scale/bias per group
 * (opset 18) or per channel (per_channel, opset 21) */
Node *ir_group_norm(Graph *g, Node *x, Node *scale, Node *bias, int64_t groups, double eps, bool per_channel);
/* MaxPool's Indices: flat index into x (N and C included) of each window's first
 * maximum y; column_major (storage_order=1) numbers the spatial dims column-major */
Node *ir_maxpool_indices(Graph *g, Node *x, const WindowParams *p, Node *y, bool column_major);
/* @family:spatial (declarations above this line) */

/* ---- losses, training updates, quantization, signal (onnx_lower_misc.c, ir/ops_misc.c) ---- */
/* The mean of x over the processes of a data-parallel training run: an OPAQUE
 * "allreduce_mean" kernel, MPI_Allreduce over MPI_COMM_WORLD in a build with
 * -DJTC_MPI and a copy otherwise (one process: the mean is x). float32/float64. */
#define IR_ALLREDUCE_MEAN "allreduce_mean"
Node *ir_allreduce_mean(Graph *g, Node *x);
/* The number of those processes as a scalar of dtype t: an OPAQUE "mpi_ranks" kernel, 1 without -DJTC_MPI. */
#define IR_MPI_RANKS "mpi_ranks"
Node *ir_mpi_ranks(Graph *g, Dtype t);
/* Uniform float32 in [0, 1) of the given shape, drawn by an OPAQUE "random_uniform"
 * kernel: element i is jtc_philox_uniform(seed, stream, step, i) (runtime_stub/helpers.h)
 * of the graph's random state, the int64 state leaves "rng.seed" (the caller's,
 * <p>_set_seed) and "rng.step" (one more after each training step), made on first use.
 * Each call is its own stream, so two dropouts of one shape draw different masks. */
#define IR_RANDOM_UNIFORM "random_uniform"
Node *ir_random_uniform(Graph *g, int rank, const int64_t *dims);
/* Losses. input [N, C, d...] float, target [N, d...] integer, weight [C] or NULL;
 * positions whose target equals ignore_index (when has_ii) count nothing. */
typedef enum { LOSS_NONE, LOSS_SUM, LOSS_MEAN } LossReduction;
Node *ir_nll_loss(Graph *g, Node *input, Node *target, Node *weight, LossReduction red, bool has_ii, int64_t ii);
/* NLL of log_softmax(scores) along axis 1; *log_prob (if non-NULL) receives the log-softmax. */
Node *ir_softmax_cross_entropy(Graph *g, Node *scores, Node *labels, Node *weight, LossReduction red, bool has_ii,
                               int64_t ii, Node **log_prob);
/* Optimizer steps of one tensor (ai.onnx.preview.training): R float scalar (learning
 * rate), T integer scalar (step count); G, H, V have X's shape and dtype. */
void ir_adagrad(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *h, double norm, double eps, double decay,
                Node **x_new, Node **h_new);
void ir_momentum(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *v, double alpha, double beta, double norm,
                 bool nesterov, Node **x_new, Node **v_new);
void ir_adam(Graph *g, Node *r, Node *t, Node *x, Node *gr, Node *v, Node *h, double alpha, double beta, double eps,
             double norm, double norm_post, Node **x_new, Node **v_new, Node **h_new);
/* Linear quantization (uint8/int8, round half to even, saturating). scale and zp have
 * one element or are 1-D along `axis`; zp may be NULL (then the output is `out`). */
Node *ir_quantize_linear(Graph *g, Node *x, Node *scale, Node *zp, int axis, Dtype out);
Node *ir_dequantize_linear(Graph *g, Node *x, Node *scale, Node *zp, int axis);
void ir_dynamic_quantize_linear(Graph *g, Node *x, Node **y, Node **scale, Node **zp);
/* Integer contractions in int32 after subtracting zero points (NULL: none). */
Node *ir_matmul_integer(Graph *g, Node *a, Node *b, Node *a_zp, Node *b_zp);
Node *ir_conv_integer(Graph *g, Node *x, Node *w, Node *x_zp, Node *w_zp, Node *bias, const WindowParams *p);
Node *ir_qlinear_matmul(Graph *g, Node *a, Node *a_scale, Node *a_zp, Node *b, Node *b_scale, Node *b_zp,
                        Node *y_scale, Node *y_zp);
Node *ir_qlinear_conv(Graph *g, Node *x, Node *x_scale, Node *x_zp, Node *w, Node *w_scale, Node *w_zp,
                      Node *y_scale, Node *y_zp, Node *bias, const WindowParams *p);
/* Signal: window and mel matrices are constants of dtype t. */
typedef enum { SIGWIN_HANN, SIGWIN_HAMMING, SIGWIN_BLACKMAN } SignalWindow;
Node *ir_window(Graph *g, SignalWindow kind, int64_t size, bool periodic, Dtype t);
/* x [batch, signal..., 1 or 2] -> [batch, signal... (axis: K bins), 2]; length zero-pads
 * or truncates the axis; K = length (or length/2+1 when onesided); float64 inside. */
Node *ir_dft(Graph *g, Node *x, int axis, int64_t length, bool inverse, bool onesided);
/* signal [batch, len, 1 or 2] -> [batch, frames, K, 2]; window [L] or NULL (frame_length). */
Node *ir_stft(Graph *g, Node *signal, int64_t step, Node *window, int64_t frame_length, bool onesided);
Node *ir_mel_weight_matrix(Graph *g, int64_t num_mel_bins, int64_t dft_length, int64_t sample_rate, double lower_hz,
                           double upper_hz, Dtype t);
Node *ir_det(Graph *g, Node *x);                          /* [..., n, n] -> [...], n <= 5 */
Node *ir_mish(Graph *g, Node *x);                         /* x * tanh(softplus(x)) */
/* @family:misc (declarations above this line) */

/* ---- recurrent nets and control flow (onnx_lower_rnn.c, ir/ops_rnn.c) ---- */
/* x with `axis` dropped, reading index i of it (a GATHER). */
Node *ir_take(Graph *g, Node *x, int axis, int64_t i);
/* n same-shaped tensors stacked along a new axis (0..rank): out[.., k, ..] = xs[k]. */
Node *ir_stack(Graph *g, int n, Node *const *xs, int axis);

/* RNN/GRU/LSTM activation functions (ONNX's list; alpha/beta as ONNX defines them). */
typedef enum {
  RNN_ACT_RELU, RNN_ACT_TANH, RNN_ACT_SIGMOID, RNN_ACT_AFFINE, RNN_ACT_LEAKY_RELU,
  RNN_ACT_THRESHOLDED_RELU, RNN_ACT_SCALED_TANH, RNN_ACT_HARD_SIGMOID, RNN_ACT_ELU,
  RNN_ACT_SOFTSIGN, RNN_ACT_SOFTPLUS, RNN_ACT_COUNT
} RnnActKind;
typedef struct { RnnActKind kind; double alpha, beta; } RnnAct;
const char *ir_rnn_act_name(RnnActKind k);  /* "Relu", "Tanh", ... (ONNX spelling) */
/* Which of alpha/beta k takes and their defaults; false if k is not a kind. */
bool ir_rnn_act_params(RnnActKind k, bool *alpha, bool *beta, double *def_alpha, double *def_beta);
Node *ir_rnn_act(Graph *g, Node *x, RnnAct a);

#define IR_RNN_MAX_STEPS 65536 /* longest sequence ir_rnn unrolls */
typedef enum { RNN_SIMPLE, RNN_GRU, RNN_LSTM } RnnKind;
typedef struct {
  RnnKind kind;
  int ndir;                  /* 1, or 2 (bidirectional: direction 1 runs backwards) */
  bool reverse;              /* ndir 1: run t = T-1 .. 0 */
  int64_t hidden;            /* H */
  RnnAct act[2][3];          /* per direction: RNN f; GRU f, g; LSTM f, g, h */
  double clip;               /* > 0 and finite: gate inputs clipped to [-clip, clip] */
  bool linear_before_reset;  /* GRU */
  bool input_forget;         /* LSTM: f = 1 - i */
} RnnParams;
/* Operands in ONNX's layout 0 (G gates: RNN 1, GRU 3 (z r h), LSTM 4 (i o f c)):
 * x [T, N, I]; w [D, G*H, I]; r [D, G*H, H]; b [D, 2*G*H] (Wb then Rb) or NULL;
 * seq_lens [N] integers or NULL (constant or not); h0, c0 [D, N, H] or NULL (zeros);
 * peep [D, 3*H] (P_i, P_o, P_f; LSTM) or NULL. All float operands share x's dtype. */
typedef struct { Node *x, *w, *r, *b, *seq_lens, *h0, *c0, *peep; } RnnInputs;
/* Unrolled over T. *y [T, D, N, H], *y_h [D, N, H], *y_c [D, N, H] (LSTM, else NULL);
 * any of y/y_h/y_c may be NULL. Steps past seq_lens[n] keep row n's state and write 0 to y. */
void ir_rnn(Graph *g, const RnnParams *p, const RnnInputs *in, Node **y, Node **y_h, Node **y_c);
/* @family:rnn (declarations above this line) */

/* ---- strings (onnx_lower_backlog.c, ir/ops_string.c) ---- */
/* Case change of StringNormalizer and Cast; ASCII letters only, other bytes unchanged. */
typedef enum { STR_CASE_NONE, STR_CASE_LOWER, STR_CASE_UPPER } StrCase;
/* OPAQUE kernels that write new strings into the generated file's string storage
 * (<p>_strings, <P>_STRING_BYTES); attr points at an int: the StrCase (string_case),
 * or nothing (string_format: numbers/bool to text; string_parse: text to the node's dtype). */
#define IR_STRING_CASE "string_case"
#define IR_STRING_FORMAT "string_format"
#define IR_STRING_PARSE "string_parse"
#define IR_STRING_FORMAT_MAX 32 /* bytes one formatted element takes at most, NUL included */
/* StringNormalizer of a 1-D [C] or 2-D [1, C] string tensor: stopwords removed
 * (compared ASCII-case-insensitively unless case_sensitive), then the case changed.
 * With stopwords the output length depends on the values: x must be a constant and the
 * result is folded; an empty result is [1] (or [1, 1]) holding "". Without stopwords a
 * constant folds, anything else is a string_case kernel (STR_CASE_NONE: x itself). */
Node *ir_string_normalize(Graph *g, Node *x, StrCase mode, bool case_sensitive, int nstop, const char *const *stop);
/* Cast between string and a number or bool type (ir_cast calls it for string casts). */
Node *ir_string_cast(Graph *g, Node *x, Dtype t);
/* Is n one of the string kernels above? Then ir_eval_string evaluates it (in: its
 * operand's dense values, out: numel elements of n's dtype; new strings in the arena). */
bool ir_is_string_kernel(const Node *n);
void ir_eval_string(Graph *g, const Node *n, const void *in, void *out);
/* @family:string (declarations above this line) */

#endif
