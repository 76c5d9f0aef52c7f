#include "data/resident_data.h"

#include <ATen/ATen.h>

#include "platform/device_copy.h"

namespace multigrade {

ResidentData::ResidentData(const CellData& host, const at::Device& device) : device_(device) {
  for (const auto& h : host.modalities_) {
    Modality m;
    m.n_features = h.n_features;
    if (h.sparse) {
      m.row_ptr = device_copy(h.row_ptr, device);
      m.col = device_copy(h.col, device);
      m.val = device_copy(h.val, device);
    } else {
      m.dense = on_device(h.dense, device);
    }
    m.log_library = on_device(h.log_library, device);
    m.lgamma_const = on_device(h.lgamma_const, device);
    m.feature_offset = on_device(h.feature_offset, device);
    m.encoder_fill = on_device(h.encoder_fill, device);
    m.unmeasured = on_device(h.unmeasured, device);
    modalities_.push_back(std::move(m));
  }
  present_ = on_device(host.present_, device);
  categorical_ = on_device(host.categorical_, device);
  continuous_ = on_device(host.continuous_, device);
  group_ = on_device(host.group_, device);
}

ResidentOrder ResidentData::order(const CellData& host, const std::vector<std::vector<int64_t>>& batches) const {
  ResidentOrder out;
  std::vector<int64_t> all;
  for (const auto& cells : batches) {
    out.offset.push_back(static_cast<int64_t>(all.size()));
    out.size.push_back(static_cast<int64_t>(cells.size()));
    all.insert(all.end(), cells.begin(), cells.end());
    std::vector<int64_t> nnz;
    for (size_t j = 0; j < modalities_.size(); ++j) nnz.push_back(host.nonzeros(j, cells));
    out.nnz.push_back(std::move(nnz));
  }
  out.cells = device_copy(all, device_);
  return out;
}

at::Tensor ResidentData::densify(const Modality& m, const at::Tensor& cells, int64_t nnz) const {
  const int64_t n = cells.size(0);
  at::Tensor out = at::zeros({n * m.n_features}, m.val.options());
  if (nnz > 0) {
    const at::Tensor start = m.row_ptr.index_select(0, cells);
    const at::Tensor count = m.row_ptr.index_select(0, cells + 1) - start;
    // The batch row of each non-zero; giving the output size spares reading count back. (A
    // plain integer here would select the overload that repeats every element nnz times.)
    const at::Tensor row = at::repeat_interleave(count, c10::optional<int64_t>(nnz));
    // Non-zero k of the batch sits at start[row] + k - (first k of its row) in the CSR arrays.
    const at::Tensor shift = (start - (count.cumsum(0) - count)).index_select(0, row);
    const at::Tensor at_csr = at::arange(nnz, cells.options()) + shift;
    const at::Tensor flat = row * m.n_features + m.col.index_select(0, at_csr);
    out.index_copy_(0, flat, m.val.index_select(0, at_csr));
  }
  return out.view({n, m.n_features});
}

Batch ResidentData::batch(const ResidentOrder& order, size_t k) const {
  Batch b;
  b.size = order.size[k];
  const at::Tensor cells = order.cells.narrow(0, order.offset[k], b.size);
  auto rows = [&](const at::Tensor& t) { return t.defined() ? t.index_select(0, cells) : at::Tensor(); };
  for (size_t j = 0; j < modalities_.size(); ++j) {
    const Modality& m = modalities_[j];
    b.sparse.emplace_back();
    b.x.push_back(m.row_ptr.defined() ? densify(m, cells, order.nnz[k][j]) : rows(m.dense));
    b.log_library.push_back(rows(m.log_library));
    b.lgamma_const.push_back(rows(m.lgamma_const));
    b.feature_offset.push_back(m.feature_offset);
    b.encoder_fill.push_back(rows(m.encoder_fill));
    b.unmeasured.push_back(m.unmeasured);
  }
  b.present = rows(present_);
  if (categorical_.defined()) {
    const at::Tensor cat = rows(categorical_);
    for (int64_t c = 0; c < cat.size(1); ++c) b.categorical.push_back(cat.select(1, c));
  }
  b.continuous = rows(continuous_);
  b.group = rows(group_);
  return b;
}

}  // namespace multigrade
