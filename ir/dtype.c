/* dtype.c: element types: sizes, names, C spellings, scalar conversion, and
 * float16/bfloat16 <-> float32 (round to nearest even). */
#include <math.h>
#include <string.h>

#include "ir.h"

static const struct { const char *name, *ctype, *compute; size_t size; } dtypes[DT_COUNT] = {
  [DT_UNDEF] = {"undefined", "void", "void", 0},
  [DT_F32] = {"float32", "float", "float", 4},
  [DT_F64] = {"float64", "double", "double", 8},
  [DT_F16] = {"float16", "uint16_t", "float", 2},
  [DT_BF16] = {"bfloat16", "uint16_t", "float", 2},
  [DT_I8] = {"int8", "int8_t", "int8_t", 1},
  [DT_I16] = {"int16", "int16_t", "int16_t", 2},
  [DT_I32] = {"int32", "int32_t", "int32_t", 4},
  [DT_I64] = {"int64", "int64_t", "int64_t", 8},
  [DT_U8] = {"uint8", "uint8_t", "uint8_t", 1},
  [DT_U16] = {"uint16", "uint16_t", "uint16_t", 2},
  [DT_U32] = {"uint32", "uint32_t", "uint32_t", 4},
  [DT_U64] = {"uint64", "uint64_t", "uint64_t", 8},
  [DT_BOOL] = {"bool", "uint8_t", "uint8_t", 1},
  [DT_STRING] = {"string", "jtc_str", "jtc_str", 8}, /* jtc_str: the generated file's typedef of const char * */
};
_Static_assert(sizeof(const char *) <= 8, "a string element holds a host pointer in 8 bytes");

size_t dt_size(Dtype t) { return t < DT_COUNT ? dtypes[t].size : 0; }
const char *dt_name(Dtype t) { return t < DT_COUNT ? dtypes[t].name : "invalid"; }
const char *dt_ctype(Dtype t) { return t < DT_COUNT ? dtypes[t].ctype : "void"; }
const char *dt_ctype_compute(Dtype t) { return t < DT_COUNT ? dtypes[t].compute : "void"; }
bool dt_is_float(Dtype t) { return t == DT_F32 || t == DT_F64 || t == DT_F16 || t == DT_BF16; }
bool dt_is_int(Dtype t) { return t >= DT_I8 && t <= DT_U64; }
Dtype dt_from_name(const char *s, size_t n) {
  for (int d = 1; d < DT_COUNT; d++)
    if (strlen(dt_name((Dtype)d)) == n && !memcmp(s, dt_name((Dtype)d), n)) return (Dtype)d;
  return DT_UNDEF;
}
bool dt_is_signed(Dtype t) { return dt_is_float(t) || (t >= DT_I8 && t <= DT_I64); }

Scalar sc_f(double v) {
  Scalar s = {v, 0};
  if (v == v && v >= -9.2e18 && v <= 9.2e18) s.i = (int64_t)v;
  return s;
}
Scalar sc_i(int64_t v) { return (Scalar){(double)v, v}; }
bool sc_equal(Scalar a, Scalar b, Dtype t) {
  return dt_is_float(t) ? (a.f == b.f || (a.f != a.f && b.f != b.f)) : a.i == b.i;
}
double sc_as_f(Scalar s, Dtype t) { return dt_is_float(t) ? s.f : (t == DT_U64 ? (double)(uint64_t)s.i : (double)s.i); }
int64_t sc_as_i(Scalar s, Dtype t) { return dt_is_float(t) ? sc_f(s.f).i : s.i; }

float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
  else if (exp) bits = sign | ((exp + 112) << 23) | (man << 13);
  else if (!man) bits = sign;
  else { /* subnormal: value = man * 2^-24 */
    float f = (float)man * 0x1p-24f;
    return sign ? -f : f;
  }
  float f; memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x; memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0);
  if (ax >= 0x477ff000u) return sign | 0x7c00;           /* rounds to >= 65520: inf */
  if (ax < 0x38800000u) {                                /* below 2^-14: subnormal or zero */
    float a; memcpy(&a, &ax, 4);
    return sign | (uint16_t)nearbyintf(a * 0x1p24f);     /* may round up to the smallest normal */
  }
  uint32_t r = ax + 0xfff + ((ax >> 13) & 1);            /* round to nearest even */
  return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

float bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16; float f; memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x; memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

