// The MIL head of end-to-end training: its network and optimiser, the training samples'
// bags for each epoch, and its loss on the VAE's sampled latent.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <random>
#include <vector>

#include "data/sampler.h"
#include "mil/mil_batch.h"
#include "mil/mil_network.h"
#include "mil_api.h"
#include "train/auxiliary_head.h"
#include "train/optimizer.h"

namespace multigrade {

class JointMil : public AuxiliaryHead {
 public:
  JointMil(const MilSetup& setup, int64_t n_cells, const at::Device& device, const AdamWSettings& settings);

  // The VAE's cells: those of the training samples, and of the validation samples.
  CellSplit cell_split() const override;
  // This epoch's steps: bags of the training samples, bags_per_step at a time.
  std::vector<std::vector<int64_t>> start_epoch(std::mt19937_64& rng) override;
  // Class-weighted MIL loss of step k's bags from the latent rows of their cells (train mode).
  at::Tensor loss(const at::Tensor& z, size_t k) override;
  double coef() const override { return coef_; }
  void step() override { optimizer_->step(); }
  void reset_optimizer(double lr_factor) override;
  at::Tensor& flat() override { return net_.params().flat(); }
  std::vector<NamedArray> weights() const override { return net_.params().export_arrays(); }

 private:
  MilNet net_;
  at::Device device_;
  std::unique_ptr<FlatAdamW> optimizer_;
  std::vector<std::vector<int64_t>> cells_of_sample_;
  BagTargets targets_;
  std::vector<int> train_samples_, validation_samples_;
  int64_t bag_size_ = 128, bags_per_step_ = 2;
  double coef_ = 1.0;
  std::vector<BagBatch> epoch_bags_;  // this epoch's steps
};

}  // namespace multigrade
