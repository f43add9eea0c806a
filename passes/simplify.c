/* simplify.c: graph-level rewrites before fusion.
 *   GATHER(GATHER(x, f), h)  -> GATHER(x, f∘h)   when the fills agree or one
 *                                                 side provably stays in bounds
 *   GATHER(x, identity)      -> x
 * and every index map is simplified against its loop ranges. Composing
 * gathers is substitution of index expressions, which is why index maps are
 * trees: a transpose of a reshape of a slice becomes one map. */
#include "passes.h"

Ix *pass_bounds_cond(Graph *g, Ix *const *idx, const Node *src, const int64_t *ext) {
  Ix *c = NULL;
  for (int k = 0; k < src->rank; k++) {
    int64_t lo, hi;
    ix_range(idx[k], ext, &lo, &hi);
    if (lo < 0) c = ix_and(g, c, ix_cmp(g, IX_LE, ix_const(g, 0), idx[k]));
    if (hi >= src->dims[k]) c = ix_and(g, c, ix_cmp(g, IX_LT, idx[k], ix_const(g, src->dims[k])));
  }
  return c;
}

static bool provably_in_bounds(Graph *g, Ix *const *idx, const Node *src, const int64_t *ext, Ix *cond) {
  return !cond && !pass_bounds_cond(g, idx, src, ext);
}

/* Try to rewrite outer = GATHER(inner = GATHER(x)) into one GATHER of x. */
static bool compose(Graph *g, Node *outer) {
  Node *inner = outer->in[0];
  if (inner->kind != NODE_GATHER || outer->nin != 1 || inner->nin != 1) return false;
  Node *x = inner->in[0];
  const int64_t *ext = outer->dims;
  bool outer_safe = provably_in_bounds(g, outer->idx, inner, ext, outer->cond);
  Ix *idx[IR_MAX_RANK];
  for (int k = 0; k < x->rank; k++) idx[k] = ix_simplify(g, ix_subst(g, inner->idx[k], inner->rank, outer->idx), outer->rank, ext);
  Ix *icond = inner->cond ? ix_subst(g, inner->cond, inner->rank, outer->idx) : NULL;
  bool inner_safe = provably_in_bounds(g, idx, x, ext, icond);
  Scalar fill;
  if (outer_safe) fill = inner->fill;
  else if (inner_safe || sc_equal(inner->fill, outer->fill, outer->dtype)) fill = outer->fill;
  else return false;
  /* the outer gather's own bounds and condition guard reads of the inner one */
  Ix *cond = outer->cond;
  if (!outer_safe)
    cond = ix_and(g, cond, pass_bounds_cond(g, outer->idx, inner, ext));
  cond = ix_and(g, cond, icond);
  if (cond) cond = ix_simplify(g, cond, outer->rank, ext);
  outer->in[0] = x;
  if (x->rank > inner->rank) outer->idx = ir_alloc_array(g, (size_t)x->rank, sizeof(Ix *));
  for (int k = 0; k < x->rank; k++) outer->idx[k] = idx[k];
  outer->cond = cond && !(cond->kind == IX_CONST && cond->val) ? cond : NULL;
  outer->fill = fill;
  return true;
}

static bool is_identity(const Node *n) {
  const Node *src = n->in[0];
  if (n->nin != 1 || n->cond || !ir_same_shape(n, src) || n->dtype != src->dtype) return false;
  for (int k = 0; k < n->rank; k++)
    if (n->idx[k]->kind != IX_VAR || n->idx[k]->val != k) return false;
  return true;
}

void pass_simplify(Plan *p) {
  Graph *g = p->g;
  for (int i = 0; i < p->nnodes; i++) {
    Node *n = p->nodes[i];
    for (int k = 0; k < n->nin; k++) n->in[k] = ir_resolve(n->in[k]);
    if (n->kind == NODE_GATHER) {
      while (compose(g, n)) {}
      for (int k = 0; k < n->in[0]->rank; k++) n->idx[k] = ix_simplify(g, n->idx[k], n->rank, n->dims);
      if (n->cond) {
        Ix *c = ix_simplify(g, n->cond, n->rank, n->dims);
        n->cond = c->kind == IX_CONST && c->val ? NULL : c;
      }
      if (is_identity(n) && !(n->flags & NF_ROOT)) n->fwd = n->in[0];
    } else if (n->kind == NODE_SCATTER) {
      for (int k = 0; k < n->rank; k++) n->idx[k] = ix_simplify(g, n->idx[k], n->in[0]->rank, n->in[0]->dims);
      if (n->cond) {
        Ix *c = ix_simplify(g, n->cond, n->in[0]->rank, n->in[0]->dims);
        n->cond = c->kind == IX_CONST && c->val ? NULL : c;
      }
    }
  }
  for (int k = 0; k < g->noutputs; k++) g->outputs[k] = ir_resolve(g->outputs[k]);
  for (int k = 0; k < g->nupdates; k++) g->upd_value[k] = ir_resolve(g->upd_value[k]);
  for (int k = 0; k < g->nchecks; k++) g->checks[k] = ir_resolve(g->checks[k]);
}
