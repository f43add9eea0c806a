/* test_libjtc.c: libjtc's API in-process (include/jtc.h, lib/jtc.c): the cache
 * key (a second jtc_load builds nothing; changed options or weights build
 * again), the interface tables (names, sizes, dtypes, shapes of the LeNet
 * sample), jtc_run against the sample's reference output, a training build's
 * step, and the error codes (unreadable model, missing compiler, bad training
 * options). Builds are counted through a $CC wrapper script the test writes.
 * Run from the repository root; tests/lib/run.sh covers the same through
 * processes (concurrency, corrupted entries, jtc run). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx/onnx.h"
#include "include/jtc.h"

static char dir[256], wrapper[512], counter[512];

static int builds(void) {
  FILE *f = fopen(counter, "r");
  int n = 0;
  for (int c; f && (c = fgetc(f)) != EOF;) n += c == '\n';
  if (f) fclose(f);
  return n;
}

static int setup(void **s) {
  (void)s;
  snprintf(dir, sizeof dir, "/tmp/jtc_libtest.XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(wrapper, sizeof wrapper, "%s/cc-count", dir);
  snprintf(counter, sizeof counter, "%s/count", dir);
  FILE *f = fopen(wrapper, "w");
  if (!f) return -1;
  const char *cc = getenv("CC") ? getenv("CC") : "cc";
  fprintf(f, "#!/bin/sh\ncase \"$*\" in *-shared*) echo build >>'%s' ;; esac\nexec %s \"$@\"\n", counter, cc);
  fclose(f);
  chmod(wrapper, 0755);
  return 0;
}

static int teardown(void **s) {
  (void)s;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static jtc_options base(void) {
  static char cache[512];
  snprintf(cache, sizeof cache, "%s/cache", dir);
  jtc_options o = {0};
  o.cache_dir = cache;
  o.cc = wrapper;
  return o;
}

static void test_key_and_interface(void **s) {
  (void)s;
  jtc_options o = base();
  jtc_model *m;
  char err[2048];
  int before = builds();
  assert_int_equal(jtc_load("samples/lenet/model.onnx", &o, &m, err, sizeof err), JTC_OK);
  assert_int_equal(builds(), before + 1);
  assert_false(jtc_was_cached(m));
  assert_int_equal(jtc_num_inputs(m), 1);
  assert_int_equal(jtc_num_outputs(m), 1);
  assert_string_equal(jtc_input_name(m, 0), "input");
  assert_string_equal(jtc_input_dtype(m, 0), "float32");
  int rank;
  const int64_t *d = jtc_input_shape(m, 0, &rank);
  assert_int_equal(rank, 4);
  assert_true(d[0] == 1 && d[1] == 3 && d[2] == 32 && d[3] == 32);
  assert_int_equal(jtc_input_size(m, 0), 3 * 32 * 32 * 4);
  assert_int_equal(jtc_output_size(m, 0), 10 * 4);
  assert_null(jtc_input_name(m, 1));
  /* the sample's reference (PyTorch's output) */
  Dtype dt;
  int64_t dims[IR_MAX_RANK];
  void *x = NULL, *want = NULL;
  char e2[256];
  assert_int_equal(onnx_read_tensor_file("samples/lenet/test_data_set_0/input_0.pb", &dt, &rank, dims, &x, e2, sizeof e2), 0);
  assert_int_equal(onnx_read_tensor_file("samples/lenet/test_data_set_0/output_0.pb", &dt, &rank, dims, &want, e2, sizeof e2), 0);
  float y[10];
  const void *in[1] = {x};
  void *out[1] = {y};
  assert_int_equal(jtc_run(m, in, out), JTC_OK);
  for (int i = 0; i < 10; i++) assert_true(fabsf(y[i] - ((float *)want)[i]) <= 1e-5f + 1e-3f * fabsf(((float *)want)[i]));
  jtc_free(m);
  /* the same again: no build (threads are set at load, not part of the key) */
  o.threads = 1;
  assert_int_equal(jtc_load("samples/lenet/model.onnx", &o, &m, err, sizeof err), JTC_OK);
  assert_int_equal(builds(), before + 1);
  assert_true(jtc_was_cached(m));
  assert_int_equal(jtc_train_step(m, in, in, NULL), JTC_ERR_RUN); /* not a training build */
  assert_non_null(strstr(jtc_error(m), "not a training build"));
  jtc_free(m);
  /* another option: another entry */
  o.cflags = "-O1";
  assert_int_equal(jtc_load("samples/lenet/model.onnx", &o, &m, err, sizeof err), JTC_OK);
  assert_int_equal(builds(), before + 2);
  jtc_free(m);
  free(x);
  free(want);
}

