# Seurat adapter of every verb: training (RunMultigrade), mapping and imputation
# (MapToReference, ImputeModality) and MultiMIL (RunMultiMIL, PredictSamples). Reads one
# matrix per assay (counts for count likelihoods, data otherwise) and the metadata, writes
# reductions, metadata columns and assays back. Works with SeuratObject 4 (slots) and 5
# (layers, Assay5, split layers). The documentation pages shared with the
# SingleCellExperiment methods are in objects-common.R.

#' @rdname RunMultigrade.Seurat
#' @title Run multigrade on a Seurat object
#' @description Trains on the given assays and adds a DimReduc (by default
#'   `"multigrade"`, key `multigrade_`) holding the joint embedding, each
#'   dimension's standard deviation (`Stdev()`, for `ElbowPlot()`) and feature
#'   loadings of the first assay (the Spearman correlations of
#'   [LatentFeatureAssociations()], for `DimHeatmap()`); the model is kept in the
#'   reduction's `misc` and returned by [GetMultigradeModel()]. The call is
#'   recorded in `object@commands` (`Command(object, "RunMultigrade")`), as for
#'   every multigrade verb on a Seurat object.
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
    object <- add_seurat_reduction(object, model$embedding, reduction.name, reduction.key, inputs$assays[[1]], model)
    log_seurat_command(object, "RunMultigrade", inputs$assays[[1]], list(...))
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

# The embedding as a DimReduc with what Seurat's tools read: `stdev` (each dimension's
# standard deviation over the cells, for ElbowPlot) and feature loadings (each feature of
# `assay` correlated with a traversal of each dimension, LatentFeatureAssociations(), for
# DimHeatmap and the reduction's top features).
add_seurat_reduction <- function(x, embedding, name, key, assay, model) {
    colnames(embedding) <- paste0(key, seq_len(ncol(embedding)))
    loadings <- if (assay %in% names(model$modalities)) {
        LatentFeatureAssociations(model, modalities = assay)[[assay]]
    } else {
        matrix(numeric(0), 0, ncol(embedding))
    }
    attr(loadings, "traversals") <- NULL
    dimnames(loadings) <- list(rownames(loadings), colnames(embedding))
    x[[name]] <- SeuratObject::CreateDimReducObject(embeddings = embedding, loadings = loadings, key = key,
        assay = assay, stdev = unname(apply(embedding, 2, stats::sd)), global = TRUE, misc = list(model = model))
    x
}

# Records a verb in object@commands as Seurat's own functions do, so that Command(object,
# "RunMultigrade") gives its arguments: the method's arguments and those in `dots`, without
# objects and models (the models live in the reductions) or anything large.
log_seurat_command <- function(object, name, assay, dots = list(), frame = parent.frame()) {
    method <- sys.function(sys.parent())
    arguments <- intersect(setdiff(names(formals(method)), c("object", "...")), ls(frame))
    params <- c(mget(arguments, envir = frame), dots)
    small <- vapply(params, function(v) {
        !inherits(v, c("Seurat", "multigrade_model", "multimil_model")) && utils::object.size(v) < 1e5
    }, logical(1))
    command <- methods::new(methods::getClass("SeuratCommand", where = asNamespace("SeuratObject")),
        name = name, params = params[small], time.stamp = Sys.time(),
        call.string = paste(deparse(sys.call(sys.parent())), collapse = " "), assay.used = assay)
    object@commands[[name]] <- command
    object
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
    pad_to_cells(m, cells)
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
    object <- SeuratObject::AddMetaData(object, result$predictions)
    log_seurat_command(object, "MapToReference", assays[[1]], list(...))
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
    new.assay.name <- new.assay.name %||% imputed_name(target, SeuratObject::Assays(object), "assay")
    assay <- SeuratObject::CreateAssayObject(data = methods::as(unclass_matrix(imputed), "dgCMatrix"))
    SeuratObject::Key(assay) <- paste0(tolower(gsub("[^[:alnum:]]", "", new.assay.name)), "_")
    object[[new.assay.name]] <- assay
    quantiles <- attr(imputed, "quantiles")
    if (!is.null(quantiles)) {
        SeuratObject::Misc(object, slot = paste0(new.assay.name, ".quantiles")) <- quantiles
    }
    log_seurat_command(object, "ImputeModality", new.assay.name, list(...))
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
    object <- write_mil_seurat(object, fit$samples, fit$attention, fit$relative_attention, meta[[sample]])
    log_seurat_command(object, "RunMultiMIL", SeuratObject::DefaultAssay(object), list(...))
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
    object <- write_mil_seurat(object, out$samples, out$attention, out$relative_attention, meta[[sample]])
    log_seurat_command(object, "PredictSamples", SeuratObject::DefaultAssay(object), list(...))
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
