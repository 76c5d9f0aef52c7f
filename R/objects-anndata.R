# AnnData and MuData (as ReadH5AD() and ReadH5MU() return them) as Seurat objects and
# SingleCellExperiments, and those objects as AnnData for WriteH5AD() and WriteH5MU().
# Conventions: X is Seurat's `data` (with `layers$counts` as `counts`) or an assay named
# "X" in a SingleCellExperiment, as zellkonverter names it; obsm's `X_<name>` are the
# reductions `<name>`; a MuData's first modality is the SingleCellExperiment's main
# experiment and the others its altExps.

convert_anndata <- function(ad, as, assay, call = rlang::caller_env()) {
    if (as != "list" && is.null(ad$X)) {
        mg_abort(c("The file holds no matrix {.val X} to build a {as} object from.",
            "i" = "Read it with {.code as = \"list\"}, or name a layer."), class = "file", call = call)
    }
    switch(as,
        list = ad,
        Seurat = anndata_to_seurat(stats::setNames(list(ad), assay), ad$obs),
        SingleCellExperiment = anndata_to_sce(list(main = ad), ad$obs))
}

# A Seurat object with one assay per modality of `mods` (named lists of AnnData parts) and
# `obs` as its metadata. The cells of every modality must be obs's: Seurat assays share
# their cells.
anndata_to_seurat <- function(mods, obs, call = rlang::caller_env()) {
    require_package("SeuratObject", call = call)
    check_shared_cells(mods, rownames(obs), "Seurat object", call)
    assays <- lapply(mods, anndata_assay)
    first <- names(mods)[1]
    object <- SeuratObject::CreateSeuratObject(assays[[first]], assay = first)
    if (ncol(obs) > 0) object <- SeuratObject::AddMetaData(object, obs)
    for (nm in names(mods)[-1]) object[[nm]] <- assays[[nm]]
    for (nm in names(mods)) object <- add_anndata_reductions(object, mods[[nm]]$obsm, nm)
    object
}

# An assay from one modality: `counts` from layers$counts, else from X when it holds
# counts; `data` from X otherwise. var's columns become feature metadata.
anndata_assay <- function(ad) {
    counts <- ad$layers$counts %||% (if (is_count_matrix(ad$X)) ad$X)
    x <- as_dgc(ad$X)
    assay <- if (!is.null(counts)) {
        made <- SeuratObject::CreateAssayObject(counts = as_dgc(counts))
        if (!identical(counts, ad$X)) made <- seurat_set_data(made, x)
        made
    } else {
        SeuratObject::CreateAssayObject(data = x)
    }
    if (ncol(ad$var) > 0) {
        var <- ad$var
        rownames(var) <- rownames(assay)  # Seurat's feature names (no underscores), same order
        assay <- SeuratObject::AddMetaData(assay, metadata = var)
    }
    assay
}

seurat_set_data <- function(assay, x) {
    if (utils::packageVersion("SeuratObject") >= "5.0.0") {
        SeuratObject::SetAssayData(assay, layer = "data", new.data = x)
    } else {
        SeuratObject::SetAssayData(assay, slot = "data", new.data = x)
    }
}

add_anndata_reductions <- function(object, obsm, assay) {
    for (nm in names(obsm)) {
        m <- obsm[[nm]]
        if (!is.matrix(m) || !is.numeric(m) || is.null(rownames(m))) next
        name <- sub("^X_", "", nm)
        if (name %in% SeuratObject::Reductions(object)) name <- paste0(assay, ".", name)
        key <- paste0(gsub("[^[:alnum:]]", "", name), "_")
        colnames(m) <- paste0(key, seq_len(ncol(m)))
        object[[name]] <- SeuratObject::CreateDimReducObject(embeddings = m, key = key, assay = assay)
    }
    object
}

# A SingleCellExperiment: the first modality is the main experiment (assays X and the
# layers, rowData var, reducedDims from obsm), the others its altExps; obs is colData.
anndata_to_sce <- function(mods, obs, call = rlang::caller_env()) {
    require_package("SingleCellExperiment", call = call)
    check_shared_cells(mods, rownames(obs), "SingleCellExperiment", call)
    experiments <- lapply(mods, function(ad) {
        assays <- c(if (!is.null(ad$X)) list(X = ad$X), ad$layers)
        reduced <- Filter(function(m) is.matrix(m) && is.numeric(m), ad$obsm)
        names(reduced) <- sub("^X_", "", names(reduced))
        SingleCellExperiment::SingleCellExperiment(assays = assays, rowData = S4Vectors::DataFrame(ad$var,
            check.names = FALSE), reducedDims = reduced, metadata = ad$uns)
    })
    main <- experiments[[1]]
    SummarizedExperiment::colData(main) <- S4Vectors::DataFrame(obs, check.names = FALSE)
    if (length(experiments) > 1) {
        SingleCellExperiment::altExps(main) <- experiments[-1]
        SingleCellExperiment::mainExpName(main) <- names(experiments)[1]
    }
    main
}

