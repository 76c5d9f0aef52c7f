#' Read an AnnData .h5ad file
#'
#' Reads every part of an `.h5ad` file (AnnData's on-disk format, as anndata
#' 0.7 to 0.10 write it) without Python: the matrix `X` and the `layers`
#' (dense, CSR or CSC), the cell and feature annotations `obs` and `var` (every
#' column type: numbers, strings, logicals, categoricals in the old
#' `__categories` and the current encodings, nullable integers and booleans;
#' also frames without columns), `obsm`/`varm` and the simple parts of `uns`.
#' Matrices come back features x cells, as Seurat and Bioconductor expect.
#'
#' Damaged files: a read that fails is an error of class `mg_error_file` that
#' names the file. On Unix the file is read in a forked child process, so
#' that a file damaged in a way that crashes the HDF5 library (as a corrupt
#' string heap can) costs an error, not the R session
#' (`options(multigrade.isolate_reads = FALSE)` reads in this process).
#'
#' @param file Path of the `.h5ad` file.
#' @param layer `"X"` or the name of a matrix in `layers/` (e.g. `"counts"`) to
#'   return as `X`.
#' @param as `"list"` (the parts as below), `"Seurat"` (one assay: `counts`
#'   from `layers$counts`, or from `X` when it holds counts, `data` from `X`;
#'   `obs` as metadata, `obsm`'s `X_<name>` as reductions) or
#'   `"SingleCellExperiment"` (assays `X` and the layers, `obs` as `colData`,
#'   `var` as `rowData`, `obsm` as reducedDims).
#' @param assay For `as = "Seurat"`: the assay's name.
#' @return With `as = "list"`, a list with `X` (features x cells; `dgCMatrix`
#'   when stored sparse), `layers` (named list of such matrices), `obs` and
#'   `var` (data frames of cells and features), `obsm` and `varm` (named lists
#'   of cells x components and features x components matrices), and `uns` (a
#'   named list). Otherwise a Seurat object or a SingleCellExperiment.
#' @seealso [WriteH5AD()], [ReadH5MU()].
#' @examples
#' path <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
#' adt <- ReadH5AD(path, layer = "counts")
#' dim(adt$X)
#' table(adt$obs$batch)
#' @export
ReadH5AD <- function(file, layer = "X", as = c("list", "Seurat", "SingleCellExperiment"), assay = "RNA") {
    as <- match.arg(as)
    call <- environment()
    ad <- read_h5_file(file, function(h5) read_anndata(h5, layer, basename(file), call = call), call)
    convert_anndata(ad, as, assay)
}

open_h5_file <- function(file, call = rlang::caller_env()) {
    if (!is.character(file) || length(file) != 1) mg_abort("{.arg file} must be one path.", call = call)
    if (!file.exists(file)) mg_abort("File {.file {file}} does not exist.", class = "file", call = call)
    tryCatch(hdf5r::H5File$new(file, mode = "r"), error = function(e) {
        mg_abort(c("{.file {file}} is not an HDF5 file.", "x" = conditionMessage(e)), class = "file", call = call)
    })
}

# The AnnData stored in `group` (a file's root, or a modality of a .h5mu file). `label`
# names it in messages.
read_anndata <- function(group, layer = "X", label = "", call = rlang::caller_env()) {
    layer_names <- if (group$exists("layers")) group[["layers"]]$names else character(0)
    if (!identical(layer, "X") && !layer %in% layer_names) {
        mg_abort(c("{.file {label}} has no matrix {.val {layer}}.", "i" = "Available: {.val {c('X', layer_names)}}."),
            class = "file", call = call)
    }
    for (part in c("obs", "var")) {
        if (!group$exists(part)) mg_abort("{.file {label}} has no {.val {part}}: it is not AnnData.", class = "file", call = call)
    }
    obs <- read_h5ad_frame(group[["obs"]])
    var <- read_h5ad_frame(group[["var"]])
    matrix_of <- function(path) {
        x <- read_h5ad_element(group[[path]], path)
        dimnames(x) <- list(rownames(var), rownames(obs))
        x
    }
    layers <- lapply(stats::setNames(layer_names, layer_names), function(nm) matrix_of(paste0("layers/", nm)))
    X <- if (identical(layer, "X")) {
        if (group$exists("X")) matrix_of("X") else NULL
    } else {
        layers[[layer]]
    }
    list(X = X, layers = layers, obs = obs, var = var,
        obsm = read_h5ad_axis_arrays(group, "obsm", rownames(obs)),
        varm = read_h5ad_axis_arrays(group, "varm", rownames(var)),
        uns = if (group$exists("uns")) read_h5ad_element(group[["uns"]], "uns") else list())
}

