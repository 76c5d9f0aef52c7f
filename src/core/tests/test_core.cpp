// C++ tests of the core alone (no R): formulas against direct computations, the flat
// parameter plumbing, and a short training run on simulated counts that must learn.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "api.h"
#include "check.h"
#include "mil_api.h"
#include "model/formulas.h"
#include "testing/kernel_comparisons.h"
#include "train/early_stopping.h"

void test_resident_data();                       // test_resident_data.cpp
void test_on_device(const std::string& device);  // test_resident_data.cpp
void test_data_parallel();                       // test_data_parallel.cpp
int data_parallel_rank_main(int argc, char** argv);
void test_unmeasured_features();  // test_unmeasured_features.cpp

namespace {

using test::check;
using test::near;

double nb_direct(double x, double mu, double theta) {
  return std::lgamma(x + theta) - std::lgamma(theta) - std::lgamma(x + 1) + theta * std::log(theta / (theta + mu)) +
         x * std::log(mu / (theta + mu));
}

void test_nb() {
  std::vector<double> x = {0, 1, 5, 30}, mu = {0.5, 2.0, 4.0, 25.0}, theta = {0.3, 1.0, 10.0, 2.5};
  auto lp = multigrade::formulas::nb_log_prob(x, mu, theta);
  for (size_t k = 0; k < x.size(); ++k) check(near(lp[k], nb_direct(x[k], mu[k], theta[k]), 1e-10), "nb log-prob");
}

void test_poe() {
  // One cell, two modalities, one dim: precision-weighted mean with a unit prior.
  std::vector<double> mu = {1.0, 3.0}, logvar = {std::log(0.5), std::log(2.0)}, present = {1, 1};
  auto out = multigrade::formulas::joint_posterior(mu, logvar, present, 1, 2, 1, "product");
  const double prec = 1 + 1 / 0.5 + 1 / 2.0;
  check(near(out[0][0], (1.0 / 0.5 + 3.0 / 2.0) / prec, 1e-12), "poe mean");
  check(near(out[1][0], -std::log(prec), 1e-12), "poe logvar");
  present = {0, 0};
  out = multigrade::formulas::joint_posterior(mu, logvar, present, 1, 2, 1, "product");
  check(near(out[0][0], 0, 1e-12) && near(out[1][0], 0, 1e-12), "poe without modalities is the prior");
}

void test_poe_without_prior() {
  // Without the prior expert: the precision-weighted mean of the measured experts; one expert
  // alone is itself; none is the prior.
  std::vector<double> mu = {1.0, 3.0}, logvar = {std::log(0.5), std::log(2.0)}, present = {1, 1};
  auto out = multigrade::formulas::joint_posterior(mu, logvar, present, 1, 2, 1, "product", false);
  const double prec = 1 / 0.5 + 1 / 2.0;
  check(near(out[0][0], (1.0 / 0.5 + 3.0 / 2.0) / prec, 1e-12), "poe without prior: mean");
  check(near(out[1][0], -std::log(prec), 1e-12), "poe without prior: logvar");
  present = {0, 1};
  out = multigrade::formulas::joint_posterior(mu, logvar, present, 1, 2, 1, "product", false);
  check(near(out[0][0], 3.0, 1e-12) && near(out[1][0], std::log(2.0), 1e-12), "one expert alone is itself");
  present = {0, 0};
  out = multigrade::formulas::joint_posterior(mu, logvar, present, 1, 2, 1, "product", false);
  check(near(out[0][0], 0, 1e-12) && near(out[1][0], 0, 1e-12), "no expert: the prior");
}

void test_posterior_consistency() {
  // Three cells, two modalities, two dims; cell 3 has one modality.
  const int n = 3, m = 2, d = 2;
  std::vector<double> mu = {0, 1, 2, 3, 4, 0, 4, 2, 9, 9, 5, 5};  // cell-major, then modality, then dim
  std::vector<double> logvar(n * m * d, 0.0);
  logvar[2] = logvar[3] = std::log(4.0);  // cell 1, modality 2: precision 1/4
  const std::vector<double> present = {1, 1, 1, 1, 0, 1};
  const auto value = multigrade::formulas::posterior_consistency(mu, logvar, present, n, m, d, "product");
  // Direct: consensus = precision-weighted mean of the cell's experts; squared distances of
  // the experts to it, over the mean (over dims) variance of the consensus across the cells
  // that have two modalities.
  std::vector<std::vector<double>> consensus(2, std::vector<double>(d));
  std::vector<double> distance(2, 0.0);
  for (int c = 0; c < 2; ++c) {
    for (int k = 0; k < d; ++k) {
      const double w0 = std::exp(-logvar[c * m * d + k]), w1 = std::exp(-logvar[c * m * d + d + k]);
      consensus[c][k] = (w0 * mu[c * m * d + k] + w1 * mu[c * m * d + d + k]) / (w0 + w1);
    }
    for (int e = 0; e < m; ++e)
      for (int k = 0; k < d; ++k) distance[c] += std::pow(mu[c * m * d + e * d + k] - consensus[c][k], 2);
  }
  double variance = 0;
  for (int k = 0; k < d; ++k) variance += std::pow(consensus[0][k] - consensus[1][k], 2) / 4.0;
  variance /= d;
  check(near(value[0], distance[0] / variance, 1e-9) && near(value[1], distance[1] / variance, 1e-9),
        "consistency against the direct computation");
  check(value[2] == 0.0, "a cell with one modality has no consistency term");
  // The scale of the latent space does not matter; experts that agree cost nothing.
  std::vector<double> scaled = mu;
  for (auto& v : scaled) v *= 10.0;
  const auto at_scale = multigrade::formulas::posterior_consistency(scaled, logvar, present, n, m, d, "product");
  check(near(at_scale[0], value[0], 1e-9) && near(at_scale[1], value[1], 1e-9), "consistency is scale-free");
  std::vector<double> agreeing = mu;
  for (int c = 0; c < n; ++c)
    for (int k = 0; k < d; ++k) agreeing[c * m * d + d + k] = agreeing[c * m * d + k];
  const auto zero = multigrade::formulas::posterior_consistency(agreeing, logvar, present, n, m, d, "product");
  check(zero[0] == 0.0 && zero[1] == 0.0, "agreeing experts cost nothing");
}

void test_mmd() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  const int n = 12, d = 3;
  std::vector<double> z(n * d);
  for (auto& v : z) v = normal(rng);
  std::vector<int> g(n);
  for (int i = 0; i < n; ++i) g[i] = i % 3;
  const double fast = multigrade::formulas::mmd(z, n, d, g, 3);
  const double gammas[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 5, 10, 15, 20, 25, 30, 35, 100, 1e3, 1e4, 1e5, 1e6};
  auto kernel = [&](int i, int j) {
    double dist = 0;
    for (int k = 0; k < d; ++k) dist += std::pow(z[i * d + k] - z[j * d + k], 2);
    double s = 0;
    for (double gm : gammas) s += std::exp(-gm * dist);
    return s / 19.0;
  };
  auto mean_k = [&](int a, int b) {
    double s = 0;
    int c = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (g[i] == a && g[j] == b) s += kernel(i, j), ++c;
    return s / c;
  };
  double slow = 0;
  for (int a = 0; a < 3; ++a)
    for (int b = a + 1; b < 3; ++b) slow += mean_k(a, a) + mean_k(b, b) - 2 * mean_k(a, b);
  check(near(fast, slow, 1e-9), "mmd against double loop");
}

