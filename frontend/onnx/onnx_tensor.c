/* onnx_tensor.c: TensorProto decoding. A tensor's elements live in one of
 * three places: a typed repeated field (float_data, int32_data for the small
 * integer types, bool and the 16-bit floats' bits, int64_data, double_data,
 * uint64_data for uint32/uint64), raw_data (little-endian bytes), or an
 * external file beside the model (data_location EXTERNAL, keys location,
 * offset, length). Every count and size the file claims is checked against the
 * bytes actually present before anything is allocated, and external paths may
 * not leave the model's directory. Also reads whole files for the loader and
 * the ONNX test-data tensors (onnx_read_tensor_file).
 *
 * A STRING tensor's elements come only from string_data; decoded, its data is one
 * malloc block: numel 8-byte slots holding `const char *` (dt_load/dt_store), then
 * the NUL-terminated bytes they point at, so one free() releases it. A string with
 * a NUL byte inside is refused (the generated API's strings are NUL-terminated).
 */
#include "frontend/onnx/onnx_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ONNX_MAX_FILE ((int64_t)1 << 40) /* refuse anything larger outright */

Dtype onnx_dtype(int t) {
  switch (t) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return DT_F32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return DT_U8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return DT_I8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return DT_U16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return DT_I16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return DT_I32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return DT_I64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return DT_BOOL;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return DT_F16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return DT_F64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return DT_U32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return DT_U64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return DT_BF16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: return DT_STRING;
  default: return DT_UNDEF;
  }
}

const char *onnx_dtype_name(int t) {
  static const char *const names[] = {
    "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
    "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16",
    /* newer than Debian's onnx.proto (onnx 1.14+), named for messages and `jtc inspect` */
    "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
  };
  if (t >= 0 && t < (int)(sizeof names / sizeof names[0])) return names[t];
  return "unknown";
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (errlen) vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

int onnx_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return fail(err, errlen, "%s: not a regular file", path);
  }
  if (st.st_size <= 0) {
    fclose(f);
    return fail(err, errlen, "%s: empty file", path);
  }
  if ((int64_t)st.st_size > ONNX_MAX_FILE || (uint64_t)st.st_size > SIZE_MAX) {
    fclose(f);
    return fail(err, errlen, "%s: file too large (%lld bytes)", path, (long long)st.st_size);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *b = malloc(n);
  if (!b) {
    fclose(f);
    return fail(err, errlen, "%s: out of memory reading %zu bytes", path, n);
  }
  if (fread(b, 1, n, f) != n) {
    free(b);
    fclose(f);
    return fail(err, errlen, "%s: read error", path);
  }
  fclose(f);
  *buf = b;
  *len = n;
  return 0;
}

static bool host_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static void swap_elements(uint8_t *p, size_t esz, int64_t n) {
  for (int64_t k = 0; k < n; k++, p += esz)
    for (size_t a = 0, b = esz - 1; a < b; a++, b--) {
      uint8_t t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

/* A non-negative decimal integer, all of s. */
static bool parse_size(const char *s, int64_t *v) {
  if (!s || !*s) return false;
  int64_t r = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (r > (INT64_MAX - (*s - '0')) / 10) return false;
    r = r * 10 + (*s - '0');
  }
  *v = r;
  return true;
}

/* location must stay inside the model's directory: relative, no ".." part. */
static bool safe_relative_path(const char *p) {
  if (!*p || p[0] == '/') return false;
  for (const char *s = p; *s;) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 2 && s[0] == '.' && s[1] == '.') return false;
    s += n;
    if (*s == '/') s++;
  }
  return true;
}

