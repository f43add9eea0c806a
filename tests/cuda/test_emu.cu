/* test_emu.cu: checks tests/cuda/cuda_emu.h, the CUDA emulator generated .cu
 * files are tested with on machines without a GPU.
 *
 * Real CUDA: built by the host compiler against the emulator
 *   $(CXX) -std=c++17 -O1 -Wall -Wextra -Werror -x c++ -include tests/cuda/cuda_emu.h
 * and, when nvcc is there, compiled (not run) for sm_75 by nvcc_check.sh.
 * Kernels that must work: shared-memory tree reduction, warp-shuffle
 * reductions (partial warps too), atomics, a CAS-loop float max, 2-D and 3-D
 * index mapping, a captured graph replayed 3 times, warp matrix multiplies
 * (nvcuda::wmma, fp16 and tf32) against exact host sums. Kernels that must be
 * caught: a reduction missing its barriers (wrong result), a divergent
 * __syncthreads, a shuffle half the warp skips, a wmma call half the warp
 * skips or makes with another pointer, bad launch configurations.
 * One line per check; exit status 1 if any fails. `--bench` prints speeds. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_fp16.h>
#include <mma.h>

#ifndef JTC_LAUNCH
#define JTC_LAUNCH(kernel, grid, block, shmem, stream, ...) kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
#endif

#define FULL 0xffffffffu

static int failures;

static void check(bool ok, const char *name, const char *fmt, ...) {
  char detail[256] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", name, detail[0] ? ": " : "", detail);
  if (!ok) failures++;
}

static void *dalloc(size_t n) {
  void *p = NULL;
  if (cudaMalloc(&p, n) != cudaSuccess) {
    printf("FAIL cudaMalloc(%zu)\n", n);
    exit(1);
  }
  return p;
}

/* ---- kernels that must work ---- */

__global__ void tree_reduce(const float *__restrict__ x, float *__restrict__ out, int n) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < (unsigned)n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

/* Sums a block with shuffles: __shfl_down_sync within each warp (lanes past
 * a partial warp's end are skipped), the warps' sums through shared memory,
 * then __shfl_xor_sync in warp 0 and a __shfl_sync broadcast of lane 0. */
template <class T> __global__ void warp_sum(const T *__restrict__ x, T *__restrict__ out, int n) {
  __shared__ T part[32];
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const unsigned lanes = blockDim.x - warp * 32 < 32 ? blockDim.x - warp * 32 : 32;
  T v = i < (unsigned)n ? x[i] : (T)0;
  for (unsigned off = 16; off > 0; off >>= 1) {
    T o = __shfl_down_sync(FULL, v, off);
    if (lane + off < lanes) v += o;
  }
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) { /* blocks of at least 32 threads: warp 0 is whole */
    v = lane < (blockDim.x + 31) / 32 ? part[lane] : (T)0;
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(FULL, v, off);
    T b = __shfl_sync(FULL, v, 0);
    if (lane == 31) out[blockIdx.x] = b;
  }
}

/* Inclusive scan per 8-lane segment with __shfl_up_sync(width 8), and the
 * lane values a __shfl_down_sync from a lane past a partial warp's end gives. */
__global__ void warp_misc(const int *__restrict__ x, int *__restrict__ scan, float *__restrict__ past_end, unsigned *__restrict__ votes) {
  const unsigned lane = threadIdx.x & 31;
  int v = x[threadIdx.x];
  for (unsigned d = 1; d < 8; d <<= 1) {
    int o = __shfl_up_sync(FULL, v, d, 8);
    if ((lane & 7) >= d) v += o;
  }
  scan[threadIdx.x] = v;
  float f = __shfl_down_sync(FULL, (float)threadIdx.x, 4);
  past_end[threadIdx.x] = f;
  unsigned b = __ballot_sync(FULL, threadIdx.x % 3 == 0);
  int any = __any_sync(FULL, threadIdx.x == 5), all = __all_sync(FULL, threadIdx.x < 1000);
  __syncwarp();
  if (lane == 0) votes[(threadIdx.x >> 5) * 3] = b, votes[(threadIdx.x >> 5) * 3 + 1] = (unsigned)any, votes[(threadIdx.x >> 5) * 3 + 2] = (unsigned)all;
}

struct Sums {
  float f;
  int i;
  unsigned u;
  unsigned long long ull;
  double d;
  int imax, imin;
  unsigned umax;
  long long llmax, llmin;
  unsigned long long ullmin;
  int exch_count;
  int cas_count;
};

__global__ void atomics(Sums *s, int *exch, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;
  atomicAdd(&s->f, 1.0f);
  atomicAdd(&s->i, i % 7 - 3);
  atomicAdd(&s->u, 3u);
  atomicAdd(&s->ull, (unsigned long long)i * 1000003ull);
  atomicAdd(&s->d, 0.5);
  atomicMax(&s->imax, (i * 37) % 1001 - 500);
  atomicMin(&s->imin, (i * 37) % 1001 - 500);
  atomicMax(&s->umax, (unsigned)(i * 7919) % 65521u);
  atomicMax(&s->llmax, (long long)i * -3 + 5000000000ll);
  atomicMin(&s->llmin, (long long)i * -3 + 5000000000ll);
  atomicMin(&s->ullmin, 123456789ull + (unsigned long long)((i * 31) % 977));
  if (atomicExch(&exch[i % 16], i) >= 0) atomicAdd(&s->exch_count, 1); /* every slot starts at -1: 16 firsts */
  int old = atomicCAS(&s->cas_count, i, i + 1);                          /* only the thread whose turn it is */
  (void)old;
}

