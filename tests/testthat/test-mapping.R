# Reference mapping, label transfer and imputation on the NeurIPS CITE predict_modality
# split: reference = donor s1d1 (RNA + ADT), query = donor s1d2 (RNA only); the reference
# model and the mapped query are built in helper-data.R (the MIL tests use them too).

test_that("mapping trains only the new level's rows and leaves every reference weight bit-identical", {
    model <- reference_model()
    mapped <- mapped_query()
    extended <- mapped$model
    expect_identical(extended$covariates$categorical$batch, c("s1d1", "s1d2"))
    expect_identical(names(extended$weights), names(model$weights))
    grown <- character()
    for (nm in names(model$weights)) {
        old <- model$weights[[nm]]
        new <- extended$weights[[nm]]
        if (identical(dim(old), dim(new))) {
            expect_identical(new, old, label = nm)
        } else {
            # R stores the core's row-major (rows x cols) tables as cols x rows arrays.
            grown <- c(grown, nm)
            expect_identical(new[, seq_len(ncol(old)), drop = FALSE], old, label = nm)
            # The new row starts at the mean of the reference's rows; training moved it.
            start <- rowMeans(old)
            moved <- max(abs(new[, -seq_len(ncol(old))] - start))
            expect_gt(moved, 1e-3, label = paste(nm, "new row's distance from its start"))
        }
    }
    # The batch embedding gained one row; the RNA dispersions one integrate_on group.
    expect_setequal(grown, c("covariate.0.embedding", "decoder.rna.log_theta"))
    expect_equal(extended$queries[[1]]$n_trainable, 16 + 1000)
    expect_gt(nrow(extended$queries[[1]]$history), 1)
    # The reference's own embedding is kept for label transfer.
    expect_identical(extended$embedding, model$embedding)
})

test_that("RNA-only query: imputed ADT beats the NeurIPS random-forest baseline, labels transfer", {
    s <- split_cite()
    mapped <- mapped_query()
    expect_equal(dim(mapped$embedding), c(sum(s$query), 30L))
    expect_identical(rownames(mapped$embedding), colnames(s$cite$rna)[s$query])
    expect_true(all(is.finite(mapped$embedding)))

    truth <- s$cite$adt[, s$query]
    # Decoded with the query's own (RNA-trained) batch embedding, and as if measured in s1d1.
    for (decode in list(NULL, list(batch = "s1d1"))) {
        adt <- ImputeModality(list(rna = s$cite$rna[, s$query]), mapped$model, target = "adt",
            batch = s$cite$obs$batch[s$query], decode_batch = decode)
        expect_identical(dimnames(adt), dimnames(truth))
        rmse <- sqrt(mean((adt - truth)^2))
        pearson <- stats::cor(as.vector(adt), as.vector(truth))
        spearman <- stats::cor(as.vector(adt), as.vector(truth), method = "spearman")
        # Published baseline on this split (openproblems neurips2021 predict_modality, CITE
        # starter, random forest GEX -> ADT): RMSE 0.5653 on the CLR values.
        expect_lt(rmse, 0.5653)
        expect_gt(pearson, 0.8)
        message(sprintf("CITE s1d1 -> s1d2 ADT imputation (decode as %s): RMSE %.4f, Pearson %.3f, Spearman %.3f",
            if (is.null(decode)) "own batch" else "s1d1", rmse, pearson, spearman))
    }

    pred <- mapped$predictions
    expect_identical(rownames(pred), rownames(mapped$embedding))
    expect_named(pred, c("predicted.cell_type", "predicted.cell_type.score", "mapping.score"))
    accuracy <- mean(pred$predicted.cell_type == as.character(s$cite$obs$cell_type[s$query]))
    message(sprintf("label transfer accuracy (41 fine types): %.3f", accuracy))
    # 41 fine types from 311 reference cells: the majority class (CD14+ Mono) is 0.16 of the
    # query, and a 15-NN vote on 20 RNA principal components reaches 0.37.
    expect_gt(accuracy, 0.3)
    expect_true(all(pred$predicted.cell_type.score > 0 & pred$predicted.cell_type.score <= 1))
    expect_true(all(pred$mapping.score >= 0 & pred$mapping.score <= 1))
    # Correct predictions are the confident ones.
    correct <- pred$predicted.cell_type == as.character(s$cite$obs$cell_type[s$query])
    expect_gt(mean(pred$predicted.cell_type.score[correct]), mean(pred$predicted.cell_type.score[!correct]))
})

