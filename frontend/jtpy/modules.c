/* modules.c: a whole-module pickle (torch.save(model)) as a meta-op graph.
 *
 * Only containers whose data flow the pickle defines are compiled: an
 * nn.Sequential runs its children in order, so a Sequential (nested too) of
 * standard layers becomes a chain of ir/ops.h constructors, each honoring the
 * attributes stored in the pickle (stride, padding, dilation, groups, eps...).
 * A module's record is {class, state}; its state is the instance __dict__:
 * _parameters and _buffers (dicts of tensors), _modules (children in order)
 * and the layer's own attributes. A user class (anything outside
 * torch.nn.modules) has its own forward(), which the pickle does not hold:
 * that is an error naming the alternatives.
 *
 * Also here: flattening any value to named tensors (state dicts, checkpoints,
 * modules) and the printer behind `jtc inspect`.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ops.h"

typedef struct {
  JtCtx *c;
  Graph *g;
  const char *path;          /* dotted child path, "" for the root */
  const char *cls;           /* short class name */
  PyVal *mod;                /* the module record */
  PyVal *dict;               /* its __dict__ */
  char ctx[300];
} Layer;

static const char supported[] =
  "Sequential, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, Linear, BatchNorm1d, BatchNorm2d, LayerNorm, "
  "GroupNorm, ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Hardswish, Hardsigmoid, Softplus, Softmax, "
  "LogSoftmax, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, Flatten, Dropout, "
  "Identity, Embedding";

