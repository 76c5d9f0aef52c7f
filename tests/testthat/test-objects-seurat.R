# RunMultigrade() on Seurat objects (R/objects-seurat.R), on the real CITE data.

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

test_that("after RunMultigrade, Seurat's ElbowPlot, DimHeatmap, Command() and predict() work as on its own reductions", {
    skip_if_not_installed("Seurat")
    cite <- cite_data()
    obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
    obj <- RunMultigrade(obj, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE, options = quick_options())
    reduction <- obj[["multigrade"]]
    emb <- SeuratObject::Embeddings(reduction)
    expect_equal(SeuratObject::Stdev(reduction), unname(apply(emb, 2, stats::sd)))
    loadings <- SeuratObject::Loadings(reduction)
    expect_equal(dim(loadings), c(nrow(obj), 30L))
    expect_true(all(abs(loadings) <= 1) && stats::sd(loadings) > 0)  # Spearman correlations
    expect_s3_class(Seurat::ElbowPlot(obj, reduction = "multigrade", ndims = 30), "ggplot")
    obj <- Seurat::ScaleData(Seurat::NormalizeData(obj, verbose = FALSE), features = rownames(obj), verbose = FALSE)
    grDevices::pdf(NULL)
    on.exit(grDevices::dev.off())
    expect_no_error(Seurat::DimHeatmap(obj, dims = 1:2, reduction = "multigrade", fast = TRUE, nfeatures = 10))
    command <- Seurat::Command(obj, "RunMultigrade")
    expect_s4_class(command, "SeuratCommand")
    expect_identical(command$batch, "batch")
    expect_equal(command$max_epochs, 3)
    expect_identical(predict(GetMultigradeModel(obj), obj, batch = "batch"), emb)
})
