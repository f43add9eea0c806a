/* onnx_lower_rnn.c: recurrent layers and control flow.
 *
 * RNN, GRU and LSTM read their attributes (direction, hidden_size,
 * activations with activation_alpha/activation_beta, clip, layout,
 * linear_before_reset, input_forget), move layout-1 operands to layout 0 and
 * call ir_rnn (ir/ops_rnn.c), which unrolls the static sequence.
 *
 * If, Loop and Scan lower their subgraphs through onnx_lower_subgraph
 * (onnx_load.c), which sees the enclosing graphs' values:
 *   If    a constant cond lowers the taken branch only; a run-time cond lowers
 *         both and selects each output with a WHERE (both shapes must agree)
 *   Loop  unrolled: the trip count M and every condition (the input and each
 *         iteration's body output) must be compile-time constants, at most
 *         ONNX_UNROLL_MAX iterations; scan outputs are stacked on axis 0
 *   Scan  unrolled over the scan axis (opset 8: also over the batch axis)
 */
#include "frontend/onnx/onnx_internal.h"

#include <math.h>
#include <strings.h>
#include <string.h>

#define ONNX_UNROLL_MAX 1024 /* most iterations a Loop or Scan is unrolled to */

/* ---- RNN, GRU, LSTM ---- */

static RnnActKind act_kind(OnnxCtx *c, const char *name)
{
  for (int k = 0; k < RNN_ACT_COUNT; k++)
    if (!strcasecmp(name, ir_rnn_act_name((RnnActKind)k))) return (RnnActKind)k;
  ir_fail(c->g, "activation '%s' is not one of Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, "
                "ScaledTanh, HardSigmoid, Elu, Softsign, Softplus", name);
}

/* activations: nact per direction (or nact for both); activation_alpha/beta are
 * consumed in order by the functions that take them (as onnxruntime does). */
static void parse_activations(OnnxCtx *c, RnnParams *p, int nact)
{
  static const RnnActKind defaults[3] = {RNN_ACT_SIGMOID, RNN_ACT_TANH, RNN_ACT_TANH};
  for (int d = 0; d < 2; d++)
    for (int k = 0; k < 3; k++) p->act[d][k].kind = nact == 1 ? RNN_ACT_TANH : defaults[k];
  const Onnx__AttributeProto *a = onnx_attr(c, "activations");
  double alpha[16], beta[16];
  int nalpha = onnx_attr_floats(c, "activation_alpha", alpha, 16);
  int nbeta = onnx_attr_floats(c, "activation_beta", beta, 16);
  if (!a) {
    if (nalpha > 0 || nbeta > 0) ir_fail(c->g, "activation_alpha/activation_beta are given without activations");
    return;
  }
  if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS)
    ir_fail(c->g, "attribute 'activations' must be a list of strings");
  int n = (int)a->n_strings;
  if (n != nact * p->ndir && n != nact)
    ir_fail(c->g, "activations has %d names, expected %d (%d per direction, %d direction%s)", n, nact * p->ndir,
            nact, p->ndir, p->ndir > 1 ? "s" : "");
  int ia = 0, ib = 0;
  for (int j = 0; j < n; j++) {
    char name[64];
    size_t len = a->strings[j].len < sizeof name - 1 ? a->strings[j].len : sizeof name - 1;
    memcpy(name, a->strings[j].data, len);
    name[len] = 0;
    RnnAct act = {act_kind(c, name), 0, 0};
    bool ua, ub;
    double da, db;
    ir_rnn_act_params(act.kind, &ua, &ub, &da, &db);
    act.alpha = ua ? (ia < nalpha ? alpha[ia++] : da) : 0;
    act.beta = ub ? (ib < nbeta ? beta[ib++] : db) : 0;
    p->act[j / nact][j % nact] = act;
    if (n == nact) p->act[1][j] = act;
  }
  if (ia < nalpha || ib < nbeta)
    ir_fail(c->g, "activation_alpha has %d values and activation_beta %d; the activations use %d and %d",
            nalpha < 0 ? 0 : nalpha, nbeta < 0 ? 0 : nbeta, ia, ib);
}

static Node *swap01(OnnxCtx *c, Node *x)
{
  static const int perm[4] = {1, 0, 2, 3};
  return x ? ir_transpose(c->g, x, perm) : NULL;
}

