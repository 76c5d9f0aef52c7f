#' Predict the phenotype of new samples with a MultiMIL model
#'
#' Each sample is one bag of all its cells: the attention is normalised over
#' the whole sample and the prediction is per sample. The embedding must be in
#' the space the model was trained on, e.g. the reference's latent space, or a
#' query mapped into it with [MapToReference()].
#'
#' @param object A cells x dimensions embedding (cell names as row names), a
#'   `Seurat` object or a `SingleCellExperiment`.
#' @param model A `multimil_model` from [RunMultiMIL()].
#' @param sample Per-cell sample ids (for objects: a metadata column name).
#' @param ... Passed to methods; unknown arguments are an error.
#' @return For a matrix, a list with `samples` (a data frame: `sample`,
#'   `n_cells`, `predicted`, and `prob.<class>` columns for classification and
#'   ordinal tasks), `attention` (per cell, named, summing to 1 in each
#'   sample), `relative_attention` (attention times the sample's cell count: 1
#'   is average) and `pooled` (samples x dimensions, the attention-pooled cell
#'   transform). For objects, see [RunMultiMIL.Seurat()].
#' @family MultiMIL
#' @examples
#' gbm <- multigrade_example("glioblastoma")
#' emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' train <- gbm$obs$patient_id != "PW040"
#' fit <- RunMultiMIL(emb[train, ], sample = gbm$obs$sample_id[train],
#'     label = gbm$obs$condition[train], max_epochs = 20, seed = 1, verbose = FALSE)
#' new <- PredictSamples(emb[!train, ], fit, sample = gbm$obs$sample_id[!train])
#' new$samples
#' @export
PredictSamples <- function(object, model, ...) {
    UseMethod("PredictSamples")
}

#' @export
PredictSamples.default <- function(object, model, ...) {
    mg_abort(c("{.fn PredictSamples} needs an embedding matrix (cells x dimensions), a Seurat object or a SingleCellExperiment.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname PredictSamples
#' @export
PredictSamples.matrix <- function(object, model, sample, ...) {
    check_dots_empty(list(...))
    check_mil_model(model)
    embedding <- check_embedding(object, arg = "object")
    check_embedding_dims(embedding, model)
    sample <- sample_factor(cell_vector(sample, rownames(embedding)))
    mil_predictions(model, embedding, sample, resolve_threads(model$options$n_threads))
}

#' @rdname PredictSamples
#' @export
PredictSamples.data.frame <- function(object, model, ...) {
    PredictSamples(as.matrix(object), model, ...)
}

#' Predict new samples with a MultiMIL model, as `predict()` does for other models
#'
#' The `predict()` method of `multimil_model`: [PredictSamples()] with the
#' model first, so that MultiMIL models predict like the VAE's
#' ([predict.multigrade_model()]) and any other R model.
#'
#' @param object A `multimil_model` from [RunMultiMIL()].
#' @param newdata A cells x dimensions embedding in the model's space, a
#'   `Seurat` object or a `SingleCellExperiment` (as for [PredictSamples()]).
#' @param ... Passed to [PredictSamples()]: `sample`, and for objects
#'   `reduction`.
#' @return What [PredictSamples()] returns.
#' @family MultiMIL
#' @examples
#' gbm <- multigrade_example("glioblastoma")
#' emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' train <- gbm$obs$patient_id != "PW040"
#' fit <- RunMultiMIL(emb[train, ], sample = gbm$obs$sample_id[train],
#'     label = gbm$obs$condition[train], max_epochs = 20, seed = 1, verbose = FALSE)
#' predict(fit, emb[!train, ], sample = gbm$obs$sample_id[!train])$samples
#' @export
predict.multimil_model <- function(object, newdata, ...) {
    if (missing(newdata)) {
        mg_abort(c("{.arg newdata} is missing: give the cells to predict.",
            "i" = "The training samples' predictions are in {.code object$samples}."))
    }
    PredictSamples(newdata, object, ...)
}

check_mil_model <- function(model, call = rlang::caller_env()) {
    if (!inherits(model, "multimil_model")) {
        mg_abort("{.arg model} must be a {.cls multimil_model} from {.fn RunMultiMIL}.", class = "model", call = call)
    }
}

check_embedding_dims <- function(embedding, model, call = rlang::caller_env()) {
    if (ncol(embedding) != model$n_dims) {
        mg_abort(c("The embedding has {ncol(embedding)} dimension{?s}; the model was trained on {model$n_dims}.",
            "i" = "Predict in the space the model was trained on (e.g. a query mapped with {.fn MapToReference})."),
            call = call)
    }
    if (!is.null(model$dims) && !is.null(colnames(embedding)) && !identical(colnames(embedding), model$dims)) {
        mg_warn("The embedding's dimension names differ from the model's ({.val {model$dims[1]}}, ...); using them by position.",
            class = "warning_dimension_names")
    }
}

# Per-sample predictions and per-cell attention, keyed by sample and cell names. Inference
# is a few small matrix products per cell, so it runs on the CPU (2M cells/s, bench/).
mil_predictions <- function(model, embedding, sample, n_threads) {
    data <- list(embedding = unname(embedding), sample = as.integer(sample) - 1L, n_samples = nlevels(sample),
        target = NULL)
    out <- mg_mil_predict(model$config, model$weights, data, "cpu", n_threads)
    n_cells <- tabulate(as.integer(sample), nbins = nlevels(sample))
    samples <- data.frame(sample = levels(sample), n_cells = n_cells, stringsAsFactors = FALSE)
    if (is.null(model$classes)) {
        samples$predicted <- out$output[, 1] * model$target_scale + model$target_center
    } else {
        probs <- out$output
        colnames(probs) <- paste0("prob.", model$classes)
        samples$predicted <- factor(model$classes[max.col(probs, ties.method = "first")], levels = model$classes,
            ordered = model$task == "ordinal")
        samples <- cbind(samples, as.data.frame(probs, optional = TRUE))
    }
    cells <- rownames(embedding)
    attention <- stats::setNames(out$attention, cells)
    pooled <- out$pooled
    dimnames(pooled) <- list(levels(sample), model$dims)
    list(samples = samples, attention = attention,
        relative_attention = attention * n_cells[as.integer(sample)], pooled = pooled)
}
