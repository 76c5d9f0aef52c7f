# ScoreIntegration against independent computations, then on real embeddings.

pair_counting_ari <- function(a, b) {
    n <- length(a)
    same_a <- same_b <- logical(0)
    for (i in 1:(n - 1)) for (j in (i + 1):n) {
        same_a <- c(same_a, a[i] == a[j])
        same_b <- c(same_b, b[i] == b[j])
    }
    both <- sum(same_a & same_b)
    only_a <- sum(same_a & !same_b)
    only_b <- sum(!same_a & same_b)
    neither <- sum(!same_a & !same_b)
    2 * (both * neither - only_a * only_b) /
        ((both + only_a) * (only_a + neither) + (both + only_b) * (only_b + neither))
}

direct_nmi <- function(a, b) {
    n <- length(a)
    mi <- 0
    for (x in unique(a)) for (y in unique(b)) {
        pxy <- sum(a == x & b == y) / n
        if (pxy > 0) mi <- mi + pxy * log(pxy / (mean(a == x) * mean(b == y)))
    }
    h <- function(v) -sum(vapply(unique(v), function(u) mean(v == u) * log(mean(v == u)), 0))
    mi / ((h(a) + h(b)) / 2)
}

direct_silhouette <- function(x, labels) {
    d <- as.matrix(stats::dist(x))
    vapply(seq_len(nrow(x)), function(i) {
        own <- labels == labels[i]
        own[i] <- FALSE
        if (!any(own)) return(0)
        a <- mean(d[i, own])
        b <- min(vapply(setdiff(unique(labels), labels[i]), function(l) mean(d[i, labels == l]), 0))
        (b - a) / max(a, b)
    }, 0)
}

test_that("ARI and NMI agree with pair counting and the entropy definition", {
    set.seed(4)
    for (trial in 1:5) {
        a <- sample(letters[1:4], 40, replace = TRUE)
        b <- ifelse(runif(40) < 0.6, a, sample(letters[1:5], 40, replace = TRUE))
        expect_equal(multigrade:::adjusted_rand_index(a, b), pair_counting_ari(a, b), tolerance = 1e-12)
        expect_equal(multigrade:::normalized_mutual_information(a, b), direct_nmi(a, b), tolerance = 1e-12)
    }
    expect_equal(multigrade:::adjusted_rand_index(c(1, 1, 2, 2), c("x", "x", "y", "y")), 1)
    expect_equal(multigrade:::normalized_mutual_information(c(1, 1, 2, 2), c(5, 5, 7, 7)), 1)
})

test_that("silhouettes, isolated labels and graph connectivity match direct computations", {
    set.seed(9)
    x <- rbind(matrix(rnorm(40, 0), 20), matrix(rnorm(40, 5), 20), matrix(rnorm(20, c(0, 10)), 10, byrow = TRUE))
    labels <- rep(c("A", "B", "C"), c(20, 20, 10))
    batch <- c(rep(c("b1", "b2"), 20), rep("b1", 10))
    scores <- ScoreIntegration(x, labels, batch, n_neighbors = 5, resolutions = c(0.5, 1))
    expect_equal(scores$celltype_asw, mean((direct_silhouette(x, labels) + 1) / 2), tolerance = 1e-10)
    # C is the only label seen in one batch: its label-vs-rest silhouette.
    vs_rest <- direct_silhouette(x, ifelse(labels == "C", "C", "rest"))
    expect_equal(scores$isolated_label_asw, mean((vs_rest[labels == "C"] + 1) / 2), tolerance = 1e-10)
    per_label <- vapply(c("A", "B"), function(l) {
        i <- labels == l
        mean(1 - abs(direct_silhouette(x[i, ], batch[i])))
    }, 0)
    expect_equal(scores$batch_asw, mean(per_label), tolerance = 1e-10)
    # scIB's aggregates from the directly computed metrics (and the clustering scores).
    batch_direct <- mean(c(mean(per_label), scores$graph_connectivity))
    bio_direct <- mean(c(scores$nmi, scores$ari, mean((direct_silhouette(x, labels) + 1) / 2),
        mean((vs_rest[labels == "C"] + 1) / 2)))
    expect_equal(scores$batch_correction, batch_direct, tolerance = 1e-10)
    expect_equal(scores$bio_conservation, bio_direct, tolerance = 1e-10)
    expect_equal(scores$overall, 0.4 * batch_direct + 0.6 * bio_direct, tolerance = 1e-10)

    # A label split into two far-apart halves: half its cells are in its largest component.
    split <- rbind(matrix(rnorm(20, 0, 0.1), 10), matrix(rnorm(20, 100, 0.1), 10), matrix(rnorm(20, 50, 0.1), 10))
    conn <- ScoreIntegration(split, rep(c("A", "B"), c(20, 10)), rep(c("b1", "b2"), 15), n_neighbors = 9,
        resolutions = 1)
    expect_equal(conn$graph_connectivity, mean(c(0.5, 1)))
    expect_error(ScoreIntegration(x, labels[-1], batch), "one non-missing value per cell", class = "mg_error_input")
    # The former name k still works, with a warning.
    expect_warning(old <- ScoreIntegration(x, labels, batch, k = 5, resolutions = c(0.5, 1)), "n_neighbors",
        class = "mg_warning_deprecated")
    expect_equal(old, scores)
    expect_error(ScoreIntegration(x, labels, batch, neighbours = 5), "Unknown argument", class = "mg_error_input")
    expect_error(ScoreIntegration(x[, 0], labels, batch), class = "mg_error_input")
})

test_that("ScoreIntegration ranks real embeddings sensibly and leaves R's RNG alone", {
    cite <- cite_data()
    pca <- multigrade:::pca_baseline(list(rna = cite$rna, adt = cite$adt), c(rna = "nb", adt = "mse"), 16)
    embedding <- cite_model()$embedding
    set.seed(1)
    before <- .Random.seed
    ours <- ScoreIntegration(embedding, cite$obs$cell_type, cite$obs$batch)
    expect_identical(.Random.seed, before)
    base <- ScoreIntegration(pca, cite$obs$cell_type, cite$obs$batch)
    noise <- ScoreIntegration(matrix(rnorm(600 * 16), 600), cite$obs$cell_type, cite$obs$batch)
    metrics <- c("nmi", "ari", "celltype_asw", "isolated_label_asw", "batch_asw", "graph_connectivity")
    for (s in list(ours, base, noise)) expect_true(all(unlist(s[metrics]) >= 0 & unlist(s[metrics]) <= 1))
    expect_gt(ours$bio_conservation, noise$bio_conservation + 0.2)
    expect_gt(ours$celltype_asw, base$celltype_asw)
    message(sprintf("scIB on CITE: multigrade overall %.3f (bio %.3f, batch %.3f, NMI %.3f, ARI %.3f); PCA overall %.3f (NMI %.3f, ARI %.3f)",
        ours$overall, ours$bio_conservation, ours$batch_correction, ours$nmi, ours$ari, base$overall, base$nmi, base$ari))
})
