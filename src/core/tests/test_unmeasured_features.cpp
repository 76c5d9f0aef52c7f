// Features a data set does not measure (ModalityInput::feature_present: a query from another
// panel, zero-filled) must leave the reconstruction loss: for every likelihood, the loss may
// not depend on what the decoder says about them, and for NB it equals the NB loss of the
// measured features alone (the library spread over them only).
#include <ATen/ATen.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "check.h"
#include "data/dataset.h"
#include "data/resident_data.h"
#include "model/likelihoods.h"
#include "model/network.h"

namespace {

using test::check;
using test::near;

constexpr int kCells = 40, kFeatures = 12, kMeasured = 9;

multigrade::ModelConfig one_modality(multigrade::Likelihood likelihood) {
  multigrade::ModelConfig mc;
  multigrade::ModalitySpec spec;
  spec.name = "m";
  spec.n_features = kFeatures;
  spec.likelihood = likelihood;
  spec.log_input = multigrade::is_count_likelihood(likelihood);
  mc.modalities = {spec};
  mc.categorical_levels = {2};
  mc.n_groups = 2;
  return mc;
}

// Row-major cells x features; the unmeasured features (the last ones) are zero.
std::vector<double> example_values(multigrade::Likelihood likelihood) {
  std::mt19937_64 rng(5);
  std::poisson_distribution<int> counts(2.0);
  std::bernoulli_distribution binary(0.4);
  std::normal_distribution<double> normal;
  std::vector<double> x(static_cast<size_t>(kCells) * kFeatures, 0.0);
  for (int c = 0; c < kCells; ++c) {
    for (int f = 0; f < kMeasured; ++f) {
      double& v = x[static_cast<size_t>(c) * kFeatures + f];
      if (likelihood == multigrade::Likelihood::mse)
        v = normal(rng);
      else if (likelihood == multigrade::Likelihood::bernoulli)
        v = binary(rng) ? 1.0 : 0.0;
      else
        v = counts(rng);
    }
  }
  return x;
}

// The decoder's parameters for the unmeasured features (output rows, dispersion columns)
// replaced by other random values.
std::vector<multigrade::NamedArray> scramble_unmeasured(std::vector<multigrade::NamedArray> arrays) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (auto& a : arrays) {
    if (a.name.rfind("decoder.", 0) != 0 || a.name.find(".layer") != std::string::npos) continue;
    const bool per_group = a.name.find("log_theta") != std::string::npos;  // n_groups x features
    const int64_t rows = a.shape[0], cols = a.values.size() / rows;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t k = 0; k < cols; ++k) {
        const int64_t feature = per_group ? k : r;
        if (feature >= kMeasured) a.values[r * cols + k] = normal(rng);
      }
  }
  return arrays;
}

struct Losses {
  at::Tensor masked, unmasked;
};

Losses losses_of(const multigrade::ModelConfig& mc, const std::vector<multigrade::NamedArray>& weights,
                 const std::vector<double>& x, const at::Tensor& z) {
  std::vector<int> codes(kCells), measured(kFeatures, 1);
  for (int c = 0; c < kCells; ++c) codes[c] = c % 2;
  for (int f = kMeasured; f < kFeatures; ++f) measured[f] = 0;
  multigrade::DataInput in;
  in.n_cells = kCells;
  multigrade::ModalityInput m;
  m.values = x.data();
  in.modalities = {m};
  in.categorical = {codes.data()};
  in.group = codes.data();
  multigrade::MultigradeNet net(mc, at::Device(at::kCPU));
  net.params().import_arrays(weights);
  std::vector<int64_t> cells(kCells);
  for (int c = 0; c < kCells; ++c) cells[c] = c;
  const at::Device cpu(at::kCPU);
  auto loss = [&](const multigrade::DataInput& data) {
    const multigrade::Batch batch = multigrade::CellData(mc, data).batch(cells, cpu);
    const at::Tensor cov = net.covariates(batch);
    return net.decoder_loss(0, z, cov, batch, /*train=*/false, at::ones({kCells})).detach();
  };
  Losses out;
  out.unmasked = loss(in);
  in.modalities[0].feature_present = measured.data();
  out.masked = loss(in);
  return out;
}

