/* ir.h: the meta-op graph, shared by frontends, passes and code generators.
 *
 * A model becomes a DAG of five node kinds (see ../shared/DESIGN.md):
 *   LEAF     graph input, constant, or state (a tensor the generated code keeps
 *            between calls: trainable weights, optimizer and BN statistics)
 *   MAP      element-wise function (ops.def) of same-shape operands
 *   GATHER   out[i] = src[idx(i)]; reads `fill` where idx(i) is out of bounds
 *            or `cond(i)` is false (Jittor's reindex)
 *   SCATTER  out = identity(op); for j in shape(src): if cond(j): out[idx(j)] op= src[j]
 *            (Jittor's reindex_reduce); index maps are over the *source's* loop variables
 *   OPAQUE   a named kernel with a hand-written body (rare)
 *
 * Index maps are hash-consed expression trees (Ix, ix.c): equal maps are one
 * pointer. Loop variable k is "i<k>": for GATHER the output's k-th dimension,
 * for SCATTER the source's k-th dimension.
 *
 * Memory: everything hangs off one Graph arena, freed by ir_graph_free; no
 * node is freed alone. Errors: ir_fail() reports a located message and
 * longjmps to the frontend's handler (one throw point, as in Lua).
 */
#ifndef JTC_IR_H
#define JTC_IR_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_RANK 16 /* dims per tensor and loop variables per index map */

/* ---- diag.c: errors ---- */
#define JTC_ASSERT(x) ((x) ? (void)0 : jtc_internal(__FILE__, __LINE__, #x))
#define jtc_unreachable() jtc_internal(__FILE__, __LINE__, "unreachable")
_Noreturn void jtc_internal(const char *file, int line, const char *what);
/* Replace control characters (names from a hostile model) with '?' in place, for messages. */
char *jtc_printable(char *s);

/* ---- dtype.c ---- */
typedef enum {
  DT_UNDEF, DT_F32, DT_F64, DT_F16, DT_BF16,
  DT_I8, DT_I16, DT_I32, DT_I64, DT_U8, DT_U16, DT_U32, DT_U64, DT_BOOL,
  DT_STRING, /* NUL-terminated UTF-8; an element is a `const char *` (8 bytes here and in the arena) */
  DT_COUNT
} Dtype;
size_t dt_size(Dtype t);           /* bytes per element */
const char *dt_name(Dtype t);      /* "float32", "int64", ... */
const char *dt_ctype(Dtype t);     /* storage type in generated C: "float", "uint16_t" (f16/bf16) */
const char *dt_ctype_compute(Dtype t); /* arithmetic type: f16/bf16 compute in "float" */
bool dt_is_float(Dtype t);         /* F32 F64 F16 BF16 */
bool dt_is_int(Dtype t);           /* signed or unsigned integer, not bool */
bool dt_is_signed(Dtype t);
Dtype dt_from_name(const char *s, size_t n); /* the n bytes s as a dt_name ("float32"), or DT_UNDEF */

/* A scalar of any dtype: floats use .f, integers and bool use .i (u64 as bits), strings
 * the pointer in .i (dt_load/dt_store; a string const's bytes live in the graph arena). */
typedef struct { double f; int64_t i; } Scalar;
Scalar sc_f(double v);             /* sets both fields */
bool sc_equal(Scalar a, Scalar b, Dtype t); /* as values of t; NaN equals NaN */
Scalar sc_i(int64_t v);
double sc_as_f(Scalar s, Dtype t);
int64_t sc_as_i(Scalar s, Dtype t);
/* Read/write element k of a dense buffer of dtype t (f16/bf16 converted). */
Scalar dt_load(const void *buf, Dtype t, int64_t k);
void dt_store(void *buf, Dtype t, int64_t k, Scalar v);
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

/* ---- ops.def: MAP functions ---- */
typedef enum {
#define X(name, arity, cf, ci, flags) MAP_##name,
#include "ops.def"
#undef X
  MAP_COUNT
} MapOp;
enum { MAPF_COMM = 1, MAPF_ASSOC = 2, MAPF_BOOL_OUT = 4 };
typedef struct {
  const char *name; int arity; const char *c_float, *c_int; int flags;
} MapOpInfo;
extern const MapOpInfo map_ops[MAP_COUNT];

