#include "kernels/random_draws.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>
#include <utility>

#include "kernels/dropout_mask.h"

namespace multigrade {

namespace {

thread_local bool host_draws = false;

struct KeyedState {
  bool open = false;
  uint64_t step_key = 0;
  uint64_t next_draw = 0;  // the draw's number within the step
  std::vector<int64_t> row_keys;
};
thread_local KeyedState keyed;

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A keyed scope covers 2-D tensors with one row per cell of its minibatch.
bool keyed_applies(const at::Tensor& like) {
  return keyed.open && like.dim() == 2 && like.size(0) == static_cast<int64_t>(keyed.row_keys.size());
}

// One 64-bit hash per element of a rows x width CPU float tensor, for the next keyed draw.
template <class F>
at::Tensor keyed_values(const at::Tensor& like, F&& from_hash) {
  const uint64_t draw = mix64(keyed.step_key + 0x9e3779b97f4a7c15ULL * ++keyed.next_draw);
  at::Tensor out = at::empty(like.sizes(), at::TensorOptions().dtype(at::kFloat));
  float* values = out.data_ptr<float>();
  const int64_t rows = like.size(0), width = like.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t row = mix64(draw ^ (static_cast<uint64_t>(keyed.row_keys[r]) * 0xd1b54a32d192ed03ULL));
    for (int64_t c = 0; c < width; ++c)
      values[r * width + c] = from_hash(mix64(row + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(c)));
  }
  return out.to(like.device());
}

// The top 24 bits as a float in [0, 1).
inline float unit(uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }

uint64_t seed_from_cpu_generator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

HostDrawsScope::HostDrawsScope(bool on) : previous_(host_draws) { host_draws = on; }

HostDrawsScope::~HostDrawsScope() { host_draws = previous_; }

bool HostDrawsScope::active() { return host_draws; }

KeyedDrawsScope::KeyedDrawsScope(uint64_t step_key, std::vector<int64_t> row_keys) {
  keyed.open = true;
  keyed.step_key = step_key;
  keyed.next_draw = 0;
  keyed.row_keys = std::move(row_keys);
}

KeyedDrawsScope::~KeyedDrawsScope() { keyed = KeyedState(); }

uint64_t step_key(uint64_t seed, int64_t epoch, int64_t step, bool validation) {
  return mix64(mix64(mix64(seed) + static_cast<uint64_t>(epoch)) + static_cast<uint64_t>(step) * 2 + validation);
}

bool draws_from_host() { return host_draws || keyed.open; }

at::Tensor normal_like(const at::Tensor& like) {
  if (keyed_applies(like)) {
    return keyed_values(like, [](uint64_t h) {
      // Box-Muller from two uniforms of one hash and its remix; u1 in (0, 1].
      const double u1 = (static_cast<double>(h >> 40) + 1.0) / 16777216.0;
      const double u2 = static_cast<double>(mix64(h) >> 40) / 16777216.0;
      return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    });
  }
  if (!host_draws || like.is_cpu()) return at::randn_like(like);
  return at::randn(like.sizes(), like.options().device(at::kCPU)).to(like.device());
}

at::Tensor uniform_like(const at::Tensor& like) {
  if (keyed_applies(like)) return keyed_values(like, unit);
  if (!host_draws || like.is_cpu()) return at::rand_like(like);
  return at::rand(like.sizes(), like.options().device(at::kCPU)).to(like.device());
}

at::Tensor dropout_mask_like(const at::Tensor& x, double p) {
  if (keyed_applies(x)) {
    const auto threshold = static_cast<uint64_t>(p * 4294967296.0);
    const auto keep = static_cast<float>(1.0 / (1.0 - p));
    return keyed_values(x, [=](uint64_t h) { return (h >> 32) >= threshold ? keep : 0.0f; });
  }
  at::Tensor mask = at::empty(x.sizes(), x.options().device(at::kCPU).requires_grad(false));
  dropout_mask_cpu(mask.data_ptr<float>(), mask.numel(), p, seed_from_cpu_generator());
  return mask.to(x.device());
}

}  // namespace multigrade
