# Training on real data from a list of matrices: integration quality, mosaic input,
# reproducibility, prediction.

test_that("CITE (RNA nb + ADT mse): integration mixes donors better than PCA and keeps cell types apart", {
    cite <- cite_data()
    model <- cite_model()
    expect_s3_class(model, "multigrade_model")
    expect_equal(dim(model$embedding), c(600L, 30L))
    expect_identical(rownames(model$embedding), colnames(cite$rna))
    expect_true(all(is.finite(model$embedding)))
    h <- model$history
    expect_gt(nrow(h), 20)
    expect_lt(min(h$validation_reconstruction), 0.8 * h$validation_reconstruction[1])

    ours <- multigrade:::integration_summary(model$embedding, cite$obs$cell_type, cite$obs$batch)
    pca <- multigrade:::integration_summary(
        multigrade:::pca_baseline(list(rna = cite$rna, adt = cite$adt), c(rna = "nb", adt = "mse"), 16),
        cite$obs$cell_type, cite$obs$batch)
    expect_gt(ours$knn_other_batch, pca$knn_other_batch)
    expect_lt(ours$batch_silhouette, pca$batch_silhouette)
    expect_gt(ours$knn_other_batch, 0.85 * multigrade:::knn_mixing_ceiling(cite$obs$cell_type, cite$obs$batch))
    expect_gt(ours$celltype_asw, pca$celltype_asw - 0.02)
})

test_that("the mixing metrics reward noise, so the ceiling and controls mean what the demo says", {
    cite <- cite_data()
    set.seed(3)
    random <- matrix(rnorm(600 * 16), 600)
    scores <- multigrade:::integration_summary(random, cite$obs$cell_type, cite$obs$batch)
    ceiling <- multigrade:::knn_mixing_ceiling(cite$obs$cell_type, cite$obs$batch)
    # Two donors of similar size: random neighbours come from the other donor about half the time.
    expect_lt(abs(scores$knn_other_batch - 0.5), 0.03)
    expect_gt(scores$batch_asw, 0.85)
    expect_lt(abs(scores$batch_silhouette), 0.01)
    expect_lt(scores$celltype_asw, 0.45)
    expect_true(ceiling > 0.3 && ceiling < 0.5)
})

test_that("Multiome (RNA nb + ATAC bernoulli) trains and separates cell types", {
    mo <- multiome_data()
    set.seed(7)
    model <- RunMultigrade(list(rna = mo$rna, atac = mo$atac),
        likelihoods = c(rna = "nb", atac = "bernoulli"), batch = mo$obs$batch,
        max_epochs = 60, batch_size = 64, verbose = FALSE,
        options = multigrade_options(n_threads = 2L))
    expect_true(all(is.finite(model$embedding)))
    h <- model$history
    expect_lt(utils::tail(h$validation_reconstruction, 1), h$validation_reconstruction[1])
    # Cell types are more separated than random labels would be.
    ours <- multigrade:::integration_summary(model$embedding, mo$obs$cell_type, mo$obs$batch)
    shuffled <- multigrade:::integration_summary(model$embedding, sample(mo$obs$cell_type), mo$obs$batch)
    expect_gt(ours$celltype_asw, shuffled$celltype_asw + 0.05)
})

test_that("mosaic input: cells missing ADT are trained on and embedded near their paired position", {
    cite <- cite_data()
    adt <- cite$adt
    missing <- seq(1, ncol(adt), by = 3)
    adt[, missing] <- NA
    set.seed(11)
    model <- RunMultigrade(list(rna = cite$rna, adt = adt), batch = cite$obs$batch,
        max_epochs = 60, batch_size = 64, verbose = FALSE, options = multigrade_options(n_threads = 2L))
    expect_equal(nrow(model$embedding), ncol(adt))
    expect_true(all(is.finite(model$embedding)))
    expect_equal(model$modalities$adt$n_cells, ncol(adt) - length(missing))
    # The RNA-only cells land among cells of their own type more often than by chance: the
    # vote of their 5 nearest paired cells (1-NN alone varies 0.14-0.31 over seeds 11-14;
    # the 5-NN vote 0.21-0.44, 0.32 at this seed).
    d <- as.matrix(dist(model$embedding))
    diag(d) <- Inf
    paired_type <- as.character(cite$obs$cell_type[-missing])
    vote <- apply(d[missing, -missing], 1, function(r) {
        names(which.max(table(paired_type[order(r)[1:5]])))
    })
    same_type <- mean(as.character(cite$obs$cell_type[missing]) == vote)
    chance <- sum(prop.table(table(cite$obs$cell_type))^2)
    expect_gt(same_type, 3 * chance)
    # The explicit `present` argument gives the same model as NA columns.
    present <- cbind(rna = TRUE, adt = !seq_len(ncol(adt)) %in% missing)
    set.seed(11)
    again <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, present = present,
        max_epochs = 2, batch_size = 64, verbose = FALSE, options = multigrade_options(n_threads = 2L))
    expect_equal(again$modalities$adt$n_cells, model$modalities$adt$n_cells)
})

