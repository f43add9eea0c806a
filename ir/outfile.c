/* outfile.c: the files a code generator writes, registered on the Graph so that a
 * generation that fails part-way (an ir_fail longjmp out of the printer, or a write
 * error) closes every FILE it had open and removes what it wrote: a build system then
 * sees no output rather than a truncated net.c beside a stale header. */
#include <errno.h>
#include <stdio.h>

#include "ir.h"

FILE *ir_file_create(Graph *g, const char *path, const char *mode) {
  size_t n = sizeof g->files / sizeof g->files[0];
  if (g->nfiles == (int)n) jtc_internal(__FILE__, __LINE__, "more than 4 output files");
  const char *copy = ir_strdup(g, path); /* before fopen: an ir_fail here leaves nothing open */
  FILE *f = fopen(path, mode);
  if (f) g->files[g->nfiles++] = (struct IrFile){f, copy};
  return f;
}

int ir_file_close(Graph *g, FILE *f) {
  for (int k = 0; k < g->nfiles; k++)
    if (g->files[k].f == f) g->files[k].f = NULL; /* still listed: a discard removes it */
  return fclose(f);
}

void ir_files_discard(Graph *g) {
  int saved = errno;
  for (int k = 0; k < g->nfiles; k++) {
    if (g->files[k].f) fclose(g->files[k].f);
    remove(g->files[k].path);
  }
  g->nfiles = 0;
  errno = saved;
}

void ir_files_keep(Graph *g) {
  for (int k = 0; k < g->nfiles; k++) JTC_ASSERT(!g->files[k].f);
  g->nfiles = 0;
}
