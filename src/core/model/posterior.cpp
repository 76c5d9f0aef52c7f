#include "model/posterior.h"

#include <ATen/ATen.h>

namespace multigrade {

Gaussian joint_posterior(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                         const at::Tensor& present, Mixing mixing, bool prior_expert) {
  const at::Tensor mus = at::stack(mu, 1);          // B x M x D
  const at::Tensor logvars = at::stack(logvar, 1);  // B x M x D
  const at::Tensor mask = present.unsqueeze(2);     // B x M x 1
  if (mixing == Mixing::product) {
    const at::Tensor weighted_precision = mask * at::exp(-logvars);
    // Without the prior as an expert, a cell with no modality still gets it.
    const at::Tensor precision =
        prior_expert ? 1.0 + weighted_precision.sum(1)
                     : weighted_precision.sum(1) + (present.sum(1, /*keepdim=*/true) < 0.5).to(mus.scalar_type());
    const at::Tensor mean = (weighted_precision * mus).sum(1) / precision;
    return {mean, -at::log(precision)};
  }
  const at::Tensor n_present = present.sum(1, /*keepdim=*/true);  // B x 1
  const at::Tensor weights = (present / at::clamp_min(n_present, 1.0)).unsqueeze(2);
  const at::Tensor mean = (weights * mus).sum(1);
  const at::Tensor none = (n_present < 0.5).to(mus.scalar_type());
  const at::Tensor var = (weights.pow(2) * at::exp(logvars)).sum(1) + none;
  return {mean, at::log(var)};
}

at::Tensor posterior_consistency(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                                 const at::Tensor& present, Mixing mixing) {
  const int64_t n = present.size(0);
  if (n < 2 || mu.size() < 2) return at::zeros({n}, present.options());
  const at::Tensor mus = at::stack(mu, 1);       // B x M x D
  const at::Tensor mask = present.unsqueeze(2);  // B x M x 1
  const at::Tensor weights = mixing == Mixing::product ? mask * at::exp(-at::stack(logvar, 1)) : mask;
  const at::Tensor consensus = (weights * mus).sum(1) / at::clamp_min(weights.sum(1), 1e-12);  // B x D
  const at::Tensor has_several = (present.sum(1) >= 2).to(present.scalar_type());
  // One scalar scale for all dimensions, over the cells that have a consensus: per-dimension
  // variances of small batches are noisy.
  const at::Tensor n_several = at::clamp_min(has_several.sum(), 2.0);
  const at::Tensor centred =
      (consensus - (has_several.unsqueeze(1) * consensus).sum(0) / n_several) * has_several.unsqueeze(1);
  const at::Tensor scale = at::clamp_min(centred.pow(2).sum() / (n_several * consensus.size(1)), 1e-8);
  // The scale keeps its gradient (shrinking the latent space gains nothing); the consensus
  // as the target does not.
  const at::Tensor distance = (mask * (mus - consensus.detach().unsqueeze(1)).pow(2)).sum({1, 2});
  return has_several * distance / scale;
}

}  // namespace multigrade
