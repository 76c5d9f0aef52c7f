// Public interface of the MultiMIL part of the core: attention-based multiple-instance
// learning of sample-level phenotypes from per-cell embeddings. Plain C++ types only.
//
// Differences from the reference MILClassifier (../shared/design/MODEL_SPEC.md, section 2.9), on purpose:
// a bag is a whole sample (large samples are split into random bags of about `bag_size`
// cells during training only); no sample is ever dropped; attention is a softmax over the
// whole sample at inference and is not rescaled by N / bag size; ordinal tasks use
// cumulative logits; classification takes class weights.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api.h"

namespace multigrade {

enum class MilTask { classification, regression, ordinal };
enum class MilScoring { gated_attention, attention, mean };

MilTask parse_mil_task(const std::string& name);
MilScoring parse_mil_scoring(const std::string& name);

struct MilConfig {
  int64_t input_dim = 16;
  MilTask task = MilTask::classification;
  int64_t n_classes = 2;  // classification and ordinal levels (ignored for regression)
  MilScoring scoring = MilScoring::gated_attention;
  int64_t attention_dim = 16;
  int n_layers_cell = 1;  // cell transform MLP(input -> input)
  int n_layers_head = 2;  // head: (n_layers - 1) FC blocks of n_hidden_head, then a linear map
  int64_t n_hidden_head = 128;
  double dropout = 0.2;
  double leaky_slope = 0.01;
};

struct MilTrainConfig {
  int max_epochs = 200;
  double lr = 5e-4;
  double weight_decay = 1e-3;
  double adam_eps = 1e-8;
  int64_t bag_size = 128;             // cells per training bag (samples larger than this are split)
  int64_t bags_per_step = 2;          // bags per optimiser step (the reference's 256 / 128)
  std::vector<double> class_weights;  // per class; empty = all 1
  bool early_stopping = true;
  int patience = 50;
  uint64_t seed = 0;
};

// Cells with their embedding and their sample. Targets are per sample: the 0-based class
// code (classification, ordinal) or the value (regression; the caller standardises).
struct MilData {
  int64_t n_cells = 0;
  int64_t input_dim = 0;
  const double* embedding = nullptr;  // column-major n_cells x input_dim (R's matrix)
  const int* sample = nullptr;        // n_cells 0-based sample codes
  int64_t n_samples = 0;
  const double* target = nullptr;  // n_samples (nullptr at prediction)
};

// End-to-end training (the Trainer's optional MIL head): the MIL network reads the VAE's
// latent space (input_dim = latent_dim); `coef` weighs its loss against the VAE's.
struct MilSetup {
  MilConfig model;
  MilTrainConfig train;         // bag_size, bags_per_step, class_weights; lr etc. as the VAE's
  const int* sample = nullptr;  // n_cells 0-based sample codes
  int64_t n_samples = 0;
  const double* target = nullptr;  // n_samples
  std::vector<int> train_samples, validation_samples;
  double coef = 1.0;
};

// The MIL head of end-to-end training, for Trainer (api.h). The setup's pointers need only
// live until the Trainer is constructed (the head copies what it needs).
AuxiliaryHeadFactory joint_mil_head(const MilSetup& setup);

struct MilEpochStats {
  int epoch = 0;
  double train_loss = 0;
  double validation_loss = 0;
  double validation_accuracy = 0;  // classification and ordinal
  bool has_validation = false;
  bool improved = false;
  bool non_finite = false;
  int64_t cells_seen = 0;
  double seconds = 0;
};

class MilTrainer {
 public:
  // `train_samples` and `validation_samples` are 0-based sample codes of `data`.
  MilTrainer(const MilConfig& model, const MilTrainConfig& train, const MilData& data, std::vector<int> train_samples,
             std::vector<int> validation_samples, const std::string& device);
  ~MilTrainer();
  MilTrainer(const MilTrainer&) = delete;
  MilTrainer& operator=(const MilTrainer&) = delete;

  MilEpochStats run_epoch();
  bool finished() const;
  void restore_best();
  std::vector<NamedArray> weights() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct MilPrediction {
  int64_t n_samples = 0, n_outputs = 0;
  // Row-major n_samples x n_outputs: class probabilities (classification, ordinal) or the
  // predicted value (regression, one column). Samples without cells get NaN.
  std::vector<float> output;
  std::vector<float> attention;  // n_cells, softmax over each sample's cells
  std::vector<float> pooled;     // row-major n_samples x input_dim, the pooled cell transform
};

MilPrediction mil_predict(const MilConfig& model, const std::vector<NamedArray>& weights, const MilData& data,
                          const std::string& device);

std::vector<NamedArray> mil_parameter_layout(const MilConfig& model);

}  // namespace multigrade
