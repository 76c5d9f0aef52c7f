#include "kernels/nb_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/simd_math.h"

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;
using simd::kLanes;

// Counts are integers almost always; small ones (most non-zeros) take exact short sums
// instead of two lgamma and two digamma calls.
constexpr double kMaxShortSum = 16;
// Counts 1..kTableCounts look their count terms up in a per-call table (about 97% of the
// non-zeros of 4000-gene RNA at 2000 counts per cell).
constexpr int kTableCounts = 8;
// Logit for padding lanes: softmax weight 0 (exp clamps), finite so that 0 * logit stays 0.
constexpr float kPadLogit = -1e30f;

// What depends on a feature's dispersion but not on the cell, computed once per call for the
// groups the batch uses: 1 / theta, and lgamma(x + theta) - lgamma(theta) with
// digamma(x + theta) - digamma(theta) for x = 1..kTableCounts by the recurrences
// lgamma(a + 1) = lgamma(a) + log a and digamma(a + 1) = digamma(a) + 1 / a. The table is laid
// out count level by count level, so the common small counts stay in a few hot cache lines.
class DispersionTerms {
 public:
  explicit DispersionTerms(const NbKernelArgs& a) : n_(a.n_features) {
    int64_t n_groups = 1;
    if (a.group != nullptr)
      for (int64_t b = 0; b < a.n_rows; ++b) n_groups = std::max(n_groups, a.group[b] + 1);
    slot_of_group_.assign(n_groups, -1);
    for (int64_t b = 0; b < a.n_rows; ++b) {
      const int64_t g = a.group != nullptr ? a.group[b] : 0;
      if (slot_of_group_[g] < 0) {
        slot_of_group_[g] = static_cast<int64_t>(group_of_slot_.size());
        group_of_slot_.push_back(g);
      }
    }
    const int64_t n_slots = this->n_slots();
    inverse_theta_.resize(n_slots * n_);
    // The table pays off when the batch has many more rows than the table (slots x counts).
    if (n_slots * kTableCounts * 2 <= a.n_rows) count_terms_.resize(n_slots * kTableCounts * n_ * 2);
    const int64_t blocks = (n_ + kLanes - 1) / kLanes;
    at::parallel_for(0, n_slots * blocks, 64, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        fill_block(a.theta + group_of_slot_[i / blocks] * n_, i / blocks, (i % blocks) * kLanes);
    });
  }

  const float* inverse_theta(int64_t g) const { return inverse_theta_.data() + slot_of_group_[g] * n_; }
  int64_t n_slots() const { return static_cast<int64_t>(group_of_slot_.size()); }
  int64_t slot(int64_t g) const { return slot_of_group_[g]; }
  int64_t group_of_slot(int64_t s) const { return group_of_slot_[s]; }

  // Group g's table, count level by count level (kTableCounts x n_features x 2), or null.
  const float* count_terms(int64_t g) const {
    return count_terms_.empty() ? nullptr : count_terms_.data() + slot_of_group_[g] * kTableCounts * n_ * 2;
  }

 private:
  MULTIGRADE_TARGET_CLONES
  void fill_block(const float* theta_row, int64_t slot, int64_t j0) {
    const int rest = simd::lanes_at(n_, j0);
    const f8 theta = simd::load_lanes(theta_row + j0, rest, 1.0f);
    simd::store_lanes(inverse_theta_.data() + slot * n_ + j0, 1.0f / theta, rest);
    if (count_terms_.empty()) return;
    f8 lg = simd::splat(0.0f), dg = simd::splat(0.0f);
    float lg_lanes[kLanes], dg_lanes[kLanes];
    for (int x = 1; x <= kTableCounts; ++x) {
      const f8 shifted = theta + static_cast<float>(x - 1);
      lg += simd::log(shifted);
      dg += 1.0f / shifted;
      simd::store(lg_lanes, lg);
      simd::store(dg_lanes, dg);
      float* pairs = count_terms_.data() + ((slot * kTableCounts + x - 1) * n_ + j0) * 2;
      for (int k = 0; k < rest; ++k) {
        pairs[2 * k] = lg_lanes[k];
        pairs[2 * k + 1] = dg_lanes[k];
      }
    }
  }

  int64_t n_ = 0;
  std::vector<int64_t> slot_of_group_, group_of_slot_;
  std::vector<float> inverse_theta_;  // slot x feature
  std::vector<float> count_terms_;    // slot x count x feature x (lgamma, digamma) differences
};

