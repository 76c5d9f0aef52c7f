# Latent traversals (scMM-style) on the CITE model.

test_that("LatentFeatureAssociations traverses every dimension and agrees with the cells", {
    cite <- cite_data()
    model <- cite_model()
    assoc <- LatentFeatureAssociations(model, n_steps = 11)
    expect_named(assoc, c("rna", "adt"))
    expect_equal(dim(assoc$adt), c(nrow(cite$adt), 30L))
    expect_equal(dim(assoc$rna), c(nrow(cite$rna), 30L))
    expect_identical(rownames(assoc$adt), rownames(cite$adt))
    expect_true(all(abs(assoc$adt) <= 1 + 1e-12))
    traversals <- attr(assoc$adt, "traversals")
    expect_length(traversals, 30)
    # Every traversal passes through the same centre pseudocell.
    expect_equal(traversals[[1]][, 6], traversals[[9]][, 6], tolerance = 1e-6)
    # RNA is decoded as proportions.
    expect_equal(unname(colSums(attr(assoc$rna, "traversals")[[3]])), rep(1, 11), tolerance = 1e-5)

    # The protein a dimension drives most also tracks that dimension across the real cells.
    dims <- ncol(model$embedding)
    agree <- vapply(seq_len(dims), function(d) {
        top <- which.max(abs(assoc$adt[, d]))
        across_cells <- stats::cor(model$embedding[, d], cite$adt[top, ], method = "spearman")
        sign(across_cells) == sign(assoc$adt[top, d])
    }, logical(1))
    message(sprintf("top traversal protein agrees in sign with the cells in %d of %d dimensions", sum(agree), dims))
    expect_gte(mean(agree), 0.75)

    other <- LatentFeatureAssociations(model, modalities = "adt", batch = list(batch = "s1d2"))
    expect_named(other, "adt")
    expect_error(LatentFeatureAssociations(model, modalities = "atac"), "Unknown modalit", class = "mg_error_input")
    expect_error(LatentFeatureAssociations(model, batch = list(batch = "s9")), class = "mg_error_unknown_level")
})
