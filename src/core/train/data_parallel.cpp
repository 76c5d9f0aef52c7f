#include "train/data_parallel.h"

#include <ATen/ATen.h>

#include "platform/process_group.h"

namespace multigrade {

DataParallel::DataParallel(const DistributedConfig& config, const std::vector<int64_t>& group_codes,
                           const at::Device& device)
    : world_(config.world_size), rank_(config.rank), device_(device) {
  if (world_ > 1) group_ = std::make_unique<ProcessGroup>(config, device);
  reshard(group_codes);
}

void DataParallel::reshard(const std::vector<int64_t>& group_codes) {
  n_local_ = n_global_ = static_cast<int64_t>(group_codes.size());
  group_codes_ = group_codes;
  global_train_.clear();
  global_validation_.clear();
  if (world_ <= 1) return;
  at::Tensor count = at::full({1}, n_local_, at::kLong);
  reduce(count);
  n_global_ = count.item<int64_t>();
  const int64_t expected = (n_global_ - rank_ + world_ - 1) / world_;  // cells i < N with i % W == rank
  if (expected != n_local_)
    throw std::invalid_argument("rank " + std::to_string(rank_) + " holds " + std::to_string(n_local_) +
                                " cells, but the cells i of all " + std::to_string(n_global_) + " with i % " +
                                std::to_string(world_) + " == rank are " + std::to_string(expected));
  // Every rank learns every cell's group, for the stratified sampler over all cells.
  at::Tensor codes = at::zeros({n_global_}, at::kLong);
  int64_t* all = codes.data_ptr<int64_t>();
  for (int64_t j = 0; j < n_local_; ++j) all[global_id(j)] = group_codes[j];
  reduce(codes);
  group_codes_.assign(all, all + n_global_);
}

DataParallel::~DataParallel() = default;

std::vector<int64_t> DataParallel::global_ids(const std::vector<int64_t>& local) const {
  std::vector<int64_t> out(local.size());
  for (size_t k = 0; k < local.size(); ++k) out[k] = global_id(local[k]);
  return out;
}

CellSplit DataParallel::split(double train_size, std::mt19937_64& rng) {
  CellSplit global = split_cells(n_global_, train_size, rng);
  global_validation_ = global.validation;
  if (!distributed()) return global;
  global_train_ = global.train;
  CellSplit local;
  for (int64_t g : global.train)
    if (g % world_ == rank_) local.train.push_back(g / world_);
  for (int64_t g : global.validation)
    if (g % world_ == rank_) local.validation.push_back(g / world_);
  return local;
}

std::vector<std::vector<int64_t>> DataParallel::batches(const CellSplit& local, bool stratified, int64_t batch_size,
                                                        std::mt19937_64& rng) {
  if (!distributed()) {
    step_sizes_.clear();
    return stratified ? stratified_batches(local.train, group_codes_, batch_size, rng)
                      : sequential_batches(local.train, batch_size, /*shuffle=*/true, rng);
  }
  // The same sampler over all cells as alone; this rank keeps its members of every batch.
  const auto global = stratified ? stratified_batches(global_train_, group_codes_, batch_size, rng)
                                 : sequential_batches(global_train_, batch_size, /*shuffle=*/true, rng);
  std::vector<std::vector<int64_t>> mine(global.size());
  step_sizes_.assign(global.size(), 0);
  for (size_t k = 0; k < global.size(); ++k) {
    step_sizes_[k] = static_cast<int64_t>(global[k].size());
    for (int64_t g : global[k])
      if (g % world_ == rank_) mine[k].push_back(g / world_);
  }
  return mine;
}

double DataParallel::gradient_weight(size_t step, int64_t local_size) const {
  if (!distributed()) return 1.0;
  return static_cast<double>(local_size) / static_cast<double>(step_sizes_.at(step));
}

int64_t DataParallel::common_value(const std::vector<int64_t>& values, int64_t upper) {
  at::Tensor count = at::zeros({upper + 1}, at::kLong);
  int64_t* has = count.data_ptr<int64_t>();
  for (int64_t v : values)
    if (v >= 0 && v <= upper) has[v] = 1;
  reduce(count);
  for (int64_t v = upper; v >= 0; --v)
    if (has[v] == world_) return v;
  return -1;
}

void DataParallel::reduce(at::Tensor& tensor) {
  if (group_) group_->all_reduce_sum(tensor);
}

std::vector<float> DataParallel::gather_rows(const std::vector<float>& rows, int64_t width) {
  if (!distributed()) return rows;
  at::Tensor all = at::zeros({n_global_, width}, at::kFloat);
  float* out = all.data_ptr<float>();
  for (int64_t j = 0; j < n_local_; ++j) std::copy_n(rows.data() + j * width, width, out + global_id(j) * width);
  reduce(all);
  return std::vector<float>(out, out + n_global_ * width);
}

std::vector<float> gather_cell_rows(const DistributedConfig& config, const std::vector<float>& rows, int64_t width) {
  if (width <= 0) throw std::invalid_argument("gather_cell_rows: rows need a positive width");
  DataParallel parallel(config, std::vector<int64_t>(rows.size() / static_cast<size_t>(width), 0),
                        at::Device(at::kCPU));
  return parallel.gather_rows(rows, width);
}

double DataParallel::collective_seconds() const { return group_ ? group_->collective_seconds() : 0.0; }

}  // namespace multigrade
