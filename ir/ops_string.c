/* ops_string.c: constructors for string tensors (DT_STRING, an element is a
 * `const char *`). Strings only move through GATHER/COPY/WHERE like any element;
 * everything that makes new string bytes is here:
 *
 *   normalize  StringNormalizer. With stopwords the output length depends on the
 *              values, so (as NonZero) it is evaluated here over a constant input
 *              into a string constant; without them a constant folds the same way
 *              and a run-time input becomes a string_case kernel (no case change:
 *              the input itself).
 *   cast       string_format (number or bool -> text) and string_parse (text ->
 *              number or bool) kernels; codegen/c/kernel.c prints their loops.
 *   eval       the reference interpreter's meaning of the three kernels, through
 *              the same runtime_stub/strings.h functions the generated code uses
 *              (new strings in the graph arena); constant operands fold with it.
 *
 * Case change and case-insensitive matching touch ASCII letters only; every other
 * byte (UTF-8 included) passes through unchanged.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops.h"
#include "runtime_stub/helpers.h"
#include "runtime_stub/strings.h"

static char ascii_case(char ch, StrCase mode) {
  if (mode == STR_CASE_LOWER && ch >= 'A' && ch <= 'Z') return (char)(ch - 'A' + 'a');
  if (mode == STR_CASE_UPPER && ch >= 'a' && ch <= 'z') return (char)(ch - 'a' + 'A');
  return ch;
}

static bool same_text(const char *a, const char *b, bool case_sensitive) {
  if (case_sensitive) return !strcmp(a, b);
  for (; *a && *b; a++, b++)
    if (ascii_case(*a, STR_CASE_LOWER) != ascii_case(*b, STR_CASE_LOWER)) return false;
  return *a == *b;
}

static const char *str_at(const Node *x, int64_t k) {
  return (const char *)(intptr_t)dt_load(x->data, DT_STRING, k).i;
}

Node *ir_string_normalize(Graph *g, Node *x, StrCase mode, bool case_sensitive, int nstop, const char *const *stop) {
  if (x->dtype != DT_STRING) ir_fail(g, "StringNormalizer: input is %s, not string", dt_name(x->dtype));
  if (!(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
    ir_fail(g, "StringNormalizer: input must be [C] or [1, C], it is %d-D with %lld rows", x->rank,
            (long long)(x->rank ? x->dims[0] : 0));
  if (!ir_is_const(x)) {
    if (nstop > 0) ir_fail(g, "StringNormalizer: with stopwords the output length depends on the input's values; it must be a constant");
    if (mode == STR_CASE_NONE) return x;
    int *attr = ir_alloc(g, sizeof *attr);
    *attr = (int)mode;
    return ir_opaque(g, IR_STRING_CASE, DT_STRING, x->rank, x->dims, 1, &x, attr);
  }
  int64_t n = x->numel, kept = 0;
  char **out = ir_alloc_array(g, (size_t)(n ? n : 1), sizeof *out);
  for (int64_t k = 0; k < n; k++) {
    const char *s = str_at(x, k);
    bool drop = false;
    for (int j = 0; j < nstop && !drop; j++) drop = same_text(s, stop[j], case_sensitive);
    if (drop) continue;
    char *t = ir_strdup(g, s);
    for (char *p = t; *p; p++) *p = ascii_case(*p, mode);
    out[kept++] = t;
  }
  if (kept == 0) out[kept++] = ir_strdup(g, ""); /* ONNX: an all-stopword input gives one empty string */
  char *slots = ir_alloc_array(g, (size_t)kept, 8);
  for (int64_t k = 0; k < kept; k++) dt_store(slots, DT_STRING, k, (Scalar){0, (int64_t)(intptr_t)out[k]});
  int64_t dims[2] = {1, kept};
  return x->rank == 1 ? ir_const(g, DT_STRING, 1, &kept, slots) : ir_const(g, DT_STRING, 2, dims, slots);
}

Node *ir_string_cast(Graph *g, Node *x, Dtype t) {
  bool to_string = t == DT_STRING;
  Dtype other = to_string ? x->dtype : t;
  if (!dt_is_float(other) && !dt_is_int(other) && other != DT_BOOL)
    ir_fail(g, "Cast between string and %s is not supported", dt_name(other));
  return ir_opaque(g, to_string ? IR_STRING_FORMAT : IR_STRING_PARSE, t, x->rank, x->dims, 1, &x, NULL);
}

bool ir_is_string_kernel(const Node *n) {
  return n->kind == NODE_OPAQUE && (!strcmp(n->opaque_name, IR_STRING_CASE) || !strcmp(n->opaque_name, IR_STRING_FORMAT) ||
                                    !strcmp(n->opaque_name, IR_STRING_PARSE));
}

void ir_eval_string(Graph *g, const Node *n, const void *in, void *out) {
  const Node *x = n->in[0];
  for (int64_t k = 0; k < n->numel; k++) {
    Scalar v = dt_load(in, x->dtype, k);
    if (!strcmp(n->opaque_name, IR_STRING_CASE)) {
      char *t = ir_strdup(g, (const char *)(intptr_t)v.i);
      for (char *p = t; *p; p++) *p = ascii_case(*p, (StrCase) * (const int *)n->opaque_attr);
      dt_store(out, DT_STRING, k, (Scalar){0, (int64_t)(intptr_t)t});
    } else if (!strcmp(n->opaque_name, IR_STRING_FORMAT)) {
      char t[IR_STRING_FORMAT_MAX];
      if (x->dtype == DT_F64) jtc_fmt_f64(t, v.f);
      else if (dt_is_float(x->dtype)) jtc_fmt_f32(t, (float)v.f);
      else if (x->dtype == DT_U64 || x->dtype == DT_U32) jtc_fmt_u64(t, (uint64_t)v.i);
      else jtc_fmt_i64(t, v.i);
      dt_store(out, DT_STRING, k, (Scalar){0, (int64_t)(intptr_t)ir_strdup(g, t)});
    } else {
      const char *s = (const char *)(intptr_t)v.i;
      Dtype t = n->dtype;
      Scalar r = t == DT_F64 ? sc_f(jtc_parse_f64(s)) : dt_is_float(t) ? sc_f(jtc_parse_f32(s))
                 : t == DT_BOOL ? sc_i(jtc_parse_bool(s)) : t == DT_U64 || t == DT_U32 ? sc_i((int64_t)jtc_parse_u64(s))
                 : sc_i(jtc_parse_i64(s));
      dt_store(out, t, k, r);
    }
  }
}
