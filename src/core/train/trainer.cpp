// Trainer: whole epochs in C++ (no host synchronisation inside a step), early stopping on
// the validation reconstruction loss with restore of the best weights, NaN rollback.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/record_function.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include "api.h"
#include "data/dataset.h"
#include "data/resident_data.h"
#include "data/sampler.h"
#include "kernels/random_draws.h"
#include "model/inference.h"
#include "model/network.h"
#include "platform/device_copy.h"
#include "platform/host_memory.h"
#include "platform/memory_report.h"
#include "train/auxiliary_head.h"
#include "train/data_parallel.h"
#include "train/early_stopping.h"
#include "train/objective.h"
#include "train/optimizer.h"

namespace multigrade {

namespace {
constexpr int64_t kValidationBatch = 1024;

// A flat buffer on `like`'s device from a checkpoint's values, which must be as many.
at::Tensor tensor_like(const std::vector<float>& values, const at::Tensor& like, const char* what) {
  if (static_cast<int64_t>(values.size()) != like.numel())
    throw std::invalid_argument(std::string("checkpoint: ") + what + " has " + std::to_string(values.size()) +
                                " values, this model " + std::to_string(like.numel()));
  return device_copy(values, like.device());
}
}  // namespace

struct Trainer::Impl {
  ModelConfig model_config;
  TrainConfig config;
  at::Device device;
  CellData data;
  std::unique_ptr<ResidentData> resident;  // the data on the device, when placed there
  std::mt19937_64 rng;
  CellSplit split;
  std::unique_ptr<MultigradeNet> net;
  std::unique_ptr<FlatAdamW> optimizer;
  std::unique_ptr<AuxiliaryHead> head;      // trained with the VAE on its latent, or none
  std::unique_ptr<EarlyStopping> stopping;  // best and last finite weights, patience, rollbacks
  std::unique_ptr<DataParallel> parallel;   // this trainer's cells in a data-parallel run (or alone)
  int n_warmup = 1;

  int64_t n_trainable = 0;

  Impl(const ModelConfig& mc, const TrainConfig& tc, const DataInput& input, const std::string& dev,
       const std::vector<NamedArray>* reference, const AuxiliaryHeadFactory& make_head)
      : model_config(mc), config(tc), device(resolve_device(dev)), data(mc, input), rng(tc.seed) {
    at::manual_seed(tc.seed);  // parameter init, dropout and reparameterisation draws
    keep_freed_host_memory();
    place_data();
    net = std::make_unique<MultigradeNet>(model_config, device);
    parallel = std::make_unique<DataParallel>(config.distributed, data.group_codes(), device);
    if (parallel->distributed() && !config.keyed_draws)  // the same init everywhere, then each rank's own draws
      at::manual_seed(tc.seed + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(config.distributed.rank + 1));
    AdamWSettings s;
    s.lr = config.lr;
    s.weight_decay = config.weight_decay;
    s.eps = config.adam_eps;
    optimizer = std::make_unique<FlatAdamW>(net->params().flat(), net->params().flat_grad(), s);
    if (make_head) {
      AuxiliaryHeadContext context;
      context.n_cells = data.n_cells();
      context.latent_dim = model_config.latent_dim;
      context.device = device;
      context.optimizer = s;
      head = make_head(context);
    }
    if (head && parallel->distributed())
      throw std::invalid_argument("data-parallel training does not take an auxiliary head (end-to-end MIL)");
    split = head ? head->cell_split() : parallel->split(config.train_size, rng);
    n_trainable = net->params().numel();
    if (reference != nullptr) {
      const auto grown = net->params().graft(*reference);
      n_trainable = 0;
      for (const auto& r : grown) n_trainable += r.second - r.first;
      optimizer->restrict_to(grown);
    }
    n_warmup = config.n_epochs_kl_warmup > 0 ? config.n_epochs_kl_warmup : std::max(config.max_epochs / 3, 1);
    std::vector<at::Tensor> kept = {net->params().flat()};
    if (head) kept.push_back(head->flat());
    stopping = std::make_unique<EarlyStopping>(kept, config.max_epochs, config.patience, config.early_stopping);
  }

