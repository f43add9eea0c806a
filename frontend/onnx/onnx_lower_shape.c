/* onnx_lower_shape.c: lowerings of the layout operators: Reshape, Flatten,
 * Transpose, Concat, Split, Slice, Squeeze, Unsqueeze, Pad, Gather, Expand,
 * Tile. They compute the output shape from attributes or from shape-like
 * inputs, which must be constants (the loader folds Shape -> Gather -> Concat
 * chains first), then call the layout constructors in ir/ops.h. Opset
 * differences: Reshape's shape, Slice's starts/ends/axes/steps, Pad's pads,
 * Squeeze/Unsqueeze/Split's axes and split are attributes in old opsets and
 * inputs in new ones.
 */
#include "frontend/onnx/onnx_internal.h"

#include <stdio.h>
#include <string.h>

/* "[2,3,4]" for messages */
static const char *shape_str(Graph *g, int rank, const int64_t *dims) {
  char *s = ir_alloc(g, (size_t)rank * 21 + 3), *p = s;
  *p++ = '[';
  for (int k = 0; k < rank; k++) p += sprintf(p, "%s%lld", k ? "," : "", (long long)dims[k]);
  *p++ = ']';
  return s;
}

/* Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred. */
void onnx_lower_reshape(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t shape[IR_MAX_RANK], dims[IR_MAX_RANK];
  int n;
  if (c->opset < 5) {
    n = onnx_attr_ints(c, "shape", shape, IR_MAX_RANK);
    if (n < 0) ir_fail(c->g, "attribute 'shape' is required");
  } else {
    n = onnx_const_ints(c, 1, "shape", shape, IR_MAX_RANK);
  }
  bool allowzero = c->opset >= 14 && onnx_attr_int(c, "allowzero", 0);
  int infer = -1;
  int64_t known = 1;
  for (int k = 0; k < n; k++) {
    int64_t d = shape[k];
    if (d == 0 && !allowzero) {
      if (k >= x->rank) ir_fail(c->g, "shape[%d] is 0 (copy), but the input has only %d dims", k, x->rank);
      d = x->dims[k];
    } else if (d == -1) {
      if (infer >= 0) ir_fail(c->g, "shape has more than one -1");
      infer = k;
      d = 1;
    } else if (d < 0) {
      ir_fail(c->g, "shape[%d] is %lld", k, (long long)d);
    }
    dims[k] = d;
    if (k != infer) {
      if (d && known > INT64_MAX / d) ir_fail(c->g, "shape overflows");
      known *= d;
    }
  }
  if (infer >= 0) {
    if (known == 0 || x->numel % known)
      ir_fail(c->g, "cannot infer the -1 dim: %lld elements into blocks of %lld", (long long)x->numel, (long long)known);
    dims[infer] = x->numel / known;
  } else if (known != x->numel) {
    ir_fail(c->g, "shape has %lld elements, the input has %lld", (long long)known, (long long)x->numel);
  }
  c->out[0] = ir_reshape(c->g, x, n, dims);
}

void onnx_lower_flatten(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int64_t axis = onnx_attr_int(c, "axis", 1);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis > x->rank) ir_fail(c->g, "axis %lld is out of range for a %d-D input", (long long)axis, x->rank);
  int64_t d[2] = {1, 1};
  for (int k = 0; k < x->rank; k++) d[k >= axis] *= x->dims[k];
  c->out[0] = ir_reshape(c->g, x, 2, d);
}

void onnx_lower_transpose(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t p[IR_MAX_RANK];
  int perm[IR_MAX_RANK];
  int n = onnx_attr_ints(c, "perm", p, IR_MAX_RANK);
  if (n < 0) {
    for (int k = 0; k < x->rank; k++) perm[k] = x->rank - 1 - k;
  } else {
    if (n != x->rank) ir_fail(c->g, "perm has %d values, input is %d-D", n, x->rank);
    bool seen[IR_MAX_RANK] = {false};
    for (int k = 0; k < n; k++) {
      if (p[k] < 0 || p[k] >= n || seen[p[k]]) ir_fail(c->g, "perm is not a permutation of 0..%d", n - 1);
      seen[p[k]] = true;
      perm[k] = (int)p[k];
    }
  }
  c->out[0] = ir_transpose(c->g, x, perm);
}

