#include "model/parameters.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace multigrade {

size_t ParameterStore::add(const std::string& name, std::vector<int64_t> shape, Init init, int64_t fan_in) {
  if (flat_.defined()) throw std::logic_error("ParameterStore::add after finalize");
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  entries_.push_back({name, std::move(shape), init, fan_in, total_, numel, at::Tensor()});
  total_ += numel;
  return entries_.size() - 1;
}

void ParameterStore::finalize(const at::Device& device) {
  at::NoGradGuard no_grad;
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  flat_ = at::zeros({total_}, options);
  flat_grad_ = at::zeros({total_}, options);
  for (auto& e : entries_) {
    at::Tensor view = flat_.narrow(0, e.offset, e.numel).view(e.shape);
    const double bound = e.fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(e.fan_in)) : 0.0;
    switch (e.init) {
      case Init::linear_weight:
      case Init::linear_bias:
        view.uniform_(-bound, bound);
        break;
      case Init::normal:
        view.normal_(0.0, 1.0);
        break;
      case Init::zeros:
        view.zero_();
        break;
      case Init::ones:
        view.fill_(1.0);
        break;
    }
    // A leaf parameter whose storage is the flat buffer; its gradient is a view of the
    // flat gradient, which autograd accumulates into in place.
    e.tensor = at::empty({0}, options);
    e.tensor.set_data(view);
    e.tensor.set_requires_grad(true);
    e.tensor.mutable_grad() = flat_grad_.narrow(0, e.offset, e.numel).view(e.shape);
  }
}

std::vector<NamedArray> ParameterStore::layout() const {
  std::vector<NamedArray> out;
  for (const auto& e : entries_) out.push_back({e.name, e.shape, {}});
  return out;
}

std::vector<NamedArray> ParameterStore::export_arrays() const {
  const at::Tensor host = flat_.detach().to(at::kCPU).contiguous();
  const float* data = host.data_ptr<float>();
  std::vector<NamedArray> out;
  for (const auto& e : entries_)
    out.push_back({e.name, e.shape, std::vector<float>(data + e.offset, data + e.offset + e.numel)});
  return out;
}

void ParameterStore::import_arrays(const std::vector<NamedArray>& arrays) {
  std::map<std::string, const NamedArray*> by_name;
  for (const auto& a : arrays) by_name[a.name] = &a;
  at::Tensor host = at::empty({total_}, at::kFloat);
  float* data = host.data_ptr<float>();
  for (const auto& e : entries_) {
    auto it = by_name.find(e.name);
    if (it == by_name.end()) throw std::invalid_argument("weights lack parameter '" + e.name + "'");
    if (it->second->shape != e.shape || static_cast<int64_t>(it->second->values.size()) != e.numel)
      throw std::invalid_argument("parameter '" + e.name + "' has the wrong shape");
    std::copy(it->second->values.begin(), it->second->values.end(), data + e.offset);
  }
  if (by_name.size() != entries_.size())
    throw std::invalid_argument("weights contain parameters this configuration does not have");
  at::NoGradGuard no_grad;
  flat_.copy_(host);
}

namespace {

// The new rows (levels or groups the reference does not know) start at the mean of the
// reference's rows: the network then first treats a new donor like an average known one,
// where its inputs are in the range it was trained on. A random row is an input the
// encoders and decoders never saw, which put unimodal queries far from the reference.
void start_at_mean_row(float* rows, int64_t n_known, int64_t n_rows, int64_t width) {
  if (n_known == 0) return;  // nothing known to start from: keep the fresh initialisation
  std::vector<double> mean(static_cast<size_t>(width), 0.0);
  for (int64_t r = 0; r < n_known; ++r)
    for (int64_t c = 0; c < width; ++c) mean[c] += rows[r * width + c];
  for (int64_t r = n_known; r < n_rows; ++r)
    for (int64_t c = 0; c < width; ++c) rows[r * width + c] = static_cast<float>(mean[c] / n_known);
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> ParameterStore::graft(const std::vector<NamedArray>& reference) {
  std::map<std::string, const NamedArray*> by_name;
  for (const auto& a : reference) by_name[a.name] = &a;
  if (by_name.size() != entries_.size())
    throw std::invalid_argument("the reference weights do not match this model's parameters");
  at::Tensor host = flat_.detach().to(at::kCPU).contiguous();  // fresh init for the tails
  float* data = host.data_ptr<float>();
  std::vector<std::pair<int64_t, int64_t>> grown;
  for (const auto& e : entries_) {
    auto it = by_name.find(e.name);
    if (it == by_name.end()) throw std::invalid_argument("the reference weights lack parameter '" + e.name + "'");
    const NamedArray& ref = *it->second;
    const bool same_rank = ref.shape.size() == e.shape.size() && !e.shape.empty();
    bool compatible = same_rank && ref.shape[0] <= e.shape[0];
    for (size_t d = 1; compatible && d < e.shape.size(); ++d) compatible = ref.shape[d] == e.shape[d];
    if (!compatible || static_cast<int64_t>(ref.values.size()) > e.numel)
      throw std::invalid_argument("reference parameter '" + e.name + "' cannot grow into this model's shape");
    std::copy(ref.values.begin(), ref.values.end(), data + e.offset);
    const auto kept = static_cast<int64_t>(ref.values.size());
    if (kept < e.numel) {
      grown.emplace_back(e.offset + kept, e.offset + e.numel);
      start_at_mean_row(data + e.offset, ref.shape[0], e.shape[0], e.numel / e.shape[0]);
    }
    // Wholly frozen parameters need no gradient: backward then skips their weight-gradient
    // products, most of a mapping step's work.
    if (kept == e.numel) e.tensor.set_requires_grad(false);
  }
  at::NoGradGuard no_grad;
  flat_.copy_(host);
  return grown;
}

}  // namespace multigrade
