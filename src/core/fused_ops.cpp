#include "fused_ops.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>

#include <mutex>

#include "block_kernel.h"
#include "dropout_mask.h"
#include "likelihoods.h"
#include "nb_kernel.h"
#include "rbf_kernel.h"
#include "sparse_matmul.h"

namespace multigrade {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Whether a fused loss must compute its gradients: decided by the caller, because inside a
// custom Function's forward grad mode is always off, and parameters require gradients even
// in no-grad passes (validation), where the gradient buffers would be wasted work.
bool gradients_wanted(std::initializer_list<at::Tensor> inputs) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

// The big weight gradients (the sparse first layer's and the NB output layer's, G x H) are
// added by the GEMM itself (beta = 1) into the weight's gradient buffer, the flat buffer of
// parameters.h, instead of coming back as a new tensor that autograd then adds in a second
// pass over 2 MB. Forward remembers that buffer when the weight has one.
void remember_weight_grad(AutogradContext* ctx, const at::Tensor& weight) {
  if (weight.requires_grad() && weight.grad().defined()) ctx->saved_data["weight_grad"] = weight.grad();
}

// a b into the remembered buffer (returns undefined: nothing left for autograd to add), or as
// a new tensor.
at::Tensor weight_grad_product(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
  const auto remembered = ctx->saved_data.find("weight_grad");
  if (remembered == ctx->saved_data.end()) return at::mm(a, b);
  remembered->second.toTensor().addmm_(a, b);
  return at::Tensor();
}

// The kernel's group codes: null when there is one dispersion row (every cell in group 0).
const int64_t* group_codes(const at::Tensor& groups, int64_t n_groups) {
  return n_groups > 1 ? groups.data_ptr<int64_t>() : nullptr;
}

// The fused NB kernel's inputs as contiguous float tensors, with the unit-upstream gradient
// buffers when gradients are needed; logits must outlive the kernel call.
struct NbKernelCall {
  at::Tensor log_theta, theta, lib, lgc, groups, nll, grad_logits, grad_log_theta;
  NbKernelArgs args;

  NbKernelCall(const at::Tensor& logits, const at::Tensor& log_theta_table, const SparseRows& rows,
               const at::Tensor& log_library, const at::Tensor& group, const at::Tensor& lgamma_const,
               bool need_grads)
      : log_theta(log_theta_table.contiguous()),
        theta(log_theta.exp()),
        lib(log_library.contiguous()),
        lgc(lgamma_const.contiguous()),
        groups(group.contiguous()),
        nll(at::empty({logits.size(0)}, logits.options())) {
    args.n_rows = logits.size(0);
    args.n_features = logits.size(1);
    args.row_ptr = rows.row_ptr.data_ptr<int64_t>();
    args.col = rows.col.data_ptr<int32_t>();
    args.values = rows.values.data_ptr<float>();
    args.logits = logits.data_ptr<float>();
    args.log_library = lib.data_ptr<float>();
    args.lgamma_const = lgc.data_ptr<float>();
    args.log_theta = log_theta.data_ptr<float>();
    args.theta = theta.data_ptr<float>();
    args.group = group_codes(groups, n_groups());
    args.nll = nll.data_ptr<float>();
    if (need_grads) {
      grad_logits = at::empty_like(logits);
      grad_log_theta = at::empty_like(logits);
      args.grad_logits = grad_logits.data_ptr<float>();
      args.grad_log_theta = grad_log_theta.data_ptr<float>();
    }
  }

