/* args.c: the jtc command's value parsers (args.h). */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int args_parse_shape(const char *arg, OnnxShapeOverride *s) {
  s->name = NULL;
  s->rank = 0;
  const char *eq = strrchr(arg, '=');
  if (!eq || eq == arg) return -1;
  size_t n = (size_t)(eq - arg);
  char *name = malloc(n + 1);
  if (!name) return -1;
  memcpy(name, arg, n);
  name[n] = 0;
  s->name = name;
  const char *p = eq + 1;
  if (!*p) return 0; /* scalar */
  for (;;) {
    if (s->rank == IR_MAX_RANK || !isdigit((unsigned char)*p)) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 0 || v > ((int64_t)1 << 40)) return -1;
    s->dims[s->rank++] = v;
    if (*end == 0) return 0;
    if (*end != ',') return -1;
    p = end + 1;
  }
}

int args_parse_bind(const char *arg, OnnxBind *b) {
  b->name = NULL;
  b->path = NULL;
  const char *eq = arg ? strchr(arg, '=') : NULL;
  if (!eq || eq == arg || !eq[1]) return -1;
  char *name = strndup(arg, (size_t)(eq - arg));
  if (!name) return -1;
  b->name = name;
  b->path = eq + 1;
  return 0;
}

int args_parse_count(const char *s, int64_t max, int64_t *v) {
  if (!s || !isdigit((unsigned char)*s)) return -1;
  errno = 0;
  char *end;
  long long r = strtoll(s, &end, 10);
  if (errno || *end || r < 0 || r > max) return -1;
  *v = r;
  return 0;
}

bool args_is_identifier(const char *s) {
  if (!*s || isdigit((unsigned char)*s) || strlen(s) > 40) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}

char *args_stem_of(const char *path) {
  char *s = strdup(path);
  if (!s) return NULL;
  char *slash = strrchr(s, '/'), *dot = strrchr(s, '.');
  if (dot && (!slash || dot > slash) && (!strcmp(dot, ".c") || !strcmp(dot, ".cu"))) *dot = 0;
  return s;
}

char *args_prefix_of(const char *stem) {
  const char *b = strrchr(stem, '/');
  b = b ? b + 1 : stem;
  char *p = malloc(strlen(b) + 2), *q = p;
  if (!p) return NULL;
  if (!isalpha((unsigned char)*b) && *b != '_') *q++ = '_';
  for (; *b; b++) *q++ = isalnum((unsigned char)*b) ? *b : '_';
  *q = 0;
  return p;
}
