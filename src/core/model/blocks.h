// The activation of every fully connected block: LayerNorm over the last dimension without
// affine parameters, LeakyReLU with `slope`, then inverted dropout with probability p
// (0: none). Each function takes the fused CPU node of kernels/fused_block.h where it
// applies (CPU float, 2-d) and the ATen composition elsewhere.
#pragma once

#include <ATen/core/Tensor.h>

namespace multigrade {

// Inverted dropout (drop with probability p, scale the rest by 1 / (1 - p)).
at::Tensor dropout(const at::Tensor& x, double p);

at::Tensor block_activation(const at::Tensor& x, double slope, double p);

// A whole FC block: block_activation(x weight^T + bias).
at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope, double p);

}  // namespace multigrade
