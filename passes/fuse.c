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
 * producers are not recomputed per window tap.
 *
 * Epilogues: a SCATTER whose only consumer is a MAP reading it element for
 * element, and whose index map is a projection (reductions, matmul, conv), is
 * not materialized either: the consumer's kernel reduces it in a register
 * per output element and applies bias, batch-norm, activation or residual
 * add before the one store. A reduction never hides inside another
 * reduction's source (that would recompute it per reduction step), and a
 * kernel fuses at most one. */
#include "passes.h"

static bool reads_repeatedly(const Node *consumer) {
  return consumer->kind == NODE_GATHER && consumer->numel > consumer->in[0]->numel;
}

/* Each output dim k is read from a distinct source var covering it, or is a size-1 constant. */
bool pass_scatter_is_projection(const Node *n) {
  const Node *src = n->in[0];
  bool used[IR_MAX_RANK] = {0};
  if (n->red == RED_ASSIGN) return false;
  for (int k = 0; k < n->rank; k++) {
    const Ix *e = n->idx[k];
    if (e->kind == IX_CONST && e->val == 0 && n->dims[k] == 1) continue;
    if (e->kind != IX_VAR || used[e->val] || src->dims[e->val] != n->dims[k]) return false;
    used[e->val] = true;
  }
  return true;
}

/* The one node that reads n, or NULL. */
static Node *only_consumer(Plan *p, const Node *n, int from) {
  if (n->nuses != 1 || (n->flags & NF_ROOT)) return NULL;
  for (int i = from; i < p->nnodes; i++)
    for (int k = 0; k < p->nodes[i]->nin; k++)
      if (p->nodes[i]->in[k] == n) return p->nodes[i];
  return NULL;
}

/* Materialize the first fused SCATTER found in the inlined cone of n. */
static bool materialize_first_reduction(Node *n) {
  if (n->flags & NF_MATERIALIZE) return false;
  if (n->kind == NODE_SCATTER) { n->flags |= NF_MATERIALIZE; return true; }
  if (n->kind == NODE_LEAF) return false;
  for (int k = 0; k < n->nin; k++)
    if (materialize_first_reduction(n->in[k])) return true;
  return false;
}

/* Is n reached from top through same-shape MAPs, each the only use of the one below? */
static bool same_shape_chain(const Node *top, const Node *n) {
  if (top == n) return true;
  if (top->kind != NODE_MAP || !ir_same_shape(top, n) || (top->flags & NF_MATERIALIZE)) return false;
  for (int k = 0; k < top->nin; k++)
    if (top->in[k]->nuses == 1 && same_shape_chain(top->in[k], n)) return true;
  return false;
}

/* Walk the inlined cone of a kernel root; a fused SCATTER reached through a GATHER gets
 * its whole element-wise epilogue materialized: the chain of same-shape MAPs from it up
 * to the GATHER's input (`below`: conv, bias, batch norm, ReLU under a 2x2 pool), so the
 * epilogue runs once per element with the contraction and the GATHER reads a buffer;
 * else its epilogue MAP (parent, same shape), or itself if there is none. */
static void cut_reductions_under_gathers(Node *n, Node *parent, Node *below, bool via_gather, bool root) {
  if (!root && (n->flags & NF_MATERIALIZE)) return;
  if (n->kind == NODE_LEAF) return;
  if (!root && n->kind == NODE_SCATTER) {
    if (via_gather) {
      if (below && below != n && same_shape_chain(below, n)) below->flags |= NF_MATERIALIZE;
      else if (parent && parent->kind == NODE_MAP && ir_same_shape(parent, n)) parent->flags |= NF_MATERIALIZE;
      else n->flags |= NF_MATERIALIZE;
    }
    return;
  }
  for (int k = 0; k < n->nin; k++)
    cut_reductions_under_gathers(n->in[k], n, n->kind == NODE_GATHER ? n->in[k] : below,
                                 via_gather || n->kind == NODE_GATHER, false);
}

/* The distinct fused SCATTERs in the inlined cone of n (a diamond reaches one twice). */
static void fused_reductions(const Node *n, bool root, const Node **seen, int *nseen) {
  if (!root && (n->flags & NF_MATERIALIZE)) return;
  if (n->kind == NODE_LEAF) return;
  if (!root && n->kind == NODE_SCATTER) {
    for (int j = 0; j < *nseen; j++)
      if (seen[j] == n) return;
    if (*nseen < 8) seen[(*nseen)++] = n;
  }
  for (int k = 0; k < n->nin; k++) fused_reductions(n->in[k], false, seen, nseen);
}

static int count_fused_reductions(const Node *n, bool root) {
  const Node *seen[8];
  int nseen = 0;
  fused_reductions(n, root, seen, &nseen);
  return nseen;
}