  void place_data() {
    resident.reset();
    if (config.data_placement == DataPlacement::device) {
      resident = std::make_unique<ResidentData>(data, device);
    } else if (config.data_placement == DataPlacement::automatic && !device.is_cpu()) {
      try {
        resident = std::make_unique<ResidentData>(data, device);
      } catch (const c10::Error&) {
        // Out of device memory (the upload is plain copies): batches come from the host,
        // as data_on_device() then reports.
        resident.reset();
      }
    }
  }

  // The minibatches of `batches` (which must outlive the result): gathered from the host copy,
  // or on the device after one upload of their order.
  std::function<Batch(size_t)> batch_source(const std::vector<std::vector<int64_t>>& batches) const {
    if (!resident) return [this, &batches](size_t k) { return data.batch(batches[k], device); };
    auto order = std::make_shared<ResidentOrder>(resident->order(data, batches));
    return [this, order](size_t k) { return resident->batch(*order, k); };
  }

  double kl_weight() const {
    const int epoch = stopping->epochs_done();
    return epoch < n_warmup ? static_cast<double>(epoch) / n_warmup : 1.0;
  }

  std::vector<std::vector<int64_t>> training_batches() {
    return parallel->batches(split, config.stratified_batches && model_config.n_groups > 1, config.batch_size, rng);
  }

  // While open, the step's draws are keyed by its cells (TrainConfig::keyed_draws).
  std::unique_ptr<KeyedDrawsScope> keyed_draws(const std::vector<int64_t>& cells, int64_t step, bool validation) const {
    if (!config.keyed_draws) return nullptr;
    return std::make_unique<KeyedDrawsScope>(step_key(config.seed, stopping->epochs_done(), step, validation),
                                             parallel->global_ids(cells));
  }

  // The epoch in progress, summed over the parts of the data trained on since it began (one
  // part for data held whole; the chunks of a streamed data set), kept on the device.
  struct OpenEpoch {
    bool open = false;
    EpochStats stats;
    at::Tensor sums;  // loss, recon, kl, integ, val loss, val recon, mil, consistency
    int64_t n_batches = 0;
    int64_t n_validation = 0;
    double collective_start = 0;  // DataParallel::collective_seconds() when the epoch began
    std::chrono::steady_clock::time_point start;
  };
  OpenEpoch epoch;

  void open_epoch() {
    if (epoch.open) return;
    epoch = OpenEpoch();
    epoch.open = true;
    epoch.start = std::chrono::steady_clock::now();
    epoch.collective_start = parallel->collective_seconds();
    epoch.stats.epoch = stopping->epochs_done() + 1;
    epoch.stats.kl_weight = kl_weight();
    epoch.sums = at::zeros({8}, at::TensorOptions().dtype(at::kFloat).device(device));
  }

