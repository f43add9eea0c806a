/* jtc runtime: packed, cache-blocked, register-blocked single-precision GEMM,
 * copied verbatim into generated .c files that run contractions (conv, MatMul,
 * Gemm) and compiled into jtc itself, which packs constant weights with
 * jtc_gemm_pack_a at compile time.
 *
 *   C[M x N] (=|+=) A[M x K] * B[K x N], then an optional epilogue.
 *
 * API (all static, names jtc_gemm_*; sizes in elements unless named bytes):
 *   jtc_gemm_packed_a_floats(M, K)             floats of packed A
 *   jtc_gemm_pack_a(M, K, A, lda, Ap)          row-major A -> packed A
 *   jtc_gemm_pack_a_strided(M, K, A, rs, cs, Ap)   A(i,k) = A[i*rs + k*cs]
 *   jtc_pack_b_fn                              B-block provider (layout below)
 *   jtc_gemm_pack_b_rowmajor / _trans          providers, ctx = jtc_gemm_bmat
 *   jtc_gemm_copy / jtc_gemm_copy2(dst, src, n) one run of a strip: src[i] / src[2i]
 *   jtc_gemm_put(row, kc, p, src, stride, n)   a run of a block row across strips
 *   jtc_gemm_window_row(dst, src, off, row, col, r0, c0, H, W)  a strip row of a same-size window
 *   jtc_gemm_scratch_bytes(N, K, nthreads)     scratch bytes for jtc_gemm
 *   jtc_gemm(M, N, K, Ap, packb, ctx, C, ldc, accumulate, epi, scratch,
 *            scratch_bytes) -> 0, or -1 if the scratch is too small
 *   JTC_GEMM_MR, JTC_GEMM_NR, JTC_GEMM_ISA     micro-tile and ISA compiled
 *   JTC_GEMM_PANEL (= 12)                      packed-A panel height
 *
 * The approach is BLIS's, transposed for row-major C: the micro-kernel keeps an
 * MR x NR tile of C in vector registers, loads NR consecutive floats of one row
 * of B as vectors and broadcasts one float of A per row. Loop nest, outermost
 * first, for each thread's part of C:
 *
 *   for n0 in N step nc        (nc <= JTC_GEMM_NC, a multiple of NR)
 *     for k0 in K step kc      (kc <= JTC_GEMM_KC)
 *       pack B[k0:k0+kc, n0:n0+nc] into scratch (the caller's provider; ~L2)
 *       for each 12-row panel of A, for each MR rows in it  (A: kc x MR, in L1)
 *         for each NR-column strip of the packed B block       (streamed from L2)
 *           micro-kernel on the MR x NR tile of C
 *           (last k block: epilogue on the tile while it is in L1)
 *
 * Packed A (ISA-independent, so jtc can pack weights at compile time without
 * knowing the target): rows are cut into panels of JTC_GEMM_PANEL = 12 rows;
 * panel p holds, for k = 0..K-1, the 12 floats A[12p+0..12p+11][k]:
 *     Ap[p*12*K + k*12 + r] = A[12p + r][k]   (0 for rows >= M)
 * so the kc-block of a panel is the contiguous range starting at
 * p*12*K + k0*12. Size: jtc_gemm_packed_a_floats(M, K) = ceil(M/12)*12*K.
 * Every micro-kernel's MR divides 12 (AVX-512 12, AVX2 6, NEON 12, scalar 4).
 *
 * Packed B block (produced by a jtc_pack_b_fn for each (k0, kc, n0, nc)):
 * columns are cut into strips of NR = JTC_GEMM_NR; strip s holds, for
 * k = 0..kc-1, the NR floats B[k0+k][n0 + s*NR + 0..NR-1]:
 *     panel[s*kc*NR + k*NR + j] = B[k0+k][n0 + s*NR + j]
 * and j >= nc - s*NR (past the last column of a partial last strip) must be
 * written as 0. NR depends on the ISA the file is compiled for, so providers
 * must use JTC_GEMM_NR. A provider for a convolution writes im2col values
 * straight into this layout (the im2col matrix is never materialized).
 *
 * Epilogue (jtc_gemm_epi, may be NULL): when the last k block of a tile is
 * done, each element becomes
 *     C[i][j] = clamp(acc + bias_row[i] + bias_col[j] + residual[i*ldr + j])
 * where acc = A*B (+ the old C[i][j] when accumulate), absent terms are 0 and
 * clamp(v) = min(max(v, lo), hi) only when `clamp` is set (ReLU: lo = 0,
 * hi = FLT_MAX; ReLU6: lo = 0, hi = 6). residual must not alias C (C holds
 * partial sums while K is in progress; use accumulate for C += A*B). Then
 * epi->post, when set, rewrites each finished tile in place while it is in
 * cache (the generated code's element-wise epilogues: SiLU, selects, ...).
 *
 * Scratch: the caller passes scratch memory (no malloc here); it needs
 * jtc_gemm_scratch_bytes(N, K, T) bytes to run on up to T threads (any
 * alignment; the slices are aligned inside). With _OPENMP (unless JTC_NO_OPENMP,
 * which jtc --embedded output defines), jtc_gemm splits C
 * over min(T, omp_get_max_threads()) threads (static: column strips when there
 * are many, else 12-row panels), each packing into its own slice; inside an
 * active parallel region it runs serially. No global mutable state.
 *
 * ISA: AVX-512F (__AVX512F__), else AVX2+FMA, else NEON (aarch64), else
 * portable C; #define JTC_GEMM_SCALAR before this text forces portable C.
 * AVX-512 also has 8- and 4-row variants for the last panel of M (M = 64 is
 * 5 panels of 12 + one of 4), masked stores for partial strips, the epilogue
 * fused into the kernel's stores, a thin kernel for strips of <= 4 columns
 * (N = 1: vectors run down the 12 rows of the A panel instead), a 12 x 8 ymm
 * kernel for 5..8, and strips of 17..24 cut into 16 + the rest. Other
 * ISAs write edge tiles through a stack tile and run the epilogue in C.
 * The portable micro-kernel is always compiled and can be chosen at run time
 * (epi->scalar = 1) with the SIMD build's layouts, so tests compare both.
 * Tunables (define before this text): JTC_GEMM_KC (default 256), JTC_GEMM_NC
 * (default 512 with AVX-512/AVX2, 256 otherwise; rounded to a multiple of NR). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(_OPENMP) && !defined(JTC_NO_OPENMP)
#include <omp.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define JTC_GEMM_FN static __attribute__((unused))
#define JTC_GEMM_INLINE static inline __attribute__((always_inline, unused))
#else
#define JTC_GEMM_FN static
#define JTC_GEMM_INLINE static inline
#endif

#define JTC_GEMM_PANEL 12

#if !defined(JTC_GEMM_SCALAR) && defined(__AVX512F__)
#include <immintrin.h>
#define JTC_GEMM_ISA "avx512f"
#define JTC_GEMM_MR 12
#define JTC_GEMM_NR 32
#elif !defined(JTC_GEMM_SCALAR) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define JTC_GEMM_ISA "avx2+fma"
#define JTC_GEMM_MR 6
#define JTC_GEMM_NR 16
#elif !defined(JTC_GEMM_SCALAR) && defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define JTC_GEMM_ISA "neon"
#define JTC_GEMM_MR 12
#define JTC_GEMM_NR 8
#else
#define JTC_GEMM_ISA "scalar"
#define JTC_GEMM_MR 4
#define JTC_GEMM_NR 16
#endif

#ifndef JTC_GEMM_KC
#define JTC_GEMM_KC 256
#endif
#ifndef JTC_GEMM_NC
#if JTC_GEMM_NR >= 16 && JTC_GEMM_MR >= 6
#define JTC_GEMM_NC 512
#else
#define JTC_GEMM_NC 256
#endif
#endif
/* the column block actually used: a multiple of NR, at least NR */
#define JTC_GEMM_NCR ((JTC_GEMM_NC) < JTC_GEMM_NR ? JTC_GEMM_NR : (JTC_GEMM_NC) / JTC_GEMM_NR * JTC_GEMM_NR)

