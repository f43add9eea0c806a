/* onnx_attr.c: helpers every lowering uses: typed attribute getters with
 * defaults (a present attribute of the wrong type is an error naming it),
 * required/optional inputs, shape-like inputs that must be constants, axis
 * normalization, and constant folding of what a lowering built (so PyTorch's
 * Shape -> Gather -> Concat -> Reshape chains become constants).
 */
#include "frontend/onnx/onnx_internal.h"

#include <string.h>

static const char *attr_type_name(int t) {
  switch (t) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return "a float";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return "an int";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return "a string";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return "a tensor";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "a graph";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return "a list of floats";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return "a list of ints";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return "a list of strings";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "a list of tensors";
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "a list of graphs";
  default: return "of another kind";
  }
}

const char *onnx_op_type(const Onnx__NodeProto *node) {
  return node->op_type && *node->op_type ? node->op_type : "?";
}

const Onnx__AttributeProto *onnx_attr(OnnxCtx *c, const char *name) {
  for (size_t k = 0; k < c->node->n_attribute; k++) {
    const Onnx__AttributeProto *a = c->node->attribute[k];
    if (a && a->name && !strcmp(a->name, name)) return a;
  }
  return NULL;
}

/* The attribute's type; IR v1 files may leave `type` unset, so infer it then. */
static int attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return a->type;
  if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const Onnx__AttributeProto *typed_attr(OnnxCtx *c, const char *name, int want) {
  const Onnx__AttributeProto *a = onnx_attr(c, name);
  if (!a) return NULL;
  int t = attr_type(a);
  if (t != want)
    ir_fail(c->g, "attribute '%s' must be %s, it is %s", name, attr_type_name(want), attr_type_name(t));
  return a;
}

int64_t onnx_attr_int(OnnxCtx *c, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  return a ? a->i : def;
}

double onnx_attr_float(OnnxCtx *c, const char *name, double def) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  return a ? a->f : def;
}

const char *onnx_attr_string(OnnxCtx *c, const char *name, const char *def) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  if (!a) return def;
  char *s = ir_alloc(c->g, a->s.len + 1);
  if (a->s.len) memcpy(s, a->s.data, a->s.len);
  return s;
}

int onnx_attr_strings(OnnxCtx *c, const char *name, const char ***out) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
  *out = NULL;
  if (!a) return -1;
  if (a->n_strings > (1u << 24)) ir_fail(c->g, "attribute '%s' has %zu strings, at most %u allowed", name, a->n_strings, 1u << 24);
  const char **v = ir_alloc_array(c->g, a->n_strings ? a->n_strings : 1, sizeof *v);
  for (size_t k = 0; k < a->n_strings; k++) {
    const ProtobufCBinaryData *b = &a->strings[k];
    if (b->len && memchr(b->data, 0, b->len)) ir_fail(c->g, "attribute '%s': string %zu contains a NUL byte", name, k);
    char *s = ir_alloc(c->g, b->len + 1);
    if (b->len) memcpy(s, b->data, b->len);
    v[k] = s;
  }
  *out = v;
  return (int)a->n_strings;
}

int onnx_attr_ints(OnnxCtx *c, const char *name, int64_t *out, int max) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  if (!a) return -1;
  if (a->n_ints > (size_t)max) ir_fail(c->g, "attribute '%s' has %zu values, at most %d allowed", name, a->n_ints, max);
  for (size_t k = 0; k < a->n_ints; k++) out[k] = a->ints[k];
  return (int)a->n_ints;
}

int onnx_attr_floats(OnnxCtx *c, const char *name, double *out, int max) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  if (!a) return -1;
  if (a->n_floats > (size_t)max)
    ir_fail(c->g, "attribute '%s' has %zu values, at most %d allowed", name, a->n_floats, max);
  for (size_t k = 0; k < a->n_floats; k++) out[k] = a->floats[k];
  return (int)a->n_floats;
}

