// All trainable parameters live as views into one flat buffer (and their gradients
// into one flat gradient buffer), so the optimiser updates a single tensor.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "api.h"

namespace multigrade {

enum class Init {
  linear_weight,  // PyTorch nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
  linear_bias,    // same bound, fan_in given separately
  normal,         // N(0, 1): nn.Embedding default and the dispersion
  zeros,
  ones
};

class ParameterStore {
 public:
  // Declares a parameter; returns its handle. `fan_in` is used by the linear inits.
  size_t add(const std::string& name, std::vector<int64_t> shape, Init init, int64_t fan_in = 0);
  // Allocates the buffers on `device` and initialises from the global generator.
  void finalize(const at::Device& device);

  const at::Tensor& operator[](size_t handle) const { return entries_[handle].tensor; }
  at::Tensor& flat() { return flat_; }
  at::Tensor& flat_grad() { return flat_grad_; }
  int64_t numel() const { return total_; }

  std::vector<NamedArray> export_arrays() const;
  void import_arrays(const std::vector<NamedArray>& arrays);
  // Query mapping: copies a reference's weights into this (possibly larger) store. A
  // parameter whose first dimension grew (embedding rows of new covariate levels,
  // dispersions of new groups) keeps the reference rows; its new rows start at the mean of
  // the reference rows. The new rows' [begin, end) ranges in the flat buffer are returned.
  std::vector<std::pair<int64_t, int64_t>> graft(const std::vector<NamedArray>& reference);
  std::vector<NamedArray> layout() const;  // names and shapes, no values

 private:
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    Init init;
    int64_t fan_in;
    int64_t offset;
    int64_t numel;
    at::Tensor tensor;
  };
  std::vector<Entry> entries_;
  int64_t total_ = 0;
  at::Tensor flat_, flat_grad_;
};

}  // namespace multigrade
