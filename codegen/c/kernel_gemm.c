/* kernel_gemm.c: prints a contraction that passes/contract.c runs as a packed GEMM
 * (runtime_stub/gemm.h): the kernel's call, and the helpers it passes the GEMM,
 * which pack A and B panels (through the run, window and segment providers where
 * the operand's index allows) and apply the epilogue to each stored tile. The
 * element-wise part of the kernel comes from kernel.c. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgen_internal.h"
#include "ir/ops.h"
#include "passes/passes.h"

/* ---- contractions run as packed GEMMs (passes/contract.c decided) ---- */

/* "int64_t iV = f / after % extent;" for each variable of list that used[] marks. */
static void print_delinearize(CgCtx *c, const Node *dom, const int *list, int n, const char *f, const bool *used) {
  int64_t after = 1;
  for (int j = n - 1; j >= 0; j--) {
    int v = list[j];
    int64_t e = dom->dims[v];
    if (used[v] && e > 1) {
      if (j == 0 && after == 1) cg_line(c, "const int64_t i%d = %s;", v, f);
      else if (j == 0) cg_line(c, "const int64_t i%d = %s / %" PRId64 ";", v, f, after);
      else if (after == 1) cg_line(c, "const int64_t i%d = %s %% %" PRId64 ";", v, f, e);
      else cg_line(c, "const int64_t i%d = %s / %" PRId64 " %% %" PRId64 ";", v, f, after, e);
    }
    after *= e;
  }
}

/* Print fn's body (a loop over one operand) to memory; returns it. Buffers read are marked. */
typedef void (*BodyFn)(CgCtx *c, const Contraction *g, const bool *used);

static char *capture(CgCtx *c, BodyFn fn, const Contraction *gm, const bool *used, int indent) {
  FILE *out = c->f;
  c->f = ir_memstream_open(c->g);
  c->indent = indent;
  fn(c, gm, used);
  char *text = ir_memstream_close(c->g, c->f, NULL);
  c->f = out;
  return text;
}

static void ids_of(CgCtx *c, Ix **ids, int n) {
  for (int v = 0; v < n; v++) ids[v] = ix_var(c->g, v);
}

/* A provider's loop over the block's rows kk, k = k0 + kk delinearized into the K
 * variables B reads (left open, indented). */
static void open_k_loop(CgCtx *c, const Contraction *gm, const bool *used) {
  cg_line(c, "for (int64_t kk = 0; kk < kc; kk++) {");
  c->indent++;
  cg_line(c, "const int64_t k = k0 + kk;");
  cg_line(c, "(void)k;");
  print_delinearize(c, gm->scatter->in[0], gm->kvars, gm->nk, "k", used);
}

/* When B is a float32 GATHER straight from a float32 buffer (a conv's input, a matrix):
 * its source offset over the domain, affine with coefficient 1 or 2 on the last
 * column variable, so a run is one jtc_gemm_copy / jtc_gemm_copy2; else NULL. */
static Ix *b_run_offset(CgCtx *c, const Contraction *gm, int v) {
  const Node *b = gm->bop;
  if (b->kind != NODE_GATHER || b->dtype != DT_F32 || b->in[0]->dtype != DT_F32) return NULL;
  Ix *off = cg_linearize(c, b->in[0], b->idx);
  return off->affine && (off->coef[v] == 1 || off->coef[v] == 2) ? off : NULL;
}

/* Is B a window the runs below can bound (a GATHER of a buffer, affine in v)? */
static bool b_is_window(CgCtx *c, const Contraction *gm, int v) {
  const Node *b = gm->bop;
  return b->kind == NODE_GATHER && !(b->flags & NF_MATERIALIZE) && b->nin == 1 && pass_is_buffer(b->in[0]) &&
         pass_window_solvable(c->g, b, v, gm->scatter->in[0]->rank);
}

/* The head of one run of B's columns starting at column n: b = its position along the
 * run (n % e, e the run's length: the last column variable's extent times the merged
 * ones after column variable `inner`), the other column variables B reads, seg = its
 * length (at most `left`), and [lo, hi) = the part inside the window's bounds when
 * `window` (B's bounds solved into limits; zeros on either side), else all of it. */