#' Write an AnnData .h5ad file
#'
#' Writes a matrix with its annotations, a list as [ReadH5AD()] returns it, a
#' Seurat object (one assay) or a SingleCellExperiment in AnnData's on-disk
#' format (the encodings of anndata 0.8, which later versions read too), so that
#' Python colleagues open it with `anndata.read_h5ad()`. Sparse matrices are
#' stored as CSR (a range of cells is one contiguous read, as
#' [RunMultigradeH5AD()] needs); factors as categoricals, logicals as booleans
#' (nullable when they have `NA`), strings with `NA` as categoricals.
#'
#' From a Seurat object: `X` is the assay's `data` and the `counts` go to
#' `layers`, the metadata to `obs`, the reductions' embeddings to `obsm` as
#' `X_<name>`. From a SingleCellExperiment: `X` is `logcounts` when present
#' (else the first assay), the other assays go to `layers`, `colData` to
#' `obs`, `rowData` to `var` and the reduced dimensions to `obsm` as
#' `X_<name>`.
#'
#' @param object A features x cells matrix (dense or sparse) with dimnames, a
#'   list with `X` (and optionally `layers`, `obs`, `var`, `obsm`, `varm`, `uns`,
#'   as [ReadH5AD()] returns), a Seurat object or a SingleCellExperiment.
#' @param file Path of the `.h5ad` file.
#' @param obs,var For a matrix: data frames with one row per cell and per
#'   feature (default none).
#' @param layers,obsm,varm,uns For a matrix: named lists of further matrices
#'   of the same shape, of cells x components and features x components
#'   matrices, and of simple values (strings, numbers, nested lists).
#' @param ... Unused by the methods for matrices and lists.
#' @param overwrite Replace an existing file.
#' @return `file`, invisibly.
#' @examples
#' cite <- multigrade_example("cite")
#' path <- tempfile(fileext = ".h5ad")
#' WriteH5AD(cite$adt, path, obs = cite$obs)
#' dim(ReadH5AD(path)$X)
#' @export
WriteH5AD <- function(object, file, ..., overwrite = FALSE) {
    UseMethod("WriteH5AD")
}

#' @rdname WriteH5AD
#' @export
WriteH5AD.default <- function(object, file, obs = NULL, var = NULL, layers = list(), obsm = list(),
                              varm = list(), uns = list(), ..., overwrite = FALSE) {
    check_dots_empty(list(...))
    ad <- anndata_parts(object, obs, var, layers, obsm, varm, uns)
    h5 <- create_h5_file(file, overwrite)
    on.exit(h5$close_all(), add = TRUE)
    h5_attrs(h5, "anndata", "0.1.0")
    write_anndata(h5, ad)
    invisible(file)
}

#' @rdname WriteH5AD
#' @export
WriteH5AD.list <- function(object, file, ..., overwrite = FALSE) {
    if (!"X" %in% names(object)) {
        mg_abort(c("A list to write must hold {.field X} (as {.fn ReadH5AD} returns).",
            "i" = "For several modalities use {.fn WriteH5MU}."))
    }
    WriteH5AD.default(object$X, file, obs = object$obs, var = object$var, layers = object$layers %||% list(),
        obsm = object$obsm %||% list(), varm = object$varm %||% list(), uns = object$uns %||% list(), ...,
        overwrite = overwrite)
}

create_h5_file <- function(file, overwrite, call = rlang::caller_env()) {
    check_output_file(file, overwrite, call)
    if (file.exists(file)) unlink(file)
    hdf5r::H5File$new(file, mode = "w")
}

# The parts of an AnnData checked against each other: X features x cells with names, obs
# and var with one row per cell and feature (named like X's columns and rows), layers of X's
# shape, obsm and varm with one row per cell and feature.
anndata_parts <- function(x, obs, var, layers, obsm, varm, uns, call = rlang::caller_env()) {
    if (!(is.matrix(x) || inherits(x, "Matrix")) || is.null(colnames(x)) || is.null(rownames(x))) {
        mg_abort("{.arg object} must be a features x cells matrix with feature and cell names.", call = call)
    }
    frame <- function(df, names, what) {
        df <- as.data.frame(df %||% data.frame(row.names = names))
        if (nrow(df) != length(names)) mg_abort("{.arg {what}} has {nrow(df)} rows for {length(names)} {what}.", call = call)
        rownames(df) <- names
        df
    }
    for (nm in names(layers)) {
        if (!identical(dim(layers[[nm]]), dim(x))) mg_abort("Layer {.val {nm}} is not shaped like {.arg object}.", call = call)
    }
    axis <- function(arrays, n, what) {
        for (nm in names(arrays)) {
            if (NROW(arrays[[nm]]) != n) mg_abort("{.arg {what}} entry {.val {nm}} needs {n} rows.", call = call)
        }
        arrays
    }
    list(X = x, obs = frame(obs, colnames(x), "obs"), var = frame(var, rownames(x), "var"), layers = layers,
        obsm = axis(obsm, ncol(x), "obsm"), varm = axis(varm, nrow(x), "varm"), uns = uns)
}

write_anndata <- function(group, ad) {
    write_h5ad_matrix(group, "X", ad$X)
    write_h5ad_frame(group, "obs", ad$obs, rownames(ad$obs))
    write_h5ad_frame(group, "var", ad$var, rownames(ad$var))
    for (part in c("layers", "obsm", "varm", "uns")) {
        g <- group$create_group(part)
        h5_attrs(g, "dict", "0.1.0")
        for (nm in names(ad[[part]])) {
            write_h5ad_element(g, nm, ad[[part]][[nm]], cells_first = part %in% c("obsm", "varm"))
        }
    }
}
