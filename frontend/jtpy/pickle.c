/* pickle.c: a pickle machine that never executes anything.
 *
 * It runs the opcodes of protocols 2-5 (and the few protocol-0/1 ones that
 * protocol-2 writers still emit) over a stack of PyVals, with a memo and a
 * mark stack, all bounded. GLOBAL and STACK_GLOBAL push a symbol. REDUCE
 * applies a callable only if it is on the whitelist below (tensor rebuilding,
 * OrderedDict, numpy reconstruct/dtype/scalar, jittor Var, set, _codecs.encode,
 * a few harmless records); any other callable is an error naming it and the
 * byte offset. NEWOBJ of a class makes a record {cls, args}; BUILD stores the
 * state in it. Every length read from the file is checked against the bytes
 * that remain before anything is allocated.
 *
 * Also here: the arena every load allocates from, and jt_fail.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- arena ---- */
struct JtBlock {
  JtBlock *next;
  size_t used, cap;
  max_align_t data[];
};

void *jt_alloc(JtCtx *c, size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  JtBlock *b = c->blocks;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > 65536 ? n : 65536;
    size_t max = c->max_total && c->max_total < JT_MAX_ARENA ? c->max_total : JT_MAX_ARENA;
    if (n > max || c->total + cap > max)
      jt_fail(c, -1, "refusing to allocate %zu bytes: more than %zu in all (--max-bytes=N raises the limit)", n, max);
    b = malloc(sizeof *b + cap);
    if (!b) jt_fail(c, -1, "out of memory allocating %zu bytes", n);
    c->total += cap;
    b->used = 0;
    b->cap = cap;
    if (n > 65536 && c->blocks) { /* one-off big block: keep filling the current one */
      b->next = c->blocks->next;
      c->blocks->next = b;
      b->used = cap;
      memset(b->data, 0, n);
      return b->data;
    }
    b->next = c->blocks;
    c->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  memset(p, 0, n);
  return p;
}

void *jt_alloc_array(JtCtx *c, size_t n, size_t size) {
  if (size && n > JT_MAX_ARENA / size) jt_fail(c, -1, "refusing to allocate %zu x %zu bytes", n, size);
  return jt_alloc(c, n * size);
}

