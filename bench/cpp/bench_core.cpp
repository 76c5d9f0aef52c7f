// C++ benchmark driver over the multigrade core (no R): simulates data, trains the default
// architecture, embeds, imputes the protein from RNA, maps a query (a new donor level;
// only its embedding rows and dispersions learn) and trains MultiMIL on a simulated latent
// space, printing JSON lines with cells/s, peak memory, device and LibTorch, and probes of
// what the machine delivered meanwhile (GEMM speed, CPU steal; machine_probe.h).
//   bench_core [--cells N] [--epochs E] [--batch B] [--threads T] [--device cpu|cuda|auto]
//              [--genes G] [--peaks P] [--donors D] [--library L (mean RNA counts per cell)]
//              [--query-cells Q (default 10000; 0 skips mapping)]
//              [--mil-cells M (default 256000; 0 skips MIL)] [--mil-epochs K (default 3)]
//              [--profile FILE (LibTorch profiler trace of the timed training epochs, chrome format)]
//              [--data-placement auto|host|device] [--matmul-precision highest|high (TF32 on CUDA)]
//              [--host-draws 1 (the CPU generator's random draws on any device, to compare devices)]
//              [--input PREFIX (a real dataset from bench/gpu/export_dataset.py instead of simulated cells)]
//              [--embedding-out FILE (the joint embedding, float32 cells x latent, cell-major)]
//              [--rank R --world-size W --port P (data-parallel: this process trains rank R's share of
//               the cells with W - 1 others on loopback; bench/distributed.sh starts them)]
//              [--backend auto|gloo|nccl (auto: NCCL on CUDA where built, else Gloo)]
//              [--keyed-draws 1 (random draws keyed by cell: W ranks take one process's steps)]
// --batch and --matmul-precision take comma-separated lists: one training per combination on
// the same data (the last one's weights are embedded, imputed and mapped).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "api.h"
#include "bench_mil.h"
#include "dataset_files.h"
#include "machine_probe.h"
#include "simulate.h"

namespace {

struct Args {
  multigrade_bench::SimulationSettings sim;
  int epochs = 3;
  int64_t batch = 256;
  // The model's settings default to the R package's (multigrade_options(), RunMultigrade());
  // --layers 2 --latent 16 --modality-dropout 0 --lr 5e-4 --prior-expert 1 is the reference's.
  int layers = 1;  // FC blocks of every encoder and decoder
  int64_t latent = 30;
  double modality_dropout = 0.3;
  double lr = 3e-3;
  bool prior_expert = false;
  int threads = 2;
  std::string device = "auto";
  int64_t query_cells = 10000;
  int64_t mil_cells = 256000;
  int mil_epochs = 3;
  std::string profile;
  std::string data_placement = "auto";
  std::string matmul_precision = "highest";
  std::vector<int64_t> batches{256};               // --batch: one training each
  std::vector<std::string> precisions{"highest"};  // --matmul-precision: likewise
  bool host_draws = false;
  bool keyed_draws = false;
  std::string input;
  std::string embedding_out;
  multigrade::DistributedConfig distributed;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) parts.push_back(part);
  return parts;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* v = argv[i + 1];
    if (key == "--cells")
      a.sim.n_cells = std::atoll(v);
    else if (key == "--epochs")
      a.epochs = std::atoi(v);
    else if (key == "--batch") {
      a.batches.clear();
      for (const auto& b : split_commas(v)) a.batches.push_back(std::atoll(b.c_str()));
      a.batch = a.batches.front();
    } else if (key == "--layers")
      a.layers = std::atoi(v);
    else if (key == "--latent")
      a.latent = std::atoll(v);
    else if (key == "--modality-dropout")
      a.modality_dropout = std::atof(v);
    else if (key == "--lr")
      a.lr = std::atof(v);
    else if (key == "--prior-expert")
      a.prior_expert = std::atoi(v) != 0;
    else if (key == "--threads")
      a.threads = std::atoi(v);
    else if (key == "--device")
      a.device = v;
    else if (key == "--genes")
      a.sim.n_genes = std::atoll(v);
    else if (key == "--peaks")
      a.sim.n_peaks = std::atoll(v);
    else if (key == "--donors")
      a.sim.n_donors = std::atoi(v);
    else if (key == "--library")
      a.sim.mean_library = std::atof(v);
    else if (key == "--query-cells")
      a.query_cells = std::atoll(v);
    else if (key == "--mil-cells")
      a.mil_cells = std::atoll(v);
    else if (key == "--mil-epochs")
      a.mil_epochs = std::atoi(v);
    else if (key == "--profile")
      a.profile = v;
    else if (key == "--data-placement")
      a.data_placement = v;
    else if (key == "--matmul-precision") {
      a.precisions = split_commas(v);
      a.matmul_precision = a.precisions.front();
    } else if (key == "--host-draws")
      a.host_draws = std::atoi(v) != 0;
    else if (key == "--input")
      a.input = v;
    else if (key == "--embedding-out")
      a.embedding_out = v;
    else if (key == "--rank")
      a.distributed.rank = std::atoi(v);
    else if (key == "--world-size")
      a.distributed.world_size = std::atoi(v);
    else if (key == "--port")
      a.distributed.master_port = std::atoi(v);
    else if (key == "--backend")
      a.distributed.backend = v;
    else if (key == "--keyed-draws")
      a.keyed_draws = std::atoi(v) != 0;
    else {
      std::fprintf(stderr, "unknown argument %s\n", key.c_str());
      std::exit(2);
    }
  }
  return a;
}

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  return -1;
}

