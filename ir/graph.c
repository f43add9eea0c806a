/* graph.c: the Graph (an arena owning every node and index expression) and
 * the five meta-op constructors. Constructors are the only place nodes are
 * made: each checks its operands, infers the result's shape and dtype, and
 * stamps the node with the ONNX node it came from (g->cur_origin) so dumps,
 * errors and generated kernel names can point back at the model. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct ArenaBlock { struct ArenaBlock *next; size_t used, cap; max_align_t data[]; } ArenaBlock;

const char *const node_kind_names[] = {"LEAF", "MAP", "GATHER", "SCATTER", "OPAQUE"};

Graph *ir_graph_new(void) {
  Graph *g = calloc(1, sizeof *g);
  if (!g) { fprintf(stderr, "jtc: out of memory\n"); exit(1); }
  g->max_const_fold = 1 << 20;
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  for (size_t k = 0; k < sizeof g->streams / sizeof g->streams[0]; k++)
    if (g->streams[k].f) { /* left open by an ir_fail */
      fclose(g->streams[k].f);
      free(g->streams[k].buf);
    }
  for (int k = 0; k < g->nfiles; k++)
    if (g->files[k].f) { /* an output file left open by an ir_fail: partial, so removed */
      fclose(g->files[k].f);
      remove(g->files[k].path);
    }
  for (ArenaBlock *b = g->blocks, *nx; b; b = nx) { nx = b->next; free(b); }
  free(g);
}

uint64_t ir_fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}

FILE *ir_memstream_open(Graph *g) {
  size_t k = 0, n = sizeof g->streams / sizeof g->streams[0];
  while (k < n && g->streams[k].f) k++;
  if (k == n) jtc_internal(__FILE__, __LINE__, "more than 8 memory streams open");
  struct IrStream *s = &g->streams[k];
  s->buf = NULL;
  s->len = 0;
  s->f = open_memstream(&s->buf, &s->len);
  if (!s->f) ir_fail(g, "out of memory printing code");
  return s->f;
}

char *ir_memstream_close(Graph *g, FILE *f, size_t *len) {
  size_t k = 0, n = sizeof g->streams / sizeof g->streams[0];
  while (k < n && g->streams[k].f != f) k++;
  JTC_ASSERT(k < n);
  struct IrStream *s = &g->streams[k];
  if (fflush(f) != 0) ir_fail(g, "out of memory printing code"); /* still registered: ir_graph_free frees it */
  char *text = ir_alloc(g, s->len + 1);                           /* (so does a failure here) */
  memcpy(text, s->buf, s->len);
  text[s->len] = 0;
  if (len) *len = s->len;
  fclose(s->f);
  free(s->buf);
  s->f = NULL;
  s->buf = NULL;
  return text;
}

void *ir_alloc(Graph *g, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  ArenaBlock *b = g->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > (1u << 20) ? n : (1u << 20);
    if (cap > ((size_t)1 << 40)) ir_fail(g, "allocation of %zu bytes refused", n);
    if (g->max_arena > 0 && (int64_t)cap > g->max_arena - g->arena_bytes)
      ir_fail(g, "jtc would need more than %lld bytes of memory for this model (--max-bytes=N raises the limit)",
              (long long)g->max_arena);
    b = malloc(sizeof *b + cap);
    if (!b) ir_fail(g, "out of memory allocating %zu bytes", n);
    g->arena_bytes += (int64_t)cap;
    b->used = 0;
    b->cap = cap;
    if (n > (1u << 19) && g->blocks) { /* big one-off: keep the current block as the head */
      b->next = g->blocks->next;
      g->blocks->next = b;
      memset(b->data, 0, n);
      b->used = cap;
      return b->data;
    }
    b->next = g->blocks;
    g->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

void *ir_alloc_array(Graph *g, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) ir_fail(g, "allocation of %zu x %zu bytes overflows", n, size);
  return ir_alloc(g, n * size);
}

char *ir_strdup(Graph *g, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = ir_alloc(g, n);
  memcpy(p, s, n);
  return p;
}

_Noreturn void ir_fail(Graph *g, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(g->errmsg, sizeof g->errmsg, "%s%s%s%s%s", g->file ? g->file : "", g->file ? ": " : "",
           g->context ? g->context : "", g->context ? ": " : "", msg);
  jtc_printable(g->errmsg);
  if (g->on_error) longjmp(*g->on_error, 1);
  fprintf(stderr, "%s\n", g->errmsg);
  exit(1);
}

