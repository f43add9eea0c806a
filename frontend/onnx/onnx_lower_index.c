/* onnx_lower_index.c: lowerings of ONNX's indexing operators: GatherElements,
 * GatherND, ScatterElements (and its opset 9-10 name Scatter), ScatterND,
 * Trilu, CumSum, EyeLike, OneHot, ReverseSequence, Hardmax, BitShift, Einsum
 * and Compress. Each checks the node's attributes and constant operands and
 * calls the matching constructor in ir/ops_index.c. Opset differences: the
 * scatters' `reduction` (16: add, mul; 18: max, min), GatherND's batch_dims
 * (12), Hardmax's 2-D coercion before 13.
 */
#include "frontend/onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

void onnx_lower_gather_elements(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data"), *ind = onnx_input(c, 1, "indices");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  c->out[0] = ir_gather_elements(c->g, x, ind, axis);
}

void onnx_lower_gather_nd(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data"), *ind = onnx_input(c, 1, "indices");
  int64_t b = onnx_attr_int(c, "batch_dims", 0);
  if (b < 0 || b >= IR_MAX_RANK) ir_fail(c->g, "batch_dims %lld is out of range", (long long)b);
  c->out[0] = ir_gather_nd(c->g, x, ind, (int)b);
}

/* The scatters' `reduction` attribute (opset 16+). */
static ReduceOp scatter_reduction(OnnxCtx *c) {
  const char *r = onnx_attr_string(c, "reduction", "none");
  if (!strcmp(r, "none")) return RED_ASSIGN;
  if (!strcmp(r, "add")) return RED_ADD;
  if (!strcmp(r, "mul")) return RED_MUL;
  if (!strcmp(r, "max")) return RED_MAX;
  if (!strcmp(r, "min")) return RED_MIN;
  ir_fail(c->g, "reduction '%s' is not one of none, add, mul, max, min", r);
}

void onnx_lower_scatter_elements(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data"), *ind = onnx_input(c, 1, "indices"), *upd = onnx_input(c, 2, "updates");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  c->out[0] = ir_scatter_elements(c->g, x, ind, upd, axis, scatter_reduction(c));
}

void onnx_lower_scatter_nd(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data"), *ind = onnx_input(c, 1, "indices"), *upd = onnx_input(c, 2, "updates");
  c->out[0] = ir_scatter_nd(c->g, x, ind, upd, scatter_reduction(c));
}

void onnx_lower_trilu(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  int64_t k = 0;
  if (onnx_opt_input(c, 1)) {
    int64_t v[1];
    if (onnx_const_ints(c, 1, "k", v, 1) != 1) ir_fail(c->g, "input 'k' must hold one value");
    k = v[0];
  }
  c->out[0] = ir_trilu(c->g, x, onnx_attr_int(c, "upper", 1) != 0, k);
}

void onnx_lower_cumsum(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "x");
  int64_t a[1];
  if (onnx_const_ints(c, 1, "axis", a, 1) != 1) ir_fail(c->g, "input 'axis' must hold one value");
  int axis = onnx_axis(c, a[0], x->rank, "axis");
  c->out[0] = ir_cumsum(c->g, x, axis, onnx_attr_int(c, "exclusive", 0) != 0, onnx_attr_int(c, "reverse", 0) != 0);
}

void onnx_lower_eye_like(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  if (x->rank != 2) ir_fail(c->g, "input must be 2-D, it is %d-D", x->rank);
  Dtype t = x->dtype;
  if (onnx_attr(c, "dtype")) {
    int64_t dt = onnx_attr_int(c, "dtype", 0);
    t = dt > 0 && dt < 1000 ? onnx_dtype((int)dt) : DT_UNDEF;
    if (t == DT_UNDEF) ir_fail(c->g, "dtype %lld is not supported", (long long)dt);
  }
  c->out[0] = ir_eye(c->g, t, x->dims[0], x->dims[1], onnx_attr_int(c, "k", 0));
}

