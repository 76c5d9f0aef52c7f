#include "kernels/block_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>

#include "kernels/simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;
using simd::kLanes;

MULTIGRADE_SIMD double row_sum(const float* v, int64_t n) {
  const int64_t full = n - n % kLanes;
  f8 s8 = simd::splat(0.0f);
  for (int64_t j = 0; j < full; j += kLanes) s8 += simd::load(v + j);
  double s = simd::sum(s8);
  for (int64_t j = full; j < n; ++j) s += v[j];
  return s;
}

// One row; `bias` (or nullptr) is added to x first, `mask` is the row's dropout multipliers or
// nullptr. Rows are short (the hidden width, 128 by default).
MULTIGRADE_TARGET_CLONES
void forward_row(int64_t n, float eps, float slope, const float* x, const float* bias, const float* mask, float* y,
                 float* xhat, float* rstd_out) {
  if (bias != nullptr) {
    // x + bias goes to the row of xhat, which the last pass overwrites lane by lane after reading.
    for (int64_t j = 0; j < n; j += kLanes) {
      const int rest = simd::lanes_at(n, j);
      simd::store_lanes(xhat + j, simd::load_lanes(x + j, rest, 0.0f) + simd::load_lanes(bias + j, rest, 0.0f), rest);
    }
    x = xhat;
  }
  const float mean = static_cast<float>(row_sum(x, n) / static_cast<double>(n));
  f8 v8 = simd::splat(0.0f);
  for (int64_t j = 0; j < n; j += kLanes) {
    const f8 d = simd::load_lanes(x + j, simd::lanes_at(n, j), mean) - mean;  // padding lanes: 0
    v8 += d * d;
  }
  const float rstd = 1.0f / std::sqrt(simd::sum(v8) / static_cast<float>(n) + eps);
  *rstd_out = rstd;
  for (int64_t j = 0; j < n; j += kLanes) {
    const int rest = simd::lanes_at(n, j);
    const f8 h = (simd::load_lanes(x + j, rest, 0.0f) - mean) * rstd;
    f8 out = h > 0 ? h : h * slope;
    if (mask != nullptr) out *= simd::load_lanes(mask + j, rest, 0.0f);
    simd::store_lanes(xhat + j, h, rest);
    simd::store_lanes(y + j, out, rest);
  }
}

MULTIGRADE_TARGET_CLONES
void backward_row(int64_t n, float slope, const float* grad_y, const float* mask, const float* xhat, float rstd,
                  float* grad_x) {
  // g = grad_y * mask * leaky'(xhat), kept in grad_x until the last pass.
  f8 g8 = simd::splat(0.0f), gh8 = simd::splat(0.0f);
  for (int64_t j = 0; j < n; j += kLanes) {
    const int rest = simd::lanes_at(n, j);
    const f8 h = simd::load_lanes(xhat + j, rest, 0.0f);
    f8 g = simd::load_lanes(grad_y + j, rest, 0.0f);
    if (mask != nullptr) g *= simd::load_lanes(mask + j, rest, 0.0f);
    g = h > 0 ? g : g * slope;
    g8 += g;
    gh8 += g * h;
    simd::store_lanes(grad_x + j, g, rest);
  }
  const float mean_g = simd::sum(g8) / static_cast<float>(n);
  const float mean_gh = simd::sum(gh8) / static_cast<float>(n);
  for (int64_t j = 0; j < n; j += kLanes) {
    const int rest = simd::lanes_at(n, j);
    const f8 h = simd::load_lanes(xhat + j, rest, 0.0f);
    const f8 g = simd::load_lanes(grad_x + j, rest, 0.0f);
    simd::store_lanes(grad_x + j, (g - mean_g - h * mean_gh) * rstd, rest);
  }
}

const float* mask_row(const BlockKernelArgs& a, int64_t r) {
  return a.mask != nullptr ? a.mask + r * a.width : nullptr;
}

// Rows per task: ATen's grain of 32768 elements (TensorIterator.h), so a 256 x 128 batch runs
// on the calling thread (waking the pool costs more than the work).
constexpr int64_t kGrainElements = 32768;
int64_t row_grain(int64_t width) { return width > 0 ? std::max<int64_t>(1, kGrainElements / width) : 1; }

}  // namespace

void block_forward_cpu(const BlockKernelArgs& a, const float* x, float* y, float* xhat, float* rstd) {
  RECORD_FUNCTION("multigrade::block_forward_cpu", std::vector<c10::IValue>());  // named in profiler traces
  const int64_t n = a.width;
  at::parallel_for(0, a.n_rows, row_grain(n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      forward_row(n, a.eps, a.slope, x + r * n, a.bias, mask_row(a, r), y + r * n, xhat + r * n, rstd + r);
  });
}

void block_backward_cpu(const BlockKernelArgs& a, const float* grad_y, const float* xhat, const float* rstd,
                        float* grad_x) {
  RECORD_FUNCTION("multigrade::block_backward_cpu", std::vector<c10::IValue>());
  const int64_t n = a.width;
  at::parallel_for(0, a.n_rows, row_grain(n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      backward_row(n, a.slope, grad_y + r * n, mask_row(a, r), xhat + r * n, rstd[r], grad_x + r * n);
  });
}

}  // namespace multigrade
