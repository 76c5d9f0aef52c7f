// R entry points for MultiMIL training and prediction (R/mil.R and R/mil-end-to-end.R build the lists).
#include <Rcpp.h>

#include "core/mil_api.h"
#include "r_convert.h"

namespace {

using multigrade::MilData;
using multigrade::MilTrainer;
using multigrade::r::mil_config;
using multigrade::r::mil_data;
using multigrade::r::mil_train_config;

struct MilSession {
  std::unique_ptr<MilTrainer> trainer;
  int n_threads = 1;
};

MilSession& mil_session(SEXP ptr) {
  Rcpp::XPtr<MilSession> p(ptr);
  if (p.get() == nullptr || !p->trainer) Rcpp::stop("this MIL training session is closed");
  return *p;
}

}  // namespace

// [[Rcpp::export(rng = false)]]
SEXP mg_mil_trainer_new(Rcpp::List model_config, Rcpp::List train_config, Rcpp::List data,
                        std::vector<int> train_samples, std::vector<int> validation_samples, std::string device,
                        int n_threads) {
  multigrade::ThreadScope threads(n_threads);
  auto s = std::make_unique<MilSession>();
  s->n_threads = n_threads;
  s->trainer = std::make_unique<MilTrainer>(mil_config(model_config), mil_train_config(train_config), mil_data(data),
                                            train_samples, validation_samples, device);
  return Rcpp::XPtr<MilSession>(s.release(), true);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_mil_trainer_epoch(SEXP ptr) {
  MilSession& s = mil_session(ptr);
  multigrade::ThreadScope threads(s.n_threads);
  const auto e = s.trainer->run_epoch();
  return Rcpp::List::create(Rcpp::_["epoch"] = e.epoch, Rcpp::_["train_loss"] = e.train_loss,
                            Rcpp::_["validation_loss"] = e.has_validation ? e.validation_loss : NA_REAL,
                            Rcpp::_["validation_accuracy"] = e.has_validation ? e.validation_accuracy : NA_REAL,
                            Rcpp::_["improved"] = e.improved, Rcpp::_["non_finite"] = e.non_finite,
                            Rcpp::_["cells_seen"] = static_cast<double>(e.cells_seen), Rcpp::_["seconds"] = e.seconds,
                            Rcpp::_["finished"] = s.trainer->finished());
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_mil_trainer_weights(SEXP ptr, bool restore_best) {
  MilSession& s = mil_session(ptr);
  if (restore_best) s.trainer->restore_best();
  return multigrade::r::weights_list(s.trainer->weights());
}

// [[Rcpp::export(rng = false)]]
void mg_mil_trainer_close(SEXP ptr) {
  Rcpp::XPtr<MilSession> p(ptr);
  p.release();
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_mil_predict(Rcpp::List model_config, Rcpp::List weights, Rcpp::List data, std::string device,
                          int n_threads) {
  multigrade::ThreadScope threads(n_threads);
  const MilData d = mil_data(data);
  const auto p = multigrade::mil_predict(mil_config(model_config), multigrade::r::named_arrays(weights), d, device);
  // Row-major samples x outputs from the core -> R's column-major matrix via a transpose.
  Rcpp::NumericMatrix output(p.n_outputs, p.n_samples, p.output.begin());
  Rcpp::NumericMatrix pooled(d.input_dim, p.n_samples, p.pooled.begin());
  return Rcpp::List::create(Rcpp::_["output"] = Rcpp::transpose(output),
                            Rcpp::_["attention"] = Rcpp::NumericVector(p.attention.begin(), p.attention.end()),
                            Rcpp::_["pooled"] = Rcpp::transpose(pooled));
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_mil_parameter_layout(Rcpp::List model_config) {
  return multigrade::r::layout_list(multigrade::mil_parameter_layout(mil_config(model_config)));
}
