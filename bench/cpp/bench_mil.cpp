#include "bench_mil.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "mil_api.h"

namespace multigrade_bench {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

void bench_mil(int64_t n_cells, int epochs, const std::string& device) {
  constexpr int64_t kDim = 16, kCellsPerSample = 1000;
  const int64_t n_samples = std::max<int64_t>(2, n_cells / kCellsPerSample);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> embedding(static_cast<size_t>(n_cells * kDim));  // column-major
  std::vector<int> sample(static_cast<size_t>(n_cells));
  std::vector<double> target(static_cast<size_t>(n_samples));
  for (int64_t s = 0; s < n_samples; ++s) target[static_cast<size_t>(s)] = static_cast<double>(s % 2);
  for (int64_t i = 0; i < n_cells; ++i) {
    const int64_t s = std::min(i / kCellsPerSample, n_samples - 1);
    sample[static_cast<size_t>(i)] = static_cast<int>(s);
    const bool shifted = target[static_cast<size_t>(s)] == 1 && i % 5 == 0;
    for (int64_t d = 0; d < kDim; ++d)
      embedding[static_cast<size_t>(d * n_cells + i)] = noise(rng) + (shifted && d < 2 ? 2.0 : 0.0);
  }
  multigrade::MilConfig mc;
  mc.input_dim = kDim;
  multigrade::MilTrainConfig tc;
  tc.max_epochs = std::max(epochs, 2);
  tc.early_stopping = false;
  tc.seed = 3;
  multigrade::MilData data;
  data.n_cells = n_cells;
  data.input_dim = kDim;
  data.embedding = embedding.data();
  data.sample = sample.data();
  data.n_samples = n_samples;
  data.target = target.data();
  std::vector<int> train(static_cast<size_t>(n_samples));
  for (int64_t s = 0; s < n_samples; ++s) train[static_cast<size_t>(s)] = static_cast<int>(s);

  auto t0 = std::chrono::steady_clock::now();
  multigrade::MilTrainer trainer(mc, tc, data, train, {}, device);
  const double setup_s = seconds_since(t0);
  double timed_s = 0, loss = 0;
  int64_t timed_cells = 0;
  for (int e = 0; e < tc.max_epochs; ++e) {
    const auto stats = trainer.run_epoch();
    loss = stats.train_loss;
    if (e > 0) {
      timed_s += stats.seconds;
      timed_cells += stats.cells_seen;
    }
  }
  std::printf(
      "{\"task\":\"mil_train\",\"cells\":%lld,\"samples\":%lld,\"device\":\"%s\",\"setup_s\":%.2f,"
      "\"loss\":%.4f,\"cells_per_s\":%.0f,\"seconds_per_epoch\":%.3f}\n",
      static_cast<long long>(n_cells), static_cast<long long>(n_samples), device.c_str(), setup_s, loss,
      timed_cells / timed_s, timed_s / (tc.max_epochs - 1));
  data.target = nullptr;
  t0 = std::chrono::steady_clock::now();
  const auto prediction = multigrade::mil_predict(mc, trainer.weights(), data, device);
  const double predict_s = seconds_since(t0);
  int correct = 0;
  for (int64_t s = 0; s < n_samples; ++s)
    correct += (prediction.output[static_cast<size_t>(s * 2 + 1)] > 0.5) == (target[static_cast<size_t>(s)] == 1);
  std::printf(
      "{\"task\":\"mil_predict\",\"cells\":%lld,\"device\":\"%s\",\"cells_per_s\":%.0f,"
      "\"training_accuracy\":%.3f}\n",
      static_cast<long long>(n_cells), device.c_str(), n_cells / predict_s,
      static_cast<double>(correct) / static_cast<double>(n_samples));
}

}  // namespace multigrade_bench
