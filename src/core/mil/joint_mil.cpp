#include "mil/joint_mil.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

namespace multigrade {

JointMil::JointMil(const MilSetup& setup, int64_t n_cells, const at::Device& device, const AdamWSettings& settings)
    : net_(setup.model, device),
      device_(device),
      cells_of_sample_(cells_by_sample(setup.sample, n_cells, setup.n_samples)),
      train_samples_(setup.train_samples),
      validation_samples_(setup.validation_samples),
      bag_size_(setup.train.bag_size),
      bags_per_step_(setup.train.bags_per_step),
      coef_(setup.coef) {
  if (setup.target == nullptr || train_samples_.empty())
    throw std::invalid_argument("end-to-end MIL needs a target per sample and training samples");
  targets_ = bag_targets(setup.model, setup.train, setup.target, setup.n_samples);
  optimizer_ = std::make_unique<FlatAdamW>(net_.params().flat(), net_.params().flat_grad(), settings);
}

CellSplit JointMil::cell_split() const {
  CellSplit split;
  for (int s : train_samples_) {
    const auto& c = cells_of_sample_.at(static_cast<size_t>(s));
    split.train.insert(split.train.end(), c.begin(), c.end());
  }
  for (int s : validation_samples_) {
    const auto& c = cells_of_sample_.at(static_cast<size_t>(s));
    split.validation.insert(split.validation.end(), c.begin(), c.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
  return split;
}

std::vector<std::vector<int64_t>> JointMil::start_epoch(std::mt19937_64& rng) {
  epoch_bags_ =
      step_batches(training_bags(cells_of_sample_, train_samples_, bag_size_, rng), bags_per_step_, targets_, device_);
  std::vector<std::vector<int64_t>> cells;
  cells.reserve(epoch_bags_.size());
  for (const auto& b : epoch_bags_) cells.push_back(b.cell_index);
  return cells;
}

at::Tensor JointMil::loss(const at::Tensor& z, size_t k) {
  // z's rows are the step's cells in order, so the bag index applies directly.
  const BagBatch& batch = epoch_bags_.at(k);
  return weighted_bag_loss(net_, net_.forward(z, batch.bag, batch.n_bags, /*train=*/true).output, batch);
}

void JointMil::reset_optimizer(double lr_factor) { optimizer_->restart(lr_factor); }

AuxiliaryHeadFactory joint_mil_head(const MilSetup& setup) {
  return [setup](const AuxiliaryHeadContext& context) -> std::unique_ptr<AuxiliaryHead> {
    if (setup.model.input_dim != context.latent_dim)
      throw std::invalid_argument("the MIL head's input width must be the latent dimension");
    return std::make_unique<JointMil>(setup, context.n_cells, context.device, context.optimizer);
  };
}

}  // namespace multigrade
