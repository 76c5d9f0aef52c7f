// The MIL head of end-to-end training: its network and optimiser, the training samples'
// bags for each epoch, and its loss on the VAE's sampled latent.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <random>
#include <vector>

#include "mil_api.h"
#include "mil_batch.h"
#include "mil_network.h"
#include "optimizer.h"
#include "sampler.h"

namespace multigrade {

class JointMil {
 public:
  JointMil(const MilSetup& setup, int64_t n_cells, const at::Device& device, const AdamWSettings& settings);

  // The VAE's cells: those of the training samples, and of the validation samples.
  CellSplit cell_split() const;
  // This epoch's steps: bags of the training samples, bags_per_step at a time.
  std::vector<BagBatch> epoch_batches(std::mt19937_64& rng) const;
  // Class-weighted MIL loss of the bags from the latent rows of their cells (train mode).
  at::Tensor loss(const at::Tensor& z, const BagBatch& batch) const;
  void step() { optimizer_->step(); }
  void reset_optimizer(double lr_factor);
  at::Tensor& flat() { return net_.params().flat(); }
  std::vector<NamedArray> weights() const { return net_.params().export_arrays(); }
  double coef() const { return coef_; }

 private:
  MilNet net_;
  at::Device device_;
  std::unique_ptr<FlatAdamW> optimizer_;
  std::vector<std::vector<int64_t>> cells_of_sample_;
  BagTargets targets_;
  std::vector<int> train_samples_, validation_samples_;
  int64_t bag_size_ = 128, bags_per_step_ = 2;
  double coef_ = 1.0;
};

}  // namespace multigrade
