/* test_jtpy.c: unit tests of the jtpy frontend (CMocka).
 *
 * The pickle machine opcode by opcode (hand-written pickles, values checked),
 * each error path (message and byte offset), hostile pickles (os.system via
 * REDUCE, huge claimed lengths, deep nesting, memo abuse, cycles), SHA-1
 * against FIPS 180 vectors, the container formats (zip, legacy, Jittor, numpy
 * 1 and 2 spellings) against the values the fixture script stored, every
 * prefix and many bit flips of real files (clean errors, no crash; run under
 * ASan/UBSan), a whole-module Sequential evaluated by ir_eval_graph against
 * PyTorch's output, and --weights into an ONNX graph. Fixtures come from
 * tests/data/make_jtpy_fixtures.py; run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/jtpy/jtpy_internal.h"

#define FIX(name) "tests/data/jtpy/" name

static int saved_stderr = -1;
static void quiet(bool on) {
  fflush(stderr);
  if (on) {
    saved_stderr = dup(2);
    int fd = open("/dev/null", O_WRONLY);
    dup2(fd, 2);
    close(fd);
  } else if (saved_stderr >= 0) {
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
  }
}

/* ---- running a pickle from bytes ---- */
static JtCtx ctx;
static char last_err[1024];

/* Unpickles buf; returns the value or NULL with last_err set. ctx's arena
 * stays alive until the next call (or done()). */
static PyVal *unpickle(const void *buf, size_t len) {
  jt_free_all(&ctx);
  memset(&ctx, 0, sizeof ctx);
  ctx.path = "t.pkl";
  jmp_buf jb;
  ctx.jb = &jb;
  last_err[0] = 0;
  if (setjmp(jb)) {
    snprintf(last_err, sizeof last_err, "%s", ctx.err);
    return NULL;
  }
  PyVal *v = jt_unpickle(&ctx, buf, len, NULL, NULL, NULL);
  ctx.jb = NULL;
  return v;
}

static void done(void) {
  jt_free_all(&ctx);
}

#define P(s) unpickle(s, sizeof(s) - 1)

static void assert_err(const char *needle) {
  if (!strstr(last_err, needle)) fail_msg("error lacks \"%s\"; it is: %s", needle, last_err);
}

static void expect_fail(const void *buf, size_t len, const char *needle) {
  PyVal *v = unpickle(buf, len);
  if (v) fail_msg("expected an error containing \"%s\", got a %s", needle, jt_kind_name(v->kind));
  assert_err(needle);
}
#define FAILS(s, needle) expect_fail(s, sizeof(s) - 1, needle)

/* ---- opcodes ---- */
static void test_scalars(void **st) {
  (void)st;
  PyVal *v = P("\x80\x02J\xff\xff\xff\xff.");
  assert_int_equal(v->kind, PY_INT);
  assert_int_equal(v->i, -1);
  v = P("\x80\x02K\xc8.");
  assert_int_equal(v->i, 200);
  v = P("\x80\x02M\xe9\x03.");
  assert_int_equal(v->i, 1001);
  v = P("\x80\x02\x8a\x02\x00\x80."); /* LONG1 -32768 */
  assert_int_equal(v->i, -32768);
  assert_false(v->big);
  v = P("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."); /* 2^64: does not fit */
  assert_true(v->big);
  v = P("\x80\x02\x8b\x01\x00\x00\x00\x7f."); /* LONG4 127 */
  assert_int_equal(v->i, 127);
  v = P("\x80\x02G\x3f\xf8\x00\x00\x00\x00\x00\x00."); /* BINFLOAT 1.5 */
  assert_int_equal(v->kind, PY_FLOAT);
  assert_true(v->f == 1.5);
  v = P("\x80\x02\x88.");
  assert_int_equal(v->kind, PY_BOOL);
  assert_int_equal(v->i, 1);
  v = P("\x80\x02\x89.");
  assert_int_equal(v->i, 0);
  v = P("\x80\x02N.");
  assert_int_equal(v->kind, PY_NONE);
  v = P("\x80\x02I01\n.");
  assert_int_equal(v->kind, PY_BOOL);
  v = P("\x80\x02I-42\n.");
  assert_int_equal(v->i, -42);
  done();
}