char *jt_strndup(JtCtx *c, const char *s, size_t n) {
  char *p = jt_alloc(c, n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

void jt_free_all(JtCtx *c) {
  while (c->blocks) {
    JtBlock *b = c->blocks;
    c->blocks = b->next;
    free(b);
  }
  c->total = 0;
}

_Noreturn void jt_fail(JtCtx *c, int64_t off, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const char *path = c->path ? c->path : "pickle";
  if (off >= 0)
    snprintf(c->err, sizeof c->err, "%s: %s offset %lld: %s", path, c->part ? c->part : "pickle", (long long)off, msg);
  else if (c->part)
    snprintf(c->err, sizeof c->err, "%s: %s: %s", path, c->part, msg);
  else
    snprintf(c->err, sizeof c->err, "%s: %s", path, msg);
  if (c->jb) longjmp(*c->jb, 1);
  fprintf(stderr, "%s\n", c->err);
  exit(1);
}

int jt_read_file(JtCtx *c, const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f) {
    snprintf(c->err, sizeof c->err, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
    snprintf(c->err, sizeof c->err, "%s: not a regular file", path);
    fclose(f);
    return -1;
  }
  if (st.st_size == 0) {
    snprintf(c->err, sizeof c->err, "%s: empty file", path);
    fclose(f);
    return -1;
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n);
  if (!b || fread(b, 1, n, f) != n) {
    snprintf(c->err, sizeof c->err, "%s: cannot read %zu bytes", path, n);
    free(b);
    fclose(f);
    return -1;
  }
  fclose(f);
  *buf = b;
  *len = n;
  return 0;
}

/* ---- values ---- */
static const char *const kind_names[PY_KIND_COUNT] = {
  "None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict", "set",
  "global", "object", "storage", "tensor", "dtype", "mark",
};

const char *jt_kind_name(PyKind k) {
  return k < PY_KIND_COUNT ? kind_names[k] : "?";
}

PyVal *jt_new(JtCtx *c, PyKind k, size_t off) {
  PyVal *v = jt_alloc(c, sizeof *v);
  v->kind = k;
  v->off = off;
  return v;
}

static void push_item(JtCtx *c, PyVal *seq, PyVal *x) {
  if (seq->n == seq->cap) {
    size_t cap = seq->cap ? seq->cap * 2 : 8;
    PyVal **items = jt_alloc_array(c, cap, sizeof *items);
    if (seq->n) memcpy(items, seq->items, seq->n * sizeof *items);
    seq->items = items;
    seq->cap = cap;
  }
  seq->items[seq->n++] = x;
}

PyVal *jt_dict_get(const PyVal *d, const char *key) {
  if (!d || d->kind != PY_DICT) return NULL;
  for (size_t k = d->n; k >= 2; k -= 2) { /* from the end: the last SETITEM wins */
    const PyVal *kv = d->items[k - 2];
    if (kv->kind == PY_STR && !strcmp(kv->s, key)) return d->items[k - 1];
  }
  return NULL;
}

bool jt_is_global(const PyVal *v, const char *name) {
  return v && v->kind == PY_GLOBAL && !strcmp(v->s, name);
}

PyVal *jt_obj_dict(const PyVal *v) {
  if (!v || v->kind != PY_OBJ || !v->state) return NULL;
  if (v->state->kind == PY_DICT) return v->state;
  if (v->state->kind == PY_TUPLE && v->state->n == 2 && v->state->items[0]->kind == PY_DICT) return v->state->items[0];
  return NULL;
}

/* ---- the machine ---- */
typedef struct { uint32_t key; PyVal *v; } MemoSlot;

typedef struct {
  JtCtx *c;
  const uint8_t *buf;
  size_t len, pos, op_off;    /* op_off: offset of the opcode being run */
  PyVal **stack; size_t sp, scap;
  size_t *marks; size_t nmarks, mcap;
  MemoSlot *memo; size_t mcount, memocap; /* open addressing on the index */
  JtPersFn pers; void *ud;
  PyVal *mark;
} Vm;

static _Noreturn void vm_fail(Vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void vm_fail(Vm *m, const char *fmt, ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  jt_fail(m->c, (int64_t)m->op_off, "%s", msg);
}

static const uint8_t *take(Vm *m, size_t n, const char *what) {
  if (n > m->len - m->pos)
    vm_fail(m, "%s needs %zu bytes, only %zu remain (truncated file?)", what, n, m->len - m->pos);
  const uint8_t *p = m->buf + m->pos;
  m->pos += n;
  return p;
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int k = n - 1; k >= 0; k--) v = v << 8 | p[k];
  return v;
}

static void push(Vm *m, PyVal *v) {
  if (m->sp == m->scap) {
    if (m->scap >= JT_MAX_STACK) vm_fail(m, "more than %d values on the stack", JT_MAX_STACK);
    size_t cap = m->scap ? m->scap * 2 : 64;
    PyVal **s = realloc(m->stack, cap * sizeof *s);
    if (!s) vm_fail(m, "out of memory");
    m->stack = s;
    m->scap = cap;
  }
  m->stack[m->sp++] = v;
}

static PyVal *pop(Vm *m, const char *op) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (m->sp <= floor) vm_fail(m, "%s on an empty stack", op);
  return m->stack[--m->sp];
}

static PyVal *top(Vm *m, const char *op) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (m->sp <= floor) vm_fail(m, "%s on an empty stack", op);
  return m->stack[m->sp - 1];
}

/* Pops to the last MARK; *first gets the position of the first item above it. */
static size_t pop_mark(Vm *m, const char *op) {
  if (!m->nmarks) vm_fail(m, "%s without a MARK", op);
  return m->marks[--m->nmarks];
}

/* The value just below a popped MARK at `from` (the list/dict APPENDS/SETITEMS fill). */
static PyVal *below_mark(Vm *m, size_t from, const char *op) {
  size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
  if (from <= floor) vm_fail(m, "%s with nothing below its MARK", op);
  return m->stack[from - 1];
}

static PyVal *make_seq(Vm *m, PyKind k, size_t from) {
  PyVal *t = jt_new(m->c, k, m->op_off);
  size_t n = m->sp - from;
  t->items = jt_alloc_array(m->c, n ? n : 1, sizeof(PyVal *));
  if (n) memcpy(t->items, m->stack + from, n * sizeof(PyVal *));
  t->n = t->cap = n;
  m->sp = from;
  return t;
}

