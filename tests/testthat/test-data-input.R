# Bad input is reported with a classed error that names the problem.

test_that("non-list input and unknown arguments are errors", {
    expect_error(RunMultigrade(matrix(1, 2, 2)), class = "mg_error_input")
    cite <- cite_data()
    expect_error(RunMultigrade(list(rna = cite$rna), epochs = 3), "Unknown argument", class = "mg_error_input")
    expect_error(RunMultigrade(list(cite$rna)), class = "mg_error_input")
})

test_that("cells in rows are detected and the fix is suggested", {
    cite <- cite_data()
    expect_error(RunMultigrade(list(rna = cite$rna, adt = t(cite$adt)), verbose = FALSE),
        "cells in rows", class = "mg_error_input")
})

test_that("mismatched cell names are an error", {
    cite <- cite_data()
    adt <- cite$adt
    colnames(adt)[1:5] <- paste0("other", 1:5)
    expect_error(RunMultigrade(list(rna = cite$rna, adt = adt), verbose = FALSE),
        "Cell names", class = "mg_error_input")
})

test_that("NaN in a measured cell, negative counts and non-binary bernoulli data are errors", {
    cite <- cite_data()
    adt <- cite$adt
    adt[3, 10] <- NaN
    expect_error(RunMultigrade(list(rna = cite$rna, adt = adt), verbose = FALSE),
        "NA/NaN", class = "mg_error_input")
    rna <- cite$rna
    rna[1, 1] <- -1
    expect_error(RunMultigrade(list(rna = rna), likelihoods = c(rna = "nb"), verbose = FALSE),
        "negative", class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = cite$adt), likelihoods = c(adt = "bernoulli"), verbose = FALSE),
        "outside", class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = cite$adt), likelihoods = c(adt = "poisson"), verbose = FALSE),
        "Unknown likelihood", class = "mg_error_input")
})

test_that("covariates must have one value per cell, without NA", {
    cite <- cite_data()
    expect_error(RunMultigrade(list(adt = cite$adt), batch = cite$obs$batch[-1], verbose = FALSE),
        "599 values", class = "mg_error_input")
    b <- as.character(cite$obs$batch)
    b[4] <- NA
    expect_error(RunMultigrade(list(adt = cite$adt), batch = b, verbose = FALSE),
        "NA values", class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = cite$adt), batch = cite$obs, integrate_on = "donor", verbose = FALSE),
        "integrate_on", class = "mg_error_input")
})

test_that("cells without any modality are an error", {
    cite <- cite_data()
    adt <- cite$adt
    adt[, 1:2] <- NA
    expect_error(RunMultigrade(list(adt = adt), verbose = FALSE), "no measured modality",
        class = "mg_error_input")
})

test_that("predict rejects unknown batch levels and most features missing, and fills in a few", {
    cite <- cite_data()
    model <- quick_model(list(adt = cite$adt), batch = cite$obs$batch)
    expect_error(predict(model, list(adt = cite$adt), batch = rep("s9d9", ncol(cite$adt))),
        "s9d9", class = "mg_error_unknown_level")
    adt <- cite$adt[-1, ]
    expect_warning(padded <- predict(model, list(adt = adt), batch = cite$obs$batch), "lacks 1 of the model's 134",
        class = "mg_warning_missing_features")
    expect_identical(adt, cite$adt[-1, ])  # the caller's matrix is unchanged
    # The missing protein is filled with the model's expectation, not given as zeros (what that
    # does to the embedding: test-unmeasured-features.R).
    zeroed <- cite$adt
    zeroed[1, ] <- 0
    expect_true(all(is.finite(padded)))
    expect_false(isTRUE(all.equal(padded, predict(model, list(adt = zeroed), batch = cite$obs$batch))))
    expect_error(predict(model, list(adt = cite$adt[1:60, ]), batch = cite$obs$batch),
        "lacks 74", class = "mg_error_input")
    expect_error(predict(model, list(adt = cite$adt)), "lacks the covariate", class = "mg_error_input")
    expect_error(predict(model, list(protein = cite$adt), batch = cite$obs$batch),
        "no modality", class = "mg_error_input")
})

test_that("bad options are rejected", {
    expect_error(multigrade_options(dropout = 2), class = "mg_error_input")
    expect_error(multigrade_options(patience = -1), class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = cite_data()$adt), options = list()), class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = cite_data()$adt), device = "tpu", verbose = FALSE),
        class = "mg_error_input")
})

test_that("likelihoods left out are guessed, once, and an unnamed vector must cover every modality", {
    cite <- cite_data()
    mats <- list(rna = cite$rna, adt = cite$adt)
    expect_message(resolved <- multigrade:::resolve_likelihoods(c(rna = "NB"), names(mats),
        function(m) mats[[m]], verbose = TRUE), "adt = mse")
    expect_equal(unclass(resolved), c(rna = "nb", adt = "mse"))
    # What the Seurat and SCE methods resolved passes through the list method untouched.
    expect_silent(again <- multigrade:::resolve_likelihoods(resolved, names(mats), stop, verbose = TRUE))
    expect_identical(again, resolved)
    expect_error(multigrade:::resolve_likelihoods(c("nb"), names(mats), function(m) mats[[m]], verbose = FALSE),
        "1 unnamed entry for 2 modalities", class = "mg_error_input")
})