void test_fused_kernels() {
  // Feature counts that are and are not multiples of the vector width; one and several groups.
  // 37 rows take the count terms per non-zero; 200 rows, from the per-call table.
  for (int64_t rows : {37, 200}) {
    for (int64_t features : {64, 203}) {
      for (int64_t groups : {1, 3}) {
        const auto c = multigrade::testing::compare_fused_nb(rows, features, groups, 11);
        const std::string what = " (" + std::to_string(rows) + " rows, " + std::to_string(features) + " features, " +
                                 std::to_string(groups) + " groups)";
        check(c.value_error < 1e-4, "fused nb loss matches the reference" + what);
        check(c.gradient_error < 1e-4, "fused nb gradient (logits) matches autograd" + what);
        check(c.theta_gradient_error < 1e-4, "fused nb gradient (dispersion) matches autograd" + what);
      }
    }
  }
  // The decoder's output layer fused with the loss, with and without a gradient to add to.
  for (bool row_weighted : {false, true}) {
    for (bool existing_grad : {false, true}) {
      for (int64_t groups : {1, 3}) {
        const auto c = multigrade::testing::compare_nb_head(200, 203, 24, groups, existing_grad, row_weighted, 17);
        const std::string what = std::string(existing_grad ? " (adding to a gradient, " : " (fresh gradient, ") +
                                 (row_weighted ? "row weights given, " : "") + std::to_string(groups) + " groups)";
        check(c.value_error < 1e-4, "fused nb head loss matches linear + nb" + what);
        check(c.hidden_error < 1e-4, "fused nb head gradient (hidden) matches autograd" + what);
        check(c.weight_error < 1e-4, "fused nb head gradient (weight) matches autograd" + what);
        check(c.bias_error < 1e-4, "fused nb head gradient (bias) matches autograd" + what);
        check(c.table_error < 1e-4, "fused nb head gradient (dispersion) matches autograd" + what);
      }
    }
  }
  check(multigrade::testing::nb_head_rejects_other_upstream(3),
        "fused nb head with row weights rejects an upstream gradient not proportional to them");
  // The second call with 16 covariates reuses the input buffer the first one's backward zeroed.
  uint64_t seed = 4;
  for (int64_t n_rest : {0, 16, 16}) {
    const auto sa = multigrade::testing::compare_sparse_affine(29, 203, 36, n_rest, seed++);
    check(sa.value_error < 1e-5 && sa.gradient_error < 1e-5 && sa.theta_gradient_error < 1e-5,
          "sparse first layer matches the dense linear map (values and gradients), covariates " +
              std::to_string(n_rest) + ", seed " + std::to_string(seed - 1));
  }
  // 203 and 204 cells, 3 of them in no group: an even and an odd number of cells in the sums.
  for (int64_t groups : {2, 5}) {
    const auto mmd = multigrade::testing::compare_group_mmd(201 + groups, 16, groups, 8);
    const std::string what = " (" + std::to_string(groups) + " groups)";
    check(mmd.value_error < 1e-4, "fused group-pair mmd matches the kernel-matrix composition" + what);
    check(mmd.gradient_error < 1e-4, "fused group-pair mmd gradient matches autograd" + what);
  }
  const auto rbf = multigrade::testing::compare_fused_rbf(1003, 5);
  check(rbf.value_error < 1e-5, "fused multi-scale kernel matches the reference");
  check(rbf.gradient_error < 1e-4, "fused multi-scale kernel derivative matches autograd");
  for (double p : {0.0, 0.2}) {
    for (int64_t width : {128, 37}) {
      const auto block = multigrade::testing::compare_block_activation(300, width, p, 6);
      const std::string what = " (width " + std::to_string(width) + ", dropout " + std::to_string(p) + ")";
      check(block.value_error < 1e-5, "fused layer norm + leaky relu + dropout matches ATen" + what);
      check(block.gradient_error < 1e-4, "fused block activation gradient matches autograd" + what);
      check(block.theta_gradient_error < 0.02, "fused block activation keeps 1 - p of the entries" + what);
    }
  }
  for (double p : {0.0, 0.2}) {
    for (int64_t out : {128, 37}) {
      const auto block = multigrade::testing::compare_linear_block(300, 45, out, p, 8);
      const std::string what = " (width " + std::to_string(out) + ", dropout " + std::to_string(p) + ")";
      check(block.value_error < 1e-5, "fused linear block matches linear + layer norm + leaky relu + dropout" + what);
      check(block.input_error < 1e-4, "fused linear block gradient (input) matches autograd" + what);
      check(block.weight_error < 1e-4, "fused linear block gradient (weight, added in place) matches autograd" + what);
      check(block.bias_error < 1e-4, "fused linear block gradient (bias) matches autograd" + what);
    }
  }
  const auto mask = multigrade::testing::dropout_mask_summary(200000, 0.2, 3);
  check(std::fabs(mask.first - 0.8) < 0.005 && mask.second, "dropout keeps 1 - p and scales by 1 / (1 - p)");
}

