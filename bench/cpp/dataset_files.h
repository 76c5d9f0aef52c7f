// A real dataset for the C++ driver, as plain binary files written by
// bench/gpu/export_dataset.py (from an RNA .h5ad and a protein .h5ad): RNA counts compressed
// over cells, dense proteins, donor codes. It lets the GPU machine, which has no R, train on
// the bundled CITE-seq cells and compare the embedding's cell-type neighbours with the CPU's.
#pragma once

#include <string>

#include "simulate.h"

namespace multigrade_bench {

// `prefix`.shape (text: cells genes proteins donors nnz), .rna_indptr.i32, .rna_indices.i32,
// .rna_data.f64, .adt.f64 (cell-major) and .donor.i32; throws std::runtime_error naming
// the file that is missing or short.
SimulatedData read_dataset_files(const std::string& prefix);

}  // namespace multigrade_bench
