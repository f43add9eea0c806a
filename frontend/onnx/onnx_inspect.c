/* onnx_inspect.c: `jtc inspect MODEL.onnx [--json]`: what an ONNX model holds,
 * read without lowering it: metadata and opset imports, graph inputs (those
 * without an initializer) and outputs with their types and shapes, the op
 * histogram (nodes of If/Loop/Scan subgraphs included), parameters, external
 * data (reported, never read) and the op types jtc's op table lacks at the
 * model's opsets (onnx_find_node_op, the loader's own rule).
 *
 * Rules, also in the README:
 *   - the default domain ("" or "ai.onnx") is written "ai.onnx";
 *   - parameters: the elements of every initializer of the graph and its
 *     subgraphs, plus the stored values (nnz) of sparse initializers; Constant
 *     nodes are ops, not parameters. Bytes: each initializer's declared data
 *     size (elements x element size, 4-bit types rounded up to bytes, strings
 *     their lengths; a sparse one its values and indices), external ones
 *     included by that declared size;
 *   - ops are sorted by count (descending), then op type, then domain;
 *   - ir_version and model_version read 0 when absent (protobuf defaults).
 * The file is read under the loader's limits: onnx_read_file's file size,
 * ONNX_MAX_NESTING and ONNX_DEFAULT_MAX_NODES (onnx_check_model_bytes) before
 * protobuf-c unpacks it; declared sizes are only added up, never allocated.
 * JSON is built with cJSON; 64-bit integers go in as raw number text so they
 * stay exact.
 */
#include "frontend/onnx/onnx_internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define DOC_MAX 80          /* the doc string is shown up to its first line, at most this many bytes */
#define TEXT_EXTERNAL_MAX 20 /* external initializers listed by name in the text form */

typedef struct {
  const char *domain, *op_type; /* point into the model; domain normalized ("ai.onnx") */
  int64_t count;
  bool supported, other_opsets; /* other_opsets: unsupported here, in the table at another version */
} OpCount;

typedef struct { const char *name, *location; int64_t bytes; } External;

typedef struct {
  const char *path;
  const Onnx__ModelProto *m;
  int opset;                    /* the default domain's (onnx_model_opset) */
  OpCount *ops;
  size_t nops, capops;
  External *ext;
  size_t next, capext;
  int64_t nodes, subgraphs, ninit, params, bytes, ext_bytes;
  const char **init_names;      /* sorted: initializer and sparse initializer names of the main graph */
  size_t ninit_names;
  char err[512];                /* set on failure */
} Info;

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return p;
  size_t c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *t = realloc(p, c * elem);
  if (!t) jtc_internal(__FILE__, __LINE__, "out of memory");
  *cap = c;
  return t;
}

static bool add64(int64_t *acc, int64_t v) {
  return v >= 0 && !__builtin_add_overflow(*acc, v, acc);
}

/* Bits per element of an ONNX data type; 0 for strings and unknown types. */
static int elem_bits(int t) {
  switch (t) {
  case 2: case 3: case 9: case 17: case 18: case 19: case 20: return 8;        /* (u)int8, bool, float8 */
  case 4: case 5: case 10: case 16: return 16;                                /* (u)int16, float16, bfloat16 */
  case 1: case 6: case 12: return 32;                                         /* float, int32, uint32 */
  case 7: case 11: case 13: case 14: return 64;                               /* int64, double, uint64, complex64 */
  case 15: return 128;                                                        /* complex128 */
  case 21: case 22: case 23: return 4;                                        /* uint4, int4, float4e2m1 */
  default: return 0;
  }
}

/* Elements and declared bytes of a tensor; false if a dim is negative or a size overflows. */
static bool tensor_size(const Onnx__TensorProto *t, int64_t *numel, int64_t *bytes) {
  int64_t n = 1;
  for (size_t d = 0; d < t->n_dims; d++)
    if (t->dims[d] < 0 || __builtin_mul_overflow(n, t->dims[d], &n)) return false;
  *numel = n;
  int dt = t->has_data_type ? t->data_type : 0;
  if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING) {
    int64_t b = 0;
    for (size_t k = 0; k < t->n_string_data; k++)
      if (!add64(&b, (int64_t)t->string_data[k].len)) return false;
    *bytes = b;
    return true;
  }
  int64_t bits;
  if (__builtin_mul_overflow(n, (int64_t)elem_bits(dt), &bits)) return false;
  *bytes = bits / 8 + (bits % 8 != 0);
  return true;
}

