# The schema of a model: the modalities data must have to meet it (their features, in order,
# and likelihoods) and its covariates (the levels of each categorical one, the continuous
# names, the integrate_on covariate). One constructor; training builds the schema from its
# data, a trained model carries it (model$modalities and model$covariates, the saved format),
# and prepare_data() matches mapping, imputation, prediction and every streamed chunk to one.

new_schema <- function(modalities, categorical = list(), continuous = NULL, integrate_on = NULL) {
    structure(list(
        modalities = lapply(modalities, function(m) list(features = m$features, likelihood = m$likelihood)),
        categorical = categorical, continuous = continuous, integrate_on = integrate_on
    ), class = "mg_schema")
}

# The schema of prepared data (mg_data), e.g. the training data or a streamed run's first chunk
# with the levels of the whole obs table (`categorical`).
data_schema <- function(data, categorical = data$levels) {
    new_schema(data$modalities, categorical, names(data$continuous), data$integrate_on)
}

# The schema a trained model carries.
model_schema <- function(model) {
    new_schema(model$modalities, model$covariates$categorical, model$covariates$continuous,
        model$covariates$integrate_on)
}

schema_likelihoods <- function(schema) vapply(schema$modalities, `[[`, "", "likelihood")

# How a model stores a schema's covariates (model$covariates, the saved format).
schema_covariates <- function(schema) {
    list(categorical = schema$categorical, continuous = schema$continuous, integrate_on = schema$integrate_on)
}

# The sizes the network takes from a schema's covariates: levels per categorical covariate
# and the number of integrate_on groups (dispersions and MMD groups; 1 without one).
schema_dimensions <- function(schema) {
    n_groups <- if (is.null(schema$integrate_on)) 1L else length(schema$categorical[[schema$integrate_on]])
    list(categorical_levels = as.integer(lengths(schema$categorical)), n_groups = as.integer(n_groups))
}