  int64_t n_groups() const { return log_theta.size(0); }
};

// Saves each cell's gradients for a unit upstream gradient; backward scales them.
class FusedNbLoss : public torch::autograd::Function<FusedNbLoss> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& log_theta_table,
                            const SparseRows& rows, const at::Tensor& log_library, const at::Tensor& group,
                            const at::Tensor& lgamma_const, bool need_grads) {
    const at::Tensor l = logits.contiguous();
    NbKernelCall call(l, log_theta_table, rows, log_library, group, lgamma_const, need_grads);
    nb_loss_cpu(call.args);
    if (need_grads) {
      ctx->save_for_backward({call.grad_logits, call.grad_log_theta, call.groups});
      ctx->saved_data["n_groups"] = call.n_groups();
    }
    return call.nll;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor upstream = grad_output[0].contiguous();
    // The saved buffers belong to this node alone and backward runs once: scale in place.
    at::Tensor grad_logits = saved[0];
    const at::Tensor& grad_log_theta = saved[1];
    const int64_t n_groups = ctx->saved_data["n_groups"].toInt();
    at::Tensor grad_table = at::empty({n_groups, grad_logits.size(1)}, grad_logits.options());
    nb_loss_backward_cpu(grad_logits.size(0), grad_logits.size(1), upstream.data_ptr<float>(),
                         group_codes(saved[2], n_groups), n_groups, grad_logits.data_ptr<float>(),
                         grad_log_theta.data_ptr<float>(), grad_table.data_ptr<float>());
    return {grad_logits, grad_table, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The row weights of nb_head_loss's promise, passed to the node as a non-tensor argument
// (autograd's inputs are tensors that may receive gradients) and never differentiated.
struct RowWeights {
  at::Tensor weights;
};

// The decoder's output layer and the NB loss as one node: logits = h W^T + b, loss per cell.
// Against a linear node feeding FusedNbLoss it saves passes over the B x G matrices: the bias
// is added per row inside the kernel (no biased copy); given the row weights that the upstream
// gradient will be proportional to, the kernel itself reduces the bias and dispersion
// gradients (no B x G dispersion gradient is written or read back); the upstream weights
// scale h and the B x H product instead of the gradient; and the weight gradient is added in
// place (weight_grad_product).
class FusedNbHead : public torch::autograd::Function<FusedNbHead> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& log_theta_table, const SparseRows& rows,
                            const at::Tensor& log_library, const at::Tensor& group, const at::Tensor& lgamma_const,
                            const RowWeights& row_weights, bool need_grads) {
    const at::Tensor h = hidden.contiguous();
    const at::Tensor b = bias.contiguous();
    const at::Tensor logits = at::mm(h, weight.t());
    NbKernelCall call(logits, log_theta_table, rows, log_library, group, lgamma_const, /*need_grads=*/false);
    call.args.logit_bias = b.data_ptr<float>();
    if (!need_grads) {
      nb_loss_cpu(call.args);
      return call.nll;
    }
    const at::Tensor weights = row_weights.weights.to(at::kFloat).contiguous();
    const at::Tensor grad_logits = at::empty_like(logits);
    const at::Tensor weighted_table = at::empty_like(call.log_theta);
    const at::Tensor weighted_bias = at::empty({logits.size(1)}, logits.options());
    call.args.grad_logits = grad_logits.data_ptr<float>();
    call.args.row_weights = weights.data_ptr<float>();
    call.args.n_table_rows = call.n_groups();
    call.args.weighted_grad_table = weighted_table.data_ptr<float>();
    call.args.weighted_grad_logits = weighted_bias.data_ptr<float>();
    nb_loss_cpu(call.args);
    ctx->save_for_backward({grad_logits, h, weight, weights, weighted_table, weighted_bias});
    remember_weight_grad(ctx, weight);
    return call.nll;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor upstream = grad_output[0].contiguous();
    const at::Tensor& grad_logits = saved[0];
    const at::Tensor& h = saved[1];
    const at::Tensor& weight = saved[2];
    const double c = upstream_factor(upstream, saved[3]);
    const at::Tensor u = upstream.unsqueeze(1);
    at::Tensor grad_hidden, grad_weight;
    if (ctx->needs_input_grad(0)) grad_hidden = at::mm(grad_logits, weight).mul_(u);
    if (ctx->needs_input_grad(1)) grad_weight = weight_grad_product(ctx, grad_logits.t(), h * u);
    return {grad_hidden, grad_weight, saved[5] * c, saved[4] * c, at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }

 private:
  // c with upstream = c * row_weights, which the kernel's reductions rely on (nb_head_loss's contract);
  // anything else is a caller's error, raised rather than turned into a wrong gradient.
  static double upstream_factor(const at::Tensor& upstream, const at::Tensor& row_weights) {
    const float* u = upstream.data_ptr<float>();
    const float* w = row_weights.data_ptr<float>();
    const int64_t n = upstream.numel();
    double c = 0;
    for (int64_t b = 0; b < n; ++b)
      if (w[b] != 0.0f) {
        c = static_cast<double>(u[b]) / w[b];
        break;
      }
    for (int64_t b = 0; b < n; ++b) {
      const double expected = c * w[b];
      TORCH_CHECK(std::fabs(u[b] - expected) <= 1e-5 * std::fabs(expected) + 1e-30,
                  "nb_head_loss with row_weights: the loss must be used only through a constant times "
                  "sum(row_weights * loss); cell ", b, " has upstream gradient ", u[b], ", expected ", expected);
    }
    return c;
  }
};

class FusedMultiScaleRbf : public torch::autograd::Function<FusedMultiScaleRbf> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& dist, const std::vector<double>& gammas) {
    const at::Tensor d = dist.contiguous();
    const std::vector<float> g(gammas.begin(), gammas.end());
    at::Tensor kernel = at::empty_like(d);
    at::Tensor derivative;
    if (dist.requires_grad()) derivative = at::empty_like(d);
    multi_scale_rbf_cpu(d.data_ptr<float>(), d.numel(), g.data(), static_cast<int>(g.size()),
                        kernel.data_ptr<float>(), derivative.defined() ? derivative.data_ptr<float>() : nullptr);
    if (derivative.defined()) ctx->save_for_backward({derivative});
    return kernel;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    return {saved[0].mul_(grad_output[0]), at::Tensor()};
  }
};

