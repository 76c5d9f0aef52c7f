#include "kernels/adamw_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "kernels/simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;

// no-math-errno: sqrt of the (non-negative) second moment may then use vector sqrt.
MULTIGRADE_TARGET_CLONES __attribute__((optimize("no-math-errno"))) void adamw_range(float* p, float* g, float* m,
                                                                                     float* v, int64_t begin,
                                                                                     int64_t end,
                                                                                     const AdamWCoefficients& c) {
  int64_t i = begin;
  for (; i + simd::kLanes <= end; i += simd::kLanes) {
    const f8 grad = simd::load(g + i);
    const f8 m1 = simd::load(m + i) * c.beta1 + grad * (1.0f - c.beta1);
    const f8 v1 = simd::load(v + i) * c.beta2 + grad * grad * (1.0f - c.beta2);
    f8 sqrt_v;
    for (int k = 0; k < simd::kLanes; ++k) sqrt_v[k] = __builtin_sqrtf(v1[k]);  // vectorised by the compiler
    const f8 update = m1 / (sqrt_v * c.inv_sqrt_bias2 + c.eps);
    simd::store(p + i, simd::load(p + i) * c.decay - update * c.step_size);
    simd::store(m + i, m1);
    simd::store(v + i, v1);
    simd::store(g + i, simd::splat(0.0f));
  }
  for (; i < end; ++i) {
    const float grad = g[i];
    m[i] = m[i] * c.beta1 + grad * (1.0f - c.beta1);
    v[i] = v[i] * c.beta2 + grad * grad * (1.0f - c.beta2);
    p[i] = p[i] * c.decay - c.step_size * m[i] / (__builtin_sqrtf(v[i]) * c.inv_sqrt_bias2 + c.eps);
    g[i] = 0.0f;
  }
}

}  // namespace

void adamw_step_cpu(float* params, float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                    const AdamWCoefficients& c) {
  RECORD_FUNCTION("multigrade::adamw_step_cpu", std::vector<c10::IValue>());  // named in profiler traces
  at::parallel_for(0, n, 1 << 16,
                   [&](int64_t begin, int64_t end) { adamw_range(params, grads, exp_avg, exp_avg_sq, begin, end, c); });
}

}  // namespace multigrade