typedef void (*jtc_pack_b_fn)(const void *ctx, float *panel, int64_t k0, int64_t kc, int64_t n0, int64_t nc);

typedef struct jtc_gemm_epi {
  const float *bias_row; /* [M], added to row i, or NULL */
  const float *bias_col; /* [N], added to column j, or NULL */
  const float *residual; /* M x N, row stride ldr (elements), or NULL */
  int64_t ldr;
  int clamp;             /* clamp to [lo, hi] after the additions */
  float lo, hi;
  int scalar;            /* 1: use the portable micro-kernel (tests) */
  /* Then, on each finished tile while it is in cache (after the terms above):
   * post(post_ctx, C + i*ldc + j, ldc, i, j, m, n) for the m x n tile at row i,
   * column j of C; it may rewrite the tile in place. NULL: none. */
  void (*post)(const void *ctx, float *c, int64_t ldc, int64_t i, int64_t j, int64_t m, int64_t n);
  const void *post_ctx;
} jtc_gemm_epi;

/* ctx of the plain-matrix B providers: element (k, j) of B is at
 * B[k*ldb + j] (jtc_gemm_pack_b_rowmajor) or B[j*ldb + k] (..._trans). */
typedef struct jtc_gemm_bmat {
  const float *B;
  int64_t ldb;
} jtc_gemm_bmat;

/* The epilogue of one tile, its pointers already offset to the tile's first
 * row and column (internal: built by jtc_gemm_part for the last k block). */
typedef struct jtc_gemm_tail {
  const float *brow, *bcol, *res; /* bias_row + i, bias_col + j, residual + i*ldr + j */
  int64_t ldr;
  int clamp;
  float lo, hi;
} jtc_gemm_tail;

/* ---- packing -------------------------------------------------------------- */

JTC_GEMM_FN int64_t jtc_gemm_packed_a_floats(int64_t M, int64_t K) {
  return (M + JTC_GEMM_PANEL - 1) / JTC_GEMM_PANEL * JTC_GEMM_PANEL * K;
}

/* Pack A (element (i, k) at A[i*rs + k*cs]) into the 12-row panel layout. */
JTC_GEMM_FN void jtc_gemm_pack_a_strided(int64_t M, int64_t K, const float *A, int64_t rs, int64_t cs, float *Ap) {
  for (int64_t p = 0; p < M; p += JTC_GEMM_PANEL) {
    int64_t m = M - p < JTC_GEMM_PANEL ? M - p : JTC_GEMM_PANEL;
    float *dst = Ap + p * K;
    for (int64_t k = 0; k < K; k++) {
      for (int64_t r = 0; r < m; r++) dst[k * JTC_GEMM_PANEL + r] = A[(p + r) * rs + k * cs];
      for (int64_t r = m; r < JTC_GEMM_PANEL; r++) dst[k * JTC_GEMM_PANEL + r] = 0.0f;
    }
  }
}

/* Pack a row-major A (M x K, row stride lda) into the 12-row panel layout. */
JTC_GEMM_FN void jtc_gemm_pack_a(int64_t M, int64_t K, const float *A, int64_t lda, float *Ap) {
  jtc_gemm_pack_a_strided(M, K, A, lda, 1, Ap);
}

/* Provider for a row-major B: ctx is a jtc_gemm_bmat {B, ldb}. */
JTC_GEMM_FN void jtc_gemm_pack_b_rowmajor(const void *ctx, float *panel, int64_t k0, int64_t kc, int64_t n0,
                                          int64_t nc) {
  const jtc_gemm_bmat *bm = (const jtc_gemm_bmat *)ctx;
  for (int64_t s = 0; s * JTC_GEMM_NR < nc; s++) {
    int64_t j0 = n0 + s * JTC_GEMM_NR, n = nc - s * JTC_GEMM_NR;
    const float *src = bm->B + k0 * bm->ldb + j0;
    float *dst = panel + s * kc * JTC_GEMM_NR;
    if (n >= JTC_GEMM_NR) {
      for (int64_t k = 0; k < kc; k++) memcpy(dst + k * JTC_GEMM_NR, src + k * bm->ldb, JTC_GEMM_NR * sizeof(float));
    } else {
      for (int64_t k = 0; k < kc; k++) {
        for (int64_t j = 0; j < n; j++) dst[k * JTC_GEMM_NR + j] = src[k * bm->ldb + j];
        for (int64_t j = n; j < JTC_GEMM_NR; j++) dst[k * JTC_GEMM_NR + j] = 0.0f;
      }
    }
  }
}

/* Provider for a transposed B (stored N x K): ctx is a jtc_gemm_bmat {B, ldb},
 * element (k, j) at B[j*ldb + k]. */