static bool is_external(const Onnx__TensorProto *t) {
  return t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

static const char *external_location(const Onnx__TensorProto *t) {
  for (size_t k = 0; k < t->n_external_data; k++) {
    const Onnx__StringStringEntryProto *e = t->external_data[k];
    if (e && e->key && e->value && !strcmp(e->key, "location")) return e->value;
  }
  return "";
}

static const char *name_or_empty(const char *s) { return s ? s : ""; }

static bool add_initializer(Info *in, const Onnx__TensorProto *t) {
  int64_t numel, bytes;
  if (!tensor_size(t, &numel, &bytes)) {
    snprintf(in->err, sizeof in->err, "%s: initializer '%s' has a negative dim or a size past 2^63", in->path,
             name_or_empty(t->name));
    return false;
  }
  in->ninit++;
  if (!add64(&in->params, numel) || !add64(&in->bytes, bytes)) goto overflow;
  if (is_external(t)) {
    if (!add64(&in->ext_bytes, bytes)) goto overflow;
    in->ext = grow(in->ext, &in->capext, in->next + 1, sizeof *in->ext);
    in->ext[in->next++] = (External){name_or_empty(t->name), external_location(t), bytes};
  }
  return true;
overflow:
  snprintf(in->err, sizeof in->err, "%s: the initializers' sizes add up past 2^63", in->path);
  return false;
}

/* A sparse initializer: its stored values are parameters; values and indices take bytes. */
static bool add_sparse(Info *in, const Onnx__SparseTensorProto *s) {
  if (s->values && !add_initializer(in, s->values)) return false;
  if (!s->indices) return true;
  int64_t numel, bytes;
  if (!tensor_size(s->indices, &numel, &bytes) || !add64(&in->bytes, bytes) ||
      (is_external(s->indices) && !add64(&in->ext_bytes, bytes))) {
    snprintf(in->err, sizeof in->err, "%s: the indices of sparse initializer '%s' have a bad size", in->path,
             name_or_empty(s->values ? s->values->name : NULL));
    return false;
  }
  return true;
}

static void count_op(Info *in, const Onnx__NodeProto *nd) {
  const char *dom = onnx_default_domain(nd->domain) ? "ai.onnx" : nd->domain, *op = onnx_op_type(nd);
  in->nodes++;
  for (size_t k = 0; k < in->nops; k++)
    if (!strcmp(in->ops[k].op_type, op) && !strcmp(in->ops[k].domain, dom)) {
      in->ops[k].count++;
      return;
    }
  in->ops = grow(in->ops, &in->capops, in->nops + 1, sizeof *in->ops);
  OpCount *c = &in->ops[in->nops++];
  int used;
  *c = (OpCount){dom, op, 1, false, false};
  c->supported = onnx_find_node_op(in->m, in->opset, dom, op, false, &used) != NULL;
  c->other_opsets = !c->supported && onnx_find_node_op(in->m, in->opset, dom, op, true, &used) != NULL;
}

/* Nodes and initializers of gr and, depth first, of the subgraphs in its nodes'
 * attributes. Depth is bounded by ONNX_MAX_NESTING (checked before unpacking). */
static bool walk(Info *in, const Onnx__GraphProto *gr) {
  for (size_t k = 0; k < gr->n_initializer; k++)
    if (gr->initializer[k] && !add_initializer(in, gr->initializer[k])) return false;
  for (size_t k = 0; k < gr->n_sparse_initializer; k++)
    if (gr->sparse_initializer[k] && !add_sparse(in, gr->sparse_initializer[k])) return false;
  for (size_t k = 0; k < gr->n_node; k++) {
    const Onnx__NodeProto *nd = gr->node[k];
    if (!nd) continue;
    count_op(in, nd);
    for (size_t a = 0; a < nd->n_attribute; a++) {
      const Onnx__AttributeProto *at = nd->attribute[a];
      if (!at) continue;
      if (at->g) {
        in->subgraphs++;
        if (!walk(in, at->g)) return false;
      }
      for (size_t j = 0; j < at->n_graphs; j++) {
        if (!at->graphs[j]) continue;
        in->subgraphs++;
        if (!walk(in, at->graphs[j])) return false;
      }
    }
  }
  return true;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_op(const void *a, const void *b) {
  const OpCount *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  int c = strcmp(x->op_type, y->op_type);
  return c ? c : strcmp(x->domain, y->domain);
}

/* Main-graph initializer names, sorted, to tell graph inputs from initializers. */
static void collect_init_names(Info *in) {
  const Onnx__GraphProto *gr = in->m->graph;
  in->init_names = malloc((gr->n_initializer + gr->n_sparse_initializer + 1) * sizeof *in->init_names);
  if (!in->init_names) jtc_internal(__FILE__, __LINE__, "out of memory");
  for (size_t k = 0; k < gr->n_initializer; k++)
    if (gr->initializer[k]) in->init_names[in->ninit_names++] = name_or_empty(gr->initializer[k]->name);
  for (size_t k = 0; k < gr->n_sparse_initializer; k++) {
    const Onnx__SparseTensorProto *s = gr->sparse_initializer[k];
    if (s && s->values) in->init_names[in->ninit_names++] = name_or_empty(s->values->name);
  }
  qsort(in->init_names, in->ninit_names, sizeof *in->init_names, cmp_str);
}

static bool is_initializer(const Info *in, const char *name) {
  return bsearch(&name, in->init_names, in->ninit_names, sizeof *in->init_names, cmp_str) != NULL;
}

/* ---- types and shapes ---- */
static void lower_dtype(int t, char *buf, size_t n) {
  snprintf(buf, n, "%s", t ? onnx_dtype_name(t) : "?");
  for (char *p = buf; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
}

/* "float", "sequence(int64)", "optional(sequence(float))", "map(string,float)",
 * "sparse_tensor(float)", "?" (no type); nesting past 8 is "...". */
static void type_name(const Onnx__TypeProto *tp, char *buf, size_t n, int depth) {
  char inner[160], key[32];
  if (!tp || depth > 8) {
    snprintf(buf, n, "%s", tp ? "..." : "?");
    return;
  }
  switch (tp->value_case) {
  case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
    lower_dtype(tp->tensor_type && tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0, buf, n);
    return;
  case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
    lower_dtype(tp->sparse_tensor_type && tp->sparse_tensor_type->has_elem_type ? tp->sparse_tensor_type->elem_type : 0,
                inner, sizeof inner);
    snprintf(buf, n, "sparse_tensor(%s)", inner);
    return;
  case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
    type_name(tp->sequence_type ? tp->sequence_type->elem_type : NULL, inner, sizeof inner, depth + 1);
    snprintf(buf, n, "sequence(%s)", inner);
    return;
  case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
    type_name(tp->optional_type ? tp->optional_type->elem_type : NULL, inner, sizeof inner, depth + 1);
    snprintf(buf, n, "optional(%s)", inner);
    return;
  case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
    lower_dtype(tp->map_type && tp->map_type->has_key_type ? tp->map_type->key_type : 0, key, sizeof key);
    type_name(tp->map_type ? tp->map_type->value_type : NULL, inner, sizeof inner, depth + 1);
    snprintf(buf, n, "map(%s,%s)", key, inner);
    return;
  default:
    snprintf(buf, n, "?");
  }
}

/* A tensor's (or sparse tensor's) shape; NULL for other types or an unknown rank. */
static const Onnx__TensorShapeProto *type_shape(const Onnx__TypeProto *tp) {
  if (!tp) return NULL;
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) return tp->tensor_type->shape;
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE && tp->sparse_tensor_type)
    return tp->sparse_tensor_type->shape;
  return NULL;
}

static bool is_tensorish(const Onnx__TypeProto *tp) {
  return tp && (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
                tp->value_case == ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE);
}

/* A dim: NULL with its value in *value, else its name, else "?" (unknown). */
static const char *dim_text(const Onnx__TensorShapeProto__Dimension *d, int64_t *value) {
  if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
    *value = d->dim_value;
    return NULL;
  }
  if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param && *d->dim_param)
    return d->dim_param;
  return "?";
}