void onnx_lower_rnn(OnnxCtx *c)
{
  const char *op = onnx_op_type(c->node);
  RnnParams p = {0};
  p.kind = !strcmp(op, "GRU") ? RNN_GRU : !strcmp(op, "LSTM") ? RNN_LSTM : RNN_SIMPLE;
  int nact = p.kind == RNN_SIMPLE ? 1 : p.kind == RNN_GRU ? 2 : 3;
  RnnInputs in = {0};
  in.x = onnx_input(c, 0, "X");
  in.w = onnx_input(c, 1, "W");
  in.r = onnx_input(c, 2, "R");
  in.b = onnx_opt_input(c, 3);
  in.seq_lens = onnx_opt_input(c, 4);
  in.h0 = onnx_opt_input(c, 5);
  if (p.kind == RNN_LSTM) {
    in.c0 = onnx_opt_input(c, 6);
    in.peep = onnx_opt_input(c, 7);
  }
  const char *dir = onnx_attr_string(c, "direction", "forward");
  if (!strcmp(dir, "forward")) p.ndir = 1;
  else if (!strcmp(dir, "reverse")) p.ndir = 1, p.reverse = true;
  else if (!strcmp(dir, "bidirectional")) p.ndir = 2;
  else ir_fail(c->g, "direction '%s' is not forward, reverse or bidirectional", dir);
  if (in.r->rank != 3) ir_fail(c->g, "R is %d-D, expected 3-D [num_directions, gates*hidden_size, hidden_size]", in.r->rank);
  p.hidden = onnx_attr_int(c, "hidden_size", in.r->dims[2]);
  if (p.hidden != in.r->dims[2])
    ir_fail(c->g, "hidden_size is %lld, R's last dim is %lld", (long long)p.hidden, (long long)in.r->dims[2]);
  parse_activations(c, &p, nact);
  p.clip = onnx_attr_float(c, "clip", 0);
  if (onnx_attr(c, "clip") && !(p.clip > 0)) ir_fail(c->g, "clip is %g, must be > 0", p.clip);
  if (p.kind == RNN_GRU) p.linear_before_reset = onnx_attr_int(c, "linear_before_reset", 0) != 0;
  if (p.kind == RNN_LSTM) p.input_forget = onnx_attr_int(c, "input_forget", 0) != 0;
  int64_t layout = c->opset >= 14 ? onnx_attr_int(c, "layout", 0) : 0;
  if (layout != 0 && layout != 1) ir_fail(c->g, "layout is %lld, must be 0 or 1", (long long)layout);
  if (layout == 1) { /* X [N, T, I] -> [T, N, I]; initial_h/c [N, D, H] -> [D, N, H] */
    if (in.x->rank != 3) ir_fail(c->g, "X is %d-D, expected 3-D [batch_size, seq_length, input_size]", in.x->rank);
    if (in.h0 && in.h0->rank != 3) ir_fail(c->g, "initial_h is %d-D, expected 3-D", in.h0->rank);
    if (in.c0 && in.c0->rank != 3) ir_fail(c->g, "initial_c is %d-D, expected 3-D", in.c0->rank);
    in.x = swap01(c, in.x);
    in.h0 = swap01(c, in.h0);
    in.c0 = swap01(c, in.c0);
  }
  Node *y = NULL, *yh = NULL, *yc = NULL;
  ir_rnn(c->g, &p, &in, onnx_out_wanted(c, 0) ? &y : NULL, onnx_out_wanted(c, 1) ? &yh : NULL,
         onnx_out_wanted(c, 2) && p.kind == RNN_LSTM ? &yc : NULL);
  if (layout == 1) { /* Y [T, D, N, H] -> [N, T, D, H]; Y_h/Y_c [D, N, H] -> [N, D, H] */
    static const int yperm[4] = {2, 0, 1, 3};
    if (y) y = ir_transpose(c->g, y, yperm);
    yh = swap01(c, yh);
    yc = swap01(c, yc);
  }
  c->out[0] = y;
  if (c->nout > 1) c->out[1] = yh;
  if (c->nout > 2) c->out[2] = yc;
}

/* ---- subgraph helpers ---- */

static const Onnx__GraphProto *graph_attr(OnnxCtx *c, const char *name)
{
  const Onnx__AttributeProto *a = onnx_attr(c, name);
  if (!a) ir_fail(c->g, "attribute '%s' (a graph) is required", name);
  if (!a->g || (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH))
    ir_fail(c->g, "attribute '%s' must be a graph", name);
  return a->g;
}

