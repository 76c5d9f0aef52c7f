// R entry points for training, inference and runtime information. Exceptions from the
// core become R errors through Rcpp's wrappers; nothing here touches torch types.
#include <Rcpp.h>

#include "core/api.h"
#include "r_convert.h"

using multigrade::Trainer;

namespace {

// Holds a trainer together with the R data it was built from.
struct TrainingSession {
  std::unique_ptr<Trainer> trainer;
  int n_threads = 1;
};

void check_interrupt(void*) { R_CheckUserInterrupt(); }

// True when the user pressed Ctrl-C; never longjmps through C++ frames.
bool interrupt_pending() { return R_ToplevelExec(check_interrupt, nullptr) == FALSE; }

TrainingSession& session(SEXP ptr) {
  Rcpp::XPtr<TrainingSession> p(ptr);
  if (p.get() == nullptr || !p->trainer) Rcpp::stop("this training session is closed");
  return *p;
}

// Pointers to the data of each R vector in `list` (nullptr for NULL entries), for the
// core's covariate arrays; `keep` holds the (possibly coerced) vectors alive.
template <typename T, typename RVector>
std::vector<const T*> vector_pointers(const Rcpp::List& list, std::vector<RVector>& keep) {
  keep.reserve(static_cast<size_t>(list.size()));
  std::vector<const T*> out;
  for (R_xlen_t k = 0; k < list.size(); ++k) {
    if (Rf_isNull(list[k])) {
      out.push_back(nullptr);
      continue;
    }
    keep.emplace_back(list[k]);
    out.push_back(keep.back().begin());
  }
  return out;
}

}  // namespace

