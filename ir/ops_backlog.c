/* ops_backlog.c: constructors for ONNX's remaining odd operators: TopK,
 * TfIdfVectorizer, and the ops whose output *shape* depends on input values
 * (NonZero, Unique, NonMaxSuppression), which a static-shape compiler can only
 * evaluate at compile time, over constant inputs.
 *
 *   topk     rank_i = #{j: x_j beats x_i} + #{j < i: x_j == x_i}, a SCATTER(add)
 *            over the domain [x.., j] (j a second copy of the axis) of a MAP
 *            comparison of two GATHERs of x; then values and indices are each one
 *            SCATTER(assign) of x (of i) to position rank_i along the axis, kept
 *            where rank_i < k: the scatter's map reads rank through IX_LOAD.
 *            Ranks are a permutation (ties go to the lower index), so each kept
 *            output position is written exactly once.
 *   tfidf    for each n-gram length n and skip distance d, a match of pool
 *            entry e at position p is AND_t (x[p + t*d] == pool[e][t]): MAP
 *            equality of a GATHER of x and a GATHER of the constant pool column
 *            over the domain [batch, d-1, p, e]; a SCATTER(add) counts matches
 *            into the entry's output column (a constant table read by IX_LOAD),
 *            keeping positions whose last element is inside the row.
 *   nonzero, unique, nms
 *            plain C over constant data, the result an ir_const.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* ---- TopK ---- */

void ir_topk(Graph *g, Node *x, int axis, int64_t k, bool largest, Node **values, Node **indices)
{
  int r = x->rank;
  if (r < 1) ir_fail(g, "TopK: input must have at least 1 dim");
  if (r >= IR_MAX_RANK) ir_fail(g, "TopK: input rank %d exceeds %d", r, IR_MAX_RANK - 1);
  if (axis < 0 || axis >= r) ir_fail(g, "TopK: axis %d is out of range for rank %d", axis, r);
  if (x->dtype == DT_BOOL) ir_fail(g, "TopK: input is bool, not a number");
  int64_t n = x->dims[axis];
  if (k < 1 || k > n) ir_fail(g, "TopK: k = %lld is outside [1, %lld] (the axis length)", (long long)k, (long long)n);

  /* domain [x dims.., n]: i is the axis variable, j the last one */
  int64_t dd[IR_MAX_RANK];
  Ix *vi[IR_MAX_RANK], *vj[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    dd[d] = x->dims[d];
    vi[d] = vj[d] = ix_var(g, d);
  }
  dd[r] = n;
  vj[axis] = ix_var(g, r);
  Node *xi = ir_gather(g, x, r + 1, dd, vi, NULL, sc_i(0));
  Node *xj = ir_gather(g, x, r + 1, dd, vj, NULL, sc_i(0));
  Node *pair[2] = {xj, xi};
  Node *beats = ir_map(g, largest ? MAP_GT : MAP_LT, DT_UNDEF, 2, pair);
  Node *eq = ir_map(g, MAP_EQ, DT_UNDEF, 2, pair);
  Node *before = ir_gather(g, ir_scalar(g, DT_BOOL, 1), r + 1, dd, NULL,
                           ix_cmp(g, IX_LT, ix_var(g, r), ix_var(g, axis)), sc_i(0));
  Node *tie_in[2] = {eq, before};
  Node *tie = ir_map(g, MAP_AND, DT_UNDEF, 2, tie_in);
  Node *or_in[2] = {beats, tie};
  Node *ahead = ir_cast(g, ir_map(g, MAP_OR, DT_UNDEF, 2, or_in), DT_I64);
  Node *rank = ir_scatter(g, ahead, RED_ADD, r, x->dims, vi, NULL);

  /* write x_i / i to rank_i where rank_i < k */
  int64_t od[IR_MAX_RANK];
  Ix *widx[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    od[d] = d == axis ? k : x->dims[d];
    widx[d] = vi[d];
  }
  Ix *ri = ix_load(g, rank, r, vi);
  widx[axis] = ri;
  Ix *keep = ix_cmp(g, IX_LT, ri, ix_const(g, k));
  if (values) *values = ir_scatter(g, x, RED_ASSIGN, r, od, widx, keep);
  if (indices) {
    int64_t *iota = ir_alloc_array(g, (size_t)n, sizeof *iota);
    for (int64_t t = 0; t < n; t++) iota[t] = t;
    Ix *ax = ix_var(g, axis);
    Node *pos = ir_gather(g, ir_const(g, DT_I64, 1, &n, iota), r, x->dims, &ax, NULL, sc_i(0));
    *indices = ir_scatter(g, pos, RED_ASSIGN, r, od, widx, keep);
  }
}