test_that("a query from the reference's own donor lands where its reference twins are", {
    s <- split_cite()
    model <- reference_model()
    own <- which(s$ref)[1:150]
    rna <- s$cite$rna[, own]
    colnames(rna) <- paste0("again_", colnames(rna))
    # As a new batch level (trained) and as the known level (no training needed).
    labels <- list(cell_type = s$cite$obs$cell_type[s$ref])
    as_new <- MapToReference(list(rna = rna), model, batch = rep("s1d1-again", length(own)),
        refdata = labels, batch_size = 64, seed = 3, verbose = FALSE)
    expect_message(as_known <- MapToReference(list(rna = rna), model, batch = rep("s1d1", length(own)),
        seed = 3), "without training")
    twins <- model$embedding[colnames(s$cite$rna)[own], ]
    for (emb in list(as_new$embedding, as_known$embedding)) {
        d <- as.matrix(stats::dist(rbind(emb, model$embedding)))[seq_along(own), -seq_along(own)]
        twin_rank <- vapply(seq_along(own), function(i) rank(d[i, ])[own[i] == which(s$ref)], numeric(1))
        # The RNA-only embedding of a cell sits among the nearest reference cells to its
        # own paired (RNA + ADT) embedding.
        message(sprintf("median rank of the paired twin among the 311 reference cells: %.1f", stats::median(twin_rank)))
        expect_lt(stats::median(twin_rank), 20)
        expect_lt(mean(sqrt(rowSums((emb - twins)^2))), stats::median(d))
    }
    expect_identical(as_known$model, model)
    # Labels transferred to the reference's own cells mostly match their annotation (the
    # cells themselves are among the voters, through their paired embeddings).
    truth <- as.character(s$cite$obs$cell_type[own])
    own_accuracy <- mean(as_new$predictions$predicted.cell_type == truth)
    # The same vote from the cells' paired embeddings, leaving each cell out: the ceiling
    # that this annotation of 41 fine types allows.
    ref_labels <- as.character(labels$cell_type)
    loo <- multigrade:::mg_knn(model$embedding[seq_along(own), ], model$embedding, 30L, seq_along(own))
    paired_vote <- apply(loo$index, 1, function(ix) names(which.max(table(ref_labels[ix]))))
    ceiling <- mean(paired_vote == truth)
    message(sprintf("own-donor label transfer accuracy: %.3f (paired leave-one-out vote %.3f)", own_accuracy, ceiling))
    expect_gt(own_accuracy, ceiling - 0.1)
})

test_that("mapping and imputation reject bad input with clear errors", {
    cite <- cite_data()
    model <- reference_model()
    q <- cite$obs$batch == "s1d2"
    expect_error(MapToReference(list(rna = cite$rna[, q]), list()), class = "mg_error_model")
    expect_error(MapToReference(list(protein = cite$adt[, q]), model, batch = cite$obs$batch[q]),
        "no modality", class = "mg_error_input")
    expect_error(MapToReference(list(rna = cite$rna[, q]), model, batch = cite$obs$batch[q],
        refdata = list(cell_type = 1:3), verbose = FALSE), "reference has 311 cells", class = "mg_error_input")
    expect_error(MapToReference(list(rna = cite$rna[1:400, q]), model, batch = cite$obs$batch[q],
        verbose = FALSE), "lacks 600", class = "mg_error_input")
    expect_warning(MapToReference(list(rna = cite$rna[-(1:10), q]), model, batch = cite$obs$batch[q],
        max_epochs = 2, verbose = FALSE), class = "mg_warning_missing_features")
    expect_error(ImputeModality(list(rna = cite$rna[, q]), model, target = "protein",
        batch = cite$obs$batch[q]), "must name one", class = "mg_error_input")
    # predict() does not learn new levels; it points to MapToReference.
    expect_error(predict(model, list(rna = cite$rna[, q]), batch = cite$obs$batch[q]),
        "MapToReference", class = "mg_error_unknown_level")
    expect_error(ImputeModality(list(rna = cite$rna[, q]), model, target = "rna",
        batch = cite$obs$batch[q]), class = "mg_error_unknown_level")
    expect_error(ImputeModality(list(rna = cite$rna[, q]), mapped_query()$model, target = "rna",
        batch = cite$obs$batch[q], library_size = -1), "library_size", class = "mg_error_input")
    # The former names k and k_anchor still work, with a warning naming the new ones.
    expect_warning(old <- MapToReference(list(rna = cite$rna[, q]), model, batch = cite$obs$batch[q],
        k_anchor = 0, max_epochs = 2, seed = 1, verbose = FALSE), "n_anchors", class = "mg_warning_deprecated")
    new <- MapToReference(list(rna = cite$rna[, q]), model, batch = cite$obs$batch[q], n_anchors = 0,
        max_epochs = 2, seed = 1, verbose = FALSE)
    expect_identical(old$embedding, new$embedding)
    expect_warning(MapToReference(list(rna = cite$rna[, q]), model, batch = cite$obs$batch[q], k = 5,
        refdata = list(cell_type = cite$obs$cell_type[!q]), max_epochs = 2, seed = 1, verbose = FALSE),
        "n_neighbors", class = "mg_warning_deprecated")
    expect_error(MapToReference(list(rna = cite$rna[, q]), model, batch = cite$obs$batch[q], anchors = 0,
        verbose = FALSE), "Unknown argument", class = "mg_error_input")
})

test_that("a query's missing features are left out of its training loss, not fitted as zeros", {
    s <- split_cite()
    model <- reference_model()
    rna <- s$cite$rna[, s$query]
    dropped <- rownames(rna)[1:50]
    kept <- rna[-(1:50), ]
    map <- function(x) {
        MapToReference(list(rna = x), model, batch = s$cite$obs$batch[s$query],
            max_epochs = 3, n_anchors = 0, seed = 2, verbose = FALSE)
    }
    expect_warning(missing <- map(kept), "left out of the reconstruction loss", class = "mg_warning_missing_features")
    expect_identical(kept, rna[-(1:50), ])  # the caller's matrix is unchanged
    zeros <- rna
    zeros[dropped, ] <- 0
    measured_zeros <- map(zeros)
    # The encoders see the same zeros (test-data-input.R); only the loss differs: measured
    # zeros are fitted, missing features are not.
    expect_false(isTRUE(all.equal(missing$embedding, measured_zeros$embedding)))
    expect_true(all(is.finite(missing$embedding)))
})
