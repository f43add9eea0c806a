/* onnx_internal.h: what the ONNX frontend's files share and nothing else
 * includes: the lowering context handed to each op's lowering function, the
 * op table's row type, attribute and constant-input helpers (onnx_attr.c),
 * tensor decoding (onnx_tensor.c) and the lowering functions of each family
 * (onnx_lower_*.c), which the op table (onnx_ops.c) lists.
 */
#ifndef JTC_ONNX_INTERNAL_H
#define JTC_ONNX_INTERNAL_H

#include "frontend/onnx/onnx.h"
#include "ir/ops.h"
#include "onnx.pb-c.h"

/* Everything a lowering sees. Lowerings fail with ir_fail(c->g, ...): the
 * loader has set g->context to "node 'name' (Op, #k)" so messages say where. */
typedef struct OnnxCtx {
  Graph *g;
  const Onnx__NodeProto *node;
  int opset;               /* default-domain opset version of the model */
  int nin;                 /* node->n_input */
  Node **in;               /* in[k]: input k, NULL where the name is "" (absent optional) */
  int nout;                /* node->n_output */
  Node **out;              /* set by the lowering; out[k] for node->output[k] */
  const char *model_dir;   /* for external data of tensor attributes */
  struct OnnxScope *scope; /* the loader's scope of value names (onnx_lower_subgraph) */
} OnnxCtx;

typedef void (*OnnxLowerFn)(OnnxCtx *c);

/* One row of the op table: op_type, opsets [min_opset, max_opset] (max 0:
 * no upper bound), lowering. */
typedef struct {
  const char *name;
  int min_opset, max_opset;
  OnnxLowerFn lower;
} OnnxOpRow;

/* onnx_load.c: lower subgraph `body` (an If branch, a Loop or Scan body) in a
 * scope where the enclosing graphs' values stay visible, its inputs bound to
 * ins[0..nin) (nin must equal body->n_input). Returns body->n_output nodes
 * (arena). The first error unwinds through ir_fail like any other. */
Node **onnx_lower_subgraph(OnnxCtx *c, const Onnx__GraphProto *body, int nin, Node *const *ins);

/* onnx_load.c: fails (through ir_fail) if an output of these dims would exceed
 * what is left of --max-bytes; for lowerings that build tables as large as
 * their output, before they build them. */
void onnx_check_output_bytes(OnnxCtx *c, int rank, const int64_t *dims, Dtype dt);

/* onnx_ops.c: the row for op_type at this opset, NULL if unsupported. */
const OnnxOpRow *onnx_find_op(const char *op_type, int opset);
/* onnx_ops.c: which row a model's node uses, shared by the loader and
 * onnx_inspect. "" and "ai.onnx" are the default domain; its rows are keyed
 * by op type at `opset` (onnx_model_opset: the model's last default-domain
 * import, else 1, clamped to 1..1000, *found says whether there was one).
 * Rows of another domain are keyed "domain:OpType" at the version the model
 * imports for it (none: unsupported). any_opset asks for a row at any version
 * (to tell "unknown op" from "known, other opset"); *used receives the version. */
bool onnx_default_domain(const char *domain);
int onnx_model_opset(const Onnx__ModelProto *m, bool *found);
const OnnxOpRow *onnx_find_node_op(const Onnx__ModelProto *m, int opset, const char *domain, const char *op_type,
                                   bool any_opset, int *used);

/* ---- onnx_attr.c: attributes ---- */
const Onnx__AttributeProto *onnx_attr(OnnxCtx *c, const char *name); /* NULL if absent */
int64_t onnx_attr_int(OnnxCtx *c, const char *name, int64_t def);
double onnx_attr_float(OnnxCtx *c, const char *name, double def);
const char *onnx_attr_string(OnnxCtx *c, const char *name, const char *def); /* arena copy */
/* Copies at most max values into out; returns the count, or -1 when absent.
 * More than max values fails with a message naming the attribute. */
int onnx_attr_ints(OnnxCtx *c, const char *name, int64_t *out, int max);
int onnx_attr_floats(OnnxCtx *c, const char *name, double *out, int max);
/* A STRINGS attribute: *out gets arena copies (a NUL byte inside fails); the count, or -1 when absent. */
int onnx_attr_strings(OnnxCtx *c, const char *name, const char ***out);
/* A TENSOR attribute as a constant node, or NULL if absent. */
Node *onnx_attr_tensor(OnnxCtx *c, const char *name);