/* The first line of the doc string, at most DOC_MAX bytes (cut on a UTF-8 boundary, "..." when cut). */
static void short_doc(const char *s, char *buf, size_t n) {
  s = name_or_empty(s);
  size_t len = strcspn(s, "\r\n"), cut = len > DOC_MAX ? DOC_MAX : len;
  while (cut > 0 && cut < len && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
  snprintf(buf, n, "%.*s%s", (int)cut, s, cut < strlen(s) ? "..." : "");
}

/* ---- text ---- */
/* s with control characters as '?' (names come from the file), cut to fit buf. */
static const char *printable(const char *s, char *buf, size_t n) {
  snprintf(buf, n, "%s", name_or_empty(s));
  return jtc_printable(buf);
}

static const char *or_none(const char *s) { return *s ? s : "(none)"; }

static const char *opset_domain(const Onnx__OperatorSetIdProto *o) {
  return onnx_default_domain(o->domain) ? "ai.onnx" : o->domain;
}

static void text_values(FILE *f, const Info *in, const char *what, Onnx__ValueInfoProto *const *v, size_t n, bool inputs) {
  size_t count = 0;
  for (size_t k = 0; k < n; k++) count += v[k] && !(inputs && is_initializer(in, name_or_empty(v[k]->name)));
  fprintf(f, "%s (%zu):\n", what, count);
  for (size_t k = 0; k < n; k++) {
    if (!v[k] || (inputs && is_initializer(in, name_or_empty(v[k]->name)))) continue;
    char nm[256], ty[200];
    type_name(v[k]->type, ty, sizeof ty, 0);
    fprintf(f, "  %-24s %s", printable(v[k]->name, nm, sizeof nm), ty);
    const Onnx__TensorShapeProto *s = type_shape(v[k]->type);
    if (s) {
      fputc('[', f);
      for (size_t d = 0; d < s->n_dim; d++) {
        int64_t val;
        const char *sym = dim_text(s->dim[d], &val);
        if (sym) fprintf(f, "%s%s", d ? "," : "", printable(sym, nm, sizeof nm));
        else fprintf(f, "%s%lld", d ? "," : "", (long long)val);
      }
      fputc(']', f);
    } else if (is_tensorish(v[k]->type)) {
      fputs(" (rank unknown)", f);
    }
    fputc('\n', f);
  }
}

static void print_text(FILE *f, const Info *in) {
  const Onnx__ModelProto *m = in->m;
  char a[256], b[256], doc[DOC_MAX * 2];
  fprintf(f, "%s: ONNX model\n", printable(in->path, a, sizeof a));
  fprintf(f, "ir_version: %lld\n", (long long)m->ir_version);
  printable(m->producer_version, b, sizeof b);
  fprintf(f, "producer: %s%s%s\n", or_none(printable(m->producer_name, a, sizeof a)), *b ? " " : "", b);
  fprintf(f, "domain: %s\n", or_none(printable(m->domain, a, sizeof a)));
  fprintf(f, "model_version: %lld\n", (long long)m->model_version);
  short_doc(m->doc_string, doc, sizeof doc);
  fprintf(f, "doc_string: %s\n", or_none(printable(doc, a, sizeof a)));
  fprintf(f, "opsets:");
  for (size_t k = 0; k < m->n_opset_import; k++)
    if (m->opset_import[k])
      fprintf(f, " %s %lld%s", printable(opset_domain(m->opset_import[k]), a, sizeof a),
              (long long)m->opset_import[k]->version, k + 1 < m->n_opset_import ? "," : "");
  fprintf(f, "%s\n", m->n_opset_import ? "" : " (none)");
  text_values(f, in, "inputs", m->graph->input, m->graph->n_input, true);
  text_values(f, in, "outputs", m->graph->output, m->graph->n_output, false);
  fprintf(f, "ops (%lld node%s in %zu op type%s", (long long)in->nodes, in->nodes == 1 ? "" : "s", in->nops,
          in->nops == 1 ? "" : "s");
  if (in->subgraphs) fprintf(f, "; counts include the nodes of %lld subgraph%s):\n", (long long)in->subgraphs,
                             in->subgraphs == 1 ? "" : "s");
  else fprintf(f, ", no subgraphs):\n");
  size_t nbad = 0;
  for (size_t k = 0; k < in->nops; k++) {
    const OpCount *c = &in->ops[k];
    nbad += !c->supported;
    if (strcmp(c->domain, "ai.onnx")) snprintf(b, sizeof b, "%s.%s", c->domain, c->op_type);
    else snprintf(b, sizeof b, "%s", c->op_type);
    fprintf(f, "  %8lld  %s%s\n", (long long)c->count, jtc_printable(b),
            c->supported ? "" : c->other_opsets ? "  (unsupported at this opset)" : "  (unsupported)");
  }
  fprintf(f, "parameters: %lld elements, %lld bytes in %lld initializer%s (%lld bytes external)\n",
          (long long)in->params, (long long)in->bytes, (long long)in->ninit, in->ninit == 1 ? "" : "s",
          (long long)in->ext_bytes);
  if (in->bytes > ONNX_DEFAULT_MAX_BYTES) /* the loader counts activations too: this is only the sure case */
    fprintf(f, "  more than the default --max-bytes (%lld): compiling it needs --max-bytes=N\n",
            (long long)ONNX_DEFAULT_MAX_BYTES);
  if (in->next) {
    fprintf(f, "external data (not read): %zu initializer%s\n", in->next, in->next == 1 ? "" : "s");
    for (size_t k = 0; k < in->next && k < TEXT_EXTERNAL_MAX; k++)
      fprintf(f, "  %-24s %lld bytes in %s\n", printable(in->ext[k].name, a, sizeof a), (long long)in->ext[k].bytes,
              printable(in->ext[k].location, b, sizeof b));
    if (in->next > TEXT_EXTERNAL_MAX) fprintf(f, "  ... and %zu more\n", in->next - TEXT_EXTERNAL_MAX);
  }
  if (!nbad) {
    fprintf(f, "unsupported: none (all %zu op types are supported)\n", in->nops);
    return;
  }
  fprintf(f, "unsupported: %zu of %zu op types:", nbad, in->nops);
  for (size_t k = 0, j = 0; k < in->nops; k++) {
    const OpCount *c = &in->ops[k];
    if (c->supported) continue;
    if (strcmp(c->domain, "ai.onnx")) snprintf(b, sizeof b, "%s.%s", c->domain, c->op_type);
    else snprintf(b, sizeof b, "%s", c->op_type);
    fprintf(f, "%s %s%s", j++ ? "," : "", jtc_printable(b), c->other_opsets ? " (at this opset)" : "");
  }
  fputc('\n', f);
}

/* ---- JSON ---- */
typedef struct { bool oom; } J;

/* Adds item under key (or to the array when key is NULL); NULL (and oom) on failure. */
static cJSON *jadd(J *j, cJSON *parent, const char *key, cJSON *item) {
  if (item && parent && (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item)))
    return item;
  cJSON_Delete(item);
  j->oom = true;
  return NULL;
}

