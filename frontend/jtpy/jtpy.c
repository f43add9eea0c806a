/* jtpy.c: the jtpy frontend's public entry points (jtpy.h). Each one reads
 * the file, runs the right loader under one error handler (jt_fail and
 * ir_fail both land there), and frees the whole arena on the way out.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char last_error[1024];

/* The pickle arena's limit for --max-bytes (0: the default): what the model
 * may declare plus 64 MiB for the reader's own values. */
static size_t arena_limit(int64_t max_bytes) {
  if (max_bytes <= 0) max_bytes = ONNX_DEFAULT_MAX_BYTES;
  return max_bytes > (int64_t)JT_MAX_ARENA ? JT_MAX_ARENA : (size_t)max_bytes + ((size_t)64 << 20);
}

const char *jtpy_last_error(void) {
  return last_error;
}

static void set_error(const char *msg) {
  snprintf(last_error, sizeof last_error, "%s", msg);
  fprintf(stderr, "%s\n", last_error);
}

bool jtpy_is_pickle_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  uint8_t head[16];
  size_t n = fread(head, 1, sizeof head, f);
  bool tail_magic = false;
  if (fseek(f, -8, SEEK_END) == 0) {
    char t[8];
    tail_magic = fread(t, 1, 8, f) == 8 && !memcmp(t, "HCAJSLHD", 8);
  }
  fclose(f);
  if (tail_magic) return true;
  if (n >= 4 && jt_is_zip(head, n)) return true;
  return n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5;
}

Graph *jtpy_load(const char *path, const OnnxOptions *opt) {
  JtCtx c = {0};
  c.path = path;
  c.max_total = arena_limit(opt ? opt->max_bytes : 0);
  last_error[0] = 0;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (jt_read_file(&c, path, &buf, &len)) {
    set_error(c.err);
    return NULL;
  }
  Graph *g = ir_graph_new();
  /* the ONNX loader's resource limits (OnnxOptions): nodes made, and the graph
   * arena at what the model may declare plus 64 MiB */
  int64_t max_bytes = opt && opt->max_bytes > 0 ? opt->max_bytes : ONNX_DEFAULT_MAX_BYTES;
  g->max_nodes = opt && opt->max_nodes > 0 ? opt->max_nodes : ONNX_DEFAULT_MAX_NODES;
  g->max_arena = max_bytes > INT64_MAX - ((int64_t)64 << 20) ? INT64_MAX : max_bytes + ((int64_t)64 << 20);
  g->file = ir_strdup(g, path);
  g->model_desc = "PyTorch whole-module pickle";
  jmp_buf jb;
  c.jb = &jb;
  g->on_error = &jb;
  if (setjmp(jb)) {
    set_error(g->errmsg[0] ? g->errmsg : c.err);
    jt_free_all(&c);
    ir_graph_free(g);
    free(buf);
    return NULL;
  }
  PyVal *root = jt_load_any(&c, buf, len);
  jt_build_module_graph(&c, g, root, opt);
  g->on_error = NULL;
  g->context = NULL;
  jt_free_all(&c); /* constants were copied into the graph */
  free(buf);
  return g;
}

typedef struct {
  JtCtx c;
  uint8_t *buf;
} WeightsPriv;

static uint64_t le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; k--) v = v << 8 | p[k];
  return v;
}

/* A .weights file that a training build saved (net_save_weights): "JTCWGT01", u64 payload
 * bytes, u64 FNV-1a of the payload, the payload, then "JTCNAMES", u64 count and per tensor
 * u64 offset, u32 + dtype name, u32 rank, i64 dims, u32 + name. Every length is checked
 * against the file before it is used. */
