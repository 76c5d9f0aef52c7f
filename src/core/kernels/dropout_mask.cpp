#include "kernels/dropout_mask.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

namespace multigrade {

namespace {

// SplitMix64's finaliser: a bijective 64-bit mix with good avalanche, used as a hash.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

void dropout_mask_cpu(float* mask, int64_t n, double p, uint64_t seed) {
  RECORD_FUNCTION("multigrade::dropout_mask_cpu", std::vector<c10::IValue>());  // named in profiler traces
  // Keep when the top 32 bits of the hash fall at or above p * 2^32.
  const auto threshold = static_cast<uint64_t>(p * 4294967296.0);
  const auto keep = static_cast<float>(1.0 / (1.0 - p));
  const uint64_t base = mix64(seed);
  at::parallel_for(0, n, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      mask[i] = (mix64(base + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i)) >> 32) >= threshold ? keep : 0.0f;
  });
}

}  // namespace multigrade
