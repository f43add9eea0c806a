/* ix.c: hash-consed index expressions.
 *
 * Every Ix is interned in the graph's table, so structurally equal
 * expressions are one pointer. Constructors canonicalize as they build:
 * constants fold, and sums are kept as a canonical linear combination
 * (variables in index order, then other atoms in creation order, the
 * constant last), so `i1*2+i0+3` and `3+i0+i1*2` are the same node. Two
 * floor-division identities are applied to sums because reshapes produce
 * them constantly:
 *   (x/c)*c + x%c        -> x
 *   ((x/c)%d)*c + x%c    -> x%(c*d)
 * Rules that need variable ranges live in ix_simplify(). Each node caches an
 * affine summary (c0 + sum coef[k]*i_k) when it is affine.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* ---- interning ---- */

static uint32_t mix(uint32_t h, uint64_t v) {
  h ^= (uint32_t)v + 0x9e3779b9u + (h << 6) + (h >> 2);
  h ^= (uint32_t)(v >> 32) + 0x9e3779b9u + (h << 6) + (h >> 2);
  return h;
}

static uint32_t hash_of(const Ix *e) {
  uint32_t h = mix((uint32_t)e->kind, (uint64_t)e->val);
  h = mix(h, e->a ? e->a->uid + 1 : 0);
  h = mix(h, e->b ? e->b->uid + 1 : 0);
  h = mix(h, e->c ? e->c->uid + 1 : 0);
  h = mix(h, e->tensor ? (uint64_t)e->tensor->id + 1 : 0);
  for (int k = 0; k < e->nargs; k++) h = mix(h, e->args[k]->uid);
  return h;
}

static bool same(const Ix *x, const Ix *y) {
  if (x->kind != y->kind || x->val != y->val || x->a != y->a || x->b != y->b || x->c != y->c ||
      x->tensor != y->tensor || x->nargs != y->nargs)
    return false;
  for (int k = 0; k < x->nargs; k++)
    if (x->args[k] != y->args[k]) return false;
  return true;
}

static bool mul_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static bool add_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }

static void summarize(Ix *e) {
  e->affine = false;
  e->maxvar = -1;
  Ix *kids[3] = {e->a, e->b, e->c};
  for (int k = 0; k < 3; k++)
    if (kids[k] && kids[k]->maxvar > e->maxvar) e->maxvar = kids[k]->maxvar;
  for (int k = 0; k < e->nargs; k++)
    if (e->args[k]->maxvar > e->maxvar) e->maxvar = e->args[k]->maxvar;
  switch (e->kind) {
  case IX_CONST: e->affine = true; e->c0 = e->val; break;
  case IX_VAR: e->affine = true; e->coef[e->val] = 1; e->maxvar = (int)e->val; break;
  case IX_ADD:
    if (!e->a->affine || !e->b->affine) break;
    if (!add_ok(e->a->c0, e->b->c0, &e->c0)) break;
    for (int k = 0; k < IR_MAX_RANK; k++)
      if (!add_ok(e->a->coef[k], e->b->coef[k], &e->coef[k])) return;
    e->affine = true;
    break;
  case IX_MUL: {
    Ix *x = e->a, *c = e->b;
    if (x->kind == IX_CONST) { Ix *t = x; x = c; c = t; }
    if (c->kind != IX_CONST || !x->affine) break;
    if (!mul_ok(x->c0, c->val, &e->c0)) break;
    for (int k = 0; k < IR_MAX_RANK; k++)
      if (!mul_ok(x->coef[k], c->val, &e->coef[k])) return;
    e->affine = true;
    break;
  }
  default: break;
  }
}

