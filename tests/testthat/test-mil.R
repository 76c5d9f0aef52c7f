# RunMultiMIL() on embeddings (R/mil.R, R/mil-input.R): prediction of sample labels and
# attention on real cells (NeurIPS CITE cells in a planted cohort), the API's keying by names.

test_that("MultiMIL predicts held-out samples of another donor and its attention finds the planted cell type", {
    cohorts <- cite_cohorts()
    fit <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        max_epochs = 100, seed = 3, verbose = FALSE)
    out <- PredictSamples(cohorts$test$embedding, fit, sample = cohorts$test$sample)
    # predict() is the same call with the model first.
    expect_identical(predict(fit, cohorts$test$embedding, sample = cohorts$test$sample), out)
    expect_error(predict(fit), "newdata")
    truth <- cohorts$test$label[match(out$samples$sample, cohorts$test$sample)]
    accuracy <- mean(as.character(out$samples$predicted) == truth)
    expect_gte(accuracy, 0.9)  # chance is 0.5
    # The target is 35% of a disease sample's cells; attention must concentrate on it.
    enriched <- top_target_fraction(out$attention, cohorts$test)
    expect_gt(enriched, 0.7)
    # Control for the measure: uniform ("mean") pooling has no attention to rank by, and
    # random scores give about the base fraction, so the threshold above can fail.
    set.seed(1)
    random <- stats::setNames(runif(length(out$attention)), names(out$attention))
    expect_lt(top_target_fraction(random, cohorts$test), 0.55)
    # Attention is a softmax over each whole sample.
    sums <- tapply(out$attention[rownames(cohorts$test$embedding)], cohorts$test$sample, sum)
    expect_equal(as.numeric(sums), rep(1, length(sums)), tolerance = 1e-5)
    expect_equal(sort(names(out$attention)), sort(rownames(cohorts$test$embedding)))
    expect_equal(rowSums(as.matrix(out$samples[, c("prob.control", "prob.disease")])), rep(1, 12), tolerance = 1e-5)
    # Plain (ungated) attention finds the planted cell type too; "mean" pooling has no
    # attention to rank by: uniform within each sample.
    plain <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        scoring = "attention", max_epochs = 100, seed = 3, verbose = FALSE)
    plain_out <- PredictSamples(cohorts$test$embedding, plain, sample = cohorts$test$sample)
    expect_gte(mean(as.character(plain_out$samples$predicted) == truth), 0.9)
    expect_gt(top_target_fraction(plain_out$attention, cohorts$test), 0.7)
    pooled <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        scoring = "mean", max_epochs = 5, seed = 3, verbose = FALSE)
    expect_equal(unname(pooled$relative_attention), rep(1, nrow(cohorts$train$embedding)), tolerance = 1e-5)
})

test_that("outputs are keyed by cell and sample names, not by row order", {
    cohorts <- cite_cohorts()
    fit <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        max_epochs = 5, seed = 1, verbose = FALSE)
    test <- cohorts$test
    a <- PredictSamples(test$embedding, fit, sample = test$sample)
    shuffled <- sample(nrow(test$embedding))
    # Sample ids given by cell name, in another order than the rows.
    ids <- stats::setNames(test$sample, rownames(test$embedding))[sample(nrow(test$embedding))]
    b <- PredictSamples(test$embedding[shuffled, ], fit, sample = ids)
    expect_equal(b$attention[names(a$attention)], a$attention, tolerance = 1e-5)
    expect_equal(b$samples[match(a$samples$sample, b$samples$sample), "prob.disease"], a$samples$prob.disease,
        tolerance = 1e-5)
    expect_error(PredictSamples(unname(test$embedding), fit, sample = test$sample), class = "mg_error_input")
})