JTC_GEMM_FN void jtc_gemm_pack_b_trans(const void *ctx, float *panel, int64_t k0, int64_t kc, int64_t n0,
                                       int64_t nc) {
  const jtc_gemm_bmat *bm = (const jtc_gemm_bmat *)ctx;
  for (int64_t s = 0; s * JTC_GEMM_NR < nc; s++) {
    int64_t j0 = n0 + s * JTC_GEMM_NR, n = nc - s * JTC_GEMM_NR;
    float *dst = panel + s * kc * JTC_GEMM_NR;
    if (n > JTC_GEMM_NR) n = JTC_GEMM_NR;
    for (int64_t j = 0; j < n; j++) {
      const float *src = bm->B + (j0 + j) * bm->ldb + k0;
      for (int64_t k = 0; k < kc; k++) dst[k * JTC_GEMM_NR + j] = src[k];
    }
    for (int64_t j = n; j < JTC_GEMM_NR; j++)
      for (int64_t k = 0; k < kc; k++) dst[k * JTC_GEMM_NR + j] = 0.0f;
  }
}

/* Runs of a packed B strip, for the generated providers (a conv's im2col rows):
 * dst[i] = src[i] (jtc_gemm_copy) or src[2*i] (jtc_gemm_copy2, stride-2 convs)
 * for i < n. With AVX-512 whole runs are a few masked moves (masked-off lanes
 * are never read), so short runs (7- and 14-wide planes) cost no scalar tail.
 * AddressSanitizer checks a masked load's full width, so ASan builds take the loops. */
#if !defined(JTC_GEMM_SCALAR) && defined(__AVX512F__) && !defined(__SANITIZE_ADDRESS__)
#define JTC_GEMM_MASKED_COPY 1
#endif
JTC_GEMM_INLINE void jtc_gemm_copy(float *dst, const float *src, int64_t n) {
#ifdef JTC_GEMM_MASKED_COPY
  for (; n >= 16; n -= 16, src += 16, dst += 16) _mm512_storeu_ps(dst, _mm512_loadu_ps(src));
  if (n > 0) {
    __mmask16 m = (__mmask16)((1u << n) - 1);
    _mm512_mask_storeu_ps(dst, m, _mm512_maskz_loadu_ps(m, src));
  }
#else
  for (int64_t i = 0; i < n; i++) dst[i] = src[i];
#endif
}

JTC_GEMM_INLINE void jtc_gemm_copy2(float *dst, const float *src, int64_t n) {
#ifdef JTC_GEMM_MASKED_COPY
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (; n >= 16; n -= 16, src += 32, dst += 16) /* src[31] is not needed (and may lie past the end) */
    _mm512_storeu_ps(dst, _mm512_permutex2var_ps(_mm512_loadu_ps(src), even, _mm512_maskz_loadu_ps(0x7FFF, src + 16)));
  if (n > 0) { /* reads src[0 .. 2n-2] */
    int64_t last = 2 * n - 1;
    __mmask16 m0 = last >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << last) - 1);
    __mmask16 m1 = last > 16 ? (__mmask16)((1u << (last - 16)) - 1) : (__mmask16)0;
    __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, src), even, _mm512_maskz_loadu_ps(m1, src + 16));
    _mm512_mask_storeu_ps(dst, (__mmask16)((1u << n) - 1), v);
  }
#else
  for (int64_t i = 0; i < n; i++) dst[i] = src[2 * i];
#endif
}

/* dst[0..n) = 0 */
JTC_GEMM_INLINE void jtc_gemm_zero(float *dst, int64_t n) {
#ifdef JTC_GEMM_MASKED_COPY
  for (; n >= 16; n -= 16, dst += 16) _mm512_storeu_ps(dst, _mm512_setzero_ps());
  if (n > 0) _mm512_mask_storeu_ps(dst, (__mmask16)((1u << n) - 1), _mm512_setzero_ps());
#else
  for (int64_t i = 0; i < n; i++) dst[i] = 0.0f;
#endif
}

/* Columns [p, p + n) of one row of a packed B block (column q of the block is lane
 * q % NR of strip q / NR; row points at the row in strip 0, strips are kc * NR floats
 * apart) = src[i * stride] (stride 1 or 2), or zeros when src is NULL. A provider
 * writes a conv's im2col row one image row at a time with it. */
JTC_GEMM_INLINE void jtc_gemm_put(float *row, int64_t kc, int64_t p, const float *src, int stride, int64_t n) {
  for (int64_t done = 0; done < n;) {
    int64_t lane = (p + done) % JTC_GEMM_NR, take = JTC_GEMM_NR - lane < n - done ? JTC_GEMM_NR - lane : n - done;
    float *d = row + (p + done) / JTC_GEMM_NR * kc * JTC_GEMM_NR + lane;
    if (!src) jtc_gemm_zero(d, take);
    else if (stride == 1) jtc_gemm_copy(d, src + done, take);
    else jtc_gemm_copy2(d, src + 2 * done, take);
    done += take;
  }
}

/* One row of a strip for a stride-1 window whose rows are as wide as its source's
 * (a 3x3 pad-1 conv): lane j is src[off + j] when its source row r0 + row[j] and
 * column c0 + col[j] lie in [0, H) x [0, W), else 0; row[j], col[j] are the lane's
 * output row and column (a row far below 0 marks a lane past the block). With AVX-512
 * a strip row is two masked loads, whatever the padding; only valid lanes are read. */
JTC_GEMM_INLINE void jtc_gemm_window_row(float *dst, const float *src, int64_t off, const int32_t *row,
                                         const int32_t *col, int64_t r0, int64_t c0, int64_t H, int64_t W) {
#ifdef JTC_GEMM_MASKED_COPY
  const uintptr_t at = (uintptr_t)src + (uintptr_t)off * sizeof(float); /* may lie outside src: never dereferenced so */
  for (int h = 0; h < JTC_GEMM_NR; h += 16) {
    __m512i r = _mm512_add_epi32(_mm512_loadu_si512((const void *)(row + h)), _mm512_set1_epi32((int32_t)r0));
    __m512i c = _mm512_add_epi32(_mm512_loadu_si512((const void *)(col + h)), _mm512_set1_epi32((int32_t)c0));
    __mmask16 m = _mm512_cmplt_epu32_mask(r, _mm512_set1_epi32((int32_t)H)) &
                  _mm512_cmplt_epu32_mask(c, _mm512_set1_epi32((int32_t)W));
    _mm512_storeu_ps(dst + h, _mm512_maskz_loadu_ps(m, (const float *)(at + (uintptr_t)h * sizeof(float))));
  }
#else
  for (int j = 0; j < JTC_GEMM_NR; j++) {
    int64_t r = row[j] + r0, c = col[j] + c0;
    dst[j] = r >= 0 && r < H && c >= 0 && c < W ? src[off + j] : 0.0f;
  }
#endif
}

/* ---- block sizes and scratch ---------------------------------------------- */

