#include "model/likelihoods.h"

#include <ATen/ATen.h>
#include <ATen/core/Reduction.h>

#include <cmath>

#include "kernels/autograd_support.h"
#include "kernels/fused_nb.h"

namespace multigrade {

at::Tensor nb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu, const at::Tensor& log_theta) {
  const at::Tensor theta = log_theta.exp();
  const at::Tensor log_theta_mu = at::logaddexp(log_theta, log_mu);  // log(theta + mu)
  return theta * (log_theta - log_theta_mu) + x * (log_mu - log_theta_mu) + at::lgamma(x + theta) - at::lgamma(theta);
}

at::Tensor zinb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu, const at::Tensor& log_theta,
                                      const at::Tensor& zi_logits) {
  const at::Tensor theta = log_theta.exp();
  const at::Tensor log_theta_mu = at::logaddexp(log_theta, log_mu);
  const at::Tensor softplus_pi = at::softplus(-zi_logits);
  const at::Tensor pi_theta_log = -zi_logits + theta * (log_theta - log_theta_mu);
  const at::Tensor case_zero = at::softplus(pi_theta_log) - softplus_pi;
  const at::Tensor case_nonzero =
      -softplus_pi + pi_theta_log + x * (log_mu - log_theta_mu) + at::lgamma(x + theta) - at::lgamma(theta);
  return at::where(x < 1e-8, case_zero, case_nonzero);
}

at::Tensor nb_mixture_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu_background,
                                            const at::Tensor& log_mu_foreground, const at::Tensor& log_theta,
                                            const at::Tensor& background_logits) {
  const at::Tensor log_background =
      -at::softplus(-background_logits) + nb_log_prob_unnormalised(x, log_mu_background, log_theta);
  const at::Tensor log_foreground =
      -at::softplus(background_logits) + nb_log_prob_unnormalised(x, log_mu_foreground, log_theta);
  return at::logaddexp(log_background, log_foreground);
}

std::pair<at::Tensor, at::Tensor> nb_mixture_log_rates(const at::Tensor& background, const at::Tensor& foreground,
                                                       const at::Tensor& log_library) {
  const double log_features = std::log(static_cast<double>(background.size(1)));
  const at::Tensor log_mu_background = background + (log_library.unsqueeze(1) - log_features);
  // Foreground at least the background: log(1 + softplus(a)) added on the log scale.
  const at::Tensor log_mu_foreground = log_mu_background + at::log1p(at::softplus(foreground));
  return {log_mu_background, log_mu_foreground};
}

at::Tensor nb_mixture_nll(const at::Tensor& x, const at::Tensor& background, const at::Tensor& foreground,
                          const at::Tensor& background_logits, const at::Tensor& log_library,
                          const at::Tensor& log_theta, const at::Tensor& lgamma_const) {
  const auto rates = nb_mixture_log_rates(background, foreground, log_library);
  return lgamma_const -
         nb_mixture_log_prob_unnormalised(x, rates.first, rates.second, log_theta, background_logits).sum(1);
}

at::Tensor nb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& log_library,
                  const at::Tensor& log_theta, const at::Tensor& lgamma_const) {
  const at::Tensor log_mu = at::log_softmax(logits, 1) + log_library.unsqueeze(1);
  return lgamma_const - nb_log_prob_unnormalised(x, log_mu, log_theta).sum(1);
}

at::Tensor zinb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& zi_logits,
                    const at::Tensor& log_library, const at::Tensor& log_theta, const at::Tensor& lgamma_const) {
  const at::Tensor log_mu = at::log_softmax(logits, 1) + log_library.unsqueeze(1);
  return lgamma_const - zinb_log_prob_unnormalised(x, log_mu, log_theta, zi_logits).sum(1);
}

at::Tensor rows_by_group(const at::Tensor& table, const at::Tensor& group) {
  return table.size(0) == 1 ? table : table.index_select(0, group);
}

at::Tensor squared_error(const at::Tensor& x, const at::Tensor& prediction) { return (prediction - x).pow(2).sum(1); }

at::Tensor bernoulli_nll(const at::Tensor& x, const at::Tensor& logits) {
  return at::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::None).sum(1);
}

at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& logits, const at::Tensor& log_library,
                   const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const) {
  if (rows.defined() && fused::supports(logits))
    return fused::nb_loss(rows, logits, log_library, log_theta_table, group, lgamma_const);
  return nb_nll(x, logits, log_library, rows_by_group(log_theta_table, group), lgamma_const);
}

at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& hidden, const at::Tensor& weight,
                        const at::Tensor& bias, const at::Tensor& log_library, const at::Tensor& log_theta_table,
                        const at::Tensor& group, const at::Tensor& lgamma_const, const at::Tensor& row_weights) {
  // Without the promise, the output layer and FusedNbLoss stay separate nodes.
  if (rows.defined() && row_weights.defined() && fused::supports(hidden))
    return fused::nb_head_loss(rows, hidden, weight, bias, log_library, log_theta_table, group, lgamma_const,
                               row_weights);
  return nb_loss(rows, x, at::linear(hidden, weight, bias), log_library, log_theta_table, group, lgamma_const);
}

}  // namespace multigrade
