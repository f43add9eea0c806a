/* cgen_internal.h: state shared by the C printer's files (cgen.c prints the
 * file around the kernels, kernel.c prints each kernel). */
#ifndef JTC_CGEN_INTERNAL_H
#define JTC_CGEN_INTERNAL_H

#include <stdarg.h>

#include "cgen.h"

typedef struct {
  const Plan *p;
  Graph *g;
  FILE *f;
  int indent;
  const Kernel *k;           /* kernel being printed */
  int ndom;                  /* loop variables in use: the kernel's, then inner reductions' */
  int64_t dom[IR_MAX_RANK];  /* their extents, for range analysis */
  Str pre;                   /* statements the current expression needs first (inner reductions) */
  int pre_depth;             /* their nesting, relative to the statement they precede */
  int nacc;                  /* accumulators named so far */
  struct { const Node *n; Ix *idx[IR_MAX_RANK]; const char *acc; } memo[8]; /* inner reductions in pre, by index */
  int nmemo;
  const char *prefix;        /* the API prefix (names the GEMM scratch) */
  const char *kname;         /* the kernel's function name */
  const Node *gemm_result;   /* a contraction already computed into the root's buffer */
  const Node *nocheck;       /* a GATHER whose bounds the enclosing loop limits already ensure */
  const Node *row_result;    /* a window reduction already accumulated in row[] (pass_rows under an epilogue) */
  const char *row_at;        /* ... and the C expression of its current element (row[..], acc) */
  const Node *named[2];      /* nodes the current statement reads as a local (the tap schedule's window value, weight) */
  const char *named_as[2];   /* ... and those locals' C text */
  bool *ever_read;           /* per node id: some kernel loads this buffer (decides which constants print) */
  bool *helper_reads;        /* buffers the current GEMM kernel's helpers load */
  bool gemm_post;            /* the current GEMM kernel applies its root's expression per tile (<kname>_post) */
  Node **by_id;              /* live nodes by id (NULL for dead ids) */
  char **names;              /* C identifier per node id (buffers only) */
  bool *read;                /* per node id: the kernel being printed loads this buffer */
  const Node ***kparams;     /* per kernel: the buffers it reads, as its parameters */
  int *nkparams;
  const char *sym;           /* prefix of this plan's file-level names ("" or, for a second plan in one file, "tr_") */
  int64_t *state_off;        /* per node id: a state's offset in <prefix>_state (training builds) */
  const char *arena;         /* the C expression kernels' arena buffers are offsets into */
} CgCtx;

const char *cg_bufname(CgCtx *c, const Node *n);
char *cg_literal(Graph *g, Scalar v, Dtype t);
const char *cg_store_conv(Dtype t);
char *cg_expr(CgCtx *c, Node *n, Ix *const *idx, bool is_root);
/* Index expressions as C: e itself, and a sum without outer parentheses. */
char *cg_ix(CgCtx *c, const Ix *e);
char *cg_ix_sum(CgCtx *c, const Ix *e);
/* Linear offset of idx into a row-major tensor of n's shape, simplified over the current domain. */
Ix *cg_linearize(CgCtx *c, const Node *n, Ix *const *idx);
/* acc combined with v by a reduction, as an expression. */
char *cg_combine(CgCtx *c, ReduceOp op, Dtype t, const char *acc, const char *v);
/* fn(x), or x itself when fn is "" (the load/store conversions of f16 and bf16). */
char *cg_wrap(Graph *g, const char *fn, const char *x);
const char *cg_load_conv(Dtype t);
/* Print the statements (inner reductions) the last cg_expr needs, at the current indent. */
void cg_flush_pre(CgCtx *c);
/* Does printed text use loop variable i<v> as a whole token? */
bool cg_text_uses_var(const char *text, int v);
/* kernel.c's element-wise pieces that kernel_gemm.c also prints: one output element's
 * statement (flat >= 0: over the flattened trailing loops from that one), the whole
 * element-wise body, and the loop limits lo..hi that keep w's reads along v in bounds */