/* K is cut into ceil(K/KC) blocks of near-equal size (K = 300 gives 150+150,
 * not 256+44); N into blocks of near-equal size rounded up to NR. A product
 * with one strip of columns (N <= NR: matrix times vector, each element of A
 * used N times) takes K whole when that block is no larger than a full one
 * (KC x NC), so each 12-row panel of A streams from memory in one run. */
JTC_GEMM_FN int64_t jtc_gemm_kc(int64_t N, int64_t K) {
  if (N <= JTC_GEMM_NR && K * JTC_GEMM_NR <= (int64_t)JTC_GEMM_KC * JTC_GEMM_NCR) return K;
  int64_t nb = (K + JTC_GEMM_KC - 1) / JTC_GEMM_KC;
  return nb <= 1 ? K : (K + nb - 1) / nb;
}

JTC_GEMM_FN int64_t jtc_gemm_nc(int64_t N) {
  int64_t nb = (N + JTC_GEMM_NCR - 1) / JTC_GEMM_NCR;
  int64_t nc = nb <= 1 ? N : (N + nb - 1) / nb;
  return (nc + JTC_GEMM_NR - 1) / JTC_GEMM_NR * JTC_GEMM_NR;
}

/* floats of one thread's slice: a packed B block, kc x nc, rounded to 64 bytes */
JTC_GEMM_FN int64_t jtc_gemm_slice_floats(int64_t N, int64_t K) {
  int64_t kc = jtc_gemm_kc(N, K) == K ? K : JTC_GEMM_KC;
  int64_t nr = (N + JTC_GEMM_NR - 1) / JTC_GEMM_NR * JTC_GEMM_NR;
  int64_t nc = nr < JTC_GEMM_NCR ? nr : JTC_GEMM_NCR;
  if (kc < 1) kc = 1;
  return (kc * nc + 15) / 16 * 16;
}

/* Bytes of scratch jtc_gemm needs for an M x N x K product on up to
 * `nthreads` threads (independent of M). */
JTC_GEMM_FN size_t jtc_gemm_scratch_bytes(int64_t N, int64_t K, int nthreads) {
  if (nthreads < 1) nthreads = 1;
  return (size_t)nthreads * (size_t)jtc_gemm_slice_floats(N, K) * sizeof(float) + 64;
}

/* ---- micro-kernels --------------------------------------------------------
 * kernel(kc, a, b, c, ldc, m, n, loadc, tail): tile = sum_k a[k*12 + r] *
 * b[k*NR + j] for r < MR, j < NR; then for r < m, j < n: c[r*ldc + j] = tile
 * (+ c when loadc), then the epilogue `tail` when not NULL. a points into a
 * packed A panel (stride 12 per k), b at a strip. */

/* Apply an epilogue to the m x n block at c, which holds the sums. */
JTC_GEMM_FN void jtc_gemm_epilogue(float *c, int64_t ldc, int64_t m, int64_t n, const jtc_gemm_tail *t) {
  for (int64_t r = 0; r < m; r++) {
    float *cr = c + r * ldc;
    if (t->brow) {
      float br = t->brow[r];
      for (int64_t j = 0; j < n; j++) cr[j] += br;
    }
    if (t->bcol)
      for (int64_t j = 0; j < n; j++) cr[j] += t->bcol[j];
    if (t->res) {
      const float *rr = t->res + r * t->ldr;
      for (int64_t j = 0; j < n; j++) cr[j] += rr[j];
    }
    if (t->clamp) {
      float lo = t->lo, hi = t->hi;
      for (int64_t j = 0; j < n; j++) cr[j] = cr[j] < lo ? lo : (cr[j] > hi ? hi : cr[j]);
    }
  }
}

/* Write an MR x NR tile held in t (row stride NR) to C, rows < m, cols < n. */
JTC_GEMM_INLINE void jtc_gemm_tile_out(const float *t, int64_t rows, float *c, int64_t ldc, int64_t m, int64_t n,
                                       int loadc, const jtc_gemm_tail *tail) {
  if (m > rows) m = rows;
  for (int64_t r = 0; r < m; r++) {
    float *cr = c + r * ldc;
    const float *tr = t + r * JTC_GEMM_NR;
    if (loadc)
      for (int64_t j = 0; j < n; j++) cr[j] += tr[j];
    else
      for (int64_t j = 0; j < n; j++) cr[j] = tr[j];
  }
  if (tail) jtc_gemm_epilogue(c, ldc, m, n, tail);
}

/* The portable micro-kernel: any MR that is even, the compiled NR. Rows are
 * done two at a time so the accumulators stay small enough for registers. */
JTC_GEMM_FN void jtc_gemm_kernel_scalar(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                        int64_t n, int loadc, const jtc_gemm_tail *tail) {
  for (int64_t r0 = 0; r0 < m; r0 += 2) {
    float acc0[JTC_GEMM_NR], acc1[JTC_GEMM_NR];
    for (int j = 0; j < JTC_GEMM_NR; j++) acc0[j] = acc1[j] = 0.0f;
    const float *ak = a + r0, *bk = b;
    for (int64_t k = 0; k < kc; k++, ak += JTC_GEMM_PANEL, bk += JTC_GEMM_NR) {
      float a0 = ak[0], a1 = ak[1];
      for (int j = 0; j < JTC_GEMM_NR; j++) {
        acc0[j] += a0 * bk[j];
        acc1[j] += a1 * bk[j];
      }
    }
    for (int64_t r = r0; r < r0 + 2 && r < m; r++) {
      float *cr = c + r * ldc;
      const float *t = r == r0 ? acc0 : acc1;
      if (loadc)
        for (int64_t j = 0; j < n; j++) cr[j] += t[j];
      else
        for (int64_t j = 0; j < n; j++) cr[j] = t[j];
    }
  }
  if (tail) jtc_gemm_epilogue(c, ldc, m, n, tail);
}

#if !defined(JTC_GEMM_SCALAR) && defined(__AVX512F__)
/* AVX-512: 12 x 32 tile in 24 zmm accumulators; ROWS (4, 8, 12) and NV (1 or
 * 2 vectors) are constants after inlining, so short edge tiles skip work. The
 * edges are written with masked loads and stores. */
#define JTC_GEMM_R512(r)                                                         \
  if (ROWS > r) {                                                                \
    __m512 av = _mm512_set1_ps(a[r]);                                            \
    c##r##a = _mm512_fmadd_ps(av, b0, c##r##a);                                  \
    if (NV > 1) c##r##b = _mm512_fmadd_ps(av, b1, c##r##b);                      \
  }
