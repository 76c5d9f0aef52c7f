#include "platform/host_memory.h"

#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace multigrade {

void keep_freed_host_memory() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    // Blocks up to 32 MiB come from the heap (the largest mmap threshold glibc accepts), and
    // up to 256 MiB of free heap top is kept before trimming.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
  });
#endif
}

}  // namespace multigrade
