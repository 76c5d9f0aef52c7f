// Train/validation split and minibatch orders (plain C++, no torch).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace multigrade {

struct CellSplit {
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
};

// Random split with ceil(train_size * n) training cells, as in scvi-tools.
CellSplit split_cells(int64_t n_cells, double train_size, std::mt19937_64& rng);

// Consecutive chunks of `cells` (shuffled first when `shuffle`).
std::vector<std::vector<int64_t>> sequential_batches(std::vector<int64_t> cells, int64_t batch_size, bool shuffle,
                                                     std::mt19937_64& rng);

// The reference's stratified sampler: per group, shuffled chunks of batch_size/2 cells
// (remainders dropped, but at least one chunk per group), chunks shuffled across groups
// and paired into batches; a leftover chunk forms a last half batch.
std::vector<std::vector<int64_t>> stratified_batches(const std::vector<int64_t>& cells,
                                                     const std::vector<int64_t>& group_of_cell, int64_t batch_size,
                                                     std::mt19937_64& rng);

}  // namespace multigrade
