// Where the random draws of a training step come from: dropout masks, modality dropout and
// posterior samples. By default, each tensor's own device: on the CPU, dropout masks from a
// counter-based hash seeded by LibTorch's CPU generator (dropout_mask.h) and other draws from
// that generator; on a GPU, its own generator (fast, asynchronous). Two scopes change that:
// - HostDrawsScope: a GPU's draws come from the CPU generator and are copied over, so that a GPU
//   run takes exactly a CPU run's draws (TrainConfig::host_random_draws; bench/gpu/run.sh and
//   test_core --device check with it that both devices train alike).
// - KeyedDrawsScope: every draw over the rows of a minibatch is a hash of (the step's key, the
//   draw's number within the step, the global id of the row's cell, the column), so a cell gets
//   the same masks and samples however the cells are split across data-parallel ranks, and W
//   ranks train exactly like one process (TrainConfig::keyed_draws).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace multigrade {

class HostDrawsScope {
 public:
  explicit HostDrawsScope(bool on);
  ~HostDrawsScope();
  HostDrawsScope(const HostDrawsScope&) = delete;
  HostDrawsScope& operator=(const HostDrawsScope&) = delete;
  static bool active();

 private:
  bool previous_;
};

// Open for one minibatch: `row_keys` are the global ids of its cells, in row order.
class KeyedDrawsScope {
 public:
  KeyedDrawsScope(uint64_t step_key, std::vector<int64_t> row_keys);
  ~KeyedDrawsScope();
  KeyedDrawsScope(const KeyedDrawsScope&) = delete;
  KeyedDrawsScope& operator=(const KeyedDrawsScope&) = delete;
};

// The key of step `step` of epoch `epoch` in run `seed`; validation passes use their own keys.
uint64_t step_key(uint64_t seed, int64_t epoch, int64_t step, bool validation);

// Standard normal and uniform [0, 1) draws shaped like `like`, on its device.
at::Tensor normal_like(const at::Tensor& like);
at::Tensor uniform_like(const at::Tensor& like);

// A dropout mask for `x` on its device: 0 with probability p, else 1 / (1 - p).
at::Tensor dropout_mask_like(const at::Tensor& x, double p);

// Whether draws for a tensor on another device than the CPU must come from the host (one of
// the scopes above is open) rather than from that device's generator.
bool draws_from_host();

}  // namespace multigrade
