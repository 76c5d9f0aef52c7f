# Label transfer for single-modality queries of the CITE split (reference donor s1d1 with RNA
# + ADT, query donor s1d2 with RNA only or ADT only) in the latent space joined with the
# query's measured modality: can the reference's measured values lift the vote past a kNN on
# that modality alone, with the weight of the two parts chosen inside the reference?
#
#   Rscript bench/quality/joined_transfer.R [seeds]
#
# The measured part is the reference's 30 principal components of the query's modality (RNA
# log-normalised, ADT as given, each feature scaled by the reference), the query projected on
# them; each part is divided by its mean distance to the 15th neighbour, then weighted w and
# 1 - w. The weight is chosen by leave-one-out votes of the reference cells seen as a query
# is: their own single-modality embeddings, anchored like a query's (5 nearest reference
# cells, themselves left out), joined with their measured values, voting among the other
# reference cells' joint embeddings and measured values.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)
seeds <- seeds_argument()
weights <- c(0, 0.25, 0.5, 0.75, 0.9, 1)

use_cite_split()  # d, s, ref_labels, query_labels

vote <- function(nn, labels) apply(nn, 1, function(ix) majority(labels[ix]))
neighbour_scale <- function(x) mean(FNN::get.knn(x, k = 15)$nn.dist[, 15])

# The reference's PCs of one modality and the query projected on them.
measured_space <- function(modality) {
    ref <- scaled_cells(normalised_modality(d$mods[[modality]][, s$ref], modality))
    query <- scaled_cells(normalised_modality(d$mods[[modality]][, s$query], modality), ref$centre, ref$scale)
    pca <- irlba::prcomp_irlba(ref$x, n = 30L, center = FALSE, scale. = FALSE)
    list(reference = pca$x, query = query$x %*% pca$rotation)
}

# The reference cells' single-modality embeddings moved by their 5 nearest other reference
# cells' joint-minus-single offsets, as MapToReference anchors a query.
anchored_reference <- function(model, modality) {
    single <- model$subset_embeddings[[modality]]
    nn <- knn_index(single, k = 5L, self = TRUE)
    offsets <- model$embedding - single
    single + t(apply(nn, 1, function(ix) colMeans(offsets[ix, , drop = FALSE])))
}

# Leave-one-out accuracy and best k of the reference cells' query-like rows voting among
# the other reference cells.
reference_vote <- function(reference_rows, query_like_rows, candidates = c(5L, 10L, 15L, 30L)) {
    nn <- FNN::get.knnx(reference_rows, query_like_rows, k = max(candidates) + 1L)$nn.index
    nn <- t(vapply(seq_len(nrow(nn)), function(i) setdiff(nn[i, ], i)[seq_len(max(candidates))],
        integer(max(candidates))))
    accuracy <- vapply(candidates, function(k) mean(vote(nn[, seq_len(k), drop = FALSE], ref_labels) == ref_labels),
        numeric(1))
    list(accuracy = max(accuracy), k = candidates[which.max(accuracy)])
}

joined <- function(latent, measured, w, a, b) cbind(latent * (1 - w) / a, measured * w / b)

for (modality in c("adt", "rna")) {
    measured <- measured_space(modality)
    k_measured <- cv_k(measured$reference, ref_labels)
    alone <- mean(vote(knn_index(measured$reference, measured$query, k_measured), ref_labels) == query_labels)
    rows <- list()
    for (seed in seeds) {
        model <- suppressWarnings(RunMultigrade(lapply(d$mods, function(x) x[, s$ref]),
            batch = d$obs$batch[s$ref], seed = seed, verbose = FALSE))
        mapped <- MapToReference(stats::setNames(list(d$mods[[modality]][, s$query]), modality), model,
            batch = d$obs$batch[s$query], seed = seed, verbose = FALSE)
        query_like <- anchored_reference(model, modality)
        a <- neighbour_scale(model$embedding)
        b <- neighbour_scale(measured$reference)
        by_weight <- vapply(weights, function(w) {
            reference_rows <- joined(model$embedding, measured$reference, w, a, b)
            inside <- reference_vote(reference_rows, joined(query_like, measured$reference, w, a, b))
            nn <- knn_index(reference_rows, joined(mapped$embedding, measured$query, w, a, b), inside$k)
            c(inside = inside$accuracy, query = mean(vote(nn, ref_labels) == query_labels))
        }, numeric(2))
        chosen <- which.max(by_weight["inside", ])
        rows[[seed]] <- c(stats::setNames(by_weight["query", ], paste0("w=", weights)),
            chosen_w = weights[chosen], chosen = unname(by_weight["query", chosen]))
        say("%s seed %d: inside the reference %s; query %s; chosen w %.2f -> %.3f", modality, seed,
            paste(sprintf("%.3f", by_weight["inside", ]), collapse = " "),
            paste(sprintf("%.3f", by_weight["query", ]), collapse = " "), weights[chosen], by_weight["query", chosen])
    }
    scores <- do.call(rbind, rows)
    for (col in colnames(scores)) say("%s %-9s %.3f ± %.3f", modality, col, mean(scores[, col]), stats::sd(scores[, col]))
    say("%s measured PCs alone (k = %d): %.3f", modality, k_measured, alone)
}