  // One pass over the cells held now: a step per minibatch of the training cells, then the
  // loss of the validation cells. Returns false when `should_stop` stopped it.
  bool train_part(const std::function<bool()>& should_stop) {
    open_epoch();
    const MatmulPrecisionScope precision(config.matmul_precision);
    const HostDrawsScope draws(config.host_random_draws);
    EpochStats& stats = epoch.stats;
    at::Tensor& sums = epoch.sums;

    // With a head, its minibatches (end-to-end MIL: the cells of bags of training samples).
    const std::vector<std::vector<int64_t>> batches = head ? head->start_epoch(rng) : training_batches();
    const auto batch_at = batch_source(batches);

    for (size_t k = 0; k < batches.size(); ++k) {
      if (should_stop && should_stop()) {
        stats.interrupted = true;
        return false;
      }
      if (batches[k].empty()) {  // none of this rank's cells in the global batch: it still takes the step
        parallel->reduce(net->params().flat_grad());
        optimizer->step();
        continue;
      }
      const auto keys = keyed_draws(batches[k], static_cast<int64_t>(k), false);
      // Named scopes show the phases of a step in profiler traces (bench_core --profile).
      Batch batch;
      {
        RECORD_FUNCTION("multigrade::gather_batch", std::vector<c10::IValue>());
        batch = batch_at(k);
      }
      LossTerms terms;
      {
        RECORD_FUNCTION("multigrade::forward", std::vector<c10::IValue>());
        terms = multigrade_loss(*net, batch, config, stats.kl_weight, /*train=*/true);
      }
      at::Tensor head_loss;
      {
        RECORD_FUNCTION("multigrade::backward", std::vector<c10::IValue>());
        if (head) {
          head_loss = head->loss(terms.z, k);
          (terms.total + head->coef() * head_loss).backward();
        } else {
          terms.total.backward();
        }
      }
      if (parallel->distributed()) {
        RECORD_FUNCTION("multigrade::all_reduce", std::vector<c10::IValue>());
        at::NoGradGuard no_grad;
        at::Tensor& grad = net->params().flat_grad();
        grad.mul_(parallel->gradient_weight(k, static_cast<int64_t>(batches[k].size())));
        parallel->reduce(grad);
      }
      {
        RECORD_FUNCTION("multigrade::optimizer_step", std::vector<c10::IValue>());
        optimizer->step();
        if (head) head->step();
      }
      at::NoGradGuard no_grad;
      sums.narrow(0, 0, 4).add_(
          at::stack({terms.total.detach() * static_cast<double>(batch.size), terms.reconstruction.detach().sum(),
                     terms.kl.detach().sum(), terms.integration.detach()}));
      if (head) sums.narrow(0, 6, 1).add_(head_loss.detach());
      if (config.consistency_coef > 0) sums.narrow(0, 7, 1).add_(terms.consistency.detach().sum());
      stats.cells_seen += batch.size;
      ++epoch.n_batches;
    }

    if (!split.validation.empty()) {
      at::NoGradGuard no_grad;
      const auto validation = sequential_batches(split.validation, kValidationBatch, false, rng);
      const auto validation_at = batch_source(validation);
      for (size_t k = 0; k < validation.size(); ++k) {
        // One key for every validation batch: a cell's draws do not depend on how they are cut.
        const auto keys = keyed_draws(validation[k], 0, true);
        const Batch batch = validation_at(k);
        const LossTerms terms = multigrade_loss(*net, batch, config, stats.kl_weight, /*train=*/false);
        sums.narrow(0, 4, 2).add_(
            at::stack({terms.total * static_cast<double>(batch.size), terms.reconstruction.sum()}));
      }
      epoch.n_validation += static_cast<int64_t>(split.validation.size());
    }
    return true;
  }

  // Closes the epoch: per-cell means over its parts, then early stopping and NaN rollback.
  EpochStats end_epoch() {
    open_epoch();  // an epoch without parts (interrupted before its first) closes empty
    EpochStats stats = epoch.stats;
    // The one host synchronisation of the epoch.
    at::Tensor host = epoch.sums.to(at::kCPU, at::kDouble);
    if (parallel->distributed()) {  // the sums and counts of all ranks, so that all decide alike
      host = at::cat({host, at::tensor({static_cast<double>(stats.cells_seen), static_cast<double>(epoch.n_validation)},
                                       at::kDouble)});
      parallel->reduce(host);
      stats.cells_seen = static_cast<int64_t>(host[8].item<double>());
      epoch.n_validation = static_cast<int64_t>(host[9].item<double>());
      stats.collective_seconds = parallel->collective_seconds() - epoch.collective_start;
    }
    const double* v = host.data_ptr<double>();
    const double n_train = static_cast<double>(std::max<int64_t>(stats.cells_seen, 1));
    const double n_batches = static_cast<double>(std::max<int64_t>(epoch.n_batches, 1));
    const auto n_val = epoch.n_validation;
    stats.train_loss = v[0] / n_train;
    stats.train_reconstruction = v[1] / n_train;
    stats.train_kl = v[2] / n_train;
    stats.train_integration = v[3] / n_batches;
    stats.train_mil = v[6] / n_batches;
    stats.train_consistency = v[7] / n_train;
    stats.has_validation = n_val > 0 && !stats.interrupted;
    if (stats.has_validation) {
      stats.validation_loss = v[4] / static_cast<double>(n_val);
      stats.validation_reconstruction = v[5] / static_cast<double>(n_val);
    }
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch.start).count();
    epoch.open = false;

