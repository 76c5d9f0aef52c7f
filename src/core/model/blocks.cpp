#include "model/blocks.h"

#include <ATen/ATen.h>

#include "kernels/autograd_support.h"
#include "kernels/fused_block.h"
#include "kernels/random_draws.h"

namespace multigrade {

namespace {
bool fused_block_applies(const at::Tensor& x) { return fused::supports(x) && x.dim() == 2; }
}  // namespace

at::Tensor dropout(const at::Tensor& x, double p) {
  if (p <= 0) return x;
  if (!x.is_cpu()) return draws_from_host() ? x * dropout_mask_like(x, p) : at::dropout(x, p, /*train=*/true);
  return fused::dropout(x, p);
}

at::Tensor block_activation(const at::Tensor& x, double slope, double p) {
  if (fused_block_applies(x)) return fused::block_activation(x, slope, p);
  const at::Tensor h = at::leaky_relu(at::layer_norm(x, {x.size(1)}, {}, {}, fused::kLayerNormEps), slope);
  return dropout(h, p);
}

at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope, double p) {
  if (fused_block_applies(x)) return fused::linear_block(x, weight, bias, slope, p);
  return block_activation(at::linear(x, weight, bias), slope, p);
}

}  // namespace multigrade
