// Tensor-level operations with fast CPU paths: each is one autograd node whose CPU kernel
// computes the value and its analytic gradient together (nb_kernel, rbf_kernel,
// block_kernel, dropout_mask); other devices use the equivalent composition of ATen ops.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "dataset.h"

namespace multigrade {

// Negative binomial loss per cell with mu = softmax(logits) * library. Counts come as sparse
// rows (CPU: the fused kernel) or, when `rows` is undefined, as dense x (ATen composition).
// x, logits: B x G; log_library, lgamma_const: B; log_theta_table: n_groups x G; group: B int64.
at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& logits,
                   const at::Tensor& log_library, const at::Tensor& log_theta_table,
                   const at::Tensor& group, const at::Tensor& lgamma_const);

// The same loss with logits = hidden weight^T + bias computed inside (the decoder's output
// layer fused with the loss on the CPU). hidden: B x H; weight: G x H; bias: G.
// row_weights (B, optional) promises that the loss is used only through c * sum(row_weights *
// loss) for a constant c, as the objective's masked mean does: the CPU node then reduces the
// bias and dispersion gradients inside its kernel, and its backward raises an error for any
// other upstream gradient. Without it: at::linear, then nb_loss.
at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& hidden,
                        const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& log_library,
                        const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const,
                        const at::Tensor& row_weights = at::Tensor());

// First layer of an encoder over sparse rows: rows.encoder_values (B x G, sparse) and `rest`
// (B x C dense covariates, or undefined) times weight (H x (G + C)) transposed, plus bias.
at::Tensor sparse_affine(const SparseRows& rows, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& rest);

// mean_g exp(-g * dist) elementwise, differentiable in dist.
at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas);

// Group codes (int64, -1 for none) of a CPU 0/1 membership matrix with at most one group per
// row, or an undefined tensor for any other membership.
at::Tensor group_codes(const at::Tensor& membership);

// The group-pair MMD of divergences.h for CPU float z from group codes, as one node whose
// kernel sums over cell pairs without a kernel matrix (differentiable in z).
at::Tensor group_mmd(const at::Tensor& z, const at::Tensor& codes, int64_t n_groups,
                     const std::vector<double>& gammas);

// Inverted dropout (drop with probability p, scale the rest by 1 / (1 - p)).
at::Tensor dropout(const at::Tensor& x, double p);

constexpr double kLayerNormEps = 1e-5;

// The activation after each FC block's linear map: LayerNorm over the last dimension without
// affine parameters, LeakyReLU with `slope`, then dropout with probability p (0: none).
at::Tensor block_activation(const at::Tensor& x, double slope, double p);

// A whole FC block: block_activation(x weight^T + bias) as one node on the CPU.
at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope,
                        double p);

}  // namespace multigrade