/* Reductions of SCATTER. ASSIGN keeps the last write (identity: zero). */
typedef enum { RED_ADD, RED_MUL, RED_MAX, RED_MIN, RED_AND, RED_OR, RED_XOR, RED_ASSIGN, RED_COUNT } ReduceOp;
extern const char *const reduce_names[RED_COUNT];
Scalar reduce_identity(ReduceOp op, Dtype t); /* 0, 1, -inf/INT_MIN, +inf/INT_MAX, ... */

/* ---- ix.c: index expressions ---- */
typedef struct Node Node;
typedef struct Graph Graph;

typedef enum {
  IX_CONST,  /* val */
  IX_VAR,    /* loop variable number val */
  IX_ADD, IX_MUL,
  IX_DIV,    /* floor division */
  IX_MOD,    /* floor modulo: result has the divisor's sign */
  IX_MIN, IX_MAX,
  IX_LT, IX_LE, IX_EQ, IX_NE, /* 0 or 1 */
  IX_AND, IX_OR,              /* logical, 0 or 1; so must their operands be (ix_and(1, x) is x) */
  IX_SELECT, /* a ? b : c */
  IX_LOAD,   /* integer element tensor[args...] of a graph node (data-dependent index) */
  IX_COUNT
} IxKind;

typedef struct Ix Ix;
struct Ix {
  IxKind kind;
  int64_t val;        /* CONST value, VAR number */
  Ix *a, *b, *c;      /* operands */
  Node *tensor;       /* LOAD */
  int nargs; Ix **args; /* LOAD indices, one per tensor dimension */
  uint32_t hash;
  uint32_t uid;       /* creation number: a deterministic order for canonical sums */
  Ix *next;           /* hash bucket chain */
  /* Affine summary: value == c0 + sum coef[k]*i_k, valid when affine. */
  bool affine;
  int64_t c0, coef[IR_MAX_RANK];
  int maxvar;         /* highest VAR number used, -1 if none */
  uint32_t size;      /* nodes of the expression written out as a tree (shared operands counted each time) */
};
/* Largest index expression, as a tree, that ix.c builds; past it ir_fail says the
 * model's layout chain is too long. Expressions of real models stay below 200;
 * chains of reshapes and transposes inlined into each other grow exponentially,
 * and so would the time to simplify them and the C printed for them. */
#define IX_MAX_TREE 16384

Ix *ix_const(Graph *g, int64_t v);
Ix *ix_var(Graph *g, int k);
Ix *ix_add(Graph *g, Ix *a, Ix *b);
Ix *ix_sub(Graph *g, Ix *a, Ix *b);
Ix *ix_mul(Graph *g, Ix *a, Ix *b);
Ix *ix_addc(Graph *g, Ix *a, int64_t c);
Ix *ix_mulc(Graph *g, Ix *a, int64_t c);
Ix *ix_div(Graph *g, Ix *a, Ix *b);
Ix *ix_mod(Graph *g, Ix *a, Ix *b);
Ix *ix_min(Graph *g, Ix *a, Ix *b);
Ix *ix_max(Graph *g, Ix *a, Ix *b);
Ix *ix_cmp(Graph *g, IxKind k, Ix *a, Ix *b); /* LT LE EQ NE */
Ix *ix_and(Graph *g, Ix *a, Ix *b);           /* NULL operand means "true" */
Ix *ix_or(Graph *g, Ix *a, Ix *b);
Ix *ix_select(Graph *g, Ix *c, Ix *a, Ix *b);
Ix *ix_load(Graph *g, Node *tensor, int nargs, Ix **args);
/* Replace each VAR k by vals[k] (k < n); VARs >= n must not occur. */
Ix *ix_subst(Graph *g, Ix *e, int n, Ix *const *vals);
/* Interval of e when each VAR k ranges over [0, extent[k]). LOAD gives the
 * tensor's value range if it is a constant, else INT64 limits. */
void ix_range(const Ix *e, const int64_t *extent, int64_t *lo, int64_t *hi);
/* Simplify using var ranges (x%c -> x when 0<=x<c, (a*c+b)/c -> a when 0<=b<c, ...). */
Ix *ix_simplify(Graph *g, Ix *e, int nvars, const int64_t *extent);
int64_t ix_eval(const Ix *e, const int64_t *vars); /* LOAD needs a constant tensor */
int64_t ix_floordiv(int64_t a, int64_t b);        /* rounded toward -inf; b != 0 */
bool ix_uses_var(const Ix *e, int k);
bool ix_has_load(const Ix *e);
/* Jittor notation: "i0", "i2*2-1+i5", "(i1/4)%3", "x[i0]". Returns chars written. */
int ix_print(char *buf, size_t n, const Ix *e);
void ix_fprint(FILE *f, const Ix *e);