// Query mapping: the same cells as a third batch. Only the new embedding row and the new
// group's dispersions may change; everything else must stay bit-identical.
void test_query_mapping(const multigrade::ModelConfig& reference, const std::vector<multigrade::NamedArray>& weights,
                        multigrade::DataInput in) {
  multigrade::ModelConfig mc = reference;
  mc.categorical_levels = {3};
  mc.n_groups = 3;
  std::vector<int> new_batch(static_cast<size_t>(in.n_cells), 2);
  in.categorical = {new_batch.data()};
  in.group = new_batch.data();
  multigrade::TrainConfig tc;
  tc.max_epochs = 5;
  tc.batch_size = 64;
  tc.lr = 1e-2;
  tc.weight_decay = 0.1;  // must not touch frozen weights either
  tc.seed = 3;
  multigrade::Trainer trainer(mc, tc, in, "cpu", &weights);
  check(trainer.n_trainable() == 16 + 50, "mapping trains one embedding row and one dispersion row");
  while (!trainer.finished()) trainer.run_epoch(nullptr);
  const auto mapped = trainer.weights();
  bool frozen_identical = true, grown_by_one_row = true;
  int n_grown = 0;
  for (size_t k = 0; k < weights.size(); ++k) {
    const auto& before = weights[k].values;
    const auto& after = mapped[k].values;
    frozen_identical = frozen_identical && std::equal(before.begin(), before.end(), after.begin());
    if (after.size() != before.size()) {
      ++n_grown;
      const int64_t width = static_cast<int64_t>(before.size()) / weights[k].shape[0];
      grown_by_one_row = grown_by_one_row && mapped[k].shape[0] == weights[k].shape[0] + 1 &&
                         static_cast<int64_t>(after.size()) == (weights[k].shape[0] + 1) * width;
    }
  }
  check(frozen_identical, "mapping leaves every reference value bit-identical");
  check(n_grown == 2 && grown_by_one_row,
        "exactly the batch embedding and the RNA dispersion table grew, by one row each");
  multigrade::TrainConfig idle = tc;
  idle.max_epochs = 0;
  multigrade::Trainer untrained(mc, idle, in, "cpu", &weights);
  const auto initial = untrained.weights();
  // Before training, each grown table's new row is the mean of the reference's rows.
  bool at_mean = true;
  for (size_t k = 0; k < weights.size(); ++k) {
    const auto& ref = weights[k];
    if (initial[k].values.size() == ref.values.size()) continue;
    const int64_t width = ref.values.size() / ref.shape[0];
    for (int64_t c = 0; c < width; ++c) {
      double mean = 0;
      for (int64_t r = 0; r < ref.shape[0]; ++r) mean += ref.values[r * width + c];
      mean /= static_cast<double>(ref.shape[0]);
      for (int64_t r = ref.shape[0]; r < initial[k].shape[0]; ++r)
        at_mean = at_mean && near(initial[k].values[r * width + c], mean, 1e-5);
    }
  }
  check(at_mean, "new covariate rows and dispersion groups start at the mean of the reference's");
  bool moved = false;
  for (size_t k = 0; k < initial.size(); ++k)
    if (initial[k].values != mapped[k].values) moved = true;
  check(moved, "the new rows learn");
}