static _Noreturn void lfail(Layer *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void lfail(Layer *L, const char *fmt, ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  jt_fail(L->c, -1, "%s: %s", L->ctx, msg);
}

static PyVal *attr(Layer *L, const char *name) {
  return jt_dict_get(L->dict, name);
}

static int64_t attr_int(Layer *L, const char *name, int64_t def) {
  PyVal *v = attr(L, name);
  if (!v || v->kind == PY_NONE) return def;
  if ((v->kind != PY_INT && v->kind != PY_BOOL) || v->big) lfail(L, "attribute '%s' is a %s, not an int", name, jt_kind_name(v->kind));
  return v->i;
}

static double attr_float(Layer *L, const char *name, double def) {
  PyVal *v = attr(L, name);
  if (!v || v->kind == PY_NONE) return def;
  if (v->kind == PY_FLOAT) return v->f;
  if (v->kind == PY_INT && !v->big) return (double)v->i;
  lfail(L, "attribute '%s' is a %s, not a number", name, jt_kind_name(v->kind));
}

static const char *attr_str(Layer *L, const char *name, const char *def) {
  PyVal *v = attr(L, name);
  if (!v || v->kind == PY_NONE) return def;
  if (v->kind != PY_STR) lfail(L, "attribute '%s' is a %s, not a str", name, jt_kind_name(v->kind));
  return v->s;
}

/* An int or a tuple of n ints (torch's _pair/_single); absent or None: def. */
static void attr_ints(Layer *L, const char *name, int n, int64_t *out, int64_t def) {
  PyVal *v = attr(L, name);
  for (int k = 0; k < n; k++) out[k] = def;
  if (!v || v->kind == PY_NONE || ((v->kind == PY_TUPLE || v->kind == PY_LIST) && v->n == 0)) return;
  if (v->kind == PY_INT && !v->big) {
    for (int k = 0; k < n; k++) out[k] = v->i;
  } else {
    if ((v->kind != PY_TUPLE && v->kind != PY_LIST) || (v->n != (size_t)n && v->n != 1))
      lfail(L, "attribute '%s' is not an int or a tuple of %d ints", name, n);
    for (int k = 0; k < n; k++) {
      PyVal *e = v->items[v->n == 1 ? 0 : k];
      if (e->kind != PY_INT || e->big) lfail(L, "attribute '%s' item %d is a %s, not an int", name, k, jt_kind_name(e->kind));
      out[k] = e->i;
    }
  }
  for (int k = 0; k < n; k++) /* sizes, strides, paddings: |v| <= 2^40 keeps shape arithmetic from overflowing */
    if (out[k] < -JT_MAX_NUMEL || out[k] > JT_MAX_NUMEL)
      lfail(L, "attribute '%s' item %d is %lld, out of range", name, k, (long long)out[k]);
}

/* A parameter or buffer as a constant of x's dtype; NULL if absent or None. */
static Node *tensor_of(Layer *L, const char *name, Dtype want) {
  PyVal *v = jt_dict_get(jt_dict_get(L->dict, "_parameters"), name);
  if (!v) v = jt_dict_get(jt_dict_get(L->dict, "_buffers"), name);
  if (!v || v->kind == PY_NONE) return NULL;
  if (v->kind != PY_TENSOR || !v->tensor) lfail(L, "'%s' is a %s, not a tensor", name, jt_kind_name(v->kind));
  char what[400];
  snprintf(what, sizeof what, "%s: '%s'", L->ctx, name);
  void *data = jt_tensor_dense(L->c, v->tensor, what);
  Node *n = ir_const(L->g, v->tensor->dt, v->tensor->rank, v->tensor->dims, data);
  if (want != DT_UNDEF && dt_is_float(want) && dt_is_float(n->dtype)) n = ir_fold(L->g, ir_cast(L->g, n, want));
  return n;
}

static Node *need(Layer *L, const char *name, Dtype want) {
  Node *n = tensor_of(L, name, want);
  if (!n) lfail(L, "has no '%s' tensor", name);
  return n;
}

static void need_rank(Layer *L, Node *x, int lo, int hi) {
  if (x->rank < lo || x->rank > hi) {
    if (lo == hi) lfail(L, "input has %d dims, %s wants %d", x->rank, L->cls, lo);
    lfail(L, "input has %d dims, %s wants %d to %d", x->rank, L->cls, lo, hi);
  }
}

/* [C] constant reshaped to broadcast along axis 1 of a rank-r tensor */
static Node *along_c(Layer *L, Node *v, int r) {
  int64_t dims[IR_MAX_RANK];
  dims[0] = v->numel;
  for (int k = 1; k < r - 1; k++) dims[k] = 1;
  return ir_reshape(L->g, v, r - 1, dims);
}

/* ---- layers ---- */
static int spatial_of(const char *cls) {
  size_t n = strlen(cls);
  return n >= 2 && cls[n - 1] == 'd' && cls[n - 2] >= '1' && cls[n - 2] <= '3' ? cls[n - 2] - '0' : 0;
}

static Node *explicit_pad(Layer *L, Node *x, int nsp, const int64_t *pad, const char *mode) {
  PadMode pm = !strcmp(mode, "reflect") ? PAD_REFLECT : !strcmp(mode, "replicate") ? PAD_EDGE
             : !strcmp(mode, "circular") ? PAD_WRAP : PAD_CONSTANT;
  if (pm == PAD_CONSTANT) lfail(L, "padding_mode '%s' is not supported", mode);
  int64_t before[IR_MAX_RANK] = {0}, after[IR_MAX_RANK] = {0};
  for (int s = 0; s < nsp; s++) before[2 + s] = after[2 + s] = pad[s];
  return ir_pad(L->g, x, before, after, pm, sc_f(0));
}

static Node *conv(Layer *L, Node *x, bool transposed) {
  int nsp = spatial_of(L->cls);
  need_rank(L, x, nsp + 2, nsp + 2);
  Node *w = need(L, "weight", x->dtype), *b = tensor_of(L, "bias", x->dtype);
  if (w->rank != nsp + 2) lfail(L, "weight has %d dims, want %d", w->rank, nsp + 2);
  WindowParams p = {0};
  p.nsp = nsp;
  p.group = attr_int(L, "groups", 1);
  if (p.group < 1) lfail(L, "groups is %lld", (long long)p.group);
  for (int s = 0; s < nsp; s++) p.kernel[s] = w->dims[2 + s];
  attr_ints(L, "stride", nsp, p.stride, 1);
  attr_ints(L, "dilation", nsp, p.dilation, 1);
  for (int s = 0; s < nsp; s++)
    if (p.stride[s] < 1 || p.dilation[s] < 1) lfail(L, "stride %lld / dilation %lld must be >= 1", (long long)p.stride[s], (long long)p.dilation[s]);
  int64_t pad[IR_MAX_SPATIAL];
  PyVal *pv = attr(L, "padding");
  if (pv && pv->kind == PY_STR) {
    if (transposed) lfail(L, "string padding '%s' on a transposed conv", pv->s);
    for (int s = 0; s < nsp; s++) {
      int64_t total = !strcmp(pv->s, "same") ? p.dilation[s] * (p.kernel[s] - 1) : 0;
      if (strcmp(pv->s, "same") && strcmp(pv->s, "valid")) lfail(L, "padding '%s' is not 'same' or 'valid'", pv->s);
      p.pad_begin[s] = total / 2;
      p.pad_end[s] = total - total / 2;
      pad[s] = -1;
    }
  } else {
    attr_ints(L, "padding", nsp, pad, 0);
    for (int s = 0; s < nsp; s++) {
      if (pad[s] < 0) lfail(L, "padding %lld is negative", (long long)pad[s]);
      p.pad_begin[s] = p.pad_end[s] = pad[s];
    }
  }
  const char *mode = attr_str(L, "padding_mode", "zeros");
  if (strcmp(mode, "zeros")) {
    if (transposed || pad[0] < 0) lfail(L, "padding_mode '%s' is only supported with int padding on Conv", mode);
    x = explicit_pad(L, x, nsp, pad, mode);
    for (int s = 0; s < nsp; s++) p.pad_begin[s] = p.pad_end[s] = 0;
  }
  if (!transposed) return ir_conv(L->g, x, w, b, &p);
  attr_ints(L, "output_padding", nsp, p.output_padding, 0);
  return ir_conv_transpose(L->g, x, w, b, &p);
}

static Node *linear(Layer *L, Node *x) {
  Node *w = need(L, "weight", x->dtype), *b = tensor_of(L, "bias", x->dtype);
  if (w->rank != 2) lfail(L, "weight has %d dims, want 2", w->rank);
  need_rank(L, x, 1, IR_MAX_RANK);
  if (x->dims[x->rank - 1] != w->dims[1])
    lfail(L, "input's last dim is %lld, in_features is %lld", (long long)x->dims[x->rank - 1], (long long)w->dims[1]);
  if (x->rank == 2) return ir_gemm(L->g, x, w, b, 1.0, 1.0, false, true);
  int perm[2] = {1, 0};
  Node *y = ir_matmul(L->g, x, ir_fold(L->g, ir_transpose(L->g, w, perm)));
  return b ? ir_binary(L->g, MAP_ADD, y, b) : y;
}

/* A parameter or buffer's values as doubles (arena), n elements; NULL if absent. */
static double *host_doubles(Layer *L, const char *name, int64_t n) {
  PyVal *v = jt_dict_get(jt_dict_get(L->dict, "_parameters"), name);
  if (!v) v = jt_dict_get(jt_dict_get(L->dict, "_buffers"), name);
  if (!v || v->kind == PY_NONE) return NULL;
  if (v->kind != PY_TENSOR || !v->tensor) lfail(L, "'%s' is a %s, not a tensor", name, jt_kind_name(v->kind));
  if (v->tensor->rank != 1 || v->tensor->dims[0] != n || !dt_is_float(v->tensor->dt))
    lfail(L, "'%s' must be a float tensor of [%lld] (input channels)", name, (long long)n);
  void *data = jt_tensor_dense(L->c, v->tensor, L->ctx);
  double *d = jt_alloc_array(L->c, (size_t)n, sizeof(double));
  for (int64_t k = 0; k < n; k++) d[k] = dt_load(data, v->tensor->dt, k).f;
  return d;
}

/* y = x * a[c] + b[c], a and b computed here from the stored statistics */
static Node *batchnorm(Layer *L, Node *x) {
  need_rank(L, x, 2, IR_MAX_RANK);
  int64_t c = x->dims[1];
  double *mean = host_doubles(L, "running_mean", c), *var = host_doubles(L, "running_var", c);
  if (!mean || !var) lfail(L, "has no running statistics (track_running_stats=False); only inference with stored statistics is compiled");
  double *w = host_doubles(L, "weight", c), *b = host_doubles(L, "bias", c);
  double eps = attr_float(L, "eps", 1e-5);
  double *a = jt_alloc_array(L->c, (size_t)c, sizeof(double)), *s = jt_alloc_array(L->c, (size_t)c, sizeof(double));
  for (int64_t k = 0; k < c; k++) {
    a[k] = (w ? w[k] : 1.0) / sqrt(var[k] + eps);
    s[k] = (b ? b[k] : 0.0) - mean[k] * a[k];
  }
  Node *an = ir_cast(L->g, ir_const(L->g, DT_F64, 1, &c, a), x->dtype), *sn = ir_cast(L->g, ir_const(L->g, DT_F64, 1, &c, s), x->dtype);
  an = ir_fold(L->g, along_c(L, ir_fold(L->g, an), x->rank));
  sn = ir_fold(L->g, along_c(L, ir_fold(L->g, sn), x->rank));
  return ir_binary(L->g, MAP_ADD, ir_binary(L->g, MAP_MUL, x, an), sn);
}

static Node *layernorm(Layer *L, Node *x) {
  PyVal *ns = attr(L, "normalized_shape");
  if (!ns || ns->kind != PY_TUPLE || ns->n == 0 || ns->n > (size_t)x->rank)
    lfail(L, "normalized_shape must be a tuple of at most %d dims", x->rank);
  int axis = x->rank - (int)ns->n;
  for (size_t k = 0; k < ns->n; k++)
    if (ns->items[k]->kind != PY_INT || ns->items[k]->i != x->dims[axis + (int)k])
      lfail(L, "normalized_shape does not match the input's last %zu dims", ns->n);
  return ir_layernorm(L->g, x, tensor_of(L, "weight", x->dtype), tensor_of(L, "bias", x->dtype), axis,
                      attr_float(L, "eps", 1e-5));
}

static Node *groupnorm(Layer *L, Node *x) {
  need_rank(L, x, 2, IR_MAX_RANK);
  int64_t G = attr_int(L, "num_groups", 0), C = x->dims[1];
  if (G < 1 || C % G) lfail(L, "num_groups %lld does not divide the %lld channels", (long long)G, (long long)C);
  int64_t d3[3] = {x->dims[0], G, x->numel / (x->dims[0] ? x->dims[0] : 1) / G};
  if (x->dims[0] == 0) d3[2] = 0;
  Node *y = ir_layernorm(L->g, ir_reshape(L->g, x, 3, d3), NULL, NULL, 2, attr_float(L, "eps", 1e-5));
  y = ir_reshape(L->g, y, x->rank, x->dims);
  Node *w = tensor_of(L, "weight", x->dtype), *b = tensor_of(L, "bias", x->dtype);
  if (w) y = ir_binary(L->g, MAP_MUL, y, along_c(L, w, x->rank));
  if (b) y = ir_binary(L->g, MAP_ADD, y, along_c(L, b, x->rank));
  return y;
}

static Node *pool(Layer *L, Node *x, bool max) {
  int nsp = spatial_of(L->cls);
  need_rank(L, x, nsp + 2, nsp + 2);
  WindowParams p = {0};
  p.nsp = nsp;
  p.group = 1;
  attr_ints(L, "kernel_size", nsp, p.kernel, 0);
  attr_ints(L, "stride", nsp, p.stride, 0);
  attr_ints(L, "dilation", nsp, p.dilation, 1);
  int64_t pad[IR_MAX_SPATIAL];
  attr_ints(L, "padding", nsp, pad, 0);
  for (int s = 0; s < nsp; s++) {
    if (p.stride[s] == 0) p.stride[s] = p.kernel[s]; /* stride=None */
    if (p.kernel[s] < 1 || p.stride[s] < 1 || p.dilation[s] < 1 || pad[s] < 0 || pad[s] * 2 > p.kernel[s])
      lfail(L, "kernel %lld, stride %lld, padding %lld, dilation %lld are not valid", (long long)p.kernel[s],
            (long long)p.stride[s], (long long)pad[s], (long long)p.dilation[s]);
    p.pad_begin[s] = p.pad_end[s] = pad[s];
  }
  p.ceil_mode = attr_int(L, "ceil_mode", 0) != 0;
  if (max) {
    if (attr_int(L, "return_indices", 0)) lfail(L, "return_indices=True is not supported");
    return ir_maxpool(L->g, x, &p);
  }
  PyVal *dov = attr(L, "divisor_override");
  if (dov && dov->kind != PY_NONE) lfail(L, "divisor_override is not supported");
  p.count_include_pad = attr_int(L, "count_include_pad", 1) != 0;
  return ir_avgpool(L->g, x, &p);
}

/* Adaptive average pooling as products with [out, in] averaging matrices:
 * row i averages x[floor(i*in/out) : ceil((i+1)*in/out)]. */
static Node *adaptive_avg(Layer *L, Node *x) {
  int nsp = spatial_of(L->cls);
  need_rank(L, x, nsp + 1, nsp + 2);
  int64_t out[IR_MAX_SPATIAL];
  attr_ints(L, "output_size", nsp, out, -1); /* None entries keep the size */
  PyVal *ov = attr(L, "output_size");
  for (int s = 0; s < nsp; s++) {
    int64_t in = x->dims[x->rank - nsp + s];
    if (ov && ov->kind == PY_TUPLE && ov->n == (size_t)nsp && ov->items[s]->kind == PY_NONE) out[s] = in;
    if (out[s] < 1 || in < 1) lfail(L, "output_size %lld for an input of %lld", (long long)out[s], (long long)in);
  }
  for (int s = nsp - 1; s >= 0; s--) {
    int ax = x->rank - nsp + s;
    int64_t in = x->dims[ax], o = out[s], md[2] = {o, in};
    float *m = jt_alloc_array(L->c, (size_t)(o * in), sizeof(float));
    for (int64_t i = 0; i < o; i++) {
      int64_t a = i * in / o, b = ((i + 1) * in + o - 1) / o;
      for (int64_t j = a; j < b; j++) m[i * in + j] = 1.0f / (float)(b - a);
    }
    Node *mat = ir_cast(L->g, ir_const(L->g, DT_F32, 2, md, m), x->dtype);
    if (ax == x->rank - 1) {
      int perm[2] = {1, 0};
      x = ir_matmul(L->g, x, ir_fold(L->g, ir_transpose(L->g, mat, perm)));
    } else { /* ax == rank-2 */
      x = ir_matmul(L->g, ir_fold(L->g, mat), x);
    }
  }
  return x;
}

static Node *flatten(Layer *L, Node *x) {
  int64_t s = attr_int(L, "start_dim", 1), e = attr_int(L, "end_dim", -1), r = x->rank ? x->rank : 1;
  if (s < 0) s += r;
  if (e < 0) e += r;
  if (s < 0 || e >= r || s > e) lfail(L, "start_dim/end_dim %lld..%lld do not fit an input of %d dims", (long long)s, (long long)e, x->rank);
  if (x->rank == 0) return x;
  int64_t dims[IR_MAX_RANK];
  int n = 0;
  for (int k = 0; k < s; k++) dims[n++] = x->dims[k];
  int64_t prod = 1;
  for (int64_t k = s; k <= e; k++) prod *= x->dims[k];
  dims[n++] = prod;
  for (int64_t k = e + 1; k < x->rank; k++) dims[n++] = x->dims[k];
  return ir_reshape(L->g, x, n, dims);
}

static Node *softmax(Layer *L, Node *x, bool log) {
  PyVal *d = attr(L, "dim");
  int64_t dim;
  if (!d || d->kind == PY_NONE) dim = x->rank == 0 || x->rank == 1 || x->rank == 3 ? 0 : 1; /* torch's implicit dim */
  else dim = attr_int(L, "dim", 0);
  if (dim < 0) dim += x->rank;
  if (dim < 0 || dim >= (x->rank ? x->rank : 1)) lfail(L, "dim %lld is out of range for %d dims", (long long)attr_int(L, "dim", 0), x->rank);
  return ir_softmax(L->g, x, (int)dim, log);
}

static Node *embedding(Layer *L, Node *x) {
  Node *w = need(L, "weight", DT_UNDEF);
  if (w->rank != 2) lfail(L, "weight has %d dims, want 2", w->rank);
  if (dt_is_float(x->dtype)) lfail(L, "input is %s; Embedding takes integer indices", dt_name(x->dtype));
  PyVal *mn = attr(L, "max_norm");
  if (mn && mn->kind != PY_NONE) lfail(L, "max_norm is not supported");
  return ir_gather_axis(L->g, w, x, 0);
}

static Node *run_module(JtCtx *c, Graph *g, PyVal *mod, const char *path, Node *x, int depth);

static Node *layer(Layer *L, Node *x, int depth) {
  const char *k = L->cls;
  Graph *g = L->g;
  if (!strcmp(k, "Sequential")) {
    PyVal *ch = attr(L, "_modules");
    if (!ch || ch->kind != PY_DICT) lfail(L, "has no _modules dict");
    for (size_t j = 0; j + 1 < ch->n; j += 2) {
      PyVal *key = ch->items[j], *sub = ch->items[j + 1];
      if (key->kind != PY_STR) lfail(L, "child name is a %s", jt_kind_name(key->kind));
      if (sub->kind == PY_NONE) continue;
      char *p = jt_alloc(L->c, strlen(L->path) + key->len + 2);
      sprintf(p, "%s%s%s", L->path, *L->path ? "." : "", key->s);
      x = run_module(L->c, g, sub, p, x, depth + 1);
    }
    return x;
  }
  if (!strcmp(k, "Conv1d") || !strcmp(k, "Conv2d") || !strcmp(k, "Conv3d")) return conv(L, x, false);
  if (!strcmp(k, "ConvTranspose1d") || !strcmp(k, "ConvTranspose2d") || !strcmp(k, "ConvTranspose3d")) return conv(L, x, true);
  if (!strcmp(k, "Linear")) return linear(L, x);
  if (!strcmp(k, "BatchNorm1d") || !strcmp(k, "BatchNorm2d") || !strcmp(k, "BatchNorm3d")) return batchnorm(L, x);
  if (!strcmp(k, "LayerNorm")) return layernorm(L, x);
  if (!strcmp(k, "GroupNorm")) return groupnorm(L, x);
  if (!strcmp(k, "Dropout") || !strcmp(k, "Dropout1d") || !strcmp(k, "Dropout2d") || !strcmp(k, "Dropout3d") ||
      !strcmp(k, "AlphaDropout") || !strcmp(k, "Identity"))
    return x;
  if (!strcmp(k, "ReLU")) return ir_relu(g, x);
  if (!strcmp(k, "ReLU6")) return ir_clip(g, x, ir_scalar_like(g, x, 0), ir_scalar_like(g, x, 6));
  if (!strcmp(k, "LeakyReLU")) return ir_leaky_relu(g, x, attr_float(L, "negative_slope", 0.01));
  if (!strcmp(k, "ELU")) return ir_elu(g, x, attr_float(L, "alpha", 1.0));
  if (!strcmp(k, "GELU")) {
    const char *ap = attr_str(L, "approximate", "none");
    if (strcmp(ap, "none") && strcmp(ap, "tanh")) lfail(L, "approximate '%s' is not 'none' or 'tanh'", ap);
    return ir_gelu(g, x, !strcmp(ap, "tanh"));
  }
  if (!strcmp(k, "SiLU")) return ir_binary(g, MAP_MUL, x, ir_unary(g, MAP_SIGMOID, x));
  if (!strcmp(k, "Sigmoid")) return ir_unary(g, MAP_SIGMOID, x);
  if (!strcmp(k, "Tanh")) return ir_unary(g, MAP_TANH, x);
  if (!strcmp(k, "Hardswish")) return ir_hard_swish(g, x);
  if (!strcmp(k, "Hardsigmoid")) return ir_hard_sigmoid(g, x, 1.0 / 6, 0.5);
  if (!strcmp(k, "Softplus")) {
    if (attr_float(L, "beta", 1) != 1) lfail(L, "beta other than 1 is not supported");
    return ir_softplus(g, x);
  }
  if (!strcmp(k, "Softmax")) return softmax(L, x, false);
  if (!strcmp(k, "LogSoftmax")) return softmax(L, x, true);
  if (!strcmp(k, "MaxPool1d") || !strcmp(k, "MaxPool2d") || !strcmp(k, "MaxPool3d")) return pool(L, x, true);
  if (!strcmp(k, "AvgPool1d") || !strcmp(k, "AvgPool2d") || !strcmp(k, "AvgPool3d")) return pool(L, x, false);
  if (!strcmp(k, "AdaptiveAvgPool1d") || !strcmp(k, "AdaptiveAvgPool2d")) return adaptive_avg(L, x);
  if (!strcmp(k, "Flatten")) return flatten(L, x);
  if (!strcmp(k, "Embedding")) return embedding(L, x);
  lfail(L, "layer class %s is not supported in whole-module pickles (supported: %s)", L->mod->cls->s, supported);
}

static const char *user_class_help =
  "the pickle stores its parameters but not its forward(), so its data flow is unknown. "
  "Alternatives: export the model to ONNX (torch.onnx.export) and compile that, or compile an ONNX export of the "
  "architecture with --weights FILE, FILE holding the state dict (torch.save(model.state_dict(), FILE)); "
  "an nn.Sequential of standard layers compiles directly";

static Node *run_module(JtCtx *c, Graph *g, PyVal *mod, const char *path, Node *x, int depth) {
  Layer L = {0};
  L.c = c;
  L.g = g;
  L.path = path;
  L.mod = mod;
  if (depth > JT_MAX_DEPTH) jt_fail(c, -1, "module '%s': modules nested deeper than %d", path, JT_MAX_DEPTH);
  if (mod->kind != PY_OBJ || !mod->cls || mod->cls->kind != PY_GLOBAL)
    jt_fail(c, -1, "module '%s' is a %s, not a module object", *path ? path : "(root)", jt_kind_name(mod->kind));
  const char *full = mod->cls->s, *dot = strrchr(full, '.');
  L.cls = dot ? dot + 1 : full;
  snprintf(L.ctx, sizeof L.ctx, "module '%s' (%s)", *path ? path : "(root)", L.cls);
  if (strncmp(full, "torch.nn.modules.", 17))
    jt_fail(c, -1, "%s: '%s' is a user-defined module class: %s", L.ctx, full, user_class_help);
  L.dict = jt_obj_dict(mod);
  if (!L.dict) lfail(&L, "has no attribute dict");
  g->context = L.ctx;
  g->cur_origin = ir_strdup(g, *path ? path : "root");
  g->cur_op = ir_strdup(g, L.cls);
  return layer(&L, x, depth);
}

/* The first leaf layer, to pick the input dtype (Embedding takes int64). */
static const char *first_leaf(PyVal *mod, int depth) {
  if (depth > JT_MAX_DEPTH || mod->kind != PY_OBJ || !mod->cls || mod->cls->kind != PY_GLOBAL) return NULL;
  const char *dot = strrchr(mod->cls->s, '.'), *k = dot ? dot + 1 : mod->cls->s;
  if (strcmp(k, "Sequential")) return k;
  PyVal *ch = jt_dict_get(jt_obj_dict(mod), "_modules");
  for (size_t j = 0; ch && ch->kind == PY_DICT && j + 1 < ch->n; j += 2)
    if (ch->items[j + 1]->kind != PY_NONE) return first_leaf(ch->items[j + 1], depth + 1);
  return NULL;
}

void jt_build_module_graph(JtCtx *c, Graph *g, PyVal *root, const OnnxOptions *opt) {
  if (root->kind == PY_DICT) {
    size_t nt = 0;
    for (size_t k = 1; k < root->n; k += 2) nt += root->items[k]->kind == PY_TENSOR;
    jt_fail(c, -1, "holds a dict (%zu entries, %zu tensors: a state dict?), not a module; a state dict has no "
            "architecture: compile an ONNX export of the model with --weights %s", root->n / 2, nt, c->path);
  }
  if (root->kind != PY_OBJ) jt_fail(c, -1, "holds a %s, not a module", jt_kind_name(root->kind));
  /* the user-class check first, so its message wins over a missing --shape */
  if (root->cls && root->cls->kind == PY_GLOBAL && strncmp(root->cls->s, "torch.nn.modules.", 17))
    jt_fail(c, -1, "'%s' is a user-defined module class: %s", root->cls->s, user_class_help);
  const OnnxShapeOverride *sh = NULL;
  for (int k = 0; opt && k < opt->nshapes; k++) {
    if (strcmp(opt->shapes[k].name, "input"))
      jt_fail(c, -1, "--shape names '%s'; a whole-module pickle has one input, named 'input'", opt->shapes[k].name);
    sh = &opt->shapes[k];
  }
  for (int k = 0; opt && k < opt->nbinds; k++) jt_fail(c, -1, "--bind does not apply to a whole-module pickle");
  if (!sh)
    jt_fail(c, -1, "a whole-module pickle does not record its input shape: give it with --shape input=D0,D1,... "
            "(e.g. --shape input=1,3,32,32)");
  const char *first = first_leaf(root, 0);
  Dtype dt = first && !strcmp(first, "Embedding") ? DT_I64 : DT_F32;
  Node *x = ir_input(g, "input", dt, sh->rank, sh->dims);
  x->name = "input";
  Node *y = run_module(c, g, root, "", x, 0);
  g->context = NULL;
  g->cur_origin = g->cur_op = NULL;
  if (y->kind == NODE_LEAF || (y->flags & NF_OUTPUT)) y = ir_unary(g, MAP_COPY, y);
  ir_mark_output(g, y, "output");
}

/* ---- named tensors ---- */
static void add_named(JtCtx *c, JtNamed **out, size_t *n, size_t *cap, const char *name, JtTensor *t) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 32;
    JtNamed *a = jt_alloc_array(c, nc, sizeof *a);
    if (*n) memcpy(a, *out, *n * sizeof *a);
    *out = a;
    *cap = nc;
  }
  (*out)[*n].name = name;
  (*out)[(*n)++].t = t;
}