    if (stats.interrupted) {
      stopping->finish();
      return stats;
    }
    finish_epoch(stats);
    return stats;
  }

  EpochStats run_epoch(const std::function<bool()>& should_stop) {
    train_part(should_stop);
    return end_epoch();
  }

  void finish_epoch(EpochStats& stats) {
    const double monitor = stats.has_validation ? stats.validation_reconstruction : stats.train_reconstruction;
    close_epoch(*stopping, stats, monitor, [this] {
      optimizer->restart(0.5);
      if (head) head->reset_optimizer(0.5);
    });
  }
};

Trainer::Trainer(const ModelConfig& model, const TrainConfig& train, const DataInput& data, const std::string& device,
                 const std::vector<NamedArray>* reference, const AuxiliaryHeadFactory& head)
    : impl_(reporting_out_of_memory(
          "Setting up training (the data copy and the model's parameters)",
          [&] { return memory_sizes(model, device, data.n_cells, train.batch_size, -1); },
          [&] { return std::make_unique<Impl>(model, train, data, device, reference, head); })) {}

Trainer::~Trainer() = default;

std::string Trainer::memory_sizes_now() const {
  return memory_sizes(impl_->model_config, impl_->device.str(), impl_->data.n_cells(), impl_->config.batch_size,
                      impl_->net->params().numel());
}

EpochStats Trainer::run_epoch(const std::function<bool()>& should_stop) {
  return reporting_out_of_memory(
      "A training epoch", [&] { return memory_sizes_now(); }, [&] { return impl_->run_epoch(should_stop); });
}

bool Trainer::train_part(const std::function<bool()>& should_stop) {
  return reporting_out_of_memory(
      "A training epoch", [&] { return memory_sizes_now(); }, [&] { return impl_->train_part(should_stop); });
}

EpochStats Trainer::end_epoch() {
  return reporting_out_of_memory(
      "The end of an epoch", [&] { return memory_sizes_now(); }, [&] { return impl_->end_epoch(); });
}

void Trainer::set_data(const DataInput& input) {
  if (impl_->head)
    throw std::invalid_argument("training with an auxiliary head (end-to-end MIL) cannot stream its data");
  impl_->resident.reset();  // free the previous chunk before copying the next
  impl_->data = CellData();
  impl_->data = CellData(impl_->model_config, input);
  impl_->place_data();
  impl_->parallel->reshard(impl_->data.group_codes());
  impl_->split = impl_->parallel->split(impl_->config.train_size, impl_->rng);
}

bool Trainer::finished() const { return impl_->stopping->finished(); }

void Trainer::restore_best() { impl_->stopping->restore_best(); }

std::vector<NamedArray> Trainer::weights() const { return impl_->net->params().export_arrays(); }

LatentResult Trainer::encode(const std::vector<bool>& use_modality, int64_t chunk_size) const {
  return reporting_out_of_memory(
      "Encoding the training cells",
      [&] {
        return memory_sizes(impl_->model_config, impl_->device.str(), impl_->data.n_cells(), chunk_size,
                            impl_->net->params().numel());
      },
      [&] { return encode_cells(*impl_->net, impl_->data, impl_->device, chunk_size, use_modality); });
}