// An epoch of data held whole is one part: train_part() then end_epoch() is run_epoch(). An
// epoch of several parts (streaming) is one epoch, numbered once, over every part's cells.
void test_epochs_of_parts(const multigrade::ModelConfig& mc, multigrade::TrainConfig tc,
                          const multigrade::DataInput& in) {
  tc.max_epochs = 4;
  // One trainer after the other: they share LibTorch's global generator (dropout, draws).
  std::vector<multigrade::EpochStats> by_epoch, by_part;
  {
    multigrade::Trainer whole(mc, tc, in, "cpu");
    for (int e = 0; e < 2; ++e) by_epoch.push_back(whole.run_epoch(nullptr));
  }
  {
    multigrade::Trainer parts(mc, tc, in, "cpu");
    for (int e = 0; e < 2; ++e) {
      parts.train_part(nullptr);
      by_part.push_back(parts.end_epoch());
    }
  }
  bool same = true;
  for (size_t e = 0; e < by_epoch.size(); ++e) {
    same = same && by_epoch[e].epoch == by_part[e].epoch && by_epoch[e].train_loss == by_part[e].train_loss &&
           by_epoch[e].validation_loss == by_part[e].validation_loss;
  }
  check(same, "an epoch of one part is run_epoch()");

  const int64_t half = in.n_cells / 2;
  multigrade::DataInput first = in, second = in;
  first.n_cells = half;
  second.n_cells = in.n_cells - half;
  for (size_t m = 0; m < in.modalities.size(); ++m)
    second.modalities[m].values += half * mc.modalities[m].n_features;  // dense, cells x features
  for (auto& codes : second.categorical) codes += half;
  second.group += half;
  multigrade::Trainer streamed(mc, tc, first, "cpu");
  streamed.train_part(nullptr);
  streamed.set_data(second);
  streamed.train_part(nullptr);
  const auto epoch = streamed.end_epoch();
  check(epoch.epoch == 1 && epoch.cells_seen > half && epoch.cells_seen <= in.n_cells && epoch.has_validation,
        "an epoch of two parts is one epoch over the training cells of both");
  streamed.train_part(nullptr);
  check(streamed.end_epoch().epoch == 2, "the next epoch of parts is the second");
}