/* ---- onnx_attr.c: inputs and outputs ---- */
Node *onnx_input(OnnxCtx *c, int k, const char *what);  /* required: fails if absent */
Node *onnx_opt_input(OnnxCtx *c, int k);                /* NULL if absent */
/* Input k must be a constant integer tensor of rank <= 1 (after folding);
 * copies its values (at most max). "input 'shape' must be a constant ..." otherwise. */
int onnx_const_ints(OnnxCtx *c, int k, const char *what, int64_t *out, int max);
/* The first graph input that n's value is computed from (n itself if it is one), or NULL. */
Node *onnx_source_input(Graph *g, Node *n);
/* Input k must be a constant with one element; returns it as double. */
double onnx_const_scalar(OnnxCtx *c, int k, const char *what);
bool onnx_out_wanted(const OnnxCtx *c, int k);          /* output k exists and is named */
/* Normalize an ONNX axis (negative counts from the end) for a tensor of `rank`. */
int onnx_axis(OnnxCtx *c, int64_t axis, int rank, const char *what);
/* Fold n to a constant if it is computed only from constants and small.
 * Nodes older than `first_id` are taken as already folded where possible. */
Node *onnx_fold(Graph *g, Node *n, int first_id);
/* Printable op type and node name for messages. */
const char *onnx_op_type(const Onnx__NodeProto *node);

/* ---- onnx_tensor.c ---- */
/* Read a whole regular, non-empty file (malloc'ed). 0, or -1 with "path: why" in err. */
int onnx_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);
/* Before unpacking a ModelProto: its messages nest at most ONNX_MAX_NESTING deep
 * and it has at most max_nodes NodeProtos. 0, or -1 with "path: why" in err. */
int onnx_check_model_bytes(const uint8_t *buf, size_t len, int64_t max_nodes, const char *path, char *err, size_t errlen);
Dtype onnx_dtype(int onnx_type);        /* DT_UNDEF if unsupported */
const char *onnx_dtype_name(int onnx_type);
/* Decode a TensorProto to dense little-endian-host data (malloc'ed, NULL if
 * numel == 0). model_dir resolves external data (NULL: refuse external data).
 * Returns 0, or -1 with a message in err. */
int onnx_tensor_decode(const Onnx__TensorProto *t, const char *model_dir, Dtype *dt, int *rank,
                       int64_t dims[IR_MAX_RANK], void **data, char *err, size_t errlen);
/* Decode as a graph constant (fails through ir_fail). */
Node *onnx_tensor_const(Graph *g, const Onnx__TensorProto *t, const char *model_dir);

