# Quality metrics for the side-by-side benchmark, written independently of the package
# (nothing here calls multigrade): the same code scores every method's output.
#
# Embeddings are cells x dimensions matrices; labels and batches are vectors over the rows.

# Exact k nearest neighbours (Euclidean) of `query` rows among `data` rows; with `self`, a
# row is not its own neighbour (data and query are the same matrix).
knn_index <- function(data, query = data, k, self = FALSE) {
    k_search <- min(k + self, nrow(data))
    nn <- FNN::get.knnx(data, query, k = k_search)$nn.index
    if (self) {
        own <- seq_len(nrow(query))
        nn <- t(vapply(own, function(i) {
            row <- nn[i, ]
            row <- row[row != i]
            row[seq_len(k)]
        }, integer(k)))
    }
    nn
}

# The most frequent label among neighbours given nearest first; a tie goes to the tied label
# of the nearest neighbour (not to the alphabetical first, which depends on the locale).
majority <- function(votes) {
    votes <- as.character(votes)
    counts <- table(votes)
    tied <- names(counts)[counts == max(counts)]
    votes[votes %in% tied][1]
}

# Cell-type silhouette rescaled to [0, 1] (scIB's label ASW): types apart is high.
label_asw <- function(embedding, labels) {
    s <- cluster::silhouette(as.integer(as.factor(labels)), stats::dist(embedding))[, "sil_width"]
    mean((s + 1) / 2)
}

# scIB's batch ASW: within each cell type present in >= 2 batches, 1 - |batch silhouette|.
batch_asw <- function(embedding, labels, batch) {
    labels <- as.factor(labels)
    scores <- c()
    for (ct in levels(labels)) {
        rows <- which(labels == ct)
        b <- droplevels(as.factor(batch)[rows])
        if (nlevels(b) < 2 || length(rows) < 3) next
        s <- cluster::silhouette(as.integer(b), stats::dist(embedding[rows, , drop = FALSE]))[, "sil_width"]
        scores <- c(scores, mean(1 - abs(s)))
    }
    if (length(scores) == 0) NA_real_ else mean(scores)
}

# k-fold cross-validated kNN classification accuracy of the labels from the embedding.
knn_accuracy <- function(embedding, labels, k = 15L, folds = 5L, seed = 1L) {
    labels <- as.character(labels)
    set.seed(seed)
    fold <- sample(rep_len(seq_len(folds), nrow(embedding)))
    correct <- logical(nrow(embedding))
    for (f in seq_len(folds)) {
        test <- fold == f
        nn <- knn_index(embedding[!test, , drop = FALSE], embedding[test, , drop = FALSE], k)
        train_labels <- labels[!test]
        predicted <- apply(nn, 1, function(ix) majority(train_labels[ix]))
        correct[test] <- predicted == labels[test]
    }
    mean(correct)
}

# Share of each cell's k neighbours from another batch, over its ceiling: the share it would
# have if its neighbours were drawn from its own cell type regardless of batch. 1 = mixed as
# well as the cell types allow; 0 = batches apart. Without labels the ceiling is the batch
# composition of all cells.
batch_mixing <- function(embedding, batch, labels = NULL, k = 15L) {
    batch <- as.character(batch)
    nn <- knn_index(embedding, k = k, self = TRUE)
    other <- rowMeans(matrix(batch[nn] != batch, nrow = nrow(nn)))
    groups <- if (is.null(labels)) rep("all", length(batch)) else as.character(labels)
    ceiling <- vapply(seq_along(batch), function(i) {
        peers <- groups == groups[i]
        peers[i] <- FALSE
        if (!any(peers)) NA_real_ else mean(batch[peers] != batch[i])
    }, numeric(1))
    keep <- !is.na(ceiling) & ceiling > 0
    mean(other[keep]) / mean(ceiling[keep])
}