/* ---- TfIdfVectorizer ---- */

Node *ir_tfidf(Graph *g, Node *x, const TfIdfParams *p)
{
  if (x->dtype != DT_I32 && x->dtype != DT_I64)
    ir_fail(g, "TfIdfVectorizer: input is %s; only int32 and int64 are supported", dt_name(x->dtype));
  if (x->rank != 1 && x->rank != 2) ir_fail(g, "TfIdfVectorizer: input must be 1-D or 2-D, it is %d-D", x->rank);
  if (p->min_gram < 1 || p->max_gram < p->min_gram)
    ir_fail(g, "TfIdfVectorizer: gram lengths [%lld, %lld] are not 1 <= min <= max", (long long)p->min_gram,
            (long long)p->max_gram);
  if (p->max_skip < 0) ir_fail(g, "TfIdfVectorizer: max_skip_count %lld is negative", (long long)p->max_skip);
  if (p->ncounts < 1) ir_fail(g, "TfIdfVectorizer: ngram_counts is empty");
  if (p->nindexes < 1) ir_fail(g, "TfIdfVectorizer: ngram_indexes is empty");
  int64_t cout = 0;
  for (int64_t e = 0; e < p->nindexes; e++) {
    if (p->ngram_indexes[e] < 0)
      ir_fail(g, "TfIdfVectorizer: ngram_indexes[%lld] = %lld is negative", (long long)e, (long long)p->ngram_indexes[e]);
    if (p->ngram_indexes[e] + 1 > cout) cout = p->ngram_indexes[e] + 1;
  }
  if (cout > ((int64_t)1 << 32)) ir_fail(g, "TfIdfVectorizer: output width %lld is too large", (long long)cout);
  if (p->mode != TFIDF_TF && p->weights && p->nweights < cout)
    ir_fail(g, "TfIdfVectorizer: %lld weights for %lld output columns", (long long)p->nweights, (long long)cout);

  bool batched = x->rank == 2;
  int64_t nb = batched ? x->dims[0] : 1, len = x->dims[x->rank - 1];
  int64_t rows2[2] = {nb, len};
  Node *x2 = ir_reshape(g, x, 2, rows2);
  int64_t od[2] = {nb, cout};
  Node *acc = NULL;
  int64_t ordinal = 0; /* n-grams of shorter lengths, counted so far */
  for (int64_t n = 1; n <= p->ncounts; n++) {
    int64_t start = p->ngram_counts[n - 1], end = n < p->ncounts ? p->ngram_counts[n] : p->npool;
    if (start < 0 || end < start || end > p->npool)
      ir_fail(g, "TfIdfVectorizer: ngram_counts[%lld] = %lld does not fit a pool of %lld", (long long)(n - 1),
              (long long)start, (long long)p->npool);
    if ((end - start) % n)
      ir_fail(g, "TfIdfVectorizer: %lld pool values for %lld-grams is not a multiple of %lld", (long long)(end - start),
              (long long)n, (long long)n);
    int64_t ne = (end - start) / n;
    if (ordinal + ne > p->nindexes)
      ir_fail(g, "TfIdfVectorizer: the pool has more n-grams than ngram_indexes' %lld", (long long)p->nindexes);
    if (n < p->min_gram || n > p->max_gram || ne == 0 || n > len) {
      ordinal += ne;
      continue;
    }
    /* domain [batch, skip, position, entry]; skip distance d = i1 + 1 (unigrams: d = 1 only) */
    int64_t nd = n == 1 ? 1 : p->max_skip + 1;
    int64_t dom[4] = {nb, nd, len, ne};
    Ix *v0 = ix_var(g, 0), *v1 = ix_var(g, 1), *v2 = ix_var(g, 2), *v3 = ix_var(g, 3);
    Ix *dist = ix_addc(g, v1, 1);
    Node *match = NULL;
    for (int64_t t = 0; t < n; t++) {
      void *col = ir_alloc_array(g, (size_t)ne, dt_size(x->dtype));
      for (int64_t e = 0; e < ne; e++) dt_store(col, x->dtype, e, sc_i(p->pool[start + e * n + t]));
      Node *pc = ir_const(g, x->dtype, 1, &ne, col);
      Ix *xi[2] = {v0, ix_add(g, v2, ix_mul(g, ix_const(g, t), dist))};
      Node *pair[2] = {ir_gather(g, x2, 4, dom, xi, NULL, sc_i(0)), ir_gather(g, pc, 4, dom, &v3, NULL, sc_i(0))};
      Node *eq = ir_map(g, MAP_EQ, DT_UNDEF, 2, pair);
      if (match) {
        Node *both[2] = {match, eq};
        match = ir_map(g, MAP_AND, DT_UNDEF, 2, both);
      } else {
        match = eq;
      }
    }
    int64_t *cols = ir_alloc_array(g, (size_t)ne, sizeof *cols);
    for (int64_t e = 0; e < ne; e++) cols[e] = p->ngram_indexes[ordinal + e];
    Ix *sidx[2] = {v0, ix_load(g, ir_const(g, DT_I64, 1, &ne, cols), 1, &v3)};
    Ix *inside = ix_cmp(g, IX_LT, ix_add(g, v2, ix_mul(g, ix_const(g, n - 1), dist)), ix_const(g, len));
    Node *cnt = ir_scatter(g, ir_cast(g, match, DT_F32), RED_ADD, 2, od, sidx, inside);
    acc = acc ? ir_binary(g, MAP_ADD, acc, cnt) : cnt;
    ordinal += ne;
  }
  if (ordinal != p->nindexes)
    ir_fail(g, "TfIdfVectorizer: the pool holds %lld n-grams but ngram_indexes has %lld", (long long)ordinal,
            (long long)p->nindexes);
  if (!acc) acc = ir_broadcast(g, ir_scalar(g, DT_F32, 0), 2, od);
  if (p->mode != TFIDF_TF) {
    float *w = ir_alloc_array(g, (size_t)cout, sizeof *w);
    for (int64_t e = 0; e < cout; e++) w[e] = p->weights ? (float)p->weights[e] : 1.0f;
    Node *wn = ir_const(g, DT_F32, 1, &cout, w);
    if (p->mode == TFIDF_IDF) {
      Node *hit = ir_binary(g, MAP_GT, acc, ir_scalar(g, DT_F32, 0));
      acc = ir_where(g, hit, wn, ir_scalar(g, DT_F32, 0));
    } else {
      acc = ir_binary(g, MAP_MUL, acc, wn);
    }
  }
  return batched ? acc : ir_reshape(g, acc, 1, &cout);
}

