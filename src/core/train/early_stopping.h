// The end of every epoch, for the VAE's trainer and MIL's: a non-finite loss rolls the
// weights back to the last finite ones (the caller then resets its optimisers), at most
// three times before training ends; otherwise the weights become the last good ones, and the
// best ones when the monitored loss improved (always when there is no validation: the last
// weights are then the result); `patience` epochs without improvement end training when
// early stopping is on; so does the last epoch.
#pragma once

#include <ATen/core/Tensor.h>

#include <limits>
#include <vector>

namespace multigrade {

class EarlyStopping {
 public:
  struct Verdict {
    bool rolled_back = false;  // non-finite: the weights are the last finite ones again
    bool improved = false;
  };

  // `weights`: the flat parameter buffers to keep and restore (handles sharing their storage).
  EarlyStopping(std::vector<at::Tensor> weights, int max_epochs, int patience, bool early_stopping);

  Verdict finish_epoch(double train_loss, double monitor, bool has_validation);
  void restore_best();
  bool finished() const { return done_; }
  void finish() { done_ = true; }  // interrupted
  int epochs_done() const { return epoch_; }

  // The kept weights and counters, for checkpoints (tensors: host copies).
  struct State {
    std::vector<at::Tensor> best, last_good;
    double best_monitor = std::numeric_limits<double>::infinity();
    int epoch = 0, epochs_without_improvement = 0, rollbacks = 0;
    bool done = false;
  };
  State state() const;
  void set_state(const State& state);

 private:
  static constexpr int kMaxRollbacks = 3;
  std::vector<at::Tensor> weights_, best_, last_good_;
  int max_epochs_, patience_;
  bool early_stopping_;
  double best_monitor_ = std::numeric_limits<double>::infinity();
  int epoch_ = 0, epochs_without_improvement_ = 0, rollbacks_ = 0;
  bool done_ = false;
};

// Closes an epoch for a trainer whose statistics carry train_loss, has_validation, improved
// and non_finite: `monitor` is the loss early stopping watches; after a rollback `restart()`
// resets the trainer's optimisers (forget the moments, halve the step size).
template <typename Stats, typename Restart>
void close_epoch(EarlyStopping& stopping, Stats& stats, double monitor, Restart restart) {
  const EarlyStopping::Verdict verdict = stopping.finish_epoch(stats.train_loss, monitor, stats.has_validation);
  stats.improved = verdict.improved;
  if (verdict.rolled_back) {
    stats.non_finite = true;
    restart();
  }
}

}  // namespace multigrade
