# Seurat and SingleCellExperiment front ends, on the real CITE data.

test_that("RunMultigrade on a Seurat object adds a multigrade reduction and keeps the model", {
    skip_if_not_installed("SeuratObject")
    cite <- cite_data()
    obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
    adt <- cite$adt
    rownames(adt) <- gsub("_", "-", rownames(adt))
    obj[["ADT"]] <- SeuratObject::CreateAssayObject(data = adt)
    obj <- RunMultigrade(obj, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE,
        options = quick_options())
    emb <- SeuratObject::Embeddings(obj, "multigrade")
    expect_equal(dim(emb), c(600L, 30L))
    expect_identical(rownames(emb), colnames(obj))
    expect_identical(colnames(emb)[1], "multigrade_1")
    model <- GetMultigradeModel(obj)
    expect_identical(vapply(model$modalities, `[[`, "", "likelihood"), c(RNA = "nb", ADT = "mse"))
    # The count modality was read from counts, the ADT from data: same as the list call.
    set.seed(1)
    direct <- RunMultigrade(list(RNA = cite$rna, ADT = adt), batch = cite$obs[, "batch", drop = FALSE],
        max_epochs = 3, seed = 1, verbose = FALSE, options = quick_options())
    expect_equal(unname(emb), unname(direct$embedding), tolerance = 1e-6)
    expect_error(RunMultigrade(obj, assays = "protein", verbose = FALSE), "not found", class = "mg_error_input")
    expect_error(RunMultigrade(obj, batch = "donor", verbose = FALSE), "not found", class = "mg_error_input")
    expect_error(GetMultigradeModel(obj, "umap"), class = "mg_error_model")
})

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

test_that("multigrade_torch_info reports the LibTorch build", {
    info <- multigrade_torch_info()
    expect_match(info$libtorch_version, "^[0-9]+\\.[0-9]+")
    expect_true(info$threads >= 1)
    expect_type(info$cuda_available, "logical")
    expect_identical(info$default_device, if (info$cuda_available) "cuda" else "cpu")
})

test_that("ReadH5AD reads counts, CLR values and categorical annotations", {
    path <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
    counts <- ReadH5AD(path, layer = "counts")
    expect_s4_class(counts$X, "dgCMatrix")
    expect_equal(dim(counts$X), c(134L, 600L))
    expect_true(all(counts$X@x == round(counts$X@x)))
    expect_identical(levels(counts$obs$batch), c("s1d1", "s1d2"))
    expect_equal(as.vector(table(counts$obs$batch)), c(311L, 289L))
    expect_error(ReadH5AD(path, layer = "spliced"), "no matrix", class = "mg_error_file")
})
