/* ops_index.c: indexing op constructors: gathers and scatters through
 * data-dependent indices, masks, cumulative sums, one-hot, einsum.
 *
 * Each is one GATHER (read through a map), a SCATTER (write through a map or
 * reduce), or a few of them joined by MAPs:
 *   gather_elements  x[.., wrap(indices[i]), ..]: the axis index is a LOAD
 *   gather_nd        x[b.., wrap(indices[b.., q.., 0]), .., wrap(indices[.., m-1]), rest..]
 *   scatter_*        vals = SCATTER(red, updates) through the target map; the
 *                    result merges it with data: none (assign) takes vals where
 *                    a second SCATTER(assign) of `true` marks a write
 *                    (WHERE(mask, vals, data)); add/mul/max/min combine data
 *                    with vals by the same MAP (vals starts at the identity).
 *                    Writes walk updates in row-major order, so with duplicate
 *                    indices the last one wins, as in ONNX's reference.
 *   trilu            x with cond `i_r-2 + k <= i_r-1` (upper) or `>=` (lower), fill 0
 *   cumsum           domain [x.., t]: GATHER x at t on the axis where `t <= i_axis`
 *                    (`<` exclusive, `>=`/`>` reversed), SCATTER(add) dropping t
 *   eye              a rank-0 one read where `i1 - i0 == k`, fill 0
 *   one_hot          values[wrap(indices[..]) == i_axis ? 1 : 0]: one GATHER
 *   reverse_sequence time index `t < L ? L-1-t : t` with L = lens[i_batch]
 *   hardmax          where(iota == first argmax, 1, 0)
 *   einsum           one GATHER per operand onto [ellipsis.., letters..] (a
 *                    letter repeated in one operand reads the diagonal), MAP mul,
 *                    SCATTER(add) onto the output's letters
 *   compress         Gather along the axis with the constant kept positions
 * wrap(v) = v < 0 ? v + d : v; indices still out of range read the fill (0)
 * or, in scatters, drop the write.
 */
#include <stdio.h>
#include <string.h>

#include "ops.h"

