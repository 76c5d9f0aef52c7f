// Eight-lane float vectors (GCC/Clang vector extensions) with exp and log, for the fused
// CPU kernels. Written as plain vector arithmetic so one source compiles to
// AVX2+FMA or to SSE2 pairs (see MULTIGRADE_TARGET_CLONES); accuracy is about 2 ulp over the
// ranges the likelihoods use (Cephes-style range reduction and minimax polynomials).
#pragma once

#include <cstdint>
#include <cstring>

// Function multi-versioning: an AVX2+FMA clone chosen at load time where the CPU has it,
// a baseline clone elsewhere. Only where GCC's ifunc-based target_clones is known to work.
// "arch=x86-64-v3" (AVX2+FMA+BMI) is dispatched by ISA level, so AMD CPUs get it too
// ("arch=haswell" is chosen by CPU model and is not); GCC 12 is the first to support it.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && __GNUC__ >= 12
#define MULTIGRADE_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#elif defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MULTIGRADE_TARGET_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MULTIGRADE_TARGET_CLONES
#endif

// Everything here is forced inline so that each target clone gets its own instruction set;
// the vector-ABI warning does not apply to functions that never exist out of line.
#define MULTIGRADE_SIMD inline __attribute__((always_inline))
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {
namespace simd {

constexpr int kLanes = 8;
typedef float f8 __attribute__((vector_size(32)));
typedef int32_t i8 __attribute__((vector_size(32)));

MULTIGRADE_SIMD f8 splat(float v) { return f8{v, v, v, v, v, v, v, v}; }

MULTIGRADE_SIMD f8 load(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

MULTIGRADE_SIMD void store(float* p, f8 v) { std::memcpy(p, &v, sizeof(v)); }

// The first n (< 8) lanes from p, the rest `fill`.
MULTIGRADE_SIMD f8 load_partial(const float* p, int n, float fill) {
  float tmp[kLanes];
  for (int k = 0; k < kLanes; ++k) tmp[k] = k < n ? p[k] : fill;
  return load(tmp);
}

MULTIGRADE_SIMD void store_partial(float* p, f8 v, int n) {
  float tmp[kLanes];
  store(tmp, v);
  for (int k = 0; k < n; ++k) p[k] = tmp[k];
}

// Lanes of the vector at j in a row of n: 8, or fewer in the row's tail.
MULTIGRADE_SIMD int lanes_at(int64_t n, int64_t j) { return static_cast<int>(n - j < kLanes ? n - j : kLanes); }

// The first `rest` lanes at p, through the partial load or store only when rest < 8: loops
// over rows pay for the small buffer on their last vector alone.
MULTIGRADE_SIMD f8 load_lanes(const float* p, int rest, float fill) {
  return rest == kLanes ? load(p) : load_partial(p, rest, fill);
}

MULTIGRADE_SIMD void store_lanes(float* p, f8 v, int rest) {
  if (rest == kLanes) {
    store(p, v);
  } else {
    store_partial(p, v, rest);
  }
}

MULTIGRADE_SIMD float sum(f8 v) {
  float tmp[kLanes];
  store(tmp, v);
  return ((tmp[0] + tmp[1]) + (tmp[2] + tmp[3])) + ((tmp[4] + tmp[5]) + (tmp[6] + tmp[7]));
}

MULTIGRADE_SIMD float max(f8 v) {
  float tmp[kLanes];
  store(tmp, v);
  float m = tmp[0];
  for (int k = 1; k < kLanes; ++k) m = tmp[k] > m ? tmp[k] : m;
  return m;
}

MULTIGRADE_SIMD f8 vmax(f8 a, f8 b) { return a > b ? a : b; }
MULTIGRADE_SIMD f8 vmin(f8 a, f8 b) { return a < b ? a : b; }

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6 polynomial, 2^n through the
// exponent bits. Inputs are clamped to the finite range (e^-87.3 is the smallest normal).
MULTIGRADE_SIMD f8 exp(f8 x) {
  x = vmin(vmax(x, splat(-87.3f)), splat(88.7f));
  const f8 n = __builtin_convertvector(
      __builtin_convertvector(x * 1.44269504088896341f + (x >= 0 ? splat(0.5f) : splat(-0.5f)), i8), f8);
  f8 r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const f8 r2 = r * r;
  f8 p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const i8 bits = (__builtin_convertvector(n, i8) + 127) << 23;
  return p * (f8)bits;
}

// Natural log for positive finite x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
// log(m) = f - f^2/2 + f^3 P(f) with f = m - 1.
MULTIGRADE_SIMD f8 log(f8 x) {
  const i8 bits = (i8)x;
  i8 e = ((bits >> 23) & 0xff) - 127;
  f8 m = (f8)((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  const i8 big = m > 1.41421356f;
  m = big ? m * 0.5f : m;
  e = e - big;  // big is -1 where true
  const f8 ef = __builtin_convertvector(e, f8);
  const f8 f = m - 1.0f;
  const f8 z = f * f;
  f8 p = splat(7.0376836292e-2f);
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  f8 y = f * z * p;
  y = y + ef * -2.12194440e-4f;
  y = y - 0.5f * z;
  return f + y + ef * 0.693359375f;
}

}  // namespace simd
}  // namespace multigrade

#pragma GCC diagnostic pop