// [[Rcpp::export(rng = false)]]
SEXP mg_trainer_new(Rcpp::List model_config, Rcpp::List train_config, Rcpp::List data, std::string device,
                    int n_threads, Rcpp::Nullable<Rcpp::List> reference = R_NilValue,
                    Rcpp::Nullable<Rcpp::List> mil = R_NilValue) {
  multigrade::ThreadScope threads(n_threads);
  auto s = std::make_unique<TrainingSession>();
  s->n_threads = n_threads;
  std::vector<multigrade::NamedArray> reference_weights;
  if (reference.isNotNull()) reference_weights = multigrade::r::named_arrays(Rcpp::List(reference));
  // The MIL setup points into R vectors that the trainer copies in its constructor.
  std::unique_ptr<multigrade::MilSetup> mil_setup;
  if (mil.isNotNull()) mil_setup = std::make_unique<multigrade::MilSetup>(multigrade::r::mil_setup(Rcpp::List(mil)));
  s->trainer = std::make_unique<Trainer>(
      multigrade::r::model_config(model_config), multigrade::r::train_config(train_config),
      multigrade::r::data_input(data), device, reference.isNotNull() ? &reference_weights : nullptr,
      mil_setup ? multigrade::joint_mil_head(*mil_setup) : multigrade::AuxiliaryHeadFactory());
  return Rcpp::XPtr<TrainingSession>(s.release(), true);
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_trainer_epoch(SEXP ptr) {
  TrainingSession& s = session(ptr);
  multigrade::ThreadScope threads(s.n_threads);
  const auto stats = s.trainer->run_epoch(interrupt_pending);
  Rcpp::List out = multigrade::r::epoch_list(stats);
  out["finished"] = s.trainer->finished();
  return out;
}

// One pass over the part of a streamed data set the session holds; FALSE when interrupted.
// [[Rcpp::export(rng = false)]]
bool mg_trainer_part(SEXP ptr) {
  TrainingSession& s = session(ptr);
  multigrade::ThreadScope threads(s.n_threads);
  return s.trainer->train_part(interrupt_pending);
}

// Closes an epoch of parts (mg_trainer_part), as mg_trainer_epoch() closes one of all the data.
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_trainer_end_epoch(SEXP ptr) {
  TrainingSession& s = session(ptr);
  multigrade::ThreadScope threads(s.n_threads);
  Rcpp::List out = multigrade::r::epoch_list(s.trainer->end_epoch());
  out["finished"] = s.trainer->finished();
  return out;
}

// [[Rcpp::export(rng = false)]]
void mg_trainer_set_data(SEXP ptr, Rcpp::List data) {
  TrainingSession& s = session(ptr);
  multigrade::ThreadScope threads(s.n_threads);
  s.trainer->set_data(multigrade::r::data_input(data));
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_trainer_result(SEXP ptr, bool restore_best) {
  TrainingSession& s = session(ptr);
  if (restore_best) s.trainer->restore_best();
  const std::vector<int> validation = s.trainer->validation_cells();
  Rcpp::IntegerVector val(validation.begin(), validation.end());
  return Rcpp::List::create(Rcpp::_["weights"] = multigrade::r::weights_list(s.trainer->weights()),
                            Rcpp::_["validation_cells"] = val + 1,
                            Rcpp::_["n_trainable"] = static_cast<double>(s.trainer->n_trainable()),
                            Rcpp::_["mil_weights"] = multigrade::r::weights_list(s.trainer->mil_weights()));
}

namespace {

// Rows of a row-major cells x dims result as R's column-major cells x dims matrix.
Rcpp::NumericMatrix latent_matrix(int64_t n_cells, int64_t latent_dim, const std::vector<float>& values) {
  Rcpp::NumericMatrix transposed(latent_dim, n_cells, values.begin());
  return Rcpp::transpose(transposed);
}

Rcpp::List latent_list(const multigrade::LatentResult& result) {
  return Rcpp::List::create(Rcpp::_["mean"] = latent_matrix(result.n_cells, result.latent_dim, result.mean),
                            Rcpp::_["logvar"] = latent_matrix(result.n_cells, result.latent_dim, result.logvar));
}

}  // namespace

// The session's cells encoded with its current weights from the modalities flagged in
// `use_modality` (one per modality, in the configuration's order).
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_trainer_encode(SEXP ptr, Rcpp::LogicalVector use_modality, int n_threads) {
  TrainingSession& s = session(ptr);
  multigrade::ThreadScope threads(n_threads);
  std::vector<bool> use(use_modality.begin(), use_modality.end());
  return latent_list(s.trainer->encode(use));
}

// The latest of `epochs` that every data-parallel rank has a checkpoint of (-1: none).
// [[Rcpp::export(rng = false)]]
int mg_trainer_common_epoch(SEXP ptr, Rcpp::IntegerVector epochs) {
  return session(ptr).trainer->common_epoch(std::vector<int>(epochs.begin(), epochs.end()));
}

// This rank's rows (its cells x width) through `gather` (row-major floats of this rank's cells ->
// those of every rank's, in data order), back as an all cells x width matrix.
template <typename Gather>
Rcpp::NumericMatrix gathered_rows(const Rcpp::NumericMatrix& rows, Gather gather) {
  const int n = rows.nrow(), width = rows.ncol();
  std::vector<float> local(static_cast<size_t>(n) * width);
  for (int i = 0; i < n; ++i)
    for (int d = 0; d < width; ++d) local[static_cast<size_t>(i) * width + d] = static_cast<float>(rows(i, d));
  const std::vector<float> all = gather(local, width);
  return latent_matrix(static_cast<int64_t>(all.size()) / width, width, all);
}

// Data-parallel training: this rank's rows -> every rank's, through the session's group.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix mg_trainer_gather(SEXP ptr, Rcpp::NumericMatrix rows) {
  const multigrade::Trainer& trainer = *session(ptr).trainer;
  return gathered_rows(
      rows, [&](const std::vector<float>& local, int64_t width) { return trainer.gather_cells(local, width); });
}

// Data-parallel inference: this rank's rows -> every rank's, through a group for this call.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix mg_gather_cell_rows(Rcpp::List distributed, Rcpp::NumericMatrix rows) {
  const multigrade::DistributedConfig config = multigrade::r::distributed_config(distributed);
  return gathered_rows(rows, [&](const std::vector<float>& local, int64_t width) {
    return multigrade::gather_cell_rows(config, local, width);
  });
}

