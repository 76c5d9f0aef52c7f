// Reconstruction log-likelihoods, elementwise (cells x features) and per cell.
// The count terms that depend only on the data (lgamma(x + 1)) are left out of the
// elementwise functions and added back per cell from a precomputed constant.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "kernels/sparse_rows.h"

namespace multigrade {

// log NB(x; mu, theta) + lgamma(x + 1), mean/inverse-dispersion form.
at::Tensor nb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu, const at::Tensor& log_theta);
// log ZINB(x; mu, theta, pi) + lgamma(x + 1); `zi_logits` are the zero-inflation logits.
at::Tensor zinb_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu, const at::Tensor& log_theta,
                                      const at::Tensor& zi_logits);

// log of pi_bg NB(x; mu_bg, theta) + (1 - pi_bg) NB(x; mu_fg, theta), + lgamma(x + 1);
// `background_logits` are the logits of pi_bg.
at::Tensor nb_mixture_log_prob_unnormalised(const at::Tensor& x, const at::Tensor& log_mu_background,
                                            const at::Tensor& log_mu_foreground, const at::Tensor& log_theta,
                                            const at::Tensor& background_logits);

// Per-cell losses (B), summed over features.
// nb/zinb: `logits` are the decoder's pre-softmax outputs; mu = softmax(logits) * library.
at::Tensor nb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& log_library,
                  const at::Tensor& log_theta, const at::Tensor& lgamma_const);
at::Tensor zinb_nll(const at::Tensor& x, const at::Tensor& logits, const at::Tensor& zi_logits,
                    const at::Tensor& log_library, const at::Tensor& log_theta, const at::Tensor& lgamma_const);
// nbmixture: background log-rates relative to the cell's mean count per feature
// (log_library - log d + `background`), foreground = background * (1 + softplus(`foreground`)).
at::Tensor nb_mixture_nll(const at::Tensor& x, const at::Tensor& background, const at::Tensor& foreground,
                          const at::Tensor& background_logits, const at::Tensor& log_library,
                          const at::Tensor& log_theta, const at::Tensor& lgamma_const);
// The two rates of nbmixture on the log scale: {log_mu_background, log_mu_foreground}.
std::pair<at::Tensor, at::Tensor> nb_mixture_log_rates(const at::Tensor& background, const at::Tensor& foreground,
                                                       const at::Tensor& log_library);
// Each cell's row of a per-group table (n_groups x G -> B x G); a one-row table broadcasts.
at::Tensor rows_by_group(const at::Tensor& table, const at::Tensor& group);
// The NB loss per cell of a count modality's batch: from its sparse rows with the fused CPU
// node of kernels/fused_nb.h when they are given and logits are CPU float, else nb_nll on
// dense x. x, logits: B x G; log_library, lgamma_const: B; log_theta_table: n_groups x G;
// group: B int64.
at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& logits, const at::Tensor& log_library,
                   const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const);
// The same with logits = hidden weight^T + bias. With row_weights (B; the promise of
// fused::nb_head_loss) and sparse rows on the CPU the output layer and the loss are one node;
// otherwise at::linear, then nb_loss.
at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& hidden, const at::Tensor& weight,
                        const at::Tensor& bias, const at::Tensor& log_library, const at::Tensor& log_theta_table,
                        const at::Tensor& group, const at::Tensor& lgamma_const,
                        const at::Tensor& row_weights = at::Tensor());
at::Tensor squared_error(const at::Tensor& x, const at::Tensor& prediction);
at::Tensor bernoulli_nll(const at::Tensor& x, const at::Tensor& logits);

}  // namespace multigrade
