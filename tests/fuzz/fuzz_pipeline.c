/* fuzz_pipeline.c: bytes -> a small ONNX graph -> the whole of jtc: the
 * loader, the pass pipeline and the C code generator writing net.c/net.h
 * (and net.weights) into a temp directory.
 *
 * The bytes are decisions, not a file: how many inputs and their shapes
 * (float32, rank 1-4, dims 1-5), then up to 10 nodes, each an operator from
 * the table below applied to values made so far, with attributes and constant
 * operands (initializers) drawn from the input. A small shape tracker keeps
 * most graphs valid (so they reach the passes and the generator); one choice
 * in 16 takes an attribute from a wider, often invalid range instead, which
 * the loader must refuse cleanly. The model is serialized with protobuf-c.
 *
 * Differential check: the meta-op graph is evaluated by the reference
 * interpreter (ir_eval_graph) before and after the passes, which rewrite it
 * (GATHER composition, identity removal, fusion marks); every output must be
 * bit-identical (NaN matching NaN). Compiling the generated C is left to the
 * conformance suites. The first byte also picks --naive and the weights mode.
 */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/cgen.h"
#include "frontend/onnx/onnx.h"
#include "onnx.pb-c.h"
#include "passes/passes.h"
#include "tests/fuzz/fuzz.h"

#define MAXV 48     /* values (inputs and node outputs) */
#define MAXNODE 10
#define MAXINIT 64
#define MAXDIM 5

typedef struct {
  char name[16];
  int rank;
  int64_t d[6];
} Val;

typedef struct {
  FuzzIn in;
  bool wild;                   /* this choice may be out of range */
  Val v[MAXV];
  int nv;
  Onnx__NodeProto *node[MAXNODE];
  int nnode;
  Onnx__TensorProto *init[MAXINIT];
  int ninit;
  int names;
  void **blocks;               /* everything malloc'ed for the model, freed at the end */
  int nblocks, capblocks;
} B;

static void *bal(B *b, size_t n) {
  if (b->nblocks == b->capblocks) {
    b->capblocks = b->capblocks ? 2 * b->capblocks : 256;
    b->blocks = realloc(b->blocks, (size_t)b->capblocks * sizeof *b->blocks);
  }
  void *p = calloc(1, n ? n : 1);
  b->blocks[b->nblocks++] = p;
  return p;
}

static char *bstr(B *b, const char *s) {
  char *p = bal(b, strlen(s) + 1);
  strcpy(p, s);
  return p;
}

/* A choice in [lo, hi]; "wild" choices (1 in 16) come from [wlo, whi]. */
static int64_t pick(B *b, int64_t lo, int64_t hi, int64_t wlo, int64_t whi) {
  if ((fz_u8(&b->in) & 15) == 15) {
    b->wild = true;
    return fz_range(&b->in, wlo, whi);
  }
  return fz_range(&b->in, lo, hi);
}

static int64_t numel(int rank, const int64_t *d) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) n *= d[k];
  return n;
}

/* ---- model pieces ---- */
static const char *init_f32(B *b, int rank, const int64_t *d) {
  if (b->ninit == MAXINIT) return NULL;
  Onnx__TensorProto *t = bal(b, sizeof *t);
  onnx__tensor_proto__init(t);
  char nm[16];
  snprintf(nm, sizeof nm, "c%d", b->names++);
  t->name = bstr(b, nm);
  t->has_data_type = true;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  t->n_dims = (size_t)rank;
  t->dims = bal(b, (size_t)(rank + 1) * sizeof(int64_t));
  memcpy(t->dims, d, (size_t)rank * sizeof(int64_t));
  int64_t n = numel(rank, d);
  t->n_float_data = (size_t)n;
  t->float_data = bal(b, (size_t)(n + 1) * sizeof(float));
  for (int64_t k = 0; k < n; k++) {
    uint8_t c = fz_u8(&b->in);
    t->float_data[k] = c == 255 ? NAN : c == 254 ? INFINITY : ((float)c - 100.0f) / 16.0f;
  }
  b->init[b->ninit++] = t;
  return t->name;
}

static const char *init_i64(B *b, int n, const int64_t *vals) {
  if (b->ninit == MAXINIT) return NULL;
  Onnx__TensorProto *t = bal(b, sizeof *t);
  onnx__tensor_proto__init(t);
  char nm[16];
  snprintf(nm, sizeof nm, "c%d", b->names++);
  t->name = bstr(b, nm);
  t->has_data_type = true;
  t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
  t->n_dims = 1;
  t->dims = bal(b, sizeof(int64_t));
  t->dims[0] = n;
  t->n_int64_data = (size_t)n;
  t->int64_data = bal(b, (size_t)(n + 1) * sizeof(int64_t));
  memcpy(t->int64_data, vals, (size_t)n * sizeof(int64_t));
  b->init[b->ninit++] = t;
  return t->name;
}

