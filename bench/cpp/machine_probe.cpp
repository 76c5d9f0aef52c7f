#include "machine_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <vector>

#include <unistd.h>

#include <ATen/ATen.h>

namespace multigrade_bench {

double gemm_gflops(int64_t batch, int64_t genes, int64_t hidden, const std::string& device) {
  const auto options = at::TensorOptions().dtype(at::kFloat).device(at::Device(device));
  const at::Tensor x = at::randn({batch, genes}, options);
  const at::Tensor w = at::randn({hidden, genes}, options);
  at::Tensor out = at::empty({batch, hidden}, options);
  // Reading one value back waits for the device; on the CPU it costs nothing.
  const auto run = [&](int reps) {
    for (int r = 0; r < reps; ++r) at::mm_out(out, x, w.t());
    return out[0][0].item<float>();
  };
  constexpr int kReps = 10;
  run(3);  // warm-up: BLAS threads, CUDA handles
  std::vector<double> rates;
  for (int trial = 0; trial < 15; ++trial) {
    const auto t0 = std::chrono::steady_clock::now();
    run(kReps);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(2.0 * batch * genes * hidden * kReps / s / 1e9);
  }
  std::nth_element(rates.begin(), rates.begin() + rates.size() / 2, rates.end());
  return rates[rates.size() / 2];
}

double cpu_steal_seconds() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  long long user, nice, system, idle, iowait, irq, softirq, steal;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return -1;
  const long ticks = sysconf(_SC_CLK_TCK);
  return ticks > 0 ? static_cast<double>(steal) / ticks : -1;
}

std::string json_number(double value) {
  if (value < 0) return "null";
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", value);
  return text;
}

}  // namespace multigrade_bench
