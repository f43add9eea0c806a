/* passes.h: the pass pipeline and the Plan it produces for the code generators.
 *
 * Passes run in one ordered, named list (pipeline.c): simplify, dce, fuse,
 * schedule, memplan. After them the Plan holds the kernels in execution
 * order, each with every decision a code generator needs (loop domain, loop
 * order, reduction strategy, parallel loops) and every materialized buffer
 * with its arena offset. Code generators print the Plan and decide nothing.
 */
#ifndef JTC_PASSES_H
#define JTC_PASSES_H

#include "ir/ir.h"

/* A contraction (conv, MatMul, Gemm, Einsum: a projection SCATTER-add of a
 * MAP-mul of two operands) run as a packed GEMM C = A*B from runtime_stub/gemm.h.
 * Domain variables split into outer (looped around the GEMM), M (rows, read by
 * A only), N (columns, read by B only) and K (reduced). */
typedef struct {
  Node *scatter;              /* the contraction: the kernel's root, or its fused epilogue input */
  Node *aop, *bop;            /* MUL operands giving rows (A) and columns (B) */
  int nouter, outer[IR_MAX_RANK];
  int nm, mvars[IR_MAX_RANK];
  int nn, nvars[IR_MAX_RANK];
  int nk, kvars[IR_MAX_RANK];
  int64_t M, N, K;
  int64_t ldc;                /* row stride of C in the output, elements; columns are unit stride */
  int64_t ostride[IR_MAX_RANK]; /* per domain var: its stride in the output (outer vars) */
  Node *apacked;              /* A packed at compile time (12-row panels), or NULL: packed per run */
  bool transposed;            /* C^T computed into scratch (constant B, few rows), then stored transposed */
  /* The epilogue folded into the GEMM's stores (jtc_gemm_epi), when the root is
   * clamp(S + bias_row[m] + bias_col[n] + residual): no second pass. */
  bool epi;
  Node *bias_row, *bias_col, *residual;
  bool clamp;
  double lo, hi;
} Contraction;

/* pass_rows' tap schedule for a window reduction (depthwise conv, pooling): per outer
 * index (channel), the window GATHER's source plane is copied into a local buffer padded
 * with the GATHER's fill and split into stride phases, so that every tap reads it at a
 * constant offset from the output element's position q = row*wq + col with no bounds:
 *   buffer[((ph*aw + pw)*hq + r)*wq + j] = source row (u0 + r)*ah + ph + hmin, column j*aw + pw + wmin
 *   row[q] = combine over taps t of value(buffer[off[t] + q]),  q = (row - u0)*wq + col
 * in one loop over all band*wq positions (also the wq - cols that are no output: short rows
 * such as 7 or 14 then vectorize as one long loop), then each row's cols stored. Output rows
 * run in bands of `band` (u0: the band's first) so the buffer and row[] stay small. */
#define ROW_TAPS_MAX 64
#define GPU_TAPS_SHARED_BYTES 32768 /* the CUDA target's tap buffer, in static shared memory */
typedef struct {
  int ntaps;                  /* taps unrolled: the reduced variables' extents' product */
  int nred, red[IR_MAX_RANK]; /* the reduced variables of extent > 1, tap order row-major over them */
  int hdim, wdim;             /* the GATHER's source dims the plane row (row_var2) and column (row_var) index; hdim -1: none */
  int64_t ah, aw;             /* their coefficients (strides) */
  int64_t hmin, wmin;         /* lowest source row and column any tap reads (below 0: padding) */
  int64_t rows, cols;         /* output rows (row_var2's extent, 1 without) and columns */
  int64_t band, hq, wq;       /* output rows per band; buffer rows (band + the window's extra) and columns per phase */
  int64_t buf;                /* buffer elements: ah*aw*hq*wq and the loop's overrun past the last row */
  int per_pass;               /* taps per loop over the band (a product's other factor, one register each, stays in registers) */
  int64_t off[ROW_TAPS_MAX];  /* per tap: its offset in the buffer */
} RowTaps;

