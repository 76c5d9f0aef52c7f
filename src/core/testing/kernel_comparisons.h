// The fused CPU kernels against the ATen compositions they replace, on random inputs: what
// the C++ tests (tests/test_core.cpp) check. Built into the test binary only, never into the
// R package (scripts/check-layers.sh).
#pragma once

#include <cstdint>
#include <utility>

namespace multigrade {
namespace testing {

// Fused CPU kernels (kernels/fused_*.h, float, through the model's dispatching functions) against the autograd
// composition of ATen ops in double precision on random inputs: largest errors relative to the reference's scale.
struct FusedComparison {
  double value_error = 0;
  double gradient_error = 0;        // gradient of sum_b w_b * loss_b with random weights w
  double theta_gradient_error = 0;  // nb only: dispersion table
};
FusedComparison compare_fused_nb(int64_t rows, int64_t features, int64_t n_groups, uint64_t seed);
FusedComparison compare_fused_rbf(int64_t n, uint64_t seed);
// The fused output layer + NB loss (nb_head_loss) against at::linear then the NB composition,
// in double: errors of the value (with and without grad mode) and of the gradients in each
// input. With existing_grad, the weight starts with a gradient, as the flat buffer's
// parameters do, which the fused node must add to (in place) rather than replace.
struct NbHeadComparison {
  double value_error = 0, hidden_error = 0, weight_error = 0, bias_error = 0, table_error = 0;
};
// With row_weighted, the loss's row weights are promised (weighted mode; some are 0).
NbHeadComparison compare_nb_head(int64_t rows, int64_t features, int64_t hidden, int64_t n_groups, bool existing_grad,
                                 bool row_weighted, uint64_t seed);
// Whether the weighted mode's backward raises an error for an upstream gradient that is not
// proportional to the promised row weights.
bool nb_head_rejects_other_upstream(uint64_t seed);
// Sparse first encoder layer against at::linear on the densified log1p input; the weight
// starts with a gradient to be added to; the third error is that of the covariates'
// gradient (n_rest > 0).
FusedComparison compare_sparse_affine(int64_t rows, int64_t features, int64_t hidden, int64_t n_rest, uint64_t seed);
// Fused group-pair MMD (float, CPU) against the kernel-matrix composition in double, with
// cells of no group and a group of one cell; value and gradient in z.
FusedComparison compare_group_mmd(int64_t n, int64_t d, int64_t n_groups, uint64_t seed);

// Fused block activation (LayerNorm, LeakyReLU, dropout with probability p) against the ATen
// composition in double with the same dropout mask; the third error is the fraction of
// entries whose dropout pattern is not 0 or 1 / (1 - p) times the undropped value.
FusedComparison compare_block_activation(int64_t rows, int64_t width, double p, uint64_t seed);

// A whole FC block (linear_block: x W^T + b, then the activation) against at::linear and the
// composition in double with the same dropout mask; the weight starts with a gradient to be
// added to. Errors: value, and the gradients in x, weight and bias.
struct LinearBlockComparison {
  double value_error = 0, input_error = 0, weight_error = 0, bias_error = 0;
};
LinearBlockComparison compare_linear_block(int64_t rows, int64_t in, int64_t out, double p, uint64_t seed);

// Fraction of kept entries in a CPU dropout mask of n entries, and whether every entry is
// exactly 0 or 1 / (1 - p).
std::pair<double, bool> dropout_mask_summary(int64_t n, double p, uint64_t seed);

}  // namespace testing
}  // namespace multigrade
