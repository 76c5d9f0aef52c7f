#' Predict sample-level phenotypes with attention MIL (MultiMIL)
#'
#' Trains MultiMIL's attention-based multiple-instance learner: each sample
#' (patient, donor, slice) is a bag of cells; a cell transform and a gated
#' attention network weigh the cells, the attention-pooled representation goes
#' through a head that predicts the sample's label, and the per-cell attention
#' shows which cells drive the prediction.
#'
#' Works on any embedding (ours, PCA, harmony, an atlas's latent space).
#' Unlike the reference implementation, every sample is used however small
#' (large ones are split into random bags of `mil_options()$bag_size` cells
#' during training only), attention is normalised over each whole sample,
#' predictions are per sample, ordinal labels use cumulative logits, classes
#' can be weighted, and all outputs are keyed by cell and sample names.
#'
#' @param object A cells x dimensions embedding matrix with cell names as row
#'   names, a `Seurat` object or a `SingleCellExperiment`.
#' @param sample Per-cell sample ids (for objects: a metadata column name).
#' @param label Per-cell labels, constant within each sample (for objects: a
#'   metadata column name).
#' @param task `"classification"`, `"regression"` (numeric labels) or
#'   `"ordinal"` (ordered levels, e.g. healthy < mild < severe).
#' @param levels Class order; required for `"ordinal"` unless `label` is an
#'   ordered factor.
#' @param scoring `"gated_attention"` (default, Ilse et al.), `"attention"`, or
#'   `"mean"` (no attention; a baseline).
#' @param class_weights `"balanced"` (default; each class weighs the same in
#'   the loss), `NULL` (none) or positive numbers named by class.
#' @param train_size Fraction of samples used for training; the rest stop
#'   training early. `NULL`: all samples when there are fewer than 20, else 0.9.
#' @param max_epochs Training epochs (fewer with early stopping).
#' @param lr Learning rate (AdamW).
#' @param device `"auto"`, `"cpu"` or `"cuda"`.
#' @param seed Integer seed; `NULL` draws one from R's RNG.
#' @param verbose Progress and messages.
#' @param options Settings from [mil_options()].
#' @param ... Passed to methods; unknown arguments are an error.
#' @return For a matrix, a `multimil_model` with `$attention` (per cell, named,
#'   softmax over each sample's cells), `$samples` (a data frame by sample:
#'   `sample`, `n_cells`, `label`, `set`, `predicted` and `prob.<class>`
#'   columns) and `$history`. For objects, see [RunMultiMIL.Seurat()].
#' @seealso [PredictSamples()], [CrossValidateMIL()], [SampleRepresentations()].
#' @family MultiMIL
#' @examples
#' gbm <- multigrade_example("glioblastoma")
#' emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' fit <- RunMultiMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
#'     max_epochs = 20, seed = 1, verbose = FALSE)
#' fit$samples[, c("sample", "label", "predicted")]
#' head(fit$attention)
#' @export
RunMultiMIL <- function(object, ...) {
    UseMethod("RunMultiMIL")
}