// lgamma and digamma differences for count x of feature j: from the table when it has them.
MULTIGRADE_SIMD void count_terms(const float* table, int64_t n, int64_t j, float x, double theta, double log_theta,
                                 double* lg, double* dg) {
  // Range first: converting a count beyond int's range would be undefined.
  if (table != nullptr && x >= 1.0f && x <= static_cast<float>(kTableCounts) && x == std::floor(x)) {
    const float* pair = table + ((static_cast<int64_t>(x) - 1) * n + j) * 2;
    *lg = pair[0];
    *dg = pair[1];
    return;
  }
  nb_count_terms(x, theta, log_theta, lg, dg);
}

struct Scratch {
  std::vector<float> p, l1p, inv;  // per feature of the current row
  std::vector<float> biased;       // the row's logits plus the bias, when there is one
  std::vector<float> glt;          // the row's dispersion gradient, in weighted mode
  Scratch(int64_t n, const NbKernelArgs& a)
      : p(n), l1p(n), inv(n), biased(a.logit_bias != nullptr ? n : 0), glt(a.row_weights != nullptr ? n : 0) {}
};

// The row's logits: in place, or with the bias added into scratch (16 KB, cache-resident,
// instead of a biased copy of the whole B x G matrix).
MULTIGRADE_SIMD const float* row_logits(const NbKernelArgs& a, int64_t b, Scratch& s) {
  const int64_t n = a.n_features;
  const float* l = a.logits + b * n;
  if (a.logit_bias == nullptr) return l;
  float* out = s.biased.data();
  for (int64_t j = 0; j < n; j += kLanes) {
    const int rest = simd::lanes_at(n, j);
    simd::store_lanes(out + j, simd::load_lanes(l + j, rest, 0.0f) + simd::load_lanes(a.logit_bias + j, rest, 0.0f),
                      rest);
  }
  return out;
}

// log sum exp of a row's logits; leaves exp(l - max) in `e` and 1 / sum of them in
// `inverse_sum`, whose product is the softmax.
MULTIGRADE_SIMD float row_log_sum_exp(const float* l, int64_t n, float* e, float* inverse_sum) {
  const int64_t full = n - n % kLanes;
  f8 m8 = simd::splat(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < full; j += kLanes) m8 = simd::vmax(m8, simd::load(l + j));
  float m = simd::max(m8);
  for (int64_t j = full; j < n; ++j) m = l[j] > m ? l[j] : m;
  f8 s8 = simd::splat(0.0f);
  for (int64_t j = 0; j < full; j += kLanes) {
    const f8 ej = simd::exp(simd::load(l + j) - m);
    simd::store(e + j, ej);
    s8 += ej;
  }
  float s = simd::sum(s8);
  if (full < n) {
    const int rest = static_cast<int>(n - full);
    const f8 ej = simd::exp(simd::load_partial(l + full, rest, kPadLogit) - m);
    simd::store_partial(e + full, ej, rest);
    s += simd::sum(ej);
  }
  *inverse_sum = 1.0f / s;
  return m + std::log(s);
}

struct ZeroCountTerms {
  f8 logp, p, l1p, inv, mu_inv;
};

