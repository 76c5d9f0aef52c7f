// The first layer of an encoder over a count modality's sparse rows, as one autograd node
// (CPU float only: the model calls it for batches that come as sparse rows).
#pragma once

#include <ATen/core/Tensor.h>

#include "kernels/sparse_rows.h"

namespace multigrade {
namespace fused {

// rows.encoder_values (B x G, sparse) and `rest` (B x C dense covariates, or undefined)
// times weight (H x (G + C)) transposed, plus bias.
at::Tensor sparse_affine(const SparseRows& rows, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& rest);

}  // namespace fused
}  // namespace multigrade