int64_t ir_numel(Graph *g, int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0) ir_fail(g, "dimension %d is negative (%lld)", k, (long long)dims[k]);
    if (__builtin_mul_overflow(n, dims[k], &n) || n > ((int64_t)1 << 50))
      ir_fail(g, "tensor of rank %d has more elements than jtc supports", rank);
  }
  return n;
}

bool ir_same_shape(const Node *a, const Node *b) {
  if (a->rank != b->rank) return false;
  for (int k = 0; k < a->rank; k++)
    if (a->dims[k] != b->dims[k]) return false;
  return true;
}

static Node *new_node(Graph *g, NodeKind kind, Dtype t, int rank, const int64_t *dims) {
  if (rank < 0 || rank > IR_MAX_RANK) ir_fail(g, "rank %d is beyond jtc's limit of %d", rank, IR_MAX_RANK);
  if (t <= DT_UNDEF || t >= DT_COUNT) ir_fail(g, "invalid element type");
  if (g->max_nodes > 0 && g->nnodes >= g->max_nodes)
    ir_fail(g, "the graph would have more than %lld meta-op nodes (--max-nodes=N raises the limit)", (long long)g->max_nodes);
  Node *n = ir_alloc(g, sizeof *n);
  n->id = g->nnodes++;
  n->kind = kind;
  n->dtype = t;
  n->rank = rank;
  if (rank) memcpy(n->dims, dims, (size_t)rank * sizeof *dims);
  n->numel = ir_numel(g, rank, dims);
  n->origin = g->cur_origin;
  n->origin_op = g->cur_op;
  n->buf_id = -1;
  if (g->last) g->last->next = n; else g->first = n;
  g->last = n;
  return n;
}

static void set_inputs(Graph *g, Node *n, int k, Node *const *in) {
  n->nin = k;
  n->in = ir_alloc_array(g, k ? (size_t)k : 1, sizeof(Node *));
  for (int i = 0; i < k; i++) {
    JTC_ASSERT(in[i]);
    n->in[i] = in[i];
  }
}

Node *ir_input(Graph *g, const char *name, Dtype t, int rank, const int64_t *dims) {
  Node *n = new_node(g, NODE_LEAF, t, rank, dims);
  n->leaf = LEAF_INPUT;
  n->name = ir_strdup(g, name);
  n->input_index = g->ninputs;
  if (g->ninputs == g->cap_inputs) {
    int cap = g->cap_inputs ? g->cap_inputs * 2 : 8;
    Node **p = ir_alloc_array(g, (size_t)cap, sizeof *p);
    if (g->ninputs) memcpy(p, g->inputs, (size_t)g->ninputs * sizeof *p);
    g->inputs = p;
    g->cap_inputs = cap;
  }
  g->inputs[g->ninputs++] = n;
  return n;
}

Node *ir_const(Graph *g, Dtype t, int rank, const int64_t *dims, const void *data) {
  Node *n = new_node(g, NODE_LEAF, t, rank, dims);
  n->leaf = LEAF_CONST;
  size_t bytes = (size_t)n->numel * dt_size(t);
  n->data = ir_alloc(g, bytes);
  if (data && bytes) memcpy(n->data, data, bytes);
  if (t == DT_STRING) /* own the bytes: the caller's strings may not outlive the graph */
    for (int64_t k = 0; k < n->numel; k++) {
      Scalar v = dt_load(n->data, t, k);
      v.i = (int64_t)(intptr_t)ir_strdup(g, v.i ? (const char *)(intptr_t)v.i : "");
      dt_store(n->data, t, k, v);
    }
  return n;
}

/* Strings only move (COPY, WHERE's value operands, GATHER) or go through their own
 * OPAQUE kernels (ops_string.c); any other use is one clear error naming the node. */
static void no_string(Graph *g, const Node *x, const char *what) {
  if (x->dtype == DT_STRING)
    ir_fail(g, "%s of a string tensor is not supported (strings only move, or go through StringNormalizer and Cast)", what);
}

