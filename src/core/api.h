// Public interface of the multigrade core: plain C++ types only (no torch, no R).
// The R glue (src/r_*.cpp) and the C++ tests/benchmarks include only this header.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace multigrade {

// nbmixture: totalVI's protein model, a two-component NB mixture of background and
// foreground counts (foreground rate >= background rate) with a per-value mixing weight.
enum class Likelihood { mse, nb, zinb, bernoulli, nbmixture };
enum class Mixing { product, mixture };
enum class Alignment { none, latent, marginal, both };
// Where training minibatches are assembled. host: gathered from the host copy and copied to
// the device each step. device: the whole data set is copied to the device once and batches
// are gathered there by index (no per-step copy or host sync; needs the data to fit in
// device memory). automatic: device for a GPU, host for the CPU (whose fused kernels read
// the host's sparse rows directly).
enum class DataPlacement { automatic, host, device };
// Precision of float32 matrix products on CUDA: highest (true fp32) or high (TF32 tensor
// cores, about 10 mantissa bits in the products). CPU products are not affected.
enum class MatmulPrecision { highest, high };

Likelihood parse_likelihood(const std::string& name);
Mixing parse_mixing(const std::string& name);
Alignment parse_alignment(const std::string& name);
DataPlacement parse_data_placement(const std::string& name);
MatmulPrecision parse_matmul_precision(const std::string& name);
bool is_count_likelihood(Likelihood lik);

// The defaults below are the R package's (multigrade_options(), RunMultigrade()), so that the
// C++ tests and bench/cpp train the model R users get. What R derives from the data has no
// default here: the modality weights ("balanced"), log_input (count modalities), the
// minibatch size and epochs (R/train-schedule.R), and integ_coef 0 without an integrate_on covariate.
struct ModalitySpec {
  std::string name;
  int64_t n_features = 0;
  Likelihood likelihood = Likelihood::mse;
  bool log_input = false;  // encoder sees log1p(x) (count modalities)
  double coef = 1.0;       // weight of this modality's reconstruction loss
  int n_layers_encoder = 1;
  int n_hidden_encoder = 128;
  int n_layers_decoder = 1;
  int n_hidden_decoder = 128;
};

struct ModelConfig {
  std::vector<ModalitySpec> modalities;
  int64_t latent_dim = 30;
  int64_t cond_dim = 16;
  std::vector<int64_t> categorical_levels;  // levels per categorical covariate
  int64_t n_continuous = 0;
  int64_t n_groups = 1;  // levels of the integrate_on covariate (dispersion and MMD)
  double dropout = 0.2;
  bool condition_encoders = true;
  bool condition_decoders = true;
  Mixing mixing = Mixing::product;
  bool prior_expert = false;  // product: the N(0, I) prior as one more expert (the reference: true)
  double leaky_slope = 0.01;
};

// Data-parallel training on torch.distributed's c10d (platform/process_group.h): this process is
// rank `rank` of `world_size`, each holding its share of the cells (cells i with
// i % world_size == rank of the whole data, in order); the ranks meet through a TCPStore that
// rank 0 serves at master_addr:master_port. world_size 1: training in this process alone.
struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "auto";  // "gloo" (CPU), "nccl" (CUDA), "auto": nccl on CUDA where built, else gloo
  double timeout_seconds = 60;   // a collective waiting longer (a rank died) fails with DistributedError
};

struct TrainConfig {
  int max_epochs = 200;
  int64_t batch_size = 256;
  double lr = 3e-3;
  double weight_decay = 1e-3;
  double adam_eps = 1e-8;
  double train_size = 0.9;
  bool early_stopping = true;
  int patience = 10;
  int n_epochs_kl_warmup = -1;  // -1: max(max_epochs / 3, 1)
  double recon_coef = 1.0;
  double kl_coef = 1e-5;
  double integ_coef = 1.0;  // MMD between integrate_on groups (none with one group)
  Alignment alignment = Alignment::latent;
  bool stratified_batches = true;  // the reference's 2-group sampler when integrating
  // Probability of hiding each measured modality of a cell from the encoders in a training
  // step (at least one stays), so that the posterior of any subset must reconstruct every
  // measured modality: trains the cross-modal prediction behind imputation and unimodal
  // query mapping (subset training as in MoPoE-VAE; Multigrate has no such term).
  double modality_dropout = 0.3;
  // Weight of posterior_consistency (posterior.h): each measured modality's expert pulled to
  // the consensus of the cell's experts, in cells with at least two modalities, so that a
  // cell seen through one modality lands nearer where its paired profile would.
  double consistency_coef = 0.0;
  uint64_t seed = 0;
  DataPlacement data_placement = DataPlacement::automatic;
  MatmulPrecision matmul_precision = MatmulPrecision::highest;
  // Every random draw of a step from the CPU generator, copied to the device
  // (platform/random_draws.h): a GPU run then takes a CPU run's draws. Slower; for checks.
  bool host_random_draws = false;
  // Every draw of a step keyed by the global ids of the minibatch's cells (kernels/random_draws.h):
  // data-parallel ranks then train exactly like one process on the same global batches.
  bool keyed_draws = false;
  DistributedConfig distributed;
};