static cJSON *jint(int64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%lld", (long long)v);
  return cJSON_CreateRaw(b);
}

static cJSON *jstr(const char *s) { return cJSON_CreateString(name_or_empty(s)); }

static void json_values(J *j, cJSON *arr, const Info *in, Onnx__ValueInfoProto *const *v, size_t n, bool inputs) {
  for (size_t k = 0; k < n; k++) {
    if (!v[k] || (inputs && is_initializer(in, name_or_empty(v[k]->name)))) continue;
    char ty[200];
    type_name(v[k]->type, ty, sizeof ty, 0);
    cJSON *o = jadd(j, arr, NULL, cJSON_CreateObject());
    jadd(j, o, "name", jstr(v[k]->name));
    jadd(j, o, "dtype", jstr(ty));
    const Onnx__TensorShapeProto *s = type_shape(v[k]->type);
    if (!s) {
      jadd(j, o, "shape", cJSON_CreateNull());
      continue;
    }
    cJSON *shape = jadd(j, o, "shape", cJSON_CreateArray());
    for (size_t d = 0; d < s->n_dim; d++) {
      int64_t val;
      const char *sym = dim_text(s->dim[d], &val);
      jadd(j, shape, NULL, sym ? jstr(sym) : jint(val));
    }
  }
}

