/* autodiff.c: reverse-mode differentiation of the meta-op graph.
 *
 * The adjoint of every node between the xs and y is built from the same
 * meta-ops, so the gradient graph fuses, schedules and differentiates again
 * like any other: a MAP's adjoint is a MAP of closed-form derivatives; a
 * GATHER's is a SCATTER-add of the adjoint through the same index map (reads
 * outside the source or under a false condition got the fill and pass
 * nothing back); a SCATTER-add's is a GATHER of the adjoint through its map;
 * a SCATTER-max/min's routes the adjoint to the positions that hold the
 * extremum, split evenly between ties; a SCATTER-mul's is the product of the
 * other elements in a zero-safe form. Ops without a derivative (floor,
 * comparisons, bit operations) pass nothing; an OPAQUE node on the path is an
 * error naming it, except allreduce_mean, whose adjoint is the allreduce_mean
 * of its adjoint. Adjoints of a node read twice are summed. */
#include <math.h>
#include <string.h>

#include "ir/ops.h"
#include "passes.h"

static Node *full_like(Graph *g, const Node *x, double v) {
  return ir_broadcast(g, ir_scalar(g, x->dtype, v), x->rank, x->dims);
}

static Node *bin(Graph *g, MapOp op, Node *a, Node *b) { return ir_binary(g, op, a, b); }
static Node *un(Graph *g, MapOp op, Node *a) { return ir_unary(g, op, a); }

/* d(out)/d(in[k]) times the adjoint gy, for MAP node n; NULL when no gradient flows. */
static Node *map_adjoint(Graph *g, Node *n, int k, Node *gy) {
  Node *x = n->in[0], *y = n->nin > 1 ? n->in[1] : NULL, *o = n;
#define ONE(t) full_like(g, t, 1.0)
  switch (n->op) {
  case MAP_NEG: return un(g, MAP_NEG, gy);
  case MAP_ABS: return bin(g, MAP_MUL, gy, un(g, MAP_SIGN, x));
  case MAP_EXP: return bin(g, MAP_MUL, gy, o);
  case MAP_LOG: return bin(g, MAP_DIV, gy, x);
  case MAP_SQRT: return bin(g, MAP_DIV, gy, bin(g, MAP_MUL, full_like(g, o, 2.0), o));
  case MAP_RECIP: return un(g, MAP_NEG, bin(g, MAP_MUL, gy, bin(g, MAP_MUL, o, o)));
  case MAP_SIN: return bin(g, MAP_MUL, gy, un(g, MAP_COS, x));
  case MAP_COS: return un(g, MAP_NEG, bin(g, MAP_MUL, gy, un(g, MAP_SIN, x)));
  case MAP_TAN: return bin(g, MAP_MUL, gy, bin(g, MAP_ADD, ONE(o), bin(g, MAP_MUL, o, o)));
  case MAP_ASIN: return bin(g, MAP_DIV, gy, un(g, MAP_SQRT, bin(g, MAP_SUB, ONE(x), bin(g, MAP_MUL, x, x))));
  case MAP_ACOS: return un(g, MAP_NEG, bin(g, MAP_DIV, gy, un(g, MAP_SQRT, bin(g, MAP_SUB, ONE(x), bin(g, MAP_MUL, x, x)))));
  case MAP_ATAN: return bin(g, MAP_DIV, gy, bin(g, MAP_ADD, ONE(x), bin(g, MAP_MUL, x, x)));
  case MAP_SINH: return bin(g, MAP_MUL, gy, un(g, MAP_COSH, x));
  case MAP_COSH: return bin(g, MAP_MUL, gy, un(g, MAP_SINH, x));
  case MAP_TANH: return bin(g, MAP_MUL, gy, bin(g, MAP_SUB, ONE(o), bin(g, MAP_MUL, o, o)));
  case MAP_ASINH: return bin(g, MAP_DIV, gy, un(g, MAP_SQRT, bin(g, MAP_ADD, bin(g, MAP_MUL, x, x), ONE(x))));
  case MAP_ACOSH: return bin(g, MAP_DIV, gy, un(g, MAP_SQRT, bin(g, MAP_SUB, bin(g, MAP_MUL, x, x), ONE(x))));
  case MAP_ATANH: return bin(g, MAP_DIV, gy, bin(g, MAP_SUB, ONE(x), bin(g, MAP_MUL, x, x)));
  case MAP_ERF: /* 2/sqrt(pi) e^(-x^2) */
    return bin(g, MAP_MUL, gy, bin(g, MAP_MUL, full_like(g, x, 1.1283791670955126), un(g, MAP_EXP, un(g, MAP_NEG, bin(g, MAP_MUL, x, x)))));
  case MAP_SIGMOID: return bin(g, MAP_MUL, gy, bin(g, MAP_MUL, o, bin(g, MAP_SUB, ONE(o), o)));
  case MAP_CAST: return ir_cast(g, gy, x->dtype);
  case MAP_COPY: return gy;
  case MAP_ADD: return gy;
  case MAP_SUB: return k == 0 ? gy : un(g, MAP_NEG, gy);
  case MAP_MUL: return bin(g, MAP_MUL, gy, k == 0 ? y : x);
  case MAP_DIV: return k == 0 ? bin(g, MAP_DIV, gy, y) : un(g, MAP_NEG, bin(g, MAP_DIV, bin(g, MAP_MUL, gy, o), y));
  case MAP_POW:
    if (k == 0) return bin(g, MAP_MUL, gy, bin(g, MAP_MUL, y, bin(g, MAP_POW, x, bin(g, MAP_SUB, y, ONE(y)))));
    return bin(g, MAP_MUL, gy, bin(g, MAP_MUL, o, un(g, MAP_LOG, x)));
  case MAP_FMOD: case MAP_MOD: /* x - y*q with q = (x - out)/y held constant */
    return k == 0 ? gy : un(g, MAP_NEG, bin(g, MAP_MUL, gy, bin(g, MAP_DIV, bin(g, MAP_SUB, x, o), y)));
  case MAP_MAX: case MAP_MIN: { /* to the larger (smaller) operand; ties split */
    Node *mine = k == 0 ? x : y, *other = k == 0 ? y : x;
    Node *wins = bin(g, n->op == MAP_MAX ? MAP_GT : MAP_LT, mine, other), *tie = bin(g, MAP_EQ, mine, other);
    Node *zero = full_like(g, gy, 0.0);
    return ir_where(g, wins, gy, ir_where(g, tie, bin(g, MAP_MUL, gy, full_like(g, gy, 0.5)), zero));
  }
  case MAP_WHERE:
    if (k == 0) return NULL;
    return k == 1 ? ir_where(g, x, gy, full_like(g, gy, 0.0)) : ir_where(g, x, full_like(g, gy, 0.0), gy);
  default: return NULL; /* piecewise constant or not real-valued: no gradient */
  }
#undef ONE
}

