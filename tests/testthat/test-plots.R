# Plots (R/plots.R): ggplot objects whose data say what they show.

test_that("the training history shows every loss term in use and the epoch whose weights were kept", {
    model <- cite_model()
    p <- plot(model)
    expect_s3_class(p, "ggplot")
    built <- ggplot2::ggplot_build(p)
    terms <- levels(p$data$term)
    # CITE with two donors: reconstruction, total loss, KL and the MMD term; no consistency or MIL.
    expect_identical(terms, c("reconstruction", "total loss", "KL divergence", "MMD (integration)"))
    h <- model$history
    kept <- max(h$epoch[h$improved == 1])
    expect_equal(unique(built$data[[2]]$xintercept), kept)
    expect_equal(kept, h$epoch[which.min(h$validation_reconstruction)])
    validation <- p$data[p$data$term == "reconstruction" & p$data$set == "validation", ]
    expect_equal(validation$value, h$validation_reconstruction)
    expect_error(plot(structure(list(history = h[0, ]), class = "multigrade_model")), class = "mg_error_model")
})

test_that("embeddings, attention, imputation and associations plot from real results", {
    cite <- cite_data()
    model <- cite_model()
    p <- PlotEmbedding(model, cite$obs$cell_type, method = "pca")
    expect_s3_class(p, "ggplot")
    expect_equal(nrow(p$data), 600)
    expect_identical(p$data$color, cite$obs$cell_type)
    pcs <- stats::prcomp(model$embedding, rank. = 2)$x
    expect_equal(abs(p$data$x), unname(abs(pcs[, 1])))
    skip_if_not_installed("uwot")
    expect_equal(dim(PlotEmbedding(model, cite$obs$batch)$data), c(600L, 3L))

    adt <- ImputeModality(list(rna = cite$rna), model, target = "adt", batch = cite$obs$batch)
    p <- PlotImputation(adt, cite$adt, n = 4)
    expect_length(levels(p$data$feature), 4)
    first <- sub(" \\(r = .*", "", levels(p$data$feature)[1])
    r <- stats::cor(adt[first, ], cite$adt[first, ])
    expect_match(levels(p$data$feature)[1], sprintf("r = %.2f", r), fixed = TRUE)
    expect_error(PlotImputation(adt, cite$adt[, 1:2]), "at least 3 cells")

    assoc <- LatentFeatureAssociations(model, "adt")
    p <- PlotLatentAssociations(assoc, dims = 1:4, top = 2)
    top_1 <- names(sort(assoc$adt[, 1], decreasing = TRUE))[1:2]
    expect_true(all(top_1 %in% levels(p$data$feature)))
    expect_equal(p$data$correlation[p$data$feature == top_1[1] & p$data$dimension == colnames(assoc$adt)[1]],
        unname(assoc$adt[top_1[1], 1]))

    gbm <- multigrade_example("glioblastoma")
    pcs <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
    fit <- RunMultiMIL(pcs, sample = gbm$obs$sample_id, label = gbm$obs$condition,
        max_epochs = 3, seed = 1, verbose = FALSE)
    expect_s3_class(plot(fit), "ggplot")
    p <- PlotAttention(fit, group = gbm$obs$condition, type = "groups")
    expect_equal(p$data$attention, unname(fit$relative_attention))
    p <- PlotAttention(fit, embedding = pcs, method = "pca")
    expect_equal(p$data$color, unname(log10(fit$relative_attention[rownames(pcs)])))
    expect_error(PlotAttention(fit, type = "groups"), "group")
})
