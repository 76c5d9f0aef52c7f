// A minibatch's rows of one modality in compressed sparse row form: what the data layer
// gathers and the fused kernels read.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace multigrade {

// Host tensors.
struct SparseRows {
  at::Tensor row_ptr;         // B + 1, int64
  at::Tensor col;             // nnz, int32
  at::Tensor values;          // nnz, float: the data
  at::Tensor encoder_values;  // nnz, float: what the encoder sees (log1p(values) or values)
  int64_t n_features = 0;
  bool defined() const { return row_ptr.defined(); }
};

}  // namespace multigrade
