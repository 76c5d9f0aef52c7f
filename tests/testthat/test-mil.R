# MultiMIL: prediction of sample labels and attention on real cells (NeurIPS CITE cells in
# a planted cohort, the glioblastoma cohort), and the API's keying by names.

# Samples drawn from one donor's real cells: "disease" samples hold `enriched` of the
# target cell type, controls `base`. Cell names are unique per sample.
planted_cohort <- function(embedding, cell_type, donor_cells, n_samples, prefix, target = "CD14+ Mono",
                           n_cells = 60, enriched = 0.35, base = 0.05, disease = NULL) {
    is_target <- cell_type[donor_cells] == target
    targets <- donor_cells[is_target]
    others <- donor_cells[!is_target]
    if (is.null(disease)) disease <- rep(c(FALSE, TRUE), length.out = n_samples)
    parts <- lapply(seq_len(n_samples), function(s) {
        n_target <- round(n_cells * if (disease[s]) enriched else base)
        cells <- c(sample(targets, n_target), sample(others, n_cells - n_target))
        emb <- embedding[cells, , drop = FALSE]
        rownames(emb) <- paste0(prefix, s, "_", cells)
        list(emb = emb, sample = rep(paste0(prefix, s), n_cells),
            label = rep(if (disease[s]) "disease" else "control", n_cells),
            is_target = cell_type[cells] == target)
    })
    list(embedding = do.call(rbind, lapply(parts, `[[`, "emb")),
        sample = unlist(lapply(parts, `[[`, "sample")), label = unlist(lapply(parts, `[[`, "label")),
        is_target = unlist(lapply(parts, `[[`, "is_target")))
}

# The CITE cells in the latent space of the model trained on both donors, by donor.
cite_cells <- function() {
    cite <- cite_data()
    embedding <- cite_model()$embedding
    list(embedding = embedding,
        cell_type = stats::setNames(as.character(cite$obs$cell_type), rownames(embedding)),
        s1d1 = rownames(embedding)[cite$obs$batch == "s1d1"], s1d2 = rownames(embedding)[cite$obs$batch == "s1d2"])
}

cite_cohorts <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            cells <- cite_cells()
            set.seed(7)
            cache <<- list(
                train = planted_cohort(cells$embedding, cells$cell_type, cells$s1d1, 20, "train"),
                test = planted_cohort(cells$embedding, cells$cell_type, cells$s1d2, 12, "test"))
        }
        cache
    }
})

# Fraction of the target type among each disease sample's top 10% attention cells.
top_target_fraction <- function(attention, cohort) {
    disease <- cohort$label == "disease"
    top <- multigrade:::top_attention_cells(attention[rownames(cohort$embedding)], cohort$sample, 0.1)
    mean(cohort$is_target[top & disease])
}

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
    # n_folds, formerly k (still accepted, with a warning).
    expect_warning(two <- CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
        group = gbm$obs$patient_id, k = 2, baselines = FALSE, max_epochs = 2, seed = 1, verbose = FALSE),
        "n_folds", class = "mg_warning_deprecated")
    expect_equal(max(two$folds), 2)
    expect_error(CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
        group = gbm$obs$patient_id, n_folds = 9, verbose = FALSE), "only 5 groups")
})

test_that("MultiMIL models survive SaveMultigrade/LoadMultigrade and saveRDS", {
    cohorts <- cite_cohorts()
    fit <- RunMultiMIL(cohorts$train$embedding, sample = cohorts$train$sample, label = cohorts$train$label,
        max_epochs = 3, seed = 1, verbose = FALSE)
    path <- tempfile(fileext = ".h5")
    SaveMultigrade(fit, path)
    again <- LoadMultigrade(path)
    expect_s3_class(again, "multimil_model")
    expect_equal(again$samples, fit$samples)
    expect_equal(again$attention, fit$attention)
    a <- PredictSamples(cohorts$test$embedding, fit, sample = cohorts$test$sample)
    b <- PredictSamples(cohorts$test$embedding, again, sample = cohorts$test$sample)
    expect_identical(b$samples, a$samples)
    expect_identical(b$attention, a$attention)
    rds <- tempfile(fileext = ".rds")
    saveRDS(fit, rds)
    expect_identical(PredictSamples(cohorts$test$embedding, readRDS(rds), sample = cohorts$test$sample)$attention,
        a$attention)
})

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