/* ---- lowering functions, one per op family (listed in onnx_ops.c) ---- */
/* onnx_lower_math.c */
void onnx_lower_unary(OnnxCtx *c);
void onnx_lower_binary(OnnxCtx *c);
void onnx_lower_variadic(OnnxCtx *c);
void onnx_lower_activation(OnnxCtx *c);
void onnx_lower_clip(OnnxCtx *c);
void onnx_lower_cast(OnnxCtx *c);
void onnx_lower_identity(OnnxCtx *c);
void onnx_lower_dropout(OnnxCtx *c);
void onnx_lower_where(OnnxCtx *c);
void onnx_lower_reduce(OnnxCtx *c);
void onnx_lower_arg_reduce(OnnxCtx *c);
void onnx_lower_cast_like(OnnxCtx *c);
/* onnx_lower_nn.c */
void onnx_lower_conv(OnnxCtx *c);
void onnx_lower_conv_transpose(OnnxCtx *c);
void onnx_lower_gemm(OnnxCtx *c);
void onnx_lower_matmul(OnnxCtx *c);
void onnx_lower_pool(OnnxCtx *c);
void onnx_lower_global_pool(OnnxCtx *c);
void onnx_lower_batchnorm(OnnxCtx *c);
void onnx_lower_batchnorm_train_step(OnnxCtx *c); /* onnx_lower_spatial.c */
void onnx_lower_layernorm(OnnxCtx *c);
void onnx_lower_instancenorm(OnnxCtx *c);
void onnx_lower_softmax(OnnxCtx *c);
/* onnx_lower_shape.c */
void onnx_lower_reshape(OnnxCtx *c);
void onnx_lower_flatten(OnnxCtx *c);
void onnx_lower_transpose(OnnxCtx *c);
void onnx_lower_concat(OnnxCtx *c);
void onnx_lower_split(OnnxCtx *c);
void onnx_lower_slice(OnnxCtx *c);
void onnx_lower_squeeze(OnnxCtx *c);
void onnx_lower_unsqueeze(OnnxCtx *c);
void onnx_lower_pad(OnnxCtx *c);
void onnx_lower_gather(OnnxCtx *c);
void onnx_lower_expand(OnnxCtx *c);
void onnx_lower_tile(OnnxCtx *c);
void onnx_lower_depth_space(OnnxCtx *c);
/* onnx_lower_const.c */
void onnx_lower_constant(OnnxCtx *c);
void onnx_lower_shape(OnnxCtx *c);
void onnx_lower_size(OnnxCtx *c);
void onnx_lower_constant_of_shape(OnnxCtx *c);
void onnx_lower_range(OnnxCtx *c);
/* gather/scatter/index family (onnx_lower_index.c, ir/ops_index.c) */
void onnx_lower_gather_elements(OnnxCtx *c);
void onnx_lower_gather_nd(OnnxCtx *c);
void onnx_lower_scatter_elements(OnnxCtx *c);
void onnx_lower_scatter_nd(OnnxCtx *c);
void onnx_lower_trilu(OnnxCtx *c);
void onnx_lower_cumsum(OnnxCtx *c);
void onnx_lower_eye_like(OnnxCtx *c);
void onnx_lower_one_hot(OnnxCtx *c);
void onnx_lower_reverse_sequence(OnnxCtx *c);
void onnx_lower_hardmax(OnnxCtx *c);
void onnx_lower_bit_shift(OnnxCtx *c);
void onnx_lower_einsum(OnnxCtx *c);
void onnx_lower_compress(OnnxCtx *c);
/* backlog (onnx_lower_backlog.c, ir/ops_backlog.c) */
void onnx_lower_topk(OnnxCtx *c);
void onnx_lower_string_normalizer(OnnxCtx *c);
void onnx_lower_tfidf(OnnxCtx *c);
void onnx_lower_dropout_training(OnnxCtx *c); /* called by onnx_lower_dropout */
void onnx_lower_random(OnnxCtx *c);
void onnx_lower_nonzero(OnnxCtx *c);
void onnx_lower_unique(OnnxCtx *c);
void onnx_lower_nms(OnnxCtx *c);
/* @family:index (declarations above this line) */
/* resize and spatial family (onnx_lower_spatial.c, ir/ops_spatial.c) */
void onnx_lower_resize(OnnxCtx *c);
void onnx_lower_grid_sample(OnnxCtx *c);
void onnx_lower_roi_align(OnnxCtx *c);
void onnx_lower_max_unpool(OnnxCtx *c);
void onnx_lower_lppool(OnnxCtx *c);
void onnx_lower_lrn(OnnxCtx *c);
void onnx_lower_mvn(OnnxCtx *c);
void onnx_lower_group_norm(OnnxCtx *c);
void onnx_lower_batchnorm_training(OnnxCtx *c); /* called by onnx_lower_batchnorm */
/* @family:spatial (declarations above this line) */
/* losses, training updates, quantization, signal (onnx_lower_misc.c, ir/ops_misc.c) */
void onnx_lower_nll_loss(OnnxCtx *c);
void onnx_lower_softmax_ce(OnnxCtx *c);
void onnx_lower_adagrad(OnnxCtx *c);
void onnx_lower_momentum(OnnxCtx *c);
void onnx_lower_adam(OnnxCtx *c);
void onnx_lower_gradient(OnnxCtx *c);
/* onnx_load.c: the value a name has in the scope (enclosing scopes included), or NULL. */
Node *onnx_scope_value(const struct OnnxScope *s, const char *name);
void onnx_lower_quantize_linear(OnnxCtx *c);
void onnx_lower_dequantize_linear(OnnxCtx *c);
void onnx_lower_dynamic_quantize_linear(OnnxCtx *c);
void onnx_lower_matmul_integer(OnnxCtx *c);
void onnx_lower_qlinear_matmul(OnnxCtx *c);
void onnx_lower_conv_integer(OnnxCtx *c);
void onnx_lower_qlinear_conv(OnnxCtx *c);
void onnx_lower_window(OnnxCtx *c);
void onnx_lower_dft(OnnxCtx *c);
void onnx_lower_stft(OnnxCtx *c);
void onnx_lower_mel_weight_matrix(OnnxCtx *c);
void onnx_lower_det(OnnxCtx *c);
void onnx_lower_mish(OnnxCtx *c);
/* @family:misc (declarations above this line) */
/* recurrent nets and control flow (onnx_lower_rnn.c, ir/ops_rnn.c) */
void onnx_lower_rnn(OnnxCtx *c);
void onnx_lower_if(OnnxCtx *c);
void onnx_lower_loop(OnnxCtx *c);
void onnx_lower_scan(OnnxCtx *c);
/* @family:rnn (declarations above this line) */
/* sequences and optionals (onnx_lower_seq.c). A sequence is a compile-time list
 * of tensors, each with its own static shape; an optional holds a tensor or a
 * sequence, or nothing. Both travel through the loader's value table, OnnxCtx's
 * in/out and onnx_lower_subgraph as the header of an OnnxValue: a Node outside
 * the graph (id -1, kind OPAQUE, opaque_name ONNX_VALUE_TAG) that must never
 * reach a constructor. The loader hands such inputs only to the ops that take
 * them (onnx_value_lowering) and flattens them at the graph's boundary. */