// The session's state between epochs, as a list of plain vectors (R/checkpoints.R saves it).
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_trainer_checkpoint(SEXP ptr, bool interrupted) {
  const multigrade::TrainerCheckpoint c = session(ptr).trainer->checkpoint(interrupted);
  auto floats = [](const std::vector<float>& v) { return Rcpp::NumericVector(v.begin(), v.end()); };
  return Rcpp::List::create(
      Rcpp::_["params"] = floats(c.params), Rcpp::_["exp_avg"] = floats(c.exp_avg),
      Rcpp::_["exp_avg_sq"] = floats(c.exp_avg_sq), Rcpp::_["best"] = floats(c.best),
      Rcpp::_["last_good"] = floats(c.last_good), Rcpp::_["optimizer_steps"] = static_cast<double>(c.optimizer_steps),
      Rcpp::_["lr"] = c.lr, Rcpp::_["best_monitor"] = c.best_monitor, Rcpp::_["epochs_done"] = c.epochs_done,
      Rcpp::_["epochs_without_improvement"] = c.epochs_without_improvement, Rcpp::_["rollbacks"] = c.rollbacks,
      Rcpp::_["done"] = c.done, Rcpp::_["sampler_rng"] = c.sampler_rng,
      Rcpp::_["torch_rng"] = Rcpp::RawVector(c.torch_rng.begin(), c.torch_rng.end()));
}

// [[Rcpp::export(rng = false)]]
void mg_trainer_resume(SEXP ptr, Rcpp::List state) {
  TrainingSession& s = session(ptr);
  auto floats = [&state](const char* name) { return Rcpp::as<std::vector<float>>(state[name]); };
  multigrade::TrainerCheckpoint c;
  c.params = floats("params");
  c.exp_avg = floats("exp_avg");
  c.exp_avg_sq = floats("exp_avg_sq");
  c.best = floats("best");
  c.last_good = floats("last_good");
  c.optimizer_steps = static_cast<int64_t>(Rcpp::as<double>(state["optimizer_steps"]));
  c.lr = Rcpp::as<double>(state["lr"]);
  c.best_monitor = Rcpp::as<double>(state["best_monitor"]);
  c.epochs_done = Rcpp::as<int>(state["epochs_done"]);
  c.epochs_without_improvement = Rcpp::as<int>(state["epochs_without_improvement"]);
  c.rollbacks = Rcpp::as<int>(state["rollbacks"]);
  c.done = Rcpp::as<bool>(state["done"]);
  c.sampler_rng = Rcpp::as<std::string>(state["sampler_rng"]);
  const Rcpp::RawVector torch_rng = state["torch_rng"];
  c.torch_rng.assign(torch_rng.begin(), torch_rng.end());
  s.trainer->resume(c);
}

