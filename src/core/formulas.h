// The model's formulas on plain arrays (double precision), so that tests in R and C++
// can check them against independent computations. Same code paths as training.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace multigrade {
namespace formulas {

// Elementwise log-probabilities (lgamma(x + 1) included).
std::vector<double> nb_log_prob(const std::vector<double>& x, const std::vector<double>& mu,
                                const std::vector<double>& theta);
std::vector<double> nb_mixture_log_prob(const std::vector<double>& x, const std::vector<double>& mu_background,
                                        const std::vector<double>& mu_foreground, const std::vector<double>& theta,
                                        const std::vector<double>& background_logits);
std::vector<double> zinb_log_prob(const std::vector<double>& x, const std::vector<double>& mu,
                                  const std::vector<double>& theta, const std::vector<double>& zi_logits);

// mu, logvar: row-major cells x modalities x dims; present: cells x modalities.
// Returns {joint mean, joint logvar}, each row-major cells x dims.
std::vector<std::vector<double>> joint_posterior(const std::vector<double>& mu,
                                                 const std::vector<double>& logvar,
                                                 const std::vector<double>& present, int64_t n_cells,
                                                 int64_t n_modalities, int64_t n_dims,
                                                 const std::string& mixing, bool prior_expert = true);

// Per-cell posterior_consistency (posterior.h); same layouts.
std::vector<double> posterior_consistency(const std::vector<double>& mu, const std::vector<double>& logvar,
                                          const std::vector<double>& present, int64_t n_cells,
                                          int64_t n_modalities, int64_t n_dims, const std::string& mixing);

// Sum over group pairs of the multi-scale MMD^2; z row-major n x d, groups 0-based.
double mmd(const std::vector<double>& z, int64_t n, int64_t d, const std::vector<int>& group,
           int64_t n_groups);

// Per-cell KL to N(0, I); row-major n x d.
std::vector<double> kl(const std::vector<double>& mu, const std::vector<double>& logvar, int64_t n,
                       int64_t d);

// Fused CPU kernels (fused_ops.h, float) against the autograd composition of ATen ops in
// double precision on random inputs: largest errors relative to the reference's scale.
struct FusedComparison {
  double value_error = 0;
  double gradient_error = 0;      // gradient of sum_b w_b * loss_b with random weights w
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
NbHeadComparison compare_nb_head(int64_t rows, int64_t features, int64_t hidden, int64_t n_groups,
                                 bool existing_grad, bool row_weighted, uint64_t seed);
// Whether the weighted mode's backward raises an error for an upstream gradient that is not
// proportional to the promised row weights.
bool nb_head_rejects_other_upstream(uint64_t seed);
// Sparse first encoder layer against at::linear on the densified log1p input; the weight
// starts with a gradient to be added to; the third error is that of the covariates'
// gradient (n_rest > 0).
FusedComparison compare_sparse_affine(int64_t rows, int64_t features, int64_t hidden, int64_t n_rest,
                                      uint64_t seed);
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

}  // namespace formulas
}  // namespace multigrade
