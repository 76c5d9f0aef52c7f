#' Sample representations from cell embeddings and attention
#'
#' One row per sample: the attention-weighted mean of its cells' embeddings
#' (weights normalised within the sample, unlike the reference's unnormalised
#' sum), the mean over its top `top_fraction` cells by attention, or the plain
#' mean. Useful for plotting samples or as features of a sample-level model.
#'
#' @param embedding Cells x dimensions matrix with cell names as row names.
#' @param sample Per-cell sample ids (named by cell, or in row order).
#' @param attention Per-cell attention named by cell (e.g. `fit$attention`);
#'   not needed for `"mean"`.
#' @param method `"attention"`, `"top"` or `"mean"`.
#' @param top_fraction Fraction of each sample's cells with the highest
#'   attention used by `"top"` (at least one cell).
#' @return A samples x dimensions matrix.
#' @family MultiMIL
#' @examples
#' gbm <- multigrade_example("glioblastoma")
#' emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' fit <- RunMultiMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
#'     max_epochs = 10, seed = 1, verbose = FALSE)
#' SampleRepresentations(emb, gbm$obs$sample_id, fit$attention, method = "top")[, 1:3]
#' @export
SampleRepresentations <- function(embedding, sample, attention = NULL,
                                  method = c("attention", "top", "mean"), top_fraction = 0.1) {
    method <- match.arg(method)
    embedding <- check_embedding(embedding)
    cells <- rownames(embedding)
    sample <- sample_factor(cell_vector(sample, cells))
    check_number(top_fraction, min = 1e-9, max = 1)
    weights <- if (method == "mean") {
        rep(1, length(cells))
    } else {
        if (is.null(attention) || is.null(names(attention))) {
            mg_abort("{.arg attention} must be per-cell scores named by cell (e.g. {.code fit$attention}).")
        }
        cell_vector(attention, cells)
    }
    if (method == "top") weights <- as.numeric(top_attention_cells(weights, sample, top_fraction))
    totals <- as.numeric(tapply(weights, sample, sum))
    weights <- as.numeric(weights) / totals[as.integer(sample)]
    one_hot <- Matrix::sparseMatrix(i = as.integer(sample), j = seq_along(cells), x = weights,
        dims = c(nlevels(sample), length(cells)), dimnames = list(levels(sample), NULL))
    as.matrix(one_hot %*% embedding)
}

# TRUE for each sample's top `fraction` cells by attention (at least one per sample).
top_attention_cells <- function(attention, sample, fraction) {
    keep <- logical(length(attention))
    for (idx in split(seq_along(attention), sample)) {
        if (length(idx) == 0) next
        n_top <- max(1L, as.integer(ceiling(fraction * length(idx))))
        keep[idx[order(attention[idx], decreasing = TRUE)[seq_len(n_top)]]] <- TRUE
    }
    keep
}