static const char *fmt_dims(char *buf, size_t n, int rank, const int64_t *dims)
{
  size_t k = 0;
  k += (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < rank && k < n; d++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* v < 0 ? v + d : v */
static Ix *wrap(Graph *g, Ix *v, int64_t d)
{
  return ix_select(g, ix_cmp(g, IX_LT, v, ix_const(g, 0)), ix_addc(g, v, d), v);
}

static void check_indices(Graph *g, const char *op, const Node *indices)
{
  if (indices->dtype != DT_I32 && indices->dtype != DT_I64)
    ir_fail(g, "%s: indices are %s, not int32 or int64", op, dt_name(indices->dtype));
}

/* int64 [1, .., n (at axis), .., 1] holding 0..n-1 */
static Node *iota_along(Graph *g, int rank, int axis, int64_t n)
{
  int64_t d[IR_MAX_RANK];
  int64_t *v = ir_alloc_array(g, (size_t)(n > 0 ? n : 1), sizeof(int64_t));
  for (int64_t k = 0; k < n; k++) v[k] = k;
  for (int k = 0; k < rank; k++) d[k] = k == axis ? n : 1;
  return ir_const(g, DT_I64, rank, d, v);
}

/* ---- gathers ---- */

Node *ir_gather_elements(Graph *g, Node *x, Node *indices, int axis)
{
  char b1[200], b2[200];
  int r = x->rank;
  check_indices(g, "GatherElements", indices);
  if (r < 1) ir_fail(g, "GatherElements: data must have at least 1 dim");
  if (axis < 0 || axis >= r) ir_fail(g, "GatherElements: axis %d is out of range for rank %d", axis, r);
  if (indices->rank != r)
    ir_fail(g, "GatherElements: indices are %d-D, data is %d-D; ranks must match", indices->rank, r);
  for (int k = 0; k < r; k++)
    if (k != axis && indices->dims[k] > x->dims[k])
      ir_fail(g, "GatherElements: indices %s exceed data %s on axis %d",
              fmt_dims(b1, sizeof b1, r, indices->dims), fmt_dims(b2, sizeof b2, r, x->dims), k);
  Ix *idx[IR_MAX_RANK], *args[IR_MAX_RANK];
  for (int k = 0; k < r; k++) args[k] = idx[k] = ix_var(g, k);
  idx[axis] = wrap(g, ix_load(g, indices, r, args), x->dims[axis]);
  return ir_gather(g, x, r, indices->dims, idx, NULL, sc_i(0));
}

Node *ir_gather_nd(Graph *g, Node *x, Node *indices, int batch_dims)
{
  char b1[200], b2[200];
  int r = x->rank, q = indices->rank, b = batch_dims;
  check_indices(g, "GatherND", indices);
  if (q < 1) ir_fail(g, "GatherND: indices must have at least 1 dim");
  if (b < 0 || b >= q || b >= r)
    ir_fail(g, "GatherND: batch_dims %d must be below the ranks of data (%d) and indices (%d)", b, r, q);
  int64_t m = indices->dims[q - 1];
  if (m < 1 || m > r - b)
    ir_fail(g, "GatherND: indices' last dim is %lld, it must be in [1, %d] (data rank %d, batch_dims %d)",
            (long long)m, r - b, r, b);
  for (int k = 0; k < b; k++)
    if (x->dims[k] != indices->dims[k])
      ir_fail(g, "GatherND: batch dim %d differs: data %s, indices %s", k, fmt_dims(b1, sizeof b1, r, x->dims),
              fmt_dims(b2, sizeof b2, q, indices->dims));
  int orank = q - 1 + r - b - (int)m;
  if (orank > IR_MAX_RANK) ir_fail(g, "GatherND: result rank %d exceeds %d", orank, IR_MAX_RANK);
  /* out = [batch.., indices[b:-1].., data[b+m:]..] */
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK], *args[IR_MAX_RANK];
  for (int k = 0; k < q - 1; k++) {
    dims[k] = indices->dims[k];
    args[k] = ix_var(g, k);
  }
  for (int k = 0; k < b; k++) idx[k] = ix_var(g, k);
  for (int j = 0; j < m; j++) {
    args[q - 1] = ix_const(g, j);
    idx[b + j] = wrap(g, ix_load(g, indices, q, args), x->dims[b + j]);
  }
  for (int k = b + (int)m; k < r; k++) {
    int o = q - 1 + k - b - (int)m;
    dims[o] = x->dims[k];
    idx[k] = ix_var(g, o);
  }
  return ir_gather(g, x, orank, dims, idx, NULL, sc_i(0));
}

/* ---- scatters ---- */

/* data with src written (red) through tidx, a map over src's variables. */
static Node *scatter_merge(Graph *g, const char *op, Node *data, Node *src, Ix *const *tidx, ReduceOp red)
{
  if (src->dtype != data->dtype)
    ir_fail(g, "%s: updates are %s, data is %s", op, dt_name(src->dtype), dt_name(data->dtype));
  Node *vals = ir_scatter(g, src, red, data->rank, data->dims, tidx, NULL);
  switch (red) {
  case RED_ASSIGN: {
    Node *t = ir_broadcast(g, ir_scalar(g, DT_BOOL, 1), src->rank, src->dims);
    Node *mask = ir_scatter(g, t, RED_ASSIGN, data->rank, data->dims, tidx, NULL);
    Node *in[3] = {mask, vals, data};
    return ir_map(g, MAP_WHERE, DT_UNDEF, 3, in);
  }
  case RED_ADD: return ir_binary(g, MAP_ADD, data, vals);
  case RED_MUL: return ir_binary(g, MAP_MUL, data, vals);
  case RED_MAX: return ir_binary(g, MAP_MAX, data, vals);
  case RED_MIN: return ir_binary(g, MAP_MIN, data, vals);
  default: ir_fail(g, "%s: reduction %s is not supported", op, reduce_names[red]);
  }
}

Node *ir_scatter_elements(Graph *g, Node *data, Node *indices, Node *updates, int axis, ReduceOp red)
{
  char b1[200], b2[200];
  int r = data->rank;
  check_indices(g, "ScatterElements", indices);
  if (r < 1) ir_fail(g, "ScatterElements: data must have at least 1 dim");
  if (axis < 0 || axis >= r) ir_fail(g, "ScatterElements: axis %d is out of range for rank %d", axis, r);
  if (!ir_same_shape(indices, updates))
    ir_fail(g, "ScatterElements: indices %s and updates %s differ in shape",
            fmt_dims(b1, sizeof b1, indices->rank, indices->dims), fmt_dims(b2, sizeof b2, updates->rank, updates->dims));
  if (indices->rank != r)
    ir_fail(g, "ScatterElements: indices are %d-D, data is %d-D; ranks must match", indices->rank, r);
  for (int k = 0; k < r; k++)
    if (k != axis && indices->dims[k] > data->dims[k])
      ir_fail(g, "ScatterElements: indices %s exceed data %s on axis %d",
              fmt_dims(b1, sizeof b1, r, indices->dims), fmt_dims(b2, sizeof b2, r, data->dims), k);
  Ix *idx[IR_MAX_RANK], *args[IR_MAX_RANK];
  for (int k = 0; k < r; k++) args[k] = idx[k] = ix_var(g, k);
  idx[axis] = wrap(g, ix_load(g, indices, r, args), data->dims[axis]);
  return scatter_merge(g, "ScatterElements", data, updates, idx, red);
}

Node *ir_scatter_nd(Graph *g, Node *data, Node *indices, Node *updates, ReduceOp red)
{
  char b1[200], b2[200], b3[200];
  int r = data->rank, q = indices->rank;
  check_indices(g, "ScatterND", indices);
  if (q < 1) ir_fail(g, "ScatterND: indices must have at least 1 dim");
  int64_t m = indices->dims[q - 1];
  if (m < 1 || m > r) ir_fail(g, "ScatterND: indices' last dim is %lld, it must be in [1, %d]", (long long)m, r);
  /* updates = indices[:-1] + data[m:] */
  bool ok = updates->rank == q - 1 + r - (int)m;
  for (int k = 0; ok && k < q - 1; k++) ok = updates->dims[k] == indices->dims[k];
  for (int k = (int)m; ok && k < r; k++) ok = updates->dims[q - 1 + k - m] == data->dims[k];
  if (!ok)
    ir_fail(g, "ScatterND: updates %s do not match indices %s and data %s",
            fmt_dims(b1, sizeof b1, updates->rank, updates->dims), fmt_dims(b2, sizeof b2, q, indices->dims),
            fmt_dims(b3, sizeof b3, r, data->dims));
  Ix *idx[IR_MAX_RANK], *args[IR_MAX_RANK];
  for (int k = 0; k < q - 1; k++) args[k] = ix_var(g, k);
  for (int j = 0; j < m; j++) {
    args[q - 1] = ix_const(g, j);
    idx[j] = wrap(g, ix_load(g, indices, q, args), data->dims[j]);
  }
  for (int k = (int)m; k < r; k++) idx[k] = ix_var(g, q - 1 + k - (int)m);
  return scatter_merge(g, "ScatterND", data, updates, idx, red);
}

/* ---- masks and windows ---- */

Node *ir_trilu(Graph *g, Node *x, bool upper, int64_t k)
{
  int r = x->rank;
  if (r < 2) ir_fail(g, "Trilu: input must have at least 2 dims, it has %d", r);
  /* keep column j of row i when j - i >= k (upper) or j - i <= k (lower); clamp k so i+k cannot overflow */
  int64_t lim = x->dims[r - 2] + x->dims[r - 1] + 1;
  if (k > lim) k = lim;
  if (k < -lim) k = -lim;
  Ix *idx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) idx[d] = ix_var(g, d);
  Ix *ik = ix_addc(g, ix_var(g, r - 2), k), *j = ix_var(g, r - 1);
  Ix *cond = upper ? ix_cmp(g, IX_LE, ik, j) : ix_cmp(g, IX_LE, j, ik);
  cond = ix_simplify(g, cond, r, x->dims);
  if (x->numel == 0 || (cond->kind == IX_CONST && cond->val)) return x;
  if (cond->kind == IX_CONST) return ir_broadcast(g, ir_scalar_like(g, x, 0), r, x->dims); /* nothing kept */
  return ir_gather(g, x, r, x->dims, idx, cond, sc_i(0));
}

