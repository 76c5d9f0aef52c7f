# SingleCellExperiment adapter of every verb (as objects-seurat.R for Seurat): the main
# experiment and the altExps are the modalities; reducedDims, colData columns and altExps
# are written back.

#' Run multigrade on a SingleCellExperiment
#'
#' The main experiment and the alternative experiments (`altExps`, e.g. ADT)
#' are the modalities. Adds `reducedDim(object, name)` with the joint embedding and
#' keeps the model in `metadata(object)$multigrade[[name]]`.
#'
#' Assays held on disk (DelayedArray, e.g. HDF5Array's `HDF5Matrix`) are not
#' loaded whole: training streams them `chunk_size` cells at a time (default
#' 50000, passed in `...`) as [RunMultigradeH5AD()] streams `.h5ad` files, with
#' the same defaults for epochs and minibatches and without early stopping.
#'
#' @param object A `SingleCellExperiment`.
#' @param altexps Alternative experiments to use as further modalities
#'   (default: all).
#' @param main_name Modality name of the main experiment (default
#'   `mainExpName(object)`, else `"RNA"`).
#' @param assay.types Assay to read per modality, named by modality. By default
#'   `"counts"` for `nb`/`zinb` and `"logcounts"` otherwise (else the first
#'   assay).
#' @param batch,continuous `colData` column names of the covariates.
#' @param name Name of the new `reducedDim`.
#' @inheritParams RunMultigrade
#' @param ... Further arguments of [RunMultigrade()] (and `chunk_size` for
#'   disk-backed assays).
#' @return The SingleCellExperiment with the embedding added.
#' @examples
#' if (requireNamespace("SingleCellExperiment", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     sce <- SingleCellExperiment::SingleCellExperiment(list(counts = cite$rna),
#'         colData = cite$obs)
#'     adt <- SummarizedExperiment::SummarizedExperiment(list(logcounts = cite$adt))
#'     SingleCellExperiment::altExp(sce, "ADT") <- adt
#'     sce <- RunMultigrade(sce, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE)
#'     dim(SingleCellExperiment::reducedDim(sce, "MULTIGRADE"))
#' }
#' @export
RunMultigrade.SingleCellExperiment <- function(object, altexps = NULL, main_name = NULL,  # nolint: object_name_linter.
                                               assay.types = NULL, likelihoods = NULL,
                                               batch = NULL, integrate_on = NULL,
                                               continuous = NULL, name = "MULTIGRADE",
                                               verbose = TRUE, ...) {
    require_package("SingleCellExperiment")
    inputs <- sce_training_inputs(object, main_name, altexps, assay.types, likelihoods, batch, continuous, verbose)
    model <- if (any(vapply(inputs$mats, is_delayed_matrix, logical(1)))) {
        train_delayed(inputs$mats, inputs$likelihoods, inputs$covariates, integrate_on, verbose, ...)
    } else {
        RunMultigrade(inputs$mats, likelihoods = inputs$likelihoods, batch = inputs$covariates$batch,
            integrate_on = integrate_on, continuous = inputs$covariates$continuous, verbose = verbose, ...)
    }
    add_sce_reduction(object, model$embedding, name, model)
}

# The modality matrices, likelihoods and covariates of a SingleCellExperiment, for training.
sce_training_inputs <- function(x, main_name, altexps, assay.types, likelihoods, batch, continuous, verbose) {
    experiments <- sce_experiments(x, main_name, altexps)
    likelihoods <- resolve_likelihoods(likelihoods, names(experiments), function(m) {
        se <- experiments[[m]]
        SummarizedExperiment::assay(se, sce_assay(se, "mse", NULL, m))
    }, verbose)
    list(mats = sce_modalities(x, experiments, assay.types, likelihoods), likelihoods = likelihoods,
        covariates = object_covariates(as.data.frame(SummarizedExperiment::colData(x)), batch, continuous))
}

add_sce_reduction <- function(x, embedding, name, model) {
    SingleCellExperiment::reducedDim(x, name) <- embedding
    meta <- S4Vectors::metadata(x)
    meta$multigrade[[name]] <- model
    S4Vectors::metadata(x) <- meta
    x
}

# The main experiment (named `main_name`) and the chosen altExps, as a named list.
sce_experiments <- function(x, main_name, altexps, call = rlang::caller_env()) {
    main_name <- main_name %||% SingleCellExperiment::mainExpName(x) %||% "RNA"
    altexps <- altexps %||% SingleCellExperiment::altExpNames(x)
    unknown <- setdiff(altexps, SingleCellExperiment::altExpNames(x))
    if (length(unknown) > 0) {
        mg_abort("altExp{?s} {.val {unknown}} not found.", call = call)
    }
    experiments <- c(list(x), lapply(altexps, function(a) SingleCellExperiment::altExp(x, a)))
    names(experiments) <- c(main_name, altexps)
    experiments
}

