// The Multigrate network: per-modality encoders and decoders built from FC blocks
// (Linear -> LayerNorm without affine -> LeakyReLU -> Dropout, on every block), and
// categorical/continuous covariate embeddings that condition both.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "api.h"
#include "data/dataset.h"
#include "model/parameters.h"
#include "model/posterior.h"

namespace multigrade {

struct DecoderOutput {
  at::Tensor mean;        // logits (nb, zinb, bernoulli) or values (mse), B x d
  at::Tensor zi_logits;   // zinb zero-inflation logits, nbmixture background logits, B x d
  at::Tensor foreground;  // nbmixture: foreground increment (pre-softplus), B x d
};

class MultigradeNet {
 public:
  MultigradeNet(const ModelConfig& config, const at::Device& device);

  const ModelConfig& config() const { return config_; }
  ParameterStore& params() { return params_; }
  const ParameterStore& params() const { return params_; }
  const at::Device& device() const { return device_; }

  at::Tensor covariates(const Batch& batch) const;  // B x C, undefined without covariates
  std::vector<Gaussian> encode(const Batch& batch, const at::Tensor& cov, bool train) const;
  DecoderOutput decode(size_t modality, const at::Tensor& z, const at::Tensor& cov, bool train) const;
  // Per-cell reconstruction loss (negative log-likelihood or squared error), B.
  at::Tensor reconstruction_loss(size_t modality, const DecoderOutput& out, const Batch& batch) const;
  // decode() then reconstruction_loss(), except for nb, whose output layer and loss are one
  // fused node (nb_head_loss) that never materialises the biased logits. row_weights: see
  // nb_head_loss (the caller's promise about how the loss is used), or undefined.
  at::Tensor decoder_loss(size_t modality, const at::Tensor& z, const at::Tensor& cov, const Batch& batch, bool train,
                          const at::Tensor& row_weights = at::Tensor()) const;

 private:
  struct Linear {
    size_t weight = 0, bias = 0;
  };
  struct Encoder {
    std::vector<Linear> trunk;
    Linear mu, logvar;
  };
  struct Decoder {
    std::vector<Linear> trunk;
    Linear mean, zi, foreground;
    bool has_zi = false;
    bool has_foreground = false;
    bool has_theta = false;
    size_t log_theta = 0;  // n_groups x d
  };

  Linear add_linear(const std::string& name, int64_t in, int64_t out);
  std::vector<Linear> add_trunk(const std::string& name, int64_t in, int64_t hidden, int64_t out, int n_layers);
  at::Tensor linear(const Linear& layer, const at::Tensor& x) const;
  double dropout_rate(bool train) const;
  // LayerNorm -> LeakyReLU -> Dropout after a block's linear map (the sparse first layer's).
  at::Tensor activate(at::Tensor x, bool train) const;
  // The trunk's blocks (linear map, then the activation; one fused node each) from `first` on.
  at::Tensor run_trunk(const std::vector<Linear>& trunk, at::Tensor x, bool train, size_t first = 0) const;
  int64_t covariate_width() const;
  at::Tensor decoder_hidden(const Decoder& d, const at::Tensor& z, const at::Tensor& cov, bool train) const;

  ModelConfig config_;
  at::Device device_;
  ParameterStore params_;
  std::vector<Encoder> encoders_;
  std::vector<Decoder> decoders_;
  std::vector<size_t> embeddings_;  // one table per categorical covariate
  size_t cont_weight_ = 0, cont_slope_ = 0, cont_offset_ = 0;
};

}  // namespace multigrade
