// The training objective: masked reconstruction + warmed-up KL + MMD alignment.
#pragma once

#include <ATen/core/Tensor.h>

#include "api.h"
#include "data/dataset.h"
#include "model/network.h"

namespace multigrade {

struct LossTerms {
  at::Tensor total;           // scalar to minimise
  at::Tensor reconstruction;  // B, masked sum over modalities (coefficients applied)
  at::Tensor kl;              // B, unweighted
  at::Tensor integration;     // scalar
  at::Tensor consistency;     // B, unweighted (undefined when the term is off)
  at::Tensor z;               // B x latent, the sampled joint latent (end-to-end MIL reads it)
};

LossTerms multigrade_loss(const MultigradeNet& net, const Batch& batch, const TrainConfig& train_config,
                          double kl_weight, bool train);

}  // namespace multigrade
