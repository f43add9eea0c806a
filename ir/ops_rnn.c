/* ops_rnn.c: recurrent layers (RNN, GRU, LSTM) unrolled over a static
 * sequence length, and the two helpers that unrolling needs: take one index
 * of an axis (a GATHER) and stack same-shaped tensors along a new axis.
 *
 * A layer is unrolled time step by time step; nothing here loops at run time:
 *   XW    = reshape(X, [T*N, I]) @ W_d^T           one matmul for all steps
 *   step  gates = XW[t*N : t*N+N, gate] + H @ R_d^T[gate] + bias[gate]
 *         then the cell's element-wise MAPs (ONNX's equations, see ir_rnn)
 *   Y     = stack over t (time order) and over directions
 * A sequence_lens tensor (constant or not) masks each step: where t >= len[n],
 * row n keeps its state and its Y row is 0 (as onnxruntime does); a reverse
 * pass walks t = T-1 .. 0 under the same mask, so it starts at len[n]-1.
 */
#include <math.h>
#include <stdio.h>

#include "ops.h"

/* ---- take, stack ---- */

/* x with axis dropped, reading index i of it. */
Node *ir_take(Graph *g, Node *x, int axis, int64_t i)
{
  if (axis < 0 || axis >= x->rank) ir_fail(g, "take: axis %d is out of range for rank %d", axis, x->rank);
  if (i < 0 || i >= x->dims[axis])
    ir_fail(g, "take: index %lld is out of range for axis %d of extent %lld", (long long)i, axis,
            (long long)x->dims[axis]);
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK];
  for (int k = 0, o = 0; k < x->rank; k++) {
    if (k == axis) {
      idx[k] = ix_const(g, i);
      continue;
    }
    dims[o] = x->dims[k];
    idx[k] = ix_var(g, o++);
  }
  return ir_gather(g, x, x->rank - 1, dims, idx, NULL, sc_i(0));
}

static Node *stack_range(Graph *g, Node *const *xs, int lo, int hi, int axis)
{
  enum { LEAF_N = 4 }; /* a concat of at most this many inputs; above, halves */
  if (hi - lo <= LEAF_N) return ir_concat(g, hi - lo, xs + lo, axis);
  int mid = lo + (hi - lo) / 2;
  Node *parts[2] = {stack_range(g, xs, lo, mid, axis), stack_range(g, xs, mid, hi, axis)};
  return ir_concat(g, 2, parts, axis);
}

/* out[..., k, ...] = xs[k] along a new axis `axis` (0..rank); all xs alike.
 * The concat is a balanced tree so each element passes O(log n) selects. */
Node *ir_stack(Graph *g, int n, Node *const *xs, int axis)
{
  if (n < 1) ir_fail(g, "stack: no inputs");
  const Node *x0 = xs[0];
  if (axis < 0 || axis > x0->rank) ir_fail(g, "stack: axis %d is out of range for rank %d", axis, x0->rank);
  if (x0->rank + 1 > IR_MAX_RANK) ir_fail(g, "stack: result rank %d exceeds %d", x0->rank + 1, IR_MAX_RANK);
  for (int j = 1; j < n; j++)
    if (!ir_same_shape(xs[j], x0) || xs[j]->dtype != x0->dtype)
      ir_fail(g, "stack: input %d differs in shape or dtype from input 0", j);
  int64_t dims[IR_MAX_RANK];
  for (int k = 0, o = 0; k <= x0->rank; k++) dims[k] = k == axis ? 1 : x0->dims[o++];
  Node **u = ir_alloc_array(g, (size_t)n, sizeof(Node *));
  for (int j = 0; j < n; j++) u[j] = ir_reshape(g, xs[j], x0->rank + 1, dims);
  return stack_range(g, u, 0, n, axis);
}

/* ---- activations ---- */

static const struct {
  const char *name;
  bool alpha, beta;          /* which parameters it takes */
  double def_alpha, def_beta;
} act_info[RNN_ACT_COUNT] = {
  [RNN_ACT_RELU] = {"Relu", false, false, 0, 0},
  [RNN_ACT_TANH] = {"Tanh", false, false, 0, 0},
  [RNN_ACT_SIGMOID] = {"Sigmoid", false, false, 0, 0},
  [RNN_ACT_AFFINE] = {"Affine", true, true, 1.0, 0.0},
  [RNN_ACT_LEAKY_RELU] = {"LeakyRelu", true, false, 0.01, 0},
  [RNN_ACT_THRESHOLDED_RELU] = {"ThresholdedRelu", true, false, 1.0, 0},
  [RNN_ACT_SCALED_TANH] = {"ScaledTanh", true, true, 1.0, 1.0},
  [RNN_ACT_HARD_SIGMOID] = {"HardSigmoid", true, true, 0.2, 0.5},
  [RNN_ACT_ELU] = {"Elu", true, false, 1.0, 0},
  [RNN_ACT_SOFTSIGN] = {"Softsign", false, false, 0, 0},
  [RNN_ACT_SOFTPLUS] = {"Softplus", false, false, 0, 0},
};