Node *ir_cumsum(Graph *g, Node *x, int axis, bool exclusive, bool reverse)
{
  int r = x->rank;
  if (r < 1) ir_fail(g, "CumSum: input must have at least 1 dim");
  if (axis < 0 || axis >= r) ir_fail(g, "CumSum: axis %d is out of range for rank %d", axis, r);
  if (x->dtype == DT_BOOL) ir_fail(g, "CumSum: bool input");
  if (r + 1 > IR_MAX_RANK) ir_fail(g, "CumSum: rank %d leaves no loop variable for the window", r);
  if (x->numel == 0) return x;
  /* domain [x dims.., t]: element t of the axis adds to output position i_axis */
  int64_t dom[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK], *oidx[IR_MAX_RANK];
  for (int k = 0; k < r; k++) {
    dom[k] = x->dims[k];
    idx[k] = oidx[k] = ix_var(g, k);
  }
  dom[r] = x->dims[axis];
  Ix *t = ix_var(g, r), *i = ix_var(g, axis);
  idx[axis] = t;
  IxKind rel = exclusive ? IX_LT : IX_LE;
  Ix *cond = reverse ? ix_cmp(g, rel, i, t) : ix_cmp(g, rel, t, i);
  Node *win = ir_gather(g, x, r + 1, dom, idx, cond, sc_i(0));
  return ir_scatter(g, win, RED_ADD, r, x->dims, oidx, NULL);
}

