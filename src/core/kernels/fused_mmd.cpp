#include "kernels/fused_mmd.h"

#include <ATen/ATen.h>

#include "kernels/autograd_support.h"
#include "kernels/rbf_kernel.h"

namespace multigrade {
namespace fused {

namespace {

class FusedMultiScaleRbf : public torch::autograd::Function<FusedMultiScaleRbf> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& dist, const std::vector<double>& gammas) {
    const at::Tensor d = dist.contiguous();
    const std::vector<float> g(gammas.begin(), gammas.end());
    at::Tensor kernel = at::empty_like(d);
    at::Tensor derivative;
    if (dist.requires_grad()) derivative = at::empty_like(d);
    multi_scale_rbf_cpu(d.data_ptr<float>(), d.numel(), g.data(), static_cast<int>(g.size()), kernel.data_ptr<float>(),
                        derivative.defined() ? derivative.data_ptr<float>() : nullptr);
    if (derivative.defined()) ctx->save_for_backward({derivative});
    return kernel;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    return {saved[0].mul_(grad_output[0]), at::Tensor()};
  }
};

class FusedGroupMmd : public torch::autograd::Function<FusedGroupMmd> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& z, const at::Tensor& codes, int64_t n_groups,
                            const std::vector<double>& gammas) {
    const at::Tensor zc = z.contiguous();
    const std::vector<float> g(gammas.begin(), gammas.end());
    at::Tensor grad_z;
    if (z.requires_grad()) grad_z = at::empty_like(zc);
    const double loss =
        group_mmd_cpu(zc.data_ptr<float>(), zc.size(0), zc.size(1), codes.data_ptr<int64_t>(), n_groups, g.data(),
                      static_cast<int>(g.size()), grad_z.defined() ? grad_z.data_ptr<float>() : nullptr);
    if (grad_z.defined()) ctx->save_for_backward({grad_z});
    return at::scalar_tensor(loss, zc.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    return {saved[0].mul_(grad_output[0]), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas) {
  return FusedMultiScaleRbf::apply(dist, gammas);
}

at::Tensor membership_codes(const at::Tensor& membership) {
  if (!membership.is_cpu() || membership.dim() != 2) return at::Tensor();
  const at::Tensor m = membership.to(at::kFloat).contiguous();
  const float* v = m.data_ptr<float>();
  const int64_t n = m.size(0), n_groups = m.size(1);
  at::Tensor codes = at::full({n}, -1, at::TensorOptions().dtype(at::kLong));
  int64_t* code = codes.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < n_groups; ++g) {
      const float x = v[i * n_groups + g];
      if (x == 0.0f) continue;
      if (x != 1.0f || code[i] >= 0) return at::Tensor();  // weighted, or in two groups
      code[i] = g;
    }
  }
  return codes;
}

at::Tensor group_mmd(const at::Tensor& z, const at::Tensor& codes, int64_t n_groups,
                     const std::vector<double>& gammas) {
  return FusedGroupMmd::apply(z, codes, n_groups, gammas);
}

}  // namespace fused
}  // namespace multigrade