static void test_strings(void **st) {
  (void)st;
  PyVal *v = P("\x80\x02X\x03\x00\x00\x00" "abc.");
  assert_int_equal(v->kind, PY_STR);
  assert_string_equal(v->s, "abc");
  v = P("\x80\x04\x8c\x02hi.");
  assert_string_equal(v->s, "hi");
  v = P("\x80\x04\x8d\x01\x00\x00\x00\x00\x00\x00\x00z.");
  assert_string_equal(v->s, "z");
  v = P("\x80\x02U\x02ok.");
  assert_string_equal(v->s, "ok");
  v = P("\x80\x02T\x01\x00\x00\x00q.");
  assert_string_equal(v->s, "q");
  v = P("\x80\x03" "B\x02\x00\x00\x00\x00\x01.");
  assert_int_equal(v->kind, PY_BYTES);
  assert_int_equal(v->len, 2);
  v = P("\x80\x03" "C\x01\xff.");
  assert_int_equal(v->len, 1);
  v = P("\x80\x04\x8e\x01\x00\x00\x00\x00\x00\x00\x00\x07.");
  assert_int_equal(v->kind, PY_BYTES);
  v = P("\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00\x07\x98.");
  assert_int_equal(v->kind, PY_BYTES);
  /* _codecs.encode('\xe9', 'latin1'): protocol-2 bytes from Python 3 */
  v = P("\x80\x02" "c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xa9X\x06\x00\x00\x00latin1\x86R.");
  assert_int_equal(v->kind, PY_BYTES);
  assert_int_equal(v->len, 1);
  assert_int_equal((unsigned char)v->s[0], 0xe9);
  done();
}

static void test_containers(void **st) {
  (void)st;
  /* (1, 2, 3, 4) via MARK TUPLE; TUPLE1..3; EMPTY_TUPLE */
  PyVal *v = P("\x80\x02(K\x01K\x02K\x03K\x04t.");
  assert_int_equal(v->kind, PY_TUPLE);
  assert_int_equal(v->n, 4);
  assert_int_equal(v->items[3]->i, 4);
  v = P("\x80\x02K\x01K\x02\x86.");
  assert_int_equal(v->n, 2);
  v = P("\x80\x02K\x01\x85.");
  assert_int_equal(v->n, 1);
  v = P("\x80\x02K\x01K\x02K\x03\x87.");
  assert_int_equal(v->n, 3);
  v = P("\x80\x02).");
  assert_int_equal(v->n, 0);
  /* list: EMPTY_LIST, APPEND, APPENDS; LIST */
  v = P("\x80\x02]K\x01" "a(K\x02K\x03" "e.");
  assert_int_equal(v->kind, PY_LIST);
  assert_int_equal(v->n, 3);
  assert_int_equal(v->items[2]->i, 3);
  v = P("\x80\x02(K\x05l.");
  assert_int_equal(v->kind, PY_LIST);
  assert_int_equal(v->n, 1);
  /* dict: EMPTY_DICT SETITEM SETITEMS, DICT; the last value of a key wins */
  v = P("\x80\x02}X\x01\x00\x00\x00" "aK\x01s(X\x01\x00\x00\x00" "bK\x02X\x01\x00\x00\x00" "aK\x03u.");
  assert_int_equal(v->kind, PY_DICT);
  assert_int_equal(jt_dict_get(v, "a")->i, 3);
  assert_int_equal(jt_dict_get(v, "b")->i, 2);
  assert_null(jt_dict_get(v, "c"));
  v = P("\x80\x02(X\x01\x00\x00\x00kK\x09" "d.");
  assert_int_equal(jt_dict_get(v, "k")->i, 9);
  /* sets: EMPTY_SET ADDITEMS, FROZENSET */
  v = P("\x80\x04\x8f(K\x01K\x02\x90.");
  assert_int_equal(v->kind, PY_SET);
  assert_int_equal(v->n, 2);
  v = P("\x80\x04(K\x01\x91.");
  assert_int_equal(v->kind, PY_SET);
  /* stack ops: POP, POP_MARK, DUP */
  v = P("\x80\x02K\x01K\x02" "0.");
  assert_int_equal(v->i, 1);
  v = P("\x80\x02K\x07(K\x01K\x02" "1.");
  assert_int_equal(v->i, 7);
  v = P("\x80\x02K\x04" "2\x86.");
  assert_int_equal(v->n, 2);
  done();
}