__device__ float atomic_max_float(float *addr, float v) {
  int *a = (int *)addr, old = *a, assumed;
  do {
    assumed = old;
    if (__int_as_float(assumed) >= v) break;
    old = atomicCAS(a, assumed, __float_as_int(v));
  } while (assumed != old);
  return __int_as_float(old);
}

__device__ double atomic_max_double(double *addr, double v) {
  unsigned long long *a = (unsigned long long *)addr, old = *a, assumed;
  do {
    assumed = old;
    if (__longlong_as_double((long long)assumed) >= v) break;
    old = atomicCAS(a, assumed, (unsigned long long)__double_as_longlong(v));
  } while (assumed != old);
  return __longlong_as_double((long long)old);
}

__global__ void cas_max(const float *__restrict__ x, float *m, double *md, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) {
    atomic_max_float(m, __ldg(&x[i]));
    atomic_max_double(md, (double)x[i] * 2.0);
  }
}

/* out = in^T through a 32x33 shared tile, blocks of 32x8, a 2-D grid */
__global__ void transpose(const float *__restrict__ in, float *__restrict__ out, int w, int h) {
  __shared__ float tile[32][33];
  unsigned x = blockIdx.x * 32 + threadIdx.x, y = blockIdx.y * 32 + threadIdx.y;
  for (unsigned j = 0; j < 32; j += blockDim.y)
    if (x < (unsigned)w && y + j < (unsigned)h) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * w + x];
  __syncthreads();
  x = blockIdx.y * 32 + threadIdx.x, y = blockIdx.x * 32 + threadIdx.y;
  for (unsigned j = 0; j < 32; j += blockDim.y)
    if (x < (unsigned)h && y + j < (unsigned)w) out[(y + j) * h + x] = tile[threadIdx.x][threadIdx.y + j];
}

/* each thread of a 3-D grid of 3-D blocks writes its coordinates at its global position */
__global__ void coords3(int4 *out) {
  const unsigned gx = blockIdx.x * blockDim.x + threadIdx.x, gy = blockIdx.y * blockDim.y + threadIdx.y,
                 gz = blockIdx.z * blockDim.z + threadIdx.z;
  const unsigned W = gridDim.x * blockDim.x, H = gridDim.y * blockDim.y;
  out[(gz * H + gy) * W + gx] = make_int4((int)gx, (int)gy, (int)gz, warpSize);
}

__global__ void add_scalar(int *c, int inc, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) c[i] += inc;
}

__global__ void twice(const int *__restrict__ c, int *__restrict__ d, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) d[i] = 2 * c[i];
}

__global__ void take_float(float *out, float v, long long w) {
  if (threadIdx.x == 0 && blockIdx.x == 0) out[0] = v, out[1] = (float)w;
}

/* ---- kernels that must be caught ---- */

__global__ void tree_reduce_no_barriers(const float *__restrict__ x, float *__restrict__ out, int n) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < (unsigned)n ? x[i] : 0.0f;
  for (unsigned h = blockDim.x / 2; h > 0; h >>= 1)
    if (t < h) s[t] += s[t + h];
  if (t == 0) out[blockIdx.x] = s[0];
}

__global__ void tree_reduce_no_first_barrier(const float *__restrict__ x, float *__restrict__ out, int n) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < (unsigned)n ? x[i] : 0.0f;
  for (unsigned h = blockDim.x / 2; h > 0; h >>= 1) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

__global__ void divergent_barrier(int *out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void two_barrier_sites(int *out) {
  if (threadIdx.x < 32) {
    out[threadIdx.x] = 1;
    __syncthreads();
  } else {
    __syncthreads();
    out[threadIdx.x] = 2;
  }
}

__global__ void half_warp_shuffle(float *out) {
  float v = (float)threadIdx.x;
  if ((threadIdx.x & 31) < 16) v += __shfl_down_sync(FULL, v, 8);
  out[threadIdx.x] = v;
}

__global__ void barrier_vs_shuffle(float *out) {
  float v = (float)threadIdx.x;
  if (threadIdx.x < 8) __syncthreads();
  else v = __shfl_xor_sync(FULL, v, 1);
  out[threadIdx.x] = v;
}

/* sums 64 shared floats of which the block wrote 32 */
__global__ void half_written_shared(float *out) {
  __shared__ float s[64];
  if (threadIdx.x < 32) s[threadIdx.x] = 1.0f;
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (int i = 0; i < 64; i++) sum += s[i];
    out[blockIdx.x] = sum;
  }
}

__global__ void noop(int *out) {
  if (out && threadIdx.x == 1000000) out[0] = 0;
}

/* C = A B for one 16x16 tile, A row-major and B column-major (ld 16), C row-major */
__global__ void wmma_f16(const __half *a, const __half *b, float *c) {
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __half, nvcuda::wmma::row_major> fa;
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, __half, nvcuda::wmma::col_major> fb;
  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float> fc;
  nvcuda::wmma::load_matrix_sync(fc, c, 16, nvcuda::wmma::mem_row_major); /* C += A B */
  nvcuda::wmma::load_matrix_sync(fa, a, 16);
  nvcuda::wmma::load_matrix_sync(fb, b, 16);
  nvcuda::wmma::mma_sync(fc, fa, fb, fc);
  nvcuda::wmma::store_matrix_sync(c, fc, 16, nvcuda::wmma::mem_row_major);
}

/* C = A B with K = 16 as two tf32 steps, A col-major and B row-major, C column-major; the
 * fragments' elements rounded to tf32 in place, as CUDA's guide does it */
