// Products of a minibatch's sparse rows (CSR) with dense matrices on the CPU, for the first
// encoder layer of a sparse modality: at 10-20% non-zeros this is 5-10x less work than the
// dense GEMM over B x n_features, and it needs no densified input.
#pragma once

#include <cstdint>

namespace multigrade {

struct CsrView {
  int64_t n_rows = 0, n_cols = 0;
  const int64_t* row_ptr = nullptr;  // n_rows + 1
  const int32_t* col = nullptr;
  const float* values = nullptr;
};

// out (n_rows x h) += A wt, with wt n_cols x h; all row-major.
void csr_times_dense(const CsrView& a, const float* wt, int64_t h, float* out);

// out (n_cols x h) = A^T g, with g n_rows x h; all row-major. out is overwritten.
void csr_transpose_times_dense(const CsrView& a, const float* g, int64_t h, float* out);

// dst (cols x rows, row stride dst_stride) = transpose of src (rows x cols, row stride
// src_stride), in cache-sized tiles (ATen 1.13 copies strided views element by element).
void transpose_into(const float* src, int64_t rows, int64_t cols, int64_t src_stride, float* dst,
                    int64_t dst_stride);

}  // namespace multigrade