/* ---- graph.c: nodes and the graph ---- */
typedef enum { NODE_LEAF, NODE_MAP, NODE_GATHER, NODE_SCATTER, NODE_OPAQUE } NodeKind;
typedef enum { LEAF_INPUT, LEAF_CONST, LEAF_STATE } LeafKind;
extern const char *const node_kind_names[];

struct Node {
  int id;                      /* creation order, unique in the graph */
  NodeKind kind;
  Dtype dtype;
  int rank;
  int64_t dims[IR_MAX_RANK];   /* elements per dimension, row-major */
  int64_t numel;
  int nin;
  Node **in;                   /* MAP operands; GATHER/SCATTER: in[0] source, then LOAD tensors */
  /* MAP */
  MapOp op;
  /* GATHER: idx has in[0]->rank entries over this node's vars.
   * SCATTER: idx has this node's rank entries over in[0]'s vars. */
  Ix **idx;
  Ix *cond;                    /* NULL = always */
  Scalar fill;                 /* GATHER: value where out of bounds or !cond */
  ReduceOp red;                /* SCATTER */
  /* LEAF */
  LeafKind leaf;
  void *data;                  /* CONST: dense row-major bytes (numel*dt_size); STATE: its initial value */
  int input_index;             /* INPUT: position among graph inputs */
  /* OPAQUE */
  const char *opaque_name;
  void *opaque_attr;
  /* provenance, for dumps, errors and generated names */
  const char *name;            /* graph-level name (input/initializer/output) or NULL */
  const char *origin;          /* ONNX node name that produced this node */
  const char *origin_op;       /* ONNX op type */
  /* filled by passes */
  int nuses;
  int flags;                   /* NF_* */
  int64_t offset;              /* arena offset in bytes when materialized in the arena */
  int buf_id;                  /* codegen buffer number, -1 if inlined */
  Node *fwd;                   /* set when a pass replaced this node; follow with ir_resolve */
  Node *next;                  /* all nodes, creation order */
};
enum {
  NF_OUTPUT = 1, NF_MATERIALIZE = 2, NF_VIEW = 4,
  NF_KEEP = 8,    /* a state update's value or a check: materialized in the arena, live to the end of the run */
  NF_TARGET = 16, /* INPUT: a training target (the generated step's targets[], after the model's inputs) */
  NF_FROZEN = 32, /* STATE: not trained (its value was used at compile time, or it is a statistic updated otherwise) */
  NF_SLOT = 64,   /* STATE: the optimizer's (momentum, moments, step count), not saved with the weights */
};
#define NF_ROOT (NF_OUTPUT | NF_KEEP) /* computed for its own sake: never inlined or dropped */

struct Graph {
  /* arena */
  struct ArenaBlock *blocks;
  /* hash-consed index expressions */
  Ix **ix_table; size_t ix_cap, ix_count;
  /* nodes */
  Node *first, *last; int nnodes;
  Node **inputs; int ninputs, cap_inputs;
  Node **outputs; int noutputs, cap_outputs;
  const char **output_names;
  /* A training step: after its kernels, each state upd_state[k] takes the value
   * upd_value[k]; before that, a nonzero check[k] (a one-element tensor) fails the
   * step with check_msg[k] and no state changes. */
  Node **upd_state, **upd_value; int nupdates, cap_updates;
  Node **checks; const char **check_msgs; int nchecks, cap_checks;
  bool training;               /* lowered for training (BatchNormalization uses batch statistics) */
  /* provenance applied to new nodes */
  const char *cur_origin, *cur_op;
  /* error handling */
  const char *file;            /* model path for messages */
  const char *model_desc;      /* e.g. "producer pytorch 1.13.1, opset 13", for generated front matter */
  const char *context;         /* e.g. "node 'conv1' (Conv, #3)" */
  jmp_buf *on_error;           /* where ir_fail jumps; NULL: print and exit(1) */
  char errmsg[1024];
  /* limits */
  int64_t max_const_fold;      /* largest tensor (elements) folded at compile time */
  int64_t max_nodes;           /* 0: none; a node beyond it fails in its constructor (--max-nodes) */
  int64_t max_arena;           /* 0: none; an arena allocation beyond it fails (--max-bytes) */
  int64_t arena_bytes;         /* allocated by the arena so far */
  /* memory streams of printers (ir_memstream_open; f NULL: a free slot). A slot never moves while
   * its stream is open: the stream writes buf and len in place. ir_graph_free closes any left open. */
  struct IrStream { FILE *f; char *buf; size_t len; } streams[8];
  /* the files a code generator is writing or has written (ir_file_create; f NULL once closed) */
  struct IrFile { FILE *f; const char *path; } files[4]; int nfiles;
};