#' @export
RunMultiMIL.default <- function(object, ...) {
    mg_abort(c("{.fn RunMultiMIL} needs an embedding matrix (cells x dimensions), a Seurat object or a SingleCellExperiment.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname RunMultiMIL
#' @export
RunMultiMIL.matrix <- function(object, sample, label, task = c("classification", "regression", "ordinal"),
                               levels = NULL, scoring = c("gated_attention", "attention", "mean"),
                               class_weights = "balanced", train_size = NULL, max_epochs = 200L,
                               lr = 5e-4, device = "auto", seed = NULL, verbose = TRUE,
                               options = mil_options(), ...) {
    check_dots_empty(list(...))
    task <- match.arg(task)
    scoring <- match.arg(scoring)
    if (!inherits(options, "multimil_options")) mg_abort("{.arg options} must come from {.fn mil_options}.")
    check_count(max_epochs, min = 0)
    check_number(lr, min = 0)
    device <- resolve_device(device)
    seed <- draw_seed(seed)
    embedding <- check_embedding(object, arg = "object")
    cells <- rownames(embedding)
    sample <- sample_factor(cell_vector(sample, cells))
    labels <- sample_labels(cell_vector(label, cells), sample)
    target <- mil_target(labels, task, levels)
    split <- split_samples(nlevels(sample), train_size, seed)
    config <- mil_core_config(ncol(embedding), task, target, scoring, options)
    train_config <- mil_train_config(max_epochs, lr, options, mil_class_weights(class_weights, target, split$train),
        seed)
    n_train <- length(split$train)
    mg_inform(c("i" = "MultiMIL ({task}, {scoring}) on {length(cells)} cells in {nlevels(sample)} samples ({n_train} for training), device {.val {device}}."),
        verbose)
    data <- list(embedding = unname(embedding), sample = as.integer(sample) - 1L, n_samples = nlevels(sample),
        target = target$values)
    fit <- fit_mil(config, train_config, data, split, device, options$n_threads, verbose)
    model <- new_multimil_model(config, train_config, fit$weights, task, target, colnames(embedding),
        fit$history, device, seed, options)
    with_training_predictions(model, embedding, sample, labels, split)
}

new_multimil_model <- function(config, train_config, weights, task, target, dims, history, device, seed, options) {
    structure(list(config = config, train_config = train_config, weights = weights,
        task = task, classes = target$classes, target_center = target$center, target_scale = target$scale,
        dims = dims, n_dims = config$input_dim, history = history, device = device,
        seed = seed, options = unclass(options),
        versions = list(multigrade = as.character(utils::packageVersion("multigrade")),
            libtorch = mg_runtime_info()$torch_version)), class = "multimil_model")
}

# The trained model's attention and per-sample predictions on its own samples.
with_training_predictions <- function(model, embedding, sample, labels, split) {
    predictions <- mil_predictions(model, embedding, sample, model$options$n_threads)
    model$attention <- predictions$attention
    model$relative_attention <- predictions$relative_attention
    set <- ifelse(seq_len(nlevels(sample)) %in% split$train, "train", "validation")
    model$samples <- cbind(predictions$samples[, c("sample", "n_cells")], label = unname(labels), set = set,
        predictions$samples[, setdiff(names(predictions$samples), c("sample", "n_cells")), drop = FALSE])
    model
}

mil_train_config <- function(max_epochs, lr, options, class_weights, seed) {
    list(max_epochs = as.integer(max_epochs), lr = lr, weight_decay = options$weight_decay,
        bag_size = options$bag_size, bags_per_step = options$bags_per_step, class_weights = class_weights,
        early_stopping = options$early_stopping, patience = options$patience, seed = seed)
}

#' @rdname RunMultiMIL
#' @export
RunMultiMIL.data.frame <- function(object, ...) {
    RunMultiMIL(as.matrix(object), ...)
}

mil_core_config <- function(n_dims, task, target, scoring, options) {
    list(input_dim = as.integer(n_dims), task = task,
        n_classes = if (is.null(target$classes)) 1L else length(target$classes), scoring = scoring,
        attention_dim = options$attention_dim, n_layers_cell = options$n_layers_cell,
        n_layers_head = options$n_layers_head, n_hidden_head = options$n_hidden_head,
        dropout = options$dropout)
}

mil_history_columns <- c("epoch", "train_loss", "validation_loss", "validation_accuracy", "improved",
    "non_finite", "cells_seen", "seconds")

# Epochs in C++, one call each, with R-side progress and interrupts (as for the VAE).
fit_mil <- function(config, train_config, data, split, device, n_threads, verbose) {
    session <- mg_mil_trainer_new(config, train_config, data, split$train - 1L, split$validation - 1L,
        device, n_threads)
    on.exit(mg_mil_trainer_close(session), add = TRUE)
    progress <- training_progress(train_config$max_epochs, verbose, "validation_loss", "val loss")
    started <- proc.time()[["elapsed"]]
    run <- run_epochs(function() mg_mil_trainer_epoch(session), train_config$max_epochs, progress)
    history <- history_frame(run$history, mil_history_columns)
    seconds <- proc.time()[["elapsed"]] - started
    if (isTRUE(verbose) && nrow(history) > 0) {
        rate <- format(round(sum(history$cells_seen) / max(seconds, 1e-9)))
        final <- format(signif(utils::tail(history$train_loss, 1), 4))
        mg_inform(c("v" = "Trained {nrow(history)} epoch{?s} in {format(round(seconds, 1))} s ({rate} cells/s); final training loss {final}."))
    }
    list(weights = mg_mil_trainer_weights(session, restore_best = TRUE), history = history)
}

#' @export
print.multimil_model <- function(x, ...) {
    what <- if (is.null(x$classes)) "regression" else paste0(x$task, " of ", paste(x$classes, collapse = " / "))
    cli::cli_text("{.cls multimil_model}: {what}, {x$config$scoring} on {x$n_dims} dimensions")
    if (!is.null(x$samples)) {
        trained <- x$samples[x$samples$set == "train", , drop = FALSE]
        cli::cli_bullets(c("*" = "Trained on {nrow(trained)} sample{?s} ({sum(trained$n_cells)} cells), {nrow(x$history)} epoch{?s} on {x$device}"))
    }
    invisible(x)
}