static uint32_t tree_size(const Ix *e) {
  uint64_t n = 1;
  if (e->a) n += e->a->size;
  if (e->b) n += e->b->size;
  if (e->c) n += e->c->size;
  for (int k = 0; k < e->nargs; k++) n += e->args[k]->size;
  return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static Ix *intern(Graph *g, const Ix *proto) {
  if (tree_size(proto) > IX_MAX_TREE) /* bounded time and output: see IX_MAX_TREE */
    ir_fail(g, "an index expression grew past %d terms (a long chain of reshapes, transposes or slices composed into "
            "one another); jtc refuses it rather than emit exponentially large code", IX_MAX_TREE);
  uint32_t h = hash_of(proto);
  if (g->ix_count * 2 >= g->ix_cap) {
    size_t cap = g->ix_cap ? g->ix_cap * 2 : 1024;
    Ix **t = ir_alloc_array(g, cap, sizeof *t);
    for (size_t i = 0; i < g->ix_cap; i++)
      for (Ix *e = g->ix_table[i], *nx; e; e = nx) {
        nx = e->next;
        e->next = t[e->hash & (cap - 1)];
        t[e->hash & (cap - 1)] = e;
      }
    g->ix_table = t;
    g->ix_cap = cap;
  }
  for (Ix *e = g->ix_table[h & (g->ix_cap - 1)]; e; e = e->next)
    if (e->hash == h && same(e, proto)) return e;
  Ix *e = ir_alloc(g, sizeof *e);
  *e = *proto;
  e->size = tree_size(proto);
  e->hash = h;
  e->uid = (uint32_t)g->ix_count++;
  summarize(e);
  e->next = g->ix_table[h & (g->ix_cap - 1)];
  g->ix_table[h & (g->ix_cap - 1)] = e;
  return e;
}

static Ix *mk(Graph *g, IxKind kind, Ix *a, Ix *b, Ix *c) {
  Ix p = {0};
  p.kind = kind; p.a = a; p.b = b; p.c = c;
  return intern(g, &p);
}

Ix *ix_const(Graph *g, int64_t v) {
  Ix p = {0};
  p.kind = IX_CONST; p.val = v;
  return intern(g, &p);
}

Ix *ix_var(Graph *g, int k) {
  JTC_ASSERT(k >= 0 && k < IR_MAX_RANK);
  Ix p = {0};
  p.kind = IX_VAR; p.val = k;
  return intern(g, &p);
}

Ix *ix_load(Graph *g, Node *tensor, int nargs, Ix **args) {
  JTC_ASSERT(tensor && nargs == tensor->rank);
  Ix p = {0};
  p.kind = IX_LOAD; p.tensor = tensor; p.nargs = nargs;
  p.args = ir_alloc_array(g, nargs ? (size_t)nargs : 1, sizeof(Ix *));
  memcpy(p.args, args, (size_t)nargs * sizeof(Ix *));
  return intern(g, &p);
}

int64_t ix_floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}
static int64_t floormod(int64_t a, int64_t b) { return a - ix_floordiv(a, b) * b; }

static int64_t cadd(Graph *g, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) ir_fail(g, "index arithmetic overflows 64 bits");
  return r;
}
static int64_t cmul(Graph *g, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) ir_fail(g, "index arithmetic overflows 64 bits");
  return r;
}

/* ---- linear combinations: the canonical form of sums ---- */

#define LIN_MAX 64
typedef struct { int n; Ix *atom[LIN_MAX]; int64_t coef[LIN_MAX]; int64_t c; } Lin;

static void lin_add(Graph *g, Lin *l, Ix *e, int64_t k) {
  if (k == 0) return;
  if (e->kind == IX_CONST) { l->c = cadd(g, l->c, cmul(g, e->val, k)); return; }
  if (e->kind == IX_ADD) { lin_add(g, l, e->a, k); lin_add(g, l, e->b, k); return; }
  if (e->kind == IX_MUL && e->b->kind == IX_CONST) {
    lin_add(g, l, e->a, cmul(g, e->b->val, k));
    return;
  }
  for (int i = 0; i < l->n; i++)
    if (l->atom[i] == e) { l->coef[i] = cadd(g, l->coef[i], k); return; }
  if (l->n == LIN_MAX) ir_fail(g, "index expression has more than %d terms", LIN_MAX);
  l->atom[l->n] = e;
  l->coef[l->n++] = k;
}

static int find_atom(const Lin *l, const Ix *e) {
  for (int i = 0; i < l->n; i++)
    if (l->atom[i] == e && l->coef[i] != 0) return i;
  return -1;
}