static void test_memo_and_frames(void **st) {
  (void)st;
  /* BINPUT/BINGET, LONG_BINPUT/LONG_BINGET, MEMOIZE, PUT/GET (text), FRAME */
  PyVal *v = P("\x80\x02K\x05q\x01h\x01\x86.");
  assert_int_equal(v->items[1]->i, 5);
  v = P("\x80\x02K\x06r\x00\x00\x01\x00j\x00\x00\x01\x00\x86.");
  assert_int_equal(v->items[1]->i, 6);
  v = P("\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00K\x08\x94h\x00\x86.");
  assert_int_equal(v->items[1]->i, 8);
  v = P("\x80\x02K\x09p3\ng3\n\x86.");
  assert_int_equal(v->items[1]->i, 9);
  /* the same object, not a copy */
  v = P("\x80\x02]q\x00h\x00K\x01" "a\x86.");
  assert_ptr_equal(v->items[0], v->items[1]);
  assert_int_equal(v->items[0]->n, 1);
  done();
}

static void test_globals_and_records(void **st) {
  (void)st;
  /* GLOBAL and STACK_GLOBAL are symbols */
  PyVal *v = P("\x80\x02" "ctorch\nfloat32\n.");
  assert_int_equal(v->kind, PY_GLOBAL);
  assert_string_equal(v->s, "torch.float32");
  v = P("\x80\x04\x8c\x05numpy\x8c\x05" "dtype\x93.");
  assert_string_equal(v->s, "numpy.dtype");
  v = P("\x80\x02" "c__builtin__\nset\n.");
  assert_string_equal(v->s, "builtins.set");
  /* NEWOBJ of any class + BUILD: a record {class, state} */
  v = P("\x80\x02" "c__main__\nNet\n)\x81}X\x01\x00\x00\x00xK\x01sb.");
  assert_int_equal(v->kind, PY_OBJ);
  assert_string_equal(v->cls->s, "__main__.Net");
  assert_int_equal(jt_dict_get(jt_obj_dict(v), "x")->i, 1);
  /* NEWOBJ_EX */
  v = P("\x80\x04\x8c\x01m\x8c\x01" "C\x93)}\x92.");
  assert_int_equal(v->kind, PY_OBJ);
  /* whitelisted reducers: OrderedDict, set, copyreg._reconstructor, torch.Size */
  v = P("\x80\x02" "ccollections\nOrderedDict\n)R}b.");
  assert_int_equal(v->kind, PY_DICT);
  v = P("\x80\x02" "c__builtin__\nset\n]K\x01" "a\x85R.");
  assert_int_equal(v->kind, PY_SET);
  assert_int_equal(v->n, 1);
  v = P("\x80\x02" "ccopy_reg\n_reconstructor\ncfoo\nBar\nc__builtin__\nobject\nN\x87R.");
  assert_int_equal(v->kind, PY_OBJ);
  assert_string_equal(v->cls->s, "foo.Bar");
  v = P("\x80\x02" "ctorch\nSize\n(K\x01K\x02t\x85R.");
  assert_int_equal(v->kind, PY_OBJ);
  /* numpy dtype with BUILD of its state; big-endian is remembered */
  v = P("\x80\x02" "cnumpy\ndtype\nX\x02\x00\x00\x00" "f4\x89\x88\x87R(K\x03X\x01\x00\x00\x00>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb.");
  assert_int_equal(v->kind, PY_DTYPE);
  assert_int_equal(v->dt, DT_F32);
  assert_true(v->swap);
  done();
}

