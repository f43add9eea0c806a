/* bench_gemm.c: GFLOP/s of runtime_stub/gemm.h on square and ResNet-like
 * shapes (conv layers as GEMM: M = out channels, N = output pixels,
 * K = in channels * kh * kw), best of several runs, on 1 thread and (when
 * built with -fopenmp) on all of OpenMP's threads.
 *
 *   bench_gemm [--scalar] [--bias-relu] [--runs N] [--min-ms MS]
 *
 * --scalar times the portable micro-kernel on the SIMD layouts; --bias-relu
 * adds the fused per-row bias + ReLU epilogue (a conv+bias+relu).
 * The default build (-O2, no -march) times the portable kernel; the Makefile
 * also builds bench_gemm_native with -O2 -march=native -fopenmp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime_stub/gemm.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct { const char *name; int64_t M, N, K; } Shape;

static const Shape shapes[] = {
  {"square 512", 512, 512, 512},
  {"square 1024", 1024, 1024, 1024},
  {"conv2_x 3x3 (64x3136x576)", 64, 3136, 576},
  {"conv3_x 3x3 (128x784x1152)", 128, 784, 1152},
  {"conv4_x 3x3 (256x196x2304)", 256, 196, 2304},
  {"conv5_x 3x3 (512x49x4608)", 512, 49, 4608},
  {"fc (1000x1x512)", 1000, 1, 512},
  {"fc batch 8 (256x8x9216)", 256, 8, 9216},
};

/* best GFLOP/s over `runs` runs, each repeating the product for >= min_ms */
static double bench(const Shape *s, int nthreads, int runs, double min_ms, int scalar, int fused) {
  int64_t M = s->M, N = s->N, K = s->K;
  float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
  float *C = malloc(sizeof(float) * (size_t)(M * N));
  float *Ap = malloc(sizeof(float) * (size_t)jtc_gemm_packed_a_floats(M, K));
  size_t sb = jtc_gemm_scratch_bytes(N, K, nthreads);
  void *scratch = malloc(sb);
  for (int64_t i = 0; i < M * K; i++) A[i] = (float)((i * 7 % 13) - 6) / 8.0f;
  for (int64_t i = 0; i < K * N; i++) B[i] = (float)((i * 5 % 11) - 5) / 8.0f;
  jtc_gemm_pack_a(M, K, A, K, Ap);
  jtc_gemm_bmat bm = {B, N};
  jtc_gemm_epi epi;
  memset(&epi, 0, sizeof epi);
  epi.scalar = scalar;
  float *bias = malloc(sizeof(float) * (size_t)M);
  for (int64_t i = 0; i < M; i++) bias[i] = (float)(i % 5) - 2.0f;
  if (fused) epi.bias_row = bias, epi.clamp = 1, epi.lo = 0.0f, epi.hi = 3.4e38f;
  double best = 0, flops = 2.0 * (double)M * (double)N * (double)K;
  jtc_gemm(M, N, K, Ap, jtc_gemm_pack_b_rowmajor, &bm, C, N, 0, &epi, scratch, sb); /* warm-up */
  for (int r = 0; r < runs; r++) {
    int reps = 0;
    double t0 = now(), t;
    do {
      jtc_gemm(M, N, K, Ap, jtc_gemm_pack_b_rowmajor, &bm, C, N, 0, &epi, scratch, sb);
      reps++;
      t = now() - t0;
    } while (t * 1e3 < min_ms);
    double g = flops * reps / t * 1e-9;
    if (g > best) best = g;
  }
  free(A), free(B), free(C), free(Ap), free(scratch), free(bias);
  return best;
}

int main(int argc, char **argv) {
  int runs = 7, scalar = 0, fused = 0;
  double min_ms = 50;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scalar")) scalar = 1;
    else if (!strcmp(argv[i], "--bias-relu")) fused = 1;
    else if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc) min_ms = atof(argv[++i]);
    else { fprintf(stderr, "usage: bench_gemm [--scalar] [--bias-relu] [--runs N] [--min-ms MS]\n"); return 2; }
  }
  int nt = 1;
#ifdef _OPENMP
  nt = omp_get_max_threads();
#endif
  printf("jtc_gemm: isa=%s%s%s MR=%d NR=%d KC=%d NC=%d, best of %d runs (GFLOP/s)\n", JTC_GEMM_ISA,
         scalar ? " (scalar kernel forced)" : "", fused ? " +bias+relu" : "", JTC_GEMM_MR, JTC_GEMM_NR, JTC_GEMM_KC, JTC_GEMM_NCR, runs);
  printf("%-30s %10s", "shape (MxNxK)", "1 thread");
  if (nt > 1) printf(" %9d threads", nt);
  printf("\n");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    printf("%-30s %10.1f", shapes[i].name, bench(&shapes[i], 1, runs, min_ms, scalar, fused));
#ifdef _OPENMP
    if (nt > 1) {
      omp_set_num_threads(nt);
      printf(" %17.1f", bench(&shapes[i], nt, runs, min_ms, scalar, fused));
    }
#endif
    printf("\n");
    fflush(stdout);
  }
  return 0;
}
