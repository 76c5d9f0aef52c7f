// Data-parallel training (train/data_parallel.h on platform/process_group.h): W ranks, each a
// process of this test binary (test_core --data-parallel-rank ...), meet over loopback with
// Gloo. With the draws keyed by cell they must take exactly the steps of one process on the
// same global batches (losses and final weights within 1e-5), every rank must end with the same
// weights, and a rank that dies must make the others fail with DistributedError within the
// timeout instead of hanging.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "api.h"
#include "check.h"
#include "platform/process_group.h"

extern char** environ;

namespace {

using test::check;

constexpr int kCells = 97, kGenes = 24, kProteins = 5;

// The whole data set, the same in every process: RNA counts (dense here), proteins, two donors.
struct WholeData {
  std::vector<double> counts, proteins;  // cell-major
  std::vector<int> donor;
  WholeData() {
    std::mt19937_64 rng(23);
    std::poisson_distribution<int> pois(2.0);
    std::normal_distribution<double> normal;
    for (int c = 0; c < kCells; ++c) {
      const int type = c % 3;
      for (int g = 0; g < kGenes; ++g) counts.push_back(pois(rng) + (g % 3 == type ? 3 : 0));
      for (int p = 0; p < kProteins; ++p) proteins.push_back(normal(rng) + (p == type ? 2.0 : 0.0));
      donor.push_back(c % 5 < 2 ? 1 : 0);
    }
  }
};

// The cells i with i % world == rank, as that rank holds them.
struct Shard {
  std::vector<double> counts, proteins;
  std::vector<int> donor;
  Shard(const WholeData& d, int rank, int world) {
    for (int c = rank; c < kCells; c += world) {
      counts.insert(counts.end(), d.counts.begin() + c * kGenes, d.counts.begin() + (c + 1) * kGenes);
      proteins.insert(proteins.end(), d.proteins.begin() + c * kProteins, d.proteins.begin() + (c + 1) * kProteins);
      donor.push_back(d.donor[c]);
    }
  }
  int n() const { return static_cast<int>(donor.size()); }
};

multigrade::ModelConfig model(bool two_groups) {
  multigrade::ModelConfig mc;
  multigrade::ModalitySpec r, a;
  r.name = "rna";
  r.n_features = kGenes;
  r.likelihood = multigrade::Likelihood::nb;
  r.log_input = true;
  a.name = "adt";
  a.n_features = kProteins;
  mc.modalities = {r, a};
  mc.latent_dim = 6;
  mc.categorical_levels = {2};
  mc.n_groups = two_groups ? 2 : 1;
  return mc;
}

struct Result {
  std::vector<double> losses;  // train and validation loss of every epoch
  std::vector<float> weights;
};

Result train(const Shard& shard, bool two_groups, const multigrade::DistributedConfig& distributed,
             int die_after_epochs = -1) {
  multigrade::DataInput in;
  in.n_cells = shard.n();
  multigrade::ModalityInput r, a;
  r.values = shard.counts.data();
  a.values = shard.proteins.data();
  in.modalities = {r, a};
  in.categorical = {shard.donor.data()};
  if (two_groups) in.group = shard.donor.data();
  multigrade::TrainConfig tc;
  tc.max_epochs = 4;
  tc.batch_size = 16;
  tc.modality_dropout = 0.2;
  tc.seed = 3;
  tc.keyed_draws = true;
  tc.distributed = distributed;
  multigrade::Trainer trainer(model(two_groups), tc, in, "cpu");
  Result out;
  for (int e = 0; !trainer.finished(); ++e) {
    if (e == die_after_epochs) std::_Exit(3);  // a rank that dies mid-run, without a word
    const auto stats = trainer.run_epoch(nullptr);
    out.losses.push_back(stats.train_loss);
    out.losses.push_back(stats.validation_loss);
  }
  for (const auto& array : trainer.weights())
    out.weights.insert(out.weights.end(), array.values.begin(), array.values.end());
  return out;
}

void write_result(const Result& r, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const auto n_losses = static_cast<int64_t>(r.losses.size()), n_weights = static_cast<int64_t>(r.weights.size());
  out.write(reinterpret_cast<const char*>(&n_losses), sizeof n_losses);
  out.write(reinterpret_cast<const char*>(r.losses.data()), n_losses * sizeof(double));
  out.write(reinterpret_cast<const char*>(&n_weights), sizeof n_weights);
  out.write(reinterpret_cast<const char*>(r.weights.data()), n_weights * sizeof(float));
}

Result read_result(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Result r;
  int64_t n = 0;
  if (!in.read(reinterpret_cast<char*>(&n), sizeof n)) return r;
  r.losses.resize(n);
  in.read(reinterpret_cast<char*>(r.losses.data()), n * sizeof(double));
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  r.weights.resize(n);
  in.read(reinterpret_cast<char*>(r.weights.data()), n * sizeof(float));
  return r;
}

std::string result_path(int port, int rank) {
  return "/tmp/multigrade-dp-" + std::to_string(getpid()) + "-" + std::to_string(port) + "-" + std::to_string(rank);
}

// Starts this binary as every rank of a run; returns their exit codes and the seconds until
// the last one ended.
std::pair<std::vector<int>, double> run_ranks(int world, int port, bool two_groups, int dying_rank = -1) {
  std::vector<pid_t> pids;
  const auto start = std::chrono::steady_clock::now();
  for (int rank = 0; rank < world; ++rank) {
    std::vector<std::string> args = {"/proc/self/exe",
                                     "--data-parallel-rank",
                                     std::to_string(rank),
                                     std::to_string(world),
                                     std::to_string(port),
                                     two_groups ? "1" : "0",
                                     rank == dying_rank ? "1" : "-1",
                                     result_path(port, rank)};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) == 0) pids.push_back(pid);
  }
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return {codes, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

double largest_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.empty()) return 1e30;
  double worst = 0;
  for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a[k] - b[k]) / (1.0 + std::fabs(b[k])));
  return worst;
}