/* (x/c)*c*k + (x%c)*k -> x*k and ((x/c)%d)*c*k + (x%c)*k -> (x%(c*d))*k. */
static bool lin_recombine(Graph *g, Lin *l) {
  for (int i = 0; i < l->n; i++) {
    Ix *m = l->atom[i];
    if (l->coef[i] == 0 || m->kind != IX_MOD || m->b->kind != IX_CONST || m->b->val <= 0) continue;
    Ix *x = m->a, *c = m->b;
    int64_t k = l->coef[i], kc;
    if (!mul_ok(k, c->val, &kc)) continue;
    int j = find_atom(l, mk(g, IX_DIV, x, c, NULL));
    if (j >= 0 && l->coef[j] == kc) {
      l->coef[i] = l->coef[j] = 0;
      lin_add(g, l, x, k);
      return true;
    }
    for (int j2 = 0; j2 < l->n; j2++) {
      Ix *a = l->atom[j2];
      if (l->coef[j2] != kc || a->kind != IX_MOD || a->b->kind != IX_CONST || a->b->val <= 0) continue;
      if (a->a->kind != IX_DIV || a->a->a != x || a->a->b != c) continue;
      int64_t cd;
      if (!mul_ok(c->val, a->b->val, &cd)) continue;
      l->coef[i] = l->coef[j2] = 0;
      lin_add(g, l, ix_mod(g, x, ix_const(g, cd)), k);
      return true;
    }
  }
  return false;
}

static int atom_order(const void *pa, const void *pb) {
  const Ix *a = *(Ix *const *)pa, *b = *(Ix *const *)pb;
  int va = a->kind == IX_VAR, vb = b->kind == IX_VAR;
  if (va != vb) return vb - va;
  if (va) return (a->val > b->val) - (a->val < b->val);
  return (a->uid > b->uid) - (a->uid < b->uid);
}

static Ix *lin_build(Graph *g, Lin *l) {
  while (lin_recombine(g, l)) {}
  Ix *atoms[LIN_MAX];
  int n = 0;
  for (int i = 0; i < l->n; i++)
    if (l->coef[i] != 0) atoms[n++] = l->atom[i];
  qsort(atoms, (size_t)n, sizeof atoms[0], atom_order);
  Ix *sum = NULL;
  for (int i = 0; i < n; i++) {
    int64_t k = l->coef[find_atom(l, atoms[i])];
    Ix *term = k == 1 ? atoms[i] : mk(g, IX_MUL, atoms[i], ix_const(g, k), NULL);
    sum = sum ? mk(g, IX_ADD, sum, term, NULL) : term;
  }
  if (!sum) return ix_const(g, l->c);
  return l->c ? mk(g, IX_ADD, sum, ix_const(g, l->c), NULL) : sum;
}

/* ---- arithmetic constructors ---- */

Ix *ix_add(Graph *g, Ix *a, Ix *b) {
  Lin l = {0};
  lin_add(g, &l, a, 1);
  lin_add(g, &l, b, 1);
  return lin_build(g, &l);
}

Ix *ix_sub(Graph *g, Ix *a, Ix *b) {
  Lin l = {0};
  lin_add(g, &l, a, 1);
  lin_add(g, &l, b, -1);
  return lin_build(g, &l);
}

Ix *ix_addc(Graph *g, Ix *a, int64_t c) { return ix_add(g, a, ix_const(g, c)); }
Ix *ix_mulc(Graph *g, Ix *a, int64_t c) { return ix_mul(g, a, ix_const(g, c)); }

Ix *ix_mul(Graph *g, Ix *a, Ix *b) {
  if (a->kind == IX_CONST) { Ix *s = a; a = b; b = s; }
  if (b->kind == IX_CONST) {
    if (a->kind == IX_CONST) return ix_const(g, cmul(g, a->val, b->val));
    if (b->val == 0) return ix_const(g, 0);
    if (b->val == 1) return a;
    Lin l = {0};
    lin_add(g, &l, a, b->val);
    return lin_build(g, &l);
  }
  if (a->uid > b->uid) { Ix *s = a; a = b; b = s; }
  return mk(g, IX_MUL, a, b, NULL);
}

