# Every verb's methods for Seurat objects and SingleCellExperiments alike (R/objects-*.R):
# mapping, imputation and MultiMIL.

test_that("RunMultiMIL and PredictSamples work on Seurat objects and SingleCellExperiments", {
    skip_if_not_installed("SeuratObject")
    skip_if_not_installed("SingleCellExperiment")
    gbm <- multigrade_example("glioblastoma")
    pcs <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
    colnames(pcs) <- paste0("PC_", 1:10)
    obj <- suppressWarnings(SeuratObject::CreateSeuratObject(gbm$counts, meta.data = gbm$obs))
    obj[["pca"]] <- SeuratObject::CreateDimReducObject(pcs, key = "PC_", assay = "RNA")
    ref <- obj[, obj$patient_id != "PW040"]
    query <- obj[, obj$patient_id == "PW040"]
    ref <- RunMultiMIL(ref, sample = "sample_id", label = "condition", reduction = "pca", max_epochs = 30,
        seed = 1, verbose = FALSE)
    expect_true(all(c("mil.attention", "mil.attention.relative", "mil.predicted") %in% names(ref[[]])))
    fit <- ref@misc$multimil
    expect_equal(unname(ref$mil.attention), unname(fit$attention[colnames(ref)]))
    expect_equal(nrow(SamplePredictions(ref)), 8)
    query <- PredictSamples(query, fit)
    pred <- SamplePredictions(query)
    expect_equal(sort(pred$sample), c("PW040-711", "PW040-712"))
    expect_equal(as.character(query$mil.predicted), as.character(pred$predicted[match(query$sample_id, pred$sample)]))
    sums <- tapply(query$mil.attention, query$sample_id, sum)
    expect_equal(as.numeric(sums), c(1, 1), tolerance = 1e-5)

    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = gbm$counts), colData = gbm$obs,
        reducedDims = list(PCA = pcs))
    sce <- RunMultiMIL(sce, sample = "sample_id", label = "condition", reduction = "PCA", max_epochs = 5,
        seed = 1, verbose = FALSE)
    expect_true("mil.attention" %in% names(SummarizedExperiment::colData(sce)))
    expect_equal(nrow(SamplePredictions(sce)), 10)
    again <- PredictSamples(sce, reduction = "PCA")
    expect_equal(again$mil.attention, sce$mil.attention, tolerance = 1e-6)
    # End to end from the object's counts (reduction = NULL): the VAE's latent space is added.
    e2e <- RunMultiMIL(obj, sample = "sample_id", label = "condition", reduction = NULL, likelihoods = c(RNA = "nb"),
        batch = "patient_id", max_epochs = 3, seed = 1, verbose = FALSE,
        options = multigrade_options(n_threads = 2L))
    expect_true("multigrade" %in% SeuratObject::Reductions(e2e))
    expect_equal(dim(SeuratObject::Embeddings(e2e, "multigrade")), c(ncol(obj), 16L))
    expect_s3_class(e2e@misc$multimil$vae, "multigrade_model")
    expect_false(anyNA(e2e$mil.attention))
    sce_e2e <- RunMultiMIL(sce, sample = "sample_id", label = "condition", reduction = NULL,
        likelihoods = c(RNA = "nb"), max_epochs = 2, seed = 1, verbose = FALSE)
    expect_true("MULTIGRADE" %in% SingleCellExperiment::reducedDimNames(sce_e2e))
    cv <- CrossValidateMIL(obj, sample = "sample_id", label = "condition", group = "patient_id", reduction = "pca",
        max_epochs = 10, seed = 1, verbose = FALSE, baselines = FALSE)
    expect_equal(cv$summary$method, "multimil")
    expect_equal(sort(names(cv$attention)), sort(colnames(obj)))
    expect_error(RunMultiMIL(obj, sample = "nope", label = "condition", reduction = "pca", verbose = FALSE),
        "not found")
    expect_error(RunMultiMIL(obj, reduction = "umap", verbose = FALSE), "Reduction")
    reps <- SampleRepresentations(pcs, gbm$obs$sample_id, stats::setNames(sce$mil.attention, colnames(sce)),
        method = "attention")
    expect_equal(dim(reps), c(10, 10))
    plain <- SampleRepresentations(pcs, gbm$obs$sample_id, method = "mean")
    expect_equal(plain[1, ], colMeans(pcs[gbm$obs$sample_id == rownames(plain)[1], ]))
})

