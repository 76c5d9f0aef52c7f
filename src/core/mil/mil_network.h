// The MultiMIL network: a cell transform (FC block), gated or plain attention over the
// cells of each bag, attention pooling, and one prediction head for the task.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "mil_api.h"
#include "model/parameters.h"

namespace multigrade {

struct MilForward {
  at::Tensor output;     // n_bags x n_outputs: class logits, ordinal score, or value
  at::Tensor attention;  // n_cells, softmax within each bag
  at::Tensor pooled;     // n_bags x input_dim
};

// The caller's column-major cells x dims doubles as a row-major float tensor on `device`.
at::Tensor embedding_tensor(const MilData& data, const at::Device& device);

class MilNet {
 public:
  MilNet(const MilConfig& config, const at::Device& device);

  const MilConfig& config() const { return config_; }
  ParameterStore& params() { return params_; }
  const ParameterStore& params() const { return params_; }

  // `x`: cells x input_dim; `bag`: cells int64 bag index in [0, n_bags).
  MilForward forward(const at::Tensor& x, const at::Tensor& bag, int64_t n_bags, bool train) const;
  // Per-bag loss (cross-entropy, cumulative-logit ordinal loss, or squared error), n_bags.
  at::Tensor loss(const at::Tensor& output, const at::Tensor& target) const;
  // Per-bag outputs on the user's scale: class probabilities, or the value.
  at::Tensor predict(const at::Tensor& output) const;

 private:
  struct Linear {
    size_t weight = 0, bias = 0;
    bool has_bias = true;
  };

  Linear add_linear(const std::string& name, int64_t in, int64_t out, bool bias = true);
  at::Tensor linear(const Linear& layer, const at::Tensor& x) const;
  at::Tensor block(const Linear& layer, const at::Tensor& x, bool train) const;
  at::Tensor attention_logits(const at::Tensor& h) const;
  at::Tensor ordinal_thresholds() const;  // increasing, n_classes - 1

  MilConfig config_;
  ParameterStore params_;
  std::vector<Linear> cell_layers_;
  Linear attention_v_, attention_u_, attention_w_;
  std::vector<Linear> head_layers_;
  Linear head_out_;
  size_t thresholds_ = 0;
};

}  // namespace multigrade