test_that("tiny samples are used and predicted, and unbalanced classes are weighted", {
    cohorts <- cite_cohorts()
    cells <- cite_cells()
    embedding <- cells$embedding
    cell_type <- cells$cell_type
    s1d1 <- cells$s1d1
    set.seed(11)
    # 4 disease against 16 controls, and two samples of 3 cells.
    train <- planted_cohort(embedding, cell_type, s1d1, 20, "u", disease = rep(c(TRUE, rep(FALSE, 4)), 4))
    tiny <- planted_cohort(embedding, cell_type, s1d1, 2, "tiny", n_cells = 3, enriched = 1, base = 0)
    all <- list(embedding = rbind(train$embedding, tiny$embedding), sample = c(train$sample, tiny$sample),
        label = c(train$label, tiny$label))
    expect_equal(multigrade:::mil_class_weights("balanced", list(classes = c("a", "b"), values = c(0, 0, 0, 1)), 1:4),
        c(4 / 6, 2))
    fit <- RunMultiMIL(all$embedding, sample = all$sample, label = all$label, max_epochs = 100, seed = 2,
        verbose = FALSE)
    expect_setequal(fit$samples$sample, unique(all$sample))
    expect_equal(fit$samples$n_cells[fit$samples$sample == "tiny1"], 3)
    expect_true(all(is.finite(fit$attention)))
    expect_equal(sum(fit$attention[grep("^tiny1_", names(fit$attention))]), 1, tolerance = 1e-5)
    out <- PredictSamples(cohorts$test$embedding, fit, sample = cohorts$test$sample)
    # predict() is the same call with the model first.
    expect_identical(predict(fit, cohorts$test$embedding, sample = cohorts$test$sample), out)
    expect_error(predict(fit), "newdata")
    truth <- cohorts$test$label[match(out$samples$sample, cohorts$test$sample)]
    # Balanced weights keep the minority class predictable on the other donor.
    expect_gte(mean(as.character(out$samples$predicted)[truth == "disease"] == "disease"), 0.8)
    expect_gte(mean(as.character(out$samples$predicted) == truth), 0.8)
})

test_that("regression and ordinal tasks learn a sample-level severity", {
    cells <- cite_cells()
    embedding <- cells$embedding
    cell_type <- cells$cell_type
    s1d1 <- cells$s1d1
    set.seed(5)
    fractions <- rep(c(0, 0.2, 0.4), length.out = 24)
    parts <- lapply(seq_along(fractions), function(s) {
        p <- planted_cohort(embedding, cell_type, s1d1, 1, paste0("sev", s, "_"), enriched = fractions[s],
            disease = TRUE)
        p$severity <- rep(fractions[s], length(p$sample))
        p
    })
    emb <- do.call(rbind, lapply(parts, `[[`, "embedding"))
    sample <- unlist(lapply(parts, `[[`, "sample"))
    severity <- unlist(lapply(parts, `[[`, "severity"))
    held_out <- sample %in% unique(sample)[19:24]
    reg <- RunMultiMIL(emb[!held_out, ], sample = sample[!held_out], label = severity[!held_out],
        task = "regression", max_epochs = 100, seed = 4, verbose = FALSE)
    pred <- PredictSamples(emb[held_out, ], reg, sample = sample[held_out])$samples
    truth <- severity[held_out][match(pred$sample, sample[held_out])]
    expect_gt(stats::cor(pred$predicted, truth), 0.8)
    level <- c("none", "mild", "severe")[match(severity, c(0, 0.2, 0.4))]
    ord <- RunMultiMIL(emb[!held_out, ], sample = sample[!held_out], label = level[!held_out],
        task = "ordinal", levels = c("none", "mild", "severe"), max_epochs = 100, seed = 4, verbose = FALSE)
    pred <- PredictSamples(emb[held_out, ], ord, sample = sample[held_out])$samples
    expect_true(is.ordered(pred$predicted))
    truth <- level[held_out][match(pred$sample, sample[held_out])]
    expect_gte(mean(as.character(pred$predicted) == truth), 4 / 6)
    expect_error(RunMultiMIL(emb, sample = sample, label = level, task = "ordinal", verbose = FALSE),
        "needs its order")
})

test_that("bad MIL input gives classed errors that name the problem", {
    emb <- matrix(rnorm(40), 20, 2, dimnames = list(paste0("c", 1:20), NULL))
    s <- rep(c("a", "b", "c", "d"), each = 5)
    y <- rep(c("x", "y"), each = 10)
    expect_error(RunMultiMIL(emb, sample = s[-1], label = y, verbose = FALSE), "has 19 values for 20 cells")
    bad <- emb
    bad[3, 1] <- NaN
    expect_error(RunMultiMIL(bad, sample = s, label = y, verbose = FALSE), "NaN", class = "mg_error_input")
    mixed <- y
    mixed[1] <- "y"
    expect_error(RunMultiMIL(emb, sample = s, label = mixed, verbose = FALSE), "constant within each sample")
    expect_error(RunMultiMIL(emb, sample = s, label = y, levels = c("x", "z"), verbose = FALSE),
        class = "mg_error_unknown_level")
    expect_error(RunMultiMIL(emb, sample = s, label = rep("x", 20), verbose = FALSE), "at least two classes")
    expect_error(RunMultiMIL(emb, sample = s, label = y, nonsense = 1, verbose = FALSE), "Unknown argument")
    expect_error(RunMultiMIL(t(emb), sample = s, label = y, verbose = FALSE), class = "mg_error_input")
    fit <- RunMultiMIL(emb, sample = s, label = y, max_epochs = 2, seed = 1, verbose = FALSE)
    expect_error(PredictSamples(emb[, 1, drop = FALSE], fit, sample = s), "1 dimension")
})
