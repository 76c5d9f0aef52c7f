// Inference with trained weights: the deterministic joint posterior of every cell, and
// the expected values of a modality decoded from it (imputation), in eval mode.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "api.h"
#include "data/dataset.h"
#include "model/inference.h"
#include "model/likelihoods.h"
#include "model/network.h"
#include "model/posterior.h"
#include "platform/memory_report.h"

namespace multigrade {

namespace {

// The cells [start, end) as one batch.
Batch chunk_batch(const CellData& data, int64_t start, int64_t end, const at::Device& device) {
  std::vector<int64_t> cells(static_cast<size_t>(end - start));
  std::iota(cells.begin(), cells.end(), start);
  return data.batch(cells, device);
}

Gaussian cell_posterior(const MultigradeNet& net, const Batch& batch, const at::Tensor& cov) {
  std::vector<at::Tensor> mus, logvars;
  for (const auto& e : net.encode(batch, cov, /*train=*/false)) {
    mus.push_back(e.mu);
    logvars.push_back(e.logvar);
  }
  return joint_posterior(mus, logvars, batch.present, net.config().mixing, net.config().prior_expert);
}

void append_rows(const at::Tensor& values, std::vector<float>& out, int64_t offset) {
  const at::Tensor host = values.to(at::kCPU, at::kFloat).contiguous();
  std::copy(host.data_ptr<float>(), host.data_ptr<float>() + host.numel(), out.begin() + offset);
}

// The decoder's expected value on the data scale for latent draws z (B x d).
at::Tensor expected_value(const MultigradeNet& net, size_t target, const at::Tensor& z, const at::Tensor& cov,
                          const at::Tensor& library, bool foreground_probability = false) {
  const DecoderOutput out = net.decode(target, z, cov, /*train=*/false);
  if (net.config().modalities[target].likelihood == Likelihood::nbmixture) {
    // totalVI's denoised protein: the foreground mean weighted by its probability.
    const at::Tensor foreground_weight = at::sigmoid(-out.zi_logits);
    if (foreground_probability) return foreground_weight;
    return at::exp(nb_mixture_log_rates(out.mean, out.foreground, library.log()).second) * foreground_weight;
  }
  switch (net.config().modalities[target].likelihood) {
    case Likelihood::mse:
      return out.mean;
    case Likelihood::bernoulli:
      return at::sigmoid(out.mean);
    case Likelihood::nb:
      return at::softmax(out.mean, 1) * library.unsqueeze(1);
    case Likelihood::zinb:
      return at::softmax(out.mean, 1) * library.unsqueeze(1) * at::sigmoid(-out.zi_logits);
    case Likelihood::nbmixture:
      break;  // handled above
  }
  throw std::logic_error("unknown likelihood");
}

// The covariate embeddings to decode with: the cells' own, or the requested codes.
at::Tensor decoding_covariates(const MultigradeNet& net, Batch batch, const ImputeRequest& request, int64_t start,
                               const at::Tensor& own) {
  bool replaced = false;
  for (size_t k = 0; k < request.decode_categorical.size() && k < batch.categorical.size(); ++k) {
    const int* codes = request.decode_categorical[k];
    if (codes == nullptr) continue;
    std::vector<int64_t> chunk(codes + start, codes + start + batch.size);
    batch.categorical[k] = at::tensor(chunk, at::kLong).to(batch.categorical[k].device());
    replaced = true;
  }
  return replaced ? net.covariates(batch) : own;
}

// Type-7 (R's default) quantiles over dim 0 of sorted draws.
at::Tensor sorted_quantile(const at::Tensor& sorted, double prob) {
  const double pos = prob * static_cast<double>(sorted.size(0) - 1);
  const auto lo = static_cast<int64_t>(std::floor(pos));
  const int64_t hi = std::min(lo + 1, sorted.size(0) - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

}  // namespace

LatentResult encode_cells(const MultigradeNet& net, const CellData& data, const at::Device& device, int64_t chunk_size,
                          const std::vector<bool>& use_modality) {
  const ModelConfig& config = net.config();
  if (!use_modality.empty() && use_modality.size() != config.modalities.size())
    throw std::invalid_argument("use_modality needs one flag per modality");
  at::Tensor hide;  // 1 x M: 0 for the hidden modalities
  if (std::find(use_modality.begin(), use_modality.end(), false) != use_modality.end()) {
    std::vector<float> keep(use_modality.begin(), use_modality.end());
    hide = at::tensor(keep, at::kFloat).to(device).unsqueeze(0);
  }

  LatentResult result;
  result.n_cells = data.n_cells();
  result.latent_dim = config.latent_dim;
  result.mean.resize(static_cast<size_t>(result.n_cells * result.latent_dim));
  result.logvar.resize(result.mean.size());

  at::NoGradGuard no_grad;
  for (int64_t start = 0; start < data.n_cells(); start += chunk_size) {
    const int64_t end = std::min(data.n_cells(), start + chunk_size);
    Batch batch = chunk_batch(data, start, end, device);
    if (hide.defined()) batch.present = batch.present * hide;
    const Gaussian joint = cell_posterior(net, batch, net.covariates(batch));
    append_rows(joint.mu, result.mean, start * config.latent_dim);
    append_rows(joint.logvar, result.logvar, start * config.latent_dim);
  }
  return result;
}

LatentResult encode_latent(const ModelConfig& config, const std::vector<NamedArray>& weights, const DataInput& input,
                           const std::string& device_name, int64_t chunk_size) {
  return reporting_out_of_memory(
      "Encoding cells", [&] { return memory_sizes(config, device_name, input.n_cells, chunk_size, -1); },
      [&] {
        const at::Device device(resolve_device(device_name));
        MultigradeNet net(config, device);
        net.params().import_arrays(weights);
        return encode_cells(net, CellData(config, input), device, chunk_size);
      });
}

namespace {

ImputeResult impute_cells(const ModelConfig& config, const std::vector<NamedArray>& weights, const DataInput& input,
                          const std::string& device_name, const ImputeRequest& request) {
  if (request.target >= config.modalities.size()) throw std::invalid_argument("unknown target modality");
  const ModalitySpec& spec = config.modalities[request.target];
  if (is_count_likelihood(spec.likelihood) && request.library == nullptr)
    throw std::invalid_argument("count modalities need library sizes for imputation");
  for (double p : request.probs)
    if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("quantile probabilities must lie in [0, 1]");

  const at::Device device(resolve_device(device_name));
  MultigradeNet net(config, device);
  net.params().import_arrays(weights);
  const CellData data(config, input);
  at::manual_seed(request.seed);

  ImputeResult result;
  result.n_cells = data.n_cells();
  result.n_features = spec.n_features;
  const auto n_values = static_cast<size_t>(result.n_cells * result.n_features);
  result.mean.resize(n_values);
  const bool sampling = request.n_samples > 0;
  if (sampling) result.quantiles.assign(request.probs.size(), std::vector<float>(n_values));

  // Draws are held as samples x cells x features: bound that to ~32M floats per chunk.
  int64_t chunk = request.chunk_size;
  if (sampling)
    chunk = std::max<int64_t>(1, std::min(chunk, (int64_t{1} << 25) / (request.n_samples * spec.n_features)));

  at::NoGradGuard no_grad;
  const auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  for (int64_t start = 0; start < data.n_cells(); start += chunk) {
    const int64_t end = std::min(data.n_cells(), start + chunk);
    const Batch batch = chunk_batch(data, start, end, device);
    const at::Tensor own_cov = net.covariates(batch);
    const Gaussian joint = cell_posterior(net, batch, own_cov);
    const at::Tensor cov = decoding_covariates(net, batch, request, start, own_cov);
    at::Tensor library = at::ones({end - start}, float_options);
    if (request.library != nullptr)
      library = at::tensor(std::vector<float>(request.library + start, request.library + end), float_options);
    const int64_t offset = start * spec.n_features;
    append_rows(expected_value(net, request.target, joint.mu, cov, library, request.foreground_probability),
                result.mean, offset);
    if (!sampling) continue;

    std::vector<at::Tensor> draws;
    const at::Tensor sd = at::exp(0.5 * joint.logvar);
    for (int s = 0; s < request.n_samples; ++s) {
      const at::Tensor z = joint.mu + sd * at::randn(joint.mu.sizes(), float_options);
      draws.push_back(expected_value(net, request.target, z, cov, library, request.foreground_probability));
    }
    const at::Tensor sorted = std::get<0>(at::stack(draws, 0).sort(0));
    for (size_t q = 0; q < request.probs.size(); ++q)
      append_rows(sorted_quantile(sorted, request.probs[q]), result.quantiles[q], offset);
  }
  return result;
}

}  // namespace

ImputeResult impute_modality(const ModelConfig& config, const std::vector<NamedArray>& weights, const DataInput& input,
                             const std::string& device_name, const ImputeRequest& request) {
  return reporting_out_of_memory(
      "Imputation", [&] { return memory_sizes(config, device_name, input.n_cells, request.chunk_size, -1); },
      [&] { return impute_cells(config, weights, input, device_name, request); });
}

ImputeResult decode_latent(const ModelConfig& config, const std::vector<NamedArray>& weights,
                           const std::vector<float>& z, int64_t n_points, const std::vector<const int*>& categorical,
                           const std::vector<const double*>& continuous, size_t target,
                           const std::string& device_name) {
  if (target >= config.modalities.size()) throw std::invalid_argument("unknown target modality");
  if (static_cast<int64_t>(z.size()) != n_points * config.latent_dim)
    throw std::invalid_argument("latent points do not match the latent dimension");
  if (categorical.size() != config.categorical_levels.size() ||
      static_cast<int64_t>(continuous.size()) != config.n_continuous)
    throw std::invalid_argument("latent points need every covariate of the model");
  const at::Device device(resolve_device(device_name));
  MultigradeNet net(config, device);
  net.params().import_arrays(weights);
  at::NoGradGuard no_grad;

  // A batch that carries only the covariates, which is all the decoders read.
  Batch batch;
  batch.size = n_points;
  for (size_t k = 0; k < categorical.size(); ++k) {
    const std::vector<int64_t> codes(categorical[k], categorical[k] + n_points);
    for (int64_t c : codes)
      if (c < 0 || c >= config.categorical_levels[k]) throw std::invalid_argument("covariate code out of range");
    batch.categorical.push_back(at::tensor(codes, at::kLong).to(device));
  }
  if (config.n_continuous > 0) {
    at::Tensor values = at::empty({n_points, config.n_continuous}, at::kFloat);
    auto cells = values.accessor<float, 2>();
    for (int64_t k = 0; k < config.n_continuous; ++k)
      for (int64_t i = 0; i < n_points; ++i) cells[i][k] = static_cast<float>(continuous[k][i]);
    batch.continuous = values.to(device);
  }
  const auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor points = at::tensor(z, float_options).view({n_points, config.latent_dim});
  const at::Tensor decoded =
      expected_value(net, target, points, net.covariates(batch), at::ones({n_points}, float_options));

  ImputeResult result;
  result.n_cells = n_points;
  result.n_features = config.modalities[target].n_features;
  result.mean.resize(static_cast<size_t>(decoded.numel()));
  append_rows(decoded, result.mean, 0);
  return result;
}

std::vector<NamedArray> parameter_layout(const ModelConfig& config) {
  MultigradeNet net(config, at::Device(at::kCPU));
  return net.params().layout();
}

std::vector<NamedArray> graft_weights(const ModelConfig& config, const std::vector<NamedArray>& reference) {
  MultigradeNet net(config, at::Device(at::kCPU));
  net.params().graft(reference);
  return net.params().export_arrays();
}

}  // namespace multigrade
