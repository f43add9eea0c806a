/* diag.c: internal-error reporting. User errors go through ir_fail (graph.c),
 * which names the model file and node; this file handles broken invariants,
 * which name the jtc source line instead. */
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

_Noreturn void jtc_internal(const char *file, int line, const char *what) {
  fprintf(stderr, "jtc: internal error at %s:%d: %s\n", file, line, what);
  abort();
}

char *jtc_printable(char *s) {
  for (char *p = s; *p; p++)
    if ((unsigned char)*p < 32 || *p == 127) *p = '?';
  return s;
}
