/* onnx_lower_backlog.c: lowerings of ONNX operators left from the conformance
 * backlog: TopK, TfIdfVectorizer (ir/ops_backlog.c), Dropout in training mode,
 * the random generators (refused: their outputs are random samples), and the
 * ops whose output shape depends on input values (NonZero, Unique,
 * NonMaxSuppression), which compile only when those inputs are constants.
 * Opset differences: TopK's k is an attribute before 10 and an input from 10,
 * `largest`/`sorted` arrive in 11.
 */
#include "frontend/onnx/onnx_internal.h"

#include <limits.h>
#include <string.h>

/* Input k of an op whose output shape depends on its values: it must be a
 * constant; a graph input (or a value computed from one) can be pinned. */
static Node *value_input(OnnxCtx *c, int k, const char *what) {
  Node *n = onnx_input(c, k, what);
  if (ir_is_const(n)) return n;
  Node *src = onnx_source_input(c->g, n);
  if (src == n)
    ir_fail(c->g, "output shape depends on the values of input '%s'; jtc compiles static shapes only (pin it with --bind %s=FILE.pb)",
            n->name, n->name);
  if (src)
    ir_fail(c->g, "output shape depends on the values of input '%s', computed from graph input '%s'; jtc compiles static "
            "shapes only (pin it with --bind %s=FILE.pb)", what, src->name, src->name);
  ir_fail(c->g, "output shape depends on the values of input '%s', computed at run time; jtc compiles static shapes only",
          what);
}

void onnx_lower_topk(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  int64_t k;
  if (c->opset < 10) {
    if (!onnx_attr(c, "k")) ir_fail(c->g, "attribute 'k' is required");
    k = onnx_attr_int(c, "k", 0);
  } else {
    int64_t v[1];
    if (onnx_const_ints(c, 1, "K", v, 1) != 1) ir_fail(c->g, "input 'K' must hold one value");
    k = v[0];
  }
  int axis = onnx_axis(c, onnx_attr_int(c, "axis", -1), x->rank, "axis");
  bool largest = c->opset < 11 || onnx_attr_int(c, "largest", 1) != 0;
  /* sorted=0 lets the order be anything; the sorted order is one of those */
  ir_topk(c->g, x, axis, k, largest, &c->out[0], onnx_out_wanted(c, 1) ? &c->out[1] : NULL);
}

/* An INTS / FLOATS attribute of any length (arena copy); -1 when absent. */
static int attr_ints(OnnxCtx *c, const char *name, int64_t **out) {
  const Onnx__AttributeProto *a = onnx_attr(c, name);
  *out = NULL;
  if (!a) return -1;
  if (a->n_ints > INT_MAX / 2) ir_fail(c->g, "attribute '%s' has too many values", name);
  *out = ir_alloc_array(c->g, a->n_ints ? a->n_ints : 1, sizeof **out);
  return onnx_attr_ints(c, name, *out, (int)a->n_ints);
}

static int attr_floats(OnnxCtx *c, const char *name, double **out) {
  const Onnx__AttributeProto *a = onnx_attr(c, name);
  *out = NULL;
  if (!a) return -1;
  if (a->n_floats > INT_MAX / 2) ir_fail(c->g, "attribute '%s' has too many values", name);
  *out = ir_alloc_array(c->g, a->n_floats ? a->n_floats : 1, sizeof **out);
  return onnx_attr_floats(c, name, *out, (int)a->n_floats);
}

void onnx_lower_tfidf(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "X");
  TfIdfParams p = {0};
  const char *mode = onnx_attr_string(c, "mode", NULL);
  if (!mode) ir_fail(c->g, "attribute 'mode' is required");
  if (!strcmp(mode, "TF")) p.mode = TFIDF_TF;
  else if (!strcmp(mode, "IDF")) p.mode = TFIDF_IDF;
  else if (!strcmp(mode, "TFIDF")) p.mode = TFIDF_TFIDF;
  else ir_fail(c->g, "mode '%s' is not one of TF, IDF, TFIDF", mode);
  const char *req[] = {"min_gram_length", "max_gram_length", "max_skip_count", "ngram_counts", "ngram_indexes"};
  for (size_t k = 0; k < sizeof req / sizeof req[0]; k++)
    if (!onnx_attr(c, req[k])) ir_fail(c->g, "attribute '%s' is required", req[k]);
  p.min_gram = onnx_attr_int(c, "min_gram_length", 0);
  p.max_gram = onnx_attr_int(c, "max_gram_length", 0);
  p.max_skip = onnx_attr_int(c, "max_skip_count", 0);
  int64_t *counts, *indexes, *pool;
  p.ncounts = attr_ints(c, "ngram_counts", &counts);
  p.ngram_counts = counts;
  p.nindexes = attr_ints(c, "ngram_indexes", &indexes);
  p.ngram_indexes = indexes;
  if (onnx_attr(c, "pool_strings")) ir_fail(c->g, "pool_strings (string input) is not supported; only pool_int64s");
  p.npool = attr_ints(c, "pool_int64s", &pool);
  if (p.npool < 0) ir_fail(c->g, "attribute 'pool_int64s' is required");
  p.pool = pool;
  double *w;
  int nw = attr_floats(c, "weights", &w);
  p.nweights = nw < 0 ? 0 : nw;
  p.weights = nw < 0 ? NULL : w;
  c->out[0] = ir_tfidf(c->g, x, &p);
}