/* ---- value-dependent output shapes, evaluated over constants ---- */

static void need_const(Graph *g, const char *op, const char *what, const Node *x)
{
  if (!ir_is_const(x))
    ir_fail(g, "%s: output shape depends on the values of %s, which is not a constant; jtc compiles static shapes only",
            op, what);
}

/* Compare elements a and b of a constant: -1, 0, 1 (NaN sorts last, equal to NaN;
 * strings by their bytes, which for UTF-8 is code point order, as numpy sorts). */
static int cmp_elem(const Node *x, int64_t a, int64_t b)
{
  Scalar u = dt_load(x->data, x->dtype, a), v = dt_load(x->data, x->dtype, b);
  if (x->dtype == DT_STRING) {
    int c = strcmp((const char *)(intptr_t)u.i, (const char *)(intptr_t)v.i);
    return (c > 0) - (c < 0);
  }
  if (dt_is_float(x->dtype)) {
    bool un = isnan(u.f), vn = isnan(v.f);
    if (un || vn) return un == vn ? 0 : un ? 1 : -1;
    return u.f < v.f ? -1 : u.f > v.f;
  }
  if (x->dtype == DT_U64) return (uint64_t)u.i < (uint64_t)v.i ? -1 : (uint64_t)u.i > (uint64_t)v.i;
  return u.i < v.i ? -1 : u.i > v.i;
}

Node *ir_nonzero(Graph *g, Node *x)
{
  need_const(g, "NonZero", "its input", x);
  if (x->dtype == DT_STRING) ir_fail(g, "NonZero of a string tensor is not supported");
  if (x->rank < 1) ir_fail(g, "NonZero: input must have at least 1 dim");
  int64_t nnz = 0;
  for (int64_t e = 0; e < x->numel; e++) {
    Scalar s = dt_load(x->data, x->dtype, e);
    nnz += dt_is_float(x->dtype) ? s.f != 0 : s.i != 0;
  }
  int64_t od[2] = {x->rank, nnz};
  int64_t *v = ir_alloc_array(g, (size_t)(x->rank * nnz + 1), sizeof *v);
  int64_t col = 0;
  for (int64_t e = 0; e < x->numel; e++) {
    Scalar s = dt_load(x->data, x->dtype, e);
    if (dt_is_float(x->dtype) ? s.f == 0 : s.i == 0) continue;
    int64_t rest = e;
    for (int d = x->rank - 1; d >= 0; d--) {
      v[d * nnz + col] = rest % x->dims[d];
      rest /= x->dims[d];
    }
    col++;
  }
  return ir_const(g, DT_I64, 2, od, v);
}