void check_likelihood(multigrade::Likelihood likelihood, const std::string& name) {
  at::manual_seed(3);
  const multigrade::ModelConfig mc = one_modality(likelihood);
  const std::vector<double> x = example_values(likelihood);
  const at::Tensor z = at::randn({kCells, mc.latent_dim});
  const std::vector<multigrade::NamedArray> weights =
      multigrade::MultigradeNet(mc, at::Device(at::kCPU)).params().export_arrays();
  const Losses original = losses_of(mc, weights, x, z);
  const Losses scrambled = losses_of(mc, scramble_unmeasured(weights), x, z);
  check(at::allclose(original.masked, scrambled.masked, 1e-5, 1e-4),
        name + ": the loss does not depend on the decoder's unmeasured features");
  check(!at::allclose(original.unmasked, scrambled.unmasked, 1e-5, 1e-4),
        name + ": without the mask it does (the check can fail)");
  check(original.masked.isfinite().all().item<bool>(), name + ": the masked loss is finite");
}

// NB: the masked loss is the NB loss of the measured features with mu = softmax over them.
void check_nb_formula() {
  at::manual_seed(4);
  const multigrade::ModelConfig mc = one_modality(multigrade::Likelihood::nb);
  const std::vector<double> x = example_values(multigrade::Likelihood::nb);
  const at::Tensor z = at::randn({kCells, mc.latent_dim});
  multigrade::MultigradeNet net(mc, at::Device(at::kCPU));
  const std::vector<multigrade::NamedArray> weights = net.params().export_arrays();
  const at::Tensor masked = losses_of(mc, weights, x, z).masked;

  std::vector<int> codes(kCells);
  for (int c = 0; c < kCells; ++c) codes[c] = c % 2;
  multigrade::DataInput in;
  in.n_cells = kCells;
  multigrade::ModalityInput m;
  m.values = x.data();
  in.modalities = {m};
  in.categorical = {codes.data()};
  in.group = codes.data();
  std::vector<int64_t> cells(kCells);
  for (int c = 0; c < kCells; ++c) cells[c] = c;
  const multigrade::Batch batch = multigrade::CellData(mc, in).batch(cells, at::Device(at::kCPU));
  const at::Tensor logits = net.decode(0, z, net.covariates(batch), false).mean.detach();
  at::Tensor dense = at::empty({kCells, kFeatures}, at::kDouble);
  std::copy(x.begin(), x.end(), dense.data_ptr<double>());
  at::Tensor theta;
  for (const auto& a : weights)
    if (a.name == "decoder.m.log_theta") theta = at::tensor(a.values).view({2, kFeatures});
  const at::Tensor keep = at::arange(kMeasured);
  const at::Tensor expected =
      multigrade::nb_nll(dense.to(at::kFloat).index_select(1, keep), logits.index_select(1, keep), batch.log_library[0],
                         multigrade::rows_by_group(theta, batch.group).index_select(1, keep), batch.lgamma_const[0]);
  check(at::allclose(masked, expected, 1e-4, 1e-3), "nb: the masked loss is the NB loss of the measured features");
}

// Training with a mask runs backward through the masked heads (the fused NB node included),
// and the unmeasured features' output biases get no gradient: AdamW then only decays them.
void check_training(multigrade::Likelihood likelihood, const std::string& name) {
  at::manual_seed(6);
  const multigrade::ModelConfig mc = one_modality(likelihood);
  const std::vector<double> x = example_values(likelihood);
  std::vector<int> codes(kCells), measured(kFeatures, 1);
  for (int c = 0; c < kCells; ++c) codes[c] = c % 2;
  for (int f = kMeasured; f < kFeatures; ++f) measured[f] = 0;
  multigrade::DataInput in;
  in.n_cells = kCells;
  multigrade::ModalityInput m;
  m.values = x.data();
  m.feature_present = measured.data();
  in.modalities = {m};
  in.categorical = {codes.data()};
  in.group = codes.data();
  multigrade::TrainConfig tc;
  tc.max_epochs = 3;
  tc.batch_size = 16;
  tc.weight_decay = 0;
  tc.early_stopping = false;
  multigrade::Trainer trainer(mc, tc, in, "cpu");
  auto bias = [&]() {
    for (const auto& a : trainer.weights())
      if (a.name == "decoder.m.mean.bias") return a.values;
    return std::vector<float>();
  };
  const std::vector<float> before = bias();
  bool finite = true;
  while (!trainer.finished()) finite = finite && std::isfinite(trainer.run_epoch(nullptr).train_loss);
  const std::vector<float> after = bias();
  check(finite, name + ": training with unmeasured features has finite losses");
  bool fixed = true, moved = false;
  for (int f = 0; f < kFeatures; ++f) {
    if (f >= kMeasured) fixed = fixed && after[f] == before[f];
    if (f < kMeasured) moved = moved || after[f] != before[f];
  }
  check(fixed && moved, name + ": only the measured features' output biases learn");
}

