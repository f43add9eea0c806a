/* ops_layout.c: data-movement op constructors, each one GATHER (or a few).
 *
 * Every op here only says which source element each output element reads:
 *   reshape    delinearize the row-major output position into x's dims, one
 *              group of dims with equal products at a time: [6,4] -> [2,3,4]
 *              is `i0/3, i0%3, i1` and [2,3,4] -> [6,4] is `i0*3+i1, i2`
 *   transpose  x dim perm[k] reads output variable k
 *   slice      `start + i*step` per axis
 *   pad        `i - before`; out of bounds reads the fill (constant mode) or is
 *              folded back into range (reflect, edge, wrap)
 *   concat     a WHERE chain over shifted GATHERs of each input
 *   gather     ONNX Gather: x's axis index is a LOAD from the indices tensor
 */
#include <stdio.h>

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

/* Map i -> src index of an in-bounds GATHER: ix_simplify over the output extents. */
static Ix *simp(Graph *g, Ix *e, int rank, const int64_t *dims)
{
  return ix_simplify(g, e, rank, dims);
}

Node *ir_reshape(Graph *g, Node *x, int rank, const int64_t *dims)
{
  char b1[200], b2[200];
  if (rank < 0 || rank > IR_MAX_RANK) ir_fail(g, "Reshape: rank %d is out of range", rank);
  for (int k = 0; k < rank; k++)
    if (dims[k] < 0) ir_fail(g, "Reshape: dimension %d is %lld", k, (long long)dims[k]);
  int64_t numel = ir_numel(g, rank, dims);
  if (numel != x->numel)
    ir_fail(g, "Reshape: cannot reshape %s (%lld elements) to %s (%lld elements)",
            fmt_dims(b1, sizeof b1, x->rank, x->dims), (long long)x->numel,
            fmt_dims(b2, sizeof b2, rank, dims), (long long)numel);
  if (rank == x->rank) {
    bool same = true;
    for (int k = 0; k < rank; k++) same = same && dims[k] == x->dims[k];
    if (same) return x;
  }
  Ix *idx[IR_MAX_RANK];
  if (numel == 0) { /* nothing is read */
    for (int k = 0; k < x->rank; k++) idx[k] = ix_const(g, 0);
    return ir_gather(g, x, rank, dims, idx, NULL, sc_i(0));
  }
  /* Split both shapes into groups of equal product ([6,4] -> [2,3,4] is {6}->{2,3}
   * and {4}->{4}); in each group delinearize the group's linear output position. */
  int i = 0, j = 0;
  while (i < rank || j < x->rank) {
    int i0 = i, j0 = j;
    int64_t po = i < rank ? dims[i++] : 1, pi = j < x->rank ? x->dims[j++] : 1;
    while (po != pi) {
      if (po < pi) po *= dims[i++];
      else pi *= x->dims[j++];
    }
    Ix *lin = ix_const(g, 0);
    int64_t stride = 1;
    for (int k = i - 1; k >= i0; k--) {
      lin = ix_add(g, lin, ix_mulc(g, ix_var(g, k), stride));
      stride *= dims[k];
    }
    stride = 1;
    for (int k = j - 1; k >= j0; k--) {
      Ix *e = ix_div(g, lin, ix_const(g, stride));
      if (k > j0) e = ix_mod(g, e, ix_const(g, x->dims[k])); /* the group's outermost needs no % */
      idx[k] = simp(g, e, rank, dims);
      stride *= x->dims[k];
    }
  }
  return ir_gather(g, x, rank, dims, idx, NULL, sc_i(0));
}

Node *ir_transpose(Graph *g, Node *x, const int *perm)
{
  bool seen[IR_MAX_RANK] = {false};
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK];
  bool ident = true;
  for (int k = 0; k < x->rank; k++) {
    int p = perm[k];
    if (p < 0 || p >= x->rank || seen[p])
      ir_fail(g, "Transpose: perm[%d] = %d is not a permutation of %d axes", k, p, x->rank);
    seen[p] = true;
    dims[k] = x->dims[p];
    idx[p] = ix_var(g, k);
    ident = ident && p == k;
  }
  if (ident) return x;
  return ir_gather(g, x, x->rank, dims, idx, NULL, sc_i(0));
}

