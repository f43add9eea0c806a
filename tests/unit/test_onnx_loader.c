/* test_onnx_loader.c: unit tests of the ONNX frontend's loader (CMocka). Most
 * are error paths: missing, empty, truncated and random files, unsupported
 * operators (all listed in one message), initializers whose data disagrees
 * with their shape, external data escaping the model's directory, a Conv
 * with a bad kernel_shape, and errors in two independent nodes. Each must
 * return NULL without crashing and say where. The positive tests load tiny
 * models and evaluate them with ir_eval_graph. Fixtures come from
 * tests/data/make_onnx_fixtures.py; run from the repository root.
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

#include "frontend/onnx/onnx.h"

#define FIX(name) "tests/data/onnx/" name

/* Silence stderr while a test provokes errors (they are checked through onnx_last_error). */
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

static Graph *load_quiet(const char *path, const OnnxOptions *opt) {
  quiet(true);
  Graph *g = onnx_load(path, opt);
  quiet(false);
  return g;
}

static void assert_error_has(const char *needle) {
  const char *e = onnx_last_error();
  if (!strstr(e, needle)) fail_msg("error text lacks \"%s\"; it is:\n%s", needle, e);
}

static void assert_fails_with(const char *path, const char *needle) {
  Graph *g = load_quiet(path, NULL);
  assert_null(g);
  assert_error_has(needle);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void write_tmp(char *path, const void *data, size_t n) {
  strcpy(path, "/tmp/jtc_onnx_test_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  if (n) assert_int_equal(write(fd, data, n), (ssize_t)n);
  close(fd);
}

/* ---- error paths ---- */

static void test_missing_file(void **state) {
  (void)state;
  assert_fails_with(FIX("no_such_model.onnx"), "no_such_model.onnx: cannot open");
}

static void test_empty_file(void **state) {
  (void)state;
  char path[64];
  write_tmp(path, "", 0);
  assert_fails_with(path, "empty file");
  unlink(path);
}

static void test_truncated(void **state) {
  (void)state;
  size_t len;
  char *buf = read_all(FIX("add_relu.onnx"), &len);
  size_t cuts[] = {1, 2, 5, 10, 17, 33, len / 2, len - 7, len - 1};
  for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
    char path[64];
    write_tmp(path, buf, cuts[k]);
    Graph *g = load_quiet(path, NULL);
    if (g) ir_graph_free(g); /* a cut at a field boundary may still be a valid model */
    else assert_true(strlen(onnx_last_error()) > 0);
    unlink(path);
  }
  free(buf);
}

static void test_random_bytes(void **state) {
  (void)state;
  uint32_t seed = 12345;
  for (int round = 0; round < 200; round++) {
    size_t n = 1 + (size_t)(round * 37 % 600);
    unsigned char *b = malloc(n);
    for (size_t k = 0; k < n; k++) {
      seed = seed * 1103515245u + 12345u;
      b[k] = (unsigned char)(seed >> 16);
    }
    char path[64];
    write_tmp(path, b, n);
    Graph *g = load_quiet(path, NULL);
    if (g) ir_graph_free(g);
    unlink(path);
    free(b);
  }
}

/* Flip bytes of a valid model: must never crash. */
static void test_corrupted_bytes(void **state) {
  (void)state;
  size_t len;
  char *orig = read_all(FIX("shape_chain.onnx"), &len);
  char *b = malloc(len);
  for (size_t k = 0; k < len; k++) {
    memcpy(b, orig, len);
    b[k] ^= (char)0x5a;
    char path[64];
    write_tmp(path, b, len);
    Graph *g = load_quiet(path, NULL);
    if (g) ir_graph_free(g);
    unlink(path);
  }
  free(b);
  free(orig);
}

static void test_unsupported_one(void **state) {
  (void)state;
  assert_fails_with(FIX("unsupported_one.onnx"), "unsupported operator: LpNormalization (1 node, first 'mystery')");
}

static void test_unsupported_two(void **state) {
  (void)state;
  assert_fails_with(FIX("unsupported_two.onnx"), "LpNormalization (2 nodes, first 'lpnorm_a')");
  assert_error_has("com.example.Frobnicate (1 node, first 'frob')");
  assert_int_equal(count_lines(onnx_last_error()), 1); /* one message lists them all */
}

/* names from the model reach messages with their control characters replaced */
static void test_hostile_name(void **state) {
  (void)state;
  assert_fails_with(FIX("hostile_name.onnx"), "first '?[2J?[31mevil?'");
  assert_null(strchr(onnx_last_error(), 0x1b));
}

static void test_bad_raw_size(void **state) {
  (void)state;
  assert_fails_with(FIX("bad_raw_size.onnx"), "initializer 'W'");
  assert_error_has("raw_data has 8 bytes, shape and type need 24");
}

static void test_huge_claim(void **state) {
  (void)state;
  assert_fails_with(FIX("huge_claim.onnx"), "initializer 'W'");
  assert_error_has("has 1 values, shape needs 1099511627776");
}

static void test_external_escape(void **state) {
  (void)state;
  assert_fails_with(FIX("external_escape.onnx"), "'../secret.bin' is outside the model's directory");
  assert_fails_with(FIX("external_absolute.onnx"), "'/etc/passwd' is outside the model's directory");
}

static void test_external_short(void **state) {
  (void)state;
  assert_fails_with(FIX("external_short.onnx"), "wants 24 bytes at offset 16");
}

static void test_conv_bad_kernel(void **state) {
  (void)state;
  assert_fails_with(FIX("conv_bad_kernel.onnx"),
                    "conv_bad_kernel.onnx: node 'conv1' (Conv, #0): kernel_shape has 3 values, input is 4-D");
}

static void test_two_errors(void **state) {
  (void)state;
  assert_fails_with(FIX("two_errors.onnx"), "node 'conv1' (Conv, #0): kernel_shape has 3 values");
  assert_error_has("node 'reshape_dyn' (Reshape, #2): input 'shape' must be a constant, but it is graph input 'S' (pin its value with --bind S=FILE.pb)");
  assert_null(strstr(onnx_last_error(), "after_conv1")); /* dependents of a failed node stay quiet */
  assert_int_equal(count_lines(onnx_last_error()), 2);
}

static void test_bad_override(void **state) {
  (void)state;
  OnnxShapeOverride ov = {"X", 1, {4}};
  OnnxOptions opt = {.shapes = &ov, .nshapes = 1};
  assert_null(load_quiet(FIX("symbolic_batch.onnx"), &opt));
  assert_error_has("--shape X gives 1 dims, the model's input is 2-D");
  OnnxShapeOverride ov2 = {"nope", 1, {4}};
  OnnxOptions opt2 = {.shapes = &ov2, .nshapes = 1};
  assert_null(load_quiet(FIX("symbolic_batch.onnx"), &opt2));
  assert_error_has("--shape names 'nope', which is not a graph input");
}

static void test_read_tensor_errors(void **state) {
  (void)state;
  Dtype dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *data;
  char err[256];
  assert_int_not_equal(onnx_read_tensor_file(FIX("missing.pb"), &dt, &rank, dims, &data, err, sizeof err), 0);
  assert_non_null(strstr(err, "cannot open"));
  char path[64];
  write_tmp(path, "\xff\xff\xff\xff\xff", 5);
  assert_int_not_equal(onnx_read_tensor_file(path, &dt, &rank, dims, &data, err, sizeof err), 0);
  assert_null(data);
  unlink(path);
}

/* ---- positive tests ---- */

static void test_add_relu(void **state) {
  (void)state;
  Graph *g = onnx_load(FIX("add_relu.onnx"), NULL);
  assert_non_null(g);
  assert_string_equal(onnx_last_error(), "");
  assert_int_equal(g->ninputs, 1);
  assert_int_equal(g->noutputs, 1);
  assert_string_equal(g->output_names[0], "Y");
  float x[6] = {1, 1, 1, 1, 1, 1}, want[6] = {2, 0, 4, 0, 6, 0};
  void *in[1] = {x}, *out[1] = {0};
  ir_eval_graph(g, in, out);
  for (int k = 0; k < 6; k++) assert_float_equal(((float *)out[0])[k], want[k], 1e-6);
  ir_graph_free(g);
}

/* Every non-leaf node reachable from n came from an ONNX node of type op. */
static bool only_from(const Node *n, const char *op) {
  if (n->kind == NODE_LEAF) return true;
  if (!n->origin_op || strcmp(n->origin_op, op)) return false;
  for (int k = 0; k < n->nin; k++)
    if (!only_from(n->in[k], op)) return false;
  return true;
}

static void test_shape_chain_folds(void **state) {
  (void)state;
  Graph *g = onnx_load(FIX("shape_chain.onnx"), NULL);
  assert_non_null(g);
  Node *y = g->outputs[0];
  assert_int_equal(y->rank, 2);
  assert_int_equal(y->dims[0], 2);
  assert_int_equal(y->dims[1], 12);
  /* the Shape -> Gather -> Concat chain folded away: only Reshape's meta-ops reach the input */
  assert_true(only_from(y, "Reshape"));
  float x[24];
  for (int k = 0; k < 24; k++) x[k] = (float)k;
  void *in[1] = {x}, *out[1] = {0};
  ir_eval_graph(g, in, out);
  for (int k = 0; k < 24; k++) assert_float_equal(((float *)out[0])[k], (float)k, 0);
  ir_graph_free(g);
}

static void test_external_ok(void **state) {
  (void)state;
  Graph *g = onnx_load(FIX("external_ok.onnx"), NULL);
  assert_non_null(g);
  float x[6] = {0}, want[6] = {0.5f, -1.5f, 2.5f, -3.5f, 4.5f, -5.5f};
  void *in[1] = {x}, *out[1] = {0};
  ir_eval_graph(g, in, out);
  for (int k = 0; k < 6; k++) assert_float_equal(((float *)out[0])[k], want[k], 0);
  ir_graph_free(g);
}

static void test_symbolic_dims(void **state) {
  (void)state;
  Graph *g = load_quiet(FIX("symbolic_batch.onnx"), NULL); /* warns, uses 1 */
  assert_non_null(g);
  assert_int_equal(g->inputs[0]->dims[0], 1);
  assert_int_equal(g->inputs[0]->dims[1], 3);
  ir_graph_free(g);
  OnnxShapeOverride ov = {"X", 2, {4, 3}};
  OnnxOptions opt = {.shapes = &ov, .nshapes = 1};
  g = onnx_load(FIX("symbolic_batch.onnx"), &opt);
  assert_non_null(g);
  assert_int_equal(g->inputs[0]->dims[0], 4);
  assert_int_equal(g->outputs[0]->dims[0], 4);
  ir_graph_free(g);
}

static void test_softmax_opset11(void **state) {
  (void)state;
  Graph *g = onnx_load(FIX("softmax_opset11.onnx"), NULL);
  assert_non_null(g);
  float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  void *in[1] = {x}, *out[1] = {0};
  ir_eval_graph(g, in, out);
  /* opset < 13: each row of the [2, 4] flattening sums to 1 */
  for (int r = 0; r < 2; r++) {
    double s = 0, z = 0;
    for (int k = 0; k < 4; k++) z += exp(x[r * 4 + k] - x[r * 4 + 3]);
    for (int k = 0; k < 4; k++) {
      double want = exp(x[r * 4 + k] - x[r * 4 + 3]) / z;
      assert_float_equal(((float *)out[0])[r * 4 + k], want, 1e-6);
      s += ((float *)out[0])[r * 4 + k];
    }
    assert_float_equal(s, 1.0, 1e-5);
  }
  ir_graph_free(g);
}

static void test_read_tensor(void **state) {
  (void)state;
  Dtype dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  void *data;
  char err[256];
  assert_int_equal(onnx_read_tensor_file(FIX("tensor_i64.pb"), &dt, &rank, dims, &data, err, sizeof err), 0);
  assert_int_equal(dt, DT_I64);
  assert_int_equal(rank, 2);
  assert_int_equal(dims[0], 2);
  assert_int_equal(dims[1], 3);
  for (int k = 0; k < 6; k++) assert_int_equal(((int64_t *)data)[k], k + 1);
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_missing_file),      cmocka_unit_test(test_empty_file),
    cmocka_unit_test(test_truncated),         cmocka_unit_test(test_random_bytes),
    cmocka_unit_test(test_corrupted_bytes),   cmocka_unit_test(test_unsupported_one),
    cmocka_unit_test(test_unsupported_two),   cmocka_unit_test(test_hostile_name),   cmocka_unit_test(test_bad_raw_size),
    cmocka_unit_test(test_huge_claim),        cmocka_unit_test(test_external_escape),
    cmocka_unit_test(test_external_short),    cmocka_unit_test(test_conv_bad_kernel),
    cmocka_unit_test(test_two_errors),        cmocka_unit_test(test_bad_override),
    cmocka_unit_test(test_read_tensor_errors), cmocka_unit_test(test_add_relu),
    cmocka_unit_test(test_shape_chain_folds), cmocka_unit_test(test_external_ok),
    cmocka_unit_test(test_symbolic_dims),     cmocka_unit_test(test_softmax_opset11),
    cmocka_unit_test(test_read_tensor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
