// A step's bags on the compute device: which cells, which bag each cell is in, and each
// bag's target and class weight. Shared by MIL training on a fixed embedding and by
// end-to-end training with the VAE.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "mil/mil_bags.h"
#include "mil/mil_network.h"

namespace multigrade {

struct BagBatch {
  std::vector<int64_t> cell_index;  // host copy (the VAE's minibatch assembly reads it)
  at::Tensor cells;                 // n_cells int64
  at::Tensor bag;                   // n_cells int64 in [0, n_bags)
  at::Tensor target, weight;        // n_bags float
  int64_t n_bags = 0;
};

// Per-sample targets and class weights (empty: all 1), for assembling bag batches.
struct BagTargets {
  std::vector<double> target;
  std::vector<double> class_weights;
  bool weighted = false;  // classification / ordinal with class weights
};

// The targets of `n_samples` samples, weighted by class for classification and ordinal tasks.
BagTargets bag_targets(const MilConfig& model, const MilTrainConfig& train, const double* target, int64_t n_samples);

BagBatch bag_batch(const std::vector<Bag>& bags, size_t first, size_t last, const BagTargets& targets,
                   const at::Device& device);

// An epoch's optimiser steps: `bags` taken `bags_per_step` at a time.
std::vector<BagBatch> step_batches(const std::vector<Bag>& bags, int64_t bags_per_step, const BagTargets& targets,
                                   const at::Device& device);

// Class-weighted mean of the per-bag losses.
at::Tensor weighted_bag_loss(const MilNet& net, const at::Tensor& output, const BagBatch& batch);

// Whole samples as bags (validation and inference), skipping empty ones.
std::vector<Bag> whole_sample_bags(const std::vector<std::vector<int64_t>>& cells_of_sample,
                                   const std::vector<int>& samples);

}  // namespace multigrade
