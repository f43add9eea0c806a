/* harness.c: runs a jtc-generated network on raw tensor files.
 *
 * tests/tools/conform compiles this together with a generated net.c (made with
 * `jtc --name net`), so it works for any model through the generated-code
 * contract of DESIGN.md:
 *
 *     cc -std=c11 ... -I WORK -o WORK/t WORK/net.c tests/conformance/harness.c -lm
 *     WORK/t IN_0 ... IN_{n-1} OUT_0 ... OUT_{m-1}
 *
 * IN_k holds the raw bytes of graph input k (dense, row-major, the graph's dtype);
 * its size must equal net_input_sizes[k]. OUT_k receives the raw bytes of
 * graph output k (net_output_sizes[k] bytes). Exit status 0 on success, 2 on any
 * error, with one line on stderr saying what went wrong.
 *
 * (It lives here rather than in tests/tools/ because the Makefile builds every
 * C file in tests/tools/ as a tool, and this one only builds against a net.h.)
 */
#include <stdio.h>
#include <stdlib.h>

#include "net.h"

static int fail(const char *what, const char *path) {
  fprintf(stderr, "harness: %s%s%s\n", what, path ? " " : "", path ? path : "");
  return 2;
}

/* Reads exactly `size` bytes from `path` into a new buffer; NULL on error. */
static void *read_input(const char *path, size_t size, int k) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fail("cannot open", path);
    return NULL;
  }
  void *buf = NULL;
  long len = -1;
  if (fseek(f, 0, SEEK_END) == 0) len = ftell(f);
  if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fail("cannot size", path);
  } else if ((size_t)len != size) {
    fprintf(stderr, "harness: input %d (%s): file %s has %ld bytes, net_input_sizes[%d] = %zu\n",
            k, net_input_names[k], path, len, k, size);
  } else if (!(buf = malloc(size + 1))) {
    fail("out of memory reading", path);
  } else if (fread(buf, 1, size, f) != size) {
    fail("short read of", path);
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  const void *in[NET_NUM_INPUTS + 1] = {0};
  void *out[NET_NUM_OUTPUTS + 1] = {0};
  int rc = 2;
  if (argc != 1 + NET_NUM_INPUTS + NET_NUM_OUTPUTS) {
    fprintf(stderr, "harness: the model has %d inputs and %d outputs, but %d files were given\n",
            NET_NUM_INPUTS, NET_NUM_OUTPUTS, argc - 1);
    return 2;
  }
  for (int k = 0; k < NET_NUM_INPUTS; k++)
    if (!(in[k] = read_input(argv[1 + k], net_input_sizes[k], k))) goto done;
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    if (!(out[k] = calloc(1, net_output_sizes[k] + 1))) {
      fail("out of memory for outputs", NULL);
      goto done;
    }
  int r = net_init(NULL);
  if (r != 0) {
    fprintf(stderr, "harness: net_init(NULL) returned %d\n", r);
    goto done;
  }
  r = net_run(in, out);
  if (r != 0) {
    fprintf(stderr, "harness: net_run returned %d\n", r);
    net_free();
    goto done;
  }
  net_free();
  rc = 0;
  for (int k = 0; k < NET_NUM_OUTPUTS && rc == 0; k++) {
    const char *path = argv[1 + NET_NUM_INPUTS + k];
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out[k], 1, net_output_sizes[k], f) != net_output_sizes[k]) rc = fail("cannot write", path);
    if (f && fclose(f) != 0) rc = fail("cannot write", path);
  }
done:
  for (int k = 0; k < NET_NUM_INPUTS; k++) free((void *)in[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(out[k]);
  return rc;
}