/* Reads the bytes into *dst, malloc'ed only once the file is known to hold them. */
static int read_external(const Onnx__TensorProto *t, const char *name, const char *model_dir,
                         uint8_t **dst, size_t bytes, char *err, size_t errlen) {
  const char *loc = NULL, *off_s = NULL, *len_s = NULL;
  for (size_t k = 0; k < t->n_external_data; k++) {
    const Onnx__StringStringEntryProto *e = t->external_data[k];
    if (!e || !e->key) continue;
    if (!strcmp(e->key, "location")) loc = e->value;
    else if (!strcmp(e->key, "offset")) off_s = e->value;
    else if (!strcmp(e->key, "length")) len_s = e->value;
  }
  if (!loc) return fail(err, errlen, "tensor '%s': external data without a 'location'", name);
  if (!model_dir) return fail(err, errlen, "tensor '%s': external data is not allowed here", name);
  if (!safe_relative_path(loc))
    return fail(err, errlen, "tensor '%s': external data location '%s' is outside the model's directory",
                name, loc);
  int64_t off = 0, len = -1;
  if (off_s && !parse_size(off_s, &off))
    return fail(err, errlen, "tensor '%s': bad external data offset '%s'", name, off_s);
  if (len_s && !parse_size(len_s, &len))
    return fail(err, errlen, "tensor '%s': bad external data length '%s'", name, len_s);
  size_t plen = strlen(model_dir) + strlen(loc) + 2;
  char *path = malloc(plen);
  if (!path) return fail(err, errlen, "out of memory");
  snprintf(path, plen, "%s/%s", model_dir, loc);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fail(err, errlen, "tensor '%s': cannot open external data '%s': %s", name, path, strerror(errno));
    free(path);
    return -1;
  }
  struct stat st;
  int rc = 0;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = fail(err, errlen, "tensor '%s': external data '%s' is not a regular file", name, path);
  } else if (off > (int64_t)st.st_size) {
    rc = fail(err, errlen, "tensor '%s': external data offset %lld is past the end of '%s' (%lld bytes)",
              name, (long long)off, path, (long long)st.st_size);
  } else {
    int64_t avail = (int64_t)st.st_size - off;
    if (len < 0) len = avail;
    if (len > avail)
      rc = fail(err, errlen, "tensor '%s': external data wants %lld bytes at offset %lld, '%s' has %lld",
                name, (long long)len, (long long)off, path, (long long)avail);
    else if ((uint64_t)len != (uint64_t)bytes)
      rc = fail(err, errlen, "tensor '%s': external data has %lld bytes, the shape needs %zu", name,
                (long long)len, bytes);
    else if (!(*dst = malloc(bytes ? bytes : 1)))
      rc = fail(err, errlen, "tensor '%s': out of memory (%zu bytes)", name, bytes);
    else if (bytes && (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(*dst, 1, bytes, f) != bytes))
      rc = fail(err, errlen, "tensor '%s': cannot read external data '%s'", name, path);
  }
  fclose(f);
  free(path);
  return rc;
}

