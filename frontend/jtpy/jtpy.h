/* jtpy.h: the PyTorch / Jittor frontend. Reads pickled models in C without
 * executing anything:
 *   - torch.save zip archives (read through their central directory) and the
 *     legacy (pre-1.6) stream format; storages with offset/stride views;
 *   - Jittor's jt.save (pickle + SHA-1 + "HCAJSLHD", checksum verified) and
 *     plain pickles of numpy arrays (numpy 1 and 2 spellings).
 * The pickle reader treats GLOBAL/STACK_GLOBAL as symbols; only a whitelist of
 * reducers builds values (tensors, OrderedDict, numpy arrays and dtypes,
 * jittor.Var); other classes become records {class, state}, and a REDUCE of
 * any other callable (os.system, builtins.eval, ...) is an error naming the
 * global and its byte offset.
 *
 * A whole-module pickle of an nn.Sequential of standard layers becomes a
 * meta-op graph with one input named "input" (--shape input=...); a state
 * dict supplies weights to an ONNX graph (--weights).
 */
#ifndef JTC_JTPY_H
#define JTC_JTPY_H

#include <stdio.h>

#include "frontend/onnx/onnx.h"

/* True if the file starts like a torch zip, a legacy torch file or a pickle
 * (magic bytes, not the extension). */
bool jtpy_is_pickle_file(const char *path);

/* Whole-module pickle -> meta-op graph (opt->shapes gives "input"'s dims).
 * On failure prints the error to stderr and returns NULL. */
Graph *jtpy_load(const char *path, const OnnxOptions *opt);

/* Named tensors of a state dict, checkpoint or module (dense, row-major). */
typedef struct {
  OnnxWeight *w;   /* w[k].name, dtype, rank, dims, data */
  int n;
  void *priv;
} JtpyWeights;
/* NULL on failure (message printed to stderr and kept for jtpy_last_error).
 * The dense tensors may take at most max_bytes (0: ONNX_DEFAULT_MAX_BYTES) plus
 * 64 MiB: a view can repeat one stored element 2^40 times (stride 0). */
JtpyWeights *jtpy_load_weights(const char *path); /* max_bytes 0 */
JtpyWeights *jtpy_load_weights_max(const char *path, int64_t max_bytes);
void jtpy_weights_free(JtpyWeights *w);
/* After onnx_load with these weights: report names that replaced nothing.
 * Returns the number of names used. */
int jtpy_weights_report(const JtpyWeights *w, const bool *used, const char *path, FILE *f);

/* `jtc inspect FILE`: tensors (name, dtype, shape), module tree, unknown classes. 0 = ok. */
int jtpy_inspect(const char *path, FILE *f);
/* The same as one JSON object: {"format":"pickle","kind","tensors":[{"name","dtype","shape"}],"classes":[...]}. */
int jtpy_inspect_json(const char *path, FILE *f);

/* Message of the last failure ("" after a success). */
const char *jtpy_last_error(void);

#endif
