/* fuzz_ix.c: a differential target for the index-expression code (ir/ix.c).
 *
 * The input decodes (a stack machine, one opcode byte each) into a plain
 * expression tree over up to 4 loop variables with extents 1..7: constants,
 * +, -, *, floor div, floor mod, min, max, <, <=, ==, !=, &&, ||, select, and
 * a LOAD from a small constant integer tensor. Operands of && and || are truth
 * values, as ir.h requires (others are wrapped in `!= 0`). The same tree is built through
 * the hash-consing constructors (ix_add, ix_div, ..., which already
 * canonicalize) and then run through ix_simplify with the extents. At every
 * point of the domain:
 *   - a reference evaluator on the plain tree (checked arithmetic, floor
 *     semantics) gives the truth; inputs that divide by zero, index the tensor
 *     out of bounds or overflow 2^62 somewhere are skipped (they are undefined
 *     in generated code too);
 *   - ix_eval of the built and of the simplified expression must equal it;
 *   - ix_range of both must contain it.
 * Any difference aborts with the expressions printed.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "tests/fuzz/fuzz.h"

#define MAXN 48 /* tree nodes */
#define NV 4
#define LIM ((int64_t)1 << 62)

enum { T_CONST, T_VAR, T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_MIN, T_MAX, T_LT, T_LE, T_EQ, T_NE, T_AND, T_OR, T_SEL, T_LOAD, T_NKINDS };
typedef struct T { int kind; int64_t v; struct T *a, *b, *c; } T;

/* the LOAD tensor: int32 [3][4] with values derived from the input */
#define LD0 3
#define LD1 4

typedef struct { bool bad; } Ev;

static int64_t fdiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static int64_t chk(Ev *ev, int64_t v) {
  if (v > LIM || v < -LIM) ev->bad = true;
  return v;
}

static int64_t ref(Ev *ev, const T *t, const int64_t *x, const int32_t *tab) {
  if (ev->bad) return 0;
  int64_t a, b, r;
  switch (t->kind) {
  case T_CONST: return t->v;
  case T_VAR: return x[t->v];
  case T_SEL: return ref(ev, t->a, x, tab) ? ref(ev, t->b, x, tab) : ref(ev, t->c, x, tab);
  case T_AND: return ref(ev, t->a, x, tab) && ref(ev, t->b, x, tab);
  case T_OR: return ref(ev, t->a, x, tab) || ref(ev, t->b, x, tab);
  case T_LOAD:
    a = ref(ev, t->a, x, tab);
    b = ref(ev, t->b, x, tab);
    if (a < 0 || a >= LD0 || b < 0 || b >= LD1) { ev->bad = true; return 0; }
    return tab[a * LD1 + b];
  default: break;
  }
  a = ref(ev, t->a, x, tab);
  b = ref(ev, t->b, x, tab);
  if (ev->bad) return 0;
  switch (t->kind) {
  case T_ADD: if (__builtin_add_overflow(a, b, &r)) ev->bad = true; return chk(ev, r);
  case T_SUB: if (__builtin_sub_overflow(a, b, &r)) ev->bad = true; return chk(ev, r);
  case T_MUL: if (__builtin_mul_overflow(a, b, &r)) ev->bad = true; return chk(ev, r);
  case T_DIV: if (!b) { ev->bad = true; return 0; } return fdiv(a, b);
  case T_MOD: if (!b) { ev->bad = true; return 0; } return a - fdiv(a, b) * b;
  case T_MIN: return a < b ? a : b;
  case T_MAX: return a > b ? a : b;
  case T_LT: return a < b;
  case T_LE: return a <= b;
  case T_EQ: return a == b;
  case T_NE: return a != b;
  default: abort();
  }
}

