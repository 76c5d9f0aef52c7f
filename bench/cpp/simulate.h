// Realistic synthetic multimodal data for the C++ benchmarks: negative binomial RNA counts
// from a low-rank cell-state structure with donor effects (cell-major sparse, like R's
// dgCMatrix), CLR-like protein values and binary ATAC-like peaks driven by the same states.
#pragma once

#include <cstdint>
#include <vector>

namespace multigrade_bench {

struct SparseModality {
  int64_t n_features = 0;
  std::vector<int> col_ptr;  // n_cells + 1, compressed over cells
  std::vector<int> row_index;
  std::vector<double> values;
};

struct DenseModality {
  int64_t n_features = 0;
  std::vector<double> values;  // n_cells x n_features, cell-major
};

struct SimulatedData {
  int64_t n_cells = 0;
  SparseModality rna;
  DenseModality adt;
  SparseModality atac;     // empty unless requested
  std::vector<int> donor;  // 0-based
  std::vector<int> state;  // 0-based
};

struct SimulationSettings {
  int64_t n_cells = 20000;
  int64_t n_genes = 4000;
  int64_t n_proteins = 134;
  int64_t n_peaks = 0;
  int n_states = 10;
  int n_donors = 4;
  int rank = 8;
  double mean_library = 2000;
  uint64_t seed = 1;
};

SimulatedData simulate(const SimulationSettings& settings);

}  // namespace multigrade_bench
