/* torch_load.c: torch.save files, zip and legacy, and the tensors in them.
 *
 * Zip (torch >= 1.6): ARCHIVE/data.pkl is the pickle; each storage is the entry
 * ARCHIVE/data/KEY, referenced by the persistent id
 *   ('storage', torch.FloatStorage, KEY, location, numel).
 * Legacy (pre-1.6, _use_new_zipfile_serialization=False): a stream of pickles,
 *   magic number, protocol 1001, sys info, the main pickle, the storage keys,
 * then per key an 8-byte element count and the raw bytes; persistent ids are
 *   ('storage', type, root_key, location, root_numel, view_metadata or None)
 * and ('module', cls, source_file, source) for module classes.
 * A tensor is _rebuild_tensor_v2(storage, offset, size, stride, ...): a view
 * whose offset and strides (in elements) are checked against its storage when
 * it is made dense.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <string.h>

static const uint8_t legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

JtFormat jt_detect(const uint8_t *buf, size_t len) {
  if (jt_is_zip(buf, len)) return JT_FMT_ZIP;
  if (len >= sizeof legacy_magic && !memcmp(buf, legacy_magic, sizeof legacy_magic)) return JT_FMT_LEGACY;
  if (len >= 30 && !memcmp(buf + len - 8, "HCAJSLHD", 8)) return JT_FMT_JITTOR;
  if (len >= 2 && buf[0] == 0x80 && buf[1] >= 2 && buf[1] <= 5) return JT_FMT_PICKLE;
  return JT_FMT_NONE;
}

Dtype jt_storage_dtype(const char *name) {
  static const struct { const char *name; Dtype dt; } tab[] = {
    {"FloatStorage", DT_F32}, {"DoubleStorage", DT_F64}, {"HalfStorage", DT_F16}, {"BFloat16Storage", DT_BF16},
    {"LongStorage", DT_I64}, {"IntStorage", DT_I32}, {"ShortStorage", DT_I16}, {"CharStorage", DT_I8},
    {"ByteStorage", DT_U8}, {"BoolStorage", DT_BOOL},
  };
  const char *dot = strrchr(name, '.');
  if (dot) name = dot + 1;
  for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
    if (!strcmp(name, tab[k].name)) return tab[k].dt;
  return DT_UNDEF;
}

static int64_t int_arg(JtCtx *c, const PyVal *v, const char *what, size_t off) {
  if (!v || v->kind != PY_INT || v->big)
    jt_fail(c, (int64_t)off, "%s is a %s, not an int", what, v ? jt_kind_name(v->kind) : "nothing");
  return v->i;
}

PyVal *jt_rebuild_tensor(JtCtx *c, PyVal *args, size_t off) {
  if (args->n < 4) jt_fail(c, (int64_t)off, "_rebuild_tensor_v2 takes (storage, offset, size, stride, ...), got %zu arguments", args->n);
  PyVal *st = args->items[0], *size = args->items[2], *stride = args->items[3];
  if (st->kind != PY_STORAGE) jt_fail(c, (int64_t)off, "_rebuild_tensor_v2 of a %s, not a storage", jt_kind_name(st->kind));
  if ((size->kind != PY_TUPLE && size->kind != PY_OBJ) || stride->kind != PY_TUPLE)
    jt_fail(c, (int64_t)off, "_rebuild_tensor_v2: size and stride must be tuples");
  if (size->kind == PY_OBJ) /* torch.Size((...)) */
    size = size->args && size->args->n == 1 ? size->args->items[0] : NULL;
  if (!size || size->kind != PY_TUPLE || size->n != stride->n || size->n > IR_MAX_RANK)
    jt_fail(c, (int64_t)off, "_rebuild_tensor_v2: size and stride disagree or rank exceeds %d", IR_MAX_RANK);
  JtTensor *t = jt_alloc(c, sizeof *t);
  t->st = st->storage;
  t->dt = st->storage->dt;
  t->rank = (int)size->n;
  t->offset = int_arg(c, args->items[1], "storage offset", off);
  if (t->offset < 0) jt_fail(c, (int64_t)off, "negative storage offset %lld", (long long)t->offset);
  for (int k = 0; k < t->rank; k++) {
    t->dims[k] = int_arg(c, size->items[k], "a size", off);
    t->strides[k] = int_arg(c, stride->items[k], "a stride", off);
    if (t->dims[k] < 0 || t->dims[k] > JT_MAX_NUMEL || t->strides[k] < 0 || t->strides[k] > JT_MAX_NUMEL)
      jt_fail(c, (int64_t)off, "tensor dim %d: size %lld, stride %lld is not valid", k, (long long)t->dims[k],
              (long long)t->strides[k]);
  }
  PyVal *v = jt_new(c, PY_TENSOR, off);
  v->tensor = t;
  return v;
}