/* The plain tree in C syntax (floor / and %), for failure messages. */
static void tprint(char *buf, size_t n, size_t *len, const T *t) {
  static const char *const ops[T_NKINDS] = {[T_ADD] = "+", [T_SUB] = "-", [T_MUL] = "*", [T_DIV] = "/", [T_MOD] = "%",
                                            [T_LT] = "<", [T_LE] = "<=", [T_EQ] = "==", [T_NE] = "!=", [T_AND] = "&&", [T_OR] = "||"};
#define OUT(...) (*len += (size_t)snprintf(buf + (*len < n ? *len : n), *len < n ? n - *len : 0, __VA_ARGS__))
  switch (t->kind) {
  case T_CONST: OUT("%" PRId64, t->v); return;
  case T_VAR: OUT("i%" PRId64, t->v); return;
  case T_MIN: case T_MAX: case T_LOAD:
    OUT("%s(", t->kind == T_MIN ? "min" : t->kind == T_MAX ? "max" : "T");
    tprint(buf, n, len, t->a); OUT(","); tprint(buf, n, len, t->b); OUT(")");
    return;
  case T_SEL:
    OUT("(");
    tprint(buf, n, len, t->a); OUT("?"); tprint(buf, n, len, t->b); OUT(":"); tprint(buf, n, len, t->c);
    OUT(")");
    return;
  default:
    OUT("(");
    tprint(buf, n, len, t->a); OUT("%s", ops[t->kind]); tprint(buf, n, len, t->b);
    OUT(")");
    return;
  }
#undef OUT
}