__global__ void wmma_tf32(const float *a, const float *b, float *c) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 8, float> fc;
  nvcuda::wmma::fill_fragment(fc, 0.0f);
  for (int k = 0; k < 16; k += 8) {
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 8, nvcuda::wmma::precision::tf32, nvcuda::wmma::col_major> fa;
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 8, nvcuda::wmma::precision::tf32, nvcuda::wmma::row_major> fb;
    nvcuda::wmma::load_matrix_sync(fa, a + k * 16, 16);
    nvcuda::wmma::load_matrix_sync(fb, b + k * 16, 16);
    for (int i = 0; i < fa.num_elements; i++) fa.x[i] = nvcuda::wmma::__float_to_tf32(fa.x[i]);
    for (int i = 0; i < fb.num_elements; i++) fb.x[i] = nvcuda::wmma::__float_to_tf32(fb.x[i]);
    nvcuda::wmma::mma_sync(fc, fa, fb, fc);
  }
  nvcuda::wmma::store_matrix_sync(c, fc, 16, nvcuda::wmma::mem_col_major);
#else
  (void)a, (void)b, (void)c;
#endif
}

/* lanes 0-15 load a fragment, lanes 16-31 do not */
__global__ void half_warp_wmma(const __half *a, float *out) {
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __half, nvcuda::wmma::row_major> fa;
  if (threadIdx.x < 16) nvcuda::wmma::load_matrix_sync(fa, a, 16);
  out[threadIdx.x] = 1.0f;
}

/* each half of the warp loads from its own pointer */
__global__ void split_pointer_wmma(const __half *a, float *out) {
  nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, __half, nvcuda::wmma::row_major> fa;
  nvcuda::wmma::load_matrix_sync(fa, a + (threadIdx.x < 16 ? 0 : 256), 16);
  out[threadIdx.x] = 1.0f;
}

/* ---- checks ---- */

/* small integers, not periodic (stale partial sums must not add up by chance): every float sum is exact */
static float val(int i) { return (float)((int)((unsigned)i * 2654435761u >> 22) % 64 - 32); }

static void test_tree_reduce(void) {
  const int n = 64 * 256 + 100, nb = (n + 255) / 256;
  float *hx = (float *)malloc(n * sizeof(float)), hout[nb], want[nb];
  memset(want, 0, sizeof want);
  for (int i = 0; i < n; i++) hx[i] = val(i), want[i / 256] += val(i);
  float *x = (float *)dalloc(n * sizeof(float)), *out = (float *)dalloc(nb * sizeof(float));
  cudaMemcpy(x, hx, n * sizeof(float), cudaMemcpyHostToDevice);

  JTC_LAUNCH(tree_reduce, nb, 256, 0, 0, x, out, n);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(hout, out, sizeof hout, cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int b = 0; b < nb; b++) bad += hout[b] != want[b];
  check(e == cudaSuccess && bad == 0, "shared-memory tree reduction with __syncthreads", "%d of %d blocks wrong, %s", bad, nb,
        cudaGetErrorString(e));

  const char *names[2] = {"tree reduction without barriers gives a wrong result",
                          "tree reduction without the barrier after the stores gives a wrong result"};
  for (int v = 0; v < 2; v++) {
    if (v == 0) JTC_LAUNCH(tree_reduce_no_barriers, nb, 256, 0, 0, x, out, n);
    else JTC_LAUNCH(tree_reduce_no_first_barrier, nb, 256, 0, 0, x, out, n);
    e = cudaDeviceSynchronize();
    cudaMemcpy(hout, out, sizeof hout, cudaMemcpyDeviceToHost);
    bad = 0;
    for (int b = 0; b < nb; b++) bad += hout[b] != want[b];
    check(e == cudaSuccess && bad > 0, names[v], "%d of %d blocks wrong", bad, nb);
  }
  cudaFree(x), cudaFree(out), free(hx);
}

template <class T> static void test_warp_sum(const char *type, int block) {
  const int n = 5000, nb = (n + block - 1) / block;
  T *hx = (T *)malloc(n * sizeof(T)), *hout = (T *)malloc(nb * sizeof(T)), *want = (T *)calloc(nb, sizeof(T));
  for (int i = 0; i < n; i++) hx[i] = (T)(i % 13 + 1), want[i / block] += hx[i];
  T *x = (T *)dalloc(n * sizeof(T)), *out = (T *)dalloc(nb * sizeof(T));
  cudaMemcpy(x, hx, n * sizeof(T), cudaMemcpyHostToDevice);
  JTC_LAUNCH(warp_sum<T>, nb, block, 0, 0, x, out, n);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(hout, out, nb * sizeof(T), cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int b = 0; b < nb; b++) bad += hout[b] != want[b];
  char name[96];
  snprintf(name, sizeof name, "warp-shuffle reduction, %s, blocks of %d", type, block);
  check(e == cudaSuccess && bad == 0, name, "%d of %d blocks wrong, %s", bad, nb, cudaGetErrorString(e));
  cudaFree(x), cudaFree(out), free(hx), free(hout), free(want);
}

