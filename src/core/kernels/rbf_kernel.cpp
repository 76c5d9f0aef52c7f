#include "kernels/rbf_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "kernels/simd_math.h"

#include <algorithm>
#include <vector>

// Vector values never cross a non-inlined call here (see simd_math.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace multigrade {

namespace {

using simd::f8;

// Sums over the bandwidths for eight distances at once.
MULTIGRADE_SIMD void rbf_lanes(f8 d, const float* gammas, int n_gammas, f8* k, f8* dk) {
  *k = simd::splat(0.0f);
  *dk = simd::splat(0.0f);
  for (int g = 0; g < n_gammas; ++g) {
    const f8 e = simd::exp(d * -gammas[g]);
    *k += e;
    *dk -= e * gammas[g];
  }
}

MULTIGRADE_TARGET_CLONES
void rbf_range(const float* dist, int64_t begin, int64_t end, const float* gammas, int n_gammas, float* kernel,
               float* derivative) {
  const float inv_n = 1.0f / static_cast<float>(n_gammas);
  f8 k, dk;
  int64_t i = begin;
  for (; i + simd::kLanes <= end; i += simd::kLanes) {
    rbf_lanes(simd::load(dist + i), gammas, n_gammas, &k, &dk);
    simd::store(kernel + i, k * inv_n);
    if (derivative != nullptr) simd::store(derivative + i, dk * inv_n);
  }
  if (i < end) {
    const int rest = static_cast<int>(end - i);
    rbf_lanes(simd::load_partial(dist + i, rest, 0.0f), gammas, n_gammas, &k, &dk);
    simd::store_partial(kernel + i, k * inv_n, rest);
    if (derivative != nullptr) simd::store_partial(derivative + i, dk * inv_n, rest);
  }
}

// Pair weights c[g][h] of the group-pair MMD: groups with fewer than two cells take no part;
// a valid group's within-weight counts one 1 / n_g^2 for each other valid group.
std::vector<float> pair_weights(const int64_t* group, int64_t n, int64_t n_groups) {
  std::vector<double> count(static_cast<size_t>(n_groups), 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (group[i] >= 0) count[group[i]] += 1;
  int64_t n_valid = 0;
  for (double c : count) n_valid += c > 1.5;
  std::vector<float> c(static_cast<size_t>(n_groups * n_groups), 0.0f);
  for (int64_t g = 0; g < n_groups; ++g) {
    if (count[g] <= 1.5) continue;
    for (int64_t h = 0; h < n_groups; ++h) {
      if (count[h] <= 1.5) continue;
      c[g * n_groups + h] =
          static_cast<float>(g == h ? (n_valid - 1) / (count[g] * count[g]) : -1.0 / (count[g] * count[h]));
    }
  }
  return c;
}

// Row i against the cells after it (zt: d x n, transposed), eight at a time: returns the
// row's loss terms over unordered pairs (each counted twice; the diagonal is the caller's) and,
// when grad_t is set, adds s_ik (z_i - z_k) to column i and s_ik (z_k - z_i) to column k of
// grad_t (d x n), with s_ik = c[g_i][g_k] k'(d_ik) and d_ik = |z_i - z_k|^2. Differences are
// summed as such: z_i sum_k s_ik - sum_k s_ik z_k would cancel catastrophically, since k'(0)
// is about -6e4 at the reference's bandwidths. grad_lanes: d x 8 floats of scratch.
MULTIGRADE_TARGET_CLONES
double group_mmd_row(const float* zt, int64_t n, int64_t d, int64_t i, const float* weight_of, const float* gammas,
                     int n_gammas, float* grad_lanes, float* grad_t) {
  const float inv_n = 1.0f / static_cast<float>(n_gammas);
  f8 loss8 = simd::splat(0.0f);
  if (grad_t != nullptr) std::fill(grad_lanes, grad_lanes + d * simd::kLanes, 0.0f);
  for (int64_t k = i + 1; k < n; k += simd::kLanes) {
    const int rest = simd::lanes_at(n, k);
    f8 dist = simd::splat(0.0f);
    for (int64_t e = 0; e < d; ++e) {
      const float z_ie = zt[e * n + i];
      const f8 diff = simd::load_lanes(zt + e * n + k, rest, z_ie) - z_ie;  // padding lanes: 0
      dist += diff * diff;
    }
    const f8 w = simd::load_lanes(weight_of + k, rest, 0.0f);  // padding lanes weigh 0
    f8 kern, dkern;
    rbf_lanes(dist, gammas, n_gammas, &kern, &dkern);
    loss8 += w * kern * (2.0f * inv_n);
    if (grad_t == nullptr) continue;
    const f8 s = w * dkern * inv_n;
    for (int64_t e = 0; e < d; ++e) {
      const float z_ie = zt[e * n + i];
      const f8 diff = z_ie - simd::load_lanes(zt + e * n + k, rest, z_ie);
      float* lanes = grad_lanes + e * simd::kLanes;
      simd::store(lanes, simd::load(lanes) + s * diff);
      float* column_k = grad_t + e * n + k;
      simd::store_lanes(column_k, simd::load_lanes(column_k, rest, 0.0f) - s * diff, rest);
    }
  }
  if (grad_t != nullptr)
    for (int64_t e = 0; e < d; ++e) grad_t[e * n + i] += simd::sum(simd::load(grad_lanes + e * simd::kLanes));
  return simd::sum(loss8);
}

}  // namespace

void multi_scale_rbf_cpu(const float* dist, int64_t n, const float* gammas, int n_gammas, float* kernel,
                         float* derivative) {
  RECORD_FUNCTION("multigrade::multi_scale_rbf_cpu", std::vector<c10::IValue>());  // named in profiler traces
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    rbf_range(dist, begin, end, gammas, n_gammas, kernel, derivative);
  });
}

