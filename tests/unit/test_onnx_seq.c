/* test_onnx_seq.c: unit tests of sequence and optional values (CMocka):
 * the ops of onnx_lower_seq.c run at compile time over lists of tensors, the
 * graph's sequence/optional inputs and outputs are flattened to tensors
 * "NAME.k", --seq files give a sequence input its structure, and misuse fails
 * with a message. Models and .pb files come from tests/data/make_seq_fixtures.py;
 * expected numbers are written out by hand from the inputs (ONNX semantics).
 * Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx/onnx.h"

#define FIX(name) "tests/data/seq/" name

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

static Graph *load(const char *path, const OnnxOptions *opt) {
  quiet(true);
  Graph *g = onnx_load(path, opt);
  quiet(false);
  if (!g) fail_msg("%s did not load:\n%s", path, onnx_last_error());
  return g;
}

static void assert_fails_with(const char *path, const OnnxOptions *opt, const char *needle) {
  quiet(true);
  Graph *g = onnx_load(path, opt);
  quiet(false);
  assert_null(g);
  if (!strstr(onnx_last_error(), needle)) fail_msg("error text lacks \"%s\"; it is:\n%s", needle, onnx_last_error());
}

static int output_index(Graph *g, const char *name) {
  for (int k = 0; k < g->noutputs; k++)
    if (!strcmp(g->output_names[k], name)) return k;
  fail_msg("no graph output '%s'", name);
  return -1;
}

static void assert_dims(const Node *n, int rank, const int64_t *dims) {
  assert_int_equal(n->rank, rank);
  for (int d = 0; d < rank; d++) assert_int_equal(n->dims[d], dims[d]);
}

/* s = [X+1, X, Y]: SequenceAt(-2), SequenceLength, ConcatFromSequence with and without new_axis */
static void test_sequence_ops(void **state) {
  (void)state;
  Graph *g = load(FIX("seq_ops.onnx"), NULL);
  assert_int_equal(g->ninputs, 2);
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {-1, -2, -3, -4, -5, -6};
  void *in[2] = {x, y}, *out[4] = {0};
  ir_eval_graph(g, in, out);
  const float *at = out[output_index(g, "at")], *cat = out[output_index(g, "cat")], *stk = out[output_index(g, "stk")];
  assert_int_equal(*(const int64_t *)out[output_index(g, "len")], 3);
  for (int k = 0; k < 6; k++) assert_float_equal(at[k], x[k], 0);
  /* cat [6,3]: rows of X+1, then X, then Y */
  assert_dims(g->outputs[output_index(g, "cat")], 2, (int64_t[]){6, 3});
  for (int k = 0; k < 6; k++) {
    assert_float_equal(cat[k], x[k] + 1, 0);
    assert_float_equal(cat[6 + k], x[k], 0);
    assert_float_equal(cat[12 + k], y[k], 0);
  }
  /* stk [2,3,3]: stk[i][j][s] = s-th element at [i][j] */
  assert_dims(g->outputs[output_index(g, "stk")], 3, (int64_t[]){2, 3, 3});
  for (int k = 0; k < 6; k++) {
    assert_float_equal(stk[3 * k + 0], x[k] + 1, 0);
    assert_float_equal(stk[3 * k + 1], x[k], 0);
    assert_float_equal(stk[3 * k + 2], y[k], 0);
  }
  ir_graph_free(g);
}

/* SplitToSequence: explicit sizes, a scalar chunk size, and pieces of one squeezed */
static void test_split_to_sequence(void **state) {
  (void)state;
  Graph *g = load(FIX("seq_split.onnx"), NULL);
  /* flattened outputs: parts.0-2, chunks.0-1, rows.0-1 */
  static const char *const names[] = {"parts.0", "parts.1", "parts.2", "chunks.0", "chunks.1", "rows.0", "rows.1"};
  assert_int_equal(g->noutputs, 7);
  for (int k = 0; k < 7; k++) assert_string_equal(g->output_names[k], names[k]);
  assert_dims(g->outputs[0], 2, (int64_t[]){2, 1});
  assert_dims(g->outputs[1], 2, (int64_t[]){2, 2});
  assert_dims(g->outputs[2], 2, (int64_t[]){2, 3});
  assert_dims(g->outputs[3], 2, (int64_t[]){2, 4});
  assert_dims(g->outputs[4], 2, (int64_t[]){2, 2});
  assert_dims(g->outputs[5], 1, (int64_t[]){6});
  float x[12];
  for (int k = 0; k < 12; k++) x[k] = (float)k; /* X[r][c] = 6r + c */
  void *in[1] = {x}, *out[7] = {0};
  ir_eval_graph(g, in, out);
  static const float parts2[6] = {3, 4, 5, 9, 10, 11}, chunks1[4] = {4, 5, 10, 11}, rows1[6] = {6, 7, 8, 9, 10, 11};
  for (int k = 0; k < 6; k++) assert_float_equal(((float *)out[2])[k], parts2[k], 0);
  for (int k = 0; k < 4; k++) assert_float_equal(((float *)out[4])[k], chunks1[k], 0);
  for (int k = 0; k < 6; k++) assert_float_equal(((float *)out[6])[k], rows1[k], 0);
  ir_graph_free(g);
}