/* string_data as one block: numel pointer slots, then the bytes (see the top). */
static int decode_strings(const Onnx__TensorProto *t, const char *name, int64_t numel, void **datap, char *err,
                          size_t errlen) {
  if (t->has_raw_data || (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
    return fail(err, errlen, "tensor '%s': a string tensor's elements must be in string_data", name);
  if ((uint64_t)t->n_string_data != (uint64_t)numel)
    return fail(err, errlen, "tensor '%s': has %zu strings, shape needs %lld", name, t->n_string_data, (long long)numel);
  size_t bytes = (size_t)numel * 8;
  for (size_t k = 0; k < t->n_string_data; k++) { /* each string's bytes are in the parsed message: no overflow */
    const ProtobufCBinaryData *b = &t->string_data[k];
    if (b->len && memchr(b->data, 0, b->len))
      return fail(err, errlen, "tensor '%s': string %zu contains a NUL byte", name, k);
    bytes += b->len + 1;
  }
  char *block = malloc(bytes ? bytes : 1);
  if (!block) return fail(err, errlen, "tensor '%s': out of memory (%zu bytes)", name, bytes);
  char *at = block + (size_t)numel * 8;
  for (size_t k = 0; k < t->n_string_data; k++) {
    const ProtobufCBinaryData *b = &t->string_data[k];
    if (b->len) memcpy(at, b->data, b->len);
    at[b->len] = 0;
    dt_store(block, DT_STRING, (int64_t)k, (Scalar){0, (int64_t)(intptr_t)at});
    at += b->len + 1;
  }
  *datap = block;
  return 0;
}

int onnx_tensor_decode(const Onnx__TensorProto *t, const char *model_dir, Dtype *dtp, int *rankp,
                       int64_t dims[IR_MAX_RANK], void **datap, char *err, size_t errlen) {
  const char *name = t->name && *t->name ? t->name : "?";
  *datap = NULL;
  if (!t->has_data_type) return fail(err, errlen, "tensor '%s': no data_type", name);
  Dtype dt = onnx_dtype(t->data_type);
  if (dt == DT_UNDEF)
    return fail(err, errlen, "tensor '%s': element type %s is not supported", name, onnx_dtype_name(t->data_type));
  if (t->segment) return fail(err, errlen, "tensor '%s': segmented tensors are not supported", name);
  if (t->n_dims > IR_MAX_RANK)
    return fail(err, errlen, "tensor '%s': rank %zu exceeds the limit of %d", name, t->n_dims, IR_MAX_RANK);
  int64_t numel = 1;
  for (size_t k = 0; k < t->n_dims; k++) {
    int64_t d = t->dims[k];
    if (d < 0) return fail(err, errlen, "tensor '%s': negative dimension %lld", name, (long long)d);
    if (d && numel > INT64_MAX / d) return fail(err, errlen, "tensor '%s': element count overflows", name);
    numel *= d;
    dims[k] = d;
  }
  size_t esz = dt_size(dt);
  if ((uint64_t)numel > (uint64_t)(SIZE_MAX / 2) / esz)
    return fail(err, errlen, "tensor '%s': %lld elements is too large", name, (long long)numel);
  if (dt == DT_STRING) {
    if (decode_strings(t, name, numel, datap, err, errlen)) return -1;
    *dtp = dt;
    *rankp = (int)t->n_dims;
    return 0;
  }
  size_t bytes = (size_t)numel * esz;

  /* Find the source and check its size before allocating. */
  enum { SRC_RAW, SRC_EXT, SRC_F32, SRC_I32, SRC_I64, SRC_F64, SRC_U64 } src;
  size_t have = 0;
  if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    src = SRC_EXT;
    have = bytes; /* checked against the file by read_external */
  } else if (t->has_raw_data) {
    src = SRC_RAW;
    if (t->raw_data.len != bytes)
      return fail(err, errlen, "tensor '%s': raw_data has %zu bytes, shape and type need %zu", name,
                  t->raw_data.len, bytes);
    have = bytes;
  } else {
    switch (dt) {
    case DT_F32: src = SRC_F32; have = t->n_float_data; break;
    case DT_I64: src = SRC_I64; have = t->n_int64_data; break;
    case DT_F64: src = SRC_F64; have = t->n_double_data; break;
    case DT_U32: case DT_U64: src = SRC_U64; have = t->n_uint64_data; break;
    default: src = SRC_I32; have = t->n_int32_data; break;
    }
    if ((uint64_t)have != (uint64_t)numel)
      return fail(err, errlen, "tensor '%s': has %zu values, shape needs %lld", name, have, (long long)numel);
  }
  *dtp = dt;
  *rankp = (int)t->n_dims;
  if (numel == 0) return 0;
  uint8_t *data = NULL;
  if (src != SRC_EXT && !(data = malloc(bytes))) return fail(err, errlen, "tensor '%s': out of memory (%zu bytes)", name, bytes);
  switch (src) {
  case SRC_EXT:
    if (read_external(t, name, model_dir, &data, bytes, err, errlen) != 0) {
      free(data);
      return -1;
    }
    if (!host_little_endian()) swap_elements(data, esz, numel);
    break;
  case SRC_RAW:
    memcpy(data, t->raw_data.data, bytes);
    if (!host_little_endian()) swap_elements(data, esz, numel);
    break;
  case SRC_F32: memcpy(data, t->float_data, bytes); break;
  case SRC_F64: memcpy(data, t->double_data, bytes); break;
  case SRC_I64: memcpy(data, t->int64_data, bytes); break;
  case SRC_U64:
    for (int64_t k = 0; k < numel; k++) {
      if (dt == DT_U32) ((uint32_t *)data)[k] = (uint32_t)t->uint64_data[k];
      else ((uint64_t *)data)[k] = t->uint64_data[k];
    }
    break;
  case SRC_I32:
    for (int64_t k = 0; k < numel; k++) {
      int32_t v = t->int32_data[k];
      switch (dt) {
      case DT_I32: ((int32_t *)data)[k] = v; break;
      case DT_I16: ((int16_t *)data)[k] = (int16_t)v; break;
      case DT_U16: case DT_F16: case DT_BF16: ((uint16_t *)data)[k] = (uint16_t)v; break;
      case DT_I8: ((int8_t *)data)[k] = (int8_t)v; break;
      case DT_U8: ((uint8_t *)data)[k] = (uint8_t)v; break;
      case DT_BOOL: ((uint8_t *)data)[k] = v != 0; break;
      default: free(data); return fail(err, errlen, "tensor '%s': no int32_data for this type", name);
      }
    }
    break;
  }
  *datap = data;
  return 0;
}

Node *onnx_tensor_const(Graph *g, const Onnx__TensorProto *t, const char *model_dir) {
  Dtype dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *data;
  char err[512];
  if (onnx_tensor_decode(t, model_dir, &dt, &rank, dims, &data, err, sizeof err) != 0) ir_fail(g, "%s", err);
  /* ir_const copies; it only fails on shapes decode has already checked. */
  static const uint64_t empty = 0;
  Node *n = ir_const(g, dt, rank, dims, data ? data : (const void *)&empty);
  free(data);
  return n;
}

int onnx_read_tensor_file(const char *path, Dtype *dt, int *rank, int64_t dims[IR_MAX_RANK], void **data,
                          char *err, size_t errlen) {
  uint8_t *buf;
  size_t len;
  *data = NULL;
  if (onnx_read_file(path, &buf, &len, err, errlen) != 0) return -1;
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  if (!t) return fail(err, errlen, "%s: not a serialized TensorProto (protobuf parse failed)", path);
  /* external data, if any, is relative to the tensor file's directory */
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash) *slash = 0;
  char msg[512];
  int rc = onnx_tensor_decode(t, dir ? (slash ? dir : ".") : NULL, dt, rank, dims, data, msg, sizeof msg);
  if (rc != 0) fail(err, errlen, "%s: %s", path, msg);
  free(dir);
  onnx__tensor_proto__free_unpacked(t, NULL);
  return rc;
}

