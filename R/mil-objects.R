# Seurat and SingleCellExperiment methods of RunMultiMIL and PredictSamples: read the
# reduction and metadata columns, call the matrix methods, and write per-cell attention
# and per-sample predictions back, matched by cell name.

#' MultiMIL on Seurat objects and SingleCellExperiments
#'
#' Object methods of [RunMultiMIL()] and [PredictSamples()]. They read the
#' embedding from a reduction (`Embeddings()` / `reducedDim()`) and the sample
#' and label from metadata columns. With `reduction = NULL`, `RunMultiMIL()`
#' trains end to end instead (see [RunMultiMIL.list()]): the VAE on the
#' object's assays (altExps) together with the MIL head, and adds the VAE's
#' latent space as a reduction named `reduction.name` (`name`). Both add
#' per-cell columns:
#' `mil.attention` (softmax over each sample's cells), `mil.attention.relative`
#' (times the sample's cell count: 1 is average) and `mil.predicted` (the
#' sample's predicted label). The model and the per-sample table are stored in
#' the object (`SamplePredictions()` returns the table).
#'
#' @param object A `Seurat` object or a `SingleCellExperiment`.
#' @param sample,label Metadata column names.
#' @param reduction The embedding to learn from: a reduction name (Seurat; by
#'   default `"multigrade"`) or a reducedDim name (SCE; `"MULTIGRADE"`);
#'   `NULL` trains end to end. For
#'   `PredictSamples()`, by default the model's reduction, or
#'   `"ref.multigrade"` / `"REF.MULTIGRADE"` (a query mapped with
#'   [MapToReference()]) when the object lacks it.
#' @param model A `multimil_model`; by default the one `RunMultiMIL()` stored
#'   in `object`.
#' @param assays,layers,altexps,main_name,assay.types,likelihoods,batch,integrate_on,continuous
#'   End-to-end training only: the modalities and covariates, as for
#'   [RunMultigrade.Seurat()] and [RunMultigrade.SingleCellExperiment()].
#' @param reduction.name,reduction.key,name End-to-end training only: where the
#'   VAE's latent space goes.
#' @param verbose Progress and messages.
#' @param ... Passed to the matrix or list methods ([RunMultiMIL()] arguments).
#' @return The object with the new columns and the stored results.
#' @family MultiMIL
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'     gbm <- multigrade_example("glioblastoma")
#'     obj <- SeuratObject::CreateSeuratObject(gbm$counts, meta.data = gbm$obs)
#'     pcs <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#'     colnames(pcs) <- paste0("PC_", 1:10)
#'     obj[["pca"]] <- SeuratObject::CreateDimReducObject(pcs, key = "PC_", assay = "RNA")
#'     obj <- RunMultiMIL(obj, sample = "sample_id", label = "condition", reduction = "pca",
#'         max_epochs = 10, seed = 1, verbose = FALSE)
#'     head(obj[[c("sample_id", "mil.attention", "mil.predicted")]])
#'     SamplePredictions(obj)
#' }
#' @name RunMultiMIL.Seurat
NULL

#' @rdname RunMultiMIL.Seurat
#' @export
RunMultiMIL.Seurat <- function(object, sample = "sample_id", label = "condition", reduction = "multigrade",
                               assays = NULL, layers = NULL, likelihoods = NULL, batch = NULL,
                               integrate_on = NULL, continuous = NULL, reduction.name = "multigrade", reduction.key = "multigrade_", verbose = TRUE, ...) {
    require_package("SeuratObject")
    meta <- object[[]]
    if (is.null(reduction)) {
        inputs <- seurat_training_inputs(object, assays, layers, likelihoods, batch, continuous, verbose)
        fit <- RunMultiMIL(inputs$mats, sample = meta_column(meta, sample), label = meta_column(meta, label),
            likelihoods = inputs$likelihoods, batch = inputs$covariates$batch, integrate_on = integrate_on,
            continuous = inputs$covariates$continuous, verbose = verbose, ...)
        object <- add_seurat_reduction(object, fit$embedding, reduction.name, reduction.key, inputs$assays[[1]],
            fit$vae)
        reduction <- reduction.name
    } else {
        fit <- RunMultiMIL(seurat_embedding(object, reduction), sample = meta_column(meta, sample),
            label = meta_column(meta, label), verbose = verbose, ...)
    }
    fit[c("sample_key", "label_key", "reduction")] <- list(sample, label, reduction)
    object@misc$multimil <- fit
    write_mil_seurat(object, fit$samples, fit$attention, fit$relative_attention, meta[[sample]])
}

#' @rdname RunMultiMIL.Seurat
#' @export
RunMultiMIL.SingleCellExperiment <- function(object, sample = "sample_id", label = "condition",
                                             reduction = "MULTIGRADE", altexps = NULL, main_name = NULL,
                                             assay.types = NULL, likelihoods = NULL, batch = NULL,
                                             integrate_on = NULL, continuous = NULL, name = "MULTIGRADE", verbose = TRUE, ...) {
    require_package("SingleCellExperiment")
    meta <- as.data.frame(SummarizedExperiment::colData(object))
    if (is.null(reduction)) {
        inputs <- sce_training_inputs(object, main_name, altexps, assay.types, likelihoods, batch, continuous,
            verbose)
        fit <- RunMultiMIL(inputs$mats, sample = meta_column(meta, sample), label = meta_column(meta, label),
            likelihoods = inputs$likelihoods, batch = inputs$covariates$batch, integrate_on = integrate_on,
            continuous = inputs$covariates$continuous, verbose = verbose, ...)
        object <- add_sce_reduction(object, fit$embedding, name, fit$vae)
        reduction <- name
    } else {
        fit <- RunMultiMIL(sce_embedding(object, reduction), sample = meta_column(meta, sample),
            label = meta_column(meta, label), verbose = verbose, ...)
    }
    fit[c("sample_key", "label_key", "reduction")] <- list(sample, label, reduction)
    meta_list <- S4Vectors::metadata(object)
    meta_list$multimil <- fit
    S4Vectors::metadata(object) <- meta_list
    write_mil_sce(object, fit$samples, fit$attention, fit$relative_attention, meta[[sample]])
}

