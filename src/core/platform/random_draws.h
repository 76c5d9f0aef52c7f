// Where training's random draws come from. By default each tensor's own device generator
// (on a GPU: the CUDA generator, fast and asynchronous). HostDrawsScope makes every draw of a
// training step (dropout masks, modality dropout, posterior samples) come from LibTorch's CPU
// generator and be copied to the device, so that a GPU run takes exactly the draws a CPU run
// with the same seed takes: both then differ only by rounding, which is how bench/gpu/run.sh
// and test_core --device check that the GPU trains like the CPU. On the CPU it changes nothing.
#pragma once

#include <ATen/core/Tensor.h>

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

// Standard normal and uniform [0, 1) draws shaped like `like`, on its device.
at::Tensor normal_like(const at::Tensor& like);
at::Tensor uniform_like(const at::Tensor& like);

}  // namespace multigrade
