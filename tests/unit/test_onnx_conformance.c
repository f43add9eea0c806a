/* test_onnx_conformance.c: runs the ONNX backend tests that Debian's
 * libonnx-testdata installs (node/, pytorch-converted/, pytorch-operator/,
 * simple/ under /usr/share/libonnx-testdata/data) through the ONNX frontend
 * and the reference interpreter: load model.onnx, feed test_data_set_0's
 * inputs to ir_eval_graph, compare with its outputs (rtol 1e-3, atol 1e-7,
 * as the ONNX runner does; sequence and optional values flattened to tensors
 * as the generated API passes them, their structure given by --seq from the
 * data set). A model that uses an unsupported op must fail to
 * load with a message; a model that loads must match, except the few listed
 * in known_bad. The number that pass may only grow: raise MIN_PASS when an
 * op is added. Skipped when the test data is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/onnx/onnx.h"

#define DATA "/usr/share/libonnx-testdata/data"
#define MIN_PASS 892

/* Loaded but not comparable: the test data stores bfloat16 tensors as uint16. */
static const char *const known_bad[] = {
  "test_cast_BFLOAT16_to_FLOAT", "test_cast_FLOAT_to_BFLOAT16",
  "test_castlike_BFLOAT16_to_FLOAT", "test_castlike_BFLOAT16_to_FLOAT_expanded",
  "test_castlike_FLOAT_to_BFLOAT16", "test_castlike_FLOAT_to_BFLOAT16_expanded",
  /* its Adam node omits epsilon (spec default 1e-6) but the outputs were made with 1e-2 */
  "test_adam_multiple",
};

typedef enum { R_PASS, R_NOLOAD, R_MISMATCH } Result;

#define MAX_FLAT 64 /* inputs or outputs of a model, flattened */

/* Reads the data set's files for the model's inputs (io_in) or outputs, flattened
 * into t[0..*n) (each data pointer malloc'ed). 0, or -1 with a message in why. */
static int read_flat(const char *dir, const char *what, const OnnxIoInfo *io, int nio, OnnxTensorData *t, int *n,
                     char *why, size_t wn) {
  char p[1200], err[512];
  *n = 0;
  for (int k = 0; k < nio; k++) {
    OnnxValueData v;
    snprintf(p, sizeof p, "%s/test_data_set_0/%s_%d.pb", dir, what, k);
    if (onnx_read_value_file(p, io[k].kind, &v, err, sizeof err)) {
      snprintf(why, wn, "%s", err);
      return -1;
    }
    for (int j = 0; j < v.n; j++) {
      if (*n < MAX_FLAT) t[(*n)++] = v.t[j];
      else free(v.t[j].data);
    }
    free(v.t);
  }
  return 0;
}