static void memo_put(Vm *m, uint64_t idx, PyVal *v) {
  if (idx > UINT32_MAX) vm_fail(m, "memo index %llu is too large", (unsigned long long)idx);
  if ((m->mcount + 1) * 2 > m->memocap) {
    if (m->mcount >= JT_MAX_MEMO) vm_fail(m, "more than %d memo entries", JT_MAX_MEMO);
    size_t ocap = m->memocap, cap = ocap ? ocap * 2 : 256;
    MemoSlot *old = m->memo, *t = calloc(cap, sizeof *t);
    if (!t) vm_fail(m, "out of memory");
    for (size_t k = 0; k < ocap; k++)
      if (old[k].v)
        for (size_t h = (old[k].key * 2654435761u) & (cap - 1);; h = (h + 1) & (cap - 1))
          if (!t[h].v) { t[h] = old[k]; break; }
    free(old);
    m->memo = t;
    m->memocap = cap;
  }
  for (size_t h = ((uint32_t)idx * 2654435761u) & (m->memocap - 1);; h = (h + 1) & (m->memocap - 1)) {
    if (!m->memo[h].v) { m->memo[h].key = (uint32_t)idx; m->memo[h].v = v; m->mcount++; return; }
    if (m->memo[h].key == idx) { m->memo[h].v = v; return; }
  }
}

static PyVal *memo_get(Vm *m, uint64_t idx) {
  if (m->memocap && idx <= UINT32_MAX)
    for (size_t h = ((uint32_t)idx * 2654435761u) & (m->memocap - 1); m->memo[h].v; h = (h + 1) & (m->memocap - 1))
      if (m->memo[h].key == idx) return m->memo[h].v;
  vm_fail(m, "memo entry %llu was never stored", (unsigned long long)idx);
}

static PyVal *new_str(Vm *m, PyKind k, const uint8_t *p, size_t n) {
  PyVal *v = jt_new(m->c, k, m->op_off);
  v->s = jt_strndup(m->c, (const char *)p, n);
  v->len = n;
  return v;
}

static PyVal *new_int(Vm *m, int64_t i) {
  PyVal *v = jt_new(m->c, PY_INT, m->op_off);
  v->i = i;
  return v;
}

/* LONG1/LONG4: little-endian two's complement of n bytes. */
static PyVal *new_long(Vm *m, const uint8_t *p, size_t n) {
  PyVal *v = jt_new(m->c, PY_INT, m->op_off);
  if (n == 0) return v;
  bool neg = p[n - 1] & 0x80;
  uint64_t x = le(p, n > 8 ? 8 : (int)n);
  if (n < 8 && neg) x |= ~(uint64_t)0 << (8 * n);
  v->i = (int64_t)x;
  for (size_t k = 8; k < n; k++) /* the high bytes must be sign extension */
    if (p[k] != (neg ? 0xff : 0)) v->big = true;
  if (n >= 8 && ((v->i < 0) != neg)) v->big = true;
  return v;
}

static PyVal *new_global(Vm *m, const char *mod, size_t ml, const char *name, size_t nl) {
  PyVal *v = jt_new(m->c, PY_GLOBAL, m->op_off);
  char *s = jt_alloc(m->c, ml + nl + 2);
  memcpy(s, mod, ml);
  s[ml] = '.';
  memcpy(s + ml + 1, name, nl);
  s[ml + 1 + nl] = 0;
  /* Python 2 module names used by protocol-2 writers */
  if (!strncmp(s, "__builtin__.", 12)) {
    char *t = jt_alloc(m->c, strlen(s) + 2);
    sprintf(t, "builtins.%s", s + 12);
    s = t;
  } else if (!strncmp(s, "copy_reg.", 9)) {
    char *t = jt_alloc(m->c, strlen(s) + 2);
    sprintf(t, "copyreg.%s", s + 9);
    s = t;
  }
  v->s = s;
  v->len = strlen(s);
  return v;
}

/* A line of a text opcode (GLOBAL, INT, ...), without its newline. */
static const char *line(Vm *m, size_t *n, const char *what) {
  const uint8_t *p = m->buf + m->pos, *nl = memchr(p, '\n', m->len - m->pos);
  if (!nl) vm_fail(m, "%s: no newline before the end of the data", what);
  *n = (size_t)(nl - p);
  m->pos += *n + 1;
  return (const char *)p;
}

