/* jtc string runtime: copied into a generated .c file whose model makes new string
 * bytes at run time (StringNormalizer's case change, Cast to and from string).
 * New strings go into the net's static storage through a jtc_strstore; a run that
 * needs more than its capacity keeps counting (used) so the entry function can say
 * exactly how many bytes to configure, and gets "" for the strings that did not fit.
 * Case change touches ASCII letters only. */
#include <stdio.h>
#include <stdlib.h>
typedef struct { char *buf; size_t cap, used; } jtc_strstore; /* used: bytes asked for this run (may exceed cap) */

/* n bytes of the store, or NULL when they do not fit. */
JTC_HELPER char *jtc_str_alloc(jtc_strstore *s, size_t n) {
  size_t at = s->used;
  s->used = n > (size_t)-1 - at ? (size_t)-1 : at + n;
  return s->used <= s->cap ? s->buf + at : NULL;
}

/* A copy of x in the store; mode 1 lowers and 2 raises ASCII letters. */
JTC_HELPER jtc_str jtc_str_copy(jtc_strstore *s, jtc_str x, int mode) {
  size_t n = strlen(x) + 1;
  char *d = jtc_str_alloc(s, n);
  if (!d) return "";
  for (size_t i = 0; i < n; i++) {
    char ch = x[i];
    if (mode == 1 && ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    else if (mode == 2 && ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
    d[i] = ch;
  }
  return d;
}

/* Numbers as text (t holds 32 bytes): floats the shortest %g form that reads back
 * to the same value, "NaN", "INF", "-INF"; integers in decimal. */
JTC_HELPER void jtc_fmt_f32(char *t, float v) {
  if (v != v) { snprintf(t, 32, "NaN"); return; }
  if (isinf(v)) { snprintf(t, 32, "%s", v < 0 ? "-INF" : "INF"); return; }
  for (int p = 1; p <= 9; p++) {
    snprintf(t, 32, "%.*g", p, (double)v);
    if (strtof(t, NULL) == v) return;
  }
}
JTC_HELPER void jtc_fmt_f64(char *t, double v) {
  if (v != v) { snprintf(t, 32, "NaN"); return; }
  if (isinf(v)) { snprintf(t, 32, "%s", v < 0 ? "-INF" : "INF"); return; }
  for (int p = 1; p <= 17; p++) {
    snprintf(t, 32, "%.*g", p, v);
    if (strtod(t, NULL) == v) return;
  }
}
JTC_HELPER void jtc_fmt_i64(char *t, int64_t v) { snprintf(t, 32, "%lld", (long long)v); }
JTC_HELPER void jtc_fmt_u64(char *t, uint64_t v) { snprintf(t, 32, "%llu", (unsigned long long)v); }

/* Text as numbers (strtod's syntax, so "NaN", "INF", "-INF", "+INF", "inf" too; text
 * after the number is ignored): no number gives NaN for floats, 0 for integers, false for bool. */
JTC_HELPER float jtc_parse_f32(jtc_str s) {
  char *end;
  float v = strtof(s, &end);
  return end == s ? NAN : v;
}
JTC_HELPER double jtc_parse_f64(jtc_str s) {
  char *end;
  double v = strtod(s, &end);
  return end == s ? NAN : v;
}
/* bool: a nonzero number ("nan" too, as numpy's bool(nan)); no number is false */
JTC_HELPER uint8_t jtc_parse_bool(jtc_str s) {
  char *end;
  double v = strtod(s, &end);
  return end != s && v != 0;
}
JTC_HELPER int64_t jtc_parse_i64(jtc_str s) { return (int64_t)strtoll(s, NULL, 10); }
JTC_HELPER uint64_t jtc_parse_u64(jtc_str s) { return (uint64_t)strtoull(s, NULL, 10); }
