// Host data on the compute device: vectors as 1-d tensors that own their memory (never
// aliasing the vector, which is often temporary), and tensors moved there; and back.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace multigrade {

at::Tensor device_copy(const std::vector<int64_t>& values, const at::Device& device);
at::Tensor device_copy(const std::vector<int32_t>& values, const at::Device& device);
at::Tensor device_copy(const std::vector<float>& values, const at::Device& device);

// The values of `t` (any device and floating type) as host floats, in its element order.
std::vector<float> host_floats(const at::Tensor& t);

// `t` on `device`: itself when it is there already (no copy on the CPU); undefined stays undefined.
at::Tensor on_device(const at::Tensor& t, const at::Device& device);

}  // namespace multigrade
