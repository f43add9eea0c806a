/* rows.c: a schedule for windowed reductions that are not GEMMs (depthwise
 * convs, pooling). The register schedule reduces each output element over
 * its window with a bounds check per tap; here the last output variable
 * moves innermost, under the window loops, accumulating a whole output row:
 *   for outer: acc[0..E) = id; for window: for v in [lo, hi): acc[v] op= x(v)
 * where [lo, hi) are the v for which the window's GATHER reads inside its
 * source, solved from its affine bounds, so the inner loop has no branch
 * and vectorizes. It applies when skipped taps contribute the reduction's
 * identity: a GATHER whose fill is that identity (pooling), or a product
 * with a zero-filled GATHER under add (conv). */
#include "passes.h"

/* Split a condition into `0 <= d` atoms (LT a b: b - a - 1 >= 0). Returns the count, -1 if it is not a conjunction of those. */
int pass_bound_atoms(Graph *g, Ix *cond, Ix **atoms, int max) {
  if (!cond) return 0;
  if (cond->kind == IX_AND) {
    int n = pass_bound_atoms(g, cond->a, atoms, max);
    if (n < 0) return -1;
    int m = pass_bound_atoms(g, cond->b, atoms + n, max - n);
    return m < 0 ? -1 : n + m;
  }
  if (max < 1) return -1;
  if (cond->kind == IX_LE) { atoms[0] = ix_sub(g, cond->b, cond->a); return 1; }
  if (cond->kind == IX_LT) { atoms[0] = ix_addc(g, ix_sub(g, cond->b, cond->a), -1); return 1; }
  return -1;
}

/* The GATHER's bounds over the domain: affine in v wherever v appears? */
bool pass_window_solvable(Graph *g, const Node *gather, int v, int ndom) {
  Ix *ids[IR_MAX_RANK], *atoms[4 * IR_MAX_RANK + 8];
  for (int k = 0; k < ndom; k++) ids[k] = ix_var(g, k);
  (void)ids;
  for (int d = 0; d < gather->in[0]->rank; d++)
    if (ix_uses_var(gather->idx[d], v) && !gather->idx[d]->affine) return false;
  int n = gather->cond ? pass_bound_atoms(g, gather->cond, atoms, (int)(sizeof atoms / sizeof atoms[0])) : 0;
  if (n < 0) return false;
  for (int j = 0; j < n; j++)
    if (ix_uses_var(atoms[j], v) && !atoms[j]->affine) return false;
  return true;
}

static bool is_window(const Node *x) {
  return x->kind == NODE_GATHER && !(x->flags & NF_MATERIALIZE) && x->nin == 1 && pass_is_buffer(x->in[0]);
}

/* Is n a window reduction the row schedule can run? Sets *var (the last output
 * dim's variable) and *window (the GATHER whose bounds become loop limits). */
bool pass_row_window(Graph *g, const Node *n, const int64_t *dom, int ndom, int *var, Node **window) {
  if (n->kind != NODE_SCATTER || n->cond || n->rank < 1 || !pass_scatter_is_projection(n)) return false;
  const Ix *last = n->idx[n->rank - 1];
  if (last->kind != IX_VAR) return false;
  int v = (int)last->val;
  if (dom[v] < 4 || dom[v] > 4096) return false;
  Node *src = n->in[0], *win = NULL;
  if (is_window(src) && sc_equal(src->fill, reduce_identity(n->red, n->dtype), n->dtype)) win = src;
  else if (!pass_is_buffer(src) && src->kind == NODE_MAP && src->op == MAP_MUL && n->red == RED_ADD) {
    for (int o = 0; o < 2 && !win; o++) {
      Node *a = src->in[o], *b = src->in[1 - o];
      if (!is_window(a) || a->fill.f != 0 || a->fill.i != 0) continue;
      /* the other factor must read in bounds with no condition */
      if (b->kind == NODE_GATHER && (b->cond || b->flags & NF_MATERIALIZE)) continue;
      if (b->kind == NODE_GATHER) {
        if (b->nin != 1 || !pass_is_buffer(b->in[0]) || pass_bounds_cond(g, b->idx, b->in[0], dom)) continue;
      } else if (!pass_is_buffer(b)) {
        continue;
      }
      win = a;
    }
  }
  if (!win || !pass_window_solvable(g, win, v, ndom)) return false;
  *var = v;
  *window = win;
  return true;
}