static void test_warp_misc(void) {
  const int nt = 48;
  int hx[nt], hscan[nt];
  float hpast[nt];
  unsigned hvotes[6];
  for (int i = 0; i < nt; i++) hx[i] = i % 5 + 1;
  int *x = (int *)dalloc(sizeof hx), *scan = (int *)dalloc(sizeof hscan);
  float *past = (float *)dalloc(sizeof hpast);
  unsigned *votes = (unsigned *)dalloc(sizeof hvotes);
  cudaMemcpy(x, hx, sizeof hx, cudaMemcpyHostToDevice);
  JTC_LAUNCH(warp_misc, 1, nt, 0, 0, x, scan, past, votes);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(hscan, scan, sizeof hscan, cudaMemcpyDeviceToHost);
  cudaMemcpy(hpast, past, sizeof hpast, cudaMemcpyDeviceToHost);
  cudaMemcpy(hvotes, votes, sizeof hvotes, cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int i = 0; i < nt; i++) {
    int want = 0;
    for (int j = i & ~7; j <= i; j++) want += hx[j];
    bad += hscan[i] != want;
  }
  check(e == cudaSuccess && bad == 0, "__shfl_up_sync inclusive scan in 8-lane segments", "%d of %d wrong", bad, nt);
  /* lanes 0-27 of warp 0 read lane + 4; 28-31 keep their own value (past the segment) */
  bad = 0;
  for (int i = 0; i < 32; i++) bad += hpast[i] != (float)(i < 28 ? i + 4 : i);
  /* warp 1 has 16 lanes: 32..43 read 36..47, 44..47 read lanes that do not exist */
  for (int i = 32; i < 44; i++) bad += hpast[i] != (float)(i + 4);
#ifdef JTC_CUDA_EMU
  for (int i = 44; i < 48; i++) bad += !isnan(hpast[i]); /* the emulator's poison */
#endif
  check(e == cudaSuccess && bad == 0, "__shfl_down_sync at the end of a full and a partial warp", "%d wrong", bad);
  unsigned b0 = 0, b1 = 0;
  for (int i = 0; i < 32; i++) b0 |= (unsigned)(i % 3 == 0) << i;
  for (int i = 32; i < 48; i++) b1 |= (unsigned)(i % 3 == 0) << (i - 32);
  check(hvotes[0] == b0 && hvotes[1] == 1 && hvotes[2] == 1 && hvotes[3] == b1 && hvotes[4] == 0 && hvotes[5] == 1,
        "__ballot_sync, __any_sync, __all_sync, __syncwarp", "ballots %08x %08x any %u %u all %u %u", hvotes[0], hvotes[3], hvotes[1], hvotes[4],
        hvotes[2], hvotes[5]);
  cudaFree(x), cudaFree(scan), cudaFree(past), cudaFree(votes);
}

static void test_atomics(void) {
  const int n = 100000;
  Sums h, want;
  memset(&h, 0, sizeof h);
  h.imax = -1000000, h.imin = 1000000, h.llmax = -1, h.llmin = 1ll << 62, h.ullmin = ~0ull;
  want = h;
  int hexch[16];
  for (int k = 0; k < 16; k++) hexch[k] = -1;
  for (int i = 0; i < n; i++) {
    int m = (i * 37) % 1001 - 500;
    long long l = (long long)i * -3 + 5000000000ll;
    unsigned long long um = 123456789ull + (unsigned long long)((i * 31) % 977);
    want.f += 1.0f, want.i += i % 7 - 3, want.u += 3u, want.ull += (unsigned long long)i * 1000003ull, want.d += 0.5;
    want.imax = m > want.imax ? m : want.imax, want.imin = m < want.imin ? m : want.imin;
    want.umax = (unsigned)(i * 7919) % 65521u > want.umax ? (unsigned)(i * 7919) % 65521u : want.umax;
    want.llmax = l > want.llmax ? l : want.llmax, want.llmin = l < want.llmin ? l : want.llmin;
    want.ullmin = um < want.ullmin ? um : want.ullmin;
  }
  want.exch_count = n - 16;
  Sums *s = (Sums *)dalloc(sizeof(Sums));
  int *exch = (int *)dalloc(sizeof hexch);
  cudaMemcpy(s, &h, sizeof h, cudaMemcpyHostToDevice);
  cudaMemcpy(exch, hexch, sizeof hexch, cudaMemcpyHostToDevice);
  JTC_LAUNCH(atomics, (n + 255) / 256, 256, 0, 0, s, exch, n);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(&h, s, sizeof h, cudaMemcpyDeviceToHost);
  check(e == cudaSuccess && h.f == want.f && h.i == want.i && h.u == want.u && h.ull == want.ull && h.d == want.d,
        "atomicAdd of float, int, unsigned, unsigned long long, double from 100000 threads", "float %.1f/%.1f int %d/%d ull %llu/%llu", h.f,
        want.f, h.i, want.i, h.ull, want.ull);
  check(h.imax == want.imax && h.imin == want.imin && h.umax == want.umax && h.llmax == want.llmax && h.llmin == want.llmin &&
            h.ullmin == want.ullmin,
        "atomicMax, atomicMin of int, unsigned, long long, unsigned long long", "int %d %d, ll %lld %lld", h.imax, h.imin, h.llmax, h.llmin);
  check(h.exch_count == want.exch_count, "atomicExch", "%d of %d saw a previous thread's value", h.exch_count, want.exch_count);
  /* atomicCAS(&c, i, i + 1) succeeds for thread i only if 0..i-1 went first: at least thread 0 does */
  check(h.cas_count >= 1 && h.cas_count <= n, "atomicCAS increments in turn", "count %d", h.cas_count);
  cudaFree(s), cudaFree(exch);

  const int m = 77777;
  float *hx = (float *)malloc(m * sizeof(float)), wmax = -INFINITY, hm = -INFINITY;
  double hd = -INFINITY;
  for (int i = 0; i < m; i++) {
    hx[i] = (float)((i * 7919) % 100003) * 0.37f - 12345.0f;
    wmax = hx[i] > wmax ? hx[i] : wmax;
  }
  float *x = (float *)dalloc(m * sizeof(float)), *dm = (float *)dalloc(sizeof(float));
  double *dd = (double *)dalloc(sizeof(double));
  cudaMemcpy(x, hx, m * sizeof(float), cudaMemcpyHostToDevice);
  cudaMemcpy(dm, &hm, sizeof hm, cudaMemcpyHostToDevice);
  cudaMemcpy(dd, &hd, sizeof hd, cudaMemcpyHostToDevice);
  JTC_LAUNCH(cas_max, (m + 127) / 128, 128, 0, 0, x, dm, dd, m);
  e = cudaDeviceSynchronize();
  cudaMemcpy(&hm, dm, sizeof hm, cudaMemcpyDeviceToHost);
  cudaMemcpy(&hd, dd, sizeof hd, cudaMemcpyDeviceToHost);
  check(e == cudaSuccess && hm == wmax && hd == 2.0 * wmax, "atomicCAS loops: float max, double max", "%g/%g, %g/%g", hm, wmax, hd,
        2.0 * wmax);
  cudaFree(x), cudaFree(dm), cudaFree(dd), free(hx);
}

