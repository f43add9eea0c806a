/* cgen.c: prints a Plan as `<stem>.c` + `<stem>.h` (+ `<stem>.weights`).
 *
 * File layout: front matter (jtc version, command, model; no timestamps, so
 * output is byte-stable), includes, the runtime helpers from runtime_stub/,
 * constants (embedded arrays, or pointers into the loaded weights blob), the
 * activation arena, one static function per kernel named after its ONNX
 * node, then the API of DESIGN.md: name/size tables, <p>_init, <p>_run,
 * <p>_free, <p>_last_error. Text from the model (names) is escaped before it
 * goes into comments or string literals. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cgen_internal.h"
#include "ir/ops.h"


extern const char jtc_rt_helpers[];
extern const char jtc_rt_weights[];
extern const char jtc_rt_gemm[];
extern const char jtc_rt_strings[];

/* OpenMP's header in a generated file; `omp simd` on a sum is a hint, so clang declining
 * it (at -O1, or a loop it cannot vectorize) is no -Wpass-failed error under -Werror */
const char cg_openmp_prologue[] = "#ifdef _OPENMP\n#include <omp.h>\n"
                                  "#if defined(__clang__)\n#pragma clang diagnostic ignored \"-Wpass-failed\"\n#endif\n"
                                  "#endif\n";

/* ---- names ---- */

/* prefix + s with every run of non-alphanumerics turned into one '_' (none leading or trailing) */
char *cg_sanitize(Graph *g, const char *prefix, const char *s) {
  Str b;
  str_init(&b, g);
  str_cat(&b, "%s", prefix);
  size_t start = b.len;
  bool gap = false;
  for (; s && *s && b.len < start + 40; s++) {
    if (!isalnum((unsigned char)*s)) { gap = true; continue; }
    if (gap && b.len > start && b.s[b.len - 1] != '_') str_cat(&b, "_");
    gap = false;
    str_cat(&b, "%c", *s);
  }
  if (b.len == start) str_cat(&b, "x");
  return b.s;
}

static bool name_taken(CgCtx *c, const char *s) {
  for (int i = 0; i < c->g->nnodes; i++)
    if (c->names[i] && !strcmp(c->names[i], s)) return true;
  return false;
}

void cg_assign_name(CgCtx *c, Node *n) {
  const char *base;
  switch (pass_buf_kind(n)) {
  case BUF_INPUT: base = cg_sanitize(c->g, "in_", n->name); break;
  case BUF_STATE: base = cg_sanitize(c->g, "s_", n->name); break;
  case BUF_CONST: base = n->name ? cg_sanitize(c->g, str_fmt(c->g, "%sw_", c->sym), n->name) : str_fmt(c->g, "%sc%d", c->sym, n->id); break;
  case BUF_OUTPUT: {
    const char *nm = NULL;
    for (int k = 0; k < c->g->noutputs; k++)
      if (c->g->outputs[k] == n) { nm = c->g->output_names[k]; break; }
    base = cg_sanitize(c->g, "out_", nm);
    break;
  }
  default: base = n->origin ? cg_sanitize(c->g, str_fmt(c->g, "t%d_", n->id), n->origin) : str_fmt(c->g, "t%d", n->id); break;
  }
  char *s = (char *)base;
  for (int k = 2; name_taken(c, s); k++) s = str_fmt(c->g, "%s_%d", base, k);
  c->names[n->id] = s;
}

const char *cg_bufname(CgCtx *c, const Node *n) {
  JTC_ASSERT(c->names[n->id]);
  return c->names[n->id];
}

/* Text from the model, safe inside a C comment. */
char *cg_comment_safe(Graph *g, const char *s) {
  Str b;
  str_init(&b, g);
  for (; s && *s; s++) {
    if (s[0] == '*' && s[1] == '/') str_cat(&b, "* ");
    else if (s[0] == '/' && s[1] == '*') str_cat(&b, "/ ");
    else str_cat(&b, "%c", (*s == '\n' || *s == '\r' || (unsigned char)*s < 32) ? ' ' : *s);
  }
  return b.s;
}

/* Text from the model as a C string literal body. */
char *cg_c_escape(Graph *g, const char *s) {
  Str b;
  str_init(&b, g);
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') str_cat(&b, "\\%c", ch);
    else if (ch < 32 || ch >= 127 || ch == '?') str_cat(&b, "\\%03o", ch);
    else str_cat(&b, "%c", ch);
  }
  return b.s;
}