static void run_limits(CgCtx *c, const Contraction *gm, const bool *used, int64_t e, int inner, const char *left,
                       bool window) {
  const Node *dom = gm->scatter->in[0];
  cg_line(c, "const int64_t b = n %% %" PRId64 ";", e);
  int64_t after = e;
  for (int j = inner - 1; j >= 0; j--) {
    int w = gm->nvars[j];
    int64_t ew = dom->dims[w];
    if (used[w] && ew > 1) cg_line(c, "const int64_t i%d = n / %" PRId64 " %% %" PRId64 ";", w, after, ew);
    after *= ew;
  }
  cg_line(c, "const int64_t seg = %" PRId64 " - b < %s ? %" PRId64 " - b : %s;", e, left, e, left);
  cg_line(c, "int64_t lo = b, hi = b + seg;");
  if (!window) return;
  Ix *rest = cg_emit_limits(c, gm->bop, gm->nvars[gm->nn - 1], "lo", "hi");
  if (rest) cg_line(c, "if (!%s) hi = lo;", cg_ix(c, ix_simplify(c->g, rest, c->ndom, c->dom)));
  cg_line(c, "if (lo > b + seg) lo = b + seg;");
  cg_line(c, "if (hi < lo) hi = lo;");
}

/* A stride-1 window whose output rows are as wide as its source rows (a 3x3 pad-1 conv):
 * over a strip's columns n the source offset is one contiguous run (n + a constant of
 * k), so each strip row is jtc_gemm_window_row, a masked copy whose mask is each lane's
 * row and column against the source's bounds (lanes' rows and columns computed once per
 * strip). False unless B is such a GATHER: two column variables, row u and column v,
 * each read at (u or v) + a function of k in its own source dim, no other condition. */
static bool window_provider(CgCtx *c, const Contraction *gm, const bool *used) {
  Graph *g = c->g;
  const Node *dom = gm->scatter->in[0], *b = gm->bop;
  if (gm->nn != 2) return false;
  int u = gm->nvars[0], v = gm->nvars[1];
  int64_t eu = dom->dims[u], ev = dom->dims[v];
  if (eu < 2 || ev < 2 || b->cond || !b_is_window(c, gm, v)) return false;
  Ix *off = b_run_offset(c, gm, v);
  if (!off || off->coef[v] != 1 || off->coef[u] != ev) return false;
  const Node *x = b->in[0];
  int drow = -1, dcol = -1;
  for (int d = 0; d < x->rank; d++) {
    const Ix *e = b->idx[d];
    bool uu = ix_uses_var(e, u), uv = ix_uses_var(e, v);
    if (uu && uv) return false;
    if (uu || uv) {
      if (!e->affine || e->coef[uu ? u : v] != 1 || (uu ? drow : dcol) >= 0) return false;
      if (uu) drow = d;
      else dcol = d;
      continue;
    }
    int64_t lo, hi; /* the other dims read in bounds */
    ix_range(e, c->dom, &lo, &hi);
    if (lo < 0 || hi >= x->dims[d]) return false;
  }
  if (drow < 0 || dcol < 0 || x->dims[dcol] != ev) return false;
  Ix *zero_uv[IR_MAX_RANK];
  for (int k = 0; k < c->ndom; k++) zero_uv[k] = ix_var(g, k);
  zero_uv[u] = zero_uv[v] = ix_const(g, 0);
  Ix *r0 = ix_simplify(g, ix_subst(g, b->idx[drow], c->ndom, zero_uv), c->ndom, c->dom);
  Ix *c0 = ix_simplify(g, ix_subst(g, b->idx[dcol], c->ndom, zero_uv), c->ndom, c->dom);
  Ix *base = ix_simplify(g, ix_subst(g, off, c->ndom, zero_uv), c->ndom, c->dom);
  c->read[x->id] = true;
  cg_line(c, "for (int64_t s = 0; s * JTC_GEMM_NR < nc; s++) {");
  c->indent++;
  cg_line(c, "int32_t row[JTC_GEMM_NR], col[JTC_GEMM_NR]; /* each lane's output row and column */");
  cg_line(c, "for (int64_t j = 0; j < JTC_GEMM_NR; j++) {");
  cg_line(c, "  const int64_t n = n0 + s * JTC_GEMM_NR + j;");
  cg_line(c, "  row[j] = s * JTC_GEMM_NR + j < nc ? (int32_t)(n / %" PRId64 " %% %" PRId64 ") : -1000000000;", ev, eu);
  cg_line(c, "  col[j] = (int32_t)(n %% %" PRId64 ");", ev);
  cg_line(c, "}");
  open_k_loop(c, gm, used);
  cg_line(c, "jtc_gemm_window_row(panel + (s * kc + kk) * JTC_GEMM_NR, %s, %s + n0 + s * JTC_GEMM_NR, row, col, %s, %s, %" PRId64 ", %" PRId64 ");",
          cg_bufname(c, x), cg_ix_sum(c, base), cg_ix_sum(c, r0), cg_ix_sum(c, c0), x->dims[drow], x->dims[dcol]);
  c->indent--;
  cg_line(c, "}");
  c->indent--;
  cg_line(c, "}");
  return true;
}

