// Conversions between R lists (built by R/core-bridge.R) and the core's plain types.
// The returned DataInput points into R memory: keep the R objects alive while it is used.
#pragma once

#include <Rcpp.h>

#include "core/api.h"
#include "core/mil_api.h"

namespace multigrade {
namespace r {

ModelConfig model_config(const Rcpp::List& x);
TrainConfig train_config(const Rcpp::List& x);
DistributedConfig distributed_config(const Rcpp::List& x);  // multigrade_cluster() as a list
DataInput data_input(const Rcpp::List& x);
std::vector<NamedArray> named_arrays(const Rcpp::List& weights);
Rcpp::List weights_list(const std::vector<NamedArray>& arrays);
// Names and R-ordered shapes of a parameter layout (no values).
Rcpp::List layout_list(const std::vector<NamedArray>& layout);
Rcpp::List epoch_list(const EpochStats& stats);
MilConfig mil_config(const Rcpp::List& x);
MilTrainConfig mil_train_config(const Rcpp::List& x);
// Views into R memory, like data_input().
MilData mil_data(const Rcpp::List& x);
MilSetup mil_setup(const Rcpp::List& x);

}  // namespace r
}  // namespace multigrade