class FusedGroupMmd : public torch::autograd::Function<FusedGroupMmd> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& z, const at::Tensor& codes, int64_t n_groups,
                            const std::vector<double>& gammas) {
    const at::Tensor zc = z.contiguous();
    const std::vector<float> g(gammas.begin(), gammas.end());
    at::Tensor grad_z;
    if (z.requires_grad()) grad_z = at::empty_like(zc);
    const double loss = group_mmd_cpu(zc.data_ptr<float>(), zc.size(0), zc.size(1), codes.data_ptr<int64_t>(), n_groups,
                                      g.data(), static_cast<int>(g.size()),
                                      grad_z.defined() ? grad_z.data_ptr<float>() : nullptr);
    if (grad_z.defined()) ctx->save_for_backward({grad_z});
    return at::scalar_tensor(loss, zc.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    return {saved[0].mul_(grad_output[0]), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// The densified input of the sparse first layer, handed back all zero by the layer's backward
// (which resets only the entries it scattered), so that the next step's forward does not fill
// 4 MB of zeros (256 x 4000 floats; measured 0.2-0.8 ms a step on 2 cores).
class ZeroBufferCache {
 public:
  at::Tensor take(int64_t rows, int64_t cols, const at::TensorOptions& options) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (buffer_.defined() && buffer_.size(0) == rows && buffer_.size(1) == cols &&
        buffer_.scalar_type() == options.dtype().toScalarType() && buffer_.device() == options.device())
      return std::move(buffer_);
    return at::zeros({rows, cols}, options);
  }

  void give_back(at::Tensor zeros) {
    std::lock_guard<std::mutex> lock(mutex_);
    buffer_ = std::move(zeros);
  }

 private:
  std::mutex mutex_;
  at::Tensor buffer_;
};

ZeroBufferCache& sparse_input_buffers() {
  static ZeroBufferCache cache;
  return cache;
}

class SparseAffine : public torch::autograd::Function<SparseAffine> {
 public:
  // [X | rest] W^T + b with X densified from the batch's CSR rows: one BLAS product each way.
  // Measured on 2 cores at 17% non-zeros (4000 genes, batch 256), the sparse products
  // (per-non-zero axpys plus weight transposes, or a column-blocked weight gradient) took
  // longer than these dense GEMMs.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& weight, const at::Tensor& bias,
                            const at::Tensor& rest, const SparseRows& rows) {
    const int64_t n_sparse = rows.n_features;
    const int64_t n_rest = rest.size(1);
    at::Tensor input = sparse_input_buffers().take(rows.row_ptr.numel() - 1, n_sparse + n_rest, weight.options());
    csr_scatter_into(csr_view(rows.row_ptr, rows.col, rows.encoder_values.data_ptr<float>(), n_sparse),
                     input.data_ptr<float>(), n_sparse + n_rest);
    if (n_rest > 0) input.narrow(1, n_sparse, n_rest).copy_(rest);
    ctx->save_for_backward({weight, input, rows.row_ptr, rows.col});
    ctx->saved_data["n_sparse"] = n_sparse;
    remember_weight_grad(ctx, weight);
    return at::addmm(bias, input, weight.t());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& weight = saved[0];
    at::Tensor input = saved[1];
    const int64_t n_sparse = ctx->saved_data["n_sparse"].toInt();
    const int64_t n_rest = input.size(1) - n_sparse;
    const at::Tensor& g = grad_output[0];
    at::Tensor grad_rest;
    if (n_rest > 0) grad_rest = at::mm(g, weight.narrow(1, n_sparse, n_rest));
    at::Tensor grad_weight;
    if (ctx->needs_input_grad(0)) grad_weight = weight_grad_product(ctx, g.t(), input);
    // Backward runs once (no retain_graph in training): the buffer can go back, zeroed.
    csr_scatter_into(csr_view(saved[2], saved[3], nullptr, n_sparse), input.data_ptr<float>(), input.size(1));
    if (n_rest > 0) input.narrow(1, n_sparse, n_rest).zero_();
    sparse_input_buffers().give_back(std::move(input));
    return {grad_weight, g.sum(0), grad_rest, at::Tensor()};
  }

 private:
  // values == nullptr: the view writes zeros (csr_scatter_into).
  static CsrView csr_view(const at::Tensor& row_ptr, const at::Tensor& col, const float* values, int64_t n_cols) {
    CsrView a;
    a.n_rows = row_ptr.numel() - 1;
    a.n_cols = n_cols;
    a.row_ptr = row_ptr.data_ptr<int64_t>();
    a.col = col.data_ptr<int32_t>();
    a.values = values;
    return a;
  }
};

uint64_t draw_seed_from_default_generator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

at::Tensor dropout_mask_like(const at::Tensor& x, double p) {
  at::Tensor mask = at::empty(x.sizes(), x.options().requires_grad(false));
  dropout_mask_cpu(mask.data_ptr<float>(), mask.numel(), p, draw_seed_from_default_generator());
  return mask;
}

BlockKernelArgs block_args(const at::Tensor& x, double slope, const at::Tensor& mask) {
  BlockKernelArgs a;
  a.n_rows = x.size(0);
  a.width = x.size(1);
  a.eps = kLayerNormEps;
  a.slope = static_cast<float>(slope);
  a.mask = mask.defined() ? mask.data_ptr<float>() : nullptr;
  return a;
}

// The activation's forward over contiguous x (bias: undefined, or added first). The saved
// state of the backward comes first in save_for_backward: xhat, rstd, mask.
struct ActivationForward {
  at::Tensor y, xhat, rstd, mask;
};

ActivationForward block_activation_forward(const at::Tensor& x, const at::Tensor& bias, double slope, double p) {
  ActivationForward f;
  f.mask = p > 0 ? dropout_mask_like(x, p) : at::Tensor();
  f.y = at::empty_like(x);
  f.xhat = at::empty_like(x);
  f.rstd = at::empty({x.size(0)}, x.options());
  BlockKernelArgs a = block_args(x, slope, f.mask);
  if (bias.defined()) a.bias = bias.data_ptr<float>();
  block_forward_cpu(a, x.data_ptr<float>(), f.y.data_ptr<float>(), f.xhat.data_ptr<float>(), f.rstd.data_ptr<float>());
  return f;
}

// Gradient in the activation's input (before the bias) from the saved xhat, rstd and mask.
at::Tensor block_activation_backward(const variable_list& saved, double slope, const at::Tensor& grad_output) {
  const at::Tensor& xhat = saved[0];
  const at::Tensor grad_y = grad_output.contiguous();
  at::Tensor grad_x = at::empty_like(xhat);
  block_backward_cpu(block_args(xhat, slope, saved[2]), grad_y.data_ptr<float>(), xhat.data_ptr<float>(),
                     saved[1].data_ptr<float>(), grad_x.data_ptr<float>());
  return grad_x;
}

// One node for LayerNorm -> LeakyReLU -> dropout instead of three (and their temporaries).
class FusedBlockActivation : public torch::autograd::Function<FusedBlockActivation> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double slope, double p) {
    const ActivationForward f = block_activation_forward(x.contiguous(), at::Tensor(), slope, p);
    ctx->save_for_backward({f.xhat, f.rstd, f.mask});
    ctx->saved_data["slope"] = slope;
    return f.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const at::Tensor grad_x =
        block_activation_backward(ctx->get_saved_variables(), ctx->saved_data["slope"].toDouble(), grad_output[0]);
    return {grad_x, at::Tensor(), at::Tensor()};
  }
};

