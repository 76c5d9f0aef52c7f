// Data placed on the device (resident_data.h): its batches gathered by index must equal the
// host's, and training from them must follow host-gathered training. Run on the CPU, where
// the same ATen operations stand in for the GPU's, and with test_core --device cuda also on
// the GPU, where training with the CPU's random draws must follow the CPU's to rounding.
#include <ATen/ATen.h>

#include <algorithm>
#include <random>
#include <vector>

#include "api.h"
#include "check.h"
#include "data/dataset.h"
#include "data/resident_data.h"

namespace {

using test::check;
using test::near;

constexpr int kCells = 61, kGenes = 30, kProteins = 5, kLevels = 3;

// RNA counts as compressed columns of genes x cells (some cells without any count), dense
// proteins measured in most cells, one categorical and one continuous covariate.
struct Example {
  std::vector<int> col_ptr{0}, row_index, batch, present;
  std::vector<double> counts, proteins, age;
  std::vector<double> dense_counts;  // row-major cells x genes, for comparisons

  Example() {
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> unif;
    std::poisson_distribution<int> pois(3.0);
    std::normal_distribution<double> normal;
    dense_counts.assign(static_cast<size_t>(kCells) * kGenes, 0.0);
    for (int c = 0; c < kCells; ++c) {
      const bool empty = c % 13 == 4;
      for (int g = 0; g < kGenes; ++g) {
        if (empty || unif(rng) > 0.25) continue;
        const double v = 1 + pois(rng);
        row_index.push_back(g);
        counts.push_back(v);
        dense_counts[static_cast<size_t>(c) * kGenes + g] = v;
      }
      col_ptr.push_back(static_cast<int>(row_index.size()));
      for (int p = 0; p < kProteins; ++p) proteins.push_back(normal(rng));
      batch.push_back(c % kLevels);
      present.push_back(c % 7 == 2 ? 0 : 1);
      age.push_back(20 + c % 50);
    }
  }

  multigrade::ModelConfig model() const {
    multigrade::ModelConfig mc;
    multigrade::ModalitySpec r, a;
    r.name = "rna";
    r.n_features = kGenes;
    r.likelihood = multigrade::Likelihood::nb;
    r.log_input = true;
    a.name = "adt";
    a.n_features = kProteins;
    a.likelihood = multigrade::Likelihood::mse;
    mc.modalities = {r, a};
    mc.categorical_levels = {kLevels};
    mc.n_continuous = 1;
    mc.n_groups = kLevels;
    return mc;
  }

  multigrade::DataInput input() const {
    multigrade::DataInput in;
    in.n_cells = kCells;
    multigrade::ModalityInput r, a;
    r.sparse = true;
    r.col_ptr = col_ptr.data();
    r.row_index = row_index.data();
    r.values = counts.data();
    a.values = proteins.data();
    a.present = present.data();
    in.modalities = {r, a};
    in.categorical = {batch.data()};
    in.continuous = {age.data()};
    in.group = batch.data();
    return in;
  }
};

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined() ? 0.0 : 1e30;
  if (a.sizes() != b.sizes()) return 1e30;
  return (a.cpu().to(at::kDouble) - b.cpu().to(at::kDouble)).abs().max().item<double>();
}

void test_resident_batches(const Example& ex, const at::Device& device) {
  const multigrade::CellData host(ex.model(), ex.input());
  const multigrade::ResidentData resident(host, device);
  // A batch of several cells (one twice, one without counts), one of empty cells only, and
  // one of a single cell.
  const std::vector<std::vector<int64_t>> batches = {{5, 0, 60, 3, 17, 17, 4}, {4, 30}, {59}};
  const multigrade::ResidentOrder order = resident.order(host, batches);
  check(order.nnz[1][0] == 0, "resident order: cells without counts have no non-zeros");
  for (size_t k = 0; k < batches.size(); ++k) {
    const auto& cells = batches[k];
    const multigrade::Batch got = resident.batch(order, k);
    const multigrade::Batch want = host.batch(cells, at::Device(at::kCPU));
    at::Tensor counts = at::empty({static_cast<int64_t>(cells.size()), kGenes}, at::kDouble);
    for (size_t r = 0; r < cells.size(); ++r)
      for (int g = 0; g < kGenes; ++g)
        counts[static_cast<int64_t>(r)][g] = ex.dense_counts[static_cast<size_t>(cells[r]) * kGenes + g];
    const std::string what = " (batch " + std::to_string(k) + ", " + device.str() + ")";
    check(got.size == static_cast<int64_t>(cells.size()), "resident batch size" + what);
    check(!got.sparse[0].defined() && max_difference(got.x[0], counts) == 0, "resident counts densified" + what);
    check(max_difference(got.x[1], want.x[1]) == 0, "resident dense modality" + what);
    check(max_difference(got.log_library[0], want.log_library[0]) == 0 &&
              max_difference(got.lgamma_const[0], want.lgamma_const[0]) == 0,
          "resident library sizes and count constants" + what);
    check(max_difference(got.present, want.present) == 0, "resident presence" + what);
    check(max_difference(got.categorical[0], want.categorical[0]) == 0 &&
              max_difference(got.continuous, want.continuous) == 0 && max_difference(got.group, want.group) == 0,
          "resident covariates and groups" + what);
  }
}