/* ---- errors ---- */
static void test_errors(void **st) {
  (void)st;
  FAILS("\x80\x02K\x01\x9f", "t.pkl: pickle offset 4: unknown opcode 0x9f");
  FAILS("\x80\x09.", "protocol 9 is not supported");
  FAILS("\x80\x02", "truncated");
  FAILS("\x80\x02X\x05\x00\x00\x00" "ab.", "offset 2: BINUNICODE needs 5 bytes, only 3 remain");
  FAILS("\x80\x02J\x01\x00.", "BININT needs 4 bytes");
  FAILS("\x80\x02" "a.", "offset 2: APPEND on an empty stack");
  FAILS("\x80\x02K\x01K\x02.", "STOP with 2 values");
  FAILS("\x80\x02(K\x01.", "STOP with 1 open MARKs");
  FAILS("\x80\x02t.", "TUPLE without a MARK");
  FAILS("\x80\x02K\x01\x87.", "TUPLE3 with 1 values");
  FAILS("\x80\x02h\x03.", "memo entry 3 was never stored");
  FAILS("\x80\x02K\x01Q.", "persistent id in a pickle that cannot have any");
  FAILS("\x80\x05\x97.", "out-of-band");
  FAILS("\x80\x02K\x01K\x02" "b.", "BUILD on a int");
  FAILS("\x80\x02K\x01K\x01" "a.", "APPEND on a int");
  FAILS("\x80\x02}K\x01s.", "SETITEM with too few values");
  FAILS("\x80\x02}(K\x01u.", "odd number");
  FAILS("\x80\x02S'a'\n.", "protocol-0 text opcodes");
  FAILS("\x80\x02K\x01)R.", "REDUCE of a int");
  FAILS("\x80\x02\x8b\xff\xff\xff\xff.", "LONG4 with negative length");
  FAILS("\x80\x02" "cos\nsys", "no newline");
  done();
}

static void test_hostile(void **st) {
  (void)st;
  /* os.system via REDUCE: refused, named, located; nothing runs */
  FAILS("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00ls\x85R.",
        "t.pkl: pickle offset 21: refusing to call 'os.system'");
  FAILS("\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93X\x01\x00\x00\x00" "1\x85R.", "refusing to call 'builtins.eval'");
  FAILS("\x80\x02" "csubprocess\nPopen\n)R.", "refusing to call 'subprocess.Popen'");
  /* the callable of a whitelisted name may not be faked through copyreg either */
  FAILS("\x80\x02" "cposix\nsystem\n(X\x01\x00\x00\x00xtR.", "refusing to call 'posix.system'");
  /* huge claimed lengths: checked before anything is allocated */
  FAILS("\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7f", "BINUNICODE8 needs 9223372036854775807 bytes");
  FAILS("\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x01.", "BINBYTES8 needs");
  FAILS("\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00K\x01.", "FRAME of 4294967295 bytes");
  FAILS("\x80\x02" "B\xff\xff\xff\xff.", "BINBYTES needs 4294967295 bytes");
  /* a memo index far past anything stored: sparse memo, no giant allocation */
  PyVal *v = P("\x80\x02K\x01r\xff\xff\xff\xffj\xff\xff\xff\xff\x86.");
  assert_non_null(v);
  FAILS("\x80\x02j\xfe\xff\xff\xff.", "memo entry 4294967294 was never stored");
  /* deep nesting: more MARKs than allowed */
  size_t n = JT_MAX_MARKS + 10;
  char *deep = malloc(n + 4);
  memcpy(deep, "\x80\x02", 2);
  memset(deep + 2, '(', n);
  deep[n + 2] = '.';
  expect_fail(deep, n + 3, "nesting deeper than 10000 MARKs");
  /* deep nesting of lists without MARKs: 200000 nested EMPTY_LIST+APPEND is fine for the
   * machine (no recursion) and a cycle/too-deep value is caught where it is walked */
  free(deep);
  /* a dict containing itself: walking it stops at the depth limit */
  v = P("\x80\x02}q\x00X\x01\x00\x00\x00" "ah\x00s.");
  assert_non_null(v);
  JtNamed *named = NULL;
  size_t cnt = 0, cap = 0;
  jmp_buf jb;
  ctx.jb = &jb;
  if (!setjmp(jb)) {
    jt_collect_tensors(&ctx, v, "", &named, &cnt, &cap, 0);
    fail_msg("a cyclic dict was walked without an error");
  }
  ctx.jb = NULL;
  assert_non_null(strstr(ctx.err, "nested deeper than"));
  done();
}