int64_t jt_tensor_numel(JtCtx *c, const JtTensor *t) {
  int64_t n = 1;
  for (int k = 0; k < t->rank; k++)
    if (__builtin_mul_overflow(n, t->dims[k], &n) || n > JT_MAX_NUMEL) jt_fail(c, -1, "tensor has too many elements");
  return n;
}

void *jt_tensor_dense(JtCtx *c, const JtTensor *t, const char *what) {
  int64_t numel = jt_tensor_numel(c, t);
  size_t es = dt_size(t->dt);
  const JtStorage *st = t->st;
  if (!st || !st->data) jt_fail(c, -1, "%s: its storage '%s' has no data", what, st ? st->key : "?");
  if (numel == 0) return jt_alloc(c, 1);
  int64_t last = t->offset, span; /* highest element the view reads */
  bool ovf = false;
  for (int k = 0; k < t->rank; k++)
    ovf |= __builtin_mul_overflow(t->dims[k] - 1, t->strides[k], &span) || __builtin_add_overflow(last, span, &last);
  if (ovf || last >= st->numel)
    jt_fail(c, -1, "%s: the view (offset %lld, last element %lld) runs past its storage '%s' of %lld elements", what,
            (long long)t->offset, (long long)last, st->key, (long long)st->numel);
  uint8_t *out = jt_alloc_array(c, (size_t)numel, es);
  int64_t idx[IR_MAX_RANK] = {0}, src = t->offset;
  for (int64_t e = 0; e < numel; e++) {
    const uint8_t *s = st->data + (size_t)src * es;
    if (t->swap)
      for (size_t b = 0; b < es; b++) out[(size_t)e * es + b] = s[es - 1 - b];
    else
      memcpy(out + (size_t)e * es, s, es);
    for (int k = t->rank - 1; k >= 0; k--) { /* next index, row-major */
      src += t->strides[k];
      if (++idx[k] < t->dims[k]) break;
      src -= t->strides[k] * t->dims[k];
      idx[k] = 0;
    }
  }
  return out;
}

/* ---- storages by key ---- */
typedef struct {
  const JtZip *zip;
  const char *prefix;        /* "archive/" */
  JtStorage **st; size_t n, cap;
} Storages;

static JtStorage *find_storage(Storages *S, const char *key) {
  for (size_t k = 0; k < S->n; k++)
    if (!strcmp(S->st[k]->key, key)) return S->st[k];
  return NULL;
}

static JtStorage *add_storage(JtCtx *c, Storages *S, const char *key, Dtype dt, int64_t numel) {
  if (S->n == S->cap) {
    size_t cap = S->cap ? S->cap * 2 : 16;
    JtStorage **t = jt_alloc_array(c, cap, sizeof *t);
    if (S->n) memcpy(t, S->st, S->n * sizeof *t);
    S->st = t;
    S->cap = cap;
  }
  JtStorage *s = jt_alloc(c, sizeof *s);
  s->key = key;
  s->dt = dt;
  s->numel = numel;
  S->st[S->n++] = s;
  return s;
}

static PyVal *storage_val(JtCtx *c, JtStorage *s, size_t off) {
  PyVal *v = jt_new(c, PY_STORAGE, off);
  v->storage = s;
  return v;
}

/* Common checks of a ('storage', type, key, location, numel, ...) id. */
static void storage_pid(JtCtx *c, PyVal *pid, size_t off, size_t want, Dtype *dt, const char **key, int64_t *numel) {
  if (pid->kind != PY_TUPLE || pid->n < want)
    jt_fail(c, (int64_t)off, "persistent id is not a ('storage', type, key, location, size) tuple");
  PyVal *type = pid->items[1], *k = pid->items[2];
  if (type->kind != PY_GLOBAL) jt_fail(c, (int64_t)off, "storage type is a %s", jt_kind_name(type->kind));
  *dt = jt_storage_dtype(type->s);
  if (*dt == DT_UNDEF) jt_fail(c, (int64_t)off, "storage type '%s' is not supported", type->s);
  if (k->kind != PY_STR) jt_fail(c, (int64_t)off, "storage key is a %s", jt_kind_name(k->kind));
  *key = k->s;
  *numel = int_arg(c, pid->items[4], "storage size", off);
  if (*numel < 0 || *numel > JT_MAX_NUMEL) jt_fail(c, (int64_t)off, "storage size %lld is not valid", (long long)*numel);
}