Ix *ix_div(Graph *g, Ix *a, Ix *b) {
  if (b->kind == IX_CONST && b->val == 0) ir_fail(g, "index expression divides by zero");
  if (b->kind == IX_CONST) {
    int64_t c = b->val;
    if (a->kind == IX_CONST) return ix_const(g, ix_floordiv(a->val, c));
    if (c == 1) return a;
    if (c > 0) {
      /* (x/c1)/c2 -> x/(c1*c2) */
      int64_t cc;
      if (a->kind == IX_DIV && a->b->kind == IX_CONST && a->b->val > 0 && mul_ok(a->b->val, c, &cc))
        return ix_div(g, a->a, ix_const(g, cc));
      /* (q*c + r)/c -> q + r/c when every coefficient of q is a multiple of c */
      Lin l = {0}, q = {0}, r = {0};
      lin_add(g, &l, a, 1);
      for (int i = 0; i < l.n; i++) lin_add(g, l.coef[i] % c == 0 ? &q : &r, l.atom[i], l.coef[i] % c == 0 ? l.coef[i] / c : l.coef[i]);
      q.c = ix_floordiv(l.c, c);
      r.c = floormod(l.c, c);
      if (q.n > 0 || q.c != 0) {
        Ix *rest = lin_build(g, &r);
        if (rest->kind == IX_CONST) return ix_add(g, lin_build(g, &q), ix_const(g, ix_floordiv(rest->val, c)));
        return ix_add(g, lin_build(g, &q), mk(g, IX_DIV, rest, b, NULL));
      }
    }
  }
  return mk(g, IX_DIV, a, b, NULL);
}

Ix *ix_mod(Graph *g, Ix *a, Ix *b) {
  if (b->kind == IX_CONST && b->val == 0) ir_fail(g, "index expression takes a modulo by zero");
  if (b->kind == IX_CONST) {
    int64_t c = b->val;
    if (a->kind == IX_CONST) return ix_const(g, floormod(a->val, c));
    if (c == 1 || c == -1) return ix_const(g, 0);
    if (c > 0) {
      /* (q*c + r) % c -> r % c */
      Lin l = {0}, r = {0};
      lin_add(g, &l, a, 1);
      for (int i = 0; i < l.n; i++)
        if (l.coef[i] % c != 0) lin_add(g, &r, l.atom[i], l.coef[i]);
      r.c = floormod(l.c, c);
      Ix *rest = lin_build(g, &r);
      if (rest->kind == IX_CONST) return ix_const(g, floormod(rest->val, c));
      /* (x%(c*k)) % c -> x % c */
      if (rest->kind == IX_MOD && rest->b->kind == IX_CONST && rest->b->val > 0 && rest->b->val % c == 0)
        rest = rest->a;
      return mk(g, IX_MOD, rest, b, NULL);
    }
  }
  return mk(g, IX_MOD, a, b, NULL);
}

Ix *ix_min(Graph *g, Ix *a, Ix *b) {
  if (a->kind == IX_CONST && b->kind == IX_CONST) return ix_const(g, a->val < b->val ? a->val : b->val);
  if (a == b) return a;
  if (a->uid > b->uid) { Ix *s = a; a = b; b = s; }
  return mk(g, IX_MIN, a, b, NULL);
}

Ix *ix_max(Graph *g, Ix *a, Ix *b) {
  if (a->kind == IX_CONST && b->kind == IX_CONST) return ix_const(g, a->val > b->val ? a->val : b->val);
  if (a == b) return a;
  if (a->uid > b->uid) { Ix *s = a; a = b; b = s; }
  return mk(g, IX_MAX, a, b, NULL);
}

