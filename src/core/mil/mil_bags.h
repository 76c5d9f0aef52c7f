// Bags for MIL training (plain C++, no torch): every sample is used, however small.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace multigrade {

struct Bag {
  int sample = 0;
  std::vector<int64_t> cells;
};

// The cells of each sample, in their original order.
std::vector<std::vector<int64_t>> cells_by_sample(const int* sample, int64_t n_cells, int64_t n_samples);

// One epoch's bags: each listed sample's cells shuffled and split into ceil(n / bag_size)
// bags of near-equal size (so no bag is a tiny remainder, and a sample smaller than
// bag_size is one bag); the bags of all samples in random order.
std::vector<Bag> training_bags(const std::vector<std::vector<int64_t>>& cells_of_sample,
                               const std::vector<int>& samples, int64_t bag_size, std::mt19937_64& rng);

}  // namespace multigrade
