# PredictSamples() and predict() of MIL models (R/mil-predict.R) on new samples.

test_that("samples of a query mapped onto the reference with MapToReference are predicted", {
    s <- split_cite()
    cell_type <- stats::setNames(as.character(s$cite$obs$cell_type), colnames(s$cite$rna))
    reference <- reference_model()$embedding  # s1d1, RNA + ADT
    query <- mapped_query()$embedding         # s1d2, RNA only, mapped into the reference's space
    set.seed(9)
    train <- planted_cohort(reference, cell_type, rownames(reference), 20, "ref")
    test <- planted_cohort(query, cell_type, rownames(query), 12, "query")
    fit <- RunMultiMIL(train$embedding, sample = train$sample, label = train$label, max_epochs = 100, seed = 3,
        verbose = FALSE)
    out <- PredictSamples(test$embedding, fit, sample = test$sample)
    truth <- test$label[match(out$samples$sample, test$sample)]
    accuracy <- mean(as.character(out$samples$predicted) == truth)
    enriched <- top_target_fraction(out$attention, test)
    message(sprintf("MIL on a mapped RNA-only query: accuracy %.2f, top-10%% attention target fraction %.2f (base 0.35)",
        accuracy, enriched))
    expect_gte(accuracy, 0.8)
    expect_gt(enriched, 0.6)
})
