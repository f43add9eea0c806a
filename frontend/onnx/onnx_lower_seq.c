/* onnx_lower_seq.c: sequence and optional values, at compile time.
 *
 * jtc's tensors have static shapes, so a sequence is a compile-time list of
 * tensors (each with its own shape) and an optional a compile-time "present or
 * empty". Nothing of either exists in the generated code: every sequence op
 * runs here, in the loader, over those lists, and only the element tensors
 * become meta-ops:
 *   SequenceEmpty, SequenceConstruct, SequenceInsert, SequenceErase  new lists
 *   SequenceAt            the element itself (position must be a constant)
 *   SequenceLength        a constant
 *   ConcatFromSequence    ir_concat, or ir_stack with new_axis
 *   SplitToSequence       slices (split sizes must be constants)
 *   SequenceMap           the body lowered once per element (onnx_lower_subgraph)
 *   Optional, OptionalGetElement  wrap and unwrap; OptionalHasElement a constant
 * A value travels as the Node header of an OnnxValue (onnx_internal.h); the
 * loader gives it only to these ops, Identity, If and Loop, and flattens graph
 * inputs and outputs of these types into tensors "NAME.0", "NAME.1", ...
 * (onnx_value_input, onnx_value_mark_output).
 */
#include "frontend/onnx/onnx_internal.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_MAX 65536 /* longest sequence */

static const char value_tag[] = ONNX_VALUE_TAG;

OnnxValue *onnx_value_of(Node *n) {
  if (!n || n->id != -1 || n->kind != NODE_OPAQUE || !n->opaque_name || strcmp(n->opaque_name, value_tag)) return NULL;
  return (OnnxValue *)n;
}

static OnnxValue *value_new(Graph *g, bool is_seq, Dtype dt, int n) {
  OnnxValue *v = ir_alloc(g, sizeof *v);
  v->hdr.id = -1;
  v->hdr.kind = NODE_OPAQUE;
  v->hdr.dtype = DT_UNDEF;
  v->hdr.opaque_name = value_tag;
  v->hdr.buf_id = -1;
  v->is_seq = is_seq;
  v->elem_dtype = dt;
  v->n = n;
  v->elems = ir_alloc_array(g, (size_t)n + 1, sizeof(Node *));
  return v;
}

Node *onnx_seq_new(Graph *g, Dtype elem_dtype, int n, Node *const *elems) {
  if (n < 0 || n > SEQ_MAX) ir_fail(g, "a sequence of %d tensors (at most %d)", n, SEQ_MAX);
  OnnxValue *v = value_new(g, true, elem_dtype, n);
  for (int k = 0; k < n; k++) {
    if (onnx_value_of(elems[k])) ir_fail(g, "sequences of sequences or optionals are not supported");
    if (v->elem_dtype == DT_UNDEF) v->elem_dtype = elems[k]->dtype;
    if (elems[k]->dtype != v->elem_dtype)
      ir_fail(g, "sequence element %d is %s, the sequence holds %s", k, dt_name(elems[k]->dtype), dt_name(v->elem_dtype));
    v->elems[k] = elems[k];
  }
  return &v->hdr;
}

Node *onnx_opt_new(Graph *g, Node *content, Dtype elem_dtype, bool of_seq) {
  OnnxValue *in = onnx_value_of(content);
  if (in && !in->is_seq) ir_fail(g, "an optional of an optional is not supported");
  OnnxValue *v = value_new(g, false, content ? (in ? in->elem_dtype : content->dtype) : elem_dtype, content ? 1 : 0);
  v->elems[0] = content;
  v->of_seq = of_seq || in;
  return &v->hdr;
}

/* ---- checked access to a node's inputs ---- */
static OnnxValue *seq_input(OnnxCtx *c, int k, const char *what) {
  OnnxValue *v = onnx_value_of(onnx_input(c, k, what));
  if (!v || !v->is_seq) ir_fail(c->g, "input '%s' must be a sequence, it is %s", what, v ? "an optional" : "a tensor");
  return v;
}

static Node *tensor_input(OnnxCtx *c, int k, const char *what) {
  Node *n = onnx_input(c, k, what);
  OnnxValue *v = onnx_value_of(n);
  if (v) ir_fail(c->g, "input '%s' must be a tensor, it is %s", what, v->is_seq ? "a sequence" : "an optional");
  return n;
}

