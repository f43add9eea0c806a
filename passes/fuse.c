/* fuse.c: decide which nodes are materialized (NF_MATERIALIZE); every other
 * MAP and GATHER is inlined as a scalar expression into its one consumer's
 * loop nest. So a conv is one loop nest: SCATTER(add) over the product of
 * its input window GATHER and weight GATHER, and no im2col buffer exists.
 *
 * Materialized: graph outputs, SCATTERs and OPAQUEs (reductions need their
 * whole output), tensors read through data-dependent indices, and nodes
 * used more than once unless they are a GATHER straight off a buffer
 * (recomputing an index is cheaper than a round trip through memory). A MAP
 * read by a GATHER that reads its elements more than once (a window or
 * broadcast: more outputs than inputs) is materialized too, so expensive
 * producers are not recomputed per window tap. */
#include "passes.h"

static bool reads_repeatedly(const Node *consumer) {
  return consumer->kind == NODE_GATHER && consumer->numel > consumer->in[0]->numel;
}

void pass_fuse(Plan *p) {
  for (int i = 0; i < p->nnodes; i++) p->nodes[i]->flags &= ~NF_MATERIALIZE;
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind == NODE_GATHER || n->kind == NODE_SCATTER)
      for (int k = 1; k < n->nin; k++) n->in[k]->flags |= NF_MATERIALIZE; /* LOAD tensors */
    if (n->kind == NODE_OPAQUE)
      for (int k = 0; k < n->nin; k++) n->in[k]->flags |= NF_MATERIALIZE;
    if (n->kind == NODE_GATHER && reads_repeatedly(n) && n->in[0]->kind == NODE_MAP) n->in[0]->flags |= NF_MATERIALIZE;
  }
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind == NODE_LEAF) continue;
    bool m = (n->flags & NF_OUTPUT) || n->kind == NODE_SCATTER || n->kind == NODE_OPAQUE;
    if (n->nuses > 1 && !(n->kind == NODE_GATHER && pass_is_buffer(n->in[0]))) m = true;
    if (m) n->flags |= NF_MATERIALIZE;
  }
}
