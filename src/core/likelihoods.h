// Reconstruction log-likelihoods, elementwise (cells x features) and per cell.
// The count terms that depend only on the data (lgamma(x + 1)) are left out of the
// elementwise functions and added back per cell from a precomputed constant.
#pragma once

#include <ATen/core/Tensor.h>

namespace multigrade {

// log NB(x; mu, theta) + lgamma(x + 1), mean/inverse-dispersion form.
at::Tensor nb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu,
                                    const at::Tensor& log_theta);
// log ZINB(x; mu, theta, pi) + lgamma(x + 1); `zi_logits` are the zero-inflation logits.
at::Tensor zinb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu,
                                      const at::Tensor& log_theta, const at::Tensor& zi_logits);

// Per-cell losses (B), summed over features.
// nb/zinb: `logits` are the decoder's pre-softmax outputs; mu = softmax(logits) * library.
at::Tensor nb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& log_library,
                  const at::Tensor& log_theta, const at::Tensor& lgamma_const);
at::Tensor zinb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& zi_logits,
                    const at::Tensor& log_library, const at::Tensor& log_theta,
                    const at::Tensor& lgamma_const);
// Each cell's row of a per-group table (n_groups x G -> B x G); a one-row table broadcasts.
at::Tensor rows_by_group(const at::Tensor& table, const at::Tensor& group);
at::Tensor squared_error(const at::Tensor& x, const at::Tensor& prediction);
at::Tensor bernoulli_nll(const at::Tensor& x, const at::Tensor& logits);

}  // namespace multigrade