static bool pid_is(const PyVal *pid, const char *what) {
  return pid->kind == PY_TUPLE && pid->n >= 1 && pid->items[0]->kind == PY_STR && !strcmp(pid->items[0]->s, what);
}

static PyVal *zip_pers(JtCtx *c, void *ud, PyVal *pid, size_t off) {
  Storages *S = ud;
  if (!pid_is(pid, "storage")) jt_fail(c, (int64_t)off, "persistent id is not a ('storage', ...) tuple");
  Dtype dt;
  const char *key;
  int64_t numel;
  storage_pid(c, pid, off, 5, &dt, &key, &numel);
  JtStorage *s = find_storage(S, key);
  if (s) {
    if (s->dt != dt) jt_fail(c, (int64_t)off, "storage '%s' is used as %s and as %s", key, dt_name(s->dt), dt_name(dt));
    return storage_val(c, s, off);
  }
  s = add_storage(c, S, key, dt, numel);
  char *name = jt_alloc(c, strlen(S->prefix) + strlen(key) + 8);
  sprintf(name, "%sdata/%s", S->prefix, key);
  const JtZipEntry *e = jt_zip_find(S->zip, name);
  if (!e) jt_fail(c, (int64_t)off, "storage '%s' has no entry '%s' in the archive", key, name);
  if (e->size / dt_size(dt) < (uint64_t)numel)
    jt_fail(c, (int64_t)off, "storage '%s': %lld %s elements need %llu bytes, entry '%s' has %zu", key, (long long)numel,
            dt_name(dt), (unsigned long long)numel * dt_size(dt), name, e->size);
  s->data = e->data;
  return storage_val(c, s, off);
}

PyVal *jt_load_torch_zip(JtCtx *c, const uint8_t *buf, size_t len) {
  JtZip z;
  jt_zip_open(c, buf, len, &z);
  const JtZipEntry *pkl = NULL;
  for (size_t k = 0; k < z.n && !pkl; k++) {
    const char *nm = z.e[k].name, *slash = strchr(nm, '/');
    if (slash && !strcmp(slash + 1, "data.pkl")) pkl = &z.e[k];
  }
  if (!pkl) jt_fail(c, -1, "zip archive without a PREFIX/data.pkl entry: not a torch.save file");
  Storages S = {0};
  S.zip = &z;
  S.prefix = jt_strndup(c, pkl->name, strlen(pkl->name) - strlen("data.pkl"));
  c->part = pkl->name;
  size_t used;
  PyVal *v = jt_unpickle(c, pkl->data, pkl->size, &used, zip_pers, &S);
  c->part = NULL;
  return v;
}

/* ---- legacy ---- */
static PyVal *legacy_pers(JtCtx *c, void *ud, PyVal *pid, size_t off) {
  Storages *S = ud;
  if (pid_is(pid, "module")) { /* ('module', cls, file, source): the class itself */
    if (pid->n < 2 || pid->items[1]->kind != PY_GLOBAL) jt_fail(c, (int64_t)off, "bad ('module', ...) persistent id");
    return pid->items[1];
  }
  if (!pid_is(pid, "storage")) jt_fail(c, (int64_t)off, "persistent id is not a ('storage', ...) tuple");
  Dtype dt;
  const char *key;
  int64_t numel;
  storage_pid(c, pid, off, 6, &dt, &key, &numel);
  JtStorage *root = find_storage(S, key);
  if (!root) root = add_storage(c, S, key, dt, numel);
  if (root->dt != dt || root->numel != numel)
    jt_fail(c, (int64_t)off, "storage '%s' is described twice differently", key);
  PyVal *view = pid->items[5];
  if (view->kind == PY_NONE) return storage_val(c, root, off);
  if (view->kind != PY_TUPLE || view->n != 3 || view->items[0]->kind != PY_STR)
    jt_fail(c, (int64_t)off, "storage view metadata is not (key, offset, size)");
  const char *vkey = view->items[0]->s;
  int64_t voff = int_arg(c, view->items[1], "view offset", off), vn = int_arg(c, view->items[2], "view size", off);
  if (voff < 0 || vn < 0 || voff > numel || vn > numel - voff)
    jt_fail(c, (int64_t)off, "storage view [%lld, +%lld) lies outside storage '%s' of %lld elements", (long long)voff,
            (long long)vn, key, (long long)numel);
  JtStorage *v = find_storage(S, vkey);
  if (!v) {
    v = add_storage(c, S, vkey, dt, vn);
    v->root = root;
    v->root_off = voff;
  }
  return storage_val(c, v, off);
}