static bool is_record_class(const char *s) {
  static const char *const ok[] = {"torch.Size", "torch.device", "builtins.slice", "builtins.object",
                                   "torch.nn.parameter.Parameter", NULL};
  for (int k = 0; ok[k]; k++)
    if (!strcmp(s, ok[k])) return true;
  return !strncmp(s, "torch.nn.modules.", 17);
}

static PyVal *arg(Vm *m, PyVal *args, size_t k, const char *fn) {
  if (!args || args->kind != PY_TUPLE || args->n <= k)
    vm_fail(m, "%s: expected at least %zu arguments, got %zu", fn, k + 1,
            args && args->kind == PY_TUPLE ? args->n : (size_t)0);
  return args->items[k];
}

/* The whitelist: what each known callable builds. */
static PyVal *apply(Vm *m, PyVal *fn, PyVal *args, bool newobj) {
  JtCtx *c = m->c;
  if (fn->kind != PY_GLOBAL)
    vm_fail(m, "%s of a %s (only whitelisted globals are applied)", newobj ? "NEWOBJ" : "REDUCE", jt_kind_name(fn->kind));
  if (args->kind != PY_TUPLE) vm_fail(m, "arguments of %s are a %s, not a tuple", fn->s, jt_kind_name(args->kind));
  const char *s = fn->s;
  if (!strcmp(s, "torch._utils._rebuild_tensor_v2") || !strcmp(s, "torch._utils._rebuild_tensor"))
    return jt_rebuild_tensor(c, args, m->op_off);
  if (!strcmp(s, "torch._utils._rebuild_parameter") || !strcmp(s, "torch._utils._rebuild_parameter_with_state")) {
    PyVal *t = arg(m, args, 0, s);
    if (t->kind != PY_TENSOR) vm_fail(m, "%s of a %s, not a tensor", s, jt_kind_name(t->kind));
    return t;
  }
  if (!strcmp(s, "torch._tensor._rebuild_from_type_v2")) { /* (func, type, args, state): func(*args) */
    PyVal *f = arg(m, args, 0, s), *a = arg(m, args, 2, s);
    return apply(m, f, a, false);
  }
  if (!strcmp(s, "collections.OrderedDict") || !strcmp(s, "builtins.dict")) {
    PyVal *d = jt_new(c, PY_DICT, m->op_off);
    if (args->n >= 1 && args->items[0]->kind == PY_LIST)
      for (size_t k = 0; k < args->items[0]->n; k++) {
        PyVal *kv = args->items[0]->items[k];
        if ((kv->kind != PY_TUPLE && kv->kind != PY_LIST) || kv->n != 2) vm_fail(m, "%s: item %zu is not a pair", s, k);
        push_item(c, d, kv->items[0]);
        push_item(c, d, kv->items[1]);
      }
    return d;
  }
  if (!strcmp(s, "builtins.set") || !strcmp(s, "builtins.frozenset") || !strcmp(s, "builtins.list") ||
      !strcmp(s, "builtins.tuple")) {
    PyKind k = !strcmp(s, "builtins.list") ? PY_LIST : !strcmp(s, "builtins.tuple") ? PY_TUPLE : PY_SET;
    PyVal *v = jt_new(c, k, m->op_off);
    if (args->n >= 1) {
      PyVal *src = args->items[0];
      if (src->kind != PY_LIST && src->kind != PY_TUPLE && src->kind != PY_SET)
        vm_fail(m, "%s of a %s", s, jt_kind_name(src->kind));
      for (size_t j = 0; j < src->n; j++) push_item(c, v, src->items[j]);
    }
    return v;
  }
  if (!strcmp(s, "_codecs.encode")) { /* (str, 'latin1') -> bytes: code points < 256 */
    PyVal *str = arg(m, args, 0, s);
    if (str->kind != PY_STR) vm_fail(m, "_codecs.encode of a %s", jt_kind_name(str->kind));
    PyVal *b = jt_new(c, PY_BYTES, m->op_off);
    char *o = jt_alloc(c, str->len + 1);
    size_t n = 0;
    for (size_t k = 0; k < str->len; k++) {
      unsigned char ch = (unsigned char)str->s[k];
      if (ch < 0x80) o[n++] = (char)ch;
      else if ((ch & 0xe0) == 0xc0 && k + 1 < str->len) { o[n++] = (char)(((ch & 0x1f) << 6) | (str->s[k + 1] & 0x3f)); k++; }
      else vm_fail(m, "_codecs.encode: character outside latin-1");
    }
    b->s = o;
    b->len = n;
    return b;
  }
  if (!strcmp(s, "numpy.core.multiarray._reconstruct") || !strcmp(s, "numpy._core.multiarray._reconstruct")) {
    PyVal *a = jt_new(c, PY_TENSOR, m->op_off); /* filled by BUILD */
    a->tensor = NULL;
    return a;
  }
  if (!strcmp(s, "numpy.dtype")) {
    PyVal *str = arg(m, args, 0, s);
    if (str->kind != PY_STR) vm_fail(m, "numpy.dtype of a %s", jt_kind_name(str->kind));
    PyVal *d = jt_new(c, PY_DTYPE, m->op_off);
    d->dt = jt_numpy_dtype(str->s, &d->swap);
    if (d->dt == DT_UNDEF) vm_fail(m, "numpy dtype '%s' is not supported", str->s);
    d->s = str->s;
    return d;
  }
  if (!strcmp(s, "numpy.core.multiarray.scalar") || !strcmp(s, "numpy._core.multiarray.scalar"))
    return jt_numpy_scalar(c, args, m->op_off);
  if (!strcmp(s, "numpy.core.numeric._frombuffer") || !strcmp(s, "numpy._core.numeric._frombuffer"))
    return jt_numpy_frombuffer(c, args, m->op_off);
  if (!strcmp(s, "jittor.Var") || !strcmp(s, "jittor_core.Var") || !strcmp(s, "jittor.jittor_core.Var") ||
      !strcmp(s, "jittor_core.jittor_core.Var")) {
    PyVal *a = arg(m, args, 0, s);
    if (a->kind != PY_TENSOR || !a->tensor) vm_fail(m, "%s of a %s, not a numpy array", s, jt_kind_name(a->kind));
    return a;
  }
  if (!strcmp(s, "copyreg._reconstructor")) { /* (cls, base, state): an instance of cls */
    PyVal *cls = arg(m, args, 0, s);
    if (cls->kind != PY_GLOBAL) vm_fail(m, "copyreg._reconstructor of a %s", jt_kind_name(cls->kind));
    PyVal *o = jt_new(c, PY_OBJ, m->op_off);
    o->cls = cls;
    o->args = args;
    return o;
  }
  if (newobj || is_record_class(s)) { /* an instance of a class: a record, nothing runs */
    PyVal *o = jt_new(c, PY_OBJ, m->op_off);
    o->cls = fn;
    o->args = args;
    return o;
  }
  vm_fail(m, "refusing to call '%s' (REDUCE of a global that is not on the whitelist; nothing was run)", s);
}