static const char *join(JtCtx *c, const char *prefix, const char *key) {
  char *s = jt_alloc(c, strlen(prefix) + strlen(key) + 2);
  sprintf(s, "%s%s%s", prefix, *prefix ? "." : "", key);
  return s;
}

/* Values visited by one walk (depth 0 starts one). The memo lets a few hundred
 * bytes of pickle share one value twice per level, 60 levels deep: a walk
 * bounded by depth alone would take 2^60 steps. */
#define JT_MAX_VISITS (1 << 20)

void jt_collect_tensors(JtCtx *c, PyVal *v, const char *prefix, JtNamed **out, size_t *n, size_t *cap, int depth) {
  static long visits;
  if (depth == 0) visits = 0;
  if (++visits > JT_MAX_VISITS)
    jt_fail(c, -1, "more than %d values reached walking the pickle's structure (a value shared over and over?)",
            JT_MAX_VISITS);
  if (depth > JT_MAX_DEPTH) jt_fail(c, -1, "values nested deeper than %d (or a cycle) at '%s'", JT_MAX_DEPTH, prefix);
  switch (v->kind) {
  case PY_TENSOR:
    if (v->tensor) add_named(c, out, n, cap, prefix, v->tensor);
    return;
  case PY_DICT:
    for (size_t k = 0; k + 1 < v->n; k += 2) {
      PyVal *key = v->items[k];
      char num[32];
      const char *ks = key->kind == PY_STR ? key->s : key->kind == PY_INT ? (snprintf(num, sizeof num, "%lld", (long long)key->i), num) : NULL;
      if (ks) jt_collect_tensors(c, v->items[k + 1], join(c, prefix, ks), out, n, cap, depth + 1);
    }
    return;
  case PY_OBJ: { /* a module: parameters, buffers, then children */
    PyVal *d = jt_obj_dict(v);
    if (!d) return;
    PyVal *parts[3] = {jt_dict_get(d, "_parameters"), jt_dict_get(d, "_buffers"), jt_dict_get(d, "_modules")};
    if (!parts[0] && !parts[1] && !parts[2]) {
      jt_collect_tensors(c, d, prefix, out, n, cap, depth + 1);
      return;
    }
    for (int k = 0; k < 3; k++)
      if (parts[k]) jt_collect_tensors(c, parts[k], prefix, out, n, cap, depth + 1);
    return;
  }
  default:
    return;
  }
}

