// The training data held on the compute device (a GPU) once, and minibatches gathered there
// by index: a step then needs no host work on the counts and no host-device copy. The host
// copy (CellData) stays: it knows each batch's number of non-zeros, which the device gather
// needs as an output size and would otherwise have to read back (a host sync).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "data/dataset.h"

namespace multigrade {

// One epoch's minibatch order on the device: the cells of all batches concatenated (one
// upload per epoch), with what the host knows of each batch.
struct ResidentOrder {
  at::Tensor cells;                       // all batches' cells, int64, on the device
  std::vector<int64_t> offset, size;      // per batch
  std::vector<std::vector<int64_t>> nnz;  // per batch, per modality (0 for dense ones)
};

class ResidentData {
 public:
  // Copies every modality (CSR or dense) and the per-cell tensors of `host` to `device`.
  ResidentData(const CellData& host, const at::Device& device);

  // `host`: the CellData this was copied from.
  ResidentOrder order(const CellData& host, const std::vector<std::vector<int64_t>>& batches) const;
  // Batch k of the order, gathered on the device: dense x for every modality (no sparse
  // rows), as CellData::batch gives for a non-CPU device.
  Batch batch(const ResidentOrder& order, size_t k) const;

 private:
  struct Modality {
    int64_t n_features = 0;
    at::Tensor row_ptr, col, val;  // device CSR over cells (col int32), for a sparse modality
    at::Tensor dense;              // device n_cells x n_features, for a dense one
    at::Tensor log_library, lgamma_const;
    at::Tensor feature_offset;  // n_features, as in Batch (undefined if all measured)
    at::Tensor encoder_fill;    // n_cells x n_unmeasured, as in Batch (undefined if none)
    at::Tensor unmeasured;
  };

  // Rows `cells` of a CSR modality as a dense B x n_features tensor; nnz: their non-zeros.
  at::Tensor densify(const Modality& m, const at::Tensor& cells, int64_t nnz) const;

  at::Device device_;
  std::vector<Modality> modalities_;
  at::Tensor present_, categorical_, continuous_, group_;
};

}  // namespace multigrade