# scIB's graph connectivity: per cell type, the share of its cells in the largest connected
# component of the kNN graph restricted to that type; the mean over types.
graph_connectivity <- function(embedding, labels, k = 15L) {
    labels <- as.character(labels)
    nn <- knn_index(embedding, k = k, self = TRUE)
    edges <- cbind(rep(seq_len(nrow(nn)), k), as.vector(nn))
    scores <- vapply(unique(labels), function(ct) {
        rows <- which(labels == ct)
        if (length(rows) < 2) return(NA_real_)
        keep <- edges[, 1] %in% rows & edges[, 2] %in% rows
        g <- igraph::graph_from_edgelist(matrix(match(edges[keep, ], rows), ncol = 2),
            directed = FALSE)
        g <- igraph::add_vertices(g, max(0, length(rows) - igraph::vcount(g)))
        max(igraph::components(g)$csize) / length(rows)
    }, numeric(1))
    mean(scores, na.rm = TRUE)
}

# Query cells among the reference cells: the share of each query cell's k neighbours (in
# reference + query) that are reference cells, over the share random mixing would give.
# 1 = as mixed as if the two were one set; 0 = the query sits apart.
query_mixing <- function(reference, query, k = 15L) {
    all <- rbind(reference, query)
    is_ref <- rep(c(TRUE, FALSE), c(nrow(reference), nrow(query)))
    nn <- knn_index(all, all[!is_ref, , drop = FALSE], k = k + 1L)
    own <- which(!is_ref)
    share <- vapply(seq_along(own), function(i) {
        row <- nn[i, ]
        row <- row[row != own[i]][seq_len(k)]
        mean(is_ref[row])
    }, numeric(1))
    expected <- nrow(reference) / (nrow(all) - 1)
    mean(share) / expected
}

# The k of a kNN vote chosen by leave-one-out accuracy inside the reference, so that a
# baseline gets the same cross-validated choice as the package.
cv_k <- function(space, labels, candidates = c(5L, 10L, 15L, 30L, 50L)) {
    labels <- as.character(labels)
    nn <- knn_index(space, k = max(candidates), self = TRUE)
    accuracy <- vapply(candidates, function(k) {
        mean(apply(nn[, seq_len(k), drop = FALSE], 1, function(ix) majority(labels[ix])) == labels)
    }, numeric(1))
    candidates[which.max(accuracy)]
}

# Reference labels onto query cells by a k-NN vote in a shared space.
transfer_accuracy <- function(reference, query, reference_labels, query_labels, k = 15L) {
    nn <- knn_index(reference, query, k)
    predicted <- apply(nn, 1, function(ix) majority(as.character(reference_labels)[ix]))
    mean(predicted == as.character(query_labels))
}

# Imputation scores on features x cells matrices: RMSE over all values, and Pearson per
# feature across cells averaged over features (Multigrate's published metric; features
# constant in either matrix are left out).
imputation_scores <- function(predicted, truth) {
    predicted <- as.matrix(predicted)
    truth <- as.matrix(truth)
    stopifnot(identical(dim(predicted), dim(truth)))
    per_feature <- vapply(seq_len(nrow(truth)), function(f) {
        if (stats::sd(truth[f, ]) == 0 || stats::sd(predicted[f, ]) == 0) NA_real_ else
            stats::cor(predicted[f, ], truth[f, ])
    }, numeric(1))
    c(rmse = sqrt(mean((predicted - truth)^2)), pearson = mean(per_feature, na.rm = TRUE))
}

# Every integration metric of one embedding (labels may be NULL for unlabelled data).
integration_metrics <- function(embedding, labels, batch, k = 15L) {
    out <- c(knn_accuracy = NA_real_, label_asw = NA_real_, graph_connectivity = NA_real_,
        batch_mixing = NA_real_, batch_asw = NA_real_)
    if (!is.null(labels)) {
        out[["knn_accuracy"]] <- knn_accuracy(embedding, labels, k)
        out[["label_asw"]] <- label_asw(embedding, labels)
        out[["graph_connectivity"]] <- graph_connectivity(embedding, labels, k)
    }
    if (!is.null(batch) && length(unique(batch)) > 1) {
        out[["batch_mixing"]] <- batch_mixing(embedding, batch, labels, k)
        if (!is.null(labels)) out[["batch_asw"]] <- batch_asw(embedding, labels, batch)
    }
    out
}