// A trainer resumed from a checkpoint takes the same steps as the one that wrote it: run A
// trains 4 epochs, checkpointing after 2; run B is built afresh (its own initial weights and
// generators), resumes from the checkpoint and trains the last 2; both end identical.
void test_checkpoint_resume(const multigrade::ModelConfig& mc, multigrade::TrainConfig tc,
                            const multigrade::DataInput& in) {
  tc.max_epochs = 4;
  tc.early_stopping = false;
  std::vector<double> losses_a, losses_b;
  multigrade::TrainerCheckpoint saved;
  std::vector<multigrade::NamedArray> weights_a;
  {
    multigrade::Trainer a(mc, tc, in, "cpu");
    for (int e = 0; e < 2; ++e) a.run_epoch(nullptr);
    saved = a.checkpoint();
    for (int e = 0; e < 2; ++e) losses_a.push_back(a.run_epoch(nullptr).validation_loss);
    a.restore_best();
    weights_a = a.weights();
  }
  multigrade::Trainer b(mc, tc, in, "cpu");
  b.resume(saved);
  check(!b.finished(), "a checkpoint after 2 of 4 epochs is not finished");
  for (int e = 0; e < 2; ++e) {
    const auto stats = b.run_epoch(nullptr);
    losses_b.push_back(stats.validation_loss);
    if (e == 0) check(stats.epoch == 3, "the resumed trainer continues with epoch 3");
  }
  check(b.finished(), "the resumed trainer finishes at max_epochs");
  b.restore_best();
  bool same = losses_a == losses_b;
  const auto weights_b = b.weights();
  for (size_t k = 0; k < weights_a.size(); ++k) same = same && weights_a[k].values == weights_b[k].values;
  check(same, "a resumed trainer's losses and final weights equal the uninterrupted trainer's bit for bit");
  multigrade::TrainerCheckpoint damaged = saved;
  damaged.params.pop_back();
  bool refused = false;
  try {
    b.resume(damaged);
  } catch (const std::invalid_argument&) {
    refused = true;
  }
  check(refused, "a checkpoint of another size is refused");
}