/* ---- SHA-1 ---- */
static void hex(const uint8_t *d, char *out) {
  for (int k = 0; k < 20; k++) sprintf(out + 2 * k, "%02x", d[k]);
}

static void test_sha1(void **st) {
  (void)st;
  uint8_t d[20];
  char h[41];
  jt_sha1((const uint8_t *)"", 0, d);
  hex(d, h);
  assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  jt_sha1((const uint8_t *)"abc", 3, d);
  hex(d, h);
  assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: two padding blocks */
  jt_sha1((const uint8_t *)m, strlen(m), d);
  hex(d, h);
  assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  uint8_t *mil = malloc(1000000);
  memset(mil, 'a', 1000000);
  jt_sha1(mil, 1000000, d);
  free(mil);
  hex(d, h);
  assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

/* ---- files ---- */
static void *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s (run from the repository root)", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *b = malloc((size_t)n);
  if (fread(b, 1, (size_t)n, f) != (size_t)n) fail_msg("cannot read %s", path);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static const OnnxWeight *find_w(const JtpyWeights *w, const char *name) {
  for (int k = 0; k < w->n; k++)
    if (!strcmp(w->w[k].name, name)) return &w->w[k];
  fail_msg("no tensor '%s'", name);
  return NULL;
}

static void check_dtypes_file(const char *path) {
  JtpyWeights *w = jtpy_load_weights(path);
  assert_non_null(w);
  assert_int_equal(w->n, 13);
  const OnnxWeight *t = find_w(w, "f32");
  assert_int_equal(t->dtype, DT_F32);
  assert_int_equal(t->rank, 2);
  for (int k = 0; k < 6; k++) assert_true(((const float *)t->data)[k] == k / 4.0f);
  t = find_w(w, "f64");
  assert_true(((const double *)t->data)[0] == -1.5);
  t = find_w(w, "f16");
  assert_true(f16_to_f32(((const uint16_t *)t->data)[2]) == 65504.0f);
  t = find_w(w, "bf16");
  assert_int_equal(t->dtype, DT_BF16);
  assert_true(bf16_to_f32(((const uint16_t *)t->data)[1]) == -0.25f);
  t = find_w(w, "i8");
  assert_int_equal(((const int8_t *)t->data)[0], -128);
  t = find_w(w, "i16");
  assert_int_equal(((const int16_t *)t->data)[0], -300);
  t = find_w(w, "i32");
  assert_int_equal(((const int32_t *)t->data)[1], 70000);
  t = find_w(w, "i64");
  assert_true(((const int64_t *)t->data)[0] == -((int64_t)1 << 40));
  t = find_w(w, "u8");
  assert_int_equal(((const uint8_t *)t->data)[2], 255);
  t = find_w(w, "bool");
  assert_int_equal(t->dtype, DT_BOOL);
  assert_int_equal(((const uint8_t *)t->data)[1], 0);
  /* base = arange(12).reshape(3,4); transposed = base.t(); row1 = base[1] (offset 4, shared storage) */
  t = find_w(w, "transposed");
  assert_int_equal(t->dims[0], 4);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) assert_true(((const float *)t->data)[i * 3 + j] == (float)(j * 4 + i));
  t = find_w(w, "row1");
  for (int k = 0; k < 4; k++) assert_true(((const float *)t->data)[k] == (float)(4 + k));
  jtpy_weights_free(w);
}

