// The CPU helper behind the first encoder layer of a sparse modality: a minibatch's CSR rows
// written into a dense buffer (the layer is then one BLAS product each way; see fused_sparse_affine.cpp).
#pragma once

#include <cstdint>

namespace multigrade {

struct CsrView {
  int64_t n_rows = 0, n_cols = 0;
  const int64_t* row_ptr = nullptr;  // n_rows + 1
  const int32_t* col = nullptr;
  const float* values = nullptr;
};

// Writes A's non-zeros into the zero-filled dense rows of `out` (row r at out + r * stride);
// with a.values == nullptr, zeros at A's non-zero positions (clearing a scattered buffer).
void csr_scatter_into(const CsrView& a, float* out, int64_t stride);

}  // namespace multigrade
