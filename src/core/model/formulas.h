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
std::vector<std::vector<double>> joint_posterior(const std::vector<double>& mu, const std::vector<double>& logvar,
                                                 const std::vector<double>& present, int64_t n_cells,
                                                 int64_t n_modalities, int64_t n_dims, const std::string& mixing,
                                                 bool prior_expert = true);

// Per-cell posterior_consistency (posterior.h); same layouts.
std::vector<double> posterior_consistency(const std::vector<double>& mu, const std::vector<double>& logvar,
                                          const std::vector<double>& present, int64_t n_cells, int64_t n_modalities,
                                          int64_t n_dims, const std::string& mixing);

// Sum over group pairs of the multi-scale MMD^2; z row-major n x d, groups 0-based.
double mmd(const std::vector<double>& z, int64_t n, int64_t d, const std::vector<int>& group, int64_t n_groups);

// Per-cell KL to N(0, I); row-major n x d.
std::vector<double> kl(const std::vector<double>& mu, const std::vector<double>& logvar, int64_t n, int64_t d);

}  // namespace formulas
}  // namespace multigrade
