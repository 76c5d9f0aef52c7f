// One AdamW step over flat float arrays on the CPU, in a single pass that also clears the
// gradients (the ATen composition takes seven passes and a separate zero_()).
#pragma once

#include <cstdint>

namespace multigrade {

struct AdamWCoefficients {
  float decay;  // 1 - lr * weight_decay
  float beta1, beta2;
  float step_size;       // lr / (1 - beta1^t)
  float inv_sqrt_bias2;  // 1 / sqrt(1 - beta2^t)
  float eps;
};

void adamw_step_cpu(float* params, float* grads, float* exp_avg, float* exp_avg_sq, int64_t n,
                    const AdamWCoefficients& c);

}  // namespace multigrade