/* A position input: a constant integer with one element, in [lo, hi] after
 * adding n to a negative one (ONNX's rule for SequenceAt/Insert/Erase). */
static int seq_position(OnnxCtx *c, int k, int n, bool insert) {
  Node *p = tensor_input(c, k, "position");
  if (p->numel != 1) ir_fail(c->g, "position has %lld elements, expected 1", (long long)p->numel);
  int64_t pos;
  onnx_const_ints(c, k, "position", &pos, 1);
  int64_t hi = insert ? n : n - 1;
  if (pos < -n || pos > hi)
    ir_fail(c->g, "position %lld is out of range for a sequence of %d tensors ([%d, %lld])", (long long)pos, n, -n,
            (long long)hi);
  return (int)(pos < 0 ? pos + n : pos);
}

/* ---- the loader's dispatch for value inputs ---- */
static void lower_value_identity(OnnxCtx *c) {
  c->out[0] = onnx_input(c, 0, "input");
}

OnnxLowerFn onnx_value_lowering(OnnxCtx *c, OnnxLowerFn row) {
  static const OnnxLowerFn takes_values[] = {
    onnx_lower_sequence_construct, onnx_lower_sequence_insert, onnx_lower_sequence_erase,
    onnx_lower_sequence_at, onnx_lower_sequence_length, onnx_lower_concat_from_sequence,
    onnx_lower_sequence_map, onnx_lower_optional, onnx_lower_optional_has_element,
    onnx_lower_optional_get_element, onnx_lower_loop, onnx_lower_if,
  };
  for (size_t k = 0; k < sizeof takes_values / sizeof takes_values[0]; k++)
    if (row == takes_values[k]) return row;
  if (row == onnx_lower_identity) return lower_value_identity;
  for (int k = 0; k < c->nin; k++) {
    OnnxValue *v = onnx_value_of(c->in[k]);
    if (v)
      ir_fail(c->g, "input #%d ('%s') is %s; %s takes tensors only", k, c->node->input[k],
              v->is_seq ? "a sequence" : "an optional", onnx_op_type(c->node));
  }
  return row;
}

Node *onnx_value_select(Graph *g, Node *cond, Node *a, Node *b) {
  OnnxValue *va = onnx_value_of(a), *vb = onnx_value_of(b);
  if (!va || !vb) {
    if (va || vb) return NULL;
    if (!ir_same_shape(a, b) || a->dtype != b->dtype) return NULL;
    return ir_where(g, cond, a, b);
  }
  if (va->is_seq != vb->is_seq || va->n != vb->n) return NULL;
  Node **r = ir_alloc_array(g, (size_t)va->n + 1, sizeof(Node *));
  for (int k = 0; k < va->n; k++)
    if (!(r[k] = onnx_value_select(g, cond, va->elems[k], vb->elems[k]))) return NULL;
  if (va->is_seq) return onnx_seq_new(g, va->elem_dtype, va->n, r);
  return onnx_opt_new(g, va->n ? r[0] : NULL, va->elem_dtype, va->of_seq);
}