double largest_difference(const std::vector<float>& a, const std::vector<float>& b) {
  return largest_difference(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

int port_base() { return 21000 + static_cast<int>(getpid() % 20000); }

void check_equivalence(const WholeData& data, int world, bool two_groups, int port) {
  const Result alone = train(Shard(data, 0, 1), two_groups, multigrade::DistributedConfig());
  const auto ranks = run_ranks(world, port, two_groups);
  const std::string what = std::to_string(world) + " ranks" + (two_groups ? " with MMD" : "");
  bool all_ok = ranks.first.size() == static_cast<size_t>(world);
  for (int code : ranks.first) all_ok = all_ok && code == 0;
  check(all_ok, what + ": every rank trains to the end");
  std::vector<Result> results;
  for (int rank = 0; rank < world; ++rank) results.push_back(read_result(result_path(port, rank)));
  bool same_weights = true;
  for (int rank = 1; rank < world; ++rank) same_weights = same_weights && results[rank].weights == results[0].weights;
  check(same_weights, what + ": every rank ends with the same weights");
  const double losses = largest_difference(results[0].losses, alone.losses);
  const double weights = largest_difference(results[0].weights, alone.weights);
  std::printf("%s: largest difference from one process: losses %.2e, weights %.2e\n", what.c_str(), losses, weights);
  if (two_groups) {
    // Each rank's MMD sees its own members of a batch: close to one process, not equal.
    check(losses < 0.05 && std::isfinite(weights), what + ": training follows one process's closely");
  } else {
    check(losses < 1e-5 && weights < 1e-5, what + ": losses and weights equal one process's on the same batches");
  }
  for (int rank = 0; rank < world; ++rank) std::remove(result_path(port, rank).c_str());
}

}  // namespace

// The body of one rank's process: exit 0 when trained, 4 on DistributedError, 5 on another error.
int data_parallel_rank_main(int argc, char** argv) {
  if (argc != 8) return 2;
  const multigrade::ThreadScope threads(1);
  multigrade::DistributedConfig config;
  config.rank = std::atoi(argv[2]);
  config.world_size = std::atoi(argv[3]);
  config.master_port = std::atoi(argv[4]);
  config.timeout_seconds = 15;
  const bool two_groups = std::atoi(argv[5]) != 0;
  const int die_after = std::atoi(argv[6]);
  try {
    write_result(train(Shard(WholeData(), config.rank, config.world_size), two_groups, config, die_after), argv[7]);
  } catch (const multigrade::DistributedError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 5;
  }
  return 0;
}

void test_data_parallel() {
  if (multigrade::distributed_backends().empty()) {
    check(false, "data-parallel tests: this build has no Gloo backend (install libgloo-dev)");
    return;
  }
  const WholeData data;
  const int port = port_base();
  check_equivalence(data, 2, false, port);
  check_equivalence(data, 3, false, port + 1);
  check_equivalence(data, 2, true, port + 2);
  // Rank 1 dies after its first epoch: rank 0 must fail with DistributedError (exit 4), in
  // well under a minute (its collectives time out after 15 s, or fail at once when the
  // connection drops).
  const auto dying = run_ranks(2, port + 3, false, 1);
  std::printf("a rank that dies: exit codes %d and %d after %.1f s\n", dying.first.at(0), dying.first.at(1),
              dying.second);
  check(dying.first.size() == 2 && dying.first[1] == 3 && dying.first[0] == 4 && dying.second < 60,
        "a rank that dies makes the others fail with a clear error within a minute");
}