// A view on caller-owned memory for one modality; the core copies what it keeps.
// Sparse: compressed columns of a features x cells matrix (R's dgCMatrix), i.e. cell-major.
// Dense: column-major features x cells (R's matrix), i.e. row-major cells x features.
struct ModalityInput {
  bool sparse = false;
  const int* col_ptr = nullptr;    // n_cells + 1
  const int* row_index = nullptr;  // nnz
  const double* values = nullptr;  // nnz (sparse) or n_features * n_cells (dense)
  const int* present = nullptr;    // n_cells flags (1 = measured); nullptr = all present
  // n_features flags (1 = measured in this data set, 0 = not in its panel and zero-filled);
  // nullptr = all measured. Unmeasured features are left out of the reconstruction loss:
  // their expected value is pinned to 0 there, so their terms and gradients are exactly 0.
  // The encoders have no notion of absence; they see encoder_fill there (or zeros).
  const int* feature_present = nullptr;
  // What the encoders see for the unmeasured features: per cell, one value per feature that
  // feature_present marks 0 (in feature order), in the encoders' input scale (log1p for
  // log_input modalities); cells one after another. nullptr = zeros. The R side fills in the
  // model's expectation given the measured features, which adds no evidence of its own.
  const double* encoder_fill = nullptr;
};

struct DataInput {
  int64_t n_cells = 0;
  std::vector<ModalityInput> modalities;  // same order as ModelConfig::modalities
  std::vector<const int*> categorical;    // 0-based codes, one array per covariate
  std::vector<const double*> continuous;  // one array per covariate
  const int* group = nullptr;             // 0-based integrate_on codes (nullptr: one group)
};

struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

struct EpochStats {
  int epoch = 0;
  double kl_weight = 0;
  double train_loss = 0, train_reconstruction = 0, train_kl = 0, train_integration = 0;
  double train_consistency = 0;  // mean posterior_consistency per cell (unweighted)
  double train_mil = 0;          // end-to-end MultiMIL: mean MIL loss per step
  double validation_loss = 0, validation_reconstruction = 0;
  bool has_validation = false;
  bool improved = false;
  bool non_finite = false;   // the epoch produced NaN/Inf and was rolled back
  bool interrupted = false;  // the stop callback asked to stop mid-epoch
  int64_t cells_seen = 0;
  double seconds = 0;
  double collective_seconds = 0;  // data-parallel training: time in all-reduces (gradients and sums)
};

struct LatentResult {
  int64_t n_cells = 0, latent_dim = 0;
  std::vector<float> mean;    // row-major n_cells x latent_dim (posterior mean)
  std::vector<float> logvar;  // row-major n_cells x latent_dim
};

struct RuntimeInfo {
  std::string torch_version;
  int threads = 1;
  bool cuda_available = false;
  int cuda_device_count = 0;
  bool compiled_with_cuda = false;
};

// An allocation that failed on the device or the host during training, encoding or
// imputation; what() names the phase, the sizes that decide memory use (device, cells,
// features, batch size, parameters) and the size the allocator could not get.
// A data-parallel rank could not reach the others (a rank died, or never came): raised instead
// of waiting for ever, after DistributedConfig::timeout_seconds.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class OutOfMemoryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

RuntimeInfo runtime_info();
// Resolves "auto" to "cuda" when a CUDA device exists, else "cpu"; validates names.
std::string resolve_device(const std::string& requested);