/* SCATTER-max/min: the adjoint goes to the source elements equal to their output, split between ties. */
static Node *extremum_adjoint(Graph *g, Node *n, Node *gy) {
  Node *src = n->in[0];
  Node *at_out = ir_gather(g, n, src->rank, src->dims, n->idx, n->cond, sc_f(NAN));
  Node *hit = ir_cast(g, bin(g, MAP_EQ, src, at_out), src->dtype);
  Node *ties = ir_scatter(g, hit, RED_ADD, n->rank, n->dims, n->idx, n->cond);
  Node *share = bin(g, MAP_DIV, ir_gather(g, gy, src->rank, src->dims, n->idx, n->cond, sc_f(0)),
                    ir_gather(g, ties, src->rank, src->dims, n->idx, n->cond, sc_f(1)));
  return bin(g, MAP_MUL, hit, share);
}

/* The adjoint of GATHER n (gy over n's domain) as x = n->in[0] receives it: SCATTER-add of gy
 * through n's index map. When that map sends several domain points to one element (a
 * convolution's window: x[h + kh] for output h and tap kh), the scatter would collide, so it
 * is inverted into a gather instead, read per element of x:
 *     dx[y] = sum over the free variables kh of gy[h = y - kh, kh], where 0 <= y - kh < H
 * Each index dimension k of x, affine in the domain variables, determines one of them (the
 * one of largest extent among those with a unit or a dividing coefficient: h for h + kh,
 * with (y - rest) % a == 0 for a stride a); the variables no dimension determines are summed
 * over. The result is a projection SCATTER-add of a MAP-mul of GATHERs when gy is a product
 * (the data gradient of a convolution: a contraction, run as a GEMM), and reductions without
 * collisions otherwise. NULL when the map is not of this form. */
