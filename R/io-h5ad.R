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
