/* onnx_load.c: the ONNX loader. It reads the file, unpacks the ModelProto
 * with protobuf-c, resolves the default-domain opset, and then, in order:
 *   1. scans every node and reports all unsupported operators in one message
 *      (and stops there: lowering half a model helps nobody);
 *   2. makes constants of the initializers and inputs of the other graph
 *      inputs (symbolic dims from --shape overrides, else 1 with a warning);
 *   3. lowers each node through its op-table row (onnx_ops.c), with
 *      g->context naming the node so constructor errors say where. ir_fail
 *      unwinds to a jmp_buf here: the message is recorded, the node's outputs
 *      are marked missing (dependents are skipped quietly) and loading goes on
 *      so one run reports every independent error;
 *   4. marks the graph outputs.
 * Value names map to Node*s through a small open-addressing table that lives
 * only while loading; names point into the unpacked model.
 */
#include "frontend/onnx/onnx_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTED 100 /* errors kept in full; more are counted */

/* ---- error text of the last load ---- */
static char *err_text;
static size_t err_len, err_cap;
static int err_count;

const char *onnx_last_error(void) {
  return err_text ? err_text : "";
}

static void err_reset(void) {
  err_len = 0;
  err_count = 0;
  if (err_text) err_text[0] = 0;
}

static void err_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void err_add(const char *fmt, ...) {
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (++err_count > MAX_REPORTED) return;
  jtc_printable(line);
  fprintf(stderr, "%s\n", line);
  size_t n = strlen(line);
  if (err_len + n + 2 > err_cap) {
    size_t cap = (err_len + n + 2) * 2;
    char *t = realloc(err_text, cap);
    if (!t) return;
    err_text = t;
    err_cap = cap;
  }
  memcpy(err_text + err_len, line, n);
  err_len += n;
  err_text[err_len++] = '\n';
  err_text[err_len] = 0;
}

/* ---- value table: ONNX value name -> Node* ---- */
static Node missing_value; /* a producer failed; dependents are skipped quietly */
#define MISSING (&missing_value)

typedef struct { const char *name; Node *node; } Value;

/* Resource limits (OnnxOptions) and what the load has used of them, shared by
 * every scope of one load. */
typedef struct {
  int64_t max_bytes, max_nodes;
  int max_depth;
  int64_t bytes;             /* declared by initializers, inputs and node outputs so far */
  int64_t lowered;           /* node lowerings, unrolled iterations included */
  bool over;                 /* a limit was hit: stop lowering */
} Limits;

typedef struct OnnxScope Loader;
struct OnnxScope {
  const Loader *parent;      /* subgraphs: the enclosing scope, whose values stay visible */
  const char *path;
  char *dir;                 /* model's directory, for external data */
  Graph *g;
  Onnx__ModelProto *model;
  const Onnx__GraphProto *graph;
  const OnnxOptions *opt;
  Limits *lim;
  int opset;
  Value *vals;               /* open addressing, cap a power of two */
  size_t cap, count;
  char ctx[600];             /* g->context for the current item */
};

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static Value *val_slot(const Loader *L, const char *name) {
  size_t m = L->cap - 1;
  for (size_t i = hash_str(name) & m;; i = (i + 1) & m)
    if (!L->vals[i].name || !strcmp(L->vals[i].name, name)) return &L->vals[i];
}

static Node *val_get(const Loader *L, const char *name) {
  for (; L; L = L->parent) { /* innermost scope first */
    Value *v = val_slot(L, name);
    if (v->name) return v->node;
  }
  return NULL;
}

Node *onnx_scope_value(const struct OnnxScope *s, const char *name) { return val_get(s, name); }

static void val_set(Loader *L, const char *name, Node *n) {
  if ((L->count + 1) * 2 > L->cap) {
    size_t ocap = L->cap;
    Value *old = L->vals;
    L->cap = ocap ? ocap * 2 : 256;
    L->vals = calloc(L->cap, sizeof(Value));
    if (!L->vals) jtc_internal(__FILE__, __LINE__, "out of memory");
    for (size_t i = 0; i < ocap; i++)
      if (old[i].name) *val_slot(L, old[i].name) = old[i];
    free(old);
  }
  Value *v = val_slot(L, name);
  if (!v->name) L->count++;
  v->name = name;
  v->node = n;
}