/* Runs shorter than this (7-, 14- and 28-wide images) are cheaper strip by strip
 * (segment_provider): each costs its limits either way, and one strip's row is one store. */
#define JTC_RUN_MIN 32

/* A conv's im2col block one image row at a time: for each k, each run of columns
 * with the other column variables fixed is zeros, a copy (jtc_gemm_copy/copy2 of a
 * contiguous or stride-2 source run), zeros, written across the strips by
 * jtc_gemm_put. Column variables that continue the run in memory (a pointwise conv:
 * i2 * W + i3) join it. Needs b_run_offset; false otherwise. */
static bool run_provider(CgCtx *c, const Contraction *gm, const bool *used) {
  Graph *g = c->g;
  const Node *dom = gm->scatter->in[0], *b = gm->bop;
  if (gm->nn < 1) return false;
  int v = gm->nvars[gm->nn - 1];
  int64_t e = dom->dims[v];
  if (e < 2 || !b_is_window(c, gm, v)) return false;
  Ix *off = b_run_offset(c, gm, v);
  if (!off) return false;
  /* outer column variables merged into the run: B in bounds everywhere and each one's
   * step in memory the run's length so far */
  int inner = gm->nn - 1;
  if (off->coef[v] == 1 && !b->cond && !pass_bounds_cond(c->g, b->idx, b->in[0], c->dom))
    while (inner > 0 && off->coef[gm->nvars[inner - 1]] == e) e *= dom->dims[gm->nvars[--inner]];
  if (e < JTC_RUN_MIN) return false;
  open_k_loop(c, gm, used);
  cg_line(c, "float *restrict row = panel + kk * JTC_GEMM_NR;");
  cg_line(c, "for (int64_t n = n0; n < n0 + nc;) {");
  c->indent++;
  run_limits(c, gm, used, e, inner, "n0 + nc - n", true);
  /* the run's first address: merged variables at 0, v at lo (the offset is linear) */
  Ix *at[IR_MAX_RANK];
  for (int k = 0; k < c->ndom; k++) at[k] = ix_var(g, k);
  for (int j = inner; j < gm->nn - 1; j++) at[gm->nvars[j]] = ix_const(g, 0);
  Ix *first = ix_simplify(g, ix_subst(g, off, c->ndom, at), c->ndom, c->dom);
  c->read[b->in[0]->id] = true;
  cg_line(c, "jtc_gemm_put(row, kc, n - n0, NULL, 1, lo - b);");
  cg_line(c, "if (hi > lo) {");
  cg_line(c, "  const int64_t i%d = lo;", v);
  cg_line(c, "  jtc_gemm_put(row, kc, n - n0 + lo - b, %s + %s, %" PRId64 ", hi - lo);", cg_bufname(c, b->in[0]),
          cg_ix_sum(c, first), off->coef[v]);
  cg_line(c, "}");
  cg_line(c, "jtc_gemm_put(row, kc, n - n0 + hi - b, NULL, 1, b + seg - hi);");
  cg_line(c, "n += seg;");
  c->indent--;
  cg_line(c, "}");
  cg_line(c, "jtc_gemm_put(row, kc, nc, NULL, 1, (nc + JTC_GEMM_NR - 1) / JTC_GEMM_NR * JTC_GEMM_NR - nc); /* the last strip's padding */");
  c->indent--;
  cg_line(c, "}");
  return true;
}

