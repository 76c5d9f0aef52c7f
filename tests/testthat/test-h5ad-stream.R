# Streaming training from .h5ad files a chunk of cells at a time (data larger than memory).

write_cite_h5ad <- function() {
    cite <- cite_data()
    dir <- tempfile("h5ad")
    dir.create(dir)
    files <- c(rna = file.path(dir, "rna.h5ad"), adt = file.path(dir, "adt.h5ad"))
    WriteH5AD(cite$rna, files[["rna"]], obs = cite$obs)  # sparse: CSR
    WriteH5AD(cite$adt, files[["adt"]], obs = cite$obs)  # dense
    files
}

test_that("WriteH5AD writes CSR/dense matrices and obs that ReadH5AD reads back", {
    cite <- cite_data()
    files <- write_cite_h5ad()
    rna <- ReadH5AD(files[["rna"]])
    expect_equal(as.matrix(rna$X), as.matrix(cite$rna))
    expect_equal(rna$obs$batch, cite$obs$batch)
    expect_equal(rna$obs$cell_type, cite$obs$cell_type)
    adt <- ReadH5AD(files[["adt"]])
    expect_equal(unname(as.matrix(adt$X)), unname(cite$adt))
    # A range of cells read alone equals the same columns of the whole matrix.
    h5 <- hdf5r::H5File$new(files[["rna"]], mode = "r")
    on.exit(h5$close_all())
    chunk <- multigrade:::h5ad_cells(h5[["X"]], 101, 250, nrow(cite$rna))
    expect_equal(unname(as.matrix(chunk)), unname(as.matrix(cite$rna[, 101:250])))
    expect_error(WriteH5AD(cite$rna, files[["rna"]]), class = "mg_error_file")
})

test_that("RunMultigradeH5AD streams chunks and learns an embedding like in-memory training", {
    cite <- cite_data()
    files <- write_cite_h5ad()
    set.seed(3)
    streamed <- RunMultigradeH5AD(files, likelihoods = c(rna = "nb", adt = "mse"), batch = "batch",
        chunk_size = 150, max_epochs = 60, batch_size = 64, verbose = FALSE,
        options = multigrade_options(n_threads = 2L))
    expect_equal(rownames(streamed$embedding), colnames(cite$rna))
    expect_equal(nrow(streamed$history), 60)
    # Per epoch: the training cells (90%) of every chunk, less the stratified sampler's remainders.
    expect_true(all(streamed$history$cells_seen > 0.75 * 600 & streamed$history$cells_seen <= 540))
    h <- streamed$history$train_reconstruction
    expect_lt(mean(utils::tail(h, 5)), 0.8 * h[1])
    set.seed(3)
    in_memory <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), likelihoods = c(rna = "nb", adt = "mse"),
        batch = cite$obs$batch, max_epochs = 60, batch_size = 64, verbose = FALSE,
        options = multigrade_options(n_threads = 2L, early_stopping = FALSE))
    # Fraction of each cell's 15 nearest neighbours of its own type (41 types): streamed and
    # in-memory training agree within noise (0.49/0.49 and 0.52/0.49 at seeds 3 and 4);
    # a random embedding scores 0.07.
    purity <- function(e, k = 15) {
        d <- as.matrix(stats::dist(e))
        diag(d) <- Inf
        ct <- as.character(cite$obs$cell_type)
        mean(vapply(seq_len(nrow(d)), function(i) mean(ct[order(d[i, ])[seq_len(k)]] == ct[i]), numeric(1)))
    }
    random <- matrix(stats::rnorm(600 * 16), 600)
    message(sprintf("15-NN cell-type purity: streamed in 4 chunks %.3f, in memory %.3f, random %.3f",
        purity(streamed$embedding), purity(in_memory$embedding), purity(random)))
    expect_gt(purity(streamed$embedding), purity(in_memory$embedding) - 0.05)
    expect_gt(purity(streamed$embedding), 3 * purity(random))
    # The streamed model predicts like any other.
    expect_equal(predict(streamed, list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch),
        streamed$embedding, tolerance = 1e-5)
})

test_that("streaming refuses files whose cells are not contiguous, or that disagree", {
    csc <- system.file("extdata", "neurips2021", "cite_rna.h5ad", package = "multigrade")
    expect_error(RunMultigradeH5AD(c(rna = csc), verbose = FALSE), "csc_matrix")
    files <- write_cite_h5ad()
    other <- tempfile(fileext = ".h5ad")
    cite <- cite_data()
    WriteH5AD(cite$adt[, 600:1], other, obs = cite$obs[600:1, ])
    expect_error(RunMultigradeH5AD(c(rna = files[["rna"]], adt = other), verbose = FALSE), "same cells")
    expect_error(RunMultigradeH5AD(c(files[["rna"]]), verbose = FALSE), "named character vector")
    expect_error(RunMultigradeH5AD(files, batch = "donor", verbose = FALSE), "not found")
})
