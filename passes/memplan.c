/* memplan.c: place every arena buffer (materialized, not a graph output)
 * at an offset in one static arena. A buffer lives from the kernel that
 * writes it to the last kernel that reads it; offsets are chosen best-fit
 * among ranges no live buffer occupies, 64-byte aligned. */
#include <stdlib.h>

#include "passes.h"

typedef struct { int64_t off, size; int end; } Live;

static int64_t align64(int64_t v) { return (v + 63) & ~(int64_t)63; }

static int by_offset(const void *a, const void *b) {
  const Live *x = a, *y = b;
  return (x->off > y->off) - (x->off < y->off);
}

int *pass_last_use(const Plan *p) {
  Graph *g = p->g;
  int *last_use = ir_alloc_array(g, (size_t)g->nnodes, sizeof(int));
  for (int i = 0; i < g->nnodes; i++) last_use[i] = -1;
  /* a buffer read by kernel j (directly, through its inlined nodes, or by an index LOAD) stays live through j */
  for (int j = 0; j < p->nkernels; j++) {
    const Kernel *k = &p->kernels[j];
    for (int f = -1; f < k->nfused; f++) {
      const Node *n = f < 0 ? k->root : k->fused[f];
      for (int e = 0; e < n->nin; e++)
        if (pass_is_buffer(n->in[e]) && last_use[n->in[e]->id] < j) last_use[n->in[e]->id] = j;
    }
  }
  for (int k = 0; k < g->nupdates; k++) last_use[g->upd_value[k]->id] = p->nkernels; /* copied into the state at the end */
  for (int k = 0; k < g->nchecks; k++) last_use[g->checks[k]->id] = p->nkernels;
  return last_use;
}

void pass_memplan(Plan *p) {
  Graph *g = p->g;
  int *last_use = pass_last_use(p);
  Live *live = ir_alloc_array(g, (size_t)p->nkernels + 1, sizeof(Live));
  int nlive = 0;
  int64_t top = 0, cur = 0, peak = 0, two = 0;
  p->const_bytes = 0;
  for (int i = 0; i < p->nnodes; i++)
    if (p->nodes[i]->kind == NODE_LEAF && p->nodes[i]->leaf != LEAF_INPUT)
      p->const_bytes += p->nodes[i]->numel * (int64_t)dt_size(p->nodes[i]->dtype);
  for (int j = 0; j < p->nkernels; j++) {
    /* free buffers whose last use is before this kernel */
    int m = 0;
    for (int e = 0; e < nlive; e++)
      if (live[e].end >= j) live[m++] = live[e];
      else cur -= live[e].size;
    nlive = m;
    Node *n = p->kernels[j].root;
    if (pass_buf_kind(n) != BUF_ARENA) continue;
    int64_t size = align64(n->numel * (int64_t)dt_size(n->dtype));
    if (size == 0) size = 64;
    qsort(live, (size_t)nlive, sizeof *live, by_offset);
    int64_t best = -1, best_gap = INT64_MAX, at = 0;
    for (int e = 0; e <= nlive; e++) {
      int64_t gap_end = e < nlive ? live[e].off : INT64_MAX;
      int64_t gap = gap_end - at;
      if (gap >= size && (best < 0 || gap < best_gap)) { best = at; best_gap = gap; }
      if (e < nlive && live[e].off + live[e].size > at) at = live[e].off + live[e].size;
    }
    n->offset = best;
    if (best + size > top) top = best + size;
    int end = last_use[n->id] < j ? j : last_use[n->id];
    live[nlive++] = (Live){best, size, end};
    cur += size;
    if (cur > peak) peak = cur;
    int64_t a = 0, b = 0; /* the two largest live now */
    for (int e = 0; e < nlive; e++) {
      if (live[e].size > a) { b = a; a = live[e].size; }
      else if (live[e].size > b) b = live[e].size;
    }
    if (a + b > two) two = a + b;
  }
  p->arena_bytes = top;
  p->peak_live_bytes = peak;
  p->two_largest_live_bytes = two;
}
