// MIL training: bags of cells from the training samples, a few bags per optimiser step,
// validation on whole held-out samples, early stopping on the validation loss with the
// best weights restored, and rollback on non-finite losses.
#include <ATen/ATen.h>

#include <chrono>
#include <stdexcept>

#include "mil/mil_batch.h"
#include "mil/mil_network.h"
#include "mil_api.h"
#include "train/early_stopping.h"
#include "train/optimizer.h"

namespace multigrade {

namespace {
// Seeds LibTorch's generator before the network initialises its parameters.
const MilConfig& seeded(const MilConfig& config, uint64_t seed) {
  at::manual_seed(seed);
  return config;
}

}  // namespace

MilTask parse_mil_task(const std::string& name) {
  if (name == "classification") return MilTask::classification;
  if (name == "regression") return MilTask::regression;
  if (name == "ordinal") return MilTask::ordinal;
  throw std::invalid_argument("unknown MIL task '" + name + "'");
}

MilScoring parse_mil_scoring(const std::string& name) {
  if (name == "gated_attention") return MilScoring::gated_attention;
  if (name == "attention") return MilScoring::attention;
  if (name == "mean") return MilScoring::mean;
  throw std::invalid_argument("unknown MIL scoring '" + name + "'");
}

std::vector<NamedArray> mil_parameter_layout(const MilConfig& model) {
  return MilNet(model, at::Device(at::kCPU)).params().layout();
}

struct MilTrainer::Impl {
  MilTrainConfig config;
  at::Device device;
  MilNet net;
  std::unique_ptr<FlatAdamW> optimizer;
  at::Tensor embedding;  // n_cells x input_dim on the device
  std::vector<std::vector<int64_t>> cells_of_sample;
  BagTargets targets;
  std::vector<int> train_samples, validation_samples;
  std::mt19937_64 rng;
  std::unique_ptr<EarlyStopping> stopping;  // best and last finite weights, patience, rollbacks

  Impl(const MilConfig& mc, const MilTrainConfig& tc, const MilData& data, std::vector<int> train,
       std::vector<int> validation, const std::string& dev)
      : config(tc),
        device(resolve_device(dev)),
        net(seeded(mc, tc.seed), device),
        train_samples(std::move(train)),
        validation_samples(std::move(validation)),
        rng(tc.seed) {
    if (data.target == nullptr) throw std::invalid_argument("MIL training needs a target per sample");
    if (train_samples.empty()) throw std::invalid_argument("MIL training needs at least one training sample");
    embedding = embedding_tensor(data, device);
    cells_of_sample = cells_by_sample(data.sample, data.n_cells, data.n_samples);
    targets = bag_targets(mc, tc, data.target, data.n_samples);
    AdamWSettings s;
    s.lr = tc.lr;
    s.weight_decay = tc.weight_decay;
    s.eps = tc.adam_eps;
    optimizer = std::make_unique<FlatAdamW>(net.params().flat(), net.params().flat_grad(), s);
    stopping = std::make_unique<EarlyStopping>(std::vector<at::Tensor>{net.params().flat()}, tc.max_epochs, tc.patience,
                                               tc.early_stopping);
  }

  MilForward forward(const BagBatch& b, bool train) const {
    return net.forward(embedding.index_select(0, b.cells), b.bag, b.n_bags, train);
  }

  MilEpochStats run_epoch() {
    const auto start = std::chrono::steady_clock::now();
    MilEpochStats stats;
    stats.epoch = stopping->epochs_done() + 1;
    at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
    int64_t n_steps = 0;
    for (const BagBatch& b : step_batches(training_bags(cells_of_sample, train_samples, config.bag_size, rng),
                                          config.bags_per_step, targets, device)) {
      const at::Tensor loss = weighted_bag_loss(net, forward(b, /*train=*/true).output, b);
      loss.backward();
      optimizer->step();
      loss_sum = loss_sum + loss.detach();
      stats.cells_seen += static_cast<int64_t>(b.cell_index.size());
      ++n_steps;
    }
    stats.train_loss = loss_sum.item<double>() / static_cast<double>(std::max<int64_t>(n_steps, 1));
    if (!validation_samples.empty()) validate(stats);
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    finish_epoch(stats);
    return stats;
  }

  // Whole held-out samples, one bag each, in eval mode.
  void validate(MilEpochStats& stats) const {
    at::NoGradGuard no_grad;
    const std::vector<Bag> bags = whole_sample_bags(cells_of_sample, validation_samples);
    if (bags.empty()) return;
    const BagBatch b = bag_batch(bags, 0, bags.size(), targets, device);
    const MilForward f = forward(b, /*train=*/false);
    stats.has_validation = true;
    stats.validation_loss = weighted_bag_loss(net, f.output, b).item<double>();
    if (net.config().task != MilTask::regression) {
      const at::Tensor predicted = net.predict(f.output).argmax(1).to(at::kFloat);
      stats.validation_accuracy = predicted.eq(b.target).to(at::kDouble).mean().item<double>();
    }
  }

  void finish_epoch(MilEpochStats& stats) {
    // Without validation samples the last weights are the result (fixed epochs).
    const double monitor = stats.has_validation ? stats.validation_loss : stats.train_loss;
    close_epoch(*stopping, stats, monitor, [this] { optimizer->restart(0.5); });
  }
};

MilTrainer::MilTrainer(const MilConfig& model, const MilTrainConfig& train, const MilData& data,
                       std::vector<int> train_samples, std::vector<int> validation_samples, const std::string& device)
    : impl_(std::make_unique<Impl>(model, train, data, std::move(train_samples), std::move(validation_samples),
                                   device)) {}

MilTrainer::~MilTrainer() = default;

MilEpochStats MilTrainer::run_epoch() { return impl_->run_epoch(); }

bool MilTrainer::finished() const { return impl_->stopping->finished(); }

void MilTrainer::restore_best() { impl_->stopping->restore_best(); }

std::vector<NamedArray> MilTrainer::weights() const { return impl_->net.params().export_arrays(); }

}  // namespace multigrade
