# Quality at the package defaults on real data, against the baselines a user would pick
# instead, computed here with the benchmark's own code (bench/quality). The full table, over
# several seeds, is bench/quality/RESULTS.md; these tests fix one seed and assert the
# properties the defaults were chosen for.

test_that("CITE at the defaults: cell types kept at least as well as by PCA, donors mixed better", {
    q <- quality()
    cite <- cite_data()
    model <- cite_model()  # the defaults, seed fixed (helper-data.R)
    expect_equal(dim(model$embedding), c(600L, 30L))
    ours <- q$integration_metrics(model$embedding, cite$obs$cell_type, cite$obs$batch)
    mods <- list(rna = cite$rna, adt = cite$adt)
    pca <- lapply(c(16L, 30L), function(d) {
        q$integration_metrics(q$pca_embedding(mods, c(rna = "rna", adt = "adt"), d), cite$obs$cell_type, cite$obs$batch)
    })
    best <- function(metric) max(vapply(pca, function(p) p[[metric]], numeric(1)))
    message(sprintf("CITE defaults: kNN accuracy %.3f (PCA %.3f), label ASW %.3f (PCA %.3f), batch mixing %.3f (PCA %.3f)",
        ours[["knn_accuracy"]], best("knn_accuracy"), ours[["label_asw"]], best("label_asw"),
        ours[["batch_mixing"]], best("batch_mixing")))
    expect_gte(ours[["knn_accuracy"]], best("knn_accuracy") - 0.01)
    expect_gte(ours[["label_asw"]], best("label_asw") - 0.01)
    expect_gt(ours[["batch_mixing"]], best("batch_mixing"))
})

test_that("Multiome at the defaults: label ASW and mixing at least PCA's, kNN accuracy close", {
    q <- quality()
    mo <- multiome_data()
    model <- RunMultigrade(list(rna = mo$rna, atac = mo$atac), batch = mo$obs$batch, seed = 3, verbose = FALSE)
    ours <- q$integration_metrics(model$embedding, mo$obs$cell_type, mo$obs$batch)
    pca <- q$integration_metrics(q$pca_embedding(list(rna = mo$rna, atac = mo$atac), c(rna = "rna", atac = "atac"), 16L),
        mo$obs$cell_type, mo$obs$batch)
    message(sprintf("Multiome defaults: kNN accuracy %.3f (PCA %.3f), label ASW %.3f (PCA %.3f), batch mixing %.3f (PCA %.3f)",
        ours[["knn_accuracy"]], pca[["knn_accuracy"]], ours[["label_asw"]], pca[["label_asw"]],
        ours[["batch_mixing"]], pca[["batch_mixing"]]))
    expect_gte(ours[["label_asw"]], pca[["label_asw"]] - 0.01)
    expect_gt(ours[["batch_mixing"]], pca[["batch_mixing"]])
    # PCA keeps the 21 types slightly better by kNN accuracy: 0.624 against 0.61 +- 0.02 over
    # seeds (bench/quality/RESULTS.md); a larger gap would be a regression.
    expect_gte(ours[["knn_accuracy"]], pca[["knn_accuracy"]] - 0.04)
})