Ix *ix_cmp(Graph *g, IxKind k, Ix *a, Ix *b) {
  JTC_ASSERT(k == IX_LT || k == IX_LE || k == IX_EQ || k == IX_NE);
  Ix *d = ix_sub(g, a, b); /* a ? b  <=>  a-b ? 0 */
  if (d->kind == IX_CONST) {
    int64_t v = d->val;
    return ix_const(g, k == IX_LT ? v < 0 : k == IX_LE ? v <= 0 : k == IX_EQ ? v == 0 : v != 0);
  }
  return mk(g, k, a, b, NULL);
}

Ix *ix_and(Graph *g, Ix *a, Ix *b) {
  if (!a || (a->kind == IX_CONST && a->val)) return b;
  if (!b || (b->kind == IX_CONST && b->val)) return a;
  if ((a->kind == IX_CONST && !a->val) || (b->kind == IX_CONST && !b->val)) return ix_const(g, 0);
  if (a == b) return a;
  if (a->uid > b->uid) { Ix *s = a; a = b; b = s; }
  return mk(g, IX_AND, a, b, NULL);
}

Ix *ix_or(Graph *g, Ix *a, Ix *b) {
  if (!a || !b) return NULL; /* true */
  if ((a->kind == IX_CONST && a->val) || (b->kind == IX_CONST && b->val)) return ix_const(g, 1);
  if (a->kind == IX_CONST) return b;
  if (b->kind == IX_CONST) return a;
  if (a == b) return a;
  if (a->uid > b->uid) { Ix *s = a; a = b; b = s; }
  return mk(g, IX_OR, a, b, NULL);
}

Ix *ix_select(Graph *g, Ix *c, Ix *a, Ix *b) {
  if (!c) return a;
  if (c->kind == IX_CONST) return c->val ? a : b;
  if (a == b) return a;
  return mk(g, IX_SELECT, c, a, b);
}

/* ---- substitution ---- */

static Ix *rebuild(Graph *g, const Ix *e, Ix *a, Ix *b, Ix *c, Ix **args) {
  switch (e->kind) {
  case IX_CONST: case IX_VAR: return (Ix *)e;
  case IX_ADD: return ix_add(g, a, b);
  case IX_MUL: return ix_mul(g, a, b);
  case IX_DIV: return ix_div(g, a, b);
  case IX_MOD: return ix_mod(g, a, b);
  case IX_MIN: return ix_min(g, a, b);
  case IX_MAX: return ix_max(g, a, b);
  case IX_LT: case IX_LE: case IX_EQ: case IX_NE: return ix_cmp(g, e->kind, a, b);
  case IX_AND: return ix_and(g, a, b);
  case IX_OR: { Ix *r = ix_or(g, a, b); return r ? r : ix_const(g, 1); }
  case IX_SELECT: return ix_select(g, a, b, c);
  case IX_LOAD: return ix_load(g, e->tensor, e->nargs, args);
  default: jtc_unreachable();
  }
}

Ix *ix_subst(Graph *g, Ix *e, int n, Ix *const *vals) {
  if (e->kind == IX_VAR) {
    JTC_ASSERT(e->val < n);
    return vals[e->val];
  }
  if (e->maxvar < 0) return e;
  Ix *a = e->a ? ix_subst(g, e->a, n, vals) : NULL;
  Ix *b = e->b ? ix_subst(g, e->b, n, vals) : NULL;
  Ix *c = e->c ? ix_subst(g, e->c, n, vals) : NULL;
  Ix *args[IR_MAX_RANK];
  for (int k = 0; k < e->nargs; k++) args[k] = ix_subst(g, e->args[k], n, vals);
  return rebuild(g, e, a, b, c, args);
}

/* ---- ranges ---- */

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return a > 0 ? INT64_MAX : INT64_MIN;
}
static int64_t sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_mul_overflow(a, b, &r)) return r;
  return ((a < 0) != (b < 0)) ? INT64_MIN : INT64_MAX;
}

static void tensor_range(const Node *t, int64_t *lo, int64_t *hi) {
  *lo = INT64_MIN; *hi = INT64_MAX;
  if (t->kind != NODE_LEAF || t->leaf != LEAF_CONST || !t->data || dt_is_float(t->dtype)) return;
  if (t->numel == 0) { *lo = *hi = 0; return; }
  *lo = INT64_MAX; *hi = INT64_MIN;
  for (int64_t k = 0; k < t->numel; k++) {
    int64_t v = dt_load(t->data, t->dtype, k).i;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
  }
}