// [[Rcpp::export(rng = false)]]
void mg_trainer_close(SEXP ptr) {
  Rcpp::XPtr<TrainingSession> p(ptr);
  p.release();
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_encode(Rcpp::List model_config, Rcpp::List weights, Rcpp::List data, std::string device, int n_threads) {
  multigrade::ThreadScope threads(n_threads);
  const auto result =
      multigrade::encode_latent(multigrade::r::model_config(model_config), multigrade::r::named_arrays(weights),
                                multigrade::r::data_input(data), device);
  return latent_list(result);
}

// Imputed values of modality `target` (1-based) as features x cells matrices (the core's
// row-major cells x features is R's column-major features x cells).
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_impute(Rcpp::List model_config, Rcpp::List weights, Rcpp::List data, std::string device, int n_threads,
                     int target, Rcpp::Nullable<Rcpp::NumericVector> library, int n_samples, Rcpp::NumericVector probs,
                     double seed, Rcpp::List decode_categorical, bool foreground_probability) {
  multigrade::ThreadScope threads(n_threads);
  multigrade::ImputeRequest request;
  request.target = static_cast<size_t>(target - 1);
  Rcpp::NumericVector library_values;
  if (library.isNotNull()) {
    library_values = Rcpp::NumericVector(library);
    request.library = library_values.begin();
  }
  request.n_samples = n_samples;
  request.probs.assign(probs.begin(), probs.end());
  request.seed = static_cast<uint64_t>(seed);
  request.foreground_probability = foreground_probability;
  // One entry per covariate: NULL (own codes) or n_cells 0-based codes.
  std::vector<Rcpp::IntegerVector> decode_codes;
  request.decode_categorical = vector_pointers<int>(decode_categorical, decode_codes);
  const auto result =
      multigrade::impute_modality(multigrade::r::model_config(model_config), multigrade::r::named_arrays(weights),
                                  multigrade::r::data_input(data), device, request);
  const auto as_matrix = [&](const std::vector<float>& v) {
    return Rcpp::NumericMatrix(static_cast<int>(result.n_features), static_cast<int>(result.n_cells), v.begin());
  };
  Rcpp::List quantiles(result.quantiles.size());
  for (size_t q = 0; q < result.quantiles.size(); ++q) quantiles[q] = as_matrix(result.quantiles[q]);
  return Rcpp::List::create(Rcpp::_["mean"] = as_matrix(result.mean), Rcpp::_["quantiles"] = quantiles);
}

// Decoded values of modality `target` (1-based) at latent points (rows of `z`), as a
// features x points matrix. `categorical`: 0-based codes per covariate; `continuous`:
// values per covariate.
// [[Rcpp::export(rng = false)]]
Rcpp::NumericMatrix mg_decode_latent(Rcpp::List model_config, Rcpp::List weights, Rcpp::NumericMatrix z,
                                     Rcpp::List categorical, Rcpp::List continuous, int target, std::string device,
                                     int n_threads) {
  multigrade::ThreadScope threads(n_threads);
  const int n = z.nrow(), dims = z.ncol();
  std::vector<float> points(static_cast<size_t>(n) * dims);
  for (int i = 0; i < n; ++i)
    for (int d = 0; d < dims; ++d) points[static_cast<size_t>(i) * dims + d] = static_cast<float>(z(i, d));
  std::vector<Rcpp::IntegerVector> codes;
  const auto categorical_ptrs = vector_pointers<int>(categorical, codes);
  std::vector<Rcpp::NumericVector> values;
  const auto continuous_ptrs = vector_pointers<double>(continuous, values);
  const auto result =
      multigrade::decode_latent(multigrade::r::model_config(model_config), multigrade::r::named_arrays(weights), points,
                                n, categorical_ptrs, continuous_ptrs, static_cast<size_t>(target - 1), device);
  return Rcpp::NumericMatrix(static_cast<int>(result.n_features), static_cast<int>(result.n_cells),
                             result.mean.begin());
}

// The reference's weights grown to a configuration with more covariate levels or groups, the
// new rows at the mean of the known ones.
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_graft_weights(Rcpp::List model_config, Rcpp::List reference) {
  return multigrade::r::weights_list(
      multigrade::graft_weights(multigrade::r::model_config(model_config), multigrade::r::named_arrays(reference)));
}

// Parameter shapes of a configuration, in R's (reversed) dimension order.
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_parameter_layout(Rcpp::List model_config) {
  return multigrade::r::layout_list(multigrade::parameter_layout(multigrade::r::model_config(model_config)));
}

// [[Rcpp::export(rng = false)]]
Rcpp::List mg_runtime_info() {
  const auto info = multigrade::runtime_info();
  return Rcpp::List::create(Rcpp::_["torch_version"] = info.torch_version, Rcpp::_["threads"] = info.threads,
                            Rcpp::_["cuda_available"] = info.cuda_available,
                            Rcpp::_["cuda_device_count"] = info.cuda_device_count,
                            Rcpp::_["compiled_with_cuda"] = info.compiled_with_cuda);
}

// [[Rcpp::export(rng = false)]]
std::string mg_resolve_device(std::string device) { return multigrade::resolve_device(device); }
