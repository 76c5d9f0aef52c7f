# Seurat adapter: reads one matrix per assay (counts for count likelihoods, data
# otherwise), covariates from the metadata, and writes a DimReduc back. Works with
# SeuratObject 4 (slots) and 5 (layers, Assay5, split layers).

#' @rdname RunMultigrade.Seurat
#' @title Run multigrade on a Seurat object
#' @description Trains on the given assays and adds a DimReduc (by default
#'   `"multigrade"`, key `multigrade_`) holding the joint embedding; the model is
#'   kept in the reduction's `misc` and returned by [GetMultigradeModel()].
#' @param x A `Seurat` object (SeuratObject 4 or 5).
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
RunMultigrade.Seurat <- function(x, assays = NULL, layers = NULL, slots = NULL,
                                 likelihoods = NULL, batch = NULL, integrate_on = NULL,
                                 continuous = NULL, reduction.name = "multigrade",
                                 reduction.key = "multigrade_", verbose = TRUE, ...) {
    require_package("SeuratObject")
    inputs <- seurat_training_inputs(x, assays, layers %||% slots, likelihoods, batch, continuous, verbose)
    model <- RunMultigrade(inputs$mats, likelihoods = inputs$likelihoods, batch = inputs$covariates$batch,
        integrate_on = integrate_on, continuous = inputs$covariates$continuous, verbose = verbose, ...)
    add_seurat_reduction(x, model$embedding, reduction.name, reduction.key, inputs$assays[[1]], model)
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
    likelihoods <- resolve_object_likelihoods(likelihoods, assays, function(a) {
        seurat_matrix(x, a, "data")
    }, verbose)
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
        found <- SeuratObject::Layers(obj, search = layer)
        if (length(found) == 0) {
            mg_abort(c("Assay {.val {assay}} has no layer {.val {layer}}.",
                "i" = "Layers: {.val {SeuratObject::Layers(obj)}}; choose with {.arg layers}."))
        }
        parts <- lapply(found, function(l) SeuratObject::LayerData(obj, layer = l))
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

default_layer <- function(likelihood, count_layer, other_layer) {
    if (likelihood %in% count_likelihoods) count_layer else other_layer
}

resolve_object_likelihoods <- function(likelihoods, modalities, reader, verbose) {
    if (!is.null(likelihoods)) {
        likelihoods <- unlist(likelihoods)
        if (is.null(names(likelihoods)) && length(likelihoods) == length(modalities)) {
            names(likelihoods) <- modalities
        }
    }
    out <- vapply(modalities, function(m) {
        if (!is.null(likelihoods) && m %in% names(likelihoods)) return(tolower(likelihoods[[m]]))
        guess_likelihood(m, reader(m))
    }, character(1))
    names(out) <- modalities
    if (is.null(likelihoods)) {
        mg_inform(c("i" = "Likelihoods: {paste(names(out), out, sep = ' = ', collapse = ', ')} (set {.arg likelihoods} to change)."),
            verbose)
    }
    out
}

object_covariates <- function(meta, batch, continuous, call = rlang::caller_env()) {
    wanted <- c(batch, continuous)
    missing <- setdiff(wanted, names(meta))
    if (length(missing) > 0) {
        mg_abort(c("Metadata column{?s} {.val {missing}} not found.",
            "i" = "Columns: {.val {names(meta)}}."), call = call)
    }
    list(batch = if (length(batch)) meta[, batch, drop = FALSE] else NULL,
        continuous = if (length(continuous)) meta[, continuous, drop = FALSE] else NULL)
}

require_package <- function(pkg, call = rlang::caller_env()) {
    if (!requireNamespace(pkg, quietly = TRUE)) {
        mg_abort("Package {.pkg {pkg}} is needed for this; install it first.", call = call)
    }
}
