// Inference shared by the public entry points (inference.cpp) and the trainer, which encodes
// its own cells at the end of training without a second copy of the data or the weights.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

#include "api.h"
#include "data/dataset.h"
#include "model/network.h"

namespace multigrade {

// Posterior means and log-variances of every cell of `data`, in chunks of `chunk_size`
// cells, in eval mode. `use_modality` (one flag per modality, or empty for all) hides the
// unflagged modalities from the encoders, as if they were not measured: the embedding of
// the cells from that subset of their modalities. A cell left with no measured modality
// gets the posterior of no expert (the caller discards it).
LatentResult encode_cells(const MultigradeNet& net, const CellData& data, const at::Device& device, int64_t chunk_size,
                          const std::vector<bool>& use_modality = {});

}  // namespace multigrade