Node *ir_map(Graph *g, MapOp op, Dtype out, int k, Node *const *in) {
  JTC_ASSERT(op >= 0 && op < MAP_COUNT);
  const MapOpInfo *info = &map_ops[op];
  if (k != info->arity) ir_fail(g, "MAP %s takes %d operands, got %d", info->name, info->arity, k);
  for (int i = 1; i < k; i++)
    if (!ir_same_shape(in[0], in[i])) ir_fail(g, "MAP %s operands differ in shape", info->name);
  /* WHERE's condition is bool; its value operands share a dtype. Others share one dtype. */
  int first = op == MAP_WHERE ? 1 : 0;
  if (op == MAP_WHERE && in[0]->dtype != DT_BOOL) ir_fail(g, "where: condition is %s, not bool", dt_name(in[0]->dtype));
  for (int i = first + 1; i < k; i++)
    if (in[i]->dtype != in[first]->dtype)
      ir_fail(g, "MAP %s operands have different types (%s and %s)", info->name, dt_name(in[first]->dtype),
              dt_name(in[i]->dtype));
  Dtype t = in[first]->dtype;
  if (op != MAP_COPY && op != MAP_WHERE) {
    for (int i = 0; i < k; i++) no_string(g, in[i], info->name);
    if (out == DT_STRING) ir_fail(g, "%s to a string tensor is not supported", info->name);
  }
  if (op != MAP_CAST) {
    const char *tmpl = dt_is_float(t) ? info->c_float : info->c_int;
    if (!tmpl) ir_fail(g, "%s is not defined for %s", info->name, dt_name(t));
    if ((op == MAP_NOT || op == MAP_AND || op == MAP_OR || op == MAP_XOR) && t != DT_BOOL)
      ir_fail(g, "%s needs bool operands, got %s", info->name, dt_name(t));
  }
  Dtype res = (info->flags & MAPF_BOOL_OUT) ? DT_BOOL : t;
  if (op == MAP_CAST) {
    if (out == DT_UNDEF) ir_fail(g, "cast without a target type");
    res = out;
  } else if (out != DT_UNDEF && out != res) {
    ir_fail(g, "MAP %s yields %s, not %s", info->name, dt_name(res), dt_name(out));
  }
  Node *n = new_node(g, NODE_MAP, res, in[0]->rank, in[0]->dims);
  n->op = op;
  set_inputs(g, n, k, in);
  return n;
}

/* Collect the tensors read by IX_LOAD in e into list (no duplicates). */
static void collect_loads(const Ix *e, Node **list, int *n, int cap) {
  if (!e) return;
  if (e->kind == IX_LOAD) {
    int k;
    for (k = 0; k < *n; k++)
      if (list[k] == e->tensor) break;
    if (k == *n) {
      JTC_ASSERT(*n < cap);
      list[(*n)++] = e->tensor;
    }
  }
  collect_loads(e->a, list, n, cap);
  collect_loads(e->b, list, n, cap);
  collect_loads(e->c, list, n, cap);
  for (int k = 0; k < e->nargs; k++) collect_loads(e->args[k], list, n, cap);
}

static Node *indexed(Graph *g, NodeKind kind, Node *src, Dtype t, int rank, const int64_t *dims, int nidx,
                     Ix *const *idx, Ix *cond, int nvars) {
  Node *n = new_node(g, kind, t, rank, dims);
  n->idx = ir_alloc_array(g, nidx ? (size_t)nidx : 1, sizeof(Ix *));
  Node *ins[1 + 4 * IR_MAX_RANK];
  int nin = 1;
  ins[0] = src;
  for (int k = 0; k < nidx; k++) {
    JTC_ASSERT(idx[k]);
    if (idx[k]->maxvar >= nvars) ir_fail(g, "%s index map uses i%d but has only %d loop variables",
                                         node_kind_names[kind], idx[k]->maxvar, nvars);
    n->idx[k] = idx[k];
    collect_loads(idx[k], ins, &nin, (int)(sizeof ins / sizeof ins[0]));
  }
  if (cond && cond->maxvar >= nvars) ir_fail(g, "%s condition uses i%d but has only %d loop variables",
                                             node_kind_names[kind], cond->maxvar, nvars);
  if (cond && cond->kind == IX_CONST && cond->val) cond = NULL;
  n->cond = cond;
  collect_loads(cond, ins, &nin, (int)(sizeof ins / sizeof ins[0]));
  for (int k = 1; k < nin; k++)
    if (!dt_is_int(ins[k]->dtype)) ir_fail(g, "index tensor has type %s, not an integer", dt_name(ins[k]->dtype));
  set_inputs(g, n, nin, ins);
  return n;
}