/* ---- sequence ops ---- */
void onnx_lower_sequence_empty(OnnxCtx *c) {
  int64_t t = onnx_attr_int(c, "dtype", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
  Dtype dt = t < 0 || t > 1000 ? DT_UNDEF : onnx_dtype((int)t);
  if (dt == DT_UNDEF) ir_fail(c->g, "dtype %lld (%s) is not supported", (long long)t, onnx_dtype_name((int)t));
  c->out[0] = onnx_seq_new(c->g, dt, 0, NULL);
}

void onnx_lower_sequence_construct(OnnxCtx *c) {
  if (c->nin < 1) ir_fail(c->g, "SequenceConstruct needs at least one input");
  Node **xs = ir_alloc_array(c->g, (size_t)c->nin, sizeof(Node *));
  for (int k = 0; k < c->nin; k++) xs[k] = tensor_input(c, k, "inputs");
  c->out[0] = onnx_seq_new(c->g, xs[0]->dtype, c->nin, xs);
}

void onnx_lower_sequence_insert(OnnxCtx *c) {
  OnnxValue *s = seq_input(c, 0, "input_sequence");
  Node *t = tensor_input(c, 1, "tensor");
  if (s->elem_dtype != DT_UNDEF && t->dtype != s->elem_dtype)
    ir_fail(c->g, "the tensor is %s, the sequence holds %s", dt_name(t->dtype), dt_name(s->elem_dtype));
  int pos = onnx_opt_input(c, 2) ? seq_position(c, 2, s->n, true) : s->n;
  Node **xs = ir_alloc_array(c->g, (size_t)s->n + 1, sizeof(Node *));
  for (int k = 0, j = 0; k <= s->n; k++) xs[k] = k == pos ? t : s->elems[j++];
  c->out[0] = onnx_seq_new(c->g, t->dtype, s->n + 1, xs);
}

void onnx_lower_sequence_erase(OnnxCtx *c) {
  OnnxValue *s = seq_input(c, 0, "input_sequence");
  if (s->n == 0) ir_fail(c->g, "cannot erase from an empty sequence");
  int pos = onnx_opt_input(c, 1) ? seq_position(c, 1, s->n, false) : s->n - 1;
  Node **xs = ir_alloc_array(c->g, (size_t)s->n, sizeof(Node *));
  for (int k = 0, j = 0; k < s->n; k++)
    if (k != pos) xs[j++] = s->elems[k];
  c->out[0] = onnx_seq_new(c->g, s->elem_dtype, s->n - 1, xs);
}

void onnx_lower_sequence_at(OnnxCtx *c) {
  OnnxValue *s = seq_input(c, 0, "input_sequence");
  if (s->n == 0) ir_fail(c->g, "SequenceAt on an empty sequence");
  c->out[0] = s->elems[seq_position(c, 1, s->n, false)];
}

void onnx_lower_sequence_length(OnnxCtx *c) {
  OnnxValue *s = seq_input(c, 0, "input_sequence");
  c->out[0] = ir_scalar(c->g, DT_I64, s->n);
}

void onnx_lower_concat_from_sequence(OnnxCtx *c) {
  OnnxValue *s = seq_input(c, 0, "input_sequence");
  const Onnx__AttributeProto *ax = onnx_attr(c, "axis");
  if (!ax) ir_fail(c->g, "attribute 'axis' is required");
  int64_t axis = onnx_attr_int(c, "axis", 0), new_axis = onnx_attr_int(c, "new_axis", 0);
  if (new_axis != 0 && new_axis != 1) ir_fail(c->g, "new_axis is %lld, must be 0 or 1", (long long)new_axis);
  if (s->n == 0) ir_fail(c->g, "ConcatFromSequence of an empty sequence (its output shape is unknown)");
  int rank = s->elems[0]->rank;
  int a = onnx_axis(c, axis, rank + (int)new_axis, "axis");
  c->out[0] = new_axis ? ir_stack(c->g, s->n, s->elems, a) : ir_concat(c->g, s->n, s->elems, a);
}

void onnx_lower_split_to_sequence(OnnxCtx *c) {
  Graph *g = c->g;
  Node *x = tensor_input(c, 0, "input");
  if (x->rank < 1) ir_fail(g, "SplitToSequence needs an input of rank >= 1, it is a scalar");
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis");
  int64_t keepdims = onnx_attr_int(c, "keepdims", 1), dim = x->dims[axis];
  if (keepdims != 0 && keepdims != 1) ir_fail(g, "keepdims is %lld, must be 0 or 1", (long long)keepdims);
  int64_t *sizes;
  int n;
  bool squeeze = false;
  Node *sp = onnx_opt_input(c, 1);
  if (!sp) { /* pieces of 1, squeezed unless keepdims */
    if (dim > SEQ_MAX) ir_fail(g, "splitting an axis of %lld into single elements (at most %d)", (long long)dim, SEQ_MAX);
    n = (int)dim;
    sizes = ir_alloc_array(g, (size_t)n + 1, sizeof(int64_t));
    for (int k = 0; k < n; k++) sizes[k] = 1;
    squeeze = keepdims == 0;
  } else {
    if (onnx_value_of(sp)) ir_fail(g, "input 'split' must be a tensor");
    if (sp->rank > 1) ir_fail(g, "input 'split' must be a scalar or 1-D, it is %d-D", sp->rank);
    if (sp->numel > SEQ_MAX) ir_fail(g, "split has %lld values (at most %d)", (long long)sp->numel, SEQ_MAX);
    int64_t *v = ir_alloc_array(g, (size_t)sp->numel + 1, sizeof(int64_t));
    int nv = onnx_const_ints(c, 1, "split", v, (int)sp->numel);
    if (sp->rank == 0) { /* chunks of v[0], the last one smaller */
      if (v[0] <= 0) ir_fail(g, "split is %lld, must be > 0", (long long)v[0]);
      int64_t m = (dim + v[0] - 1) / v[0];
      if (m > SEQ_MAX) ir_fail(g, "split %lld makes %lld pieces (at most %d)", (long long)v[0], (long long)m, SEQ_MAX);
      n = (int)m;
      sizes = ir_alloc_array(g, (size_t)n + 1, sizeof(int64_t));
      for (int k = 0; k < n; k++) sizes[k] = k < n - 1 ? v[0] : dim - v[0] * (n - 1);
    } else {
      n = nv;
      sizes = v;
      int64_t sum = 0;
      for (int k = 0; k < n; k++) {
        if (sizes[k] < 0) ir_fail(g, "split[%d] is %lld, must be >= 0", k, (long long)sizes[k]);
        sum += sizes[k];
        if (sum > dim) break;
      }
      if (sum != dim) ir_fail(g, "split sizes add up to %s%lld, the axis has %lld", sum > dim ? "more than " : "",
                              (long long)sum, (long long)dim);
    }
  }
  int first_id = g->last ? g->last->id + 1 : 0;
  Node **xs = ir_alloc_array(g, (size_t)n + 1, sizeof(Node *));
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], len[IR_MAX_RANK], off = 0;
  for (int k = 0; k < n; k++) {
    for (int d = 0; d < x->rank; d++) start[d] = 0, step[d] = 1, len[d] = x->dims[d];
    start[axis] = off;
    len[axis] = sizes[k];
    off += sizes[k];
    Node *piece = ir_slice(g, x, start, step, len);
    if (squeeze) {
      int64_t dims[IR_MAX_RANK];
      for (int d = 0, j = 0; d < x->rank; d++)
        if (d != axis) dims[j++] = x->dims[d];
      piece = ir_reshape(g, piece, x->rank - 1, dims);
    }
    xs[k] = onnx_fold(g, piece, first_id);
  }
  c->out[0] = onnx_seq_new(g, x->dtype, n, xs);
}