#define ONNX_VALUE_TAG "onnx.value"
typedef struct OnnxValue {
  Node hdr;          /* what the Node* slots point to */
  bool is_seq;       /* else an optional */
  Dtype elem_dtype;  /* a sequence's element dtype (DT_UNDEF: unknown); an optional's content's */
  int n;             /* sequence: length; optional: 0 empty, 1 present */
  Node **elems;      /* sequence: n tensors; optional: elems[0], a tensor or a sequence */
  bool of_seq;       /* optional: its content is (an empty one's would be) a sequence */
} OnnxValue;
OnnxValue *onnx_value_of(Node *n); /* n's OnnxValue, NULL for a tensor (or NULL) */
Node *onnx_seq_new(Graph *g, Dtype elem_dtype, int n, Node *const *elems); /* copies elems */
Node *onnx_opt_new(Graph *g, Node *content, Dtype elem_dtype, bool of_seq); /* content NULL: empty */
/* The lowering for a node with sequence or optional inputs: `row` where the op
 * takes them, the pass-through for Identity, else fails naming the input. */
OnnxLowerFn onnx_value_lowering(OnnxCtx *c, OnnxLowerFn row);
/* If with a run-time cond over sequence/optional branch outputs: element-wise
 * selection when both have the same structure and shapes, else NULL. */
Node *onnx_value_select(Graph *g, Node *cond, Node *a, Node *b);
/* Graph input `name` of sequence or optional type `tp`: its structure from the
 * --seq file seq_path (NULL if none), its tensors graph inputs "NAME.k" (a
 * sequence's) or "NAME" (an optional's tensor). */
Node *onnx_value_input(Graph *g, const char *name, const Onnx__TypeProto *tp, const char *seq_path);
/* Marks the tensors of value v as graph outputs "NAME.k" or "NAME" (see onnx.h). */
void onnx_value_mark_output(Graph *g, Node *v, const char *name);
void onnx_lower_sequence_empty(OnnxCtx *c);
void onnx_lower_sequence_construct(OnnxCtx *c);
void onnx_lower_sequence_insert(OnnxCtx *c);
void onnx_lower_sequence_erase(OnnxCtx *c);
void onnx_lower_sequence_at(OnnxCtx *c);
void onnx_lower_sequence_length(OnnxCtx *c);
void onnx_lower_concat_from_sequence(OnnxCtx *c);
void onnx_lower_split_to_sequence(OnnxCtx *c);
void onnx_lower_sequence_map(OnnxCtx *c);
void onnx_lower_optional(OnnxCtx *c);
void onnx_lower_optional_has_element(OnnxCtx *c);
void onnx_lower_optional_get_element(OnnxCtx *c);
/* @family:seq (declarations above this line) */

#endif