// The same seed with batches gathered on the host (sparse rows, fused kernels) and on the
// "device" (dense rows, ATen compositions): the same draws, so the losses differ by rounding.
void test_resident_training(const Example& ex) {
  multigrade::TrainConfig tc;
  tc.max_epochs = 4;
  tc.batch_size = 16;
  tc.lr = 3e-3;
  tc.integ_coef = 1.0;
  tc.alignment = multigrade::Alignment::latent;
  tc.modality_dropout = 0.2;
  tc.seed = 5;
  std::vector<multigrade::EpochStats> runs[2];
  for (int placed = 0; placed < 2; ++placed) {
    tc.data_placement = placed ? multigrade::DataPlacement::device : multigrade::DataPlacement::host;
    multigrade::Trainer trainer(ex.model(), tc, ex.input(), "cpu");
    check(trainer.data_on_device() == (placed == 1), "the trainer reports where its batches are gathered");
    while (!trainer.finished()) runs[placed].push_back(trainer.run_epoch(nullptr));
  }
  bool same = runs[0].size() == runs[1].size();
  for (size_t e = 0; same && e < runs[0].size(); ++e)
    same = near(runs[1][e].train_loss, runs[0][e].train_loss, 1e-4) &&
           near(runs[1][e].validation_loss, runs[0][e].validation_loss, 1e-4);
  check(same, "training from device-placed data follows host-gathered training");
  check(runs[0].back().train_loss < runs[0].front().train_loss, "resident test data: training reduces the loss");
}

void test_matmul_precision(const Example& ex) {
  using multigrade::MatmulPrecision;
  using multigrade::MatmulPrecisionScope;
  check(MatmulPrecisionScope::current() == MatmulPrecision::highest, "float32 products start at highest precision");
  {
    const MatmulPrecisionScope scope(MatmulPrecision::high);
    check(MatmulPrecisionScope::current() == MatmulPrecision::high, "precision scope sets TF32 products");
  }
  check(MatmulPrecisionScope::current() == MatmulPrecision::highest, "precision scope restores the setting");
  multigrade::TrainConfig tc;
  tc.max_epochs = 1;
  tc.matmul_precision = MatmulPrecision::high;
  multigrade::Trainer trainer(ex.model(), tc, ex.input(), "cpu");
  trainer.run_epoch(nullptr);
  check(MatmulPrecisionScope::current() == MatmulPrecision::highest, "training leaves the precision setting as it was");
  check(multigrade::parse_data_placement("device") == multigrade::DataPlacement::device &&
            multigrade::parse_matmul_precision("high") == MatmulPrecision::high,
        "placement and precision names parse");
  bool rejected = false;
  try {
    multigrade::parse_data_placement("gpu");
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  check(rejected, "unknown data placement is an error");
}

// Training on `device` with the CPU's random draws (HostDrawsScope) against the same training
// on the CPU, both from device-placed data (the same ATen operations): the epoch losses agree
// to rounding, and so do the embeddings that either device computes from the CPU's weights.
void test_device_training(const Example& ex, const std::string& device) {
  multigrade::TrainConfig tc;
  tc.max_epochs = 4;
  tc.batch_size = 16;
  tc.modality_dropout = 0.2;
  tc.seed = 5;
  tc.host_random_draws = true;
  tc.data_placement = multigrade::DataPlacement::device;
  std::vector<multigrade::EpochStats> runs[2];
  std::vector<multigrade::NamedArray> weights;
  for (int on_device = 0; on_device < 2; ++on_device) {
    multigrade::Trainer trainer(ex.model(), tc, ex.input(), on_device ? device : "cpu");
    while (!trainer.finished()) runs[on_device].push_back(trainer.run_epoch(nullptr));
    if (!on_device) weights = trainer.weights();
  }
  double worst = 0;
  for (size_t e = 0; e < std::min(runs[0].size(), runs[1].size()); ++e)
    for (auto loss : {&multigrade::EpochStats::train_loss, &multigrade::EpochStats::validation_loss})
      worst = std::max(worst, std::fabs(runs[1][e].*loss - runs[0][e].*loss) / (1.0 + std::fabs(runs[0][e].*loss)));
  std::printf("%s against cpu: largest relative difference of the epoch losses %.2e\n", device.c_str(), worst);
  check(runs[0].size() == runs[1].size() && worst < 1e-3, device + ": training follows the CPU's epoch losses");
  const auto on_cpu = multigrade::encode_latent(ex.model(), weights, ex.input(), "cpu");
  const auto there = multigrade::encode_latent(ex.model(), weights, ex.input(), device);
  double largest = 0;
  for (size_t k = 0; k < on_cpu.mean.size(); ++k)
    largest = std::max(largest, static_cast<double>(std::fabs(on_cpu.mean[k] - there.mean[k])));
  check(on_cpu.mean.size() == there.mean.size() && largest < 1e-3, device + ": embeddings equal the CPU's");
}

}  // namespace

void test_on_device(const std::string& device) {
  const Example ex;
  test_resident_batches(ex, at::Device(device));
  test_device_training(ex, device);
}

void test_resident_data() {
  const Example ex;
  test_resident_batches(ex, at::Device(at::kCPU));
  test_resident_training(ex);
  test_matmul_precision(ex);
}
