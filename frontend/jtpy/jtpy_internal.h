/* jtpy_internal.h: what the jtpy frontend's files share (and the unit tests
 * use): an arena that owns everything a load makes, the located error, the
 * Python values the pickle machine produces, and each file's entry points.
 *
 * Errors: jt_fail() formats "PATH: PART offset N: message" (or "PATH: message"
 * when no offset applies) into the context and longjmps to the handler set by
 * the public entry point; the arena is then freed as a whole, so an error in
 * the middle of a load leaks nothing.
 */
#ifndef JTC_JTPY_INTERNAL_H
#define JTC_JTPY_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/jtpy/jtpy.h"
#include "ir/ir.h"

#define JT_MAX_DEPTH 100      /* nesting of values walked recursively */
#define JT_MAX_MARKS 10000    /* open MARKs in a pickle */
#define JT_MAX_STACK (1 << 24) /* values on the pickle stack */
#define JT_MAX_MEMO (1 << 24)  /* memo entries */
#define JT_MAX_NUMEL ((int64_t)1 << 40)

/* ---- jt_util (pickle.c): arena and errors ---- */
typedef struct JtBlock JtBlock;
typedef struct {
  JtBlock *blocks;
  size_t total;               /* bytes allocated, limited to max_total */
  size_t max_total;           /* 0: JT_MAX_ARENA; the entry points set --max-bytes plus 64 MiB */
  const char *path;           /* file named in messages */
  const char *part;           /* e.g. "data.pkl"; NULL: none */
  jmp_buf *jb;
  char err[1024];
} JtCtx;
#define JT_MAX_ARENA ((size_t)1 << 36)

