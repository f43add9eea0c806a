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
} OnnxOptions;

/* Load path into a new Graph (opt may be NULL); on failure print every error to
 * stderr ("path: node 'x' (Op, #3): what") and return NULL. */
Graph *onnx_load(const char *path, const OnnxOptions *opt);

/* Read one serialized TensorProto file (ONNX test data layout): dtype, shape and
 * dense row-major data (malloc'ed, caller frees; NULL when it has no elements).
 * Returns 0 on success, else writes a message to err and returns -1. */
int onnx_read_tensor_file(const char *path, Dtype *dt, int *rank, int64_t dims[IR_MAX_RANK],
                          void **data, char *err, size_t errlen);

/* Print the supported operators, one per line with their opset range. */
void onnx_list_ops(FILE *f);

/* The name stored in a TensorProto file ("" if none); 0, or -1 if unreadable. */
int onnx_tensor_file_name(const char *path, char *name, size_t n);

/* All error text of the most recent failed onnx_load ("" after a success).
 * Valid until the next onnx_load; one message per line. */
const char *onnx_last_error(void);

#endif