// The terms of eight features as if their counts were 0: with p = softmax, mu = p * library,
// log p(0) = -theta log(1 + mu / theta), and d(-log p)/d log mu = mu theta / (theta + mu).
// One division: log1p(r) = log(u) + (r - (u - 1)) / u with u = fl(1 + r) recovers the rounding
// of u, and 1 / u is needed anyway.
MULTIGRADE_SIMD ZeroCountTerms zero_count_terms(f8 p, f8 th, f8 lib_inv_th) {
  ZeroCountTerms t;
  t.p = p;
  const f8 ratio = p * lib_inv_th;  // mu / theta
  const f8 u = ratio + 1.0f;
  t.inv = 1.0f / u;                                     // theta / (theta + mu)
  t.l1p = simd::log(u) + (ratio - (u - 1.0f)) * t.inv;  // log(theta + mu) - log theta
  t.logp = -th * t.l1p;
  t.mu_inv = th * ratio * t.inv;  // mu theta / (theta + mu)
  return t;
}

MULTIGRADE_SIMD void store_zero_count_grads(const ZeroCountTerms& t, f8 th, float* gl, float* glt, Scratch& s,
                                            int64_t j, int rest) {
  const f8 mu_inv = t.mu_inv;
  const f8 glt0 = th * t.l1p - mu_inv;      // d(-log p)/d log theta at x = 0
  simd::store_lanes(gl + j, mu_inv, rest);  // -r at x = 0
  simd::store_lanes(glt + j, glt0, rest);
  simd::store_lanes(s.p.data() + j, t.p, rest);
  simd::store_lanes(s.l1p.data() + j, t.l1p, rest);
  simd::store_lanes(s.inv.data() + j, t.inv, rest);
}

MULTIGRADE_TARGET_CLONES
void nb_row(const NbKernelArgs& a, const DispersionTerms& terms, int64_t b, Scratch& s) {
  const int64_t n = a.n_features;
  const float* l = row_logits(a, b, s);
  const int64_t g = a.group != nullptr ? a.group[b] : 0;
  const float* th = a.theta + g * n;
  const float* lth = a.log_theta + g * n;
  const float* inv_th = terms.inverse_theta(g);
  const float* count_table = terms.count_terms(g);
  float* e = s.p.data();  // exp(l - max), then the softmax
  float inverse_sum;
  const float lse = row_log_sum_exp(l, n, e, &inverse_sum);
  const f8 softmax_scale = simd::splat(inverse_sum);
  const float log_lib = a.log_library[b];
  const float lib = std::exp(log_lib);
  const f8 lib8 = simd::splat(lib);
  const bool weighted = a.row_weights != nullptr;
  const bool grads = a.grad_logits != nullptr && (a.grad_log_theta != nullptr || weighted);
  float* gl = grads ? a.grad_logits + b * n : nullptr;
  float* glt = !grads ? nullptr : weighted ? s.glt.data() : a.grad_log_theta + b * n;

  // Pass 1, every feature: the zero-count terms.
  f8 logp8 = simd::splat(0.0f), r8 = simd::splat(0.0f);
  const int64_t full = n - n % kLanes;
  for (int64_t j = 0; j < full; j += kLanes) {
    const f8 th8 = simd::load(th + j);
    const f8 p8 = simd::load(e + j) * softmax_scale;
    const ZeroCountTerms t = zero_count_terms(p8, th8, lib8 * simd::load(inv_th + j));
    logp8 += t.logp;
    if (grads) store_zero_count_grads(t, th8, gl, glt, s, j, kLanes);
    r8 -= t.mu_inv;
  }
  if (full < n) {
    const int rest = static_cast<int>(n - full);
    // Padding lanes have softmax weight 0 and contribute nothing.
    const f8 th8 = simd::load_partial(th + full, rest, 1.0f);
    const f8 p8 = simd::load_partial(e + full, rest, 0.0f) * softmax_scale;
    const ZeroCountTerms t = zero_count_terms(p8, th8, lib8 * simd::load_partial(inv_th + full, rest, 1.0f));
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
    count_terms(count_table, n, j, x, th[j], lth[j], &lg, &dg);
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

namespace {

// y += w x over n floats.
MULTIGRADE_TARGET_CLONES
void add_scaled(int64_t n, float w, const float* x, float* y) {
  for (int64_t j = 0; j < n; j += kLanes) {
    const int rest = simd::lanes_at(n, j);
    simd::store_lanes(y + j, simd::load_lanes(y + j, rest, 0.0f) + simd::load_lanes(x + j, rest, 0.0f) * w, rest);
  }
}

// Weighted mode: rows in one chunk per thread, each chunk with its own partial sums (per
// dispersion slot and for the logits), added up in chunk order afterwards.
void nb_loss_weighted(const NbKernelArgs& a, const DispersionTerms& terms) {
  const int64_t n = a.n_features;
  const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), a.n_rows));
  std::vector<std::vector<float>> table(n_chunks, std::vector<float>(terms.n_slots() * n, 0.0f));
  std::vector<std::vector<float>> logits(n_chunks, std::vector<float>(n, 0.0f));
  at::parallel_for(0, n_chunks, 1, [&](int64_t begin, int64_t end) {
    Scratch scratch(n, a);
    for (int64_t c = begin; c < end; ++c) {
      for (int64_t b = c * a.n_rows / n_chunks; b < (c + 1) * a.n_rows / n_chunks; ++b) {
        nb_row(a, terms, b, scratch);
        const float w = a.row_weights[b];
        if (w == 0.0f) continue;
        const int64_t slot = terms.slot(a.group != nullptr ? a.group[b] : 0);
        add_scaled(n, w, scratch.glt.data(), table[c].data() + slot * n);
        add_scaled(n, w, a.grad_logits + b * n, logits[c].data());
      }
    }
  });
  std::fill(a.weighted_grad_table, a.weighted_grad_table + a.n_table_rows * n, 0.0f);
  std::fill(a.weighted_grad_logits, a.weighted_grad_logits + n, 0.0f);
  for (int64_t c = 0; c < n_chunks; ++c) {
    for (int64_t slot = 0; slot < terms.n_slots(); ++slot)
      add_scaled(n, 1.0f, table[c].data() + slot * n, a.weighted_grad_table + terms.group_of_slot(slot) * n);
    add_scaled(n, 1.0f, logits[c].data(), a.weighted_grad_logits);
  }
}

}  // namespace