test_that("MapToReference and ImputeModality work on Seurat and SingleCellExperiment queries", {
    skip_if_not_installed("SeuratObject")
    skip_if_not_installed("SingleCellExperiment")
    s <- split_cite()
    cite <- s$cite
    adt <- cite$adt
    rownames(adt) <- gsub("_", "-", rownames(adt))
    ref_obj <- SeuratObject::CreateSeuratObject(counts = cite$rna[, s$ref], meta.data = cite$obs[s$ref, ])
    ref_obj[["ADT"]] <- SeuratObject::CreateAssayObject(data = adt[, s$ref])
    ref_obj <- suppressWarnings(RunMultigrade(ref_obj, batch = "batch", max_epochs = 20, seed = 1, verbose = FALSE,
        options = quick_options()), classes = "mg_warning_not_converged")  # short on purpose: plumbing
    query <- SeuratObject::CreateSeuratObject(counts = cite$rna[, s$query], meta.data = cite$obs[s$query, ])
    query <- MapToReference(query, ref_obj, batch = "batch", refdata = "cell_type",
        max_epochs = 5, seed = 1, verbose = FALSE)
    emb <- SeuratObject::Embeddings(query, "ref.multigrade")
    expect_equal(dim(emb), c(sum(s$query), 30L))
    expect_true(all(c("predicted.cell_type", "predicted.cell_type.score", "mapping.score") %in% names(query[[]])))
    extended <- GetMultigradeModel(query, "ref.multigrade")
    expect_identical(extended$covariates$categorical$batch, c("s1d1", "s1d2"))
    # The same as the list method with the same seed.
    direct <- MapToReference(list(RNA = cite$rna[, s$query]), GetMultigradeModel(ref_obj),
        batch = cite$obs[s$query, "batch", drop = FALSE],
        refdata = list(cell_type = cite$obs$cell_type[s$ref]), max_epochs = 5, seed = 1, verbose = FALSE)
    expect_equal(unname(emb), unname(direct$embedding), tolerance = 1e-6)
    expect_identical(unname(query$predicted.cell_type), direct$predictions$predicted.cell_type)
    expect_error(MapToReference(query, GetMultigradeModel(ref_obj), batch = "batch", refdata = "cell_type"),
        "not the reference object", class = "mg_error_input")

    query <- ImputeModality(query, target = "ADT", batch = "batch")
    expect_true("ADT" %in% SeuratObject::Assays(query))  # the target's name: the query has no ADT
    imputed <- as.matrix(SeuratObject::GetAssayData(query, assay = "ADT", slot = "data"))
    expect_equal(dim(imputed), c(nrow(adt), sum(s$query)))
    expect_message(again <- ImputeModality(query, target = "ADT", batch = "batch"), "imputed.ADT")
    expect_true("imputed.ADT" %in% SeuratObject::Assays(again))
    expect_s4_class(SeuratObject::Command(again, "ImputeModality"), "SeuratCommand")

    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = cite$rna[, s$query]),
        colData = cite$obs[s$query, ])
    SingleCellExperiment::mainExpName(sce) <- "RNA"
    sce <- MapToReference(sce, ref_obj, batch = "batch", refdata = "cell_type", max_epochs = 5,
        seed = 1, verbose = FALSE)
    expect_equal(unname(SingleCellExperiment::reducedDim(sce, "REF.MULTIGRADE")), unname(emb), tolerance = 1e-6)
    expect_identical(sce$predicted.cell_type, unname(query$predicted.cell_type))
    sce <- ImputeModality(sce, target = "ADT", batch = "batch", n_samples = 5)
    alt <- SingleCellExperiment::altExp(sce, "ADT")
    expect_s4_class(alt, "SingleCellExperiment")
    expect_identical(SummarizedExperiment::assayNames(alt), c("logcounts", "lower", "upper"))
    expect_equal(unname(SummarizedExperiment::assay(alt, "logcounts")), unname(imputed), tolerance = 1e-5)
    expect_true(all(SummarizedExperiment::assay(alt, "lower") <= SummarizedExperiment::assay(alt, "upper")))
    skip_if_not_installed("scater")
    # scater reads the imputed protein without being told which assay.
    expect_s3_class(scater::plotExpression(alt, rownames(alt)[1:2]), "ggplot")
})