void ix_range(const Ix *e, const int64_t *extent, int64_t *lo, int64_t *hi) {
  int64_t al, ah, bl, bh;
  switch (e->kind) {
  case IX_CONST: *lo = *hi = e->val; return;
  case IX_VAR: *lo = 0; *hi = extent[e->val] > 0 ? extent[e->val] - 1 : 0; return;
  case IX_LOAD: tensor_range(e->tensor, lo, hi); return;
  default: break;
  }
  ix_range(e->a, extent, &al, &ah);
  if (e->b) ix_range(e->b, extent, &bl, &bh);
  switch (e->kind) {
  case IX_ADD: *lo = sat_add(al, bl); *hi = sat_add(ah, bh); return;
  case IX_MUL: {
    int64_t p[4] = {sat_mul(al, bl), sat_mul(al, bh), sat_mul(ah, bl), sat_mul(ah, bh)};
    *lo = *hi = p[0];
    for (int k = 1; k < 4; k++) { if (p[k] < *lo) *lo = p[k]; if (p[k] > *hi) *hi = p[k]; }
    return;
  }
  case IX_DIV:
    if (bl == bh && bl > 0) { *lo = ix_floordiv(al, bl); *hi = ix_floordiv(ah, bl); return; }
    if (bl > 0 && al >= 0) { *lo = 0; *hi = ah; return; }
    break;
  case IX_MOD:
    if (bl == bh && bl > 0) {
      if (ix_floordiv(al, bl) == ix_floordiv(ah, bl)) { *lo = floormod(al, bl); *hi = floormod(ah, bl); }
      else { *lo = 0; *hi = bl - 1; }
      return;
    }
    if (bl > 0) { *lo = 0; *hi = bh - 1; return; }
    break;
  case IX_MIN: *lo = al < bl ? al : bl; *hi = ah < bh ? ah : bh; return;
  case IX_MAX: *lo = al > bl ? al : bl; *hi = ah > bh ? ah : bh; return;
  case IX_LT: *lo = ah < bl; *hi = al < bh; return;
  case IX_LE: *lo = ah <= bl; *hi = al <= bh; return;
  case IX_EQ: *lo = (al == ah && bl == bh && al == bl); *hi = !(ah < bl || bh < al); return;
  case IX_NE: *lo = (ah < bl || bh < al); *hi = !(al == ah && bl == bh && al == bl); return;
  case IX_AND: *lo = al && bl; *hi = ah && bh; return;
  case IX_OR: *lo = al || bl; *hi = ah || bh; return;
  case IX_SELECT: {
    int64_t cl, ch;
    ix_range(e->c, extent, &cl, &ch);
    if (al == ah) { if (al) { *lo = bl; *hi = bh; } else { *lo = cl; *hi = ch; } return; }
    *lo = bl < cl ? bl : cl; *hi = bh > ch ? bh : ch;
    return;
  }
  default: break;
  }
  *lo = INT64_MIN; *hi = INT64_MAX;
}

/* ---- range-based simplification ---- */

