/* kernel.c: prints one scheduled kernel as a C function.
 *
 * A kernel's loop variables are i0..i<n-1> of its domain. Inlined producers
 * become one scalar expression: a MAP is its ops.def template applied to its
 * operands' expressions; a GATHER substitutes its index map into the
 * current index (composition is substitution), guarding reads that the
 * interval analysis cannot prove in bounds; buffers are loads at the
 * linearized, simplified index. Index arithmetic is int64_t; floor division
 * is printed as C division where both operands are provably non-negative.
 * Contractions run as packed GEMMs are printed by kernel_gemm.c. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cgen_internal.h"
#include "ir/ops.h"
#include "passes/passes.h"

/* ---- literals ---- */

char *cg_literal(Graph *g, Scalar v, Dtype t) {
  if (t == DT_STRING) return str_fmt(g, "\"%s\"", cg_c_escape(g, v.i ? (const char *)(intptr_t)v.i : ""));
  if (dt_is_float(t)) {
    bool dbl = t == DT_F64;
    if (isnan(v.f)) return str_fmt(g, dbl ? "(double)NAN" : "NAN");
    if (isinf(v.f)) return str_fmt(g, "%s%sINFINITY", v.f < 0 ? "-" : "", dbl ? "(double)" : "");
    char buf[64];
    snprintf(buf, sizeof buf, dbl ? "%.17g" : "%.9g", dbl ? v.f : (double)(float)v.f);
    bool plain = !strpbrk(buf, ".e");
    return str_fmt(g, "%s%s%s%s", v.f < 0 ? "(" : "", buf, plain ? ".0" : "", dbl ? (v.f < 0 ? ")" : "") : (v.f < 0 ? "f)" : "f"));
  }
  if (t == DT_BOOL) return str_fmt(g, "%d", v.i != 0);
  if (t == DT_U64) return str_fmt(g, "UINT64_C(%" PRIu64 ")", (uint64_t)v.i);
  if (v.i == INT64_MIN) return str_fmt(g, "INT64_MIN");
  if (v.i < INT32_MIN || v.i > INT32_MAX) return str_fmt(g, "INT64_C(%" PRId64 ")", v.i);
  return str_fmt(g, v.i < 0 ? "(%" PRId64 ")" : "%" PRId64, v.i);
}

/* ---- index expressions ---- */

static bool nonneg(CgCtx *c, const Ix *e) {
  int64_t lo, hi;
  ix_range(e, c->dom, &lo, &hi);
  return lo >= 0;
}

static char *cix_load(CgCtx *c, const Ix *e) {
  Node *t = ir_resolve(e->tensor);
  c->read[t->id] = true;
  return str_fmt(c->g, "((int64_t)%s[%s])", cg_bufname(c, t), cg_ix_sum(c, cg_linearize(c, t, e->args)));
}

/* A sum as "a + b - 3", no outer parentheses (C's + and - associate left). */
char *cg_ix_sum(CgCtx *c, const Ix *e) {
  if (e->kind != IX_ADD) return cg_ix(c, e);
  if (e->b->kind == IX_CONST && e->b->val < 0) return str_fmt(c->g, "%s - %" PRId64, cg_ix_sum(c, e->a), -e->b->val);
  return str_fmt(c->g, "%s + %s", cg_ix_sum(c, e->a), cg_ix(c, e->b));
}

