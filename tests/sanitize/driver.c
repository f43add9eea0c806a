/* driver.c: exercises a jtc-generated network's whole lifecycle for
 * tests/sanitize/run.sh, which builds it under ASan+UBSan and runs it under
 * valgrind. Built with a net.c made with `jtc --name net`:
 *
 *     cc ... -I WORK WORK/net.c tests/sanitize/driver.c -lm -o WORK/d
 *     WORK/d IN_0 ... IN_{n-1} WANT_0 ... WANT_{m-1} [SAVED.weights]
 *
 * IN_k: the raw bytes of graph input k; WANT_k: the expected raw bytes of output k.
 * The sequence is net_init, net_run twice, net_free, then net_init, net_run,
 * net_free again (a re-init after free must work), and every run's outputs must
 * match WANT (float32: |got - want| <= 1e-4 + 1e-3 |want|; other dtypes: equal bytes).
 * Inputs and outputs are malloc'd to their exact sizes and outputs are not
 * cleared, so a read past an input, a write past an output or an output element
 * left unwritten shows up under the sanitizers.
 *   -DSAN_EMBEDDED (a `jtc --embedded` build): runs once more through
 *     net_run_with_arena with a malloc'd, uninitialized arena of NET_ARENA_BYTES.
 *   A training build (net.h defines NET_NUM_TARGETS): after the checks above, three
 *     net_train_step calls (finite losses), net_save_weights(SAVED), then net_free,
 *     net_init(SAVED) must give bit-identical outputs to the run before the reload.
 * Exit status 0 when everything held, 1 otherwise (a line on stderr says why). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

#define NIN (NET_NUM_INPUTS > 0 ? NET_NUM_INPUTS : 1)
#define NOUT (NET_NUM_OUTPUTS > 0 ? NET_NUM_OUTPUTS : 1)

static int failures;

static void bad(const char *what, const char *detail) {
  fprintf(stderr, "driver: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  failures++;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "driver: out of memory\n");
    exit(1);
  }
  return p;
}

/* The whole file at path, which must hold exactly size bytes (malloc'd exactly size; NULL on error). */
static void *read_exact(const char *path, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    bad("cannot open", path);
    return NULL;
  }
  void *buf = xmalloc(size);
  size_t got = fread(buf, 1, size, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != size || extra) {
    bad("the file's size is not the tensor's", path);
    free(buf);
    return NULL;
  }
  return buf;
}

/* Output k of run `what` against want. */
static void check(int k, const void *got, const void *want, const char *what) {
  size_t n = net_output_sizes[k];
  if (strcmp(net_output_dtypes[k], "float32") != 0) {
    if (memcmp(got, want, n) != 0) bad("output differs from the test data", what);
    return;
  }
  const float *g = got, *w = want;
  for (size_t i = 0; i < n / sizeof(float); i++)
    if (!(fabs((double)g[i] - (double)w[i]) <= 1e-4 + 1e-3 * fabs((double)w[i]))) {
      fprintf(stderr, "driver: %s: output %d element %zu: got %.8g, want %.8g\n", what, k, i, g[i], w[i]);
      failures++;
      return;
    }
}

/* net_run (or with an arena) and compare every output with want. */
static void run_check(const void **in, void **out, void **want, const char *what, void *arena) {
#ifdef SAN_EMBEDDED
  int r = arena ? net_run_with_arena(in, out, arena) : net_run(in, out);
#else
  (void)arena;
  int r = net_run(in, out);
#endif
  if (r != 0) {
    bad(what, net_last_error());
    return;
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) check(k, out[k], want[k], what);
}

#ifdef NET_NUM_TARGETS
/* Three optimizer steps, save, reload from the saved file: the same outputs. */
static void train(const void **in, void **out, const char *saved) {
  const void *tg[NET_NUM_TARGETS];
  for (int k = 0; k < NET_NUM_TARGETS; k++) { /* class indices 0..9 (int64) for cross_entropy */
    long long *t = xmalloc(net_target_sizes[k]);
    for (size_t i = 0; i < net_target_sizes[k] / sizeof *t; i++) t[i] = (long long)((i * 7 + 3) % 10);
    tg[k] = t;
  }
  void *before[NOUT] = {0};
  if (net_init(NULL) != 0) bad("net_init before training", net_last_error());
  for (int s = 0; s < 3 && !failures; s++) {
    float loss = NAN;
    if (net_train_step(in, tg, &loss) != 0) bad("net_train_step", net_last_error());
    else if (!isfinite(loss)) bad("net_train_step: the loss is not finite", NULL);
  }
  if (!failures && net_save_weights(saved) != 0) bad("net_save_weights", net_last_error());
  if (!failures && net_run(in, out) != 0) bad("net_run after training", net_last_error());
  for (int k = 0; k < NET_NUM_OUTPUTS && !failures; k++)
    memcpy(before[k] = xmalloc(net_output_sizes[k]), out[k], net_output_sizes[k]);
  net_free();
  if (!failures && net_init(saved) != 0) bad("net_init of the saved weights", net_last_error());
  if (!failures && net_run(in, out) != 0) bad("net_run of the saved weights", net_last_error());
  for (int k = 0; k < NET_NUM_OUTPUTS && !failures; k++)
    if (memcmp(before[k], out[k], net_output_sizes[k]) != 0) bad("the reloaded weights give other outputs", saved);
  net_free();
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(before[k]);
  for (int k = 0; k < NET_NUM_TARGETS; k++) free((void *)tg[k]);
  if (!failures) printf("driver: 3 train steps, saved and reloaded %s\n", saved);
}
#endif

int main(int argc, char **argv) {
#ifdef NET_NUM_TARGETS
  const int want_args = 1 + NET_NUM_INPUTS + NET_NUM_OUTPUTS + 1;
#else
  const int want_args = 1 + NET_NUM_INPUTS + NET_NUM_OUTPUTS;
#endif
  if (argc != want_args) {
    fprintf(stderr, "driver: want %d file arguments, got %d\n", want_args - 1, argc - 1);
    return 1;
  }
  const void *in[NIN] = {0};
  void *out[NOUT] = {0}, *want[NOUT] = {0};
  for (int k = 0; k < NET_NUM_INPUTS; k++) in[k] = read_exact(argv[1 + k], net_input_sizes[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) {
    want[k] = read_exact(argv[1 + NET_NUM_INPUTS + k], net_output_sizes[k]);
    out[k] = xmalloc(net_output_sizes[k]);
  }
  if (!failures) {
    if (net_init(NULL) != 0) bad("net_init", net_last_error());
    else {
      run_check(in, out, want, "first run", NULL);
      run_check(in, out, want, "second run", NULL);
      net_free();
    }
    if (!failures && net_init(NULL) != 0) bad("net_init after net_free", net_last_error());
    else if (!failures) {
      run_check(in, out, want, "run after re-init", NULL);
#ifdef SAN_EMBEDDED
      void *arena = xmalloc(NET_ARENA_BYTES);
      run_check(in, out, want, "net_run_with_arena", arena);
      free(arena);
#endif
      net_free();
    }
  }
#ifdef NET_NUM_TARGETS
  if (!failures) train(in, out, argv[argc - 1]);
#endif
  for (int k = 0; k < NET_NUM_INPUTS; k++) free((void *)in[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(out[k]), free(want[k]);
  if (!failures) printf("driver: ok\n");
  return failures != 0;
}
