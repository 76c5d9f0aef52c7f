// Dropout masks on the CPU from a counter-based generator: each element's draw is a hash of
// (seed, index), so a mask is reproducible from one seed taken from LibTorch's generator and
// costs a few nanoseconds per element (LibTorch 1.13's CPU bernoulli_ is ~10x slower).
#pragma once

#include <cstdint>

namespace multigrade {

// mask[i] = 0 with probability p, else 1 / (1 - p).
void dropout_mask_cpu(float* mask, int64_t n, double p, uint64_t seed);

}  // namespace multigrade