Ix *ix_simplify(Graph *g, Ix *e, int nvars, const int64_t *extent) {
  if (e->kind == IX_VAR && e->val < nvars && extent[e->val] <= 1) return ix_const(g, 0); /* unit loop */
  if (e->kind == IX_CONST || e->kind == IX_VAR || e->maxvar >= nvars) return e;
  int64_t lo, hi;
  ix_range(e, extent, &lo, &hi);
  if (lo == hi) return ix_const(g, lo);
  Ix *a = e->a ? ix_simplify(g, e->a, nvars, extent) : NULL;
  Ix *b = e->b ? ix_simplify(g, e->b, nvars, extent) : NULL;
  Ix *c = e->c ? ix_simplify(g, e->c, nvars, extent) : NULL;
  Ix *args[IR_MAX_RANK];
  for (int k = 0; k < e->nargs; k++) args[k] = ix_simplify(g, e->args[k], nvars, extent);
  int64_t al = 0, ah = 0, bl = 0, bh = 0;
  if (a) ix_range(a, extent, &al, &ah);
  if (b) ix_range(b, extent, &bl, &bh);
  switch (e->kind) {
  case IX_DIV:
    if (bl == bh && bl > 0) {
      if (al >= 0 && ah < bl) return ix_const(g, 0);                   /* x/c -> 0 when 0<=x<c */
      /* (q*c + r)/c -> q + floor(r/c) when floor(r/c) is fixed */
      Lin l = {0}, q = {0}, r = {0};
      lin_add(g, &l, a, 1);
      for (int i = 0; i < l.n; i++)
        if (l.coef[i] % bl == 0) lin_add(g, &q, l.atom[i], l.coef[i] / bl);
        else lin_add(g, &r, l.atom[i], l.coef[i]);
      r.c = l.c;
      Ix *rest = lin_build(g, &r);
      int64_t rl, rh;
      ix_range(rest, extent, &rl, &rh);
      if (ix_floordiv(rl, bl) == ix_floordiv(rh, bl)) return ix_addc(g, lin_build(g, &q), ix_floordiv(rl, bl));
    }
    break;
  case IX_MOD:
    if (bl == bh && bl > 0 && ix_floordiv(al, bl) == ix_floordiv(ah, bl))     /* x%c -> x-k*c in one period */
      return ix_addc(g, a, -ix_floordiv(al, bl) * bl);
    break;
  case IX_MIN:
    if (ah <= bl) return a;                                            /* min(a,b) -> a when a<=b */
    if (bh <= al) return b;
    break;
  case IX_MAX:
    if (al >= bh) return a;
    if (bl >= ah) return b;
    break;
  case IX_SELECT:
    if (al == ah) return al ? b : c;
    break;
  default: break;
  }
  return rebuild(g, e, a, b, c, args);
}

/* ---- evaluation and queries ---- */

int64_t ix_eval(const Ix *e, const int64_t *vars) {
  switch (e->kind) {
  case IX_CONST: return e->val;
  case IX_VAR: return vars[e->val];
  case IX_SELECT: return ix_eval(e->a, vars) ? ix_eval(e->b, vars) : ix_eval(e->c, vars);
  case IX_AND: return ix_eval(e->a, vars) && ix_eval(e->b, vars);
  case IX_OR: return ix_eval(e->a, vars) || ix_eval(e->b, vars);
  case IX_LOAD: {
    const Node *t = e->tensor;
    JTC_ASSERT(t->kind == NODE_LEAF && t->leaf == LEAF_CONST && t->data);
    int64_t lin = 0;
    for (int k = 0; k < e->nargs; k++) {
      int64_t v = ix_eval(e->args[k], vars);
      if (v < 0 || v >= t->dims[k]) return 0;
      lin = lin * t->dims[k] + v;
    }
    return dt_load(t->data, t->dtype, lin).i;
  }
  default: break;
  }
  int64_t a = ix_eval(e->a, vars), b = ix_eval(e->b, vars);
  switch (e->kind) {
  case IX_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
  case IX_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
  case IX_DIV: return b ? ix_floordiv(a, b) : 0;
  case IX_MOD: return b ? floormod(a, b) : 0;
  case IX_MIN: return a < b ? a : b;
  case IX_MAX: return a > b ? a : b;
  case IX_LT: return a < b;
  case IX_LE: return a <= b;
  case IX_EQ: return a == b;
  case IX_NE: return a != b;
  default: jtc_unreachable();
  }
}

bool ix_uses_var(const Ix *e, int k) {
  if (e->affine) return e->coef[k] != 0;
  if (e->kind == IX_VAR) return e->val == k;
  if (e->maxvar < k) return false;
  if ((e->a && ix_uses_var(e->a, k)) || (e->b && ix_uses_var(e->b, k)) || (e->c && ix_uses_var(e->c, k))) return true;
  for (int j = 0; j < e->nargs; j++)
    if (ix_uses_var(e->args[j], k)) return true;
  return false;
}

