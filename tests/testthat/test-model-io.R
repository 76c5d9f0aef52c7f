test_that("SaveMultigrade/LoadMultigrade round-trip gives the same embedding and metadata", {
    cite <- cite_data()
    model <- quick_model(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
        continuous = data.frame(depth = log1p(Matrix::colSums(cite$rna))))
    path <- tempfile(fileext = ".h5")
    SaveMultigrade(model, path)
    loaded <- LoadMultigrade(path)
    expect_s3_class(loaded, "multigrade_model")
    expect_identical(loaded$weights, model$weights)
    expect_identical(loaded$config, model$config)
    expect_identical(loaded$covariates, model$covariates)
    expect_identical(loaded$modalities, model$modalities)
    expect_equal(loaded$history, model$history)
    expect_identical(loaded$seed, model$seed)
    expect_identical(loaded$versions, model$versions)
    newdata <- list(rna = cite$rna, adt = cite$adt)
    covs <- list(batch = cite$obs$batch, continuous = data.frame(depth = log1p(Matrix::colSums(cite$rna))))
    expect_identical(
        predict(loaded, newdata, batch = covs$batch, continuous = covs$continuous),
        predict(model, newdata, batch = covs$batch, continuous = covs$continuous))
    expect_identical(loaded$embedding, model$embedding)
    # What MapToReference anchors unimodal queries with travels with the model.
    expect_named(loaded$subset_embeddings, c("rna", "adt"))
    expect_identical(loaded$subset_embeddings, model$subset_embeddings)
    attrs <- hdf5r::h5attributes(hdf5r::H5File$new(path, "r"))
    expect_identical(attrs$format, "multigrade_model")
    expect_error(SaveMultigrade(model, path), "exists", class = "mg_error_file")
    SaveMultigrade(model, path, overwrite = TRUE)
})

test_that("loading rejects files that are not multigrade models", {
    expect_error(LoadMultigrade(tempfile()), "does not exist", class = "mg_error_file")
    other <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
    expect_error(LoadMultigrade(other), "not a multigrade model", class = "mg_error_file")
    text <- tempfile()
    writeLines("hello", text)
    expect_error(LoadMultigrade(text), class = "mg_error_file")
})

test_that("a saved model also survives saveRDS", {
    model <- quick_model(list(adt = cite_data()$adt))
    path <- tempfile(fileext = ".rds")
    saveRDS(model, path)
    again <- readRDS(path)
    expect_identical(predict(again, list(adt = cite_data()$adt)), predict(model, list(adt = cite_data()$adt)))
})

test_that("MultiMIL models survive SaveMultigrade/LoadMultigrade and saveRDS", {
    cohorts <- cite_cohorts()
    fit <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        max_epochs = 3, seed = 1, verbose = FALSE)
    path <- tempfile(fileext = ".h5")
    SaveMultigrade(fit, path)
    again <- LoadMultigrade(path)
    expect_s3_class(again, "multimil_model")
    expect_equal(again$samples, fit$samples)
    expect_equal(again$attention, fit$attention)
    a <- PredictSamples(cohorts$test$embedding, fit, sample = cohorts$test$sample)
    b <- PredictSamples(cohorts$test$embedding, again, sample = cohorts$test$sample)
    expect_identical(b$samples, a$samples)
    expect_identical(b$attention, a$attention)
    rds <- tempfile(fileext = ".rds")
    saveRDS(fit, rds)
    expect_identical(PredictSamples(cohorts$test$embedding, readRDS(rds), sample = cohorts$test$sample)$attention,
        a$attention)
})