/* SequenceMap: the body once per position; inputs that are sequences give
 * their element, tensors themselves; each body output makes one sequence. */
void onnx_lower_sequence_map(OnnxCtx *c) {
  Graph *g = c->g;
  const Onnx__AttributeProto *a = onnx_attr(c, "body");
  if (!a || !a->g) ir_fail(g, "attribute 'body' (a graph) is required");
  const Onnx__GraphProto *body = a->g;
  OnnxValue *s0 = seq_input(c, 0, "input_sequence");
  int n = s0->n;
  for (int k = 1; k < c->nin; k++) {
    OnnxValue *v = onnx_value_of(onnx_input(c, k, "additional_inputs"));
    if (v && !v->is_seq) ir_fail(g, "additional input #%d is an optional; SequenceMap takes tensors and sequences", k);
    if (v && v->n != n) ir_fail(g, "additional input #%d has %d elements, input_sequence %d", k, v->n, n);
  }
  if ((size_t)c->nout != body->n_output)
    ir_fail(g, "the node has %d outputs, the body %zu", c->nout, body->n_output);
  Node **ins = ir_alloc_array(g, (size_t)c->nin + 1, sizeof(Node *));
  Node ***outs = ir_alloc_array(g, (size_t)c->nout + 1, sizeof(Node **));
  for (int j = 0; j < c->nout; j++) outs[j] = ir_alloc_array(g, (size_t)n + 1, sizeof(Node *));
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < c->nin; k++) {
      OnnxValue *v = onnx_value_of(c->in[k]);
      ins[k] = v ? v->elems[i] : c->in[k];
    }
    Node **r = onnx_lower_subgraph(c, body, c->nin, ins);
    for (int j = 0; j < c->nout; j++) {
      if (onnx_value_of(r[j])) ir_fail(g, "body output #%d is a sequence or optional; SequenceMap needs tensors", j);
      outs[j][i] = r[j];
    }
  }
  for (int j = 0; j < c->nout; j++) {
    Dtype dt = DT_UNDEF;
    if (n == 0) { /* the element type from the body's declared output */
      const Onnx__TypeProto *tp = body->output[j]->type;
      if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type)
        dt = onnx_dtype(tp->tensor_type->elem_type);
    }
    c->out[j] = onnx_seq_new(g, dt, n, outs[j]);
  }
}