static void test_training_build(void **s) {
  (void)s;
  jtc_options o = base();
  o.train = 1;
  o.loss = "mse";
  o.optimizer = "sgd";
  o.lr = 0.05;
  jtc_model *m;
  char err[2048];
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_OK);
  float x[16], t[16], first = 0, last = 0;
  for (int i = 0; i < 16; i++) { x[i] = (float)i / 16; t[i] = 2 * x[i] + 1; }
  const void *in[1] = {x}, *tg[1] = {t};
  for (int k = 0; k < 50; k++) {
    assert_int_equal(jtc_train_step(m, in, tg, &last), JTC_OK);
    if (k == 0) first = last;
  }
  assert_true(last < first / 4); /* a line is easy: 50 steps cut the loss by far more than 4x */
  jtc_free(m);
}

static void test_errors(void **s) {
  (void)s;
  jtc_options o = base();
  jtc_model *m = (jtc_model *)&o;
  char err[2048];
  assert_int_equal(jtc_load("/nonexistent/model.onnx", &o, &m, err, sizeof err), JTC_ERR_MODEL);
  assert_null(m);
  assert_non_null(strstr(err, "cannot read"));
  o.cc = "/nonexistent/cc";
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_ERR_COMPILER);
  assert_non_null(strstr(err, "not found"));
  o = base();
  o.train = 1;
  o.loss = "hinge";
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_ERR_MODEL);
  assert_non_null(strstr(err, "loss"));
}

/* The CUDA target through nvcc (skipped without it): the object builds; without a GPU, loading
 * fails cleanly with the CUDA runtime's message instead of crashing. */
static void test_cuda_target(void **s) {
  (void)s;
  const char *nvcc = getenv("NVCC");
  if (!nvcc || !*nvcc) nvcc = access("/usr/local/cuda/bin/nvcc", X_OK) == 0 ? "/usr/local/cuda/bin/nvcc" : NULL;
  if (!nvcc) {
    print_message("nvcc not installed: skipped\n");
    skip();
  }
  jtc_options o = base();
  o.target = "cuda";
  o.arch = "sm_75";
  o.cc = nvcc;
  jtc_model *m;
  char err[4096];
  int rc = jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err);
  if (rc == JTC_OK) { /* a GPU is present */
    assert_int_equal(jtc_num_inputs(m), 1);
    jtc_free(m);
  } else {
    assert_int_equal(rc, JTC_ERR_LOAD);
    assert_null(m);
    print_message("no GPU, as expected here: %s\n", err);
  }
  o.precision = "bf16";
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_ERR_MODEL);
  assert_non_null(strstr(err, "bad precision 'bf16'"));
  o.precision = "tf32";
  o.target = "c";
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_ERR_MODEL);
  assert_non_null(strstr(err, "applies to target cuda"));
  o.precision = NULL;
  o.target = "tpu";
  assert_int_equal(jtc_load("samples/mlp/model.onnx", &o, &m, err, sizeof err), JTC_ERR_MODEL);
  assert_non_null(strstr(err, "unknown target"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_key_and_interface),
    cmocka_unit_test(test_training_build),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_cuda_target),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