static void load_jtc_weights(JtCtx *c, const uint8_t *buf, size_t len, JtpyWeights *w) {
  c->part = ".weights";
  if (len < 24) jt_fail(c, -1, "truncated .weights header");
  uint64_t size = le(buf + 8, 8), hash = le(buf + 16, 8);
  if (size > len - 24) jt_fail(c, 8, "payload of %llu bytes, the file has %zu", (unsigned long long)size, len - 24);
  const uint8_t *pay = buf + 24;
  if (ir_fnv1a(IR_FNV1A_BASIS, pay, (size_t)size) != hash) jt_fail(c, 16, "checksum mismatch (corrupted)");
  size_t at = 24 + (size_t)size;
#define NEED(n, what) \
  if ((n) > len - at) jt_fail(c, (int64_t)at, "truncated %s", what)
  NEED(16, "name table");
  if (memcmp(buf + at, "JTCNAMES", 8))
    jt_fail(c, (int64_t)at, "no name table: only weights saved by a training build's net_save_weights name their tensors");
  uint64_t n = le(buf + at + 8, 8);
  at += 16;
  if (n == 0 || n > (len - at) / 20) jt_fail(c, (int64_t)at - 8, "name table of %llu tensors", (unsigned long long)n);
  w->w = jt_alloc_array(c, (size_t)n, sizeof *w->w);
  w->n = (int)n;
  for (uint64_t k = 0; k < n; k++) {
    OnnxWeight *o = &w->w[k];
    NEED(12, "name table");
    uint64_t off = le(buf + at, 8), tl = le(buf + at + 8, 4);
    at += 12;
    NEED(tl, "dtype name");
    o->dtype = dt_from_name((const char *)buf + at, (size_t)tl);
    if (o->dtype == DT_UNDEF || o->dtype == DT_STRING) jt_fail(c, (int64_t)at, "unknown dtype in the name table");
    at += tl;
    NEED(4, "rank");
    uint64_t rank = le(buf + at, 4);
    at += 4;
    if (rank > IR_MAX_RANK) jt_fail(c, (int64_t)at - 4, "rank %llu", (unsigned long long)rank);
    o->rank = (int)rank;
    NEED(8 * rank, "dims");
    uint64_t bytes = dt_size(o->dtype);
    for (int d = 0; d < o->rank; d++) {
      o->dims[d] = (int64_t)le(buf + at + 8 * d, 8);
      if (o->dims[d] < 0 || (o->dims[d] && bytes > size / (uint64_t)o->dims[d]))
        jt_fail(c, (int64_t)at, "dims larger than the payload");
      bytes *= (uint64_t)o->dims[d];
    }
    at += 8 * rank;
    NEED(4, "name length");
    uint64_t nl = le(buf + at, 4);
    at += 4;
    NEED(nl, "name");
    o->name = jt_strndup(c, (const char *)buf + at, (size_t)nl);
    at += nl;
    if (off > size || bytes > size - off) jt_fail(c, (int64_t)at, "tensor '%s' lies outside the payload", o->name);
    o->data = pay + off;
  }
#undef NEED
}

JtpyWeights *jtpy_load_weights(const char *path) {
  return jtpy_load_weights_max(path, 0);
}

JtpyWeights *jtpy_load_weights_max(const char *path, int64_t max_bytes) {
  WeightsPriv *volatile p = calloc(1, sizeof *p);
  JtpyWeights *volatile w = calloc(1, sizeof *w);
  last_error[0] = 0;
  if (!p || !w) {
    free(p), free(w);
    set_error("out of memory");
    return NULL;
  }
  p->c.path = path;
  p->c.max_total = arena_limit(max_bytes);
  w->priv = p;
  size_t len;
  if (jt_read_file(&p->c, path, &p->buf, &len)) {
    set_error(p->c.err);
    free(p), free(w);
    return NULL;
  }
  jmp_buf jb;
  p->c.jb = &jb;
  if (setjmp(jb)) {
    set_error(p->c.err);
    jtpy_weights_free(w);
    return NULL;
  }
  if (len >= 8 && !memcmp(p->buf, "JTCWGT01", 8)) {
    load_jtc_weights(&p->c, p->buf, len, w);
    p->c.jb = NULL;
    return w;
  }
  PyVal *root = jt_load_any(&p->c, p->buf, len);
  JtNamed *named = NULL;
  size_t n = 0, cap = 0;
  jt_collect_tensors(&p->c, root, "", &named, &n, &cap, 0);
  if (n == 0) jt_fail(&p->c, -1, "holds no tensors (a %s at the top)", jt_kind_name(root->kind));
  if (n > 1 << 24) jt_fail(&p->c, -1, "holds %zu tensors", n);
  w->w = jt_alloc_array(&p->c, n, sizeof *w->w);
  w->n = (int)n;
  for (size_t k = 0; k < n; k++) {
    const JtTensor *t = named[k].t;
    OnnxWeight *o = &w->w[k];
    o->name = named[k].name;
    o->dtype = t->dt;
    o->rank = t->rank;
    memcpy(o->dims, t->dims, sizeof o->dims);
    o->data = jt_tensor_dense(&p->c, t, named[k].name);
  }
  p->c.jb = NULL;
  return w;
}

void jtpy_weights_free(JtpyWeights *w) {
  if (!w) return;
  WeightsPriv *p = w->priv;
  if (p) {
    jt_free_all(&p->c);
    free(p->buf);
    free(p);
  }
  free(w);
}

int jtpy_weights_report(const JtpyWeights *w, const bool *used, const char *path, FILE *f) {
  int nused = 0, nun = 0;
  for (int k = 0; k < w->n; k++) nused += used[k];
  nun = w->n - nused;
  if (nun) {
    fprintf(f, "jtc: warning: --weights %s: %d of %d tensor%s matched no initializer of the model:", path, nun, w->n,
            w->n > 1 ? "s" : "");
    int shown = 0;
    for (int k = 0; k < w->n && shown < 20; k++)
      if (!used[k]) fprintf(f, "%s %s", shown++ ? "," : "", w->w[k].name);
    if (nun > shown) fprintf(f, ", ... (%d more)", nun - shown);
    fprintf(f, "\n");
  }
  return nused;
}

/* Distinct classes of records (objects the reader did not build), bounded in
 * depth and in values visited (*budget: shared values are visited each time). */