/* ---- optional ops ---- */

/* Element dtype and kind of an Optional's `type` attribute (a TypeProto). */
static void optional_type(OnnxCtx *c, Dtype *dt, bool *of_seq) {
  const Onnx__AttributeProto *a = onnx_attr(c, "type");
  if (!a || !a->tp) ir_fail(c->g, "an Optional without input needs the attribute 'type'");
  const Onnx__TypeProto *tp = a->tp;
  *of_seq = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
  if (*of_seq) tp = tp->sequence_type ? tp->sequence_type->elem_type : NULL;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    ir_fail(c->g, "Optional's type must be a tensor or a sequence of tensors");
  *dt = onnx_dtype(tp->tensor_type->elem_type);
}

void onnx_lower_optional(OnnxCtx *c) {
  Node *x = onnx_opt_input(c, 0);
  if (x) {
    OnnxValue *v = onnx_value_of(x);
    if (v && !v->is_seq) ir_fail(c->g, "the input is already an optional");
    c->out[0] = onnx_opt_new(c->g, x, DT_UNDEF, v != NULL);
    return;
  }
  Dtype dt;
  bool of_seq;
  optional_type(c, &dt, &of_seq);
  c->out[0] = onnx_opt_new(c->g, NULL, dt, of_seq);
}

void onnx_lower_optional_has_element(OnnxCtx *c) {
  Node *x = onnx_opt_input(c, 0);
  OnnxValue *v = onnx_value_of(x);
  bool has = x && (!v || v->is_seq || v->n > 0); /* opset 18: a tensor or sequence is present */
  c->out[0] = ir_scalar(c->g, DT_BOOL, has);
}

void onnx_lower_optional_get_element(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "input");
  OnnxValue *v = onnx_value_of(x);
  if (!v || v->is_seq) { /* opset 18: a tensor or sequence is returned as is */
    c->out[0] = x;
    return;
  }
  if (v->n == 0) ir_fail(c->g, "OptionalGetElement of an empty optional");
  c->out[0] = v->elems[0];
}

/* ---- graph inputs and outputs: flattened to tensors ---- */

/* What the model declares for a tensor: dtype, rank (-1: unknown) and dims (-1: unknown). */
typedef struct { Dtype dt; int rank; int64_t dims[IR_MAX_RANK]; } DeclTensor;

