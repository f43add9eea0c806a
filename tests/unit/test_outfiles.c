/* test_outfiles.c: a code generator that fails part-way leaves nothing behind
 * (ir/outfile.c and the driver's jtc_write_code). The late failure is real: the
 * graph arena's limit (what --max-bytes sets) is lowered after planning so that the
 * generator's own tables and the kernels fit, but printing the embedded constant's
 * 2^18 literals (an arena string each) does not, so ir_fail unwinds out of the
 * printer with the source file open. Then the header and the source must both be
 * gone (each held stale text before, so they were opened by the generator and then
 * removed), the FILE closed (the lowest free descriptor is the same as before), and
 * the same call with room writes both in full. `make asan` runs this under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/compile.h"
#include "ir/ops.h"

#define N ((int64_t)1 << 18) /* constant elements: 16 arena bytes per printed literal, 4 MiB in all */

static char dir[] = "/tmp/jtc_outfiles_XXXXXX";
static char c_path[64], h_path[64], w_path[64];

static int setup(void **s) {
  (void)s;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s) {
  (void)s;
  const char *names[] = {"net.c", "net.cu", "net.h", "net.weights"};
  char path[64];
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[k]);
    remove(path);
  }
  return rmdir(dir);
}

static void paths(const char *src) {
  snprintf(c_path, sizeof c_path, "%s/%s", dir, src);
  snprintf(h_path, sizeof h_path, "%s/net.h", dir);
  snprintf(w_path, sizeof w_path, "%s/net.weights", dir);
}

static bool exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static off_t size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

static void write_stale(const char *path) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("stale output of an earlier run\n", f);
  assert_int_equal(fclose(f), 0);
}

/* The lowest free file descriptor: a FILE left open would hold it. */
static int lowest_free_fd(void) {
  int fd = open("/dev/null", O_RDONLY);
  assert_true(fd >= 0);
  close(fd);
  return fd;
}

/* y = x + w, w a constant of N floats; planned for C or CUDA. */
static Graph *model(bool cuda, Plan **p) {
  Graph *g = ir_graph_new();
  int64_t n = N;
  float *w = malloc((size_t)n * sizeof *w);
  assert_non_null(w);
  for (int64_t i = 0; i < n; i++) w[i] = 0.5f + 0.001f * (float)(i % 1000);
  Node *x = ir_input(g, "x", DT_F32, 1, &n);
  Node *c = ir_const(g, DT_F32, 1, &n, w);
  free(w);
  ir_mark_output(g, ir_binary(g, MAP_ADD, x, c), "y");
  *p = cuda ? pass_run_gpu(g, PRECISION_F32, NULL, NULL) : pass_run_all(g, NULL, NULL);
  assert_non_null(*p);
  return g;
}

static void late_failure(bool cuda) {
  paths(cuda ? "net.cu" : "net.c");
  Plan *p;
  Graph *g = model(cuda, &p);
  CgOptions co = {c_path, h_path, w_path, "net", "test_outfiles", "model.onnx", WEIGHTS_EMBED, 0,
                  cuda ? "sm_87" : NULL, false, false};
  write_stale(c_path);
  write_stale(h_path);
  int fd = lowest_free_fd();
  char err[512];
  g->max_arena = g->arena_bytes + ((int64_t)2 << 20); /* two more 1 MiB blocks; the literals need four */
  assert_int_equal(jtc_write_code(g, p, NULL, &co, err, sizeof err), 1);
  if (!strstr(err, "would need more than")) fail_msg("unexpected error: %s", err);
  assert_false(exists(h_path));
  assert_false(exists(c_path));
  assert_false(exists(w_path));
  assert_int_equal(lowest_free_fd(), fd);
  assert_int_equal(g->nfiles, 0);
  for (size_t k = 0; k < sizeof g->streams / sizeof g->streams[0]; k++) assert_null(g->streams[k].f);

  /* with room: both files, the source with the whole constant and the API after it */
  g->max_arena = 0;
  assert_int_equal(jtc_write_code(g, p, NULL, &co, err, sizeof err), 0);
  assert_true(size_of(h_path) > 0);
  assert_true(size_of(c_path) > N * 4);
  FILE *f = fopen(c_path, "r");
  assert_non_null(f);
  assert_int_equal(fseek(f, -2048, SEEK_END), 0);
  char tail[2049] = {0};
  assert_true(fread(tail, 1, 2048, f) > 0);
  fclose(f);
  assert_non_null(strstr(tail, "net_run"));
  assert_int_equal(lowest_free_fd(), fd);
  ir_graph_free(g);
}

static void test_c_source_fails_while_printing(void **s) {
  (void)s;
  late_failure(false);
}

static void test_cuda_source_fails_while_printing(void **s) {
  (void)s;
  late_failure(true);
}

/* The registry itself: a closed file stays listed (a discard removes it); a file left
 * open is closed and removed by ir_graph_free; ir_files_keep forgets what was written. */
static void test_registry(void **s) {
  (void)s;
  paths("net.c");
  int fd = lowest_free_fd();
  Graph *g = ir_graph_new();
  FILE *a = ir_file_create(g, c_path, "w"), *b = ir_file_create(g, h_path, "w");
  assert_non_null(a);
  assert_non_null(b);
  assert_null(ir_file_create(g, "/nonexistent-dir/x.c", "w"));
  assert_int_equal(g->nfiles, 2);
  fputs("x", a);
  assert_int_equal(ir_file_close(g, a), 0);
  ir_files_discard(g); /* a closed, b open: both go */
  assert_false(exists(c_path));
  assert_false(exists(h_path));
  assert_int_equal(lowest_free_fd(), fd);

  a = ir_file_create(g, c_path, "w");
  assert_non_null(a);
  assert_int_equal(ir_file_close(g, a), 0);
  ir_files_keep(g);
  assert_int_equal(g->nfiles, 0);
  b = ir_file_create(g, h_path, "w"); /* left open, as by an ir_fail nobody caught */
  assert_non_null(b);
  ir_graph_free(g);
  assert_true(exists(c_path)); /* kept */
  assert_false(exists(h_path));
  assert_int_equal(lowest_free_fd(), fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_registry),
    cmocka_unit_test(test_c_source_fails_while_printing),
    cmocka_unit_test(test_cuda_source_fails_while_printing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
