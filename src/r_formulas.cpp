// R entry points to the model's formulas, for the unit tests that check them against
// independent R computations (dnbinom, closed-form PoE, a double-loop MMD).
#include <Rcpp.h>

#include "core/model/formulas.h"

namespace f = multigrade::formulas;

// [[Rcpp::export(rng = false)]]
std::vector<double> mg_formula_nb(std::vector<double> x, std::vector<double> mu, std::vector<double> theta) {
  return f::nb_log_prob(x, mu, theta);
}

// [[Rcpp::export(rng = false)]]
std::vector<double> mg_formula_nb_mixture(std::vector<double> x, std::vector<double> mu_background,
                                          std::vector<double> mu_foreground, std::vector<double> theta,
                                          std::vector<double> background_logits) {
  return f::nb_mixture_log_prob(x, mu_background, mu_foreground, theta, background_logits);
}

// [[Rcpp::export(rng = false)]]
std::vector<double> mg_formula_zinb(std::vector<double> x, std::vector<double> mu, std::vector<double> theta,
                                    std::vector<double> zi_logits) {
  return f::zinb_log_prob(x, mu, theta, zi_logits);
}

// mu, logvar: arrays cells x modalities x dims (R order); present: cells x modalities.
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_formula_poe(Rcpp::NumericVector mu, Rcpp::NumericVector logvar, Rcpp::NumericMatrix present,
                          std::string mixing) {
  const Rcpp::IntegerVector dim = mu.attr("dim");
  const int n = dim[0], m = dim[1], d = dim[2];
  std::vector<double> mu_rm(mu.size()), lv_rm(mu.size()), pr_rm(static_cast<size_t>(n) * m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) {
      pr_rm[i * m + j] = present(i, j);
      for (int k = 0; k < d; ++k) {
        mu_rm[(i * m + j) * d + k] = mu[i + n * (j + m * k)];
        lv_rm[(i * m + j) * d + k] = logvar[i + n * (j + m * k)];
      }
    }
  const auto out = f::joint_posterior(mu_rm, lv_rm, pr_rm, n, m, d, mixing);
  Rcpp::NumericMatrix mean(n, d), lv(n, d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) {
      mean(i, k) = out[0][i * d + k];
      lv(i, k) = out[1][i * d + k];
    }
  return Rcpp::List::create(Rcpp::_["mean"] = mean, Rcpp::_["logvar"] = lv);
}

// [[Rcpp::export(rng = false)]]
double mg_formula_mmd(Rcpp::NumericMatrix z, std::vector<int> group, int n_groups) {
  const int n = z.nrow(), d = z.ncol();
  std::vector<double> rm(static_cast<size_t>(n) * d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) rm[i * d + k] = z(i, k);
  return f::mmd(rm, n, d, group, n_groups);
}

// [[Rcpp::export(rng = false)]]
std::vector<double> mg_formula_kl(Rcpp::NumericMatrix mu, Rcpp::NumericMatrix logvar) {
  const int n = mu.nrow(), d = mu.ncol();
  std::vector<double> m(static_cast<size_t>(n) * d), l(m.size());
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) {
      m[i * d + k] = mu(i, k);
      l[i * d + k] = logvar(i, k);
    }
  return f::kl(m, l, n, d);
}