/* Nodes in the inlined expression tree of root, a diamond's shared part counted per use; stops past limit. */
static int tree_size(const Node *n, bool root, int limit) {
  if (!root && ((n->flags & NF_MATERIALIZE) || n->kind == NODE_LEAF)) return 1;
  int s = 1;
  for (int k = 0; k < n->nin && s <= limit; k++) s += tree_size(n->in[k], false, limit - s);
  return s;
}

/* The materialized node u's value reaches through inlined same-shape MAPs each used once, or NULL. */
static Node *flows_into(Plan *p, Node *u, int from) {
  while (!(u->flags & NF_MATERIALIZE)) {
    Node *c = only_consumer(p, u, from);
    if (!c || c->kind != NODE_MAP || !ir_same_shape(c, u)) return NULL;
    u = c;
  }
  return u;
}

/* Diamonds: a MAP used more than once where every use is inside one kernel's element-wise
 * expression (x * sigmoid(x), Mish, GELU, HardSwish after a conv) is inlined there as well,
 * recomputed per use instead of a round trip through memory, while the expression stays small. */
static void inline_diamonds(Plan *p) {
  enum { MAX_TREE = 64 };
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind != NODE_MAP || !(n->flags & NF_MATERIALIZE) || (n->flags & NF_ROOT) || n->nuses < 2) continue;
    Node *root = NULL;
    bool ok = true;
    for (int j = i + 1; j < p->nnodes && ok; j++) {
      Node *u = p->nodes[j];
      for (int k = 0; k < u->nin; k++) {
        if (u->in[k] != n) continue;
        Node *r = u->kind == NODE_MAP && ir_same_shape(u, n) ? flows_into(p, u, j + 1) : NULL;
        if (!r || r->kind != NODE_MAP || (root && r != root)) ok = false;
        root = r;
        break;
      }
    }
    if (!ok || !root) continue;
    n->flags &= ~NF_MATERIALIZE;
    if (tree_size(root, true, MAX_TREE) > MAX_TREE) n->flags |= NF_MATERIALIZE;
  }
}

static void materialize_first_reduction_of(Node *root) {
  for (int k = 0; k < root->nin; k++)
    if (materialize_first_reduction(root->in[k])) return;
}

/* Does the inlined part of n's source cone hold a fused (unmaterialized) SCATTER? */
static bool cone_has_reduction(const Node *n, bool root) {
  if (!root && (n->flags & NF_MATERIALIZE)) return false;
  if (!root && n->kind == NODE_SCATTER) return true;
  if (n->kind == NODE_LEAF) return false;
  for (int k = 0; k < n->nin; k++)
    if (cone_has_reduction(n->in[k], false)) return true;
  return false;
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
    bool m = (n->flags & NF_ROOT) || n->kind == NODE_SCATTER || n->kind == NODE_OPAQUE;
    if (n->nuses > 1 && !(n->kind == NODE_GATHER && pass_is_buffer(n->in[0]))) m = true;
    if (n->kind == NODE_SCATTER && !(n->flags & NF_ROOT) && pass_scatter_is_projection(n)) {
      Node *c = only_consumer(p, n, i + 1);
      int v;
      Node *win;
      /* fused as the consumer's epilogue, unless it is a window reduction the row schedule cannot
       * run under an epilogue (its output dims must be its first source variables) */
      bool rows = !pass_is_gemm(p, n) && pass_row_window(p->g, n, n->in[0]->dims, n->in[0]->rank, &v, &win) &&
                  !pass_scatter_identity_like(n);
      if (c && c->kind == NODE_MAP && ir_same_shape(c, n) && !rows && !p->naive) m = false;
    }
    if (m) n->flags |= NF_MATERIALIZE;
  }
  if (!p->naive) inline_diamonds(p);
  /* a fused reduction is read element for element: one seen through a GATHER (a transpose
   * or slice of its epilogue) ends its epilogue's kernel there, so it can still run as a GEMM */
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind == NODE_MAP || n->kind == NODE_GATHER)
      if (n->flags & NF_MATERIALIZE) cut_reductions_under_gathers(n, NULL, NULL, false, true);
  }
  /* one fused reduction per kernel (a residual add of two convs runs the second as its own
   * kernel, so each contraction can get the GEMM schedule) */
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind == NODE_LEAF || !(n->flags & NF_MATERIALIZE) || n->kind == NODE_SCATTER) continue;
    while (count_fused_reductions(n, true) > 1) materialize_first_reduction_of(n);
  }
  /* keep reductions out of reductions' sources, in topological order */
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    if (n->kind != NODE_SCATTER) continue;
    if ((n->flags & NF_MATERIALIZE) && !p->naive) cut_reductions_under_gathers(n, NULL, NULL, false, true);
    while (cone_has_reduction(n->in[0], false) || (!(n->flags & NF_MATERIALIZE) && cone_has_reduction(n, true)))
      materialize_first_reduction(n->in[0]);
  }
}
