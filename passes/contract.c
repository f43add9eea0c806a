/* contract.c: recognize contractions and give them a packed-GEMM schedule.
 *
 * A contraction is a SCATTER-add that is a projection (each output element
 * reduces a sub-domain) of a MAP-mul of two operands: conv, MatMul, Gemm and
 * Einsum all lower to one. It is recognized by that structure, not by op
 * name. The domain's variables are classified by which operand reads them:
 *   N: the trailing output dims, read by one operand only (B: GEMM columns)
 *   M: the output dims before those, read by the other operand only (A: rows)
 *   outer: the remaining leading output dims (batch, depthwise groups)
 *   K: the reduced variables
 * so C[m][n] = sum_k A(m,k) * B(k,n) with C a row-major block of the output.
 * A constant A (weights) is evaluated and packed into 12-row panels here, at
 * compile time; otherwise the generated code packs it per run. B is packed
 * per block by a generated provider that evaluates its operand's expression,
 * so padding, strides and dilation of a conv cost nothing extra to support.
 * When M is 1 (a Linear layer at batch 1) the roles swap: the rows come from
 * the other operand and the GEMM has one column. When B is constant and A is
 * not (x @ W with few rows), C^T = B^T A^T is computed instead, so the weights
 * are packed once at compile time, and stored back transposed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "runtime_stub/gemm.h"

/* Mark in used[] the domain variables the inlined cone of x reads, x indexed by idx. */
static bool cone_vars(Graph *g, const Node *x, Ix *const *idx, int nvars, bool *used) {
  if (pass_is_buffer(x)) {
    for (int d = 0; d < x->rank; d++)
      for (int v = 0; v < nvars; v++) used[v] |= ix_uses_var(idx[d], v);
    return true;
  }
  switch (x->kind) {
  case NODE_MAP:
    for (int k = 0; k < x->nin; k++)
      if (!cone_vars(g, x->in[k], idx, nvars, used)) return false;
    return true;
  case NODE_GATHER: {
    Ix *sidx[IR_MAX_RANK];
    for (int d = 0; d < x->in[0]->rank; d++) sidx[d] = ix_subst(g, x->idx[d], x->rank, idx);
    if (x->cond) {
      Ix *c = ix_subst(g, x->cond, x->rank, idx);
      for (int v = 0; v < nvars; v++) used[v] |= ix_uses_var(c, v);
    }
    return cone_vars(g, x->in[0], sidx, nvars, used);
  }
  default: return false; /* a fused reduction or an opaque kernel: not a plain operand */
  }
}

bool pass_operand_vars(Graph *g, const Node *x, int nvars, bool *used) {
  Ix *ids[IR_MAX_RANK];
  for (int v = 0; v < nvars; v++) ids[v] = ix_var(g, v);
  return cone_vars(g, x, ids, nvars, used);
}

/* The value of operand x at the domain point vars, if its cone is a constant read
 * directly or through one GATHER; false if it is not compile-time evaluable. */
static bool const_value(const Node *x, const int64_t *vars, double *out) {
  Ix *const *idx = NULL;
  const Node *src = x;
  int64_t sv[IR_MAX_RANK];
  if (x->kind == NODE_GATHER && !(x->flags & NF_MATERIALIZE)) {
    src = x->in[0];
    if (x->nin != 1) return false;
    idx = x->idx;
  }
  if (src->kind != NODE_LEAF || src->leaf != LEAF_CONST || src->dtype != DT_F32) return false;
  if (idx) {
    int64_t gv[IR_MAX_RANK];
    /* x's own variables are the domain's (operands of a MAP share its shape) */
    for (int d = 0; d < x->rank; d++) gv[d] = vars[d];
    if (x->cond && !ix_eval(x->cond, gv)) { *out = x->fill.f; return true; }
    for (int d = 0; d < src->rank; d++) {
      sv[d] = ix_eval(idx[d], gv);
      if (sv[d] < 0 || sv[d] >= src->dims[d]) { *out = x->fill.f; return true; }
    }
  } else {
    for (int d = 0; d < src->rank; d++) sv[d] = vars[d];
  }
  int64_t lin = 0;
  for (int d = 0; d < src->rank; d++) lin = lin * src->dims[d] + sv[d];
  *out = dt_load(src->data, DT_F32, lin).f;
  return true;
}

static int64_t extent_of(const Node *dom, const int *vars, int n) {
  int64_t e = 1;
  for (int j = 0; j < n; j++) e *= dom->dims[vars[j]];
  return e;
}