static void json_op(J *j, cJSON *arr, const OpCount *c, bool unsupported_list) {
  cJSON *o = jadd(j, arr, NULL, cJSON_CreateObject());
  jadd(j, o, "domain", jstr(c->domain));
  jadd(j, o, "op_type", jstr(c->op_type));
  jadd(j, o, "count", jint(c->count));
  if (unsupported_list) jadd(j, o, "other_opsets", cJSON_CreateBool(c->other_opsets));
  else jadd(j, o, "supported", cJSON_CreateBool(c->supported));
}

static int print_json(FILE *f, const Info *in) {
  const Onnx__ModelProto *m = in->m;
  J j = {false};
  char doc[DOC_MAX * 2];
  cJSON *root = cJSON_CreateObject();
  jadd(&j, root, "format", jstr("onnx"));
  jadd(&j, root, "ir_version", jint(m->ir_version));
  jadd(&j, root, "producer_name", jstr(m->producer_name));
  jadd(&j, root, "producer_version", jstr(m->producer_version));
  jadd(&j, root, "domain", jstr(m->domain));
  jadd(&j, root, "model_version", jint(m->model_version));
  short_doc(m->doc_string, doc, sizeof doc);
  jadd(&j, root, "doc_string", jstr(doc));
  cJSON *opsets = jadd(&j, root, "opsets", cJSON_CreateArray());
  for (size_t k = 0; k < m->n_opset_import; k++) {
    if (!m->opset_import[k]) continue;
    cJSON *o = jadd(&j, opsets, NULL, cJSON_CreateObject());
    jadd(&j, o, "domain", jstr(opset_domain(m->opset_import[k])));
    jadd(&j, o, "version", jint(m->opset_import[k]->version));
  }
  json_values(&j, jadd(&j, root, "inputs", cJSON_CreateArray()), in, m->graph->input, m->graph->n_input, true);
  json_values(&j, jadd(&j, root, "outputs", cJSON_CreateArray()), in, m->graph->output, m->graph->n_output, false);
  jadd(&j, root, "nodes", jint(in->nodes));
  jadd(&j, root, "subgraphs", jint(in->subgraphs));
  cJSON *ops = jadd(&j, root, "ops", cJSON_CreateArray());
  for (size_t k = 0; k < in->nops; k++) json_op(&j, ops, &in->ops[k], false);
  cJSON *p = jadd(&j, root, "parameters", cJSON_CreateObject());
  jadd(&j, p, "count", jint(in->params));
  jadd(&j, p, "bytes", jint(in->bytes));
  jadd(&j, p, "external_bytes", jint(in->ext_bytes));
  jadd(&j, p, "initializers", jint(in->ninit));
  cJSON *ext = jadd(&j, p, "external", cJSON_CreateArray());
  for (size_t k = 0; k < in->next; k++) {
    cJSON *o = jadd(&j, ext, NULL, cJSON_CreateObject());
    jadd(&j, o, "name", jstr(in->ext[k].name));
    jadd(&j, o, "location", jstr(in->ext[k].location));
    jadd(&j, o, "bytes", jint(in->ext[k].bytes));
  }
  cJSON *bad = jadd(&j, root, "unsupported", cJSON_CreateArray());
  for (size_t k = 0; k < in->nops; k++)
    if (!in->ops[k].supported) json_op(&j, bad, &in->ops[k], true);
  char *text = j.oom || !root ? NULL : cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) {
    fprintf(stderr, "%s: out of memory writing JSON\n", in->path);
    return 1;
  }
  fprintf(f, "%s\n", text);
  cJSON_free(text);
  return 0;
}

