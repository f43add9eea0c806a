/* onnx_lower_const.c: operators whose result is known at compile time:
 * Constant (value, value_float(s), value_int(s), value_string(s)), Shape (start/end from opset
 * 15) and Size of statically shaped tensors, ConstantOfShape, and Range of
 * constant scalars. Results are constants (ConstantOfShape is a broadcast of
 * one scalar, folded by the loader when small), so the shape arithmetic of
 * exported models folds away before any shape-like input is needed.
 */
#include "frontend/onnx/onnx_internal.h"

#include <math.h>
#include <string.h>

#define MAX_RANGE ((int64_t)1 << 26) /* elements a Range constant may have */

void onnx_lower_constant(OnnxCtx *c) {
  Graph *g = c->g;
  if (onnx_attr(c, "value")) {
    c->out[0] = onnx_attr_tensor(c, "value");
  } else if (onnx_attr(c, "value_float")) {
    c->out[0] = ir_scalar(g, DT_F32, onnx_attr_float(c, "value_float", 0));
  } else if (onnx_attr(c, "value_int")) {
    int64_t v = onnx_attr_int(c, "value_int", 0);
    c->out[0] = ir_const(g, DT_I64, 0, NULL, &v);
  } else if (onnx_attr(c, "value_floats")) {
    const Onnx__AttributeProto *a = onnx_attr(c, "value_floats");
    int n = (int)a->n_floats;
    double *d = ir_alloc_array(g, (size_t)n + 1, sizeof(double));
    float *f = ir_alloc_array(g, (size_t)n + 1, sizeof(float));
    onnx_attr_floats(c, "value_floats", d, n);
    for (int k = 0; k < n; k++) f[k] = (float)d[k];
    c->out[0] = ir_const(g, DT_F32, 1, (int64_t[]){n}, f);
  } else if (onnx_attr(c, "value_ints")) {
    const Onnx__AttributeProto *a = onnx_attr(c, "value_ints");
    int n = (int)a->n_ints;
    int64_t *v = ir_alloc_array(g, (size_t)n + 1, sizeof(int64_t));
    onnx_attr_ints(c, "value_ints", v, n);
    c->out[0] = ir_const(g, DT_I64, 1, (int64_t[]){n}, v);
  } else if (onnx_attr(c, "value_string")) {
    const char *v = onnx_attr_string(c, "value_string", "");
    const Onnx__AttributeProto *a = onnx_attr(c, "value_string");
    if (a->s.len != strlen(v)) ir_fail(g, "attribute 'value_string' contains a NUL byte");
    char slot[8];
    dt_store(slot, DT_STRING, 0, (Scalar){0, (int64_t)(intptr_t)v});
    c->out[0] = ir_const(g, DT_STRING, 0, NULL, slot);
  } else if (onnx_attr(c, "value_strings")) {
    const char **v;
    int n = onnx_attr_strings(c, "value_strings", &v);
    char *slots = ir_alloc_array(g, (size_t)n + 1, 8);
    for (int k = 0; k < n; k++) dt_store(slots, DT_STRING, k, (Scalar){0, (int64_t)(intptr_t)v[k]});
    c->out[0] = ir_const(g, DT_STRING, 1, (int64_t[]){n}, slots);
  } else if (onnx_attr(c, "sparse_value")) {
    ir_fail(g, "sparse constants are not supported");
  } else {
    ir_fail(g, "no value attribute");
  }
}

void onnx_lower_shape(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  int64_t start = 0, end = x->rank;
  if (c->opset >= 15) {
    start = onnx_attr_int(c, "start", 0);
    end = onnx_attr_int(c, "end", x->rank);
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < 0 ? 0 : end > x->rank ? x->rank : end;
    if (end < start) end = start;
  }
  int64_t n = end - start;
  c->out[0] = ir_const(c->g, DT_I64, 1, &n, x->dims + start);
}

void onnx_lower_size(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  c->out[0] = ir_const(c->g, DT_I64, 0, NULL, &x->numel);
}

void onnx_lower_constant_of_shape(OnnxCtx *c) {
  Graph *g = c->g;
  int64_t dims[IR_MAX_RANK];
  int n = onnx_const_ints(c, 0, "input", dims, IR_MAX_RANK);
  for (int k = 0; k < n; k++)
    if (dims[k] < 0) ir_fail(g, "input[%d] is %lld", k, (long long)dims[k]);
  ir_numel(g, n, dims); /* overflow check */
  Node *v = onnx_attr_tensor(c, "value");
  if (!v) v = ir_scalar(g, DT_F32, 0.0);
  if (v->numel != 1) ir_fail(g, "attribute 'value' must have one element, it has %lld", (long long)v->numel);
  if (v->rank) v = ir_const(g, v->dtype, 0, NULL, v->data);
  c->out[0] = ir_broadcast(g, v, n, dims);
}

void onnx_lower_range(OnnxCtx *c) {
  Graph *g = c->g;
  Node *s = onnx_input(c, 0, "start");
  Dtype dt = s->dtype;
  for (int k = 1; k < 3; k++)
    if (onnx_input(c, k, k == 1 ? "limit" : "delta")->dtype != dt)
      ir_fail(g, "start, limit and delta must have one type");
  double start = onnx_const_scalar(c, 0, "start"), limit = onnx_const_scalar(c, 1, "limit");
  double delta = onnx_const_scalar(c, 2, "delta");
  if (delta == 0) ir_fail(g, "delta is 0");
  double len = ceil((limit - start) / delta);
  if (!(len >= 0)) len = 0;
  if (len > (double)MAX_RANGE) ir_fail(g, "Range of %.0f elements is too large to make a constant", len);
  int64_t n = (int64_t)len;
  void *buf = ir_alloc_array(g, (size_t)(n ? n : 1), dt_size(dt));
  if (dt_is_float(dt)) {
    for (int64_t k = 0; k < n; k++) dt_store(buf, dt, k, sc_f(start + (double)k * delta));
  } else {
    Node *ln = c->in[1], *dn = c->in[2];
    int64_t is = sc_as_i(dt_load(s->data, dt, 0), dt), id = sc_as_i(dt_load(dn->data, dt, 0), dt);
    int64_t il = sc_as_i(dt_load(ln->data, dt, 0), dt);
    /* exact integer count: ceil((limit - start) / delta) */
    int64_t span, cnt = 0;
    if (__builtin_sub_overflow(il, is, &span)) ir_fail(g, "limit - start overflows");
    if (id > 0 && span > 0) cnt = (span + id - 1) / id;
    else if (id < 0 && span < 0) cnt = (span + 1) / id + 1;
    if (cnt > MAX_RANGE) ir_fail(g, "Range of %lld elements is too large to make a constant", (long long)cnt);
    if (cnt != n) buf = ir_alloc_array(g, (size_t)(cnt ? cnt : 1), dt_size(dt));
    n = cnt;
    for (int64_t k = 0; k < n; k++) dt_store(buf, dt, k, sc_i(is + k * id));
  }
  c->out[0] = ir_const(g, dt, 1, &n, buf);
}
