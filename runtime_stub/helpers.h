/* jtc runtime helpers: copied verbatim into every generated .c file, so the
 * output depends on nothing but the C standard library. Integer helpers
 * avoid C's undefined cases (division by zero, INT64_MIN / -1, out-of-range
 * float -> int conversion) instead of crashing. */
#ifndef JTC_HELPER /* the CUDA target defines it to add __host__ __device__ */
#if defined(__GNUC__) || defined(__clang__)
#define JTC_HELPER static inline __attribute__((unused))
#else
#define JTC_HELPER static inline
#endif
#endif
typedef const char *jtc_str; /* an element of a string tensor: NUL-terminated UTF-8 */
/* a * b + c, fused where the target has FMA: ISO C modes (-std=c11) turn gcc's
 * contraction off, which doubles the cost of the polynomials below; without FMA
 * hardware fmaf would be a slow library call, so it is the plain expression. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA) || defined(__CUDA_ARCH__)
#define JTC_FMAF(a, b, c) fmaf(a, b, c)
#else
#define JTC_FMAF(a, b, c) ((a) * (b) + (c))
#endif
JTC_HELPER int64_t jtc_floordiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return (int64_t)(0 - (uint64_t)a);
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
JTC_HELPER int64_t jtc_floormod(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  int64_t r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
JTC_HELPER int64_t jtc_min64(int64_t a, int64_t b) { return a < b ? a : b; }
JTC_HELPER int64_t jtc_max64(int64_t a, int64_t b) { return a > b ? a : b; }
JTC_HELPER int64_t jtc_iabs(int64_t a) { return a < 0 ? (int64_t)(0 - (uint64_t)a) : a; }
JTC_HELPER int64_t jtc_idiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return (int64_t)(0 - (uint64_t)a);
  return a / b;
}
JTC_HELPER int64_t jtc_imod(int64_t a, int64_t b) { return jtc_floormod(a, b); }
JTC_HELPER int64_t jtc_ifmod(int64_t a, int64_t b) { return (b == 0 || b == -1) ? 0 : a % b; }
JTC_HELPER int64_t jtc_ipow(int64_t a, int64_t b) {
  uint64_t r = 1, x = (uint64_t)a;
  if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
  for (; b; b >>= 1, x *= x)
    if (b & 1) r *= x;
  return (int64_t)r;
}
JTC_HELPER float jtc_exp_poly(float r) { /* e^r for |r| <= ln2/2 */
  float y = JTC_FMAF(JTC_FMAF(JTC_FMAF(1.9875691500e-4f, r, 1.3981999507e-3f), r, 8.3334519073e-3f), r, 4.1665795894e-2f);
  y = JTC_FMAF(JTC_FMAF(y, r, 1.6666665459e-1f), r, 5.0000001201e-1f);
  return JTC_FMAF(y, r * r, r) + 1.0f;
}
/* e^x in float32 without libm, written so gcc vectorizes loops over it (AVX-512):
 * Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, with n rounded by the
 * 1.5*2^23 trick (floorf would block vectorization); Cephes' degree-6
 * polynomial for e^r (about 1 ulp); 2^n from exponent bits, in two factors as
 * n reaches 128. Below -87.33 (results < 1.2e-38, subnormal) it returns 0; NaN
 * propagates; above 88.72 it returns +inf. */
