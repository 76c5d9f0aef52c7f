#include "model/network.h"

#include <ATen/ATen.h>

#include "kernels/fused_sparse_affine.h"
#include "model/blocks.h"
#include "model/likelihoods.h"

namespace multigrade {

namespace {
// Expert log-variances are clamped: unconstrained ones overflow exp() and were the
// source of NaN reports upstream (multigrate#19).
constexpr double kMinLogvar = -15.0;
constexpr double kMaxLogvar = 15.0;
}  // namespace

MultigradeNet::MultigradeNet(const ModelConfig& config, const at::Device& device) : config_(config), device_(device) {
  const int64_t cov = covariate_width();
  for (const auto& m : config_.modalities) {
    const std::string enc = "encoder." + m.name;
    Encoder e;
    e.trunk = add_trunk(enc, m.n_features + (config_.condition_encoders ? cov : 0), m.n_hidden_encoder,
                        config_.latent_dim, m.n_layers_encoder);
    e.mu = add_linear(enc + ".mu", config_.latent_dim, config_.latent_dim);
    e.logvar = add_linear(enc + ".logvar", config_.latent_dim, config_.latent_dim);
    encoders_.push_back(e);

    const std::string dec = "decoder." + m.name;
    Decoder d;
    d.trunk = add_trunk(dec, config_.latent_dim + (config_.condition_decoders ? cov : 0), m.n_hidden_decoder,
                        m.n_hidden_decoder, m.n_layers_decoder);
    d.mean = add_linear(dec + ".mean", m.n_hidden_decoder, m.n_features);
    d.has_zi = m.likelihood == Likelihood::zinb;
    if (d.has_zi) d.zi = add_linear(dec + ".zero_inflation", m.n_hidden_decoder, m.n_features);
    if (m.likelihood == Likelihood::nbmixture) {
      // mean: background log-rate offset; zi: background logits; foreground: its increment.
      d.has_zi = d.has_foreground = true;
      d.zi = add_linear(dec + ".background_logit", m.n_hidden_decoder, m.n_features);
      d.foreground = add_linear(dec + ".foreground", m.n_hidden_decoder, m.n_features);
    }
    d.has_theta = is_count_likelihood(m.likelihood);
    if (d.has_theta) d.log_theta = params_.add(dec + ".log_theta", {config_.n_groups, m.n_features}, Init::normal);
    decoders_.push_back(d);
  }
  for (size_t k = 0; k < config_.categorical_levels.size(); ++k)
    embeddings_.push_back(params_.add("covariate." + std::to_string(k) + ".embedding",
                                      {config_.categorical_levels[k], config_.cond_dim}, Init::normal));
  if (config_.n_continuous > 0) {
    cont_weight_ = params_.add("continuous.embedding", {config_.n_continuous, config_.cond_dim}, Init::normal);
    cont_slope_ = params_.add("continuous.slope", {config_.n_continuous}, Init::ones);
    cont_offset_ = params_.add("continuous.offset", {config_.n_continuous}, Init::zeros);
  }
  params_.finalize(device_);
}

int64_t MultigradeNet::covariate_width() const {
  // One cond_dim-wide vector per categorical and per continuous covariate (the reference
  // sized the input this way but produced a single vector for all continuous ones).
  return config_.cond_dim * (static_cast<int64_t>(config_.categorical_levels.size()) + config_.n_continuous);
}

MultigradeNet::Linear MultigradeNet::add_linear(const std::string& name, int64_t in, int64_t out) {
  Linear l;
  l.weight = params_.add(name + ".weight", {out, in}, Init::linear_weight, in);
  l.bias = params_.add(name + ".bias", {out}, Init::linear_bias, in);
  return l;
}

std::vector<MultigradeNet::Linear> MultigradeNet::add_trunk(const std::string& name, int64_t in, int64_t hidden,
                                                            int64_t out, int n_layers) {
  // scvi FCLayers widths: [in] + [hidden] * (n_layers - 1) + [out]; n_layers = 0 still builds one block.
  std::vector<int64_t> widths = {in};
  for (int k = 0; k + 1 < n_layers; ++k) widths.push_back(hidden);
  widths.push_back(out);
  std::vector<Linear> trunk;
  for (size_t k = 0; k + 1 < widths.size(); ++k)
    trunk.push_back(add_linear(name + ".layer" + std::to_string(k), widths[k], widths[k + 1]));
  return trunk;
}

at::Tensor MultigradeNet::linear(const Linear& layer, const at::Tensor& x) const {
  return at::linear(x, params_[layer.weight], params_[layer.bias]);
}

double MultigradeNet::dropout_rate(bool train) const { return train ? config_.dropout : 0.0; }

at::Tensor MultigradeNet::activate(at::Tensor x, bool train) const {
  return block_activation(x, config_.leaky_slope, dropout_rate(train));
}

at::Tensor MultigradeNet::run_trunk(const std::vector<Linear>& trunk, at::Tensor x, bool train, size_t first) const {
  for (size_t k = first; k < trunk.size(); ++k)
    x = linear_block(x, params_[trunk[k].weight], params_[trunk[k].bias], config_.leaky_slope, dropout_rate(train));
  return x;
}

at::Tensor MultigradeNet::covariates(const Batch& batch) const {
  std::vector<at::Tensor> parts;
  for (size_t k = 0; k < embeddings_.size(); ++k)
    parts.push_back(at::embedding(params_[embeddings_[k]], batch.categorical[k]));
  if (config_.n_continuous > 0) {
    // CPA-style generalised sigmoid per covariate, each scaling its own embedding row.
    const at::Tensor squashed = at::sigmoid(batch.continuous * params_[cont_slope_] + params_[cont_offset_]);
    parts.push_back((squashed.unsqueeze(2) * params_[cont_weight_].unsqueeze(0)).flatten(1));
  }
  if (parts.empty()) return at::Tensor();
  return parts.size() == 1 ? parts[0] : at::cat(parts, 1);
}

std::vector<Gaussian> MultigradeNet::encode(const Batch& batch, const at::Tensor& cov, bool train) const {
  std::vector<Gaussian> experts;
  const at::Tensor encoder_cov = config_.condition_encoders && cov.defined() ? cov : at::Tensor();
  for (size_t m = 0; m < encoders_.size(); ++m) {
    at::Tensor h;
    const bool filled = m < batch.encoder_fill.size() && batch.encoder_fill[m].defined();
    if (batch.sparse[m].defined()) {
      const Linear& first = encoders_[m].trunk.front();
      at::Tensor affine =
          fused::sparse_affine(batch.sparse[m], params_[first.weight], params_[first.bias], encoder_cov);
      // The fill sits at features the sparse rows hold no entries for: its share of the affine map.
      if (filled)
        affine = affine + at::mm(batch.encoder_fill[m], params_[first.weight].index_select(1, batch.unmeasured[m]).t());
      h = run_trunk(encoders_[m].trunk, activate(affine, train), train, 1);
    } else {
      at::Tensor input = config_.modalities[m].log_input ? at::log1p(batch.x[m]) : batch.x[m];
      if (filled) input = input.index_copy(1, batch.unmeasured[m], batch.encoder_fill[m]);
      if (encoder_cov.defined()) input = at::cat({input, encoder_cov}, 1);
      h = run_trunk(encoders_[m].trunk, input, train);
    }
    const at::Tensor logvar = at::clamp(linear(encoders_[m].logvar, h), kMinLogvar, kMaxLogvar);
    experts.push_back({linear(encoders_[m].mu, h), logvar});
  }
  return experts;
}

at::Tensor MultigradeNet::decoder_hidden(const Decoder& d, const at::Tensor& z, const at::Tensor& cov,
                                         bool train) const {
  const at::Tensor input = (config_.condition_decoders && cov.defined()) ? at::cat({z, cov}, 1) : z;
  return run_trunk(d.trunk, input, train);
}

DecoderOutput MultigradeNet::decode(size_t modality, const at::Tensor& z, const at::Tensor& cov, bool train) const {
  const Decoder& d = decoders_[modality];
  const at::Tensor h = decoder_hidden(d, z, cov, train);
  DecoderOutput out;
  out.mean = linear(d.mean, h);
  if (d.has_zi) out.zi_logits = linear(d.zi, h);
  if (d.has_foreground) out.foreground = linear(d.foreground, h);
  return out;
}

namespace {

// Features the batch's data set does not measure (Batch::feature_offset) leave the loss: count
// and Bernoulli logits (nbmixture's background log-rate, which its foreground builds on) get
// kUnmeasuredLogit, so the expected value is 0 and the likelihood of the zero-filled value is
// 1; squared error predicts the value itself. Either way their terms and gradients are 0.
DecoderOutput without_unmeasured(const DecoderOutput& out, const at::Tensor& offset, Likelihood likelihood,
                                 const at::Tensor& x) {
  if (!offset.defined()) return out;
  DecoderOutput masked = out;
  if (likelihood == Likelihood::mse)
    masked.mean = at::where(offset.eq(0), out.mean, x);
  else
    masked.mean = out.mean + offset;
  return masked;
}

}  // namespace

at::Tensor MultigradeNet::reconstruction_loss(size_t modality, const DecoderOutput& decoded, const Batch& batch) const {
  const Decoder& d = decoders_[modality];
  const DecoderOutput out = without_unmeasured(decoded, batch.feature_offset[modality],
                                               config_.modalities[modality].likelihood, batch.x[modality]);
  const at::Tensor& x = batch.x[modality];
  switch (config_.modalities[modality].likelihood) {
    case Likelihood::mse:
      return squared_error(x, out.mean);
    case Likelihood::bernoulli:
      return bernoulli_nll(x, out.mean);
    case Likelihood::nb:
    case Likelihood::zinb: {
      // One dispersion row per integrate_on group.
      const at::Tensor& table = params_[d.log_theta];
      if (!d.has_zi)
        return nb_loss(batch.sparse[modality], x, out.mean, batch.log_library[modality], table, batch.group,
                       batch.lgamma_const[modality]);
      return zinb_nll(x, out.mean, out.zi_logits, batch.log_library[modality], rows_by_group(table, batch.group),
                      batch.lgamma_const[modality]);
    }
    case Likelihood::nbmixture:
      return nb_mixture_nll(x, out.mean, out.foreground, out.zi_logits, batch.log_library[modality],
                            rows_by_group(params_[d.log_theta], batch.group), batch.lgamma_const[modality]);
  }
  return at::Tensor();
}

at::Tensor MultigradeNet::decoder_loss(size_t modality, const at::Tensor& z, const at::Tensor& cov, const Batch& batch,
                                       bool train, const at::Tensor& row_weights) const {
  if (config_.modalities[modality].likelihood != Likelihood::nb)
    return reconstruction_loss(modality, decode(modality, z, cov, train), batch);
  const Decoder& d = decoders_[modality];
  const at::Tensor& offset = batch.feature_offset[modality];
  const at::Tensor bias = offset.defined() ? params_[d.mean.bias] + offset : params_[d.mean.bias];
  return nb_head_loss(batch.sparse[modality], batch.x[modality], decoder_hidden(d, z, cov, train),
                      params_[d.mean.weight], bias, batch.log_library[modality], params_[d.log_theta], batch.group,
                      batch.lgamma_const[modality], row_weights);
}

}  // namespace multigrade