/* How a CUDA kernel maps its loop nest onto threads (pass_launch; Plan.gpu only). */
typedef enum {
  GPU_NONE,
  GPU_ELEMENTS,     /* one thread per element of the domain (grid-stride) */
  GPU_OUTPUTS,      /* register reduction: one thread per output, the reduced loops in that thread */
  GPU_BLOCK_REDUCE, /* few outputs, long reductions: one block per output, a warp-shuffle and shared-memory tree */
  GPU_ATOMIC,       /* shared write indices, an add: fill with 0, then atomicAdd from every source element */
  GPU_SERIAL,       /* shared write indices, order matters (assign, mul, max of f16...): one thread, in order */
  GPU_GEMM,         /* contraction: 64x64 output tiles, A and B tiles through shared memory, 4x4 per thread */
  GPU_GEMM_TF32,    /* the same tiles, A and B rounded to tf32, products on the tensor cores (warp MMA) */
  GPU_GEMM_F16,     /* the same tiles, A and B rounded to fp16, products on the tensor cores (warp MMA) */
  GPU_TAPS,         /* window reduction with a tap schedule (Kernel.taps): a block per (outer index, band of
                       rows), the padded plane in shared memory, a thread per output position, taps unrolled */
} GpuMap;
/* --precision: what the CUDA target's float32 contractions multiply in (sums stay float32). */
typedef enum { PRECISION_F32, PRECISION_TF32, PRECISION_F16 } GpuPrecision;
extern const char *const gpu_precision_names[]; /* "fp32", "tf32", "fp16": --precision's spellings */
extern const char *const gpu_map_names[];

/* A kernel computes one materialized node (root) with its inlined producers. */
typedef struct {
  Node *root;
  int ndom;
  int64_t dom[IR_MAX_RANK];   /* loop extents; var k is i<k> */
  int nloops;                 /* loops actually emitted: vars of extent 1 are the constant 0 */
  int order[IR_MAX_RANK];     /* loop nest, outermost first (var numbers), nloops entries */
  int nouter;                 /* acc_reg: loops order[0..nouter) define the output element */
  bool acc_reg;               /* SCATTER: reduce the inner loops in a register, store once */
  int npar;                   /* outermost loops run in parallel (OpenMP collapse count), 0 = serial */
  int nfused;                 /* inlined nodes, for the comment block */
  Node **fused;
  Contraction *gemm;          /* set by pass_contract: the reduction runs as a packed GEMM */
  int row_var;                /* pass_rows: this output variable runs innermost, accumulated in a row */
  int row_var2;               /* ... and this one just outside it (a plane of accumulators), or -1 */
  Node *row_gather;           /* ... and this GATHER's bounds become that loop's limits; else NULL */
  Node *row_scatter;          /* a MAP root's fused window reduction run this way (its epilogue on store), or NULL */
  RowTaps *taps;              /* ... run as a padded plane with its taps unrolled (row_var2: the plane's rows or -1), or NULL */
  GpuMap gpu;                 /* pass_launch: the thread mapping; the rest is its launch shape */
  int gpu_block;              /* threads per block */
  int64_t gpu_grid[3];        /* blocks (x, y, z) */
  int64_t gpu_items;          /* work items the grid strides over: elements, outputs, or tiles' outer count */
} Kernel;

typedef enum { BUF_INPUT, BUF_OUTPUT, BUF_CONST, BUF_ARENA, BUF_STATE } BufKind;

typedef struct {
  Graph *g;
  Node **nodes; int nnodes;   /* live nodes, topological (creation) order */
  Kernel *kernels; int nkernels;
  int64_t arena_bytes;        /* activations, 64-byte aligned offsets */
  int64_t const_bytes;        /* weights and other constants */
  int64_t peak_live_bytes;    /* largest sum of simultaneously live arena buffers */
  int64_t two_largest_live_bytes; /* largest sum of the two biggest buffers live at once (the arena's lower bound) */
  int64_t gemm_scratch_floats; /* per thread: a bound on the largest packed B block, any ISA */
  int64_t gemm_apack_floats;   /* the largest A packed at run time (shared, before the GEMM) */
  int64_t gemm_ct_floats;      /* the largest transposed result (after the A region) */
  bool naive;                  /* --naive: no epilogue fusion, GEMMs or row loops (the reference schedule) */
  bool gpu;                    /* --target=cuda: GEMMs keep their operands as they are (no packing, no C^T), no row loops */
  GpuPrecision precision;      /* --target=cuda: float32 contractions' inputs (GPU_GEMM_TF32/F16 when not F32) */
  bool embedded;               /* --embedded: no packed GEMMs (their scratch costs a microcontroller's RAM; no SIMD to pay it back) */
} Plan;

typedef struct {
  const char *name;
  void (*run)(Plan *p);
  const char *what;
} Pass;

extern const Pass pass_list[];
extern const int pass_count;

/* Run the pipeline; dump_after names a pass whose result is printed to dump (or NULL;
 * "all" dumps after every pass). Returns NULL with g->errmsg set on failure. */