/* Slices of a constant along an axis: [outer, n, inner]; compare slices a, b lexicographically. */
typedef struct { const Node *x; int64_t outer, n, inner; } Slices;

static int cmp_slice(const Slices *s, int64_t a, int64_t b)
{
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t i = 0; i < s->inner; i++) {
      int c = cmp_elem(s->x, (o * s->n + a) * s->inner + i, (o * s->n + b) * s->inner + i);
      if (c) return c;
    }
  return 0;
}

void ir_unique(Graph *g, Node *x, bool has_axis, int axis, bool sorted, Node **y, Node **indices, Node **inverse,
               Node **counts)
{
  need_const(g, "Unique", "its input", x);
  Slices s = {x, 1, x->numel, 1};
  if (has_axis) {
    if (axis < 0 || axis >= x->rank) ir_fail(g, "Unique: axis %d is out of range for rank %d", axis, x->rank);
    s.n = x->dims[axis];
    for (int d = 0; d < axis; d++) s.outer *= x->dims[d];
    for (int d = axis + 1; d < x->rank; d++) s.inner *= x->dims[d];
  }
  int64_t n = s.n;
  size_t cnt = (size_t)(n > 0 ? n : 1);
  /* first[k]: the unique slice number of slice k; reps: first occurrences in input order */
  int64_t *reps = ir_alloc_array(g, cnt, sizeof *reps), *inv = ir_alloc_array(g, cnt, sizeof *inv);
  int64_t *num = ir_alloc_array(g, cnt, sizeof *num);
  int64_t nu = 0;
  for (int64_t k = 0; k < n; k++) {
    int64_t u = 0;
    while (u < nu && cmp_slice(&s, reps[u], k)) u++;
    if (u == nu) reps[nu++] = k;
    inv[k] = u;
    num[u]++;
  }
  /* order: position of each unique in the output (sorted: by value; else first occurrence) */
  int64_t *order = ir_alloc_array(g, cnt, sizeof *order), *where = ir_alloc_array(g, cnt, sizeof *where);
  for (int64_t u = 0; u < nu; u++) order[u] = u;
  if (sorted) /* insertion sort: stable, and the sizes here are small */
    for (int64_t a = 1; a < nu; a++)
      for (int64_t b = a; b > 0 && cmp_slice(&s, reps[order[b - 1]], reps[order[b]]) > 0; b--) {
        int64_t t = order[b];
        order[b] = order[b - 1];
        order[b - 1] = t;
      }
  for (int64_t u = 0; u < nu; u++) where[order[u]] = u;

  if (y) {
    int64_t yd[IR_MAX_RANK];
    int yr = has_axis ? x->rank : 1;
    if (has_axis) memcpy(yd, x->dims, (size_t)x->rank * sizeof *yd);
    yd[has_axis ? axis : 0] = nu;
    size_t es = dt_size(x->dtype), sl = (size_t)s.inner * es;
    char *yv = ir_alloc_array(g, (size_t)(s.outer * nu * s.inner + 1), es);
    for (int64_t o = 0; o < s.outer; o++)
      for (int64_t u = 0; u < nu; u++)
        memcpy(yv + (size_t)((o * nu + u) * s.inner) * es,
               (const char *)x->data + (size_t)((o * n + reps[order[u]]) * s.inner) * es, sl);
    *y = ir_const(g, x->dtype, yr, yd, yv);
  }
  int64_t *iv = ir_alloc_array(g, cnt, sizeof *iv), *cv = ir_alloc_array(g, cnt, sizeof *cv);
  for (int64_t u = 0; u < nu; u++) {
    iv[u] = reps[order[u]];
    cv[u] = num[order[u]];
  }
  if (indices) *indices = ir_const(g, DT_I64, 1, &nu, iv);
  if (counts) *counts = ir_const(g, DT_I64, 1, &nu, cv);
  if (inverse) {
    int64_t *wv = ir_alloc_array(g, cnt, sizeof *wv);
    for (int64_t k = 0; k < n; k++) wv[k] = where[inv[k]];
    *inverse = ir_const(g, DT_I64, 1, &n, wv);
  }
}

