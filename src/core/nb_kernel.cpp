#include "nb_kernel.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

#include "simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;
using simd::kLanes;

// Counts are integers almost always; small ones (most non-zeros) take exact short sums
// instead of two lgamma and two digamma calls.
constexpr double kMaxShortSum = 16;
// Logit for padding lanes: softmax weight 0 (exp clamps), finite so that 0 * logit stays 0.
constexpr float kPadLogit = -1e30f;

MULTIGRADE_SIMD float row_log_sum_exp(const float* l, int64_t n) {
  const int64_t full = n - n % kLanes;
  f8 m8 = simd::splat(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < full; j += kLanes) m8 = simd::vmax(m8, simd::load(l + j));
  float m = simd::max(m8);
  for (int64_t j = full; j < n; ++j) m = l[j] > m ? l[j] : m;
  f8 s8 = simd::splat(0.0f);
  for (int64_t j = 0; j < full; j += kLanes) s8 += simd::exp(simd::load(l + j) - m);
  float s = simd::sum(s8);
  if (full < n) s += simd::sum(simd::exp(simd::load_partial(l + full, static_cast<int>(n - full), kPadLogit) - m));
  return m + std::log(s);
}

struct Scratch {
  std::vector<float> p, l1p, inv;  // per feature of the current row
  explicit Scratch(int64_t n) : p(n), l1p(n), inv(n) {}
};

struct ZeroCountTerms {
  f8 logp, p, l1p, inv, mu_inv;
};

// The terms of eight features as if their counts were 0: with p = softmax, mu = p * library,
// log p(0) = -theta log(1 + mu / theta), and d(-log p)/d log mu = mu theta / (theta + mu).
MULTIGRADE_SIMD ZeroCountTerms zero_count_terms(f8 l, f8 th, float lse, float lib) {
  ZeroCountTerms t;
  t.p = simd::exp(l - lse);
  const f8 ratio = t.p * lib / th;
  t.l1p = simd::log1p(ratio);        // log(theta + mu) - log theta
  t.inv = 1.0f / (ratio + 1.0f);      // theta / (theta + mu)
  t.logp = -th * t.l1p;
  t.mu_inv = t.p * lib * t.inv;
  return t;
}

MULTIGRADE_SIMD void store_zero_count_grads(const ZeroCountTerms& t, f8 th, float* gl, float* glt, Scratch& s,
                                              int64_t j, int rest) {
  const f8 mu_inv = t.mu_inv;
  const f8 glt0 = th * t.l1p - mu_inv;  // d(-log p)/d log theta at x = 0
  if (rest == simd::kLanes) {
    simd::store(gl + j, mu_inv);  // -r at x = 0
    simd::store(glt + j, glt0);
    simd::store(s.p.data() + j, t.p);
    simd::store(s.l1p.data() + j, t.l1p);
    simd::store(s.inv.data() + j, t.inv);
  } else {
    simd::store_partial(gl + j, mu_inv, rest);
    simd::store_partial(glt + j, glt0, rest);
    simd::store_partial(s.p.data() + j, t.p, rest);
    simd::store_partial(s.l1p.data() + j, t.l1p, rest);
    simd::store_partial(s.inv.data() + j, t.inv, rest);
  }
}

