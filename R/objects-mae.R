# MultiAssayExperiment adapter: one modality per experiment, matched to the cells (the
# primaries of colData) through the sample map, so that experiments covering different cells
# (a mosaic) train together.

#' Run multigrade on a MultiAssayExperiment
#'
#' Trains on the experiments of a `MultiAssayExperiment`, one modality each. The
#' sample map says which cell (primary, a row of `colData`) each experiment's
#' columns belong to, so experiments that cover different cells train together:
#' a cell an experiment lacks is a missing modality, as in a mosaic. The model
#' (with the embedding of every cell in `$embedding`) goes to
#' `metadata(object)$multigrade[[name]]`, where [GetMultigradeModel()] finds it.
#'
#' @param object A `MultiAssayExperiment`.
#' @param experiments Experiments to use (default all).
#' @param assay.types Per-experiment assay to read, named by experiment; by
#'   default `"counts"` for count likelihoods and `"logcounts"` otherwise when
#'   the experiment has them, else its first assay.
#' @param batch,continuous Column names of `colData(object)`.
#' @param name Where the model is stored in the metadata.
#' @inheritParams RunMultigrade
#' @param ... Further arguments of [RunMultigrade()].
#' @return `object` with the model in its metadata.
#' @examples
#' if (requireNamespace("MultiAssayExperiment", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     cells <- colnames(cite$rna)[1:300]
#'     measured <- cells[1:200]  # protein for two thirds of the cells
#'     mae <- MultiAssayExperiment::MultiAssayExperiment(
#'         experiments = list(rna = cite$rna[, cells], adt = cite$adt[, measured]),
#'         colData = S4Vectors::DataFrame(cite$obs[cells, ]))
#'     mae <- RunMultigrade(mae, batch = "batch", max_epochs = 2, seed = 1, verbose = FALSE)
#'     dim(GetMultigradeModel(mae)$embedding)
#' }
#' @export
RunMultigrade.MultiAssayExperiment <- function(object, experiments = NULL, assay.types = NULL,  # nolint: object_name_linter.
                                               likelihoods = NULL, batch = NULL, integrate_on = NULL,
                                               continuous = NULL, name = "MULTIGRADE", verbose = TRUE, ...) {
    require_package("MultiAssayExperiment")
    available <- names(MultiAssayExperiment::experiments(object))
    experiments <- experiments %||% available
    unknown <- setdiff(experiments, available)
    if (length(unknown) > 0) mg_abort(c("Experiment{?s} {.val {unknown}} not found.", "i" = "Experiments: {.val {available}}."))
    cells <- rownames(MultiAssayExperiment::colData(object))
    likelihoods <- resolve_likelihoods(likelihoods, experiments, function(e) mae_assay(object, e, "mse", assay.types),
        verbose)
    mats <- lapply(stats::setNames(experiments, experiments), function(e) {
        mae_cells_matrix(object, e, mae_assay(object, e, likelihoods[[e]], assay.types), cells)
    })
    meta <- as.data.frame(MultiAssayExperiment::colData(object))
    covariates <- object_covariates(meta, batch, continuous)
    model <- RunMultigrade(mats, likelihoods = likelihoods, batch = covariates$batch, integrate_on = integrate_on,
        continuous = covariates$continuous, verbose = verbose, ...)
    stored <- S4Vectors::metadata(object)$multigrade %||% list()
    stored[[name]] <- model
    S4Vectors::metadata(object)$multigrade <- stored
    object
}

# One experiment's matrix (features x its own columns): the assay chosen for the likelihood.
mae_assay <- function(object, experiment, likelihood, assay.types, call = rlang::caller_env()) {
    se <- MultiAssayExperiment::experiments(object)[[experiment]]
    if (!methods::is(se, "SummarizedExperiment")) return(se)
    wanted <- if (experiment %in% names(assay.types)) assay.types[[experiment]] else NULL
    SummarizedExperiment::assay(se, sce_assay(se, likelihood, wanted, experiment, call), withDimnames = TRUE)
}

# The experiment's values over every cell, through the sample map: NA columns for cells the
# experiment did not measure (a missing modality).
mae_cells_matrix <- function(object, experiment, m, cells) {
    map <- as.data.frame(MultiAssayExperiment::sampleMap(object))
    map <- map[map$assay == experiment, , drop = FALSE]
    primary <- as.character(map$primary[match(colnames(m), as.character(map$colname))])
    keep <- !is.na(primary) & primary %in% cells
    m <- m[, keep, drop = FALSE]
    colnames(m) <- primary[keep]
    if (!inherits(m, "dgCMatrix")) m <- as.matrix(m)
    pad_to_cells(m, cells)
}