TrainerCheckpoint Trainer::checkpoint(bool interrupted) const {
  const Impl& m = *impl_;
  if (m.head) throw std::invalid_argument("checkpoints are not available with an auxiliary head (end-to-end MIL)");
  TrainerCheckpoint out;
  out.params = host_floats(m.net->params().flat());
  const FlatAdamW::State adam = m.optimizer->state();
  out.exp_avg = host_floats(adam.exp_avg);
  out.exp_avg_sq = host_floats(adam.exp_avg_sq);
  out.optimizer_steps = adam.steps;
  out.lr = adam.lr;
  const EarlyStopping::State kept = m.stopping->state();
  out.best = host_floats(kept.best.at(0));
  out.last_good = host_floats(kept.last_good.at(0));
  out.best_monitor = kept.best_monitor;
  out.epochs_done = kept.epoch;
  out.epochs_without_improvement = kept.epochs_without_improvement;
  out.rollbacks = kept.rollbacks;
  // An interrupted epoch ended training; the resumed run continues it as a new epoch.
  out.done = interrupted ? false : kept.done;
  std::ostringstream rng;
  rng << m.rng;
  out.sampler_rng = rng.str();
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  const at::Tensor torch_state = generator.get_state();
  out.torch_rng.assign(torch_state.data_ptr<uint8_t>(), torch_state.data_ptr<uint8_t>() + torch_state.numel());
  return out;
}

void Trainer::resume(const TrainerCheckpoint& state) {
  Impl& m = *impl_;
  if (m.head) throw std::invalid_argument("checkpoints are not available with an auxiliary head (end-to-end MIL)");
  at::NoGradGuard no_grad;
  at::Tensor& flat = m.net->params().flat();
  flat.copy_(tensor_like(state.params, flat, "the weights"));
  FlatAdamW::State adam;
  adam.exp_avg = tensor_like(state.exp_avg, flat, "the optimiser's first moments");
  adam.exp_avg_sq = tensor_like(state.exp_avg_sq, flat, "the optimiser's second moments");
  adam.steps = state.optimizer_steps;
  adam.lr = state.lr;
  m.optimizer->set_state(adam);
  EarlyStopping::State kept;
  kept.best = {tensor_like(state.best, flat, "the best weights")};
  kept.last_good = {tensor_like(state.last_good, flat, "the last finite weights")};
  kept.best_monitor = state.best_monitor;
  kept.epoch = state.epochs_done;
  kept.epochs_without_improvement = state.epochs_without_improvement;
  kept.rollbacks = state.rollbacks;
  kept.done = state.done;
  m.stopping->set_state(kept);
  std::istringstream rng(state.sampler_rng);
  rng >> m.rng;
  if (rng.fail()) throw std::invalid_argument("checkpoint: the sampler's random state is damaged");
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  at::Tensor torch_state = at::empty({static_cast<int64_t>(state.torch_rng.size())}, at::kByte);
  std::copy(state.torch_rng.begin(), state.torch_rng.end(), torch_state.data_ptr<uint8_t>());
  generator.set_state(torch_state);
}

std::vector<NamedArray> Trainer::mil_weights() const {
  return impl_->head ? impl_->head->weights() : std::vector<NamedArray>();
}

int64_t Trainer::n_trainable() const { return impl_->n_trainable; }

bool Trainer::data_on_device() const { return impl_->resident != nullptr; }

std::vector<int> Trainer::validation_cells() const {
  const auto& cells = impl_->parallel->distributed() ? impl_->parallel->global_validation() : impl_->split.validation;
  return std::vector<int>(cells.begin(), cells.end());
}

int Trainer::common_epoch(const std::vector<int>& epochs) const {
  return static_cast<int>(impl_->parallel->common_value(std::vector<int64_t>(epochs.begin(), epochs.end()),
                                                        std::max(impl_->config.max_epochs, 0)));
}

std::vector<float> Trainer::gather_cells(const std::vector<float>& rows, int64_t width) const {
  return impl_->parallel->gather_rows(rows, width);
}

}  // namespace multigrade
