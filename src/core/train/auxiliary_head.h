// A head trained on the VAE's latent together with the VAE: the trainer takes its cell split
// and each epoch's minibatches, adds its weighted loss to every step's, steps its optimiser
// after the VAE's, and keeps its weights beside the VAE's through NaN rollbacks and early
// stopping. The end-to-end MultiMIL head (mil/joint_mil.h) is one; the trainer knows no other.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

#include "api.h"
#include "data/sampler.h"
#include "train/optimizer.h"

namespace multigrade {

// What a head is built with: the trainer's cells, latent width, device and optimiser settings.
struct AuxiliaryHeadContext {
  int64_t n_cells = 0;
  int64_t latent_dim = 0;
  at::Device device = at::kCPU;
  AdamWSettings optimizer;
};

class AuxiliaryHead {
 public:
  virtual ~AuxiliaryHead() = default;
  // The VAE's training and validation cells.
  virtual CellSplit cell_split() const = 0;
  // This epoch's minibatches as cell indices; loss(z, k) then refers to minibatch k.
  virtual std::vector<std::vector<int64_t>> start_epoch(std::mt19937_64& rng) = 0;
  // The head's loss on minibatch k from the latent rows of its cells (train mode).
  virtual at::Tensor loss(const at::Tensor& z, size_t k) = 0;
  // The weight of that loss beside the VAE's.
  virtual double coef() const = 0;
  virtual void step() = 0;
  // Forgets the optimiser's moments and scales its step size (after a NaN rollback).
  virtual void reset_optimizer(double lr_factor) = 0;
  virtual at::Tensor& flat() = 0;  // all weights, one buffer
  virtual std::vector<NamedArray> weights() const = 0;
};

}  // namespace multigrade
