#' Read an AnnData .h5ad file
#'
#' A small reader for the matrices and cell/feature annotations of `.h5ad`
#' files (AnnData on-disk format, both the 0.7-era and current encodings of
#' categorical columns). Dense and sparse (`csr_matrix`, `csc_matrix`) matrices
#' are returned as features x cells, as Seurat and Bioconductor expect.
#'
#' @param file Path of the `.h5ad` file.
#' @param layer `"X"` or the name of a matrix in `layers/` (e.g. `"counts"`).
#' @return A list with `X` (features x cells; `dgCMatrix` when stored sparse),
#'   `obs` (data frame of cells) and `var` (data frame of features).
#' @examples
#' path <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
#' adt <- ReadH5AD(path, layer = "counts")
#' dim(adt$X)
#' table(adt$obs$batch)
#' @export
ReadH5AD <- function(file, layer = "X") {
    if (!file.exists(file)) mg_abort("File {.file {file}} does not exist.", class = "file")
    h5 <- hdf5r::H5File$new(file, mode = "r")
    on.exit(h5$close_all(), add = TRUE)
    path <- if (identical(layer, "X")) "X" else paste0("layers/", layer)
    if (!h5$exists(path)) {
        layers <- if (h5$exists("layers")) names(h5[["layers"]]) else character(0)
        mg_abort(c("{.file {basename(file)}} has no matrix {.val {layer}}.",
            "i" = "Available: {.val {c('X', layers)}}."), class = "file")
    }
    obs <- h5ad_frame(h5[["obs"]])
    var <- h5ad_frame(h5[["var"]])
    X <- h5ad_matrix(h5[[path]])
    dimnames(X) <- list(rownames(var), rownames(obs))
    list(X = X, obs = obs, var = var)
}

# Matrices come back features x cells: hdf5r reverses dimensions relative to h5py,
# and CSR of cells x features has the arrays of CSC of features x cells.
h5ad_matrix <- function(node) {
    if (inherits(node, "H5D")) return(node$read())
    attrs <- hdf5r::h5attributes(node)
    shape <- as.integer(attrs$shape)
    encoding <- attrs[["encoding-type"]] %||% attrs[["h5sparse_format"]]
    p <- as.integer(node[["indptr"]]$read())
    i <- as.integer(node[["indices"]]$read())
    x <- as.double(node[["data"]]$read())
    if (identical(encoding, "csr_matrix") || identical(encoding, "csr")) {
        return(Matrix::sparseMatrix(i = i, p = p, x = x, dims = rev(shape), index1 = FALSE))
    }
    Matrix::t(Matrix::sparseMatrix(i = i, p = p, x = x, dims = shape, index1 = FALSE))
}

h5ad_frame <- function(group) {
    attrs <- hdf5r::h5attributes(group)
    index_name <- attrs[["_index"]] %||% "_index"
    index <- as.character(group[[index_name]]$read())
    columns <- attrs[["column-order"]]
    columns <- if (is.character(columns)) columns else character(0)
    frame <- data.frame(row.names = index)
    for (col in columns) frame[[col]] <- h5ad_column(group, col)
    frame
}

h5ad_column <- function(group, col) {
    node <- group[[col]]
    if (inherits(node, "H5Group")) {
        # Current encoding: a categorical group with codes and categories.
        codes <- node[["codes"]]$read()
        levels <- as.character(node[["categories"]]$read())
        return(factor(levels[ifelse(codes < 0, NA, codes + 1L)], levels = levels))
    }
    values <- node$read()
    if (group$exists("__categories") && group[["__categories"]]$exists(col)) {
        # 0.7-era encoding: integer codes, levels in __categories.
        levels <- as.character(group[["__categories"]][[col]]$read())
        return(factor(levels[ifelse(values < 0, NA, values + 1L)], levels = levels))
    }
    values
}

#' Write a matrix and cell annotations to an .h5ad file
#'
#' Writes a features x cells matrix as AnnData's `X` (cells x features; sparse
#' matrices as CSR, so that a range of cells is one contiguous read, as
#' [RunMultigradeH5AD()] needs), with `obs` (factors as categoricals, numbers,
#' logicals and strings) and the feature names as `var` (index and a
#' `feature_name` column). It follows AnnData's on-disk layout (encoding-type
#' attributes of anndata 0.8) and reads back with [ReadH5AD()]; it has not been
#' checked against Python's anndata here (no Python on the build machine).
#'
#' @param x A features x cells matrix (dense or `dgCMatrix`) with dimnames.
#' @param file Path of the `.h5ad` file.
#' @param obs Optional data frame with one row per cell.
#' @param overwrite Replace an existing file.
#' @return `file`, invisibly.
#' @examples
#' cite <- multigrade_example("cite")
#' path <- tempfile(fileext = ".h5ad")
#' WriteH5AD(cite$adt, path, obs = cite$obs)
#' dim(ReadH5AD(path)$X)
#' @export
WriteH5AD <- function(x, file, obs = NULL, overwrite = FALSE) {
    if (!(is.matrix(x) || inherits(x, "Matrix")) || is.null(colnames(x)) || is.null(rownames(x))) {
        mg_abort("{.arg x} must be a features x cells matrix with feature and cell names.")
    }
    if (file.exists(file) && !overwrite) {
        mg_abort("{.file {file}} exists; use {.code overwrite = TRUE} to replace it.", class = "file")
    }
    obs <- obs %||% data.frame(row.names = colnames(x))
    if (nrow(obs) != ncol(x)) mg_abort("{.arg obs} has {nrow(obs)} rows for {ncol(x)} cells.")
    if (file.exists(file)) unlink(file)
    h5 <- hdf5r::H5File$new(file, mode = "w")
    on.exit(h5$close_all(), add = TRUE)
    h5_attrs(h5, "anndata", "0.1.0")
    write_h5ad_matrix(h5, x)
    write_h5ad_frame(h5, "obs", obs, colnames(x))
    write_h5ad_frame(h5, "var", data.frame(feature_name = rownames(x)), rownames(x))
    invisible(file)
}