/* The output variable u before v (output dim rank-2 of n), if the window's bounds on it
 * solve separately from v's and the plane of both fits a small buffer. */
static int plane_var(Graph *g, const Node *n, const Node *win, int v, int u, const int64_t *dom, int ndom) {
  if (u < 0 || n->rank < 2) return -1;
  const Ix *e = n->idx[n->rank - 2];
  if (e->kind != IX_VAR || e->val != u || dom[u] * dom[v] > 8192) return -1;
  if (!pass_window_solvable(g, win, u, ndom)) return -1;
  Ix *atoms[4 * IR_MAX_RANK + 8];
  int na = win->cond ? pass_bound_atoms(g, win->cond, atoms, 2 * IR_MAX_RANK) : 0;
  if (na < 0) return -1;
  for (int d = 0; d < win->in[0]->rank; d++) atoms[na++] = win->idx[d];
  for (int a = 0; a < na; a++)
    if (ix_uses_var(atoms[a], u) && ix_uses_var(atoms[a], v)) return -1;
  return u;
}

bool pass_scatter_identity_like(const Node *n) {
  for (int j = 0; j < n->rank; j++) {
    const Ix *e = n->idx[j];
    if (!((e->kind == IX_VAR && e->val == j) || (e->kind == IX_CONST && e->val == 0 && n->dims[j] == 1))) return false;
  }
  return true;
}

/* A MAP root with one fused reduction of its own shape, output dim j from source variable j. */
static Node *fused_window(const Kernel *k) {
  Node *s = NULL;
  for (int f = 0; f < k->nfused; f++)
    if (k->fused[f]->kind == NODE_SCATTER) {
      if (s) return NULL;
      s = k->fused[f];
    }
  return s && ir_same_shape(s, k->root) && pass_scatter_identity_like(s) ? s : NULL;
}

void pass_rows(Plan *p) {
  Graph *g = p->g;
  for (int j = 0; j < p->nkernels; j++) {
    Kernel *k = &p->kernels[j];
    k->row_var = k->row_var2 = -1;
    k->row_gather = NULL;
    k->row_scatter = NULL;
    if (p->naive || p->gpu || k->gemm) continue;
    Node *n = k->root;
    int v;
    Node *win;
    if (n->kind == NODE_MAP) {
      /* the epilogue applies to each element as the plane is stored */
      Node *s = fused_window(k);
      const Node *src = s ? s->in[0] : NULL;
      if (!s || !pass_row_window(g, s, src->dims, src->rank, &v, &win)) continue;
      k->row_scatter = s;
      k->row_var = v;
      k->row_gather = win;
      k->row_var2 = plane_var(g, s, win, v, s->rank >= 2 && s->idx[s->rank - 2]->kind == IX_VAR ? (int)s->idx[s->rank - 2]->val : -1,
                              src->dims, src->rank);
      continue;
    }
    if (n->kind != NODE_SCATTER || !k->acc_reg || k->nouter < 1 || k->nloops <= k->nouter) continue;
    if (!pass_row_window(g, n, k->dom, k->ndom, &v, &win) || k->order[k->nouter - 1] != v) continue;
    k->row_var = v;
    k->row_gather = win;
    k->row_var2 = k->nouter >= 2 ? plane_var(g, n, win, v, k->order[k->nouter - 2], k->dom, k->ndom) : -1;
    int inner = k->row_var2 >= 0 ? 2 : 1;
    if (k->npar > k->nouter - inner) k->npar = k->nouter - inner;
  }
}