# One matrix per experiment, from `assay.types` or the likelihood's default assay.
sce_modalities <- function(x, experiments, assay.types, likelihoods) {
    mats <- lapply(names(experiments), function(m) {
        se <- experiments[[m]]
        wanted <- if (!is.null(assay.types) && m %in% names(assay.types)) assay.types[[m]] else NULL
        mat <- SummarizedExperiment::assay(se, sce_assay(se, likelihoods[[m]], wanted, m))
        colnames(mat) <- colnames(x)
        mat
    })
    names(mats) <- names(experiments)
    mats
}

sce_assay <- function(se, likelihood, wanted, modality, call = rlang::caller_env()) {
    available <- SummarizedExperiment::assayNames(se)
    if (!is.null(wanted)) {
        if (!wanted %in% available) {
            mg_abort("Modality {.val {modality}} has no assay {.val {wanted}}; it has {.val {available}}.", call = call)
        }
        return(wanted)
    }
    preferred <- default_layer(likelihood, "counts", "logcounts")
    if (preferred %in% available) return(preferred)
    if (length(available) == 0) mg_abort("Modality {.val {modality}} has no assays.", call = call)
    available[[1]]
}

#' @rdname MapToReference.Seurat
#' @export
MapToReference.SingleCellExperiment <- function(object, model, altexps = NULL, main_name = NULL,  # nolint: object_name_linter.
                                                assay.types = NULL, batch = NULL, continuous = NULL,
                                                refdata = NULL, name = "REF.MULTIGRADE",
                                                verbose = TRUE, ...) {
    require_package("SingleCellExperiment")
    reference <- resolve_reference(model, refdata)
    model <- reference$model
    experiments <- sce_experiments(object, main_name, altexps)
    experiments <- experiments[known_assays(names(experiments), model, "experiments")]
    mats <- sce_modalities(object, experiments, assay.types, model_likelihoods(model))
    covariates <- object_covariates(as.data.frame(SummarizedExperiment::colData(object)), batch, continuous)
    result <- MapToReference(mats, model, batch = covariates$batch, continuous = covariates$continuous,
        refdata = reference$refdata, verbose = verbose, ...)
    object <- add_sce_reduction(object, result$embedding, name, result$model)
    for (col in names(result$predictions)) {
        SummarizedExperiment::colData(object)[[col]] <- result$predictions[[col]]
    }
    object
}

#' @rdname ImputeModality.Seurat
#' @export
ImputeModality.SingleCellExperiment <- function(object, model = NULL, target, altexps = NULL,  # nolint: object_name_linter.
                                                main_name = NULL, assay.types = NULL, batch = NULL,
                                                continuous = NULL, name = NULL, ...) {
    require_package("SingleCellExperiment")
    model <- model %||% stored_model(object, c("REF.MULTIGRADE", "MULTIGRADE"))
    check_model(model)
    target <- check_target(target, model)
    experiments <- sce_experiments(object, main_name, altexps)
    inputs <- setdiff(names(experiments), if (is.null(altexps)) target)
    experiments <- experiments[known_assays(inputs, model, "experiments")]
    mats <- sce_modalities(object, experiments, assay.types, model_likelihoods(model))
    covariates <- object_covariates(as.data.frame(SummarizedExperiment::colData(object)), batch, continuous)
    imputed <- ImputeModality(mats, model, target, batch = covariates$batch,
        continuous = covariates$continuous, ...)
    name <- name %||% imputed_name(target, c(SingleCellExperiment::mainExpName(object),
        SingleCellExperiment::altExpNames(object)), "altExp")
    SingleCellExperiment::altExp(object, name) <- imputed_experiment(imputed, model$modalities[[target]]$likelihood)  # nolint: object_name_linter.
    object
}

# The imputed values as a SingleCellExperiment with Bioconductor's assay names, so that
# scater and scran use it without arguments: expected counts as `counts` (and log2(x + 1)
# as `logcounts`), other values as `logcounts`; the quantiles of posterior draws as `lower`
# and `upper` (two of them) or by their percentage.
imputed_experiment <- function(imputed, likelihood) {
    values <- unclass_matrix(imputed)
    assays <- if (likelihood %in% count_likelihoods) list(counts = values, logcounts = log2(values + 1)) else
        list(logcounts = values)
    quantiles <- attr(imputed, "quantiles")
    if (length(quantiles) == 2) names(quantiles) <- c("lower", "upper")
    SingleCellExperiment::SingleCellExperiment(assays = c(assays, quantiles))
}

#' @rdname RunMultiMIL.Seurat
#' @export
RunMultiMIL.SingleCellExperiment <- function(object, sample = "sample_id", label = "condition",  # nolint: object_name_linter.
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
PredictSamples.SingleCellExperiment <- function(object, model = NULL, sample = NULL, reduction = NULL, ...) {  # nolint: object_name_linter.
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

write_mil_sce <- function(object, samples, attention, relative, sample_of_cell) {
    columns <- mil_cell_columns(colnames(object), samples, attention, relative, sample_of_cell)
    for (col in names(columns)) SummarizedExperiment::colData(object)[[col]] <- columns[[col]]
    meta <- S4Vectors::metadata(object)
    meta$mil.samples <- samples
    S4Vectors::metadata(object) <- meta
    object
}
