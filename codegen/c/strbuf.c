/* strbuf.c: growable strings in the graph arena, for building C expressions. */
#include <stdarg.h>
#include <string.h>

#include "cgen.h"

void str_init(Str *b, Graph *g) {
  b->g = g;
  b->cap = 64;
  b->len = 0;
  b->s = ir_alloc(g, b->cap);
}

static void vcat(Str *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  if (n < 0) n = 0;
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = (b->len + (size_t)n + 1) * 2;
    char *s = ir_alloc(b->g, cap);
    memcpy(s, b->s, b->len);
    b->s = s;
    b->cap = cap;
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
  }
  va_end(ap2);
  b->len += (size_t)n;
}

void str_cat(Str *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vcat(b, fmt, ap);
  va_end(ap);
}

char *str_fmt(Graph *g, const char *fmt, ...) {
  Str b;
  str_init(&b, g);
  va_list ap;
  va_start(ap, fmt);
  vcat(&b, fmt, ap);
  va_end(ap);
  return b.s;
}