test_that("an RNA-only query from a new donor lands among the reference cells and transfers labels", {
    q <- quality()
    s <- split_cite()
    model <- reference_model()
    query <- list(rna = s$cite$rna[, s$query])
    labels <- as.character(s$cite$obs$cell_type)
    mapped <- MapToReference(query, model, batch = s$cite$obs$batch[s$query],
        refdata = list(cell_type = labels[s$ref]), seed = 5, verbose = FALSE)
    raw <- MapToReference(query, model, batch = s$cite$obs$batch[s$query], n_anchors = 0, seed = 5, verbose = FALSE)
    set <- rep(c("reference", "query"), c(sum(s$ref), sum(s$query)))
    mixing <- q$batch_mixing(rbind(model$embedding, mapped$embedding), set)
    raw_mixing <- q$batch_mixing(rbind(model$embedding, raw$embedding), set)
    accuracy <- mean(mapped$predictions$predicted.cell_type == labels[s$query])
    # Baselines: Seurat's reference mapping, and a kNN vote on the RNA principal components
    # (query projected on the reference's), with k chosen inside the reference.
    seurat <- q$seurat_transfer(s$cite$rna[, s$ref], s$cite$rna[, s$query], labels[s$ref])
    pcs <- q$rna_projection(s$cite$rna[, s$ref], s$cite$rna[, s$query], 30L)
    k <- q$cv_k(pcs$reference, labels[s$ref])
    rna_knn <- q$transfer_accuracy(pcs$reference, pcs$query, labels[s$ref], labels[s$query], k)
    message(sprintf("RNA-only query: mixing %.3f (own posterior %.3f); labels %.3f (Seurat %.3f, %d-NN on RNA PCs %.3f)",
        mixing, raw_mixing, accuracy, mean(seurat$labels == labels[s$query]), k, rna_knn))
    expect_gt(mixing, 0.5)
    expect_gt(mixing, raw_mixing + 0.3)
    expect_gte(accuracy, mean(seurat$labels == labels[s$query]))
    expect_gte(accuracy, rna_knn)
})

test_that("an ADT-only query transfers labels at least as well as 15 nearest neighbours on its proteins", {
    q <- quality()
    s <- split_cite()
    model <- reference_model()
    labels <- as.character(s$cite$obs$cell_type)
    mapped <- MapToReference(list(adt = s$cite$adt[, s$query]), model, batch = s$cite$obs$batch[s$query],
        refdata = list(cell_type = labels[s$ref]), seed = 5, verbose = FALSE)
    accuracy <- mean(mapped$predictions$predicted.cell_type == labels[s$query])
    set <- rep(c("reference", "query"), c(sum(s$ref), sum(s$query)))
    mixing <- q$batch_mixing(rbind(model$embedding, mapped$embedding), set)
    adt_15nn <- q$transfer_accuracy(t(s$cite$adt[, s$ref]), t(s$cite$adt[, s$query]), labels[s$ref],
        labels[s$query], 15L)
    k <- q$cv_k(t(s$cite$adt[, s$ref]), labels[s$ref])
    adt_cv <- q$transfer_accuracy(t(s$cite$adt[, s$ref]), t(s$cite$adt[, s$query]), labels[s$ref], labels[s$query], k)
    # The issue's comparator is 15-NN on the protein values; with k chosen inside the reference
    # (k = 5) the protein values win on these 41 fine types (RESULTS.md says so).
    message(sprintf("ADT-only query: mixing %.3f; labels %.3f (15-NN on ADT %.3f, %d-NN %.3f)",
        mixing, accuracy, adt_15nn, k, adt_cv))
    expect_gt(mixing, 0.5)
    expect_gte(accuracy, adt_15nn)
})

test_that("ATAC-only and paired Multiome queries land among the reference cells; ATAC-only labels beat kNN on LSI", {
    q <- quality()
    mo <- multiome_data()
    ref <- mo$obs$batch == "s1d1"
    labels <- as.character(mo$obs$cell_type)
    model <- RunMultigrade(list(rna = mo$rna[, ref], atac = mo$atac[, ref]), batch = mo$obs$batch[ref],
        seed = 3, verbose = FALSE)
    set <- rep(c("reference", "query"), c(sum(ref), sum(!ref)))
    map <- function(mods) {
        MapToReference(list(rna = mo$rna[, !ref], atac = mo$atac[, !ref])[mods], model, batch = mo$obs$batch[!ref],
            refdata = list(cell_type = labels[ref]), seed = 3, verbose = FALSE)
    }
    atac <- map("atac")
    paired <- map(c("rna", "atac"))
    atac_mixing <- q$batch_mixing(rbind(model$embedding, atac$embedding), set)
    paired_mixing <- q$batch_mixing(rbind(model$embedding, paired$embedding), set)
    accuracy <- mean(atac$predictions$predicted.cell_type == labels[!ref])
    # Baseline: kNN on the peaks' LSI (TF-IDF, components 2-31, as bench/quality/run.R), k
    # chosen inside the reference.
    x <- q$lsi_embedding(q$tfidf(mo$atac), 30L)
    k <- q$cv_k(x[ref, ], labels[ref])
    lsi_knn <- q$transfer_accuracy(x[ref, ], x[!ref, ], labels[ref], labels[!ref], k)
    message(sprintf("Multiome queries: ATAC-only mixing %.3f, labels %.3f (%d-NN on LSI %.3f); paired mixing %.3f",
        atac_mixing, accuracy, k, lsi_knn, paired_mixing))
    expect_gt(atac_mixing, 0.5)
    expect_gt(paired_mixing, 0.5)
    expect_gte(accuracy, lsi_knn)
})

