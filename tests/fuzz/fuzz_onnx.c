/* fuzz_onnx.c: bytes -> a model file -> onnx_load (protobuf-c, initializers,
 * shape inference, lowering to meta-ops, constant folding) -> the pass
 * pipeline (pass_run_all, as `jtc` runs it, with --dump-ir=all printing to
 * /dev/null for odd-sized inputs); also onnx_model_io, which the conformance
 * runner uses. Nothing is written but the model file itself. The resource
 * limits are lowered (--max-bytes=64M --max-nodes=16384) so that no input
 * can take seconds or gigabytes within them. */
#include <stdio.h>

#include "frontend/onnx/onnx.h"
#include "passes/passes.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  const char *path = fuzz_write("model.onnx", data, size);

  OnnxIoInfo *in, *out;
  int nin, nout;
  char err[512];
  if (onnx_model_io(path, &in, &nin, &out, &nout, err, sizeof err) == 0) {
    onnx_model_io_free(in, nin);
    onnx_model_io_free(out, nout);
  }

  OnnxOptions opt = {.max_bytes = 64 << 20, .max_nodes = 1 << 14};
  Graph *g = onnx_load(path, &opt);
  if (!g) return 0;
  Plan *p = pass_run_all(g, size & 1 ? "all" : NULL, devnull);
  (void)p; /* NULL: a located error in g->errmsg, which is fine */
  ir_graph_free(g);
  return 0;
}