static const char *fmt_shape(char *buf, size_t n, const Node *x)
{
  size_t k = (size_t)snprintf(buf, n, "%s [", dt_name(x->dtype));
  for (int d = 0; d < x->rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)x->dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* A scalar input of the body (iteration number, condition): rank 0 unless
 * the body declares it [1]. */
static Node *body_scalar(OnnxCtx *c, const Onnx__GraphProto *body, size_t k, Dtype t, int64_t v)
{
  int rank = 0;
  int64_t one[1] = {1};
  if (k < body->n_input && body->input[k] && body->input[k]->type &&
      body->input[k]->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    const Onnx__TypeProto__Tensor *tt = body->input[k]->type->tensor_type;
    if (tt && tt->shape && tt->shape->n_dim == 1) rank = 1;
  }
  int64_t i64 = v;
  bool b = v != 0;
  return ir_const(c->g, t, rank, one, t == DT_BOOL ? (const void *)&b : (const void *)&i64);
}

/* The value of a constant bool/integer condition with one element. */
static bool const_cond(OnnxCtx *c, Node *n, const char *what)
{
  if (n->numel != 1) ir_fail(c->g, "%s has %lld elements, expected 1", what, (long long)n->numel);
  return sc_as_i(dt_load(n->data, n->dtype, 0), n->dtype) != 0;
}

/* A graph input that n is computed from, or NULL. */
static Node *input_source(Node *n, unsigned char *seen)
{
  if (seen[n->id]) return NULL;
  seen[n->id] = 1;
  if (n->kind == NODE_LEAF) return n->leaf == LEAF_INPUT ? n : NULL;
  for (int k = 0; k < n->nin; k++) {
    Node *s = input_source(n->in[k], seen);
    if (s) return s;
  }
  return NULL;
}

/* Input k (M or cond) must be a constant. One computed from graph inputs gets
 * the --bind hint for the first of them, so a caller can pin them one by one. */
static void need_const(OnnxCtx *c, int k, const char *what)
{
  Node *n = c->in[k];
  if (ir_is_const(n) || (n->kind == NODE_LEAF && n->leaf == LEAF_INPUT)) return; /* onnx_const_* say it */
  Node *src = input_source(n, ir_alloc(c->g, (size_t)c->g->last->id + 1));
  if (src && src->name)
    ir_fail(c->g, "input '%s' must be a constant (jtc unrolls loops), but it is computed at run time from graph "
                  "input '%s' (pin its value with --bind %s=FILE.pb)", what, src->name, src->name);
  ir_fail(c->g, "input '%s' must be a constant (jtc unrolls loops), but it is computed at run time", what);
}

/* ---- If ---- */

void onnx_lower_if(OnnxCtx *c)
{
  char b1[200], b2[200];
  Node *cond = onnx_input(c, 0, "cond");
  const Onnx__GraphProto *tg = graph_attr(c, "then_branch"), *eg = graph_attr(c, "else_branch");
  if (cond->numel != 1) ir_fail(c->g, "cond has %lld elements, expected 1", (long long)cond->numel);
  if (cond->dtype != DT_BOOL) ir_fail(c->g, "cond is %s, expected bool", dt_name(cond->dtype));
  if (tg->n_output != (size_t)c->nout || eg->n_output != (size_t)c->nout)
    ir_fail(c->g, "the branches have %zu and %zu outputs, the node %d", tg->n_output, eg->n_output, c->nout);
  if (ir_is_const(cond)) {
    Node **r = onnx_lower_subgraph(c, const_cond(c, cond, "cond") ? tg : eg, 0, NULL);
    for (int k = 0; k < c->nout; k++) c->out[k] = r[k];
    return;
  }
  Node **a = onnx_lower_subgraph(c, tg, 0, NULL), **b = onnx_lower_subgraph(c, eg, 0, NULL);
  Node *sel = ir_reshape(c->g, cond, 0, NULL);
  for (int k = 0; k < c->nout; k++) {
    if (onnx_value_of(a[k]) || onnx_value_of(b[k])) { /* sequences, optionals (onnx_lower_seq.c) */
      if ((c->out[k] = onnx_value_select(c->g, sel, a[k], b[k]))) continue;
      Node *src = input_source(cond, ir_alloc(c->g, (size_t)c->g->last->id + 1));
      bool pin = src && src->name;
      ir_fail(c->g, "cond is computed at run time and output #%d, a sequence or optional, differs in structure or "
                    "shapes between the branches%s%s%s", k, pin ? " (pin its value with --bind " : "",
              pin ? src->name : "", pin ? "=FILE.pb)" : "");
    }
    if (!ir_same_shape(a[k], b[k]) || a[k]->dtype != b[k]->dtype)
      ir_fail(c->g, "cond is computed at run time and output #%d differs between the branches (then %s, else %s); "
                    "jtc needs equal static shapes to select between them",
              k, fmt_shape(b1, sizeof b1, a[k]), fmt_shape(b2, sizeof b2, b[k]));
    c->out[k] = ir_where(c->g, sel, a[k], b[k]);
  }
}

/* ---- Loop ---- */

void onnx_lower_loop(OnnxCtx *c)
{
  const Onnx__GraphProto *body = graph_attr(c, "body");
  int nv = c->nin - 2; /* loop-carried values */
  if (nv < 0) ir_fail(c->g, "Loop has %d inputs, expected at least 2 (M, cond)", c->nin);
  if (body->n_input != (size_t)nv + 2)
    ir_fail(c->g, "the body has %zu inputs, expected %d (iteration number, condition, %d carried)", body->n_input,
            nv + 2, nv);
  if (body->n_output < (size_t)nv + 1)
    ir_fail(c->g, "the body has %zu outputs, expected at least %d (condition, %d carried)", body->n_output, nv + 1, nv);
  int nscan = (int)body->n_output - 1 - nv;
  if (c->nout != nv + nscan)
    ir_fail(c->g, "the node has %d outputs, the body gives %d carried and %d scan outputs", c->nout, nv, nscan);
  /* ONNX: M and cond both given: for (i < M && cond); M only: the body's condition
   * is ignored; cond only: while (cond); neither: an endless loop */
  bool has_m = onnx_opt_input(c, 0) != NULL, has_cond = onnx_opt_input(c, 1) != NULL;
  if (!has_m && !has_cond) ir_fail(c->g, "Loop has neither a trip count M nor a condition: it never ends");
  int64_t trip = -1;
  if (has_m) {
    if (c->in[0]->numel != 1) ir_fail(c->g, "M has %lld elements, expected 1", (long long)c->in[0]->numel);
    need_const(c, 0, "M");
    onnx_const_ints(c, 0, "M", &trip, 1);
    if (trip < 0) trip = 0;
    if (trip > ONNX_UNROLL_MAX)
      ir_fail(c->g, "trip count M is %lld; jtc unrolls loops and allows at most %d iterations", (long long)trip,
              ONNX_UNROLL_MAX);
  }
  bool cond = true;
  if (has_cond) {
    need_const(c, 1, "cond");
    cond = onnx_const_scalar(c, 1, "cond") != 0;
  }
  Node **v = ir_alloc_array(c->g, (size_t)nv + 1, sizeof(Node *));
  for (int j = 0; j < nv; j++) v[j] = onnx_input(c, 2 + j, "v_initial");
  Node ***scans = ir_alloc_array(c->g, (size_t)nscan + 1, sizeof(Node **));
  for (int k = 0; k < nscan; k++) scans[k] = ir_alloc_array(c->g, ONNX_UNROLL_MAX, sizeof(Node *));
  Node **ins = ir_alloc_array(c->g, (size_t)nv + 2, sizeof(Node *));
  int64_t i = 0;
  for (; (trip < 0 || i < trip) && cond; i++) {
    if (i >= ONNX_UNROLL_MAX)
      ir_fail(c->g, "the loop has no trip count and its condition still holds after %d iterations; "
                    "jtc unrolls loops and allows at most %d", ONNX_UNROLL_MAX, ONNX_UNROLL_MAX);
    ins[0] = body_scalar(c, body, 0, DT_I64, i);
    ins[1] = body_scalar(c, body, 1, DT_BOOL, 1);
    for (int j = 0; j < nv; j++) ins[2 + j] = v[j];
    Node **r = onnx_lower_subgraph(c, body, nv + 2, ins);
    if (has_cond) {
      if (!ir_is_const(r[0]))
        ir_fail(c->g, "the body's condition output is computed at run time (iteration %lld); jtc unrolls loops "
                      "and needs it to be a compile-time constant", (long long)i);
      cond = const_cond(c, r[0], "the body's condition output");
    }
    for (int j = 0; j < nv; j++) v[j] = r[1 + j];
    for (int k = 0; k < nscan; k++) scans[k][i] = r[1 + nv + k];
  }
  for (int j = 0; j < nv; j++) c->out[j] = v[j];
  for (int k = 0; k < nscan; k++) {
    if (i == 0) ir_fail(c->g, "the loop runs zero times, so scan output #%d has no known shape", k);
    c->out[nv + k] = ir_stack(c->g, (int)i, scans[k], 0);
  }
}

/* ---- Scan ---- */

#define SCAN_MAX_IO 64 /* most scan inputs, and scan outputs, of one Scan */

typedef struct {
  const Onnx__GraphProto *body;
  int nstate, nin, nout;           /* N state variables, M scan inputs, K scan outputs */
  int64_t in_axis[SCAN_MAX_IO], in_rev[SCAN_MAX_IO];   /* per scan input: axis, 1 = reversed */
  int64_t out_axis[SCAN_MAX_IO], out_rev[SCAN_MAX_IO]; /* per scan output */
} ScanSpec;

/* One scan: state[0..N) and xs[0..M) in, out[0..N+K) out. */
static void scan_run(OnnxCtx *c, const ScanSpec *s, Node *const *state, Node *const *xs, Node **out)
{
  char b1[200];
  int N = s->nstate, M = s->nin, K = s->nout;
  int64_t T = -1;
  int ax[SCAN_MAX_IO];
  for (int j = 0; j < M; j++) {
    int64_t a = s->in_axis[j];
    if (a < -xs[j]->rank || a >= xs[j]->rank)
      ir_fail(c->g, "scan input #%d is %s, scan_input_axes[%d] = %lld is out of range", j,
              fmt_shape(b1, sizeof b1, xs[j]), j, (long long)a);
    ax[j] = (int)(a < 0 ? a + xs[j]->rank : a);
    if (T < 0) T = xs[j]->dims[ax[j]];
    else if (xs[j]->dims[ax[j]] != T)
      ir_fail(c->g, "scan input #%d has %lld steps along its scan axis, input #0 has %lld", j,
              (long long)xs[j]->dims[ax[j]], (long long)T);
  }
  if (T < 0) ir_fail(c->g, "Scan has no scan inputs");
  if (T > ONNX_UNROLL_MAX)
    ir_fail(c->g, "the scan has %lld steps; jtc unrolls it and allows at most %d", (long long)T, ONNX_UNROLL_MAX);
  if (T == 0 && K > 0) ir_fail(c->g, "the scan has zero steps, so its scan outputs have no known shape");
  Node **st = ir_alloc_array(c->g, (size_t)N + 1, sizeof(Node *));
  for (int j = 0; j < N; j++) st[j] = state[j];
  Node **ins = ir_alloc_array(c->g, (size_t)(N + M) + 1, sizeof(Node *));
  Node **steps = ir_alloc_array(c->g, (size_t)(K * T) + 1, sizeof(Node *));
  for (int64_t t = 0; t < T; t++) {
    for (int j = 0; j < N; j++) ins[j] = st[j];
    for (int j = 0; j < M; j++) ins[N + j] = ir_take(c->g, xs[j], ax[j], s->in_rev[j] ? T - 1 - t : t);
    Node **r = onnx_lower_subgraph(c, s->body, N + M, ins);
    for (int j = 0; j < N; j++) st[j] = r[j];
    for (int k = 0; k < K; k++) steps[k * T + (s->out_rev[k] ? T - 1 - t : t)] = r[N + k];
  }
  for (int j = 0; j < N; j++) out[j] = st[j];
  for (int k = 0; k < K; k++) {
    int r = steps[k * T]->rank + 1;
    int64_t a = s->out_axis[k];
    if (a < -r || a >= r)
      ir_fail(c->g, "scan_output_axes[%d] = %lld is out of range for a %d-D output", k, (long long)a, r);
    out[N + k] = ir_stack(c->g, (int)T, steps + k * T, (int)(a < 0 ? a + r : a));
  }
}

/* An optional per-input/output list attribute with `n` entries (default 0). */
static void scan_list(OnnxCtx *c, const char *name, int n, int64_t *out, bool flag)
{
  int got = onnx_attr_ints(c, name, out, SCAN_MAX_IO);
  if (got < 0) {
    for (int k = 0; k < n; k++) out[k] = 0;
    return;
  }
  if (got != n) ir_fail(c->g, "%s has %d values, expected %d", name, got, n);
  for (int k = 0; flag && k < n; k++)
    if (out[k] != 0 && out[k] != 1) ir_fail(c->g, "%s[%d] is %lld, must be 0 or 1", name, k, (long long)out[k]);
}

void onnx_lower_scan(OnnxCtx *c)
{
  ScanSpec s = {0};
  s.body = graph_attr(c, "body");
  int64_t m = onnx_attr_int(c, "num_scan_inputs", -1);
  bool v8 = c->opset < 9; /* Scan-8: input 0 is sequence_lens, everything has a batch axis 0 */
  int first = v8 ? 1 : 0;
  int total = c->nin - first;
  if (m < 1 || m > total) ir_fail(c->g, "num_scan_inputs is %lld, the node has %d state and scan inputs", (long long)m, total);
  s.nin = (int)m;
  s.nstate = total - s.nin;
  s.nout = c->nout - s.nstate;
  if (s.nout < 0) ir_fail(c->g, "the node has %d outputs, fewer than its %d state variables", c->nout, s.nstate);
  if (s.nin > SCAN_MAX_IO || s.nout > SCAN_MAX_IO)
    ir_fail(c->g, "Scan has %d scan inputs and %d scan outputs, at most %d each are supported", s.nin, s.nout, SCAN_MAX_IO);
  if (s.body->n_input != (size_t)(s.nstate + s.nin) || s.body->n_output != (size_t)(s.nstate + s.nout))
    ir_fail(c->g, "the body has %zu inputs and %zu outputs, expected %d and %d", s.body->n_input, s.body->n_output,
            s.nstate + s.nin, s.nstate + s.nout);
  scan_list(c, v8 ? "directions" : "scan_input_directions", s.nin, s.in_rev, true);
  if (!v8) {
    scan_list(c, "scan_output_directions", s.nout, s.out_rev, true);
    if (c->opset >= 11) {
      scan_list(c, "scan_input_axes", s.nin, s.in_axis, false);
      scan_list(c, "scan_output_axes", s.nout, s.out_axis, false);
    }
  }
  Node **state = ir_alloc_array(c->g, (size_t)(s.nstate + s.nin) + 1, sizeof(Node *));
  for (int j = 0; j < s.nstate + s.nin; j++) state[j] = onnx_input(c, first + j, j < s.nstate ? "initial_state" : "scan_input");
  Node **xs = state + s.nstate;
  if (!v8) {
    scan_run(c, &s, state, xs, c->out);
    return;
  }
  /* Scan-8: every input has a batch axis 0; scan each batch entry on its own */
  int64_t B = state[0]->rank > 0 ? state[0]->dims[0] : -1;
  for (int j = 0; j < s.nstate + s.nin; j++)
    if (state[j]->rank < 1 || state[j]->dims[0] != B)
      ir_fail(c->g, "input #%d has no batch axis of extent %lld", first + j, (long long)B);
  for (int j = 0; j < s.nin; j++) s.in_axis[j] = 0; /* axis 1 before the batch axis is taken */
  Node *lens = onnx_opt_input(c, 0);
  if (lens) { /* only full-length sequences */
    int64_t T = xs[0]->rank > 1 ? xs[0]->dims[1] : 0;
    if (lens->rank != 1 || lens->dims[0] != B || !dt_is_int(lens->dtype))
      ir_fail(c->g, "sequence_lens must be an integer [%lld]", (long long)B);
    if (!ir_is_const(lens)) ir_fail(c->g, "sequence_lens must be a constant (jtc unrolls the scan)");
    for (int64_t b = 0; b < B; b++) {
      int64_t len = sc_as_i(dt_load(lens->data, lens->dtype, b), lens->dtype);
      if (len != T)
        ir_fail(c->g, "sequence_lens[%lld] is %lld, shorter than the %lld steps; only full-length sequences are supported",
                (long long)b, (long long)len, (long long)T);
    }
  }
  if (B < 1 || B > ONNX_UNROLL_MAX) ir_fail(c->g, "batch size %lld is out of the supported range 1..%d", (long long)B, ONNX_UNROLL_MAX);
  int n = s.nstate + s.nin, no = s.nstate + s.nout;
  Node **ins = ir_alloc_array(c->g, (size_t)n + 1, sizeof(Node *));
  Node **res = ir_alloc_array(c->g, (size_t)(no * B) + 1, sizeof(Node *));
  for (int64_t b = 0; b < B; b++) {
    for (int j = 0; j < n; j++) ins[j] = ir_take(c->g, state[j], 0, b);
    Node **o = ir_alloc_array(c->g, (size_t)no + 1, sizeof(Node *));
    scan_run(c, &s, ins, ins + s.nstate, o);
    for (int k = 0; k < no; k++) res[k * B + b] = o[k];
  }
  for (int k = 0; k < no; k++) c->out[k] = ir_stack(c->g, (int)B, res + k * B, 0);
}
