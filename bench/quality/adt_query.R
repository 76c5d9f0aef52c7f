# The ADT-only query of the CITE split (reference donor s1d1 with RNA + ADT, query donor s1d2
# with ADT only), label transfer by variants of the mapping, beside kNN on the raw proteins:
# what limits the one query type where a peer wins (RESULTS.md, "Query mapping").
#
#   Rscript bench/quality/adt_query.R [seeds]
#
# Variants: the defaults (anchored joint space, learned donor row, k chosen inside the
# reference); no query training (the new row stays the reference's mean); votes among the
# reference's own ADT-only embeddings; the anchored space with fixed k; the anchored space
# joined with the measured proteins (each part scaled by its mean distance to the 15th
# neighbour, so both weigh alike); and the raw proteins.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)
seeds <- seeds_argument()

use_cite_split()  # d, s, ref_labels, query_labels
qm <- list(adt = d$mods$adt[, s$query])
query_batch <- d$obs$batch[s$query]
vote_accuracy <- function(reference, query, k) {
    nn <- FNN::get.knnx(reference, query, k = k)$nn.index
    mean(apply(nn, 1, function(ix) majority(ref_labels[ix])) == query_labels)
}

raw <- list(reference = t(d$mods$adt[, s$ref]), query = t(d$mods$adt[, s$query]))
neighbour_scale <- function(x) mean(FNN::get.knn(x, k = 15)$nn.dist[, 15])
joined_accuracy <- function(reference_latent, query_latent) {
    a <- neighbour_scale(reference_latent)
    b <- neighbour_scale(raw$reference)
    joined <- cbind(reference_latent / a, raw$reference / b)
    vote_accuracy(joined, cbind(query_latent / a, raw$query / b), cv_k(joined, ref_labels))
}
rows <- list()
for (seed in seeds) {
    model <- suppressWarnings(RunMultigrade(lapply(d$mods, function(x) x[, s$ref]), batch = d$obs$batch[s$ref],
        seed = seed, verbose = FALSE))
    map <- function(...) MapToReference(qm, model, batch = query_batch, refdata = list(cell_type = ref_labels),
        seed = seed, verbose = FALSE, ...)
    default <- map()
    untrained <- map(max_epochs = 0L)
    own <- predict(default$model, qm, batch = query_batch)
    adt_space <- model$subset_embeddings$adt
    k_adt <- cv_k(adt_space, ref_labels)
    # The reference cells' proteins as the model decodes them from their joint embeddings,
    # with the query donor's learned row, matched to the query's measured proteins.
    extended <- default$model
    donor <- match(as.character(query_batch[1]), extended$covariates$categorical$batch) - 1L
    decoded <- t(multigrade:::mg_decode_latent(extended$config, extended$weights, model$embedding,
        list(rep(donor, nrow(model$embedding))), list(), match("adt", names(extended$modalities)), "cpu", 2L))
    k_decoded <- cv_k(decoded, ref_labels)
    r <- c(decoded_reference = vote_accuracy(decoded, t(qm$adt), k_decoded),
        defaults = mean(default$predictions$predicted.cell_type == query_labels),
        no_query_training = mean(untrained$predictions$predicted.cell_type == query_labels),
        adt_space_vote = vote_accuracy(adt_space, own, k_adt),
        anchored_k5 = vote_accuracy(model$embedding, default$embedding, 5L),
        anchored_k15 = vote_accuracy(model$embedding, default$embedding, 15L),
        anchored_k30 = vote_accuracy(model$embedding, default$embedding, 30L),
        with_proteins = joined_accuracy(model$embedding, default$embedding))
    rows[[seed]] <- r
    say("seed %d: %s (k in the ADT-only space %d)", seed, paste(sprintf("%s %.3f", names(r), r), collapse = ", "), k_adt)
}
k_raw <- cv_k(raw$reference, ref_labels)
scores <- do.call(rbind, rows)
for (col in colnames(scores)) say("%-18s %.3f ± %.3f", col, mean(scores[, col]), stats::sd(scores[, col]))
say("%-18s %.3f (k = %d)", "raw proteins", vote_accuracy(raw$reference, raw$query, k_raw), k_raw)
