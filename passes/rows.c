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
#include <string.h>

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

/* Local buffer budget of the tap schedule, elements (the plain schedule's plane holds up to 8192). */
#define TAPS_BUF 8192
/* Taps per loop over the plane when each has a factor of its own (a conv's weight): more
 * do not stay in vector registers, and reloading them costs more than another pass. */
#define TAPS_PER_PASS 9

bool pass_row_taps(const Node *s, const Node *win, int v, int u, RowTaps *t) {
  const Node *src = s->in[0], *x = win->in[0];
  const int64_t *dom = src->dims;
  int r = s->rank, ndom = src->rank;
  memset(t, 0, sizeof *t);
  if (win->cond || s->cond || !pass_scatter_identity_like(s)) return false;
  /* the reduced variables: the taps */
  int64_t ntaps = 1;
  for (int k = r; k < ndom; k++) {
    if (dom[k] <= 1) continue;
    t->red[t->nred++] = k;
    ntaps *= dom[k];
    if (ntaps > ROW_TAPS_MAX) return false;
  }
  if (ntaps < 1) return false;
  t->ntaps = (int)ntaps;
  /* the plane's row variable only if its source dim is a window dim (else it stays an outer loop) */
  if (u >= 0) {
    bool win_dim = false;
    for (int d = 0; d < x->rank; d++)
      if (ix_uses_var(win->idx[d], u))
        for (int j = 0; j < t->nred; j++) win_dim |= ix_uses_var(win->idx[d], t->red[j]);
    if (!win_dim) u = -1;
  }
  /* the other factor of a product is hoisted per tap: it must not vary along the plane */
  if (src != win) {
    const Node *b = src->in[0] == win ? src->in[1] : src->in[0];
    if (b->kind != NODE_GATHER) return false;
    for (int d = 0; d < b->in[0]->rank; d++)
      if (ix_uses_var(b->idx[d], v) || (u >= 0 && ix_uses_var(b->idx[d], u))) return false;
  }
  t->hdim = t->wdim = -1;
  for (int d = 0; d < x->rank; d++) {
    const Ix *e = win->idx[d];
    bool uses_red = false;
    for (int j = 0; j < t->nred; j++) uses_red |= ix_uses_var(e, t->red[j]);
    bool uses_v = ix_uses_var(e, v), uses_u = u >= 0 && ix_uses_var(e, u);
    if (!uses_v && !uses_u) {
      if (uses_red) return false; /* a tap that moves along another dim (3-D, grouped) */
      int64_t lo, hi;
      ix_range(e, dom, &lo, &hi);
      if (lo < 0 || hi >= x->dims[d]) return false;
      continue;
    }
    if (!e->affine || (uses_u && uses_v)) return false;
    int var = uses_v ? v : u;
    for (int k = 0; k < ndom; k++) {
      bool ok = k == var;
      for (int j = 0; j < t->nred; j++) ok |= k == t->red[j];
      if (e->coef[k] && !ok) return false;
    }
    if (e->coef[var] < 1 || e->coef[var] > 4) return false;
    if (uses_v) {
      if (t->wdim >= 0) return false;
      t->wdim = d, t->aw = e->coef[v];
    } else {
      if (t->hdim >= 0) return false;
      t->hdim = d, t->ah = e->coef[u];
    }
  }
  if (t->wdim < 0 || (u >= 0 && t->hdim < 0)) return false;
  if (t->hdim < 0) t->ah = 1;
  t->rows = u >= 0 ? dom[u] : 1;
  t->cols = dom[v];
  /* each tap's source row and column at output (0, 0) */
  int64_t oh[ROW_TAPS_MAX], ow[ROW_TAPS_MAX];
  const Ix *eh = t->hdim >= 0 ? win->idx[t->hdim] : NULL, *ew = win->idx[t->wdim];
  int64_t hmax = INT64_MIN, wmax = INT64_MIN;
  t->hmin = t->wmin = INT64_MAX;
  for (int tap = 0; tap < t->ntaps; tap++) {
    int64_t rem = tap, h = eh ? eh->c0 : 0, w = ew->c0;
    for (int j = t->nred - 1; j >= 0; j--) {
      int64_t val = rem % dom[t->red[j]];
      rem /= dom[t->red[j]];
      if (eh) h += eh->coef[t->red[j]] * val;
      w += ew->coef[t->red[j]] * val;
    }
    oh[tap] = h, ow[tap] = w;
    if (h < t->hmin) t->hmin = h;
    if (h > hmax) hmax = h;
    if (w < t->wmin) t->wmin = w;
    if (w > wmax) wmax = w;
  }
  int64_t span_w = t->aw * (t->cols - 1) + wmax - t->wmin + 1, exth = (hmax - t->hmin) / t->ah, slack = 0;
  t->wq = (span_w + t->aw - 1) / t->aw;
  for (int tap = 0; tap < t->ntaps; tap++)
    if ((ow[tap] - t->wmin) / t->aw > slack) slack = (ow[tap] - t->wmin) / t->aw;
  int npass = src != win ? (t->ntaps + TAPS_PER_PASS - 1) / TAPS_PER_PASS : 1;
  t->per_pass = (t->ntaps + npass - 1) / npass;
  /* bands of output rows, as few as keep the buffer (and row[]) in the budget */
  for (int64_t nbands = 1;; nbands++) {
    t->band = (t->rows + nbands - 1) / nbands;
    t->hq = t->band + exth;
    t->buf = t->ah * t->aw * t->hq * t->wq + slack;
    if (t->buf + t->band * t->wq <= TAPS_BUF) break;
    if (t->band == 1) return false;
  }
  for (int tap = 0; tap < t->ntaps; tap++) {
    int64_t h = oh[tap] - t->hmin, w = ow[tap] - t->wmin;
    t->off[tap] = ((h % t->ah) * t->aw + w % t->aw) * t->hq * t->wq + h / t->ah * t->wq + w / t->aw;
  }
  return true;
}