int onnx_inspect(const char *path, bool json, FILE *f) {
  uint8_t *buf;
  size_t len;
  char msg[1024];
  if (onnx_read_file(path, &buf, &len, msg, sizeof msg) != 0) {
    fprintf(stderr, "%s\n", jtc_printable(msg));
    return 1;
  }
  if (onnx_check_model_bytes(buf, len, ONNX_DEFAULT_MAX_NODES, path, msg, sizeof msg) != 0) { /* before protobuf-c recurses */
    free(buf);
    fprintf(stderr, "%s\n", jtc_printable(msg));
    return 1;
  }
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  free(buf);
  if (!m || !m->graph) {
    snprintf(msg, sizeof msg, "%s: not an ONNX model (%s)", path,
             m ? "no graph" : "protobuf parse failed; truncated or corrupt file?");
    fprintf(stderr, "%s\n", jtc_printable(msg));
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    return 1;
  }
  Info in = {0};
  in.path = path;
  in.m = m;
  bool found;
  in.opset = onnx_model_opset(m, &found);
  int rc = 0;
  if (!walk(&in, m->graph)) {
    fprintf(stderr, "%s\n", jtc_printable(in.err));
    rc = 1;
  } else {
    qsort(in.ops, in.nops, sizeof *in.ops, cmp_op);
    collect_init_names(&in);
    if (json) rc = print_json(f, &in);
    else print_text(f, &in);
  }
  free(in.ops);
  free(in.ext);
  free(in.init_names);
  onnx__model_proto__free_unpacked(m, NULL);
  return rc;
}