const char *ir_rnn_act_name(RnnActKind k)
{
  return k >= 0 && k < RNN_ACT_COUNT ? act_info[k].name : "?";
}

bool ir_rnn_act_params(RnnActKind k, bool *alpha, bool *beta, double *def_alpha, double *def_beta)
{
  if (k < 0 || k >= RNN_ACT_COUNT) return false;
  *alpha = act_info[k].alpha;
  *beta = act_info[k].beta;
  *def_alpha = act_info[k].def_alpha;
  *def_beta = act_info[k].def_beta;
  return true;
}

static Node *op_c(Graph *g, MapOp op, Node *x, double v)
{
  return ir_binary(g, op, x, ir_scalar_like(g, x, v));
}

Node *ir_rnn_act(Graph *g, Node *x, RnnAct a)
{
  if (!dt_is_float(x->dtype)) ir_fail(g, "RNN activation on %s, a float tensor is required", dt_name(x->dtype));
  switch (a.kind) {
  case RNN_ACT_RELU: return ir_relu(g, x);
  case RNN_ACT_TANH: return ir_unary(g, MAP_TANH, x);
  case RNN_ACT_SIGMOID: return ir_unary(g, MAP_SIGMOID, x);
  case RNN_ACT_AFFINE: return op_c(g, MAP_ADD, op_c(g, MAP_MUL, x, a.alpha), a.beta);
  case RNN_ACT_LEAKY_RELU: return ir_leaky_relu(g, x, a.alpha);
  case RNN_ACT_THRESHOLDED_RELU: /* ONNX ThresholdedRelu: x > alpha ? x : 0 */
    return ir_where(g, op_c(g, MAP_GT, x, a.alpha), x, ir_scalar_like(g, x, 0));
  case RNN_ACT_SCALED_TANH: return op_c(g, MAP_MUL, ir_unary(g, MAP_TANH, op_c(g, MAP_MUL, x, a.beta)), a.alpha);
  case RNN_ACT_HARD_SIGMOID: return ir_hard_sigmoid(g, x, a.alpha, a.beta);
  case RNN_ACT_ELU: return ir_elu(g, x, a.alpha);
  case RNN_ACT_SOFTSIGN:
    return ir_binary(g, MAP_DIV, x, op_c(g, MAP_ADD, ir_unary(g, MAP_ABS, x), 1.0));
  case RNN_ACT_SOFTPLUS: return ir_softplus(g, x);
  default: ir_fail(g, "RNN activation #%d is unknown", (int)a.kind);
  }
}

/* ---- the layer ---- */

static const char *const kind_names[] = {"RNN", "GRU", "LSTM"};

static const char *fmt_dims(char *buf, size_t n, const Node *x)
{
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < x->rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)x->dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* x must be `rank`-D with the given dims (-1: any) and dtype t. */
static void check_operand(Graph *g, const char *op, const char *what, const Node *x, Dtype t, int rank,
                          const int64_t *dims)
{
  char b[200], w[200];
  bool ok = x->rank == rank;
  for (int k = 0; ok && k < rank; k++) ok = dims[k] < 0 || x->dims[k] == dims[k];
  if (!ok) {
    size_t n = (size_t)snprintf(w, sizeof w, "[");
    for (int k = 0; k < rank && n < sizeof w; k++)
      n += dims[k] < 0 ? (size_t)snprintf(w + n, sizeof w - n, "%s?", k ? ", " : "")
                       : (size_t)snprintf(w + n, sizeof w - n, "%s%lld", k ? ", " : "", (long long)dims[k]);
    if (n < sizeof w) snprintf(w + n, sizeof w - n, "]");
    ir_fail(g, "%s: %s is %s, expected %s", op, what, fmt_dims(b, sizeof b, x), w);
  }
  if (x->dtype != t) ir_fail(g, "%s: %s is %s, X is %s", op, what, dt_name(x->dtype), dt_name(t));
}

/* Per-direction operands of one unrolled pass. */
typedef struct {
  Node *xw;          /* [T*N, G*H]: X @ W_d^T + biases */
  Node *rt;          /* [H, G*H] (GRU without linear_before_reset: [H, 2H]) */
  Node *rht;         /* GRU without linear_before_reset: Rh^T [H, H] */
  Node *rbh;         /* GRU with linear_before_reset: Rbh [H] (inside r * (...)) */
  Node *peep[3];     /* LSTM P_i, P_o, P_f [H] or NULL */
} DirOps;

