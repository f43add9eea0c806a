/* cgen_internal.h: state shared by the C printer's files (cgen.c prints the
 * file around the kernels, kernel.c prints each kernel). */
#ifndef JTC_CGEN_INTERNAL_H
#define JTC_CGEN_INTERNAL_H

#include <stdarg.h>

#include "cgen.h"

typedef struct {
  const Plan *p;
  Graph *g;
  FILE *f;
  int indent;
  const Kernel *k;           /* kernel being printed */
  char **names;              /* C identifier per node id (buffers only) */
} CgCtx;

const char *cg_bufname(CgCtx *c, const Node *n);
char *cg_literal(Graph *g, Scalar v, Dtype t);
const char *cg_store_conv(Dtype t);
char *cg_expr(CgCtx *c, Node *n, Ix *const *idx, bool is_root);
void cg_line(CgCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cg_kernel_body(CgCtx *c);

#endif
