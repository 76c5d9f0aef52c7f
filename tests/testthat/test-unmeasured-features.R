# Features a query's panel lacks (R/unmeasured-features.R): the encoders see the model's
# expectation of them given the measured features instead of zeros.

# The CITE reference (donor s1d1) and its own cells without every fourth gene, embedded as
# that donor: full panel, missing genes filled by the model, and missing genes left as zeros.
panel_embeddings <- function() {
    s <- split_cite()
    model <- reference_model()
    rna <- s$cite$rna[, s$ref]
    dropped <- seq(1, nrow(rna), by = 4)
    batch <- s$cite$obs$batch[s$ref]
    full <- predict(model, list(rna = rna), batch = batch)
    expect_warning(filled <- predict(model, list(rna = rna[-dropped, ]), batch = batch),
        "expectation of them", class = "mg_warning_missing_features")
    data <- suppressWarnings(multigrade:::prepare_data(list(rna = rna[-dropped, ]), batch = batch,
        schema = multigrade:::model_schema(model), missing_features = "pad", verbose = FALSE))
    zeros <- multigrade:::mg_encode(model$config, model$weights, multigrade:::core_data(data), "cpu", 1L)$mean
    list(model = model, data = data, full = full, filled = filled, zeros = zeros, dropped = dropped, rna = rna)
}

test_that("missing genes are filled with the model's expectation, which keeps cells near their full-panel place", {
    p <- panel_embeddings()
    distance <- function(e) mean(sqrt(rowSums((e - p$full)^2)))
    spread <- mean(sqrt(rowSums(sweep(p$full, 2, colMeans(p$full))^2)))
    message(sprintf("distance to the full-panel embedding: filled %.3f, zeros %.3f (cells from their centre %.3f)",
        distance(p$filled), distance(p$zeros), spread))
    expect_lt(distance(p$filled), 0.75 * distance(p$zeros))
    # The fill is the expectation, not the truth: the filled cells do not coincide with the full panel.
    expect_gt(distance(p$filled), 0)
})

test_that("the fill is what the model expects of the missing genes, from the measured ones only", {
    p <- panel_embeddings()
    filled <- multigrade:::fill_unmeasured(p$data, p$model, "cpu", 1L)
    fill <- matrix(filled$modalities$rna$encoder_fill, nrow = length(p$dropped))
    expect_identical(dim(fill), c(length(p$dropped), ncol(p$rna)))
    expect_true(all(is.finite(fill)) && all(fill >= 0))
    # log1p of expected counts: correlated with the genes' real (held-out) log counts across
    # cells and genes, which the fill never saw.
    truth <- log1p(as.matrix(p$rna[p$dropped, ]))
    expect_gt(stats::cor(as.vector(fill), as.vector(truth)), 0.5)
    # The held-out values cannot leak: other values there give the same fill.
    other <- p$rna
    other[p$dropped, ] <- 0
    expect_identical(suppressWarnings(predict(p$model, list(rna = other[-p$dropped, ]),
        batch = split_cite()$cite$obs$batch[split_cite()$ref])), p$filled)
    # A cell without the modality gets no fill.
    data <- p$data
    data$modalities$rna$present[1] <- 0L
    expect_true(all(matrix(multigrade:::fill_unmeasured(data, p$model, "cpu", 1L)$modalities$rna$encoder_fill,
        nrow = length(p$dropped))[, 1] == 0))
})

test_that("a query's new donor is filled through rows at the mean of the reference's", {
    s <- split_cite()
    model <- reference_model()
    query <- s$cite$rna[-seq(1, 1000, by = 4), s$query]
    data <- suppressWarnings(multigrade:::prepare_data(list(rna = query), batch = s$cite$obs$batch[s$query],
        schema = multigrade:::model_schema(model), extend_levels = TRUE, missing_features = "pad", verbose = FALSE))
    grown <- multigrade:::with_levels_of(model, data)
    rows <- grown$weights[["covariate.0.embedding"]]
    known <- model$weights[["covariate.0.embedding"]]
    expect_equal(ncol(rows), ncol(known) + 1L)
    expect_identical(rows[, seq_len(ncol(known)), drop = FALSE], known)
    expect_equal(rows[, ncol(rows)], rowMeans(known), tolerance = 1e-6)
    expect_true(all(is.finite(multigrade:::fill_unmeasured(data, model, "cpu", 1L)$modalities$rna$encoder_fill)))
})