static Onnx__NodeProto *node(B *b, const char *op, int nin, const char *const *ins) {
  if (b->nnode == MAXNODE) return NULL;
  Onnx__NodeProto *n = bal(b, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = bstr(b, op);
  char nm[16];
  snprintf(nm, sizeof nm, "n%d", b->nnode);
  n->name = bstr(b, nm);
  n->n_input = (size_t)nin;
  n->input = bal(b, (size_t)(nin + 1) * sizeof(char *));
  for (int k = 0; k < nin; k++) n->input[k] = bstr(b, ins[k] ? ins[k] : "");
  n->attribute = bal(b, 8 * sizeof(Onnx__AttributeProto *));
  b->node[b->nnode++] = n;
  return n;
}

/* Adds an output value of the given shape to n; returns it (NULL if full). */
static Val *out(B *b, Onnx__NodeProto *n, int rank, const int64_t *d) {
  if (b->nv == MAXV) return NULL;
  Val *v = &b->v[b->nv++];
  snprintf(v->name, sizeof v->name, "v%d", b->names++);
  v->rank = rank;
  if (rank) memcpy(v->d, d, (size_t)rank * sizeof(int64_t));
  /* a shape the tracker got wrong on purpose (wild choices), or too large for
   * the interpreter: still an output, never an operand */
  int64_t cnt = 1;
  for (int k = 0; k < rank; k++) cnt = d[k] < 1 || d[k] > 64 || cnt < 0 ? -1 : cnt * d[k];
  if (cnt < 0 || cnt > 4096) v->rank = -1;
  char **o = bal(b, (n->n_output + 2) * sizeof(char *));
  if (n->n_output) memcpy(o, n->output, n->n_output * sizeof(char *));
  o[n->n_output++] = bstr(b, v->name);
  n->output = o;
  return v;
}

static Onnx__AttributeProto *attr(B *b, Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type) {
  if (n->n_attribute == 8) return NULL;
  Onnx__AttributeProto *a = bal(b, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = bstr(b, name);
  a->has_type = true;
  a->type = type;
  n->attribute[n->n_attribute++] = a;
  return a;
}

static void attr_i(B *b, Onnx__NodeProto *n, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  if (a) a->has_i = true, a->i = v;
}

static void attr_f(B *b, Onnx__NodeProto *n, const char *name, float v) {
  Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  if (a) a->has_f = true, a->f = v;
}

static void attr_s(B *b, Onnx__NodeProto *n, const char *name, const char *v) {
  Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  if (a) a->has_s = true, a->s.data = (uint8_t *)bstr(b, v), a->s.len = strlen(v);
}

static void attr_is(B *b, Onnx__NodeProto *n, const char *name, int k, const int64_t *v) {
  Onnx__AttributeProto *a = attr(b, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  if (!a) return;
  a->n_ints = (size_t)k;
  a->ints = bal(b, (size_t)(k + 1) * sizeof(int64_t));
  memcpy(a->ints, v, (size_t)k * sizeof(int64_t));
}

static Onnx__ValueInfoProto *value_info(B *b, const Val *v) {
  Onnx__ValueInfoProto *vi = bal(b, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = bstr(b, v->name);
  Onnx__TypeProto *tp = bal(b, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = bal(b, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = true;
  tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
  Onnx__TensorShapeProto *sh = bal(b, sizeof *sh);
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = (size_t)v->rank;
  sh->dim = bal(b, (size_t)(v->rank + 1) * sizeof *sh->dim);
  for (int k = 0; k < v->rank; k++) {
    Onnx__TensorShapeProto__Dimension *d = bal(b, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = v->d[k];
    sh->dim[k] = d;
  }
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

/* ---- operators: each picks operands from the values so far ---- */
/* a value of rank lo..hi (searching from a chosen one), or NULL */
static Val *val_rank(B *b, int lo, int hi) {
  int start = (int)fz_range(&b->in, 0, b->nv - 1);
  for (int k = 0; k < b->nv; k++) {
    Val *v = &b->v[(start + k) % b->nv];
    if (v->rank >= lo && v->rank <= hi) return v;
  }
  return NULL;
}

static Val *any_val(B *b) { return val_rank(b, 0, 6); }

static void op_unary(B *b) {
  static const char *const ops[] = {"Relu", "Sigmoid", "Tanh", "Exp", "Abs", "Neg", "Sqrt", "Softplus", "LeakyRelu",
                                    "Elu", "HardSigmoid", "Erf", "Floor", "Identity", "Reciprocal", "Softsign", "Sign"};
  Val *x = any_val(b);
  if (!x) return;
  const char *op = ops[fz_range(&b->in, 0, sizeof ops / sizeof ops[0] - 1)];
  Onnx__NodeProto *n = node(b, op, 1, (const char *[]){x->name});
  if (!n) return;
  if (!strcmp(op, "LeakyRelu") || !strcmp(op, "Elu")) attr_f(b, n, "alpha", (float)fz_range(&b->in, 0, 20) / 10);
  out(b, n, x->rank, x->d);
}

/* a constant broadcastable to x: each dim 1 or x's, maybe fewer leading dims */
static const char *bcast_const(B *b, const Val *x) {
  int drop = (int)fz_range(&b->in, 0, x->rank);
  int r = x->rank - drop;
  int64_t d[6];
  for (int k = 0; k < r; k++) d[k] = fz_bool(&b->in) ? 1 : x->d[drop + k];
  if (b->wild && r) d[0] = pick(b, d[0], d[0], 0, 7);
  return init_f32(b, r, d);
}

static void op_binary(B *b) {
  static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "PRelu"};
  Val *x = any_val(b);
  if (!x) return;
  const char *op = ops[fz_range(&b->in, 0, 7)];
  const char *y = NULL;
  /* the other operand: a value of the same shape, or a broadcast constant */
  for (int k = 0; k < b->nv && fz_bool(&b->in); k++)
    if (b->v[k].rank == x->rank && !memcmp(b->v[k].d, x->d, (size_t)x->rank * sizeof(int64_t))) y = b->v[k].name;
  if (!y) y = bcast_const(b, x);
  if (!y) return;
  bool swap = fz_bool(&b->in) && strcmp(op, "PRelu");
  Onnx__NodeProto *n = node(b, op, 2, swap ? (const char *[]){y, x->name} : (const char *[]){x->name, y});
  if (n) out(b, n, x->rank, x->d);
}

static void op_matmul(B *b) {
  Val *x = val_rank(b, 1, 4);
  if (!x) return;
  int64_t K = x->d[x->rank - 1], N = pick(b, 1, MAXDIM, 0, 8);
  int64_t wd[2] = {K, N};
  if (b->wild) wd[0] = pick(b, K, K, 1, 6);
  bool gemm = x->rank == 2 && fz_bool(&b->in);
  if (!gemm) {
    const char *w = init_f32(b, 2, wd);
    Onnx__NodeProto *n = w ? node(b, "MatMul", 2, (const char *[]){x->name, w}) : NULL;
    if (!n) return;
    int64_t od[6];
    memcpy(od, x->d, sizeof od);
    if (x->rank == 1) out(b, n, 1, &N);
    else od[x->rank - 1] = N, out(b, n, x->rank, od);
    return;
  }
  int64_t tA = fz_bool(&b->in), tB = fz_bool(&b->in);
  int64_t M = tA ? x->d[1] : x->d[0];
  K = tA ? x->d[0] : x->d[1];
  int64_t bd[2] = {tB ? N : K, tB ? K : N};
  const char *w = init_f32(b, 2, bd);
  int cr = (int)fz_range(&b->in, 0, 2);
  int64_t cd[2] = {cr == 2 ? M : N, N};
  const char *c = cr ? init_f32(b, cr, cr == 1 ? &N : cd) : NULL;
  Onnx__NodeProto *n = w ? node(b, "Gemm", c ? 3 : 2, (const char *[]){x->name, w, c}) : NULL;
  if (!n) return;
  if (tA) attr_i(b, n, "transA", 1);
  if (tB) attr_i(b, n, "transB", 1);
  if (fz_bool(&b->in)) attr_f(b, n, "alpha", (float)fz_range(&b->in, -4, 4) / 2);
  int64_t od[2] = {M, N};
  out(b, n, 2, od);
}

/* output size of a window op along one axis; <= 0 when invalid */
static int64_t win_out(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1, int64_t dil, bool ceil_mode) {
  int64_t span = (k - 1) * dil + 1, room = in + p0 + p1 - span;
  if (room < 0 || s <= 0) return 0;
  return (ceil_mode ? (room + s - 1) / s : room / s) + 1;
}

static void op_conv_pool(B *b) {
  Val *x = val_rank(b, 3, 4);
  if (!x) return;
  int sp = x->rank - 2;
  static const char *const ops[] = {"Conv", "MaxPool", "AveragePool", "ConvTranspose", "GlobalAveragePool", "GlobalMaxPool"};
  int which = (int)fz_range(&b->in, 0, 5);
  const char *op = ops[which];
  if (which >= 4) {
    Onnx__NodeProto *n = node(b, op, 1, (const char *[]){x->name});
    int64_t od[6] = {x->d[0], x->d[1], 1, 1};
    if (n) out(b, n, x->rank, od);
    return;
  }
  int64_t k[2], s[2], p[4], dl[2], od[6] = {x->d[0], x->d[1]};
  bool ceil_mode = which == 1 || which == 2 ? fz_bool(&b->in) : false;
  for (int a = 0; a < sp; a++) {
    k[a] = pick(b, 1, 3, 0, 7);
    s[a] = pick(b, 1, 2, 0, 3);
    p[a] = pick(b, 0, k[a] - 1, -1, 4);
    p[a + sp] = pick(b, 0, k[a] - 1, -1, 4);
    dl[a] = which == 0 || which == 3 ? pick(b, 1, 2, 0, 3) : 1;
  }
  int64_t C = x->d[1], group = 1, M = C;
  const char *w = NULL, *bias = NULL;
  if (which == 0 || which == 3) {
    group = fz_bool(&b->in) ? C : 1;
    if (b->wild || fz_bool(&b->in)) group = pick(b, group, group, 0, 4);
    M = which == 0 ? group * pick(b, 1, 3, 0, 3) : group * pick(b, 1, 2, 1, 2);
    int64_t wd[4] = {which == 0 ? M : C, which == 0 ? (group ? C / group : 0) : (group ? M / group : 0), k[0], k[1]};
    w = init_f32(b, 2 + sp, wd);
    if (fz_bool(&b->in)) bias = init_f32(b, 1, &M);
  }
  for (int a = 0; a < sp; a++) {
    if (which == 3) {
      od[2 + a] = s[a] * (x->d[2 + a] - 1) + (k[a] - 1) * dl[a] + 1 - p[a] - p[a + sp];
    } else {
      od[2 + a] = win_out(x->d[2 + a], k[a], s[a], p[a], p[a + sp], dl[a], ceil_mode);
    }
    if (od[2 + a] <= 0) b->wild = true;
  }
  od[1] = M;
  Onnx__NodeProto *n = node(b, op, w ? (bias ? 3 : 2) : 1, (const char *[]){x->name, w, bias});
  if (!n) return;
  if (which != 0 || fz_bool(&b->in)) attr_is(b, n, "kernel_shape", sp, k);
  attr_is(b, n, "strides", sp, s);
  if (fz_range(&b->in, 0, 7) == 0) attr_s(b, n, "auto_pad", fz_bool(&b->in) ? "SAME_UPPER" : "VALID"), b->wild = true;
  else attr_is(b, n, "pads", 2 * sp, p);
  if (which == 0 || which == 3) {
    attr_is(b, n, "dilations", sp, dl);
    attr_i(b, n, "group", group);
  }
  if (ceil_mode) attr_i(b, n, "ceil_mode", 1);
  if (which == 2 && fz_bool(&b->in)) attr_i(b, n, "count_include_pad", 1);
  out(b, n, x->rank, od);
}

static void op_transpose(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  int64_t perm[6], od[6];
  for (int k = 0; k < x->rank; k++) perm[k] = k;
  for (int k = x->rank - 1; k > 0; k--) {
    int j = (int)fz_range(&b->in, 0, k);
    int64_t t = perm[k];
    perm[k] = perm[j], perm[j] = t;
  }
  if (x->rank) perm[0] = pick(b, perm[0], perm[0], -1, x->rank);
  for (int k = 0; k < x->rank; k++) od[k] = perm[k] >= 0 && perm[k] < x->rank ? x->d[perm[k]] : 1;
  Onnx__NodeProto *n = node(b, "Transpose", 1, (const char *[]){x->name});
  if (!n) return;
  if (x->rank > 1 || fz_bool(&b->in)) attr_is(b, n, "perm", x->rank, perm);
  else for (int k = 0; k < x->rank; k++) od[k] = x->d[x->rank - 1 - k];
  out(b, n, x->rank, od);
}

static void op_reshape(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  int64_t n = numel(x->rank, x->d), sh[6], od[6];
  int r = (int)fz_range(&b->in, 1, 4);
  int64_t rest = n;
  for (int k = 0; k < r - 1; k++) { /* a divisor of what is left */
    int64_t c = fz_range(&b->in, 1, rest < 6 ? rest : 6);
    while (rest % c) c--;
    sh[k] = od[k] = c;
    rest /= c;
  }
  sh[r - 1] = od[r - 1] = rest;
  int special = (int)fz_range(&b->in, 0, 3);
  if (special == 1) sh[fz_range(&b->in, 0, r - 1)] = -1;
  if (special == 2) {
    int k = (int)fz_range(&b->in, 0, r - 1);
    if (k < x->rank && x->d[k] == od[k]) sh[k] = 0;
  }
  if (special == 3) sh[0] = pick(b, sh[0], sh[0], -2, 7);
  if (b->wild) sh[0] = pick(b, sh[0], sh[0], -2, 30);
  const char *s = init_i64(b, r, sh);
  Onnx__NodeProto *nd = s ? node(b, fz_bool(&b->in) ? "Reshape" : "Flatten", 0, NULL) : NULL;
  if (!nd) return;
  if (!strcmp(nd->op_type, "Flatten")) {
    int64_t axis = pick(b, 0, x->rank, -x->rank - 1, x->rank + 1);
    nd->n_input = 1;
    nd->input = bal(b, 2 * sizeof(char *));
    nd->input[0] = bstr(b, x->name);
    attr_i(b, nd, "axis", axis);
    int64_t a = axis < 0 ? axis + x->rank : axis;
    int64_t fd[2] = {a >= 0 && a <= x->rank ? numel((int)a, x->d) : 1, a >= 0 && a <= x->rank ? numel(x->rank - (int)a, x->d + a) : 1};
    out(b, nd, 2, fd);
    return;
  }
  nd->n_input = 2;
  nd->input = bal(b, 3 * sizeof(char *));
  nd->input[0] = bstr(b, x->name);
  nd->input[1] = bstr(b, s);
  out(b, nd, r, od);
}

static void op_slice(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  if (!x->rank) return;
  int64_t st[6], en[6], ax[6], sp[6], od[6];
  memcpy(od, x->d, sizeof od);
  int na = 0;
  for (int a = 0; a < x->rank; a++) {
    if (!fz_bool(&b->in)) continue;
    int64_t d = x->d[a];
    int64_t step = pick(b, 1, 2, -3, 3);
    if (fz_bool(&b->in)) step = -step;
    int64_t s = fz_range(&b->in, -d - 1, d + 1), e = fz_range(&b->in, -d - 1, d + 1);
    if (fz_range(&b->in, 0, 7) == 0) e = step > 0 ? INT64_MAX : INT64_MIN;
    if (b->wild && step == 0) step = 1, b->wild = true;
    /* ONNX: clamp start and end, count the steps */
    int64_t cs = s < 0 ? s + d : s, ce = e == INT64_MAX ? d : e == INT64_MIN ? -1 : e < 0 ? e + d : e, len;
    if (step > 0) {
      cs = cs < 0 ? 0 : cs > d ? d : cs;
      ce = ce < 0 ? 0 : ce > d ? d : ce;
      len = ce > cs ? (ce - cs + step - 1) / step : 0;
    } else {
      cs = cs < 0 ? -1 : cs > d - 1 ? d - 1 : cs;
      ce = ce < -1 ? -1 : ce > d - 1 ? d - 1 : ce;
      len = cs > ce ? (cs - ce - step - 1) / -step : 0;
    }
    st[na] = s, en[na] = e, ax[na] = fz_bool(&b->in) ? a - x->rank : a, sp[na] = step;
    od[a] = len;
    na++;
  }
  if (!na) return;
  const char *s = init_i64(b, na, st), *e = init_i64(b, na, en), *a = init_i64(b, na, ax), *p = init_i64(b, na, sp);
  Onnx__NodeProto *n = s && e && a && p ? node(b, "Slice", 5, (const char *[]){x->name, s, e, a, p}) : NULL;
  if (n) out(b, n, x->rank, od);
}

static void op_concat(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  if (!x->rank) return;
  int axis = (int)fz_range(&b->in, 0, x->rank - 1);
  int64_t yd[6];
  memcpy(yd, x->d, sizeof yd);
  yd[axis] = pick(b, 1, 3, 0, 3);
  const char *y = init_f32(b, x->rank, yd);
  bool self = fz_bool(&b->in);
  Onnx__NodeProto *n = y ? node(b, "Concat", 3, (const char *[]){x->name, y, self ? x->name : y}) : NULL;
  if (!n) return;
  attr_i(b, n, "axis", fz_bool(&b->in) ? axis - x->rank : axis);
  int64_t od[6];
  memcpy(od, x->d, sizeof od);
  od[axis] = x->d[axis] * (self ? 2 : 1) + yd[axis] * (self ? 1 : 2);
  out(b, n, x->rank, od);
}

static void op_pad(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  static const char *const modes[] = {"constant", "reflect", "edge"};
  int m = (int)fz_range(&b->in, 0, 2);
  int64_t pads[12], od[6];
  for (int a = 0; a < x->rank; a++) {
    int64_t hi = m == 1 ? x->d[a] - 1 : 2;
    pads[a] = pick(b, x->d[a] > 1 ? -1 : 0, hi, -3, 5);
    pads[a + x->rank] = pick(b, 0, hi, -3, 5);
    od[a] = x->d[a] + pads[a] + pads[a + x->rank];
  }
  const char *p = init_i64(b, 2 * x->rank, pads);
  Onnx__NodeProto *n = p ? node(b, "Pad", 2, (const char *[]){x->name, p}) : NULL;
  if (!n) return;
  attr_s(b, n, "mode", modes[m]);
  out(b, n, x->rank, od);
}

static void op_reduce(B *b) {
  static const char *const ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
                                    "ReduceLogSumExp", "ReduceSumSquare", "Softmax", "LogSoftmax", "ArgMax", "CumSum"};
  Val *x = val_rank(b, 1, 4);
  if (!x) return;
  int which = (int)fz_range(&b->in, 0, 11);
  const char *op = ops[which];
  int64_t od[6], axes[6];
  int na = 0, r = 0;
  bool keep = fz_bool(&b->in);
  if (which >= 8) {
    int64_t axis = pick(b, 0, x->rank - 1, -x->rank - 1, x->rank);
    if (which == 11) {
      const char *ax = init_i64(b, 1, &axis);
      Onnx__NodeProto *n = ax ? node(b, op, 2, (const char *[]){x->name, ax}) : NULL;
      if (n && fz_bool(&b->in)) attr_i(b, n, "reverse", 1);
      if (n) out(b, n, x->rank, x->d);
      return;
    }
    Onnx__NodeProto *n = node(b, op, 1, (const char *[]){x->name});
    if (!n) return;
    attr_i(b, n, "axis", axis);
    if (which == 10) { /* ArgMax: int64 out; only ever an output */
      attr_i(b, n, "keepdims", keep);
      int64_t a = axis < 0 ? axis + x->rank : axis;
      for (int k = 0; k < x->rank; k++)
        if (k != a) od[r++] = x->d[k];
        else if (keep) od[r++] = 1;
      Val *v = out(b, n, r, od);
      if (v) v->rank = -1; /* not float: never an operand */
      return;
    }
    out(b, n, x->rank, x->d);
    return;
  }
  for (int k = 0; k < x->rank; k++) {
    bool red = fz_bool(&b->in);
    if (red) axes[na++] = fz_bool(&b->in) ? k - x->rank : k;
    if (!red) od[r++] = x->d[k];
    else if (keep) od[r++] = 1;
  }
  if (!na) { /* all axes */
    r = 0;
    for (int k = 0; k < x->rank && keep; k++) od[r++] = 1;
  }
  Onnx__NodeProto *n;
  if (which == 0 && na) {
    const char *ax = init_i64(b, na, axes);
    n = ax ? node(b, op, 2, (const char *[]){x->name, ax}) : NULL;
  } else {
    n = node(b, op, 1, (const char *[]){x->name});
    if (n && na) attr_is(b, n, "axes", na, axes);
  }
  if (!n) return;
  attr_i(b, n, "keepdims", keep);
  out(b, n, r, od);
}

static void op_shape_misc(B *b) {
  Val *x = any_val(b);
  if (!x) return;
  int which = (int)fz_range(&b->in, 0, 5);
  int64_t od[6];
  switch (which) {
  case 0: { /* Unsqueeze */
    if (x->rank >= 5) return;
    int64_t a = fz_range(&b->in, 0, x->rank);
    const char *ax = init_i64(b, 1, &a);
    Onnx__NodeProto *n = ax ? node(b, "Unsqueeze", 2, (const char *[]){x->name, ax}) : NULL;
    for (int k = 0, j = 0; k <= x->rank; k++) od[k] = k == a ? 1 : x->d[j++];
    if (n) out(b, n, x->rank + 1, od);
    return;
  }
  case 1: { /* Squeeze the size-1 axes */
    int64_t axes[6];
    int na = 0, r = 0;
    for (int k = 0; k < x->rank; k++)
      if (x->d[k] == 1) axes[na++] = k;
      else od[r++] = x->d[k];
    if (!na) return;
    const char *ax = init_i64(b, na, axes);
    Onnx__NodeProto *n = ax ? node(b, "Squeeze", 2, (const char *[]){x->name, ax}) : NULL;
    if (n) out(b, n, r, od);
    return;
  }
  case 2: { /* Expand */
    int64_t sh[6];
    int r = x->rank + (int)fz_range(&b->in, 0, 1);
    if (r > 5) return;
    int off = r - x->rank;
    for (int k = 0; k < r; k++) {
      int64_t d = k < off ? 1 : x->d[k - off];
      sh[k] = d == 1 ? fz_range(&b->in, 1, 3) : fz_bool(&b->in) ? d : 1;
      od[k] = d == 1 ? sh[k] : d;
    }
    const char *s = init_i64(b, r, sh);
    Onnx__NodeProto *n = s ? node(b, "Expand", 2, (const char *[]){x->name, s}) : NULL;
    if (n) out(b, n, r, od);
    return;
  }
  case 3: { /* Tile */
    int64_t rep[6];
    for (int k = 0; k < x->rank; k++) rep[k] = pick(b, 1, 2, 0, 3), od[k] = x->d[k] * rep[k];
    const char *s = x->rank ? init_i64(b, x->rank, rep) : NULL;
    Onnx__NodeProto *n = s ? node(b, "Tile", 2, (const char *[]){x->name, s}) : NULL;
    if (n) out(b, n, x->rank, od);
    return;
  }
  case 4: { /* Gather with constant indices */
    if (!x->rank) return;
    int axis = (int)fz_range(&b->in, 0, x->rank - 1);
    int ni = (int)fz_range(&b->in, 1, 4);
    int64_t idx[4];
    for (int k = 0; k < ni; k++) idx[k] = pick(b, -x->d[axis], x->d[axis] - 1, -x->d[axis] - 2, x->d[axis] + 1);
    const char *ind = init_i64(b, ni, idx);
    Onnx__NodeProto *n = ind ? node(b, "Gather", 2, (const char *[]){x->name, ind}) : NULL;
    if (!n) return;
    attr_i(b, n, "axis", axis);
    memcpy(od, x->d, sizeof od);
    od[axis] = ni;
    out(b, n, x->rank, od);
    return;
  }
  case 5: { /* Split in two along an axis */
    if (!x->rank) return;
    int axis = (int)fz_range(&b->in, 0, x->rank - 1);
    if (x->d[axis] < 2) return;
    int64_t s1 = fz_range(&b->in, 1, x->d[axis] - 1), sz[2] = {s1, x->d[axis] - s1};
    const char *sp = init_i64(b, 2, sz);
    Onnx__NodeProto *n = sp ? node(b, "Split", 2, (const char *[]){x->name, sp}) : NULL;
    if (!n) return;
    attr_i(b, n, "axis", axis);
    memcpy(od, x->d, sizeof od);
    od[axis] = sz[0];
    out(b, n, x->rank, od);
    od[axis] = sz[1];
    out(b, n, x->rank, od);
    return;
  }
  }
}

static void op_norm(B *b) {
  Val *x = val_rank(b, 2, 4);
  if (!x) return;
  int64_t C = x->d[1];
  int which = (int)fz_range(&b->in, 0, 3);
  if (which == 0) { /* BatchNormalization (inference) */
    const char *s = init_f32(b, 1, &C), *bb = init_f32(b, 1, &C), *m = init_f32(b, 1, &C), *v = init_f32(b, 1, &C);
    Onnx__NodeProto *n = s && bb && m && v ? node(b, "BatchNormalization", 5, (const char *[]){x->name, s, bb, m, v}) : NULL;
    if (n) attr_f(b, n, "epsilon", 1e-3f), out(b, n, x->rank, x->d);
  } else if (which == 1) { /* InstanceNormalization */
    if (x->rank < 3) return;
    const char *s = init_f32(b, 1, &C), *bb = init_f32(b, 1, &C);
    Onnx__NodeProto *n = s && bb ? node(b, "InstanceNormalization", 3, (const char *[]){x->name, s, bb}) : NULL;
    if (n) out(b, n, x->rank, x->d);
  } else if (which == 2) { /* Clip */
    int64_t none[1] = {0};
    const char *lo = init_f32(b, 0, none), *hi = init_f32(b, 0, none);
    Onnx__NodeProto *n = lo && hi ? node(b, "Clip", 3, (const char *[]){x->name, fz_bool(&b->in) ? lo : NULL, hi}) : NULL;
    if (n) out(b, n, x->rank, x->d);
  } else { /* DepthToSpace / SpaceToDepth */
    if (x->rank != 4) return;
    int64_t bs = pick(b, 2, 2, 0, 3);
    bool d2s = fz_bool(&b->in);
    int64_t od[4] = {x->d[0], d2s ? C / (bs ? bs * bs : 1) : C * bs * bs, d2s ? x->d[2] * bs : (bs ? x->d[2] / bs : 0),
                     d2s ? x->d[3] * bs : (bs ? x->d[3] / bs : 0)};
    if (d2s ? (bs * bs == 0 || C % (bs * bs)) : (bs == 0 || x->d[2] % bs || x->d[3] % bs)) b->wild = true;
    Onnx__NodeProto *n = node(b, d2s ? "DepthToSpace" : "SpaceToDepth", 1, (const char *[]){x->name});
    if (!n) return;
    attr_i(b, n, "blocksize", bs);
    if (d2s && fz_bool(&b->in)) attr_s(b, n, "mode", "CRD");
    out(b, n, 4, od);
  }
}

typedef void (*OpFn)(B *b);
static const OpFn ops[] = {op_unary, op_binary, op_matmul, op_conv_pool, op_transpose, op_reshape, op_slice,
                           op_concat, op_pad, op_reduce, op_shape_misc, op_norm, op_binary, op_conv_pool, op_transpose,
                           op_slice};

/* ---- the run ---- */
static bool same_bits(const Node *o, const void *x, const void *y) {
  if (!memcmp(x, y, (size_t)o->numel * dt_size(o->dtype))) return true;
  if (o->dtype != DT_F32) return false;
  for (int64_t k = 0; k < o->numel; k++) {
    float a = ((const float *)x)[k], c = ((const float *)y)[k];
    if (!(a == c || (isnan(a) && isnan(c)))) return false;
  }
  return true;
}

static void run_model(const uint8_t *bytes, size_t len, uint8_t flags) {
  const char *path = fuzz_write("model.onnx", bytes, len);
  OnnxOptions opt = {.max_bytes = 64 << 20, .max_nodes = 1 << 14};
  Graph *g = onnx_load(path, &opt);
  if (!g) return;
  /* inputs: a pattern; the interpreter before and after the passes */
  void *ins[8] = {0}, *before[64], *after[64];
  jmp_buf jb;
  g->on_error = &jb;
  int nout = g->noutputs < 64 ? g->noutputs : 64;
  volatile bool evaluated = false;
  if (g->ninputs <= 8 && !setjmp(jb)) {
    for (int k = 0; k < g->ninputs; k++) {
      Node *x = g->inputs[k];
      float *v = ir_alloc(g, (size_t)x->numel * sizeof(float) + 4);
      for (int64_t j = 0; j < x->numel; j++) v[j] = (float)((j * 7 + k * 3) % 11) / 4 - 1.25f;
      ins[k] = v;
    }
    ir_eval_graph(g, ins, before);
    evaluated = true;
  }
  g->on_error = NULL;
  /* the schedule the printer below expects: --embedded's (flags & 8), --naive's or the default */
  Plan *volatile p = flags & 8 ? pass_run_embedded(g, NULL, NULL) : flags & 1 ? pass_run_naive(g, NULL, NULL) : pass_run_all(g, NULL, NULL);
  if (!p) {
    ir_graph_free(g);
    return;
  }
  if (evaluated) {
    g->on_error = &jb;
    if (!setjmp(jb)) {
      ir_eval_graph(g, ins, after);
      for (int k = 0; k < nout; k++)
        if (!same_bits(g->outputs[k], before[k], after[k]))
          fuzz_fail("fuzz_pipeline: output %d ('%s') differs after the passes (%s)", k, g->output_names[k],
                    flags & 8 ? "--embedded" : flags & 1 ? "--naive" : "default");
    } else if (!strstr(g->errmsg, "raises the limit)")) { /* --max-bytes: the values filled the arena */
      fuzz_fail("fuzz_pipeline: the interpreter fails after the passes: %s", g->errmsg);
    }
    g->on_error = NULL;
  }
  /* the C generator, as jtc -o net.c */
  char c_path[512], h_path[512], w_path[512];
  snprintf(c_path, sizeof c_path, "%s/net.c", fuzz_dir());
  snprintf(h_path, sizeof h_path, "%s/net.h", fuzz_dir());
  snprintf(w_path, sizeof w_path, "%s/net.weights", fuzz_dir());
  fuzz_track("net.c");
  fuzz_track("net.h");
  fuzz_track("net.weights");
  static const WeightsMode modes[3] = {WEIGHTS_AUTO, WEIGHTS_EMBED, WEIGHTS_FILE};
  CgOptions co = {c_path, h_path, w_path, "net", "jtc fuzz", "model.onnx", modes[(flags >> 1) % 3], 256, NULL, false,
                  (flags & 8) != 0 /* the --embedded printer */};
  g->on_error = &jb;
  if (!setjmp(jb)) cgc_write(p, &co);
  g->on_error = NULL;
  ir_graph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  B *b = calloc(1, sizeof *b);
  b->in = (FuzzIn){data, size};
  uint8_t flags = fz_u8(&b->in);
  int nin = (int)fz_range(&b->in, 1, 2);
  for (int k = 0; k < nin; k++) {
    Val *v = &b->v[b->nv++];
    snprintf(v->name, sizeof v->name, "x%d", k);
    v->rank = (int)fz_range(&b->in, k ? 0 : 1, 4);
    for (int j = 0; j < v->rank; j++) v->d[j] = fz_range(&b->in, 1, MAXDIM);
  }
  int nnodes = (int)fz_range(&b->in, 1, MAXNODE);
  for (int k = 0; k < nnodes && b->in.n; k++) ops[fz_u8(&b->in) % (sizeof ops / sizeof ops[0])](b);

  /* the model: inputs, initializers, nodes; outputs: the last value and some others */
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto gr = ONNX__GRAPH_PROTO__INIT;
  Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT, *osp = &os;
  os.domain = "";
  os.has_version = true;
  os.version = 13;
  m.has_ir_version = true;
  m.ir_version = 7;
  m.n_opset_import = 1;
  m.opset_import = &osp;
  m.graph = &gr;
  gr.name = "fuzz";
  Onnx__ValueInfoProto *ins[2], *outs[MAXV];
  for (int k = 0; k < nin; k++) ins[k] = value_info(b, &b->v[k]);
  gr.n_input = (size_t)nin;
  gr.input = ins;
  int no = 0;
  for (int k = nin; k < b->nv; k++)
    if (k == b->nv - 1 || (fz_u8(&b->in) & 3) == 0) {
      Val tmp = b->v[k];
      if (tmp.rank < 0) tmp.rank = 0; /* ArgMax: the type is not checked; the shape is left out */
      outs[no] = value_info(b, &tmp);
      if (b->v[k].rank < 0) outs[no]->type = NULL;
      no++;
    }
  if (!no) outs[no++] = value_info(b, &b->v[0]);
  gr.n_output = (size_t)no;
  gr.output = outs;
  gr.n_node = (size_t)b->nnode;
  gr.node = b->node;
  gr.n_initializer = (size_t)b->ninit;
  gr.initializer = b->init;

  size_t len = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = malloc(len ? len : 1);
  onnx__model_proto__pack(&m, buf);
  run_model(buf, len, flags);
  free(buf);
  for (int k = 0; k < b->nblocks; k++) free(b->blocks[k]);
  free(b->blocks);
  free(b);
  return 0;
}
