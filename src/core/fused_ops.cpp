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

// Saves each cell's gradients for a unit upstream gradient; backward scales them.
class FusedNbLoss : public torch::autograd::Function<FusedNbLoss> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& log_theta_table,
                            const SparseRows& rows, const at::Tensor& log_library, const at::Tensor& group,
                            const at::Tensor& lgamma_const) {
    const at::Tensor l = logits.contiguous();
    const at::Tensor log_theta = log_theta_table.contiguous();
    const at::Tensor theta = log_theta.exp();
    const at::Tensor lib = log_library.contiguous();
    const at::Tensor lgc = lgamma_const.contiguous();
    const at::Tensor groups = group.contiguous();
    const bool need_grads = logits.requires_grad() || log_theta_table.requires_grad();

    at::Tensor nll = at::empty({l.size(0)}, l.options());
    at::Tensor grad_logits, grad_log_theta;
    NbKernelArgs args;
    args.n_rows = l.size(0);
    args.n_features = l.size(1);
    args.row_ptr = rows.row_ptr.data_ptr<int64_t>();
    args.col = rows.col.data_ptr<int32_t>();
    args.values = rows.values.data_ptr<float>();
    args.logits = l.data_ptr<float>();
    args.log_library = lib.data_ptr<float>();
    args.lgamma_const = lgc.data_ptr<float>();
    args.log_theta = log_theta.data_ptr<float>();
    args.theta = theta.data_ptr<float>();
    args.group = log_theta.size(0) > 1 ? groups.data_ptr<int64_t>() : nullptr;
    args.nll = nll.data_ptr<float>();
    if (need_grads) {
      grad_logits = at::empty_like(l);
      grad_log_theta = at::empty_like(l);
      args.grad_logits = grad_logits.data_ptr<float>();
      args.grad_log_theta = grad_log_theta.data_ptr<float>();
    }
    nb_loss_cpu(args);
    if (need_grads) {
      ctx->save_for_backward({grad_logits, grad_log_theta, groups});
      ctx->saved_data["n_groups"] = log_theta.size(0);
    }
    return nll;
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
                         n_groups > 1 ? saved[2].data_ptr<int64_t>() : nullptr, n_groups, grad_logits.data_ptr<float>(),
                         grad_log_theta.data_ptr<float>(), grad_table.data_ptr<float>());
    return {grad_logits, grad_table, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
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
    const at::Tensor grad_weight = at::mm(g.t(), input);
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

// One node for LayerNorm -> LeakyReLU -> dropout instead of three (and their temporaries).
class FusedBlockActivation : public torch::autograd::Function<FusedBlockActivation> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double slope, double p) {
    const at::Tensor input = x.contiguous();
    const at::Tensor mask = p > 0 ? dropout_mask_like(input, p) : at::Tensor();
    at::Tensor y = at::empty_like(input);
    at::Tensor xhat = at::empty_like(input);
    at::Tensor rstd = at::empty({input.size(0)}, input.options());
    block_forward_cpu(args(input, slope, mask), input.data_ptr<float>(), y.data_ptr<float>(), xhat.data_ptr<float>(),
                      rstd.data_ptr<float>());
    ctx->save_for_backward({xhat, rstd, mask.defined() ? mask : at::Tensor()});
    ctx->saved_data["slope"] = slope;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& xhat = saved[0];
    const at::Tensor grad_y = grad_output[0].contiguous();
    at::Tensor grad_x = at::empty_like(xhat);
    block_backward_cpu(args(xhat, ctx->saved_data["slope"].toDouble(), saved[2]), grad_y.data_ptr<float>(),
                       xhat.data_ptr<float>(), saved[1].data_ptr<float>(), grad_x.data_ptr<float>());
    return {grad_x, at::Tensor(), at::Tensor()};
  }

 private:
  static BlockKernelArgs args(const at::Tensor& x, double slope, const at::Tensor& mask) {
    BlockKernelArgs a;
    a.n_rows = x.size(0);
    a.width = x.size(1);
    a.eps = kLayerNormEps;
    a.slope = static_cast<float>(slope);
    a.mask = mask.defined() ? mask.data_ptr<float>() : nullptr;
    return a;
  }
};

}  // namespace

at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& x, const at::Tensor& logits,
                   const at::Tensor& log_library, const at::Tensor& log_theta_table,
                   const at::Tensor& group, const at::Tensor& lgamma_const) {
  if (rows.defined() && logits.is_cpu() && logits.scalar_type() == at::kFloat)
    return FusedNbLoss::apply(logits, log_theta_table, rows, log_library, group, lgamma_const);
  return nb_nll(x, logits, log_library, rows_by_group(log_theta_table, group), lgamma_const);
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

at::Tensor block_activation(const at::Tensor& x, double slope, double p) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 2) return FusedBlockActivation::apply(x, slope, p);
  const at::Tensor h = at::leaky_relu(at::layer_norm(x, {x.size(1)}, {}, {}, kLayerNormEps), slope);
  return dropout(h, p);
}

}  // namespace multigrade
