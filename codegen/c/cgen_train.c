/* cgen_train.c: the C file of a training build (jtc --train). Two plans share
 * one file: the inference plan prints <p>_run (the model with its current
 * weights), the training plan <p>_train_step (its file-level names prefixed
 * "tr_"). They share the helpers, the GEMM scratch, one arena (they never run
 * at once) and the state memory:
 *
 *   <p>_state_mem: [model state: trained weights, BN running statistics]  (the .weights payload)
 *              [optimizer state: momentum buffers, Adam moments, step count]
 *
 * each tensor at a 64-byte aligned offset, model state in the training plan's
 * order. A step runs the kernels, then the checks (target range, finite loss),
 * and only then copies each update's value over its state, so a failed step
 * changes nothing. <p>_save_weights writes the model state as a .weights file
 * (header, payload, then a name table that `jtc --weights` reads).
 * Built with -DJTC_MPI, the allreduce_mean kernels average over MPI_COMM_WORLD
 * (the caller runs MPI_Init) and only rank 0 writes weights (passes/train.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgen_internal.h"

extern const char jtc_rt_helpers[];
extern const char jtc_rt_weights[];
extern const char jtc_rt_gemm[];

typedef struct {
  Node **nodes; /* the state leaves, model state first (training plan's nodes where a name is in both) */
  int n, nmodel;
  int64_t *off;
  int64_t model_bytes, bytes;
} StateLayout;

static int64_t align64(int64_t v) { return (v + 63) & ~(int64_t)63; }
static int64_t node_bytes(const Node *n) { return n->numel * (int64_t)dt_size(n->dtype); }

static bool is_state(const Node *n) { return n->kind == NODE_LEAF && n->leaf == LEAF_STATE; }

static int find_state(const StateLayout *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->nodes[i]->name, name)) return i;
  return -1;
}

/* Model state of both plans (by name), then the optimizer's slots; offsets per node id in each plan. */
static void layout_state(Graph *g, Plan *inf, Plan *tr, StateLayout *s, CgCtx *ci, CgCtx *ct) {
  int cap = inf->nnodes + tr->nnodes + 1;
  s->nodes = ir_alloc_array(g, (size_t)cap, sizeof(Node *));
  s->off = ir_alloc_array(g, (size_t)cap, sizeof(int64_t));
  for (int pass = 0; pass < 2; pass++) /* 0: model state, 1: optimizer slots (NF_FROZEN states the training pass made) */
    for (int q = 0; q < 2; q++) {
      Plan *p = q ? inf : tr;
      for (int i = 0; i < p->nnodes; i++) {
        Node *n = p->nodes[i];
        if (!is_state(n) || (n->flags & NF_SLOT) != (pass ? NF_SLOT : 0)) continue;
        int j = find_state(s, n->name);
        if (j >= 0) {
          if (!ir_same_shape(s->nodes[j], n) || s->nodes[j]->dtype != n->dtype)
            ir_fail(g, "state '%s' differs between the inference and training graphs", n->name);
          continue;
        }
        s->off[s->n] = s->bytes;
        s->bytes += align64(node_bytes(n) ? node_bytes(n) : 1);
        s->nodes[s->n++] = n;
      }
      if (!pass) { s->nmodel = s->n; s->model_bytes = s->bytes; }
    }
  CgCtx *cs[2] = {ci, ct};
  for (int q = 0; q < 2; q++) {
    cs[q]->state_off = ir_alloc_array(cs[q]->g, (size_t)cs[q]->g->nnodes, sizeof(int64_t));
    for (int i = 0; i < cs[q]->p->nnodes; i++) {
      Node *n = cs[q]->p->nodes[i];
      if (is_state(n)) cs[q]->state_off[n->id] = s->off[find_state(s, n->name)];
    }
  }
}