int onnx_tensor_file_name(const char *path, char *name, size_t n) {
  uint8_t *buf;
  size_t len;
  char err[256];
  if (n) name[0] = 0;
  if (onnx_read_file(path, &buf, &len, err, sizeof err) != 0) return -1;
  Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
  free(buf);
  if (!t) return -1;
  if (t->name && n) snprintf(name, n, "%s", t->name);
  onnx__tensor_proto__free_unpacked(t, NULL);
  return 0;
}

/* ---- SequenceProto and OptionalProto test data (onnx-data.proto) ----
 * Debian's onnx.proto, which protobuf-c compiles, lacks these two messages, so
 * they are read off the wire here: only the fields below; tensors inside go
 * through onnx__tensor_proto__unpack and onnx_tensor_decode.
 *   SequenceProto  1 name, 2 elem_type, 3 tensor_values (repeated), 4..7 other kinds
 *   OptionalProto  1 name, 2 elem_type, 3 tensor_value, 5 sequence_value, 4/6/7 other kinds
 * elem_type: 0 undefined (an empty optional), 1 tensor, 3 sequence, others unsupported. */
typedef struct { const uint8_t *p, *end; } Wire;

static bool wire_varint(Wire *w, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && w->p < w->end; shift += 7) {
    uint8_t b = *w->p++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

/* Next field: number, wire type, and for length-delimited ones the bytes. */
static bool wire_field(Wire *w, int *field, int *type, Wire *sub) {
  uint64_t key, v;
  if (!wire_varint(w, &key)) return false;
  *field = (int)(key >> 3);
  *type = (int)(key & 7);
  switch (*type) {
  case 0: return wire_varint(w, &v);
  case 1: if (w->end - w->p < 8) return false; w->p += 8; return true;
  case 5: if (w->end - w->p < 4) return false; w->p += 4; return true;
  case 2:
    if (!wire_varint(w, &v) || v > (uint64_t)(w->end - w->p)) return false;
    sub->p = w->p;
    sub->end = w->p + v;
    w->p += v;
    return true;
  default: return false;
  }
}

/* ---- nesting and node count of a serialized ModelProto, before unpacking ----
 * protobuf-c unpacks nested messages recursively, so a file of a few hundred
 * KB nesting TypeProtos or subgraphs 100000 deep overflows the stack inside
 * onnx__model_proto__unpack, and a file of empty NodeProtos unpacks to ~50
 * bytes of structs per byte. This walks the wire format along onnx.proto's
 * message-typed fields that can nest (graphs, nodes, attributes, value infos,
 * types), counting depth and NodeProtos; fields it cannot frame are left for
 * protobuf-c to reject. */
typedef enum { PB_NONE, PB_MODEL, PB_TRAINING, PB_FUNCTION, PB_GRAPH, PB_NODE, PB_ATTR, PB_VALUE_INFO, PB_TYPE,
               PB_TYPE_ELEM /* Sequence, Optional: elem_type = 1 */, PB_TYPE_MAP /* value_type = 2 */ } PbKind;

static PbKind pb_child(PbKind k, int field) {
  switch (k) {
  case PB_MODEL: return field == 7 ? PB_GRAPH : field == 20 ? PB_TRAINING : field == 25 ? PB_FUNCTION : PB_NONE;
  case PB_TRAINING: return field == 1 || field == 2 ? PB_GRAPH : PB_NONE;
  case PB_FUNCTION: return field == 7 ? PB_NODE : PB_NONE;
  case PB_GRAPH: return field == 1 ? PB_NODE : field >= 11 && field <= 13 ? PB_VALUE_INFO : PB_NONE;
  case PB_NODE: return field == 5 ? PB_ATTR : PB_NONE;
  case PB_ATTR: return field == 6 || field == 11 ? PB_GRAPH : field == 14 || field == 15 ? PB_TYPE : PB_NONE;
  case PB_VALUE_INFO: return field == 2 ? PB_TYPE : PB_NONE;
  case PB_TYPE: return field == 4 || field == 9 ? PB_TYPE_ELEM : field == 5 ? PB_TYPE_MAP : PB_NONE;
  case PB_TYPE_ELEM: return field == 1 ? PB_TYPE : PB_NONE;
  case PB_TYPE_MAP: return field == 2 ? PB_TYPE : PB_NONE;
  default: return PB_NONE;
  }
}

/* 0, or -1 when too deep (*depth_hit set) or too many nodes. */
static int pb_scan(Wire w, PbKind kind, int depth, int max_depth, int64_t *nodes, int64_t max_nodes, bool *depth_hit) {
  if (depth > max_depth) {
    *depth_hit = true;
    return -1;
  }
  if (kind == PB_NODE && ++*nodes > max_nodes) return -1;
  int field, type;
  Wire sub = {0};
  while (w.p < w.end && wire_field(&w, &field, &type, &sub)) {
    PbKind ck = type == 2 ? pb_child(kind, field) : PB_NONE;
    if (ck != PB_NONE && pb_scan(sub, ck, depth + 1, max_depth, nodes, max_nodes, depth_hit)) return -1;
  }
  return 0;
}

int onnx_check_model_bytes(const uint8_t *buf, size_t len, int64_t max_nodes, const char *path, char *err, size_t errlen) {
  Wire w = {buf, buf + len};
  int64_t nodes = 0;
  bool deep = false;
  if (pb_scan(w, PB_MODEL, 0, ONNX_MAX_NESTING, &nodes, max_nodes, &deep) == 0) return 0;
  if (deep)
    return fail(err, errlen, "%s: protobuf messages (subgraphs or types) are nested more than %d deep", path,
                ONNX_MAX_NESTING);
  return fail(err, errlen, "%s: the model has more than %lld nodes, subgraphs included (--max-nodes=N raises the limit)",
              path, (long long)max_nodes);
}

static int value_add_tensor(OnnxValueData *v, Wire t, const char *path, char *err, size_t errlen) {
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, (size_t)(t.end - t.p), t.p);
  if (!tp) return fail(err, errlen, "%s: a tensor inside is not a valid TensorProto", path);
  if (v->n >= 1 << 20) {
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return fail(err, errlen, "%s: more than %d tensors", path, 1 << 20);
  }
  OnnxTensorData *nt = realloc(v->t, (size_t)(v->n + 1) * sizeof *nt);
  if (!nt) {
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return fail(err, errlen, "%s: out of memory", path);
  }
  v->t = nt;
  OnnxTensorData *d = &v->t[v->n];
  memset(d, 0, sizeof *d);
  char msg[512];
  int rc = onnx_tensor_decode(tp, NULL, &d->dt, &d->rank, d->dims, &d->data, msg, sizeof msg);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  if (rc) return fail(err, errlen, "%s: element %d: %s", path, v->n, msg);
  v->n++;
  return 0;
}

