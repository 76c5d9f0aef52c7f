// One data-parallel rank's link to the others, on torch.distributed's c10d (the engine PyTorch's
// DistributedDataParallel uses, never a protocol of our own): a TCPStore that rank 0 serves for
// the rendezvous, then ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL (CUDA tensors, where
// this LibTorch was built with it). Every collective waits at most DistributedConfig's timeout:
// a rank that died makes the others fail with DistributedError instead of hanging.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "api.h"

namespace multigrade {

class ProcessGroup {
 public:
  ProcessGroup(const DistributedConfig& config, const at::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int size() const;
  const std::string& backend() const;
  // Sums `tensor` over the ranks, in place (any device: Gloo works through a host copy).
  void all_reduce_sum(at::Tensor& tensor);
  double collective_seconds() const;  // time spent in collectives so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The backends this build can use ("gloo", "nccl"), for error messages and R's checks.
std::vector<std::string> distributed_backends();

}  // namespace multigrade
