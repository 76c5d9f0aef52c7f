# MapToReference and ImputeModality for Seurat and SingleCellExperiment objects: read the
# modalities the model knows, call the list methods, write reductions, metadata and new
# assays back.

#' Map a Seurat or SingleCellExperiment query onto a multigrade reference
#'
#' Object methods of [MapToReference()]. The query's assays (Seurat) or main
#' experiment and altExps (SingleCellExperiment) that share a name with the
#' reference's modalities are used. The query gets a reduction
#' (`"ref.multigrade"` / `"REF.MULTIGRADE"`) holding the embedding and the
#' extended model, and, with `refdata`, the metadata columns
#' `predicted.<label>`, `predicted.<label>.score` and `mapping.score`.
#'
#' @param query A `Seurat` object or `SingleCellExperiment`.
#' @param model The reference: a `multigrade_model`, or the Seurat object or
#'   SingleCellExperiment it was trained on (then `refdata` may name its
#'   metadata columns).
#' @param assays,layers,slots Seurat: assays to use (default: those the model
#'   knows) and the layer/slot to read per assay (default: counts for count
#'   likelihoods, else data).
#' @param altexps,main_name,assay.types SingleCellExperiment: as in
#'   [RunMultigrade.SingleCellExperiment()].
#' @param batch,continuous Metadata column names of the query's covariates.
#' @param refdata Labels to transfer: metadata column names of the reference
#'   object, or a named list of vectors over the reference cells.
#' @param reduction.name,reduction.key,name Name (and Seurat key) of the new
#'   reduction.
#' @param verbose Show progress.
#' @param ... Further arguments of [MapToReference.list()] (e.g. `k`,
#'   `max_epochs`, `seed`).
#' @return The query object with the reduction and predictions added.
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
#'     obj[["ADT"]] <- SeuratObject::CreateAssayObject(data = cite$adt)
#'     ref <- obj[, obj$batch == "s1d1"]
#'     query <- SeuratObject::CreateSeuratObject(counts = cite$rna[, cite$obs$batch == "s1d2"],
#'         meta.data = cite$obs[cite$obs$batch == "s1d2", ])
#'     ref <- RunMultigrade(ref, batch = "batch", max_epochs = 20, seed = 1, verbose = FALSE)
#'     query <- MapToReference(query, ref, batch = "batch", refdata = "cell_type",
#'         max_epochs = 10, seed = 1, verbose = FALSE)
#'     head(query[[c("predicted.cell_type", "predicted.cell_type.score", "mapping.score")]])
#' }
#' @name MapToReference.Seurat
NULL

#' @rdname MapToReference.Seurat
#' @export
MapToReference.Seurat <- function(query, model, assays = NULL, layers = NULL, slots = NULL,
                                  batch = NULL, continuous = NULL, refdata = NULL,
                                  reduction.name = "ref.multigrade",
                                  reduction.key = "refmultigrade_", verbose = TRUE, ...) {
    require_package("SeuratObject")
    reference <- resolve_reference(model, refdata)
    model <- reference$model
    assays <- known_assays(assays %||% SeuratObject::Assays(query), model, "assays")
    mats <- seurat_modalities(query, assays, layers %||% slots, model_likelihoods(model))
    covariates <- object_covariates(query[[]], batch, continuous)
    result <- MapToReference(mats, model, batch = covariates$batch, continuous = covariates$continuous,
        refdata = reference$refdata, verbose = verbose, ...)
    query <- add_seurat_reduction(query, result$embedding, reduction.name, reduction.key, assays[[1]], result$model)
    SeuratObject::AddMetaData(query, result$predictions)
}

#' @rdname MapToReference.Seurat
#' @export
MapToReference.SingleCellExperiment <- function(query, model, altexps = NULL, main_name = NULL,
                                                assay.types = NULL, batch = NULL, continuous = NULL,
                                                refdata = NULL, name = "REF.MULTIGRADE",
                                                verbose = TRUE, ...) {
    require_package("SingleCellExperiment")
    reference <- resolve_reference(model, refdata)
    model <- reference$model
    experiments <- sce_experiments(query, main_name, altexps)
    experiments <- experiments[known_assays(names(experiments), model, "experiments")]
    mats <- sce_modalities(query, experiments, assay.types, model_likelihoods(model))
    covariates <- object_covariates(as.data.frame(SummarizedExperiment::colData(query)), batch, continuous)
    result <- MapToReference(mats, model, batch = covariates$batch, continuous = covariates$continuous,
        refdata = reference$refdata, verbose = verbose, ...)
    query <- add_sce_reduction(query, result$embedding, name, result$model)
    for (col in names(result$predictions)) {
        SummarizedExperiment::colData(query)[[col]] <- result$predictions[[col]]
    }
    query
}