// A whole FC block, x W^T + b then the activation, as one node: the bias is added inside the
// activation kernel (no broadcast copy before the GEMM), and the weight gradient is added in
// place (weight_grad_product); one node instead of a linear node, an activation node and the
// weight's gradient accumulation.
class FusedLinearBlock : public torch::autograd::Function<FusedLinearBlock> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, double slope, double p) {
    const at::Tensor input = x.contiguous();
    const ActivationForward f = block_activation_forward(at::mm(input, weight.t()), bias.contiguous(), slope, p);
    ctx->save_for_backward({f.xhat, f.rstd, f.mask, input, weight});
    ctx->saved_data["slope"] = slope;
    remember_weight_grad(ctx, weight);
    return f.y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor grad_pre = block_activation_backward(saved, ctx->saved_data["slope"].toDouble(), grad_output[0]);
    at::Tensor grad_x, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) grad_x = at::mm(grad_pre, saved[4]);
    if (ctx->needs_input_grad(1)) grad_weight = weight_grad_product(ctx, grad_pre.t(), saved[3]);
    if (ctx->needs_input_grad(2)) grad_bias = grad_pre.sum(0);
    return {grad_x, grad_weight, grad_bias, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& logits,
                   const at::Tensor& log_library, const at::Tensor& log_theta_table,
                   const at::Tensor& group, const at::Tensor& lgamma_const) {
  if (rows.defined() && logits.is_cpu() && logits.scalar_type() == at::kFloat)
    return FusedNbLoss::apply(logits, log_theta_table, rows, log_library, group, lgamma_const,
                              gradients_wanted({logits, log_theta_table}));
  return nb_nll(x, logits, log_library, rows_by_group(log_theta_table, group), lgamma_const);
}

