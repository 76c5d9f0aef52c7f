#include "optimizer.h"

#include <ATen/ATen.h>

#include <cmath>

#include "adamw_kernel.h"

namespace multigrade {

FlatAdamW::FlatAdamW(at::Tensor params, at::Tensor grads, AdamWSettings settings)
    : params_(std::move(params)), grads_(std::move(grads)), settings_(settings) {
  reset_state();
}

void FlatAdamW::reset_state() {
  exp_avg_ = at::zeros_like(params_);
  exp_avg_sq_ = at::zeros_like(params_);
  steps_ = 0;
}

void FlatAdamW::step() {
  at::NoGradGuard no_grad;
  ++steps_;
  const auto& s = settings_;
  const double bias1 = 1.0 - std::pow(s.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(s.beta2, static_cast<double>(steps_));
  if (params_.is_cpu() && params_.scalar_type() == at::kFloat) {
    AdamWCoefficients c;
    c.decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
    c.beta1 = static_cast<float>(s.beta1);
    c.beta2 = static_cast<float>(s.beta2);
    c.step_size = static_cast<float>(s.lr / bias1);
    c.inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
    c.eps = static_cast<float>(s.eps);
    adamw_step_cpu(params_.data_ptr<float>(), grads_.data_ptr<float>(), exp_avg_.data_ptr<float>(),
                   exp_avg_sq_.data_ptr<float>(), params_.numel(), c);
    return;
  }
  params_.mul_(1.0 - s.lr * s.weight_decay);
  exp_avg_.mul_(s.beta1).add_(grads_, 1.0 - s.beta1);
  exp_avg_sq_.mul_(s.beta2).addcmul_(grads_, grads_, 1.0 - s.beta2);
  const at::Tensor denom = (exp_avg_sq_.sqrt() / std::sqrt(bias2)).add_(s.eps);
  params_.addcdiv_(exp_avg_, denom, -s.lr / bias1);
  grads_.zero_();
}

}  // namespace multigrade