/* Set vars[] for flat index f delinearized over list (row-major, last fastest). */
static void delinearize(const Node *dom, const int *list, int n, int64_t f, int64_t *vars) {
  for (int j = n - 1; j >= 0; j--) {
    int64_t e = dom->dims[list[j]];
    vars[list[j]] = f % e;
    f /= e;
  }
}

/* Evaluate constant A (M x K) and pack it into 12-row panels as a new constant. */
static Node *pack_const_a(Plan *p, Contraction *c) {
  Graph *g = p->g;
  const Node *dom = c->scatter->in[0];
  if (c->M * c->K > ((int64_t)1 << 26)) return NULL;
  float *dense = malloc((size_t)(c->M * c->K) * sizeof(float));
  if (!dense) return NULL;
  int64_t vars[IR_MAX_RANK] = {0};
  for (int64_t m = 0; m < c->M; m++) {
    delinearize(dom, c->mvars, c->nm, m, vars);
    for (int64_t k = 0; k < c->K; k++) {
      delinearize(dom, c->kvars, c->nk, k, vars);
      double v;
      if (!const_value(c->aop, vars, &v)) { free(dense); return NULL; }
      dense[m * c->K + k] = (float)v;
    }
  }
  int64_t n = jtc_gemm_packed_a_floats(c->M, c->K);
  Node *packed = ir_const(g, DT_F32, 1, &n, NULL);
  jtc_gemm_pack_a(c->M, c->K, dense, c->K, packed->data);
  free(dense);
  packed->name = ir_strdup(g, "packed");
  packed->origin = c->scatter->origin;
  packed->origin_op = c->scatter->origin_op;
  return packed;
}

/* Classify the contraction's variables; false if it is not one jtc runs as a GEMM. */
static bool classify(Plan *p, Node *s, Contraction *c) {
  Graph *g = p->g;
  Node *src = s->in[0];
  if (s->kind != NODE_SCATTER || s->red != RED_ADD || s->dtype != DT_F32 || s->cond) return false;
  if (!pass_scatter_is_projection(s) || pass_is_buffer(src) || src->kind != NODE_MAP || src->op != MAP_MUL)
    return false;
  int r = src->rank;
  Ix *ids[IR_MAX_RANK];
  for (int v = 0; v < r; v++) ids[v] = ix_var(g, v);
  bool used[2][IR_MAX_RANK] = {{0}};
  for (int o = 0; o < 2; o++)
    if (!cone_vars(g, src->in[o], ids, r, used[o])) return false;
  /* output dims in order, by the domain variable they take */
  int dvars[IR_MAX_RANK], nd = 0, dpos[IR_MAX_RANK];
  bool is_out[IR_MAX_RANK] = {0};
  int64_t stride = 1, ostride[IR_MAX_RANK] = {0};
  for (int j = s->rank - 1; j >= 0; j--) {
    if (s->idx[j]->kind == IX_VAR) { ostride[s->idx[j]->val] = stride; is_out[s->idx[j]->val] = true; }
    stride *= s->dims[j];
  }
  for (int j = 0; j < s->rank; j++)
    if (s->idx[j]->kind == IX_VAR) { dpos[nd] = j; dvars[nd++] = (int)s->idx[j]->val; }
  (void)dpos;
  /* N: trailing dims read by exactly one operand, the same one */
  int owner = -1, nstart = nd;
  while (nstart > 0) {
    int v = dvars[nstart - 1], o = used[0][v] && !used[1][v] ? 0 : used[1][v] && !used[0][v] ? 1 : -1;
    if (o < 0 || (owner >= 0 && o != owner)) break;
    owner = o;
    nstart--;
  }
  if (owner < 0) return false;
  int mstart = nstart;
  while (mstart > 0) {
    int v = dvars[mstart - 1];
    if (!(used[1 - owner][v] && !used[owner][v])) break;
    mstart--;
  }
  c->scatter = s;
  c->bop = src->in[owner];
  c->aop = src->in[1 - owner];
  c->nouter = mstart;
  memcpy(c->outer, dvars, (size_t)mstart * sizeof(int));
  c->nm = nstart - mstart;
  memcpy(c->mvars, dvars + mstart, (size_t)c->nm * sizeof(int));
  c->nn = nd - nstart;
  memcpy(c->nvars, dvars + nstart, (size_t)c->nn * sizeof(int));
  c->nk = 0;
  for (int v = 0; v < r; v++)
    if (!is_out[v]) c->kvars[c->nk++] = v;
  memcpy(c->ostride, ostride, sizeof ostride);
  c->M = extent_of(src, c->mvars, c->nm);
  c->N = extent_of(src, c->nvars, c->nn);
  c->K = extent_of(src, c->kvars, c->nk);
  c->ldc = c->N;
  if (c->M == 1) {
    /* grouped per outer variable (depthwise conv): one GEMV per group packs more than it computes */
    for (int o = 0; o < c->nouter; o++)
      if (src->dims[c->outer[o]] > 1) return false;
    /* one row: take the rows from the other side instead, as one column (ldc 1) */
    Node *t = c->aop;
    c->aop = c->bop;
    c->bop = t;
    c->nm = c->nn;
    memcpy(c->mvars, c->nvars, sizeof c->nvars);
    c->nn = 0;
    c->M = c->N;
    c->N = 1;
    c->ldc = 1;
  }
  return c->K >= 1 && c->M >= 1;
}

