#include "data/dataset.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "platform/device_copy.h"

namespace multigrade {

CellData::Modality CellData::copy_modality(const ModalitySpec& spec, const ModalityInput& in, int64_t n_cells) {
  Modality m;
  m.likelihood = spec.likelihood;
  m.log_input = spec.log_input;
  m.n_features = spec.n_features;
  m.sparse = in.sparse;
  std::vector<double> library(static_cast<size_t>(n_cells), 0.0);
  std::vector<double> lgamma_sum(static_cast<size_t>(n_cells), 0.0);
  auto account = [&](int64_t cell, double v) {
    library[cell] += v;
    if (v != 0.0) lgamma_sum[cell] += std::lgamma(v + 1.0);
  };
  if (in.sparse) {
    const int64_t nnz = in.col_ptr[n_cells];
    m.row_ptr.assign(in.col_ptr, in.col_ptr + n_cells + 1);
    m.col.assign(in.row_index, in.row_index + nnz);
    m.val.resize(static_cast<size_t>(nnz));
    for (int64_t c = 0; c < n_cells; ++c) {
      for (int64_t k = in.col_ptr[c]; k < in.col_ptr[c + 1]; ++k) {
        m.val[k] = static_cast<float>(in.values[k]);
        account(c, in.values[k]);
      }
    }
  } else {
    m.dense = at::empty({n_cells, spec.n_features}, at::kFloat);
    float* out = m.dense.data_ptr<float>();
    const int64_t total = n_cells * spec.n_features;
    for (int64_t k = 0; k < total; ++k) {
      out[k] = static_cast<float>(in.values[k]);
      account(k / spec.n_features, in.values[k]);
    }
  }
  if (in.feature_present != nullptr &&
      !std::all_of(in.feature_present, in.feature_present + spec.n_features, [](int f) { return f != 0; })) {
    m.feature_offset = at::zeros({spec.n_features}, at::kFloat);
    float* offset = m.feature_offset.data_ptr<float>();
    std::vector<int64_t> unmeasured;
    for (int64_t f = 0; f < spec.n_features; ++f) {
      if (in.feature_present[f] != 0) continue;
      offset[f] = kUnmeasuredLogit;
      unmeasured.push_back(f);
    }
    if (in.encoder_fill != nullptr) {
      const auto n_unmeasured = static_cast<int64_t>(unmeasured.size());
      m.unmeasured = at::tensor(unmeasured, at::kLong);
      m.encoder_fill = at::empty({n_cells, n_unmeasured}, at::kFloat);
      float* fill = m.encoder_fill.data_ptr<float>();
      for (int64_t k = 0; k < n_cells * n_unmeasured; ++k) fill[k] = static_cast<float>(in.encoder_fill[k]);
    }
  }
  if (is_count_likelihood(spec.likelihood)) {
    m.log_library = at::empty({n_cells}, at::kFloat);
    m.lgamma_const = at::empty({n_cells}, at::kFloat);
    float* log_lib = m.log_library.data_ptr<float>();
    float* lg = m.lgamma_const.data_ptr<float>();
    for (int64_t c = 0; c < n_cells; ++c) {
      // Absent or empty cells get library 1 so that masked terms stay finite.
      log_lib[c] = static_cast<float>(std::log(std::max(library[c], 1.0)));
      lg[c] = static_cast<float>(lgamma_sum[c]);
    }
  }
  return m;
}

CellData::CellData(const ModelConfig& config, const DataInput& input) : n_cells_(input.n_cells) {
  const auto n_mod = static_cast<int64_t>(config.modalities.size());
  if (static_cast<int64_t>(input.modalities.size()) != n_mod)
    throw std::invalid_argument("data has a different number of modalities than the model");
  present_ = at::ones({n_cells_, n_mod}, at::kFloat);
  float* present = present_.data_ptr<float>();
  for (int64_t j = 0; j < n_mod; ++j) {
    const auto& in = input.modalities[j];
    modalities_.push_back(copy_modality(config.modalities[j], in, n_cells_));
    if (in.present != nullptr)
      for (int64_t c = 0; c < n_cells_; ++c) present[c * n_mod + j] = in.present[c] ? 1.0f : 0.0f;
  }

  n_categorical_ = static_cast<int64_t>(config.categorical_levels.size());
  if (static_cast<int64_t>(input.categorical.size()) != n_categorical_)
    throw std::invalid_argument("data has a different number of categorical covariates than the model");
  if (n_categorical_ > 0) {
    categorical_ = at::empty({n_cells_, n_categorical_}, at::kLong);
    auto* cat = categorical_.data_ptr<int64_t>();
    for (int64_t k = 0; k < n_categorical_; ++k) {
      for (int64_t c = 0; c < n_cells_; ++c) {
        const int code = input.categorical[k][c];
        if (code < 0 || code >= config.categorical_levels[k])
          throw std::invalid_argument("categorical covariate code out of range");
        cat[c * n_categorical_ + k] = code;
      }
    }
  }

  if (static_cast<int64_t>(input.continuous.size()) != config.n_continuous)
    throw std::invalid_argument("data has a different number of continuous covariates than the model");
  if (config.n_continuous > 0) {
    continuous_ = at::empty({n_cells_, config.n_continuous}, at::kFloat);
    float* cont = continuous_.data_ptr<float>();
    for (int64_t k = 0; k < config.n_continuous; ++k)
      for (int64_t c = 0; c < n_cells_; ++c)
        cont[c * config.n_continuous + k] = static_cast<float>(input.continuous[k][c]);
  }

  group_codes_.assign(static_cast<size_t>(n_cells_), 0);
  if (input.group != nullptr) {
    for (int64_t c = 0; c < n_cells_; ++c) {
      if (input.group[c] < 0 || input.group[c] >= config.n_groups)
        throw std::invalid_argument("integrate_on code out of range");
      group_codes_[c] = input.group[c];
    }
  }
  group_ = at::tensor(group_codes_, at::kLong);
}

at::Tensor CellData::densify(const Modality& m, const std::vector<int64_t>& cells) const {
  const auto n = static_cast<int64_t>(cells.size());
  if (!m.sparse) {
    return m.dense.index_select(0, at::tensor(cells, at::kLong));
  }
  at::Tensor out = at::zeros({n, m.n_features}, at::kFloat);
  float* dst = out.data_ptr<float>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t c = cells[r];
    float* row = dst + r * m.n_features;
    for (int64_t k = m.row_ptr[c]; k < m.row_ptr[c + 1]; ++k) row[m.col[k]] = m.val[k];
  }
  return out;
}