static void test_mapping(void) {
  const int w = 100, h = 70;
  float *hin = (float *)malloc(w * h * sizeof(float)), *hout = (float *)malloc(w * h * sizeof(float));
  for (int i = 0; i < w * h; i++) hin[i] = (float)i;
  float *in = (float *)dalloc(w * h * sizeof(float)), *out = (float *)dalloc(w * h * sizeof(float));
  cudaMemcpy(in, hin, w * h * sizeof(float), cudaMemcpyHostToDevice);
  JTC_LAUNCH(transpose, dim3((w + 31) / 32, (h + 31) / 32), dim3(32, 8), 0, 0, in, out, w, h);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(hout, out, w * h * sizeof(float), cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) bad += hout[x * h + y] != hin[y * w + x];
  check(e == cudaSuccess && bad == 0, "2-D grid of 32x8 blocks: shared-tile transpose of 70x100", "%d wrong", bad);
  cudaFree(in), cudaFree(out), free(hin), free(hout);

  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const int W = 12, H = 6, D = 4;
  int4 *c = (int4 *)dalloc(W * H * D * sizeof(int4)), *hc = (int4 *)malloc(W * H * D * sizeof(int4));
  JTC_LAUNCH(coords3, grid, block, 0, 0, c);
  e = cudaDeviceSynchronize();
  cudaMemcpy(hc, c, W * H * D * sizeof(int4), cudaMemcpyDeviceToHost);
  bad = 0;
  for (int z = 0; z < D; z++)
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int4 v = hc[(z * H + y) * W + x];
        bad += v.x != x || v.y != y || v.z != z || v.w != 32;
      }
  check(e == cudaSuccess && bad == 0, "3-D grid (3,2,2) of 3-D blocks (4,3,2): coordinates", "%d wrong", bad);
  cudaFree(c), free(hc);

  float *f = (float *)dalloc(2 * sizeof(float)), hf[2];
  int calls = 0;
  JTC_LAUNCH(take_float, 2, 64, 0, 0, f, 2.5, calls++ + 40);
  e = cudaDeviceSynchronize();
  cudaMemcpy(hf, f, sizeof hf, cudaMemcpyDeviceToHost);
  check(e == cudaSuccess && hf[0] == 2.5f && hf[1] == 40.0f && calls == 1, "launch arguments convert and evaluate once", "%g %g, %d calls",
        hf[0], hf[1], calls);
  cudaFree(f);
}

#ifdef JTC_CUDA_EMU
/* x rounded to tf32 to nearest, ties away from zero (cvt.rna), on the host */
static float tf32_rna(float x) {
  unsigned u;
  memcpy(&u, &x, 4);
  u = (u + 0x1000u) & 0xffffe000u;
  memcpy(&x, &u, 4);
  return x;
}

#endif