void onnx_lower_concat(OnnxCtx *c) {
  Node *first = onnx_input(c, 0, "inputs");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", c->opset < 4 ? 1 : 0), first->rank, "axis");
  if (c->opset >= 4 && !onnx_attr(c, "axis")) ir_fail(c->g, "attribute 'axis' is required");
  Node **xs = ir_alloc_array(c->g, (size_t)c->nin, sizeof(Node *));
  int n = 0;
  for (int k = 0; k < c->nin; k++) {
    Node *x = onnx_input(c, k, "inputs");
    if (x->rank == first->rank && x->dims[axis] == 0) continue; /* empty pieces add nothing */
    xs[n++] = x;
  }
  if (n == 0) xs[n++] = first;
  c->out[0] = n == 1 ? xs[0] : ir_concat(c->g, n, xs, axis);
}

/* Split: sizes from the `split` attribute (< 13) or input (>= 13); else equal
 * parts, the last one smaller when the dim does not divide (opset 18 rule). */
void onnx_lower_split(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  int nout = c->nout;
  if (nout < 1) ir_fail(c->g, "no outputs");
  int64_t *split = ir_alloc_array(c->g, (size_t)nout, sizeof(int64_t));
  int n;
  if (c->opset < 13) {
    n = onnx_attr_ints(c, "split", split, nout);
  } else {
    n = onnx_opt_input(c, 1) ? onnx_const_ints(c, 1, "split", split, nout) : -1;
    if (c->opset >= 18 && onnx_attr(c, "num_outputs") && onnx_attr_int(c, "num_outputs", 0) != nout)
      ir_fail(c->g, "num_outputs is %lld, the node has %d outputs", (long long)onnx_attr_int(c, "num_outputs", 0), nout);
  }
  int64_t dim = x->dims[axis];
  if (n < 0) {
    int64_t chunk = (dim + nout - 1) / nout;
    for (int k = 0; k < nout; k++) split[k] = chunk;
    split[nout - 1] = dim - chunk * (nout - 1);
    if (split[nout - 1] < 0) ir_fail(c->g, "cannot split %lld elements into %d parts", (long long)dim, nout);
  } else if (n != nout) {
    ir_fail(c->g, "split has %d values, the node has %d outputs", n, nout);
  }
  int64_t start[IR_MAX_RANK] = {0}, step[IR_MAX_RANK], len[IR_MAX_RANK], off = 0;
  for (int k = 0; k < x->rank; k++) {
    step[k] = 1;
    len[k] = x->dims[k];
  }
  for (int k = 0; k < nout; k++) {
    if (split[k] < 0 || split[k] > dim - off)
      ir_fail(c->g, "split sizes do not add up to the axis length %lld", (long long)dim);
    start[axis] = off;
    len[axis] = split[k];
    off += split[k];
    if (onnx_out_wanted(c, k)) c->out[k] = ir_slice(c->g, x, start, step, len);
  }
  if (off != dim) ir_fail(c->g, "split sizes add up to %lld, the axis has %lld", (long long)off, (long long)dim);
}

/* Clamp one axis of an ONNX Slice into the constructor's (start, len). */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *s_out, int64_t *len_out) {
  int64_t s = start < 0 ? start + dim : start, e = end < 0 ? end + dim : end, len;
  if (step > 0) {
    s = s < 0 ? 0 : s > dim ? dim : s;
    e = e < 0 ? 0 : e > dim ? dim : e;
    len = e > s ? (e - s - 1) / step + 1 : 0;
  } else {
    s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
    e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
    len = s > e ? (step == INT64_MIN ? 1 : (s - e - 1) / -step + 1) : 0;
  }
  *s_out = len ? s : 0;
  *len_out = len;
}

