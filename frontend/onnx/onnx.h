/* onnx.h: the ONNX frontend. onnx_load reads a .onnx file (protobuf, parsed by
 * protobuf-c against Debian's onnx.proto) and lowers every node to meta-ops
 * through the constructors in ir/ops.h, so the Graph it returns is already the
 * meta-op graph: shapes inferred, constant subgraphs folded. Errors are
 * collected (all unsupported operators at once, then one message per failing
 * node), printed to stderr and kept for onnx_last_error().
 */
#ifndef JTC_ONNX_H
#define JTC_ONNX_H

#include "ir/ir.h"

/* A --shape override: dims for the graph input `name` (rank must match the model's). */
typedef struct { const char *name; int rank; int64_t dims[IR_MAX_RANK]; } OnnxShapeOverride;
/* A --bind: graph input `name` becomes a constant read from a TensorProto file, so
 * shape-like inputs (Reshape's shape, Slice's starts, ...) can be pinned at compile time. */
typedef struct { const char *name; const char *path; } OnnxBind;
/* A --weights tensor: replaces the initializer of the same name (dtype and shape
 * must match); used[k] (if given) is set when weights[k] replaced one. */
typedef struct { const char *name; Dtype dtype; int rank; int64_t dims[IR_MAX_RANK]; const void *data; } OnnxWeight;
typedef struct {
  const OnnxShapeOverride *shapes; int nshapes;
  const OnnxBind *binds; int nbinds;
  const OnnxWeight *weights; int nweights; bool *weights_used;
  /* --seq: graph input `name` of sequence or optional type takes its structure
   * (length, element dtypes and shapes; empty or present) from the SequenceProto
   * or OptionalProto file `path`; its values are not used (see onnx_load) */
  const OnnxBind *seqs; int nseqs;
  /* Resource limits (0: the ONNX_DEFAULT_* below). A model beyond one is refused
   * with a message naming the limit and its jtc flag, before jtc allocates for it:
   * max_bytes bounds the bytes declared by initializers, graph inputs and every
   * node's outputs together (--max-bytes); max_nodes the nodes of the model,
   * subgraphs included, the node lowerings (an unrolled Loop body counts once per
   * iteration) and the meta-op nodes made (--max-nodes); max_depth the nesting
   * of If/Loop/Scan subgraphs (--max-depth). */
  int64_t max_bytes, max_nodes;
  int max_depth;
  /* --train: float initializers become state leaves (LEAF_STATE, trainable unless
   * an op needs their value at compile time), BatchNormalization normalizes with
   * batch statistics and updates its running statistics as PyTorch does, and
   * Dropout draws a mask per step (ir_random_uniform). */
  bool training;
  bool state_weights; /* float initializers become state leaves as with training, the rest unchanged (a training build's inference graph) */
} OnnxOptions;
#define ONNX_DEFAULT_MAX_BYTES ((int64_t)1 << 32) /* 4 GiB */
#define ONNX_DEFAULT_MAX_NODES ((int64_t)1 << 18)
#define ONNX_DEFAULT_MAX_DEPTH 32
#define ONNX_MAX_NESTING 512 /* protobuf messages nested in a model file (checked before it is unpacked) */

/* Load path into a new Graph (opt may be NULL); on failure print every error to
 * stderr ("path: node 'x' (Op, #3): what") and return NULL.
 * Sequence and optional values are compile-time structures (onnx_lower_seq.c);
 * at the graph's boundary they are flattened: a sequence NAME of length L is the
 * L tensors "NAME.0" ... "NAME.<L-1>", an optional holding a tensor is the tensor
 * NAME, one holding a sequence is that sequence's tensors, an empty one is
 * nothing. A sequence or optional graph input needs --seq (OnnxOptions.seqs),
 * except an optional tensor whose shape the model gives (then it is present). */
Graph *onnx_load(const char *path, const OnnxOptions *opt);

/* Read one serialized TensorProto file (ONNX test data layout): dtype, shape and
 * dense row-major data (malloc'ed, caller frees; NULL when it has no elements).
 * Returns 0 on success, else writes a message to err and returns -1. */
int onnx_read_tensor_file(const char *path, Dtype *dt, int *rank, int64_t dims[IR_MAX_RANK],
                          void **data, char *err, size_t errlen);

/* Print the supported operators, one per line with their opset range. */
void onnx_list_ops(FILE *f);

/* `jtc inspect MODEL.onnx [--json]` (onnx_inspect.c): metadata, opset imports,
 * graph inputs and outputs, op histogram (subgraphs included), parameters,
 * external data and the op types jtc lacks, as text or one JSON object (json)
 * on f. Reads the model file only (external data is reported, not read) under
 * the loader's limits. 0, or 1 after one line "path: why" on stderr. */
int onnx_inspect(const char *path, bool json, FILE *f);

/* The name stored in a TensorProto file ("" if none); 0, or -1 if unreadable. */
int onnx_tensor_file_name(const char *path, char *name, size_t n);

/* ---- test data of sequence and optional type (onnx_tensor.c) ---- */
typedef enum { ONNX_VALUE_TENSOR, ONNX_VALUE_SEQUENCE, ONNX_VALUE_OPTIONAL } OnnxValueKind;
typedef struct { Dtype dt; int rank; int64_t dims[IR_MAX_RANK]; void *data; } OnnxTensorData; /* data malloc'ed or NULL */
/* A TensorProto, SequenceProto or OptionalProto file (`kind` says which to
 * expect), flattened as the generated API passes it: t[0..n) are a tensor's one
 * tensor, a sequence's elements, a present optional's content's tensors. */
typedef struct {
  OnnxValueKind kind;
  bool present;            /* OPTIONAL: it holds a value */
  OnnxValueKind content;   /* present OPTIONAL: TENSOR or SEQUENCE */
  int n;
  OnnxTensorData *t;       /* malloc'ed */
} OnnxValueData;
/* 0, or -1 with a message in err (v is then empty). Free with onnx_value_data_free. */
int onnx_read_value_file(const char *path, OnnxValueKind kind, OnnxValueData *v, char *err, size_t errlen);
void onnx_value_data_free(OnnxValueData *v);

/* A model's graph inputs (those without an initializer) and outputs, in order:
 * name, kind, and whether a tensor's shape has a symbolic or unknown dim. */
typedef struct { char *name; OnnxValueKind kind; bool symbolic; } OnnxIoInfo;
/* 0, or -1 with a message in err. Free the arrays with onnx_model_io_free. */
int onnx_model_io(const char *path, OnnxIoInfo **in, int *nin, OnnxIoInfo **out, int *nout, char *err, size_t errlen);
void onnx_model_io_free(OnnxIoInfo *io, int n);

/* All error text of the most recent failed onnx_load ("" after a success).
 * Valid until the next onnx_load; one message per line. */
const char *onnx_last_error(void);

#endif
