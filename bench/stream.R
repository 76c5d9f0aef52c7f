# Streaming from .h5ad: writes a simulated CSR .h5ad (RNA counts, 4000 genes, 4 donors) chunk
# by chunk in a child process, then trains RunMultigradeH5AD() one chunk of cells at a time
# and reports the peak memory of the training process next to the size of the data.
#   Rscript bench/stream.R [n_cells=200000] [chunk_size=20000] [epochs=1] [threads=2] [file]
args <- commandArgs(trailingOnly = TRUE)
script <- sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))
source(file.path(dirname(script), "simulate.R"))

write_simulated_h5ad <- function(file, n_cells, chunk) {
    h5 <- hdf5r::H5File$new(file, mode = "w")
    on.exit(h5$close_all())
    x <- h5$create_group("X")
    hdf5r::h5attr(x, "encoding-type") <- "csr_matrix"
    hdf5r::h5attr(x, "encoding-version") <- "0.1.0"
    hdf5r::h5attr(x, "shape") <- c(n_cells, 4000L)
    grow <- function(name, type) x$create_dataset(name, dtype = type,
        space = hdf5r::H5S$new(dims = 0, maxdims = Inf), chunk_dims = 1048576L)
    data <- grow("data", hdf5r::h5types$H5T_NATIVE_FLOAT)
    indices <- grow("indices", hdf5r::h5types$H5T_NATIVE_INT32)
    indptr <- c(0)
    donors <- character(0)
    for (start in seq(1, n_cells, by = chunk)) {
        n <- min(chunk, n_cells - start + 1)
        sim <- simulate_multimodal(n, n_proteins = 1, seed = start)
        done <- indptr[length(indptr)]
        nnz <- length(sim$rna@x)
        data$set_extent(done + nnz)
        indices$set_extent(done + nnz)
        data[(done + 1):(done + nnz)] <- sim$rna@x
        indices[(done + 1):(done + nnz)] <- sim$rna@i
        indptr <- c(indptr, done + sim$rna@p[-1])
        donors <- c(donors, as.character(sim$obs$donor))
    }
    x[["indptr"]] <- indptr
    obs <- h5$create_group("obs")
    hdf5r::h5attr(obs, "_index") <- "_index"
    hdf5r::h5attr(obs, "column-order") <- "donor"
    obs[["_index"]] <- paste0("cell", seq_len(n_cells))
    obs[["donor"]] <- donors
    var <- h5$create_group("var")
    hdf5r::h5attr(var, "_index") <- "_index"
    var[["_index"]] <- paste0("gene", seq_len(4000))
    cat(sprintf('{"task":"write_h5ad","cells":%d,"nonzero":%.0f,"file_mb":%.0f}\n', n_cells,
        indptr[length(indptr)], file.size(file) / 2^20))
}

if (length(args) >= 1 && args[1] == "write") {
    write_simulated_h5ad(args[2], as.integer(args[3]), as.integer(args[4]))
    quit(save = "no")
}

suppressPackageStartupMessages(library(multigrade))
n_cells <- if (length(args) >= 1) as.integer(args[1]) else 200000L
chunk <- if (length(args) >= 2) as.integer(args[2]) else 20000L
epochs <- if (length(args) >= 3) as.integer(args[3]) else 1L
threads <- if (length(args) >= 4) as.integer(args[4]) else 2L
file <- if (length(args) >= 5) args[5] else tempfile(fileext = ".h5ad")
if (!file.exists(file)) {
    status <- system2("Rscript", c(script, "write", file, n_cells, chunk))
    if (status != 0) stop("writing the simulated .h5ad failed")
}
set.seed(1)
started <- proc.time()[["elapsed"]]
model <- RunMultigradeH5AD(c(rna = file), likelihoods = c(rna = "nb"), batch = "donor", chunk_size = chunk,
    max_epochs = epochs, verbose = FALSE, options = multigrade_options(n_threads = threads))
seconds <- proc.time()[["elapsed"]] - started
h <- model$history
peak <- as.numeric(sub(".*:\\s+(\\d+) kB", "\\1", grep("VmHWM", readLines("/proc/self/status"), value = TRUE))) / 1024
cat(sprintf('{"task":"stream_train","cells":%d,"chunk_size":%d,"epochs":%d,"threads":%d,"train_cells_per_s":%.0f,"total_s":%.1f,"embedding_rows":%d,"max_rss_mb":%.0f}\n',
    n_cells, chunk, nrow(h), threads, sum(h$cells_seen) / sum(h$seconds), seconds, nrow(model$embedding), peak))
