# Label transfer and mapping scores in the latent space: each query cell's k nearest
# reference cells vote for its label; the mapping score compares how far the query cell
# sits from the reference with how far reference cells sit from each other, both embedded
# from the modalities the query has.

# refdata as a named list of vectors in the order of the reference cells.
check_refdata <- function(refdata, model, call = rlang::caller_env()) {
    if (is.null(refdata)) return(list())
    if (is.null(model$embedding)) {
        mg_abort("The model holds no reference embedding to transfer labels from.", class = "model", call = call)
    }
    if (!is.list(refdata) || is.null(names(refdata)) ||
        any(names(refdata) == "")) {
        mg_abort(c("{.arg refdata} must be a named list of label vectors over the reference cells.",
            "i" = "For example {.code list(cell_type = reference_labels)}."), call = call)
    }
    cells <- model$cells
    lapply(stats::setNames(names(refdata), names(refdata)), function(nm) {
        labels <- refdata[[nm]]
        if (!is.null(names(labels)) && all(cells %in% names(labels))) labels <- labels[cells]
        if (length(labels) != length(cells)) {
            mg_abort(c("{.arg refdata${nm}} has {length(labels)} value{?s} but the reference has {length(cells)} cells.",
                "i" = "Give one label per reference cell, in the order of {.code model$cells} or named by cell."),
                call = call)
        }
        as.character(labels)
    })
}

# Data frame by query cell: predicted.<label> and predicted.<label>.score. `k` NULL: per
# label, the k that votes best for the reference's own cells (choose_k).
transfer_labels <- function(query_embedding, reference_embedding, refdata, k = NULL) {
    out <- data.frame(row.names = rownames(query_embedding))
    for (nm in names(refdata)) {
        labels <- refdata[[nm]]
        k_label <- min(as.integer(k %||% choose_k(reference_embedding, labels)), nrow(reference_embedding) - 1L)
        neighbours <- mg_knn(query_embedding, reference_embedding, k_label, integer(0))
        winner <- vote(matrix(labels[neighbours$index], nrow = nrow(query_embedding)))
        out[[paste0("predicted.", nm)]] <- winner$label
        out[[paste0("predicted.", nm, ".score")]] <- winner$share
    }
    out
}

# Majority label of each row of a cells x k matrix of neighbours' labels (nearest first), and
# its share. A tie goes to the tied label of the nearest neighbour, not to the alphabetical
# first (which would depend on the locale).
vote <- function(votes) {
    winner <- apply(votes, 1, function(v) {
        labelled <- v[!is.na(v)]
        if (length(labelled) == 0) return(c(NA_character_, "0"))
        counts <- table(labelled)
        tied <- names(counts)[counts == max(counts)]
        c(labelled[labelled %in% tied][1], max(counts) / length(v))
    })
    list(label = winner[1, ], share = as.numeric(winner[2, ]))
}

# The number of neighbours whose vote recovers the reference's own labels best, leaving each
# cell out (cross-validation inside the reference; on at most 2000 of its cells, drawn
# without touching R's RNG stream): few neighbours suit fine labels with small classes,
# more suit coarse ones.
choose_k <- function(reference_embedding, labels, candidates = c(5L, 10L, 15L, 30L, 50L),
                     max_cells = 2000L) {
    n <- nrow(reference_embedding)
    candidates <- candidates[candidates < n]
    if (length(candidates) <= 1) return(max(1L, min(candidates, n - 1L)))
    rows <- if (n <= max_cells) seq_len(n) else round(seq(1, n, length.out = max_cells))
    known <- rows[!is.na(labels[rows])]
    if (length(known) == 0) return(candidates[[1]])
    nn <- mg_knn(reference_embedding[known, , drop = FALSE], reference_embedding, max(candidates), known)$index
    accuracy <- vapply(candidates, function(kk) {
        predicted <- vote(matrix(labels[nn[, seq_len(kk), drop = FALSE]], nrow = length(known)))$label
        mean(predicted == labels[known], na.rm = TRUE)
    }, numeric(1))
    candidates[[which.max(accuracy)]]
}

# Mapping score of each query cell, in the space of the modalities it was seen through:
# its mean distance to its k nearest reference cells embedded from the same modalities
# (`subset`: the key of the anchoring subset, see anchoring.R; NA: the joint space),
# against the same distance of those reference cells among themselves. `embedding` holds
# the query's own posterior means (before anchoring).
mapping_scores <- function(embedding, subset, model, k = 30L) {
    scores <- numeric(nrow(embedding))
    groups <- ifelse(is.na(subset), "", subset)
    for (key in unique(groups)) {
        rows <- which(groups == key)
        space <- if (key == "") model$embedding else model$subset_embeddings[[key]]
        space <- space[stats::complete.cases(space), , drop = FALSE]
        kk <- min(as.integer(k), nrow(space) - 1L)
        distance <- rowMeans(mg_knn(embedding[rows, , drop = FALSE], space, kk, integer(0))$distance)
        scores[rows] <- mapping_score(distance, space, kk)
    }
    scores
}

# From the share p of reference cells whose mean distance to their k nearest reference
# neighbours is at least the query cell's (an empirical upper-tail probability): min(1, 2p),
# i.e. 1 for a query cell at most as far from the reference as the median reference cell is
# from its own neighbours, falling to 0 beyond the farthest. Calibrated on at most 5000
# reference cells, drawn without touching R's RNG stream.
mapping_score <- function(query_distance, reference_embedding, k, max_calibration = 5000L) {
    n_ref <- nrow(reference_embedding)
    sample_rows <- if (n_ref <= max_calibration) seq_len(n_ref) else
        round(seq(1, n_ref, length.out = max_calibration))
    own <- mg_knn(reference_embedding[sample_rows, , drop = FALSE], reference_embedding, k, sample_rows)
    reference_distance <- sort(rowMeans(own$distance))
    at_least <- length(reference_distance) - findInterval(query_distance, reference_distance, left.open = TRUE)
    pmin(1, 2 * at_least / length(reference_distance))
}