check_shared_cells <- function(mods, cells, what, call) {
    for (nm in names(mods)) {
        if (!identical(rownames(mods[[nm]]$obs), cells)) {
            mg_abort(c("Modality {.val {nm}} does not hold the same cells, in the same order, as the others.",
                "i" = "A {what} needs that; read it with {.code as = \"list\"} instead."), class = "file", call = call)
        }
    }
}

is_count_matrix <- function(x) {
    if (is.null(x)) return(FALSE)
    v <- if (inherits(x, "sparseMatrix")) x@x else as.vector(x)
    length(v) > 0 && all(v >= 0) && all(v == round(v))
}

as_dgc <- function(x) if (inherits(x, "dgCMatrix")) x else methods::as(methods::as(as.matrix(x), "CsparseMatrix"), "dgCMatrix")

# --- objects to AnnData --------------------------------------------------------------------

#' @rdname WriteH5AD
#' @param assay For a Seurat object: the assay to write (default its default assay).
#' @export
WriteH5AD.Seurat <- function(object, file, assay = NULL, ..., overwrite = FALSE) {  # nolint: object_name_linter.
    check_dots_empty(list(...))
    ad <- seurat_anndata(object, assay %||% SeuratObject::DefaultAssay(object))
    WriteH5AD.list(ad, file, overwrite = overwrite)
}

#' @rdname WriteH5AD
#' @param X_name For a SingleCellExperiment: the assay written as `X` (default
#'   `"X"` if there is one, else `"logcounts"`, else the first).
#' @export
WriteH5AD.SingleCellExperiment <- function(object, file, X_name = NULL, ..., overwrite = FALSE) {  # nolint: object_name_linter.
    check_dots_empty(list(...))
    WriteH5AD.list(sce_anndata(object, X_name), file, overwrite = overwrite)
}

# One Seurat assay as AnnData parts: X = data, layers$counts = counts (when it has them).
seurat_anndata <- function(object, assay, call = rlang::caller_env()) {
    if (!assay %in% SeuratObject::Assays(object)) {
        mg_abort(c("Assay {.val {assay}} not found.", "i" = "Assays: {.val {SeuratObject::Assays(object)}}."), call = call)
    }
    counts <- tryCatch(seurat_matrix(object, assay, "counts"), error = function(e) NULL)
    # SeuratObject 5 assays may lack `data` (before NormalizeData): X is then the counts.
    x <- tryCatch(seurat_matrix(object, assay, "data"), error = function(e) NULL) %||% counts
    if (is.null(x)) mg_abort("Assay {.val {assay}} has neither {.val data} nor {.val counts}.", call = call)
    keep_counts <- !is.null(counts) && identical(dim(counts), dim(x)) && !identical(counts, x)
    layers <- if (keep_counts) list(counts = counts) else list()
    features <- tryCatch(as.data.frame(object[[assay]][[]]), error = function(e) data.frame(row.names = rownames(x)))
    features <- if (nrow(features) == nrow(x)) features[rownames(x), , drop = FALSE] else data.frame(row.names = rownames(x))
    reductions <- lapply(stats::setNames(SeuratObject::Reductions(object), paste0("X_", SeuratObject::Reductions(object))),
        function(r) unname_columns(SeuratObject::Embeddings(object, r)[colnames(x), , drop = FALSE]))
    list(X = x, layers = layers, obs = object[[]][colnames(x), , drop = FALSE], var = features, obsm = reductions)
}

sce_anndata <- function(object, X_name = NULL, call = rlang::caller_env()) {  # nolint: object_name_linter.
    assays <- SummarizedExperiment::assayNames(object)
    if (length(assays) == 0 || any(assays == "")) mg_abort("Every assay to write needs a name.", call = call)
    X_name <- X_name %||% intersect(c("X", "logcounts", assays), assays)[1]  # nolint: object_name_linter.
    if (!X_name %in% assays) mg_abort(c("No assay {.val {X_name}}.", "i" = "Assays: {.val {assays}}."), call = call)
    matrix_of <- function(nm) {
        m <- SummarizedExperiment::assay(object, nm, withDimnames = TRUE)
        if (!is.matrix(m) && !inherits(m, "dgCMatrix")) m <- as_dgc(m)
        m
    }
    reduced <- SingleCellExperiment::reducedDims(object)
    obsm <- lapply(as.list(reduced), function(m) unname_columns(as.matrix(m)))
    names(obsm) <- paste0("X_", names(reduced))
    list(X = matrix_of(X_name), layers = lapply(stats::setNames(setdiff(assays, X_name), setdiff(assays, X_name)), matrix_of),
        obs = as.data.frame(SummarizedExperiment::colData(object), optional = TRUE),
        var = as.data.frame(SummarizedExperiment::rowData(object), optional = TRUE),
        obsm = obsm, uns = Filter(function(v) is.atomic(v) || is.list(v), S4Vectors::metadata(object)))
}

unname_columns <- function(m) {
    colnames(m) <- NULL
    m
}