static Result run_one(const char *dir, char *why, size_t n) {
  char p[1200], err[512];
  snprintf(p, sizeof p, "%s/model.onnx", dir);
  OnnxIoInfo *io_in, *io_out;
  int nio_in, nio_out;
  if (onnx_model_io(p, &io_in, &nio_in, &io_out, &nio_out, err, sizeof err)) return R_NOLOAD;
  OnnxBind seqs[MAX_FLAT];
  OnnxShapeOverride shapes[MAX_FLAT];
  char paths[MAX_FLAT][1200];
  int nseqs = 0, nshapes = 0;
  for (int k = 0; k < nio_in && nseqs < MAX_FLAT && nshapes < MAX_FLAT; k++) {
    if (io_in[k].kind == ONNX_VALUE_TENSOR) { /* symbolic dims: the data set's shape */
      Dtype dt;
      void *data = NULL;
      OnnxShapeOverride *o = &shapes[nshapes];
      snprintf(p, sizeof p, "%s/test_data_set_0/input_%d.pb", dir, k);
      if (!io_in[k].symbolic || onnx_read_tensor_file(p, &dt, &o->rank, o->dims, &data, err, sizeof err)) continue;
      free(data);
      o->name = io_in[k].name;
      nshapes++;
      continue;
    }
    snprintf(paths[nseqs], sizeof paths[0], "%s/test_data_set_0/input_%d.pb", dir, k);
    seqs[nseqs].name = io_in[k].name;
    seqs[nseqs].path = paths[nseqs];
    nseqs++;
  }
  snprintf(p, sizeof p, "%s/model.onnx", dir);
  OnnxOptions opt = {.shapes = shapes, .nshapes = nshapes, .seqs = seqs, .nseqs = nseqs};
  Graph *g = onnx_load(p, &opt);
  if (!g) {
    onnx_model_io_free(io_in, nio_in), onnx_model_io_free(io_out, nio_out);
    assert_true(strlen(onnx_last_error()) > 0); /* a failed load always says why */
    return R_NOLOAD;
  }
  Result r = R_PASS;
  OnnxTensorData tin[MAX_FLAT], tout[MAX_FLAT];
  int nin = 0, nout = 0;
  void **ins = calloc((size_t)g->ninputs + 1, sizeof(void *));
  void **outs = calloc((size_t)g->noutputs + 1, sizeof(void *));
  if (read_flat(dir, "input", io_in, nio_in, tin, &nin, why, n) ||
      read_flat(dir, "output", io_out, nio_out, tout, &nout, why, n)) {
    r = R_MISMATCH;
  } else if (nin != g->ninputs || nout != g->noutputs) {
    snprintf(why, n, "the data set has %d inputs and %d outputs (flattened), the model %d and %d", nin, nout,
             g->ninputs, g->noutputs);
    r = R_MISMATCH;
  }
  for (int k = 0; k < g->ninputs && r == R_PASS; k++) {
    ins[k] = tin[k].data;
    if (tin[k].dt != g->inputs[k]->dtype || tin[k].rank != g->inputs[k]->rank ||
        memcmp(tin[k].dims, g->inputs[k]->dims, (size_t)tin[k].rank * sizeof tin[k].dims[0])) {
      snprintf(why, n, "input %d: type or shape differs from the model's", k);
      r = R_MISMATCH;
    }
  }
  if (r == R_PASS) ir_eval_graph(g, ins, outs);
  for (int k = 0; k < g->noutputs && r == R_PASS; k++) {
    Dtype dt = tout[k].dt;
    int rank = tout[k].rank;
    const int64_t *dims = tout[k].dims;
    const void *want = tout[k].data;
    const Node *o = g->outputs[k];
    if (dt != o->dtype || rank != o->rank || memcmp(dims, o->dims, (size_t)rank * sizeof dims[0])) {
      snprintf(why, n, "output %d: got %s rank %d, want %s rank %d (or other dims)", k, dt_name(o->dtype), o->rank,
               dt_name(dt), rank);
      r = R_MISMATCH;
    } else {
      for (int64_t i = 0; i < o->numel && dt == DT_STRING; i++) {
        const char *a = (const char *)(intptr_t)dt_load(outs[k], dt, i).i, *b = (const char *)(intptr_t)dt_load(want, dt, i).i;
        if (strcmp(a, b)) {
          snprintf(why, n, "output %d element %lld: got \"%.40s\", want \"%.40s\"", k, (long long)i, a, b);
          r = R_MISMATCH;
          break;
        }
      }
      for (int64_t i = 0; i < o->numel && dt != DT_STRING; i++) {
        double a = sc_as_f(dt_load(outs[k], dt, i), dt), b = sc_as_f(dt_load(want, dt, i), dt);
        if ((isnan(a) && isnan(b)) || a == b) continue;
        if (!(fabs(a - b) <= 1e-7 + 1e-3 * fabs(b))) {
          snprintf(why, n, "output %d element %lld: got %g, want %g", k, (long long)i, a, b);
          r = R_MISMATCH;
          break;
        }
      }
    }
  }
  for (int k = 0; k < nin; k++) free(tin[k].data);
  for (int k = 0; k < nout; k++) free(tout[k].data);
  onnx_model_io_free(io_in, nio_in), onnx_model_io_free(io_out, nio_out);
  free(ins);
  free(outs);
  ir_graph_free(g);
  return r;
}

static bool is_known_bad(const char *name) {
  for (size_t k = 0; k < sizeof known_bad / sizeof known_bad[0]; k++)
    if (!strcmp(known_bad[k], name)) return true;
  return false;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_backend_suite(void **state) {
  (void)state;
  static const char *const subdirs[] = {"node", "pytorch-converted", "pytorch-operator", "simple"};
  if (access(DATA "/node", R_OK) != 0) skip();
  int pass = 0, noload = 0, bad = 0;
  /* model errors are expected here; keep stderr for mismatches only */
  fflush(stderr);
  int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
  for (size_t s = 0; s < sizeof subdirs / sizeof subdirs[0]; s++) {
    char dpath[512];
    snprintf(dpath, sizeof dpath, "%s/%s", DATA, subdirs[s]);
    DIR *d = opendir(dpath);
    if (!d) continue;
    char **names = NULL;
    size_t nn = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (strncmp(e->d_name, "test_", 5)) continue;
      if (nn == cap) names = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);
      names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t k = 0; k < nn; k++) {
      char dir[1024], why[600] = "";
      snprintf(dir, sizeof dir, "%s/%s", dpath, names[k]);
      dup2(devnull, 2);
      Result r = run_one(dir, why, sizeof why);
      dup2(saved, 2);
      if (r == R_PASS) pass++;
      else if (r == R_NOLOAD) noload++;
      else if (!is_known_bad(names[k])) {
        fprintf(stderr, "MISMATCH %s/%s: %s\n", subdirs[s], names[k], why);
        bad++;
      }
      free(names[k]);
    }
    free(names);
  }
  close(devnull);
  close(saved);
  printf("onnx backend tests: %d pass, %d not loadable (unsupported), %d mismatch\n", pass, noload, bad);
  assert_int_equal(bad, 0);
  assert_true(pass >= MIN_PASS);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_backend_suite)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
