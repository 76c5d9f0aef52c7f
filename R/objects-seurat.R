# Seurat adapter of every verb: training (RunMultigrade), mapping and imputation
# (MapToReference, ImputeModality) and MultiMIL (RunMultiMIL, PredictSamples). Reads one
# matrix per assay (counts for count likelihoods, data otherwise) and the metadata, writes
# reductions, metadata columns and assays back. Works with SeuratObject 4 (slots) and 5
# (layers, Assay5, split layers). The documentation pages shared with the
# SingleCellExperiment methods are in objects-common.R.

#' @rdname RunMultigrade.Seurat
#' @title Run multigrade on a Seurat object
#' @description Trains on the given assays and adds a DimReduc (by default
#'   `"multigrade"`, key `multigrade_`) holding the joint embedding; the model is
#'   kept in the reduction's `misc` and returned by [GetMultigradeModel()].
#' @param object A `Seurat` object (SeuratObject 4 or 5).
#' @param assays Assays to use, one modality each (default: all assays).
#' @param layers,slots Per-assay layer (SeuratObject 5) or slot (4) to read,
#'   named by assay. By default `"counts"` for `nb`/`zinb` assays and `"data"`
#'   for `mse`/`bernoulli`. `slots` is an alias of `layers`.
#' @param batch,continuous Metadata column names of the categorical and
#'   continuous covariates.
#' @param reduction.name,reduction.key Name and key of the new reduction.
#' @inheritParams RunMultigrade
#' @param ... Further arguments of [RunMultigrade()] (e.g. `latent_dim`,
#'   `max_epochs`, `seed`, `options`).
#' @return The Seurat object with the reduction added.
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
#'     obj[["ADT"]] <- SeuratObject::CreateAssayObject(data = cite$adt)
#'     obj <- RunMultigrade(obj, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE)
#'     dim(SeuratObject::Embeddings(obj, "multigrade"))
#' }
#' @export
RunMultigrade.Seurat <- function(object, assays = NULL, layers = NULL, slots = NULL,  # nolint: object_name_linter.
                                 likelihoods = NULL, batch = NULL, integrate_on = NULL,
                                 continuous = NULL, reduction.name = "multigrade",
                                 reduction.key = "multigrade_", verbose = TRUE, ...) {
    require_package("SeuratObject")
    inputs <- seurat_training_inputs(object, assays, layers %||% slots, likelihoods, batch, continuous, verbose)
    model <- RunMultigrade(inputs$mats, likelihoods = inputs$likelihoods, batch = inputs$covariates$batch,
        integrate_on = integrate_on, continuous = inputs$covariates$continuous, verbose = verbose, ...)
    add_seurat_reduction(object, model$embedding, reduction.name, reduction.key, inputs$assays[[1]], model)
}

# The modality matrices, likelihoods and covariates of a Seurat object, for training.
seurat_training_inputs <- function(x, assays, layers, likelihoods, batch, continuous, verbose,
                                   call = rlang::caller_env()) {
    assays <- assays %||% SeuratObject::Assays(x)
    unknown <- setdiff(assays, SeuratObject::Assays(x))
    if (length(unknown) > 0) {
        mg_abort(c("Assay{?s} {.val {unknown}} not found.", "i" = "Assays: {.val {SeuratObject::Assays(x)}}."),
            call = call)
    }
    likelihoods <- resolve_likelihoods(likelihoods, assays, function(a) {
        seurat_matrix(x, a, "data")
    }, verbose, call)
    list(mats = seurat_modalities(x, assays, layers, likelihoods), likelihoods = likelihoods,
        covariates = object_covariates(x[[]], batch, continuous), assays = assays)
}

add_seurat_reduction <- function(x, embedding, name, key, assay, model) {
    colnames(embedding) <- paste0(key, seq_len(ncol(embedding)))
    x[[name]] <- SeuratObject::CreateDimReducObject(embeddings = embedding, key = key, assay = assay,
        global = TRUE, misc = list(model = model))
    x
}

# One matrix per assay: the layer given in `layers`, else counts for count likelihoods and
# data otherwise.
seurat_modalities <- function(x, assays, layers, likelihoods) {
    mats <- lapply(assays, function(a) {
        layer <- if (!is.null(layers) && a %in% names(layers)) layers[[a]] else
            default_layer(likelihoods[[a]], "counts", "data")
        seurat_matrix(x, a, layer, colnames(x))
    })
    names(mats) <- assays
    mats
}

