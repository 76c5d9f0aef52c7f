// The activation of every FC block on the CPU in one pass per row and direction:
// LayerNorm without affine (eps inside the square root), LeakyReLU, then a dropout mask
// (mask = nullptr: none). Works on raw arrays; no tensors, no autograd.
#pragma once

#include <cstdint>

namespace multigrade {

struct BlockKernelArgs {
  int64_t n_rows = 0, width = 0;
  float eps = 1e-5f, slope = 0.01f;
  const float* mask = nullptr;  // n_rows x width dropout multipliers, or nullptr
  const float* bias = nullptr;  // width, added to every row of x first (the linear map's bias), or nullptr
};

// y = mask * leaky(xhat) with xhat = (x + bias - mean) * rstd per row; keeps xhat and rstd for
// backward. The bias does not change the backward: the gradient in it is the column sum of
// grad_x.
void block_forward_cpu(const BlockKernelArgs& a, const float* x, float* y, float* xhat, float* rstd);

// grad_x from grad_y through the three steps, with g = grad_y * mask * leaky'(xhat):
// grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)) per row.
void block_backward_cpu(const BlockKernelArgs& a, const float* grad_y, const float* xhat, const float* rstd,
                        float* grad_x);

}  // namespace multigrade