/* v[d, off : off+len] as a [len] tensor (v is [D, *]); folded when v is constant. */
static Node *row_part(Graph *g, Node *v, int64_t d, int64_t off, int64_t len)
{
  int64_t start[2] = {d, off}, step[2] = {1, 1}, n[2] = {1, len}, dims[1] = {len};
  return ir_fold(g, ir_reshape(g, ir_fold(g, ir_slice(g, v, start, step, n)), 1, dims));
}

/* The bias added to X @ W_d^T, [G*H]: Wb + Rb, except GRU's Rbh with
 * linear_before_reset, which stays inside r * (H @ Rh^T + Rbh). */
static Node *input_bias(Graph *g, const RnnParams *p, Node *b, int64_t d, int G)
{
  int64_t H = p->hidden, gh = G * H;
  Node *rb = row_part(g, b, d, gh, gh);
  if (p->kind == RNN_GRU && p->linear_before_reset) {
    int64_t dims[1] = {gh};
    double *m = ir_alloc_array(g, (size_t)gh, sizeof(double));
    for (int64_t k = 0; k < 2 * H; k++) m[k] = 1;
    Node *mask = ir_cast(g, ir_const(g, DT_F64, 1, dims, m), b->dtype);
    rb = ir_fold(g, ir_binary(g, MAP_MUL, rb, ir_fold(g, mask)));
  }
  return ir_fold(g, ir_binary(g, MAP_ADD, row_part(g, b, d, 0, gh), rb));
}

/* m[d] as a [rows, cols] matrix, transposed: [cols, rows]. */
static Node *mat_t(Graph *g, Node *m, int64_t d)
{
  int perm[2] = {1, 0};
  return ir_transpose(g, ir_take(g, m, 0, d), perm);
}

/* columns [c0, c0+n) of a 2-D tensor */
static Node *cols(Graph *g, Node *m, int64_t c0, int64_t n)
{
  int64_t start[2] = {0, c0}, step[2] = {1, 1}, len[2] = {m->dims[0], n};
  return ir_slice(g, m, start, step, len);
}

/* rows [r0, r0+n), columns [c0, c0+h) of a 2-D tensor */
static Node *block(Graph *g, Node *m, int64_t r0, int64_t n, int64_t c0, int64_t h)
{
  int64_t start[2] = {r0, c0}, step[2] = {1, 1}, len[2] = {n, h};
  return ir_slice(g, m, start, step, len);
}

static Node *add_opt(Graph *g, Node *a, Node *b)
{
  return b ? ir_binary(g, MAP_ADD, a, b) : a;
}

static Node *gate_act(Graph *g, const RnnParams *p, Node *pre, RnnAct a)
{
  if (p->clip > 0 && isfinite(p->clip))
    pre = ir_clip(g, pre, ir_scalar_like(g, pre, -p->clip), ir_scalar_like(g, pre, p->clip));
  return ir_rnn_act(g, pre, a);
}