Node *onnx_attr_tensor(OnnxCtx *c, const char *name) {
  const Onnx__AttributeProto *a = typed_attr(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  if (!a) return NULL;
  if (!a->t) ir_fail(c->g, "attribute '%s' has no tensor", name);
  return onnx_tensor_const(c->g, a->t, c->model_dir);
}

Node *onnx_input(OnnxCtx *c, int k, const char *what) {
  if (k >= c->nin || !c->in[k]) ir_fail(c->g, "required input #%d ('%s') is missing", k, what);
  return c->in[k];
}

Node *onnx_opt_input(OnnxCtx *c, int k) {
  return k < c->nin ? c->in[k] : NULL;
}

bool onnx_out_wanted(const OnnxCtx *c, int k) {
  return k < c->nout && c->node->output[k] && c->node->output[k][0];
}

/* The first graph input that n's value is computed from (depth-first, bounded), or NULL. */
static Node *source_input(Graph *g, Node *n) {
  Node **stack = ir_alloc_array(g, 4096, sizeof *stack);
  bool *seen = ir_alloc_array(g, (size_t)g->nnodes, sizeof *seen);
  int sp = 0, visits = 0;
  stack[sp++] = n;
  while (sp > 0 && visits++ < 100000) {
    Node *m = stack[--sp];
    if (seen[m->id]) continue;
    seen[m->id] = true;
    if (m->kind == NODE_LEAF && m->leaf == LEAF_INPUT) return m;
    for (int k = m->nin - 1; k >= 0 && sp < 4096; k--) stack[sp++] = m->in[k];
  }
  return NULL;
}

Node *onnx_source_input(Graph *g, Node *n) { return source_input(g, n); }

static Node *const_input(OnnxCtx *c, int k, const char *what) {
  Node *n = onnx_input(c, k, what);
  if (ir_is_const(n)) return n;
  if (n->kind == NODE_LEAF && n->leaf == LEAF_STATE) { /* training: this value is fixed at compile time, so not trained */
    n->flags |= NF_FROZEN;
    return n;
  }
  Node *src = source_input(c->g, n);
  if (src == n)
    ir_fail(c->g, "input '%s' must be a constant, but it is graph input '%s' (pin its value with --bind %s=FILE.pb)", what,
            n->name, n->name);
  if (src)
    ir_fail(c->g, "input '%s' must be a constant, but it is computed from graph input '%s' (pin its value with --bind %s=FILE.pb)",
            what, src->name, src->name);
  ir_fail(c->g, "input '%s' must be a constant (it is computed at run time)", what);
}

int onnx_const_ints(OnnxCtx *c, int k, const char *what, int64_t *out, int max) {
  Node *n = const_input(c, k, what);
  if (!dt_is_int(n->dtype)) ir_fail(c->g, "input '%s' must be an integer tensor, it is %s", what, dt_name(n->dtype));
  if (n->rank > 1) ir_fail(c->g, "input '%s' must be 1-D, it is %d-D", what, n->rank);
  if (n->numel > max) ir_fail(c->g, "input '%s' has %lld values, at most %d allowed", what, (long long)n->numel, max);
  for (int64_t j = 0; j < n->numel; j++) out[j] = sc_as_i(dt_load(n->data, n->dtype, j), n->dtype);
  return (int)n->numel;
}

double onnx_const_scalar(OnnxCtx *c, int k, const char *what) {
  Node *n = const_input(c, k, what);
  if (n->numel != 1) ir_fail(c->g, "input '%s' must have one element, it has %lld", what, (long long)n->numel);
  return sc_as_f(dt_load(n->data, n->dtype, 0), n->dtype);
}

int onnx_axis(OnnxCtx *c, int64_t axis, int rank, const char *what) {
  if (axis < -(int64_t)rank || axis >= rank)
    ir_fail(c->g, "%s %lld is out of range for a %d-D tensor", what, (long long)axis, rank);
  return (int)(axis < 0 ? axis + rank : axis);
}

/* ---- constant folding of one lowering's result ----
 * A node is foldable when every path up from it ends at constants, and every
 * node on the way is new (id >= first_id: made by this lowering; older results
 * were folded when they were made, so an old non-constant is not foldable) and
 * small. memo[] is indexed by id - first_id: 0 unknown, 1 yes, -1 no. */
static bool foldable(Node *n, int first_id, int64_t limit, signed char *memo) {
  if (ir_is_const(n)) return true;
  if (n->id < first_id || n->kind == NODE_LEAF || n->kind == NODE_OPAQUE || n->numel > limit) return false;
  signed char *m = &memo[n->id - first_id];
  if (*m) return *m > 0;
  bool ok = true;
  for (int k = 0; k < n->nin && ok; k++) ok = foldable(n->in[k], first_id, limit, memo);
  *m = ok ? 1 : -1;
  return ok;
}

static void *fold_value(Graph *g, Node *n, int first_id, void **vals) {
  if (ir_is_const(n)) return n->data;
  void **v = &vals[n->id - first_id];
  if (*v) return *v;
  void **ins = ir_alloc_array(g, (size_t)(n->nin > 0 ? n->nin : 1), sizeof(void *));
  for (int k = 0; k < n->nin; k++) ins[k] = fold_value(g, n->in[k], first_id, vals);
  *v = ir_eval_node(g, n, ins);
  return *v;
}

Node *onnx_fold(Graph *g, Node *n, int first_id) {
  if (!n || ir_is_const(n) || n->id < first_id || !g->last) return n;
  int64_t limit = g->max_const_fold > 0 ? g->max_const_fold : (int64_t)1 << 16;
  size_t span = (size_t)(g->last->id - first_id + 1);
  signed char *memo = ir_alloc(g, span);
  if (!foldable(n, first_id, limit, memo)) return n;
  void **vals = ir_alloc_array(g, span, sizeof(void *));
  void *v = fold_value(g, n, first_id, vals);
  Node *r = ir_const(g, n->dtype, n->rank, n->dims, v);
  r->name = n->name;
  return r;
}
