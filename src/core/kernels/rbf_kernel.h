// Multi-scale RBF kernel on the CPU, value and derivative in one pass:
//   k(d) = mean_g exp(-g d),  k'(d) = -mean_g g exp(-g d)
// over squared distances d, and the group-pair MMD built on it (divergences.h).
#pragma once

#include <cstdint>

namespace multigrade {

// dist, kernel, derivative: n contiguous floats; derivative may be null.
void multi_scale_rbf_cpu(const float* dist, int64_t n, const float* gammas, int n_gammas, float* kernel,
                         float* derivative);

// The MMD over group pairs of divergences.h without a kernel matrix: with one group per cell
// (group[i] in [0, n_groups), or -1 for none), the loss is sum_{i,k} c[g_i][g_k] k(|z_i - z_k|^2)
// where c holds the pairs' 1 / n_g^2 and -1 / (n_g n_h) weights. Returns it, and writes its
// gradient with respect to z (n x d, row-major) into grad_z unless that is null.
double group_mmd_cpu(const float* z, int64_t n, int64_t d, const int64_t* group, int64_t n_groups, const float* gammas,
                     int n_gammas, float* grad_z);

}  // namespace multigrade
