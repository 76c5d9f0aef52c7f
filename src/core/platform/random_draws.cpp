#include "platform/random_draws.h"

#include <ATen/ATen.h>

namespace multigrade {

namespace {
thread_local bool host_draws = false;

bool drawn_on_host(const at::Tensor& like) { return host_draws && !like.is_cpu(); }

at::TensorOptions host_options(const at::Tensor& like) { return like.options().device(at::kCPU); }
}  // namespace

HostDrawsScope::HostDrawsScope(bool on) : previous_(host_draws) { host_draws = on; }

HostDrawsScope::~HostDrawsScope() { host_draws = previous_; }

bool HostDrawsScope::active() { return host_draws; }

at::Tensor normal_like(const at::Tensor& like) {
  if (!drawn_on_host(like)) return at::randn_like(like);
  return at::randn(like.sizes(), host_options(like)).to(like.device());
}

at::Tensor uniform_like(const at::Tensor& like) {
  if (!drawn_on_host(like)) return at::rand_like(like);
  return at::rand(like.sizes(), host_options(like)).to(like.device());
}

}  // namespace multigrade