void nb_loss_cpu(const NbKernelArgs& args) {
  RECORD_FUNCTION("multigrade::nb_loss_cpu", std::vector<c10::IValue>());  // named in profiler traces
  const DispersionTerms terms(args);
  if (args.row_weights != nullptr && args.grad_logits != nullptr) {
    nb_loss_weighted(args, terms);
    return;
  }
  at::parallel_for(0, args.n_rows, 16, [&](int64_t begin, int64_t end) {
    Scratch scratch(args.n_features, args);
    for (int64_t b = begin; b < end; ++b) nb_row(args, terms, b, scratch);
  });
}

void nb_loss_backward_cpu(int64_t n_rows, int64_t n_features, const float* upstream, const int64_t* group,
                          int64_t n_groups, float* grad_logits, const float* grad_log_theta, float* grad_table) {
  RECORD_FUNCTION("multigrade::nb_loss_backward_cpu", std::vector<c10::IValue>());
  std::fill(grad_table, grad_table + n_groups * n_features, 0.0f);
  // Each task owns a range of features: no two write the same table entry.
  constexpr int64_t kFeatureBlock = 256;
  const int64_t n_blocks = (n_features + kFeatureBlock - 1) / kFeatureBlock;
  at::parallel_for(0, n_blocks, 1, [&](int64_t begin, int64_t end) {
    const int64_t j0 = begin * kFeatureBlock, j1 = std::min(n_features, end * kFeatureBlock);
    for (int64_t r = 0; r < n_rows; ++r) {
      const float u = upstream[r];
      float* gl = grad_logits + r * n_features;
      const float* glt = grad_log_theta + r * n_features;
      float* table = grad_table + (group != nullptr ? group[r] : 0) * n_features;
      for (int64_t j = j0; j < j1; ++j) {
        gl[j] *= u;
        table[j] += u * glt[j];
      }
    }
  });
}

}  // namespace multigrade