Node *ir_eye(Graph *g, Dtype t, int64_t rows, int64_t cols, int64_t k)
{
  if (rows < 0 || cols < 0) ir_fail(g, "EyeLike: shape [%lld, %lld] is negative", (long long)rows, (long long)cols);
  int64_t dims[2] = {rows, cols};
  int64_t lim = rows + cols + 1;
  if (k > lim) k = lim;
  if (k < -lim) k = -lim;
  Ix *cond = ix_cmp(g, IX_EQ, ix_var(g, 1), ix_addc(g, ix_var(g, 0), k));
  return ir_gather(g, ir_scalar(g, t, 1), 2, dims, NULL, cond, sc_i(0));
}

Node *ir_one_hot(Graph *g, Node *indices, int64_t depth, Node *values, int axis)
{
  int r = indices->rank;
  if (depth < 1) ir_fail(g, "OneHot: depth %lld must be positive", (long long)depth);
  if (axis < 0 || axis > r) ir_fail(g, "OneHot: axis %d is out of range for a %d-D result", axis, r + 1);
  if (r + 1 > IR_MAX_RANK) ir_fail(g, "OneHot: result rank %d exceeds %d", r + 1, IR_MAX_RANK);
  if (values->numel != 2)
    ir_fail(g, "OneHot: values must hold [off_value, on_value], it has %lld elements", (long long)values->numel);
  if (indices->dtype == DT_BOOL) ir_fail(g, "OneHot: bool indices");
  Node *ind = ir_cast(g, indices, DT_I64); /* float indices truncate */
  if (values->rank != 1) ir_fail(g, "OneHot: values must be 1-D, it is %d-D", values->rank);
  int64_t dims[IR_MAX_RANK];
  Ix *args[IR_MAX_RANK];
  for (int k = 0; k <= r; k++) {
    dims[k] = k < axis ? indices->dims[k] : k == axis ? depth : indices->dims[k - 1];
    if (k != axis) args[k < axis ? k : k - 1] = ix_var(g, k);
  }
  Ix *v = wrap(g, ix_load(g, ind, r, args), depth);
  Ix *on = ix_cmp(g, IX_EQ, v, ix_var(g, axis)); /* 0 or 1: values[1] is on */
  return ir_gather(g, values, r + 1, dims, &on, NULL, sc_i(0));
}

