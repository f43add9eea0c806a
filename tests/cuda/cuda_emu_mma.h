/* cuda_emu_mma.h: the CUDA emulator's fp16 scalar and warp matrix multiply
 * (cuda_fp16.h's __half, mma.h's nvcuda::wmma); cuda_emu.h includes it last.
 *
 *   __half        struct of the 16 bits; __float2half __float2half_rn
 *                 (round to nearest even) __half2float
 *   nvcuda::wmma  fragment<matrix_a | matrix_b | accumulator, 16, 16, K, T,
 *                 row_major | col_major> for K = 16 with T = __half and
 *                 K = 8 with T = precision::tf32 (accumulators: float);
 *                 fill_fragment load_matrix_sync store_matrix_sync
 *                 (mem_row_major | mem_col_major) mma_sync __float_to_tf32
 *
 * A fragment holds its whole tile in every lane. CUDA spreads it over the
 * warp in a layout it does not specify, so correct code only applies the
 * same operation to every x[i]; here that gives the same result. Each call
 * is a warp op: all lanes of the warp must make it (else the kernel stops
 * as a divergent warp op) with the same pointer, ldm and layout, and
 * pointers must be 32-byte aligned and ldm a multiple of 16 bytes, as CUDA
 * requires. mma_sync reads tf32 inputs as the tensor cores do (the low 13
 * bits of each float ignored), multiplies exactly and sums each element in
 * float in k order after the accumulator's value; GPUs may sum in another
 * order. */
#ifndef JTC_CUDA_EMU_MMA_H
#define JTC_CUDA_EMU_MMA_H

#define __CUDA_FP16_H__ /* the real cuda_fp16.h and mma.h, if on the include path, are skipped */
#define __CUDA_MMA_H__

struct __half {
  unsigned short __x;
};

inline __half __float2half_rn(float f) {
  uint32_t x, ax;
  memcpy(&x, &f, 4);
  unsigned short sign = (unsigned short)((x >> 16) & 0x8000u);
  ax = x & 0x7fffffffu;
  unsigned short h;
  if (ax > 0x7f800000u) h = 0x7e00;                    /* NaN */
  else if (ax >= 0x477ff000u) h = 0x7c00;              /* rounds past 65504: infinity */
  else if (ax < 0x38800000u) h = (unsigned short)nearbyintf(fabsf(f) * 0x1p24f); /* subnormal: multiples of 2^-24, even ties */
  else h = (unsigned short)((ax + 0xfffu + ((ax >> 13) & 1u) - 0x38000000u) >> 13);
  return __half{(unsigned short)(sign | h)};
}
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) {
  uint32_t sign = (uint32_t)(h.__x >> 15) << 31, e = (h.__x >> 10) & 0x1fu, m = h.__x & 0x3ffu, bits;
  if (e == 0) {
    float v = (float)m * 0x1p-24f;
    return sign ? -v : v;
  }
  bits = sign | (e == 0x1f ? 0x7f800000u | m << 13 : (e + 112) << 23 | m << 13);
  float v;
  memcpy(&v, &bits, 4);
  return v;
}

namespace jtc_emu {
/* Every lane of the warp passes the same key (its arguments) or the kernel stops. */
inline void mma_uniform(const char *what, const void *p, unsigned ldm, int layout, unsigned align, const char *file, int line) {
  if (p && ((uintptr_t)p % 32 || ldm * align % 16)) {
    snprintf(g.msg, sizeof g.msg, "nvcuda::wmma::%s at %s:%d: pointer %p or ldm %u breaks CUDA's rule (32-byte aligned, ldm a multiple of 16 bytes)",
             what, file, line, p, ldm);
    fail_here();
  }
  uint64_t key = (uint64_t)(uintptr_t)p ^ (uint64_t)ldm * 0x9e3779b97f4a7c15ull ^ (uint64_t)layout << 62;
  warp_op(W_MMA, ~0u, key, 0, 0, file, line);
}
inline float mma_in(float v, bool tf32) {
  if (!tf32) return v;
  uint32_t b;
  memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b &= 0xffffe000u;
  memcpy(&v, &b, 4);
  return v;
}
inline float mma_in(__half v, bool) { return __half2float(v); }
} // namespace jtc_emu

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
} // namespace precision