# One assay's matrix, features x cells in the order of `cells`; cells an assay lacks
# (SeuratObject 5 allows assays on a subset) become NA columns, i.e. a missing modality.
seurat_matrix <- function(x, assay, layer, cells = colnames(x)) {
    obj <- x[[assay]]
    if (inherits(obj, "StdAssay")) {
        layers_of <- seurat5_function("Layers")
        found <- layers_of(obj, search = layer)
        if (length(found) == 0) {
            mg_abort(c("Assay {.val {assay}} has no layer {.val {layer}}.",
                "i" = "Layers: {.val {layers_of(obj)}}; choose with {.arg layers}."))
        }
        layer_data <- seurat5_function("LayerData")
        parts <- lapply(found, function(l) layer_data(obj, layer = l))
        m <- if (length(parts) == 1) parts[[1]] else do.call(cbind, parts)
    } else {
        m <- if (utils::packageVersion("SeuratObject") >= "5.0.0") {
            SeuratObject::GetAssayData(x, assay = assay, layer = layer)
        } else {
            SeuratObject::GetAssayData(x, assay = assay, slot = layer)
        }
    }
    if (prod(dim(m)) == 0) {
        mg_abort(c("The {.val {layer}} of assay {.val {assay}} is empty.",
            "i" = "Choose another with {.arg layers}, e.g. {.code layers = c({assay} = \"counts\")}."))
    }
    if (!inherits(m, "dgCMatrix") && !is.matrix(m)) m <- methods::as(m, "dgCMatrix")
    if (identical(colnames(m), cells)) return(m)
    missing <- setdiff(cells, colnames(m))
    if (length(missing) > 0) {
        filler <- Matrix::Matrix(NA_real_, nrow(m), length(missing), sparse = FALSE,
            dimnames = list(rownames(m), missing))
        m <- cbind(methods::as(m, "CsparseMatrix"), methods::as(filler, "CsparseMatrix"))
    }
    m[, cells, drop = FALSE]
}

#' @rdname MapToReference.Seurat
#' @export
MapToReference.Seurat <- function(object, model, assays = NULL, layers = NULL, slots = NULL,  # nolint: object_name_linter.
                                  batch = NULL, continuous = NULL, refdata = NULL,
                                  reduction.name = "ref.multigrade",
                                  reduction.key = "refmultigrade_", verbose = TRUE, ...) {
    require_package("SeuratObject")
    reference <- resolve_reference(model, refdata)
    model <- reference$model
    assays <- known_assays(assays %||% SeuratObject::Assays(object), model, "assays")
    mats <- seurat_modalities(object, assays, layers %||% slots, model_likelihoods(model))
    covariates <- object_covariates(object[[]], batch, continuous)
    result <- MapToReference(mats, model, batch = covariates$batch, continuous = covariates$continuous,
        refdata = reference$refdata, verbose = verbose, ...)
    object <- add_seurat_reduction(object, result$embedding, reduction.name, reduction.key, assays[[1]], result$model)
    SeuratObject::AddMetaData(object, result$predictions)
}

#' @rdname ImputeModality.Seurat
#' @export
ImputeModality.Seurat <- function(object, model = NULL, target, assays = NULL, layers = NULL,  # nolint: object_name_linter.
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

#' @rdname RunMultiMIL.Seurat
#' @export
RunMultiMIL.Seurat <- function(object, sample = "sample_id", label = "condition", reduction = "multigrade",  # nolint: object_name_linter.
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
PredictSamples.Seurat <- function(object, model = NULL, sample = NULL, reduction = NULL, ...) {  # nolint: object_name_linter.
    require_package("SeuratObject")
    model <- model %||% object@misc$multimil %||% mg_abort("No MultiMIL model given or stored in {.arg object}.",
        class = "model")
    reduction <- reduction %||% default_mil_reduction(model$reduction, "ref.multigrade", SeuratObject::Reductions(object))
    sample <- sample %||% model$sample_key
    meta <- object[[]]
    out <- PredictSamples(seurat_embedding(object, reduction), model, sample = meta_column(meta, sample), ...)
    write_mil_seurat(object, out$samples, out$attention, out$relative_attention, meta[[sample]])
}

seurat_embedding <- function(object, reduction, call = rlang::caller_env()) {
    if (!reduction %in% SeuratObject::Reductions(object)) {
        mg_abort(c("Reduction {.val {reduction}} not found.",
            "i" = "Reductions: {.val {SeuratObject::Reductions(object)}}; run {.fn RunMultigrade} first or name another."),
            call = call)
    }
    SeuratObject::Embeddings(object, reduction)
}

write_mil_seurat <- function(object, samples, attention, relative, sample_of_cell) {
    object@misc$mil.samples <- samples
    SeuratObject::AddMetaData(object, mil_cell_columns(colnames(object), samples, attention, relative, sample_of_cell))
}

# A function only SeuratObject 5 exports (its assays are StdAssay objects), looked up when
# used, so that the package installs, checks and runs against SeuratObject 4 as well.
seurat5_function <- function(name) getExportedValue("SeuratObject", name)