/* ---- guarded steps: ir_fail inside fn lands here ---- */
typedef void (*StepFn)(Loader *L, size_t k);

static void record_failure(Loader *L) {
  if (strstr(L->g->errmsg, "raises the limit)")) L->lim->over = true; /* a resource limit: stop loading */
  if (L->g->errmsg[0]) err_add("%s", L->g->errmsg);
  else err_add("%s: %s: failed", L->path, L->ctx);
  L->g->errmsg[0] = 0;
}

/* Runs fn(L, k); returns false (message recorded) if it failed. */
static bool guarded(Loader *L, StepFn fn, size_t k) {
  jmp_buf jb;
  L->g->on_error = &jb;
  if (setjmp(jb)) {
    L->g->on_error = NULL;
    record_failure(L);
    return false;
  }
  fn(L, k);
  L->g->on_error = NULL;
  return true;
}

static void set_context(Loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_context(Loader *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = L->parent ? snprintf(L->ctx, sizeof L->ctx, "%s: ", L->parent->ctx) : 0; /* "node 'loop' (Loop, #3): node ..." */
  if (n < 0 || (size_t)n >= sizeof L->ctx) n = 0;
  vsnprintf(L->ctx + n, sizeof L->ctx - (size_t)n, fmt, ap);
  va_end(ap);
  L->g->context = L->ctx;
}

/* ---- resource limits ---- */
static const char *const bytes_hint = "--max-bytes=N raises the limit";

/* Count `bytes` more against --max-bytes, failing (and stopping the load) past it. */
static void charge_bytes(Loader *L, int64_t bytes, const char *what) {
  Limits *m = L->lim;
  if (bytes < 0 || bytes > m->max_bytes - m->bytes) {
    m->over = true;
    ir_fail(L->g, "%s of %lld bytes brings the model's constants and activations past the limit of %lld bytes (%s)",
            what, (long long)bytes, (long long)m->max_bytes, bytes_hint);
  }
  m->bytes += bytes;
}

/* numel * element size of dims, or -1 if it overflows int64. */
static int64_t shape_bytes(int rank, const int64_t *dims, Dtype dt) {
  int64_t n = (int64_t)dt_size(dt);
  for (int k = 0; k < rank; k++)
    if (dims[k] < 0 || __builtin_mul_overflow(n, dims[k], &n)) return -1;
  return n;
}

/* The graph arena may hold what the model declares plus 64 MiB of jtc's own
 * (nodes, index maps, tables, folding buffers): g->max_arena. */
static int64_t onnx_arena_limit(int64_t max_bytes) {
  int64_t slack = (int64_t)64 << 20;
  return max_bytes > INT64_MAX - slack ? INT64_MAX : max_bytes + slack;
}

/* A node output: a tensor, or a sequence's or optional's tensors. */
static void charge_value(Loader *L, Node *n, const char *what, int depth) {
  OnnxValue *v = onnx_value_of(n);
  if (!v) {
    charge_bytes(L, shape_bytes(n->rank, n->dims, n->dtype), what);
    return;
  }
  for (int k = 0; k < v->n && depth < 4; k++)
    if (v->elems[k]) charge_value(L, v->elems[k], what, depth + 1);
}

/* For lowerings that build tables as large as their output (Resize): the
 * output's bytes must fit in what is left of --max-bytes, checked before. */
void onnx_check_output_bytes(OnnxCtx *c, int rank, const int64_t *dims, Dtype dt) {
  Limits *m = c->scope->lim;
  int64_t bytes = shape_bytes(rank, dims, dt);
  if (bytes < 0 || bytes > m->max_bytes - m->bytes) {
    m->over = true;
    ir_fail(c->g, "its output of %lld bytes would bring the model's constants and activations past the limit of %lld "
            "bytes (%s)", (long long)bytes, (long long)m->max_bytes, bytes_hint);
  }
}

/* Before lowering one more node: --max-nodes bounds the lowerings (the graph's
 * constructors bound the meta-op nodes, g->max_nodes). */
static void check_node_limit(Loader *L) {
  Limits *m = L->lim;
  if (++m->lowered > m->max_nodes) {
    m->over = true;
    ir_fail(L->g, "more than %lld node lowerings, unrolled loop iterations included (--max-nodes=N raises the limit)",
            (long long)m->max_nodes);
  }
}

static const char *node_name(const Onnx__NodeProto *nd, size_t k, char *buf, size_t n) {
  if (nd->name && *nd->name) return nd->name;
  snprintf(buf, n, "%s_%zu", onnx_op_type(nd), k);
  return buf;
}

/* The op-table row for a node (onnx_find_node_op: the model's opset for the
 * default domain, the imported version for others); opset 0 asks for any. */
static const OnnxOpRow *find_row(Loader *L, const Onnx__NodeProto *nd, bool any_opset, int *opset) {
  return onnx_find_node_op(L->model, L->opset, nd->domain, onnx_op_type(nd), any_opset, opset);
}

/* ---- 1. unsupported operators, all at once ---- */
/* Appends gr's nodes and, depth first, those of the subgraphs in their
 * attributes (If branches, Loop and Scan bodies) to *v, down to max_depth. */
static void all_nodes(const Onnx__GraphProto *gr, int depth, int max_depth, const Onnx__NodeProto ***v, size_t *n,
                      size_t *cap) {
  for (size_t k = 0; k < gr->n_node; k++) {
    if (*n == *cap) {
      *cap = *cap ? *cap * 2 : 64;
      const Onnx__NodeProto **t = realloc(*v, *cap * sizeof **v);
      if (!t) jtc_internal(__FILE__, __LINE__, "out of memory");
      *v = t;
    }
    const Onnx__NodeProto *nd = gr->node[k];
    (*v)[(*n)++] = nd;
    for (size_t a = 0; a < nd->n_attribute && depth < max_depth; a++) {
      const Onnx__AttributeProto *at = nd->attribute[a];
      if (at->g) all_nodes(at->g, depth + 1, max_depth, v, n, cap);
      for (size_t j = 0; j < at->n_graphs; j++) all_nodes(at->graphs[j], depth + 1, max_depth, v, n, cap);
    }
  }
}

static bool check_ops(Loader *L) {
  typedef struct { char key[160]; int count; char first[160]; bool opset_only; } Bad;
  Bad *bad = NULL;
  int nbad = 0, capbad = 0;
  const Onnx__NodeProto **nodes = NULL;
  size_t nnodes = 0, capnodes = 0;
  all_nodes(L->graph, 0, L->lim->max_depth, &nodes, &nnodes, &capnodes);
  for (size_t k = 0; k < nnodes; k++) {
    const Onnx__NodeProto *nd = nodes[k];
    char key[160], nm[64];
    bool opset_only = false;
    int opset;
    if (find_row(L, nd, false, &opset)) continue;
    opset_only = find_row(L, nd, true, &opset) != NULL;
    if (onnx_default_domain(nd->domain)) snprintf(key, sizeof key, "%s", onnx_op_type(nd));
    else snprintf(key, sizeof key, "%s.%s", nd->domain, onnx_op_type(nd));
    int j = 0;
    while (j < nbad && strcmp(bad[j].key, key)) j++;
    if (j == nbad) {
      if (nbad == capbad) {
        capbad = capbad ? capbad * 2 : 8;
        Bad *t = realloc(bad, (size_t)capbad * sizeof *bad);
        if (!t) jtc_internal(__FILE__, __LINE__, "out of memory");
        bad = t;
      }
      memset(&bad[nbad], 0, sizeof *bad);
      snprintf(bad[nbad].key, sizeof bad[nbad].key, "%s", key);
      snprintf(bad[nbad].first, sizeof bad[nbad].first, "%s", node_name(nd, k, nm, sizeof nm));
      bad[nbad].opset_only = opset_only;
      nbad++;
    }
    bad[j].count++;
  }
  free(nodes);
  if (!nbad) return true;
  size_t cap = 256 + (size_t)nbad * 400, len = 0;
  char *msg = malloc(cap);
  if (!msg) jtc_internal(__FILE__, __LINE__, "out of memory");
  len += (size_t)snprintf(msg + len, cap - len, "%s: %d unsupported operator%s:", L->path, nbad, nbad > 1 ? "s" : "");
  for (int j = 0; j < nbad; j++)
    len += (size_t)snprintf(msg + len, cap - len, "%s %s%s (%d node%s, first '%s')", j ? "," : "", bad[j].key,
                            bad[j].opset_only ? " at this opset" : "", bad[j].count, bad[j].count > 1 ? "s" : "",
                            bad[j].first);
  err_add("%s (model opset %d)", msg, L->opset);
  free(msg);
  free(bad);
  return false;
}

/* ---- 2. initializers and graph inputs ---- */
static void load_initializer(Loader *L, size_t k) {
  const Onnx__TensorProto *t = L->graph->initializer[k];
  const char *name = t->name ? t->name : "";
  set_context(L, "initializer '%s'", name);
  if (!*name) ir_fail(L->g, "initializer #%zu has no name", k);
  /* Data in the file is checked against the shape before anything is allocated
   * (onnx_tensor_decode), so it is counted after; external data is counted
   * before it is read. */
  Dtype idt = t->has_data_type ? onnx_dtype(t->data_type) : DT_UNDEF;
  bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (external && idt != DT_UNDEF && t->n_dims <= IR_MAX_RANK) /* else decoding refuses it */
    charge_bytes(L, shape_bytes((int)t->n_dims, t->dims, idt), "the initializer");
  Node *n = onnx_tensor_const(L->g, t, L->dir);
  if (!external) charge_bytes(L, shape_bytes(n->rank, n->dims, n->dtype), "the initializer");
  for (int j = 0; L->opt && j < L->opt->nweights; j++) { /* --weights: same name, same dtype and shape */
    const OnnxWeight *w = &L->opt->weights[j];
    if (strcmp(w->name, name)) continue;
    bool same = w->dtype == n->dtype && w->rank == n->rank;
    for (int d = 0; same && d < n->rank; d++) same = w->dims[d] == n->dims[d];
    if (!same) {
      char a[256], b[256];
      int la = snprintf(a, sizeof a, "%s[", dt_name(w->dtype)), lb = snprintf(b, sizeof b, "%s[", dt_name(n->dtype));
      for (int d = 0; d < w->rank && la < 200; d++) la += snprintf(a + la, sizeof a - la, "%s%lld", d ? "," : "", (long long)w->dims[d]);
      for (int d = 0; d < n->rank && lb < 200; d++) lb += snprintf(b + lb, sizeof b - lb, "%s%lld", d ? "," : "", (long long)n->dims[d]);
      ir_fail(L->g, "--weights gives %s], the model's initializer is %s]", a, b);
    }
    n = ir_const(L->g, w->dtype, w->rank, w->dims, w->data);
    if (L->opt->weights_used) L->opt->weights_used[j] = true;
    break;
  }
  if (L->opt && (L->opt->training || L->opt->state_weights) && dt_is_float(n->dtype)) n = ir_state(L->g, name, n->dtype, n->rank, n->dims, n->data);
  n->name = ir_strdup(L->g, name);
  val_set(L, name, n);
}

static const OnnxShapeOverride *find_override(Loader *L, const char *name) {
  if (!L->opt) return NULL;
  for (int k = 0; k < L->opt->nshapes; k++)
    if (L->opt->shapes[k].name && !strcmp(L->opt->shapes[k].name, name)) return &L->opt->shapes[k];
  return NULL;
}

static const OnnxBind *find_bind(Loader *L, const char *name) {
  if (!L->opt) return NULL;
  for (int k = 0; k < L->opt->nbinds; k++)
    if (L->opt->binds[k].name && !strcmp(L->opt->binds[k].name, name)) return &L->opt->binds[k];
  return NULL;
}

static const char *find_seq(Loader *L, const char *name) {
  if (!L->opt) return NULL;
  for (int k = 0; k < L->opt->nseqs; k++)
    if (L->opt->seqs[k].name && !strcmp(L->opt->seqs[k].name, name)) return L->opt->seqs[k].path;
  return NULL;
}

/* --bind: the input's value, read from a TensorProto file, replaces the input. */
static Node *bound_input(Loader *L, const OnnxBind *b, const Onnx__TypeProto__Tensor *tt, Dtype dt) {
  Dtype fdt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *data = NULL;
  char err[512];
  if (onnx_read_tensor_file(b->path, &fdt, &rank, dims, &data, err, sizeof err))
    ir_fail(L->g, "--bind %s: %s", b->name, err);
  Node *n = NULL;
  if (fdt != dt) {
    free(data);
    ir_fail(L->g, "--bind %s: %s holds %s, the input is %s", b->name, b->path, dt_name(fdt), dt_name(dt));
  }
  bool ok = !tt->shape || tt->shape->n_dim == (size_t)rank;
  for (int d = 0; ok && tt->shape && d < rank; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
    if (dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value != dims[d]) ok = false;
  }
  if (!ok) {
    free(data);
    ir_fail(L->g, "--bind %s: the shape in %s does not match the model's input", b->name, b->path);
  }
  n = ir_const(L->g, dt, rank, dims, data);
  free(data);
  return n;
}

static void load_input(Loader *L, size_t k) {
  const Onnx__ValueInfoProto *vi = L->graph->input[k];
  const char *name = vi->name ? vi->name : "";
  set_context(L, "graph input '%s'", name);
  if (!*name) ir_fail(L->g, "graph input #%zu has no name", k);
  if (val_get(L, name)) return; /* an initializer: a constant, not an input */
  const Onnx__TypeProto *tp = vi->type;
  if (tp && (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE || tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)) {
    val_set(L, name, onnx_value_input(L->g, name, tp, find_seq(L, name))); /* onnx_lower_seq.c */
    return;
  }
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    ir_fail(L->g, "only tensor inputs are supported");
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  Dtype dt = onnx_dtype(tt->elem_type);
  if (dt == DT_UNDEF) ir_fail(L->g, "element type %s is not supported", onnx_dtype_name(tt->elem_type));
  const OnnxBind *bind = find_bind(L, name);
  if (bind) {
    Node *n = bound_input(L, bind, tt, dt);
    charge_bytes(L, shape_bytes(n->rank, n->dims, n->dtype), "the bound input");
    n->name = ir_strdup(L->g, name);
    val_set(L, name, n);
    return;
  }
  const OnnxShapeOverride *ov = find_override(L, name);
  int64_t dims[IR_MAX_RANK];
  int rank;
  if (!tt->shape && !ov)
    ir_fail(L->g, "the model gives no shape; set one with --shape %s=d0,d1,...", name);
  if (tt->shape && tt->shape->n_dim > IR_MAX_RANK)
    ir_fail(L->g, "rank %zu exceeds the limit of %d", tt->shape->n_dim, IR_MAX_RANK);
  if (ov) {
    if (ov->rank < 0 || ov->rank > IR_MAX_RANK) ir_fail(L->g, "--shape %s has a bad rank %d", name, ov->rank);
    if (tt->shape && (size_t)ov->rank != tt->shape->n_dim)
      ir_fail(L->g, "--shape %s gives %d dims, the model's input is %zu-D", name, ov->rank, tt->shape->n_dim);
    rank = ov->rank;
    for (int d = 0; d < rank; d++) {
      if (ov->dims[d] < 0) ir_fail(L->g, "--shape %s: dim %d is negative", name, d);
      dims[d] = ov->dims[d];
    }
  } else {
    rank = (int)tt->shape->n_dim;
    for (int d = 0; d < rank; d++) {
      const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
      if (dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dim->dim_value >= 0) {
        dims[d] = dim->dim_value;
        continue;
      }
      const char *sym = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? dim->dim_param : NULL;
      fprintf(stderr, "%s: warning: input '%s' dim %d is %s%s%s; using 1 (set it with --shape %s=...)\n", L->path, name,
              d, sym ? "symbolic ('" : "unknown", sym ? sym : "", sym ? "')" : "", name);
      dims[d] = 1;
    }
  }
  charge_bytes(L, shape_bytes(rank, dims, dt), "the input");
  Node *n = ir_input(L->g, name, dt, rank, dims);
  if (!n->name) n->name = ir_strdup(L->g, name);
  val_set(L, name, n);
}

static void check_overrides(Loader *L) {
  if (!L->opt) return;
  for (int k = 0; k < L->opt->nshapes; k++) {
    const char *name = L->opt->shapes[k].name ? L->opt->shapes[k].name : "";
    bool found = false;
    for (size_t j = 0; j < L->graph->n_input && !found; j++) {
      const char *in = L->graph->input[j]->name;
      if (in && !strcmp(in, name)) found = true;
    }
    if (!found) err_add("%s: --shape names '%s', which is not a graph input", L->path, name);
  }
  for (int k = 0; k < L->opt->nbinds; k++) {
    const char *name = L->opt->binds[k].name ? L->opt->binds[k].name : "";
    bool found = false;
    for (size_t j = 0; j < L->graph->n_input && !found; j++) {
      const char *in = L->graph->input[j]->name;
      if (in && !strcmp(in, name)) found = true;
    }
    if (!found) err_add("%s: --bind names '%s', which is not a graph input", L->path, name);
  }
  for (int k = 0; k < L->opt->nseqs; k++) {
    const char *name = L->opt->seqs[k].name ? L->opt->seqs[k].name : "";
    bool found = false;
    for (size_t j = 0; j < L->graph->n_input && !found; j++) {
      const char *in = L->graph->input[j]->name;
      if (in && !strcmp(in, name)) found = true;
    }
    if (!found) err_add("%s: --seq names '%s', which is not a graph input", L->path, name);
  }
}

/* ---- 3. nodes ---- */
static void mark_outputs_missing(Loader *L, const Onnx__NodeProto *nd) {
  for (size_t j = 0; j < nd->n_output; j++)
    if (nd->output[j] && *nd->output[j]) val_set(L, nd->output[j], MISSING);
}

static void lower_node(Loader *L, size_t k) {
  const Onnx__NodeProto *nd = L->graph->node[k];
  Graph *g = L->g;
  char buf[64];
  const char *name = node_name(nd, k, buf, sizeof buf);
  const char *op = onnx_op_type(nd);
  set_context(L, "node '%s' (%s, #%zu)", name, op, k);
  check_node_limit(L);
  g->cur_origin = ir_strdup(g, name);
  g->cur_op = ir_strdup(g, op);

  OnnxCtx c = {0};
  c.g = g;
  c.node = nd;
  const OnnxOpRow *row = find_row(L, nd, false, &c.opset);
  c.model_dir = L->dir;
  c.scope = L;
  c.nin = (int)nd->n_input;
  c.nout = (int)nd->n_output;
  c.in = ir_alloc_array(g, nd->n_input + 1, sizeof(Node *));
  c.out = ir_alloc_array(g, nd->n_output + 1, sizeof(Node *));
  bool values = false; /* a sequence or optional input (onnx_lower_seq.c) */
  for (size_t j = 0; j < nd->n_input; j++) {
    const char *in = nd->input[j];
    if (!in || !*in) continue; /* absent optional input */
    Node *v = val_get(L, in);
    if (v == MISSING) {
      mark_outputs_missing(L, nd); /* its producer already failed: stay quiet */
      return;
    }
    if (!v) ir_fail(g, "input '%s' is not a graph input, an initializer or an earlier node's output", in);
    c.in[j] = v;
    values |= onnx_value_of(v) != NULL;
  }
  JTC_ASSERT(row != NULL); /* check_ops made sure */
  int first_id = g->last ? g->last->id + 1 : 0;
  (values ? onnx_value_lowering(&c, row->lower) : row->lower)(&c);
  for (size_t j = 0; j < nd->n_output; j++) {
    if (!onnx_out_wanted(&c, (int)j)) continue;
    if (!c.out[j]) ir_fail(g, "output #%zu ('%s') is not supported", j, nd->output[j]);
    charge_value(L, c.out[j], "its output", 0);
    c.out[j] = onnx_fold(g, c.out[j], first_id);
  }
  for (size_t j = 0; j < nd->n_output; j++)
    if (onnx_out_wanted(&c, (int)j)) val_set(L, nd->output[j], c.out[j]);
}

static void lower_node_step(Loader *L, size_t k) {
  lower_node(L, k);
}

/* ---- 3b. subgraphs (If branches, Loop and Scan bodies) ----
 * A subgraph's nodes are lowered by lower_node in a child scope: its inputs
 * are bound to ins[], its initializers loaded, and names it does not define
 * resolve in the enclosing scopes. There is no recovery per node here: the
 * first error frees the child scope and unwinds to the enclosing handler, so
 * the node that owns the subgraph fails as a whole. */
Node **onnx_lower_subgraph(OnnxCtx *c, const Onnx__GraphProto *body, int nin, Node *const *ins) {
  Loader *P = c->scope;
  Graph *g = c->g;
  JTC_ASSERT(P != NULL);
  int depth = 0;
  for (const Loader *q = P; q->parent; q = q->parent) depth++;
  if (depth >= P->lim->max_depth)
    ir_fail(g, "subgraphs are nested more than %d deep (--max-depth=N raises the limit)", P->lim->max_depth);
  if (body->n_input != (size_t)nin) ir_fail(g, "the subgraph has %zu inputs, the operator binds %d", body->n_input, nin);
  Loader *S = calloc(1, sizeof *S);
  Value *vals = calloc(256, sizeof(Value));
  if (!S || !vals) jtc_internal(__FILE__, __LINE__, "out of memory");
  S->parent = P;
  S->path = P->path;
  S->dir = P->dir;
  S->g = g;
  S->model = P->model;
  S->graph = body;
  S->opt = P->opt;
  S->lim = P->lim;
  S->opset = P->opset;
  S->vals = vals;
  S->cap = 256;
  snprintf(S->ctx, sizeof S->ctx, "%s", P->ctx);
  const char *saved_ctx = g->context, *saved_origin = g->cur_origin, *saved_op = g->cur_op;
  jmp_buf *outer = g->on_error, jb;
  g->on_error = &jb;
  if (setjmp(jb)) { /* g->errmsg holds the message: free the scope, re-raise */
    free(S->vals);
    free(S);
    g->on_error = outer;
    g->context = saved_ctx;
    if (outer) longjmp(*outer, 1);
    fprintf(stderr, "%s\n", g->errmsg);
    exit(1);
  }
  for (size_t k = 0; k < body->n_initializer; k++) load_initializer(S, k);
  for (size_t k = 0; k < body->n_input; k++) {
    const char *name = body->input[k]->name;
    if (!name || !*name) ir_fail(g, "subgraph input #%zu has no name", k);
    val_set(S, name, ins[k]);
  }
  for (size_t k = 0; k < body->n_node; k++) lower_node(S, k);
  set_context(S, "subgraph outputs");
  Node **outs = ir_alloc_array(g, body->n_output + 1, sizeof(Node *));
  for (size_t k = 0; k < body->n_output; k++) {
    const char *name = body->output[k]->name ? body->output[k]->name : "";
    Node *n = val_get(S, name);
    if (n == MISSING) ir_fail(g, "output '%s' depends on a value whose producer failed", name);
    if (!n) ir_fail(g, "no node, initializer or input produces output '%s'", name);
    outs[k] = n;
  }
  g->on_error = outer;
  free(S->vals);
  free(S);
  g->context = saved_ctx;
  g->cur_origin = saved_origin;
  g->cur_op = saved_op;
  return outs;
}

/* ---- 4. graph outputs ---- */
static void mark_output(Loader *L, size_t k) {
  const Onnx__ValueInfoProto *vi = L->graph->output[k];
  const char *name = vi->name ? vi->name : "";
  set_context(L, "graph output '%s'", name);
  Node *n = val_get(L, name);
  if (n == MISSING) return;
  if (!n) ir_fail(L->g, "no node, initializer or input produces it");
  L->g->cur_origin = NULL;
  L->g->cur_op = NULL;
  if (onnx_value_of(n)) { /* a sequence or optional: its tensors, flattened */
    onnx_value_mark_output(L->g, n, name);
    return;
  }
  /* an output gets its own buffer: copy inputs, constants and repeated outputs */
  if (n->kind == NODE_LEAF || (n->flags & NF_OUTPUT)) n = ir_unary(L->g, MAP_COPY, n);
  ir_mark_output(L->g, n, ir_strdup(L->g, name));
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  char *d = malloc((size_t)(slash - path) + 1);
  if (d) {
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = 0;
  }
  return d;
}

Graph *onnx_load(const char *path, const OnnxOptions *opt) {
  err_reset();
  uint8_t *buf;
  size_t len;
  char msg[1024];
  if (onnx_read_file(path, &buf, &len, msg, sizeof msg) != 0) {
    err_add("%s", msg);
    return NULL;
  }
  Limits lim = {ONNX_DEFAULT_MAX_BYTES, ONNX_DEFAULT_MAX_NODES, ONNX_DEFAULT_MAX_DEPTH, 0, 0, false};
  if (opt && opt->max_bytes > 0) lim.max_bytes = opt->max_bytes;
  if (opt && opt->max_nodes > 0) lim.max_nodes = opt->max_nodes;
  if (opt && opt->max_depth > 0) lim.max_depth = opt->max_depth;
  if (onnx_check_model_bytes(buf, len, lim.max_nodes, path, msg, sizeof msg) != 0) { /* before protobuf-c recurses */
    free(buf);
    err_add("%s", msg);
    return NULL;
  }
  Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, buf);
  free(buf);
  if (!model) {
    err_add("%s: not an ONNX model (protobuf parse failed; truncated or corrupt file?)", path);
    return NULL;
  }
  if (!model->graph) {
    err_add("%s: the model has no graph", path);
    onnx__model_proto__free_unpacked(model, NULL);
    return NULL;
  }
  Loader L = {0};
  L.path = path;
  L.model = model;
  L.graph = model->graph;
  L.opt = opt;
  L.lim = &lim;
  bool found;
  L.opset = onnx_model_opset(model, &found);
  bool any_default = false; /* a model of other domains' ops alone needs no ai.onnx import */
  for (size_t k = 0; k < model->graph->n_node && !any_default; k++)
    any_default = model->graph->node[k] && onnx_default_domain(model->graph->node[k]->domain);
  if (!found && model->has_ir_version && model->ir_version >= 3 && any_default) {
    err_add("%s: the model imports no default-domain (ai.onnx) opset", path);
    onnx__model_proto__free_unpacked(model, NULL);
    return NULL;
  }
  if (!check_ops(&L)) {
    onnx__model_proto__free_unpacked(model, NULL);
    return NULL;
  }
  L.dir = dir_of(path);
  L.g = ir_graph_new();
  Graph *g = L.g;
  g->max_nodes = lim.max_nodes;
  g->max_arena = onnx_arena_limit(lim.max_bytes);
  g->file = ir_strdup(g, path);
  g->training = opt && opt->training;
  L.cap = 256;
  L.vals = calloc(L.cap, sizeof(Value));
  if (!L.vals) jtc_internal(__FILE__, __LINE__, "out of memory");

  check_overrides(&L);
  for (size_t k = 0; k < L.graph->n_initializer && !lim.over; k++)
    if (L.graph->initializer[k]) guarded(&L, load_initializer, k);
  for (size_t k = 0; k < L.graph->n_input && !lim.over; k++)
    if (L.graph->input[k]) guarded(&L, load_input, k);
  bool inputs_ok = err_count == 0; /* else nodes are not lowered at all */
  if (inputs_ok)
    for (size_t k = 0; k < L.graph->n_node && !lim.over; k++)
      if (!guarded(&L, lower_node_step, k)) mark_outputs_missing(&L, L.graph->node[k]);
  if (err_count == 0 && L.graph->n_output == 0) err_add("%s: the graph has no outputs", path);
  if (inputs_ok && !lim.over)
    for (size_t k = 0; k < L.graph->n_output; k++)
      if (L.graph->output[k]) guarded(&L, mark_output, k);

  if (err_count > MAX_REPORTED) {
    int more = err_count - MAX_REPORTED;
    err_count = MAX_REPORTED - 1; /* let one more line through */
    err_add("%s: ... and %d more error%s", path, more, more > 1 ? "s" : "");
    err_count = MAX_REPORTED + more;
  }
  g->context = NULL;
  g->cur_origin = g->cur_op = NULL;
  g->on_error = NULL;
  free(L.vals);
  free(L.dir);
  onnx__model_proto__free_unpacked(model, NULL);
  if (err_count) {
    ir_graph_free(g);
    return NULL;
  }
  return g;
}
