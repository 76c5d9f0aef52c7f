// Version/thread/device helpers and the string -> enum parsers of api.h.
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <stdexcept>

#include "api.h"

namespace multigrade {

Likelihood parse_likelihood(const std::string& name) {
  if (name == "mse") return Likelihood::mse;
  if (name == "nb") return Likelihood::nb;
  if (name == "zinb") return Likelihood::zinb;
  if (name == "nbmixture") return Likelihood::nbmixture;
  if (name == "bernoulli" || name == "bce") return Likelihood::bernoulli;
  throw std::invalid_argument("unknown likelihood '" + name + "' (use mse, nb, zinb, nbmixture or bernoulli)");
}

Mixing parse_mixing(const std::string& name) {
  if (name == "product") return Mixing::product;
  if (name == "mixture") return Mixing::mixture;
  throw std::invalid_argument("unknown mixing '" + name + "' (use product or mixture)");
}

Alignment parse_alignment(const std::string& name) {
  if (name == "none") return Alignment::none;
  if (name == "latent") return Alignment::latent;
  if (name == "marginal") return Alignment::marginal;
  if (name == "both") return Alignment::both;
  throw std::invalid_argument("unknown alignment '" + name + "' (use none, latent, marginal or both)");
}

DataPlacement parse_data_placement(const std::string& name) {
  if (name == "auto") return DataPlacement::automatic;
  if (name == "host") return DataPlacement::host;
  if (name == "device") return DataPlacement::device;
  throw std::invalid_argument("unknown data placement '" + name + "' (use auto, host or device)");
}

MatmulPrecision parse_matmul_precision(const std::string& name) {
  if (name == "highest") return MatmulPrecision::highest;
  if (name == "high") return MatmulPrecision::high;
  throw std::invalid_argument("unknown matmul precision '" + name + "' (use highest or high)");
}

bool is_count_likelihood(Likelihood lik) {
  return lik == Likelihood::nb || lik == Likelihood::zinb || lik == Likelihood::nbmixture;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                       std::to_string(TORCH_VERSION_PATCH);
  info.threads = at::get_num_threads();
#ifdef MULTIGRADE_CUDA_BUILD
  info.compiled_with_cuda = true;  // set by configure/CMake when libtorch_cuda is linked
#else
  info.compiled_with_cuda = false;
#endif
  info.cuda_available = at::globalContext().hasCUDA();
  info.cuda_device_count = info.cuda_available ? at::detail::getCUDAHooks().getNumGPUs() : 0;
  return info;
}

std::string resolve_device(const std::string& requested) {
  const bool cuda = at::globalContext().hasCUDA();
  if (requested == "auto") return cuda ? "cuda" : "cpu";
  if (requested == "cpu") return "cpu";
  if (requested.rfind("cuda", 0) == 0) {
    if (!cuda)
      throw std::invalid_argument("device '" + requested + "' requested but this LibTorch has no usable CUDA device");
    return requested;
  }
  throw std::invalid_argument("unknown device '" + requested + "' (use auto, cpu or cuda)");
}

ThreadScope::ThreadScope(int n_threads) : previous_(at::get_num_threads()) {
  if (n_threads > 0) at::set_num_threads(n_threads);
}

ThreadScope::~ThreadScope() { at::set_num_threads(previous_); }

namespace {
// The string form is what torch.set_float32_matmul_precision passes in every LibTorch since 1.12.
const char* precision_name(at::Float32MatmulPrecision p) {
  switch (p) {
    case at::Float32MatmulPrecision::HIGH:
      return "high";
    case at::Float32MatmulPrecision::MEDIUM:
      return "medium";
    default:
      return "highest";
  }
}
}  // namespace

MatmulPrecisionScope::MatmulPrecisionScope(MatmulPrecision precision)
    : previous_(static_cast<int>(at::globalContext().float32MatmulPrecision())) {
  at::globalContext().setFloat32MatmulPrecision(precision == MatmulPrecision::high ? "high" : "highest");
}

MatmulPrecisionScope::~MatmulPrecisionScope() {
  at::globalContext().setFloat32MatmulPrecision(precision_name(static_cast<at::Float32MatmulPrecision>(previous_)));
}

MatmulPrecision MatmulPrecisionScope::current() {
  return at::globalContext().float32MatmulPrecision() == at::Float32MatmulPrecision::HIGHEST ? MatmulPrecision::highest
                                                                                             : MatmulPrecision::high;
}

}  // namespace multigrade