Node *ir_reverse_sequence(Graph *g, Node *x, Node *lens, int batch_axis, int time_axis)
{
  int r = x->rank;
  if (r < 2) ir_fail(g, "ReverseSequence: input must have at least 2 dims, it has %d", r);
  if (batch_axis < 0 || batch_axis > 1 || time_axis < 0 || time_axis > 1 || batch_axis == time_axis)
    ir_fail(g, "ReverseSequence: batch_axis %d and time_axis %d must be 0 and 1 in some order", batch_axis, time_axis);
  check_indices(g, "ReverseSequence", lens);
  if (lens->rank != 1 || lens->dims[0] != x->dims[batch_axis])
    ir_fail(g, "ReverseSequence: sequence_lens must be 1-D of %lld elements (the batch), it has %lld",
            (long long)x->dims[batch_axis], (long long)lens->numel);
  Ix *idx[IR_MAX_RANK];
  for (int k = 0; k < r; k++) idx[k] = ix_var(g, k);
  Ix *b = ix_var(g, batch_axis), *t = ix_var(g, time_axis);
  Ix *len = ix_load(g, lens, 1, &b);
  idx[time_axis] = ix_select(g, ix_cmp(g, IX_LT, t, len), ix_sub(g, ix_addc(g, len, -1), t), t);
  return ir_gather(g, x, r, x->dims, idx, NULL, sc_i(0));
}

Node *ir_hardmax(Graph *g, Node *x, int axis)
{
  int r = x->rank;
  if (axis < 0 || axis >= r) ir_fail(g, "Hardmax: axis %d is out of range for rank %d", axis, r);
  if (x->dtype == DT_BOOL) ir_fail(g, "Hardmax: bool input");
  int64_t n = x->dims[axis];
  Node *iota = iota_along(g, r, axis, n);
  Node *m = ir_reduce(g, x, RED_MAX, 1, &axis, true);
  Node *cand = ir_where(g, ir_binary(g, MAP_EQ, x, m), iota, ir_scalar(g, DT_I64, (double)n));
  Node *first = ir_reduce(g, cand, RED_MIN, 1, &axis, true);
  Node *hit = ir_broadcast(g, ir_binary(g, MAP_EQ, iota, first), r, x->dims);
  return ir_where(g, hit, ir_scalar_like(g, x, 1), ir_scalar_like(g, x, 0));
}

/* ---- einsum ---- */

typedef struct {
  int nlet;               /* letters, in order */
  char let[IR_MAX_RANK + 1];
  int ell;                /* position of "..." among the letters, -1 if none */
} EinTerm;

/* One term ("ij", "...ij", "i...j"); fails on anything else. */
static void ein_term(Graph *g, const char *s, size_t len, EinTerm *t)
{
  t->nlet = 0;
  t->ell = -1;
  for (size_t k = 0; k < len; k++) {
    char ch = s[k];
    if (ch == '.') {
      if (t->ell >= 0 || k + 2 >= len || s[k + 1] != '.' || s[k + 2] != '.')
        ir_fail(g, "Einsum: '%.*s' has a stray '.' (an ellipsis is '...', at most once)", (int)len, s);
      t->ell = t->nlet;
      k += 2;
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
      if (t->nlet >= IR_MAX_RANK) ir_fail(g, "Einsum: '%.*s' has more than %d letters", (int)len, s, IR_MAX_RANK);
      t->let[t->nlet++] = ch;
    } else {
      ir_fail(g, "Einsum: unexpected character '%c' in '%.*s'", ch, (int)len, s);
    }
  }
  t->let[t->nlet] = 0;
}