test_that("RunMultiMIL and PredictSamples work on Seurat objects and SingleCellExperiments", {
    skip_if_not_installed("SeuratObject")
    skip_if_not_installed("SingleCellExperiment")
    gbm <- multigrade_example("glioblastoma")
    pcs <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
    colnames(pcs) <- paste0("PC_", 1:10)
    obj <- suppressWarnings(SeuratObject::CreateSeuratObject(gbm$counts, meta.data = gbm$obs))
    obj[["pca"]] <- SeuratObject::CreateDimReducObject(pcs, key = "PC_", assay = "RNA")
    ref <- obj[, obj$patient_id != "PW040"]
    query <- obj[, obj$patient_id == "PW040"]
    ref <- RunMultiMIL(ref, sample = "sample_id", label = "condition", reduction = "pca", max_epochs = 30,
        seed = 1, verbose = FALSE)
    expect_true(all(c("mil.attention", "mil.attention.relative", "mil.predicted") %in% names(ref[[]])))
    fit <- ref@misc$multimil
    expect_equal(unname(ref$mil.attention), unname(fit$attention[colnames(ref)]))
    expect_equal(nrow(SamplePredictions(ref)), 8)
    query <- PredictSamples(query, fit)
    pred <- SamplePredictions(query)
    expect_equal(sort(pred$sample), c("PW040-711", "PW040-712"))
    expect_equal(as.character(query$mil.predicted), as.character(pred$predicted[match(query$sample_id, pred$sample)]))
    sums <- tapply(query$mil.attention, query$sample_id, sum)
    expect_equal(as.numeric(sums), c(1, 1), tolerance = 1e-5)

    sce <- SingleCellExperiment::SingleCellExperiment(list(counts = gbm$counts), colData = gbm$obs,
        reducedDims = list(PCA = pcs))
    sce <- RunMultiMIL(sce, sample = "sample_id", label = "condition", reduction = "PCA", max_epochs = 5,
        seed = 1, verbose = FALSE)
    expect_true("mil.attention" %in% names(SummarizedExperiment::colData(sce)))
    expect_equal(nrow(SamplePredictions(sce)), 10)
    again <- PredictSamples(sce, reduction = "PCA")
    expect_equal(again$mil.attention, sce$mil.attention, tolerance = 1e-6)
    # End to end from the object's counts (reduction = NULL): the VAE's latent space is added.
    e2e <- RunMultiMIL(obj, sample = "sample_id", label = "condition", reduction = NULL, likelihoods = c(RNA = "nb"),
        batch = "patient_id", max_epochs = 3, seed = 1, verbose = FALSE,
        options = multigrade_options(n_threads = 2L))
    expect_true("multigrade" %in% SeuratObject::Reductions(e2e))
    expect_equal(dim(SeuratObject::Embeddings(e2e, "multigrade")), c(ncol(obj), 16L))
    expect_s3_class(e2e@misc$multimil$vae, "multigrade_model")
    expect_false(anyNA(e2e$mil.attention))
    sce_e2e <- RunMultiMIL(sce, sample = "sample_id", label = "condition", reduction = NULL,
        likelihoods = c(RNA = "nb"), max_epochs = 2, seed = 1, verbose = FALSE)
    expect_true("MULTIGRADE" %in% SingleCellExperiment::reducedDimNames(sce_e2e))
    cv <- CrossValidateMIL(obj, sample = "sample_id", label = "condition", group = "patient_id", reduction = "pca",
        max_epochs = 10, seed = 1, verbose = FALSE, baselines = FALSE)
    expect_equal(cv$summary$method, "multimil")
    expect_equal(sort(names(cv$attention)), sort(colnames(obj)))
    expect_error(RunMultiMIL(obj, sample = "nope", label = "condition", reduction = "pca", verbose = FALSE),
        "not found")
    expect_error(RunMultiMIL(obj, reduction = "umap", verbose = FALSE), "Reduction")
    reps <- SampleRepresentations(pcs, gbm$obs$sample_id, stats::setNames(sce$mil.attention, colnames(sce)),
        method = "attention")
    expect_equal(dim(reps), c(10, 10))
    plain <- SampleRepresentations(pcs, gbm$obs$sample_id, method = "mean")
    expect_equal(plain[1, ], colMeans(pcs[gbm$obs$sample_id == rownames(plain)[1], ]))
})

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
