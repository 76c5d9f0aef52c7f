// MIL prediction: every sample is one bag of all its cells, so attention is normalised over
// the whole sample and predictions are per sample (not per 128-cell bag as in the reference).
#include <ATen/ATen.h>

#include <cmath>

#include "mil/mil_bags.h"
#include "mil/mil_network.h"
#include "mil_api.h"
#include "platform/device_copy.h"

namespace multigrade {

MilPrediction mil_predict(const MilConfig& model, const std::vector<NamedArray>& weights, const MilData& data,
                          const std::string& device_name) {
  const at::Device device(resolve_device(device_name));
  at::NoGradGuard no_grad;
  MilNet net(model, device);
  net.params().import_arrays(weights);
  const auto members = cells_by_sample(data.sample, data.n_cells, data.n_samples);
  const at::Tensor bag = device_copy(std::vector<int64_t>(data.sample, data.sample + data.n_cells), device);
  const MilForward f = net.forward(embedding_tensor(data, device), bag, data.n_samples, /*train=*/false);

  MilPrediction out;
  out.n_samples = data.n_samples;
  out.output = host_floats(net.predict(f.output));
  out.n_outputs = static_cast<int64_t>(out.output.size()) / std::max<int64_t>(data.n_samples, 1);
  out.attention = host_floats(f.attention);
  out.pooled = host_floats(f.pooled);
  for (int64_t s = 0; s < data.n_samples; ++s) {
    if (!members[static_cast<size_t>(s)].empty()) continue;
    for (int64_t k = 0; k < out.n_outputs; ++k) out.output[static_cast<size_t>(s * out.n_outputs + k)] = NAN;
  }
  return out;
}

}  // namespace multigrade
