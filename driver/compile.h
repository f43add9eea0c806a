/* compile.h: one model file to generated source, the whole pipeline (load, the
 * training step, passes, code generator) behind both the `jtc` command and
 * libjtc, so the two cannot drift apart. */
#ifndef JTC_DRIVER_COMPILE_H
#define JTC_DRIVER_COMPILE_H

#include <stdio.h>

#include "codegen/c/cgen.h"
#include "frontend/onnx/onnx.h"
#include "passes/passes.h"

typedef struct {
  const char *model;          /* .onnx, or a PyTorch/Jittor pickle (by its magic bytes) */
  const char *out;            /* the source to write (NULL: only dump); header and .weights beside it */
  const char *prefix;         /* symbol prefix; NULL: from out's stem */
  const char *command;        /* the command line, for the front matter (NULL: "jtc") */
  bool cuda, cuda_graph, naive, quiet;
  bool embedded;              /* C for microcontrollers (CgOptions.embedded) */
  const char *arch;           /* CUDA: sm_XX list for the build line */
  GpuPrecision precision;     /* CUDA: --precision (float32 contractions on the tensor cores) */
  const OnnxShapeOverride *shapes; int nshapes;
  const OnnxBind *binds; int nbinds;
  const OnnxBind *seqs; int nseqs;
  const char *weights;        /* --weights FILE, or NULL */
  WeightsMode wmode;
  int64_t embed_limit;
  int64_t max_bytes, max_nodes;
  int max_depth;
  bool train;                 /* a training build with topt */
  TrainOptions topt;
  const char *dump;           /* --dump-ir: a pass name, "all", "input", or NULL */
  FILE *dump_file;
  const char *report;         /* --report: JSON describing the generated code (needs out; not with train), or NULL */
  const char *dot;            /* --dump-dot: the kernel graph as Graphviz (the same), or NULL */
} CompileOptions;

/* 0 on success; 1 for a model error, 2 for options that do not fit the model (a pickle
 * with --weights, a header path equal to the source). Messages go to stderr, and the
 * first line of the last one into err (if not NULL). */
int jtc_compile(const CompileOptions *o, char *err, size_t errlen);

/* jtc_compile's last step: write the files of co (the C, CUDA or, with tp, training
 * generator) for the plan p of g. 0 on success; 1 on failure, reported as jtc_compile
 * does, with every file the generator had opened closed and removed: a failure part-way
 * (an ir_fail while printing, a write error) leaves no truncated output behind. */
int jtc_write_code(Graph *g, Plan *p, Plan *tp, const CgOptions *co, char *err, size_t errlen);

#endif