static RowTaps *row_taps(Graph *g, const Node *s, const Node *win, int v, int *u) {
  RowTaps t;
  int cand = s->rank >= 2 && s->idx[s->rank - 2]->kind == IX_VAR ? (int)s->idx[s->rank - 2]->val : -1;
  if (cand == v || !pass_row_taps(s, win, v, cand, &t)) return NULL;
  RowTaps *r = ir_alloc(g, sizeof *r);
  *r = t;
  *u = t.hdim >= 0 ? cand : -1;
  return r;
}

void pass_rows(Plan *p) {
  Graph *g = p->g;
  for (int j = 0; j < p->nkernels; j++) {
    Kernel *k = &p->kernels[j];
    k->row_var = k->row_var2 = -1;
    k->row_gather = NULL;
    k->row_scatter = NULL;
    k->taps = NULL;
    if (p->naive || k->gemm) continue;
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
      if ((k->taps = row_taps(g, s, win, v, &k->row_var2))) continue;
      k->row_var2 = plane_var(g, s, win, v, s->rank >= 2 && s->idx[s->rank - 2]->kind == IX_VAR ? (int)s->idx[s->rank - 2]->val : -1,
                              src->dims, src->rank);
      continue;
    }
    if (n->kind != NODE_SCATTER || !k->acc_reg || k->nouter < 1 || k->nloops <= k->nouter) continue;
    if (!pass_row_window(g, n, k->dom, k->ndom, &v, &win) || k->order[k->nouter - 1] != v) continue;
    k->row_var = v;
    k->row_gather = win;
    if ((k->taps = row_taps(g, n, win, v, &k->row_var2))) continue;
    k->row_var2 = k->nouter >= 2 ? plane_var(g, n, win, v, k->order[k->nouter - 2], k->dom, k->ndom) : -1;
    int inner = k->row_var2 >= 0 ? 2 : 1;
    if (!p->gpu && k->npar > k->nouter - inner) k->npar = k->nouter - inner;
  }
  /* the CUDA target runs the tap schedule only (pass_launch's GPU_TAPS), its buffer in shared memory */
  for (int j = 0; p->gpu && j < p->nkernels; j++) {
    Kernel *k = &p->kernels[j];
    Dtype t = k->row_gather ? k->row_gather->dtype : DT_UNDEF;
    int64_t elem = t == DT_F16 || t == DT_BF16 ? 4 : (int64_t)dt_size(t); /* computed in float */
    if (k->taps && k->taps->buf * elem <= GPU_TAPS_SHARED_BYTES) continue;
    k->row_var = k->row_var2 = -1;
    k->row_gather = k->row_scatter = NULL;
    k->taps = NULL;
  }
}
