/* test_onnx_inspect.c: unit tests of onnx_inspect (`jtc inspect MODEL.onnx`)
 * and the op-support rule it shares with the loader (onnx_find_node_op),
 * without the command line: the --json object's key order and figures for
 * fixtures with unsupported ops, external data and a 2^40-element claim
 * (64-bit figures go in as raw integers), the sort order of the histogram,
 * and failures returning 1 with nothing on stdout.
 * Fixtures come from tests/data/make_onnx_fixtures.py; run from the
 * repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx/onnx_internal.h"

#define FIX(name) "tests/data/onnx/" name

/* onnx_inspect's output (text or JSON) and return code, stderr silenced. */
static char *inspect(const char *path, bool json, int *rc) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  fflush(stderr);
  int saved = dup(2), fd = open("/dev/null", O_WRONLY);
  dup2(fd, 2);
  close(fd);
  *rc = onnx_inspect(path, json, f);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(f);
  return text;
}

static cJSON *inspect_json(const char *path) {
  int rc;
  char *text = inspect(path, true, &rc);
  assert_int_equal(rc, 0);
  cJSON *j = cJSON_Parse(text);
  if (!j) fail_msg("not JSON:\n%s", text);
  free(text);
  return j;
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v)) fail_msg("no number \"%s\"", key);
  return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsString(v)) fail_msg("no string \"%s\"", key);
  return v->valuestring;
}

static void test_key_order(void **state) {
  (void)state;
  static const char *const keys[] = {"format", "ir_version", "producer_name", "producer_version", "domain",
                                     "model_version", "doc_string", "opsets", "inputs", "outputs", "nodes",
                                     "subgraphs", "ops", "parameters", "unsupported"};
  cJSON *j = inspect_json(FIX("add_relu.onnx"));
  const cJSON *k = j->child;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, k = k->next) {
    assert_non_null(k);
    assert_string_equal(k->string, keys[i]);
  }
  assert_null(k);
  assert_string_equal(str(j, "format"), "onnx");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "unsupported")), 0);
  cJSON_Delete(j);
}

/* LpNormalization x2, com.example.Frobnicate, Relu: count desc, then op type. */
static void test_unsupported(void **state) {
  (void)state;
  cJSON *j = inspect_json(FIX("unsupported_two.onnx"));
  const cJSON *ops = cJSON_GetObjectItem(j, "ops");
  assert_int_equal(cJSON_GetArraySize(ops), 3);
  const char *want[3][3] = {{"ai.onnx", "LpNormalization", "2"}, {"com.example", "Frobnicate", "1"}, {"ai.onnx", "Relu", "1"}};
  for (int i = 0; i < 3; i++) {
    const cJSON *o = cJSON_GetArrayItem(ops, i);
    assert_string_equal(str(o, "domain"), want[i][0]);
    assert_string_equal(str(o, "op_type"), want[i][1]);
    assert_int_equal((int)num(o, "count"), atoi(want[i][2]));
    assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(o, "supported")), i == 2);
  }
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "unsupported")), 2);
  assert_int_equal((int)num(j, "nodes"), 4);
  cJSON_Delete(j);
  int rc;
  char *text = inspect(FIX("unsupported_two.onnx"), false, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(text, "\nunsupported: 2 of 3 op types: LpNormalization, com.example.Frobnicate\n"));
  free(text);
}

/* External data is counted by its declared size and named, never read. */
static void test_external(void **state) {
  (void)state;
  cJSON *j = inspect_json(FIX("external_escape.onnx")); /* its data file does not exist: not opened */
  const cJSON *p = cJSON_GetObjectItem(j, "parameters");
  assert_int_equal((int)num(p, "count"), 6);
  assert_int_equal((int)num(p, "bytes"), 24);
  assert_int_equal((int)num(p, "external_bytes"), 24);
  const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "external"), 0);
  assert_non_null(e);
  assert_string_equal(str(e, "name"), "W");
  assert_string_equal(str(e, "location"), "../secret.bin");
  cJSON_Delete(j);
}

/* A 2^40-element float initializer: 64-bit figures are written exactly. */
static void test_huge_claim(void **state) {
  (void)state;
  int rc;
  char *text = inspect(FIX("huge_claim.onnx"), true, &rc);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(text, "\"count\":\t1099511627776,"));
  assert_non_null(strstr(text, "\"bytes\":\t4398046511104,"));
  free(text);
  text = inspect(FIX("huge_claim.onnx"), false, &rc);
  assert_non_null(strstr(text, "more than the default --max-bytes"));
  free(text);
}

static void test_symbolic_input(void **state) {
  (void)state;
  cJSON *j = inspect_json(FIX("symbolic_batch.onnx"));
  const cJSON *shape = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "inputs"), 0), "shape");
  assert_int_equal(cJSON_GetArraySize(shape), 2);
  assert_string_equal(cJSON_GetArrayItem(shape, 0)->valuestring, "N");
  assert_int_equal((int)cJSON_GetArrayItem(shape, 1)->valuedouble, 3);
  cJSON_Delete(j);
}

static void test_failures(void **state) {
  (void)state;
  char path[] = "/tmp/jtc_inspect_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "\x0a\xff\xff\xff\x0f", 5), 5); /* field 1, length 2^32 - 1: truncated */
  close(fd);
  const char *bad[] = {FIX("no_such_model.onnx"), path, "tests/data/onnx"};
  for (size_t i = 0; i < 3; i++)
    for (int json = 0; json < 2; json++) {
      int rc;
      char *text = inspect(bad[i], json, &rc);
      assert_int_equal(rc, 1);
      assert_true(!text || !*text);
      free(text);
    }
  unlink(path);
}

/* The rule the loader and inspect share: version ranges and other domains. */
static void test_find_node_op(void **state) {
  (void)state;
  Onnx__OperatorSetIdProto ex = ONNX__OPERATOR_SET_ID_PROTO__INIT, *imp[1] = {&ex};
  ex.domain = "ai.onnx.preview.training";
  ex.has_version = true;
  ex.version = 1;
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  int used;
  assert_non_null(onnx_find_node_op(&m, 9, "", "Upsample", false, &used));
  assert_null(onnx_find_node_op(&m, 13, "ai.onnx", "Upsample", false, &used));
  assert_non_null(onnx_find_node_op(&m, 13, "ai.onnx", "Upsample", true, &used));
  assert_null(onnx_find_node_op(&m, 13, "ai.onnx.preview.training", "Adam", false, &used)); /* not imported */
  m.n_opset_import = 1;
  m.opset_import = imp;
  assert_non_null(onnx_find_node_op(&m, 13, "ai.onnx.preview.training", "Adam", false, &used));
  assert_int_equal(used, 1);
  assert_null(onnx_find_node_op(&m, 13, "com.example", "Adam", true, &used));
  bool found;
  assert_int_equal(onnx_model_opset(&m, &found), 1);
  assert_false(found);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_key_order),   cmocka_unit_test(test_unsupported),    cmocka_unit_test(test_external),
    cmocka_unit_test(test_huge_claim),  cmocka_unit_test(test_symbolic_input), cmocka_unit_test(test_failures),
    cmocka_unit_test(test_find_node_op),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
