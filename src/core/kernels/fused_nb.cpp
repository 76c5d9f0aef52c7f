#include "kernels/fused_nb.h"

#include <ATen/ATen.h>

#include <cmath>

#include "kernels/autograd_support.h"
#include "kernels/nb_kernel.h"

namespace multigrade {
namespace fused {

namespace {

// The kernel's group codes: null when there is one dispersion row (every cell in group 0).
const int64_t* dispersion_rows(const at::Tensor& groups, int64_t n_groups) {
  return n_groups > 1 ? groups.data_ptr<int64_t>() : nullptr;
}

// The fused NB kernel's inputs as contiguous float tensors, with the unit-upstream gradient
// buffers when gradients are needed; logits must outlive the kernel call.
struct NbKernelCall {
  at::Tensor log_theta, theta, lib, lgc, groups, nll, grad_logits, grad_log_theta;
  NbKernelArgs args;

  NbKernelCall(const at::Tensor& logits, const at::Tensor& log_theta_table, const SparseRows& rows,
               const at::Tensor& log_library, const at::Tensor& group, const at::Tensor& lgamma_const, bool need_grads)
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
    args.group = dispersion_rows(groups, n_groups());
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
                         dispersion_rows(saved[2], n_groups), n_groups, grad_logits.data_ptr<float>(),
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
    return {grad_hidden,  grad_weight,  saved[5] * c, saved[4] * c, at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
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
                  "sum(row_weights * loss); cell ",
                  b, " has upstream gradient ", u[b], ", expected ", expected);
    }
    return c;
  }
};

}  // namespace

at::Tensor nb_loss(const SparseRows& rows, const at::Tensor& logits, const at::Tensor& log_library,
                   const at::Tensor& log_theta_table, const at::Tensor& group, const at::Tensor& lgamma_const) {
  return FusedNbLoss::apply(logits, log_theta_table, rows, log_library, group, lgamma_const,
                            gradients_wanted({logits, log_theta_table}));
}

at::Tensor nb_head_loss(const SparseRows& rows, const at::Tensor& hidden, const at::Tensor& weight,
                        const at::Tensor& bias, const at::Tensor& log_library, const at::Tensor& log_theta_table,
                        const at::Tensor& group, const at::Tensor& lgamma_const, const at::Tensor& row_weights) {
  return FusedNbHead::apply(hidden, weight, bias, log_theta_table, rows, log_library, group, lgamma_const,
                            RowWeights{row_weights}, gradients_wanted({hidden, weight, bias, log_theta_table}));
}

}  // namespace fused
}  // namespace multigrade