test_that("set.seed() makes training reproducible; seeds give different runs", {
    cite <- cite_data()
    mats <- list(rna = cite$rna, adt = cite$adt)
    set.seed(1)
    a <- RunMultigrade(mats, batch = cite$obs$batch, max_epochs = 3, verbose = FALSE, options = quick_options())
    set.seed(1)
    b <- RunMultigrade(mats, batch = cite$obs$batch, max_epochs = 3, verbose = FALSE, options = quick_options())
    expect_identical(a$embedding, b$embedding)
    expect_identical(a$seed, b$seed)
    c <- quick_model(mats, batch = cite$obs$batch, seed = 99)
    expect_false(isTRUE(all.equal(a$embedding, c$embedding)))
})

test_that("the embeddings training returns are predict()'s, joint and from each modality alone", {
    cite <- cite_data()
    mats <- list(rna = cite$rna, adt = cite$adt)
    model <- quick_model(mats, batch = cite$obs$batch, max_epochs = 3)
    # The training session encodes its own cells (no second copy of the data or weights);
    # predict() encodes them afresh from the saved weights: the same numbers, bit for bit.
    expect_identical(predict(model, mats, batch = cite$obs$batch), model$embedding)
    for (m in names(mats)) {
        alone <- predict(model, mats[m], batch = cite$obs$batch)
        expect_identical(unname(alone), model$subset_embeddings[[m]])
    }
    expect_false(isTRUE(all.equal(model$subset_embeddings$rna, unname(model$embedding))))
})

test_that("continuous covariates (several) and the mixture posterior train", {
    cite <- cite_data()
    cont <- data.frame(depth = log1p(Matrix::colSums(cite$rna)), adt_depth = log1p(Matrix::colSums(cite$adt_counts)))
    model <- quick_model(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, continuous = cont)
    expect_equal(model$covariates$continuous, c("depth", "adt_depth"))
    expect_true(all(is.finite(model$embedding)))
    mix <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), max_epochs = 2, seed = 1, verbose = FALSE,
        options = quick_options(mixing = "mixture", alignment = "both"), batch = cite$obs$batch)
    expect_true(all(is.finite(mix$embedding)))
    zinb <- quick_model(list(rna = cite$rna), likelihoods = c(rna = "zinb"))
    expect_true(all(is.finite(zinb$embedding)))
})

test_that("dense and sparse count matrices train to the same model", {
    # The CPU path reads nb counts as sparse rows either way; a dense input must give the
    # same rows (same values, same order) and so the same embedding.
    cite <- cite_data()
    rna_dense <- as.matrix(cite$rna[1:300, ])
    sparse <- quick_model(list(rna = methods::as(rna_dense, "dgCMatrix"), adt = cite$adt),
        likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch)
    dense <- quick_model(list(rna = rna_dense, adt = cite$adt),
        likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch)
    expect_equal(dense$history$train_loss, sparse$history$train_loss, tolerance = 1e-6)
    expect_equal(dense$embedding, sparse$embedding, tolerance = 1e-6)
})

test_that("data placed on the device train like host-gathered batches; options are validated", {
    # data_placement = "device" on the CPU runs the GPU's code path: the whole data set is
    # copied once and each minibatch is gathered by index (dense counts, no fused sparse
    # kernels). Same seed, same draws: the runs differ by float rounding only.
    cite <- cite_data()
    mats <- list(rna = cite$rna, adt = cite$adt)
    run <- function(placement, precision = "highest") {
        RunMultigrade(mats, likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch,
            max_epochs = 3, seed = 4, verbose = FALSE,
            options = quick_options(data_placement = placement, matmul_precision = precision))
    }
    host <- run("host")
    placed <- run("device")
    expect_equal(placed$history$train_loss, host$history$train_loss, tolerance = 1e-5)
    expect_equal(placed$history$validation_loss, host$history$validation_loss, tolerance = 1e-5)
    expect_equal(placed$embedding, host$embedding, tolerance = 1e-3)
    # TF32 is a CUDA setting: on the CPU the run is the same.
    expect_identical(run("auto", "high")$embedding, run("auto")$embedding)
    expect_error(quick_options(data_placement = "gpu"), "should be one of")
    expect_error(quick_options(matmul_precision = "low"), "should be one of")
})

test_that("the consistency term pulls each modality's expert towards the cell's joint evidence", {
    cite <- cite_data()
    fit <- function(coef) {
        suppressWarnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
            max_epochs = 20, seed = 1, verbose = FALSE, options = multigrade_options(consistency_coef = coef)))
    }
    off <- fit(0)
    on <- fit(1)
    # Off, the term is not computed; on, it is reported per cell and falls during training.
    expect_true(all(off$history$train_consistency == 0))
    expect_true(all(is.finite(on$history$train_consistency) & on$history$train_consistency > 0))
    expect_lt(utils::tail(on$history$train_consistency, 1), on$history$train_consistency[1])
    # The same cells embedded from RNA alone and from ADT alone lie closer together, relative
    # to the spread of the joint embedding (measured 0.31 without the term, 0.15 with it).
    gap <- function(model) {
        s <- model$subset_embeddings
        mean(rowSums((s$rna - s$adt)^2)) / mean(rowSums(scale(model$embedding, scale = FALSE)^2))
    }
    expect_lt(gap(on), 0.75 * gap(off))
})