/* Is operand x a constant (read directly or through one GATHER) that no outer variable indexes? */
static bool packable(Graph *g, const Contraction *c, const Node *x) {
  if (!(x->kind == NODE_LEAF || (x->kind == NODE_GATHER && pass_is_buffer(x->in[0]) && x->in[0]->kind == NODE_LEAF)))
    return false;
  const Node *src = x->kind == NODE_LEAF ? x : x->in[0];
  if (src->leaf != LEAF_CONST || src->dtype != DT_F32) return false;
  bool used[IR_MAX_RANK] = {0};
  pass_operand_vars(g, x, c->scatter->in[0]->rank, used);
  for (int o = 0; o < c->nouter; o++)
    if (used[c->outer[o]]) return false;
  return true;
}

/* C^T = B^T A^T: rows from B, columns from A. */
static void transpose_roles(Contraction *c) {
  Node *t = c->aop;
  c->aop = c->bop;
  c->bop = t;
  int vars[IR_MAX_RANK], n = c->nm;
  memcpy(vars, c->mvars, sizeof vars);
  memcpy(c->mvars, c->nvars, sizeof vars);
  memcpy(c->nvars, vars, sizeof vars);
  c->nm = c->nn;
  c->nn = n;
  int64_t m = c->M;
  c->M = c->N;
  c->N = m;
  c->ldc = c->N;
  c->transposed = !c->transposed;
}

bool pass_is_gemm(Plan *p, Node *scatter) {
  Contraction c = {0};
  return classify(p, scatter, &c);
}

/* A single-element constant, read directly or broadcast by a GATHER: its value. */
static bool scalar_const(const Node *x, double *v) {
  if (x->kind == NODE_GATHER && x->nin == 1 && !(x->flags & NF_MATERIALIZE)) x = x->in[0];
  if (x->kind != NODE_LEAF || x->leaf != LEAF_CONST || x->numel != 1 || x->dtype != DT_F32) return false;
  *v = dt_load(x->data, DT_F32, 0).f;
  return true;
}

/* A 1-D float constant read at the root variable whose scatter variable is `var`. */
static bool bias_for(const Node *x, const Node *s, int var, int64_t len) {
  if (x->kind != NODE_GATHER || x->nin != 1 || (x->flags & NF_MATERIALIZE) || x->cond) return false;
  const Node *b = x->in[0];
  if (b->kind != NODE_LEAF || b->leaf != LEAF_CONST || b->dtype != DT_F32 || b->rank != 1 || b->dims[0] != len) return false;
  const Ix *e = x->idx[0];
  return e->kind == IX_VAR && s->idx[e->val]->kind == IX_VAR && s->idx[e->val]->val == var;
}

static bool add_term(Contraction *c, Node *t, const Node *root, bool *seen_s) {
  if (t == c->scatter && !*seen_s) return *seen_s = true;
  if (t->kind == NODE_MAP && t->op == MAP_ADD && !(t->flags & NF_MATERIALIZE))
    return add_term(c, t->in[0], root, seen_s) && add_term(c, t->in[1], root, seen_s);
  if (!c->bias_row && c->nm == 1 && bias_for(t, c->scatter, c->mvars[0], c->M)) return c->bias_row = t, true;
  if (!c->bias_col && c->nn == 1 && bias_for(t, c->scatter, c->nvars[0], c->N)) return c->bias_col = t, true;
  if (!c->residual && pass_is_buffer(t) && t->kind != NODE_LEAF && t->dtype == DT_F32 && ir_same_shape(t, root))
    return c->residual = t, true;
  if (!c->residual && t->kind == NODE_LEAF && t->leaf == LEAF_INPUT && t->dtype == DT_F32 && ir_same_shape(t, root))
    return c->residual = t, true;
  return false;
}