void *jt_alloc(JtCtx *c, size_t n);               /* zeroed */
void *jt_alloc_array(JtCtx *c, size_t n, size_t size);
char *jt_strndup(JtCtx *c, const char *s, size_t n);
void jt_free_all(JtCtx *c);
/* off < 0: no offset in the message. */
_Noreturn void jt_fail(JtCtx *c, int64_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whole file into memory (malloc'ed; caller frees). 0, or -1 with c->err set. */
int jt_read_file(JtCtx *c, const char *path, uint8_t **buf, size_t *len);

/* ---- values made by the pickle machine ---- */
typedef enum {
  PY_NONE, PY_BOOL, PY_INT, PY_FLOAT, PY_STR, PY_BYTES,
  PY_TUPLE, PY_LIST, PY_DICT, PY_SET,
  PY_GLOBAL,   /* a symbol module.name: never imported, never called */
  PY_OBJ,      /* a record {cls, args, state} of a class the reader does not build */
  PY_STORAGE,  /* a torch storage (persistent id) */
  PY_TENSOR,   /* a tensor view: torch tensor, numpy array, jittor Var */
  PY_DTYPE,    /* a numpy dtype */
  PY_MARK,     /* internal: the MARK object on the stack */
  PY_KIND_COUNT
} PyKind;

typedef struct JtStorage JtStorage;
struct JtStorage {
  const char *key;
  Dtype dt;
  int64_t numel;              /* elements */
  JtStorage *root;            /* legacy view storages: a range of root */
  int64_t root_off;           /* elements into root */
  const uint8_t *data;        /* numel * dt_size bytes, NULL until bound */
};

typedef struct {
  JtStorage *st;
  Dtype dt;
  int rank;
  int64_t offset;             /* elements */
  int64_t dims[IR_MAX_RANK], strides[IR_MAX_RANK]; /* strides in elements */
  bool swap;                  /* big-endian data: swap bytes when materializing */
} JtTensor;

typedef struct PyVal PyVal;
struct PyVal {
  PyKind kind;
  bool big;                   /* INT that does not fit in int64 (i holds the low bits) */
  int64_t i;                  /* INT, BOOL */
  double f;                   /* FLOAT */
  const char *s;              /* STR/BYTES (NUL-terminated copy), GLOBAL "module.name" */
  size_t len;                 /* STR/BYTES length */
  PyVal **items;              /* TUPLE/LIST/SET items; DICT: key0, val0, key1, val1, ... */
  size_t n, cap;              /* items used (DICT: 2 * entries) and allocated */
  PyVal *cls, *args, *state;  /* OBJ */
  JtStorage *storage;         /* STORAGE */
  JtTensor *tensor;           /* TENSOR */
  Dtype dt; bool swap;        /* DTYPE (swap: big-endian) */
  size_t off;                 /* byte offset where it was made, for messages */
};

/* ---- pickle.c: the pickle machine ---- */
typedef PyVal *(*JtPersFn)(JtCtx *c, void *ud, PyVal *pid, size_t off);
/* Runs one pickle starting at buf[0]; *used receives the bytes up to and
 * including STOP. pers handles persistent ids (NULL: they are an error). */
PyVal *jt_unpickle(JtCtx *c, const uint8_t *buf, size_t len, size_t *used, JtPersFn pers, void *ud);
PyVal *jt_new(JtCtx *c, PyKind k, size_t off);
const char *jt_kind_name(PyKind k);
PyVal *jt_dict_get(const PyVal *d, const char *key);  /* string key; NULL if absent */
bool jt_is_global(const PyVal *v, const char *name);  /* GLOBAL "module.name" */
/* OBJ's attribute dict: its state if a dict, or the dict in a (dict, slots) tuple. */
PyVal *jt_obj_dict(const PyVal *v);

/* ---- numpy.c ---- */
/* numpy dtype string ('f4', '<i8', 'b1', ...) -> Dtype; DT_UNDEF if unsupported. */
Dtype jt_numpy_dtype(const char *s, bool *swap);
/* BUILD of an ndarray made by _reconstruct: state (version, shape, dtype, fortran, data). */
void jt_numpy_build(JtCtx *c, PyVal *arr, PyVal *state, size_t off);
/* numpy.core.numeric._frombuffer(buf, dtype, shape, order) */
PyVal *jt_numpy_frombuffer(JtCtx *c, PyVal *args, size_t off);
/* numpy.core.multiarray.scalar(dtype, bytes) */
PyVal *jt_numpy_scalar(JtCtx *c, PyVal *args, size_t off);

/* ---- tensors (torch_load.c) ---- */
/* torch storage class name ("FloatStorage") -> Dtype; DT_UNDEF if unknown. */
Dtype jt_storage_dtype(const char *name);
/* _rebuild_tensor_v2(storage, offset, size, stride, ...) */
PyVal *jt_rebuild_tensor(JtCtx *c, PyVal *args, size_t off);
/* Dense row-major copy of a tensor (arena); checks every view against its storage. */
void *jt_tensor_dense(JtCtx *c, const JtTensor *t, const char *what);
int64_t jt_tensor_numel(JtCtx *c, const JtTensor *t);

/* ---- zip.c ---- */
typedef struct { const char *name; const uint8_t *data; size_t size; } JtZipEntry;
typedef struct { JtZipEntry *e; size_t n; } JtZip;
bool jt_is_zip(const uint8_t *buf, size_t len);
void jt_zip_open(JtCtx *c, const uint8_t *buf, size_t len, JtZip *z);
const JtZipEntry *jt_zip_find(const JtZip *z, const char *name);

/* ---- sha1 (jittor_load.c) ---- */
void jt_sha1(const uint8_t *data, size_t len, uint8_t out[20]);

/* ---- loading a whole file to its top value ---- */
typedef enum { JT_FMT_NONE, JT_FMT_ZIP, JT_FMT_LEGACY, JT_FMT_JITTOR, JT_FMT_PICKLE } JtFormat;
JtFormat jt_detect(const uint8_t *buf, size_t len);
PyVal *jt_load_torch_zip(JtCtx *c, const uint8_t *buf, size_t len);
PyVal *jt_load_torch_legacy(JtCtx *c, const uint8_t *buf, size_t len);
PyVal *jt_load_jittor(JtCtx *c, const uint8_t *buf, size_t len); /* also plain pickles */
PyVal *jt_load_any(JtCtx *c, const uint8_t *buf, size_t len);

/* ---- modules.c ---- */
/* A whole-module pickle's top value -> meta-op graph (fails through jt_fail). */
void jt_build_module_graph(JtCtx *c, Graph *g, PyVal *root, const OnnxOptions *opt);
/* Flatten a state dict / checkpoint / module into named tensors. */
typedef struct { const char *name; JtTensor *t; } JtNamed;
void jt_collect_tensors(JtCtx *c, PyVal *v, const char *prefix, JtNamed **out, size_t *n, size_t *cap, int depth);
void jt_print_value(FILE *f, const PyVal *v, int depth, int indent);

#endif