/* The strip as runs along the last column variable: within a run the other variables are
 * fixed, so B's bounds solve into limits and the run is zeros, a copy (b_run_offset) or
 * a branch-free loop over B's expression, zeros. False if B's reads are not affine in
 * that variable. */
static bool segment_provider(CgCtx *c, const Contraction *gm, const bool *used, Ix **ids) {
  const Node *dom = gm->scatter->in[0], *b = gm->bop;
  if (gm->nn < 1) return false;
  int v = gm->nvars[gm->nn - 1];
  int64_t e = dom->dims[v];
  bool window = b_is_window(c, gm, v);
  if (e < 2 || !(pass_is_buffer(b) || window)) return false;
  cg_line(c, "const int64_t jn = nc - s * JTC_GEMM_NR < JTC_GEMM_NR ? nc - s * JTC_GEMM_NR : JTC_GEMM_NR;");
  cg_line(c, "int64_t n = n0 + s * JTC_GEMM_NR, j = 0;");
  cg_line(c, "while (j < jn) {");
  c->indent++;
  run_limits(c, gm, used, e, gm->nn - 1, "jn - j", window);
  if (window) cg_line(c, "for (int64_t t = b; t < lo; t++) dst[j + t - b] = 0.0f;");
  Ix *off = window ? b_run_offset(c, gm, v) : NULL;
  if (off) { /* one jtc_gemm_copy / copy2 */
    c->read[b->in[0]->id] = true;
    cg_line(c, "if (hi > lo) {");
    cg_line(c, "  const int64_t i%d = lo;", v);
    cg_line(c, "  jtc_gemm_copy%s(dst + j + lo - b, %s + %s, hi - lo);", off->coef[v] == 2 ? "2" : "",
            cg_bufname(c, b->in[0]), cg_ix_sum(c, off));
    cg_line(c, "}");
  } else {
    c->nocheck = window ? b : NULL;
    char *val = cg_expr(c, (Node *)b, ids, false);
    c->nocheck = NULL;
    cg_line(c, "for (int64_t i%d = lo; i%d < hi; i%d++) dst[j + i%d - b] = %s;", v, v, v, v, val);
  }
  if (window) cg_line(c, "for (int64_t t = hi; t < b + seg; t++) dst[j + t - b] = 0.0f;");
  cg_line(c, "j += seg;");
  cg_line(c, "n += seg;");
  c->indent--;
  cg_line(c, "}");
  cg_line(c, "for (int64_t jj = jn; jj < JTC_GEMM_NR; jj++) dst[jj] = 0.0f;");
  return true;
}

