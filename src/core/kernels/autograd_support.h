// What the fused autograd nodes of kernels/ share: when a node must compute gradients, and
// the in-place accumulation of big weight gradients.
#pragma once

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <initializer_list>

namespace multigrade {
namespace fused {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The tensors a fused node handles: CPU float. The model layer calls a node only for these
// and otherwise composes the same function from ATen ops (see src/core/README.md).
inline bool supports(const at::Tensor& t) { return t.is_cpu() && t.scalar_type() == at::kFloat; }

// Whether a fused loss must compute its gradients: decided by the caller, because inside a
// custom Function's forward grad mode is always off, and parameters require gradients even
// in no-grad passes (validation), where the gradient buffers would be wasted work.
inline bool gradients_wanted(std::initializer_list<at::Tensor> inputs) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

// The big weight gradients (the sparse first layer's and the NB output layer's, G x H) are
// added by the GEMM itself (beta = 1) into the weight's gradient buffer, the flat buffer of
// parameters.h, instead of coming back as a new tensor that autograd then adds in a second
// pass over 2 MB. Forward remembers that buffer when the weight has one.
inline void remember_weight_grad(AutogradContext* ctx, const at::Tensor& weight) {
  if (weight.requires_grad() && weight.grad().defined()) ctx->saved_data["weight_grad"] = weight.grad();
}

// a b into the remembered buffer (returns undefined: nothing left for autograd to add), or as
// a new tensor.
inline at::Tensor weight_grad_product(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
  const auto remembered = ctx->saved_data.find("weight_grad");
  if (remembered == ctx->saved_data.end()) return at::mm(a, b);
  remembered->second.toTensor().addmm_(a, b);
  return at::Tensor();
}

}  // namespace fused
}  // namespace multigrade
