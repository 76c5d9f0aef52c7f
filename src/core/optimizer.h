// AdamW (decoupled weight decay) over one flat parameter buffer: a handful of
// elementwise kernels per step instead of ~9 per parameter tensor.
#pragma once

#include <ATen/core/Tensor.h>

namespace multigrade {

struct AdamWSettings {
  double lr = 5e-4;
  double weight_decay = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class FlatAdamW {
 public:
  FlatAdamW(at::Tensor params, at::Tensor grads, AdamWSettings settings);
  void step();  // also clears the gradients
  void reset_state();  // forget the moments (after a rollback)
  void set_lr(double lr) { settings_.lr = lr; }
  double lr() const { return settings_.lr; }

 private:
  at::Tensor params_, grads_, exp_avg_, exp_avg_sq_;
  AdamWSettings settings_;
  int64_t steps_ = 0;
};

}  // namespace multigrade
