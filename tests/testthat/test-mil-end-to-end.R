# End-to-end MultiMIL (R/mil-end-to-end.R): the VAE and the MIL head trained together.

test_that("end-to-end MultiMIL trains the VAE and the MIL head together and predicts a held-out patient", {
    gbm <- multigrade_example("glioblastoma")
    held <- gbm$obs$patient_id == "PW040"
    fit <- RunMultiMIL(list(rna = gbm$counts[, !held]), sample = gbm$obs$sample_id[!held],
        label = gbm$obs$condition[!held], likelihoods = c(rna = "nb"), max_epochs = 40, seed = 2,
        verbose = FALSE, vae_options = multigrade_options(n_threads = 2L))
    expect_s3_class(fit, "multimil_model")
    expect_s3_class(fit$vae, "multigrade_model")
    h <- fit$history
    expect_true(all(c("train_mil", "train_reconstruction") %in% names(h)))
    expect_lt(mean(utils::tail(h$train_mil, 5)), 0.5 * h$train_mil[1])
    expect_lt(utils::tail(h$train_reconstruction, 1), h$train_reconstruction[1])
    expect_equal(rownames(fit$embedding), colnames(gbm$counts)[!held])
    # New patient: embed with the trained VAE, then predict its two samples.
    emb <- predict(fit$vae, list(rna = gbm$counts[, held]))
    out <- PredictSamples(emb, fit, sample = gbm$obs$sample_id[held])
    truth <- gbm$obs$condition[held][match(out$samples$sample, gbm$obs$sample_id[held])]
    expect_equal(as.character(out$samples$predicted), truth)
    # The head is trained on the VAE's latent space, not on a fixed embedding.
    expect_equal(fit$config$input_dim, fit$vae$config$latent_dim)
    # options takes mil_options() as in every RunMultiMIL method; the former spelling (VAE
    # settings in options, MIL settings in mil) still works, with a warning.
    args <- list(list(rna = gbm$counts[, !held]), sample = gbm$obs$sample_id[!held],
        label = gbm$obs$condition[!held], likelihoods = c(rna = "nb"), max_epochs = 1, seed = 2, verbose = FALSE)
    deprecated <- character()
    old <- withCallingHandlers(do.call(RunMultiMIL, c(args, list(options = multigrade_options(n_threads = 1L),
        mil = mil_options(bag_size = 64L)))), mg_warning_deprecated = function(w) {
        deprecated <<- c(deprecated, conditionMessage(w))
        invokeRestart("muffleWarning")
    })
    expect_length(deprecated, 2)
    expect_match(deprecated[1], "vae_options")
    expect_match(deprecated[2], "mil.*deprecated")
    new <- do.call(RunMultiMIL, c(args, list(options = mil_options(bag_size = 64L),
        vae_options = multigrade_options(n_threads = 1L))))
    expect_equal(old$samples, new$samples)
    expect_equal(old$options$bag_size, 64L)
})