#define JTC_GEMM_S512(r)                                                         \
  if (ROWS > r && m > r) {                                                       \
    float *cr = c + r * ldc;                                                     \
    if (loadc) c##r##a = _mm512_add_ps(c##r##a, _mm512_maskz_loadu_ps(m0, cr));  \
    if (NV > 1 && loadc) c##r##b = _mm512_add_ps(c##r##b, _mm512_maskz_loadu_ps(m1, cr + 16)); \
    if (tail) {                                                                  \
      if (tail->brow) {                                                          \
        __m512 v = _mm512_set1_ps(tail->brow[r]);                                \
        c##r##a = _mm512_add_ps(c##r##a, v);                                     \
        if (NV > 1) c##r##b = _mm512_add_ps(c##r##b, v);                         \
      }                                                                          \
      if (tail->bcol) {                                                          \
        c##r##a = _mm512_add_ps(c##r##a, bc0);                                   \
        if (NV > 1) c##r##b = _mm512_add_ps(c##r##b, bc1);                       \
      }                                                                          \
      if (tail->res) {                                                           \
        const float *rr = tail->res + r * tail->ldr;                             \
        c##r##a = _mm512_add_ps(c##r##a, _mm512_maskz_loadu_ps(m0, rr));         \
        if (NV > 1) c##r##b = _mm512_add_ps(c##r##b, _mm512_maskz_loadu_ps(m1, rr + 16)); \
      }                                                                          \
      if (tail->clamp) { /* max(lo, v), min(hi, v) keep a NaN v */               \
        c##r##a = _mm512_min_ps(hi, _mm512_max_ps(lo, c##r##a));                 \
        if (NV > 1) c##r##b = _mm512_min_ps(hi, _mm512_max_ps(lo, c##r##b));     \
      }                                                                          \
    }                                                                            \
    _mm512_mask_storeu_ps(cr, m0, c##r##a);                                      \
    if (NV > 1) _mm512_mask_storeu_ps(cr + 16, m1, c##r##b);                     \
  }
JTC_GEMM_INLINE void jtc_gemm_k512(const int ROWS, const int NV, int64_t kc, const float *a, const float *b, float *c,
                                   int64_t ldc, int64_t m, int64_t n, int loadc, const jtc_gemm_tail *tail) {
  __m512 z = _mm512_setzero_ps();
  __m512 c0a = z, c1a = z, c2a = z, c3a = z, c4a = z, c5a = z, c6a = z, c7a = z, c8a = z, c9a = z, c10a = z,
         c11a = z;
  __m512 c0b = z, c1b = z, c2b = z, c3b = z, c4b = z, c5b = z, c6b = z, c7b = z, c8b = z, c9b = z, c10b = z,
         c11b = z;
  for (int64_t k = 0; k < kc; k++, a += JTC_GEMM_PANEL, b += JTC_GEMM_NR) {
    __m512 b0 = _mm512_loadu_ps(b);
    __m512 b1 = NV > 1 ? _mm512_loadu_ps(b + 16) : b0;
    JTC_GEMM_R512(0) JTC_GEMM_R512(1) JTC_GEMM_R512(2) JTC_GEMM_R512(3)
    JTC_GEMM_R512(4) JTC_GEMM_R512(5) JTC_GEMM_R512(6) JTC_GEMM_R512(7)
    JTC_GEMM_R512(8) JTC_GEMM_R512(9) JTC_GEMM_R512(10) JTC_GEMM_R512(11)
  }
  __mmask16 m0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
  __mmask16 m1 = n >= 32 ? (__mmask16)0xFFFF : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : (__mmask16)0;
  __m512 bc0 = z, bc1 = z, lo = z, hi = z;
  if (tail && tail->bcol) bc0 = _mm512_maskz_loadu_ps(m0, tail->bcol), bc1 = _mm512_maskz_loadu_ps(m1, tail->bcol + 16);
  if (tail && tail->clamp) lo = _mm512_set1_ps(tail->lo), hi = _mm512_set1_ps(tail->hi);
  JTC_GEMM_S512(0) JTC_GEMM_S512(1) JTC_GEMM_S512(2) JTC_GEMM_S512(3)
  JTC_GEMM_S512(4) JTC_GEMM_S512(5) JTC_GEMM_S512(6) JTC_GEMM_S512(7)
  JTC_GEMM_S512(8) JTC_GEMM_S512(9) JTC_GEMM_S512(10) JTC_GEMM_S512(11)
}
#undef JTC_GEMM_R512
#undef JTC_GEMM_S512
JTC_GEMM_FN void jtc_gemm_k512_12x2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                    int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(12, 2, kc, a, b, c, ldc, m, n, loadc, tail);
}
JTC_GEMM_FN void jtc_gemm_k512_8x2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                   int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(8, 2, kc, a, b, c, ldc, m, n, loadc, tail);
}
JTC_GEMM_FN void jtc_gemm_k512_4x2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                   int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(4, 2, kc, a, b, c, ldc, m, n, loadc, tail);
}
JTC_GEMM_FN void jtc_gemm_k512_12x1(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                    int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(12, 1, kc, a, b, c, ldc, m, n, loadc, tail);
}
JTC_GEMM_FN void jtc_gemm_k512_8x1(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                   int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(8, 1, kc, a, b, c, ldc, m, n, loadc, tail);
}
JTC_GEMM_FN void jtc_gemm_k512_4x1(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                   int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_k512(4, 1, kc, a, b, c, ldc, m, n, loadc, tail);
}

/* Thin strips (n <= 4 columns, e.g. N = 1 for a fully connected layer): the
 * 12 x 32 kernel would waste 28 of 32 lanes, so vectorize over the 12 rows of
 * the A panel instead: one masked load of A per k, one broadcast of B per
 * column, accumulators for 4 k in flight per column. */
#define JTC_GEMM_THIN_N 4
#define JTC_GEMM_T512(u, j)                                                      \
  if (NT > j) s##u##j = _mm512_fmadd_ps(a##u, _mm512_set1_ps(b[(k + u) * JTC_GEMM_NR + j]), s##u##j);
#define JTC_GEMM_TK(u)                                                           \
  {                                                                              \
    __m512 a##u = _mm512_maskz_loadu_ps(m12, a + (k + u) * JTC_GEMM_PANEL);      \
    JTC_GEMM_T512(u, 0) JTC_GEMM_T512(u, 1) JTC_GEMM_T512(u, 2) JTC_GEMM_T512(u, 3) \
  }
