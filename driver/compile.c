/* compile.c: the pipeline of compile.h. */
#include "driver/compile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "codegen/cuda/cuda.h"
#include "driver/dot.h"
#include "driver/report.h"
#include "frontend/jtpy/jtpy.h"

/* Print a message to stderr and keep it in err. */
static void report(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[2048];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", buf);
  if (err && errlen) snprintf(err, errlen, "%s", buf);
}

/* Keep an error a loader already printed (its last-error text) in err. */
static void keep(char *err, size_t errlen, const char *msg) {
  if (err && errlen) snprintf(err, errlen, "%s", msg && *msg ? msg : "model error (see stderr)");
}

int jtc_write_code(Graph *g, Plan *p, Plan *tp, const CgOptions *co, char *err, size_t errlen) {
  jmp_buf jb;
  g->on_error = &jb;
  if (tp) tp->g->on_error = &jb;
  if (setjmp(jb)) { /* an ir_fail inside the generator: it may have left its output open */
    g->on_error = NULL;
    if (tp) tp->g->on_error = NULL;
    ir_files_discard(g);
    report(err, errlen, "%s", g->errmsg[0] ? g->errmsg : tp->g->errmsg);
    return 1;
  }
  int rc = (tp ? cgc_write_train(p, tp, co) : co->arch ? cgcuda_write(p, co) : cgc_write(p, co)) ? 1 : 0;
  g->on_error = NULL;
  if (tp) tp->g->on_error = NULL;
  if (rc) { /* a file that would not open or write: the others go too */
    ir_files_discard(g);
    keep(err, errlen, "could not write the generated files (see stderr)");
  } else {
    ir_files_keep(g);
  }
  return rc;
}

/* --report and --dump-dot, from the plan just printed and its names; ir_fail lands here. */
static int describe(Plan *p, const CgOptions *co, const CompileOptions *o, char *err, size_t errlen) {
  jmp_buf jb;
  p->g->on_error = &jb;
  if (setjmp(jb)) {
    report(err, errlen, "%s", p->g->errmsg);
    return 1;
  }
  PlanInfo *pi = plan_info(p, co);
  int rc = (o->report && report_write(pi, o, o->report)) || (o->dot && dot_write(pi, o->dot)) ? 1 : 0;
  if (rc) keep(err, errlen, "could not write the report (see stderr)");
  p->g->on_error = NULL;
  return rc;
}

/* pass_train on the training-mode graph; 1 with the error reported if it fails. */
static int make_train_step(Graph *tg, const TrainOptions *o, char *err, size_t errlen) {
  jmp_buf jb;
  tg->on_error = &jb;
  if (setjmp(jb)) {
    report(err, errlen, "%s", tg->errmsg);
    return 1;
  }
  pass_train(tg, o);
  tg->on_error = NULL;
  return 0;
}

/* String tensors compile for the C target's inference code only: the CUDA printer and
 * the training step have no string kernels. 1 with the error reported if g has one. */
static int refuse_strings(Graph *g, const CompileOptions *o, char *err, size_t errlen) {
  if (!o->cuda && !o->train) return 0;
  for (Node *n = g->first; n; n = n->next) {
    if (n->dtype != DT_STRING) continue;
    report(err, errlen, "jtc: %s: %s%s%s%s%s: string tensors are supported by --target=c inference only, not %s", o->model,
           n->origin ? "node '" : "", n->origin ? n->origin : n->name ? "graph input '" : "tensor", n->origin ? "' (" : n->name ? n->name : "",
           n->origin ? (n->origin_op ? n->origin_op : "?") : n->name ? "'" : "", n->origin ? ")" : "",
           o->cuda ? "--target=cuda" : "--train");
    return 1;
  }
  return 0;
}