static int read_sequence(OnnxValueData *v, Wire w, const char *path, char *err, size_t errlen) {
  int field, type;
  Wire sub = {0};
  while (w.p < w.end) {
    if (!wire_field(&w, &field, &type, &sub)) return fail(err, errlen, "%s: not a serialized SequenceProto", path);
    if (field == 3 && type == 2) {
      if (value_add_tensor(v, sub, path, err, errlen)) return -1;
    } else if (field >= 4 && field <= 7) {
      return fail(err, errlen, "%s: a sequence of sparse tensors, sequences, maps or optionals is not supported", path);
    }
  }
  return 0;
}

static int read_optional(OnnxValueData *v, Wire w, const char *path, char *err, size_t errlen) {
  int field, type;
  Wire sub = {0};
  while (w.p < w.end) {
    if (!wire_field(&w, &field, &type, &sub)) return fail(err, errlen, "%s: not a serialized OptionalProto", path);
    if (type != 2 || field < 3) continue;
    if (v->present) return fail(err, errlen, "%s: the optional holds more than one value", path);
    if (field == 3) {
      v->present = true;
      v->content = ONNX_VALUE_TENSOR;
      if (value_add_tensor(v, sub, path, err, errlen)) return -1;
    } else if (field == 5) {
      v->present = true;
      v->content = ONNX_VALUE_SEQUENCE;
      if (read_sequence(v, sub, path, err, errlen)) return -1;
    } else {
      return fail(err, errlen, "%s: an optional sparse tensor, map or optional is not supported", path);
    }
  }
  return 0;
}