/* ---- printing (jtc inspect) ---- */
static void print_dims(FILE *f, const JtTensor *t) {
  fprintf(f, "%s[", dt_name(t->dt));
  for (int k = 0; k < t->rank; k++) fprintf(f, "%s%lld", k ? "," : "", (long long)t->dims[k]);
  fprintf(f, "]");
}

void jt_print_value(FILE *f, const PyVal *v, int depth, int indent) {
  static long printed; /* values printed by one call from depth 0: shared values print each time */
  if (depth == 0) printed = 0;
  if (depth > 12 || ++printed > 20000) {
    fprintf(f, "...");
    return;
  }
  switch (v->kind) {
  case PY_NONE: fprintf(f, "None"); break;
  case PY_BOOL: fprintf(f, v->i ? "True" : "False"); break;
  case PY_INT: fprintf(f, v->big ? "<big int>" : "%lld", (long long)v->i); break;
  case PY_FLOAT: fprintf(f, "%g", v->f); break;
  case PY_STR: fprintf(f, "'%.60s%s'", v->s, v->len > 60 ? "..." : ""); break;
  case PY_BYTES: fprintf(f, "<%zu bytes>", v->len); break;
  case PY_GLOBAL: fprintf(f, "%s", v->s); break;
  case PY_DTYPE: fprintf(f, "dtype(%s)", dt_name(v->dt)); break;
  case PY_STORAGE: fprintf(f, "<storage %s>", v->storage->key); break;
  case PY_TENSOR:
    if (v->tensor) print_dims(f, v->tensor);
    else fprintf(f, "<array>");
    break;
  case PY_TUPLE: case PY_LIST: case PY_SET:
    fprintf(f, v->kind == PY_TUPLE ? "(" : v->kind == PY_LIST ? "[" : "{");
    for (size_t k = 0; k < v->n && k < 16; k++) {
      if (k) fprintf(f, ", ");
      jt_print_value(f, v->items[k], depth + 1, indent);
    }
    if (v->n > 16) fprintf(f, ", ... (%zu items)", v->n);
    fprintf(f, v->kind == PY_TUPLE ? (v->n == 1 ? ",)" : ")") : v->kind == PY_LIST ? "]" : "}");
    break;
  case PY_DICT:
    fprintf(f, "{");
    for (size_t k = 0; k + 1 < v->n && k < 32; k += 2) {
      if (k) fprintf(f, ", ");
      jt_print_value(f, v->items[k], depth + 1, indent);
      fprintf(f, ": ");
      jt_print_value(f, v->items[k + 1], depth + 1, indent);
    }
    if (v->n > 32) fprintf(f, ", ... (%zu entries)", v->n / 2);
    fprintf(f, "}");
    break;
  case PY_OBJ: {
    fprintf(f, "%s", v->cls ? v->cls->s : "?");
    PyVal *d = jt_obj_dict(v);
    PyVal *mods = d ? jt_dict_get(d, "_modules") : NULL;
    if (!d || !mods) { /* a plain record: show its state */
      if (v->state) {
        fprintf(f, " ");
        jt_print_value(f, v->state, depth + 1, indent);
      } else if (v->args && v->args->n) {
        jt_print_value(f, v->args, depth + 1, indent);
      }
      break;
    }
    /* a module: attributes on one line, children below */
    fprintf(f, "(");
    int shown = 0;
    for (size_t k = 0; k + 1 < d->n; k += 2) {
      const PyVal *key = d->items[k], *val = d->items[k + 1];
      if (key->kind != PY_STR || key->s[0] == '_' || !strcmp(key->s, "training")) continue;
      fprintf(f, "%s%s=", shown++ ? ", " : "", key->s);
      jt_print_value(f, val, depth + 1, indent);
    }
    fprintf(f, ")");
    for (size_t k = 0; k + 1 < mods->n; k += 2) {
      fprintf(f, "\n%*s", indent + 2, "");
      jt_print_value(f, mods->items[k], depth + 1, indent + 2);
      fprintf(f, ": ");
      jt_print_value(f, mods->items[k + 1], depth + 1, indent + 2);
    }
    break;
  }
  default: fprintf(f, "<%s>", jt_kind_name(v->kind)); break;
  }
}
