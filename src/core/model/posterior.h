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
// Without `prior_expert`, the product is of the measured experts alone (a cell with none
// still gets the prior): a cell seen through one modality then lies where that expert puts
// it instead of being pulled towards the origin more than a cell seen through two.
Gaussian joint_posterior(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                         const at::Tensor& present, Mixing mixing, bool prior_expert = true);

// Per cell, how far each measured modality's expert lies from the consensus of all the
// cell's measured experts (their precision-weighted mean for the product, their average for
// the mixture; without the prior, so that experts that agree have zero distance at any
// scale): the squared distance of the means over the batch's variance of the consensus,
// summed over the modalities of cells that have at least two. The consensus is the target
// (no gradient flows into it), so each expert moves to where the cell's joint evidence puts
// it; the variance keeps its gradient, so shrinking the latent space gains nothing (with a
// detached scale, training collapsed the space to a point). B; zero for batches under 2 cells.
at::Tensor posterior_consistency(const std::vector<at::Tensor>& mu, const std::vector<at::Tensor>& logvar,
                                 const at::Tensor& present, Mixing mixing);

}  // namespace multigrade
