/* print.c: one-line text form of a meta-op node, for `jtc --dump-ir` and
 * messages:  %14 = SCATTER add float32[1,64,112,112] <- %13 [i0, i1, i2, i3]  # conv1 (Conv) */
#include <inttypes.h>

#include "ir.h"

static void print_shape(FILE *f, const Node *n) {
  fprintf(f, "%s[", dt_name(n->dtype));
  for (int k = 0; k < n->rank; k++) fprintf(f, "%s%" PRId64, k ? "," : "", n->dims[k]);
  fprintf(f, "]");
}

static void print_map(FILE *f, Ix *const *idx, int n) {
  fprintf(f, "[");
  for (int k = 0; k < n; k++) {
    if (k) fprintf(f, ", ");
    ix_fprint(f, idx[k]);
  }
  fprintf(f, "]");
}

/* a string's first 40 bytes as a C literal would spell them (never the pointer) */
static void print_text(FILE *f, const char *v) {
  fputc('"', f);
  for (int k = 0; v && v[k]; k++) {
    unsigned char ch = (unsigned char)v[k];
    if (k == 40) { fputs("...", f); break; }
    if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
    else if (ch < 32 || ch == 127) fprintf(f, "\\x%02x", ch);
    else fputc(ch, f);
  }
  fputc('"', f);
}

static void print_scalar(FILE *f, Scalar s, Dtype t) {
  if (dt_is_float(t)) fprintf(f, "%g", s.f);
  else if (t == DT_STRING) print_text(f, (const char *)(intptr_t)s.i);
  else fprintf(f, "%" PRId64, s.i);
}

void ir_print_node(FILE *f, const Node *n) {
  fprintf(f, "%%%d = %s ", n->id, node_kind_names[n->kind]);
  switch (n->kind) {
  case NODE_LEAF:
    fprintf(f, "%s ", n->leaf == LEAF_INPUT ? "input" : n->leaf == LEAF_STATE ? "state" : "const");
    print_shape(f, n);
    if (n->name) fprintf(f, " '%s'", n->name);
    if (n->leaf == LEAF_CONST && n->numel == 1) { fprintf(f, " = "); print_scalar(f, dt_load(n->data, n->dtype, 0), n->dtype); }
    break;
  case NODE_MAP:
    fprintf(f, "%s ", map_ops[n->op].name);
    print_shape(f, n);
    fprintf(f, " (");
    for (int k = 0; k < n->nin; k++) fprintf(f, "%s%%%d", k ? ", " : "", n->in[k]->id);
    fprintf(f, ")");
    break;
  case NODE_GATHER:
    print_shape(f, n);
    fprintf(f, " <- %%%d ", n->in[0]->id);
    print_map(f, n->idx, n->in[0]->rank);
    if (n->cond) { fprintf(f, " if "); ix_fprint(f, n->cond); }
    fprintf(f, " fill ");
    print_scalar(f, n->fill, n->dtype);
    break;
  case NODE_SCATTER:
    fprintf(f, "%s ", reduce_names[n->red]);
    print_shape(f, n);
    fprintf(f, " <- %%%d ", n->in[0]->id);
    print_map(f, n->idx, n->rank);
    if (n->cond) { fprintf(f, " if "); ix_fprint(f, n->cond); }
    break;
  case NODE_OPAQUE:
    fprintf(f, "%s ", n->opaque_name);
    print_shape(f, n);
    fprintf(f, " (");
    for (int k = 0; k < n->nin; k++) fprintf(f, "%s%%%d", k ? ", " : "", n->in[k]->id);
    fprintf(f, ")");
    break;
  }
  if (n->origin) fprintf(f, "  # %s (%s)", n->origin, n->origin_op ? n->origin_op : "?");
  fprintf(f, "\n");
}
