# The example data shipped in inst/extdata (provenance and licences in the README files there).

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
    dataset <- check_choice(dataset, c("cite", "multiome", "glioblastoma"))
    # Read once per session (examples, vignettes and tests ask again and again); R's copy
    # semantics keep the cached copy safe from the caller's changes.
    if (is.null(example_cache[[dataset]])) example_cache[[dataset]] <- read_example(dataset)
    example_cache[[dataset]]
}

example_cache <- new.env(parent = emptyenv())

read_example <- function(dataset) {
    if (dataset == "glioblastoma") return(glioblastoma_example())
    path <- function(f) system.file("extdata", "neurips2021", f, package = "multigrade", mustWork = TRUE)
    if (dataset == "cite") {
        rna <- read_bundled(path("cite_rna.h5ad"), c(counts = "layers/counts"))
        adt <- read_bundled(path("cite_adt.h5ad"), c(X = "X", counts = "layers/counts"))
        return(list(rna = rna$counts, adt = as.matrix(adt$X), adt_counts = adt$counts, obs = example_obs(rna$obs)))
    }
    rna <- read_bundled(path("multiome_rna.h5ad"), c(counts = "layers/counts"))
    atac <- read_bundled(path("multiome_atac.h5ad"), c(X = "X", counts = "layers/counts"))
    list(rna = rna$counts, atac = atac$X, atac_counts = atac$counts, obs = example_obs(rna$obs))
}

# The named matrices of a bundled .h5ad file (features x cells) and the obs columns the
# examples use. The files are the package's own, so they are read here (ReadH5AD() reads a
# user's file in a crash-guarded child) and only in part: a fraction of ReadH5AD()'s time,
# which every example, vignette and test pays.
read_bundled <- function(file, matrices) {
    h5 <- hdf5r::H5File$new(file, mode = "r")
    # close(), not close_all(): the objects read from the file close when R collects them,
    # where close_all() forces a full garbage collection (two thirds of the time here).
    on.exit(h5$close(), add = TRUE)
    obs <- read_h5ad_frame(h5[["obs"]], only = c("batch", "cell_type"))
    features <- rownames(read_h5ad_frame(h5[["var"]], only = character()))
    out <- lapply(matrices, function(at) {
        x <- read_h5ad_element(h5[[at]], at)
        dimnames(x) <- list(features, rownames(obs))
        x
    })
    c(out, list(obs = obs))
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