Scalar dt_load(const void *buf, Dtype t, int64_t k) {
  const char *p = (const char *)buf + k * (int64_t)dt_size(t);
  switch (t) {
  case DT_F32: { float v; memcpy(&v, p, 4); return sc_f(v); }
  case DT_F64: { double v; memcpy(&v, p, 8); return sc_f(v); }
  case DT_F16: { uint16_t v; memcpy(&v, p, 2); return sc_f(f16_to_f32(v)); }
  case DT_BF16: { uint16_t v; memcpy(&v, p, 2); return sc_f(bf16_to_f32(v)); }
  case DT_I8: { int8_t v; memcpy(&v, p, 1); return sc_i(v); }
  case DT_I16: { int16_t v; memcpy(&v, p, 2); return sc_i(v); }
  case DT_I32: { int32_t v; memcpy(&v, p, 4); return sc_i(v); }
  case DT_I64: { int64_t v; memcpy(&v, p, 8); return sc_i(v); }
  case DT_U8: case DT_BOOL: { uint8_t v; memcpy(&v, p, 1); return sc_i(v); }
  case DT_U16: { uint16_t v; memcpy(&v, p, 2); return sc_i(v); }
  case DT_U32: { uint32_t v; memcpy(&v, p, 4); return sc_i(v); }
  case DT_U64: { uint64_t v; memcpy(&v, p, 8); Scalar s = {(double)v, (int64_t)v}; return s; }
  case DT_STRING: { const char *v; memcpy(&v, p, sizeof v); Scalar s = {0, (int64_t)(intptr_t)v}; return s; }
  default: jtc_unreachable();
  }
}

void dt_store(void *buf, Dtype t, int64_t k, Scalar s) {
  char *p = (char *)buf + k * (int64_t)dt_size(t);
  switch (t) {
  case DT_F32: { float v = (float)s.f; memcpy(p, &v, 4); break; }
  case DT_F64: memcpy(p, &s.f, 8); break;
  case DT_F16: { uint16_t v = f32_to_f16((float)s.f); memcpy(p, &v, 2); break; }
  case DT_BF16: { uint16_t v = f32_to_bf16((float)s.f); memcpy(p, &v, 2); break; }
  case DT_I8: { int8_t v = (int8_t)s.i; memcpy(p, &v, 1); break; }
  case DT_I16: { int16_t v = (int16_t)s.i; memcpy(p, &v, 2); break; }
  case DT_I32: { int32_t v = (int32_t)s.i; memcpy(p, &v, 4); break; }
  case DT_I64: memcpy(p, &s.i, 8); break;
  case DT_U8: { uint8_t v = (uint8_t)s.i; memcpy(p, &v, 1); break; }
  case DT_BOOL: { uint8_t v = s.i != 0; memcpy(p, &v, 1); break; }
  case DT_U16: { uint16_t v = (uint16_t)s.i; memcpy(p, &v, 2); break; }
  case DT_U32: { uint32_t v = (uint32_t)s.i; memcpy(p, &v, 4); break; }
  case DT_U64: memcpy(p, &s.i, 8); break;
  case DT_STRING: { /* a zero fill (a GATHER's out-of-bounds value) is the empty string */
    const char *v = s.i ? (const char *)(intptr_t)s.i : "";
    memset(p, 0, 8);
    memcpy(p, &v, sizeof v);
    break;
  }
  default: jtc_unreachable();
  }
}

const MapOpInfo map_ops[MAP_COUNT] = {
#define X(name, arity, cf, ci, flags) {#name, arity, cf, ci, flags},
#include "ops.def"
#undef X
};

const char *const reduce_names[RED_COUNT] = {"add", "mul", "max", "min", "and", "or", "xor", "assign"};

Scalar reduce_identity(ReduceOp op, Dtype t) {
  bool f = dt_is_float(t);
  switch (op) {
  case RED_ADD: case RED_OR: case RED_XOR: case RED_ASSIGN: return sc_i(0);
  case RED_MUL: case RED_AND: return sc_i(1);
  case RED_MAX:
    if (f) return (Scalar){-INFINITY, INT64_MIN};
    switch (t) {
    case DT_I8: return sc_i(INT8_MIN); case DT_I16: return sc_i(INT16_MIN);
    case DT_I32: return sc_i(INT32_MIN); case DT_I64: return sc_i(INT64_MIN);
    default: return sc_i(0);
    }
  case RED_MIN:
    if (f) return (Scalar){INFINITY, INT64_MAX};
    switch (t) {
    case DT_I8: return sc_i(INT8_MAX); case DT_I16: return sc_i(INT16_MAX);
    case DT_I32: return sc_i(INT32_MAX); case DT_I64: return sc_i(INT64_MAX);
    case DT_U8: case DT_BOOL: return sc_i(UINT8_MAX); case DT_U16: return sc_i(UINT16_MAX);
    case DT_U32: return sc_i(UINT32_MAX); case DT_U64: return sc_i(-1);
    default: return sc_i(0);
    }
  default: jtc_unreachable();
  }
}
