#include "sparse_matmul.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

// y[0:h] += v * x[0:h]
MULTIGRADE_TARGET_CLONES
void axpy(float* y, float v, const float* x, int64_t h) {
  int64_t i = 0;
  for (; i + simd::kLanes <= h; i += simd::kLanes) simd::store(y + i, simd::load(y + i) + simd::load(x + i) * v);
  for (; i < h; ++i) y[i] += v * x[i];
}

}  // namespace

void csr_times_dense(const CsrView& a, const float* wt, int64_t h, float* out) {
  at::parallel_for(0, a.n_rows, 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      for (int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k)
        axpy(out + r * h, a.values[k], wt + static_cast<int64_t>(a.col[k]) * h, h);
  });
}

void csr_transpose_times_dense(const CsrView& a, const float* g, int64_t h, float* out) {
  // Regroup the non-zeros by column (counting sort) so that each output row has one writer.
  const int64_t nnz = a.row_ptr[a.n_rows];
  std::vector<int64_t> col_ptr(static_cast<size_t>(a.n_cols + 1), 0);
  for (int64_t k = 0; k < nnz; ++k) ++col_ptr[a.col[k] + 1];
  for (int64_t c = 0; c < a.n_cols; ++c) col_ptr[c + 1] += col_ptr[c];
  std::vector<int64_t> next(col_ptr.begin(), col_ptr.end() - 1);
  std::vector<int32_t> row_of(static_cast<size_t>(nnz));
  std::vector<float> value_of(static_cast<size_t>(nnz));
  for (int64_t r = 0; r < a.n_rows; ++r) {
    for (int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      const int64_t slot = next[a.col[k]]++;
      row_of[slot] = static_cast<int32_t>(r);
      value_of[slot] = a.values[k];
    }
  }
  at::parallel_for(0, a.n_cols, 64, [&](int64_t begin, int64_t end) {
    std::fill(out + begin * h, out + end * h, 0.0f);
    for (int64_t c = begin; c < end; ++c)
      for (int64_t k = col_ptr[c]; k < col_ptr[c + 1]; ++k)
        axpy(out + c * h, value_of[k], g + static_cast<int64_t>(row_of[k]) * h, h);
  });
}

void transpose_into(const float* src, int64_t rows, int64_t cols, int64_t src_stride, float* dst,
                    int64_t dst_stride) {
  constexpr int64_t kTile = 32;
  at::parallel_for(0, (rows + kTile - 1) / kTile, 1, [&](int64_t begin, int64_t end) {
    for (int64_t tr = begin * kTile; tr < std::min(end * kTile, rows); tr += kTile)
      for (int64_t tc = 0; tc < cols; tc += kTile)
        for (int64_t r = tr; r < std::min(tr + kTile, rows); ++r)
          for (int64_t c = tc; c < std::min(tc + kTile, cols); ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
  });
}

}  // namespace multigrade