// The machine's GEMM speed at the training's first-layer shape, before and after training:
// cells/s that moved with it moved with the host, not with the build.
void print_gemm_probe(const char* when, const Args& args, const std::string& device) {
  constexpr int64_t kHidden = 128;
  std::printf(
      "{\"task\":\"gemm_probe\",\"when\":\"%s\",\"shape\":\"%lldx%lldx%lld\",\"threads\":%d,"
      "\"device\":\"%s\",\"gflops\":%.1f}\n",
      when, static_cast<long long>(args.batch), static_cast<long long>(args.sim.n_genes),
      static_cast<long long>(kHidden), args.threads, device.c_str(),
      multigrade_bench::gemm_gflops(args.batch, args.sim.n_genes, kHidden, device));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Query mapping: the first `n` cells presented again as one new donor, so that the
// reference's embedding table grows by a row. Times the query epochs after the first.
void bench_mapping(const multigrade::ModelConfig& reference_config, const std::vector<multigrade::NamedArray>& weights,
                   const multigrade::DataInput& reference_input, int64_t n, const Args& args,
                   const std::string& device) {
  multigrade::ModelConfig mc = reference_config;
  const int new_donor = args.sim.n_donors;
  mc.categorical_levels = {new_donor + 1};
  mc.n_groups = new_donor + 1;
  std::vector<int> donor(static_cast<size_t>(n), new_donor);
  multigrade::DataInput in = reference_input;  // the leading n cells of every modality
  in.n_cells = n;
  in.categorical = {donor.data()};
  in.group = donor.data();
  multigrade::TrainConfig tc;
  tc.max_epochs = std::max(args.epochs, 2);
  tc.batch_size = args.batch;
  tc.early_stopping = false;
  tc.weight_decay = 0;
  tc.seed = 2;
  const auto t0 = std::chrono::steady_clock::now();
  multigrade::Trainer trainer(mc, tc, in, device, &weights);
  const double setup_s = seconds_since(t0);
  double timed_s = 0;
  int64_t timed_cells = 0;
  for (int e = 0; e < tc.max_epochs; ++e) {
    const auto stats = trainer.run_epoch(nullptr);
    if (e > 0) {
      timed_s += stats.seconds;
      timed_cells += stats.cells_seen;
    }
  }
  std::printf(
      "{\"task\":\"map_query\",\"cells\":%lld,\"trainable\":%lld,\"device\":\"%s\",\"setup_s\":%.2f,"
      "\"cells_per_s\":%.0f}\n",
      static_cast<long long>(n), static_cast<long long>(trainer.n_trainable()), device.c_str(), setup_s,
      timed_cells / timed_s);
}

// Rank `rank`'s share of the cells (i % world == rank), as train/data_parallel.h expects it.
multigrade_bench::SimulatedData shard(const multigrade_bench::SimulatedData& d, int rank, int world) {
  if (world <= 1) return d;
  multigrade_bench::SimulatedData s;
  s.rna.n_features = d.rna.n_features;
  s.adt.n_features = d.adt.n_features;
  s.rna.col_ptr.push_back(0);
  for (int64_t c = rank; c < d.n_cells; c += world) {
    for (int k = d.rna.col_ptr[c]; k < d.rna.col_ptr[c + 1]; ++k) {
      s.rna.row_index.push_back(d.rna.row_index[k]);
      s.rna.values.push_back(d.rna.values[k]);
    }
    s.rna.col_ptr.push_back(static_cast<int>(s.rna.values.size()));
    const auto row = d.adt.values.begin() + c * d.adt.n_features;
    s.adt.values.insert(s.adt.values.end(), row, row + d.adt.n_features);
    s.donor.push_back(d.donor[c]);
    ++s.n_cells;
  }
  return s;
}

// Trains the model once at one batch size and matmul precision, printing a line per epoch
// and the "train" summary; returns the weights.
std::vector<multigrade::NamedArray> train_and_report(const multigrade::ModelConfig& mc, multigrade::TrainConfig tc,
                                                     const multigrade::DataInput& in, const Args& args,
                                                     const std::string& device, int64_t batch,
                                                     const std::string& precision) {
  const multigrade::RuntimeInfo info = multigrade::runtime_info();
  tc.batch_size = batch;
  tc.matmul_precision = multigrade::parse_matmul_precision(precision);
  const auto t0 = std::chrono::steady_clock::now();
  multigrade::Trainer trainer(mc, tc, in, device);
  const double setup_s = seconds_since(t0);
  double timed_s = 0, steal_s = 0, collective_s = 0;
  int64_t timed_cells = 0, timed_epochs = 0, timed_steps = 0;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profiler;
  for (int e = 0; e < args.epochs && !trainer.finished(); ++e) {
    if (e == 1 && !args.profile.empty())
      profiler = std::make_unique<torch::autograd::profiler::RecordProfile>(args.profile);
    const double steal_before = multigrade_bench::cpu_steal_seconds();
    const auto stats = trainer.run_epoch(nullptr);
    const double steal = steal_before < 0 ? -1 : multigrade_bench::cpu_steal_seconds() - steal_before;
    std::printf(
        "{\"task\":\"epoch\",\"epoch\":%d,\"loss\":%.4f,\"seconds\":%.3f,\"cells_per_s\":%.0f,"
        "\"cpu_steal_s\":%s}\n",
        stats.epoch, stats.train_loss, stats.seconds, stats.cells_seen / stats.seconds,
        multigrade_bench::json_number(steal).c_str());
    if (e > 0 || args.epochs == 1) {  // epoch 1 includes allocator and BLAS warm-up
      timed_s += stats.seconds;
      timed_cells += stats.cells_seen;  // of all ranks in data-parallel training
      ++timed_epochs;
      collective_s += stats.collective_seconds;
      timed_steps += (stats.cells_seen + batch - 1) / batch;  // the global minibatches, which every rank steps
      steal_s = steal < 0 || steal_s < 0 ? -1 : steal_s + steal;
    }
  }
  profiler.reset();  // writes the trace
  const double train_rate = timed_cells / timed_s;
  // The reference's convention (../shared/design/PERFORMANCE.md's 11.0k cells/s anchor): all cells of the
  // dataset per second of epoch, validation included. cells_per_s counts only the 90% that
  // train, over the same time.
  const double epoch_rate = static_cast<double>(in.n_cells * args.distributed.world_size * timed_epochs) / timed_s;
  std::printf(
      "{\"task\":\"train\",\"cells\":%lld,\"genes\":%lld,\"proteins\":%lld,\"peaks\":%lld,"
      "\"batch_size\":%lld,\"threads\":%d,\"device\":\"%s\",\"data_on_device\":%s,\"matmul_precision\":\"%s\","
      "\"host_draws\":%s,\"ranks\":%d,\"allreduce_ms_per_step\":%.3f,\"libtorch\":\"%s\",\"setup_s\":%.2f,"
      "\"cells_per_s\":%.0f,\"epoch_cells_per_s\":%.0f,\"ms_per_step\":%.2f,\"timed_s\":%.2f,\"cpu_steal_s\":%s}\n",
      static_cast<long long>(in.n_cells), static_cast<long long>(mc.modalities[0].n_features),
      static_cast<long long>(mc.modalities[1].n_features),
      static_cast<long long>(mc.modalities.size() > 2 ? mc.modalities[2].n_features : 0), static_cast<long long>(batch),
      args.threads, device.c_str(), trainer.data_on_device() ? "true" : "false", precision.c_str(),
      args.host_draws ? "true" : "false", args.distributed.world_size,
      timed_steps > 0 ? 1000.0 * collective_s / static_cast<double>(timed_steps) : 0.0, info.torch_version.c_str(),
      setup_s, train_rate, epoch_rate, 1000.0 * static_cast<double>(batch) / train_rate, timed_s,
      multigrade_bench::json_number(steal_s).c_str());
  return trainer.weights();
}

void write_embedding(const multigrade::LatentResult& latent, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(latent.mean.data()),
            static_cast<std::streamsize>(latent.mean.size() * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  const multigrade::ThreadScope threads(args.threads);
  const std::string device = multigrade::resolve_device(args.device);

  auto t0 = std::chrono::steady_clock::now();
  auto data =
      args.input.empty() ? multigrade_bench::simulate(args.sim) : multigrade_bench::read_dataset_files(args.input);
  if (!args.input.empty()) {
    args.sim.n_genes = data.rna.n_features;
    args.sim.n_proteins = data.adt.n_features;
    args.sim.n_donors = *std::max_element(data.donor.begin(), data.donor.end()) + 1;
  }
  if (args.distributed.world_size > 1) data = shard(data, args.distributed.rank, args.distributed.world_size);
  const double nnz_fraction =
      static_cast<double>(data.rna.values.size()) / static_cast<double>(data.n_cells * data.rna.n_features);
  std::printf("{\"task\":\"%s\",\"cells\":%lld,\"genes\":%lld,\"rna_nonzero\":%.3f,\"seconds\":%.2f}\n",
              args.input.empty() ? "simulate" : "read_input", static_cast<long long>(data.n_cells),
              static_cast<long long>(data.rna.n_features), nnz_fraction, seconds_since(t0));

  multigrade::ModelConfig mc;
  multigrade::ModalitySpec rna{"rna", data.rna.n_features, multigrade::Likelihood::nb, true};
  multigrade::ModalitySpec adt{"adt", data.adt.n_features, multigrade::Likelihood::mse, false};
  for (auto* spec : {&rna, &adt}) spec->n_layers_encoder = spec->n_layers_decoder = args.layers;
  mc.modalities = {rna, adt};
  mc.latent_dim = args.latent;
  mc.prior_expert = args.prior_expert;
  multigrade::DataInput in;
  in.n_cells = data.n_cells;
  multigrade::ModalityInput rna_in, adt_in;
  rna_in.sparse = true;
  rna_in.col_ptr = data.rna.col_ptr.data();
  rna_in.row_index = data.rna.row_index.data();
  rna_in.values = data.rna.values.data();
  adt_in.values = data.adt.values.data();
  in.modalities = {rna_in, adt_in};
  if (args.sim.n_peaks > 0 && args.input.empty()) {
    multigrade::ModalitySpec atac{"atac", data.atac.n_features, multigrade::Likelihood::bernoulli, false};
    atac.n_layers_encoder = atac.n_layers_decoder = args.layers;
    mc.modalities.push_back(atac);
    multigrade::ModalityInput atac_in;
    atac_in.sparse = true;
    atac_in.col_ptr = data.atac.col_ptr.data();
    atac_in.row_index = data.atac.row_index.data();
    atac_in.values = data.atac.values.data();
    in.modalities.push_back(atac_in);
  }
  mc.categorical_levels = {args.sim.n_donors};
  mc.n_groups = args.sim.n_donors;
  in.categorical = {data.donor.data()};
  in.group = data.donor.data();

  multigrade::TrainConfig tc;
  tc.max_epochs = args.epochs;
  tc.early_stopping = false;
  tc.integ_coef = 1.0;
  tc.alignment = multigrade::Alignment::latent;
  tc.stratified_batches = true;
  tc.modality_dropout = args.modality_dropout;
  tc.lr = args.lr;
  tc.seed = 1;
  tc.data_placement = multigrade::parse_data_placement(args.data_placement);
  tc.host_random_draws = args.host_draws;
  tc.keyed_draws = args.keyed_draws;
  tc.distributed = args.distributed;

  // Each trainer (and its copy of the data) is released before the next and before the
  // embedding pass, which makes its own: the peak holds one core copy of the data, not two.
  std::vector<multigrade::NamedArray> weights;
  print_gemm_probe("before_training", args, device);
  for (const auto& precision : args.precisions)
    for (int64_t batch : args.batches) weights = train_and_report(mc, tc, in, args, device, batch, precision);
  print_gemm_probe("after_training", args, device);
  t0 = std::chrono::steady_clock::now();
  const auto latent = multigrade::encode_latent(mc, weights, in, device);
  std::printf("{\"task\":\"embed\",\"cells\":%lld,\"device\":\"%s\",\"cells_per_s\":%.0f}\n",
              static_cast<long long>(latent.n_cells), device.c_str(), latent.n_cells / seconds_since(t0));
  if (!args.embedding_out.empty()) write_embedding(latent, args.embedding_out);

  multigrade::ImputeRequest impute;
  impute.target = 1;  // the protein, from RNA and protein posteriors
  t0 = std::chrono::steady_clock::now();
  const auto imputed = multigrade::impute_modality(mc, weights, in, device, impute);
  std::printf("{\"task\":\"impute\",\"cells\":%lld,\"features\":%lld,\"device\":\"%s\",\"cells_per_s\":%.0f}\n",
              static_cast<long long>(imputed.n_cells), static_cast<long long>(imputed.n_features), device.c_str(),
              imputed.n_cells / seconds_since(t0));

  if (args.query_cells > 0)
    bench_mapping(mc, weights, in, std::min<int64_t>(args.query_cells, data.n_cells), args, device);
  if (args.mil_cells > 0) multigrade_bench::bench_mil(args.mil_cells, args.mil_epochs, device);
  std::printf("{\"task\":\"peak_memory\",\"max_rss_mb\":%.0f}\n", peak_rss_mb());
  return 0;
}
