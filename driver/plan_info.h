/* plan_info.h: what the code generators decided about a printed Plan, for the
 * --report and --dump-dot writers: the generated kernel and buffer names, the
 * buffers each kernel really loads, the constants' layout in the .weights
 * blob, and the arena buffers' live ranges. Computed by printing the kernels
 * again into memory with the same printer, so the names and read sets are
 * the ones in the generated file (the printers are deterministic). */
#ifndef JTC_DRIVER_PLAN_INFO_H
#define JTC_DRIVER_PLAN_INFO_H

#include "codegen/c/cgen_internal.h"

typedef struct {
  const char *name;           /* the generated function: a static C function, or a CUDA __global__ */
  const char *epi_name;       /* CUDA: a GEMM's separate element-wise __global__, or NULL */
  const Node **reads;         /* distinct buffers it loads besides its own output, in plan order */
  int nreads;
  bool gemm_post;             /* C: the GEMM applies the root's expression per tile (<name>_post) */
} KernelInfo;

typedef struct {
  Plan *p;
  Graph *g;
  const CgOptions *co;
  bool cuda;
  CgCtx c;                    /* buffer names (c.names) as the printer gave them */
  KernelInfo *k;              /* per kernel */
  int *last_use;              /* per node id: pass_last_use */
  int *writer;                /* per node id: the kernel whose root it is, or -1 */
  Weights w;                  /* the constants' layout; w.embed, w.bytes (the .weights blob past its header) */
  int64_t const_bytes;        /* the constants the file holds (= Plan.const_bytes after printing) */
  int nconsts;                /* how many */
} PlanInfo;

/* Fails through ir_fail (the caller holds g->on_error). p must be printed already with co. */
PlanInfo *plan_info(Plan *p, const CgOptions *co);

/* The distinct non-NULL ONNX op types (ops) or node names (!ops) of kernel k's root and
 * fused nodes, in that order; *n receives the count. */
const char **plan_kernel_origins(Graph *g, const Kernel *k, bool ops, int *n);

/* s as valid UTF-8 without control characters (each invalid byte or control becomes '?'); NULL stays NULL. */
const char *plan_text(Graph *g, const char *s);

#endif