/* axis k: `start[k] + i_k*step[k]` */
Node *ir_slice(Graph *g, Node *x, const int64_t *start, const int64_t *step, const int64_t *len)
{
  Ix *idx[IR_MAX_RANK];
  bool ident = true;
  for (int k = 0; k < x->rank; k++) {
    int64_t d = x->dims[k], s = start[k], st = step[k], n = len[k];
    if (st == 0) ir_fail(g, "Slice: axis %d has step 0", k);
    if (n < 0) ir_fail(g, "Slice: axis %d has length %lld", k, (long long)n);
    if (n > 0) {
      int64_t last = s + (n - 1) * st;
      if (s < 0 || s >= d || last < 0 || last >= d)
        ir_fail(g, "Slice: axis %d of extent %lld: elements %lld..%lld (step %lld) are out of range",
                k, (long long)d, (long long)s, (long long)last, (long long)st);
    }
    idx[k] = ix_addc(g, ix_mulc(g, ix_var(g, k), st), s);
    ident = ident && s == 0 && st == 1 && n == d;
  }
  if (ident) return x;
  return ir_gather(g, x, x->rank, len, idx, NULL, sc_i(0));
}

/* Axis of extent d, output position j = i - before (may be outside [0, d)):
 *   reflect  P = 2d-2, m = j mod P, min(m, P-m)   e.g. d=3: j=-2..4 -> 2 1 0 1 2 1 0
 *            (a triangle wave: pads wider than d-1 reflect again, as numpy does)
 *   edge     min(max(j, 0), d-1)
 *   wrap     j mod d */
static Ix *pad_fold(Graph *g, Ix *j, int64_t d, PadMode mode)
{
  switch (mode) {
  case PAD_REFLECT: {
    if (d == 1) return ix_const(g, 0);
    Ix *m = ix_mod(g, j, ix_const(g, 2 * d - 2));
    return ix_min(g, m, ix_sub(g, ix_const(g, 2 * d - 2), m));
  }
  case PAD_EDGE: return ix_min(g, ix_max(g, j, ix_const(g, 0)), ix_const(g, d - 1));
  case PAD_WRAP: return ix_mod(g, j, ix_const(g, d));
  default: return j;
  }
}

Node *ir_pad(Graph *g, Node *x, const int64_t *before, const int64_t *after, PadMode mode, Scalar value)
{
  static const char *const mode_names[] = {"constant", "reflect", "edge", "wrap"};
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK];
  bool ident = true;
  for (int k = 0; k < x->rank; k++) {
    int64_t d = x->dims[k], b = before[k], a = after[k];
    dims[k] = d + b + a;
    if (dims[k] < 0)
      ir_fail(g, "Pad: axis %d of extent %lld padded by %lld and %lld is negative", k,
              (long long)d, (long long)b, (long long)a);
    Ix *j = ix_addc(g, ix_var(g, k), -b);
    /* a crop-only or unpadded axis stays in range */
    if (mode != PAD_CONSTANT && (b > 0 || a > 0) && dims[k] > 0) {
      if (d == 0)
        ir_fail(g, "Pad: axis %d is empty, %s padding has nothing to copy", k, mode_names[mode]);
      j = simp(g, pad_fold(g, j, d, mode), x->rank, dims);
    }
    idx[k] = j;
    ident = ident && b == 0 && a == 0;
  }
  if (ident) return x;
  return ir_gather(g, x, x->rank, dims, idx, NULL, value);
}

/* Concat along `axis`: acc = x0 read at `i_axis` (out of bounds past x0), then for
 * each later input at offset o: acc = WHERE(i_axis < o, acc, x_k read at `i_axis - o`),
 * where the mask is a GATHER of a bool `true` with cond `i_axis < o`, fill false. */
