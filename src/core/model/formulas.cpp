#include "model/formulas.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "api.h"
#include "model/divergences.h"
#include "model/likelihoods.h"
#include "model/posterior.h"

namespace multigrade {
namespace formulas {

namespace {

at::Tensor as_tensor(const std::vector<double>& v, std::vector<int64_t> shape) {
  return at::tensor(v, at::kDouble).view(shape);
}

std::vector<double> as_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

std::vector<double> nb_log_prob(const std::vector<double>& x, const std::vector<double>& mu,
                                const std::vector<double>& theta) {
  const auto n = static_cast<int64_t>(x.size());
  const at::Tensor tx = as_tensor(x, {n});
  const at::Tensor lp = nb_log_prob_unnormalised(tx, as_tensor(mu, {n}).log(), as_tensor(theta, {n}).log());
  return as_vector(lp - at::lgamma(tx + 1.0));
}

std::vector<double> zinb_log_prob(const std::vector<double>& x, const std::vector<double>& mu,
                                  const std::vector<double>& theta, const std::vector<double>& zi_logits) {
  const auto n = static_cast<int64_t>(x.size());
  const at::Tensor tx = as_tensor(x, {n});
  const at::Tensor lp =
      zinb_log_prob_unnormalised(tx, as_tensor(mu, {n}).log(), as_tensor(theta, {n}).log(), as_tensor(zi_logits, {n}));
  return as_vector(lp - at::lgamma(tx + 1.0));
}

std::vector<double> nb_mixture_log_prob(const std::vector<double>& x, const std::vector<double>& mu_background,
                                        const std::vector<double>& mu_foreground, const std::vector<double>& theta,
                                        const std::vector<double>& background_logits) {
  const auto n = static_cast<int64_t>(x.size());
  const at::Tensor tx = as_tensor(x, {n});
  const at::Tensor lp =
      nb_mixture_log_prob_unnormalised(tx, as_tensor(mu_background, {n}).log(), as_tensor(mu_foreground, {n}).log(),
                                       as_tensor(theta, {n}).log(), as_tensor(background_logits, {n}));
  return as_vector(lp - at::lgamma(tx + 1.0));
}

namespace {

// Row-major cells x modalities x dims arrays as one cells x dims tensor per modality.
std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> split_experts(const std::vector<double>& mu,
                                                                          const std::vector<double>& logvar,
                                                                          int64_t n_cells, int64_t n_modalities,
                                                                          int64_t n_dims) {
  const at::Tensor m = as_tensor(mu, {n_cells, n_modalities, n_dims});
  const at::Tensor lv = as_tensor(logvar, {n_cells, n_modalities, n_dims});
  std::vector<at::Tensor> mus, logvars;
  for (int64_t k = 0; k < n_modalities; ++k) {
    mus.push_back(m.select(1, k));
    logvars.push_back(lv.select(1, k));
  }
  return {mus, logvars};
}

}  // namespace

std::vector<std::vector<double>> joint_posterior(const std::vector<double>& mu, const std::vector<double>& logvar,
                                                 const std::vector<double>& present, int64_t n_cells,
                                                 int64_t n_modalities, int64_t n_dims, const std::string& mixing,
                                                 bool prior_expert) {
  const auto experts = split_experts(mu, logvar, n_cells, n_modalities, n_dims);
  const Gaussian g = multigrade::joint_posterior(
      experts.first, experts.second, as_tensor(present, {n_cells, n_modalities}), parse_mixing(mixing), prior_expert);
  return {as_vector(g.mu), as_vector(g.logvar)};
}

std::vector<double> posterior_consistency(const std::vector<double>& mu, const std::vector<double>& logvar,
                                          const std::vector<double>& present, int64_t n_cells, int64_t n_modalities,
                                          int64_t n_dims, const std::string& mixing) {
  const auto experts = split_experts(mu, logvar, n_cells, n_modalities, n_dims);
  return as_vector(multigrade::posterior_consistency(
      experts.first, experts.second, as_tensor(present, {n_cells, n_modalities}), parse_mixing(mixing)));
}

double mmd(const std::vector<double>& z, int64_t n, int64_t d, const std::vector<int>& group, int64_t n_groups) {
  std::vector<int64_t> codes(group.begin(), group.end());
  const at::Tensor membership = at::one_hot(at::tensor(codes, at::kLong), n_groups).to(at::kDouble);
  return mmd_group_pairs(as_tensor(z, {n, d}), membership).item<double>();
}

std::vector<double> kl(const std::vector<double>& mu, const std::vector<double>& logvar, int64_t n, int64_t d) {
  return as_vector(kl_standard_normal(as_tensor(mu, {n, d}), as_tensor(logvar, {n, d})));
}

}  // namespace formulas
}  // namespace multigrade
