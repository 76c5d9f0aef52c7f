#include "platform/process_group.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if defined(MULTIGRADE_WITH_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(MULTIGRADE_WITH_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace multigrade {

struct ProcessGroup::Impl {
  DistributedConfig config;
  std::string backend;
  bool through_host = false;  // Gloo with a device tensor: reduce a host copy
  std::function<void(std::vector<at::Tensor>&)> all_reduce;
  double seconds = 0;

  std::string where() const {
    return "rank " + std::to_string(config.rank) + " of " + std::to_string(config.world_size) + " (" + backend + ", " +
           config.master_addr + ":" + std::to_string(config.master_port) + ")";
  }
};

namespace {

std::string choose_backend(const std::string& requested, const at::Device& device) {
  const auto available = distributed_backends();
  auto has = [&](const std::string& b) { return std::find(available.begin(), available.end(), b) != available.end(); };
  std::string backend = requested;
  if (backend == "auto") backend = !device.is_cpu() && has("nccl") ? "nccl" : "gloo";
  if (backend != "gloo" && backend != "nccl")
    throw std::invalid_argument("unknown distributed backend '" + requested + "' (use auto, gloo or nccl)");
  if (!has(backend))
    throw DistributedError("this build of multigrade has no " + backend +
                           " backend for data-parallel training (built without its headers)");
  if (backend == "nccl" && device.is_cpu())
    throw std::invalid_argument("the nccl backend needs a CUDA device; use gloo on the CPU");
  return backend;
}

}  // namespace

ProcessGroup::ProcessGroup(const DistributedConfig& config, const at::Device& device)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.config = config;
  if (config.world_size < 1 || config.rank < 0 || config.rank >= config.world_size)
    throw std::invalid_argument("distributed: rank " + std::to_string(config.rank) + " is outside 0.." +
                                std::to_string(config.world_size - 1));
  if (config.master_port < 1 || config.master_port > 65535)
    throw std::invalid_argument("distributed: master_port must be in 1..65535");
  m.backend = choose_backend(config.backend, device);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.timeout_seconds * 1000));
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(config.master_port);
    options.isServer = config.rank == 0;
    options.numWorkers = config.world_size;
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
#if defined(MULTIGRADE_WITH_GLOO)
    if (m.backend == "gloo") {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, config.rank, config.world_size, gloo_options);
      m.through_host = !device.is_cpu();
      m.all_reduce = [group](std::vector<at::Tensor>& tensors) { group->allreduce(tensors)->wait(); };
    }
#endif
#if defined(MULTIGRADE_WITH_NCCL)
    if (m.backend == "nccl") {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config.rank, config.world_size, nccl_options);
      m.all_reduce = [group](std::vector<at::Tensor>& tensors) { group->allreduce(tensors)->wait(); };
    }
#endif
  } catch (const std::exception& e) {
    throw DistributedError(m.where() + ": could not join the other ranks within " +
                           std::to_string(config.timeout_seconds) + " s: " + e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const { return impl_->config.rank; }

int ProcessGroup::size() const { return impl_->config.world_size; }

const std::string& ProcessGroup::backend() const { return impl_->backend; }

void ProcessGroup::all_reduce_sum(at::Tensor& tensor) {
  Impl& m = *impl_;
  const auto start = std::chrono::steady_clock::now();
  try {
    std::vector<at::Tensor> tensors = {m.through_host ? tensor.cpu() : tensor};
    m.all_reduce(tensors);
    if (m.through_host) tensor.copy_(tensors[0]);
  } catch (const std::exception& e) {
    const std::string message = e.what();
    throw DistributedError(m.where() + ": a collective failed; another rank has probably stopped (see its log): " +
                           message.substr(0, message.find('\n')));
  }
  m.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double ProcessGroup::collective_seconds() const { return impl_->seconds; }

std::vector<std::string> distributed_backends() {
  std::vector<std::string> out;
#if defined(MULTIGRADE_WITH_GLOO)
  out.push_back("gloo");
#endif
#if defined(MULTIGRADE_WITH_NCCL)
  out.push_back("nccl");
#endif
  return out;
}

}  // namespace multigrade
