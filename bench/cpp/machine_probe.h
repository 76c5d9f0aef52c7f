// What this machine delivers right now, printed beside the training figures: on a shared VM
// the same build's cells/s moves with the host's load, and these say which moved.
#pragma once

#include <cstdint>
#include <string>

namespace multigrade_bench {

// Median GFLOP/s of the first layer's dense product, (batch x genes) times (genes x hidden),
// at the current thread count on `device` (cpu or cuda): the bound that most of a training
// step's arithmetic runs at.
double gemm_gflops(int64_t batch, int64_t genes, int64_t hidden, const std::string& device);

// CPU time the hypervisor gave to other guests (steal, summed over this VM's CPUs), in seconds
// since boot; -1 where /proc/stat has no steal column (not Linux, or not a VM that reports it).
double cpu_steal_seconds();

// A JSON number with two decimals, or null for a negative (unknown) figure.
std::string json_number(double value);

}  // namespace multigrade_bench