#' @rdname RunMultiMIL.Seurat
#' @export
PredictSamples.Seurat <- function(object, model = NULL, sample = NULL, reduction = NULL, ...) {
    require_package("SeuratObject")
    model <- model %||% object@misc$multimil %||% mg_abort("No MultiMIL model given or stored in {.arg object}.",
        class = "model")
    reduction <- reduction %||% default_mil_reduction(model$reduction, "ref.multigrade", SeuratObject::Reductions(object))
    sample <- sample %||% model$sample_key
    meta <- object[[]]
    out <- PredictSamples(seurat_embedding(object, reduction), model, sample = meta_column(meta, sample), ...)
    write_mil_seurat(object, out$samples, out$attention, out$relative_attention, meta[[sample]])
}

#' @rdname RunMultiMIL.Seurat
#' @export
PredictSamples.SingleCellExperiment <- function(object, model = NULL, sample = NULL, reduction = NULL, ...) {
    require_package("SingleCellExperiment")
    model <- model %||% S4Vectors::metadata(object)$multimil %||%
        mg_abort("No MultiMIL model given or stored in {.arg object}.", class = "model")
    reduction <- reduction %||% default_mil_reduction(toupper(model$reduction %||% "MULTIGRADE"), "REF.MULTIGRADE",
        SingleCellExperiment::reducedDimNames(object))
    sample <- sample %||% model$sample_key
    meta <- as.data.frame(SummarizedExperiment::colData(object))
    out <- PredictSamples(sce_embedding(object, reduction), model, sample = meta_column(meta, sample), ...)
    write_mil_sce(object, out$samples, out$attention, out$relative_attention, meta[[sample]])
}

#' Per-sample MultiMIL predictions stored in an object
#'
#' @param object A `Seurat` object or `SingleCellExperiment` after
#'   [RunMultiMIL()] or [PredictSamples()] (the latest call's table), or a
#'   `multimil_model`.
#' @return A data frame with one row per sample: `sample`, `n_cells`,
#'   `predicted`, `prob.<class>` columns (and `label`, `set` after training).
#' @family MultiMIL
#' @export
SamplePredictions <- function(object) {
    out <- if (inherits(object, "multimil_model")) object$samples else if (inherits(object, "Seurat"))
        object@misc$mil.samples else if (inherits(object, "SingleCellExperiment"))
        S4Vectors::metadata(object)$mil.samples else
        mg_abort("{.arg object} must be a Seurat object, a SingleCellExperiment or a {.cls multimil_model}.")
    if (is.null(out)) mg_abort("{.arg object} has no MultiMIL predictions; run {.fn RunMultiMIL} or {.fn PredictSamples}.")
    out
}

meta_column <- function(meta, column, call = rlang::caller_env()) {
    if (!is.character(column) || length(column) != 1 || !column %in% names(meta)) {
        mg_abort(c("Metadata column {.val {column}} not found.", "i" = "Columns: {.val {names(meta)}}."), call = call)
    }
    stats::setNames(meta[[column]], rownames(meta))
}

default_mil_reduction <- function(own, mapped, available) {
    if (!is.null(own) && own %in% available) own else if (mapped %in% available) mapped else own %||% mapped
}

seurat_embedding <- function(object, reduction, call = rlang::caller_env()) {
    if (!reduction %in% SeuratObject::Reductions(object)) {
        mg_abort(c("Reduction {.val {reduction}} not found.",
            "i" = "Reductions: {.val {SeuratObject::Reductions(object)}}; run {.fn RunMultigrade} first or name another."),
            call = call)
    }
    SeuratObject::Embeddings(object, reduction)
}

sce_embedding <- function(object, reduction, call = rlang::caller_env()) {
    if (!reduction %in% SingleCellExperiment::reducedDimNames(object)) {
        mg_abort(c("reducedDim {.val {reduction}} not found.",
            "i" = "reducedDims: {.val {SingleCellExperiment::reducedDimNames(object)}}; run {.fn RunMultigrade} first or name another."),
            call = call)
    }
    embedding <- SingleCellExperiment::reducedDim(object, reduction)
    if (is.null(rownames(embedding))) rownames(embedding) <- colnames(object)
    embedding
}

# Per-cell columns, matched by cell name; the sample's prediction repeated on its cells.
mil_cell_columns <- function(cells, samples, attention, relative, sample_of_cell) {
    predicted <- samples$predicted[match(as.character(sample_of_cell), samples$sample)]
    data.frame(mil.attention = unname(attention[cells]), mil.attention.relative = unname(relative[cells]),
        mil.predicted = predicted, row.names = cells)
}

write_mil_seurat <- function(object, samples, attention, relative, sample_of_cell) {
    object@misc$mil.samples <- samples
    SeuratObject::AddMetaData(object, mil_cell_columns(colnames(object), samples, attention, relative, sample_of_cell))
}

write_mil_sce <- function(object, samples, attention, relative, sample_of_cell) {
    columns <- mil_cell_columns(colnames(object), samples, attention, relative, sample_of_cell)
    for (col in names(columns)) SummarizedExperiment::colData(object)[[col]] <- columns[[col]]
    meta <- S4Vectors::metadata(object)
    meta$mil.samples <- samples
    S4Vectors::metadata(object) <- meta
    object
}
