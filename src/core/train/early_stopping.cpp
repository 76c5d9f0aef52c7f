#include "train/early_stopping.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>
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

EarlyStopping::State EarlyStopping::state() const {
  State out;
  for (size_t k = 0; k < weights_.size(); ++k) {
    out.best.push_back(best_[k].to(at::kCPU).clone());
    out.last_good.push_back(last_good_[k].to(at::kCPU).clone());
  }
  out.best_monitor = best_monitor_;
  out.epoch = epoch_;
  out.epochs_without_improvement = epochs_without_improvement_;
  out.rollbacks = rollbacks_;
  out.done = done_;
  return out;
}

void EarlyStopping::set_state(const State& state) {
  if (state.best.size() != weights_.size() || state.last_good.size() != weights_.size())
    throw std::invalid_argument("checkpoint: the kept weights do not match this trainer");
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < weights_.size(); ++k) {
    best_[k].copy_(state.best[k]);
    last_good_[k].copy_(state.last_good[k]);
  }
  best_monitor_ = state.best_monitor;
  epoch_ = state.epoch;
  epochs_without_improvement_ = state.epochs_without_improvement;
  rollbacks_ = state.rollbacks;
  done_ = state.done;
}

void EarlyStopping::restore_best() {
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < weights_.size(); ++k) weights_[k].copy_(best_[k]);
}

}  // namespace multigrade
