/* main.c: the `jtc` command: parse flags, then driver/compile.c loads the
 * model, runs the pass pipeline and prints the code. Usage errors exit 2,
 * model errors exit 1. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/inspect.h"
#include "cli/run.h"
#include "codegen/cuda/cuda.h"
#include "driver/compile.h"
#include "include/jtc.h"

#define MAX_SHAPES 64

static const char usage[] =
  "usage: jtc MODEL.onnx|MODEL.pt|MODEL.pkl [options]\n"
  "       jtc inspect MODEL.onnx|FILE.pt|FILE.pkl [--json]  (ops, parameters, unsupported ops; a pickle's tensors)\n"
  "       jtc cache list|clear                          (libjtc's compiled models: show, or remove all)\n"
  "       jtc run MODEL.onnx [--input NAME=FILE.npy|.pb ...] [--output-dir DIR] [--iters N]   (compile, cache, run)\n"
  "       jtc run DIR                                   (ONNX test folder: run every test_data_set_*, compare)\n"
  "  -o FILE              write FILE (the source) and its header beside it (STEM.h)\n"
  "  --target=c|cuda      C11 + optional OpenMP (default), or one CUDA file for nvcc (whatever FILE's name)\n"
  "  --arch=LIST          CUDA: GPUs the build line in the file's first comment targets (default sm_87,sm_90)\n"
  "  --cuda-graph         CUDA: replay the launch sequence as a CUDA graph\n"
  "  --precision=P        CUDA: float32 contractions multiply in P: fp32 (default), or tf32 or fp16\n"
  "                       on the tensor cores (inputs rounded, sums in float32)\n"
  "  --embedded           C for microcontrollers: no malloc, stdio, file I/O or OpenMP; weights as\n"
  "                       const arrays, STEM_run_with_arena(inputs, outputs, arena) beside STEM_run\n"
  "  --name PREFIX        symbol prefix of the generated API (default: the output's stem)\n"
  "  --shape NAME=D0,D1   pin the dims of graph input NAME (repeatable)\n"
  "  --bind NAME=FILE.pb  make graph input NAME a constant read from a TensorProto file (repeatable)\n"
  "  --seq NAME=FILE.pb   sequence/optional input NAME: length, element shapes (or empty) from a\n"
  "                       SequenceProto/OptionalProto file; it becomes inputs NAME.0, NAME.1, ... (repeatable)\n"
  "  --weights FILE       replace ONNX initializers by name with a state dict (.pt), Jittor .pkl or saved .weights\n"
  "  --external-weights   always write weights to STEM.weights (default: above --embed-limit)\n"
  "  --embed-weights      always embed weights in the source\n"
  "  --embed-limit=BYTES  largest total constant size embedded (default 1048576)\n"
  "  --dump-ir[=after:PASS|all]  print the meta-op graph (after PASS, default the last)\n"
  "  --report=FILE        write FILE: JSON describing the generated code (kernels, schedule, FLOPs, arena, weights)\n"
  "  --dump-dot=FILE      write FILE: the fused kernel graph as Graphviz (dot -Tsvg FILE -o graph.svg)\n"
  "  --naive              plain loop nests: no epilogue fusion, GEMMs or row loops (a reference build)\n"
  "  --max-bytes=N        refuse models declaring more than N bytes of constants and activations (default 4 GiB)\n"
  "  --max-nodes=N        refuse models with more than N nodes or node lowerings (default 262144)\n"
  "  --max-depth=N        refuse If/Loop/Scan subgraphs nested deeper than N (default 32)\n"
  "  --train --loss=L     a training build: STEM_train_step (one optimizer step) and STEM_save_weights\n"
  "                       beside STEM_run; L: mse, cross_entropy, nll, bce_with_logits (mean over the batch)\n"
  "  --optimizer=sgd|adam|adamw  with --lr=R (sgd: required; adam: 1e-3), sgd: --momentum=M --nesterov,\n"
  "                       adam: --beta1=B1 --beta2=B2 --eps=E; all: --weight-decay=W (PyTorch's formulas)\n"
  "  -q                   no summary line on stderr\n"
  "  --list-ops           print the supported ONNX operators and exit\n"
  "  --version, --help\n"
  "passes: simplify dce fuse schedule contract rows memplan launch\n";

static _Noreturn void usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "jtc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, " (jtc --help lists the options)\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *model = NULL, *out = NULL, *name = NULL, *target = "c", *dump = NULL, *arch = "sm_87,sm_90";
  const char *report = NULL, *dot = NULL;
  OnnxShapeOverride shapes[MAX_SHAPES];
  OnnxBind binds[MAX_SHAPES], seqs[MAX_SHAPES];
  int nshapes = 0, nbinds = 0, nseqs = 0;
  bool quiet = false, naive = false, cuda_graph = false, embedded = false, precision_given = false;
  GpuPrecision precision = PRECISION_F32;
  WeightsMode wmode = WEIGHTS_AUTO;
  const char *weights = NULL;
  if (argc >= 2 && !strcmp(argv[1], "inspect")) return jtc_inspect_command(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "run")) return jtc_run_command(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "cache")) { /* libjtc's cache ($JTC_CACHE_DIR, ~/.cache/jtc) */
    char err[1024];
    if (argc != 3 || (strcmp(argv[2], "list") && strcmp(argv[2], "clear"))) usage_error("%s", "usage: jtc cache list|clear");
    if ((!strcmp(argv[2], "list") ? jtc_cache_list : jtc_cache_clear)(stdout, err, sizeof err)) {
      fprintf(stderr, "jtc: %s\n", err);
      return 1;
    }
    return 0;
  }
  int64_t embed_limit = 1 << 20, max_bytes = 0, max_nodes = 0;
  int max_depth = 0;
  TrainArgs ta;
  args_train_init(&ta);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int tf = args_train_flag(a, &ta);
    if (tf < 0) usage_error("bad value in %s", a);
    if (tf > 0) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage, stdout); return 0; }
    else if (!strcmp(a, "--version")) { puts("jtc " JTC_VERSION); return 0; }
    else if (!strcmp(a, "--list-ops")) { onnx_list_ops(stdout); return 0; }
    else if (!strcmp(a, "-o")) { if (++i == argc) usage_error("%s needs a file", a); out = argv[i]; }
    else if (!strcmp(a, "--name")) { if (++i == argc) usage_error("%s needs a prefix", a); name = argv[i]; }
    else if (!strncmp(a, "--name=", 7)) name = a + 7;
    else if (!strncmp(a, "--target=", 9)) target = a + 9;
    else if (!strncmp(a, "--arch=", 7)) {
      const char *why = cgcuda_check_arch(a + 7);
      if (why) usage_error("bad --arch (%s); want e.g. --arch=sm_87,sm_90", why);
      arch = a + 7;
    }
    else if (!strcmp(a, "--cuda-graph")) cuda_graph = true;
    else if (!strncmp(a, "--precision=", 12)) {
      if (args_parse_precision(a + 12, &precision)) usage_error("bad --precision '%s' (fp32, tf32, fp16)", a + 12);
      precision_given = true;
    }
    else if (!strcmp(a, "--embedded")) embedded = true;
    else if (!strcmp(a, "--shape") || !strncmp(a, "--shape=", 8)) {
      const char *v = a[7] == '=' ? a + 8 : (++i < argc ? argv[i] : NULL);
      if (!v) usage_error("%s needs NAME=D0,D1,...", "--shape");
      if (nshapes == MAX_SHAPES) usage_error("too many --shape flags (%s)", v);
      if (args_parse_shape(v, &shapes[nshapes])) usage_error("bad --shape '%s' (want NAME=D0,D1,... with dims >= 0)", v);
      nshapes++;
    }
    else if (!strcmp(a, "--bind") || !strncmp(a, "--bind=", 7)) {
      const char *v = a[6] == '=' ? a + 7 : (++i < argc ? argv[i] : NULL);
      if (v && nbinds == MAX_SHAPES) usage_error("too many --bind flags (%s)", v);
      if (!v || args_parse_bind(v, &binds[nbinds])) usage_error("%s needs NAME=FILE.pb", "--bind");
      nbinds++;
    }
    else if (!strcmp(a, "--seq") || !strncmp(a, "--seq=", 6)) {
      const char *v = a[5] == '=' ? a + 6 : (++i < argc ? argv[i] : NULL);
      if (v && nseqs == MAX_SHAPES) usage_error("too many --seq flags (%s)", v);
      if (!v || args_parse_bind(v, &seqs[nseqs])) usage_error("%s needs NAME=FILE.pb", "--seq");
      nseqs++;
    }
    else if (!strcmp(a, "--external-weights")) wmode = WEIGHTS_FILE;
    else if (!strcmp(a, "--weights")) { if (++i == argc) usage_error("%s needs a file", a); weights = argv[i]; }
    else if (!strncmp(a, "--weights=", 10)) weights = a + 10;
    else if (!strcmp(a, "--embed-weights")) wmode = WEIGHTS_EMBED;
    else if (!strncmp(a, "--embed-limit=", 14)) {
      if (args_parse_count(a + 14, INT64_MAX, &embed_limit)) usage_error("bad %s", a);
    }
    else if (!strncmp(a, "--max-bytes=", 12)) {
      if (args_parse_count(a + 12, INT64_MAX, &max_bytes) || !max_bytes) usage_error("bad %s (want a byte count >= 1)", a);
    }
    else if (!strncmp(a, "--max-nodes=", 12)) {
      if (args_parse_count(a + 12, INT64_MAX, &max_nodes) || !max_nodes) usage_error("bad %s (want a count >= 1)", a);
    }
    else if (!strncmp(a, "--max-depth=", 12)) {
      int64_t d;
      if (args_parse_count(a + 12, 1 << 20, &d) || !d) usage_error("bad %s (want a depth from 1 to 1048576)", a);
      max_depth = (int)d;
    }
    else if (!strcmp(a, "--dump-ir")) dump = "launch"; /* the last pass (for C a no-op): CUDA mappings show */
    else if (!strncmp(a, "--dump-ir=", 10)) {
      dump = a + 10;
      if (!strncmp(dump, "after:", 6)) dump += 6;
      bool ok = !strcmp(dump, "all") || !strcmp(dump, "input");
      for (int k = 0; k < pass_count; k++) ok |= !strcmp(dump, pass_list[k].name);
      if (!ok) usage_error("unknown pass in --dump-ir=%s", a + 10);
    }
    else if (!strcmp(a, "--report") || !strncmp(a, "--report=", 9)) {
      report = a[8] == '=' ? a + 9 : (++i < argc ? argv[i] : NULL);
      if (!report || !*report) usage_error("%s needs a file", "--report");
    }
    else if (!strcmp(a, "--dump-dot") || !strncmp(a, "--dump-dot=", 11)) {
      dot = a[10] == '=' ? a + 11 : (++i < argc ? argv[i] : NULL);
      if (!dot || !*dot) usage_error("%s needs a file", "--dump-dot");
    }
    else if (!strcmp(a, "-q")) quiet = true;
    else if (!strcmp(a, "--naive")) naive = true;
    else if (a[0] == '-' && a[1]) usage_error("unknown option '%s'", a);
    else if (model) usage_error("more than one model given ('%s')", a);
    else model = a;
  }
  if (!model) usage_error("%s", "no model given");
  bool cuda = !strcmp(target, "cuda");
  if (!cuda && strcmp(target, "c") != 0) usage_error("unknown target '%s' (c, cuda)", target);
  if (cuda && naive) usage_error("%s", "--naive applies to --target=c");
  if (!cuda && cuda_graph) usage_error("%s", "--cuda-graph applies to --target=cuda");
  if (!cuda && precision_given) usage_error("%s", "--precision applies to --target=cuda");
  if (embedded && cuda) usage_error("%s", "--embedded applies to --target=c");
  if (embedded && wmode == WEIGHTS_FILE) usage_error("%s", "--embedded keeps weights in the source (no --external-weights)");
  if (!out && !dump) usage_error("%s", "no output: give -o FILE (or --dump-ir)");
  if (name && !args_is_identifier(name)) usage_error("--name '%s' is not a C identifier", name);
  const char *twhy = args_train_check(&ta);
  if (twhy) usage_error("%s", twhy);
  if (ta.train && cuda) usage_error("%s", "--train builds C only for now (no --target=cuda)");
  if (ta.train && naive) usage_error("%s", "--train does not take --naive");
  if (ta.train && embedded) usage_error("%s", "--train does not take --embedded");
  if ((report || dot) && !out) usage_error("%s", "--report and --dump-dot describe generated code: give -o FILE");
  if ((report || dot) && ta.train) usage_error("%s", "--report and --dump-dot do not describe --train builds yet");

  char cmd[1024] = "jtc";
  for (int i = 1; i < argc && strlen(cmd) + strlen(argv[i]) + 2 < sizeof cmd; i++) {
    strcat(cmd, " ");
    strcat(cmd, argv[i]);
  }
  CompileOptions co = {.model = model, .out = out, .prefix = name, .command = cmd, .cuda = cuda, .cuda_graph = cuda_graph, .precision = precision,
                       .embedded = embedded,
                       .naive = naive, .quiet = quiet, .arch = arch, .shapes = shapes, .nshapes = nshapes,
                       .binds = binds, .nbinds = nbinds, .seqs = seqs, .nseqs = nseqs, .weights = weights,
                       .wmode = wmode, .embed_limit = embed_limit, .max_bytes = max_bytes, .max_nodes = max_nodes,
                       .max_depth = max_depth, .train = ta.train, .topt = ta.o, .dump = dump, .dump_file = stdout,
                       .report = report, .dot = dot};
  int rc = jtc_compile(&co, NULL, 0);
  for (int k = 0; k < nshapes; k++) free((char *)shapes[k].name);
  for (int k = 0; k < nbinds; k++) free((char *)binds[k].name);
  for (int k = 0; k < nseqs; k++) free((char *)seqs[k].name);
  return rc;
}
