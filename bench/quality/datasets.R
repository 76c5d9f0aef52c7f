# The real datasets of ../shared/data, read with hdf5r alone (not the package's reader), as
# lists of features x cells matrices (`rna` raw counts; `adt` CLR; `atac` binary peaks,
# `atac_counts` raw) with `obs` (cell_type and batch where the data have them) and `kinds`
# (what each modality is, for the peers' normalisation).

shared_data <- function(...) {
    root <- Sys.getenv("MULTIGRADE_SHARED_DATA", file.path(bench_root(), "..", "..", "..", "shared", "data"))
    file.path(root, ...)
}

# anndata's X or a layer as a features x cells dgCMatrix (sparse CSR/CSC or dense).
read_anndata_matrix <- function(file, group = "X") {
    h5 <- hdf5r::H5File$new(file, mode = "r")
    on.exit(h5$close_all())
    prefix <- sub("/?(X|layers/[^/]+)$", "", group)
    obs <- h5[[file.path(prefix, "obs", "_index")]][]
    var <- h5[[file.path(prefix, "var", "_index")]][]
    node <- h5[[group]]
    if (inherits(node, "H5D")) {
        values <- node$read()  # hdf5r reverses dimensions: features x cells
        return(Matrix::Matrix(values, sparse = TRUE, dimnames = list(var, obs)))
    }
    encoding <- hdf5r::h5attr(node, "encoding-type")
    data <- node[["data"]][]
    indices <- node[["indices"]][]
    indptr <- node[["indptr"]][]
    if (encoding == "csr_matrix") {
        return(Matrix::sparseMatrix(i = indices + 1, p = indptr, x = as.numeric(data),
            dims = c(length(var), length(obs)), dimnames = list(var, obs)))
    }
    Matrix::t(Matrix::sparseMatrix(i = indices + 1, p = indptr, x = as.numeric(data),
        dims = c(length(obs), length(var)), dimnames = list(obs, var)))
}

read_obs_column <- function(file, column, prefix = "") {
    h5 <- hdf5r::H5File$new(file, mode = "r")
    on.exit(h5$close_all())
    codes <- h5[[file.path(prefix, "obs", column)]][]
    categories <- file.path(prefix, "obs", "__categories", column)
    if (h5$exists(categories)) return(factor(h5[[categories]][][codes + 1]))
    codes
}

# CLR per cell as Seurat's NormalizeData(normalization.method = "CLR", margin = 2).
clr <- function(counts) {
    counts <- as.matrix(counts)
    apply(counts, 2, function(x) log1p(x / exp(sum(log1p(x[x > 0])) / length(x))))
}

neurips_dataset <- function(kind) {
    dir <- shared_data("neurips2021_bmmc_starter", kind, "common")
    rna_file <- file.path(dir, sprintf("openproblems_bmmc_%s_starter.output_rna.h5ad", kind))
    mod2_file <- file.path(dir, sprintf("openproblems_bmmc_%s_starter.output_mod2.h5ad", kind))
    obs <- data.frame(cell_type = droplevels(read_obs_column(rna_file, "cell_type")),
        batch = droplevels(read_obs_column(rna_file, "batch")))
    rna <- read_anndata_matrix(rna_file, "layers/counts")
    rownames(obs) <- colnames(rna)
    mod2 <- read_anndata_matrix(mod2_file, "X")
    if (kind == "cite") {
        return(list(name = "NeurIPS CITE", mods = list(rna = rna, adt = as.matrix(mod2)),
            kinds = c(rna = "rna", adt = "adt"), obs = obs))
    }
    list(name = "NeurIPS Multiome", mods = list(rna = rna, atac = mod2), kinds = c(rna = "rna", atac = "atac"),
        obs = obs, atac_counts = read_anndata_matrix(mod2_file, "layers/counts"))
}

pbmc1k_dataset <- function() {
    dir <- shared_data("pbmc1k_protein_v3_neurips_viash")
    rna <- read_anndata_matrix(file.path(dir, "pbmc_1k_protein_v3.output_rna.h5ad"))
    adt <- read_anndata_matrix(file.path(dir, "pbmc_1k_protein_v3.output_mod2.h5ad"))
    rownames(adt) <- sub("_TotalSeqB$", "", rownames(adt))
    keep <- Matrix::colSums(rna) > 0 & Matrix::colSums(adt) > 0
    list(name = "pbmc1k CITE", mods = list(rna = rna[, keep], adt = clr(adt[, keep])),
        kinds = c(rna = "rna", adt = "adt"), obs = data.frame(row.names = colnames(rna)[keep]))
}