static void test_torch_zip_and_legacy(void **st) {
  (void)st;
  check_dtypes_file(FIX("dtypes.pt"));
  check_dtypes_file(FIX("dtypes_legacy.pt"));
}

static void test_numpy_jittor(void **st) {
  (void)st;
  JtpyWeights *w = jtpy_load_weights(FIX("np_sd.pkl"));
  assert_non_null(w);
  const OnnxWeight *t = find_w(w, "a");
  assert_true(((const float *)t->data)[5] == 5.0f);
  t = find_w(w, "b"); /* jittor.Var of an int64 array */
  assert_int_equal(t->dtype, DT_I64);
  assert_true(((const int64_t *)t->data)[1] == -2);
  t = find_w(w, "c"); /* Fortran order, made row-major */
  for (int k = 0; k < 6; k++) assert_true(((const double *)t->data)[k] == k);
  t = find_w(w, "d"); /* big-endian float32 */
  assert_true(((const float *)t->data)[0] == 1.5f && ((const float *)t->data)[1] == 2.5f);
  t = find_w(w, "e");
  assert_int_equal(t->dtype, DT_BOOL);
  jtpy_weights_free(w);
  w = jtpy_load_weights(FIX("np2_sd.pkl")); /* numpy._core spelling, protocol 2 */
  assert_non_null(w);
  t = find_w(w, "a");
  assert_true(((const float *)t->data)[4] == 4.0f);
  jtpy_weights_free(w);
}

static void expect_load_error(const char *path, const char *needle) {
  quiet(true);
  JtpyWeights *w = jtpy_load_weights(path);
  quiet(false);
  assert_null(w);
  if (!strstr(jtpy_last_error(), needle)) fail_msg("%s: error lacks \"%s\"; it is: %s", path, needle, jtpy_last_error());
}

static void test_bad_files(void **st) {
  (void)st;
  expect_load_error(FIX("bad/evil.pkl"), "pickle offset 53: refusing to call 'os.system'");
  expect_load_error(FIX("bad/evil.pt"), "archive/data.pkl offset 33: refusing to call 'builtins.eval'");
  expect_load_error(FIX("bad/lying_cd.pt"), "no local header at offset");
  expect_load_error(FIX("bad/compressed.pt"), "is compressed (method 8)");
  expect_load_error(FIX("bad/jittor_badsum.pkl"), "SHA-1 checksum");
  expect_load_error(FIX("no_such_file.pt"), "cannot open");
}

/* Loads buf fully (values and every tensor made dense): 0 ok, 1 clean error. */
static int load_buf(const uint8_t *buf, size_t len) {
  JtCtx c = {0};
  c.path = "mem";
  jmp_buf jb;
  c.jb = &jb;
  if (setjmp(jb)) {
    jt_free_all(&c);
    return 1;
  }
  if (jt_detect(buf, len) == JT_FMT_NONE) {
    jt_free_all(&c);
    return 1;
  }
  PyVal *v = jt_load_any(&c, buf, len);
  JtNamed *named = NULL;
  size_t n = 0, cap = 0;
  jt_collect_tensors(&c, v, "", &named, &n, &cap, 0);
  for (size_t k = 0; k < n; k++) jt_tensor_dense(&c, named[k].t, named[k].name);
  jt_free_all(&c);
  return 0;
}