/* B provider: panel[s*kc*NR + k*NR + j] = B(k0+k, n0+s*NR+j), zero past nc. */
static void provider_body(CgCtx *c, const Contraction *gm, const bool *used) {
  const Node *dom = gm->scatter->in[0];
  Ix *ids[IR_MAX_RANK];
  ids_of(c, ids, dom->rank);
  if (window_provider(c, gm, used) || run_provider(c, gm, used)) return;
  cg_line(c, "for (int64_t s = 0; s * JTC_GEMM_NR < nc; s++) {");
  c->indent++;
  open_k_loop(c, gm, used);
  cg_line(c, "float *restrict dst = panel + (s * kc + kk) * JTC_GEMM_NR;");
  if (segment_provider(c, gm, used, ids)) {
    c->indent--;
    cg_line(c, "}");
    c->indent--;
    cg_line(c, "}");
    return;
  }
  /* the column's variables: delinearized once per strip, then stepped like an odometer
   * (from the outermost one B reads; carries past it are not needed) */
  int first = gm->nn;
  for (int j = 0; j < gm->nn; j++)
    if (used[gm->nvars[j]] && dom->dims[gm->nvars[j]] > 1) { first = j; break; }
  int64_t after = 1;
  for (int j = gm->nn - 1; j >= first; j--) {
    int v = gm->nvars[j];
    int64_t e = dom->dims[v];
    if (e > 1) cg_line(c, "int64_t i%d = (n0 + s * JTC_GEMM_NR) / %" PRId64 " %% %" PRId64 ";", v, after, e);
    after *= e;
  }
  cg_line(c, "const int64_t jn = nc - s * JTC_GEMM_NR < JTC_GEMM_NR ? nc - s * JTC_GEMM_NR : JTC_GEMM_NR;");
  cg_line(c, "for (int64_t j = 0; j < jn; j++) {");
  c->indent++;
  char *v = cg_expr(c, gm->bop, ids, false);
  cg_line(c, "dst[j] = %s;", v);
  int depth = 0;
  for (int j = gm->nn - 1; j >= first; j--) {
    int v2 = gm->nvars[j];
    int64_t e = dom->dims[v2];
    if (e == 1) continue;
    if (j == first) cg_line(c, "i%d++;", v2);
    else {
      cg_line(c, "if (++i%d == %" PRId64 ") {", v2, e);
      c->indent++;
      cg_line(c, "i%d = 0;", v2);
      depth++;
    }
  }
  while (depth--) {
    c->indent--;
    cg_line(c, "}");
  }
  c->indent--;
  cg_line(c, "}");
  cg_line(c, "for (int64_t j = jn; j < JTC_GEMM_NR; j++) dst[j] = 0.0f;");
  c->indent--;
  cg_line(c, "}");
  c->indent--;
  cg_line(c, "}");
}

/* A packer (A not constant): ap[p*12*K + k*12 + r] = A(12p+r, k), zero past M. */
static void packer_body(CgCtx *c, const Contraction *gm, const bool *used) {
  const Node *dom = gm->scatter->in[0];
  Ix *ids[IR_MAX_RANK];
  ids_of(c, ids, dom->rank);
  int64_t mp = (gm->M + 11) / 12 * 12;
  cg_line(c, "for (int64_t m = 0; m < %" PRId64 "; m++) {", mp);
  c->indent++;
  cg_line(c, "float *restrict dst = ap + m / 12 * %" PRId64 " + m %% 12;", 12 * gm->K);
  cg_line(c, "if (m >= %" PRId64 ") {", gm->M);
  cg_line(c, "  for (int64_t k = 0; k < %" PRId64 "; k++) dst[k * 12] = 0.0f;", gm->K);
  cg_line(c, "  continue;");
  cg_line(c, "}");
  print_delinearize(c, dom, gm->mvars, gm->nm, "m", used);
  cg_line(c, "for (int64_t k = 0; k < %" PRId64 "; k++) {", gm->K);
  c->indent++;
  print_delinearize(c, dom, gm->kvars, gm->nk, "k", used);
  char *v = cg_expr(c, gm->aop, ids, false);
  cg_line(c, "dst[k * 12] = %s;", v);
  c->indent--;
  cg_line(c, "}");
  c->indent--;
  cg_line(c, "}");
}


/* The root's element-wise expression (the epilogue jtc_gemm_epi cannot express: SiLU,
 * Clip as selects, ...) over one finished m x n tile of C at row i, column j, in place:
 * rows are variable i<R> over M, columns i<R+1> over N (R: the domain's rank), the
 * contraction read back from the root's buffer. NULL when an index would divide the
 * column variable (the root then runs as its own loop after the GEMM). Marks c->read. */