void ir_rnn(Graph *g, const RnnParams *p, const RnnInputs *in, Node **y, Node **y_h, Node **y_c)
{
  char b1[200];
  if (p->kind < RNN_SIMPLE || p->kind > RNN_LSTM) ir_fail(g, "RNN: unknown cell kind %d", (int)p->kind);
  const char *op = kind_names[p->kind];
  const int G = p->kind == RNN_SIMPLE ? 1 : p->kind == RNN_GRU ? 3 : 4; /* gates */
  const int nact = p->kind == RNN_SIMPLE ? 1 : p->kind == RNN_GRU ? 2 : 3;
  Node *x = in->x;
  if (!x || !in->w || !in->r) ir_fail(g, "%s: X, W and R are required", op);
  if (x->rank != 3) ir_fail(g, "%s: X is %s, expected 3-D [seq_length, batch_size, input_size]", op, fmt_dims(b1, sizeof b1, x));
  if (!dt_is_float(x->dtype)) ir_fail(g, "%s: X is %s, a float type is required", op, dt_name(x->dtype));
  if (p->ndir != 1 && p->ndir != 2) ir_fail(g, "%s: %d directions, 1 or 2 expected", op, p->ndir);
  const int64_t T = x->dims[0], N = x->dims[1], I = x->dims[2], H = p->hidden, D = p->ndir;
  if (H < 1) ir_fail(g, "%s: hidden_size is %lld, must be >= 1", op, (long long)H);
  if (T < 1) ir_fail(g, "%s: the sequence is empty (seq_length 0); jtc needs at least one step", op);
  if (T > IR_RNN_MAX_STEPS)
    ir_fail(g, "%s: seq_length %lld exceeds the unroll limit of %d steps", op, (long long)T, IR_RNN_MAX_STEPS);
  if (H > ((int64_t)1 << 40) / G) ir_fail(g, "%s: hidden_size %lld is too large", op, (long long)H);
  const Dtype t = x->dtype;
  for (int d = 0; d < D; d++)
    for (int k = 0; k < nact; k++)
      if (p->act[d][k].kind < 0 || p->act[d][k].kind >= RNN_ACT_COUNT)
        ir_fail(g, "%s: activation %d of direction %d is unknown", op, k, d);
  int64_t wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H}, hd[3] = {D, N, H},
          pd[2] = {D, 3 * H};
  check_operand(g, op, "W", in->w, t, 3, wd);
  check_operand(g, op, "R", in->r, t, 3, rd);
  if (in->b) check_operand(g, op, "B", in->b, t, 2, bd);
  if (in->h0) check_operand(g, op, "initial_h", in->h0, t, 3, hd);
  if (in->c0 && p->kind != RNN_LSTM) ir_fail(g, "%s: initial_c is only for LSTM", op);
  if (in->c0) check_operand(g, op, "initial_c", in->c0, t, 3, hd);
  if (in->peep && p->kind != RNN_LSTM) ir_fail(g, "%s: peepholes are only for LSTM", op);
  if (in->peep) check_operand(g, op, "P", in->peep, t, 2, pd);
  if (p->linear_before_reset && p->kind != RNN_GRU) ir_fail(g, "%s: linear_before_reset is only for GRU", op);
  if (p->input_forget && p->kind != RNN_LSTM) ir_fail(g, "%s: input_forget is only for LSTM", op);

  /* sequence lengths: [N] integers; a constant one must lie in [0, T] */
  Node *lens = in->seq_lens;
  const void *lens_val = NULL;
  if (lens) {
    if (lens->rank != 1 || lens->dims[0] != N || !dt_is_int(lens->dtype))
      ir_fail(g, "%s: sequence_lens is %s %s, expected an integer [%lld]", op, dt_name(lens->dtype),
              fmt_dims(b1, sizeof b1, lens), (long long)N);
    if (ir_is_const(lens)) {
      lens_val = lens->data;
      for (int64_t n = 0; n < N; n++) {
        int64_t v = sc_as_i(dt_load(lens->data, lens->dtype, n), lens->dtype);
        if (v < 0 || v > T)
          ir_fail(g, "%s: sequence_lens[%lld] is %lld, outside [0, seq_length %lld]", op, (long long)n,
                  (long long)v, (long long)T);
      }
    }
  }

  int64_t x2d[2] = {T * N, I}, nh[2] = {N, H};
  Node *x2 = ir_reshape(g, x, 2, x2d);
  Node *zero = ir_scalar(g, t, 0);
  Node **ys = ir_alloc_array(g, (size_t)D, sizeof(Node *));
  Node **hs = ir_alloc_array(g, (size_t)D, sizeof(Node *));
  Node **cs = ir_alloc_array(g, (size_t)D, sizeof(Node *));
  Node **yt = ir_alloc_array(g, (size_t)T, sizeof(Node *));

  for (int64_t d = 0; d < D; d++) {
    const RnnAct *act = p->act[d];
    bool reverse = D == 2 ? d == 1 : p->reverse;
    DirOps o = {0};
    o.xw = ir_matmul(g, x2, mat_t(g, in->w, d));
    if (in->b) o.xw = ir_binary(g, MAP_ADD, o.xw, input_bias(g, p, in->b, d, G));
    if (in->b && p->kind == RNN_GRU && p->linear_before_reset) o.rbh = row_part(g, in->b, d, 5 * H, H);
    Node *rt = mat_t(g, in->r, d); /* [H, G*H] */
    bool gru_split = p->kind == RNN_GRU && !p->linear_before_reset;
    if (gru_split) {
      o.rt = cols(g, rt, 0, 2 * H);
      o.rht = cols(g, rt, 2 * H, H);
    } else {
      o.rt = rt;
    }
    if (in->peep)
      for (int k = 0; k < 3; k++) o.peep[k] = row_part(g, in->peep, d, k * H, H);

    Node *h = in->h0 ? ir_take(g, in->h0, 0, d) : ir_broadcast(g, zero, 2, nh);
    bool h_zero = !in->h0; /* the first step's H @ R^T is zero: skip it */
    Node *c = p->kind != RNN_LSTM ? NULL : in->c0 ? ir_take(g, in->c0, 0, d) : ir_broadcast(g, zero, 2, nh);
    for (int64_t s = 0; s < T; s++) {
      int64_t ti = reverse ? T - 1 - s : s;
      Node *hr = h_zero ? NULL : ir_matmul(g, h, o.rt); /* [N, G*H] (GRU split: [N, 2H]) */
      Node *pre[4];
      for (int k = 0; k < G; k++) {
        pre[k] = block(g, o.xw, ti * N, N, k * H, H);
        if (hr && !(p->kind == RNN_GRU && k == 2)) pre[k] = ir_binary(g, MAP_ADD, pre[k], cols(g, hr, k * H, H));
      }
      Node *hn, *cn = NULL;
      if (p->kind == RNN_SIMPLE) {
        hn = gate_act(g, p, pre[0], act[0]);
      } else if (p->kind == RNN_GRU) { /* gates z, r, h */
        Node *z = gate_act(g, p, pre[0], act[0]);
        Node *r = gate_act(g, p, pre[1], act[0]);
        Node *hh = pre[2]; /* with H = 0 the recurrent term is r * Rbh (or nothing) */
        if (p->linear_before_reset) {
          Node *lin = hr ? add_opt(g, cols(g, hr, 2 * H, H), o.rbh) : o.rbh;
          if (lin) hh = ir_binary(g, MAP_ADD, hh, ir_binary(g, MAP_MUL, r, lin));
        } else if (!h_zero) {
          hh = ir_binary(g, MAP_ADD, hh, ir_matmul(g, ir_binary(g, MAP_MUL, r, h), o.rht));
        }
        hh = gate_act(g, p, hh, act[1]);
        /* H = (1 - z) * hh + z * H */
        Node *one_z = ir_binary(g, MAP_SUB, ir_scalar(g, t, 1), z);
        hn = ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, one_z, hh), ir_binary(g, MAP_MUL, z, h));
      } else { /* LSTM gates i, o, f, c; peepholes i, o, f */
        Node *ig = gate_act(g, p, o.peep[0] ? ir_binary(g, MAP_ADD, pre[0], ir_binary(g, MAP_MUL, o.peep[0], c)) : pre[0], act[0]);
        Node *fg;
        if (p->input_forget) {
          fg = ir_binary(g, MAP_SUB, ir_scalar(g, t, 1), ig);
        } else {
          Node *fp = o.peep[2] ? ir_binary(g, MAP_ADD, pre[2], ir_binary(g, MAP_MUL, o.peep[2], c)) : pre[2];
          fg = gate_act(g, p, fp, act[0]);
        }
        Node *cc = gate_act(g, p, pre[3], act[1]);
        cn = ir_binary(g, MAP_ADD, ir_binary(g, MAP_MUL, fg, c), ir_binary(g, MAP_MUL, ig, cc));
        Node *op_ = o.peep[1] ? ir_binary(g, MAP_ADD, pre[1], ir_binary(g, MAP_MUL, o.peep[1], cn)) : pre[1];
        Node *og = gate_act(g, p, op_, act[0]);
        hn = ir_binary(g, MAP_MUL, og, ir_rnn_act(g, cn, act[2]));
      }
      /* sequence_lens: rows with ti >= len keep their state and output 0 */
      Node *mask = NULL;
      if (lens) {
        bool all = true; /* a constant sequence_lens where every row is live needs no mask */
        for (int64_t n = 0; lens_val && n < N; n++)
          all = all && ti < sc_as_i(dt_load(lens_val, lens->dtype, n), lens->dtype);
        if (!lens_val || !all) {
          int64_t n1[2] = {N, 1};
          mask = ir_reshape(g, ir_binary(g, MAP_LT, ir_scalar(g, lens->dtype, (double)ti), lens), 2, n1);
        }
      }
      if (mask) {
        yt[ti] = ir_where(g, mask, hn, zero);
        h = ir_where(g, mask, hn, h);
        if (cn) c = ir_where(g, mask, cn, c);
      } else {
        yt[ti] = hn;
        h = hn;
        c = cn;
      }
      h_zero = false;
    }
    ys[d] = ir_stack(g, (int)T, yt, 0); /* [T, N, H] */
    hs[d] = h;
    cs[d] = c;
  }
  if (y) *y = ir_stack(g, (int)D, ys, 1); /* [T, D, N, H] */
  if (y_h) *y_h = ir_stack(g, (int)D, hs, 0);
  if (y_c) *y_c = p->kind == RNN_LSTM ? ir_stack(g, (int)D, cs, 0) : NULL;
}