const char *cg_basename(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- constants ---- */

/* n's bytes as C text: a string element is a `const char *` of the target's size. */
char *cg_bytes_text(Graph *g, const Node *n) {
  if (n->dtype == DT_STRING) return str_fmt(g, "(%" PRId64 " * sizeof(const char *))", n->numel);
  return str_fmt(g, "%" PRId64, n->numel * (int64_t)dt_size(n->dtype));
}

/* A constant in the weights blob: string constants are always arrays in the file. */
static bool in_blob(const CgCtx *c, const Node *n) { return cg_is_array_const(c, n) && n->dtype != DT_STRING; }

/* Does the plan have a kernel that makes new string bytes (runtime_stub/strings.h)? */
bool cg_uses_strings(const Plan *pl) {
  for (int j = 0; j < pl->nkernels; j++)
    if (ir_is_string_kernel(pl->kernels[j].root)) return true;
  return false;
}

/* A constant printed as an array: not a scalar (those print inline) and read by some kernel. */
bool cg_is_array_const(const CgCtx *c, const Node *n) {
  return n->kind == NODE_LEAF && n->leaf == LEAF_CONST && !pass_is_scalar_const(n) && c->ever_read[n->id];
}

void cg_print_array(CgCtx *c, const Node *n, const char *name) {
  FILE *f = c->f;
  fprintf(f, "static const %s %s[%" PRId64 "] = {", dt_ctype(n->dtype), name, n->numel ? n->numel : 1);
  for (int64_t i = 0; i < n->numel; i++) {
    fprintf(f, "%s", i % 8 ? " " : "\n  ");
    Scalar v = dt_load(n->data, n->dtype, i);
    if (n->dtype == DT_F16 || n->dtype == DT_BF16) {
      uint16_t bits;
      memcpy(&bits, (const char *)n->data + 2 * i, 2);
      fprintf(f, "0x%04x,", bits);
    } else {
      fprintf(f, "%s,", cg_literal(c->g, v, n->dtype));
    }
  }
  fprintf(f, "%s};\n", n->numel ? "\n" : "0");
}


void cg_weights_layout(CgCtx *c, Weights *w) {
  const Plan *p = c->p;
  int64_t off = 0;
  w->offset = ir_alloc_array(c->g, (size_t)c->g->nnodes, sizeof(int64_t));
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (!in_blob(c, n)) continue;
    w->offset[n->id] = off;
    off += (n->numel * (int64_t)dt_size(n->dtype) + 63) & ~(int64_t)63;
  }
  w->bytes = off;
  static const unsigned char zeros[64];
  uint64_t h = IR_FNV1A_BASIS;
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (!in_blob(c, n)) continue;
    size_t bytes = (size_t)n->numel * dt_size(n->dtype), pad = ((bytes + 63) & ~(size_t)63) - bytes;
    h = ir_fnv1a(ir_fnv1a(h, n->data, bytes), zeros, pad);
  }
  w->hash = h;
}

int cg_write_weights_file(CgCtx *c, Weights *w, const char *path) {
  const Plan *p = c->p;
  int64_t off = w->bytes;
  static const unsigned char zeros[64];
  uint64_t h = w->hash;
  FILE *f = ir_file_create(c->g, path, "wb");
  if (!f) { fprintf(stderr, "jtc: cannot write %s: %s\n", path, strerror(errno)); return -1; }
  unsigned char head[24] = "JTCWGT01";
  for (int k = 0; k < 8; k++) {
    head[8 + k] = (unsigned char)((uint64_t)off >> (8 * k));
    head[16 + k] = (unsigned char)(h >> (8 * k));
  }
  bool ok = fwrite(head, 1, 24, f) == 24;
  for (int i = 0; i < p->nnodes && ok; i++) {
    Node *n = p->nodes[i];
    if (!in_blob(c, n)) continue;
    size_t bytes = (size_t)n->numel * dt_size(n->dtype), pad = ((bytes + 63) & ~(size_t)63) - bytes;
    ok = fwrite(n->data, 1, bytes, f) == bytes && fwrite(zeros, 1, pad, f) == pad;
  }
  if (ir_file_close(c->g, f) != 0 || !ok) { fprintf(stderr, "jtc: error writing %s\n", path); return -1; }
  return 0;
}

/* ---- kernels ---- */

/* The buffers a kernel may read, in first-use order; constants only with consts
 * (in C they are file-level statics, in CUDA device pointers passed in). */
const Node **cg_kernel_params(CgCtx *c, const Kernel *k, int *nb, bool consts) {
  size_t cap = 1;
  for (int f = -1; f < k->nfused; f++) cap += (size_t)(f < 0 ? k->root : k->fused[f])->nin;
  const Node **bufs = ir_alloc_array(c->g, cap, sizeof *bufs);
  *nb = 0;
  for (int f = -1; f < k->nfused; f++) {
    Node *n = f < 0 ? k->root : k->fused[f];
    for (int e = 0; e < n->nin; e++) {
      Node *b = n->in[e];
      if (!pass_is_buffer(b) || pass_is_scalar_const(b) || (!consts && pass_buf_kind(b) == BUF_CONST)) continue;
      bool dup = false;
      for (int j = 0; j < *nb; j++) dup |= bufs[j] == b;
      if (!dup) bufs[(*nb)++] = b;
    }
  }
  return bufs;
}

const char *cg_kernel_name(CgCtx *c, int j) {
  const Node *n = c->p->kernels[j].root;
  return cg_sanitize(c->g, str_fmt(c->g, "%sk%d_", c->sym, j), n->origin ? n->origin : node_kind_names[n->kind]);
}

void cg_node_comment(CgCtx *c, const Node *n) {
  size_t len = 0;
  FILE *m = ir_memstream_open(c->g);
  ir_print_node(m, n);
  char *text = ir_memstream_close(c->g, m, &len);
  if (len && text[len - 1] == '\n') text[len - 1] = 0;
  fprintf(c->f, " *   %s\n", cg_comment_safe(c->g, text));
}