/* Load the model (and with --train its training step); NULL with the error reported. */
static Graph *load(const CompileOptions *o, Graph **tg, char *err, size_t errlen) {
  OnnxOptions opt = {.shapes = o->shapes, .nshapes = o->nshapes, .binds = o->binds, .nbinds = o->nbinds,
                     .seqs = o->seqs, .nseqs = o->nseqs, .max_bytes = o->max_bytes, .max_nodes = o->max_nodes,
                     .max_depth = o->max_depth, .state_weights = o->train};
  JtpyWeights *jw = NULL;
  bool pickle = jtpy_is_pickle_file(o->model); /* by magic bytes: torch zip/legacy, Jittor, pickle */
  *tg = NULL;
  if (o->weights) {
    if (!(jw = jtpy_load_weights_max(o->weights, o->max_bytes))) {
      keep(err, errlen, jtpy_last_error());
      return NULL;
    }
    opt.weights = jw->w;
    opt.nweights = jw->n;
    opt.weights_used = calloc((size_t)jw->n, sizeof(bool));
  }
  Graph *g = pickle ? jtpy_load(o->model, &opt) : onnx_load(o->model, &opt);
  if (!g) keep(err, errlen, pickle ? jtpy_last_error() : onnx_last_error());
  if (g && refuse_strings(g, o, err, errlen)) {
    ir_graph_free(g);
    g = NULL;
  }
  if (g && o->train) {
    OnnxOptions topt = opt;
    topt.training = true;
    *tg = onnx_load(o->model, &topt);
    if (!*tg) keep(err, errlen, onnx_last_error());
    if (!*tg || make_train_step(*tg, &o->topt, err, errlen)) {
      ir_graph_free(g);
      g = NULL;
    }
  }
  if (jw && g && jtpy_weights_report(jw, opt.weights_used, o->weights, stderr) == 0) {
    report(err, errlen, "jtc: --weights %s: no tensor name matches an initializer of %s", o->weights, o->model);
    ir_graph_free(g);
    g = NULL;
  }
  jtpy_weights_free(jw);
  free(opt.weights_used);
  if (!g && *tg) {
    ir_graph_free(*tg);
    *tg = NULL;
  }
  return g;
}

int jtc_compile(const CompileOptions *o, char *err, size_t errlen) {
  if (err && errlen) err[0] = 0;
  bool pickle = jtpy_is_pickle_file(o->model);
  if (o->weights && pickle) {
    report(err, errlen, "jtc: --weights applies to ONNX models; '%s' is a pickle", o->model);
    return 2;
  }
  if (o->train && pickle) {
    report(err, errlen, "jtc: --train applies to ONNX models for now; '%s' is a pickle", o->model);
    return 2;
  }
  if ((o->report || o->dot) && (o->train || !o->out)) {
    report(err, errlen, "jtc: --report and --dump-dot describe generated code: they need -o FILE and do not take --train");
    return 2;
  }
  Graph *tg, *g = load(o, &tg, err, errlen);
  if (!g) return 1;
  FILE *dump = o->dump_file ? o->dump_file : stdout;
  Plan *p = o->cuda ? pass_run_gpu(g, o->precision, tg ? NULL : o->dump, dump)
            : o->naive ? pass_run_naive(g, o->dump, dump)
            : o->embedded ? pass_run_embedded(g, o->dump, dump)
                       : pass_run_all(g, tg ? NULL : o->dump, dump);
  Plan *tp = p && tg ? pass_run_all(tg, o->dump, dump) : NULL; /* --dump-ir shows the training step */
  int rc = 0;
  if (!p || (tg && !tp)) {
    report(err, errlen, "%s", p ? tg->errmsg : g->errmsg);
    rc = 1;
  } else if (o->out) {
    char *stem = args_stem_of(o->out);
    char *prefix = o->prefix ? strdup(o->prefix) : args_prefix_of(stem);
    size_t n = strlen(stem) + 16;
    char *h = malloc(n), *w = malloc(n);
    snprintf(h, n, "%s.h", stem);
    snprintf(w, n, "%s.weights", stem);
    if (!strcmp(h, o->out)) {
      report(err, errlen, "jtc: output '%s' would be overwritten by its header", o->out);
      rc = 2;
    } else {
      CgOptions co = {o->out, h, w, prefix, o->command ? o->command : "jtc", o->model, o->wmode, o->embed_limit,
                      o->cuda ? o->arch : NULL, o->cuda_graph, o->embedded};
      size_t olen = strlen(o->out);
      if (o->cuda && !(olen > 3 && !strcmp(o->out + olen - 3, ".cu")))
        fprintf(stderr, "jtc: --target=cuda: %s holds CUDA source; build it with nvcc -x cu (the line in its first comment)\n",
                o->out);
      rc = jtc_write_code(g, p, tp, &co, err, errlen);
      if (!rc && !tp && (o->report || o->dot)) rc = describe(p, &co, o, err, errlen);
      if (!rc && !o->quiet && tp)
        fprintf(stderr, "jtc: wrote %s and %s: training build, %d kernels per step (%d for %s_run), arena %" PRId64
                        " bytes, weights %" PRId64 " bytes\n",
                o->out, h, tp->nkernels, p->nkernels, prefix,
                tp->arena_bytes > p->arena_bytes ? tp->arena_bytes : p->arena_bytes, p->const_bytes);
      else if (!rc && !o->quiet)
        fprintf(stderr,
                "jtc: wrote %s and %s: %d kernels, arena %" PRId64 " bytes (two largest live tensors %" PRId64
                " bytes), constants %" PRId64 " bytes\n",
                o->out, h, p->nkernels, p->arena_bytes, p->two_largest_live_bytes, p->const_bytes);
    }
    free(stem);
    free(prefix);
    free(h);
    free(w);
  }
  ir_graph_free(g);
  if (tg) ir_graph_free(tg);
  return rc;
}