JTC_GEMM_INLINE void jtc_gemm_thin512(const int NT, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                                      int64_t m, int64_t n, int loadc, const jtc_gemm_tail *tail) {
  const __mmask16 m12 = (__mmask16)0x0FFF;
  __m512 z = _mm512_setzero_ps();
  __m512 s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;
  __m512 s20 = z, s21 = z, s22 = z, s23 = z, s30 = z, s31 = z, s32 = z, s33 = z;
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    JTC_GEMM_TK(0) JTC_GEMM_TK(1) JTC_GEMM_TK(2) JTC_GEMM_TK(3)
  }
  for (; k < kc; k++) JTC_GEMM_TK(0)
  float col[4][16], t[JTC_GEMM_PANEL * JTC_GEMM_NR];
  _mm512_storeu_ps(col[0], _mm512_add_ps(_mm512_add_ps(s00, s10), _mm512_add_ps(s20, s30)));
  if (NT > 1) _mm512_storeu_ps(col[1], _mm512_add_ps(_mm512_add_ps(s01, s11), _mm512_add_ps(s21, s31)));
  if (NT > 2) _mm512_storeu_ps(col[2], _mm512_add_ps(_mm512_add_ps(s02, s12), _mm512_add_ps(s22, s32)));
  if (NT > 3) _mm512_storeu_ps(col[3], _mm512_add_ps(_mm512_add_ps(s03, s13), _mm512_add_ps(s23, s33)));
  for (int r = 0; r < JTC_GEMM_PANEL; r++)
    for (int j = 0; j < NT; j++) t[r * JTC_GEMM_NR + j] = col[j][r];
  jtc_gemm_tile_out(t, JTC_GEMM_PANEL, c, ldc, m, n, loadc, tail);
}
#undef JTC_GEMM_T512
#undef JTC_GEMM_TK
JTC_GEMM_FN void jtc_gemm_kernel_thin(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                      int64_t n, int loadc, const jtc_gemm_tail *tail) {
  if (n == 1) jtc_gemm_thin512(1, kc, a, b, c, ldc, m, n, loadc, tail);
  else if (n == 2) jtc_gemm_thin512(2, kc, a, b, c, ldc, m, n, loadc, tail);
  else jtc_gemm_thin512(4, kc, a, b, c, ldc, m, n, loadc, tail);
}

/* Strips of 5..8 columns (N = 8, a batch of 8 through a fully connected layer):
 * a 12 x 8 tile in 12 ymm accumulators, half the work of a 16-lane vector.
 * -mavx512f implies AVX2 and FMA, so the 256-bit forms are always there. */
#define JTC_GEMM_R256(r) c##r = _mm256_fmadd_ps(_mm256_broadcast_ss(a + r), bv, c##r);
#define JTC_GEMM_S256(r) _mm256_storeu_ps(t + r * JTC_GEMM_NR, c##r);
JTC_GEMM_FN void jtc_gemm_kernel_12x8(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                      int64_t n, int loadc, const jtc_gemm_tail *tail) {
  __m256 z = _mm256_setzero_ps();
  __m256 c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z, c8 = z, c9 = z, c10 = z, c11 = z;
  for (int64_t k = 0; k < kc; k++, a += JTC_GEMM_PANEL, b += JTC_GEMM_NR) {
    _mm_prefetch((const char *)(a + 64 * JTC_GEMM_PANEL), _MM_HINT_T0); /* A streams from memory (few columns: little reuse) */
    __m256 bv = _mm256_loadu_ps(b);
    JTC_GEMM_R256(0) JTC_GEMM_R256(1) JTC_GEMM_R256(2) JTC_GEMM_R256(3) JTC_GEMM_R256(4) JTC_GEMM_R256(5)
    JTC_GEMM_R256(6) JTC_GEMM_R256(7) JTC_GEMM_R256(8) JTC_GEMM_R256(9) JTC_GEMM_R256(10) JTC_GEMM_R256(11)
  }
  float t[JTC_GEMM_PANEL * JTC_GEMM_NR];
  JTC_GEMM_S256(0) JTC_GEMM_S256(1) JTC_GEMM_S256(2) JTC_GEMM_S256(3) JTC_GEMM_S256(4) JTC_GEMM_S256(5)
  JTC_GEMM_S256(6) JTC_GEMM_S256(7) JTC_GEMM_S256(8) JTC_GEMM_S256(9) JTC_GEMM_S256(10) JTC_GEMM_S256(11)
  jtc_gemm_tile_out(t, JTC_GEMM_PANEL, c, ldc, m, n, loadc, tail);
}
#undef JTC_GEMM_R256
#undef JTC_GEMM_S256

/* 16 columns or fewer: one vector per row, or less for 8 and 4 */
JTC_GEMM_FN void jtc_gemm_kernel_narrow(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                        int64_t n, int loadc, const jtc_gemm_tail *tail) {
  if (n <= JTC_GEMM_THIN_N) jtc_gemm_kernel_thin(kc, a, b, c, ldc, m, n, loadc, tail);
  else if (n <= 8) jtc_gemm_kernel_12x8(kc, a, b, c, ldc, m, n, loadc, tail);
  else if (m > 8) jtc_gemm_k512_12x1(kc, a, b, c, ldc, m, n, loadc, tail);
  else if (m > 4) jtc_gemm_k512_8x1(kc, a, b, c, ldc, m, n, loadc, tail);
  else jtc_gemm_k512_4x1(kc, a, b, c, ldc, m, n, loadc, tail);
}

/* A strip of n <= 32 columns. Up to 24 columns it is cut at 16 (one vector per
 * row, then a narrow kernel on the rest: N = 49 is strips of 32 and 17, the 17
 * as 16 + 1, not a padded 32), so no more than 8 lanes in 32 go idle. */
JTC_GEMM_FN void jtc_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                 int64_t n, int loadc, const jtc_gemm_tail *tail) {
  if (n > 24) {
    if (m > 8) jtc_gemm_k512_12x2(kc, a, b, c, ldc, m, n, loadc, tail);
    else if (m > 4) jtc_gemm_k512_8x2(kc, a, b, c, ldc, m, n, loadc, tail);
    else jtc_gemm_k512_4x2(kc, a, b, c, ldc, m, n, loadc, tail);
  } else if (n > 16) {
    jtc_gemm_kernel_narrow(kc, a, b, c, ldc, m, 16, loadc, tail);
    jtc_gemm_tail rest;
    if (tail) {
      rest = *tail;
      if (rest.bcol) rest.bcol += 16;
      if (rest.res) rest.res += 16;
    }
    jtc_gemm_kernel_narrow(kc, a, b + 16, c + 16, ldc, m, n - 16, loadc, tail ? &rest : NULL);
  } else {
    jtc_gemm_kernel_narrow(kc, a, b, c, ldc, m, n, loadc, tail);
  }
}