MULTIGRADE_TARGET_CLONES
void nb_row(const NbKernelArgs& a, int64_t b, Scratch& s) {
  const int64_t n = a.n_features;
  const float* l = a.logits + b * n;
  const int64_t g = a.group != nullptr ? a.group[b] : 0;
  const float* th = a.theta + g * n;
  const float* lth = a.log_theta + g * n;
  const float lse = row_log_sum_exp(l, n);
  const float log_lib = a.log_library[b];
  const float lib = std::exp(log_lib);
  const bool grads = a.grad_logits != nullptr && a.grad_log_theta != nullptr;
  float* gl = grads ? a.grad_logits + b * n : nullptr;
  float* glt = grads ? a.grad_log_theta + b * n : nullptr;

  // Pass 1, every feature: the zero-count terms.
  f8 logp8 = simd::splat(0.0f), r8 = simd::splat(0.0f);
  const int64_t full = n - n % kLanes;
  for (int64_t j = 0; j < full; j += kLanes) {
    const f8 th8 = simd::load(th + j);
    const ZeroCountTerms t = zero_count_terms(simd::load(l + j), th8, lse, lib);
    logp8 += t.logp;
    if (grads) store_zero_count_grads(t, th8, gl, glt, s, j, kLanes);
    r8 -= t.mu_inv;
  }
  if (full < n) {
    const int rest = static_cast<int>(n - full);
    // Padding lanes have softmax weight 0 and contribute nothing.
    const f8 th8 = simd::load_partial(th + full, rest, 1.0f);
    const ZeroCountTerms t = zero_count_terms(simd::load_partial(l + full, rest, kPadLogit), th8, lse, lib);
    logp8 += t.logp;
    if (grads) store_zero_count_grads(t, th8, gl, glt, s, full, rest);
    r8 -= t.mu_inv;
  }
  double logp = simd::sum(logp8);

  // Pass 2, the non-zeros: x log(mu / (theta + mu)) and the lgamma/digamma count terms.
  double total_r = simd::sum(r8);  // sum_j r_j, r = d log p / d log mu = (x - mu) theta / (theta + mu)
  for (int64_t k = a.row_ptr[b]; k < a.row_ptr[b + 1]; ++k) {
    const int64_t j = a.col[k];
    const float x = a.values[k];
    double lg, dg;
    nb_count_terms(x, th[j], lth[j], &lg, &dg);
    if (grads) {
      const float x_inv = x * s.inv[j];
      logp += x * (l[j] - lse + log_lib - lth[j] - s.l1p[j]) + lg;
      gl[j] -= x_inv;
      total_r += x_inv;
      glt[j] += x_inv - static_cast<float>(th[j] * dg);
    } else {
      // Without gradients the scratch rows were not written: recompute this feature's terms.
      const float l1p = std::log1p(std::exp(l[j] - lse) * lib / th[j]);
      logp += x * (l[j] - lse + log_lib - lth[j] - l1p) + lg;
    }
  }
  a.nll[b] = static_cast<float>(a.lgamma_const[b] - logp);

  if (grads) {
    // d(-log p)/d logits = -(r - softmax * sum(r)) through the log-softmax.
    const f8 sum_r = simd::splat(static_cast<float>(total_r));
    for (int64_t j = 0; j < full; j += kLanes)
      simd::store(gl + j, simd::load(gl + j) + simd::load(s.p.data() + j) * sum_r);
    for (int64_t j = full; j < n; ++j) gl[j] += s.p[j] * static_cast<float>(total_r);
  }
}

}  // namespace

double digamma(double x) {
  // Recurrence up to x >= 6, then the asymptotic series (error < 1e-12 there).
  double result = 0;
  while (x < 6) {
    result -= 1 / x;
    x += 1;
  }
  const double f = 1 / (x * x);
  return result + std::log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

void nb_count_terms(double x, double theta, double log_theta, double* lgamma_diff, double* digamma_diff) {
  if (x == 1) {  // the most common non-zero
    *lgamma_diff = log_theta;
    *digamma_diff = 1 / theta;
    return;
  }
  if (x <= kMaxShortSum && x == std::floor(x)) {
    // lgamma(x + theta) - lgamma(theta) = log prod_{k < x} (theta + k); digamma likewise a sum.
    double product = 1, inverse_sum = 0;
    for (int k = 0; k < static_cast<int>(x); ++k) {
      product *= theta + k;
      inverse_sum += 1 / (theta + k);
    }
    *lgamma_diff = std::log(product);
    *digamma_diff = inverse_sum;
    return;
  }
  *lgamma_diff = std::lgamma(x + theta) - std::lgamma(theta);
  *digamma_diff = digamma(x + theta) - digamma(theta);
}

void nb_loss_cpu(const NbKernelArgs& args) {
  at::parallel_for(0, args.n_rows, 16, [&](int64_t begin, int64_t end) {
    Scratch scratch(args.n_features);
    for (int64_t b = begin; b < end; ++b) nb_row(args, b, scratch);
  });
}

}  // namespace multigrade