PyVal *jt_load_torch_legacy(JtCtx *c, const uint8_t *buf, size_t len) {
  size_t pos = 0, used;
  Storages S = {0};
  c->part = "legacy magic";
  jt_unpickle(c, buf, len, &used, NULL, NULL);
  pos += used;
  c->part = "legacy protocol";
  PyVal *proto = jt_unpickle(c, buf + pos, len - pos, &used, NULL, NULL);
  if (proto->kind != PY_INT || proto->i != 1001)
    jt_fail(c, (int64_t)pos, "legacy protocol version is not 1001");
  pos += used;
  c->part = "legacy sys info";
  PyVal *info = jt_unpickle(c, buf + pos, len - pos, &used, NULL, NULL);
  PyVal *le = jt_dict_get(info, "little_endian");
  if (le && le->kind == PY_BOOL && !le->i) jt_fail(c, (int64_t)pos, "big-endian legacy files are not supported");
  pos += used;
  c->part = "legacy main pickle";
  size_t main_off = pos;
  PyVal *top = jt_unpickle(c, buf + pos, len - pos, &used, legacy_pers, &S);
  pos += used;
  c->part = "legacy storage keys";
  size_t keys_off = pos;
  PyVal *keys = jt_unpickle(c, buf + pos, len - pos, &used, NULL, NULL);
  if (keys->kind != PY_LIST) jt_fail(c, (int64_t)keys_off, "storage keys are a %s, not a list", jt_kind_name(keys->kind));
  pos += used;
  c->part = "legacy storage data";
  for (size_t k = 0; k < keys->n; k++) {
    PyVal *kv = keys->items[k];
    if (kv->kind != PY_STR) jt_fail(c, (int64_t)pos, "storage key %zu is a %s", k, jt_kind_name(kv->kind));
    JtStorage *s = find_storage(&S, kv->s);
    if (!s || s->root) jt_fail(c, (int64_t)pos, "storage key '%s' is not used by the main pickle", kv->s);
    if (len - pos < 8) jt_fail(c, (int64_t)pos, "storage '%s': no element count (truncated file?)", kv->s);
    uint64_t n = 0;
    for (int b = 7; b >= 0; b--) n = n << 8 | buf[pos + (size_t)b];
    if (n != (uint64_t)s->numel)
      jt_fail(c, (int64_t)pos, "storage '%s' holds %llu elements, the pickle says %lld", kv->s, (unsigned long long)n,
              (long long)s->numel);
    pos += 8;
    size_t bytes = (size_t)n * dt_size(s->dt);
    if (bytes > len - pos)
      jt_fail(c, (int64_t)pos, "storage '%s': %zu bytes claimed, %zu remain (truncated file?)", kv->s, bytes, len - pos);
    s->data = buf + pos;
    pos += bytes;
  }
  for (size_t k = 0; k < S.n; k++) { /* views share their root's bytes */
    JtStorage *s = S.st[k];
    if (s->root) {
      if (!s->root->data) jt_fail(c, (int64_t)main_off, "storage '%s' is a view of '%s', which has no data", s->key, s->root->key);
      s->data = s->root->data + (size_t)s->root_off * dt_size(s->dt);
    } else if (!s->data) {
      jt_fail(c, (int64_t)main_off, "storage '%s' has no data after the pickles", s->key);
    }
  }
  c->part = NULL;
  return top;
}

PyVal *jt_load_any(JtCtx *c, const uint8_t *buf, size_t len) {
  switch (jt_detect(buf, len)) {
  case JT_FMT_ZIP: return jt_load_torch_zip(c, buf, len);
  case JT_FMT_LEGACY: return jt_load_torch_legacy(c, buf, len);
  case JT_FMT_JITTOR:
  case JT_FMT_PICKLE: return jt_load_jittor(c, buf, len);
  default: jt_fail(c, -1, "not a torch.save zip, a legacy torch file or a pickle (unknown magic bytes)");
  }
}