static void build(Vm *m, PyVal *obj, PyVal *state) {
  switch (obj->kind) {
  case PY_OBJ:
    obj->state = state;
    return;
  case PY_DICT: /* OrderedDict's _metadata and the like: not needed */
    return;
  case PY_TENSOR:
    if (!obj->tensor) jt_numpy_build(m->c, obj, state, m->op_off);
    return; /* torch tensors with Python attributes: attributes ignored */
  case PY_DTYPE: /* (version, byteorder, subdescr, names, fields, elsize, alignment, flags) */
    if (state->kind == PY_TUPLE && state->n >= 2 && state->items[1]->kind == PY_STR) {
      const char *bo = state->items[1]->s;
      if (!strcmp(bo, ">")) obj->swap = dt_size(obj->dt) > 1;
      else if (!strcmp(bo, "<") || !strcmp(bo, "|") || !strcmp(bo, "=")) obj->swap = false;
      else vm_fail(m, "numpy dtype byte order '%s' is not understood", bo);
    }
    return;
  default:
    vm_fail(m, "BUILD on a %s", jt_kind_name(obj->kind));
  }
}

static void setitems(Vm *m, PyVal *d, size_t from, const char *op) {
  if ((m->sp - from) % 2) vm_fail(m, "%s with an odd number of items", op);
  if (d->kind != PY_DICT) vm_fail(m, "%s on a %s, not a dict", op, jt_kind_name(d->kind));
  for (size_t k = from; k < m->sp; k++) push_item(m->c, d, m->stack[k]);
  m->sp = from;
}