char *cg_ix(CgCtx *c, const Ix *e) {
  Graph *g = c->g;
  switch (e->kind) {
  case IX_CONST: return cg_literal(g, sc_i(e->val), DT_I64);
  case IX_VAR: return str_fmt(g, "i%" PRId64, e->val);
  case IX_ADD: return str_fmt(g, "(%s)", cg_ix_sum(c, e));
  case IX_MUL: return str_fmt(g, "%s * %s", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_DIV:
    if (nonneg(c, e->a) && e->b->kind == IX_CONST && e->b->val > 0) return str_fmt(g, "(%s / %s)", cg_ix(c, e->a), cg_ix(c, e->b));
    return str_fmt(g, "jtc_floordiv(%s, %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_MOD:
    if (nonneg(c, e->a) && e->b->kind == IX_CONST && e->b->val > 0) return str_fmt(g, "(%s %% %s)", cg_ix(c, e->a), cg_ix(c, e->b));
    return str_fmt(g, "jtc_floormod(%s, %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_MIN: return str_fmt(g, "jtc_min64(%s, %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_MAX: return str_fmt(g, "jtc_max64(%s, %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_LT: return str_fmt(g, "(%s < %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_LE: return str_fmt(g, "(%s <= %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_EQ: return str_fmt(g, "(%s == %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_NE: return str_fmt(g, "(%s != %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_AND: return str_fmt(g, "(%s && %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_OR: return str_fmt(g, "(%s || %s)", cg_ix(c, e->a), cg_ix(c, e->b));
  case IX_SELECT: return str_fmt(g, "(%s ? %s : %s)", cg_ix(c, e->a), cg_ix(c, e->b), cg_ix(c, e->c));
  case IX_LOAD: return cix_load(c, e);
  default: jtc_unreachable();
  }
}

/* Linear offset of idx into a row-major tensor of n's shape, simplified. */
Ix *cg_linearize(CgCtx *c, const Node *n, Ix *const *idx) {
  Ix *lin = ix_const(c->g, 0);
  int64_t stride = 1;
  for (int k = n->rank - 1; k >= 0; k--) {
    lin = ix_add(c->g, lin, ix_mulc(c->g, idx[k], stride));
    stride *= n->dims[k];
  }
  return ix_simplify(c->g, lin, c->ndom, c->dom);
}

/* Condition that idx stays inside n's shape, or NULL when provable. */
static Ix *bounds(CgCtx *c, const Node *n, Ix *const *idx) { return pass_bounds_cond(c->g, idx, n, c->dom); }

/* ---- value expressions ---- */

const char *cg_load_conv(Dtype t) {
  return t == DT_F16 ? "jtc_h2f" : t == DT_BF16 ? "jtc_b2f" : "";
}

const char *cg_store_conv(Dtype t) {
  return t == DT_F16 ? "jtc_f2h" : t == DT_BF16 ? "jtc_f2b" : "";
}

/* fn(x), or x itself when fn is "" */
char *cg_wrap(Graph *g, const char *fn, const char *x) {
  return *fn ? str_fmt(g, "%s(%s)", fn, x) : str_fmt(g, "%s", x);
}

static char *apply_template(Graph *g, const char *tmpl, Dtype t, char **ops) {
  Str b;
  str_init(&b, g);
  for (const char *s = tmpl; *s; s++) {
    if (s[0] == '$' && s[1] >= '0' && s[1] <= '2') { str_cat(&b, "%s", ops[s[1] - '0']); s++; }
    else if (s[0] == '$' && s[1] == 'f') { str_cat(&b, "%s", t == DT_F64 ? "" : "f"); s++; }
    else str_cat(&b, "%c", *s);
  }
  return b.s;
}

static char *cast_expr(CgCtx *c, char *x, Dtype from, Dtype to) {
  Graph *g = c->g;
  if (to == DT_BOOL) return str_fmt(g, "(%s != 0)", x);
  const char *ct = dt_ctype_compute(to);
  if (dt_is_float(from) && dt_is_int(to)) {
    /* out-of-range float -> int conversion is undefined in C; saturate through a helper */
    return str_fmt(g, "((%s)jtc_f2i%s(%s))", ct, dt_is_signed(to) ? "" : "u", x);
  }
  return str_fmt(g, "((%s)(%s))", ct, x);
}

static void pre_line(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pre_line(CgCtx *c, const char *fmt, ...) {
  va_list ap;
  char buf[4096], *line = buf;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof buf) {
    line = ir_alloc(c->g, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(line, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  str_cat(&c->pre, "%*s%s\n", 2 * c->pre_depth, "", line);
}

/* Before the innermost loop of a float sum over `extent` elements: let OpenMP builds
 * vectorize it (`omp simd` may reassociate the sum, as ONNX Runtime's vectorized
 * reductions do; plain C keeps the sequential order). Short loops stay scalar (and
 * collapsing them costs a division per element). pre: print into c->pre. */
static void omp_simd_sum(CgCtx *c, ReduceOp red, Dtype t, const char *acc, int64_t extent, bool pre) {
  if (c->p->embedded || red != RED_ADD || (t != DT_F32 && t != DT_F64) || extent < 16) return;
  char *p = str_fmt(c->g, "#pragma omp simd reduction(+:%s)", acc);
  if (pre) {
    str_cat(&c->pre, "#ifdef _OPENMP\n%s\n#endif\n", p);
    return;
  }
  cg_line(c, "#ifdef _OPENMP");
  cg_line(c, "%s", p);
  cg_line(c, "#endif");
}

/* Divisions and remainders in a printed expression (a flattened index that did not fold back) */
static int count_divisions(const char *e) {
  int n = 0;
  for (; *e; e++) n += *e == '/' || *e == '%';
  return n;
}

/* Remember reduction n at idx (its accumulator acc) for a diamond's second read; returns acc. */
static char *memo_reduction(CgCtx *c, Node *n, Ix *const *idx, const char *acc) {
  if (c->pre_depth == 0 && c->nmemo < 8) {
    c->memo[c->nmemo].n = n;
    memcpy(c->memo[c->nmemo].idx, idx, (size_t)n->rank * sizeof *idx);
    c->memo[c->nmemo++].acc = acc;
  }
  return (char *)acc;
}

/* A sum's reduced loops vars[0..n) (outermost first) as one loop variable f = c->ndom:
 * var_j becomes (f / the extents after it) % its extent in src's index idx. Kept (f added
 * to c->dom, src's flattened expression returned) when the index simplifier folds that
 * back, (f / W) * W + f % W into f (a global average pool over H x W), which shows as no
 * more divisions or remainders than in `plain`, src's expression over the loops; else NULL. */
static char *flat_sum(CgCtx *c, Node *src, Ix *const *idx, const int *vars, int n, const char *plain) {
  Graph *g = c->g;
  if (c->ndom >= IR_MAX_RANK) return NULL;
  int f = c->ndom;
  Ix *at[IR_MAX_RANK];
  for (int k = 0; k < f; k++) at[k] = ix_var(g, k);
  int64_t after = 1;
  for (int j = n - 1; j >= 0; j--) {
    at[vars[j]] = ix_mod(g, ix_div(g, ix_var(g, f), ix_const(g, after)), ix_const(g, c->dom[vars[j]]));
    after *= c->dom[vars[j]];
  }
  c->dom[c->ndom++] = after;
  Ix *fidx[IR_MAX_RANK];
  for (int d = 0; d < src->rank; d++) fidx[d] = ix_simplify(g, ix_subst(g, idx[d], f, at), c->ndom, c->dom);
  char *flat = cg_expr(c, src, fidx, false);
  if (count_divisions(flat) <= count_divisions(plain)) return flat;
  c->ndom--;
  return NULL;
}

/* A SCATTER fused into its consumer (fuse.c chose it: a projection read
 * element for element): reduce its free variables in a register right
 * before the statement that needs it. Its kept variables are the consumer's
 * index; the reduced ones get fresh loop variables after the kernel's. */
static char *inner_reduction(CgCtx *c, Node *n, Ix *const *idx) {
  Graph *g = c->g;
  /* a diamond (fuse.c) reads the same reduction twice in one statement: reduce once */
  for (int m = 0; m < c->nmemo; m++)
    if (c->memo[m].n == n && !memcmp(c->memo[m].idx, idx, (size_t)n->rank * sizeof *idx)) return (char *)c->memo[m].acc;
  Node *src = n->in[0];
  Ix *sidx[IR_MAX_RANK] = {0};
  for (int j = 0; j < n->rank; j++)
    if (n->idx[j]->kind == IX_VAR) sidx[n->idx[j]->val] = idx[j];
  int first = c->ndom, nred = 0, reduced[IR_MAX_RANK];
  for (int v = 0; v < src->rank; v++) {
    if (sidx[v]) continue;
    if (c->ndom == IR_MAX_RANK) ir_fail(g, "kernel needs more than %d loop variables", IR_MAX_RANK);
    c->dom[c->ndom] = src->dims[v];
    reduced[c->ndom - first] = c->ndom;
    nred += src->dims[v] > 1;
    sidx[v] = ix_var(g, c->ndom++);
  }
  const char *acc = str_fmt(g, "acc%d", c->nacc++);
  pre_line(c, "%s %s = %s;", dt_ctype_compute(n->dtype), acc, cg_literal(g, reduce_identity(n->red, n->dtype), n->dtype));
  char *val = cg_expr(c, src, sidx, false);
  char *flat = nred >= 2 && !n->cond ? flat_sum(c, src, sidx, reduced, c->ndom - first, val) : NULL;
  if (flat) {
    int f = c->ndom - 1;
    omp_simd_sum(c, n->red, n->dtype, acc, c->dom[f], true);
    pre_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", f, f, c->dom[f], f);
    pre_line(c, "  %s = %s;", acc, cg_combine(c, n->red, n->dtype, acc, flat));
    return memo_reduction(c, n, idx, acc);
  }
  int opened = 0, last = -1;
  for (int v = first; v < c->ndom; v++)
    if (c->dom[v] > 1) last = v;
  for (int v = first; v < c->ndom; v++) {
    if (c->dom[v] == 1) continue;
    if (v == last && !n->cond) omp_simd_sum(c, n->red, n->dtype, acc, c->dom[v], true);
    pre_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", v, v, c->dom[v], v);
    c->pre_depth++;
    opened++;
  }
  Ix *cond = n->cond ? ix_simplify(g, ix_subst(g, n->cond, src->rank, sidx), c->ndom, c->dom) : NULL;
  if (cond) pre_line(c, "if (%s) %s = %s;", cg_ix(c, cond), acc, cg_combine(c, n->red, n->dtype, acc, val));
  else pre_line(c, "%s = %s;", acc, cg_combine(c, n->red, n->dtype, acc, val));
  while (opened--) {
    c->pre_depth--;
    pre_line(c, "}");
  }
  return memo_reduction(c, n, idx, acc);
}

char *cg_expr(CgCtx *c, Node *n, Ix *const *idx, bool is_root) {
  Graph *g = c->g;
  if (n == c->row_result) return str_fmt(g, "%s", c->row_at);
  for (int j = 0; j < 2; j++)
    if (n == c->named[j]) return str_fmt(g, "%s", c->named_as[j]);
  if (n == c->gemm_result) { /* the GEMM already stored it in the root's buffer, same shape */
    c->read[c->k->root->id] = true;
    return str_fmt(g, "%s[%s]", cg_bufname(c, c->k->root), cg_ix_sum(c, cg_linearize(c, c->k->root, idx)));
  }
  if (!is_root && pass_is_scalar_const(n)) return cg_literal(g, dt_load(n->data, n->dtype, 0), n->dtype);
  if (!is_root && pass_is_buffer(n)) {
    Ix *lin = cg_linearize(c, n, idx);
    c->read[n->id] = true;
    return cg_wrap(g, cg_load_conv(n->dtype), str_fmt(g, "%s[%s]", cg_bufname(c, n), cg_ix_sum(c, lin)));
  }
  switch (n->kind) {
  case NODE_MAP: {
    char *ops[3] = {0};
    for (int k = 0; k < n->nin; k++) ops[k] = cg_expr(c, n->in[k], idx, false);
    if (n->op == MAP_CAST) return cast_expr(c, ops[0], n->in[0]->dtype, n->dtype);
    Dtype t = n->in[n->op == MAP_WHERE ? 1 : 0]->dtype;
    const MapOpInfo *info = &map_ops[n->op];
    char *e = apply_template(g, dt_is_float(t) ? info->c_float : info->c_int, t, ops);
    /* integer results narrower than int are promoted by C; store conversions wrap them back */
    return e;
  }
  case NODE_GATHER: {
    Node *src = n->in[0];
    Ix *sidx[IR_MAX_RANK];
    for (int k = 0; k < src->rank; k++) sidx[k] = ix_simplify(g, ix_subst(g, n->idx[k], n->rank, idx), c->ndom, c->dom);
    Ix *cond = n->cond ? ix_simplify(g, ix_subst(g, n->cond, n->rank, idx), c->ndom, c->dom) : NULL;
    if (cond && cond->kind == IX_CONST && !cond->val) return cg_literal(g, n->fill, n->dtype);
    if (cond && cond->kind == IX_CONST) cond = NULL;
    cond = ix_and(g, cond, bounds(c, src, sidx));
    char *v = cg_expr(c, src, sidx, false);
    if (n == c->nocheck) return v; /* the row loop's limits keep it in bounds */
    if (!cond) return v;
    return str_fmt(g, "(%s ? %s : %s)", cg_ix(c, cond), v, cg_literal(g, n->fill, n->dtype));
  }
  case NODE_SCATTER: return inner_reduction(c, n, idx);
  default:
    ir_fail(g, "%s node %%%d cannot be inlined into a kernel", node_kind_names[n->kind], n->id);
  }
}

/* ---- statements ---- */

void cg_line(CgCtx *c, const char *fmt, ...) {
  va_list ap;
  for (int i = 0; i < c->indent; i++) fputs("  ", c->f);
  va_start(ap, fmt);
  vfprintf(c->f, fmt, ap);
  va_end(ap);
  fputc('\n', c->f);
}

static void omp_for(CgCtx *c, int collapse) {
  if (c->p->embedded) return;
  cg_line(c, "#ifdef _OPENMP");
  if (collapse > 1) cg_line(c, "#pragma omp parallel for collapse(%d)", collapse);
  else cg_line(c, "#pragma omp parallel for");
  cg_line(c, "#endif");
}

/* Loops order[from..to) of the kernel; the first npar (from 0) run in parallel, at most to of them. */
static void open_loops(CgCtx *c, int from, int to) {
  const Kernel *k = c->k;
  for (int j = from; j < to; j++) {
    int v = k->order[j];
    if (j == 0 && k->npar > 0) omp_for(c, k->npar < to ? k->npar : to);
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", v, v, k->dom[v], v);
    c->indent++;
  }
}

static void close_loops(CgCtx *c, int n) {
  for (int j = 0; j < n; j++) {
    c->indent--;
    cg_line(c, "}");
  }
}

char *cg_combine(CgCtx *c, ReduceOp op, Dtype t, const char *acc, const char *v) {
  Graph *g = c->g;
  bool f = dt_is_float(t);
  const char *sfx = t == DT_F64 ? "" : "f";
  switch (op) {
  case RED_ADD: return str_fmt(g, "%s + %s", acc, v);
  case RED_MUL: return str_fmt(g, "%s * %s", acc, v);
  case RED_MAX: return f ? str_fmt(g, "jtc_fmax%s(%s, %s)", sfx, acc, v) : str_fmt(g, "(%s > %s ? %s : %s)", v, acc, v, acc);
  case RED_MIN: return f ? str_fmt(g, "jtc_fmin%s(%s, %s)", sfx, acc, v) : str_fmt(g, "(%s < %s ? %s : %s)", v, acc, v, acc);
  case RED_AND: return str_fmt(g, "%s & %s", acc, v);
  case RED_OR: return str_fmt(g, "%s | %s", acc, v);
  case RED_XOR: return str_fmt(g, "%s ^ %s", acc, v);
  case RED_ASSIGN: return str_fmt(g, "%s", v);
  default: jtc_unreachable();
  }
}

static void vars(CgCtx *c, Ix **idx, int n) {
  for (int k = 0; k < n; k++) idx[k] = ix_var(c->g, k);
}

/* Print the statements the last expression needs, at the current indent. */
void cg_flush_pre(CgCtx *c) {
  for (char *line = c->pre.s; line && *line;) {
    char *end = strchr(line, '\n');
    *end = 0;
    cg_line(c, "%s", line);
    line = end + 1;
  }
  str_init(&c->pre, c->g);
  c->pre_depth = 0;
  c->nmemo = 0;
}

bool cg_text_uses_var(const char *text, int v) {
  char name[16];
  snprintf(name, sizeof name, "i%d", v);
  size_t n = strlen(name);
  for (const char *s = strstr(text, name); s; s = strstr(s + 1, name)) {
    bool before = s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '_');
    bool after = isalnum((unsigned char)s[n]) || s[n] == '_';
    if (!before && !after) return true;
  }
  return false;
}

/* How many innermost loops walk n's last dims in order (contiguous in n's own layout). */
static int trailing_loops(const Kernel *k, const Node *n) {
  int d = n->rank - 1, j = k->nloops - 1;
  for (; j >= 0; j--, d--) {
    while (d >= 0 && n->dims[d] == 1) d--;
    if (d < 0 || k->order[j] != d) break;
  }
  return k->nloops - 1 - j;
}

/* The statement for element idx of n, or NULL when flat (a variable standing for the
 * trailing loops flattened) still divides or takes a remainder of that variable. */
char *cg_elementwise_statement(CgCtx *c, Node *n, Ix *const *idx, int flat) {
  char *v = cg_expr(c, n, idx, true);
  char *st = str_fmt(c->g, "%s[%s] = %s;", cg_bufname(c, n), cg_ix_sum(c, cg_linearize(c, n, idx)),
                     cg_wrap(c->g, cg_store_conv(n->dtype), v));
  if (flat >= 0) {
    const char *text = str_fmt(c->g, "%s\n%s", c->pre.s ? c->pre.s : "", st);
    char div[32], mod[32], fdiv[48], fmod[48];
    snprintf(div, sizeof div, "i%d / ", flat);
    snprintf(mod, sizeof mod, "i%d %% ", flat);
    snprintf(fdiv, sizeof fdiv, "jtc_floordiv(i%d,", flat);
    snprintf(fmod, sizeof fmod, "jtc_floormod(i%d,", flat);
    if (strstr(text, div) || strstr(text, mod) || strstr(text, fdiv) || strstr(text, fmod)) return NULL;
  }
  return st;
}

/* Element-wise: a loop per output dim, except that the most innermost loops over n's
 * trailing dims that keep every index linear run as one flattened loop (short rows such
 * as 7x7 or 14x14 maps then vectorize as one long loop). */
void cg_body_elementwise(CgCtx *c, Node *n) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, n->rank);
  for (int nflat = trailing_loops(k, n); nflat >= 2 && c->ndom < IR_MAX_RANK; nflat--) {
    int first = k->nloops - nflat, f = c->ndom;
    int64_t total = 1;
    for (int j = first; j < k->nloops; j++) total *= k->dom[k->order[j]];
    if (total == 0) break; /* an empty tensor: nothing to flatten */
    Ix *fidx[IR_MAX_RANK];
    memcpy(fidx, idx, sizeof fidx);
    int64_t after = 1;
    for (int j = k->nloops - 1; j >= first; j--) {
      int v = k->order[j];
      Ix *q = ix_div(g, ix_var(g, f), ix_const(g, after));
      fidx[v] = j == first ? q : ix_mod(g, q, ix_const(g, k->dom[v]));
      after *= k->dom[v];
    }
    c->dom[c->ndom++] = total;
    for (int v = 0; v < n->rank; v++) fidx[v] = ix_simplify(g, fidx[v], c->ndom, c->dom);
    char *st = cg_elementwise_statement(c, n, fidx, f);
    if (st) {
      open_loops(c, 0, first);
      if (first == 0 && k->npar > 0) omp_for(c, 1);
      cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", f, f, total, f);
      c->indent++;
      cg_flush_pre(c);
      cg_line(c, "%s", st);
      close_loops(c, first + 1);
      return;
    }
    c->ndom = f; /* not linear (drop the variables the attempt took): the loop nest as it is */
    str_init(&c->pre, g);
    c->pre_depth = 0;
    c->nmemo = 0;
  }
  open_loops(c, 0, k->nloops);
  char *st = cg_elementwise_statement(c, n, idx, -1);
  cg_flush_pre(c);
  cg_line(c, "%s", st);
  close_loops(c, k->nloops);
}

static void body_scatter(CgCtx *c, Node *n) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Node *src = n->in[0];
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, src->rank);
  const char *ct = dt_ctype_compute(n->dtype);
  char *id = cg_literal(g, reduce_identity(n->red, n->dtype), n->dtype);
  const char *out = cg_bufname(c, n);
  Ix *oidx[IR_MAX_RANK];
  for (int j = 0; j < n->rank; j++) oidx[j] = ix_simplify(g, n->idx[j], k->ndom, k->dom);
  Ix *lin = cg_linearize(c, n, oidx);
  if (k->acc_reg) {
    open_loops(c, 0, k->nouter);
    cg_line(c, "%s acc = %s;", ct, id);
    /* the reduced loops as one when they read contiguous data (see flat_sum) */
    char *v = cg_expr(c, src, idx, false);
    char *flat = !n->cond && k->nloops - k->nouter >= 2 ? flat_sum(c, src, idx, k->order + k->nouter, k->nloops - k->nouter, v) : NULL;
    if (flat) {
      int f = c->ndom - 1;
      omp_simd_sum(c, n->red, n->dtype, "acc", c->dom[f], false);
      cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", f, f, c->dom[f], f);
      cg_line(c, "  acc = %s;", cg_combine(c, n->red, n->dtype, "acc", flat));
      cg_line(c, "%s[%s] = %s;", out, cg_ix_sum(c, lin), cg_wrap(g, cg_store_conv(n->dtype), "acc"));
      close_loops(c, k->nouter);
      return;
    }
    /* omp simd on the innermost loop (a condition keeps the sum in order) */
    int inner = k->nloops > k->nouter ? k->nloops - 1 : k->nloops;
    open_loops(c, k->nouter, inner);
    if (!n->cond && inner < k->nloops) omp_simd_sum(c, n->red, n->dtype, "acc", k->dom[k->order[inner]], false);
    open_loops(c, inner, k->nloops);
    JTC_ASSERT(c->pre.len == 0); /* fuse.c keeps reductions out of a reduction's source */
    if (n->cond) cg_line(c, "if (%s) acc = %s;", cg_ix(c, ix_simplify(g, n->cond, k->ndom, k->dom)), cg_combine(c, n->red, n->dtype, "acc", v));
    else cg_line(c, "acc = %s;", cg_combine(c, n->red, n->dtype, "acc", v));
    close_loops(c, k->nloops - k->nouter);
    cg_line(c, "%s[%s] = %s;", out, cg_ix_sum(c, lin), cg_wrap(g, cg_store_conv(n->dtype), "acc"));
    close_loops(c, k->nouter);
    return;
  }
  cg_line(c, "for (int64_t j = 0; j < %" PRId64 "; j++) %s[j] = %s;", n->numel, out, cg_wrap(g, cg_store_conv(n->dtype), id));
  open_loops(c, 0, k->nloops);
  Ix *cond = n->cond ? ix_simplify(g, n->cond, k->ndom, k->dom) : NULL;
  cond = ix_and(g, cond, bounds(c, n, oidx));
  char *v = cg_expr(c, src, idx, false);
  if (cond) {
    cg_line(c, "if (%s) {", cg_ix(c, cond));
    c->indent++;
  }
  cg_line(c, "const int64_t o = %s;", cg_ix_sum(c, lin));
  char *cur = cg_wrap(g, cg_load_conv(n->dtype), str_fmt(g, "%s[o]", out));
  cg_line(c, "%s[o] = %s;", out, cg_wrap(g, cg_store_conv(n->dtype), cg_combine(c, n->red, n->dtype, cur, v)));
  if (cond) {
    c->indent--;
    cg_line(c, "}");
  }
  close_loops(c, k->nloops);
}


/* For window GATHER w read over the current domain: print `lo = max(lo, ..)` and
 * `hi = min(hi, ..)` so that variable v in [lo, hi) keeps w's reads in bounds
 * (each atom 0 <= a*iv + rest limits iv from below when a > 0, above when a < 0).
 * Returns the part of the condition that does not involve v (NULL: none). */
static Ix *emit_limits2(CgCtx *c, const Node *w, int v, const char *lo, const char *hi, int v2, const char *lo2,
                       const char *hi2);

Ix *cg_emit_limits(CgCtx *c, const Node *w, int v, const char *lo, const char *hi) {
  return emit_limits2(c, w, v, lo, hi, -1, NULL, NULL);
}

/* The same for two variables whose limits are independent (v2 < 0: one). */
static Ix *emit_limits2(CgCtx *c, const Node *w, int v, const char *lo, const char *hi, int v2, const char *lo2,
                       const char *hi2) {
  Graph *g = c->g;
  Ix *atoms[4 * IR_MAX_RANK + 8], *rest_cond = NULL;
  int na = w->cond ? pass_bound_atoms(g, w->cond, atoms, 2 * IR_MAX_RANK) : 0;
  JTC_ASSERT(na >= 0);
  for (int d = 0; d < w->in[0]->rank; d++) {
    int64_t l, h;
    ix_range(w->idx[d], c->dom, &l, &h);
    if (l < 0) atoms[na++] = w->idx[d];
    if (h >= w->in[0]->dims[d]) atoms[na++] = ix_addc(g, ix_sub(g, ix_const(g, w->in[0]->dims[d]), w->idx[d]), -1);
  }
  for (int a = 0; a < na; a++) {
    Ix *d = atoms[a];
    int var = v;
    const char *l = lo, *h = hi;
    int64_t coef = d->affine ? d->coef[v] : 0;
    if (!coef && v2 >= 0 && d->affine && d->coef[v2]) {
      var = v2, l = lo2, h = hi2;
      coef = d->coef[v2];
    }
    if (!coef) {
      rest_cond = ix_and(g, rest_cond, ix_cmp(g, IX_LE, ix_const(g, 0), d));
      continue;
    }
    char *rest = cg_ix_sum(c, ix_simplify(g, ix_sub(g, d, ix_mulc(g, ix_var(g, var), coef)), c->ndom, c->dom));
    if (coef > 0) cg_line(c, "%s = jtc_max64(%s, -jtc_floordiv(%s, %" PRId64 "));", l, l, rest, coef);
    else cg_line(c, "%s = jtc_min64(%s, jtc_floordiv(%s, %" PRId64 ") + 1);", h, h, rest, -coef);
  }
  return rest_cond;
}

/* pass_rows: the last output variable innermost, a row of accumulators, the
 * window GATHER's bounds solved into that loop's limits. */
static void body_scatter_rows(CgCtx *c, Node *n) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Node *src = n->in[0];
  int v = k->row_var, u = k->row_var2;
  int64_t e = k->dom[v], eu = u >= 0 ? k->dom[u] : 1;
  int inner = u >= 0 ? 2 : 1;
  Ix *idx[IR_MAX_RANK];
  vars(c, idx, src->rank);
  const char *ct = dt_ctype_compute(n->dtype);
  char *id = cg_literal(g, reduce_identity(n->red, n->dtype), n->dtype);
  open_loops(c, 0, k->nouter - inner);
  cg_line(c, "%s row[%" PRId64 "];", ct, e * eu);
  cg_line(c, "for (int64_t j = 0; j < %" PRId64 "; j++) row[j] = %s;", e * eu, id);
  open_loops(c, k->nouter, k->nloops);
  cg_line(c, "int64_t lo = 0, hi = %" PRId64 ";", e);
  if (u >= 0) cg_line(c, "int64_t lo2 = 0, hi2 = %" PRId64 ";", eu);
  Ix *rest_cond = emit_limits2(c, k->row_gather, v, "lo", "hi", u, "lo2", "hi2");
  if (rest_cond) cg_line(c, "if (!%s) continue;", cg_ix(c, ix_simplify(g, rest_cond, c->ndom, c->dom)));
  c->nocheck = k->row_gather;
  /* the variables' ranges for simplification are their full extents; the limits keep reads in bounds */
  char *val = cg_expr(c, src, idx, false);
  c->nocheck = NULL;
  JTC_ASSERT(c->pre.len == 0);
  char *cur = u >= 0 ? str_fmt(g, "row[i%d * %" PRId64 " + i%d]", u, e, v) : str_fmt(g, "row[i%d]", v);
  if (u >= 0) cg_line(c, "for (int64_t i%d = lo2; i%d < hi2; i%d++)", u, u, u);
  cg_line(c, "%sfor (int64_t i%d = lo; i%d < hi; i%d++) %s = %s;", u >= 0 ? "  " : "", v, v, v, cur,
          cg_combine(c, n->red, n->dtype, cur, val));
  close_loops(c, k->nloops - k->nouter);
  Ix *oidx[IR_MAX_RANK];
  for (int j = 0; j < n->rank; j++) oidx[j] = ix_simplify(g, n->idx[j], k->ndom, k->dom);
  if (u >= 0) cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", u, u, eu, u);
  cg_line(c, "%sfor (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) %s[%s] = %s;", u >= 0 ? "  " : "", v, v, e, v,
          cg_bufname(c, n), cg_ix_sum(c, cg_linearize(c, n, oidx)), cg_wrap(g, cg_store_conv(n->dtype), cur));
  close_loops(c, k->nouter - inner);
}

/* The loops around a row kernel's plane: every dim of n but v and u (the row and plane
 * variables) and those of extent 1, the first in parallel when the kernel is. Returns
 * how many were opened. */
static int open_plane_loops(CgCtx *c, const Node *n, int v, int u) {
  int opened = 0;
  for (int j = 0; j < n->rank; j++) {
    if (j == v || j == u || n->dims[j] <= 1) continue;
    if (!opened && c->k->npar > 0) omp_for(c, 1);
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", j, j, n->dims[j], j);
    c->indent++;
    opened++;
  }
  return opened;
}

/* pass_rows under an epilogue: the MAP root's fused window reduction accumulates a
 * plane (or row) of the output, and the root's expression is applied as it is stored. */
static void body_map_rows(CgCtx *c, Node *root) {
  const Kernel *k = c->k;
  Graph *g = c->g;
  Node *s = k->row_scatter, *src = s->in[0];
  int v = k->row_var, u = k->row_var2;
  int64_t e = src->dims[v], eu = u >= 0 ? src->dims[u] : 1;
  c->ndom = src->rank;
  memcpy(c->dom, src->dims, (size_t)src->rank * sizeof(int64_t));
  int opened = open_plane_loops(c, root, v, u);
  const char *ct = dt_ctype_compute(s->dtype);
  cg_line(c, "%s row[%" PRId64 "];", ct, e * eu);
  cg_line(c, "for (int64_t j = 0; j < %" PRId64 "; j++) row[j] = %s;", e * eu,
          cg_literal(g, reduce_identity(s->red, s->dtype), s->dtype));
  int red = 0;
  for (int r = root->rank; r < src->rank; r++) {
    if (src->dims[r] <= 1) continue;
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", r, r, src->dims[r], r);
    c->indent++;
    red++;
  }
  cg_line(c, "int64_t lo = 0, hi = %" PRId64 ";", e);
  if (u >= 0) cg_line(c, "int64_t lo2 = 0, hi2 = %" PRId64 ";", eu);
  Ix *rest_cond = emit_limits2(c, k->row_gather, v, "lo", "hi", u, "lo2", "hi2");
  if (rest_cond) cg_line(c, "if (!%s) continue;", cg_ix(c, ix_simplify(g, rest_cond, c->ndom, c->dom)));
  Ix *ids[IR_MAX_RANK];
  vars(c, ids, src->rank);
  c->nocheck = k->row_gather;
  char *val = cg_expr(c, src, ids, false);
  c->nocheck = NULL;
  JTC_ASSERT(c->pre.len == 0);
  char *at = u >= 0 ? str_fmt(g, "i%d * %" PRId64 " + i%d", u, e, v) : str_fmt(g, "i%d", v);
  char *cur = str_fmt(g, "row[%s]", at);
  if (u >= 0) cg_line(c, "for (int64_t i%d = lo2; i%d < hi2; i%d++)", u, u, u);
  cg_line(c, "%sfor (int64_t i%d = lo; i%d < hi; i%d++) %s = %s;", u >= 0 ? "  " : "", v, v, v, cur,
          cg_combine(c, s->red, s->dtype, cur, val));
  close_loops(c, red);
  /* store through the epilogue: a plane as one flattened loop when the indices stay linear in it */
  c->row_result = s;
  if (u >= 0 && c->ndom < IR_MAX_RANK) {
    int f = c->ndom;
    c->dom[c->ndom++] = e * eu;
    Ix *fids[IR_MAX_RANK];
    memcpy(fids, ids, sizeof fids);
    fids[u] = ix_div(g, ix_var(g, f), ix_const(g, e));
    fids[v] = ix_mod(g, ix_var(g, f), ix_const(g, e));
    c->row_at = str_fmt(g, "row[i%d]", f);
    char *st = e > 0 && eu > 0 ? cg_elementwise_statement(c, root, fids, f) : NULL;
    if (st && c->pre.len == 0) {
      c->row_result = NULL;
      cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) %s", f, f, e * eu, f, st);
      close_loops(c, opened);
      return;
    }
    c->ndom = f;
    str_init(&c->pre, g);
    c->nmemo = 0;
  }
  c->row_at = cur;
  char *out = cg_expr(c, root, ids, true);
  c->row_result = NULL;
  if (u >= 0) cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", u, u, eu, u);
  cg_line(c, "%sfor (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) %s[%s] = %s;", u >= 0 ? "  " : "", v, v, e, v,
          cg_bufname(c, root), cg_ix_sum(c, cg_linearize(c, root, ids)), cg_wrap(g, cg_store_conv(root->dtype), out));
  close_loops(c, opened);
}

/* name[at + j] = fill for j in [from, to) */
static void fill_span(CgCtx *c, const char *name, int64_t at, int64_t from, int64_t to, const char *fill) {
  if (to - from == 1) cg_line(c, "%s[%" PRId64 "] = %s;", name, at + from, fill);
  else if (to > from) cg_line(c, "for (int64_t j = %" PRId64 "; j < %" PRId64 "; j++) %s[j] = %s;", at + from, at + to, name, fill);
}

/* Elements of t copy as bytes: stored as computed. */
static bool plain_copy(Dtype t) { return !*cg_load_conv(t) && !strcmp(dt_ctype(t), dt_ctype_compute(t)); }

/* " + c", " - c" or "" */
static char *plus_const(Graph *g, int64_t v) {
  return v ? str_fmt(g, " %c %" PRId64, v < 0 ? '-' : '+', v < 0 ? -v : v) : str_fmt(g, "%s", "");
}

/* The tap schedule (passes.h, RowTaps): per outer index (a channel) the window's source
 * plane is copied into pad[], padded with the GATHER's fill and split into stride phases,
 * then each output combines its taps, read at constant offsets from p (its position in
 * pad[]), in a register and is stored through the epilogue (root: the MAP root, or s
 * itself). Narrow planes run one flattened loop over all positions into row[] first. */
void cg_tap_ids(Graph *g, const RowTaps *t, const Node *src, int tap, Ix *const *ids, Ix **tids) {
  memcpy(tids, ids, IR_MAX_RANK * sizeof *tids);
  int64_t rem = tap;
  for (int j = t->nred - 1; j >= 0; j--) {
    tids[t->red[j]] = ix_const(g, rem % src->dims[t->red[j]]);
    rem /= src->dims[t->red[j]];
  }
}

static void body_taps(CgCtx *c, Node *root, Node *s) {
  const Kernel *k = c->k;
  const RowTaps *t = k->taps;
  Graph *g = c->g;
  Node *src = s->in[0], *win = k->row_gather, *x = win->in[0];
  Node *wf = src == win ? NULL : src->in[src->in[0] == win ? 1 : 0];
  int v = k->row_var, u = k->row_var2;
  c->ndom = src->rank;
  memcpy(c->dom, src->dims, (size_t)src->rank * sizeof(int64_t));
  int opened = open_plane_loops(c, s, v, u);
  const char *ct = dt_ctype_compute(win->dtype), *cs = dt_ctype_compute(s->dtype);
  char *fill = cg_literal(g, win->fill, win->dtype);
  Ix *ids[IR_MAX_RANK], *tids[ROW_TAPS_MAX][IR_MAX_RANK];
  vars(c, ids, src->rank);
  /* the MAP root's expression of acc: applied in the flat loop when it does not vary along the plane */
  Node *out = root;
  char *epi = NULL;
  bool epi_in_loop = false;
  if (root != s) {
    c->row_result = s;
    c->row_at = "acc";
    epi = cg_expr(c, root, ids, true);
    c->row_result = NULL;
    JTC_ASSERT(c->pre.len == 0);
    epi_in_loop = !cg_text_uses_var(epi, v) && !(u >= 0 && cg_text_uses_var(epi, u));
  }
  Ix *oidx[IR_MAX_RANK] = {0};
  for (int j = 0; j < out->rank; j++) oidx[j] = root != s ? ids[j] : ix_simplify(g, s->idx[j], c->ndom, c->dom);
  Ix *olin = cg_linearize(c, out, oidx);
  /* rows copied out whole (memcpy) when out's plane is contiguous along them */
  bool rows_out = (!epi || epi_in_loop) && plain_copy(out->dtype) && olin->affine && olin->coef[v] == 1;
  /* many padding columns: the epilogue over the stored plane instead, in place (no work on them) */
  bool post = rows_out && epi && root->dtype == s->dtype && (u < 0 || olin->coef[u] == t->cols) && t->wq * 100 > t->cols * 115;
  if (post) epi_in_loop = false;
  cg_line(c, "%s pad[%" PRId64 "];", ct, t->buf);
  cg_line(c, "%s row[%" PRId64 "];", dt_ctype_compute(epi_in_loop ? root->dtype : s->dtype), t->band * t->wq);
  /* each tap's variables, and the other factor (a depthwise conv's weight) hoisted */
  const char *wname[ROW_TAPS_MAX];
  for (int tap = 0; tap < t->ntaps; tap++) {
    cg_tap_ids(g, t, src, tap, ids, tids[tap]);
    if (!wf) continue;
    wname[tap] = str_fmt(g, "w%d", tap);
    cg_line(c, "const %s %s = %s;", dt_ctype_compute(wf->dtype), wname[tap], cg_expr(c, wf, tids[tap], false));
  }
  bool banded = t->band < t->rows;
  if (banded) {
    cg_line(c, "for (int64_t u0 = 0; u0 < %" PRId64 "; u0 += %" PRId64 ") {", t->rows, t->band);
    c->indent++;
    cg_line(c, "const int64_t nb = jtc_min64(%" PRId64 ", %" PRId64 " - u0);", t->band, t->rows);
  }
  /* the copy: padded rows i<F> (source row i<F+1>), columns i<F+2> of each column phase */
  int F = c->ndom;
  if (F + 3 > IR_MAX_RANK) ir_fail(g, "kernel needs more than %d loop variables", IR_MAX_RANK);
  int64_t plane = t->hq * t->wq, H = t->hdim >= 0 ? x->dims[t->hdim] : 1, W = x->dims[t->wdim];
  c->dom[F] = t->ah * t->hq, c->dom[F + 1] = H, c->dom[F + 2] = t->wq;
  c->ndom = F + 3;
  Ix *sidx[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) sidx[d] = d == t->hdim ? ix_var(g, F + 1) : ix_simplify(g, win->idx[d], F, c->dom);
  cg_line(c, "/* the window's source, padded with %s */", fill);
  if (t->hdim >= 0) {
    cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++) {", F, F, t->ah * t->hq, F);
    c->indent++;
    if (t->ah > 1)
      cg_line(c, "%s *d = &pad[i%d %% %" PRId64 " * %" PRId64 " + i%d / %" PRId64 " * %" PRId64 "];", ct, F, t->ah, t->aw * plane, F, t->ah, t->wq);
    else
      cg_line(c, "%s *d = &pad[i%d * %" PRId64 "];", ct, F, t->wq);
    if (banded) cg_line(c, "const int64_t i%d = u0 * %" PRId64 " + i%d%s;", F + 1, t->ah, F, plus_const(g, t->hmin));
    else cg_line(c, "const int64_t i%d = i%d%s;", F + 1, F, plus_const(g, t->hmin));
    cg_line(c, "if (i%d < 0 || i%d >= %" PRId64 ") {", F + 1, F + 1, H);
    c->indent++;
    for (int64_t pw = 0; pw < t->aw; pw++) fill_span(c, "d", pw * plane, 0, t->wq, fill);
    cg_line(c, "continue;");
    c->indent--;
    cg_line(c, "}");
  } else {
    cg_line(c, "%s *d = pad;", ct);
  }
  for (int64_t pw = 0; pw < t->aw; pw++) {
    /* columns j of phase pw read source column j*aw + pw + wmin: inside [0, W) for j in [jlo, jhi) */
    int64_t jlo = -ix_floordiv(pw + t->wmin, t->aw), jhi = ix_floordiv(W - 1 - pw - t->wmin, t->aw) + 1;
    jlo = jlo < 0 ? 0 : jlo > t->wq ? t->wq : jlo;
    jhi = jhi < jlo ? jlo : jhi > t->wq ? t->wq : jhi;
    char *at = pw ? str_fmt(g, "d[%" PRId64 " + i%d]", pw * plane, F + 2) : str_fmt(g, "d[i%d]", F + 2);
    sidx[t->wdim] = ix_addc(g, ix_mulc(g, ix_var(g, F + 2), t->aw), pw + t->wmin);
    char *val = cg_expr(c, x, sidx, false);
    Ix *lin = cg_linearize(c, x, sidx);
    fill_span(c, "d", pw * plane, 0, jlo, fill);
    if (jhi > jlo && plain_copy(x->dtype) && lin->affine && lin->coef[F + 2] == 1) {
      Ix *first[IR_MAX_RANK];
      memcpy(first, sidx, sizeof first);
      first[t->wdim] = ix_const(g, jlo * t->aw + pw + t->wmin);
      cg_line(c, "memcpy(&d[%" PRId64 "], &%s[%s], %" PRId64 " * sizeof(%s));", pw * plane + jlo, cg_bufname(c, x),
              cg_ix_sum(c, cg_linearize(c, x, first)), jhi - jlo, ct);
    } else if (jhi > jlo) {
      cg_line(c, "for (int64_t i%d = %" PRId64 "; i%d < %" PRId64 "; i%d++) %s = %s;", F + 2, jlo, F + 2, jhi, F + 2, at, val);
    }
    fill_span(c, "d", pw * plane, jhi, t->wq, fill);
  }
  if (t->hdim >= 0) {
    c->indent--;
    cg_line(c, "}");
  }
  c->ndom = F;
  fill_span(c, "pad", 0, t->ah * t->aw * plane, t->buf, fill);
  /* the taps: each pass combines per_pass of them in a register, for all positions q */
  const char *nrows = banded ? "nb" : str_fmt(g, "%" PRId64, t->rows);
  char *rowloop = NULL;
  if (u >= 0 && banded) rowloop = str_fmt(g, "for (int64_t i%d = u0; i%d < u0 + nb; i%d++)", u, u, u);
  else if (u >= 0) rowloop = str_fmt(g, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", u, u, t->rows, u);
  char *rowstart = u < 0 ? "0" : banded ? str_fmt(g, "(i%d - u0) * %" PRId64, u, t->wq) : str_fmt(g, "i%d * %" PRId64, u, t->wq);
  c->named[0] = win;
  c->named[1] = wf;
  for (int first = 0; first < t->ntaps; first += t->per_pass) {
    if (banded) cg_line(c, "for (int64_t q = 0; q < nb * %" PRId64 "; q++) {", t->wq);
    else cg_line(c, "for (int64_t q = 0; q < %" PRId64 "; q++) {", t->rows * t->wq);
    c->indent++;
    cg_line(c, "const %s *p = &pad[q];", ct);
    for (int tap = first; tap < t->ntaps && tap < first + t->per_pass; tap++) {
      c->named_as[0] = str_fmt(g, "p[%" PRId64 "]", t->off[tap]);
      c->named_as[1] = wf ? wname[tap] : NULL;
      char *val = cg_expr(c, src, tids[tap], false);
      if (tap == 0) cg_line(c, "%s acc = %s;", cs, val);
      else cg_line(c, "%sacc = %s;", tap == first ? str_fmt(g, "%s ", cs) : "", cg_combine(c, s->red, s->dtype, tap == first ? "row[q]" : "acc", val));
    }
    bool last = first + t->per_pass >= t->ntaps;
    cg_line(c, "row[q] = %s;", last && epi_in_loop ? epi : "acc");
    close_loops(c, 1);
  }
  c->named[0] = c->named[1] = NULL;
  JTC_ASSERT(c->pre.len == 0);
  if (rowloop) {
    cg_line(c, "%s {", rowloop);
    c->indent++;
  }
  if (rows_out) {
    /* whole rows to out, then (post) the epilogue over them in place */
    oidx[v] = ix_const(g, 0);
    cg_line(c, "memcpy(&%s[%s], &row[%s], %" PRId64 " * sizeof(%s));", cg_bufname(c, out), cg_ix_sum(c, cg_linearize(c, out, oidx)), rowstart,
            t->cols, dt_ctype(out->dtype));
    if (rowloop) close_loops(c, 1);
    if (post) {
      if (u >= 0) oidx[u] = ix_const(g, 0);
      char *base = cg_ix_sum(c, cg_linearize(c, out, oidx));
      if (banded) base = str_fmt(g, "%s + u0 * %" PRId64, base, t->cols);
      cg_line(c, "for (int64_t q = 0; q < %s * %" PRId64 "; q++) {", nrows, t->cols);
      c->indent++;
      cg_line(c, "const %s acc = %s[%s + q];", cs, cg_bufname(c, out), base);
      cg_line(c, "%s[%s + q] = %s;", cg_bufname(c, out), base, epi);
      close_loops(c, 1);
    }
    close_loops(c, banded + opened);
    return;
  }
  /* element by element, through the MAP root's expression unless the loop applied it */
  char *value = str_fmt(g, "row[%s + i%d]", rowstart, v);
  if (epi && !epi_in_loop) {
    c->row_result = s;
    c->row_at = value;
    value = cg_expr(c, root, ids, true);
    c->row_result = NULL;
    JTC_ASSERT(c->pre.len == 0);
  }
  cg_line(c, "for (int64_t i%d = 0; i%d < %" PRId64 "; i%d++)", v, v, t->cols, v);
  cg_line(c, "  %s[%s] = %s;", cg_bufname(c, out), cg_ix_sum(c, olin), cg_wrap(g, cg_store_conv(out->dtype), value));
  close_loops(c, (rowloop != NULL) + banded + opened);
}

/* The mean over MPI ranks in a -DJTC_MPI build (a training step's gradients and batch
 * statistics), a copy otherwise. */
static void body_allreduce_mean(CgCtx *c, Node *n) {
  const Node *x = n->in[0];
  const char *out = cg_bufname(c, n), *in = cg_bufname(c, x), *t = n->dtype == DT_F64 ? "MPI_DOUBLE" : "MPI_FLOAT";
  c->read[x->id] = true;
  fprintf(c->f, "#ifdef JTC_MPI\n");
  cg_line(c, "int ranks = 1;");
  cg_line(c, "MPI_Comm_size(MPI_COMM_WORLD, &ranks);");
  cg_line(c, "MPI_Allreduce(%s, %s, %" PRId64 ", %s, MPI_SUM, MPI_COMM_WORLD);", in, out, n->numel, t);
  cg_line(c, "for (int64_t i = 0; i < %" PRId64 "; i++) %s[i] /= ranks;", n->numel, out);
  fprintf(c->f, "#else\n");
  cg_line(c, "memcpy(%s, %s, %" PRId64 ");", out, in, n->numel * (int64_t)dt_size(n->dtype));
  fprintf(c->f, "#endif\n");
}

/* String kernels (ir/ops_string.c): serial loops over the runtime of runtime_stub/strings.h,
 * new bytes in the net's string storage <p>_strstore (checked by <p>_run). */
static void body_string(CgCtx *c, Node *n) {
  const Node *x = n->in[0];
  const char *out = cg_bufname(c, n), *in = cg_bufname(c, x), *p = c->prefix;
  c->read[x->id] = true;
  cg_line(c, "for (int64_t i = 0; i < %" PRId64 "; i++) {", n->numel);
  if (!strcmp(n->opaque_name, IR_STRING_CASE)) {
    cg_line(c, "  %s[i] = jtc_str_copy(&%s_strstore, %s[i], %d);", out, p, in, *(const int *)n->opaque_attr);
  } else if (!strcmp(n->opaque_name, IR_STRING_FORMAT)) {
    Dtype t = x->dtype;
    const char *v = cg_wrap(c->g, cg_load_conv(t), str_fmt(c->g, "%s[i]", in));
    cg_line(c, "  char text[%d];", IR_STRING_FORMAT_MAX);
    if (t == DT_F64) cg_line(c, "  jtc_fmt_f64(text, %s);", v);
    else if (dt_is_float(t)) cg_line(c, "  jtc_fmt_f32(text, %s);", v);
    else if (t == DT_U64 || t == DT_U32) cg_line(c, "  jtc_fmt_u64(text, (uint64_t)%s);", v);
    else cg_line(c, "  jtc_fmt_i64(text, (int64_t)%s);", v);
    cg_line(c, "  %s[i] = jtc_str_copy(&%s_strstore, text, 0);", out, p);
  } else {
    Dtype t = n->dtype;
    const char *v = t == DT_F64 ? "jtc_parse_f64(%s[i])" : dt_is_float(t) ? "jtc_parse_f32(%s[i])"
                    : t == DT_BOOL ? "jtc_parse_bool(%s[i])" : t == DT_U64 || t == DT_U32 ? "jtc_parse_u64(%s[i])"
                    : "jtc_parse_i64(%s[i])";
    char *val = str_fmt(c->g, v, in);
    if (!dt_is_float(t) && t != DT_BOOL) val = str_fmt(c->g, "(%s)%s", dt_ctype(t), val);
    cg_line(c, "  %s[i] = %s;", out, cg_wrap(c->g, cg_store_conv(t), val));
  }
  cg_line(c, "}");
}

void cg_kernel_body(CgCtx *c) {
  Node *n = c->k->root;
  c->ndom = c->k->ndom;
  memcpy(c->dom, c->k->dom, sizeof c->dom);
  c->nacc = 0;
  c->pre_depth = 0;
  c->nmemo = 0;
  str_init(&c->pre, c->g);
  c->gemm_result = NULL;
  c->row_result = NULL;
  c->named[0] = c->named[1] = NULL;
  if (c->k->taps) {
    body_taps(c, n, c->k->row_scatter ? c->k->row_scatter : n);
    return;
  }
  if (c->k->row_scatter) {
    body_map_rows(c, n);
    return;
  }
  if (c->k->gemm) {
    cg_body_gemm(c, c->kname);
    return;
  }
  switch (n->kind) {
  case NODE_MAP: case NODE_GATHER: cg_body_elementwise(c, n); break;
  case NODE_SCATTER:
    if (c->k->row_gather) body_scatter_rows(c, n);
    else body_scatter(c, n);
    break;
  case NODE_OPAQUE:
    if (!strcmp(n->opaque_name, IR_ALLREDUCE_MEAN)) {
      body_allreduce_mean(c, n);
      break;
    }
    if (!strcmp(n->opaque_name, IR_RANDOM_UNIFORM)) {
      const char *seed = cg_bufname(c, n->in[0]), *step = cg_bufname(c, n->in[1]);
      c->read[n->in[0]->id] = c->read[n->in[1]->id] = true;
      fprintf(c->f, "  #ifdef _OPENMP\n  #pragma omp parallel for\n  #endif\n");
      cg_line(c, "for (int64_t i = 0; i < %" PRId64 "; i++)", n->numel);
      cg_line(c, "  %s[i] = jtc_philox_uniform((uint64_t)%s[0], %du, (uint64_t)%s[0], (uint64_t)i);", cg_bufname(c, n), seed,
              *(const int *)n->opaque_attr, step);
      break;
    }
    if (!strcmp(n->opaque_name, IR_MPI_RANKS)) {
      fprintf(c->f, "#ifdef JTC_MPI\n");
      cg_line(c, "int ranks = 1;");
      cg_line(c, "MPI_Comm_size(MPI_COMM_WORLD, &ranks);");
      cg_line(c, "%s[0] = ranks;", cg_bufname(c, n));
      fprintf(c->f, "#else\n");
      cg_line(c, "%s[0] = 1;", cg_bufname(c, n));
      fprintf(c->f, "#endif\n");
      break;
    }
    if (ir_is_string_kernel(n)) {
      body_string(c, n);
      break;
    }
    ir_fail(c->g, "no C kernel for OPAQUE '%s'", n->opaque_name);
  default: jtc_unreachable();
  }
}
