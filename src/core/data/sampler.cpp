#include "data/sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace multigrade {

CellSplit split_cells(int64_t n_cells, double train_size, std::mt19937_64& rng) {
  std::vector<int64_t> order(n_cells);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  auto n_train = static_cast<int64_t>(std::ceil(train_size * static_cast<double>(n_cells)));
  n_train = std::min(std::max<int64_t>(n_train, 1), n_cells);
  CellSplit split;
  split.train.assign(order.begin(), order.begin() + n_train);
  split.validation.assign(order.begin() + n_train, order.end());
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

std::vector<std::vector<int64_t>> sequential_batches(std::vector<int64_t> cells, int64_t batch_size, bool shuffle,
                                                     std::mt19937_64& rng) {
  if (shuffle) std::shuffle(cells.begin(), cells.end(), rng);
  std::vector<std::vector<int64_t>> batches;
  for (size_t start = 0; start < cells.size(); start += static_cast<size_t>(batch_size)) {
    size_t end = std::min(cells.size(), start + static_cast<size_t>(batch_size));
    batches.emplace_back(cells.begin() + start, cells.begin() + end);
  }
  // A trailing batch of one cell gives no MMD pairs and a noisy step: fold it into the previous.
  if (batches.size() > 1 && batches.back().size() < 2) {
    auto last = batches.back();
    batches.pop_back();
    batches.back().insert(batches.back().end(), last.begin(), last.end());
  }
  return batches;
}

std::vector<std::vector<int64_t>> stratified_batches(const std::vector<int64_t>& cells,
                                                     const std::vector<int64_t>& group_of_cell, int64_t batch_size,
                                                     std::mt19937_64& rng) {
  const int64_t chunk = std::max<int64_t>(batch_size / 2, 1);
  std::map<int64_t, std::vector<int64_t>> by_group;
  for (int64_t c : cells) by_group[group_of_cell[c]].push_back(c);

  std::vector<std::vector<int64_t>> chunks;
  for (auto& entry : by_group) {
    auto& members = entry.second;
    std::shuffle(members.begin(), members.end(), rng);
    const size_t n_full = members.size() / static_cast<size_t>(chunk);
    const size_t n_keep = std::max<size_t>(n_full, 1);
    for (size_t k = 0; k < n_keep; ++k) {
      size_t start = k * static_cast<size_t>(chunk);
      size_t end = std::min(members.size(), start + static_cast<size_t>(chunk));
      chunks.emplace_back(members.begin() + start, members.begin() + end);
    }
  }
  std::shuffle(chunks.begin(), chunks.end(), rng);

  std::vector<std::vector<int64_t>> batches;
  for (size_t k = 0; k < chunks.size(); k += 2) {
    std::vector<int64_t> batch = chunks[k];
    if (k + 1 < chunks.size()) batch.insert(batch.end(), chunks[k + 1].begin(), chunks[k + 1].end());
    batches.push_back(std::move(batch));
  }
  return batches;
}

}  // namespace multigrade