static char *post_body(CgCtx *c, const Contraction *gm, bool *used) {
  Graph *g = c->g;
  const Node *dom = gm->scatter->in[0];
  Node *root = c->k->root;
  int R = dom->rank;
  if (R + 2 > IR_MAX_RANK || gm->M <= 0 || gm->N <= 0) return NULL;
  c->ndom = R + 2;
  memcpy(c->dom, dom->dims, (size_t)R * sizeof(int64_t));
  c->dom[R] = gm->M;
  c->dom[R + 1] = gm->N;
  Ix *ids[IR_MAX_RANK];
  for (int v = 0; v < R; v++) ids[v] = ix_var(g, v);
  for (int side = 0; side < 2; side++) {
    const int *list = side ? gm->nvars : gm->mvars;
    int n = side ? gm->nn : gm->nm;
    int64_t after = 1;
    for (int j = n - 1; j >= 0; j--) {
      int v = list[j];
      Ix *q = ix_div(g, ix_var(g, R + side), ix_const(g, after));
      ids[v] = j == 0 ? q : ix_mod(g, q, ix_const(g, dom->dims[v]));
      after *= dom->dims[v];
    }
  }
  Ix *ridx[IR_MAX_RANK];
  for (int d = 0; d < root->rank; d++) {
    const Ix *e = gm->scatter->idx[d];
    ridx[d] = ix_simplify(g, e->kind == IX_VAR ? ids[e->val] : ix_const(g, 0), c->ndom, c->dom);
  }
  str_init(&c->pre, g);
  c->pre_depth = 0;
  c->nmemo = 0;
  c->gemm_result = gm->scatter;
  char *st = cg_elementwise_statement(c, root, ridx, R + 1);
  c->gemm_result = NULL;
  if (!st || c->pre.len) return NULL;
  for (int o = 0; o < gm->nouter; o++) used[gm->outer[o]] = cg_text_uses_var(st, gm->outer[o]);
  return str_fmt(g, "  for (int64_t i%d = i; i%d < i + m; i%d++)\n    for (int64_t i%d = j; i%d < j + n; i%d++) %s\n", R, R, R,
                 R + 1, R + 1, R + 1, st);
}

/* Declarations that open a helper: its buffers from the context, then the outer variables it uses. */
static void helper_prologue(CgCtx *c, Str *b, const Contraction *gm, const bool *used, const bool *reads) {
  for (int i = 0; i < c->g->nnodes; i++)
    if (reads[i] && c->names[i] && pass_buf_kind(c->by_id[i]) != BUF_CONST)
      str_cat(b, "  const %s *restrict %s = ctx->%s;\n", dt_ctype(c->by_id[i]->dtype), c->names[i], c->names[i]);
  for (int o = 0; o < gm->nouter; o++)
    if (used[gm->outer[o]] && gm->scatter->in[0]->dims[gm->outer[o]] > 1)
      str_cat(b, "  const int64_t i%d = ctx->i%d;\n", gm->outer[o], gm->outer[o]);
}

