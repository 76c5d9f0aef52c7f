// How a trainer's cells relate to a data-parallel run (TrainConfig::distributed). Alone, its
// cells are all the cells. As rank r of W, it holds the cells i of the whole data with
// i % W == r (its cell j is global cell j * W + r). Every rank draws the same train/validation
// split and the same global minibatches from one sampler over all cells (the sampler's state is
// the same everywhere), trains on its own members of each batch, and weighs its gradient by its
// share of the batch before the sum over the ranks: W ranks take exactly the steps that one
// process takes on the same global batches, up to the random draws (identical too with
// TrainConfig::keyed_draws) and the MMD term, which each rank computes on its own members of a
// batch (the stratified sampler gives every batch both of its groups; a rank's members are a
// random share of them). A streamed data set works part by part the same way: every rank reads
// the same part and holds its share of it (reshard()).
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <random>
#include <vector>

#include "api.h"
#include "data/sampler.h"

namespace multigrade {

class ProcessGroup;

class DataParallel {
 public:
  // `group_codes`: the integrate_on code of each of this trainer's cells.
  DataParallel(const DistributedConfig& config, const std::vector<int64_t>& group_codes, const at::Device& device);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // The trainer holds other cells now (the next part of a streamed data set): every rank its
  // share of the same part, in the same group of ranks (alone: the new cells are all the cells).
  void reshard(const std::vector<int64_t>& group_codes);

  bool distributed() const { return world_ > 1; }
  int64_t global_id(int64_t local) const { return local * world_ + rank_; }
  std::vector<int64_t> global_ids(const std::vector<int64_t>& local) const;

  // This trainer's share of the global split; the global validation cells are kept.
  CellSplit split(double train_size, std::mt19937_64& rng);
  // This trainer's members of each global minibatch of the training cells.
  std::vector<std::vector<int64_t>> batches(const CellSplit& local, bool stratified, int64_t batch_size,
                                            std::mt19937_64& rng);
  // This trainer's share of step k's global batch (1 alone).
  double gradient_weight(size_t step, int64_t local_size) const;
  // The largest of `values` (each in 0..upper) that every rank has among its own (alone: the
  // largest), -1 if none: the epoch of checkpoints that all ranks can resume from.
  int64_t common_value(const std::vector<int64_t>& values, int64_t upper);
  // Sums over the ranks, in place (nothing alone).
  void reduce(at::Tensor& tensor);
  // Rows of width `width` for this trainer's cells -> the rows of all cells, in global order.
  std::vector<float> gather_rows(const std::vector<float>& rows, int64_t width);
  const std::vector<int64_t>& global_validation() const { return global_validation_; }
  double collective_seconds() const;

 private:
  std::unique_ptr<ProcessGroup> group_;
  int64_t world_ = 1, rank_ = 0, n_local_ = 0, n_global_ = 0;
  std::vector<int64_t> group_codes_;  // of all cells, in global order
  std::vector<int64_t> step_sizes_;   // cells in each global batch of the epoch
  std::vector<int64_t> global_train_, global_validation_;
  at::Device device_;
};

}  // namespace multigrade