static void fuzz_file(const char *path, size_t step_prefix, size_t step_flip) {
  size_t len;
  uint8_t *buf = read_file(path, &len);
  assert_int_equal(load_buf(buf, len), 0);
  int errors = 0;
  for (size_t k = 0; k < len; k += step_prefix) { /* every (stepped) prefix: truncated files */
    uint8_t *cut = malloc(k ? k : 1);
    memcpy(cut, buf, k);
    errors += load_buf(cut, k);
    free(cut);
  }
  assert_true(errors > 0);
  for (size_t k = 0; k < len; k += step_flip) /* bit flips: an error or a value, never a crash */
    for (int bit = 0; bit < 8; bit += 3) {
      buf[k] ^= (uint8_t)(1 << bit);
      load_buf(buf, len);
      buf[k] ^= (uint8_t)(1 << bit);
    }
  free(buf);
}

static void test_truncated_and_flipped(void **st) {
  (void)st;
  fuzz_file(FIX("dtypes.pt"), 1, 1);
  fuzz_file(FIX("dtypes_legacy.pt"), 1, 1);
  fuzz_file(FIX("np_sd.pkl"), 1, 1);
  fuzz_file(FIX("np2_sd.pkl"), 1, 1);
  fuzz_file(FIX("e2e/seq_cnn/model.pt"), 3, 5);
}

/* ---- whole modules ---- */
static Graph *load_module(const char *path, const char *shape_name, int rank, const int64_t *dims) {
  OnnxShapeOverride sh = {shape_name, rank, {0}};
  memcpy(sh.dims, dims, (size_t)rank * sizeof *dims);
  OnnxOptions opt = {0};
  opt.shapes = &sh;
  opt.nshapes = shape_name ? 1 : 0;
  quiet(true);
  Graph *g = jtpy_load(path, &opt);
  quiet(false);
  return g;
}

static void check_module_case(const char *dir) {
  char in[256], out[256], model[256];
  snprintf(in, sizeof in, "%s/test_data_set_0/input_0.pb", dir);
  snprintf(out, sizeof out, "%s/test_data_set_0/output_0.pb", dir);
  snprintf(model, sizeof model, "%s/model.pt", dir);
  Dtype dt, odt;
  int rank, orank;
  int64_t dims[IR_MAX_RANK], odims[IR_MAX_RANK];
  void *x, *want;
  char err[256];
  assert_int_equal(onnx_read_tensor_file(in, &dt, &rank, dims, &x, err, sizeof err), 0);
  assert_int_equal(onnx_read_tensor_file(out, &odt, &orank, odims, &want, err, sizeof err), 0);
  Graph *g = load_module(model, "input", rank, dims);
  if (!g) fail_msg("%s: %s", model, jtpy_last_error());
  void *ins[1] = {x}, *outs[1] = {NULL};
  ir_eval_graph(g, ins, outs);
  Node *o = g->outputs[0];
  assert_int_equal(o->rank, orank);
  for (int64_t k = 0; k < o->numel; k++) {
    float got = ((float *)outs[0])[k], w = ((float *)want)[k];
    if (fabsf(got - w) > 1e-4f + 1e-3f * fabsf(w)) fail_msg("%s: element %lld: got %g, PyTorch %g", dir, (long long)k, got, w);
  }
  ir_graph_free(g);
  free(x);
  free(want);
}

static void test_whole_modules(void **st) {
  (void)st;
  check_module_case(FIX("e2e/seq_cnn"));
  check_module_case(FIX("e2e/seq_cnn_legacy"));
  check_module_case(FIX("e2e/seq_misc1d"));
  check_module_case(FIX("e2e/seq_misc2d"));
}

static void expect_module_error(const char *path, const char *shape_name, const char *needle) {
  int64_t d[4] = {1, 3, 16, 16};
  Graph *g = load_module(path, shape_name, 4, d);
  assert_null(g);
  if (!strstr(jtpy_last_error(), needle)) fail_msg("%s: error lacks \"%s\"; it is: %s", path, needle, jtpy_last_error());
}

