#include "mil/mil_bags.h"

#include <algorithm>
#include <stdexcept>

namespace multigrade {

std::vector<std::vector<int64_t>> cells_by_sample(const int* sample, int64_t n_cells, int64_t n_samples) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n_samples));
  for (int64_t i = 0; i < n_cells; ++i) {
    if (sample[i] < 0 || sample[i] >= n_samples) throw std::invalid_argument("sample code out of range");
    out[static_cast<size_t>(sample[i])].push_back(i);
  }
  return out;
}

std::vector<Bag> training_bags(const std::vector<std::vector<int64_t>>& cells_of_sample,
                               const std::vector<int>& samples, int64_t bag_size, std::mt19937_64& rng) {
  std::vector<Bag> bags;
  for (int s : samples) {
    std::vector<int64_t> cells = cells_of_sample.at(static_cast<size_t>(s));
    if (cells.empty()) continue;
    std::shuffle(cells.begin(), cells.end(), rng);
    const auto n = static_cast<int64_t>(cells.size());
    const int64_t n_bags = std::max<int64_t>(1, (n + bag_size - 1) / bag_size);
    for (int64_t b = 0; b < n_bags; ++b) {
      const int64_t begin = b * n / n_bags, end = (b + 1) * n / n_bags;
      bags.push_back({s, std::vector<int64_t>(cells.begin() + begin, cells.begin() + end)});
    }
  }
  std::shuffle(bags.begin(), bags.end(), rng);
  return bags;
}

}  // namespace multigrade
