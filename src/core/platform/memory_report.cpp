#include "platform/memory_report.h"

#include <c10/util/Exception.h>

#include <new>
#include <sstream>

namespace multigrade {

bool is_allocation_failure(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return true;
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr) return true;
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  if (error == nullptr) return false;
  // The CPU allocator reports a failed allocation as a plain c10::Error ("can't allocate
  // memory" from posix_memalign, "not enough memory" from malloc, by version).
  const std::string message = error->msg();
  for (const char* words : {"can't allocate memory", "not enough memory", "out of memory"})
    if (message.find(words) != std::string::npos) return true;
  return false;
}

std::string allocator_message(const std::exception& e) {
  const auto* error = dynamic_cast<const c10::Error*>(&e);
  if (error == nullptr) return e.what();
  const std::string message = error->what_without_backtrace();
  return message.substr(0, message.find('\n'));
}

std::string memory_sizes(const ModelConfig& model, const std::string& device, int64_t n_cells, int64_t batch_size,
                         int64_t n_parameters) {
  std::ostringstream out;
  out << "device " << device << ", " << n_cells << " cells, modalities";
  for (size_t m = 0; m < model.modalities.size(); ++m)
    out << (m == 0 ? " " : " + ") << model.modalities[m].name << " " << model.modalities[m].n_features;
  out << " features";
  if (batch_size > 0) out << ", batches of " << batch_size << " cells";
  if (n_parameters >= 0) out << ", " << n_parameters << " parameters";
  return out.str();
}

}  // namespace multigrade
