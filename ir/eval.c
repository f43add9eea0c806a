/* eval.c: the reference interpreter for the meta-op graph.
 *
 * It defines what every node *means*, one element at a time, with no
 * scheduling: a MAP applies its ops.def function per element in the compute
 * type the generated C uses (float for float32/float16/bfloat16, double for
 * float64, C integer semantics for integers, unsigned where the dtype is);
 * a GATHER evaluates its index maps at every output index and reads the fill
 * value where the index is out of bounds or `cond` is false; a SCATTER starts
 * from the reduction's identity, walks its source in row-major order and
 * combines every element whose target is in bounds and whose `cond` holds.
 * Accumulation uses the compute type and stores once at the end, as a
 * register accumulator in generated code would.
 *
 * Uses: constant folding while a graph is built (ir_fold), and the expected
 * values in unit tests (ir_eval_graph). Buffers come from the graph arena.
 * Index maps that LOAD a tensor are evaluated by ev_ix below, which reads the
 * loaded tensor from the operand buffers (GATHER/SCATTER in[1..]); ix_eval
 * can only read constant tensors.
 */
#include <math.h>
#include <string.h>

#include "ir.h"
#include "ops.h"

/* ---- scalars ---- */

static Scalar sfl(double v)
{
  Scalar s = {v, 0};
  return s;
}

static Scalar sint(int64_t v)
{
  Scalar s = {(double)v, v};
  return s;
}