static Ix *build(Graph *g, const T *t, Node *tensor) {
  switch (t->kind) {
  case T_CONST: return ix_const(g, t->v);
  case T_VAR: return ix_var(g, (int)t->v);
  default: break;
  }
  Ix *a = build(g, t->a, tensor), *b = build(g, t->b, tensor);
  switch (t->kind) {
  case T_ADD: return ix_add(g, a, b);
  case T_SUB: return ix_sub(g, a, b);
  case T_MUL: return ix_mul(g, a, b);
  case T_DIV: return ix_div(g, a, b);
  case T_MOD: return ix_mod(g, a, b);
  case T_MIN: return ix_min(g, a, b);
  case T_MAX: return ix_max(g, a, b);
  case T_LT: return ix_cmp(g, IX_LT, a, b);
  case T_LE: return ix_cmp(g, IX_LE, a, b);
  case T_EQ: return ix_cmp(g, IX_EQ, a, b);
  case T_NE: return ix_cmp(g, IX_NE, a, b);
  case T_AND: return ix_and(g, a, b);
  case T_OR: { Ix *r = ix_or(g, a, b); return r ? r : ix_const(g, 1); }
  case T_SEL: return ix_select(g, a, b, build(g, t->c, tensor));
  case T_LOAD: { Ix *args[2] = {a, b}; return ix_load(g, tensor, 2, args); }
  default: abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzIn in = {data, size};
  int nv = (int)fz_range(&in, 1, NV);
  int64_t ext[NV] = {1, 1, 1, 1};
  for (int k = 0; k < nv; k++) ext[k] = fz_range(&in, 1, 7);
  int32_t tab[LD0 * LD1];
  for (int k = 0; k < LD0 * LD1; k++) tab[k] = (int32_t)fz_range(&in, -8, 8);

  /* decode: a stack machine over at most MAXN nodes (and their `!= 0` wrappers) */
  T pool[3 * MAXN];
  T *stack[MAXN];
  int np = 0, sp = 0;
  static const int arity[T_NKINDS] = {0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2};
  while (in.n && np < MAXN) {
    uint8_t op = fz_u8(&in);
    int kind = op % T_NKINDS;
    if (sp < arity[kind]) kind = (op >> 5) & 1 ? T_VAR : T_CONST; /* not enough operands: push a leaf */
    T *t = &pool[np++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    if (kind == T_CONST) {
      uint8_t c = fz_u8(&in);
      t->v = c & 0x80 ? ((int64_t)(c & 0x7f) - 64) * 1000003 : (int64_t)c - 64; /* -64..63, or large */
    } else if (kind == T_VAR) {
      t->v = fz_u8(&in) % nv;
    } else {
      int ar = arity[kind];
      if (ar == 3) t->c = stack[--sp];
      t->b = stack[--sp];
      t->a = stack[--sp];
      if (kind == T_AND || kind == T_OR) {
        T **ops[2] = {&t->a, &t->b};
        for (int k = 0; k < 2; k++) {
          T *o = *ops[k];
          if ((o->kind >= T_LT && o->kind <= T_OR) || (o->kind == T_CONST && (o->v == 0 || o->v == 1))) continue;
          T *zero = &pool[np++], *ne = &pool[np++];
          *zero = (T){T_CONST, 0, NULL, NULL, NULL};
          *ne = (T){T_NE, 0, o, zero, NULL};
          *ops[k] = ne;
        }
      }
    }
    stack[sp++] = t;
  }
  if (sp == 0) return 0;
  const T *root = stack[sp - 1];

  /* the truth at every point; skip undefined inputs */
  int64_t npts = 1;
  for (int k = 0; k < nv; k++) npts *= ext[k];
  int64_t *truth = malloc((size_t)npts * sizeof *truth);
  for (int64_t p = 0; p < npts; p++) {
    int64_t x[NV] = {0}, r = p;
    for (int k = nv - 1; k >= 0; k--) x[k] = r % ext[k], r /= ext[k];
    Ev ev = {false};
    truth[p] = ref(&ev, root, x, tab);
    if (ev.bad) {
      free(truth);
      return 0;
    }
  }

  Graph *g = ir_graph_new();
  jmp_buf jb;
  g->on_error = &jb;
  if (setjmp(jb)) { /* a constructor refused (division by a constant 0, 64-bit overflow): fine */
    free(truth);
    ir_graph_free(g);
    return 0;
  }
  int64_t dims[2] = {LD0, LD1};
  Node *tensor = ir_const(g, DT_I32, 2, dims, tab);
  tensor->name = "T";
  Ix *built = build(g, root, tensor);
  Ix *simp = ix_simplify(g, built, nv, ext);
  Ix *simp2 = ix_simplify(g, simp, nv, ext);
  int64_t lo[3], hi[3];
  ix_range(built, ext, &lo[0], &hi[0]);
  ix_range(simp, ext, &lo[1], &hi[1]);
  ix_range(simp2, ext, &lo[2], &hi[2]);
  for (int64_t p = 0; p < npts; p++) {
    int64_t x[NV] = {0}, r = p;
    for (int k = nv - 1; k >= 0; k--) x[k] = r % ext[k], r /= ext[k];
    const Ix *es[3] = {built, simp, simp2};
    static const char *const names[3] = {"built", "simplified", "simplified twice"};
    for (int j = 0; j < 3; j++) {
      int64_t v = ix_eval(es[j], x);
      const char *why = v != truth[p] ? "value" : truth[p] < lo[j] || truth[p] > hi[j] ? "range" : NULL;
      if (!why) continue;
      char b0[2048], b1[2048], b2[2048], bt[2048];
      size_t tl = 0;
      tprint(bt, sizeof bt, &tl, root);
      ix_print(b0, sizeof b0, built);
      ix_print(b1, sizeof b1, simp);
      ix_print(b2, sizeof b2, simp2);
      fuzz_fail("fuzz_ix: %s mismatch (%s) at i = (%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ") of extents (%" PRId64
                ",%" PRId64 ",%" PRId64 ",%" PRId64 "): truth %" PRId64 ", %s gives %" PRId64 ", range [%" PRId64
                ", %" PRId64 "]\n  tree: %s\n  built: %s\n  simplified: %s\n  simplified twice: %s",
                names[j], why, x[0], x[1], x[2], x[3], ext[0], ext[1], ext[2], ext[3], truth[p], names[j], v, lo[j],
                hi[j], bt, b0, b1, b2);
    }
  }
  free(truth);
  ir_graph_free(g);
  return 0;
}
