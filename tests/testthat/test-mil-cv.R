# CrossValidateMIL() (R/mil-cv.R) on the glioblastoma cohort, beside its baselines.

test_that("leave-one-patient-out on the glioblastoma cohort reports MultiMIL next to the baselines", {
    gbm <- multigrade_example("glioblastoma")
    emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 16)$x
    cv <- CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition, group = gbm$obs$patient_id,
        max_epochs = 50, seed = 1, verbose = FALSE)
    expect_s3_class(cv, "multimil_cv")
    expect_setequal(cv$summary$method, c("multimil", "ridge_mean_embedding", "random_forest_mean_embedding"))
    expect_equal(cv$n_groups, 5)
    # Folds never split a patient.
    patient <- gbm$obs$patient_id[match(names(cv$folds), gbm$obs$sample_id)]
    expect_true(all(tapply(cv$folds, patient, function(f) length(unique(f))) == 1))
    expect_true(all(cv$summary$n_samples == 10))
    multimil <- cv$summary$accuracy[cv$summary$method == "multimil"]
    expect_gte(multimil, 0.8)  # chance 0.5; the mean-embedding baselines score 0.3-0.7
    expect_false(anyNA(cv$attention))
    # plot(): one point per method and fold, whose mean over folds of equal size is the overall score.
    p <- plot(cv)
    expect_s3_class(p, "ggplot")
    expect_equal(nrow(p$data), 5 * nrow(cv$summary))
    expect_equal(as.vector(tapply(p$data$score, as.character(p$data$method), mean)[cv$summary$method]),
        cv$summary$accuracy)
    # n_folds, formerly k (still accepted, with a warning).
    expect_warning(two <- CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
        group = gbm$obs$patient_id, k = 2, baselines = FALSE, max_epochs = 2, seed = 1, verbose = FALSE),
        "n_folds", class = "mg_warning_deprecated")
    expect_equal(max(two$folds), 2)
    expect_error(CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
        group = gbm$obs$patient_id, n_folds = 9, verbose = FALSE), "only 5 groups")
})
