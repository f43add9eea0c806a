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
 * graph output k (net_output_sizes[k] bytes). A string tensor's file (dtype
 * "string") is its elements' bytes, each followed by a NUL, in order. Exit status 0 on success, 2 on any
 * error, with one line on stderr saying what went wrong.
 *
 * (It lives here rather than in tests/tools/ because the Makefile builds every
 * C file in tests/tools/ as a tool, and this one only builds against a net.h.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int is_string(const char *dtype) { return !strcmp(dtype, "string"); }

/* A string input's file as the array of pointers net_run takes (pointers first,
 * then the file's bytes, in one block); NULL on error. */
static void *read_strings(const char *path, size_t size, int k) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fail("cannot open", path);
    return NULL;
  }
  size_t n = size / sizeof(const char *), cap = 4096, len = 0;
  char *text = malloc(cap);
  for (size_t got; text && (got = fread(text + len, 1, cap - len, f)) > 0;) {
    len += got;
    if (len == cap) {
      char *t = realloc(text, cap *= 2);
      if (!t) free(text);
      text = t;
    }
  }
  fclose(f);
  const char **ptrs = text ? malloc(size + len + 1) : NULL;
  if (!ptrs) {
    free(text);
    fail("out of memory reading", path);
    return NULL;
  }
  char *bytes = (char *)ptrs + size;
  if (len) memcpy(bytes, text, len);
  free(text);
  size_t count = 0;
  for (size_t at = 0; at < len; at += strlen(bytes + at) + 1) {
    if (count < n) ptrs[count] = bytes + at;
    count++;
    if (!memchr(bytes + at, 0, len - at)) break; /* no final NUL */
  }
  if (count != n || (len && bytes[len - 1])) {
    fprintf(stderr, "harness: input %d (%s): file %s holds %zu NUL-terminated strings, the input has %zu\n", k,
            net_input_names[k], path, count, n);
    free(ptrs);
    return NULL;
  }
  return ptrs;
}

static int write_output(const char *path, int k, const void *data) {
  FILE *f = fopen(path, "wb");
  int ok = f != NULL;
  if (ok && is_string(net_output_dtypes[k])) {
    const char *const *s = data;
    for (size_t i = 0; ok && i < net_output_sizes[k] / sizeof(const char *); i++)
      ok = s[i] && fwrite(s[i], 1, strlen(s[i]) + 1, f) == strlen(s[i]) + 1;
  } else if (ok) {
    ok = fwrite(data, 1, net_output_sizes[k], f) == net_output_sizes[k];
  }
  if (f && fclose(f) != 0) ok = 0;
  return ok ? 0 : fail("cannot write", path);
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
    if (!(in[k] = is_string(net_input_dtypes[k]) ? read_strings(argv[1 + k], net_input_sizes[k], k)
                                                 : read_input(argv[1 + k], net_input_sizes[k], k)))
      goto done;
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
  for (int k = 0; k < NET_NUM_OUTPUTS && rc == 0; k++) rc = write_output(argv[1 + NET_NUM_INPUTS + k], k, out[k]);
done:
  for (int k = 0; k < NET_NUM_INPUTS; k++) free((void *)in[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(out[k]);
  return rc;
}