template <class T> struct storage { typedef T type; };
template <> struct storage<precision::tf32> { typedef float type; };

template <class Use, int M, int N, int K, class T, class Layout = void> struct fragment {
  static_assert(M == 16 && N == 16 && ((K == 16 && !std::is_same<T, precision::tf32>::value) || (K == 8 && !std::is_same<T, __half>::value)),
                "the emulator has the 16x16x16 (fp16) and 16x16x8 (tf32) shapes");
  static constexpr int rows = std::is_same<Use, matrix_b>::value ? K : M;
  static constexpr int cols = std::is_same<Use, matrix_a>::value ? K : N;
  static constexpr int num_elements = rows * cols;
  typedef typename storage<T>::type element_type;
  element_type x[rows * cols]; /* [row][col] */
};

inline float __float_to_tf32(float v) { /* to nearest, ties away from zero */
  uint32_t b;
  memcpy(&b, &v, 4);
  if ((b & 0x7f800000u) != 0x7f800000u) b = (b + 0x1000u) & 0xffffe000u;
  memcpy(&v, &b, 4);
  return v;
}

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L> &a, const typename fragment<Use, M, N, K, T, L>::element_type &v,
                          const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::mma_uniform("fill_fragment", nullptr, 0, 0, 1, file, line);
  for (auto &e : a.x) e = v;
}

template <class Use, int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L> &a, const typename fragment<Use, M, N, K, T, L>::element_type *p, unsigned ldm,
                             const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  static_assert(!std::is_same<Use, accumulator>::value, "an accumulator's load takes a layout_t");
  const bool rm = std::is_same<L, row_major>::value;
  jtc_emu::mma_uniform("load_matrix_sync", p, ldm, rm, sizeof *p, file, line);
  typedef fragment<Use, M, N, K, T, L> F;
  for (int i = 0; i < F::rows; i++)
    for (int j = 0; j < F::cols; j++) a.x[i * F::cols + j] = rm ? p[(size_t)i * ldm + j] : p[i + (size_t)j * ldm];
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float> &a, const float *p, unsigned ldm, layout_t layout,
                             const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::mma_uniform("load_matrix_sync", p, ldm, layout, 4, file, line);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) a.x[i * N + j] = layout == mem_row_major ? p[(size_t)i * ldm + j] : p[i + (size_t)j * ldm];
}

template <int M, int N, int K>
inline void store_matrix_sync(float *p, const fragment<accumulator, M, N, K, float> &a, unsigned ldm, layout_t layout,
                              const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::mma_uniform("store_matrix_sync", p, ldm, layout, 4, file, line);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) (layout == mem_row_major ? p[(size_t)i * ldm + j] : p[i + (size_t)j * ldm]) = a.x[i * N + j];
}

template <int M, int N, int K, class T, class LA, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float> &d, const fragment<matrix_a, M, N, K, T, LA> &a,
                     const fragment<matrix_b, M, N, K, T, LB> &b, const fragment<accumulator, M, N, K, float> &c,
                     const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::mma_uniform("mma_sync", nullptr, 0, 0, 1, file, line);
  const bool tf32 = std::is_same<T, precision::tf32>::value;
  float r[M * N];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = c.x[i * N + j];
      for (int k = 0; k < K; k++) s += jtc_emu::mma_in(a.x[i * K + k], tf32) * jtc_emu::mma_in(b.x[k * N + j], tf32);
      r[i * N + j] = s;
    }
  memcpy(d.x, r, sizeof r);
}

} // namespace wmma
} // namespace nvcuda

#endif