// Two cell states x two batches of NB counts; training must reduce the loss.
void test_training_learns() {
  const int n = 400, genes = 50, proteins = 8;
  std::mt19937_64 rng(7);
  std::vector<double> rna(static_cast<size_t>(n) * genes), adt(static_cast<size_t>(n) * proteins);
  std::vector<int> batch(n);
  for (int c = 0; c < n; ++c) {
    const int state = c % 2;
    batch[c] = (c / 2) % 2;
    for (int f = 0; f < genes; ++f) {
      double mean = 2.0 * (1 + ((f % 2) == state ? 3 : 0)) * (batch[c] ? 1.5 : 1.0);
      std::gamma_distribution<double> gam(2.0, mean / 2.0);
      std::poisson_distribution<int> pois(gam(rng));
      rna[static_cast<size_t>(c) * genes + f] = pois(rng);
    }
    std::normal_distribution<double> noise(state ? 1.0 : -1.0, 0.3);
    for (int f = 0; f < proteins; ++f) adt[static_cast<size_t>(c) * proteins + f] = noise(rng);
  }
  multigrade::ModelConfig mc;
  multigrade::ModalitySpec r, a;
  r.name = "rna";
  r.n_features = genes;
  r.likelihood = multigrade::Likelihood::nb;
  r.log_input = true;
  a.name = "adt";
  a.n_features = proteins;
  a.likelihood = multigrade::Likelihood::mse;
  mc.modalities = {r, a};
  mc.categorical_levels = {2};
  mc.n_groups = 2;
  multigrade::TrainConfig tc;
  tc.max_epochs = 30;
  tc.batch_size = 64;
  tc.lr = 1e-3;
  tc.integ_coef = 1.0;
  tc.alignment = multigrade::Alignment::latent;
  tc.stratified_batches = true;
  tc.seed = 42;
  multigrade::DataInput in;
  in.n_cells = n;
  multigrade::ModalityInput mr, ma;
  mr.values = rna.data();
  ma.values = adt.data();
  in.modalities = {mr, ma};
  in.categorical = {batch.data()};
  in.group = batch.data();
  multigrade::Trainer trainer(mc, tc, in, "cpu");
  std::vector<double> losses;
  while (!trainer.finished()) losses.push_back(trainer.run_epoch(nullptr).train_loss);
  check(losses.size() >= 10, "trained for several epochs");
  check(std::isfinite(losses.back()) && losses.back() < 0.9 * losses.front(), "training reduces the loss");
  trainer.restore_best();
  auto latent = multigrade::encode_latent(mc, trainer.weights(), in, "cpu");
  // The trainer encodes the cells it holds exactly as encode_latent() does from its weights,
  // and hiding a modality equals marking it unmeasured in the data.
  check(trainer.encode().mean == latent.mean && trainer.encode().logvar == latent.logvar,
        "the trainer's own encoding equals encode_latent() of its weights");
  std::vector<int> unmeasured(static_cast<size_t>(n), 0);
  multigrade::DataInput rna_only = in;
  rna_only.modalities[1].present = unmeasured.data();
  check(trainer.encode({true, false}).mean == multigrade::encode_latent(mc, trainer.weights(), rna_only, "cpu").mean,
        "hiding a modality from the trainer's encoding equals leaving it unmeasured");
  check(trainer.encode({true, false}).mean != latent.mean, "the RNA-only encoding differs from the joint one");
  // The two cell states must be separated in the latent space: distance of state means.
  const int64_t d = mc.latent_dim;
  std::vector<double> centre[2] = {std::vector<double>(d, 0), std::vector<double>(d, 0)};
  for (int c = 0; c < n; ++c)
    for (int64_t k = 0; k < d; ++k) centre[c % 2][k] += latent.mean[c * d + k] / (n / 2);
  double dist = 0;
  for (int64_t k = 0; k < d; ++k) dist += std::pow(centre[0][k] - centre[1][k], 2);
  check(std::sqrt(dist) > 0.5, "cell states separate in the latent space");
  test_query_mapping(mc, trainer.weights(), in);
  test_epochs_of_parts(mc, tc, in);
  test_checkpoint_resume(mc, tc, in);
}