// Sets LibTorch's intra-op thread count for a scope and restores it afterwards.
class ThreadScope {
 public:
  explicit ThreadScope(int n_threads);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int previous_;
};

// Sets LibTorch's float32 matrix-product precision (a process-wide setting) for a scope and
// restores the previous one afterwards.
class MatmulPrecisionScope {
 public:
  explicit MatmulPrecisionScope(MatmulPrecision precision);
  ~MatmulPrecisionScope();
  MatmulPrecisionScope(const MatmulPrecisionScope&) = delete;
  MatmulPrecisionScope& operator=(const MatmulPrecisionScope&) = delete;
  static MatmulPrecision current();  // LibTorch's setting now; any level below highest reads as high

 private:
  int previous_;  // LibTorch's own setting, which has levels beyond ours
};

// A head trained with the VAE on its latent (train/auxiliary_head.h), built by the trainer
// from its context; mil_api.h's joint_mil_head() makes the end-to-end MultiMIL one.
class AuxiliaryHead;
struct AuxiliaryHeadContext;
using AuxiliaryHeadFactory = std::function<std::unique_ptr<AuxiliaryHead>(const AuxiliaryHeadContext&)>;

// Training state: network, optimiser, data split; lives across epochs so that
// the caller can report progress and stop between epochs.
// With `reference` (query mapping, scArches-style), the network starts from those weights,
// which belong to a configuration with fewer covariate levels / integrate_on groups: only
// the new embedding rows and new groups' dispersions learn; every reference weight stays
// bit-identical.
// With `head` (end-to-end MultiMIL: joint_mil_head() of mil_api.h), the head's minibatches
// and cell split replace the VAE's (for MIL: bags of cells of the training samples, and the
// cells of the validation samples), and its loss on the sampled joint latent is added to the
// VAE loss, so both learn together.
// A trainer's state at the end of an epoch: with the same configuration and data, a trainer
// that resumes from it takes bit for bit the steps the original would have taken next (on the
// CPU; on a GPU, the device's random draws are not part of it). Flat buffers in the order of
// the parameter layout.
struct TrainerCheckpoint {
  std::vector<float> params, exp_avg, exp_avg_sq, best, last_good;
  int64_t optimizer_steps = 0;
  double lr = 0;
  double best_monitor = 0;  // +inf before the first improvement
  int epochs_done = 0, epochs_without_improvement = 0, rollbacks = 0;
  bool done = false;
  std::string sampler_rng;         // the minibatch order's generator, as text
  std::vector<uint8_t> torch_rng;  // LibTorch's default CPU generator (dropout, sampling)
};