#elif !defined(JTC_GEMM_SCALAR) && defined(__AVX2__) && defined(__FMA__)
/* AVX2+FMA: 6 x 16 tile in 12 ymm accumulators (two 6-row halves per panel).
 * Edge tiles go through a stack tile. */
#define JTC_GEMM_R256(r)                                                         \
  {                                                                              \
    __m256 av = _mm256_broadcast_ss(a + r);                                      \
    c##r##a = _mm256_fmadd_ps(av, b0, c##r##a);                                  \
    c##r##b = _mm256_fmadd_ps(av, b1, c##r##b);                                  \
  }
#define JTC_GEMM_S256(r)                                                         \
  if (m > r) {                                                                   \
    float *cr = c + r * ldc;                                                     \
    if (loadc) {                                                                 \
      c##r##a = _mm256_add_ps(c##r##a, _mm256_loadu_ps(cr));                     \
      c##r##b = _mm256_add_ps(c##r##b, _mm256_loadu_ps(cr + 8));                 \
    }                                                                            \
    _mm256_storeu_ps(cr, c##r##a);                                               \
    _mm256_storeu_ps(cr + 8, c##r##b);                                           \
  }
JTC_GEMM_FN void jtc_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                 int64_t n, int loadc, const jtc_gemm_tail *tail) {
  __m256 z = _mm256_setzero_ps();
  __m256 c0a = z, c1a = z, c2a = z, c3a = z, c4a = z, c5a = z;
  __m256 c0b = z, c1b = z, c2b = z, c3b = z, c4b = z, c5b = z;
  for (int64_t k = 0; k < kc; k++, a += JTC_GEMM_PANEL, b += JTC_GEMM_NR) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    JTC_GEMM_R256(0) JTC_GEMM_R256(1) JTC_GEMM_R256(2) JTC_GEMM_R256(3) JTC_GEMM_R256(4) JTC_GEMM_R256(5)
  }
  if (n == JTC_GEMM_NR) {
    JTC_GEMM_S256(0) JTC_GEMM_S256(1) JTC_GEMM_S256(2) JTC_GEMM_S256(3) JTC_GEMM_S256(4) JTC_GEMM_S256(5)
    if (tail) jtc_gemm_epilogue(c, ldc, m, n, tail);
  } else {
    float t[JTC_GEMM_MR * JTC_GEMM_NR];
    float *c0 = c;
    int64_t ldc0 = ldc, m0 = m;
    int loadc0 = loadc;
    c = t, ldc = JTC_GEMM_NR, m = JTC_GEMM_MR, loadc = 0;
    JTC_GEMM_S256(0) JTC_GEMM_S256(1) JTC_GEMM_S256(2) JTC_GEMM_S256(3) JTC_GEMM_S256(4) JTC_GEMM_S256(5)
    jtc_gemm_tile_out(t, JTC_GEMM_MR, c0, ldc0, m0, n, loadc0, tail);
  }
}
#undef JTC_GEMM_R256
#undef JTC_GEMM_S256

#elif !defined(JTC_GEMM_SCALAR) && defined(__ARM_NEON) && defined(__aarch64__)
/* NEON: 12 x 8 tile in 24 q accumulators; A is read as three q registers per
 * k and broadcast by lane. Edge tiles go through a stack tile. */
#define JTC_GEMM_RN(r, q, l)                                                     \
  c##r##a = vfmaq_laneq_f32(c##r##a, b0, q, l);                                  \
  c##r##b = vfmaq_laneq_f32(c##r##b, b1, q, l);
#define JTC_GEMM_SN(r)                                                           \
  {                                                                              \
    float *cr = t + r * JTC_GEMM_NR;                                             \
    vst1q_f32(cr, c##r##a);                                                      \
    vst1q_f32(cr + 4, c##r##b);                                                  \
  }
JTC_GEMM_FN void jtc_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                 int64_t n, int loadc, const jtc_gemm_tail *tail) {
  float32x4_t z = vdupq_n_f32(0.0f);
  float32x4_t c0a = z, c1a = z, c2a = z, c3a = z, c4a = z, c5a = z, c6a = z, c7a = z, c8a = z, c9a = z,
              c10a = z, c11a = z;
  float32x4_t c0b = z, c1b = z, c2b = z, c3b = z, c4b = z, c5b = z, c6b = z, c7b = z, c8b = z, c9b = z,
              c10b = z, c11b = z;
  for (int64_t k = 0; k < kc; k++, a += JTC_GEMM_PANEL, b += JTC_GEMM_NR) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), a2 = vld1q_f32(a + 8);
    JTC_GEMM_RN(0, a0, 0) JTC_GEMM_RN(1, a0, 1) JTC_GEMM_RN(2, a0, 2) JTC_GEMM_RN(3, a0, 3)
    JTC_GEMM_RN(4, a1, 0) JTC_GEMM_RN(5, a1, 1) JTC_GEMM_RN(6, a1, 2) JTC_GEMM_RN(7, a1, 3)
    JTC_GEMM_RN(8, a2, 0) JTC_GEMM_RN(9, a2, 1) JTC_GEMM_RN(10, a2, 2) JTC_GEMM_RN(11, a2, 3)
  }
  float t[JTC_GEMM_MR * JTC_GEMM_NR];
  JTC_GEMM_SN(0) JTC_GEMM_SN(1) JTC_GEMM_SN(2) JTC_GEMM_SN(3) JTC_GEMM_SN(4) JTC_GEMM_SN(5)
  JTC_GEMM_SN(6) JTC_GEMM_SN(7) JTC_GEMM_SN(8) JTC_GEMM_SN(9) JTC_GEMM_SN(10) JTC_GEMM_SN(11)
  jtc_gemm_tile_out(t, JTC_GEMM_MR, c, ldc, m, n, loadc, tail);
}
#undef JTC_GEMM_RN
#undef JTC_GEMM_SN

#else
JTC_GEMM_FN void jtc_gemm_kernel(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                 int64_t n, int loadc, const jtc_gemm_tail *tail) {
  jtc_gemm_kernel_scalar(kc, a, b, c, ldc, m, n, loadc, tail);
}
#endif

/* ---- epilogue and driver ---------------------------------------------------- */

typedef void (*jtc_gemm_kernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int64_t m,
                                   int64_t n, int loadc, const jtc_gemm_tail *tail);

/* One thread's part: rows [i0, i1) (i0 a multiple of 12), columns [j0, j1), K in
 * blocks of kcb. */
