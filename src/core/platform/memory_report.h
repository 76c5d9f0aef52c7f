// Allocation failures (device or host) become OutOfMemoryError (api.h), whose message says what
// was being done, the sizes that decide memory use, and the allocator's own words (the size it
// failed to get), so that the caller can say what to change.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "api.h"

namespace multigrade {

// LibTorch's out-of-memory errors (CUDA's OutOfMemoryError, the CPU allocator's "not enough
// memory") and std::bad_alloc.
bool is_allocation_failure(const std::exception& e);

// The allocator's message without LibTorch's backtrace.
std::string allocator_message(const std::exception& e);

// "device cuda:0, 5000 cells, modalities rna 2000 + adt 134 features, batch of 256 cells,
// 1234567 parameters"; n_parameters < 0 leaves that out (not known yet).
std::string memory_sizes(const ModelConfig& model, const std::string& device, int64_t n_cells, int64_t batch_size,
                         int64_t n_parameters);

// Runs `f`; an allocation failure in it becomes OutOfMemoryError("<what> ran out of memory
// (<sizes()>): <allocator message>"). `sizes` is called only then.
template <class F, class Sizes>
auto reporting_out_of_memory(const char* what, const Sizes& sizes, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const OutOfMemoryError&) {
    throw;
  } catch (const std::exception& e) {
    if (!is_allocation_failure(e)) throw;
    throw OutOfMemoryError(std::string(what) + " ran out of memory (" + sizes() + "): " + allocator_message(e));
  }
}

}  // namespace multigrade
