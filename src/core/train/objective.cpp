#include "train/objective.h"

#include <ATen/ATen.h>

#include "kernels/random_draws.h"
#include "model/divergences.h"
#include "model/posterior.h"

namespace multigrade {

namespace {

at::Tensor sample(const Gaussian& g) { return g.mu + normal_like(g.mu) * at::exp(0.5 * g.logvar); }

at::Tensor group_membership(const Batch& batch, int64_t n_groups) {
  return at::one_hot(batch.group, n_groups).to(at::kFloat);
}

// Marginal alignment: modality posteriors against each other on the cells that have both,
// and each modality's posterior across integrate_on groups.
at::Tensor marginal_alignment(const std::vector<Gaussian>& experts, const Batch& batch, int64_t n_groups) {
  std::vector<at::Tensor> z;
  for (const auto& e : experts) z.push_back(sample(e));
  at::Tensor total = at::zeros({}, batch.present.options());
  const at::Tensor groups = group_membership(batch, n_groups);
  for (size_t i = 0; i < z.size(); ++i) {
    const at::Tensor has_i = batch.present.select(1, static_cast<int64_t>(i)).unsqueeze(1);
    if (n_groups > 1) total = total + mmd_group_pairs(z[i], groups * has_i);
    for (size_t j = i + 1; j < z.size(); ++j) {
      const at::Tensor both = has_i * batch.present.select(1, static_cast<int64_t>(j)).unsqueeze(1);
      const at::Tensor zero = at::zeros_like(both);
      const at::Tensor membership = at::cat({at::cat({both, zero}, 1), at::cat({zero, both}, 1)}, 0);
      total = total + mmd_group_pairs(at::cat({z[i], z[j]}, 0), membership);
    }
  }
  return total;
}

// The presence mask the encoders see: in training with modality dropout, each measured
// modality is hidden with probability p; a cell that would lose all keeps all.
at::Tensor encoder_presence(const Batch& batch, const TrainConfig& tc, bool train) {
  if (!train || tc.modality_dropout <= 0 || batch.present.size(1) < 2) return batch.present;
  const at::Tensor keep =
      (uniform_like(batch.present) >= tc.modality_dropout).to(batch.present.scalar_type()) * batch.present;
  const at::Tensor none_left = (keep.sum(1, /*keepdim=*/true) == 0).to(batch.present.scalar_type());
  return keep + none_left * batch.present;
}

}  // namespace

LossTerms multigrade_loss(const MultigradeNet& net, const Batch& batch, const TrainConfig& tc, double kl_weight,
                          bool train) {
  const ModelConfig& config = net.config();
  const at::Tensor cov = net.covariates(batch);
  const std::vector<Gaussian> experts = net.encode(batch, cov, train);
  std::vector<at::Tensor> mus, logvars;
  for (const auto& e : experts) {
    mus.push_back(e.mu);
    logvars.push_back(e.logvar);
  }
  const Gaussian joint =
      joint_posterior(mus, logvars, encoder_presence(batch, tc, train), config.mixing, config.prior_expert);
  const at::Tensor z = sample(joint);

  LossTerms terms;
  terms.z = z;
  terms.reconstruction = at::zeros({batch.size}, batch.present.options());
  for (size_t m = 0; m < config.modalities.size(); ++m) {
    // The loss enters the objective only as a constant times sum(present * loss) (through the
    // batch mean of `total` below), which lets the NB head reduce gradients in its kernel.
    const at::Tensor present = batch.present.select(1, static_cast<int64_t>(m));
    const at::Tensor loss = net.decoder_loss(m, z, cov, batch, train, present);
    terms.reconstruction = terms.reconstruction + config.modalities[m].coef * present * loss;
  }
  terms.kl = kl_standard_normal(joint.mu, joint.logvar);

  terms.integration = at::zeros({}, batch.present.options());
  const bool latent = tc.alignment == Alignment::latent || tc.alignment == Alignment::both;
  const bool marginal = tc.alignment == Alignment::marginal || tc.alignment == Alignment::both;
  if (tc.integ_coef > 0 && latent && config.n_groups > 1)
    terms.integration = terms.integration + mmd_group_pairs(z, group_membership(batch, config.n_groups));
  if (tc.integ_coef > 0 && marginal)
    terms.integration = terms.integration + marginal_alignment(experts, batch, config.n_groups);

  at::Tensor per_cell = tc.recon_coef * terms.reconstruction + tc.kl_coef * kl_weight * terms.kl;
  // Off by default: then the term costs no operations in the step.
  if (tc.consistency_coef > 0) {
    terms.consistency = posterior_consistency(mus, logvars, batch.present, config.mixing);
    per_cell = per_cell + tc.consistency_coef * terms.consistency;
  }
  terms.total = per_cell.mean() + tc.integ_coef * terms.integration;
  return terms;
}

}  // namespace multigrade
