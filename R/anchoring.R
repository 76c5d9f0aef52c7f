# Reference-anchored mapping of cells seen through a subset of the reference's modalities.
#
# A cell measured with fewer modalities has a posterior that carries less of what tells its
# neighbours apart, so it lies nearer the middle of its cell type than the reference cells,
# which were embedded from every modality (measured on the CITE split: RNA-only reference
# cells fell almost none among the joint reference cells, kNN mixing 0.004, yet 0.83 among
# RNA-only embeddings of the reference). The reference cells themselves know both places:
# after training, each is also embedded from every subset of its modalities and kept
# (`subset_embeddings`). A query cell seen through subset S then moves by the mean offset
# (joint minus subset-S position) of its `k` nearest reference cells in the subset-S space,
# the way Seurat's anchors move a query in MapQuery, with the reference's own paired cells
# as the anchors.

# Key of a set of modalities, e.g. "adt+rna".
subset_key <- function(modalities) paste(sort(modalities), collapse = "+")

# The proper, non-empty subsets of the modalities that a query may bring: all of them for up
# to three modalities, single modalities beyond.
modality_subsets <- function(modalities) {
    n <- length(modalities)
    if (n < 2) return(list())
    sizes <- if (n <= 3) seq_len(n - 1) else 1L
    unlist(lapply(sizes, function(s) utils::combn(modalities, s, simplify = FALSE)), recursive = FALSE)
}

# Cells x modalities logical matrix of what each cell of prepared data has.
presence_matrix <- function(data) {
    vapply(data$modalities, function(m) m$present == 1L, logical(length(data$cells)))
}

# The reference cells' embeddings from each subset of their modalities (`subsets`, from
# modality_subsets()), given `encoded`: the training cells embedded from each subset (by the
# training session, see fit_model()). Cells x latent matrices in the order of the training
# cells, NA rows for cells lacking part of the subset, named by subset_key().
subset_embeddings <- function(data, subsets, encoded) {
    present <- presence_matrix(data)
    out <- Map(function(s, emb) {
        emb[rowSums(present[, s, drop = FALSE]) < length(s), ] <- NA_real_
        unname(emb)
    }, subsets, encoded)
    names(out) <- vapply(subsets, subset_key, character(1))
    out
}

# Moves query cells seen through a subset of the reference's modalities into the joint
# space (see above). `embedding` is query cells x latent (posterior means), `present` their
# presence matrix. Returns the embedding and, per cell, the subset it was anchored in (NA
# for cells with every modality, which stay where they are, and for cells without anchors).
anchor_to_reference <- function(embedding, present, model, k) {
    subset_of <- rep(NA_character_, nrow(embedding))
    stored <- model$subset_embeddings
    all_modalities <- names(model$modalities)
    if (k == 0 || is.null(stored)) return(list(embedding = embedding, subset = subset_of))
    patterns <- apply(present, 1, function(p) subset_key(colnames(present)[p]))
    for (key in setdiff(unique(patterns), subset_key(all_modalities))) {
        anchors <- stored[[key]]
        rows <- which(patterns == key)
        usable <- if (is.null(anchors)) integer(0) else which(stats::complete.cases(anchors))
        if (length(usable) < 2) next
        kk <- min(as.integer(k), length(usable))
        nn <- mg_knn(embedding[rows, , drop = FALSE], anchors[usable, , drop = FALSE], kk, integer(0))$index
        offsets <- model$embedding[usable, , drop = FALSE] - anchors[usable, , drop = FALSE]
        shift <- vapply(seq_len(ncol(offsets)), function(d) rowMeans(matrix(offsets[nn, d], nrow = nrow(nn))),
            numeric(length(rows)))
        embedding[rows, ] <- embedding[rows, , drop = FALSE] + matrix(shift, nrow = length(rows))
        subset_of[rows] <- key
    }
    list(embedding = embedding, subset = subset_of)
}
