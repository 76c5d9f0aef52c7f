#' Run multigrade on a SingleCellExperiment
#'
#' The main experiment and the alternative experiments (`altExps`, e.g. ADT)
#' are the modalities. Adds `reducedDim(x, name)` with the joint embedding and
#' keeps the model in `metadata(x)$multigrade[[name]]`.
#'
#' @param x A `SingleCellExperiment`.
#' @param altexps Alternative experiments to use as further modalities
#'   (default: all).
#' @param main_name Modality name of the main experiment (default
#'   `mainExpName(x)`, else `"RNA"`).
#' @param assay.types Assay to read per modality, named by modality. By default
#'   `"counts"` for `nb`/`zinb` and `"logcounts"` otherwise (else the first
#'   assay).
#' @param batch,continuous `colData` column names of the covariates.
#' @param name Name of the new `reducedDim`.
#' @inheritParams RunMultigrade
#' @param ... Further arguments of [RunMultigrade()].
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
RunMultigrade.SingleCellExperiment <- function(x, altexps = NULL, main_name = NULL,
                                               assay.types = NULL, likelihoods = NULL,
                                               batch = NULL, integrate_on = NULL,
                                               continuous = NULL, name = "MULTIGRADE",
                                               verbose = TRUE, ...) {
    require_package("SingleCellExperiment")
    inputs <- sce_training_inputs(x, main_name, altexps, assay.types, likelihoods, batch, continuous, verbose)
    model <- RunMultigrade(inputs$mats, likelihoods = inputs$likelihoods, batch = inputs$covariates$batch,
        integrate_on = integrate_on, continuous = inputs$covariates$continuous, verbose = verbose, ...)
    add_sce_reduction(x, model$embedding, name, model)
}

# The modality matrices, likelihoods and covariates of a SingleCellExperiment, for training.
sce_training_inputs <- function(x, main_name, altexps, assay.types, likelihoods, batch, continuous, verbose) {
    experiments <- sce_experiments(x, main_name, altexps)
    likelihoods <- resolve_object_likelihoods(likelihoods, names(experiments), function(m) {
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
