#include "mil/mil_network.h"

#include <ATen/ATen.h>

#include "model/blocks.h"

namespace multigrade {

at::Tensor embedding_tensor(const MilData& data, const at::Device& device) {
  const at::Tensor columns = at::from_blob(const_cast<double*>(data.embedding), {data.input_dim, data.n_cells},
                                           at::TensorOptions().dtype(at::kDouble));
  return columns.t().to(at::kFloat).contiguous().to(device);
}

MilNet::MilNet(const MilConfig& config, const at::Device& device) : config_(config) {
  const int64_t d = config_.input_dim;
  for (int k = 0; k < config_.n_layers_cell; ++k)
    cell_layers_.push_back(add_linear("mil.cell.layer" + std::to_string(k), d, d));
  if (config_.scoring != MilScoring::mean) {
    attention_v_ = add_linear("mil.attention.V", d, config_.attention_dim);
    if (config_.scoring == MilScoring::gated_attention)
      attention_u_ = add_linear("mil.attention.U", d, config_.attention_dim);
    attention_w_ = add_linear("mil.attention.w", config_.attention_dim, 1, /*bias=*/false);
  }
  int64_t width = d;
  for (int k = 0; k + 1 < config_.n_layers_head; ++k) {
    head_layers_.push_back(add_linear("mil.head.layer" + std::to_string(k), width, config_.n_hidden_head));
    width = config_.n_hidden_head;
  }
  const int64_t n_out = config_.task == MilTask::classification ? config_.n_classes : 1;
  head_out_ = add_linear("mil.head.output", width, n_out);
  if (config_.task == MilTask::ordinal)
    thresholds_ = params_.add("mil.head.thresholds", {config_.n_classes - 1}, Init::zeros);
  params_.finalize(device);
}

MilNet::Linear MilNet::add_linear(const std::string& name, int64_t in, int64_t out, bool bias) {
  Linear l;
  l.weight = params_.add(name + ".weight", {out, in}, Init::linear_weight, in);
  l.has_bias = bias;
  if (bias) l.bias = params_.add(name + ".bias", {out}, Init::linear_bias, in);
  return l;
}

at::Tensor MilNet::linear(const Linear& layer, const at::Tensor& x) const {
  return layer.has_bias ? at::linear(x, params_[layer.weight], params_[layer.bias])
                        : at::linear(x, params_[layer.weight]);
}

// scvi FCLayers block as in the reference: Linear -> LayerNorm (no affine) -> LeakyReLU -> Dropout.
at::Tensor MilNet::block(const Linear& layer, const at::Tensor& x, bool train) const {
  at::Tensor h = linear(layer, x);
  h = at::layer_norm(h, {h.size(1)}, {}, {}, 1e-5);
  h = at::leaky_relu(h, config_.leaky_slope);
  if (train && config_.dropout > 0) h = dropout(h, config_.dropout);
  return h;
}

at::Tensor MilNet::attention_logits(const at::Tensor& h) const {
  if (config_.scoring == MilScoring::mean) return at::zeros({h.size(0)}, h.options());
  at::Tensor a = at::tanh(linear(attention_v_, h));
  if (config_.scoring == MilScoring::gated_attention) a = a * at::sigmoid(linear(attention_u_, h));
  return linear(attention_w_, a).squeeze(1);
}

MilForward MilNet::forward(const at::Tensor& x, const at::Tensor& bag, int64_t n_bags, bool train) const {
  at::Tensor h = x;
  for (const auto& layer : cell_layers_) h = block(layer, h, train);
  // Softmax within each bag. Attention logits are bounded (|a| <= sum |w|), so one shift by
  // the global maximum is safe; the floor keeps every bag's sum positive regardless.
  const at::Tensor logits = attention_logits(h);
  const at::Tensor e = at::exp(at::clamp_min(logits - logits.detach().max(), -80.0));
  const at::Tensor bag_sum = at::zeros({n_bags}, logits.options()).index_add(0, bag, e);
  MilForward out;
  out.attention = e / bag_sum.index_select(0, bag);
  out.pooled = at::zeros({n_bags, h.size(1)}, h.options()).index_add(0, bag, out.attention.unsqueeze(1) * h);
  at::Tensor y = out.pooled;
  for (const auto& layer : head_layers_) y = block(layer, y, train);
  out.output = linear(head_out_, y);
  return out;
}

at::Tensor MilNet::ordinal_thresholds() const {
  // b_1 = t_1, b_k = b_{k-1} + softplus(t_k): ordered by construction.
  const at::Tensor& t = params_[thresholds_];
  if (t.size(0) == 1) return t;
  return at::cumsum(at::cat({t.narrow(0, 0, 1), at::softplus(t.narrow(0, 1, t.size(0) - 1))}), 0);
}

at::Tensor MilNet::loss(const at::Tensor& output, const at::Tensor& target) const {
  switch (config_.task) {
    case MilTask::classification:
      return -at::log_softmax(output, 1).gather(1, target.to(at::kLong).unsqueeze(1)).squeeze(1);
    case MilTask::regression:
      return (output.squeeze(1) - target).pow(2);
    case MilTask::ordinal: {
      // Cumulative logits (proportional odds): P(y > k) = sigmoid(score - b_k), one binary
      // cross-entropy per threshold, instead of the reference's MSE on the level code.
      const at::Tensor cumulative = output - ordinal_thresholds().unsqueeze(0);  // bags x (K - 1)
      const at::Tensor levels = at::arange(config_.n_classes - 1, target.options()).unsqueeze(0);
      const at::Tensor above = (target.unsqueeze(1) > levels).to(cumulative.scalar_type());
      return at::binary_cross_entropy_with_logits(cumulative, above, {}, {}, at::Reduction::None).sum(1);
    }
  }
  return at::Tensor();
}

at::Tensor MilNet::predict(const at::Tensor& output) const {
  switch (config_.task) {
    case MilTask::classification:
      return at::softmax(output, 1);
    case MilTask::regression:
      return output;
    case MilTask::ordinal: {
      const at::Tensor above = at::sigmoid(output - ordinal_thresholds().unsqueeze(0));
      const at::Tensor ones = at::ones({output.size(0), 1}, output.options());
      const at::Tensor zeros = at::zeros({output.size(0), 1}, output.options());
      const at::Tensor upper = at::cat({ones, above}, 1), lower = at::cat({above, zeros}, 1);
      return at::clamp_min(upper - lower, 0.0);
    }
  }
  return at::Tensor();
}

}  // namespace multigrade