Node *ir_einsum(Graph *g, const char *equation, int n, Node *const *xs)
{
  char eq[512];
  size_t len = 0;
  for (const char *p = equation; *p; p++) {
    if (*p == ' ' || *p == '\t') continue;
    if (len + 1 >= sizeof eq) ir_fail(g, "Einsum: equation is longer than %zu characters", sizeof eq - 1);
    eq[len++] = *p;
  }
  eq[len] = 0;
  if (n < 1) ir_fail(g, "Einsum: no operands");
  if (n > IR_MAX_RANK) ir_fail(g, "Einsum: %d operands, at most %d supported", n, IR_MAX_RANK);
  for (int k = 1; k < n; k++)
    if (xs[k]->dtype != xs[0]->dtype)
      ir_fail(g, "Einsum: operand %d is %s, operand 0 is %s", k, dt_name(xs[k]->dtype), dt_name(xs[0]->dtype));
  if (xs[0]->dtype == DT_BOOL) ir_fail(g, "Einsum: bool operands");
  char *arrow = strstr(eq, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
  EinTerm in[IR_MAX_RANK], out;
  int nt = 0;
  size_t start = 0;
  for (size_t k = 0; k <= lhs_len; k++) {
    if (k < lhs_len && eq[k] != ',') continue;
    if (nt >= n) ir_fail(g, "Einsum: '%s' has more terms than the %d operands", equation, n);
    ein_term(g, eq + start, k - start, &in[nt++]);
    start = k + 1;
  }
  if (nt != n) ir_fail(g, "Einsum: '%s' has %d terms for %d operands", equation, nt, n);

  /* letter extents and the ellipsis rank (broadcast, right-aligned) */
  int64_t ext[128];
  bool seen[128] = {false};
  int count[128] = {0};
  char order[IR_MAX_RANK * IR_MAX_RANK + 1];
  int nlet = 0, erank = 0;
  int64_t edims[IR_MAX_RANK];
  for (int j = 0; j < n; j++) {
    const EinTerm *t = &in[j];
    int er = xs[j]->rank - t->nlet;
    if (er < 0 || (t->ell < 0 && er != 0))
      ir_fail(g, "Einsum: term %d ('%s') does not fit operand %d, which is %d-D", j, t->let, j, xs[j]->rank);
    if (er > erank) erank = er;
  }
  for (int e = 0; e < erank; e++) edims[e] = 1;
  for (int j = 0; j < n; j++) {
    const EinTerm *t = &in[j];
    const Node *x = xs[j];
    int er = x->rank - t->nlet;
    for (int d = 0; d < x->rank; d++) {
      bool is_ell = t->ell >= 0 && d >= t->ell && d < t->ell + er;
      if (is_ell) {
        int e = erank - er + (d - t->ell);
        int64_t v = x->dims[d];
        if (v != 1 && edims[e] != 1 && edims[e] != v)
          ir_fail(g, "Einsum: ellipsis dims of operand %d do not broadcast (%lld and %lld)", j, (long long)v,
                  (long long)edims[e]);
        if (v != 1) edims[e] = v;
        continue;
      }
      unsigned char ch = (unsigned char)t->let[t->ell >= 0 && d >= t->ell + er ? d - er : d];
      if (!seen[ch]) {
        seen[ch] = true;
        ext[ch] = x->dims[d];
        order[nlet++] = (char)ch;
      } else if (ext[ch] != x->dims[d]) {
        ir_fail(g, "Einsum: letter '%c' has extent %lld in operand %d but %lld before", ch, (long long)x->dims[d], j,
                (long long)ext[ch]);
      }
      count[ch]++;
    }
  }
  int drank = erank + nlet;
  if (drank > IR_MAX_RANK) ir_fail(g, "Einsum: %d loop variables exceed %d", drank, IR_MAX_RANK);
  int var[128];
  int64_t dom[IR_MAX_RANK];
  for (int e = 0; e < erank; e++) dom[e] = edims[e];
  for (int k = 0; k < nlet; k++) {
    var[(unsigned char)order[k]] = erank + k;
    dom[erank + k] = ext[(unsigned char)order[k]];
  }

  /* output term: explicit, or ellipsis then the letters used once, sorted */
  if (arrow) {
    ein_term(g, arrow + 2, strlen(arrow + 2), &out);
    for (int k = 0; k < out.nlet; k++) {
      unsigned char ch = (unsigned char)out.let[k];
      if (!seen[ch]) ir_fail(g, "Einsum: output letter '%c' is not in any input", ch);
      for (int j = 0; j < k; j++)
        if (out.let[j] == out.let[k]) ir_fail(g, "Einsum: output letter '%c' appears twice", ch);
    }
  } else {
    out.nlet = 0;
    out.ell = erank > 0 ? 0 : -1;
    for (int ch = 0; ch < 128; ch++)
      if (seen[ch] && count[ch] == 1) out.let[out.nlet++] = (char)ch;
    out.let[out.nlet] = 0;
  }

  /* GATHER each operand onto the domain and multiply */
  Node *prod = NULL;
  for (int j = 0; j < n; j++) {
    const EinTerm *t = &in[j];
    Node *x = xs[j];
    int er = x->rank - t->nlet;
    Ix *idx[IR_MAX_RANK];
    for (int d = 0; d < x->rank; d++) {
      bool is_ell = t->ell >= 0 && d >= t->ell && d < t->ell + er;
      if (is_ell) {
        int e = erank - er + (d - t->ell);
        idx[d] = x->dims[d] == 1 ? ix_const(g, 0) : ix_var(g, e);
      } else {
        unsigned char ch = (unsigned char)t->let[t->ell >= 0 && d >= t->ell + er ? d - er : d];
        idx[d] = ix_var(g, var[ch]);
      }
    }
    Node *gx = ir_gather(g, x, drank, dom, idx, NULL, sc_i(0));
    if (!prod) {
      prod = gx;
    } else {
      Node *in2[2] = {prod, gx};
      prod = ir_map(g, MAP_MUL, DT_UNDEF, 2, in2);
    }
  }

  /* SCATTER(add) onto [ellipsis (if kept).., output letters..] */
  int orank = 0;
  int64_t odims[IR_MAX_RANK];
  Ix *oidx[IR_MAX_RANK];
  for (int k = 0; k <= out.nlet; k++) {
    if (k == out.ell)
      for (int e = 0; e < erank; e++) {
        odims[orank] = edims[e];
        oidx[orank++] = ix_var(g, e);
      }
    if (k < out.nlet) {
      unsigned char ch = (unsigned char)out.let[k];
      odims[orank] = ext[ch];
      oidx[orank++] = ix_var(g, var[ch]);
    }
  }
  return ir_scatter(g, prod, RED_ADD, orank, odims, oidx, NULL);
}

/* ---- compress ---- */

Node *ir_compress(Graph *g, Node *x, Node *cond, int axis)
{
  if (!ir_is_const(cond))
    ir_fail(g, "Compress: the condition is computed at run time; the output's shape depends on its values, "
               "which a statically shaped compiled model cannot follow");
  if (cond->rank != 1) ir_fail(g, "Compress: condition must be 1-D, it is %d-D", cond->rank);
  if (axis < 0) {
    int64_t flat = x->numel;
    x = ir_reshape(g, x, 1, &flat);
    axis = 0;
  }
  if (axis >= x->rank) ir_fail(g, "Compress: axis %d is out of range for rank %d", axis, x->rank);
  if (cond->numel > x->dims[axis])
    ir_fail(g, "Compress: condition has %lld entries, the axis only %lld", (long long)cond->numel,
            (long long)x->dims[axis]);
  int64_t *keep = ir_alloc_array(g, (size_t)(cond->numel > 0 ? cond->numel : 1), sizeof(int64_t));
  int64_t nk = 0;
  for (int64_t k = 0; k < cond->numel; k++)
    if (sc_as_f(dt_load(cond->data, cond->dtype, k), cond->dtype) != 0) keep[nk++] = k;
  return ir_gather_axis(g, x, ir_const(g, DT_I64, 1, &nk, keep), axis);
}