static void test_wmma(void) {
  /* fp16 conversion: to nearest even, as cuda_fp16.h documents */
  const struct { float f; unsigned short h; } cv[] = {
      {1.0f, 0x3c00}, {-2.5f, 0xc100}, {1.0f + 0x1p-11f, 0x3c00} /* a tie: to even */, {1.0f + 3 * 0x1p-11f, 0x3c02},
      {65504.0f, 0x7bff}, {65520.0f, 0x7c00} /* rounds past the largest: inf */, {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000},
  };
  bool conv_ok = true;
  for (const auto &t : cv) {
    __half h = __float2half(t.f);
    unsigned short bits;
    memcpy(&bits, &h, 2);
    if (bits != t.h) conv_ok = false, printf("     __float2half(%a) = 0x%04x, want 0x%04x\n", t.f, bits, t.h);
    float back = __half2float(h);
    if (t.h != 0x7c00 && t.h != 0 && back != (t.h == 0x3c00 ? 1.0f : t.h == 0x3c02 ? 1.0f + 0x1p-9f : t.f))
      conv_ok = false, printf("     __half2float(0x%04x) = %a\n", t.h, back);
  }
  check(conv_ok, "__float2half rounds to nearest even, __half2float is exact", "");

  /* fp16: inputs are multiples of 1/8 below 4 (exact in fp16), so every sum is exact */
  float ha[256], hb[256], hc[256], want[256];
  __half a16[256], b16[256];
  for (int i = 0; i < 256; i++) {
    ha[i] = val(i) / 8, hb[i] = val(i + 300) / 8, hc[i] = val(i + 600);
    a16[i] = __float2half(ha[i]), b16[i] = __float2half(hb[i]);
  }
  for (int r = 0; r < 16; r++)
    for (int c = 0; c < 16; c++) {
      double sum = hc[r * 16 + c];
      for (int k = 0; k < 16; k++) sum += (double)ha[r * 16 + k] * hb[c * 16 + k]; /* B column-major */
      want[r * 16 + c] = (float)sum;
    }
  __half *da = (__half *)dalloc(sizeof a16), *db = (__half *)dalloc(sizeof b16);
  float *dc = (float *)dalloc(sizeof hc), got[256];
  cudaMemcpy(da, a16, sizeof a16, cudaMemcpyHostToDevice);
  cudaMemcpy(db, b16, sizeof b16, cudaMemcpyHostToDevice);
  cudaMemcpy(dc, hc, sizeof hc, cudaMemcpyHostToDevice);
  JTC_LAUNCH(wmma_f16, 1, 32, 0, 0, da, db, dc);
  cudaError_t e = cudaDeviceSynchronize();
  cudaMemcpy(got, dc, sizeof got, cudaMemcpyDeviceToHost);
  int bad = 0;
  for (int i = 0; i < 256; i++) bad += got[i] != want[i];
  check(e == cudaSuccess && !bad, "wmma 16x16x16 fp16: C += A B exactly (A row-major, B column-major)", "%s, %d of 256 differ",
        cudaGetErrorName(e), bad);

#ifdef JTC_CUDA_EMU /* sm_80's MMA: nvcc_check.sh builds this file for sm_75 */
  /* tf32: inputs with bits below tf32's 10 mantissa bits, rounded in the fragments; the
   * rounded values have 11 significant bits and |x| < 32, so sums of 16 products are exact */
  float fa[256], fb[256];
  for (int i = 0; i < 256; i++) {
    fa[i] = val(i) / 4 + (float)(i % 7) * 0x1p-14f * (i % 2 ? 1 : -1);
    fb[i] = val(i + 77) / 4 + (float)(i % 5) * 0x1p-13f;
  }
  fa[3] = 1.0f + 0x1p-11f; /* a tie: away from zero, to 1 + 2^-10 */
  for (int r = 0; r < 16; r++)
    for (int c = 0; c < 16; c++) {
      double sum = 0;
      for (int k = 0; k < 16; k++) sum += (double)tf32_rna(fa[k * 16 + r]) * tf32_rna(fb[k * 16 + c]); /* A col-major, B row-major */
      want[c * 16 + r] = (float)sum;                                                                 /* C col-major */
    }
  float *fda = (float *)dalloc(sizeof fa), *fdb = (float *)dalloc(sizeof fb);
  cudaMemcpy(fda, fa, sizeof fa, cudaMemcpyHostToDevice);
  cudaMemcpy(fdb, fb, sizeof fb, cudaMemcpyHostToDevice);
  JTC_LAUNCH(wmma_tf32, 1, 32, 0, 0, fda, fdb, dc);
  e = cudaDeviceSynchronize();
  cudaMemcpy(got, dc, sizeof got, cudaMemcpyDeviceToHost);
  bad = 0;
  for (int i = 0; i < 256; i++) bad += got[i] != want[i];
  check(e == cudaSuccess && !bad && tf32_rna(1.0f + 0x1p-11f) == 1.0f + 0x1p-10f, "wmma 16x16x8 tf32: __float_to_tf32 rounds, then C = A B exactly",
        "%s, %d of 256 differ", cudaGetErrorName(e), bad);
  cudaFree(fda), cudaFree(fdb);
#endif
  cudaFree(da), cudaFree(db), cudaFree(dc);
}

static void test_graph(void) {
  const int n = 300;
  int *c = (int *)dalloc(n * sizeof(int)), *d = (int *)dalloc(n * sizeof(int)), *e2 = (int *)dalloc(n * sizeof(int));
  int *scratch = (int *)dalloc(n * sizeof(int)), *host = (int *)malloc(n * sizeof(int)), *hd = (int *)malloc(n * sizeof(int));
  cudaMemset(c, 0, n * sizeof(int));
  cudaMemset(d, 0, n * sizeof(int));
  cudaMemset(scratch, 0x7f, n * sizeof(int));
  for (int i = 0; i < n; i++) host[i] = -1;
  cudaStream_t s;
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  int inc = 1;
  cudaError_t e = cudaStreamCreate(&s);
  if (e == cudaSuccess) e = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
  if (e == cudaSuccess) e = cudaMemsetAsync(scratch, 0, n * sizeof(int), s);
  JTC_LAUNCH(add_scalar, (n + 127) / 128, 128, 0, s, c, inc, n);
  if (e == cudaSuccess) e = cudaGetLastError();
  JTC_LAUNCH(twice, (n + 63) / 64, 64, 0, s, c, d, n);
  if (e == cudaSuccess) e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaMemcpyAsync(e2, d, n * sizeof(int), cudaMemcpyDeviceToDevice, s);
  if (e == cudaSuccess) e = cudaMemcpyAsync(host, e2, n * sizeof(int), cudaMemcpyDeviceToHost, s);
  cudaError_t end = cudaStreamEndCapture(s, &graph);
  if (e == cudaSuccess) e = end;
#if CUDART_VERSION >= 12000
  if (e == cudaSuccess) e = cudaGraphInstantiate(&exec, graph, 0);
#else
  if (e == cudaSuccess) e = cudaGraphInstantiate(&exec, graph, NULL, NULL, 0);
#endif
  check(e == cudaSuccess, "capture and instantiate a graph: memset, 2 kernels, 2 copies", "%s", cudaGetErrorString(e));
  if (e != cudaSuccess) return;
  cudaMemcpy(hd, scratch, n * sizeof(int), cudaMemcpyDeviceToHost);
  check(hd[0] == 0x7f7f7f7f && host[0] == -1, "nothing runs during the capture", "scratch %08x host %d", (unsigned)hd[0], host[0]);
  inc = 100; /* the graph keeps the value it captured */
  for (int r = 1; r <= 3; r++) {
    for (int i = 0; i < n; i++) host[i] = -1;
    e = cudaGraphLaunch(exec, s);
    if (e == cudaSuccess) e = cudaStreamSynchronize(s);
    cudaMemcpy(hd, c, n * sizeof(int), cudaMemcpyDeviceToHost);
    int bad = 0;
    for (int i = 0; i < n; i++) bad += hd[i] != r || host[i] != 2 * r;
    cudaMemcpy(hd, scratch, n * sizeof(int), cudaMemcpyDeviceToHost);
    bad += hd[0] != 0 || hd[n - 1] != 0;
    char name[64];
    snprintf(name, sizeof name, "graph replay %d of 3", r);
    check(e == cudaSuccess && bad == 0, name, "%d wrong, %s", bad, cudaGetErrorString(e));
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);

  /* a cudaMalloc inside a capture is refused and spoils the capture */
  void *p = NULL;
  e = cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
  cudaError_t m = cudaMalloc(&p, 64);
  end = cudaStreamEndCapture(s, &graph);
  check(e == cudaSuccess && m == cudaErrorStreamCaptureUnsupported && end == cudaErrorStreamCaptureInvalidated,
        "cudaMalloc during a capture fails and invalidates it", "%s, %s", cudaGetErrorName(m), cudaGetErrorName(end));
  cudaGetLastError();
  cudaStreamDestroy(s);
  cudaFree(c), cudaFree(d), cudaFree(e2), cudaFree(scratch), free(host), free(hd);
}