static Node *inverted_adjoint(Graph *g, Node *n, Node *gy) {
  Node *x = n->in[0];
  int R = n->rank, xr = x->rank;
  int det[IR_MAX_RANK], by[IR_MAX_RANK];
  for (int v = 0; v < R; v++) det[v] = -1;
  bool projection = true;
  for (int k = 0; k < xr; k++) { /* plain variables first: dim k determines its variable */
    by[k] = -1;
    if (n->idx[k]->kind != IX_VAR) continue;
    int v = (int)n->idx[k]->val;
    if (det[v] >= 0) return NULL; /* a diagonal: x[i, i] */
    det[v] = k;
    by[k] = v;
  }
  for (int k = 0; k < xr; k++) {
    Ix *e = n->idx[k];
    if (!e->affine) return NULL;
    if (e->kind == IX_VAR || e->kind == IX_CONST) continue;
    projection = false;
    int best = -1;
    for (int v = 0; v < R; v++) {
      int64_t a = e->coef[v];
      if (!a || det[v] >= 0) continue;
      if (best < 0 || n->dims[v] > n->dims[best]) best = v;
    }
    if (best < 0) return NULL;
    det[best] = k;
    by[k] = best;
  }
  if (projection) return NULL;
  /* the new domain: x's dims, then the free variables */
  int64_t dims[IR_MAX_RANK];
  Ix *map[IR_MAX_RANK];
  int nd = xr;
  for (int k = 0; k < xr; k++) dims[k] = x->dims[k];
  for (int v = 0; v < R; v++)
    if (det[v] < 0) {
      if (nd == IR_MAX_RANK) return NULL;
      map[v] = ix_var(g, nd);
      dims[nd++] = n->dims[v];
    }
  Ix *cond = NULL;
  for (int k = 0; k < xr; k++) {
    Ix *e = n->idx[k];
    if (e->kind == IX_CONST) { /* only x[c] receives anything */
      cond = ix_and(g, cond, ix_cmp(g, IX_EQ, ix_var(g, k), e));
      continue;
    }
    int v = by[k];
    Ix *rest = ix_const(g, e->c0);
    for (int u = 0; u < R; u++) {
      if (u == v || !e->coef[u]) continue;
      if (det[u] >= 0) return NULL; /* another dimension's variable: not solvable one dimension at a time */
      rest = ix_add(g, rest, ix_mulc(g, map[u], e->coef[u]));
    }
    int64_t a = e->coef[v];
    Ix *num = ix_sub(g, ix_var(g, k), rest);
    if (a < 0) { num = ix_mulc(g, num, -1); a = -a; }
    if (a != 1) cond = ix_and(g, cond, ix_cmp(g, IX_EQ, ix_mod(g, num, ix_const(g, a)), ix_const(g, 0)));
    map[v] = a == 1 ? num : ix_div(g, num, ix_const(g, a));
    cond = ix_and(g, cond, ix_and(g, ix_cmp(g, IX_LE, ix_const(g, 0), map[v]), ix_cmp(g, IX_LT, map[v], ix_const(g, n->dims[v]))));
  }
  if (n->cond) cond = ix_and(g, cond, ix_subst(g, n->cond, R, map));
  if (cond) cond = ix_simplify(g, cond, nd, dims);
  Node *src;
  if (gy->kind == NODE_MAP && gy->op == MAP_MUL) { /* gather each factor: a product of two gathers is a contraction */
    /* the condition only where a factor reads a solved variable (a weight read by the taps
     * alone stays in bounds, and the product is 0 when the other factor is 0) */
    bool solved[IR_MAX_RANK] = {false};
    for (int k = 0; k < xr; k++)
      if (by[k] >= 0 && n->idx[k]->kind != IX_VAR) solved[by[k]] = true;
    Node *f[2];
    for (int i = 0; i < 2; i++) {
      Node *h = gy->in[i];
      bool reads = h->kind != NODE_GATHER;
      for (int v = 0; v < R && !reads; v++) {
        if (!solved[v]) continue;
        reads = h->cond && ix_uses_var(h->cond, v);
        for (int d = 0; d < h->in[0]->rank && !reads; d++) reads = ix_uses_var(h->idx[d], v);
      }
      Ix *fmap[IR_MAX_RANK]; /* a factor that ignores the solved variables reads them at 0: in bounds */
      for (int v = 0; v < R; v++) fmap[v] = !reads && solved[v] ? ix_const(g, 0) : map[v];
      f[i] = ir_gather(g, h, nd, dims, fmap, reads ? cond : NULL, sc_f(0));
    }
    src = bin(g, MAP_MUL, f[0], f[1]);
  } else {
    src = ir_gather(g, gy, nd, dims, map, cond, sc_f(0));
  }
  Ix *out[IR_MAX_RANK];
  for (int k = 0; k < xr; k++) out[k] = ix_var(g, k);
  return ir_scatter(g, src, RED_ADD, xr, x->dims, out, NULL);
}

/* SCATTER-mul (ReduceProd): d out / d x_i is the product of the other elements of x_i's group,
 * in a zero-safe form: with z zeros in the group and p the product of its nonzero elements,
 * it is p / x_i when z = 0, p at the zero when z = 1, and 0 otherwise. */