void onnx_lower_one_hot(OnnxCtx *c) {
  Node *ind = onnx_input(c, 0, "indices"), *values = onnx_input(c, 2, "values");
  double d = onnx_const_scalar(c, 1, "depth");
  if (!isfinite(d) || d < 1 || d > 1e15) ir_fail(c->g, "depth %g must be a positive count", d);
  int64_t axis = onnx_attr_int(c, "axis", -1);
  int r = ind->rank;
  if (axis < -(int64_t)r - 1 || axis > r)
    ir_fail(c->g, "axis %lld is out of range for a %d-D result", (long long)axis, r + 1);
  if (axis < 0) axis += r + 1;
  if (values->rank == 0) ir_fail(c->g, "values must be 1-D [off_value, on_value], it is a scalar");
  c->out[0] = ir_one_hot(c->g, ind, (int64_t)d, values, (int)axis);
}

void onnx_lower_reverse_sequence(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input"), *lens = onnx_input(c, 1, "sequence_lens");
  int64_t b = onnx_attr_int(c, "batch_axis", 1), t = onnx_attr_int(c, "time_axis", 0);
  if (b < 0 || b > 1 || t < 0 || t > 1)
    ir_fail(c->g, "batch_axis %lld and time_axis %lld must be 0 or 1", (long long)b, (long long)t);
  c->out[0] = ir_reverse_sequence(c->g, x, lens, (int)b, (int)t);
}

/* Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the
 * hardmax runs over the second dim. */
void onnx_lower_hardmax(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  if (x->rank == 0) ir_fail(c->g, "input must have at least one dimension");
  if (c->opset >= 13) {
    c->out[0] = ir_hardmax(c->g, x, onnx_axis(c, onnx_attr_int(c, "axis", -1), x->rank, "axis"));
    return;
  }
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 1), x->rank, "axis");
  int64_t rows = 1, cols = 1;
  for (int k = 0; k < x->rank; k++) *(k < axis ? &rows : &cols) *= x->dims[k];
  int64_t d2[2] = {rows, cols};
  Node *y = ir_hardmax(c->g, ir_reshape(c->g, x, 2, d2), 1);
  c->out[0] = ir_reshape(c->g, y, x->rank, x->dims);
}

void onnx_lower_bit_shift(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X"), *y = onnx_input(c, 1, "Y");
  const char *dir = onnx_attr_string(c, "direction", "");
  bool left = !strcmp(dir, "LEFT");
  if (!left && strcmp(dir, "RIGHT")) ir_fail(c->g, "direction must be 'LEFT' or 'RIGHT', it is '%s'", dir);
  if (!dt_is_int(x->dtype) || dt_is_signed(x->dtype))
    ir_fail(c->g, "BitShift needs unsigned integer operands, got %s", dt_name(x->dtype));
  c->out[0] = ir_binary(c->g, left ? MAP_SHL : MAP_SHR, x, y);
}

void onnx_lower_einsum(OnnxCtx *c) {
  const Onnx__AttributeProto *a = onnx_attr(c, "equation");
  if (!a) ir_fail(c->g, "attribute 'equation' is required");
  const char *eq = onnx_attr_string(c, "equation", "");
  Node *xs[IR_MAX_RANK];
  if (c->nin > IR_MAX_RANK) ir_fail(c->g, "%d inputs, at most %d supported", c->nin, IR_MAX_RANK);
  for (int k = 0; k < c->nin; k++) xs[k] = onnx_input(c, k, "Inputs");
  c->out[0] = ir_einsum(c->g, eq, c->nin, xs);
}

/* Compress's output shape is the count of true conditions: only a constant
 * condition (or one pinned with --bind) can be compiled. */
void onnx_lower_compress(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input"), *cond = onnx_input(c, 1, "condition");
  if (cond->kind == NODE_LEAF && cond->leaf == LEAF_INPUT)
    ir_fail(c->g, "input 'condition' must be a constant: the output's shape depends on its values, but it is "
                  "graph input '%s' (pin its value with --bind %s=FILE.pb)", cond->name, cond->name);
  if (!ir_is_const(cond))
    ir_fail(c->g, "input 'condition' is computed at run time: the output's shape depends on its values, "
                  "which a statically shaped compiled model cannot follow");
  int axis = -1;
  if (onnx_attr(c, "axis")) axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  c->out[0] = ir_compress(c->g, x, cond, axis);
}
