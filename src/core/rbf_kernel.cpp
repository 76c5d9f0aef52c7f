#include "rbf_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;

// Sums over the bandwidths for eight distances at once.
MULTIGRADE_SIMD void rbf_lanes(f8 d, const float* gammas, int n_gammas, f8* k, f8* dk) {
  *k = simd::splat(0.0f);
  *dk = simd::splat(0.0f);
  for (int g = 0; g < n_gammas; ++g) {
    const f8 e = simd::exp(d * -gammas[g]);
    *k += e;
    *dk -= e * gammas[g];
  }
}

MULTIGRADE_TARGET_CLONES
void rbf_range(const float* dist, int64_t begin, int64_t end, const float* gammas, int n_gammas,
               float* kernel, float* derivative) {
  const float inv_n = 1.0f / static_cast<float>(n_gammas);
  f8 k, dk;
  int64_t i = begin;
  for (; i + simd::kLanes <= end; i += simd::kLanes) {
    rbf_lanes(simd::load(dist + i), gammas, n_gammas, &k, &dk);
    simd::store(kernel + i, k * inv_n);
    if (derivative != nullptr) simd::store(derivative + i, dk * inv_n);
  }
  if (i < end) {
    const int rest = static_cast<int>(end - i);
    rbf_lanes(simd::load_partial(dist + i, rest, 0.0f), gammas, n_gammas, &k, &dk);
    simd::store_partial(kernel + i, k * inv_n, rest);
    if (derivative != nullptr) simd::store_partial(derivative + i, dk * inv_n, rest);
  }
}

}  // namespace

void multi_scale_rbf_cpu(const float* dist, int64_t n, const float* gammas, int n_gammas,
                         float* kernel, float* derivative) {
  RECORD_FUNCTION("multigrade::multi_scale_rbf_cpu", std::vector<c10::IValue>());  // named in profiler traces
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    rbf_range(dist, begin, end, gammas, n_gammas, kernel, derivative);
  });
}

}  // namespace multigrade