char *cg_elementwise_statement(CgCtx *c, Node *n, Ix *const *idx, int flat);
void cg_body_elementwise(CgCtx *c, Node *n);
Ix *cg_emit_limits(CgCtx *c, const Node *w, int v, const char *lo, const char *hi);
/* kernel_gemm.c: the body of a kernel passes/contract.c runs as a packed GEMM */
void cg_body_gemm(CgCtx *c, const char *kname);
/* tap `tap` of a tap schedule's variables: ids with t's reduced variables fixed to its constants */
void cg_tap_ids(Graph *g, const RowTaps *t, const Node *src, int tap, Ix *const *ids, Ix **tids);
void cg_line(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_kernel_body(CgCtx *c);

/* ---- cgen.c: the parts of the file around the kernels, shared with the CUDA printer ---- */
typedef struct { bool embed; int64_t bytes; uint64_t hash; int64_t *offset; } Weights;
/* Fill c for printing pl: buffer names, per-id tables. */
void cg_ctx_init(CgCtx *c, Plan *pl, const CgOptions *o);
void cg_assign_name(CgCtx *c, Node *n);
/* prefix + s, non-alphanumerics turned into single '_' */
char *cg_sanitize(Graph *g, const char *prefix, const char *s);
char *cg_comment_safe(Graph *g, const char *s); /* model text, safe inside a comment */
char *cg_c_escape(Graph *g, const char *s);     /* model text as a string literal body */
const char *cg_basename(const char *path);
void cg_upper(char *dst, const char *src, size_t n);
/* A constant printed as an array: not a scalar (those print inline) and read by some kernel. */
bool cg_is_array_const(const CgCtx *c, const Node *n);
/* n's size in bytes as C text ("12", or "4 * sizeof(const char *)" for strings). */
char *cg_bytes_text(Graph *g, const Node *n);
/* The plan makes new string bytes at run time (string_* kernels, runtime_stub/strings.h). */
bool cg_uses_strings(const Plan *pl);
void cg_print_array(CgCtx *c, const Node *n, const char *name);
/* Lay the array constants out at 64-byte offsets (w->offset, bytes, hash) ... */
void cg_weights_layout(CgCtx *c, Weights *w);
/* ... and write them so as a .weights file. */
int cg_write_weights_file(CgCtx *c, Weights *w, const char *path);
const Node **cg_kernel_params(CgCtx *c, const Kernel *k, int *nb, bool consts);
const char *cg_kernel_name(CgCtx *c, int j);
void cg_node_comment(CgCtx *c, const Node *n);
/* The header of DESIGN.md's contract; extra (or NULL) adds declarations. */
int cg_write_header(CgCtx *c, const CgOptions *o, const char *extra);
void cg_api_tables(CgCtx *c, const char *p);
int cg_first_output(Graph *g, const Node *n);
/* Pieces of an entry function: buffer declarations, kernel calls, and the whole <p>_run
 * (checking need_blob's <p>_blob, or the flag named ready, before it runs). */
void cg_declare_buffers(CgCtx *c, const char *p);
void cg_print_calls(CgCtx *c, const char *p, bool prof);
/* -D<P>_PROFILE: the <p>_PROF(j, call) timer of c's kernels and <p>_profile_print. */
void cg_print_profiler(CgCtx *c, const char *p);
void cg_print_run(CgCtx *c, const char *p, bool need_blob, const char *ready);
/* Print plan j's kernel (to c->f); kernels decide which constants are read. */
void cg_print_kernel(CgCtx *c, int j);
/* For a kernel run as a GEMM: its context struct, B provider and A packer, as text. */
char *cg_gemm_helpers(CgCtx *c, const char *kname);

extern const char cg_openmp_prologue[]; /* cgen.c: the generated file's OpenMP include */

#endif
