// Fused negative binomial loss on the CPU: value and analytic gradients in one pass per cell,
// with mu = softmax(logits) * library and one dispersion row per integrate_on group.
// Works on raw arrays; no tensors, no autograd. Every feature pays the zero-count terms in
// one vectorised pass; the count-dependent terms are added at the non-zeros only.
#pragma once

#include <cstdint>

namespace multigrade {

struct NbKernelArgs {
  int64_t n_rows = 0, n_features = 0;
  // Counts in compressed sparse rows: row r's non-zeros are [row_ptr[r], row_ptr[r + 1]).
  const int64_t* row_ptr = nullptr;
  const int32_t* col = nullptr;
  const float* values = nullptr;
  const float* logits = nullptr;        // n_rows x n_features decoder outputs
  const float* logit_bias = nullptr;    // n_features, added to every row's logits (nullptr: none)
  const float* log_library = nullptr;   // n_rows
  const float* lgamma_const = nullptr;  // n_rows, sum_f lgamma(x + 1)
  const float* log_theta = nullptr;     // n_groups x n_features
  const float* theta = nullptr;         // n_groups x n_features, exp(log_theta)
  const int64_t* group = nullptr;       // n_rows group codes (nullptr: group 0 for all)
  // Outputs. nll is always written; the gradients (of each row's nll, i.e. for a unit upstream
  // gradient) only when both pointers are set.
  float* nll = nullptr;             // n_rows
  float* grad_logits = nullptr;     // n_rows x n_features
  float* grad_log_theta = nullptr;  // n_rows x n_features (reduced per group by the caller)
  // Weighted mode, with grad_logits set and grad_log_theta null: for an upstream gradient that
  // will be proportional to row_weights, the kernel itself reduces what the backward needs
  // besides grad_logits: sum_r w_r d nll_r / d log_theta by group into weighted_grad_table
  // (n_table_rows x n_features) and sum_r w_r d nll_r / d logits into weighted_grad_logits
  // (n_features), both overwritten. No n_rows x n_features dispersion gradient is written.
  const float* row_weights = nullptr;  // n_rows
  int64_t n_table_rows = 1;
  float* weighted_grad_table = nullptr;
  float* weighted_grad_logits = nullptr;
};

void nb_loss_cpu(const NbKernelArgs& args);

// Backward of sum_r upstream[r] * nll[r] from nb_loss_cpu's per-row gradients, in one pass:
// grad_logits rows are scaled by upstream in place, and grad_table (n_groups x n_features,
// overwritten) gets the upstream-weighted sums of grad_log_theta rows by group.
void nb_loss_backward_cpu(int64_t n_rows, int64_t n_features, const float* upstream, const int64_t* group,
                          int64_t n_groups, float* grad_logits, const float* grad_log_theta, float* grad_table);

// lgamma(x + theta) - lgamma(theta) and digamma(x + theta) - digamma(theta) for x > 0.
// Exposed for tests.
void nb_count_terms(double x, double theta, double log_theta, double* lgamma_diff, double* digamma_diff);
double digamma(double x);

}  // namespace multigrade