Node *ir_gather(Graph *g, Node *src, int rank, const int64_t *dims, Ix *const *idx, Ix *cond, Scalar fill) {
  Node *n = indexed(g, NODE_GATHER, src, src->dtype, rank, dims, src->rank, idx, cond, rank);
  n->fill = fill;
  return n;
}

Node *ir_scatter(Graph *g, Node *src, ReduceOp op, int rank, const int64_t *dims, Ix *const *idx, Ix *cond) {
  if (op < 0 || op >= RED_COUNT) ir_fail(g, "invalid reduction");
  no_string(g, src, "a reduction (SCATTER)");
  if ((op == RED_AND || op == RED_OR || op == RED_XOR) && dt_is_float(src->dtype))
    ir_fail(g, "reduction %s needs integer or bool values, got %s", reduce_names[op], dt_name(src->dtype));
  Node *n = indexed(g, NODE_SCATTER, src, src->dtype, rank, dims, rank, idx, cond, src->rank);
  n->red = op;
  return n;
}

Node *ir_opaque(Graph *g, const char *kernel, Dtype t, int rank, const int64_t *dims, int k, Node *const *in,
                void *attr) {
  Node *n = new_node(g, NODE_OPAQUE, t, rank, dims);
  n->opaque_name = ir_strdup(g, kernel);
  n->opaque_attr = attr;
  set_inputs(g, n, k, in);
  return n;
}

void ir_mark_output(Graph *g, Node *n, const char *name) {
  if (g->noutputs == g->cap_outputs) {
    int cap = g->cap_outputs ? g->cap_outputs * 2 : 8;
    Node **p = ir_alloc_array(g, (size_t)cap, sizeof *p);
    const char **q = ir_alloc_array(g, (size_t)cap, sizeof *q);
    if (g->noutputs) {
      memcpy(p, g->outputs, (size_t)g->noutputs * sizeof *p);
      memcpy(q, g->output_names, (size_t)g->noutputs * sizeof *q);
    }
    g->outputs = p;
    g->output_names = q;
    g->cap_outputs = cap;
  }
  g->output_names[g->noutputs] = ir_strdup(g, name);
  g->outputs[g->noutputs++] = n;
  n->flags |= NF_OUTPUT;
}

Node *ir_state(Graph *g, const char *name, Dtype t, int rank, const int64_t *dims, const void *data) {
  JTC_ASSERT(name);
  Node *n = ir_const(g, t, rank, dims, data);
  n->leaf = LEAF_STATE;
  n->name = ir_strdup(g, name);
  return n;
}

/* Append to a pair of arrays (a, b) of count *n and capacity *cap. */
static void push2(Graph *g, void ***a, void ***b, int *n, int *cap, void *x, void *y) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 8;
    void **p = ir_alloc_array(g, (size_t)c, sizeof *p), **q = ir_alloc_array(g, (size_t)c, sizeof *q);
    if (*n) {
      memcpy(p, *a, (size_t)*n * sizeof *p);
      memcpy(q, *b, (size_t)*n * sizeof *q);
    }
    *a = p;
    *b = q;
    *cap = c;
  }
  (*a)[*n] = x;
  (*b)[(*n)++] = y;
}

void ir_update(Graph *g, Node *state, Node *value) {
  JTC_ASSERT(state->kind == NODE_LEAF && state->leaf == LEAF_STATE);
  if (!ir_same_shape(state, value) || state->dtype != value->dtype)
    ir_fail(g, "update of state '%s' has another shape or dtype", state->name);
  value->flags |= NF_KEEP;
  push2(g, (void ***)&g->upd_state, (void ***)&g->upd_value, &g->nupdates, &g->cap_updates, state, value);
}

void ir_check(Graph *g, Node *flag, const char *msg) {
  JTC_ASSERT(flag->numel == 1);
  flag->flags |= NF_KEEP;
  push2(g, (void ***)&g->checks, (void ***)&g->check_msgs, &g->nchecks, &g->cap_checks, flag, (void *)ir_strdup(g, msg));
}

Node *ir_resolve(Node *n) {
  while (n && n->fwd) n = n->fwd;
  return n;
}
