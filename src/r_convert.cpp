#include "r_convert.h"

namespace multigrade {
namespace r {

namespace {

template <typename T>
T field(const Rcpp::List& x, const char* name) {
  if (!x.containsElementNamed(name)) Rcpp::stop("internal: missing field '%s'", name);
  return Rcpp::as<T>(x[name]);
}

const int* int_pointer_or_null(SEXP s) {
  if (Rf_isNull(s)) return nullptr;
  if (TYPEOF(s) != INTSXP) Rcpp::stop("internal: expected an integer vector");
  return INTEGER(s);
}

const double* double_pointer_or_null(SEXP s) {
  if (Rf_isNull(s)) return nullptr;
  if (TYPEOF(s) != REALSXP) Rcpp::stop("internal: expected a double vector");
  return REAL(s);
}

}  // namespace

ModelConfig model_config(const Rcpp::List& x) {
  ModelConfig mc;
  const Rcpp::List mods = x["modalities"];
  for (R_xlen_t k = 0; k < mods.size(); ++k) {
    const Rcpp::List m = mods[k];
    ModalitySpec spec;
    spec.name = field<std::string>(m, "name");
    spec.n_features = field<int>(m, "n_features");
    spec.likelihood = parse_likelihood(field<std::string>(m, "likelihood"));
    spec.log_input = field<bool>(m, "log_input");
    spec.coef = field<double>(m, "coef");
    spec.n_layers_encoder = field<int>(m, "n_layers_encoder");
    spec.n_hidden_encoder = field<int>(m, "n_hidden_encoder");
    spec.n_layers_decoder = field<int>(m, "n_layers_decoder");
    spec.n_hidden_decoder = field<int>(m, "n_hidden_decoder");
    mc.modalities.push_back(spec);
  }
  mc.latent_dim = field<int>(x, "latent_dim");
  mc.cond_dim = field<int>(x, "cond_dim");
  for (int levels : field<std::vector<int>>(x, "categorical_levels")) mc.categorical_levels.push_back(levels);
  mc.n_continuous = field<int>(x, "n_continuous");
  mc.n_groups = field<int>(x, "n_groups");
  mc.dropout = field<double>(x, "dropout");
  mc.condition_encoders = field<bool>(x, "condition_encoders");
  mc.condition_decoders = field<bool>(x, "condition_decoders");
  mc.mixing = parse_mixing(field<std::string>(x, "mixing"));
  // Models saved before the option existed had the prior expert.
  mc.prior_expert = !x.containsElementNamed("prior_expert") || Rcpp::as<bool>(x["prior_expert"]);
  return mc;
}

TrainConfig train_config(const Rcpp::List& x) {
  TrainConfig tc;
  tc.max_epochs = field<int>(x, "max_epochs");
  tc.batch_size = field<int>(x, "batch_size");
  tc.lr = field<double>(x, "lr");
  tc.weight_decay = field<double>(x, "weight_decay");
  tc.adam_eps = field<double>(x, "adam_eps");
  tc.train_size = field<double>(x, "train_size");
  tc.early_stopping = field<bool>(x, "early_stopping");
  tc.patience = field<int>(x, "patience");
  tc.n_epochs_kl_warmup = field<int>(x, "n_epochs_kl_warmup");
  tc.recon_coef = field<double>(x, "recon_coef");
  tc.kl_coef = field<double>(x, "kl_coef");
  tc.integ_coef = field<double>(x, "integ_coef");
  tc.alignment = parse_alignment(field<std::string>(x, "alignment"));
  tc.stratified_batches = field<bool>(x, "stratified_batches");
  tc.modality_dropout = field<double>(x, "modality_dropout");
  tc.consistency_coef = field<double>(x, "consistency_coef");
  tc.seed = static_cast<uint64_t>(field<double>(x, "seed"));
  tc.data_placement = parse_data_placement(field<std::string>(x, "data_placement"));
  tc.matmul_precision = parse_matmul_precision(field<std::string>(x, "matmul_precision"));
  tc.keyed_draws = field<bool>(x, "keyed_draws");
  if (x.containsElementNamed("distributed") && !Rf_isNull(x["distributed"]))
    tc.distributed = distributed_config(x["distributed"]);
  return tc;
}

DistributedConfig distributed_config(const Rcpp::List& d) {
  DistributedConfig config;
  config.rank = field<int>(d, "rank");
  config.world_size = field<int>(d, "world_size");
  config.master_addr = field<std::string>(d, "master_addr");
  config.master_port = field<int>(d, "master_port");
  config.backend = field<std::string>(d, "backend");
  config.timeout_seconds = field<double>(d, "timeout");
  return config;
}

DataInput data_input(const Rcpp::List& x) {
  DataInput in;
  in.n_cells = field<int>(x, "n_cells");
  const Rcpp::List mods = x["modalities"];
  for (R_xlen_t k = 0; k < mods.size(); ++k) {
    const Rcpp::List m = mods[k];
    ModalityInput mi;
    mi.sparse = field<bool>(m, "sparse");
    SEXP values = m["x"];
    if (TYPEOF(values) != REALSXP) Rcpp::stop("internal: modality values must be double");
    mi.values = REAL(values);
    if (mi.sparse) {
      mi.col_ptr = int_pointer_or_null(m["p"]);
      mi.row_index = int_pointer_or_null(m["i"]);
    }
    mi.present = int_pointer_or_null(m["present"]);
    mi.feature_present = int_pointer_or_null(m["feature_present"]);
    mi.encoder_fill = double_pointer_or_null(m["encoder_fill"]);
    in.modalities.push_back(mi);
  }
  const Rcpp::List cat = x["categorical"];
  for (R_xlen_t k = 0; k < cat.size(); ++k) in.categorical.push_back(int_pointer_or_null(cat[k]));
  const Rcpp::List cont = x["continuous"];
  for (R_xlen_t k = 0; k < cont.size(); ++k) {
    SEXP v = cont[k];
    if (TYPEOF(v) != REALSXP) Rcpp::stop("internal: continuous covariates must be double");
    in.continuous.push_back(REAL(v));
  }
  in.group = int_pointer_or_null(x["group"]);
  return in;
}

std::vector<NamedArray> named_arrays(const Rcpp::List& weights) {
  // R arrays carry the reversed (column-major) shape of the row-major core tensors.
  std::vector<NamedArray> out;
  const Rcpp::CharacterVector names = weights.names();
  for (R_xlen_t k = 0; k < weights.size(); ++k) {
    const Rcpp::NumericVector v = weights[k];
    NamedArray a;
    a.name = Rcpp::as<std::string>(names[k]);
    if (v.hasAttribute("dim")) {
      const Rcpp::IntegerVector dim = v.attr("dim");
      for (R_xlen_t d = dim.size() - 1; d >= 0; --d) a.shape.push_back(dim[d]);
    } else {
      a.shape.push_back(v.size());
    }
    a.values.assign(v.begin(), v.end());
    out.push_back(std::move(a));
  }
  return out;
}

Rcpp::List weights_list(const std::vector<NamedArray>& arrays) {
  Rcpp::List out(arrays.size());
  Rcpp::CharacterVector names(arrays.size());
  for (size_t k = 0; k < arrays.size(); ++k) {
    Rcpp::NumericVector v(arrays[k].values.begin(), arrays[k].values.end());
    if (arrays[k].shape.size() > 1) {
      Rcpp::IntegerVector dim(arrays[k].shape.rbegin(), arrays[k].shape.rend());
      v.attr("dim") = dim;
    }
    out[k] = v;
    names[k] = arrays[k].name;
  }
  out.names() = names;
  return out;
}

MilConfig mil_config(const Rcpp::List& x) {
  MilConfig c;
  c.input_dim = Rcpp::as<int64_t>(x["input_dim"]);
  c.task = parse_mil_task(Rcpp::as<std::string>(x["task"]));
  c.n_classes = Rcpp::as<int64_t>(x["n_classes"]);
  c.scoring = parse_mil_scoring(Rcpp::as<std::string>(x["scoring"]));
  c.attention_dim = Rcpp::as<int64_t>(x["attention_dim"]);
  c.n_layers_cell = Rcpp::as<int>(x["n_layers_cell"]);
  c.n_layers_head = Rcpp::as<int>(x["n_layers_head"]);
  c.n_hidden_head = Rcpp::as<int64_t>(x["n_hidden_head"]);
  c.dropout = Rcpp::as<double>(x["dropout"]);
  return c;
}

MilTrainConfig mil_train_config(const Rcpp::List& x) {
  MilTrainConfig c;
  c.max_epochs = Rcpp::as<int>(x["max_epochs"]);
  c.lr = Rcpp::as<double>(x["lr"]);
  c.weight_decay = Rcpp::as<double>(x["weight_decay"]);
  c.bag_size = Rcpp::as<int64_t>(x["bag_size"]);
  c.bags_per_step = Rcpp::as<int64_t>(x["bags_per_step"]);
  c.class_weights = Rcpp::as<std::vector<double>>(x["class_weights"]);
  c.early_stopping = Rcpp::as<bool>(x["early_stopping"]);
  c.patience = Rcpp::as<int>(x["patience"]);
  c.seed = static_cast<uint64_t>(Rcpp::as<double>(x["seed"]));
  return c;
}

// Points into the R objects of `x`, which must outlive the returned view.
MilData mil_data(const Rcpp::List& x) {
  const Rcpp::NumericMatrix embedding = x["embedding"];
  const Rcpp::IntegerVector sample = x["sample"];
  MilData d;
  d.n_cells = embedding.nrow();
  d.input_dim = embedding.ncol();
  d.embedding = embedding.begin();
  d.sample = sample.begin();
  d.n_samples = Rcpp::as<int64_t>(x["n_samples"]);
  if (!Rf_isNull(x["target"])) d.target = REAL(x["target"]);
  return d;
}

MilSetup mil_setup(const Rcpp::List& x) {
  MilSetup m;
  m.model = mil_config(x["config"]);
  m.train = mil_train_config(x["train_config"]);
  const Rcpp::IntegerVector sample = x["sample"];
  m.sample = sample.begin();
  m.n_samples = Rcpp::as<int64_t>(x["n_samples"]);
  m.target = REAL(x["target"]);
  m.train_samples = Rcpp::as<std::vector<int>>(x["train_samples"]);
  m.validation_samples = Rcpp::as<std::vector<int>>(x["validation_samples"]);
  m.coef = Rcpp::as<double>(x["coef"]);
  return m;
}

Rcpp::List layout_list(const std::vector<NamedArray>& layout) {
  Rcpp::List out(layout.size());
  Rcpp::CharacterVector names(layout.size());
  for (size_t k = 0; k < layout.size(); ++k) {
    out[k] = Rcpp::IntegerVector(layout[k].shape.rbegin(), layout[k].shape.rend());
    names[k] = layout[k].name;
  }
  out.names() = names;
  return out;
}

Rcpp::List epoch_list(const EpochStats& s) {
  return Rcpp::List::create(
      Rcpp::_["epoch"] = s.epoch, Rcpp::_["kl_weight"] = s.kl_weight, Rcpp::_["train_loss"] = s.train_loss,
      Rcpp::_["train_reconstruction"] = s.train_reconstruction, Rcpp::_["train_kl"] = s.train_kl,
      Rcpp::_["train_integration"] = s.train_integration, Rcpp::_["train_consistency"] = s.train_consistency,
      Rcpp::_["train_mil"] = s.train_mil, Rcpp::_["validation_loss"] = s.has_validation ? s.validation_loss : NA_REAL,
      Rcpp::_["validation_reconstruction"] = s.has_validation ? s.validation_reconstruction : NA_REAL,
      Rcpp::_["improved"] = s.improved, Rcpp::_["non_finite"] = s.non_finite, Rcpp::_["interrupted"] = s.interrupted,
      Rcpp::_["cells_seen"] = static_cast<double>(s.cells_seen), Rcpp::_["seconds"] = s.seconds);
}

}  // namespace r
}  // namespace multigrade
