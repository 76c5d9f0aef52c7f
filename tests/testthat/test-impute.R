# ImputeModality() (R/impute.R): a mosaic reference's own RNA-only cells, the scales of
# the likelihoods, and raw ADT counts with nbmixture; the mapped queries' imputation is in
# test-mapping.R.

test_that("query-in-train: a mosaic reference imputes the protein of its RNA-only cells", {
    s <- split_cite()
    adt <- s$cite$adt
    adt[, s$query] <- NA
    set.seed(21)
    model <- RunMultigrade(list(rna = s$cite$rna, adt = adt), likelihoods = c(rna = "nb", adt = "mse"),
        batch = s$cite$obs$batch, max_epochs = 200, batch_size = 64, verbose = FALSE,
        options = multigrade_options(n_threads = 2L))
    expect_equal(model$modalities$adt$n_cells, sum(s$ref))
    imputed <- ImputeModality(list(rna = s$cite$rna[, s$query]), model, target = "adt",
        batch = s$cite$obs$batch[s$query])
    truth <- s$cite$adt[, s$query]
    rmse <- sqrt(mean((imputed - truth)^2))
    message(sprintf("query-in-train ADT imputation RMSE %.4f", rmse))
    # Predicting each protein's mean over the s1d1 cells gives RMSE 0.785; the random forest 0.5653.
    mean_baseline <- sqrt(mean((rowMeans(s$cite$adt[, s$ref]) - truth)^2))
    expect_lt(rmse, mean_baseline - 0.1)
    expect_gt(stats::cor(as.vector(imputed), as.vector(truth)), 0.75)
})

test_that("imputation scales: NB proportions sum to one, probabilities and quantiles are ordered", {
    cite <- cite_data()
    model <- reference_model()
    ref <- cite$obs$batch == "s1d1"
    unit <- ImputeModality(list(adt = cite$adt[, ref]), model, target = "rna",
        batch = cite$obs$batch[ref], library_size = 1)
    expect_equal(unname(colSums(unit)), rep(1, sum(ref)), tolerance = 1e-5)
    scaled <- ImputeModality(list(adt = cite$adt[, ref]), model, target = "rna",
        batch = cite$obs$batch[ref], library_size = 1e4)
    expect_equal(scaled, unit * 1e4, tolerance = 1e-5)
    # By default a measured cell keeps its own library size.
    own <- ImputeModality(list(rna = cite$rna[, ref]), model, target = "rna", batch = cite$obs$batch[ref])
    expect_equal(unname(colSums(own)), unname(Matrix::colSums(cite$rna[, ref])), tolerance = 1e-4)

    draws <- ImputeModality(list(rna = cite$rna[, ref]), model, target = "adt",
        batch = cite$obs$batch[ref], n_samples = 30, probs = c(0.05, 0.5, 0.95), seed = 2)
    q <- attr(draws, "quantiles")
    expect_named(q, c("5%", "50%", "95%"))
    expect_true(all(q[["5%"]] <= q[["50%"]] + 1e-6 & q[["50%"]] <= q[["95%"]] + 1e-6))
    expect_true(any(q[["95%"]] - q[["5%"]] > 0))
    again <- ImputeModality(list(rna = cite$rna[, ref]), model, target = "adt",
        batch = cite$obs$batch[ref], n_samples = 30, probs = c(0.05, 0.5, 0.95), seed = 2)
    expect_identical(again, draws)
})

test_that("raw ADT counts with nbmixture: denoised protein and foreground probabilities track cell types", {
    cite <- cite_data()
    set.seed(31)
    model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt_counts),
        likelihoods = c(rna = "nb", adt = "nbmixture"), batch = cite$obs$batch,
        max_epochs = 100, batch_size = 64, verbose = FALSE, options = multigrade_options(n_threads = 2L))
    expect_true(all(is.finite(model$embedding)))
    expect_true("decoder.adt.background_logit.weight" %in% names(model$weights))
    h <- model$history
    expect_lt(min(h$validation_reconstruction), 0.8 * h$validation_reconstruction[1])
    inputs <- list(rna = cite$rna, adt = cite$adt_counts)
    denoised <- ImputeModality(inputs, model, target = "adt", batch = cite$obs$batch)
    foreground <- ImputeModality(inputs, model, target = "adt", batch = cite$obs$batch,
        value = "foreground_probability")
    expect_true(all(denoised >= 0 & is.finite(denoised)))
    expect_true(all(foreground >= 0 & foreground <= 1))
    # Denoised protein follows the measured counts (rank correlation per protein, median).
    per_protein <- vapply(seq_len(nrow(denoised)), function(p) {
        stats::cor(denoised[p, ], cite$adt_counts[p, ], method = "spearman")
    }, numeric(1))
    expect_gt(stats::median(per_protein, na.rm = TRUE), 0.5)
    # CD19 is B-cell signal: more likely foreground in B cells than in T cells; CD3 the reverse.
    b_cells <- grepl(" B ", paste0(" ", cite$obs$cell_type, " ")) | grepl("B1 B|B IGK|Transitional B", cite$obs$cell_type)
    t_cells <- grepl("T ", cite$obs$cell_type) & grepl("CD4|CD8", cite$obs$cell_type)
    expect_gt(mean(foreground["CD19", b_cells]), mean(foreground["CD19", t_cells]) + 0.2)
    expect_gt(mean(foreground["CD3", t_cells]), mean(foreground["CD3", b_cells]) + 0.2)
    message(sprintf("nbmixture foreground probability: CD19 %.2f in B vs %.2f in T cells; CD3 %.2f in T vs %.2f in B",
        mean(foreground["CD19", b_cells]), mean(foreground["CD19", t_cells]),
        mean(foreground["CD3", t_cells]), mean(foreground["CD3", b_cells])))
    expect_error(ImputeModality(inputs, model, target = "rna", batch = cite$obs$batch,
        value = "foreground_probability"), "nbmixture", class = "mg_error_input")
})