test_that("imputed protein at the defaults beats Seurat TransferData and least squares on RNA PCs", {
    q <- quality()
    s <- split_cite()
    mapped <- mapped_query()
    imputed <- ImputeModality(list(rna = s$cite$rna[, s$query]), mapped$model, target = "adt",
        batch = s$cite$obs$batch[s$query])
    truth <- s$cite$adt[, s$query]
    ours <- q$imputation_scores(imputed, truth)
    seurat <- q$seurat_transfer(s$cite$rna[, s$ref], s$cite$rna[, s$query], rep("x", sum(s$ref)),
        list(adt = s$cite$adt[, s$ref]))
    seurat_scores <- q$imputation_scores(seurat$transferred$adt[rownames(truth), ], truth)
    pcs <- q$rna_projection(s$cite$rna[, s$ref], s$cite$rna[, s$query], 30L)
    linear <- q$imputation_scores(q$linear_regression(pcs$reference, pcs$query, s$cite$adt[, s$ref]), truth)
    message(sprintf("CITE s1d1 -> s1d2 ADT imputation: RMSE %.4f, Pearson %.3f (Seurat %.4f / %.3f, least squares %.4f / %.3f)",
        ours[["rmse"]], ours[["pearson"]], seurat_scores[["rmse"]], seurat_scores[["pearson"]],
        linear[["rmse"]], linear[["pearson"]]))
    expect_lt(ours[["rmse"]], seurat_scores[["rmse"]])
    expect_lt(ours[["rmse"]], linear[["rmse"]])
    expect_gt(ours[["pearson"]], seurat_scores[["pearson"]])
})

test_that("the mapping score is low for a cell type the reference lacks and high for the others", {
    s <- split_cite()
    labels <- as.character(s$cite$obs$cell_type)
    ref <- s$ref & labels != "CD14+ Mono"
    model <- RunMultigrade(list(rna = s$cite$rna[, ref], adt = s$cite$adt[, ref]), batch = s$cite$obs$batch[ref],
        seed = 2, verbose = FALSE)
    absent <- labels[s$query] == "CD14+ Mono"
    for (mods in list("rna", "adt", c("rna", "adt"))) {
        mapped <- MapToReference(list(rna = s$cite$rna[, s$query], adt = s$cite$adt[, s$query])[mods], model,
            batch = s$cite$obs$batch[s$query], seed = 2, verbose = FALSE)
        score <- mapped$predictions$mapping.score
        auc <- mean(outer(score[!absent], score[absent], ">") + 0.5 * outer(score[!absent], score[absent], "=="))
        message(sprintf("mapping score (%s query): %.3f for types in the reference, %.3f for CD14+ Mono; AUC %.3f",
            paste(mods, collapse = " + "), mean(score[!absent]), mean(score[absent]), auc))
        expect_true(all(score >= 0 & score <= 1))
        expect_gt(auc, 0.85)
        expect_lt(mean(score[absent]), mean(score[!absent]) - 0.3)
    }
})

