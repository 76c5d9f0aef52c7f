#include "kernels/fused_block.h"

#include <ATen/ATen.h>

#include "kernels/autograd_support.h"
#include "kernels/block_kernel.h"
#include "kernels/random_draws.h"

namespace multigrade {
namespace fused {

namespace {

BlockKernelArgs block_args(const at::Tensor& x, double slope, const at::Tensor& mask) {
  BlockKernelArgs a;
  a.n_rows = x.size(0);
  a.width = x.size(1);
  a.eps = kLayerNormEps;
  a.slope = static_cast<float>(slope);
  a.mask = mask.defined() ? mask.data_ptr<float>() : nullptr;
  return a;
}

// The activation's forward over contiguous x (bias: undefined, or added first). The saved
// state of the backward comes first in save_for_backward: xhat, rstd, mask.
struct ActivationForward {
  at::Tensor y, xhat, rstd, mask;
};

ActivationForward block_activation_forward(const at::Tensor& x, const at::Tensor& bias, double slope, double p) {
  ActivationForward f;
  f.mask = p > 0 ? dropout_mask_like(x, p) : at::Tensor();
  f.y = at::empty_like(x);
  f.xhat = at::empty_like(x);
  f.rstd = at::empty({x.size(0)}, x.options());
  BlockKernelArgs a = block_args(x, slope, f.mask);
  if (bias.defined()) a.bias = bias.data_ptr<float>();
  block_forward_cpu(a, x.data_ptr<float>(), f.y.data_ptr<float>(), f.xhat.data_ptr<float>(), f.rstd.data_ptr<float>());
  return f;
}

// Gradient in the activation's input (before the bias) from the saved xhat, rstd and mask.
at::Tensor block_activation_backward(const variable_list& saved, double slope, const at::Tensor& grad_output) {
  const at::Tensor& xhat = saved[0];
  const at::Tensor grad_y = grad_output.contiguous();
  at::Tensor grad_x = at::empty_like(xhat);
  block_backward_cpu(block_args(xhat, slope, saved[2]), grad_y.data_ptr<float>(), xhat.data_ptr<float>(),
                     saved[1].data_ptr<float>(), grad_x.data_ptr<float>());
  return grad_x;
}

// One node for LayerNorm -> LeakyReLU -> dropout instead of three (and their temporaries).
class FusedBlockActivation : public torch::autograd::Function<FusedBlockActivation> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double slope, double p) {
    const ActivationForward f = block_activation_forward(x.contiguous(), at::Tensor(), slope, p);
    ctx->save_for_backward({f.xhat, f.rstd, f.mask});
    ctx->saved_data["slope"] = slope;
    return f.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const at::Tensor grad_x =
        block_activation_backward(ctx->get_saved_variables(), ctx->saved_data["slope"].toDouble(), grad_output[0]);
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

// A whole FC block, x W^T + b then the activation, as one node: the bias is added inside the
// activation kernel (no broadcast copy before the GEMM), and the weight gradient is added in
// place (weight_grad_product); one node instead of a linear node, an activation node and the
// weight's gradient accumulation.
class FusedLinearBlock : public torch::autograd::Function<FusedLinearBlock> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                            double slope, double p) {
    const at::Tensor input = x.contiguous();
    const ActivationForward f = block_activation_forward(at::mm(input, weight.t()), bias.contiguous(), slope, p);
    ctx->save_for_backward({f.xhat, f.rstd, f.mask, input, weight});
    ctx->saved_data["slope"] = slope;
    remember_weight_grad(ctx, weight);
    return f.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor grad_pre = block_activation_backward(saved, ctx->saved_data["slope"].toDouble(), grad_output[0]);
    at::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) grad_x = at::mm(grad_pre, saved[4]);
    if (ctx->needs_input_grad(1)) grad_weight = weight_grad_product(ctx, grad_pre.t(), saved[3]);
    if (ctx->needs_input_grad(2)) grad_bias = grad_pre.sum(0);
    return {grad_x, grad_weight, grad_bias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor dropout(const at::Tensor& x, double p) { return x * dropout_mask_like(x, p); }

at::Tensor block_activation(const at::Tensor& x, double slope, double p) {
  return FusedBlockActivation::apply(x, slope, p);
}

at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope, double p) {
  return FusedLinearBlock::apply(x, weight, bias, slope, p);
}

}  // namespace fused
}  // namespace multigrade
