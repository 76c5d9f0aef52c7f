# What the Seurat and SingleCellExperiment adapters share: the documentation pages of the
# object methods of mapping, imputation and MultiMIL, likelihoods and covariates from an
# object, the reference behind a query, and MultiMIL's per-cell and per-sample columns.

#' Map a Seurat or SingleCellExperiment query onto a multigrade reference
#'
#' Object methods of [MapToReference()]. The query's assays (Seurat) or main
#' experiment and altExps (SingleCellExperiment) that share a name with the
#' reference's modalities are used. The query gets a reduction
#' (`"ref.multigrade"` / `"REF.MULTIGRADE"`) holding the embedding and the
#' extended model, and, with `refdata`, the metadata columns
#' `predicted.<label>`, `predicted.<label>.score` and `mapping.score`.
#'
#' @param object The query: a `Seurat` object or `SingleCellExperiment`.
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

#' Impute a modality into a Seurat object or SingleCellExperiment
#'
#' Object methods of [ImputeModality()]: the imputed values become a new assay
#' (Seurat, in its `data` layer; the quantiles of `n_samples` draws go to
#' `Misc(object, "<assay>.quantiles")`) or a new altExp (SingleCellExperiment,
#' with assay `logcounts`, or `counts` and `logcounts = log2(counts + 1)` for
#' count likelihoods, plus `lower` and `upper` for the quantiles of
#' `n_samples` draws), which scater and scran use without further arguments.
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
#' @param new.assay.name,name Name of the new assay / altExp (default the
#'   target's name, or `"imputed.<target>"` when the object already has one of
#'   that name).
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

# The name of an imputed modality in an object: the target's own, or with the prefix
# "imputed." when the object already holds one of that name (said in a message).
imputed_name <- function(target, taken, what) {
    if (!target %in% taken) return(target)
    name <- paste0("imputed.", target)
    mg_inform(c("i" = "The object already has {.val {target}}: the imputed {what} is {.val {name}}."))
    name
}

default_layer <- function(likelihood, count_layer, other_layer) {
    if (likelihood %in% count_likelihoods) count_layer else other_layer
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

# What predict() reads from a Seurat object or SingleCellExperiment: the modalities the
# model knows (`newdata`) and the covariates named by metadata column (`batch`,
# `continuous`); NULL for anything else.
object_inputs <- function(object, model, batch, continuous, call = rlang::caller_env()) {
    if (inherits(object, "Seurat")) {
        assays <- known_assays(SeuratObject::Assays(object), model, "assays", call)
        mats <- seurat_modalities(object, assays, NULL, model_likelihoods(model))
        meta <- object[[]]
    } else if (inherits(object, "SingleCellExperiment")) {
        experiments <- sce_experiments(object, NULL, NULL, call)
        experiments <- experiments[known_assays(names(experiments), model, "experiments", call)]
        mats <- sce_modalities(object, experiments, NULL, model_likelihoods(model))
        meta <- as.data.frame(SummarizedExperiment::colData(object))
    } else {
        return(NULL)
    }
    covariates <- object_covariates(meta, batch, continuous, call)
    list(newdata = mats, batch = covariates$batch, continuous = covariates$continuous)
}

known_assays <- function(candidates, model, what, call = rlang::caller_env()) {
    known <- intersect(candidates, names(model$modalities))
    if (length(known) == 0) {
        mg_abort(c("None of the {what} {.val {candidates}} is a modality of the model.",
            "i" = "The model knows {.val {names(model$modalities)}}."), call = call)
    }
    known
}

model_likelihoods <- function(model) schema_likelihoods(model_schema(model))

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

# Per-cell columns, matched by cell name; the sample's prediction repeated on its cells.
mil_cell_columns <- function(cells, samples, attention, relative, sample_of_cell) {
    predicted <- samples$predicted[match(as.character(sample_of_cell), samples$sample)]
    data.frame(mil.attention = unname(attention[cells]), mil.attention.relative = unname(relative[cells]),
        mil.predicted = predicted, row.names = cells)
}

# A modality's matrix over all `cells`, in their order: NA columns for the cells it did not
# measure (the missing-modality mark of the core). Sparse stays sparse (the NA columns are
# stored explicitly); dense stays dense.
pad_to_cells <- function(m, cells) {
    if (identical(colnames(m), cells)) return(m)
    missing <- setdiff(cells, colnames(m))
    if (length(missing) > 0) {
        filler <- matrix(NA_real_, nrow(m), length(missing), dimnames = list(rownames(m), missing))
        m <- if (is.matrix(m)) cbind(m, filler) else
            cbind(methods::as(m, "CsparseMatrix"), methods::as(filler, "CsparseMatrix"))
    }
    m[, cells, drop = FALSE]
}