static void appends(Vm *m, PyVal *l, size_t from, const char *op) {
  if (l->kind != PY_LIST && l->kind != PY_SET) vm_fail(m, "%s on a %s, not a list", op, jt_kind_name(l->kind));
  for (size_t k = from; k < m->sp; k++) push_item(m->c, l, m->stack[k]);
  m->sp = from;
}

static PyVal *run(Vm *m) {
  JtCtx *c = m->c;
  for (;;) {
    m->op_off = m->pos;
    uint8_t op = *take(m, 1, "an opcode");
    const uint8_t *p;
    size_t n, from;
    PyVal *v, *a, *b;
    switch (op) {
    case 0x80: /* PROTO */
      p = take(m, 1, "PROTO");
      if (*p < 2 || *p > 5) vm_fail(m, "pickle protocol %d is not supported (2 to 5 are)", *p);
      break;
    case 0x95: /* FRAME: a length hint; frames must lie inside the data */
      n = (size_t)le(take(m, 8, "FRAME"), 8);
      if (n > m->len - m->pos) vm_fail(m, "FRAME of %zu bytes, only %zu remain", n, m->len - m->pos);
      break;
    case '.': /* STOP */
      if (m->nmarks) vm_fail(m, "STOP with %zu open MARKs", m->nmarks);
      if (m->sp != 1) vm_fail(m, "STOP with %zu values on the stack (want 1)", m->sp);
      return m->stack[0];
    case '(': /* MARK */
      if (m->nmarks == JT_MAX_MARKS) vm_fail(m, "nesting deeper than %d MARKs", JT_MAX_MARKS);
      if (m->nmarks == m->mcap) {
        size_t cap = m->mcap ? m->mcap * 2 : 32;
        size_t *t = realloc(m->marks, cap * sizeof *t);
        if (!t) vm_fail(m, "out of memory");
        m->marks = t;
        m->mcap = cap;
      }
      m->marks[m->nmarks++] = m->sp;
      break;
    case '0': pop(m, "POP"); break;
    case '1': m->sp = pop_mark(m, "POP_MARK"); break;
    case '2': push(m, top(m, "DUP")); break;
    case 'N': push(m, jt_new(c, PY_NONE, m->op_off)); break;
    case 0x88: case 0x89: /* NEWTRUE NEWFALSE */
      v = jt_new(c, PY_BOOL, m->op_off);
      v->i = op == 0x88;
      push(m, v);
      break;
    case 'J': push(m, new_int(m, (int32_t)le(take(m, 4, "BININT"), 4))); break;
    case 'K': push(m, new_int(m, *take(m, 1, "BININT1"))); break;
    case 'M': push(m, new_int(m, (int64_t)le(take(m, 2, "BININT2"), 2))); break;
    case 0x8a: /* LONG1 */
      n = *take(m, 1, "LONG1");
      push(m, new_long(m, take(m, n, "LONG1"), n));
      break;
    case 0x8b: { /* LONG4 */
      int64_t ln = (int32_t)le(take(m, 4, "LONG4"), 4);
      if (ln < 0) vm_fail(m, "LONG4 with negative length %lld", (long long)ln);
      push(m, new_long(m, take(m, (size_t)ln, "LONG4"), (size_t)ln));
      break;
    }
    case 'I': { /* INT (text): also 01/00 for True/False */
      const char *s = line(m, &n, "INT");
      char tmp[32];
      if (n == 0 || n >= sizeof tmp) vm_fail(m, "INT: bad literal");
      memcpy(tmp, s, n);
      tmp[n] = 0;
      char *end;
      errno = 0;
      long long x = strtoll(tmp, &end, 10);
      if (*end || errno) vm_fail(m, "INT: bad literal '%s'", tmp);
      if (!strcmp(tmp, "01") || !strcmp(tmp, "00")) {
        v = jt_new(c, PY_BOOL, m->op_off);
        v->i = x;
        push(m, v);
      } else {
        push(m, new_int(m, x));
      }
      break;
    }
    case 'G': { /* BINFLOAT: big-endian double */
      p = take(m, 8, "BINFLOAT");
      uint64_t bits = 0;
      for (int k = 0; k < 8; k++) bits = bits << 8 | p[k];
      v = jt_new(c, PY_FLOAT, m->op_off);
      memcpy(&v->f, &bits, 8);
      push(m, v);
      break;
    }
    case 'X': n = (size_t)le(take(m, 4, "BINUNICODE"), 4); push(m, new_str(m, PY_STR, take(m, n, "BINUNICODE"), n)); break;
    case 0x8c: n = *take(m, 1, "SHORT_BINUNICODE"); push(m, new_str(m, PY_STR, take(m, n, "SHORT_BINUNICODE"), n)); break;
    case 0x8d: n = (size_t)le(take(m, 8, "BINUNICODE8"), 8); push(m, new_str(m, PY_STR, take(m, n, "BINUNICODE8"), n)); break;
    case 'T': { /* BINSTRING: signed 4-byte length */
      int64_t ln = (int32_t)le(take(m, 4, "BINSTRING"), 4);
      if (ln < 0) vm_fail(m, "BINSTRING with negative length %lld", (long long)ln);
      push(m, new_str(m, PY_STR, take(m, (size_t)ln, "BINSTRING"), (size_t)ln));
      break;
    }
    case 'U': n = *take(m, 1, "SHORT_BINSTRING"); push(m, new_str(m, PY_STR, take(m, n, "SHORT_BINSTRING"), n)); break;
    case 'B': n = (size_t)le(take(m, 4, "BINBYTES"), 4); push(m, new_str(m, PY_BYTES, take(m, n, "BINBYTES"), n)); break;
    case 'C': n = *take(m, 1, "SHORT_BINBYTES"); push(m, new_str(m, PY_BYTES, take(m, n, "SHORT_BINBYTES"), n)); break;
    case 0x8e: n = (size_t)le(take(m, 8, "BINBYTES8"), 8); push(m, new_str(m, PY_BYTES, take(m, n, "BINBYTES8"), n)); break;
    case 0x96: n = (size_t)le(take(m, 8, "BYTEARRAY8"), 8); push(m, new_str(m, PY_BYTES, take(m, n, "BYTEARRAY8"), n)); break;
    case 0x97: vm_fail(m, "NEXT_BUFFER: out-of-band buffers are not supported");
    case 0x98: top(m, "READONLY_BUFFER"); break;
    case ')': push(m, make_seq(m, PY_TUPLE, m->sp)); break;
    case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
      size_t k = (size_t)(op - 0x84), floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
      if (m->sp - floor < k) vm_fail(m, "TUPLE%zu with %zu values on the stack", k, m->sp - floor);
      push(m, make_seq(m, PY_TUPLE, m->sp - k));
      break;
    }
    case 't': from = pop_mark(m, "TUPLE"); push(m, make_seq(m, PY_TUPLE, from)); break;
    case ']': push(m, jt_new(c, PY_LIST, m->op_off)); break;
    case 'l': from = pop_mark(m, "LIST"); push(m, make_seq(m, PY_LIST, from)); break;
    case '}': push(m, jt_new(c, PY_DICT, m->op_off)); break;
    case 'd':
      from = pop_mark(m, "DICT");
      v = jt_new(c, PY_DICT, m->op_off);
      setitems(m, v, from, "DICT");
      push(m, v);
      break;
    case 0x8f: push(m, jt_new(c, PY_SET, m->op_off)); break;
    case 0x91: from = pop_mark(m, "FROZENSET"); push(m, make_seq(m, PY_SET, from)); break;
    case 'a': /* APPEND */
      v = pop(m, "APPEND");
      a = top(m, "APPEND");
      if (a->kind != PY_LIST) vm_fail(m, "APPEND on a %s, not a list", jt_kind_name(a->kind));
      push_item(c, a, v);
      break;
    case 'e': from = pop_mark(m, "APPENDS"); appends(m, below_mark(m, from, "APPENDS"), from, "APPENDS"); break;
    case 0x90: from = pop_mark(m, "ADDITEMS"); appends(m, below_mark(m, from, "ADDITEMS"), from, "ADDITEMS"); break;
    case 's': /* SETITEM */
      if (m->sp < 3 + (m->nmarks ? m->marks[m->nmarks - 1] : 0)) vm_fail(m, "SETITEM with too few values on the stack");
      setitems(m, m->stack[m->sp - 3], m->sp - 2, "SETITEM");
      break;
    case 'u': from = pop_mark(m, "SETITEMS"); setitems(m, below_mark(m, from, "SETITEMS"), from, "SETITEMS"); break;
    case 'q': memo_put(m, *take(m, 1, "BINPUT"), top(m, "BINPUT")); break;
    case 'r': memo_put(m, le(take(m, 4, "LONG_BINPUT"), 4), top(m, "LONG_BINPUT")); break;
    case 0x94: memo_put(m, m->mcount, top(m, "MEMOIZE")); break;
    case 'h': push(m, memo_get(m, *take(m, 1, "BINGET"))); break;
    case 'j': push(m, memo_get(m, le(take(m, 4, "LONG_BINGET"), 4))); break;
    case 'p': case 'g': { /* PUT / GET (text) */
      const char *s = line(m, &n, op == 'p' ? "PUT" : "GET");
      uint64_t idx = 0;
      if (n == 0 || n > 10) vm_fail(m, "bad memo index");
      for (size_t k = 0; k < n; k++) {
        if (s[k] < '0' || s[k] > '9') vm_fail(m, "bad memo index");
        idx = idx * 10 + (uint64_t)(s[k] - '0');
      }
      if (op == 'p') memo_put(m, idx, top(m, "PUT"));
      else push(m, memo_get(m, idx));
      break;
    }
    case 'c': { /* GLOBAL "module\nname\n": a symbol, never imported */
      size_t ml, nl;
      const char *mod = line(m, &ml, "GLOBAL");
      const char *name = line(m, &nl, "GLOBAL");
      push(m, new_global(m, mod, ml, name, nl));
      break;
    }
    case 0x93: /* STACK_GLOBAL */
      b = pop(m, "STACK_GLOBAL");
      a = pop(m, "STACK_GLOBAL");
      if (a->kind != PY_STR || b->kind != PY_STR) vm_fail(m, "STACK_GLOBAL of a %s and a %s", jt_kind_name(a->kind), jt_kind_name(b->kind));
      push(m, new_global(m, a->s, a->len, b->s, b->len));
      break;
    case 'R': /* REDUCE */
      a = pop(m, "REDUCE");
      v = pop(m, "REDUCE");
      push(m, apply(m, v, a, false));
      break;
    case 0x81: /* NEWOBJ */
      a = pop(m, "NEWOBJ");
      v = pop(m, "NEWOBJ");
      push(m, apply(m, v, a, true));
      break;
    case 0x92: /* NEWOBJ_EX: cls, args, kwargs */
      pop(m, "NEWOBJ_EX");
      a = pop(m, "NEWOBJ_EX");
      v = pop(m, "NEWOBJ_EX");
      push(m, apply(m, v, a, true));
      break;
    case 'b': /* BUILD */
      a = pop(m, "BUILD");
      build(m, top(m, "BUILD"), a);
      break;
    case 'Q': /* BINPERSID */
      a = pop(m, "BINPERSID");
      if (!m->pers) vm_fail(m, "persistent id in a pickle that cannot have any");
      push(m, m->pers(c, m->ud, a, m->op_off));
      break;
    default:
      if (op >= 0x20 && op < 0x7f)
        vm_fail(m, "opcode '%c' (0x%02x) is not supported (protocol-0 text opcodes are not read)", op, op);
      vm_fail(m, "unknown opcode 0x%02x", op);
    }
  }
}

PyVal *jt_unpickle(JtCtx *c, const uint8_t *buf, size_t len, size_t *used, JtPersFn pers, void *ud) {
  /* in the arena, so that its fields are sound after a longjmp */
  Vm *m = jt_alloc(c, sizeof *m);
  m->c = c;
  m->buf = buf;
  m->len = len;
  m->pers = pers;
  m->ud = ud;
  /* the machine's own buffers are malloc'ed: free them on the way out, error or not */
  jmp_buf jb, *outer = c->jb;
  c->jb = &jb;
  if (setjmp(jb)) {
    free(m->stack), free(m->marks), free(m->memo);
    c->jb = outer;
    if (outer) longjmp(*outer, 1);
    fprintf(stderr, "%s\n", c->err);
    exit(1);
  }
  PyVal *v = run(m);
  free(m->stack), free(m->marks), free(m->memo);
  c->jb = outer;
  if (used) *used = m->pos;
  return v;
}