/* Box b of batch i as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2. */
static void nms_box(const Node *boxes, int64_t i, int64_t b, bool center, double out[4])
{
  double v[4];
  for (int t = 0; t < 4; t++) v[t] = sc_as_f(dt_load(boxes->data, boxes->dtype, (i * boxes->dims[1] + b) * 4 + t), boxes->dtype);
  if (center) { /* x_center, y_center, width, height */
    out[0] = v[1] - v[3] / 2, out[1] = v[0] - v[2] / 2, out[2] = v[1] + v[3] / 2, out[3] = v[0] + v[2] / 2;
  } else {
    out[0] = fmin(v[0], v[2]), out[1] = fmin(v[1], v[3]), out[2] = fmax(v[0], v[2]), out[3] = fmax(v[1], v[3]);
  }
}

/* ONNX (onnxruntime) rule: suppress when intersection / union > threshold; empty boxes never suppress. */
static bool nms_suppress(const double a[4], const double b[4], double thr)
{
  double ih = fmin(a[2], b[2]) - fmax(a[0], b[0]), iw = fmin(a[3], b[3]) - fmax(a[1], b[1]);
  if (ih <= 0 || iw <= 0) return false;
  double aa = (a[2] - a[0]) * (a[3] - a[1]), ab = (b[2] - b[0]) * (b[3] - b[1]);
  if (aa <= 0 || ab <= 0) return false;
  double inter = ih * iw;
  return inter / (aa + ab - inter) > thr;
}

Node *ir_nms(Graph *g, Node *boxes, Node *scores, int64_t max_out, double iou_thr, bool has_score_thr,
             double score_thr, bool center)
{
  need_const(g, "NonMaxSuppression", "'boxes'", boxes);
  need_const(g, "NonMaxSuppression", "'scores'", scores);
  if (!dt_is_float(boxes->dtype) || !dt_is_float(scores->dtype))
    ir_fail(g, "NonMaxSuppression: boxes (%s) and scores (%s) must be float", dt_name(boxes->dtype),
            dt_name(scores->dtype));
  if (boxes->rank != 3 || boxes->dims[2] != 4) ir_fail(g, "NonMaxSuppression: boxes must be [batch, boxes, 4]");
  if (scores->rank != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
    ir_fail(g, "NonMaxSuppression: scores must be [batch, classes, boxes] = [%lld, C, %lld]",
            (long long)boxes->dims[0], (long long)boxes->dims[1]);
  if (max_out < 0) max_out = 0;
  int64_t nb = boxes->dims[0], nc = scores->dims[1], nbox = boxes->dims[1];
  size_t cap = (size_t)(nbox > 0 ? nbox : 1);
  int64_t *cand = ir_alloc_array(g, cap, sizeof *cand), *sel = ir_alloc_array(g, cap, sizeof *sel);
  double *sc = ir_alloc_array(g, cap, sizeof *sc);
  int64_t per = max_out < nbox ? max_out : nbox;
  int64_t *out = ir_alloc_array(g, (size_t)(nb * nc * per * 3 + 1), sizeof *out), nout = 0;
  for (int64_t i = 0; i < nb; i++)
    for (int64_t c = 0; c < nc; c++) {
      int64_t ncand = 0, nsel = 0;
      for (int64_t b = 0; b < nbox; b++) {
        sc[b] = sc_as_f(dt_load(scores->data, scores->dtype, (i * nc + c) * nbox + b), scores->dtype);
        if (!has_score_thr || sc[b] > score_thr) cand[ncand++] = b;
      }
      /* by score, descending; equal scores keep the lower box first (stable insertion sort) */
      for (int64_t a = 1; a < ncand; a++)
        for (int64_t b = a; b > 0 && sc[cand[b - 1]] < sc[cand[b]]; b--) {
          int64_t t = cand[b];
          cand[b] = cand[b - 1];
          cand[b - 1] = t;
        }
      for (int64_t k = 0; k < ncand && nsel < per; k++) {
        double bk[4], bs[4];
        nms_box(boxes, i, cand[k], center, bk);
        bool keep = true;
        for (int64_t s = 0; s < nsel && keep; s++) {
          nms_box(boxes, i, sel[s], center, bs);
          keep = !nms_suppress(bk, bs, iou_thr);
        }
        if (!keep) continue;
        sel[nsel++] = cand[k];
        out[nout * 3] = i, out[nout * 3 + 1] = c, out[nout * 3 + 2] = cand[k];
        nout++;
      }
    }
  int64_t od[2] = {nout, 3};
  return ir_const(g, DT_I64, 2, od, out);
}