// An allocation that cannot succeed (a decoder layer of 2e9 x 100000 floats, 800 TB, more
// than any address space) is reported as OutOfMemoryError with the sizes involved, not as
// LibTorch's raw error or a crash.
void test_out_of_memory_report() {
  multigrade::ModelConfig mc;
  multigrade::ModalitySpec spec;
  spec.name = "wide";
  spec.n_features = 100000;
  spec.n_hidden_decoder = 2000000000;
  mc.modalities = {spec};
  std::vector<double> values(2 * 100000, 1.0);
  multigrade::DataInput in;
  in.n_cells = 2;
  multigrade::ModalityInput m;
  m.values = values.data();
  in.modalities = {m};
  multigrade::TrainConfig tc;
  std::string message;
  try {
    multigrade::Trainer trainer(mc, tc, in, "cpu");
  } catch (const multigrade::OutOfMemoryError& e) {
    message = e.what();
  }
  check(message.find("ran out of memory") != std::string::npos, "a failed allocation is an OutOfMemoryError");
  check(message.find("wide 100000 features") != std::string::npos && message.find("2 cells") != std::string::npos,
        "the error names the sizes involved: " + message);
  check(message.find("allocate") != std::string::npos, "the error keeps the allocator's size: " + message);
  check(message.find('\n') == std::string::npos, "without LibTorch's backtrace");
}

// The end-of-epoch rules shared by the VAE's and MIL's trainers: the best weights are kept
// while the monitor improves, patience ends training, a non-finite loss rolls back to the last
// finite weights, three rollbacks end training, and so does the last epoch.
void test_early_stopping() {
  at::Tensor w = at::zeros({3});
  multigrade::EarlyStopping stopping({w}, /*max_epochs=*/20, /*patience=*/2, /*early_stopping=*/true);
  w.fill_(1);
  check(stopping.finish_epoch(10, 5, true).improved, "a first finite epoch improves");
  w.fill_(2);
  check(stopping.finish_epoch(9, 4, true).improved, "a lower monitor improves");
  w.fill_(3);
  const auto worse = stopping.finish_epoch(8, 6, true);
  check(!worse.improved && !stopping.finished(), "one epoch without improvement is within patience");
  w.fill_(4);
  const auto nan = stopping.finish_epoch(std::nan(""), 6, true);
  check(nan.rolled_back && w[0].item<float>() == 3, "a non-finite loss rolls back to the last finite weights");
  w.fill_(5);
  stopping.finish_epoch(8, 7, true);
  check(stopping.finished(), "patience epochs without improvement end training");
  stopping.restore_best();
  check(w[0].item<float>() == 2, "restore_best gives the weights of the best monitored epoch");
  check(stopping.epochs_done() == 5, "every finished epoch counts, rolled back ones too");

  at::Tensor v = at::zeros({2});
  multigrade::EarlyStopping unstable({v}, 20, 10, true);
  for (int k = 0; k < 3; ++k) unstable.finish_epoch(std::nan(""), 1, false);
  check(unstable.finished(), "three rollbacks end training");
  multigrade::EarlyStopping no_validation({v}, 2, 1, true);
  v.fill_(1);
  no_validation.finish_epoch(5, 5, false);
  v.fill_(2);
  check(no_validation.finish_epoch(6, 6, false).improved, "without validation the last weights are the best");
  check(no_validation.finished(), "the last epoch ends training");
  multigrade::EarlyStopping none({v}, 0, 1, true);
  check(none.finished(), "zero epochs: finished before starting");
}

}  // namespace