test_that("the query's new donor row does not pull it away from the reference", {
    q <- quality()
    s <- split_cite()
    model <- reference_model()
    labels <- as.character(s$cite$obs$cell_type)
    for (mod in c("rna", "adt")) {
        query <- list(s$cite[[mod]][, s$query])
        names(query) <- mod
        mapped <- MapToReference(query, model, batch = s$cite$obs$batch[s$query], seed = 5, verbose = FALSE)
        learned <- predict(mapped$model, query, batch = s$cite$obs$batch[s$query])
        as_reference_donor <- predict(model, query, batch = rep("s1d1", sum(s$query)))
        own <- model$subset_embeddings[[mod]]
        set <- rep(c("reference", "query"), c(nrow(own), sum(s$query)))
        with_row <- q$batch_mixing(rbind(own, learned), set)
        without <- q$batch_mixing(rbind(own, as_reference_donor), set)
        message(sprintf("%s query among the reference's %s embeddings: mixing %.3f with its learned row, %.3f as donor s1d1",
            mod, mod, with_row, without))
        expect_gt(with_row, 0.9 * without)
    }
})

test_that("training that ends before it converged says so; the defaults follow the data size", {
    cite <- cite_data()
    short <- with_warnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
        max_epochs = 8, seed = 1, verbose = FALSE))
    classes <- unlist(lapply(short$warnings, class))
    expect_true("mg_warning_not_converged" %in% classes)
    expect_true(any(grepl("max_epochs = 16", vapply(short$warnings, conditionMessage, ""))))
    # The shared default model (helper-data.R) converged without a warning.
    expect_false(isTRUE(multigrade:::warn_if_not_converged(cite_model()$history, nrow(cite_model()$history))))
    expect_equal(nrow(cite_model()$history) <= multigrade:::auto_max_epochs(540, 32L), TRUE)

    # Minibatches of about a sixteenth of the training cells (32 to 256); epochs for ~850 *
    # sqrt(n / 500) steps within [10, 200]; one thread for small minibatches.
    expect_identical(multigrade:::auto_batch_size(c(280)), 32L)
    expect_identical(multigrade:::auto_batch_size(2000), 128L)
    expect_identical(multigrade:::auto_batch_size(1e6), 256L)
    expect_identical(multigrade:::training_schedule(600, 0.9), list(batch_size = 32L, max_epochs = 52L))
    expect_identical(multigrade:::training_schedule(600, 0.9, batch_size = 100L, max_epochs = 7L),
        list(batch_size = 100L, max_epochs = 7L))
    expect_identical(multigrade:::auto_max_epochs(1e7, 256L), 10L)
    expect_identical(multigrade:::auto_max_epochs(30, 32L), 200L)
    saved <- options(multigrade.n_threads = NULL)
    expect_identical(multigrade:::resolve_threads(NULL, 32L), 1L)
    expect_identical(multigrade:::resolve_threads(3L, 32L), 3L)
    expect_identical(multigrade:::resolve_threads(NULL, 256L), multigrade:::default_threads())
    # The option comes before the small-minibatch rule, as multigrade_options() documents.
    options(multigrade.n_threads = 2L)
    expect_identical(multigrade:::resolve_threads(NULL, 32L), 2L)
    expect_identical(multigrade:::resolve_threads(), 2L)
    options(saved)
    # Balanced modality weights: each modality counts as much as the largest in total.
    mods <- list(rna = list(features = character(1000)), adt = list(features = character(125)))
    expect_equal(multigrade:::modality_coefficients("balanced", mods), list(rna = 1, adt = 8))
    expect_equal(multigrade:::modality_coefficients(NULL, mods), list(rna = 1, adt = 1))
    expect_equal(multigrade:::modality_coefficients(c(adt = 3), mods), list(rna = 1, adt = 3))
    expect_equal(unname(vapply(cite_model()$config$modalities, `[[`, 1, "coef")), c(1, 1000 / 134))
})