/* The initial model state as a .weights file (header, payload, name table). */
static int write_initial_weights(Graph *g, const StateLayout *s, const char *path) {
  static const unsigned char zeros[64];
  uint64_t h = IR_FNV1A_BASIS;
  for (int i = 0; i < s->nmodel; i++) {
    int64_t b = node_bytes(s->nodes[i]), pad = align64(b ? b : 1) - b;
    h = ir_fnv1a(ir_fnv1a(h, s->nodes[i]->data, (size_t)b), zeros, (size_t)pad);
  }
  FILE *f = ir_file_create(g, path, "wb");
  if (!f) { fprintf(stderr, "jtc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
  unsigned char head[24] = "JTCWGT01";
  for (int k = 0; k < 8; k++) {
    head[8 + k] = (unsigned char)((uint64_t)s->model_bytes >> (8 * k));
    head[16 + k] = (unsigned char)(h >> (8 * k));
  }
  bool ok = fwrite(head, 1, 24, f) == 24;
  for (int i = 0; i < s->nmodel && ok; i++) {
    int64_t b = node_bytes(s->nodes[i]), pad = align64(b ? b : 1) - b;
    ok = fwrite(s->nodes[i]->data, 1, (size_t)b, f) == (size_t)b && fwrite(zeros, 1, (size_t)pad, f) == (size_t)pad;
  }
  if (ir_file_close(g, f) != 0 || !ok) { fprintf(stderr, "jtc: error writing %s\n", path); return -1; }
  return 0;
}

/* The training API's declarations, for the header. */
static char *train_decls(Graph *g, const char *p, const char *P, const Graph *tg, const StateLayout *s) {
  Str b;
  str_init(&b, g);
  int nt = 0;
  for (int k = 0; k < tg->ninputs; k++) nt += (tg->inputs[k]->flags & NF_TARGET) != 0;
  str_cat(&b, "\n/* ---- training (jtc --train) ---- */\n#define %s_NUM_TARGETS %d\n#define %s_NUM_STATE   %d\n", P, nt, P, s->nmodel);
  for (int k = 0, j = 0; k < tg->ninputs; k++) {
    const Node *t = tg->inputs[k];
    if (!(t->flags & NF_TARGET)) continue;
    str_cat(&b, "/* target %d '%s': %s[", j++, cg_comment_safe(g, t->name), dt_name(t->dtype));
    for (int d = 0; d < t->rank; d++) str_cat(&b, "%s%" PRId64, d ? "," : "", t->dims[d]);
    str_cat(&b, "] */\n");
  }
  str_cat(&b, "extern const size_t       %s_target_sizes[%d]; /* bytes */\n", p, nt ? nt : 1);
  str_cat(&b, "/* One optimizer step on a batch; *loss (if loss is not NULL) gets the batch's loss before\n"
              " * the update. 0 = ok; -1 with %s_last_error() (targets out of range, a non-finite loss):\n"
              " * then no weight changed. */\n", p);
  str_cat(&b, "int  %s_train_step(const void *const inputs[], const void *const targets[], float *loss);\n", p);
  str_cat(&b, "/* Data parallel: compiled with -DJTC_MPI (after MPI_Init), each rank passes its shard of\n"
              " * the batch (the model's batch size per rank); gradients, BatchNorm statistics and the\n"
              " * loss are averaged over MPI_COMM_WORLD, so every rank makes the whole batch's update. */\n");
  str_cat(&b, "/* Dropout masks come from a counter-based generator (Philox): the same seed and the same\n"
              " * steps give the same masks. %s_init sets seed 0; this sets the seed and restarts the count. */\n", p);
  str_cat(&b, "void %s_set_seed(uint64_t seed);\n", p);
  str_cat(&b, "/* The current weights as a .weights file that %s_init and `jtc --weights` accept (with\n"
              " * -DJTC_MPI only rank 0 writes). 0 = ok. */\n", p);
  str_cat(&b, "int  %s_save_weights(const char *path);\n", p);
  str_cat(&b, "/* The tensors training changes (weights, BatchNorm statistics), by initializer name;\n"
              " * %s_state(k) is the current value of tensor k, in place. */\n", p);
  str_cat(&b, "extern const char  *const %s_state_names[%d];\n", p, s->nmodel ? s->nmodel : 1);
  str_cat(&b, "extern const size_t       %s_state_sizes[%d]; /* bytes */\n", p, s->nmodel ? s->nmodel : 1);
  str_cat(&b, "void *%s_state(int k);\n", p);
  str_cat(&b, "\n#if defined(%s_PROFILE) || defined(%s_STEP_PROFILE)\n#include <stdio.h>\n#endif\n", P, P);
  str_cat(&b, "#ifdef %s_PROFILE /* built with -D%s_PROFILE: %s_run's kernels, mean ms per run, slowest first */\n"
              "void %s_profile_print(FILE *f);\n#endif\n", P, P, p, p);
  str_cat(&b, "#ifdef %s_STEP_PROFILE /* built with -D%s_STEP_PROFILE: the same for %s_train_step */\n"
              "void %s_step_profile_print(FILE *f);\n#endif\n", P, P, p, p);
  return b.s;
}

/* Kernels of one plan, to memory first (they decide which constants are read). */
static char *print_kernels(CgCtx *c, size_t *len) {
  c->f = ir_memstream_open(c->g);
  for (int j = 0; j < c->p->nkernels; j++) cg_print_kernel(c, j);
  char *text = ir_memstream_close(c->g, c->f, len);
  for (int k = 0; k < c->g->noutputs; k++) c->ever_read[c->g->outputs[k]->id] = true;
  for (int k = 0; k < c->g->nupdates; k++) c->ever_read[c->g->upd_value[k]->id] = true;
  for (int k = 0; k < c->g->nchecks; k++) c->ever_read[c->g->checks[k]->id] = true;
  return text;
}

static void print_consts(CgCtx *c) {
  for (int i = 0; i < c->p->nnodes; i++)
    if (cg_is_array_const(c, c->p->nodes[i])) cg_print_array(c, c->p->nodes[i], cg_bufname(c, c->p->nodes[i]));
}

static bool any_gemm(const Plan *p) {
  for (int j = 0; j < p->nkernels; j++)
    if (p->kernels[j].gemm) return true;
  return false;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* A one-element buffer's value as a C expression (a check's flag). */
static char *first_value(CgCtx *c, const Node *n) {
  if (pass_is_scalar_const(n)) return cg_literal(c->g, dt_load(n->data, n->dtype, 0), n->dtype);
  return str_fmt(c->g, "%s[0]", cg_bufname(c, n));
}

static void print_train_step(CgCtx *c, const char *p) {
  Graph *g = c->g;
  FILE *f = c->f;
  const char *sp = str_fmt(g, "%s_step", p); /* the step's profiler: -D<P>_STEP_PROFILE, <p>_step_profile_print */
  cg_print_profiler(c, sp);
  fprintf(f, "\nint %s_train_step(const void *const inputs[], const void *const targets[], float *loss) {\n", p);
  fprintf(f, "  if (!%s_ready) {\n    snprintf(%s_err, sizeof %s_err, \"%s_train_step: weights not loaded (call %s_init first)\");\n"
             "    return -1;\n  }\n  %s_err[0] = 0;\n", p, p, p, p, p, p);
  fprintf(f, "  float loss_value[1];\n  void *const outputs[1] = {loss_value};\n");
  cg_declare_buffers(c, p);
  cg_print_calls(c, sp, true);
  for (int k = 0; k < g->nchecks; k++) {
    fprintf(f, "  if (%s) {\n", first_value(c, g->checks[k]));
    fprintf(f, "    snprintf(%s_err, sizeof %s_err, \"%s_train_step: %s\");\n    return -1;\n  }\n", p, p, p,
            cg_c_escape(g, g->check_msgs[k]));
  }
  fprintf(f, "  /* the updates, after every read of the old state */\n");
  for (int k = 0; k < g->nupdates; k++) {
    Node *st = g->upd_state[k], *v = g->upd_value[k];
    if (v == st) continue;
    size_t bytes = (size_t)node_bytes(st);
    if (pass_is_scalar_const(v))
      fprintf(f, "  for (int64_t i = 0; i < %" PRId64 "; i++) %s[i] = %s;\n", st->numel, cg_bufname(c, st), first_value(c, v));
    else
      fprintf(f, "  memcpy(%s, %s, %zu);\n", cg_bufname(c, st), cg_bufname(c, v), bytes);
  }
  fprintf(f, "  if (loss) *loss = loss_value[0];\n  return 0;\n}\n");
}

/* init (state from the embedded initial values or a .weights file; optimizer state zero), save, free. */
static void print_state_api(CgCtx *c, const char *p, const StateLayout *s, bool embed, const CgOptions *o) {
  FILE *f = c->f;
  Graph *g = c->g;
  fprintf(f, "\nconst char *const %s_state_names[%d] = {", p, s->nmodel ? s->nmodel : 1);
  for (int i = 0; i < s->nmodel; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", cg_c_escape(g, s->nodes[i]->name));
  fprintf(f, "%s};\nconst size_t %s_state_sizes[%d] = {", s->nmodel ? "" : "0", p, s->nmodel ? s->nmodel : 1);
  for (int i = 0; i < s->nmodel; i++) fprintf(f, "%s%" PRId64, i ? ", " : "", node_bytes(s->nodes[i]));
  fprintf(f, "%s};\nstatic const int64_t %s_state_offsets[%d] = {", s->nmodel ? "" : "0", p, s->nmodel ? s->nmodel : 1);
  for (int i = 0; i < s->nmodel; i++) fprintf(f, "%s%" PRId64, i ? ", " : "", s->off[i]);
  fprintf(f, "%s};\n", s->nmodel ? "" : "0");
  fprintf(f, "\nvoid *%s_state(int k) { return k >= 0 && k < %d ? %s_state_mem + %s_state_offsets[k] : NULL; }\n", p, s->nmodel, p, p);

  fprintf(f, "\nint %s_init(const char *weights_path) {\n  unsigned char *blob = NULL;\n", p);
  fprintf(f, "  %s_ready = 0;\n  memset(%s_state_mem, 0, sizeof %s_state_mem);\n", p, p, p);
  if (embed) {
    fprintf(f, "  if (!weights_path) {\n");
    for (int i = 0; i < s->nmodel; i++)
      if (node_bytes(s->nodes[i]))
        fprintf(f, "    memcpy(%s_state_mem + %" PRId64 ", %s_init_%d, %" PRId64 ");\n", p, s->off[i], p, i, node_bytes(s->nodes[i]));
    fprintf(f, "    %s_ready = 1;\n    %s_err[0] = 0;\n    return 0;\n  }\n", p, p);
  } else {
    fprintf(f, "  if (!weights_path) weights_path = \"%s\";\n", cg_c_escape(g, o->weights_path));
  }
  fprintf(f, "  if (jtc_load_weights(weights_path, UINT64_C(%" PRId64 "), 0, &blob, %s_err, sizeof %s_err)) return -1;\n",
          s->model_bytes, p, p);
  fprintf(f, "  memcpy(%s_state_mem, blob, %" PRId64 ");\n  free(blob);\n", p, s->model_bytes);
  fprintf(f, "  %s_ready = 1;\n  %s_err[0] = 0;\n  return 0;\n}\n", p, p);
  fprintf(f, "\nvoid %s_free(void) { %s_ready = 0; }\n", p, p);
  int seed = find_state(s, "rng.seed"), step = find_state(s, "rng.step");
  fprintf(f, "\nvoid %s_set_seed(uint64_t seed) {\n", p);
  if (seed >= 0 && step >= 0)
    fprintf(f, "  int64_t v = (int64_t)seed, zero = 0;\n  memcpy(%s_state_mem + %" PRId64 ", &v, 8);\n"
               "  memcpy(%s_state_mem + %" PRId64 ", &zero, 8);\n", p, s->off[seed], p, s->off[step]);
  else
    fprintf(f, "  (void)seed; /* the model draws no random numbers */\n");
  fprintf(f, "}\n");

  /* save: header, payload, then "JTCNAMES" u64 count and per tensor u64 offset, u32 dtype
   * name length + name, u32 rank, i64 dims, u32 name length + name */
  fprintf(f, "\nstatic int %s_put(FILE *f, uint64_t v, int bytes) {\n  unsigned char b[8];\n", p);
  fprintf(f, "  for (int k = 0; k < bytes; k++) b[k] = (unsigned char)(v >> (8 * k));\n  return fwrite(b, 1, (size_t)bytes, f) == (size_t)bytes;\n}\n");
  fprintf(f, "\nint %s_save_weights(const char *path) {\n", p);
  fprintf(f, "  static const char *const dtypes[%d] = {", s->nmodel ? s->nmodel : 1);
  for (int i = 0; i < s->nmodel; i++) fprintf(f, "%s\"%s\"", i ? ", " : "", dt_name(s->nodes[i]->dtype));
  fprintf(f, "%s};\n  static const int ranks[%d] = {", s->nmodel ? "" : "0", s->nmodel ? s->nmodel : 1);
  int ndims = 0;
  for (int i = 0; i < s->nmodel; i++) { fprintf(f, "%s%d", i ? ", " : "", s->nodes[i]->rank); ndims += s->nodes[i]->rank; }
  fprintf(f, "%s};\n  static const int64_t dims[%d] = {", s->nmodel ? "" : "0", ndims ? ndims : 1);
  for (int i = 0, j = 0; i < s->nmodel; i++)
    for (int d = 0; d < s->nodes[i]->rank; d++) fprintf(f, "%s%" PRId64, j++ ? ", " : "", s->nodes[i]->dims[d]);
  fprintf(f, "%s};\n", ndims ? "" : "0");
  fprintf(f, "  if (!%s_ready) {\n    snprintf(%s_err, sizeof %s_err, \"%s_save_weights: no weights (call %s_init first)\");\n    return -1;\n  }\n", p, p, p, p, p);
  fprintf(f, "#ifdef JTC_MPI /* every rank holds the same weights: rank 0 writes them */\n");
  fprintf(f, "  int rank = 0;\n  MPI_Comm_rank(MPI_COMM_WORLD, &rank);\n  if (rank != 0) return 0;\n#endif\n");
  fprintf(f, "  uint64_t h = 1469598103934665603ULL;\n");
  fprintf(f, "  for (int64_t i = 0; i < %" PRId64 "; i++) h = (h ^ %s_state_mem[i]) * 1099511628211ULL;\n", s->model_bytes, p);
  fprintf(f, "  FILE *f = fopen(path, \"wb\");\n");
  fprintf(f, "  if (!f) {\n    snprintf(%s_err, sizeof %s_err, \"%%s: cannot open for writing\", path);\n    return -1;\n  }\n", p, p);
  fprintf(f, "  int ok = fwrite(\"JTCWGT01\", 1, 8, f) == 8 && %s_put(f, %" PRId64 ", 8) && %s_put(f, h, 8);\n", p, s->model_bytes, p);
  fprintf(f, "  ok = ok && fwrite(%s_state_mem, 1, %" PRId64 ", f) == %" PRId64 ";\n", p, s->model_bytes, s->model_bytes);
  fprintf(f, "  ok = ok && fwrite(\"JTCNAMES\", 1, 8, f) == 8 && %s_put(f, %d, 8);\n", p, s->nmodel);
  fprintf(f, "  for (int k = 0, d = 0; k < %d && ok; k++) {\n", s->nmodel);
  fprintf(f, "    size_t nl = strlen(%s_state_names[k]), tl = strlen(dtypes[k]);\n", p);
  fprintf(f, "    ok = %s_put(f, (uint64_t)%s_state_offsets[k], 8) && %s_put(f, tl, 4) && fwrite(dtypes[k], 1, tl, f) == tl && %s_put(f, (uint64_t)ranks[k], 4);\n", p, p, p, p);
  fprintf(f, "    for (int r = 0; r < ranks[k] && ok; r++) ok = %s_put(f, (uint64_t)dims[d++], 8);\n", p);
  fprintf(f, "    ok = ok && %s_put(f, nl, 4) && fwrite(%s_state_names[k], 1, nl, f) == nl;\n  }\n", p, p);
  fprintf(f, "  if (fclose(f) != 0 || !ok) {\n    snprintf(%s_err, sizeof %s_err, \"%%s: error writing\", path);\n    return -1;\n  }\n", p, p);
  fprintf(f, "  %s_err[0] = 0;\n  return 0;\n}\n", p);
}

int cgc_write_train(Plan *inf, Plan *tr, const CgOptions *o) {
  Graph *g = inf->g;
  CgCtx ci, ct;
  cg_ctx_init(&ci, inf, o);
  cg_ctx_init(&ct, tr, o);
  ct.sym = "tr_";
  for (int i = 0; i < tr->nnodes; i++) /* names again, now with the prefix */
    ct.names[tr->nodes[i]->id] = NULL;
  for (int i = 0; i < tr->nnodes; i++)
    if (pass_is_buffer(tr->nodes[i]) && !pass_is_scalar_const(tr->nodes[i])) cg_assign_name(&ct, tr->nodes[i]);
  StateLayout s = {0};
  layout_state(g, inf, tr, &s, &ci, &ct);
  size_t ilen = 0, tlen = 0;
  char *itext = print_kernels(&ci, &ilen), *ttext = print_kernels(&ct, &tlen);
  const char *p = o->prefix;
  char P[64];
  cg_upper(P, p, sizeof P);
  bool embed = o->weights == WEIGHTS_EMBED || (o->weights == WEIGHTS_AUTO && s.model_bytes <= o->embed_limit);
  inf->const_bytes = s.model_bytes;
  int rc = (!embed && write_initial_weights(g, &s, o->weights_path)) ? -1 : 0;
  if (!rc) rc = cg_write_header(&ci, o, train_decls(g, p, P, tr->g, &s));
  FILE *f = rc ? NULL : ir_file_create(g, o->c_path, "w"); /* an ir_fail from here leaves it to the caller's discard */
  if (!rc && !f) { fprintf(stderr, "jtc: cannot write %s: %s\n", o->c_path, strerror(errno)); rc = -1; }
  if (rc) return -1;
  ci.f = ct.f = f;
  fprintf(f, "/* %s: generated by jtc %s from %s", cg_basename(o->c_path), JTC_VERSION, cg_comment_safe(g, cg_basename(o->model)));
  if (g->model_desc) fprintf(f, " (%s)", cg_comment_safe(g, g->model_desc));
  fprintf(f, ".\n * Command: %s\n", cg_comment_safe(g, o->command ? o->command : "jtc"));
  fprintf(f, " * Training build: %s_run (%d kernels) and %s_train_step (%d kernels); arena %" PRId64 " bytes;\n", p,
          inf->nkernels, p, tr->nkernels, max64(inf->arena_bytes, tr->arena_bytes));
  fprintf(f, " * state %" PRId64 " bytes (weights %" PRId64 ", %s; optimizer %" PRId64 ").\n", s.bytes, s.model_bytes,
          embed ? "initial values embedded" : "initial values in the .weights file", s.bytes - s.model_bytes);
  fprintf(f, " * Build: cc -std=c11 -O2 [-fopenmp] -c %s */\n", cg_basename(o->c_path));
  fprintf(f, "#include \"%s\"\n\n#include <math.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n",
          cg_basename(o->h_path));
  fputs(cg_openmp_prologue, f);
  fprintf(f, "#ifdef JTC_MPI /* data parallel: gradients, batch statistics and the loss averaged over MPI_COMM_WORLD */\n"
             "#include <mpi.h>\n#endif\n\n%s\n%s", jtc_rt_helpers, jtc_rt_weights);
  fprintf(f, "\nstatic char %s_err[256];\nstatic int %s_ready;\n", p, p);
  int64_t arena = max64(inf->arena_bytes, tr->arena_bytes);
  if (arena) fprintf(f, "static _Alignas(64) unsigned char %s_arena[%" PRId64 "];\n", p, arena);
  fprintf(f, "static _Alignas(64) unsigned char %s_state_mem[%" PRId64 "]; /* weights, then optimizer state */\n", p, s.bytes ? s.bytes : 64);
  if (any_gemm(inf) || any_gemm(tr)) {
    fprintf(f, "\n%s", jtc_rt_gemm);
    fprintf(f, "\n/* GEMM scratch: packed B blocks for up to %s_GEMM_THREADS threads, then A packed per run */\n", P);
    fprintf(f, "#ifndef %s_GEMM_THREADS\n#define %s_GEMM_THREADS 4\n#endif\n", P, P);
    fprintf(f, "static _Alignas(64) float %s_gemm_scratch[%s_GEMM_THREADS * %" PRId64 " + %" PRId64 " + 16];\n", p, P,
            max64(inf->gemm_scratch_floats, tr->gemm_scratch_floats),
            max64(inf->gemm_apack_floats + inf->gemm_ct_floats, tr->gemm_apack_floats + tr->gemm_ct_floats));
  }
  fprintf(f, "\n/* constants */\n");
  print_consts(&ci);
  print_consts(&ct);
  if (embed) {
    fprintf(f, "\n/* initial weights */\n");
    for (int i = 0; i < s.nmodel; i++)
      if (node_bytes(s.nodes[i])) cg_print_array(&ci, s.nodes[i], str_fmt(g, "%s_init_%d", p, i));
  }
  fprintf(f, "\n/* ---- inference: %s_run ---- */\n", p);
  fwrite(itext, 1, ilen, f);
  fprintf(f, "\n/* ---- training: %s_train_step ---- */\n", p);
  fwrite(ttext, 1, tlen, f);
  cg_api_tables(&ci, p);
  int nt = 0;
  fprintf(f, "const size_t %s_target_sizes[] = {", p);
  for (int k = 0; k < tr->g->ninputs; k++)
    if (tr->g->inputs[k]->flags & NF_TARGET) fprintf(f, "%s%" PRId64, nt++ ? ", " : "", node_bytes(tr->g->inputs[k]));
  fprintf(f, "%s};\n", nt ? "" : "0");
  print_state_api(&ci, p, &s, embed, o);
  cg_print_run(&ci, p, false, str_fmt(g, "%s_ready", p));
  print_train_step(&ct, p);
  fprintf(f, "\nconst char *%s_last_error(void) { return %s_err; }\n", p, p);
  if (ir_file_close(g, f) != 0) { fprintf(stderr, "jtc: error writing %s\n", o->c_path); return -1; }
  return 0;
}
