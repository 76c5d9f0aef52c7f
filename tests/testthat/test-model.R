# The model object (R/model.R): predict(), print(), summary() and plot().

test_that("predict() is deterministic, reorders features and embeds unimodal cells", {
    cite <- cite_data()
    model <- quick_model(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, max_epochs = 5)
    again <- predict(model, list(rna = cite$rna[rev(rownames(cite$rna)), ], adt = cite$adt),
        batch = cite$obs$batch)
    expect_equal(again, model$embedding, tolerance = 1e-6)
    rna_only <- predict(model, list(rna = cite$rna), batch = cite$obs$batch)
    expect_equal(dim(rna_only), dim(model$embedding))
    expect_true(all(is.finite(rna_only)))
    expect_false(isTRUE(all.equal(rna_only, model$embedding)))
    logvar <- predict(model, list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, type = "logvar")
    expect_true(all(logvar < 0))  # the joint posterior is tighter than the prior
})

test_that("the model object prints, summarises and plots", {
    model <- cite_model()
    expect_output(print(summary(model)), "rna")
    expect_message(print(model), "multigrade_model")
    s <- summary(model)
    expect_gt(s$cells_per_second, 0)
    path <- tempfile(fileext = ".png")
    grDevices::png(path)
    print(plot(model))
    grDevices::dev.off()
    expect_gt(file.size(path), 1000)
})