/* A launch that fails must be reported by the sync and by cudaGetLastError;
 * cudaDeviceReset clears the sticky error afterwards. */
static void expect_launch_failure(const char *name, int which) {
  int *out = (int *)dalloc(64 * sizeof(int));
  switch (which) {
  case 0: JTC_LAUNCH(divergent_barrier, 2, 64, 0, 0, out); break;
  case 1: JTC_LAUNCH(half_warp_shuffle, 1, 64, 0, 0, (float *)out); break;
  case 2: JTC_LAUNCH(two_barrier_sites, 1, 64, 0, 0, out); break;
  case 3: JTC_LAUNCH(barrier_vs_shuffle, 1, 64, 0, 0, (float *)out); break;
  default: {
    __half *a = (__half *)dalloc(512 * sizeof(__half));
    if (which == 4) JTC_LAUNCH(half_warp_wmma, 1, 32, 0, 0, a, (float *)out);
    else if (which == 5) JTC_LAUNCH(split_pointer_wmma, 1, 32, 0, 0, a, (float *)out);
    else JTC_LAUNCH(split_pointer_wmma, 1, 32, 0, 0, a + 1, (float *)out); /* 2 bytes past 32-byte alignment */
    break;
  }
  }
  cudaError_t sync = cudaDeviceSynchronize(), last = cudaGetLastError();
  int h[1];
  cudaError_t copy = cudaMemcpy(h, out, sizeof h, cudaMemcpyDeviceToHost);
  check(sync != cudaSuccess && last != cudaSuccess && copy != cudaSuccess, name, "sync: %s, cudaGetLastError: %s, a later cudaMemcpy: %s",
        cudaGetErrorName(sync), cudaGetErrorName(last), cudaGetErrorName(copy));
  cudaDeviceReset(); /* frees out */
}

