/* schedule.c: one Kernel per materialized node, in topological order.
 *
 * MAP/GATHER kernels loop over their output. SCATTER kernels loop over
 * their source; when every output index is a distinct loop variable that
 * covers its output dimension (a projection: reductions, matmul, conv), the
 * output-defining loops go outside, the reduced loops inside, and the
 * reduction runs in a register that is stored once (acc_reg). Otherwise the
 * output is filled with the reduction's identity and combined in place.
 * Outer loops whose iterations write disjoint outputs are marked parallel
 * while their trip count is worth a thread fork. */
#include "passes.h"

static void collect_fused(Plan *p, Kernel *k, Node *n, bool root) {
  if (!root && pass_is_buffer(n)) return;
  if (!root) {
    for (int j = 0; j < k->nfused; j++)
      if (k->fused[j] == n) return;
    k->fused[k->nfused++] = n;
  }
  for (int j = 0; j < n->nin; j++) collect_fused(p, k, n->in[j], false);
}

static int count_inlined(Node *n, bool root) {
  if (!root && pass_is_buffer(n)) return 0;
  int c = root ? 0 : 1;
  for (int j = 0; j < n->nin; j++) c += count_inlined(n->in[j], false);
  return c;
}

void pass_schedule(Plan *p) {
  Graph *g = p->g;
  p->kernels = ir_alloc_array(g, (size_t)p->nnodes + 1, sizeof(Kernel));
  p->nkernels = 0;
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind == NODE_LEAF || !(n->flags & NF_MATERIALIZE)) continue;
    Kernel *k = &p->kernels[p->nkernels++];
    k->root = n;
    const Node *dom = n->kind == NODE_SCATTER ? n->in[0] : n;
    k->ndom = dom->rank;
    for (int j = 0; j < dom->rank; j++) { k->dom[j] = dom->dims[j]; k->order[j] = j; }
    int outvar[IR_MAX_RANK];
    if (n->kind == NODE_SCATTER && pass_scatter_is_projection(n)) {
      for (int j = 0; j < n->rank; j++) outvar[j] = n->idx[j]->kind == IX_VAR ? (int)n->idx[j]->val : -1;
      k->acc_reg = true;
      bool is_out[IR_MAX_RANK] = {0};
      int m = 0;
      for (int j = 0; j < n->rank; j++)
        if (outvar[j] >= 0) { k->order[m++] = outvar[j]; is_out[outvar[j]] = true; }
      k->nouter = m;
      for (int j = 0; j < dom->rank; j++)
        if (!is_out[j]) k->order[m++] = j;
    }
    /* drop unit loops: their variable is the constant 0 in every simplified index */
    int m = 0, outer = 0;
    for (int j = 0; j < k->ndom; j++) {
      if (k->dom[k->order[j]] == 1) continue;
      if (j < k->nouter) outer++;
      k->order[m++] = k->order[j];
    }
    k->nloops = m;
    if (k->acc_reg) k->nouter = outer;
    /* parallel: MAP/GATHER over any prefix; SCATTER only over its output loops */
    int can = n->kind == NODE_SCATTER ? (k->acc_reg ? k->nouter : 0) : (n->kind == NODE_OPAQUE ? 0 : k->nloops);
    int64_t work = 1;
    k->npar = 0;
    for (int j = 0; j < can && work < 64; j++) { work *= k->dom[k->order[j]]; k->npar = j + 1; }
    if (work < 64 || n->numel < 4096) k->npar = 0;
    k->fused = ir_alloc_array(g, (size_t)count_inlined(n, true) + 1, sizeof(Node *));
    collect_fused(p, k, n, true);
  }
}