static void test_module_errors(void **st) {
  (void)st;
  expect_module_error(FIX("bad/user_class.pt"), "input", "'__main__.MLP' is a user-defined module class");
  expect_module_error(FIX("bad/user_class.pt"), "input", "export the model to ONNX");
  expect_module_error(FIX("bad/user_class.pt"), "input", "--weights");
  expect_module_error(FIX("e2e/seq_cnn/model.pt"), NULL, "--shape input=");
  expect_module_error(FIX("e2e/seq_cnn/model.pt"), "x", "--shape names 'x'");
  expect_module_error(FIX("dtypes.pt"), "input", "not a module");
  expect_module_error(FIX("bad/evil.pkl"), "input", "refusing to call 'os.system'");
  /* a shape that does not fit the first conv: located by module path */
  int64_t d[4] = {1, 5, 16, 16};
  Graph *g = load_module(FIX("e2e/seq_cnn/model.pt"), "input", 4, d);
  assert_null(g);
  if (!strstr(jtpy_last_error(), "module '0' (Conv2d)")) fail_msg("error: %s", jtpy_last_error());
}

/* ---- --weights into an ONNX graph ---- */
static void test_onnx_weights(void **st) {
  (void)st;
  JtpyWeights *w = jtpy_load_weights(FIX("e2e/mlp_weights/weights.pt"));
  assert_non_null(w);
  bool used[16] = {0};
  OnnxOptions opt = {0};
  opt.weights = w->w;
  opt.nweights = w->n;
  opt.weights_used = used;
  Graph *g = onnx_load(FIX("e2e/mlp_weights/model.onnx"), &opt);
  assert_non_null(g);
  assert_int_equal(jtpy_weights_report(w, used, "w", stderr), 4);
  Dtype dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *x, *want;
  char err[256];
  assert_int_equal(onnx_read_tensor_file(FIX("e2e/mlp_weights/test_data_set_0/input_0.pb"), &dt, &rank, dims, &x, err, sizeof err), 0);
  assert_int_equal(onnx_read_tensor_file(FIX("e2e/mlp_weights/test_data_set_0/output_0.pb"), &dt, &rank, dims, &want, err, sizeof err), 0);
  void *ins[1] = {x}, *outs[1] = {NULL};
  ir_eval_graph(g, ins, outs);
  for (int k = 0; k < 16; k++) {
    float got = ((float *)outs[0])[k], wv = ((float *)want)[k];
    assert_true(fabsf(got - wv) <= 1e-5f + 1e-4f * fabsf(wv));
  }
  ir_graph_free(g);
  free(x);
  free(want);
  jtpy_weights_free(w);
  /* shape mismatch: an error naming the initializer and both shapes */
  w = jtpy_load_weights(FIX("e2e/lenet_jittor/weights.pkl"));
  assert_non_null(w);
  opt.weights = w->w;
  opt.nweights = w->n;
  opt.weights_used = NULL;
  quiet(true);
  g = onnx_load("samples/lenet/model.onnx", &opt);
  quiet(false);
  assert_null(g);
  if (!strstr(onnx_last_error(), "initializer 'fc1.weight': --weights gives float32[32,400], the model's initializer is float32[120,400]"))
    fail_msg("error: %s", onnx_last_error());
  jtpy_weights_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scalars),
    cmocka_unit_test(test_strings),
    cmocka_unit_test(test_containers),
    cmocka_unit_test(test_memo_and_frames),
    cmocka_unit_test(test_globals_and_records),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_hostile),
    cmocka_unit_test(test_sha1),
    cmocka_unit_test(test_torch_zip_and_legacy),
    cmocka_unit_test(test_numpy_jittor),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_truncated_and_flipped),
    cmocka_unit_test(test_whole_modules),
    cmocka_unit_test(test_module_errors),
    cmocka_unit_test(test_onnx_weights),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