// MIL on a planted signal: in "disease" samples a fifth of the cells come from a shifted
// state. Held-out samples must be classified, and the attention must rank the shifted
// cells above the others; tiny samples (5 cells) must be trained on and predicted.
void test_mil() {
  const int dim = 8, n_samples = 24;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> columns;  // filled cell by cell, transposed below
  std::vector<int> sample;
  std::vector<int> shifted;
  std::vector<double> target(n_samples);
  for (int s = 0; s < n_samples; ++s) {
    target[s] = s % 2;
    const int n_cells = s < 2 ? 5 : 150;  // two tiny samples
    for (int i = 0; i < n_cells; ++i) {
      const bool is_shifted = target[s] == 1 && i % 5 == 0;
      for (int d = 0; d < dim; ++d) columns.push_back(noise(rng) + (is_shifted && d < 2 ? 3.0 : 0.0));
      sample.push_back(s);
      shifted.push_back(is_shifted ? 1 : 0);
    }
  }
  const auto n_cells = static_cast<int64_t>(sample.size());
  std::vector<double> embedding(columns.size());  // column-major n_cells x dim
  for (int64_t i = 0; i < n_cells; ++i)
    for (int d = 0; d < dim; ++d) embedding[d * n_cells + i] = columns[i * dim + d];

  multigrade::MilConfig mc;
  mc.input_dim = dim;
  multigrade::MilTrainConfig tc;
  tc.max_epochs = 60;
  tc.lr = 3e-3;
  tc.seed = 5;
  multigrade::MilData data;
  data.n_cells = n_cells;
  data.input_dim = dim;
  data.embedding = embedding.data();
  data.sample = sample.data();
  data.n_samples = n_samples;
  data.target = target.data();
  std::vector<int> train, held_out;
  for (int s = 0; s < n_samples; ++s) (s < 16 ? train : held_out).push_back(s);
  multigrade::MilTrainer trainer(mc, tc, data, train, {}, "cpu");
  multigrade::MilEpochStats first = trainer.run_epoch(), last = first;
  while (!trainer.finished()) last = trainer.run_epoch();
  check(last.train_loss < 0.5 * first.train_loss, "MIL training loss falls");
  trainer.restore_best();
  data.target = nullptr;
  const auto p = multigrade::mil_predict(mc, trainer.weights(), data, "cpu");
  int correct = 0;
  for (int s : held_out) correct += (p.output[s * 2 + 1] > 0.5) == (target[s] == 1);
  check(correct == static_cast<int>(held_out.size()), "MIL classifies held-out samples");
  check((p.output[1 * 2 + 1] > 0.5) && (p.output[0 * 2 + 1] < 0.5), "MIL predicts tiny samples");
  double on = 0, off = 0;
  int n_on = 0, n_off = 0;
  for (int64_t i = 0; i < n_cells; ++i) {
    if (target[sample[i]] != 1) continue;
    (shifted[i] ? on : off) += p.attention[i];
    ++(shifted[i] ? n_on : n_off);
  }
  check(on / n_on > 2.0 * off / n_off, "MIL attention finds the shifted cells");
  double total = 0;
  for (int64_t i = 0; i < n_cells; ++i) total += sample[i] == 7 ? p.attention[i] : 0.0;
  check(near(total, 1.0, 1e-4), "MIL attention sums to one per sample");
}

// test_core [--device cpu|cuda]: every test on the CPU, then the device agreement tests on the
// given device (on the CPU they only check the comparison runs).
int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--data-parallel-rank") return data_parallel_rank_main(argc, argv);
  const std::string device = argc == 3 && std::string(argv[1]) == "--device" ? argv[2] : "cpu";
  if (argc != 1 && argc != 3) {
    std::fprintf(stderr, "usage: test_core [--device cpu|cuda]\n");
    return 2;
  }
  test_nb();
  test_poe();
  test_poe_without_prior();
  test_posterior_consistency();
  test_mmd();
  test_fused_kernels();
  test_early_stopping();
  test_training_learns();
  test_mil();
  test_resident_data();
  test_unmeasured_features();
  test_out_of_memory_report();
  test_on_device(multigrade::resolve_device(device));
  test_data_parallel();
  std::printf("%d passed, %d failed\n", test::passed, test::failed);
  return test::failed == 0 ? 0 : 1;
}