at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& hidden,
                        const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& log_library,
                        const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const,
                        const at::Tensor& row_weights) {
  // Without the promise, the output layer and FusedNbLoss stay separate nodes.
  if (rows.defined() && row_weights.defined() && hidden.is_cpu() && hidden.scalar_type() == at::kFloat)
    return FusedNbHead::apply(hidden, weight, bias, log_theta_table, rows, log_library, group, lgamma_const,
                              RowWeights{row_weights}, gradients_wanted({hidden, weight, bias, log_theta_table}));
  return nb_loss(rows, x, at::linear(hidden, weight, bias), log_library, log_theta_table, group, lgamma_const);
}

at::Tensor multi_scale_rbf(const at::Tensor& dist, const std::vector<double>& gammas) {
  if (dist.is_cpu() && dist.scalar_type() == at::kFloat) return FusedMultiScaleRbf::apply(dist, gammas);
  const at::Tensor g = at::tensor(gammas, dist.options().device(at::kCPU)).to(dist.device()).view({-1, 1, 1});
  return at::exp(-g * dist.unsqueeze(0)).mean(0);
}

at::Tensor group_codes(const at::Tensor& membership) {
  if (!membership.is_cpu() || membership.dim() != 2) return at::Tensor();
  const at::Tensor m = membership.to(at::kFloat).contiguous();
  const float* v = m.data_ptr<float>();
  const int64_t n = m.size(0), n_groups = m.size(1);
  at::Tensor codes = at::full({n}, -1, at::TensorOptions().dtype(at::kLong));
  int64_t* code = codes.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t g = 0; g < n_groups; ++g) {
      const float x = v[i * n_groups + g];
      if (x == 0.0f) continue;
      if (x != 1.0f || code[i] >= 0) return at::Tensor();  // weighted, or in two groups
      code[i] = g;
    }
  }
  return codes;
}

at::Tensor group_mmd(const at::Tensor& z, const at::Tensor& codes, int64_t n_groups,
                     const std::vector<double>& gammas) {
  return FusedGroupMmd::apply(z, codes, n_groups, gammas);
}

at::Tensor sparse_affine(const SparseRows& rows, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& rest) {
  // Autograd functions take defined tensors only: no covariates are a B x 0 matrix.
  const at::Tensor covariates = rest.defined() ? rest : at::empty({rows.row_ptr.numel() - 1, 0}, weight.options());
  return SparseAffine::apply(weight, bias, covariates, rows);
}

at::Tensor dropout(const at::Tensor& x, double p) {
  if (p <= 0) return x;
  if (!x.is_cpu()) return at::dropout(x, p, /*train=*/true);
  return x * dropout_mask_like(x, p);
}

at::Tensor linear_block(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double slope,
                        double p) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 2)
    return FusedLinearBlock::apply(x, weight, bias, slope, p);
  return block_activation(at::linear(x, weight, bias), slope, p);
}

at::Tensor block_activation(const at::Tensor& x, double slope, double p) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 2) return FusedBlockActivation::apply(x, slope, p);
  const at::Tensor h = at::leaky_relu(at::layer_norm(x, {x.size(1)}, {}, {}, kLayerNormEps), slope);
  return dropout(h, p);
}

}  // namespace multigrade
