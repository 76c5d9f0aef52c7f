#include "train/optimizer.h"

#include <ATen/ATen.h>

#include <cmath>

#include "kernels/adamw_kernel.h"

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

FlatAdamW::State FlatAdamW::state() const {
  return State{exp_avg_.to(at::kCPU).clone(), exp_avg_sq_.to(at::kCPU).clone(), steps_, settings_.lr};
}

void FlatAdamW::set_state(const State& state) {
  at::NoGradGuard no_grad;
  exp_avg_.copy_(state.exp_avg);
  exp_avg_sq_.copy_(state.exp_avg_sq);
  steps_ = state.steps;
  settings_.lr = state.lr;
}

void FlatAdamW::restrict_to(std::vector<std::pair<int64_t, int64_t>> ranges) {
  restricted_ = true;
  ranges_ = std::move(ranges);
}

void FlatAdamW::step() {
  at::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(settings_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(settings_.beta2, static_cast<double>(steps_));
  if (!restricted_) {
    step_range(0, params_.numel(), bias1, bias2);
    return;
  }
  for (const auto& r : ranges_) step_range(r.first, r.second, bias1, bias2);
  grads_.zero_();  // frozen parameters still receive gradients
}

void FlatAdamW::step_range(int64_t begin, int64_t end, double bias1, double bias2) {
  const auto& s = settings_;
  const int64_t n = end - begin;
  if (n <= 0) return;
  if (params_.is_cpu() && params_.scalar_type() == at::kFloat) {
    AdamWCoefficients c;
    c.decay = static_cast<float>(1.0 - s.lr * s.weight_decay);
    c.beta1 = static_cast<float>(s.beta1);
    c.beta2 = static_cast<float>(s.beta2);
    c.step_size = static_cast<float>(s.lr / bias1);
    c.inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
    c.eps = static_cast<float>(s.eps);
    adamw_step_cpu(params_.data_ptr<float>() + begin, grads_.data_ptr<float>() + begin,
                   exp_avg_.data_ptr<float>() + begin, exp_avg_sq_.data_ptr<float>() + begin, n, c);
    return;
  }
  at::Tensor p = params_.narrow(0, begin, n), g = grads_.narrow(0, begin, n);
  at::Tensor m = exp_avg_.narrow(0, begin, n), v = exp_avg_sq_.narrow(0, begin, n);
  p.mul_(1.0 - s.lr * s.weight_decay);
  m.mul_(s.beta1).add_(g, 1.0 - s.beta1);
  v.mul_(s.beta2).addcmul_(g, g, 1.0 - s.beta2);
  const at::Tensor denom = (v.sqrt() / std::sqrt(bias2)).add_(s.eps);
  p.addcdiv_(m, denom, -s.lr / bias1);
  g.zero_();
}

}  // namespace multigrade
