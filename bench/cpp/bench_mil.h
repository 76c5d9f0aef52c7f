// MultiMIL benchmark: training and prediction on a simulated latent space.
#pragma once

#include <cstdint>
#include <string>

namespace multigrade_bench {

// `n_cells` cells in samples of 1000 (half of them "disease", with 20% of cells shifted),
// latent width 16; prints JSON lines for MIL training (epochs after the first) and prediction.
void bench_mil(int64_t n_cells, int epochs, const std::string& device);

}  // namespace multigrade_bench