static void decl_tensor(Graph *g, const char *name, const Onnx__TypeProto *tp, DeclTensor *d) {
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    ir_fail(g, "only sequences and optionals of tensors are supported (input '%s')", name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  d->dt = onnx_dtype(tt->elem_type);
  if (d->dt == DT_UNDEF) ir_fail(g, "element type %s is not supported", onnx_dtype_name(tt->elem_type));
  d->rank = tt->shape ? (int)tt->shape->n_dim : -1;
  if (d->rank > IR_MAX_RANK) ir_fail(g, "rank %d exceeds the limit of %d", d->rank, IR_MAX_RANK);
  for (int k = 0; k < d->rank; k++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[k];
    d->dims[k] = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? dim->dim_value : -1;
  }
}

/* One tensor of the flattened input: shape from the --seq file, checked against the declaration. */
static Node *flat_input(Graph *g, const char *name, const DeclTensor *d, const OnnxTensorData *t, const char *path) {
  if (t->dt != d->dt) ir_fail(g, "--seq %s: %s holds %s, the model declares %s", name, path, dt_name(t->dt), dt_name(d->dt));
  bool ok = d->rank < 0 || d->rank == t->rank;
  for (int k = 0; ok && d->rank >= 0 && k < t->rank; k++) ok = d->dims[k] < 0 || d->dims[k] == t->dims[k];
  if (!ok) ir_fail(g, "--seq %s: a tensor's shape in %s does not match the model's declaration", name, path);
  return ir_input(g, name, t->dt, t->rank, t->dims);
}

static Node *flat_seq_input(Graph *g, const char *name, const DeclTensor *d, int n, const OnnxTensorData *ts,
                            const char *path) {
  Node **xs = ir_alloc_array(g, (size_t)n + 1, sizeof(Node *));
  for (int k = 0; k < n; k++) {
    char nm[512];
    snprintf(nm, sizeof nm, "%s.%d", name, k);
    xs[k] = flat_input(g, nm, d, &ts[k], path);
  }
  return onnx_seq_new(g, d->dt, n, xs);
}

Node *onnx_value_input(Graph *g, const char *name, const Onnx__TypeProto *tp, const char *seq_path) {
  bool is_seq = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE, of_seq = false;
  const Onnx__TypeProto *et = NULL;
  if (is_seq) {
    et = tp->sequence_type ? tp->sequence_type->elem_type : NULL;
  } else {
    et = tp->optional_type ? tp->optional_type->elem_type : NULL;
    if (et && et->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) {
      of_seq = true;
      et = et->sequence_type ? et->sequence_type->elem_type : NULL;
    }
  }
  DeclTensor d;
  decl_tensor(g, name, et, &d);
  if (!seq_path) {
    bool known = !is_seq && !of_seq && d.rank >= 0;
    for (int k = 0; known && k < d.rank; k++) known = d.dims[k] >= 0;
    if (!known)
      ir_fail(g, "it is %s; give its structure (length, element shapes) with --seq %s=FILE.pb (a %s file)",
              is_seq ? "a sequence" : of_seq ? "an optional sequence" : "an optional tensor without a static shape", name,
              is_seq ? "SequenceProto" : "OptionalProto");
    return onnx_opt_new(g, ir_input(g, name, d.dt, d.rank, d.dims), d.dt, false);
  }
  /* only the structure is kept: copy it to the arena before anything can fail */
  OnnxValueData v;
  char err[600];
  if (onnx_read_value_file(seq_path, is_seq ? ONNX_VALUE_SEQUENCE : ONNX_VALUE_OPTIONAL, &v, err, sizeof err))
    ir_fail(g, "--seq %s: %s", name, err);
  int n = v.n;
  bool present = v.present, content_seq = v.content == ONNX_VALUE_SEQUENCE;
  OnnxTensorData *ts = n <= SEQ_MAX ? ir_alloc_array(g, (size_t)n + 1, sizeof *ts) : NULL;
  for (int k = 0; ts && k < n; k++) {
    ts[k] = v.t[k];
    ts[k].data = NULL;
  }
  onnx_value_data_free(&v);
  if (!ts) ir_fail(g, "--seq %s: %d tensors (at most %d)", name, n, SEQ_MAX);
  if (is_seq) return flat_seq_input(g, name, &d, n, ts, seq_path);
  if (!present) return onnx_opt_new(g, NULL, d.dt, of_seq);
  if (content_seq != of_seq)
    ir_fail(g, "--seq %s: %s holds a %s, the model declares an optional %s", name, seq_path,
            of_seq ? "tensor" : "sequence", of_seq ? "sequence" : "tensor");
  Node *content = of_seq ? flat_seq_input(g, name, &d, n, ts, seq_path) : flat_input(g, name, &d, &ts[0], seq_path);
  return onnx_opt_new(g, content, d.dt, of_seq);
}

static void mark_one(Graph *g, Node *n, const char *name) {
  if (n->kind == NODE_LEAF || (n->flags & NF_OUTPUT)) n = ir_unary(g, MAP_COPY, n);
  ir_mark_output(g, n, name);
}

void onnx_value_mark_output(Graph *g, Node *n, const char *name) {
  OnnxValue *v = onnx_value_of(n);
  if (!v) {
    mark_one(g, n, name);
    return;
  }
  if (!v->is_seq) {
    if (v->n) onnx_value_mark_output(g, v->elems[0], name);
    return;
  }
  for (int k = 0; k < v->n; k++) {
    char nm[512];
    snprintf(nm, sizeof nm, "%s.%d", name, k);
    mark_one(g, v->elems[k], nm);
  }
}
