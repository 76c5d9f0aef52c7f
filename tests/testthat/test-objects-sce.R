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
