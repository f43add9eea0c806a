/* timer.c: latency driver for a jtc-generated model, used by bench/bench.py.
 *
 * Build it together with the generated source (compiled with `--name net`):
 *   cc -std=c11 -O3 -march=native -fopenmp -I DIR DIR/net.c bench/timer.c -lm -o DIR/timer
 * Run:
 *   OMP_NUM_THREADS=1 DIR/timer [-n RUNS] [-w WARMUP] [-i INPUT.bin]... [-o OUTPUT.bin]
 *
 * Each -i names a raw little-endian file holding one input's bytes, in graph
 * order; inputs without one are filled with a fixed pattern (float32
 * sin(0.01 i), which suits every model of the benchmark). -o writes all outputs,
 * concatenated in graph order, after the timed runs. The weights load through
 * net_init(NULL) (embedded, or the .weights file named at compile time).
 *
 * Prints one line on stdout, e.g.
 *   jtc-timer runs=20 warmup=3 threads=1 median_ms=12.345 min_ms=12.001 mean_ms=12.400 max_ms=13.0 arena_bytes=4014080
 * Built with -DNET_PROFILE it then prints each kernel's mean time, slowest first.
 * Exit status: 0 ok, 1 init/run failure or bad arguments. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "net.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int usage(void) {
  fprintf(stderr, "usage: timer [-n RUNS] [-w WARMUP] [-i INPUT.bin]... [-o OUTPUT.bin]\n");
  return 1;
}

int main(int argc, char **argv) {
  int runs = 20, warmup = 3, n_in_files = 0;
  const char *in_files[NET_NUM_INPUTS > 0 ? NET_NUM_INPUTS : 1] = {0};
  const char *out_file = NULL;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-n") && a + 1 < argc) runs = atoi(argv[++a]);
    else if (!strcmp(argv[a], "-w") && a + 1 < argc) warmup = atoi(argv[++a]);
    else if (!strcmp(argv[a], "-o") && a + 1 < argc) out_file = argv[++a];
    else if (!strcmp(argv[a], "-i") && a + 1 < argc) {
      if (n_in_files >= NET_NUM_INPUTS) {
        fprintf(stderr, "timer: the model has %d input(s)\n", NET_NUM_INPUTS);
        return 1;
      }
      in_files[n_in_files++] = argv[++a];
    } else return usage();
  }
  if (runs < 1 || warmup < 0) return usage();

  void *in[NET_NUM_INPUTS > 0 ? NET_NUM_INPUTS : 1], *out[NET_NUM_OUTPUTS];
  for (int k = 0; k < NET_NUM_INPUTS; k++) {
    in[k] = calloc(1, net_input_sizes[k] + 1);
    if (!in[k]) return 1;
    if (k < n_in_files) {
      FILE *f = fopen(in_files[k], "rb");
      if (!f || fread(in[k], 1, net_input_sizes[k], f) != net_input_sizes[k]) {
        fprintf(stderr, "timer: %s: cannot read %zu bytes for input '%s'\n", in_files[k], net_input_sizes[k],
                net_input_names[k]);
        return 1;
      }
      fclose(f);
    } else {
      float *x = in[k];
      for (size_t i = 0; i < net_input_sizes[k] / sizeof(float); i++) x[i] = sinf(0.01f * (float)i);
    }
  }
  for (int k = 0; k < NET_NUM_OUTPUTS; k++)
    if (!(out[k] = calloc(1, net_output_sizes[k] + 1))) return 1;

  if (net_init(NULL)) {
    fprintf(stderr, "timer: net_init: %s\n", net_last_error());
    return 1;
  }
  for (int r = 0; r < warmup; r++)
    if (net_run((const void *const *)in, out)) {
      fprintf(stderr, "timer: net_run: %s\n", net_last_error());
      return 1;
    }
  double *t = malloc(sizeof *t * (size_t)runs), sum = 0;
  if (!t) return 1;
  for (int r = 0; r < runs; r++) {
    double t0 = now_ms();
    int rc = net_run((const void *const *)in, out);
    t[r] = now_ms() - t0;
    if (rc) {
      fprintf(stderr, "timer: net_run: %s\n", net_last_error());
      return 1;
    }
    sum += t[r];
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  double median = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);

  if (out_file) {
    FILE *f = fopen(out_file, "wb");
    if (!f) {
      fprintf(stderr, "timer: cannot write %s\n", out_file);
      return 1;
    }
    for (int k = 0; k < NET_NUM_OUTPUTS; k++)
      if (fwrite(out[k], 1, net_output_sizes[k], f) != net_output_sizes[k]) {
        fprintf(stderr, "timer: cannot write %s\n", out_file);
        return 1;
      }
    fclose(f);
  }
  int threads = 1;
#ifdef _OPENMP
  threads = omp_get_max_threads();
#endif
  printf("jtc-timer runs=%d warmup=%d threads=%d median_ms=%.4f min_ms=%.4f mean_ms=%.4f max_ms=%.4f "
         "arena_bytes=%zu\n",
         runs, warmup, threads, median, t[0], sum / runs, t[runs - 1], (size_t)NET_ARENA_BYTES);
#ifdef NET_PROFILE
  net_profile_print(stdout); /* built with -DNET_PROFILE: per-kernel times (warm-up runs included) */
#endif
  net_free();
  free(t);
  for (int k = 0; k < NET_NUM_INPUTS; k++) free(in[k]);
  for (int k = 0; k < NET_NUM_OUTPUTS; k++) free(out[k]);
  return 0;
}