/* Two's-complement wrapping arithmetic without signed-overflow UB. */
static int64_t wadd(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t wsub(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t wmul(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }

/* floor division and modulo (index maps, MAP_MOD on integers); x/0 gives 0 */
static int64_t floordiv(int64_t a, int64_t b)
{
  if (b == 0) return 0;
  if (b == -1) return wsub(0, a);
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

static int64_t floormod(int64_t a, int64_t b)
{
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

static int64_t ipow(int64_t x, int64_t e)
{
  if (e < 0) return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
  int64_t r = 1;
  while (e) {
    if (e & 1) r = wmul(r, x);
    x = wmul(x, x);
    e >>= 1;
  }
  return r;
}

/* ---- MAP ---- */

/* float32/16/bf16 compute: every operation rounds to float, as "$f" math does */
static double map_f32(MapOp op, float a, float b)
{
  switch (op) {
  case MAP_NEG: return -a;
  case MAP_ABS: return fabsf(a);
  case MAP_SIGN: return (a > 0) - (a < 0);
  case MAP_EXP: return expf(a);
  case MAP_LOG: return logf(a);
  case MAP_SQRT: return sqrtf(a);
  case MAP_RECIP: return 1 / a;
  case MAP_FLOOR: return floorf(a);
  case MAP_CEIL: return ceilf(a);
  case MAP_ROUND: return nearbyintf(a);
  case MAP_SIN: return sinf(a);
  case MAP_COS: return cosf(a);
  case MAP_TAN: return tanf(a);
  case MAP_ASIN: return asinf(a);
  case MAP_ACOS: return acosf(a);
  case MAP_ATAN: return atanf(a);
  case MAP_SINH: return sinhf(a);
  case MAP_COSH: return coshf(a);
  case MAP_TANH: return tanhf(a);
  case MAP_ASINH: return asinhf(a);
  case MAP_ACOSH: return acoshf(a);
  case MAP_ATANH: return atanhf(a);
  case MAP_ERF: return erff(a);
  case MAP_SIGMOID: { float e = expf(-a); float d = 1 + e; return 1 / d; }
  case MAP_ISNAN: return isnan(a) != 0;
  case MAP_ISINF: return isinf(a) != 0;
  case MAP_COPY: return a;
  case MAP_ADD: return a + b;
  case MAP_SUB: return a - b;
  case MAP_MUL: return a * b;
  case MAP_DIV: return a / b;
  case MAP_POW: return powf(a, b);
  case MAP_MAX: return (a != a || a > b) ? a : b; /* NaN propagates, as numpy.maximum */
  case MAP_MIN: return (a != a || a < b) ? a : b;
  case MAP_FMOD: return fmodf(a, b);
  case MAP_MOD: {
    float r = fmodf(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case MAP_EQ: return a == b;
  case MAP_NE: return a != b;
  case MAP_LT: return a < b;
  case MAP_LE: return a <= b;
  case MAP_GT: return a > b;
  case MAP_GE: return a >= b;
  default: jtc_unreachable();
  }
}

static double map_f64(MapOp op, double a, double b)
{
  switch (op) {
  case MAP_NEG: return -a;
  case MAP_ABS: return fabs(a);
  case MAP_SIGN: return (a > 0) - (a < 0);
  case MAP_EXP: return exp(a);
  case MAP_LOG: return log(a);
  case MAP_SQRT: return sqrt(a);
  case MAP_RECIP: return 1 / a;
  case MAP_FLOOR: return floor(a);
  case MAP_CEIL: return ceil(a);
  case MAP_ROUND: return nearbyint(a);
  case MAP_SIN: return sin(a);
  case MAP_COS: return cos(a);
  case MAP_TAN: return tan(a);
  case MAP_ASIN: return asin(a);
  case MAP_ACOS: return acos(a);
  case MAP_ATAN: return atan(a);
  case MAP_SINH: return sinh(a);
  case MAP_COSH: return cosh(a);
  case MAP_TANH: return tanh(a);
  case MAP_ASINH: return asinh(a);
  case MAP_ACOSH: return acosh(a);
  case MAP_ATANH: return atanh(a);
  case MAP_ERF: return erf(a);
  case MAP_SIGMOID: return 1 / (1 + exp(-a));
  case MAP_ISNAN: return isnan(a) != 0;
  case MAP_ISINF: return isinf(a) != 0;
  case MAP_COPY: return a;
  case MAP_ADD: return a + b;
  case MAP_SUB: return a - b;
  case MAP_MUL: return a * b;
  case MAP_DIV: return a / b;
  case MAP_POW: return pow(a, b);
  case MAP_MAX: return (a != a || a > b) ? a : b;
  case MAP_MIN: return (a != a || a < b) ? a : b;
  case MAP_FMOD: return fmod(a, b);
  case MAP_MOD: {
    double r = fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
  case MAP_EQ: return a == b;
  case MAP_NE: return a != b;
  case MAP_LT: return a < b;
  case MAP_LE: return a <= b;
  case MAP_GT: return a > b;
  case MAP_GE: return a >= b;
  default: jtc_unreachable();
  }
}

/* Signed integers and bool, widened to int64 (the store truncates, which
 * matches C's wrap-around for narrower types); u8/u16/u32 fit too. */
static int64_t map_int(MapOp op, int64_t a, int64_t b)
{
  switch (op) {
  case MAP_NEG: return wsub(0, a);
  case MAP_ABS: return a < 0 ? wsub(0, a) : a;
  case MAP_SIGN: return (a > 0) - (a < 0);
  case MAP_FLOOR: case MAP_CEIL: case MAP_ROUND: case MAP_COPY: return a;
  case MAP_ISNAN: case MAP_ISINF: return 0;
  case MAP_NOT: return !a;
  case MAP_BITNOT: return ~a;
  case MAP_ADD: return wadd(a, b);
  case MAP_SUB: return wsub(a, b);
  case MAP_MUL: return wmul(a, b);
  case MAP_DIV: return b == 0 ? 0 : b == -1 ? wsub(0, a) : a / b; /* truncates */
  case MAP_POW: return ipow(a, b);
  case MAP_MAX: return a > b ? a : b;
  case MAP_MIN: return a < b ? a : b;
  case MAP_FMOD: return (b == 0 || b == -1) ? 0 : a % b; /* sign of dividend */
  case MAP_MOD: return floormod(a, b);                   /* sign of divisor */
  case MAP_EQ: return a == b;
  case MAP_NE: return a != b;
  case MAP_LT: return a < b;
  case MAP_LE: return a <= b;
  case MAP_GT: return a > b;
  case MAP_GE: return a >= b;
  case MAP_AND: return a && b;
  case MAP_OR: return a || b;
  case MAP_XOR: return (a != 0) != (b != 0);
  case MAP_BITAND: return a & b;
  case MAP_BITOR: return a | b;
  case MAP_BITXOR: return a ^ b;
  case MAP_SHL: return (b < 0 || b >= 64) ? 0 : (int64_t)((uint64_t)a << b);
  case MAP_SHR: return (b < 0 || b >= 64) ? (a < 0 ? -1 : 0) : a >> b;
  default: jtc_unreachable();
  }
}

/* uint64: the ops whose result differs from the signed computation */
static int64_t map_u64(MapOp op, int64_t sa, int64_t sb)
{
  uint64_t a = (uint64_t)sa, b = (uint64_t)sb;
  switch (op) {
  case MAP_ABS: case MAP_SIGN: return op == MAP_ABS ? sa : a > 0;
  case MAP_DIV: case MAP_FMOD: case MAP_MOD:
    if (b == 0) return 0;
    return (int64_t)(op == MAP_DIV ? a / b : a % b);
  case MAP_MAX: return (int64_t)(a > b ? a : b);
  case MAP_MIN: return (int64_t)(a < b ? a : b);
  case MAP_LT: return a < b;
  case MAP_LE: return a <= b;
  case MAP_GT: return a > b;
  case MAP_GE: return a >= b;
  case MAP_SHR: return b >= 64 ? 0 : (int64_t)(a >> b);
  default: return map_int(op, sa, sb);
  }
}

/* CAST: C conversion from dtype `from` to dtype `to` (float to integer
 * truncates toward zero; NaN and out-of-range values give 0 / saturate
 * instead of C's undefined behaviour). */
static Scalar cast_scalar(Scalar v, Dtype from, Dtype to)
{
  if (dt_is_float(from)) {
    double f = sc_as_f(v, from);
    if (to == DT_BOOL) return sint(f != 0);
    if (dt_is_float(to)) return sfl(f);
    if (isnan(f)) return sint(0);
    if (to == DT_U64 && f >= 9223372036854775808.0)
      return sint(f >= 18446744073709551616.0 ? -1 : (int64_t)(uint64_t)f);
    if (f >= 9223372036854775807.0) return sint(INT64_MAX);
    if (f <= -9223372036854775808.0) return sint(INT64_MIN);
    return sint((int64_t)f);
  }
  int64_t i = sc_as_i(v, from);
  if (to == DT_BOOL) return sint(i != 0);
  if (dt_is_float(to)) {
    if (from == DT_U64) return to == DT_F64 ? sfl((double)(uint64_t)i) : sfl((float)(uint64_t)i);
    return to == DT_F64 ? sfl((double)i) : sfl((float)i);
  }
  return sint(i);
}

static void eval_map(Graph *g, Node *n, void *const *in, void *out)
{
  MapOp op = n->op;
  Dtype it = op == MAP_WHERE ? n->in[1]->dtype : n->in[0]->dtype;
  bool fl = dt_is_float(it);
  const MapOpInfo *info = &map_ops[op];
  if (op != MAP_CAST && op != MAP_WHERE && (fl ? info->c_float : info->c_int) == NULL)
    ir_fail(g, "eval: %s is not defined for %s", info->name, dt_name(it));
  bool bool_out = (info->flags & MAPF_BOOL_OUT) != 0;
  for (int64_t k = 0; k < n->numel; k++) {
    Scalar a[3] = {{0, 0}, {0, 0}, {0, 0}};
    for (int j = 0; j < n->nin && j < 3; j++) a[j] = dt_load(in[j], n->in[j]->dtype, k);
    Scalar r;
    if (op == MAP_WHERE) {
      r = sc_as_i(a[0], n->in[0]->dtype) ? a[1] : a[2];
    } else if (op == MAP_CAST) {
      r = cast_scalar(a[0], it, n->dtype);
    } else if (fl) {
      double x = sc_as_f(a[0], it), y = sc_as_f(a[1], it);
      double v = it == DT_F64 ? map_f64(op, x, y) : map_f32(op, (float)x, (float)y);
      r = bool_out ? sint(v != 0) : sfl(v);
    } else {
      int64_t x = sc_as_i(a[0], it), y = sc_as_i(a[1], it);
      int64_t v = it == DT_U64 ? map_u64(op, x, y) : map_int(op, x, y);
      if (it == DT_BOOL && !bool_out) v = v != 0;
      r = sint(v);
    }
    dt_store(out, n->dtype, k, r);
  }
}

/* ---- index maps with LOADs of operand buffers ---- */

typedef struct {
  Graph *g;
  Node *n;              /* the GATHER/SCATTER; in[k] holds the LOAD tensors */
  void *const *vals;    /* their values */
} IxCtx;

static int64_t ev_ix(const Ix *e, const int64_t *vars, const IxCtx *c);

static int64_t ev_load(const Ix *e, const int64_t *vars, const IxCtx *c)
{
  const Node *t = e->tensor;
  const void *buf = NULL;
  for (int k = 0; k < c->n->nin && !buf; k++)
    if (c->n->in[k] == t) buf = c->vals[k];
  if (!buf && t->kind == NODE_LEAF && t->leaf == LEAF_CONST) buf = t->data;
  if (!buf) ir_fail(c->g, "eval: index map loads node %d, which is not an operand", t->id);
  int64_t lin = 0;
  for (int k = 0; k < e->nargs; k++) {
    int64_t v = ev_ix(e->args[k], vars, c);
    if (v < 0 || v >= t->dims[k]) return 0; /* never read outside the tensor */
    lin = lin * t->dims[k] + v;
  }
  return sc_as_i(dt_load(buf, t->dtype, lin), t->dtype);
}

/* Mirrors ix_eval (floor DIV/MOD, lazy SELECT) but reads LOADs from c. */
static int64_t ev_ix(const Ix *e, const int64_t *vars, const IxCtx *c)
{
  if (e->affine && e->kind > IX_VAR) { /* the cached summary: c0 + sum coef[k]*i_k */
    int64_t v = e->c0;
    for (int k = 0; k <= e->maxvar; k++) v = wadd(v, wmul(e->coef[k], vars[k]));
    return v;
  }
  switch (e->kind) {
  case IX_CONST: return e->val;
  case IX_VAR: return vars[e->val];
  case IX_ADD: return wadd(ev_ix(e->a, vars, c), ev_ix(e->b, vars, c));
  case IX_MUL: return wmul(ev_ix(e->a, vars, c), ev_ix(e->b, vars, c));
  case IX_DIV: return floordiv(ev_ix(e->a, vars, c), ev_ix(e->b, vars, c));
  case IX_MOD: return floormod(ev_ix(e->a, vars, c), ev_ix(e->b, vars, c));
  case IX_MIN: { int64_t a = ev_ix(e->a, vars, c), b = ev_ix(e->b, vars, c); return a < b ? a : b; }
  case IX_MAX: { int64_t a = ev_ix(e->a, vars, c), b = ev_ix(e->b, vars, c); return a > b ? a : b; }
  case IX_LT: return ev_ix(e->a, vars, c) < ev_ix(e->b, vars, c);
  case IX_LE: return ev_ix(e->a, vars, c) <= ev_ix(e->b, vars, c);
  case IX_EQ: return ev_ix(e->a, vars, c) == ev_ix(e->b, vars, c);
  case IX_NE: return ev_ix(e->a, vars, c) != ev_ix(e->b, vars, c);
  case IX_AND: return ev_ix(e->a, vars, c) && ev_ix(e->b, vars, c);
  case IX_OR: return ev_ix(e->a, vars, c) || ev_ix(e->b, vars, c);
  case IX_SELECT: return ev_ix(e->a, vars, c) ? ev_ix(e->b, vars, c) : ev_ix(e->c, vars, c);
  case IX_LOAD: return ev_load(e, vars, c);
  default: jtc_unreachable();
  }
}

/* Advance a row-major multi-index; false after the last one. */
static bool next_index(int rank, const int64_t *dims, int64_t *v)
{
  for (int k = rank - 1; k >= 0; k--) {
    if (++v[k] < dims[k]) return true;
    v[k] = 0;
  }
  return false;
}

/* Linear offset of idx(vars) in t, or -1 when cond is false or out of bounds. */
static int64_t map_offset(Ix *const *idx, const Ix *cond, const int64_t *vars,
                          const Node *t, const IxCtx *c)
{
  if (cond && !ev_ix(cond, vars, c)) return -1;
  int64_t lin = 0;
  for (int k = 0; k < t->rank; k++) {
    int64_t v = ev_ix(idx[k], vars, c);
    if (v < 0 || v >= t->dims[k]) return -1;
    lin = lin * t->dims[k] + v;
  }
  return lin;
}

/* ---- GATHER and SCATTER ---- */

static void eval_gather(Graph *g, Node *n, void *const *in, void *out)
{
  IxCtx c = {g, n, in};
  const Node *src = n->in[0];
  size_t es = dt_size(n->dtype);
  int64_t vars[IR_MAX_RANK] = {0};
  if (n->numel == 0) return;
  int64_t k = 0;
  do {
    int64_t off = map_offset(n->idx, n->cond, vars, src, &c);
    if (off >= 0)
      memcpy((char *)out + k * es, (const char *)in[0] + off * es, es);
    else
      dt_store(out, n->dtype, k, n->fill);
    k++;
  } while (next_index(n->rank, n->dims, vars));
}

static void eval_scatter(Graph *g, Node *n, void *const *in, void *out)
{
  IxCtx c = {g, n, in};
  const Node *src = n->in[0];
  Dtype t = n->dtype;
  bool fl = dt_is_float(t), f32 = fl && t != DT_F64;
  ReduceOp op = n->red;
  if (fl && (op == RED_AND || op == RED_OR || op == RED_XOR))
    ir_fail(g, "eval: scatter-%s is not defined for %s", reduce_names[op], dt_name(t));
  /* accumulators in the compute type: double (rounded to float for f32/f16/bf16) or int64 */
  double *af = fl ? ir_alloc_array(g, (size_t)n->numel + 1, sizeof(double)) : NULL;
  int64_t *ai = fl ? NULL : ir_alloc_array(g, (size_t)n->numel + 1, sizeof(int64_t));
  Scalar id = reduce_identity(op, t);
  for (int64_t k = 0; k < n->numel; k++) {
    if (fl) af[k] = sc_as_f(id, t);
    else ai[k] = sc_as_i(id, t);
  }
  int64_t vars[IR_MAX_RANK] = {0};
  int64_t j = 0;
  if (n->numel > 0 && src->numel > 0) do {
    int64_t o = map_offset(n->idx, n->cond, vars, n, &c);
    if (o >= 0) {
      Scalar s = dt_load(in[0], t, j);
      if (fl) {
        double a = af[o], v = sc_as_f(s, t), r;
        switch (op) {
        case RED_ADD: r = f32 ? (float)((float)a + (float)v) : a + v; break;
        case RED_MUL: r = f32 ? (float)((float)a * (float)v) : a * v; break;
        case RED_MAX: r = (a != a || a > v) ? a : v; break;
        case RED_MIN: r = (a != a || a < v) ? a : v; break;
        case RED_ASSIGN: r = v; break;
        default: jtc_unreachable();
        }
        af[o] = r;
      } else {
        int64_t a = ai[o], v = sc_as_i(s, t), r;
        bool u = t == DT_U64;
        switch (op) {
        case RED_ADD: r = wadd(a, v); break;
        case RED_MUL: r = wmul(a, v); break;
        case RED_MAX: r = (u ? (uint64_t)a > (uint64_t)v : a > v) ? a : v; break;
        case RED_MIN: r = (u ? (uint64_t)a < (uint64_t)v : a < v) ? a : v; break;
        case RED_AND: r = a & v; break;
        case RED_OR: r = a | v; break;
        case RED_XOR: r = a ^ v; break;
        case RED_ASSIGN: r = v; break;
        default: jtc_unreachable();
        }
        ai[o] = r;
      }
    }
    j++;
  } while (next_index(src->rank, src->dims, vars));
  for (int64_t k = 0; k < n->numel; k++)
    dt_store(out, t, k, fl ? sfl(af[k]) : sint(t == DT_BOOL ? ai[k] != 0 : ai[k]));
}

/* ---- public entry points ---- */

void *ir_eval_node(Graph *g, Node *n, void *const *in_vals)
{
  size_t es = dt_size(n->dtype);
  if (n->kind == NODE_LEAF) {
    if (n->leaf != LEAF_INPUT) return n->data;
    ir_fail(g, "eval: input '%s' has no value", n->name ? n->name : "?");
  }
  if (ir_is_string_kernel(n)) {
    void *out = ir_alloc_array(g, (size_t)(n->numel > 0 ? n->numel : 1), es);
    ir_eval_string(g, n, in_vals[0], out);
    return out;
  }
  if (n->kind == NODE_OPAQUE)
    ir_fail(g, "eval: opaque kernel '%s' is not evaluable", n->opaque_name ? n->opaque_name : "?");
  void *out = ir_alloc_array(g, (size_t)(n->numel > 0 ? n->numel : 1), es);
  switch (n->kind) {
  case NODE_MAP: eval_map(g, n, in_vals, out); break;
  case NODE_GATHER: eval_gather(g, n, in_vals, out); break;
  case NODE_SCATTER: eval_scatter(g, n, in_vals, out); break;
  default: jtc_unreachable();
  }
  return out;
}

/* Evaluates only what the outputs need, in creation order (a topological order). */
void ir_eval_graph(Graph *g, void *const *inputs, void **outputs)
{
  int maxid = 0, count = 0;
  for (Node *n = g->first; n; n = n->next) {
    if (n->id > maxid) maxid = n->id;
    count++;
  }
  Node **order = ir_alloc_array(g, (size_t)count + 1, sizeof(Node *));
  void **val = ir_alloc_array(g, (size_t)maxid + 1, sizeof(void *));
  bool *need = ir_alloc_array(g, (size_t)maxid + 1, sizeof(bool));
  int m = 0;
  for (Node *n = g->first; n; n = n->next) order[m++] = n;
  for (int k = 0; k < g->noutputs; k++) need[g->outputs[k]->id] = true;
  for (int k = m - 1; k >= 0; k--)
    if (need[order[k]->id])
      for (int j = 0; j < order[k]->nin; j++) need[order[k]->in[j]->id] = true;
  void *ins[64];
  for (int k = 0; k < m; k++) {
    Node *n = order[k];
    if (!need[n->id]) continue;
    if (n->kind == NODE_LEAF) {
      if (n->leaf != LEAF_INPUT) {
        val[n->id] = n->data;
      } else {
        if (n->input_index < 0 || n->input_index >= g->ninputs || !inputs)
          ir_fail(g, "eval: input '%s' has no value", n->name ? n->name : "?");
        val[n->id] = inputs[n->input_index];
      }
      continue;
    }
    void **iv = n->nin <= 64 ? ins : ir_alloc_array(g, (size_t)n->nin, sizeof(void *));
    for (int j = 0; j < n->nin; j++) iv[j] = val[n->in[j]->id];
    val[n->id] = ir_eval_node(g, n, iv);
  }
  for (int k = 0; k < g->noutputs; k++) {
    Node *o = g->outputs[k];
    size_t bytes = (size_t)o->numel * dt_size(o->dtype);
    outputs[k] = ir_alloc(g, bytes ? bytes : 1);
    memcpy(outputs[k], val[o->id], bytes);
  }
}

bool ir_is_const(const Node *n)
{
  return n->kind == NODE_LEAF && n->leaf == LEAF_CONST;
}

Node *ir_fold(Graph *g, Node *n)
{
  if (n->kind == NODE_LEAF || (n->kind == NODE_OPAQUE && !ir_is_string_kernel(n)) || n->numel > g->max_const_fold)
    return n;
  void *ins[64];
  if (n->nin > 64) return n;
  for (int j = 0; j < n->nin; j++) {
    if (!ir_is_const(n->in[j])) return n;
    ins[j] = n->in[j]->data;
  }
  void *data = ir_eval_node(g, n, ins);
  Node *c = ir_const(g, n->dtype, n->rank, n->dims, data);
  c->name = n->name;
  c->origin = n->origin;
  c->origin_op = n->origin_op;
  return c;
}
