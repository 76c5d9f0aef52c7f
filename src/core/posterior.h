// Joint posterior of the modality experts with an explicit presence mask.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "api.h"

namespace multigrade {

struct Gaussian {
  at::Tensor mu;
  at::Tensor logvar;
};

// Product of experts with the N(0, I) prior as one expert (a cell with no modality gets
// the prior), or the reference's "mixture": the Gaussian of the presence-weighted average
// of experts (a cell with no modality also gets the prior here instead of dividing by 0).
Gaussian joint_posterior(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                         const at::Tensor& present, Mixing mixing);

}  // namespace multigrade
