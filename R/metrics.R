# Integration metrics used by the demo and the behaviour tests: silhouette widths by
# cell type (should stay high) and by batch within cell types (scIB's batch ASW: 1 is
# perfect mixing), the plain silhouette by batch over all cells (0 is mixed), and the
# kNN fraction of neighbours from another batch.
#
# Mixing scores also reward noise: a random embedding has the best batch ASW and kNN
# mixing of all. Read them together with the cell-type score, and against
# `knn_mixing_ceiling()`, the kNN score of perfect mixing within cell types.

integration_summary <- function(embedding, cell_type, batch, k = 15L) {
    require_package("cluster")
    d <- stats::dist(embedding)
    cell_type <- as.factor(cell_type)
    batch <- as.factor(batch)
    sil_type <- cluster::silhouette(as.integer(cell_type), d)[, "sil_width"]
    list(celltype_asw = mean((sil_type + 1) / 2),
        batch_asw = batch_asw(embedding, cell_type, batch),
        batch_silhouette = mean(cluster::silhouette(as.integer(batch), d)[, "sil_width"]),
        knn_other_batch = knn_other_batch(as.matrix(d), batch, k))
}

# scIB batch ASW: per cell type with >= 2 batches, mean of 1 - |silhouette by batch|.
batch_asw <- function(embedding, cell_type, batch) {
    scores <- c()
    for (ct in levels(cell_type)) {
        in_type <- which(cell_type == ct)
        b <- droplevels(batch[in_type])
        if (nlevels(b) < 2 || length(in_type) < 3) next
        s <- cluster::silhouette(as.integer(b), stats::dist(embedding[in_type, , drop = FALSE]))[, "sil_width"]
        scores <- c(scores, mean(1 - abs(s)))
    }
    if (length(scores) == 0) NA_real_ else mean(scores)
}

knn_other_batch <- function(dist_matrix, batch, k) {
    diag(dist_matrix) <- Inf
    k <- min(k, nrow(dist_matrix) - 1L)
    other <- vapply(seq_len(nrow(dist_matrix)), function(i) {
        nn <- order(dist_matrix[i, ])[seq_len(k)]
        mean(batch[nn] != batch[i])
    }, numeric(1))
    mean(other)
}

# The kNN other-batch fraction an embedding would reach if every cell's neighbours were
# drawn from its own cell type regardless of batch.
knn_mixing_ceiling <- function(cell_type, batch) {
    cell_type <- as.factor(cell_type)
    batch <- as.factor(batch)
    per_cell <- vapply(seq_along(cell_type), function(i) {
        same_type <- cell_type == cell_type[i]
        same_type[i] <- FALSE
        if (!any(same_type)) 0 else mean(batch[same_type] != batch[i])
    }, numeric(1))
    mean(per_cell)
}

# A PCA baseline on the same modalities: log-normalised counts and normalised values,
# each feature scaled, concatenated.
pca_baseline <- function(mats, likelihoods, n_dims) {
    blocks <- lapply(names(mats), function(nm) {
        m <- as.matrix(mats[[nm]])
        if (likelihoods[[nm]] %in% count_likelihoods) {
            m <- log1p(t(t(m) / pmax(colSums(m), 1)) * 1e4)
        }
        t(m)
    })
    combined <- do.call(cbind, blocks)
    combined <- combined[, apply(combined, 2, stats::var) > 0, drop = FALSE]
    stats::prcomp(combined, center = TRUE, scale. = TRUE, rank. = n_dims)$x
}