void onnx_value_data_free(OnnxValueData *v) {
  for (int k = 0; k < v->n; k++) free(v->t[k].data);
  free(v->t);
  memset(v, 0, sizeof *v);
}

int onnx_read_value_file(const char *path, OnnxValueKind kind, OnnxValueData *v, char *err, size_t errlen) {
  memset(v, 0, sizeof *v);
  v->kind = kind;
  if (kind == ONNX_VALUE_TENSOR) {
    OnnxTensorData d = {0};
    if (onnx_read_tensor_file(path, &d.dt, &d.rank, d.dims, &d.data, err, errlen)) return -1;
    v->t = malloc(sizeof *v->t);
    if (!v->t) {
      free(d.data);
      return fail(err, errlen, "%s: out of memory", path);
    }
    v->t[0] = d;
    v->n = 1;
    return 0;
  }
  uint8_t *buf;
  size_t len;
  if (onnx_read_file(path, &buf, &len, err, errlen) != 0) return -1;
  Wire w = {buf, buf + len};
  int rc = kind == ONNX_VALUE_SEQUENCE ? read_sequence(v, w, path, err, errlen) : read_optional(v, w, path, err, errlen);
  free(buf);
  if (rc) onnx_value_data_free(v);
  return rc;
}

/* ---- a model's graph inputs and outputs, for test runners ---- */
static OnnxValueKind type_kind(const Onnx__TypeProto *tp, bool *symbolic) {
  *symbolic = false;
  if (!tp) return ONNX_VALUE_TENSOR;
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE) return ONNX_VALUE_SEQUENCE;
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) return ONNX_VALUE_OPTIONAL;
  if (tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) {
    const Onnx__TensorShapeProto *s = tp->tensor_type->shape;
    *symbolic = !s;
    for (size_t d = 0; s && d < s->n_dim; d++)
      if (!s->dim[d] || s->dim[d]->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) *symbolic = true;
  }
  return ONNX_VALUE_TENSOR;
}

