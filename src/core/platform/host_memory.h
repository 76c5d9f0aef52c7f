// Host allocator tuning for training loops that free and re-allocate the same large
// buffers every step.
#pragma once

namespace multigrade {

// Keeps freed multi-megabyte blocks in the process heap instead of returning them to the
// system. Without it glibc unmaps or trims the per-step B x G buffers and the next step
// page-faults them back in (measured: a fifth of CPU training time spent in the kernel).
// Process-wide and idempotent; a no-op outside glibc.
void keep_freed_host_memory();

}  // namespace multigrade