char *cg_gemm_helpers(CgCtx *c, const char *kname) {
  const Contraction *gm = c->k->gemm;
  Graph *g = c->g;
  const Node *dom = gm->scatter->in[0];
  bool bused[IR_MAX_RANK] = {0}, aused[IR_MAX_RANK] = {0};
  pass_operand_vars(g, gm->bop, dom->rank, bused);
  pass_operand_vars(g, gm->aop, dom->rank, aused);
  c->ndom = dom->rank;
  memcpy(c->dom, dom->dims, sizeof c->dom);
  /* the provider, then (A at run time) the packer, each printed once to learn what it reads */
  bool *all = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  memset(c->read, 0, (size_t)g->nnodes * sizeof(bool));
  char *pbody = capture(c, provider_body, gm, bused, 1);
  bool *breads = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  memcpy(breads, c->read, (size_t)g->nnodes * sizeof(bool));
  memset(c->read, 0, (size_t)g->nnodes * sizeof(bool));
  char *abody = gm->apacked ? NULL : capture(c, packer_body, gm, aused, 1);
  for (int i = 0; i < g->nnodes; i++) all[i] = breads[i] || c->read[i];
  bool *areads = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  memcpy(areads, c->read, (size_t)g->nnodes * sizeof(bool));
  /* the root's epilogue, applied per tile, when jtc_gemm_epi's terms do not express it */
  Node *root = c->k->root;
  bool *preads = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool)), pused[IR_MAX_RANK] = {0};
  char *post = NULL;
  if (root != gm->scatter && !gm->epi && !gm->transposed && root->dtype == DT_F32) {
    memset(c->read, 0, (size_t)g->nnodes * sizeof(bool));
    post = post_body(c, gm, pused);
    memcpy(preads, c->read, (size_t)g->nnodes * sizeof(bool));
    preads[root->id] = false;
    c->ndom = dom->rank;
    memcpy(c->dom, dom->dims, sizeof c->dom);
  }
  c->gemm_post = post != NULL;
  if (post)
    for (int i = 0; i < g->nnodes; i++) all[i] |= preads[i];
  Str b;
  str_init(&b, g);
  str_cat(&b, "\ntypedef struct {\n");
  for (int i = 0; i < g->nnodes; i++)
    if (all[i] && c->names[i] && pass_buf_kind(c->by_id[i]) != BUF_CONST)
      str_cat(&b, "  const %s *%s;\n", dt_ctype(c->by_id[i]->dtype), c->names[i]);
  if (post) str_cat(&b, "  float *out; /* the root, rewritten per tile by %s_post */\n", kname);
  for (int o = 0; o < gm->nouter; o++) str_cat(&b, "  int64_t i%d;\n", gm->outer[o]);
  str_cat(&b, "  int unused;\n} %s_ctx;\n", kname);
  str_cat(&b, "\n/* B of the GEMM, a kc x nc block in JTC_GEMM_NR-wide strips (runtime_stub/gemm.h) */\n");
  str_cat(&b, "static void %s_pack_b(const void *ctx_, float *panel, int64_t k0, int64_t kc, int64_t n0, int64_t nc) {\n", kname);
  str_cat(&b, "  const %s_ctx *ctx = ctx_;\n  (void)ctx;\n  (void)n0;\n", kname);
  helper_prologue(c, &b, gm, bused, breads);
  str_cat(&b, "%s}\n", pbody);
  if (abody) {
    str_cat(&b, "\n/* A of the GEMM, packed into 12-row panels */\n");
    str_cat(&b, "static void %s_pack_a(const %s_ctx *ctx, float *restrict ap) {\n  (void)ctx;\n", kname, kname);
    helper_prologue(c, &b, gm, aused, areads);
    str_cat(&b, "%s}\n", abody);
  }
  if (post) {
    str_cat(&b, "\n/* the root's epilogue on one finished tile of C (jtc_gemm_epi.post) */\n");
    str_cat(&b, "static void %s_post(const void *ctx_, float *c, int64_t ldc, int64_t i, int64_t j, int64_t m, int64_t n) {\n", kname);
    str_cat(&b, "  const %s_ctx *ctx = ctx_;\n  (void)c;\n  (void)ldc;\n", kname);
    str_cat(&b, "  float *restrict %s = ctx->out;\n", cg_bufname(c, root));
    helper_prologue(c, &b, gm, pused, preads);
    str_cat(&b, "%s}\n", post);
  }
  for (int i = 0; i < g->nnodes; i++) c->read[i] = all[i];
  c->helper_reads = all;
  return b.s;
}

