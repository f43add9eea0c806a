/* cuda_emu_device.h: the CUDA emulator's device functions: barriers, warp
 * shuffles and votes, atomics, bit and math intrinsics, min/max. Part of
 * cuda_emu.h, which includes it. */
#ifndef JTC_CUDA_EMU_DEVICE_H
#define JTC_CUDA_EMU_DEVICE_H


inline void __syncthreads(const char *file = __builtin_FILE(), int line = __builtin_LINE()) { jtc_emu::barrier(file, line); }
inline void __syncwarp(unsigned mask = 0xffffffffu, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  jtc_emu::warp_op(jtc_emu::W_SYNC, mask, 0, 0, 0, file, line);
}
inline unsigned __ballot_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (unsigned)jtc_emu::warp_op(jtc_emu::W_BALLOT, mask, pred != 0, 0, 0, file, line);
}
inline int __any_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (int)jtc_emu::warp_op(jtc_emu::W_ANY, mask, pred != 0, 0, 0, file, line);
}
inline int __all_sync(unsigned mask, int pred, const char *file = __builtin_FILE(), int line = __builtin_LINE()) {
  return (int)jtc_emu::warp_op(jtc_emu::W_ALL, mask, pred != 0, 0, 0, file, line);
}

#define JTC_EMU_SHFL(T)                                                                                                        \
  inline T __shfl_sync(unsigned mask, T v, int src, int width = 32, const char *f = __builtin_FILE(), int l = __builtin_LINE()) { \
    return jtc_emu::shfl<T>(jtc_emu::W_IDX, mask, v, src, width, f, l);                                                         \
  }                                                                                                                            \
  inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32, const char *f = __builtin_FILE(),                    \
                          int l = __builtin_LINE()) {                                                                          \
    return jtc_emu::shfl<T>(jtc_emu::W_UP, mask, v, (int)d, width, f, l);                                                       \
  }                                                                                                                            \
  inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32, const char *f = __builtin_FILE(),                  \
                            int l = __builtin_LINE()) {                                                                        \
    return jtc_emu::shfl<T>(jtc_emu::W_DOWN, mask, v, (int)d, width, f, l);                                                     \
  }                                                                                                                            \
  inline T __shfl_xor_sync(unsigned mask, T v, int lm, int width = 32, const char *f = __builtin_FILE(),                      \
                           int l = __builtin_LINE()) {                                                                         \
    return jtc_emu::shfl<T>(jtc_emu::W_XOR, mask, v, lm, width, f, l);                                                          \
  }
JTC_EMU_SHFL(int)
JTC_EMU_SHFL(unsigned int)
JTC_EMU_SHFL(long)
JTC_EMU_SHFL(unsigned long)
JTC_EMU_SHFL(long long)
JTC_EMU_SHFL(unsigned long long)
JTC_EMU_SHFL(float)
JTC_EMU_SHFL(double)
#undef JTC_EMU_SHFL

/* Atomics: blocks and threads run one at a time on one OS thread, so a plain
 * read-modify-write is atomic. */
#define JTC_EMU_ATOMIC(name, T, expr)                                                                                          \
  inline T name(T *p, T v) {                                                                                                   \
    T old = *p;                                                                                                                \
    *p = (expr);                                                                                                               \
    return old;                                                                                                                \
  }
JTC_EMU_ATOMIC(atomicAdd, float, old + v)
JTC_EMU_ATOMIC(atomicAdd, double, old + v)
JTC_EMU_ATOMIC(atomicAdd, int, (int)((unsigned)old + (unsigned)v))
JTC_EMU_ATOMIC(atomicAdd, unsigned int, old + v)
JTC_EMU_ATOMIC(atomicAdd, unsigned long long, old + v)
JTC_EMU_ATOMIC(atomicSub, int, (int)((unsigned)old - (unsigned)v))
JTC_EMU_ATOMIC(atomicSub, unsigned int, old - v)
JTC_EMU_ATOMIC(atomicMax, int, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, unsigned int, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, long long, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMax, unsigned long long, old > v ? old : v)
JTC_EMU_ATOMIC(atomicMin, int, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, unsigned int, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, long long, old < v ? old : v)
JTC_EMU_ATOMIC(atomicMin, unsigned long long, old < v ? old : v)
JTC_EMU_ATOMIC(atomicExch, int, v)
JTC_EMU_ATOMIC(atomicExch, unsigned int, v)
JTC_EMU_ATOMIC(atomicExch, unsigned long long, v)
JTC_EMU_ATOMIC(atomicExch, float, v)
JTC_EMU_ATOMIC(atomicAnd, int, old & v)
JTC_EMU_ATOMIC(atomicAnd, unsigned int, old & v)
JTC_EMU_ATOMIC(atomicAnd, unsigned long long, old & v)
JTC_EMU_ATOMIC(atomicOr, int, old | v)
JTC_EMU_ATOMIC(atomicOr, unsigned int, old | v)
JTC_EMU_ATOMIC(atomicOr, unsigned long long, old | v)
JTC_EMU_ATOMIC(atomicXor, int, old ^ v)
JTC_EMU_ATOMIC(atomicXor, unsigned int, old ^ v)
JTC_EMU_ATOMIC(atomicXor, unsigned long long, old ^ v)
JTC_EMU_ATOMIC(atomicInc, unsigned int, old >= v ? 0u : old + 1)
JTC_EMU_ATOMIC(atomicDec, unsigned int, old == 0 || old > v ? v : old - 1)
#undef JTC_EMU_ATOMIC
#define JTC_EMU_CAS(T)                                                                                                         \
  inline T atomicCAS(T *p, T cmp, T v) {                                                                                       \
    T old = *p;                                                                                                                \
    if (old == cmp) *p = v;                                                                                                    \
    return old;                                                                                                                \
  }
JTC_EMU_CAS(int)
JTC_EMU_CAS(unsigned int)
JTC_EMU_CAS(unsigned long long)
#undef JTC_EMU_CAS

namespace jtc_emu {
template <class To, class From> inline To bits(From f) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To t;
  memcpy(&t, &f, sizeof t);
  return t;
}
} // namespace jtc_emu
inline int __float_as_int(float x) { return jtc_emu::bits<int>(x); }
inline float __int_as_float(int x) { return jtc_emu::bits<float>(x); }
inline unsigned int __float_as_uint(float x) { return jtc_emu::bits<unsigned int>(x); }
inline float __uint_as_float(unsigned int x) { return jtc_emu::bits<float>(x); }
inline long long __double_as_longlong(double x) { return jtc_emu::bits<long long>(x); }
inline double __longlong_as_double(long long x) { return jtc_emu::bits<double>(x); }
template <class T> inline T __ldg(const T *p) { return *p; }

inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
  x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
  x = (x >> 4 & 0x0f0f0f0fu) | (x & 0x0f0f0f0fu) << 4;
  return __builtin_bswap32(x);
}

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline float fdividef(float x, float y) { return x / y; }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fmaf_rn(float x, float y, float z) { return fmaf(x, y, z); }
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }
inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)floorf(x); }
inline int __float2int_ru(float x) { return (int)ceilf(x); }

/* CUDA's min/max overloads: the usual arithmetic conversions, fmin/fmax for floating types. */
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
  typedef std::common_type_t<A, B> C;
  if constexpr (std::is_floating_point<C>::value) return std::fmax((C)a, (C)b);
  else return (C)a > (C)b ? (C)a : (C)b;
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
  typedef std::common_type_t<A, B> C;
  if constexpr (std::is_floating_point<C>::value) return std::fmin((C)a, (C)b);
  else return (C)a < (C)b ? (C)a : (C)b;
}

#endif
