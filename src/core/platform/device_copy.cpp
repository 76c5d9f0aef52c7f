#include "platform/device_copy.h"

#include <ATen/ATen.h>

namespace multigrade {

namespace {

template <typename T>
at::Tensor copy_of(const std::vector<T>& values, at::ScalarType type, const at::Device& device) {
  const at::Tensor view = at::from_blob(const_cast<T*>(values.data()), {static_cast<int64_t>(values.size())}, type);
  // to() on the CPU would return the alias itself; to another device, it copies.
  return device.is_cpu() ? view.clone() : view.to(device);
}

}  // namespace

at::Tensor device_copy(const std::vector<int64_t>& values, const at::Device& device) {
  return copy_of(values, at::kLong, device);
}

at::Tensor device_copy(const std::vector<int32_t>& values, const at::Device& device) {
  return copy_of(values, at::kInt, device);
}

at::Tensor device_copy(const std::vector<float>& values, const at::Device& device) {
  return copy_of(values, at::kFloat, device);
}

std::vector<float> host_floats(const at::Tensor& t) {
  const at::Tensor host = t.detach().to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
}

at::Tensor on_device(const at::Tensor& t, const at::Device& device) { return t.defined() ? t.to(device) : t; }

}  // namespace multigrade