double group_mmd_cpu(const float* z, int64_t n, int64_t d, const int64_t* group, int64_t n_groups, const float* gammas,
                     int n_gammas, float* grad_z) {
  RECORD_FUNCTION("multigrade::group_mmd_cpu", std::vector<c10::IValue>());
  const std::vector<float> c = pair_weights(group, n, n_groups);
  // Cells of no group take no part: work on the others, transposed for lane-wise distances.
  std::vector<int64_t> members;
  for (int64_t i = 0; i < n; ++i)
    if (group[i] >= 0) members.push_back(i);
  const auto m = static_cast<int64_t>(members.size());
  std::vector<float> zt(static_cast<size_t>(d * m));
  for (int64_t k = 0; k < m; ++k)
    for (int64_t e = 0; e < d; ++e) zt[e * m + k] = z[members[k] * d + e];
  std::vector<float> weight(static_cast<size_t>(m * m));  // c[g_i][g_k]
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < m; ++k) weight[i * m + k] = c[group[members[i]] * n_groups + group[members[k]]];

  // Each unordered pair once. Task t takes rows t and m - 1 - t, so that tasks weigh the same;
  // each thread adds its gradient terms into its own d x m buffer.
  const bool grads = grad_z != nullptr;
  std::vector<std::vector<float>> grad_t(grads ? static_cast<size_t>(at::get_num_threads()) : 0);
  std::vector<double> row_loss(static_cast<size_t>(m), 0.0);
  at::parallel_for(0, (m + 1) / 2, 8, [&](int64_t begin, int64_t end) {
    std::vector<float> grad_lanes(static_cast<size_t>(d * simd::kLanes));
    float* own = nullptr;
    if (grads) {
      std::vector<float>& buffer = grad_t[static_cast<size_t>(at::get_thread_num())];
      if (buffer.empty()) buffer.assign(static_cast<size_t>(d * m), 0.0f);
      own = buffer.data();
    }
    auto row = [&](int64_t i) {
      row_loss[i] = weight[i * m + i] +
                    group_mmd_row(zt.data(), m, d, i, weight.data() + i * m, gammas, n_gammas, grad_lanes.data(), own);
    };
    for (int64_t t = begin; t < end; ++t) {
      row(t);
      if (m - 1 - t != t) row(m - 1 - t);  // the middle row of an odd m comes once
    }
  });
  if (grads) {
    std::fill(grad_z, grad_z + n * d, 0.0f);
    for (const auto& buffer : grad_t) {
      if (buffer.empty()) continue;
      for (int64_t k = 0; k < m; ++k)
        for (int64_t e = 0; e < d; ++e) grad_z[members[k] * d + e] += 4.0f * buffer[e * m + k];
    }
  }
  double loss = 0;
  for (double v : row_loss) loss += v;
  return loss;
}

}  // namespace multigrade
