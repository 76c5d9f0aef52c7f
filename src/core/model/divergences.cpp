#include "model/divergences.h"

#include <ATen/ATen.h>

#include <vector>

#include "kernels/autograd_support.h"
#include "kernels/fused_mmd.h"

namespace multigrade {

at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas) {
  if (fused::supports(dist)) return fused::multi_scale_rbf(dist, gammas);
  const at::Tensor g = at::tensor(gammas, dist.options().device(at::kCPU)).to(dist.device()).view({-1, 1, 1});
  return at::exp(-g * dist.unsqueeze(0)).mean(0);
}

const std::vector<double>& kernel_gammas() {
  static const std::vector<double> gammas = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1,   5,   10, 15,
                                             20,   25,   30,   35,   100,  1e3,  1e4, 1e5, 1e6};
  return gammas;
}

at::Tensor kl_standard_normal(const at::Tensor& mu, const at::Tensor& logvar) {
  return 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(1);
}

at::Tensor mmd_group_pairs(const at::Tensor& z, const at::Tensor& membership) {
  if (fused::supports(z)) {
    const at::Tensor codes = fused::membership_codes(membership);
    if (codes.defined()) return fused::group_mmd(z, codes, membership.size(1), kernel_gammas());
  }
  return mmd_from_kernel_matrix(z, membership);
}

at::Tensor mmd_from_kernel_matrix(const at::Tensor& z, const at::Tensor& membership) {
  const at::Tensor sq = z.pow(2).sum(1, /*keepdim=*/true);
  const at::Tensor dist = at::clamp_min(sq + sq.t() - 2.0 * at::mm(z, z.t()), 0.0);
  const at::Tensor kernel = multi_scale_rbf(dist, kernel_gammas());

  const at::Tensor block_sums = at::mm(membership.t(), at::mm(kernel, membership));  // G x G
  const at::Tensor counts = membership.sum(0);                                       // G
  const at::Tensor safe = at::clamp_min(counts, 1.0);
  const at::Tensor within = block_sums.diagonal() / safe.pow(2);  // G
  const at::Tensor between = block_sums / at::outer(safe, safe);  // G x G
  const at::Tensor pair_mmd = within.unsqueeze(1) + within.unsqueeze(0) - 2.0 * between;
  const at::Tensor valid = (counts > 1.5).to(z.scalar_type());
  const at::Tensor upper = at::triu(at::ones_like(pair_mmd), /*diagonal=*/1);
  return (pair_mmd * upper * at::outer(valid, valid)).sum();
}

}  // namespace multigrade