static Node *product_adjoint(Graph *g, Node *n, Node *gy) {
  Node *x = n->in[0];
  Node *zero = ir_scalar_like(g, x, 0), *one = ir_scalar_like(g, x, 1);
  Node *is0 = bin(g, MAP_EQ, x, zero);
  Node *z = ir_scatter(g, ir_cast(g, is0, x->dtype), RED_ADD, n->rank, n->dims, n->idx, n->cond);
  Node *p = ir_scatter(g, ir_where(g, is0, one, x), RED_MUL, n->rank, n->dims, n->idx, n->cond);
  Node *zg = ir_gather(g, z, x->rank, x->dims, n->idx, n->cond, sc_f(2)); /* outside the cond: no gradient */
  Node *pg = ir_gather(g, p, x->rank, x->dims, n->idx, n->cond, sc_f(0));
  Node *gg = ir_gather(g, gy, x->rank, x->dims, n->idx, n->cond, sc_f(0));
  Node *others = ir_where(g, bin(g, MAP_EQ, zg, zero), bin(g, MAP_DIV, pg, ir_where(g, is0, one, x)),
                          ir_where(g, bin(g, MAP_AND, is0, bin(g, MAP_EQ, zg, one)), pg, zero));
  return bin(g, MAP_MUL, gg, others);
}

static void accumulate(Graph *g, Node **adj, Node *x, Node *d) {
  if (!d) return;
  adj[x->id] = adj[x->id] ? bin(g, MAP_ADD, adj[x->id], d) : d;
}

Node **pass_grad(Graph *g, Node *y, Node *seed, int nx, Node *const *xs) {
  int n0 = g->nnodes;
  bool *dep = ir_alloc_array(g, (size_t)n0 + 1, sizeof(bool));
  Node **adj = ir_alloc_array(g, (size_t)n0 + 1, sizeof(Node *));
  Node **order = ir_alloc_array(g, (size_t)n0 + 1, sizeof(Node *));
  int count = 0;
  for (Node *n = g->first; n && count < n0; n = n->next) order[count++] = n;
  for (int i = 0; i < nx; i++) dep[xs[i]->id] = true;
  /* forward: which nodes depend on some x (only float values carry gradients) */
  for (int i = 0; i < count; i++) {
    Node *n = order[i];
    for (int k = 0; k < n->nin && !dep[n->id]; k++) dep[n->id] = dep[n->in[k]->id] && dt_is_float(n->dtype);
  }
  if (!dt_is_float(y->dtype)) ir_fail(g, "gradient of a %s tensor (only float values have one)", dt_name(y->dtype));
  adj[y->id] = seed ? seed : full_like(g, y, 1.0);
  /* backward, in reverse creation order (operands are always older than their users) */
  for (int i = count - 1; i >= 0; i--) {
    Node *n = order[i];
    Node *gy = adj[n->id];
    if (!gy || !dep[n->id] || n->kind == NODE_LEAF) continue;
    switch (n->kind) {
    case NODE_MAP:
      for (int k = 0; k < n->nin; k++)
        if (dep[n->in[k]->id] && dt_is_float(n->in[k]->dtype)) accumulate(g, adj, n->in[k], map_adjoint(g, n, k, gy));
      break;
    case NODE_GATHER:
      if (dep[n->in[0]->id]) {
        Node *d = inverted_adjoint(g, n, gy);
        accumulate(g, adj, n->in[0], d ? d : ir_scatter(g, gy, RED_ADD, n->in[0]->rank, n->in[0]->dims, n->idx, n->cond));
      }
      break;
    case NODE_SCATTER:
      if (!dep[n->in[0]->id]) break;
      if (n->red == RED_ADD)
        accumulate(g, adj, n->in[0], ir_gather(g, gy, n->in[0]->rank, n->in[0]->dims, n->idx, n->cond, sc_f(0)));
      else if (n->red == RED_MAX || n->red == RED_MIN)
        accumulate(g, adj, n->in[0], extremum_adjoint(g, n, gy));
      else if (n->red == RED_MUL)
        accumulate(g, adj, n->in[0], product_adjoint(g, n, gy));
      else
        ir_fail(g, "no gradient through a SCATTER-%s (node %%%d, from %s)", reduce_names[n->red], n->id,
                n->origin ? n->origin : "?");
      break;
    case NODE_OPAQUE:
      if (!strcmp(n->opaque_name, IR_ALLREDUCE_MEAN)) { /* its adjoint is the mean of the adjoints (passes/train.c) */
        if (dep[n->in[0]->id]) accumulate(g, adj, n->in[0], ir_allreduce_mean(g, gy));
        break;
      }
      ir_fail(g, "no gradient through '%s' (node %%%d, from %s): it is an opaque kernel", n->opaque_name, n->id,
              n->origin ? n->origin : "?");
    default: break;
    }
  }
  Node **out = ir_alloc_array(g, (size_t)nx + 1, sizeof(Node *));
  for (int i = 0; i < nx; i++) out[i] = adj[xs[i]->id] ? adj[xs[i]->id] : full_like(g, xs[i], 0.0);
  return out;
}