bool ix_has_load(const Ix *e) {
  if (e->kind == IX_LOAD) return true;
  return (e->a && ix_has_load(e->a)) || (e->b && ix_has_load(e->b)) || (e->c && ix_has_load(e->c));
}

/* ---- printing (Jittor notation) ---- */

typedef struct { char *p; size_t n, len; } Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->n ? o->n - o->len : 0;
  int w = vsnprintf(o->p ? o->p + (o->len < o->n ? o->len : o->n) : NULL, room, fmt, ap);
  va_end(ap);
  if (w > 0) o->len += (size_t)w;
}

static void pr(Out *o, const Ix *e, int prec);

/* precedence: 1 sum, 2 product, 3 atom */
static void pr_term(Out *o, const Ix *t, bool first) {
  if (t->kind == IX_MUL && t->b->kind == IX_CONST && t->b->val < 0) {
    put(o, "-");
    pr(o, t->a, 2);
    if (t->b->val != -1) put(o, "*%" PRId64, -t->b->val);
    return;
  }
  if (t->kind == IX_CONST && t->val < 0 && !first) { put(o, "-%" PRId64, -t->val); return; }
  if (!first) put(o, "+");
  pr(o, t, 1);
}

static void pr_sum(Out *o, const Ix *e, bool first) {
  if (e->kind == IX_ADD) { pr_sum(o, e->a, first); pr_sum(o, e->b, false); return; }
  pr_term(o, e, first);
}

static void pr(Out *o, const Ix *e, int prec) {
  static const char *cmp[] = {[IX_LT] = "<", [IX_LE] = "<=", [IX_EQ] = "==", [IX_NE] = "!="};
  switch (e->kind) {
  case IX_CONST: put(o, e->val < 0 && prec > 1 ? "(%" PRId64 ")" : "%" PRId64, e->val); return;
  case IX_VAR: put(o, "i%" PRId64, e->val); return;
  case IX_ADD:
    if (prec > 1) put(o, "(");
    pr_sum(o, e, true);
    if (prec > 1) put(o, ")");
    return;
  case IX_MUL: case IX_DIV: case IX_MOD:
    if (prec > 2) put(o, "(");
    pr(o, e->a, 2);
    put(o, "%s", e->kind == IX_MUL ? "*" : e->kind == IX_DIV ? "/" : "%");
    pr(o, e->b, 3);
    if (prec > 2) put(o, ")");
    return;
  case IX_MIN: case IX_MAX:
    put(o, "%s(", e->kind == IX_MIN ? "min" : "max");
    pr(o, e->a, 0); put(o, ","); pr(o, e->b, 0); put(o, ")");
    return;
  case IX_LT: case IX_LE: case IX_EQ: case IX_NE: case IX_AND: case IX_OR:
    put(o, "(");
    pr(o, e->a, 1);
    put(o, "%s", e->kind == IX_AND ? "&&" : e->kind == IX_OR ? "||" : cmp[e->kind]);
    pr(o, e->b, 1);
    put(o, ")");
    return;
  case IX_SELECT:
    put(o, "(");
    pr(o, e->a, 1); put(o, "?"); pr(o, e->b, 1); put(o, ":"); pr(o, e->c, 1);
    put(o, ")");
    return;
  case IX_LOAD:
    if (e->tensor->name) put(o, "%s[", e->tensor->name);
    else put(o, "t%d[", e->tensor->id);
    for (int k = 0; k < e->nargs; k++) { if (k) put(o, ","); pr(o, e->args[k], 0); }
    put(o, "]");
    return;
  default: jtc_unreachable();
  }
}

int ix_print(char *buf, size_t n, const Ix *e) {
  Out o = {buf, n, 0};
  if (buf && n) buf[0] = 0;
  pr(&o, e, 0);
  return (int)o.len;
}

void ix_fprint(FILE *f, const Ix *e) {
  int n = ix_print(NULL, 0, e);
  char *s = malloc((size_t)n + 1);
  if (!s) return;
  ix_print(s, (size_t)n + 1, e);
  fputs(s, f);
  free(s);
}
