#' Score an integration with the scIB metrics
#'
#' The metrics the Multigrate and MultiMIL papers report (Luecken et al. 2022,
#' scIB), on any cells x dimensions embedding, so that multigrade can be
#' compared with PCA, WNN or any other method on the same cells.
#'
#' * Biological conservation:
#'   - `nmi`, `ari`: Leiden clusterings of the embedding's kNN graph at each
#'     of `resolutions`; the clustering with the best NMI against `labels` is
#'     kept, and ARI is computed on it. NMI uses the arithmetic-mean
#'     normalisation.
#'   - `celltype_asw`: mean silhouette width by label, rescaled to
#'     `(s + 1) / 2`.
#'   - `isolated_label_asw`: for the labels present in the fewest batches, the
#'     silhouette of "this label" against the rest, rescaled, averaged over
#'     those labels.
#' * Batch correction:
#'   - `batch_asw`: per label, the mean of `1 - |s|` of the silhouette by batch
#'     among that label's cells, averaged over labels (1 = mixed).
#'   - `graph_connectivity`: per label, the share of its cells in the largest
#'     connected component of the kNN graph restricted to that label, averaged.
#' * `batch_correction` = mean of the batch metrics, `bio_conservation` = mean
#'   of the biological ones, `overall` = 0.4 batch + 0.6 bio (scIB's weights).
#'
#' Differences from scIB's Python code: the kNN graph is the unweighted,
#' symmetrised exact kNN graph (scanpy weights edges by UMAP connectivities),
#' and the batch score omits kBET, iLISI and PC regression.
#'
#' @param embedding A cells x dimensions numeric matrix.
#' @param labels Cell-type labels, one per cell.
#' @param batch Batch labels, one per cell.
#' @param n_neighbors Neighbours of the kNN graph (formerly `k`, which still
#'   works with a deprecation warning).
#' @param ... Unused.
#' @param resolutions Leiden resolutions to search for the best NMI.
#' @param seed Seed for Leiden (R's RNG state is restored afterwards).
#' @return A one-row data frame with the metrics above.
#' @examples
#' cite <- multigrade_example("cite")
#' set.seed(1)
#' pca <- prcomp(t(as.matrix(cite$adt)), rank. = 10)$x
#' ScoreIntegration(pca, cite$obs$cell_type, cite$obs$batch)
#' @export
ScoreIntegration <- function(embedding, labels, batch, n_neighbors = 15L,
                             resolutions = seq(0.1, 2, by = 0.1), seed = 0L, ...) {
    renamed <- renamed_argument(list(...), "k", "n_neighbors", n_neighbors)
    n_neighbors <- renamed$value
    check_dots_empty(renamed$dots)
    require_package("cluster")
    require_package("igraph")
    embedding <- check_embedding(embedding, need_names = FALSE)
    if (nrow(embedding) < 3) mg_abort("{.arg embedding} needs at least 3 cells.")
    labels <- check_cell_factor(labels, nrow(embedding), "labels")
    batch <- check_cell_factor(batch, nrow(embedding), "batch")
    check_count(n_neighbors)
    graph <- knn_graph(embedding, min(as.integer(n_neighbors), nrow(embedding) - 1L))
    clustering <- best_leiden(graph, labels, resolutions, seed)
    d <- stats::dist(embedding)
    bio <- c(nmi = clustering$nmi, ari = adjusted_rand_index(clustering$clusters, labels),
        celltype_asw = mean((cluster::silhouette(as.integer(labels), d)[, "sil_width"] + 1) / 2),
        isolated_label_asw = isolated_label_asw(d, labels, batch))
    batch_scores <- c(batch_asw = batch_asw(embedding, labels, batch),
        graph_connectivity = graph_connectivity(graph, labels))
    scores <- c(bio, batch_scores,
        batch_correction = mean(batch_scores), bio_conservation = mean(bio))
    scores["overall"] <- 0.4 * scores[["batch_correction"]] + 0.6 * scores[["bio_conservation"]]
    out <- as.data.frame(as.list(scores))
    out$leiden_resolution <- clustering$resolution
    out$n_clusters <- length(unique(clustering$clusters))
    out
}

# The symmetrised (union) exact kNN graph, unweighted.
knn_graph <- function(embedding, k) {
    n <- nrow(embedding)
    nn <- mg_knn(embedding, embedding, k, seq_len(n))
    edges <- cbind(rep(seq_len(n), times = k), as.vector(nn$index))
    igraph::simplify(igraph::graph_from_edgelist(edges, directed = FALSE))
}

best_leiden <- function(graph, labels, resolutions, seed) {
    with_seed(seed, {
        best <- NULL
        for (r in resolutions) {
            clusters <- igraph::membership(igraph::cluster_leiden(graph, objective_function = "modularity",
                resolution_parameter = r, n_iterations = 10))
            score <- normalized_mutual_information(clusters, labels)
            if (is.null(best) || score > best$nmi) best <- list(nmi = score, clusters = clusters, resolution = r)
        }
        best
    })
}

normalized_mutual_information <- function(a, b) {
    joint <- table(a, b) / length(a)
    pa <- rowSums(joint)
    pb <- colSums(joint)
    nz <- joint > 0
    mutual <- sum(joint[nz] * log(joint[nz] / outer(pa, pb)[nz]))
    entropy <- function(p) -sum(p[p > 0] * log(p[p > 0]))
    denominator <- (entropy(pa) + entropy(pb)) / 2
    if (denominator == 0) return(1)
    mutual / denominator
}

adjusted_rand_index <- function(a, b) {
    pairs <- function(x) sum(x * (x - 1) / 2)
    counts <- table(a, b)
    index <- pairs(counts)
    expected_a <- pairs(rowSums(counts))
    expected_b <- pairs(colSums(counts))
    expected <- expected_a * expected_b / pairs(length(a))
    maximum <- (expected_a + expected_b) / 2
    if (maximum == expected) return(1)
    (index - expected) / (maximum - expected)
}

# scIB: labels in the fewest batches; per label, the rescaled silhouette of label vs rest,
# averaged over that label's cells.
isolated_label_asw <- function(d, labels, batch) {
    batches_per_label <- tapply(batch, labels, function(b) length(unique(b)))
    isolated <- names(batches_per_label)[batches_per_label == min(batches_per_label)]
    scores <- vapply(isolated, function(l) {
        inside <- labels == l
        if (all(inside)) return(NA_real_)
        s <- cluster::silhouette(ifelse(inside, 1L, 2L), d)[, "sil_width"]
        mean((s[inside] + 1) / 2)
    }, numeric(1))
    mean(scores, na.rm = TRUE)
}

graph_connectivity <- function(graph, labels) {
    shares <- vapply(levels(labels), function(l) {
        cells <- which(labels == l)
        if (length(cells) == 0) return(NA_real_)
        parts <- igraph::components(igraph::induced_subgraph(graph, cells))
        max(parts$csize) / length(cells)
    }, numeric(1))
    mean(shares, na.rm = TRUE)
}
