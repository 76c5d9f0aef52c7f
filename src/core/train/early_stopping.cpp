#include "train/early_stopping.h"

#include <ATen/ATen.h>

#include <cmath>
#include <utility>

namespace multigrade {

EarlyStopping::EarlyStopping(std::vector<at::Tensor> weights, int max_epochs, int patience, bool early_stopping)
    : weights_(std::move(weights)), max_epochs_(max_epochs), patience_(patience), early_stopping_(early_stopping) {
  for (const auto& w : weights_) {
    best_.push_back(w.detach().clone());
    last_good_.push_back(best_.back().clone());
  }
  done_ = max_epochs_ <= 0;
}

EarlyStopping::Verdict EarlyStopping::finish_epoch(double train_loss, double monitor, bool has_validation) {
  at::NoGradGuard no_grad;
  Verdict verdict;
  if (!std::isfinite(train_loss) || !std::isfinite(monitor)) {
    verdict.rolled_back = true;
    for (size_t k = 0; k < weights_.size(); ++k) weights_[k].copy_(last_good_[k]);
    if (++rollbacks_ >= kMaxRollbacks) done_ = true;
  } else {
    for (size_t k = 0; k < weights_.size(); ++k) last_good_[k].copy_(weights_[k]);
    if (!has_validation || monitor < best_monitor_) {
      best_monitor_ = monitor;
      for (size_t k = 0; k < weights_.size(); ++k) best_[k].copy_(weights_[k]);
      epochs_without_improvement_ = 0;
      verdict.improved = true;
    } else if (++epochs_without_improvement_ >= patience_ && early_stopping_) {
      done_ = true;
    }
  }
  if (++epoch_ >= max_epochs_) done_ = true;
  return verdict;
}

void EarlyStopping::restore_best() {
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < weights_.size(); ++k) weights_[k].copy_(best_[k]);
}

}  // namespace multigrade
