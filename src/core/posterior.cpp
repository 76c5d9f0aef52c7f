#include "posterior.h"

#include <ATen/ATen.h>

namespace multigrade {

Gaussian joint_posterior(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                         const at::Tensor& present, Mixing mixing) {
  const at::Tensor mus = at::stack(mu, 1);         // B x M x D
  const at::Tensor logvars = at::stack(logvar, 1);  // B x M x D
  const at::Tensor mask = present.unsqueeze(2);     // B x M x 1
  if (mixing == Mixing::product) {
    const at::Tensor weighted_precision = mask * at::exp(-logvars);
    const at::Tensor precision = 1.0 + weighted_precision.sum(1);
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

}  // namespace multigrade
