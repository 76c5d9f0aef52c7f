// Inference with trained weights: the deterministic joint posterior of every cell.
#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>

#include "api.h"
#include "dataset.h"
#include "network.h"
#include "posterior.h"

namespace multigrade {

LatentResult encode_latent(const ModelConfig& config, const std::vector<NamedArray>& weights,
                           const DataInput& input, const std::string& device_name, int64_t chunk_size) {
  const at::Device device(resolve_device(device_name));
  MultigradeNet net(config, device);
  net.params().import_arrays(weights);
  const CellData data(config, input);

  LatentResult result;
  result.n_cells = data.n_cells();
  result.latent_dim = config.latent_dim;
  result.mean.resize(static_cast<size_t>(result.n_cells * result.latent_dim));
  result.logvar.resize(result.mean.size());

  at::NoGradGuard no_grad;
  for (int64_t start = 0; start < data.n_cells(); start += chunk_size) {
    const int64_t end = std::min(data.n_cells(), start + chunk_size);
    std::vector<int64_t> cells(static_cast<size_t>(end - start));
    std::iota(cells.begin(), cells.end(), start);
    const Batch batch = data.batch(cells, device);
    const at::Tensor cov = net.covariates(batch);
    std::vector<at::Tensor> mus, logvars;
    for (const auto& e : net.encode(batch, cov, /*train=*/false)) {
      mus.push_back(e.mu);
      logvars.push_back(e.logvar);
    }
    const Gaussian joint = joint_posterior(mus, logvars, batch.present, config.mixing);
    const at::Tensor mu = joint.mu.to(at::kCPU).contiguous();
    const at::Tensor lv = joint.logvar.to(at::kCPU).contiguous();
    std::copy(mu.data_ptr<float>(), mu.data_ptr<float>() + mu.numel(),
              result.mean.begin() + start * config.latent_dim);
    std::copy(lv.data_ptr<float>(), lv.data_ptr<float>() + lv.numel(),
              result.logvar.begin() + start * config.latent_dim);
  }
  return result;
}

std::vector<NamedArray> parameter_layout(const ModelConfig& config) {
  MultigradeNet net(config, at::Device(at::kCPU));
  return net.params().layout();
}

}  // namespace multigrade
