// The MMD's kernel pieces as fused CPU autograd nodes (rbf_kernel): CPU float only
// (fused::supports); model/divergences.h chooses between these and the ATen composition.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace multigrade {
namespace fused {

// mean_g exp(-g * dist) elementwise, differentiable in dist.
at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas);

// Codes (int64, -1 for none) of a CPU 0/1 membership matrix with at most one group per row,
// or an undefined tensor for any other membership (weighted, or a cell in two groups).
at::Tensor membership_codes(const at::Tensor& membership);

// The group-pair MMD of model/divergences.h from membership codes, as one node whose kernel
// sums over cell pairs without a kernel matrix (differentiable in z).
at::Tensor group_mmd(const at::Tensor& z, const at::Tensor& codes, int64_t n_groups, const std::vector<double>& gammas);

}  // namespace fused
}  // namespace multigrade
