// Multi-scale RBF kernel on the CPU, value and derivative in one pass:
//   k(d) = mean_g exp(-g d),  k'(d) = -mean_g g exp(-g d)
// over squared distances d, for the MMD of divergences.h.
#pragma once

#include <cstdint>

namespace multigrade {

// dist, kernel, derivative: n contiguous floats; derivative may be null.
void multi_scale_rbf_cpu(const float* dist, int64_t n, const float* gammas, int n_gammas,
                         float* kernel, float* derivative);

}  // namespace multigrade