/* The body goes to memory first: the parameters are the buffers it really loads. */
void cg_print_kernel(CgCtx *c, int j) {
  const Kernel *k = &c->p->kernels[j];
  c->k = k;
  Node *root = k->root;
  int nb;
  const Node **bufs = cg_kernel_params(c, k, &nb, false);
  memset(c->read, 0, (size_t)c->g->nnodes * sizeof *c->read);
  c->kname = cg_kernel_name(c, j);
  char *helpers = k->gemm ? cg_gemm_helpers(c, c->kname) : NULL;
  FILE *out = c->f;
  c->f = ir_memstream_open(c->g);
  c->indent = 1;
  cg_kernel_body(c);
  char *body = ir_memstream_close(c->g, c->f, NULL);
  c->f = out;
  int m = 0;
  for (int b = 0; b < nb; b++)
    if (c->read[bufs[b]->id]) bufs[m++] = bufs[b];
  nb = m;
  for (int i = 0; i < c->g->nnodes; i++) c->ever_read[i] |= c->read[i];
  if (helpers) fputs(helpers, c->f);
  c->kparams[j] = bufs;
  c->nkparams[j] = nb;
  fprintf(c->f, "\n/* kernel %d: %s '%s'\n", j, cg_comment_safe(c->g, root->origin_op ? root->origin_op : "?"),
          cg_comment_safe(c->g, root->origin ? root->origin : "?"));
  cg_node_comment(c, root);
  for (int f = 0; f < k->nfused; f++) cg_node_comment(c, k->fused[f]);
  fprintf(c->f, " */\n");
  fprintf(c->f, "static void %s(%s *restrict %s", cg_kernel_name(c, j), dt_ctype(root->dtype), cg_bufname(c, root));
  for (int b = 0; b < nb; b++) fprintf(c->f, ", const %s *restrict %s", dt_ctype(bufs[b]->dtype), cg_bufname(c, bufs[b]));
  fprintf(c->f, ") {\n%s}\n", body);
}

/* ---- the header ---- */

void cg_upper(char *dst, const char *src, size_t n) {
  size_t i = 0;
  for (; src[i] && i + 1 < n; i++) dst[i] = (char)toupper((unsigned char)src[i]);
  dst[i] = 0;
}

static void print_shape_comment(FILE *f, const char *what, int k, const char *name, const Node *n, Graph *g) {
  fprintf(f, "/* %s %d '%s': %s[", what, k, cg_comment_safe(g, name), dt_name(n->dtype));
  for (int d = 0; d < n->rank; d++) fprintf(f, "%s%" PRId64, d ? "," : "", n->dims[d]);
  fprintf(f, "] */\n");
}