/* Dropout with training_mode=true (called by onnx_lower_dropout, opset 12+).
 * Only ratio 0 is deterministic: the output is the input, the mask all true. */
void onnx_lower_dropout_training(OnnxCtx *c) {
  Node *x = onnx_input(c, 0, "data");
  double ratio = onnx_opt_input(c, 1) ? onnx_const_scalar(c, 1, "ratio") : 0.5;
  if (ratio != 0)
    ir_fail(c->g, "training_mode=true with ratio %g drops a random subset: the output is random; ONNX's test data "
            "comes from numpy's generator, which no compiled program can reproduce", ratio);
  c->out[0] = x;
  if (onnx_out_wanted(c, 1)) c->out[1] = ir_broadcast(c->g, ir_scalar(c->g, DT_BOOL, 1), x->rank, x->dims);
}

/* Bernoulli, RandomUniform(Like), RandomNormal(Like). */
void onnx_lower_random(OnnxCtx *c) {
  ir_fail(c->g, "output is random; ONNX's test data comes from numpy's generator");
}

void onnx_lower_nonzero(OnnxCtx *c) {
  c->out[0] = ir_nonzero(c->g, value_input(c, 0, "X"));
}

void onnx_lower_unique(OnnxCtx *c) {
  Node *x = value_input(c, 0, "X");
  bool has_axis = onnx_attr(c, "axis") != NULL;
  int axis = has_axis ? onnx_axis(c, onnx_attr_int(c, "axis", 0), x->rank, "axis") : 0;
  int64_t sorted = onnx_attr_int(c, "sorted", 1);
  if (sorted != 0 && sorted != 1) ir_fail(c->g, "attribute 'sorted' is %lld, not 0 or 1", (long long)sorted);
  Node **o[4];
  for (int k = 0; k < 4; k++) o[k] = k == 0 || onnx_out_wanted(c, k) ? &c->out[k] : NULL;
  ir_unique(c->g, x, has_axis, axis, sorted != 0, o[0], o[1], o[2], o[3]);
}

void onnx_lower_nms(OnnxCtx *c) {
  Node *boxes = value_input(c, 0, "boxes"), *scores = value_input(c, 1, "scores");
  int64_t max_out = 0;
  if (onnx_opt_input(c, 2)) {
    int64_t v[1];
    if (onnx_const_ints(c, 2, "max_output_boxes_per_class", v, 1) != 1)
      ir_fail(c->g, "input 'max_output_boxes_per_class' must hold one value");
    max_out = v[0];
  }
  double iou = onnx_opt_input(c, 3) ? onnx_const_scalar(c, 3, "iou_threshold") : 0;
  bool has_st = onnx_opt_input(c, 4) != NULL;
  double st = has_st ? onnx_const_scalar(c, 4, "score_threshold") : 0;
  int64_t center = onnx_attr_int(c, "center_point_box", 0);
  if (center != 0 && center != 1) ir_fail(c->g, "center_point_box is %lld, not 0 or 1", (long long)center);
  c->out[0] = ir_nms(c->g, boxes, scores, max_out, iou, has_st, st, center != 0);
}

/* StringNormalizer (ai.onnx 10): stopwords drop elements, so with stopwords the
 * input must be a constant (or pinned with --bind) and the result is folded. The
 * locale only matters for non-ASCII case rules, which jtc does not apply. */
void onnx_lower_string_normalizer(OnnxCtx *c) {
  const char **stop;
  int nstop = onnx_attr_strings(c, "stopwords", &stop);
  Node *x = nstop > 0 ? value_input(c, 0, "X") : onnx_input(c, 0, "X");
  const char *action = onnx_attr_string(c, "case_change_action", "NONE");
  StrCase mode = STR_CASE_NONE;
  if (!strcmp(action, "LOWER")) mode = STR_CASE_LOWER;
  else if (!strcmp(action, "UPPER")) mode = STR_CASE_UPPER;
  else if (strcmp(action, "NONE")) ir_fail(c->g, "case_change_action '%s' is not LOWER, UPPER or NONE", jtc_printable(ir_strdup(c->g, action)));
  c->out[0] = ir_string_normalize(c->g, x, mode, onnx_attr_int(c, "is_case_sensitive", 0) != 0, nstop > 0 ? nstop : 0, stop);
}