class Trainer {
 public:
  Trainer(const ModelConfig& model, const TrainConfig& train, const DataInput& data, const std::string& device,
          const std::vector<NamedArray>* reference = nullptr,
          const AuxiliaryHeadFactory& head = AuxiliaryHeadFactory());
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Runs one epoch (train + validation) over the cells held. `should_stop` is polled
  // between steps. The same as train_part() then end_epoch().
  EpochStats run_epoch(const std::function<bool()>& should_stop);
  // Streaming (data larger than memory) sees the data set as parts (chunks of cells), one
  // held at a time: an epoch is train_part() on each part, set_data() between parts, then
  // end_epoch(). train_part() trains one pass over the cells held now (their training
  // cells, then the loss of their validation cells) and returns false when `should_stop`
  // stopped it; end_epoch() closes the epoch over every part trained since the last one:
  // statistics per cell, KL warm-up, early stopping, NaN rollback.
  bool train_part(const std::function<bool()>& should_stop);
  EpochStats end_epoch();
  // The next part (same modalities, features and covariate levels; split into training and
  // validation cells like the first); weights and optimiser state carry over, the previous
  // part is freed.
  void set_data(const DataInput& data);
  bool finished() const;  // early stopping triggered or max_epochs reached
  void restore_best();    // best validation weights (or the last finite ones)
  std::vector<NamedArray> weights() const;
  // Posterior means and log-variances of the cells the trainer holds, with its current
  // weights (after restore_best(): the best), as encode_latent() gives them from weights():
  // the data and weights are already here. `use_modality` (one flag per modality; empty: all)
  // hides the unflagged modalities, as if unmeasured (see model/inference.h).
  LatentResult encode(const std::vector<bool>& use_modality = {}, int64_t chunk_size = 2048) const;
  std::vector<NamedArray> mil_weights() const;  // the head's weights; empty without one
  // Checkpoints between epochs (not with an auxiliary head, nor for query mapping).
  // `interrupted`: the state after an interrupted epoch, to continue from (its steps kept,
  // the epoch not counted, training not finished).
  TrainerCheckpoint checkpoint(bool interrupted = false) const;
  void resume(const TrainerCheckpoint& state);
  // The latest of these epochs (checkpoints this rank holds) that every data-parallel rank
  // holds, -1 if none (alone: the latest): ranks resume from the same epoch.
  int common_epoch(const std::vector<int>& epochs) const;
  std::string memory_sizes_now() const;       // the sizes an out-of-memory error names
  std::vector<int> validation_cells() const;  // 0-based; in a data-parallel run, of all ranks' cells
  // Data-parallel training: rows of `width` values for this rank's cells -> those of all
  // ranks' cells, in the order of the whole data (every rank gets them all); alone, `rows`.
  std::vector<float> gather_cells(const std::vector<float>& rows, int64_t width) const;
  int64_t n_trainable() const;  // parameters the optimiser updates
  bool data_on_device() const;  // batches gathered on the device (TrainConfig::data_placement)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Posterior (joint) latent of every cell with a trained model, in eval mode.
LatentResult encode_latent(const ModelConfig& model, const std::vector<NamedArray>& weights, const DataInput& data,
                           const std::string& device, int64_t chunk_size = 2048);

// Expected values of one modality decoded from each cell's joint posterior, with the cell's
// own covariates, on the likelihood's scale: nb/zinb the mean count for the given library
// size (zinb times the probability of no dropout), mse the predicted value, bernoulli the
// probability. With n_samples > 0, also the `probs` quantiles over that many posterior draws.
struct ImputeRequest {
  size_t target = 0;                // modality index
  const double* library = nullptr;  // n_cells library sizes (count likelihoods)
  int n_samples = 0;
  std::vector<double> probs = {0.025, 0.975};
  uint64_t seed = 0;
  int64_t chunk_size = 1024;
  // nbmixture: return the probability that a value is foreground (1 - background weight)
  // instead of the expected (denoised) value.
  bool foreground_probability = false;
  // Per categorical covariate, n_cells 0-based codes to decode with instead of the cell's
  // own (scvi's transform_batch: impute as if measured in that batch); nullptr = own.
  // The encoders always see the cell's own covariates.
  std::vector<const int*> decode_categorical;
};

struct ImputeResult {
  int64_t n_cells = 0, n_features = 0;
  std::vector<float> mean;                    // row-major n_cells x n_features
  std::vector<std::vector<float>> quantiles;  // one row-major matrix per prob
};

ImputeResult impute_modality(const ModelConfig& model, const std::vector<NamedArray>& weights, const DataInput& data,
                             const std::string& device, const ImputeRequest& request);

// Decodes latent points directly (latent traversals for interpretation): `z` is row-major
// n_points x latent_dim; one code array per categorical covariate and one value array per
// continuous covariate give each point's covariates. Expected values as in imputation;
// count modalities are returned as proportions (library size 1).
ImputeResult decode_latent(const ModelConfig& model, const std::vector<NamedArray>& weights,
                           const std::vector<float>& z, int64_t n_points, const std::vector<const int*>& categorical,
                           const std::vector<const double*>& continuous, size_t target, const std::string& device);

// Data-parallel inference (embedding or imputing a large query rank by rank): rows of `width`
// values for this rank's cells (cells i % world_size == rank of all, in order) -> the rows of
// all ranks' cells, in data order, through a group of the ranks that lives for this call.
std::vector<float> gather_cell_rows(const DistributedConfig& config, const std::vector<float>& rows, int64_t width);

// Names and shapes of all parameters of a configuration (for validation of loaded files).
std::vector<NamedArray> parameter_layout(const ModelConfig& model);

// A reference's weights grown to `model`'s shapes (more covariate levels or integrate_on
// groups), the new rows at the mean of the reference's rows: the network a query's new levels
// start query training with.
std::vector<NamedArray> graft_weights(const ModelConfig& model, const std::vector<NamedArray>& reference);

}  // namespace multigrade
