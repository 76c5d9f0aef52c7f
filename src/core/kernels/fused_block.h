// A fully connected block's activation (LayerNorm without affine parameters, LeakyReLU,
// inverted dropout) as fused CPU autograd nodes (block_kernel, dropout_mask): CPU float,
// 2-d only; model/blocks.h chooses between these and the ATen composition.
#pragma once

#include <ATen/core/Tensor.h>

namespace multigrade {
namespace fused {

constexpr double kLayerNormEps = 1e-5;

// Inverted dropout with a mask drawn from ATen's default CPU generator (p > 0).
at::Tensor dropout(const at::Tensor& x, double p);

// LayerNorm over the last dimension, LeakyReLU with `slope`, dropout with probability p
// (0: none), as one node.
at::Tensor block_activation(const at::Tensor& x, double slope, double p);

// block_activation(x weight^T + bias) as one node.
at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope, double p);

}  // namespace fused
}  // namespace multigrade
