// The negative binomial loss of a count modality as fused CPU autograd nodes (nb_kernel):
// value and analytic gradient in one pass over the batch's non-zeros. CPU float only
// (fused::supports); model/likelihoods.h chooses between these and the ATen composition.
#pragma once

#include <ATen/core/Tensor.h>

#include "kernels/sparse_rows.h"

namespace multigrade {
namespace fused {

// Loss per cell with mu = softmax(logits) * library, counts from sparse rows.
// logits: B x G; log_library, lgamma_const: B; log_theta_table: n_groups x G; group: B int64.
at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& logits, const at::Tensor& log_library,
                   const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const);

// The same loss with logits = hidden weight^T + bias computed inside (the decoder's output
// layer fused with the loss). hidden: B x H; weight: G x H; bias: G. row_weights (B) is a
// promise that the loss is used only through c * sum(row_weights * loss) for a constant c,
// as the objective's masked mean does: the node then reduces the bias and dispersion
// gradients inside its kernel, and its backward raises an error for any other upstream.
at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& hidden, const at::Tensor& weight,
                        const at::Tensor& bias, const at::Tensor& log_library, const at::Tensor& log_theta_table,
                        const at::Tensor& group, const at::Tensor& lgamma_const, const at::Tensor& row_weights);

}  // namespace fused
}  // namespace multigrade
