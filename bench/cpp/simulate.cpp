#include "simulate.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace multigrade_bench {

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix normal_matrix(int64_t rows, int64_t cols, double sd, double mean, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(mean, sd);
  Matrix m(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(cols)));
  for (auto& row : m)
    for (auto& v : row) v = normal(rng);
  return m;
}

struct Structure {
  Matrix state_factors, gene_loadings, donor_shift, protein_loadings, peak_loadings;
  std::vector<double> gene_base, peak_base;
};

Structure make_structure(const SimulationSettings& s, std::mt19937_64& rng) {
  Structure st;
  st.state_factors = normal_matrix(s.n_states, s.rank, 1.0, 0.0, rng);
  st.gene_loadings = normal_matrix(s.rank, s.n_genes, 0.6, 0.0, rng);
  st.donor_shift = normal_matrix(s.n_donors, s.n_genes + s.n_peaks, 0.3, 0.0, rng);
  st.protein_loadings = normal_matrix(s.rank, s.n_proteins, 1.0, 0.0, rng);
  st.peak_loadings = normal_matrix(s.rank, s.n_peaks, 0.8, 0.0, rng);
  st.gene_base = normal_matrix(1, s.n_genes, 1.2, -1.5, rng)[0];
  st.peak_base = normal_matrix(1, s.n_peaks, 1.0, -3.0, rng)[0];
  return st;
}

double loading(const Structure& st, const Matrix& load, int state, int64_t f) {
  double v = 0;
  for (size_t k = 0; k < load.size(); ++k) v += st.state_factors[state][k] * load[k][f];
  return v;
}

// One cell's RNA counts: NB(mu, size 2) by gamma-Poisson, mu proportional to exp(log-rate).
void simulate_rna_cell(const SimulationSettings& s, const Structure& st, int state, int donor, std::mt19937_64& rng,
                       std::vector<int>& rows, std::vector<double>& values) {
  std::vector<double> rate(static_cast<size_t>(s.n_genes));
  double total = 0;
  for (int64_t g = 0; g < s.n_genes; ++g) {
    rate[g] = std::exp(st.gene_base[g] + loading(st, st.gene_loadings, state, g) + st.donor_shift[donor][g]);
    total += rate[g];
  }
  std::lognormal_distribution<double> library(std::log(s.mean_library), 0.4);
  const double scale = library(rng) / total;
  std::gamma_distribution<double> gamma(2.0, 0.5);  // mean 1, size 2
  for (int64_t g = 0; g < s.n_genes; ++g) {
    std::poisson_distribution<int> poisson(std::max(rate[g] * scale * gamma(rng), 1e-12));
    const int count = poisson(rng);
    if (count > 0) {
      rows.push_back(static_cast<int>(g));
      values.push_back(count);
    }
  }
}

void simulate_atac_cell(const SimulationSettings& s, const Structure& st, int state, int donor, std::mt19937_64& rng,
                        std::vector<int>& rows, std::vector<double>& values) {
  std::uniform_real_distribution<double> unif;
  for (int64_t p = 0; p < s.n_peaks; ++p) {
    const double logit =
        st.peak_base[p] + loading(st, st.peak_loadings, state, p) + st.donor_shift[donor][s.n_genes + p];
    if (unif(rng) < 1.0 / (1.0 + std::exp(-logit))) {
      rows.push_back(static_cast<int>(p));
      values.push_back(1.0);
    }
  }
}

struct Chunk {
  std::vector<int> rna_nnz, atac_nnz;  // per cell
  std::vector<int> rna_rows, atac_rows;
  std::vector<double> rna_values, atac_values;
};

template <typename T>
void move_and_release(std::vector<T>& from, std::vector<T>& to) {
  to.insert(to.end(), from.begin(), from.end());
  std::vector<T>().swap(from);
}

// Concatenates the chunks' cells, releasing each chunk as it goes so that the peak memory
// is the output plus one chunk, not twice the data (this matters at a million cells).
void append_sparse(SparseModality& out, std::vector<Chunk>& chunks, bool atac) {
  size_t total = 0;
  for (const auto& c : chunks) total += (atac ? c.atac_values : c.rna_values).size();
  out.row_index.reserve(total);
  out.values.reserve(total);
  out.col_ptr.assign(1, 0);
  for (auto& c : chunks) {
    for (int n : atac ? c.atac_nnz : c.rna_nnz) out.col_ptr.push_back(out.col_ptr.back() + n);
    move_and_release(atac ? c.atac_rows : c.rna_rows, out.row_index);
    move_and_release(atac ? c.atac_values : c.rna_values, out.values);
  }
}

}  // namespace

SimulatedData simulate(const SimulationSettings& s) {
  std::mt19937_64 rng(s.seed);
  const Structure st = make_structure(s, rng);
  SimulatedData data;
  data.n_cells = s.n_cells;
  std::uniform_int_distribution<int> pick_state(0, s.n_states - 1), pick_donor(0, s.n_donors - 1);
  data.state.resize(static_cast<size_t>(s.n_cells));
  data.donor.resize(static_cast<size_t>(s.n_cells));
  for (int64_t c = 0; c < s.n_cells; ++c) {
    data.state[c] = pick_state(rng);
    data.donor[c] = pick_donor(rng);
  }

  // Cells are simulated in parallel chunks, each with its own seeded stream (deterministic).
  const int n_workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<Chunk> chunks(static_cast<size_t>(n_workers));
  std::vector<std::thread> workers;
  const int64_t per = (s.n_cells + n_workers - 1) / n_workers;
  for (int w = 0; w < n_workers; ++w) {
    workers.emplace_back([&, w] {
      std::mt19937_64 local(s.seed * 1000003ULL + static_cast<uint64_t>(w));
      Chunk& ch = chunks[w];
      for (int64_t c = w * per; c < std::min<int64_t>((w + 1) * per, s.n_cells); ++c) {
        const size_t before = ch.rna_rows.size(), before_atac = ch.atac_rows.size();
        simulate_rna_cell(s, st, data.state[c], data.donor[c], local, ch.rna_rows, ch.rna_values);
        ch.rna_nnz.push_back(static_cast<int>(ch.rna_rows.size() - before));
        if (s.n_peaks > 0) {
          simulate_atac_cell(s, st, data.state[c], data.donor[c], local, ch.atac_rows, ch.atac_values);
          ch.atac_nnz.push_back(static_cast<int>(ch.atac_rows.size() - before_atac));
        }
      }
    });
  }
  for (auto& t : workers) t.join();

  data.rna.n_features = s.n_genes;
  append_sparse(data.rna, chunks, false);
  if (s.n_peaks > 0) {
    data.atac.n_features = s.n_peaks;
    append_sparse(data.atac, chunks, true);
  }
  data.adt.n_features = s.n_proteins;
  data.adt.values.resize(static_cast<size_t>(s.n_cells * s.n_proteins));
  std::normal_distribution<double> noise(0.0, 0.5);
  for (int64_t c = 0; c < s.n_cells; ++c)
    for (int64_t p = 0; p < s.n_proteins; ++p)
      data.adt.values[c * s.n_proteins + p] = loading(st, st.protein_loadings, data.state[c], p) + noise(rng);
  return data;
}

}  // namespace multigrade_bench