/* A sequence input given by --seq: inputs S.0 [3,2], S.1 [1,2]; SequenceMap adds T to each */
static void test_sequence_input_and_map(void **state) {
  (void)state;
  assert_fails_with(FIX("seq_map.onnx"), NULL, "--seq S=FILE.pb");
  OnnxBind seq = {"S", FIX("seq_map_S.pb")};
  OnnxOptions opt = {.seqs = &seq, .nseqs = 1};
  Graph *g = load(FIX("seq_map.onnx"), &opt);
  assert_int_equal(g->ninputs, 3);
  assert_string_equal(g->inputs[0]->name, "S.0");
  assert_string_equal(g->inputs[1]->name, "S.1");
  assert_string_equal(g->inputs[2]->name, "T");
  assert_dims(g->inputs[0], 2, (int64_t[]){3, 2});
  assert_dims(g->inputs[1], 2, (int64_t[]){1, 2});
  assert_int_equal(g->noutputs, 3);
  assert_string_equal(g->output_names[0], "y.0");
  assert_string_equal(g->output_names[1], "y.1");
  float s0[6] = {1, 2, 3, 4, 5, 6}, s1[2] = {7, 8}, t[2] = {10, 20};
  void *in[3] = {s0, s1, t}, *out[3] = {0};
  ir_eval_graph(g, in, out);
  static const float y0[6] = {11, 22, 13, 24, 15, 26}, y1[2] = {17, 28};
  for (int k = 0; k < 6; k++) assert_float_equal(((float *)out[0])[k], y0[k], 0);
  for (int k = 0; k < 2; k++) assert_float_equal(((float *)out[1])[k], y1[k], 0);
  assert_int_equal(*(const int64_t *)out[output_index(g, "n")], 2);
  ir_graph_free(g);
}

/* Optional, OptionalHasElement (a constant), OptionalGetElement */
static void test_optional_ops(void **state) {
  (void)state;
  Graph *g = load(FIX("seq_optional.onnx"), NULL);
  float x[2] = {3, -4};
  void *in[1] = {x}, *out[3] = {0};
  ir_eval_graph(g, in, out);
  assert_true(*(const uint8_t *)out[output_index(g, "has_o")]);
  assert_false(*(const uint8_t *)out[output_index(g, "has_e")]);
  const float *got = out[output_index(g, "got")];
  assert_float_equal(got[0], 3, 0);
  assert_float_equal(got[1], -4, 0);
  ir_graph_free(g);
}

/* An optional-sequence input: empty (no API input at all) or holding two tensors */
static void test_optional_input(void **state) {
  (void)state;
  OnnxBind seq = {"O", FIX("seq_opt_empty.pb")};
  OnnxOptions opt = {.seqs = &seq, .nseqs = 1};
  Graph *g = load(FIX("seq_opt_input.onnx"), &opt);
  assert_int_equal(g->ninputs, 0);
  void *out[1] = {0};
  ir_eval_graph(g, NULL, out);
  assert_false(*(const uint8_t *)out[0]);
  ir_graph_free(g);
  seq.path = FIX("seq_opt_two.pb");
  g = load(FIX("seq_opt_input.onnx"), &opt);
  assert_int_equal(g->ninputs, 2);
  assert_string_equal(g->inputs[0]->name, "O.0");
  assert_dims(g->inputs[1], 2, (int64_t[]){1, 1});
  ir_graph_free(g);
}

/* The test-data reader: a SequenceProto, an empty and a present OptionalProto */
static void test_read_value_files(void **state) {
  (void)state;
  OnnxValueData v;
  char err[512];
  assert_int_equal(onnx_read_value_file(FIX("seq_map_S.pb"), ONNX_VALUE_SEQUENCE, &v, err, sizeof err), 0);
  assert_int_equal(v.n, 2);
  assert_int_equal(v.t[0].dt, DT_F32);
  assert_int_equal(v.t[0].rank, 2);
  assert_int_equal(v.t[0].dims[0], 3);
  assert_int_equal(v.t[0].dims[1], 2);
  onnx_value_data_free(&v);
  assert_int_equal(onnx_read_value_file(FIX("seq_opt_empty.pb"), ONNX_VALUE_OPTIONAL, &v, err, sizeof err), 0);
  assert_false(v.present);
  assert_int_equal(v.n, 0);
  onnx_value_data_free(&v);
  assert_int_equal(onnx_read_value_file(FIX("seq_opt_two.pb"), ONNX_VALUE_OPTIONAL, &v, err, sizeof err), 0);
  assert_true(v.present);
  assert_int_equal(v.content, ONNX_VALUE_SEQUENCE);
  assert_int_equal(v.n, 2);
  assert_float_equal(((float *)v.t[0].data)[1], 2, 0);
  assert_float_equal(((float *)v.t[1].data)[0], 3, 0);
  onnx_value_data_free(&v);
  /* another message (a ModelProto) fails with a message, not a crash */
  assert_int_equal(onnx_read_value_file(FIX("seq_ops.onnx"), ONNX_VALUE_SEQUENCE, &v, err, sizeof err), -1);
  assert_int_equal(v.n, 0);
}

static void test_errors(void **state) {
  (void)state;
  assert_fails_with(FIX("seq_bad_position.onnx"), NULL, "position 5 is out of range for a sequence of 2 tensors");
  assert_fails_with(FIX("seq_to_relu.onnx"), NULL, "is a sequence; Relu takes tensors only");
  OnnxBind seq = {"nope", FIX("seq_map_S.pb")};
  OnnxOptions opt = {.seqs = &seq, .nseqs = 1};
  assert_fails_with(FIX("seq_ops.onnx"), &opt, "--seq names 'nope'");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sequence_ops),
    cmocka_unit_test(test_split_to_sequence),
    cmocka_unit_test(test_sequence_input_and_map),
    cmocka_unit_test(test_optional_ops),
    cmocka_unit_test(test_optional_input),
    cmocka_unit_test(test_read_value_files),
    cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