int64_t CellData::nonzeros(size_t modality, const std::vector<int64_t>& cells) const {
  const Modality& m = modalities_.at(modality);
  int64_t n = 0;
  if (m.sparse)
    for (int64_t c : cells) n += m.row_ptr[c + 1] - m.row_ptr[c];
  return n;
}

SparseRows CellData::gather_rows(const Modality& m, const std::vector<int64_t>& cells) const {
  if (!m.sparse) return sparse_rows_from_dense(m.dense.index_select(0, at::tensor(cells, at::kLong)), m.log_input);
  const auto n = static_cast<int64_t>(cells.size());
  SparseRows rows;
  rows.n_features = m.n_features;
  rows.row_ptr = at::empty({n + 1}, at::kLong);
  int64_t* ptr = rows.row_ptr.data_ptr<int64_t>();
  ptr[0] = 0;
  for (int64_t r = 0; r < n; ++r) ptr[r + 1] = ptr[r] + m.row_ptr[cells[r] + 1] - m.row_ptr[cells[r]];
  rows.col = at::empty({ptr[n]}, at::kInt);
  rows.values = at::empty({ptr[n]}, at::kFloat);
  int32_t* col = rows.col.data_ptr<int32_t>();
  float* val = rows.values.data_ptr<float>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t begin = m.row_ptr[cells[r]], count = ptr[r + 1] - ptr[r];
    std::copy_n(m.col.data() + begin, count, col + ptr[r]);
    std::copy_n(m.val.data() + begin, count, val + ptr[r]);
  }
  rows.encoder_values = m.log_input ? at::log1p(rows.values) : rows.values;
  return rows;
}

SparseRows sparse_rows_from_dense(const at::Tensor& dense, bool log_input) {
  const at::Tensor d = dense.to(at::kFloat).contiguous();
  const at::Tensor nonzero = d != 0;
  SparseRows rows;
  rows.n_features = d.size(1);
  rows.row_ptr = at::cat({at::zeros({1}, at::kLong), nonzero.sum(1).cumsum(0)});
  rows.col = nonzero.nonzero().select(1, 1).to(at::kInt).contiguous();  // row-major order
  rows.values = d.masked_select(nonzero).contiguous();
  rows.encoder_values = log_input ? at::log1p(rows.values) : rows.values;
  return rows;
}

Batch CellData::batch(const std::vector<int64_t>& cells, const at::Device& device) const {
  Batch b;
  b.size = static_cast<int64_t>(cells.size());
  const at::Tensor index = at::tensor(cells, at::kLong);
  for (const auto& m : modalities_) {
    const bool sparse_rows = device.is_cpu() && m.likelihood == Likelihood::nb;
    b.sparse.push_back(sparse_rows ? gather_rows(m, cells) : SparseRows());
    b.x.push_back(sparse_rows ? at::Tensor() : on_device(densify(m, cells), device));
    b.log_library.push_back(m.log_library.defined() ? on_device(m.log_library.index_select(0, index), device)
                                                    : at::Tensor());
    b.lgamma_const.push_back(m.lgamma_const.defined() ? on_device(m.lgamma_const.index_select(0, index), device)
                                                      : at::Tensor());
    b.feature_offset.push_back(on_device(m.feature_offset, device));
    b.encoder_fill.push_back(m.encoder_fill.defined() ? on_device(m.encoder_fill.index_select(0, index), device)
                                                      : at::Tensor());
    b.unmeasured.push_back(on_device(m.unmeasured, device));
  }
  b.present = on_device(present_.index_select(0, index), device);
  if (categorical_.defined()) {
    const at::Tensor cat = on_device(categorical_.index_select(0, index), device);
    for (int64_t k = 0; k < n_categorical_; ++k) b.categorical.push_back(cat.select(1, k));
  }
  if (continuous_.defined()) b.continuous = on_device(continuous_.index_select(0, index), device);
  b.group = on_device(group_.index_select(0, index), device);
  return b;
}

}  // namespace multigrade
