// Host-side copy of the training/inference data and minibatch assembly.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "api.h"
#include "kernels/sparse_rows.h"

namespace multigrade {

// Added to the decoder's logits of unmeasured features: their expected value underflows to
// exactly 0, so the count and Bernoulli likelihoods of their (zero-filled) values are 0.
constexpr float kUnmeasuredLogit = -1e4f;

// The non-zeros of a dense host matrix (B x n_features, float) as sparse rows.
SparseRows sparse_rows_from_dense(const at::Tensor& dense, bool log_input);

// One minibatch on the compute device. Per-modality tensors are B x n_features.
// On the CPU, nb modalities come as sparse rows only (x[m] undefined): their encoder's first
// layer and the fused loss read the non-zeros directly (kernels/fused_*.h).
struct Batch {
  int64_t size = 0;
  std::vector<at::Tensor> x;
  std::vector<SparseRows> sparse;
  at::Tensor present;  // B x M float (1 = measured)
  // Per modality, n_features: 0 for measured features, kUnmeasuredLogit for features the
  // data set does not measure (ModalityInput::feature_present); undefined when all are.
  std::vector<at::Tensor> feature_offset;
  // Per modality, B x n_unmeasured: what the encoder sees for the unmeasured features
  // (ModalityInput::encoder_fill) at feature indices `unmeasured` (int64); both undefined
  // when all features are measured or the fill is zeros.
  std::vector<at::Tensor> encoder_fill, unmeasured;
  std::vector<at::Tensor> log_library;   // B, count modalities only
  std::vector<at::Tensor> lgamma_const;  // B, sum_f lgamma(x + 1), nb/zinb only
  std::vector<at::Tensor> categorical;   // B int64 per covariate
  at::Tensor continuous;                 // B x n_continuous (undefined if none)
  at::Tensor group;                      // B int64 integrate_on codes
};

class CellData {
 public:
  CellData() = default;
  CellData(const ModelConfig& config, const DataInput& input);

  int64_t n_cells() const { return n_cells_; }
  const std::vector<int64_t>& group_codes() const { return group_codes_; }
  Batch batch(const std::vector<int64_t>& cells, const at::Device& device) const;
  // Non-zeros of these cells in a sparse modality (0 for a dense one).
  int64_t nonzeros(size_t modality, const std::vector<int64_t>& cells) const;

 private:
  friend class ResidentData;  // copies the storage below to the device once

  struct Modality {
    Likelihood likelihood = Likelihood::mse;
    bool log_input = false;
    int64_t n_features = 0;
    bool sparse = false;
    std::vector<int64_t> row_ptr;  // CSR over cells (sparse storage)
    std::vector<int32_t> col;
    std::vector<float> val;
    at::Tensor dense;           // n_cells x n_features (dense storage)
    at::Tensor log_library;     // n_cells
    at::Tensor lgamma_const;    // n_cells
    at::Tensor feature_offset;  // n_features (Batch::feature_offset), undefined if all measured
    at::Tensor encoder_fill;    // n_cells x n_unmeasured (Batch::encoder_fill), undefined if none
    at::Tensor unmeasured;      // n_unmeasured int64
  };

  at::Tensor densify(const Modality& m, const std::vector<int64_t>& cells) const;
  SparseRows gather_rows(const Modality& m, const std::vector<int64_t>& cells) const;
  static Modality copy_modality(const ModalitySpec& spec, const ModalityInput& in, int64_t n_cells);

  int64_t n_cells_ = 0;
  std::vector<Modality> modalities_;
  at::Tensor present_;  // n_cells x M
  int64_t n_categorical_ = 0;
  at::Tensor categorical_;  // n_cells x n_cat int64 (undefined if none)
  at::Tensor continuous_;   // n_cells x n_cont
  at::Tensor group_;        // n_cells int64
  std::vector<int64_t> group_codes_;
};

}  // namespace multigrade