void onnx_lower_slice(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
  int ns, ne, na = -1, nst = -1;
  if (c->opset < 10) {
    ns = onnx_attr_ints(c, "starts", starts, IR_MAX_RANK);
    ne = onnx_attr_ints(c, "ends", ends, IR_MAX_RANK);
    if (ns < 0 || ne < 0) ir_fail(c->g, "attributes 'starts' and 'ends' are required");
    na = onnx_attr_ints(c, "axes", axes, IR_MAX_RANK);
  } else {
    ns = onnx_const_ints(c, 1, "starts", starts, IR_MAX_RANK);
    ne = onnx_const_ints(c, 2, "ends", ends, IR_MAX_RANK);
    if (onnx_opt_input(c, 3)) na = onnx_const_ints(c, 3, "axes", axes, IR_MAX_RANK);
    if (onnx_opt_input(c, 4)) nst = onnx_const_ints(c, 4, "steps", steps, IR_MAX_RANK);
  }
  if (ns != ne) ir_fail(c->g, "starts has %d values, ends has %d", ns, ne);
  if (na >= 0 && na != ns) ir_fail(c->g, "axes has %d values, starts has %d", na, ns);
  if (nst >= 0 && nst != ns) ir_fail(c->g, "steps has %d values, starts has %d", nst, ns);
  if (na < 0 && ns > x->rank) ir_fail(c->g, "starts has %d values, input is %d-D", ns, x->rank);
  int64_t start[IR_MAX_RANK] = {0}, step[IR_MAX_RANK], len[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  for (int k = 0; k < x->rank; k++) {
    step[k] = 1;
    len[k] = x->dims[k];
  }
  for (int k = 0; k < ns; k++) {
    int a = na >= 0 ? onnx_axis(c, axes[k], x->rank, "axis") : k;
    if (seen[a]) ir_fail(c->g, "axis %d is listed twice", a);
    seen[a] = true;
    int64_t st = nst >= 0 ? steps[k] : 1;
    if (st == 0) ir_fail(c->g, "steps[%d] is 0", k);
    step[a] = st;
    slice_axis(x->dims[a], starts[k], ends[k], st, &start[a], &len[a]);
  }
  c->out[0] = ir_slice(c->g, x, start, step, len);
}

/* Axes from the attribute (< 13) or the optional input (>= 13); -1 when absent. */
static int axes_arg(OnnxCtx *c, int64_t *axes) {
  if (c->opset < 13) return onnx_attr_ints(c, "axes", axes, IR_MAX_RANK);
  return onnx_opt_input(c, 1) ? onnx_const_ints(c, 1, "axes", axes, IR_MAX_RANK) : -1;
}

void onnx_lower_squeeze(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t axes[IR_MAX_RANK], dims[IR_MAX_RANK];
  int n = axes_arg(c, axes), rank = 0;
  bool drop[IR_MAX_RANK] = {false};
  for (int k = 0; k < n; k++) {
    int a = onnx_axis(c, axes[k], x->rank, "axis");
    if (x->dims[a] != 1) ir_fail(c->g, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
    drop[a] = true;
  }
  for (int k = 0; k < x->rank; k++)
    if (!(n < 0 ? x->dims[k] == 1 : drop[k])) dims[rank++] = x->dims[k];
  c->out[0] = ir_reshape(c->g, x, rank, dims);
}

void onnx_lower_unsqueeze(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t axes[IR_MAX_RANK], dims[IR_MAX_RANK];
  int n = c->opset < 13 ? onnx_attr_ints(c, "axes", axes, IR_MAX_RANK) : onnx_const_ints(c, 1, "axes", axes, IR_MAX_RANK);
  if (n < 0) ir_fail(c->g, "attribute 'axes' is required");
  int rank = x->rank + n;
  if (rank > IR_MAX_RANK) ir_fail(c->g, "the result would have rank %d, the limit is %d", rank, IR_MAX_RANK);
  bool ins[IR_MAX_RANK] = {false};
  for (int k = 0; k < n; k++) {
    int a = onnx_axis(c, axes[k], rank, "axis");
    if (ins[a]) ir_fail(c->g, "axis %d is listed twice", a);
    ins[a] = true;
  }
  for (int k = 0, j = 0; k < rank; k++) dims[k] = ins[k] ? 1 : x->dims[j++];
  c->out[0] = ir_reshape(c->g, x, rank, dims);
}

void onnx_lower_pad(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t pads[2 * IR_MAX_RANK], axes[IR_MAX_RANK];
  int np, na = -1;
  double value = 0;
  if (c->opset < 11) {
    np = onnx_attr_ints(c, "pads", pads, 2 * IR_MAX_RANK);
    if (np < 0) ir_fail(c->g, "attribute 'pads' is required");
    value = onnx_attr_float(c, "value", 0.0);
  } else {
    np = onnx_const_ints(c, 1, "pads", pads, 2 * IR_MAX_RANK);
    if (onnx_opt_input(c, 2) && x->dtype != DT_STRING) value = onnx_const_scalar(c, 2, "constant_value");
    if (onnx_opt_input(c, 3)) na = onnx_const_ints(c, 3, "axes", axes, IR_MAX_RANK);
  }
  if (na < 0) {
    na = x->rank;
    for (int k = 0; k < na; k++) axes[k] = k;
  }
  if (np != 2 * na) ir_fail(c->g, "pads has %d values, expected %d (2 per axis)", np, 2 * na);
  int64_t before[IR_MAX_RANK] = {0}, after[IR_MAX_RANK] = {0};
  for (int k = 0; k < 2 * na; k++) /* |pad| <= 2^40: extent + pads cannot overflow */
    if (pads[k] < -((int64_t)1 << 40) || pads[k] > (int64_t)1 << 40)
      ir_fail(c->g, "pads[%d] is %lld, out of range", k, (long long)pads[k]);
  for (int k = 0; k < na; k++) {
    int a = onnx_axis(c, axes[k], x->rank, "axis");
    before[a] = pads[k];
    after[a] = pads[na + k];
  }
  const char *mode = onnx_attr_string(c, "mode", "constant");
  PadMode m;
  if (!strcmp(mode, "constant")) m = PAD_CONSTANT;
  else if (!strcmp(mode, "reflect")) m = PAD_REFLECT;
  else if (!strcmp(mode, "edge")) m = PAD_EDGE;
  else if (!strcmp(mode, "wrap") && c->opset >= 19) m = PAD_WRAP;
  else ir_fail(c->g, "mode '%s' is not supported", mode);
  Scalar v = dt_is_float(x->dtype) ? sc_f(value) : sc_i((int64_t)value);
  if (x->dtype == DT_STRING && c->opset >= 11 && onnx_opt_input(c, 2)) { /* the fill is the text (the graph owns its bytes) */
    Node *cv = onnx_input(c, 2, "constant_value");
    if (!ir_is_const(cv) || cv->dtype != DT_STRING || cv->numel != 1)
      ir_fail(c->g, "constant_value of a string Pad must be one constant string");
    v = dt_load(cv->data, DT_STRING, 0);
  }
  c->out[0] = ir_pad(c->g, x, before, after, m, v);
}

void onnx_lower_gather(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data"), *idx = onnx_input(c, 1, "indices");
  if (!dt_is_int(idx->dtype)) ir_fail(c->g, "indices must be int32 or int64, they are %s", dt_name(idx->dtype));
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  c->out[0] = ir_gather_axis(c->g, x, idx, axis);
}

/* Expand: bidirectional numpy broadcast of the input against `shape`. */
void onnx_lower_expand(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int64_t shape[IR_MAX_RANK], dims[IR_MAX_RANK];
  int n = onnx_const_ints(c, 1, "shape", shape, IR_MAX_RANK), rank;
  for (int k = 0; k < n; k++)
    if (shape[k] < 0) ir_fail(c->g, "shape[%d] is %lld", k, (long long)shape[k]);
  if (!ir_broadcast_shape(x->rank, x->dims, n, shape, &rank, dims))
    ir_fail(c->g, "input of shape %s cannot be expanded to %s", shape_str(c->g, x->rank, x->dims),
            shape_str(c->g, n, shape));
  c->out[0] = ir_broadcast(c->g, x, rank, dims);
}

/* Tile: out[i] = x[i mod dims], each dim repeated `repeats` times. */
void onnx_lower_tile(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "input");
  int64_t rep[IR_MAX_RANK], dims[IR_MAX_RANK];
  int n = onnx_const_ints(c, 1, "repeats", rep, IR_MAX_RANK);
  if (n != x->rank) ir_fail(g, "repeats has %d values, input is %d-D", n, x->rank);
  Ix *idx[IR_MAX_RANK];
  bool same = true;
  for (int k = 0; k < x->rank; k++) {
    if (rep[k] < 0) ir_fail(g, "repeats[%d] is %lld", k, (long long)rep[k]);
    if (x->dims[k] && rep[k] > INT64_MAX / x->dims[k]) ir_fail(g, "the result is too large");
    dims[k] = x->dims[k] * rep[k];
    same &= rep[k] == 1;
    idx[k] = rep[k] == 1 || x->dims[k] == 0 ? ix_var(g, k) : ix_mod(g, ix_var(g, k), ix_const(g, x->dims[k]));
  }
  ir_numel(g, x->rank, dims); /* overflow check */
  c->out[0] = same ? x : ir_gather(g, x, x->rank, dims, idx, NULL, sc_i(0));
}

/* DepthToSpace / SpaceToDepth: reshape to 6-D, transpose, reshape back. */
void onnx_lower_depth_space(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = onnx_input(c, 0, "input");
  bool to_space = !strcmp(onnx_op_type(c->node), "DepthToSpace");
  int64_t b = onnx_attr_int(c, "blocksize", 0);
  if (x->rank != 4) ir_fail(g, "input is %d-D, needs [N, C, H, W]", x->rank);
  if (b < 1) ir_fail(g, "blocksize is %lld, must be >= 1", (long long)b);
  int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  int64_t d6[6], out[4];
  int perm[6];
  if (to_space) {
    if (C % (b * b)) ir_fail(g, "channels (%lld) are not a multiple of blocksize^2", (long long)C);
    const char *mode = onnx_attr_string(c, "mode", "DCR");
    bool crd = !strcmp(mode, "CRD");
    if (!crd && strcmp(mode, "DCR")) ir_fail(g, "mode '%s' is not DCR or CRD", mode);
    int64_t dcr[6] = {N, b, b, C / (b * b), H, W}, crdd[6] = {N, C / (b * b), b, b, H, W};
    int pdcr[6] = {0, 3, 4, 1, 5, 2}, pcrd[6] = {0, 1, 4, 2, 5, 3};
    memcpy(d6, crd ? crdd : dcr, sizeof d6);
    memcpy(perm, crd ? pcrd : pdcr, sizeof perm);
    int64_t o[4] = {N, C / (b * b), H * b, W * b};
    memcpy(out, o, sizeof out);
  } else {
    if (H % b || W % b) ir_fail(g, "spatial dims %lldx%lld are not multiples of blocksize %lld", (long long)H,
                                (long long)W, (long long)b);
    int64_t d[6] = {N, C, H / b, b, W / b, b};
    int p[6] = {0, 3, 5, 1, 2, 4};
    memcpy(d6, d, sizeof d6);
    memcpy(perm, p, sizeof perm);
    int64_t o[4] = {N, C * b * b, H / b, W / b};
    memcpy(out, o, sizeof out);
  }
  c->out[0] = ir_reshape(g, ir_transpose(g, ir_reshape(g, x, 6, d6), perm), 4, out);
}
