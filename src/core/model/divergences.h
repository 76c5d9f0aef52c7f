// KL to the standard normal prior and the multi-scale RBF MMD used for alignment.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace multigrade {

// Per-cell KL(N(mu, exp(logvar)) || N(0, I)), summed over latent dimensions.
at::Tensor kl_standard_normal(const at::Tensor& mu, const at::Tensor& logvar);

// The bandwidths of the reference (scArches/trVAE) multi-scale RBF kernel.
const std::vector<double>& kernel_gammas();

// mean_g exp(-g * dist) elementwise, differentiable in dist: the fused CPU node for CPU
// float, the ATen composition elsewhere.
at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas);

// Sum over unordered pairs (a, b) of groups of the biased MMD^2 between the cells of a
// and of b, with K(x, y) = mean over 19 bandwidths of exp(-gamma |x - y|^2).
// `membership` is N x G with 0/1 weights (a cell may belong to no group); pairs where a
// group has fewer than two cells contribute 0. One kernel matrix serves all pairs, with
// no data-dependent shapes or host synchronisation.
// On the CPU with one group per cell it runs as one fused node (kernels/fused_mmd.h); elsewhere as
// the composition below.
at::Tensor mmd_group_pairs(const at::Tensor& z, const at::Tensor& membership);

// The same through the N x N kernel matrix and ATen ops (any device, any 0/1 membership).
at::Tensor mmd_from_kernel_matrix(const at::Tensor& z, const at::Tensor& membership);

}  // namespace multigrade