#' Impute a modality into a Seurat object or SingleCellExperiment
#'
#' Object methods of [ImputeModality()]: the imputed values become a new assay
#' (Seurat, in its `data` layer; the quantiles of `n_samples` draws go to
#' `Misc(object, "<assay>.quantiles")`) or a new altExp (SingleCellExperiment,
#' assay `"imputed"` plus one assay per quantile).
#'
#' @param object A `Seurat` object or `SingleCellExperiment`.
#' @param model A `multigrade_model`; by default the one stored by
#'   [MapToReference()] (`"ref.multigrade"`) or [RunMultigrade()]
#'   (`"multigrade"`) on `object`.
#' @param target The modality to impute.
#' @param assays,layers,altexps,main_name,assay.types The inputs, as in
#'   [MapToReference.Seurat()]; by default every modality the model knows
#'   except the target.
#' @param batch,continuous Metadata column names of the covariates.
#' @param new.assay.name,name Name of the new assay / altExp (default
#'   `"imputed.<target>"`).
#' @param ... Further arguments of [ImputeModality.list()] (e.g.
#'   `n_samples`, `library_size`).
#' @return The object with the imputed modality added.
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
#'     obj[["ADT"]] <- SeuratObject::CreateAssayObject(data = cite$adt)
#'     obj <- RunMultigrade(obj, batch = "batch", max_epochs = 10, seed = 1, verbose = FALSE)
#'     obj <- ImputeModality(obj, target = "ADT", batch = "batch")
#'     SeuratObject::Assays(obj)
#' }
#' @name ImputeModality.Seurat
NULL

#' @rdname ImputeModality.Seurat
#' @export
ImputeModality.Seurat <- function(object, model = NULL, target, assays = NULL, layers = NULL,
                                  batch = NULL, continuous = NULL, new.assay.name = NULL, ...) {
    require_package("SeuratObject")
    model <- model %||% stored_model(object, c("ref.multigrade", "multigrade"))
    check_model(model)
    target <- check_target(target, model)
    inputs <- assays %||% setdiff(SeuratObject::Assays(object), target)
    inputs <- known_assays(inputs, model, "assays")
    mats <- seurat_modalities(object, inputs, layers, model_likelihoods(model))
    covariates <- object_covariates(object[[]], batch, continuous)
    imputed <- ImputeModality(mats, model, target, batch = covariates$batch,
        continuous = covariates$continuous, ...)
    new.assay.name <- new.assay.name %||% paste0("imputed.", target)
    assay <- SeuratObject::CreateAssayObject(data = methods::as(unclass_matrix(imputed), "dgCMatrix"))
    SeuratObject::Key(assay) <- paste0(tolower(gsub("[^[:alnum:]]", "", new.assay.name)), "_")
    object[[new.assay.name]] <- assay
    quantiles <- attr(imputed, "quantiles")
    if (!is.null(quantiles)) {
        SeuratObject::Misc(object, slot = paste0(new.assay.name, ".quantiles")) <- quantiles
    }
    object
}

#' @rdname ImputeModality.Seurat
#' @export
ImputeModality.SingleCellExperiment <- function(object, model = NULL, target, altexps = NULL,
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
    values <- c(list(imputed = unclass_matrix(imputed)), attr(imputed, "quantiles"))
    SingleCellExperiment::altExp(object, name %||% paste0("imputed.", target)) <-
        SummarizedExperiment::SummarizedExperiment(values)
    object
}

unclass_matrix <- function(m) {
    attr(m, "quantiles") <- NULL
    m
}

# The model and the labels to transfer, from a model or a reference object.
resolve_reference <- function(reference, refdata, call = rlang::caller_env()) {
    if (inherits(reference, "multigrade_model")) {
        if (is.character(refdata)) {
            mg_abort(c("{.arg refdata} names metadata columns, but {.arg model} is a model, not the reference object.",
                "i" = "Pass the reference Seurat object / SingleCellExperiment as {.arg model}, or give {.arg refdata} as a list of label vectors."),
                call = call)
        }
        return(list(model = reference, refdata = refdata))
    }
    if (!inherits(reference, c("Seurat", "SingleCellExperiment"))) check_model(reference, call)
    model <- stored_model(reference, c("multigrade", "MULTIGRADE"))
    if (is.character(refdata)) {
        meta <- if (inherits(reference, "Seurat")) reference[[]] else
            as.data.frame(SummarizedExperiment::colData(reference))
        missing <- setdiff(refdata, names(meta))
        if (length(missing) > 0) {
            mg_abort(c("The reference has no metadata column{?s} {.val {missing}}.",
                "i" = "Columns: {.val {names(meta)}}."), call = call)
        }
        refdata <- lapply(stats::setNames(refdata, refdata), function(col) {
            stats::setNames(as.character(meta[[col]]), rownames(meta))
        })
    }
    list(model = model, refdata = refdata)
}

# The first model stored under one of these reduction names.
stored_model <- function(object, reductions, call = rlang::caller_env()) {
    for (r in reductions) {
        model <- tryCatch(GetMultigradeModel(object, r), mg_error_model = function(e) NULL)
        if (!is.null(model)) return(model)
    }
    mg_abort(c("No multigrade model found on this object.",
        "i" = "Give {.arg model}, or run {.fn RunMultigrade} / {.fn MapToReference} first."),
        class = "model", call = call)
}

known_assays <- function(candidates, model, what, call = rlang::caller_env()) {
    known <- intersect(candidates, names(model$modalities))
    if (length(known) == 0) {
        mg_abort(c("None of the {what} {.val {candidates}} is a modality of the model.",
            "i" = "The model knows {.val {names(model$modalities)}}."), call = call)
    }
    known
}

model_likelihoods <- function(model) {
    vapply(model$modalities, `[[`, "", "likelihood")
}