// The encoders' view of unmeasured features (ModalityInput::encoder_fill): zero-filled data with
// the fill must encode exactly as data that holds those values, for the host's sparse rows (nb
// on the CPU), its dense rows (mse) and device-resident batches; without the fill it must not.
void check_encoder_fill(multigrade::Likelihood likelihood, const std::string& name) {
  at::manual_seed(8);
  const multigrade::ModelConfig mc = one_modality(likelihood);
  std::vector<double> full = example_values(likelihood), zeroed = full;
  std::mt19937_64 rng(9);
  std::poisson_distribution<int> counts(4.0);
  std::vector<double> fill;  // cell after cell, the unmeasured features in order
  for (int c = 0; c < kCells; ++c)
    for (int f = kMeasured; f < kFeatures; ++f) {
      const double v = likelihood == multigrade::Likelihood::mse ? 0.5 * f - c % 3 : counts(rng);
      full[static_cast<size_t>(c) * kFeatures + f] = v;
      fill.push_back(mc.modalities[0].log_input ? std::log1p(v) : v);
    }
  std::vector<int> codes(kCells), measured(kFeatures, 1);
  for (int c = 0; c < kCells; ++c) codes[c] = c % 2;
  for (int f = kMeasured; f < kFeatures; ++f) measured[f] = 0;
  auto input = [&](const std::vector<double>& values, const double* encoder_fill) {
    multigrade::DataInput in;
    in.n_cells = kCells;
    multigrade::ModalityInput m;
    m.values = values.data();
    if (encoder_fill != nullptr || &values == &zeroed) m.feature_present = measured.data();
    m.encoder_fill = encoder_fill;
    in.modalities = {m};
    in.categorical = {codes.data()};
    in.group = codes.data();
    return in;
  };
  const multigrade::MultigradeNet net(mc, at::Device(at::kCPU));
  std::vector<int64_t> cells(kCells);
  for (int c = 0; c < kCells; ++c) cells[c] = c;
  const at::Device cpu(at::kCPU);
  auto host_mean = [&](const multigrade::DataInput& in) {
    const multigrade::Batch b = multigrade::CellData(mc, in).batch(cells, cpu);
    return net.encode(b, net.covariates(b), false)[0].mu.detach();
  };
  auto resident_mean = [&](const multigrade::DataInput& in) {
    const multigrade::CellData host(mc, in);
    const multigrade::ResidentData resident(host, cpu);
    const multigrade::Batch b = resident.batch(resident.order(host, {cells}), 0);
    return net.encode(b, net.covariates(b), false)[0].mu.detach();
  };
  const at::Tensor truth = host_mean(input(full, nullptr));
  check(at::allclose(host_mean(input(zeroed, fill.data())), truth, 1e-5, 1e-5),
        name + ": host batches encode the fill as if it were data");
  check(at::allclose(resident_mean(input(zeroed, fill.data())), resident_mean(input(full, nullptr)), 1e-5, 1e-5),
        name + ": resident batches encode the fill as if it were data");
  check(!at::allclose(host_mean(input(zeroed, nullptr)), truth, 1e-5, 1e-5),
        name + ": without the fill the encoders see zeros (the check can fail)");
}

}  // namespace

void test_unmeasured_features() {
  check_encoder_fill(multigrade::Likelihood::nb, "nb");
  check_encoder_fill(multigrade::Likelihood::mse, "mse");
  check_training(multigrade::Likelihood::nb, "nb");
  check_training(multigrade::Likelihood::mse, "mse");
  check_likelihood(multigrade::Likelihood::nb, "nb");
  check_likelihood(multigrade::Likelihood::zinb, "zinb");
  check_likelihood(multigrade::Likelihood::nbmixture, "nbmixture");
  check_likelihood(multigrade::Likelihood::bernoulli, "bernoulli");
  check_likelihood(multigrade::Likelihood::mse, "mse");
  check_nb_formula();
}