void onnx_model_io_free(OnnxIoInfo *io, int n) {
  for (int k = 0; io && k < n; k++) free(io[k].name);
  free(io);
}

int onnx_model_io(const char *path, OnnxIoInfo **in, int *nin, OnnxIoInfo **out, int *nout, char *err, size_t errlen) {
  uint8_t *buf;
  size_t len;
  *in = *out = NULL;
  *nin = *nout = 0;
  if (onnx_read_file(path, &buf, &len, err, errlen) != 0) return -1;
  if (onnx_check_model_bytes(buf, len, ONNX_DEFAULT_MAX_NODES, path, err, errlen) != 0) {
    free(buf);
    return -1;
  }
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  free(buf);
  if (!m || !m->graph) {
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    return fail(err, errlen, "%s: not an ONNX model", path);
  }
  const Onnx__GraphProto *gr = m->graph;
  *in = calloc(gr->n_input + 1, sizeof **in);
  *out = calloc(gr->n_output + 1, sizeof **out);
  int rc = *in && *out ? 0 : fail(err, errlen, "out of memory");
  for (size_t k = 0; !rc && k < gr->n_input; k++) {
    const char *name = gr->input[k]->name ? gr->input[k]->name : "";
    bool init = false;
    for (size_t j = 0; j < gr->n_initializer && !init; j++)
      init = gr->initializer[j]->name && !strcmp(gr->initializer[j]->name, name);
    if (init) continue;
    OnnxIoInfo *io = &(*in)[(*nin)++];
    io->kind = type_kind(gr->input[k]->type, &io->symbolic);
    if (!(io->name = strdup(name))) rc = fail(err, errlen, "out of memory");
  }
  for (size_t k = 0; !rc && k < gr->n_output; k++) {
    OnnxIoInfo *io = &(*out)[(*nout)++];
    io->kind = type_kind(gr->output[k]->type, &io->symbolic);
    if (!(io->name = strdup(gr->output[k]->name ? gr->output[k]->name : ""))) rc = fail(err, errlen, "out of memory");
  }
  onnx__model_proto__free_unpacked(m, NULL);
  if (rc) {
    onnx_model_io_free(*in, *nin), onnx_model_io_free(*out, *nout);
    *in = *out = NULL;
    *nin = *nout = 0;
  }
  return rc;
}
