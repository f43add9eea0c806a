/* pipeline.c: the ordered, named pass list, the IR verifier run between
 * passes, and the --dump-ir printer. */
#include <inttypes.h>
#include <string.h>

#include "passes.h"

const Pass pass_list[] = {
  {"simplify", pass_simplify, "compose GATHER chains, simplify index maps, drop identity GATHERs"},
  {"dce", pass_dce, "drop nodes no output depends on, count uses"},
  {"fuse", pass_fuse, "choose which nodes are materialized; the rest are inlined into their consumer"},
  {"schedule", pass_schedule, "per kernel: loop domain, order, reduction strategy, parallel loops"},
  {"contract", pass_contract, "run contractions (conv, matmul) as packed GEMMs; pack constant A at compile time"},
  {"rows", pass_rows, "windowed reductions (depthwise conv, pooling): output rows innermost, bounds as loop limits"},
  {"memplan", pass_memplan, "liveness and best-fit offsets in one static arena"},
  {"launch", pass_launch, "CUDA only: each kernel's thread mapping, block and grid"},
};
const int pass_count = (int)(sizeof pass_list / sizeof pass_list[0]);

BufKind pass_buf_kind(const Node *n) {
  if (n->kind == NODE_LEAF) return n->leaf == LEAF_INPUT ? BUF_INPUT : n->leaf == LEAF_STATE ? BUF_STATE : BUF_CONST;
  if (n->flags & NF_OUTPUT) return BUF_OUTPUT;
  return BUF_ARENA;
}

bool pass_is_buffer(const Node *n) { return n->kind == NODE_LEAF || (n->flags & NF_MATERIALIZE); }

bool pass_is_scalar_const(const Node *n) {
  return n->kind == NODE_LEAF && n->leaf == LEAF_CONST && n->numel == 1;
}

static void fail_verify(const Node *n, const char *after, const char *what) {
  fprintf(stderr, "jtc: IR verifier after pass '%s': node %%%d (%s): %s\n", after, n->id, node_kind_names[n->kind], what);
  ir_print_node(stderr, n);
  jtc_unreachable();
}

void pass_verify(const Plan *p, const char *after) {
  for (int i = 0; i < p->nnodes; i++) {
    const Node *n = p->nodes[i];
    for (int k = 0; k < n->nin; k++) {
      if (!n->in[k]) fail_verify(n, after, "missing operand");
      if (n->in[k]->id >= n->id) fail_verify(n, after, "operand created after its user (cycle?)");
    }
    switch (n->kind) {
    case NODE_LEAF: if (n->nin) fail_verify(n, after, "leaf with operands"); break;
    case NODE_MAP:
      if (n->nin != map_ops[n->op].arity) fail_verify(n, after, "arity differs from the MAP table");
      for (int k = 0; k < n->nin; k++)
        if (!ir_same_shape(n, n->in[k])) fail_verify(n, after, "MAP operand shape differs");
      break;
    case NODE_GATHER:
      for (int k = 0; k < n->in[0]->rank; k++)
        if (!n->idx[k] || n->idx[k]->maxvar >= n->rank) fail_verify(n, after, "index map uses a variable beyond the output rank");
      break;
    case NODE_SCATTER:
      for (int k = 0; k < n->rank; k++)
        if (!n->idx[k] || n->idx[k]->maxvar >= n->in[0]->rank) fail_verify(n, after, "index map uses a variable beyond the source rank");
      break;
    case NODE_OPAQUE: break;
    }
  }
}