/* Outer loops around jtc_gemm, then (epilogue kernels) the element-wise loop reading its result. */
void cg_body_gemm(CgCtx *c, const char *kname) {
  const Contraction *gm = c->k->gemm;
  Graph *g = c->g;
  Node *root = c->k->root;
  const Node *dom = gm->scatter->in[0];
  for (int i = 0; i < g->nnodes; i++) c->read[i] = c->helper_reads[i];
  Str init;
  str_init(&init, g);
  for (int i = 0; i < g->nnodes; i++)
    if (c->read[i] && c->names[i] && pass_buf_kind(c->by_id[i]) != BUF_CONST)
      str_cat(&init, "%s.%s = %s", init.len ? ", " : "", c->names[i], c->names[i]);
  if (c->gemm_post) str_cat(&init, "%s.out = %s", init.len ? ", " : "", cg_bufname(c, root));
  cg_line(c, "%s_ctx ctx = {%s};", kname, init.len ? init.s : "0");
  const char *scratch = str_fmt(g, "%s_gemm_scratch", c->prefix);
  const char *a = gm->apacked ? cg_bufname(c, gm->apacked) : scratch;
  if (gm->apacked) c->read[gm->apacked->id] = true;
  int opened = 0;
  Ix *base = ix_const(g, 0);
  for (int o = 0; o < gm->nouter; o++) {
    int v = gm->outer[o];
    if (dom->dims[v] == 1) continue;
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", v, v, dom->dims[v], v);
    c->indent++;
    opened++;
    cg_line(c, "ctx.i%d = i%d;", v, v);
    base = ix_add(g, base, ix_mulc(g, ix_var(g, v), gm->ostride[v]));
  }
  if (!gm->apacked) cg_line(c, "%s_pack_a(&ctx, %s);", kname, scratch);
  /* scratch: [A packed per run][C^T][packed B blocks, one per thread] */
  int64_t ct = c->p->gemm_apack_floats, boff = ct + c->p->gemm_ct_floats;
  char *bs = cg_ix_sum(c, base);
  const char *cdst = gm->transposed ? str_fmt(g, "%s + %" PRId64, scratch, ct) : str_fmt(g, "%s + %s", cg_bufname(c, root), bs);
  const char *epi = "NULL";
  if (c->gemm_post) {
    cg_line(c, "const jtc_gemm_epi epi = {.post = %s_post, .post_ctx = &ctx}; /* the root's epilogue, per tile */", kname);
    epi = "&epi";
  } else if (gm->epi) {
    Str e;
    str_init(&e, g);
    if (gm->bias_row) {
      str_cat(&e, ".bias_row = %s, ", cg_bufname(c, gm->bias_row->in[0]));
      c->read[gm->bias_row->in[0]->id] = true;
    }
    if (gm->bias_col) {
      str_cat(&e, ".bias_col = %s, ", cg_bufname(c, gm->bias_col->in[0]));
      c->read[gm->bias_col->in[0]->id] = true;
    }
    if (gm->residual) {
      str_cat(&e, ".residual = %s + %s, .ldr = %" PRId64 ", ", cg_bufname(c, gm->residual), bs, gm->ldc);
      c->read[gm->residual->id] = true;
    }
    if (gm->clamp)
      str_cat(&e, ".clamp = 1, .lo = %s, .hi = %s, ", isinf(gm->lo) ? "-INFINITY" : cg_literal(g, sc_f(gm->lo), DT_F32),
              isinf(gm->hi) ? "INFINITY" : cg_literal(g, sc_f(gm->hi), DT_F32));
    if (e.len >= 2) e.s[e.len - 2] = 0;
    cg_line(c, "const jtc_gemm_epi epi = {%s}; /* the root's epilogue, in the GEMM's stores */", e.s);
    epi = "&epi";
  }
  cg_line(c, "jtc_gemm(%" PRId64 ", %" PRId64 ", %" PRId64 ", %s, %s_pack_b, &ctx, %s, %" PRId64 ", 0, %s, %s + %" PRId64 ",",
          gm->M, gm->N, gm->K, a, kname, cdst, gm->ldc, epi, scratch, boff);
  cg_line(c, "         sizeof %s - %" PRId64 " * sizeof(float));", scratch, boff);
  if (gm->transposed) {
    /* C^T (M x N) back into the output, whose rows are its columns */
    cg_line(c, "for (int64_t j = 0; j < %" PRId64 "; j++)", gm->N);
    cg_line(c, "  for (int64_t i = 0; i < %" PRId64 "; i++) %s[%s + j * %" PRId64 " + i] = %s[%" PRId64 " + i * %" PRId64 " + j];", gm->M,
            cg_bufname(c, root), bs, gm->M, scratch, ct, gm->N);
  }
  while (opened--) {
    c->indent--;
    cg_line(c, "}");
  }
  if (root == gm->scatter || gm->epi || c->gemm_post) return;
  /* epilogue: the root's element-wise expression, reading the contraction from the root's buffer */
  c->gemm_result = gm->scatter;
  c->ndom = c->k->ndom;
  memcpy(c->dom, c->k->dom, sizeof c->dom);
  cg_body_elementwise(c, root);
}