Node *ir_concat(Graph *g, int n, Node *const *xs, int axis)
{
  char b1[200], b2[200];
  if (n < 1) ir_fail(g, "Concat: no inputs");
  Node *x0 = xs[0];
  int r = x0->rank;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) ir_fail(g, "Concat: axis %d is out of range for rank %d", axis, r);
  int64_t dims[IR_MAX_RANK];
  for (int k = 0; k < r; k++) dims[k] = x0->dims[k];
  dims[axis] = 0;
  for (int j = 0; j < n; j++) {
    const Node *x = xs[j];
    bool ok = x->rank == r && x->dtype == x0->dtype;
    for (int k = 0; ok && k < r; k++) ok = k == axis || x->dims[k] == x0->dims[k];
    if (!ok)
      ir_fail(g, "Concat: input %d is %s %s, input 0 is %s %s (axis %d)", j, dt_name(x->dtype),
              fmt_dims(b1, sizeof b1, x->rank, x->dims), dt_name(x0->dtype),
              fmt_dims(b2, sizeof b2, r, x0->dims), axis);
    dims[axis] += x->dims[axis];
  }
  if (n == 1) return x0;
  Ix *idx[IR_MAX_RANK];
  for (int k = 0; k < r; k++) idx[k] = ix_var(g, k);
  bool t = true;
  Node *true_c = ir_const(g, DT_BOOL, 0, NULL, &t);
  Node *acc = NULL;
  int64_t off = 0;
  for (int j = 0; j < n; j++) {
    int64_t len = xs[j]->dims[axis];
    if (len == 0) continue;
    idx[axis] = ix_addc(g, ix_var(g, axis), -off);
    Node *part = ir_gather(g, xs[j], r, dims, idx, NULL, sc_i(0));
    if (!acc) {
      acc = part;
    } else {
      Ix *before = ix_cmp(g, IX_LT, ix_var(g, axis), ix_const(g, off));
      Node *mask = ir_gather(g, true_c, r, dims, idx, before, sc_i(0));
      Node *in[3] = {mask, acc, part};
      acc = ir_map(g, MAP_WHERE, DT_UNDEF, 3, in);
    }
    off += len;
  }
  if (!acc) return x0; /* every input is empty: x0 has the (empty) shape */
  return acc;
}

/* out[i0.., q.., k..] = x[i0.., w(indices[q..]), k..] with w(v) = v < 0 ? v + d : v;
 * an index still outside [0, d) reads 0. */
Node *ir_gather_axis(Graph *g, Node *x, Node *indices, int axis)
{
  int r = x->rank, q = indices->rank;
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) ir_fail(g, "Gather: axis %d is out of range for rank %d", axis, r);
  if (indices->dtype != DT_I32 && indices->dtype != DT_I64)
    ir_fail(g, "Gather: indices are %s, not int32 or int64", dt_name(indices->dtype));
  int orank = r - 1 + q;
  if (orank > IR_MAX_RANK) ir_fail(g, "Gather: result rank %d exceeds %d", orank, IR_MAX_RANK);
  int64_t dims[IR_MAX_RANK];
  Ix *idx[IR_MAX_RANK], *args[IR_MAX_RANK];
  for (int k = 0; k < axis; k++) {
    dims[k] = x->dims[k];
    idx[k] = ix_var(g, k);
  }
  for (int k = 0; k < q; k++) {
    dims[axis + k] = indices->dims[k];
    args[k] = ix_var(g, axis + k);
  }
  for (int k = axis + 1; k < r; k++) {
    dims[k - 1 + q] = x->dims[k];
    idx[k] = ix_var(g, k - 1 + q);
  }
  Ix *v = ix_load(g, indices, q, args);
  Ix *neg = ix_cmp(g, IX_LT, v, ix_const(g, 0));
  idx[axis] = ix_select(g, neg, ix_addc(g, v, x->dims[axis]), v);
  return ir_gather(g, x, orank, dims, idx, NULL, sc_i(0));
}
