# Label transfer and mapping scores in the latent space: each query cell's k nearest
# reference cells vote for its label; the mapping score compares how far the query cell
# sits from the reference with how far reference cells sit from each other.

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

# Data frame by query cell: predicted.<label>, predicted.<label>.score, mapping.score.
transfer_labels <- function(query_embedding, reference_embedding, refdata, k) {
    k <- min(as.integer(k), nrow(reference_embedding) - 1L)
    neighbours <- mg_knn(query_embedding, reference_embedding, k, integer(0))
    out <- data.frame(row.names = rownames(query_embedding))
    for (nm in names(refdata)) {
        votes <- matrix(refdata[[nm]][neighbours$index], nrow = nrow(query_embedding))
        winner <- apply(votes, 1, function(v) {
            counts <- table(v[!is.na(v)])
            if (length(counts) == 0) c(NA_character_, "0") else
                c(names(counts)[which.max(counts)], max(counts) / length(v))
        })
        out[[paste0("predicted.", nm)]] <- winner[1, ]
        out[[paste0("predicted.", nm, ".score")]] <- as.numeric(winner[2, ])
    }
    out$mapping.score <- mapping_score(rowMeans(neighbours$distance), reference_embedding, k)
    out
}

# The share of reference cells whose mean distance to their k nearest reference
# neighbours is at least the query cell's (an empirical upper-tail probability).
# Calibrated on at most 5000 reference cells, drawn without touching R's RNG stream.
mapping_score <- function(query_distance, reference_embedding, k, max_calibration = 5000L) {
    n_ref <- nrow(reference_embedding)
    sample_rows <- if (n_ref <= max_calibration) seq_len(n_ref) else
        round(seq(1, n_ref, length.out = max_calibration))
    own <- mg_knn(reference_embedding[sample_rows, , drop = FALSE], reference_embedding, k, sample_rows)
    reference_distance <- sort(rowMeans(own$distance))
    at_least <- length(reference_distance) - findInterval(query_distance, reference_distance, left.open = TRUE)
    at_least / length(reference_distance)
}
