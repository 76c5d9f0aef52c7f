# RunMultigrade() on SingleCellExperiments (R/objects-sce.R), on the real CITE data.

test_that("RunMultigrade on a SingleCellExperiment with an ADT altExp adds reducedDim MULTIGRADE", {
    skip_if_not_installed("SingleCellExperiment")
    cite <- cite_data()
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = cite$rna), colData = cite$obs)
    SingleCellExperiment::altExp(sce, "ADT") <- SummarizedExperiment::SummarizedExperiment(
        list(counts = cite$adt_counts, logcounts = cite$adt))
    sce <- RunMultigrade(sce, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE,
        options = quick_options())
    emb <- SingleCellExperiment::reducedDim(sce, "MULTIGRADE")
    expect_equal(dim(emb), c(600L, 30L))
    expect_identical(rownames(emb), colnames(sce))
    model <- GetMultigradeModel(sce)
    expect_identical(names(model$modalities), c("RNA", "ADT"))
    expect_identical(model$modalities$ADT$likelihood, "mse")
    direct <- RunMultigrade(list(RNA = cite$rna, ADT = cite$adt), batch = cite$obs[, "batch", drop = FALSE],
        max_epochs = 3, seed = 1, verbose = FALSE, options = quick_options())
    expect_equal(unname(emb), unname(direct$embedding), tolerance = 1e-6)
    expect_error(RunMultigrade(sce, altexps = "ATAC", verbose = FALSE), "not found", class = "mg_error_input")
})

test_that("a MultiAssayExperiment whose experiments cover different cells trains as a mosaic", {
    skip_if_not_installed("MultiAssayExperiment")
    cite <- cite_data()
    measured <- colnames(cite$adt)[1:400]
    adt <- cite$adt[, measured]
    colnames(adt) <- paste0("adt_", measured)  # the experiment's own column names
    map <- S4Vectors::DataFrame(assay = factor(rep(c("rna", "adt"), c(600, 400))),
        primary = c(colnames(cite$rna), measured), colname = c(colnames(cite$rna), colnames(adt)))
    mae <- MultiAssayExperiment::MultiAssayExperiment(experiments = list(rna = cite$rna, adt = adt),
        colData = S4Vectors::DataFrame(cite$obs), sampleMap = map)
    mae <- RunMultigrade(mae, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE, options = quick_options())
    model <- GetMultigradeModel(mae)
    expect_identical(rownames(model$embedding), colnames(cite$rna))
    expect_equal(model$modalities$adt$n_cells, 400)
    expect_equal(model$modalities$rna$n_cells, 600)
    # The same as the list of matrices with the unmeasured cells as NA columns.
    padded <- cbind(cite$adt[, measured], matrix(NA_real_, nrow(cite$adt), 200,
        dimnames = list(rownames(cite$adt), colnames(cite$adt)[401:600])))
    direct <- RunMultigrade(list(rna = cite$rna, adt = padded), batch = cite$obs$batch, max_epochs = 3, seed = 1,
        verbose = FALSE, options = quick_options())
    expect_equal(model$embedding, direct$embedding, tolerance = 1e-6)
    expect_error(RunMultigrade(mae, experiments = "atac", verbose = FALSE), "not found", class = "mg_error_input")
})

test_that("HDF5Array-backed assays train a chunk at a time and embed every cell", {
    skip_if_not_installed("HDF5Array")
    cite <- cite_data()
    dir <- tempfile()
    dir.create(dir)
    counts <- HDF5Array::writeHDF5Array(cite$rna, filepath = file.path(dir, "rna.h5"), name = "counts",
        with.dimnames = TRUE)
    adt <- HDF5Array::writeHDF5Array(cite$adt, filepath = file.path(dir, "adt.h5"), name = "logcounts",
        with.dimnames = TRUE)
    expect_s4_class(counts, "DelayedArray")
    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = counts), colData = S4Vectors::DataFrame(cite$obs))
    SingleCellExperiment::mainExpName(sce) <- "rna"
    SingleCellExperiment::altExp(sce, "adt") <- SingleCellExperiment::SingleCellExperiment(list(logcounts = adt))
    sce <- RunMultigrade(sce, batch = "batch", chunk_size = 200, max_epochs = 4, seed = 1, verbose = FALSE,
        options = quick_options())
    model <- GetMultigradeModel(sce)
    emb <- SingleCellExperiment::reducedDim(sce, "MULTIGRADE")
    expect_equal(dim(emb), c(600L, 30L))
    expect_identical(rownames(emb), colnames(cite$rna))
    expect_equal(nrow(model$history), 4)  # epochs over the three chunks, not chunk passes
    expect_true(all(model$history$cells_seen > 500))
    # The streamed model embeds the cells as predict() does from the same values in memory.
    expect_equal(unname(emb), unname(predict(model, list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch)),
        tolerance = 1e-5)
})
