#include "rbf_kernel.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include "simd_math.h"

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
void rbf_range(const float* dist, int64_t begin, int64_t end, const float* gammas, int n_gammas,
               float* kernel, float* derivative) {
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
      c[g * n_groups + h] = static_cast<float>(g == h ? (n_valid - 1) / (count[g] * count[g]) : -1.0 / (count[g] * count[h]));
    }
  }
  return c;
}

MULTIGRADE_SIMD f8 load_lanes(const float* p, int rest, float fill) {
  return rest == simd::kLanes ? simd::load(p) : simd::load_partial(p, rest, fill);
}

// Row i against all cells (zt: d x n, transposed), eight at a time: adds the row's loss terms
// and, when grad_row is set, writes 4 sum_k s_ik (z_i - z_k) with s_ik = c[g_i][g_k] k'(d_ik)
// (each unordered pair counts twice; d_ik = |z_i - z_k|^2). The differences are summed as
// such: z_i sum_k s_ik - sum_k s_ik z_k would cancel catastrophically, since k'(0) is about
// -6e4 at the reference's bandwidths. grad_lanes: d x 8 floats of scratch.
MULTIGRADE_TARGET_CLONES
double group_mmd_row(const float* zt, int64_t n, int64_t d, const float* z_i, const float* weight_of, const float* gammas,
                     int n_gammas, float* grad_lanes, float* grad_row) {
  const float inv_n = 1.0f / static_cast<float>(n_gammas);
  f8 loss8 = simd::splat(0.0f);
  if (grad_row != nullptr) std::fill(grad_lanes, grad_lanes + d * simd::kLanes, 0.0f);
  for (int64_t k = 0; k < n; k += simd::kLanes) {
    const int rest = static_cast<int>(std::min<int64_t>(simd::kLanes, n - k));
    f8 dist = simd::splat(0.0f);
    for (int64_t e = 0; e < d; ++e) {
      const f8 diff = load_lanes(zt + e * n + k, rest, z_i[e]) - z_i[e];  // padding lanes: 0
      dist += diff * diff;
    }
    const f8 w = load_lanes(weight_of + k, rest, 0.0f);  // padding lanes weigh 0
    f8 kern, dkern;
    rbf_lanes(dist, gammas, n_gammas, &kern, &dkern);
    loss8 += w * kern * inv_n;
    if (grad_row == nullptr) continue;
    const f8 s = w * dkern * inv_n;
    for (int64_t e = 0; e < d; ++e) {
      float* g = grad_lanes + e * simd::kLanes;
      const f8 diff = z_i[e] - load_lanes(zt + e * n + k, rest, z_i[e]);
      simd::store(g, simd::load(g) + s * diff);
    }
  }
  if (grad_row != nullptr)
    for (int64_t e = 0; e < d; ++e) grad_row[e] = 4.0f * simd::sum(simd::load(grad_lanes + e * simd::kLanes));
  return simd::sum(loss8);
}

}  // namespace

void multi_scale_rbf_cpu(const float* dist, int64_t n, const float* gammas, int n_gammas,
                         float* kernel, float* derivative) {
  RECORD_FUNCTION("multigrade::multi_scale_rbf_cpu", std::vector<c10::IValue>());  // named in profiler traces
  at::parallel_for(0, n, 4096, [&](int64_t begin, int64_t end) {
    rbf_range(dist, begin, end, gammas, n_gammas, kernel, derivative);
  });
}

double group_mmd_cpu(const float* z, int64_t n, int64_t d, const int64_t* group, int64_t n_groups,
                     const float* gammas, int n_gammas, float* grad_z) {
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
  if (grad_z != nullptr) std::fill(grad_z, grad_z + n * d, 0.0f);

  std::vector<double> row_loss(static_cast<size_t>(m), 0.0);
  at::parallel_for(0, m, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> weight_of(static_cast<size_t>(m)), z_i(static_cast<size_t>(d));
    std::vector<float> grad_lanes(static_cast<size_t>(d * simd::kLanes));
    for (int64_t i = begin; i < end; ++i) {
      const float* c_row = c.data() + group[members[i]] * n_groups;
      for (int64_t k = 0; k < m; ++k) weight_of[k] = c_row[group[members[k]]];
      for (int64_t e = 0; e < d; ++e) z_i[e] = zt[e * m + i];
      row_loss[i] = group_mmd_row(zt.data(), m, d, z_i.data(), weight_of.data(), gammas, n_gammas, grad_lanes.data(),
                                  grad_z != nullptr ? grad_z + members[i] * d : nullptr);
    }
  });
  double loss = 0;
  for (double v : row_loss) loss += v;
  return loss;
}

}  // namespace multigrade