JTC_GEMM_FN void jtc_gemm_part(int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t K, int64_t kcb,
                               const float *Ap, jtc_pack_b_fn packb, const void *ctx, float *C, int64_t ldc,
                               int accumulate, const jtc_gemm_epi *epi, float *Bp) {
  jtc_gemm_kernel_fn kern = (epi && epi->scalar) ? jtc_gemm_kernel_scalar : jtc_gemm_kernel;
  int has_epi = epi && (epi->bias_row || epi->bias_col || epi->residual || epi->clamp);
  int64_t ncb = jtc_gemm_nc(j1 - j0);
  jtc_gemm_tail tail;
  memset(&tail, 0, sizeof tail);
  if (has_epi) tail.ldr = epi->ldr, tail.clamp = epi->clamp, tail.lo = epi->lo, tail.hi = epi->hi;
  if (K == 0) {
    for (int64_t i = i0; i < i1; i++)
      if (!accumulate) memset(C + i * ldc + j0, 0, (size_t)(j1 - j0) * sizeof(float));
    if (has_epi) {
      tail.brow = epi->bias_row ? epi->bias_row + i0 : NULL;
      tail.bcol = epi->bias_col ? epi->bias_col + j0 : NULL;
      tail.res = epi->residual ? epi->residual + i0 * epi->ldr + j0 : NULL;
      jtc_gemm_epilogue(C + i0 * ldc + j0, ldc, i1 - i0, j1 - j0, &tail);
    }
    if (epi && epi->post) epi->post(epi->post_ctx, C + i0 * ldc + j0, ldc, i0, j0, i1 - i0, j1 - j0);
    return;
  }
  for (int64_t n0 = j0; n0 < j1; n0 += ncb) {
    int64_t nc = j1 - n0 < ncb ? j1 - n0 : ncb;
    for (int64_t k0 = 0; k0 < K; k0 += kcb) {
      int64_t kc = K - k0 < kcb ? K - k0 : kcb;
      int loadc = accumulate || k0 > 0, last = k0 + kc == K;
      packb(ctx, Bp, k0, kc, n0, nc);
      for (int64_t i = i0; i < i1; i += JTC_GEMM_MR) {
        int64_t m = i1 - i < JTC_GEMM_MR ? i1 - i : JTC_GEMM_MR;
        const float *a = Ap + (i / JTC_GEMM_PANEL) * JTC_GEMM_PANEL * K + k0 * JTC_GEMM_PANEL + i % JTC_GEMM_PANEL;
        for (int64_t s = 0; s * JTC_GEMM_NR < nc; s++) {
          int64_t j = n0 + s * JTC_GEMM_NR, n = nc - s * JTC_GEMM_NR;
          if (n > JTC_GEMM_NR) n = JTC_GEMM_NR;
          float *c = C + i * ldc + j;
          if (last && has_epi) {
            tail.brow = epi->bias_row ? epi->bias_row + i : NULL;
            tail.bcol = epi->bias_col ? epi->bias_col + j : NULL;
            tail.res = epi->residual ? epi->residual + i * epi->ldr + j : NULL;
          }
          kern(kc, a, Bp + s * kc * JTC_GEMM_NR, c, ldc, m, n, loadc, last && has_epi ? &tail : NULL);
          if (last && epi && epi->post) epi->post(epi->post_ctx, c, ldc, i, j, m, n);
        }
      }
    }
  }
}

/* C (M x N, row stride ldc) = Ap * B, or += when accumulate, then the
 * epilogue (epi may be NULL). Ap: A packed by jtc_gemm_pack_a; B: produced
 * block by block by packb(ctx, ...). scratch: scratch_bytes bytes, at least
 * jtc_gemm_scratch_bytes(N, K, 1); more lets more threads run. Returns 0, or
 * -1 when the scratch is too small (C untouched). */
JTC_GEMM_FN int jtc_gemm(int64_t M, int64_t N, int64_t K, const float *Ap, jtc_pack_b_fn packb, const void *ctx,
                         float *C, int64_t ldc, int accumulate, const jtc_gemm_epi *epi, void *scratch,
                         size_t scratch_bytes) {
  int64_t slice = jtc_gemm_slice_floats(N, K), kcb = jtc_gemm_kc(N, K);
  size_t need = (size_t)slice * sizeof(float);
  uintptr_t base = ((uintptr_t)scratch + 63) & ~(uintptr_t)63;
  size_t skip = (size_t)(base - (uintptr_t)scratch);
  if (M <= 0 || N <= 0) return 0;
  if (!scratch || scratch_bytes < skip + need) return -1;
  float *Bp = (float *)base;
  int64_t tmax = (int64_t)((scratch_bytes - skip) / need);
#if defined(_OPENMP) && !defined(JTC_NO_OPENMP)
  int64_t nstrips = (N + JTC_GEMM_NR - 1) / JTC_GEMM_NR, npanels = (M + JTC_GEMM_PANEL - 1) / JTC_GEMM_PANEL;
  int64_t nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  double flops = 2.0 * (double)M * (double)N * (double)K;
  if (nt > tmax) nt = tmax;
  if (flops < 2e5) nt = 1;
  /* columns when each thread gets >= 4 strips, else rows (each thread then
   * packs the same B blocks: cheap when N is small) */
  int by_cols = nstrips >= 4 * nt || nstrips >= npanels;
  if (nt > (by_cols ? nstrips : npanels)) nt = by_cols ? nstrips : npanels;
  if (nt > 1) {
#pragma omp parallel num_threads((int)nt)
    {
      int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
      float *mine = Bp + t * slice;
      if (by_cols) {
        int64_t s0 = nstrips * t / T, s1 = nstrips * (t + 1) / T;
        int64_t c0 = s0 * JTC_GEMM_NR, c1 = s1 * JTC_GEMM_NR < N ? s1 * JTC_GEMM_NR : N;
        if (c0 < c1) jtc_gemm_part(0, M, c0, c1, K, kcb, Ap, packb, ctx, C, ldc, accumulate, epi, mine);
      } else {
        int64_t p0 = npanels * t / T, p1 = npanels * (t + 1) / T;
        int64_t r0 = p0 * JTC_GEMM_PANEL, r1 = p1 * JTC_GEMM_PANEL < M ? p1 * JTC_GEMM_PANEL : M;
        if (r0 < r1) jtc_gemm_part(r0, r1, 0, N, K, kcb, Ap, packb, ctx, C, ldc, accumulate, epi, mine);
      }
    }
    return 0;
  }
#else
  (void)tmax;
#endif
  jtc_gemm_part(0, M, 0, N, K, kcb, Ap, packb, ctx, C, ldc, accumulate, epi, Bp);
  return 0;
}
