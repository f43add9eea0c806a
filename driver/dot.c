/* dot.c: the --dump-dot writer. Node ids are fixed by the plan (kernel k<j>,
 * leaf n<node id>, output out<k>) and everything is printed in plan order, so
 * the file is byte-stable. Model text goes through plan_text (valid UTF-8)
 * and dot_escape (quotes, backslashes and newlines as DOT escapes). */
#include "driver/dot.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* s inside a DOT "..." string: \" and \\ escaped, a newline as \n (a centered line break). */
static const char *dot_escape(Graph *g, const char *s) {
  Str b;
  str_init(&b, g);
  str_cat(&b, "%s", "");
  for (s = plan_text(g, s); *s; s++) {
    if (*s == '"' || *s == '\\') str_cat(&b, "\\%c", *s);
    else if (*s == '\n') str_cat(&b, "\\n");
    else str_cat(&b, "%c", *s);
  }
  return b.s;
}

static const char *shape_text(Graph *g, const Node *n) {
  Str b;
  str_init(&b, g);
  str_cat(&b, "%s[", dt_name(n->dtype));
  for (int d = 0; d < n->rank; d++) str_cat(&b, "%s%" PRId64, d ? "," : "", n->dims[d]);
  str_cat(&b, "]");
  return b.s;
}

static int64_t node_bytes(const Node *n) { return n->numel * (int64_t)dt_size(n->dtype); }

/* The DOT id of the node that produces buffer n: a kernel, or a leaf. */
static const char *source_id(const PlanInfo *pi, const Node *n) {
  int j = pi->writer[n->id];
  return j >= 0 ? str_fmt(pi->g, "k%d", j) : str_fmt(pi->g, "n%d", n->id);
}

/* The graph's name for a leaf (an input's or initializer's), else its generated buffer name. */
static const char *leaf_name(const PlanInfo *pi, const Node *n) {
  if (n->name) return n->name;
  if (pi->c.names[n->id]) return pi->c.names[n->id];
  return str_fmt(pi->g, "%%%d", n->id);
}

static void print_leaf(const PlanInfo *pi, FILE *f, const Node *n) {
  Graph *g = pi->g;
  bool input = n->leaf == LEAF_INPUT;
  /* a constant jtc made (a GEMM's A packed at compile time) names the ONNX node it serves */
  const char *made_for = !input && n->origin ? str_fmt(g, "\\nfor %s", dot_escape(g, n->origin)) : "";
  fprintf(f, "  n%d [shape=%s, label=\"%s%s%s\\n%s\"];\n", n->id, input ? "ellipse" : "note", input ? "input: " : "",
          dot_escape(g, leaf_name(pi, n)), made_for, shape_text(g, n));
}

static void print_graph(const PlanInfo *pi, FILE *f) {
  const Plan *p = pi->p;
  Graph *g = pi->g;
  fprintf(f, "digraph jtc {\n  graph [rankdir=TB, fontname=\"Helvetica\", label=\"%s: %d kernel%s\", labelloc=t];\n",
          dot_escape(g, cg_basename(pi->co->model)), p->nkernels, p->nkernels == 1 ? "" : "s");
  fprintf(f, "  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
  /* the graph's inputs, and leaves read by kernels or returned as outputs, in plan order */
  bool *shown = ir_alloc_array(g, (size_t)g->nnodes, sizeof(bool));
  for (int j = 0; j < p->nkernels; j++)
    for (int r = 0; r < pi->k[j].nreads; r++) shown[pi->k[j].reads[r]->id] = true;
  for (int k = 0; k < g->noutputs; k++) shown[g->outputs[k]->id] = true;
  for (int k = 0; k < g->ninputs; k++) shown[g->inputs[k]->id] = true; /* read or not */
  for (int i = 0; i < p->nnodes; i++)
    if (p->nodes[i]->kind == NODE_LEAF && shown[p->nodes[i]->id]) print_leaf(pi, f, p->nodes[i]);
  for (int j = 0; j < p->nkernels; j++) {
    const Kernel *k = &p->kernels[j];
    /* the ONNX ops the kernel computes, distinct, in order */
    Str ops;
    str_init(&ops, g);
    str_cat(&ops, "%s", "");
    int n;
    const char **seen = plan_kernel_origins(g, k, true, &n);
    for (int s = 0; s < n; s++) str_cat(&ops, "%s%s", ops.len ? ", " : "", seen[s]);
    if (!ops.len) str_cat(&ops, "%s", node_kind_names[k->root->kind]);
    /* the ONNX nodes it computes, distinct, one a line: the tooltip (SVG: shown on hover) */
    Str names;
    str_init(&names, g);
    str_cat(&names, "%s", "");
    seen = plan_kernel_origins(g, k, false, &n);
    for (int s = 0; s < n; s++) str_cat(&names, "%s%s", names.len ? "\n" : "", seen[s]);
    fprintf(f, "  k%d [shape=box, label=\"%s\\n%s\\n%s\", tooltip=\"%s\"];\n", j, dot_escape(g, pi->k[j].name),
            dot_escape(g, ops.s), shape_text(g, k->root), dot_escape(g, names.s));
  }
  for (int k = 0; k < g->noutputs; k++)
    fprintf(f, "  out%d [shape=ellipse, peripheries=2, label=\"output: %s\\n%s\"];\n", k, dot_escape(g, g->output_names[k]),
            shape_text(g, g->outputs[k]));
  for (int j = 0; j < p->nkernels; j++)
    for (int r = 0; r < pi->k[j].nreads; r++) {
      const Node *n = pi->k[j].reads[r];
      fprintf(f, "  %s -> k%d [label=\"%" PRId64 " B\"];\n", source_id(pi, n), j, node_bytes(n));
    }
  for (int k = 0; k < g->noutputs; k++)
    fprintf(f, "  %s -> out%d [label=\"%" PRId64 " B\"];\n", source_id(pi, g->outputs[k]), k, node_bytes(g->outputs[k]));
  fprintf(f, "}\n");
}

int dot_write(const PlanInfo *pi, const char *path) {
  size_t len = 0;
  FILE *m = ir_memstream_open(pi->g); /* to memory first: an ir_fail while printing leaks no FILE */
  print_graph(pi, m);
  char *text = ir_memstream_close(pi->g, m, &len);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "jtc: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  bool ok = fwrite(text, 1, len, f) == len;
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "jtc: error writing %s\n", path);
    return -1;
  }
  return 0;
}