muon_dataset <- function() {
    file <- shared_data("multiome_pbmc_muon_tiny", "test_rna_atac.h5mu")
    rna <- read_anndata_matrix(file, "mod/rna/X")
    atac <- read_anndata_matrix(file, "mod/atac/X")
    atac@x[] <- 1
    keep <- Matrix::colSums(rna) > 0 & Matrix::colSums(atac) > 0
    list(name = "muon PBMC .h5mu", mods = list(rna = rna[, keep], atac = atac[, keep]),
        kinds = c(rna = "rna", atac = "atac"), obs = data.frame(row.names = colnames(rna)[keep]))
}

# Real cells of one donor split at random into two "sites", with a known technical batch
# effect added to the second: per-gene multiplicative capture efficiencies (log-normal,
# sd 0.5, counts redrawn from a Poisson around the rescaled ones) with 30% fewer reads for
# RNA, and a per-protein shift (sd 0.3) for the CLR
# protein. The cell types are the real annotation, so conservation and mixing can both be
# scored against a truth.
semisynthetic_dataset <- function(base, seed = 7L) {
    keep <- base$obs$batch == levels(base$obs$batch)[1]
    set.seed(seed)
    site <- factor(ifelse(stats::runif(sum(keep)) < 0.5, "site A", "site B"))
    rna <- as.matrix(base$mods$rna[, keep])
    b <- site == "site B"
    capture <- exp(stats::rnorm(nrow(rna), sd = 0.5)) * 0.7
    rna[, b] <- stats::rpois(sum(b) * nrow(rna), rna[, b] * capture)
    adt <- base$mods$adt[, keep]
    adt[, b] <- adt[, b] + stats::rnorm(nrow(adt), sd = 0.3)
    list(name = "semi-synthetic CITE (s1d1 in two sites)",
        mods = list(rna = Matrix::Matrix(rna, sparse = TRUE), adt = adt), kinds = base$kinds,
        obs = data.frame(cell_type = droplevels(base$obs$cell_type[keep]), batch = site,
            row.names = colnames(rna)))
}

# Pseudo-labels for data without annotation: Ward clusters of one modality's scaled values
# (for pbmc1k the protein panel without its isotype controls; for the muon object the 45
# marker genes, log-normalised). A method-independent stand-in for cell types; methods
# that weigh that modality more are favoured, which the results say.
pseudo_labels <- function(values, k) {
    x <- scale(t(as.matrix(values)))
    x[!is.finite(x)] <- 0
    factor(paste0("cluster ", stats::cutree(stats::hclust(stats::dist(x), method = "ward.D2"), k = k)))
}

# Every dataset of the benchmark, with pseudo-labels where the data have none.
load_datasets <- function() {
    cite <- neurips_dataset("cite")
    multiome <- neurips_dataset("multiome")
    pbmc <- pbmc1k_dataset()
    pbmc$obs$cell_type <- pseudo_labels(pbmc$mods$adt[!grepl("IgG", rownames(pbmc$mods$adt)), ], 10)
    muon <- muon_dataset()
    muon$obs$cell_type <- pseudo_labels(log_normalise(muon$mods$rna), 8)
    list(cite = cite, multiome = multiome, pbmc1k = pbmc, muon = muon,
        semisynthetic = semisynthetic_dataset(cite))
}

# The NeurIPS predict_modality split: reference = the first donor (every modality), query =
# the second.
split_donors <- function(d) {
    ref <- d$obs$batch == levels(d$obs$batch)[1]
    list(ref = ref, query = !ref)
}

# For data without donors (pbmc1k): a random half of the cells as the reference, the same
# half in every script (drawn with its own seed).
split_half <- function(d, seed = 11L) {
    set.seed(seed)
    ref <- stats::runif(ncol(d$mods[[1]])) < 0.5
    list(ref = ref, query = !ref)
}
