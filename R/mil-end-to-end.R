#' End-to-end MultiMIL: train the VAE and the MIL head together
#'
#' The list method of [RunMultiMIL()] trains Multigrate's VAE on the
#' modalities and a MIL head on its latent space at the same time (MultiMIL's
#' end-to-end mode): every minibatch is a set of bags of cells from the
#' training samples, and the MIL loss on the sampled joint latent is added to
#' the VAE loss (weighted by `mil_coef`), so the latent space is shaped by the
#' phenotype as well as by reconstruction. Cells of the validation samples
#' validate the VAE (early stopping on their reconstruction loss).
#'
#' The result is a `multimil_model` whose `$vae` is the trained
#' `multigrade_model` and whose `$embedding` is the cells' posterior mean; the
#' attention and the sample predictions are computed on that embedding. New
#' data: embed it with `predict(fit$vae, newdata)` or map it with
#' [MapToReference()] onto `fit$vae`, then call [PredictSamples()].
#'
#' @inheritParams RunMultigrade
#' @inheritParams RunMultiMIL
#' @param object A named list of feature x cell matrices (as for
#'   [RunMultigrade()]).
#' @param mil_coef Weight of the MIL loss relative to the VAE loss.
#' @param options MIL settings from [mil_options()], as for the other
#'   [RunMultiMIL()] methods.
#' @param vae_options VAE settings from [multigrade_options()]. (Before, the
#'   VAE's settings went to `options` and the MIL's to `mil`; both still work,
#'   with a deprecation warning.)
#' @param mil Deprecated: the MIL settings, now `options`.
#' @param max_epochs,lr Epochs and learning rate of the joint training.
#' @return A `multimil_model` with `$vae`, `$embedding`, `$attention` and
#'   `$samples`.
#' @family MultiMIL
#' @examples
#' \donttest{
#' gbm <- multigrade_example("glioblastoma")
#' fit <- RunMultiMIL(list(rna = gbm$counts), sample = gbm$obs$sample_id,
#'     label = gbm$obs$condition, likelihoods = c(rna = "nb"), batch = gbm$obs$patient_id,
#'     max_epochs = 10, seed = 1, verbose = FALSE)
#' fit$samples[, c("sample", "label", "predicted")]
#' }
#' @export
RunMultiMIL.list <- function(object, sample, label, task = c("classification", "regression", "ordinal"),  # nolint: object_name_linter.
                             levels = NULL, scoring = c("gated_attention", "attention", "mean"),
                             class_weights = "balanced", mil_coef = 1, likelihoods = NULL, batch = NULL,
                             integrate_on = NULL, continuous = NULL, present = NULL, latent_dim = 16L,
                             train_size = NULL, max_epochs = 200L, lr = 5e-4, device = "auto", seed = NULL,
                             verbose = TRUE, options = mil_options(), vae_options = multigrade_options(), mil = NULL,
                             ...) {
    settings <- end_to_end_settings(options, vae_options, mil)
    check_dots_empty(list(...))
    mil <- settings$mil
    options <- settings$vae
    task <- match.arg(task)
    scoring <- match.arg(scoring)
    check_training_arguments(options, latent_dim, max_epochs, lr)
    check_number(mil_coef, min = 0)
    device <- resolve_device(device)
    seed <- draw_seed(seed)
    data <- prepare_data(object, likelihoods = likelihoods, batch = batch, continuous = continuous,
        integrate_on = integrate_on, present = present, verbose = verbose)
    note_single_level(data$integrate_on, data$levels, verbose)
    check_enough_cells(length(data$cells))
    sample <- sample_factor(cell_vector(sample, data$cells))
    labels <- sample_labels(cell_vector(label, data$cells), sample)
    target <- mil_target(labels, task, levels)
    split <- split_samples(nlevels(sample), train_size, seed)
    model_config <- core_model_config(data, latent_dim, options)
    train_config <- core_train_config(data, max_epochs, mil$bag_size * mil$bags_per_step, lr, seed, options)
    mil_config <- mil_core_config(latent_dim, task, target, scoring, mil)
    mil_train <- mil_train_config(max_epochs, lr, mil, mil_class_weights(class_weights, target, split$train), seed)
    setup <- list(config = mil_config, train_config = mil_train, sample = as.integer(sample) - 1L,
        n_samples = nlevels(sample), target = target$values, train_samples = split$train - 1L,
        validation_samples = split$validation - 1L, coef = mil_coef)
    mg_inform(c("i" = "End-to-end MultiMIL ({task}) with the VAE: {nlevels(sample)} samples, {length(split$train)} for training."),
        verbose)
    fit <- fit_model(data, model_config, train_config, device, options$n_threads, verbose, mil = setup,
        encode = list(names(data$modalities)))
    vae <- new_multigrade_model(data, model_config, train_config, fit, options, device, seed)
    vae$embedding <- fit$embeddings[[1]]
    model <- new_multimil_model(mil_config, mil_train, fit$mil_weights, task, target, NULL,
        fit$history, device, seed, mil)
    model$vae <- vae
    model$embedding <- vae$embedding
    with_training_predictions(model, vae$embedding, sample, labels, split)
}

# The MIL settings (`options`, formerly `mil`) and the VAE's (`vae_options`, formerly
# `options`) of an end-to-end run; the former spellings still work, with a warning.
end_to_end_settings <- function(options, vae_options, mil, call = rlang::caller_env()) {
    if (inherits(options, "multigrade_options")) {
        mg_deprecated(c("{.arg options} of {.fn RunMultiMIL} takes {.fn mil_options} now; the VAE's settings go to {.arg vae_options}.",
            "i" = "Read as {.code vae_options}; this will be an error in a later version."), call = call)
        vae_options <- options
        options <- mil_options()
    }
    # `mil` is a formal, not read from ..., because a name there would partially match mil_coef.
    if (!is.null(mil)) {
        warn_renamed("mil", "options", call)
        options <- mil
    }
    if (!inherits(options, "multimil_options")) mg_abort("{.arg options} must come from {.fn mil_options}.", call = call)
    if (!inherits(vae_options, "multigrade_options")) {
        mg_abort("{.arg vae_options} must come from {.fn multigrade_options}.", call = call)
    }
    list(mil = options, vae = vae_options)
}
