#include "dataset_files.h"

#include <fstream>
#include <stdexcept>

namespace multigrade_bench {

namespace {

template <class T>
std::vector<T> read_values(const std::string& path, int64_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<T> values(static_cast<size_t>(n));
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(n * sizeof(T)));
  if (in.gcount() != static_cast<std::streamsize>(n * sizeof(T)))
    throw std::runtime_error(path + " holds fewer than the " + std::to_string(n) + " values its .shape file says");
  return values;
}

}  // namespace

SimulatedData read_dataset_files(const std::string& prefix) {
  std::ifstream shape(prefix + ".shape");
  int64_t cells = 0, genes = 0, proteins = 0, donors = 0, nnz = 0;
  if (!(shape >> cells >> genes >> proteins >> donors >> nnz))
    throw std::runtime_error("cannot read " + prefix + ".shape (cells genes proteins donors nnz)");
  SimulatedData d;
  d.n_cells = cells;
  d.rna.n_features = genes;
  d.rna.col_ptr = read_values<int>(prefix + ".rna_indptr.i32", cells + 1);
  d.rna.row_index = read_values<int>(prefix + ".rna_indices.i32", nnz);
  d.rna.values = read_values<double>(prefix + ".rna_data.f64", nnz);
  d.adt.n_features = proteins;
  d.adt.values = read_values<double>(prefix + ".adt.f64", cells * proteins);
  d.donor = read_values<int>(prefix + ".donor.i32", cells);
  for (int code : d.donor)
    if (code < 0 || code >= donors)
      throw std::runtime_error(prefix + ".donor.i32 has a code outside 0.." + std::to_string(donors - 1));
  return d;
}

}  // namespace multigrade_bench
