#include "mil/mil_batch.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "platform/device_copy.h"

namespace multigrade {

BagTargets bag_targets(const MilConfig& model, const MilTrainConfig& train, const double* target, int64_t n_samples) {
  BagTargets out;
  out.target.assign(target, target + n_samples);
  out.class_weights = train.class_weights;
  out.weighted = model.task != MilTask::regression && !train.class_weights.empty();
  return out;
}

BagBatch bag_batch(const std::vector<Bag>& bags, size_t first, size_t last, const BagTargets& targets,
                   const at::Device& device) {
  BagBatch out;
  std::vector<int64_t> bag;
  std::vector<float> y, w;
  for (size_t b = first; b < last; ++b) {
    out.cell_index.insert(out.cell_index.end(), bags[b].cells.begin(), bags[b].cells.end());
    bag.insert(bag.end(), bags[b].cells.size(), static_cast<int64_t>(b - first));
    const double t = targets.target.at(static_cast<size_t>(bags[b].sample));
    y.push_back(static_cast<float>(t));
    w.push_back(targets.weighted ? static_cast<float>(targets.class_weights.at(static_cast<size_t>(t))) : 1.0f);
  }
  out.n_bags = static_cast<int64_t>(last - first);
  out.cells = device_copy(out.cell_index, device);
  out.bag = device_copy(bag, device);
  out.target = device_copy(y, device);
  out.weight = device_copy(w, device);
  return out;
}

std::vector<BagBatch> step_batches(const std::vector<Bag>& bags, int64_t bags_per_step, const BagTargets& targets,
                                   const at::Device& device) {
  const auto step = static_cast<size_t>(bags_per_step);
  std::vector<BagBatch> out;
  for (size_t first = 0; first < bags.size(); first += step)
    out.push_back(bag_batch(bags, first, std::min(bags.size(), first + step), targets, device));
  return out;
}

at::Tensor weighted_bag_loss(const MilNet& net, const at::Tensor& output, const BagBatch& batch) {
  return (net.loss(output, batch.target) * batch.weight).sum() / batch.weight.sum();
}

std::vector<Bag> whole_sample_bags(const std::vector<std::vector<int64_t>>& cells_of_sample,
                                   const std::vector<int>& samples) {
  std::vector<Bag> bags;
  for (int s : samples)
    if (!cells_of_sample.at(static_cast<size_t>(s)).empty())
      bags.push_back({s, cells_of_sample[static_cast<size_t>(s)]});
  return bags;
}

}  // namespace multigrade