static void collect_classes(const PyVal *v, const char **seen, int *n, int max, int depth, long *budget) {
  if (depth > JT_MAX_DEPTH || --*budget < 0) return;
  if (v->kind == PY_OBJ && v->cls && v->cls->kind == PY_GLOBAL) {
    int k = 0;
    while (k < *n && strcmp(seen[k], v->cls->s)) k++;
    if (k == *n && *n < max) seen[(*n)++] = v->cls->s;
    if (v->state) collect_classes(v->state, seen, n, max, depth + 1, budget);
  }
  if (v->kind == PY_TUPLE || v->kind == PY_LIST || v->kind == PY_DICT || v->kind == PY_SET)
    for (size_t k = 0; k < v->n; k++) collect_classes(v->items[k], seen, n, max, depth + 1, budget);
}

/* `jtc inspect FILE --json`: {"format":"pickle","kind","tensors":[{"name","dtype","shape"}],"classes":[...]}
 * (the text form's module tree is left out). Dims go in as raw number text
 * (exact past 2^53). 0, or 1 when cJSON runs out of memory. */
static cJSON *json_push(cJSON *arr, cJSON *item) {
  if (item && cJSON_AddItemToArray(arr, item)) return item;
  cJSON_Delete(item);
  return NULL;
}

static int inspect_json(FILE *f, const char *kind, const JtNamed *named, size_t n, const char *const *classes, int ncls) {
  cJSON *root = cJSON_CreateObject();
  bool ok = root && cJSON_AddStringToObject(root, "format", "pickle") && cJSON_AddStringToObject(root, "kind", kind);
  cJSON *arr = ok ? cJSON_AddArrayToObject(root, "tensors") : NULL;
  ok = arr != NULL;
  for (size_t k = 0; ok && k < n; k++) {
    const JtTensor *t = named[k].t;
    cJSON *o = json_push(arr, cJSON_CreateObject()), *shape = NULL;
    ok = o && cJSON_AddStringToObject(o, "name", named[k].name) && cJSON_AddStringToObject(o, "dtype", dt_name(t->dt)) &&
         (shape = cJSON_AddArrayToObject(o, "shape"));
    for (int d = 0; ok && d < t->rank; d++) {
      char b[32];
      snprintf(b, sizeof b, "%lld", (long long)t->dims[d]);
      ok = json_push(shape, cJSON_CreateRaw(b)) != NULL;
    }
  }
  cJSON *cls = ok ? cJSON_AddArrayToObject(root, "classes") : NULL;
  ok = cls != NULL;
  for (int k = 0; ok && k < ncls; k++) ok = json_push(cls, cJSON_CreateString(classes[k])) != NULL;
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) return 1;
  fprintf(f, "%s\n", text);
  cJSON_free(text);
  return 0;
}

static int inspect(const char *path, bool json, FILE *f) {
  JtCtx c = {0};
  c.path = path;
  c.max_total = arena_limit(0);
  last_error[0] = 0;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (jt_read_file(&c, path, &buf, &len)) {
    set_error(c.err);
    return 1;
  }
  jmp_buf jb;
  c.jb = &jb;
  if (setjmp(jb)) {
    set_error(c.err);
    jt_free_all(&c);
    free(buf);
    return 1;
  }
  static const char *const fmts[] = {"unknown", "torch.save zip", "torch.save legacy", "Jittor jt.save", "pickle"};
  JtFormat fm = jt_detect(buf, len);
  if (!json) fprintf(f, "%s: %s\n", path, fmts[fm]);
  PyVal *root = jt_load_any(&c, buf, len);
  JtNamed *named = NULL;
  size_t n = 0, cap = 0;
  jt_collect_tensors(&c, root, "", &named, &n, &cap, 0);
  const char *classes[64];
  int ncls = 0;
  long budget = 1 << 20;
  collect_classes(root, classes, &ncls, 64, 0, &budget);
  if (json) {
    int rc = inspect_json(f, fmts[fm], named, n, classes, ncls);
    if (rc) jt_fail(&c, -1, "out of memory writing JSON");
    jt_free_all(&c);
    free(buf);
    return 0;
  }
  fprintf(f, "tensors (%zu):\n", n);
  for (size_t k = 0; k < n; k++) {
    const JtTensor *t = named[k].t;
    fprintf(f, "  %-40s %s[", named[k].name, dt_name(t->dt));
    for (int d = 0; d < t->rank; d++) fprintf(f, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    fprintf(f, "]\n");
  }
  fprintf(f, "classes (%d):", ncls);
  for (int k = 0; k < ncls; k++)
    fprintf(f, "%s %s%s", k ? "," : "", classes[k], strncmp(classes[k], "torch.nn.modules.", 17) ? " (unknown: recorded, not built)" : "");
  fprintf(f, "\nstructure:\n  ");
  jt_print_value(f, root, 0, 2);
  fprintf(f, "\n");
  jt_free_all(&c);
  free(buf);
  return 0;
}

int jtpy_inspect(const char *path, FILE *f) { return inspect(path, false, f); }
int jtpy_inspect_json(const char *path, FILE *f) { return inspect(path, true, f); }