static void test_caught(void) {
  expect_launch_failure("divergent __syncthreads (threads 16-63 exit) is reported", 0);
  expect_launch_failure("shuffle that lanes 16-31 skip is reported", 1);
  expect_launch_failure("__syncthreads at two call sites is reported", 2);
  expect_launch_failure("a barrier against a shuffle is reported", 3);
#ifdef JTC_CUDA_EMU /* CUDA leaves these undefined; the emulator stops them */
  expect_launch_failure("a wmma load that lanes 16-31 skip is reported", 4);
  expect_launch_failure("a wmma load with a pointer that differs across the warp is reported", 5);
  expect_launch_failure("a wmma load from a pointer not 32-byte aligned is reported", 6);
#endif
  cudaError_t e = cudaDeviceSynchronize();
  check(e == cudaSuccess, "cudaDeviceReset clears the sticky error", "%s", cudaGetErrorName(e));

  int *out = (int *)dalloc(sizeof(int));
  const struct { dim3 grid, block; const char *what; } bad[] = {
      {dim3(1), dim3(1025), "block of 1025 threads"},
      {dim3(1), dim3(32, 32, 2), "block (32,32,2)"},
      {dim3(1), dim3(1, 1, 65), "block z of 65"},
      {dim3(0), dim3(32), "grid of 0 blocks"},
      {dim3(1, 0, 1), dim3(32), "grid y of 0"},
      {dim3(1), dim3(0), "block of 0 threads"},
      {dim3(1, 65536), dim3(32), "grid y of 65536"},
  };
  for (const auto &b : bad) {
    JTC_LAUNCH(noop, b.grid, b.block, 0, 0, out);
    cudaError_t last = cudaGetLastError(), after = cudaGetLastError(), sync = cudaDeviceSynchronize();
    char name[80];
    snprintf(name, sizeof name, "launch with a %s: cudaErrorInvalidConfiguration", b.what);
    check(last == cudaErrorInvalidConfiguration && after == cudaSuccess && sync == cudaSuccess, name, "%s, then %s, sync %s",
          cudaGetErrorName(last), cudaGetErrorName(after), cudaGetErrorName(sync));
  }
  JTC_LAUNCH(noop, 1, 1024, 0, 0, out);
  e = cudaGetLastError();
  check(e == cudaSuccess, "launch with a block of 1024 threads", "%s", cudaGetErrorName(e));
#ifdef JTC_CUDA_EMU
  JTC_LAUNCH(noop, 1, 32, 16, 0, out);
  e = cudaGetLastError();
  check(e == cudaErrorNotSupported, "dynamic shared memory is refused by the emulator", "%s", cudaGetErrorName(e));
  int h[4];
  e = cudaMemcpy(h, h + 1, sizeof(int), cudaMemcpyHostToDevice);
  cudaError_t e2 = cudaMemcpy(h, out, 2 * sizeof(int), cudaMemcpyDeviceToHost);
  check(e == cudaErrorInvalidValue && e2 == cudaErrorInvalidValue, "the emulator refuses copies outside device allocations", "%s, %s",
        cudaGetErrorName(e), cudaGetErrorName(e2));
  cudaGetLastError();
  float *sums = (float *)dalloc(3 * sizeof(float)), hs[3];
  JTC_LAUNCH(half_written_shared, 3, 64, 0, 0, sums);
  e = cudaDeviceSynchronize();
  cudaMemcpy(hs, sums, sizeof hs, cudaMemcpyDeviceToHost);
  const char *poison = getenv("JTC_EMU_POISON");
  if (poison && !strcmp(poison, "0")) printf("skip shared memory poison: JTC_EMU_POISON=0\n");
  else
    check(e == cudaSuccess && isnan(hs[0]) && isnan(hs[1]) && isnan(hs[2]), "shared memory no thread wrote reads as NaN in every block",
          "%g %g %g", hs[0], hs[1], hs[2]);
  cudaFree(sums);
  JTC_LAUNCH(noop, 1, 32, 0, 0, h);
  e = cudaDeviceSynchronize();
  check(e == cudaErrorIllegalAddress, "the emulator refuses a host pointer as a kernel argument", "%s", cudaGetErrorName(e));
  cudaDeviceReset();
  out = (int *)dalloc(sizeof(int));
#endif
  cudaFree(out);
}

/* ---- speed (--bench) ---- */

__global__ void barrier_loop(int *out, int rounds) {
  __shared__ int s[256];
  int v = (int)threadIdx.x;
  for (int r = 0; r < rounds; r++) {
    s[threadIdx.x] = v;
    __syncthreads();
    v += s[(threadIdx.x + 1) % blockDim.x];
    __syncthreads();
  }
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

__global__ void axpy(float *y, const float *__restrict__ x, float a, int n) {
  const int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) y[i] += a * x[i];
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void bench(void) {
  int *out = (int *)dalloc(1024 * 256 * sizeof(int));
  const int nl = 20000;
  double t = seconds();
  for (int i = 0; i < nl; i++) JTC_LAUNCH(noop, 1, 32, 0, 0, out);
  cudaDeviceSynchronize();
  t = seconds() - t;
  printf("bench: %.0f launches/s (1 block of 32 threads, no barrier)\n", nl / t);

  const int blocks = 64, rounds = 100;
  t = seconds();
  JTC_LAUNCH(barrier_loop, blocks, 256, 0, 0, out, rounds);
  cudaDeviceSynchronize();
  t = seconds() - t;
  double waits = (double)blocks * 256 * 2 * rounds;
  printf("bench: %.1f M barrier waits/s = thread switches/s (%d blocks of 256, %d barriers each): %.1f ns each\n", waits / t / 1e6, blocks,
         2 * rounds, t / waits * 1e9);

  t = seconds();
  for (int i = 0; i < 100; i++) JTC_LAUNCH(barrier_loop, 1, 256, 0, 0, out, 2);
  cudaDeviceSynchronize();
  t = seconds() - t;
  printf("bench: %.0f launches/s of 1 block of 256 threads with 4 barriers\n", 100 / t);

  const int n = 1 << 22;
  float *x = (float *)dalloc(n * sizeof(float)), *y = (float *)dalloc(n * sizeof(float));
  cudaMemset(x, 0, n * sizeof(float));
  cudaMemset(y, 0, n * sizeof(float));
  t = seconds();
  JTC_LAUNCH(axpy, n / 256, 256, 0, 0, y, x, 2.0f, n);
  cudaDeviceSynchronize();
  t = seconds() - t;
  printf("bench: %.1f M threads/s without barriers (axpy, %d blocks of 256)\n", n / t / 1e6, n / 256);

  float *r = (float *)dalloc(n / 256 * sizeof(float));
  t = seconds();
  JTC_LAUNCH(warp_sum<float>, n / 256, 256, 0, 0, x, r, n);
  cudaDeviceSynchronize();
  t = seconds() - t;
  printf("bench: %.1f M threads/s through warp_sum (11 shuffles + 1 barrier per thread)\n", n / t / 1e6);
  cudaFree(out), cudaFree(x), cudaFree(y), cudaFree(r);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--bench")) {
    bench();
    return 0;
  }
  test_tree_reduce();
  test_warp_sum<float>("float", 256);
  test_warp_sum<float>("float", 48);
  test_warp_sum<float>("float", 33);
  test_warp_sum<double>("double", 100);
  test_warp_sum<int>("int", 1024);
  test_warp_sum<unsigned>("unsigned", 96);
  test_warp_sum<long long>("long long", 200);
  test_warp_misc();
  test_atomics();
  test_mapping();
  test_graph();
  test_wmma();
  test_caught();
  printf("%s: %d failed\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