void pass_dump(FILE *f, const Plan *p, const char *title) {
  fprintf(f, "# after %s: %d nodes", title, p->nnodes);
  if (p->nkernels) fprintf(f, ", %d kernels", p->nkernels);
  if (p->arena_bytes) fprintf(f, ", arena %" PRId64 " bytes", p->arena_bytes);
  fprintf(f, "\n");
  for (int i = 0; i < p->nnodes; i++) {
    const Node *n = p->nodes[i];
    fprintf(f, "%s", (n->flags & NF_MATERIALIZE) ? "* " : "  ");
    ir_print_node(f, n);
  }
  for (int i = 0; i < p->nkernels; i++) {
    const Kernel *k = &p->kernels[i];
    fprintf(f, "kernel %d: %%%d %s, loops [", i, k->root->id, node_kind_names[k->root->kind]);
    for (int j = 0; j < k->nloops; j++) fprintf(f, "%si%d<%" PRId64, j ? ", " : "", k->order[j], k->dom[k->order[j]]);
    fprintf(f, "]");
    if (k->acc_reg) fprintf(f, ", register accumulator over the inner %d", k->nloops - k->nouter);
    if (k->npar) fprintf(f, ", parallel outer %d", k->npar);
    if (k->gpu)
      fprintf(f, ", CUDA %s: %" PRId64 " items, grid (%" PRId64 ",%" PRId64 ",%" PRId64 ") x %d threads", gpu_map_names[k->gpu],
              k->gpu_items, k->gpu_grid[0], k->gpu_grid[1], k->gpu_grid[2], k->gpu_block);
    if (k->row_scatter) fprintf(f, ", epilogue over the fused window %%%d", k->row_scatter->id);
    if (k->taps) {
      fprintf(f, ", %d taps unrolled over a padded copy of %%%d's source (%" PRId64 " elements), ", k->taps->ntaps, k->row_gather->id, k->taps->buf);
      if (k->row_var2 >= 0) fprintf(f, "bands of %" PRId64 " rows i%d, ", k->taps->band, k->row_var2);
      fprintf(f, "columns i%d, %d taps per pass", k->row_var, k->taps->per_pass);
    }
    else if (k->row_gather && k->row_var2 >= 0)
      fprintf(f, ", plane loops i%d, i%d (bounds of %%%d as limits)", k->row_var2, k->row_var, k->row_gather->id);
    else if (k->row_gather) fprintf(f, ", row loop i%d (bounds of %%%d as limits)", k->row_var, k->row_gather->id);
    if (k->gemm) {
      const Contraction *c = k->gemm;
      fprintf(f, ", GEMM%s %%%d M=%" PRId64 " N=%" PRId64 " K=%" PRId64 " ldc=%" PRId64 " A=%%%d%s B=%%%d outer %d", c->transposed ? " (C transposed)" : "",
              c->scatter->id, c->M, c->N, c->K, c->ldc, c->aop->id, c->apacked ? " (packed at compile time)" : "",
              c->bop->id, c->nouter);
    }
    fprintf(f, ", inlines");
    for (int j = 0; j < k->nfused; j++) fprintf(f, " %%%d", k->fused[j]->id);
    if (k->root->kind != NODE_LEAF && pass_buf_kind(k->root) == BUF_ARENA)
      fprintf(f, ", arena offset %" PRId64, k->root->offset);
    fprintf(f, "\n");
  }
}

static Plan *run(Graph *g, const char *dump_after, FILE *dump, bool naive, bool gpu, GpuPrecision prec, bool embedded);

Plan *pass_run_all(Graph *g, const char *dump_after, FILE *dump) { return run(g, dump_after, dump, false, false, PRECISION_F32, false); }
Plan *pass_run_naive(Graph *g, const char *dump_after, FILE *dump) { return run(g, dump_after, dump, true, false, PRECISION_F32, false); }
Plan *pass_run_gpu(Graph *g, GpuPrecision prec, const char *dump_after, FILE *dump) { return run(g, dump_after, dump, false, true, prec, false); }
Plan *pass_run_embedded(Graph *g, const char *dump_after, FILE *dump) { return run(g, dump_after, dump, false, false, PRECISION_F32, true); }

static Plan *run(Graph *g, const char *dump_after, FILE *dump, bool naive, bool gpu, GpuPrecision prec, bool embedded) {
  jmp_buf jb;
  jmp_buf *saved = g->on_error;
  g->on_error = &jb;
  g->context = NULL;
  Plan *p = ir_alloc(g, sizeof *p);
  p->g = g;
  p->naive = naive;
  p->gpu = gpu;
  p->precision = prec;
  p->embedded = embedded;
  if (setjmp(jb)) {
    g->on_error = saved;
    return NULL;
  }
  p->nodes = ir_alloc_array(g, (size_t)g->nnodes + 1, sizeof(Node *));
  for (Node *n = g->first; n; n = n->next) p->nodes[p->nnodes++] = n;
  bool all = dump_after && !strcmp(dump_after, "all");
  if (dump && dump_after && (all || !strcmp(dump_after, "input"))) pass_dump(dump, p, "input");
  for (int i = 0; i < pass_count; i++) {
    pass_list[i].run(p);
#ifndef NDEBUG
    pass_verify(p, pass_list[i].name);
#endif
    if (dump && dump_after && (all || !strcmp(dump_after, pass_list[i].name))) pass_dump(dump, p, pass_list[i].name);
  }
  g->on_error = saved;
  return p;
}
