# Degenerate and awkward inputs (R/data-input.R, R/train.R): each gets a classed condition that
# names the problem, or is handled and said; the caller's objects are never changed.

# Runs `code`, then checks that the caller's objects still equal their copies made before.
expect_unchanged <- function(code, ...) {
    before <- list(...)
    force(code)
    after <- mget(names(before), envir = parent.frame())
    expect_identical(after, before)
}

test_that("no cells, no features and too few cells are classed errors", {
    cite <- cite_data()
    adt <- cite$adt
    expect_unchanged(expect_error(RunMultigrade(list(adt = adt[, 0]), verbose = FALSE), "no cells",
        class = "mg_error_input"), adt = adt)
    expect_error(RunMultigrade(list(rna = cite$rna, adt = adt[0, ]), verbose = FALSE),
        "\"adt\" has no features", class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = adt[, 1, drop = FALSE]), verbose = FALSE),
        "at least 2 cells", class = "mg_error_input")
    expect_error(RunMultigrade(list(adt = adt), max_epochs = 0, verbose = FALSE), "max_epochs",
        class = "mg_error_input")
    expect_error(predict(quick_model(list(adt = adt)), list(adt = adt[, 0])), "no cells", class = "mg_error_input")
})

test_that("the same cells in another order are matched by name, with a message", {
    cite <- cite_data()
    cells <- colnames(cite$adt)[1:200]
    rna <- cite$rna[, cells]
    adt <- cite$adt[, cells]
    shuffled <- adt[, rev(cells)]
    expect_unchanged(suppressMessages(expect_message(
        a <- RunMultigrade(list(rna = rna, adt = shuffled), max_epochs = 2, seed = 1, options = quick_options()),
        "another order; matched by name")), shuffled = shuffled)
    b <- RunMultigrade(list(rna = rna, adt = adt), max_epochs = 2, seed = 1, verbose = FALSE, options = quick_options())
    expect_identical(a$embedding, b$embedding)
    expect_identical(rownames(a$embedding), cells)
})

test_that("cells in rows of every modality are diagnosed as transposed", {
    cite <- cite_data()
    expect_error(RunMultigrade(list(rna = Matrix::t(cite$rna), adt = t(cite$adt)), verbose = FALSE),
        "cells are probably in rows", class = "mg_error_input")
})

test_that("matrices without names get cell names, and say so", {
    adt <- unname(cite_data()$adt)
    suppressMessages(expect_message(model <- RunMultigrade(list(adt = adt), max_epochs = 1, seed = 1,
        options = quick_options()), "no cell \\(column\\) names"))
    expect_identical(rownames(model$embedding)[1:2], c("cell1", "cell2"))
})

test_that("a batch with one level says there is nothing to align, and keeps it for queries", {
    cite <- cite_data()
    one <- cite$obs$batch == "s1d1"
    adt <- cite$adt[, one]
    suppressMessages(expect_message(model <- RunMultigrade(list(adt = adt), batch = cite$obs$batch[one],
        max_epochs = 2, seed = 1, options = quick_options()), "has one level .* nothing to align"))
    expect_true(all(model$history$train_integration == 0))
    expect_identical(model$covariates$integrate_on, "batch")  # a query's new donor is aligned to it
    printed <- paste(capture_messages(print(model)), collapse = "")
    expect_match(printed, "batch has one level: nothing aligned")
    expect_no_match(printed, "integrating")
})

test_that("fractional counts for a count likelihood warn and say what is done with them", {
    rna <- cite_data()$rna
    rna@x <- rna@x + 0.5
    expect_warning(RunMultigrade(list(rna = rna), likelihoods = c(rna = "nb"), max_epochs = 1, seed = 1,
        verbose = FALSE, options = quick_options()), "used as they are", class = "mg_warning")
})

test_that("an unknown example dataset is a classed error with a suggestion", {
    expect_error(multigrade_example("cite-seq"), "Did you mean \"cite\"", class = "mg_error_input")
})

test_that("a loss that overflows rolls back with a warning that names the term and a likely cause", {
    adt <- cite_data()$adt
    adt[, 1:50] <- adt[, 1:50] * 1e30  # finite values whose squared error overflows float32
    expect_warning(model <- RunMultigrade(list(adt = adt), likelihoods = c(adt = "mse"), max_epochs = 4, seed = 1,
        verbose = FALSE, options = quick_options()), "NaN/Inf losses in the reconstruction", class = "mg_warning_non_finite")
    expect_true(any(model$history$non_finite == 1))
    expect_true(all(is.finite(unlist(model$weights))))  # the kept weights are the last finite ones
})

test_that("running out of memory is a classed error with the sizes involved and what to change", {
    # A decoder 2e9 units wide asks for ~800 TB: more than any allocator can give, so the
    # failure comes from the allocator, not from the operating system killing R.
    wide <- Matrix::sparseMatrix(i = c(1, 5, 99999), j = c(1, 2, 3), x = c(2, 1, 4), dims = c(100000, 20),
        dimnames = list(paste0("g", seq_len(100000)), paste0("c", seq_len(20))))
    error <- expect_error(RunMultigrade(list(wide = wide), max_epochs = 2, verbose = FALSE,
        options = multigrade_options(n_hidden_decoder = 2e9)), class = "mg_error_memory")
    message <- conditionMessage(error)
    expect_match(message, "ran out of memory", fixed = TRUE)
    expect_match(message, "20 cells, modalities wide 100000 features", fixed = TRUE)
    expect_match(message, "tried to allocate", fixed = TRUE)
    expect_match(message, "batch_size", fixed = TRUE)
})