JTC_HELPER float jtc_expf(float x) {
  float xc = x < -87.33f ? -87.33f : x;
  xc = xc > 88.72f ? 88.72f : xc;
  float n = JTC_FMAF(xc, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
  float r = JTC_FMAF(n, 2.12194440e-4f, JTC_FMAF(n, -0.693359375f, xc));
  float y = jtc_exp_poly(r);
  int32_t ni = (int32_t)n, n1 = ni >> 1;
  union { int32_t i; float f; } s1, s2;
  s1.i = (n1 + 127) << 23;
  s2.i = (ni - n1 + 127) << 23;
  y = y * s1.f * s2.f;
  y = x > 88.72f ? INFINITY : y;
  y = x < -87.33f ? 0.0f : y;
  return x != x ? x : y;
}
JTC_HELPER double jtc_exp(double x) { return exp(x); }
/* 1 / (1 + e^-x) in float32 (Sigmoid, SiLU), the same e^t as jtc_expf with fewer
 * vector operations: t = -x clamped to [-87.33, 88.72] by max/min (the ends give 1
 * and 0 or a value below 3e-39, where the true sigmoid rounds to 1 or is subnormal)
 * and 2^n in one factor (n = 128 only at the top clamp: +inf, giving 0). A NaN
 * clamps to a finite t (no undefined float-to-int conversion) and is returned. */
JTC_HELPER float jtc_sigmoidf(float x) {
  float t = -x;
  t = t > -87.33f ? t : -87.33f;
  t = t < 88.72f ? t : 88.72f;
  float n = JTC_FMAF(t, 1.44269504088896341f, 12582912.0f) - 12582912.0f;
  float r = JTC_FMAF(n, 2.12194440e-4f, JTC_FMAF(n, -0.693359375f, t));
  float y = jtc_exp_poly(r);
  union { int32_t i; float f; } s;
  s.i = ((int32_t)n + 127) * (1 << 23);
  y = 1 / JTC_FMAF(y, s.f, 1.0f);
  return x != x ? x : y;
}
JTC_HELPER double jtc_sigmoid(double x) { return 1 / (1 + exp(-x)); }

/* cond ? a : b with both evaluated (they are safe to: guarded reads are inside them), so a
 * loop over it has no conditional loads and vectorizes (Clip lowers to two of these) */
JTC_HELPER float jtc_selectf(int c, float a, float b) { return c ? a : b; }
JTC_HELPER double jtc_select(int c, double a, double b) { return c ? a : b; }

/* max/min that return NaN when either operand is NaN, as numpy.maximum does (fmax does not) */
JTC_HELPER float jtc_fmaxf(float a, float b) { return (a != a || a > b) ? a : b; }
JTC_HELPER float jtc_fminf(float a, float b) { return (a != a || a < b) ? a : b; }
JTC_HELPER double jtc_fmax(double a, double b) { return (a != a || a > b) ? a : b; }
JTC_HELPER double jtc_fmin(double a, double b) { return (a != a || a < b) ? a : b; }
JTC_HELPER float jtc_fmodfloorf(float a, float b) {
  float r = fmodf(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
JTC_HELPER double jtc_fmodfloor(double a, double b) {
  double r = fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
JTC_HELPER int64_t jtc_f2i(double v) {
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}
JTC_HELPER uint64_t jtc_f2iu(double v) {
  if (v != v || v <= 0) return v > -1.0 ? 0 : (uint64_t)jtc_f2i(v);
  if (v >= 18446744073709551615.0) return UINT64_MAX;
  return (uint64_t)v;
}
JTC_HELPER float jtc_h2f(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float f;
  if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
  else if (exp) bits = sign | ((exp + 112) << 23) | (man << 13);
  else { f = (float)man * 0x1p-24f; return sign ? -f : f; }
  memcpy(&f, &bits, 4);
  return f;
}
JTC_HELPER uint16_t jtc_f2h(float f) {
  uint32_t x, ax;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0);
  if (ax >= 0x477ff000u) return sign | 0x7c00;
  if (ax < 0x38800000u) {
    float a;
    memcpy(&a, &ax, 4);
    return sign | (uint16_t)nearbyintf(a * 0x1p24f);
  }
  return sign | (uint16_t)((ax + 0xfff + ((ax >> 13) & 1) - 0x38000000u) >> 13);
}
JTC_HELPER float jtc_b2f(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}
JTC_HELPER uint16_t jtc_f2b(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11): a counter-based generator, so element i of draw `step` of stream
 * `stream` is a pure function of (seed, stream, step, i), the same whatever
 * the thread split. Returns a float in [0, 1) with 24 random bits. */
JTC_HELPER float jtc_philox_uniform(uint64_t seed, uint32_t stream, uint64_t step, uint64_t i) {
  uint32_t c0 = (uint32_t)i, c1 = (uint32_t)(i >> 32), c2 = (uint32_t)step, c3 = (uint32_t)(step >> 32) ^ stream;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return (float)(c0 >> 8) * 0x1p-24f;
}