/* Is the epilogue root clamp(S + bias_row + bias_col + residual)? Fills c->bias_*, residual, clamp. */
static bool match_epilogue(Contraction *c, Node *root) {
  if (c->transposed || root->dtype != DT_F32) return false;
  Node *e = root;
  double lo = -INFINITY, hi = INFINITY, v;
  bool clamp = false;
  for (;;) {
    if (e != root && (e->flags & NF_MATERIALIZE)) return false;
    if (e->kind == NODE_MAP && (e->op == MAP_MAX || e->op == MAP_MIN)) {
      int k = scalar_const(e->in[1], &v) ? 1 : scalar_const(e->in[0], &v) ? 0 : -1;
      if (k < 0) break;
      if (e->op == MAP_MAX) lo = v > lo ? v : lo;
      else hi = v < hi ? v : hi;
      clamp = true;
      e = e->in[1 - k];
      continue;
    }
    break;
  }
  if (lo > hi) return false;
  bool seen = false;
  c->bias_row = c->bias_col = c->residual = NULL;
  if (!add_term(c, e, root, &seen) || !seen) {
    c->bias_row = c->bias_col = c->residual = NULL;
    return false;
  }
  c->clamp = clamp;
  c->lo = lo;
  c->hi = hi;
  return true;
}

/* A bound on one thread's packed-B block for every ISA (NR <= 32, NC <= 512, KC = 256),
 * the single-strip case included (K whole while K x NR <= KC x NC: jtc_gemm_kc). */
static int64_t slice_bound(int64_t N, int64_t K) {
  int64_t kc = K < 256 ? K : 256, nr = (N + 31) / 32 * 32, nc = nr < 512 ? nr : 512;
  if (kc < 1) kc = 1;
  int64_t b = kc * nc;
  if (N <= 32 && K * 32 > b) b = K * 32 < 256 * 512 ? K * 32 : 256 * 512;
  return (b + 15) / 16 * 16;
}

void pass_contract(Plan *p) {
  Graph *g = p->g;
  p->gemm_scratch_floats = 0;
  p->gemm_ct_floats = 0;
  if (p->naive || p->embedded) return;
  int64_t a_runtime = 0, slice = 0;
  for (int j = 0; j < p->nkernels; j++) {
    Kernel *k = &p->kernels[j];
    Node *s = NULL;
    if (k->root->kind == NODE_SCATTER) s = k->root;
    else if (k->root->kind == NODE_MAP)
      for (int f = 0; f < k->nfused && !s; f++)
        if (k->fused[f]->kind == NODE_SCATTER) s = k->fused[f];
    if (!s) continue;
    /* an epilogue kernel must read the contraction element for element: one fused SCATTER of its shape */
    if (s != k->root) {
      int nscatter = 0;
      for (int f = 0; f < k->nfused; f++) nscatter += k->fused[f]->kind == NODE_SCATTER;
      if (nscatter != 1 || !ir_same_shape(s, k->root)) continue;
    }
    Contraction c = {0};
    if (!classify(p, s, &c)) continue;
    if (!p->gpu && packable(g, &c, c.aop)) c.apacked = pack_const_a(p, &c);
    if (!p->gpu && !c.apacked && c.M <= 64 && c.N > 1 && packable(g, &c, c.bop)) {
      transpose_roles(&c);
      c.apacked = pack_const_a(p, &c);
      if (!c.apacked) transpose_roles(&c);
    }
    if (c.transposed && c.M * c.N > p->gemm_ct_floats) p->gemm_ct_floats = c.M * c.N;
    if (s != k->root) c.epi = match_epilogue(&c, k->root);
    if (!c.apacked) {
      int64_t af = jtc_gemm_packed_a_floats(c.M, c.K);
      if (af > a_runtime) a_runtime = af;
    }
    int64_t sl = slice_bound(c.N, c.K);
    if (sl > slice) slice = sl;
    k->gemm = ir_alloc(g, sizeof c);
    *k->gemm = c;
    if (c.apacked) {
      /* the packed copy replaces the original weights in the node list (they stay if other kernels read them) */
      Node **nodes = ir_alloc_array(g, (size_t)p->nnodes + 1, sizeof(Node *));
      memcpy(nodes, p->nodes, (size_t)p->nnodes * sizeof(Node *));
      nodes[p->nnodes++] = c.apacked;
      p->nodes = nodes;
    }
  }
  p->gemm_scratch_floats = slice;
  p->gemm_apack_floats = a_runtime;
}