Graph *ir_graph_new(void);
void ir_graph_free(Graph *g);
void *ir_alloc(Graph *g, size_t n);                 /* zeroed; fails cleanly on overflow */
void *ir_alloc_array(Graph *g, size_t n, size_t size);
char *ir_strdup(Graph *g, const char *s);
/* 64-bit FNV-1a of n bytes continuing from h (start with IR_FNV1A_BASIS): the checksum of
 * .weights files and libjtc's cache key. */
#define IR_FNV1A_BASIS 1469598103934665603ULL
uint64_t ir_fnv1a(uint64_t h, const void *p, size_t n);
/* A stream that prints to memory, for code printers. Close it with ir_memstream_close, which
 * returns the text as an arena string; if an ir_fail unwinds past an open one, ir_graph_free
 * closes and frees it, so a failing printer leaks nothing. At most 8 open at once. */
FILE *ir_memstream_open(Graph *g);
char *ir_memstream_close(Graph *g, FILE *f, size_t *len); /* len may be NULL */
/* outfile.c: a generator's output files. ir_file_create opens path (fopen's mode; NULL with
 * errno if it cannot) and lists it on g; ir_file_close is its fclose (the file stays listed).
 * When generation fails, ir_files_discard closes every listed file still open and removes them
 * all, so no half-written output stays behind; when it succeeds, ir_files_keep forgets them.
 * ir_graph_free closes and removes any still open (an ir_fail unwound past it). At most 4. */
FILE *ir_file_create(Graph *g, const char *path, const char *mode);
int ir_file_close(Graph *g, FILE *f);
void ir_files_discard(Graph *g);
void ir_files_keep(Graph *g);
/* Report a user error "file: context: message" and unwind to g->on_error. */
_Noreturn void ir_fail(Graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shape helper: product of dims with overflow check (fails via ir_fail). */
int64_t ir_numel(Graph *g, int rank, const int64_t *dims);
bool ir_same_shape(const Node *a, const Node *b);

/* ---- graph.c: the five constructors; they validate and infer shape/dtype ---- */
Node *ir_input(Graph *g, const char *name, Dtype t, int rank, const int64_t *dims);
Node *ir_const(Graph *g, Dtype t, int rank, const int64_t *dims, const void *data); /* copies */
Node *ir_map(Graph *g, MapOp op, Dtype out, int n, Node *const *in); /* out: DT_UNDEF = infer */
Node *ir_gather(Graph *g, Node *src, int rank, const int64_t *dims, Ix *const *idx, Ix *cond, Scalar fill);
Node *ir_scatter(Graph *g, Node *src, ReduceOp op, int rank, const int64_t *dims, Ix *const *idx, Ix *cond);
Node *ir_opaque(Graph *g, const char *kernel, Dtype t, int rank, const int64_t *dims, int n, Node *const *in, void *attr);
void ir_mark_output(Graph *g, Node *n, const char *name);
/* A state leaf (name required) with its initial value (copied). */
Node *ir_state(Graph *g, const char *name, Dtype t, int rank, const int64_t *dims, const void *data);
/* At the end of the step, state takes value (same shape and dtype). */
void ir_update(Graph *g, Node *state, Node *value);
/* Fail the step, before any update, when the one-element flag is nonzero. */
void ir_check(Graph *g, Node *flag, const char *msg);
Node *ir_resolve(Node *n);                          /* follow fwd links */

/* ---- print.c ---- */
void ir_print_node(FILE *f, const Node *n); /* one line, ends in newline */

/* ---- eval.c: reference interpreter (constant folding, tests) ---- */
/* Evaluate n given its operands' dense values; returns a fresh arena buffer. */
void *ir_eval_node(Graph *g, Node *n, void *const *in_vals);
/* Evaluate the whole graph on host inputs; outputs[k] receives arena buffers. */
void ir_eval_graph(Graph *g, void *const *inputs, void **outputs);
bool ir_is_const(const Node *n);
/* Fold n into a LEAF_CONST if all operands are constants and it is small. */
Node *ir_fold(Graph *g, Node *n);

#endif
