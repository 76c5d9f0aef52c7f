#include "testing/kernel_comparisons.h"

#include <ATen/ATen.h>

#include <cmath>
#include <stdexcept>

#include "data/dataset.h"
#include "kernels/fused_block.h"
#include "kernels/fused_sparse_affine.h"
#include "model/blocks.h"
#include "model/divergences.h"
#include "model/likelihoods.h"

namespace multigrade {
namespace testing {

namespace {

double max_relative_error(const at::Tensor& fast, const at::Tensor& reference) {
  const at::Tensor ref = reference.to(at::kDouble);
  const double scale = ref.abs().max().item<double>() + 1e-12;
  return (fast.to(at::kDouble) - ref).abs().max().item<double>() / scale;
}

// Counts like real data: mostly zeros, small integers, a few large and non-integer values.
at::Tensor random_counts(int64_t rows, int64_t features) {
  const at::Tensor u = at::rand({rows, features}, at::kDouble);
  const at::Tensor small = at::randint(1, 17, {rows, features}, at::kDouble);  // table and short sums
  const at::Tensor large = at::randint(17, 400, {rows, features}, at::kDouble);
  at::Tensor x = at::where(u < 0.7, at::zeros_like(u), small);
  x = at::where(u > 0.97, large, x);
  return at::where((u > 0.95) & (u <= 0.97), small + 0.5, x);
}

}  // namespace

FusedComparison compare_fused_nb(int64_t rows, int64_t features, int64_t n_groups, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor x = random_counts(rows, features);
  const at::Tensor logits = at::randn({rows, features}, at::kDouble) * 2.0;
  const at::Tensor log_library = at::log(at::rand({rows}, at::kDouble) * 4500.0 + 500.0);
  const at::Tensor table = at::randn({n_groups, features}, at::kDouble) * 1.5;
  const at::Tensor group = at::randint(0, n_groups, {rows}, at::kLong);
  const at::Tensor lgamma_const = at::lgamma(x + 1.0).sum(1);
  const at::Tensor weights = at::rand({rows}, at::kDouble);

  const at::Tensor ref_logits = logits.clone().requires_grad_(true);
  const at::Tensor ref_table = table.clone().requires_grad_(true);
  const at::Tensor ref = nb_nll(x, ref_logits, log_library, rows_by_group(ref_table, group), lgamma_const);
  (ref * weights).sum().backward();

  const at::Tensor fast_logits = logits.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast_table = table.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast = nb_loss(sparse_rows_from_dense(x, false), at::Tensor(), fast_logits,
                                  log_library.to(at::kFloat), fast_table, group, lgamma_const.to(at::kFloat));
  (fast * weights.to(at::kFloat)).sum().backward();

  FusedComparison out;
  out.value_error = ((fast.to(at::kDouble) - ref).abs() / (ref.abs() + 1.0)).max().item<double>();
  out.gradient_error = max_relative_error(fast_logits.grad(), ref_logits.grad());
  out.theta_gradient_error = max_relative_error(fast_table.grad(), ref_table.grad());
  return out;
}

NbHeadComparison compare_nb_head(int64_t rows, int64_t features, int64_t hidden, int64_t n_groups, bool existing_grad,
                                 bool row_weighted, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor x = random_counts(rows, features);
  const at::Tensor h = at::randn({rows, hidden}, at::kDouble);
  const at::Tensor weight = at::randn({features, hidden}, at::kDouble) * 0.3;
  const at::Tensor bias = at::randn({features}, at::kDouble);
  const at::Tensor log_library = at::log(at::rand({rows}, at::kDouble) * 4500.0 + 500.0);
  const at::Tensor table = at::randn({n_groups, features}, at::kDouble) * 1.5;
  const at::Tensor group = at::randint(0, n_groups, {rows}, at::kLong);
  const at::Tensor lgamma_const = at::lgamma(x + 1.0).sum(1);
  // Every fifth cell weighs 0, as cells without the modality do.
  const at::Tensor weights = at::rand({rows}, at::kDouble) * (at::arange(rows) % 5 != 0).to(at::kDouble);
  const at::Tensor earlier_grad = at::randn({features, hidden}, at::kDouble);

  std::vector<at::Tensor> ref = {h.clone(), weight.clone(), bias.clone(), table.clone()};
  for (auto& t : ref) t.requires_grad_(true);
  const at::Tensor ref_loss =
      nb_nll(x, at::linear(ref[0], ref[1], ref[2]), log_library, rows_by_group(ref[3], group), lgamma_const);
  (ref_loss * weights * 0.25).sum().backward();

  std::vector<at::Tensor> fast;
  for (const auto& t : {h, weight, bias, table}) fast.push_back(t.to(at::kFloat).requires_grad_(true));
  if (existing_grad) fast[1].mutable_grad() = earlier_grad.to(at::kFloat);
  const at::Tensor fast_weights = weights.to(at::kFloat);
  const auto fast_head_loss = [&] {
    return nb_head_loss(sparse_rows_from_dense(x, false), at::Tensor(), fast[0], fast[1], fast[2],
                        log_library.to(at::kFloat), fast[3], group, lgamma_const.to(at::kFloat),
                        row_weighted ? fast_weights : at::Tensor());
  };
  const at::Tensor fast_loss = fast_head_loss();
  (fast_loss * fast_weights * 0.25).sum().backward();  // upstream 0.25 * weights: weighted mode's factor is not 1

  // Validation's no-grad pass (with the same row weights) takes the kernel's other branch.
  at::Tensor no_grad_loss;
  {
    at::NoGradGuard no_grad;
    no_grad_loss = fast_head_loss();
  }
  NbHeadComparison out;
  const auto value_error = [&](const at::Tensor& fast_value) {
    return ((fast_value.to(at::kDouble) - ref_loss).abs() / (ref_loss.abs() + 1.0)).max().item<double>();
  };
  out.value_error = std::max(value_error(fast_loss), value_error(no_grad_loss));
  out.hidden_error = max_relative_error(fast[0].grad(), ref[0].grad());
  out.weight_error = max_relative_error(
      fast[1].grad().to(at::kDouble) - (existing_grad ? earlier_grad : at::zeros_like(weight)), ref[1].grad());
  out.bias_error = max_relative_error(fast[2].grad(), ref[2].grad());
  out.table_error = max_relative_error(fast[3].grad(), ref[3].grad());
  return out;
}

bool nb_head_rejects_other_upstream(uint64_t seed) {
  at::manual_seed(seed);
  const int64_t rows = 40, features = 30, hidden = 8;
  const at::Tensor x = random_counts(rows, features);
  const at::Tensor h = at::randn({rows, hidden}).requires_grad_(true);
  const at::Tensor weight = (at::randn({features, hidden}) * 0.3).requires_grad_(true);
  const at::Tensor bias = at::zeros({features}).requires_grad_(true);
  const at::Tensor table = at::zeros({1, features}).requires_grad_(true);
  const at::Tensor lgamma_const = at::lgamma(x + 1.0).sum(1).to(at::kFloat);
  const at::Tensor loss =
      nb_head_loss(sparse_rows_from_dense(x, false), at::Tensor(), h, weight, bias, at::full({rows}, 7.0), table,
                   at::zeros({rows}, at::kLong), lgamma_const, at::ones({rows}));
  try {
    (loss * at::rand({rows})).sum().backward();  // not proportional to the promised weights
  } catch (const std::exception&) {
    return true;
  }
  return false;
}

FusedComparison compare_sparse_affine(int64_t rows, int64_t features, int64_t hidden, int64_t n_rest, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor x = random_counts(rows, features);
  const at::Tensor weight = at::randn({hidden, features + n_rest}, at::kDouble) * 0.1;
  const at::Tensor bias = at::randn({hidden}, at::kDouble);
  const at::Tensor rest = at::randn({rows, n_rest}, at::kDouble);
  const at::Tensor upstream = at::randn({rows, hidden}, at::kDouble);

  const at::Tensor ref_weight = weight.clone().requires_grad_(true);
  const at::Tensor ref_rest = rest.clone().requires_grad_(true);
  const at::Tensor ref = at::linear(at::cat({at::log1p(x), ref_rest}, 1), ref_weight, bias);
  (ref * upstream).sum().backward();

  const at::Tensor fast_weight = weight.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast_rest = rest.to(at::kFloat).requires_grad_(true);
  // As in training, the weight's gradient buffer exists and the node adds to it in place.
  const at::Tensor earlier_grad = at::randn({hidden, features + n_rest}, at::kDouble);
  fast_weight.mutable_grad() = earlier_grad.to(at::kFloat);
  const at::Tensor fast = fused::sparse_affine(sparse_rows_from_dense(x, true), fast_weight, bias.to(at::kFloat),
                                               n_rest > 0 ? fast_rest : at::Tensor());
  (fast * upstream.to(at::kFloat)).sum().backward();
  FusedComparison out;
  out.value_error = max_relative_error(fast, ref);
  out.gradient_error = max_relative_error(fast_weight.grad().to(at::kDouble) - earlier_grad, ref_weight.grad());
  if (n_rest > 0) out.theta_gradient_error = max_relative_error(fast_rest.grad(), ref_rest.grad());
  return out;
}

FusedComparison compare_fused_rbf(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  // Squared distances spanning the bandwidths' scales, 0 included.
  const at::Tensor dist = at::exp(at::rand({n}, at::kDouble) * 24.0 - 16.0) * (at::rand({n}, at::kDouble) > 0.05);
  const at::Tensor weights = at::randn({n}, at::kDouble);
  const std::vector<double>& gammas = kernel_gammas();
  const at::Tensor ref_dist = dist.clone().requires_grad_(true);
  const at::Tensor ref = multi_scale_rbf(ref_dist, gammas);  // double: the ATen composition
  (ref * weights).sum().backward();
  const at::Tensor fast_dist = dist.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast = multi_scale_rbf(fast_dist, gammas);
  (fast * weights.to(at::kFloat)).sum().backward();
  FusedComparison out;
  out.value_error = max_relative_error(fast, ref);
  out.gradient_error = max_relative_error(fast_dist.grad(), ref_dist.grad());
  return out;
}

FusedComparison compare_group_mmd(int64_t n, int64_t d, int64_t n_groups, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor z = at::randn({n, d}, at::kDouble) * 0.7;
  at::Tensor code = at::randint(0, n_groups, {n}, at::kLong);
  code.narrow(0, 0, 3).fill_(-1);  // in no group
  code[3] = n_groups;              // the only cell of the last group: fewer than two cells
  const at::Tensor membership =
      at::one_hot(at::clamp_min(code, 0), n_groups + 1).to(at::kDouble) * (code >= 0).to(at::kDouble).unsqueeze(1);
  const at::Tensor upstream = at::scalar_tensor(1.7, at::kDouble);

  const at::Tensor ref_z = z.clone().requires_grad_(true);
  const at::Tensor ref = mmd_from_kernel_matrix(ref_z, membership);
  (ref * upstream).backward();
  const at::Tensor fast_z = z.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast = mmd_group_pairs(fast_z, membership.to(at::kFloat));
  (fast * upstream.to(at::kFloat)).backward();

  FusedComparison out;
  out.value_error = std::fabs(fast.item<double>() - ref.item<double>()) / (std::fabs(ref.item<double>()) + 1e-12);
  out.gradient_error = max_relative_error(fast_z.grad(), ref_z.grad());
  return out;
}

FusedComparison compare_block_activation(int64_t rows, int64_t width, double p, uint64_t seed) {
  constexpr double kSlope = 0.01;
  at::manual_seed(seed);
  // Shifted and scaled rows, as linear maps produce. Without dropout, one constant row too
  // (variance 0; its output is 0, which would hide a dropout mask): 0.5 keeps its mean exact
  // in float, where a mean of 0.7s would leave signs of rounding for LeakyReLU to amplify.
  at::Tensor x = at::randn({rows, width}, at::kDouble) * 3.0 + 1.5;
  if (p == 0) x[0].fill_(0.5);
  const at::Tensor upstream = at::randn({rows, width}, at::kDouble);

  const at::Tensor fast_x = x.to(at::kFloat).requires_grad_(true);
  const at::Tensor fast = block_activation(fast_x, kSlope, p);
  (fast * upstream.to(at::kFloat)).sum().backward();

  const at::Tensor ref_x = x.clone().requires_grad_(true);
  const at::Tensor undropped = at::leaky_relu(at::layer_norm(ref_x, {width}, {}, {}, fused::kLayerNormEps), kSlope);
  // The fused op's mask, read off its output: kept entries are undropped / (1 - p).
  const at::Tensor kept = p > 0 ? (fast.detach().to(at::kDouble) != 0).to(at::kDouble) : at::ones_like(x);
  const at::Tensor ref = undropped * kept / (1.0 - p);
  (ref * upstream).sum().backward();

  FusedComparison out;
  out.value_error = max_relative_error(fast, ref);
  out.gradient_error = max_relative_error(fast_x.grad(), ref_x.grad());
  const double keep_rate = kept.mean().item<double>();
  out.theta_gradient_error = std::fabs(keep_rate - (1.0 - p));
  return out;
}

LinearBlockComparison compare_linear_block(int64_t rows, int64_t in, int64_t out, double p, uint64_t seed) {
  constexpr double kSlope = 0.01;
  at::manual_seed(seed);
  const at::Tensor x = at::randn({rows, in}, at::kDouble);
  const at::Tensor weight = at::randn({out, in}, at::kDouble) * 0.3;
  const at::Tensor bias = at::randn({out}, at::kDouble) * 2.0;
  const at::Tensor upstream = at::randn({rows, out}, at::kDouble);
  const at::Tensor earlier_grad = at::randn({out, in}, at::kDouble);

  std::vector<at::Tensor> fast;
  for (const auto& t : {x, weight, bias}) fast.push_back(t.to(at::kFloat).requires_grad_(true));
  fast[1].mutable_grad() = earlier_grad.to(at::kFloat);
  const at::Tensor fast_y = linear_block(fast[0], fast[1], fast[2], kSlope, p);
  (fast_y * upstream.to(at::kFloat)).sum().backward();

  std::vector<at::Tensor> ref = {x.clone(), weight.clone(), bias.clone()};
  for (auto& t : ref) t.requires_grad_(true);
  const at::Tensor undropped =
      at::leaky_relu(at::layer_norm(at::linear(ref[0], ref[1], ref[2]), {out}, {}, {}, fused::kLayerNormEps), kSlope);
  // The fused node's mask, read off its output: kept entries are undropped / (1 - p).
  const at::Tensor kept = p > 0 ? (fast_y.detach().to(at::kDouble) != 0).to(at::kDouble) : at::ones_like(undropped);
  const at::Tensor ref_y = undropped * kept / (1.0 - p);
  (ref_y * upstream).sum().backward();

  LinearBlockComparison c;
  c.value_error = max_relative_error(fast_y, ref_y);
  c.input_error = max_relative_error(fast[0].grad(), ref[0].grad());
  c.weight_error = max_relative_error(fast[1].grad().to(at::kDouble) - earlier_grad, ref[1].grad());
  c.bias_error = max_relative_error(fast[2].grad(), ref[2].grad());
  return c;
}

std::pair<double, bool> dropout_mask_summary(int64_t n, double p, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor ones = at::ones({n}, at::kFloat);
  const at::Tensor y = dropout(ones, p);
  const at::Tensor kept = y > 0;
  const bool exact = ((y == 0) | (y == static_cast<float>(1.0 / (1.0 - p)))).all().item<bool>();
  return {kept.to(at::kDouble).mean().item<double>(), exact};
}

}  // namespace testing
}  // namespace multigrade