int cg_write_header(CgCtx *c, const CgOptions *o, const char *extra) {
  Graph *g = c->g;
  FILE *f = ir_file_create(g, o->h_path, "w");
  if (!f) { fprintf(stderr, "jtc: cannot write %s: %s\n", o->h_path, strerror(errno)); return -1; }
  char P[64];
  cg_upper(P, o->prefix, sizeof P);
  const char *p = o->prefix;
  fprintf(f, "/* %s: generated by jtc %s from %s. Do not edit. */\n", cg_basename(o->h_path), JTC_VERSION,
          cg_comment_safe(g, cg_basename(o->model)));
  fprintf(f, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", P, P);
  fprintf(f, "#define %s_NUM_INPUTS  %d\n#define %s_NUM_OUTPUTS %d\n", P, g->ninputs, P, g->noutputs);
  fprintf(f, "#define %s_ARENA_BYTES %" PRId64 " /* activations, in one %s */\n", P, c->p->arena_bytes,
          o->embedded ? "buffer (static, or the caller's: see _run_with_arena)" : "static buffer");
  fprintf(f, "#define %s_CONST_BYTES %" PRId64 " /* weights and other constants */\n", P, c->p->const_bytes);
  bool strings = false;
  for (int k = 0; k < g->ninputs; k++) {
    fprintf(f, "#define %s_INPUT%d_BYTES %s\n", P, k, cg_bytes_text(g, g->inputs[k]));
    strings |= g->inputs[k]->dtype == DT_STRING;
  }
  for (int k = 0; k < g->noutputs; k++) {
    fprintf(f, "#define %s_OUTPUT%d_BYTES %s\n", P, k, cg_bytes_text(g, g->outputs[k]));
    strings |= g->outputs[k]->dtype == DT_STRING;
  }
  if (strings)
    fprintf(f, "/* A string tensor is an array of `const char *` (NUL-terminated UTF-8), one per element. %s_run\n"
               " * fills a string output's array with pointers to the inputs' strings, to constants, or into\n"
               " * the net's string storage (%s_STRING_BYTES, when the model makes new strings); they stay\n"
               " * valid until the next %s_run. */\n", p, P, p);
  fputc('\n', f);
  for (int k = 0; k < g->ninputs; k++) print_shape_comment(f, "input", k, g->inputs[k]->name, g->inputs[k], g);
  for (int k = 0; k < g->noutputs; k++) print_shape_comment(f, "output", k, g->output_names[k], g->outputs[k], g);
  int ni = g->ninputs ? g->ninputs : 1, no = g->noutputs ? g->noutputs : 1;
  fprintf(f, "\nextern const int          %s_num_inputs, %s_num_outputs; /* the counts above, for dlsym */\n", p, p);
  fprintf(f, "extern const char  *const %s_input_names[%d];\n", p, ni);
  fprintf(f, "extern const size_t       %s_input_sizes[%d];  /* bytes */\n", p, ni);
  fprintf(f, "extern const char  *const %s_output_names[%d];\n", p, no);
  fprintf(f, "extern const size_t       %s_output_sizes[%d]; /* bytes */\n", p, no);
  fprintf(f, "/* dtype names (\"float32\", \"int64\", ...) and shapes ({rank, dim0, dim1, ...}), for loaders such as libjtc */\n");
  fprintf(f, "extern const char  *const %s_input_dtypes[%d], *const %s_output_dtypes[%d];\n", p, ni, p, no);
  fprintf(f, "extern const int64_t      %s_input_shapes[%d][%d], %s_output_shapes[%d][%d];\n\n", p, ni, IR_MAX_RANK + 1, p, no,
          IR_MAX_RANK + 1);
  if (o->embedded) {
    fprintf(f, "/* Weights are const arrays in this file (flash); %s_init does nothing and returns 0. */\n", p);
    fprintf(f, "int  %s_init(const char *weights_path);\n", p);
    fprintf(f, "/* Run once: inputs and outputs in graph order, dense row-major. 0 = ok. Uses a static\n"
               " * arena of %s_ARENA_BYTES; build with -D%s_NO_STATIC_ARENA to leave it (and this) out. */\n", P, P);
    fprintf(f, "int  %s_run(const void *const inputs[], void *const outputs[]);\n", p);
    fprintf(f, "/* The same with the caller's arena: %s_ARENA_BYTES bytes, 8-byte aligned (64 is best),\n"
               " * not shared with a concurrent run. */\n", P);
    fprintf(f, "int  %s_run_with_arena(const void *const inputs[], void *const outputs[], void *arena);\n", p);
  } else {
    fprintf(f, "/* Load weights: NULL uses embedded weights or the file named at compile time. 0 = ok. */\n");
    fprintf(f, "int  %s_init(const char *weights_path);\n", p);
    fprintf(f, "/* Run once: inputs and outputs in graph order, dense row-major. 0 = ok. */\n");
    fprintf(f, "int  %s_run(const void *const inputs[], void *const outputs[]);\n", p);
  }
  fprintf(f, "void %s_free(void);\n", p);
  fprintf(f, "/* Why the last call failed, or \"\". */\nconst char *%s_last_error(void);\n", p);
  if (extra) fputs(extra, f);
  else if (!o->embedded)
    fprintf(f, "\n#ifdef %s_PROFILE /* built with -D%s_PROFILE: per kernel, mean ms per run, slowest first */\n"
               "#include <stdio.h>\nvoid %s_profile_print(FILE *f);\n#endif\n", P, P, p);
  fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
  if (ir_file_close(g, f) != 0) { fprintf(stderr, "jtc: error writing %s\n", o->h_path); return -1; }
  return 0;
}

/* ---- the source ---- */

/* <p>_<what>_dtypes and <p>_<what>_shapes (rank, then the dims) of n nodes. */
static void print_types(FILE *f, const char *p, const char *what, Node *const *nodes, int n) {
  fprintf(f, "const char *const %s_%s_dtypes[%d] = {", p, what, n ? n : 1);
  for (int k = 0; k < n; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", dt_name(nodes[k]->dtype));
  fprintf(f, "%s};\nconst int64_t %s_%s_shapes[%d][%d] = {", n ? "" : "0", p, what, n ? n : 1, IR_MAX_RANK + 1);
  for (int k = 0; k < n; k++) {
    fprintf(f, "%s{%d", k ? ", " : "", nodes[k]->rank);
    for (int d = 0; d < nodes[k]->rank; d++) fprintf(f, ", %" PRId64, nodes[k]->dims[d]);
    fprintf(f, "}");
  }
  fprintf(f, "%s};\n", n ? "" : "{0}");
}

void cg_api_tables(CgCtx *c, const char *p) {
  Graph *g = c->g;
  FILE *f = c->f;
  fprintf(f, "\nconst int %s_num_inputs = %d, %s_num_outputs = %d;\n", p, g->ninputs, p, g->noutputs);
  fprintf(f, "const char *const %s_input_names[%d] = {", p, g->ninputs ? g->ninputs : 1);
  for (int k = 0; k < g->ninputs; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", cg_c_escape(g, g->inputs[k]->name));
  fprintf(f, "%s};\nconst size_t %s_input_sizes[%d] = {", g->ninputs ? "" : "0", p, g->ninputs ? g->ninputs : 1);
  for (int k = 0; k < g->ninputs; k++) fprintf(f, "%s%s", k ? ", " : "", cg_bytes_text(g, g->inputs[k]));
  fprintf(f, "%s};\nconst char *const %s_output_names[%d] = {", g->ninputs ? "" : "0", p, g->noutputs ? g->noutputs : 1);
  for (int k = 0; k < g->noutputs; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", cg_c_escape(g, g->output_names[k]));
  fprintf(f, "%s};\nconst size_t %s_output_sizes[%d] = {", g->noutputs ? "" : "0", p, g->noutputs ? g->noutputs : 1);
  for (int k = 0; k < g->noutputs; k++) fprintf(f, "%s%s", k ? ", " : "", cg_bytes_text(g, g->outputs[k]));
  fprintf(f, "%s};\n", g->noutputs ? "" : "0");
  print_types(f, p, "input", g->inputs, g->ninputs);
  print_types(f, p, "output", g->outputs, g->noutputs);
}

int cg_first_output(Graph *g, const Node *n) {
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == n) return k;
  return -1;
}

/* -D<P>_PROFILE: each kernel call timed; <p>_profile_print reports (compiled out otherwise). */
void cg_print_profiler(CgCtx *c, const char *p) {
  FILE *f = c->f;
  int nk = c->p->nkernels ? c->p->nkernels : 1;
  char P[64];
  cg_upper(P, p, sizeof P);
  fprintf(f, "\n#ifdef %s_PROFILE /* time each kernel; %s_profile_print() reports */\n#include <time.h>\n", P, p);
  fprintf(f, "static double %s_prof_ms[%d];\nstatic long %s_prof_runs;\n", p, nk, p);
  fprintf(f, "static const char *const %s_prof_names[%d] = {", p, nk);
  for (int j = 0; j < c->p->nkernels; j++) fprintf(f, "%s\"%s\"", j ? ", " : "", cg_kernel_name(c, j));
  fprintf(f, "%s};\n", c->p->nkernels ? "" : "0");
  fprintf(f, "static double %s_prof_now(void) {\n  struct timespec ts;\n  timespec_get(&ts, TIME_UTC);\n", p);
  fprintf(f, "  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;\n}\n");
  fprintf(f, "#define %s_PROF(j, call) \\\n  do { \\\n    double t0_ = %s_prof_now(); \\\n    call; \\\n", P, p);
  fprintf(f, "    %s_prof_ms[j] += %s_prof_now() - t0_; \\\n    %s_prof_runs += (j) == 0; \\\n  } while (0)\n", p, p, p);
  fprintf(f, "void %s_profile_print(FILE *f) {\n", p);
  fprintf(f, "  double total = 0;\n  int done[%d] = {0};\n", nk);
  fprintf(f, "  for (int j = 0; j < %d; j++) total += %s_prof_ms[j];\n", c->p->nkernels, p);
  fprintf(f, "  fprintf(f, \"%%d runs, %%.3f ms per run in kernels; slowest first:\\n\", (int)%s_prof_runs, total / (%s_prof_runs ? %s_prof_runs : 1));\n", p, p, p);
  fprintf(f, "  for (int n = 0; n < %d; n++) {\n    int m = -1;\n", c->p->nkernels);
  fprintf(f, "    for (int j = 0; j < %d; j++)\n      if (!done[j] && (m < 0 || %s_prof_ms[j] > %s_prof_ms[m])) m = j;\n", c->p->nkernels, p, p);
  fprintf(f, "    done[m] = 1;\n");
  fprintf(f, "    fprintf(f, \"%%9.4f ms %%5.1f%%%%  %%s\\n\", %s_prof_ms[m] / (%s_prof_runs ? %s_prof_runs : 1), total > 0 ? 100 * %s_prof_ms[m] / total : 0.0, %s_prof_names[m]);\n", p, p, p, p, p);
  fprintf(f, "  }\n}\n#else\n#define %s_PROF(j, call) call\n#endif\n", P);
}

/* Declare the buffers some kernel, output copy, check or update uses, as locals of the entry
 * function: inputs from inputs[] (targets from targets[]), outputs from outputs[], the rest in
 * the arena or the state memory. */
void cg_declare_buffers(CgCtx *c, const char *p) {
  Graph *g = c->g;
  const Plan *pl = c->p;
  FILE *f = c->f;
  bool *used = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  for (int j = 0; j < pl->nkernels; j++) {
    int nb = c->nkparams[j];
    const Node **bufs = c->kparams[j];
    used[pl->kernels[j].root->id] = true;
    for (int b = 0; b < nb; b++) used[bufs[b]->id] = true;
  }
  for (int k = 0; k < g->noutputs; k++) used[g->outputs[k]->id] = true;
  for (int k = 0; k < g->nupdates; k++) used[g->upd_value[k]->id] = used[g->upd_state[k]->id] = true;
  for (int k = 0; k < g->nchecks; k++) used[g->checks[k]->id] = true;
  bool any_input = false, any_target = false;
  int first_target = g->ninputs;
  for (int k = 0; k < g->ninputs; k++)
    if ((g->inputs[k]->flags & NF_TARGET) && k < first_target) first_target = k;
  for (int i = 0; i < pl->nnodes; i++) {
    Node *n = pl->nodes[i];
    if (!c->names[n->id] || pass_buf_kind(n) == BUF_CONST || !used[n->id]) continue;
    const char *t = dt_ctype(n->dtype);
    switch (pass_buf_kind(n)) {
    case BUF_INPUT:
      if (n->input_index >= first_target) {
        fprintf(f, "  const %s *%s = (const %s *)targets[%d];\n", t, c->names[n->id], t, n->input_index - first_target);
        any_target = true;
      } else {
        fprintf(f, "  const %s *%s = (const %s *)inputs[%d];\n", t, c->names[n->id], t, n->input_index);
        any_input = true;
      }
      break;
    case BUF_STATE: fprintf(f, "  %s *%s = (%s *)(%s_state_mem + %" PRId64 ");\n", t, c->names[n->id], t, p, c->state_off[n->id]); break;
    case BUF_OUTPUT:
      if (n->kind != NODE_LEAF) fprintf(f, "  %s *%s = (%s *)outputs[%d];\n", t, c->names[n->id], t, cg_first_output(g, n));
      break;
    case BUF_ARENA: fprintf(f, "  %s *%s = (%s *)(%s + %" PRId64 ");\n", t, c->names[n->id], t, c->arena, n->offset); break;
    default: break;
    }
  }
  if (!any_input) fprintf(f, "  (void)inputs;\n");
  if (first_target < g->ninputs && !any_target) fprintf(f, "  (void)targets;\n");
}

/* One call per kernel, in order; timed by <P>_PROF when prof. */
void cg_print_calls(CgCtx *c, const char *p, bool prof) {
  const Plan *pl = c->p;
  char P[64];
  cg_upper(P, p, sizeof P);
  for (int j = 0; j < pl->nkernels; j++) {
    const Kernel *k = &pl->kernels[j];
    int nb = c->nkparams[j];
    const Node **bufs = c->kparams[j];
    if (prof) fprintf(c->f, "  %s_PROF(%d, %s(%s", P, j, cg_kernel_name(c, j), cg_bufname(c, k->root));
    else fprintf(c->f, "  %s(%s", cg_kernel_name(c, j), cg_bufname(c, k->root));
    for (int b = 0; b < nb; b++) fprintf(c->f, ", %s", cg_bufname(c, bufs[b]));
    fprintf(c->f, prof ? "));\n" : ");\n");
  }
}

/* The API's <p>_run; training builds call it with weights in the state memory (ready says they are loaded). */
void cg_print_run(CgCtx *c, const char *p, bool need_blob, const char *ready) {
  Graph *g = c->g;
  FILE *f = c->f;
  char P[64];
  cg_upper(P, p, sizeof P);
  bool strings = cg_uses_strings(c->p);
  if (c->p->embedded) { /* --embedded: <p>_run_with_arena; <p>_run passes the static arena */
    if (c->p->arena_bytes) fprintf(f, "\n#ifndef %s_NO_STATIC_ARENA\nstatic _Alignas(64) unsigned char %s_arena[%s_ARENA_BYTES];\n", P, p, P);
    else fprintf(f, "\n#ifndef %s_NO_STATIC_ARENA\n", P);
    fprintf(f, "int %s_run(const void *const inputs[], void *const outputs[]) {\n  return %s_run_with_arena(inputs, outputs, %s);\n}\n#endif\n",
            p, p, c->p->arena_bytes ? str_fmt(g, "%s_arena", p) : "NULL");
    fprintf(f, "\nint %s_run_with_arena(const void *const inputs[], void *const outputs[], void *arena) {\n", p);
    fputs(c->p->arena_bytes ? "  unsigned char *const arena_ = (unsigned char *)arena;\n" : "  (void)arena;\n", f);
    c->arena = "arena_";
  } else {
    cg_print_profiler(c, p);
    fprintf(f, "\nint %s_run(const void *const inputs[], void *const outputs[]) {\n", p);
  }
  if (need_blob || ready)
    fprintf(f, "  if (!%s) {\n    snprintf(%s_err, sizeof %s_err, \"%s_run: weights not loaded (call %s_init first)\");\n    return -1;\n  }\n",
            ready ? ready : str_fmt(g, "%s_blob", p), p, p, p, p);
  else
    fprintf(f, "  %s_err[0] = 0;\n", p);
  if (strings) fprintf(f, "  %s_strstore = (jtc_strstore){%s_strings, %s_STRING_BYTES, 0};\n", p, p, P);
  cg_declare_buffers(c, p);
  if (g->noutputs == 0) fprintf(f, "  (void)outputs;\n");
  cg_print_calls(c, p, !c->p->embedded);
  /* outputs that are inputs, constants, or repeated: copy */
  for (int k = 0; k < g->noutputs; k++) {
    Node *n = g->outputs[k];
    const char *bytes = cg_bytes_text(g, n);
    int first = cg_first_output(g, n);
    if (n->kind == NODE_LEAF && pass_is_scalar_const(n)) {
      fprintf(f, "  { %s v = %s; memcpy(outputs[%d], &v, %s); }\n", dt_ctype(n->dtype),
              n->dtype == DT_F16 || n->dtype == DT_BF16
                  ? str_fmt(g, "0x%04x", (unsigned)*(const uint16_t *)n->data)
                  : cg_literal(g, dt_load(n->data, n->dtype, 0), n->dtype),
              k, bytes);
    } else if (n->kind == NODE_LEAF) {
      fprintf(f, "  memcpy(outputs[%d], %s, %s);\n", k, cg_bufname(c, n), bytes);
    } else if (first != k) {
      fprintf(f, "  memcpy(outputs[%d], outputs[%d], %s);\n", k, first, bytes);
    }
  }
  if (strings) {
    fprintf(f, "  if (%s_strstore.used > %s_STRING_BYTES) {\n", p, P);
    fprintf(f, "    snprintf(%s_err, sizeof %s_err, \"%s_run: new strings need %%zu bytes, %s_STRING_BYTES is %%zu: build with -D%s_STRING_BYTES=%%zu or more\",\n"
               "             %s_strstore.used, (size_t)%s_STRING_BYTES, %s_strstore.used);\n    return -1;\n  }\n", p, p, p, P, P, p, P, p);
  }
  fprintf(f, "  return 0;\n}\n");
}

static void print_init_free(CgCtx *c, const char *p, const Weights *w, const CgOptions *o) {
  FILE *f = c->f;
  Graph *g = c->g;
  if (w->embed) {
    fprintf(f, "\nint %s_init(const char *weights_path) {\n  (void)weights_path; /* weights are embedded */\n  %s_err[0] = 0;\n  return 0;\n}\n", p, p);
    fprintf(f, "\nvoid %s_free(void) {}\n", p);
    return;
  }
  fprintf(f, "\nint %s_init(const char *weights_path) {\n", p);
  fprintf(f, "  if (%s_blob) return 0;\n", p);
  fprintf(f, "  if (!weights_path) weights_path = \"%s\";\n", cg_c_escape(g, o->weights_path));
  fprintf(f, "  if (jtc_load_weights(weights_path, UINT64_C(%" PRIu64 "), UINT64_C(0x%016" PRIx64 "), &%s_blob, %s_err, sizeof %s_err)) return -1;\n",
          (uint64_t)w->bytes, w->hash, p, p, p);
  for (int i = 0; i < c->p->nnodes; i++) {
    Node *n = c->p->nodes[i];
    if (!in_blob(c, n)) continue;
    fprintf(f, "  %s = (const %s *)(%s_blob + %" PRId64 ");\n", cg_bufname(c, n), dt_ctype(n->dtype), p, w->offset[n->id]);
  }
  fprintf(f, "  %s_err[0] = 0;\n  return 0;\n}\n", p);
  fprintf(f, "\nvoid %s_free(void) {\n  free(%s_blob);\n  %s_blob = NULL;\n}\n", p, p, p);
}

void cg_ctx_init(CgCtx *c, Plan *pl, const CgOptions *o) {
  Graph *g = pl->g;
  memset(c, 0, sizeof *c);
  c->p = pl;
  c->g = g;
  c->names = ir_alloc_array(g, (size_t)g->nnodes, sizeof(char *));
  c->read = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  c->ever_read = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  c->by_id = ir_alloc_array(g, (size_t)g->nnodes, sizeof(Node *));
  for (int i = 0; i < pl->nnodes; i++) c->by_id[pl->nodes[i]->id] = pl->nodes[i];
  c->prefix = o->prefix;
  c->sym = "";
  JTC_ASSERT(o->embedded == pl->embedded); /* the --embedded schedule and file layout go together */
  c->arena = str_fmt(g, "%s_arena", o->prefix);
  c->kparams = ir_alloc_array(g, (size_t)pl->nkernels + 1, sizeof(const Node **));
  c->nkparams = ir_alloc_array(g, (size_t)pl->nkernels + 1, sizeof(int));
  for (int i = 0; i < pl->nnodes; i++) {
    Node *n = pl->nodes[i];
    if (pass_is_buffer(n) && !pass_is_scalar_const(n)) cg_assign_name(c, n);
  }
}

int cgc_write(Plan *pl, const CgOptions *o) {
  Graph *g = pl->g;
  CgCtx cx, *c = &cx;
  cg_ctx_init(c, pl, o);
  /* kernels first, to memory: they decide which constants are read */
  size_t klen = 0;
  c->f = ir_memstream_open(g);
  for (int j = 0; j < pl->nkernels; j++) cg_print_kernel(c, j);
  char *ktext = ir_memstream_close(g, c->f, &klen);
  bool any_gemm = false;
  for (int j = 0; j < pl->nkernels; j++) any_gemm |= pl->kernels[j].gemm != NULL;
  for (int k = 0; k < g->noutputs; k++) c->ever_read[g->outputs[k]->id] = true;
  pl->const_bytes = 0;
  for (int i = 0; i < pl->nnodes; i++)
    if (cg_is_array_const(c, pl->nodes[i])) pl->const_bytes += pl->nodes[i]->numel * (int64_t)dt_size(pl->nodes[i]->dtype);
  Weights w = {0};
  w.embed = o->embedded || o->weights == WEIGHTS_EMBED || (o->weights == WEIGHTS_AUTO && pl->const_bytes <= o->embed_limit);
  cg_weights_layout(c, &w);
  if ((!w.embed && cg_write_weights_file(c, &w, o->weights_path)) || cg_write_header(c, o, NULL)) return -1;
  c->f = ir_file_create(g, o->c_path, "w"); /* from here an ir_fail leaves it open: the caller discards it */
  if (!c->f) { fprintf(stderr, "jtc: cannot write %s: %s\n", o->c_path, strerror(errno)); return -1; }
  FILE *f = c->f;
  const char *p = o->prefix;
  fprintf(f, "/* %s: generated by jtc %s from %s", cg_basename(o->c_path), JTC_VERSION, cg_comment_safe(g, cg_basename(o->model)));
  if (g->model_desc) fprintf(f, " (%s)", cg_comment_safe(g, g->model_desc));
  fprintf(f, ".\n * Command: %s\n", cg_comment_safe(g, o->command ? o->command : "jtc"));
  fprintf(f, " * %d kernels, arena %" PRId64 " bytes, constants %" PRId64 " bytes (%s).\n", pl->nkernels, pl->arena_bytes,
          pl->const_bytes, w.embed ? "embedded" : "loaded from the .weights file");
  if (o->embedded) /* no stdio, malloc, files or threads: weights in flash, one arena */
    fprintf(f, " * Embedded: no malloc, stdio, file I/O or OpenMP; weights are const arrays.\n"
               " * Build: arm-none-eabi-gcc -std=c11 -O2 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -c %s */\n",
            cg_basename(o->c_path));
  else
    fprintf(f, " * Build: cc -std=c11 -O2 [-fopenmp] -c %s */\n", cg_basename(o->c_path));
  fprintf(f, "#include \"%s\"\n\n#include <math.h>\n#include <stdint.h>\n%s#include <string.h>\n", cg_basename(o->h_path),
          o->embedded ? "" : "#include <stdio.h>\n");
  if (!w.embed) fprintf(f, "#include <stdlib.h>\n");
  if (o->embedded) fprintf(f, "#define JTC_NO_OPENMP 1 /* the GEMM runtime below stays serial */\n");
  else fputs(cg_openmp_prologue, f);
  fprintf(f, "\n%s", jtc_rt_helpers);
  if (!w.embed) fprintf(f, "\n%s", jtc_rt_weights);
  if (o->embedded) fprintf(f, "\nstatic char %s_err[1]; /* always \"\": nothing in an embedded build can fail */\n", p);
  else fprintf(f, "\nstatic char %s_err[256];\n", p);
  if (!w.embed) fprintf(f, "static unsigned char *%s_blob;\n", p);
  if (cg_uses_strings(pl)) {
    if (o->embedded) ir_fail(g, "strings made at run time (StringNormalizer's case change, Cast to or from string) need stdio and are not supported with --embedded");
    char P[64];
    cg_upper(P, p, sizeof P);
    int64_t bytes = 0; /* default: 32 bytes per formatted number, 64 per case-changed string */
    for (int j = 0; j < pl->nkernels; j++) {
      const Node *n = pl->kernels[j].root;
      if (n->kind == NODE_OPAQUE && !strcmp(n->opaque_name, IR_STRING_FORMAT)) bytes += n->numel * IR_STRING_FORMAT_MAX;
      else if (n->kind == NODE_OPAQUE && !strcmp(n->opaque_name, IR_STRING_CASE)) bytes += n->numel * 64;
    }
    fprintf(f, "\n%s", jtc_rt_strings);
    fprintf(f, "/* storage for the strings a run makes (case changes, numbers as text); if a run needs\n"
               " * more, %s_run fails and %s_last_error() names the size to build with */\n", p, p);
    fprintf(f, "#ifndef %s_STRING_BYTES\n#define %s_STRING_BYTES %" PRId64 "\n#endif\n", P, P, bytes > 256 ? bytes : 256);
    fprintf(f, "static char %s_strings[%s_STRING_BYTES];\nstatic jtc_strstore %s_strstore;\n", p, P, p);
  }
  if (pl->arena_bytes && !o->embedded) fprintf(f, "static _Alignas(64) unsigned char %s_arena[%" PRId64 "];\n", p, pl->arena_bytes);
  if (any_gemm) {
    char P[64];
    cg_upper(P, p, sizeof P);
    fprintf(f, "\n%s", jtc_rt_gemm);
    fprintf(f, "\n/* GEMM scratch: packed B blocks for up to %s_GEMM_THREADS threads, then A packed per run */\n", P);
    fprintf(f, "#ifndef %s_GEMM_THREADS\n#define %s_GEMM_THREADS %d\n#endif\n", P, P, o->embedded ? 1 : 4);
    fprintf(f, "static _Alignas(64) float %s_gemm_scratch[%s_GEMM_THREADS * %" PRId64 " + %" PRId64 " + 16];\n", p, P,
            pl->gemm_scratch_floats, pl->gemm_apack_floats + pl->gemm_ct_floats);
  }
  bool any_const = false;
  for (int i = 0; i < pl->nnodes; i++) {
    Node *n = pl->nodes[i];
    if (!cg_is_array_const(c, n)) continue;
    if (!any_const) fprintf(f, "\n/* constants */\n");
    any_const = true;
    if (w.embed || n->dtype == DT_STRING) cg_print_array(c, n, cg_bufname(c, n));
    else fprintf(f, "static const %s *%s; /* %" PRId64 " elements */\n", dt_ctype(n->dtype), cg_bufname(c, n), n->numel);
  }
  fwrite(ktext, 1, klen, f);
  cg_api_tables(c, p);
  print_init_free(c, p, &w, o);
  cg_print_run(c, p, !w.embed, NULL);
  fprintf(f, "\nconst char *%s_last_error(void) { return %s_err; }\n", p, p);
  if (ir_file_close(g, f) != 0) { fprintf(stderr, "jtc: error writing %s\n", o->c_path); return -1; }
  return 0;
}
