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

# A copy of a saved model's file, changed by `edit(path)`.
damaged_copy <- function(path, edit) {
    copy <- tempfile(fileext = ".h5")
    file.copy(path, copy)
    edit(copy)
    copy
}

test_that("model files are written whole, and a missing folder is a classed error", {
    model <- quick_model(list(adt = cite_data()$adt))
    dir <- tempfile("models")
    dir.create(dir)
    path <- file.path(dir, "model.h5")
    SaveMultigrade(model, path)
    expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "model.h5")  # no partial file left
    before <- unname(tools::md5sum(path))
    # A save that fails midway (a value the format cannot hold) leaves the old file as it was.
    broken <- model
    broken$extra <- environment()
    expect_error(SaveMultigrade(broken, path, overwrite = TRUE), "Cannot save", class = "mg_error_file")
    expect_identical(unname(tools::md5sum(path)), before)
    expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "model.h5")
    expect_error(SaveMultigrade(model, file.path(dir, "missing", "model.h5")), "does not exist",
        class = "mg_error_file")
    expect_error(SaveMultigrade(model, c("a.h5", "b.h5")), "single", class = "mg_error_input")
})

test_that("a flipped bit in a weight array, a truncation or a newer format are refused by name", {
    model <- quick_model(list(adt = cite_data()$adt))
    path <- tempfile(fileext = ".h5")
    SaveMultigrade(model, path)
    target <- names(model$weights)[[1]]
    flipped <- damaged_copy(path, function(copy) {
        bytes <- readBin(copy, "raw", file.size(copy))
        at <- grepRaw(writeBin(as.double(model$weights[[target]])[1:8], raw()), bytes, fixed = TRUE)
        expect_length(at, 1)  # the array's bytes are found once
        bytes[at + 20] <- xor(bytes[at + 20], as.raw(0x08))
        writeBin(bytes, copy)
    })
    expect_error(LoadMultigrade(flipped), "fails its checksum", class = "mg_error_file")
    expect_error(LoadMultigrade(flipped), paste0("\"/weights/", target, "\" fails its checksum"), fixed = TRUE)
    expect_false(grepl("could not be read", tryCatch(LoadMultigrade(flipped), error = conditionMessage)))

    truncated <- damaged_copy(path, function(copy) {
        bytes <- readBin(copy, "raw", file.size(copy))
        writeBin(bytes[seq_len(length(bytes) %/% 2)], copy)
    })
    expect_error(LoadMultigrade(truncated), class = "mg_error_file")

    newer <- damaged_copy(path, function(copy) {
        h5 <- hdf5r::H5File$new(copy, "r+")
        hdf5r::h5attr(h5, "format_version") <- 99L
        h5$close_all()
    })
    expect_error(LoadMultigrade(newer), "newer multigrade", class = "mg_error_file")

    unlisted <- damaged_copy(path, function(copy) {  # a dataset the checksums do not cover
        h5 <- hdf5r::H5File$new(copy, "r+")
        manifest <- h5[[".checksums"]]
        paths <- manifest[["paths"]]$read()
        sums <- manifest[["fnv1a"]]$read()
        keep <- paths != "/seed"
        manifest$link_delete("paths")
        manifest$link_delete("fnv1a")
        manifest[["paths"]] <- paths[keep]
        manifest[["fnv1a"]] <- sums[keep]
        h5$close_all()
    })
    expect_error(LoadMultigrade(unlisted), "\"/seed\" has no checksum", class = "mg_error_file")
    unchecked <- damaged_copy(path, function(copy) {
        h5 <- hdf5r::H5File$new(copy, "r+")
        h5$link_delete(".checksums")
        h5$close_all()
    })
    expect_error(LoadMultigrade(unchecked), "lost its checksums", class = "mg_error_file")
    expect_s3_class(LoadMultigrade(path), "multigrade_model")  # the original is intact
})

test_that("a model file of format 1 (before checksums) still loads and predicts", {
    # Written by multigrade at commit 191589c; see fixtures/make-model-format1.R.
    path <- test_path("fixtures", "model-format1.h5")
    expect_identical(hdf5r::h5attributes(hdf5r::H5File$new(path, "r"))$format_version, 1L)
    old <- LoadMultigrade(path)
    expect_s3_class(old, "multigrade_model")
    expect_equal(predict(old, list(adt = cite_data()$adt)), old$embedding, tolerance = 1e-6)
})
