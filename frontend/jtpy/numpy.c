/* numpy.c: numpy arrays, dtypes and scalars as pickles spell them, in numpy 1
 * (numpy.core.*) and numpy 2 (numpy._core.*) naming alike:
 *   _reconstruct(ndarray, (0,), b'b') then BUILD (version, shape, dtype, fortran, raw bytes)
 *   dtype('f4', False, True) then BUILD (3, '<', ...) with the byte order
 *   _frombuffer(bytes, dtype, shape, order)    (protocol-5 writers)
 *   scalar(dtype, bytes)                       (numpy scalars)
 * Arrays point into the file's bytes; nothing is copied until a tensor is used.
 */
#include "frontend/jtpy/jtpy_internal.h"

#include <string.h>

Dtype jt_numpy_dtype(const char *s, bool *swap) {
  *swap = false;
  if (*s == '<' || *s == '|' || *s == '=') s++;
  else if (*s == '>') *swap = true, s++;
  static const struct { const char *name; Dtype dt; } tab[] = {
    {"f4", DT_F32}, {"f8", DT_F64}, {"f2", DT_F16}, {"i1", DT_I8}, {"i2", DT_I16}, {"i4", DT_I32}, {"i8", DT_I64},
    {"u1", DT_U8}, {"u2", DT_U16}, {"u4", DT_U32}, {"u8", DT_U64}, {"b1", DT_BOOL}, {"?", DT_BOOL},
    {"float32", DT_F32}, {"float64", DT_F64}, {"float16", DT_F16}, {"int8", DT_I8}, {"int16", DT_I16},
    {"int32", DT_I32}, {"int64", DT_I64}, {"uint8", DT_U8}, {"bool", DT_BOOL},
  };
  for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
    if (!strcmp(s, tab[k].name)) {
      if (dt_size(tab[k].dt) == 1) *swap = false;
      return tab[k].dt;
    }
  return DT_UNDEF;
}

/* shape tuple -> dims; returns rank */
static int read_shape(JtCtx *c, const PyVal *shape, int64_t *dims, size_t off) {
  if (!shape || (shape->kind != PY_TUPLE && shape->kind != PY_LIST))
    jt_fail(c, (int64_t)off, "numpy array shape is a %s, not a tuple", shape ? jt_kind_name(shape->kind) : "nothing");
  if (shape->n > IR_MAX_RANK) jt_fail(c, (int64_t)off, "numpy array of rank %zu (at most %d)", shape->n, IR_MAX_RANK);
  for (size_t k = 0; k < shape->n; k++) {
    const PyVal *d = shape->items[k];
    if (d->kind != PY_INT || d->big || d->i < 0 || d->i > JT_MAX_NUMEL)
      jt_fail(c, (int64_t)off, "numpy array dim %zu is not a valid size", k);
    dims[k] = d->i;
  }
  return (int)shape->n;
}

/* A tensor over `data` (len bytes), checked to hold exactly the shape's elements. */
static JtTensor *array_over(JtCtx *c, Dtype dt, bool swap, int rank, const int64_t *dims, bool fortran,
                            const PyVal *data, size_t off) {
  if (!data || (data->kind != PY_BYTES && data->kind != PY_STR))
    jt_fail(c, (int64_t)off, "numpy array data is a %s, not bytes (object arrays are not supported)",
            data ? jt_kind_name(data->kind) : "nothing");
  int64_t numel = 1;
  for (int k = 0; k < rank; k++)
    if (__builtin_mul_overflow(numel, dims[k], &numel) || numel > JT_MAX_NUMEL)
      jt_fail(c, (int64_t)off, "numpy array has too many elements");
  if ((uint64_t)numel * dt_size(dt) != data->len)
    jt_fail(c, (int64_t)off, "numpy array of %lld %s elements has %zu data bytes (want %llu)", (long long)numel,
            dt_name(dt), data->len, (unsigned long long)numel * dt_size(dt));
  JtStorage *st = jt_alloc(c, sizeof *st);
  st->key = "numpy";
  st->dt = dt;
  st->numel = numel;
  st->data = (const uint8_t *)data->s;
  JtTensor *t = jt_alloc(c, sizeof *t);
  t->st = st;
  t->dt = dt;
  t->rank = rank;
  t->swap = swap;
  int64_t s = 1;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  if (fortran)
    for (int k = 0; k < rank; k++) t->strides[k] = s, s *= dims[k] ? dims[k] : 1;
  else
    for (int k = rank - 1; k >= 0; k--) t->strides[k] = s, s *= dims[k] ? dims[k] : 1;
  return t;
}

void jt_numpy_build(JtCtx *c, PyVal *arr, PyVal *state, size_t off) {
  if (state->kind != PY_TUPLE || (state->n != 5 && state->n != 4))
    jt_fail(c, (int64_t)off, "numpy array state is not a (version, shape, dtype, fortran, data) tuple");
  PyVal **it = state->items + (state->n == 5);
  const PyVal *dtype = it[1];
  if (dtype->kind != PY_DTYPE) jt_fail(c, (int64_t)off, "numpy array dtype is a %s", jt_kind_name(dtype->kind));
  int64_t dims[IR_MAX_RANK];
  int rank = read_shape(c, it[0], dims, off);
  bool fortran = (it[2]->kind == PY_BOOL || it[2]->kind == PY_INT) && it[2]->i;
  arr->tensor = array_over(c, dtype->dt, dtype->swap, rank, dims, fortran, it[3], off);
}

PyVal *jt_numpy_frombuffer(JtCtx *c, PyVal *args, size_t off) {
  if (args->n < 3) jt_fail(c, (int64_t)off, "_frombuffer takes (buffer, dtype, shape, order)");
  const PyVal *dtype = args->items[1];
  if (dtype->kind != PY_DTYPE) jt_fail(c, (int64_t)off, "_frombuffer dtype is a %s", jt_kind_name(dtype->kind));
  int64_t dims[IR_MAX_RANK];
  int rank = read_shape(c, args->items[2], dims, off);
  bool fortran = args->n > 3 && args->items[3]->kind == PY_STR && !strcmp(args->items[3]->s, "F");
  PyVal *v = jt_new(c, PY_TENSOR, off);
  v->tensor = array_over(c, dtype->dt, dtype->swap, rank, dims, fortran, args->items[0], off);
  return v;
}

PyVal *jt_numpy_scalar(JtCtx *c, PyVal *args, size_t off) {
  if (args->n < 2 || args->items[0]->kind != PY_DTYPE || args->items[1]->kind != PY_BYTES)
    jt_fail(c, (int64_t)off, "numpy scalar takes (dtype, bytes)");
  const PyVal *d = args->items[0], *b = args->items[1];
  size_t es = dt_size(d->dt);
  if (b->len != es) jt_fail(c, (int64_t)off, "numpy %s scalar with %zu bytes", dt_name(d->dt), b->len);
  uint8_t tmp[8];
  for (size_t k = 0; k < es; k++) tmp[k] = (uint8_t)b->s[d->swap ? es - 1 - k : k];
  Scalar s = dt_load(tmp, d->dt, 0);
  PyVal *v = jt_new(c, dt_is_float(d->dt) ? PY_FLOAT : d->dt == DT_BOOL ? PY_BOOL : PY_INT, off);
  v->f = s.f;
  v->i = s.i;
  return v;
}
