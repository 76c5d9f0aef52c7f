// AdamW (decoupled weight decay) over one flat parameter buffer: a handful of
// elementwise kernels per step instead of ~9 per parameter tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

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
  // Updates only these [begin, end) ranges of the flat buffer from now on (query mapping):
  // the rest keeps its values bit for bit, with no weight decay and no moments.
  void restrict_to(std::vector<std::pair<int64_t, int64_t>> ranges);
  void reset_state();  // forget the moments (after a rollback)
  void set_lr(double lr) { settings_.lr = lr; }
  // After a rollback to earlier weights: forget the moments and scale the step size.
  void restart(double lr_factor) {
    reset_state();
    set_lr(lr() * lr_factor);
  }
  double lr() const { return settings_.lr; }

  // Everything a resumed run needs to take the same steps (checkpoints).
  struct State {
    at::Tensor exp_avg, exp_avg_sq;  // copies, on the host
    int64_t steps = 0;
    double lr = 0;
  };
  State state() const;
  void set_state(const State& state);

 private:
  void step_range(int64_t begin, int64_t end, double bias1, double bias2);

  at::Tensor params_, grads_, exp_avg_, exp_avg_sq_;
  AdamWSettings settings_;
  bool restricted_ = false;
  std::vector<std::pair<int64_t, int64_t>> ranges_;
  int64_t steps_ = 0;
};

}  // namespace multigrade