h5_attrs <- function(node, type, version) {
    hdf5r::h5attr(node, "encoding-type") <- type  # nolint: object_name_linter.
    hdf5r::h5attr(node, "encoding-version") <- version  # nolint: object_name_linter.
}

# A features x cells dgCMatrix is, read by columns, the CSR form of cells x features.
write_h5ad_matrix <- function(h5, x) {
    if (!inherits(x, "Matrix")) {
        h5[["X"]] <- unname(as.matrix(x))  # hdf5r reverses dimensions: cells x features on disk
        return(invisible())
    }
    x <- methods::as(x, "CsparseMatrix")
    g <- h5$create_group("X")
    h5_attrs(g, "csr_matrix", "0.1.0")
    hdf5r::h5attr(g, "shape") <- c(ncol(x), nrow(x))
    g[["indptr"]] <- as.integer(x@p)
    g[["indices"]] <- as.integer(x@i)
    g[["data"]] <- as.double(x@x)
}

write_h5ad_frame <- function(h5, name, frame, index) {
    g <- h5$create_group(name)
    h5_attrs(g, "dataframe", "0.2.0")
    hdf5r::h5attr(g, "_index") <- "_index"  # nolint: object_name_linter.
    # hdf5r can neither write nor read an empty string attribute: none without columns.
    if (ncol(frame) > 0) hdf5r::h5attr(g, "column-order") <- names(frame)  # nolint: object_name_linter.
    g[["_index"]] <- as.character(index)
    for (col in names(frame)) {
        value <- frame[[col]]
        if (is.factor(value)) {
            cg <- g$create_group(col)
            h5_attrs(cg, "categorical", "0.2.0")
            hdf5r::h5attr(cg, "ordered") <- is.ordered(value)
            cg[["codes"]] <- ifelse(is.na(value), -1L, as.integer(value) - 1L)
            cg[["categories"]] <- levels(value)
        } else {
            g[[col]] <- if (is.logical(value)) as.integer(value) else value
        }
    }
}

#' Example data: NeurIPS 2021 bone marrow and a glioblastoma cohort
#'
#' Small real datasets shipped with the package (see the `README.md` files in
#' `system.file("extdata", package = "multigrade")` for provenance and
#' licences).
#'
#' @param dataset `"cite"` (600 cells, 1000 genes + 134 proteins, 2 donors),
#'   `"multiome"` (500 cells, 600 genes + 600 peaks, 2 donors) or
#'   `"glioblastoma"` (5000 cells x 300 genes from 10 samples: 5 patients, each
#'   with a control and a panobinostat-treated slice; Zhao et al. 2021).
#' @return A list. `"cite"`: `rna` (raw counts), `adt` (CLR values),
#'   `adt_counts` (raw counts), `obs` (data frame with `batch`, `cell_type`).
#'   `"multiome"`: `rna` (raw counts), `atac` (binarised peaks), `atac_counts`,
#'   `obs`. `"glioblastoma"`: `counts` (raw), `logcounts` (log1p of counts
#'   scaled to the median library size), `obs` (`patient_id`, `sample_id`,
#'   `condition`, ...). Matrices are features x cells.
#' @examples
#' cite <- multigrade_example("cite")
#' dim(cite$rna)
#' table(cite$obs$batch)
#' @export
multigrade_example <- function(dataset = c("cite", "multiome", "glioblastoma")) {
    dataset <- match.arg(dataset)
    if (dataset == "glioblastoma") return(glioblastoma_example())
    path <- function(f) system.file("extdata", "neurips2021", f, package = "multigrade", mustWork = TRUE)
    if (dataset == "cite") {
        rna <- ReadH5AD(path("cite_rna.h5ad"), layer = "counts")
        adt <- ReadH5AD(path("cite_adt.h5ad"), layer = "X")
        adt_counts <- ReadH5AD(path("cite_adt.h5ad"), layer = "counts")$X
        return(list(rna = rna$X, adt = as.matrix(adt$X), adt_counts = adt_counts,
            obs = example_obs(rna$obs)))
    }
    rna <- ReadH5AD(path("multiome_rna.h5ad"), layer = "counts")
    atac <- ReadH5AD(path("multiome_atac.h5ad"), layer = "X")
    atac_counts <- ReadH5AD(path("multiome_atac.h5ad"), layer = "counts")$X
    list(rna = rna$X, atac = atac$X, atac_counts = atac_counts, obs = example_obs(rna$obs))
}

glioblastoma_example <- function() {
    data <- readRDS(system.file("extdata", "glioblastoma", "glioblastoma.rds", package = "multigrade",
        mustWork = TRUE))
    size <- Matrix::colSums(data$counts)
    scaled <- data$counts %*% Matrix::Diagonal(x = stats::median(size) / size)
    scaled@x <- log1p(scaled@x)
    dimnames(scaled) <- dimnames(data$counts)
    list(counts = data$counts, logcounts = as(scaled, "CsparseMatrix"), obs = data$obs)
}

example_obs <- function(obs) {
    data.frame(batch = droplevels(obs$batch), cell_type = droplevels(obs$cell_type),
        row.names = rownames(obs))
}