Plan *pass_run_all(Graph *g, const char *dump_after, FILE *dump);
/* The same with the optimizing schedules off (tests compare both). */
Plan *pass_run_naive(Graph *g, const char *dump_after, FILE *dump);
/* The schedule for the CUDA printer (Plan.gpu), its float32 contractions in prec. */
Plan *pass_run_gpu(Graph *g, GpuPrecision prec, const char *dump_after, FILE *dump);
/* The schedule for --embedded C (Plan.embedded). */
Plan *pass_run_embedded(Graph *g, const char *dump_after, FILE *dump);
void pass_dump(FILE *f, const Plan *p, const char *title);
/* Verify the graph's invariants (kinds, arity, shapes, map ranks); internal error on failure. */
void pass_verify(const Plan *p, const char *after);

/* Helpers shared by passes and code generators */
BufKind pass_buf_kind(const Node *n);
bool pass_is_buffer(const Node *n);       /* LEAF or materialized */
bool pass_is_scalar_const(const Node *n); /* a single-element constant, printed inline */
bool pass_scatter_is_projection(const Node *n);
/* The condition that idx (over variables ranging in ext) stays inside src's shape; NULL when provable. */
Ix *pass_bounds_cond(Graph *g, Ix *const *idx, const Node *src, const int64_t *ext); /* out[i] gathers src over a sub-domain: reducible in a register */

void pass_simplify(Plan *p);
void pass_dce(Plan *p);
void pass_fuse(Plan *p);
void pass_schedule(Plan *p);
void pass_contract(Plan *p);
void pass_rows(Plan *p);
bool pass_row_window(Graph *g, const Node *n, const int64_t *dom, int ndom, int *var, Node **window);
/* The tap schedule's geometry for window reduction s (identity-like; dom: its source's
 * extents) over window win, columns v and rows u (or -1); false if it does not apply. */
bool pass_row_taps(const Node *s, const Node *win, int v, int u, RowTaps *t);
/* Can gather's bounds be solved into limits on variable v (affine wherever v appears)? */
bool pass_window_solvable(Graph *g, const Node *gather, int v, int ndom);
/* Output dim j of the SCATTER takes source variable j (or is a size-1 constant). */
bool pass_scatter_identity_like(const Node *n);
bool pass_is_gemm(Plan *p, Node *scatter); /* would pass_contract run this reduction as a GEMM? */
/* The atoms of a bounds condition: each `0 <= d` (d an Ix), for the row loop's limits. */
int pass_bound_atoms(Graph *g, Ix *cond, Ix **atoms, int max);
/* Which domain variables the inlined cone of operand x (indexed by the domain's own variables) reads. */
bool pass_operand_vars(Graph *g, const Node *x, int nvars, bool *used);
void pass_memplan(Plan *p);
/* Per node id: the last kernel that reads the buffer (p->nkernels: kept to the end of the
 * run, a state update or check), or -1. memplan's liveness, shared with the --report writer. */
int *pass_last_use(const Plan *p);
void pass_launch(Plan *p);

/* autodiff.c: the gradients of sum(seed * y) (seed NULL: ones) with respect to xs[0..nx),
 * as new meta-op nodes (zeros where y does not depend on x). Fails through ir_fail on an
 * OPAQUE node or a non-additive SCATTER between them. Works on the graph before the passes. */
Node **pass_grad(Graph *g, Node *y, Node *seed, int nx, Node *const *xs);

/* train.c: make g (lowered with Graph.training) one training step: the loss of
 * output 0 against a new input "target" (NF_TARGET) is the only output; every
 * trainable state gets its gradient and optimizer update (ir_update). */
typedef enum { TRAIN_LOSS_MSE, TRAIN_LOSS_CROSS_ENTROPY, TRAIN_LOSS_NLL, TRAIN_LOSS_BCE_LOGITS, TRAIN_LOSS_COUNT } TrainLoss;
typedef enum { TRAIN_OPT_SGD, TRAIN_OPT_ADAM, TRAIN_OPT_ADAMW, TRAIN_OPT_COUNT } TrainOptimizer;
extern const char *const train_loss_names[TRAIN_LOSS_COUNT];
extern const char *const train_opt_names[TRAIN_OPT_COUNT];
typedef struct {
  TrainLoss loss;
  TrainOptimizer opt;
  double lr, momentum, weight_decay, beta1, beta2, eps;
  bool nesterov;
} TrainOptions;
void pass_train(Graph *g, const TrainOptions *o);

#endif
