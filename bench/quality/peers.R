# The tools a user would pick instead of multigrade, each run the way its documentation
# shows: PCA, Harmony (CRAN), Seurat WNN and Seurat reference mapping
# (FindTransferAnchors / TransferData / MapQuery), and simple kNN and linear baselines.
# Inputs are features x cells matrices: RNA raw counts, ADT normalised (CLR), ATAC binary.

suppressPackageStartupMessages({
    library(Seurat)
    library(Matrix)
})

# Log-normalised RNA (counts per 10,000, log1p), as Seurat's NormalizeData.
log_normalise <- function(counts) {
    counts <- as(counts, "CsparseMatrix")
    size <- pmax(Matrix::colSums(counts), 1)
    out <- counts %*% Matrix::Diagonal(x = 1e4 / size)
    out@x <- log1p(out@x)
    dimnames(out) <- dimnames(counts)
    out
}

# TF-IDF of binary peaks then log1p, as Signac's RunTFIDF (method 1).
tfidf <- function(peaks) {
    peaks <- as(peaks, "CsparseMatrix")
    peaks@x[] <- 1
    tf <- peaks %*% Matrix::Diagonal(x = 1 / pmax(Matrix::colSums(peaks), 1))
    idf <- ncol(peaks) / pmax(Matrix::rowSums(peaks), 1)
    out <- Matrix::Diagonal(x = idf) %*% tf
    out@x <- log1p(out@x * 1e4)
    dimnames(out) <- dimnames(peaks)
    out
}

# Cells x features, each feature centred and scaled by the given (reference) statistics.
scaled_cells <- function(features_by_cells, centre = NULL, scale = NULL) {
    x <- t(as.matrix(features_by_cells))
    centre <- centre %||% colMeans(x)
    scale <- scale %||% apply(x, 2, stats::sd)
    scale[!is.finite(scale) | scale == 0] <- 1
    list(x = sweep(sweep(x, 2, centre), 2, scale, "/"), centre = centre, scale = scale)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Each modality's values as a user would feed PCA: log-normalised RNA, CLR ADT as given,
# TF-IDF ATAC.
normalised_modality <- function(x, kind) {
    switch(kind, rna = log_normalise(x), adt = x, atac = tfidf(x))
}

# PCA on the modalities' scaled features concatenated (each modality weighted equally by
# dividing by the square root of its feature count), n_dims components.
pca_embedding <- function(mods, kinds, n_dims = 16L) {
    blocks <- lapply(names(mods), function(nm) {
        s <- scaled_cells(normalised_modality(mods[[nm]], kinds[[nm]]))$x
        s / sqrt(ncol(s))
    })
    x <- do.call(cbind, blocks)
    x <- x[, apply(x, 2, stats::sd) > 0, drop = FALSE]
    pcs <- irlba::prcomp_irlba(x, n = n_dims, center = TRUE, scale. = FALSE)$x
    rownames(pcs) <- colnames(mods[[1]])
    pcs
}

harmony_embedding <- function(pcs, batch, seed = 1L) {
    set.seed(seed)  # Harmony's k-means starts are random
    out <- harmony::RunHarmony(pcs, data.frame(batch = batch), "batch", verbose = FALSE)
    rownames(out) <- rownames(pcs)
    out
}

# LSI of TF-IDF peaks (features x cells, see tfidf()): the truncated SVD's components 2 to
# n_dims + 1 scaled by their singular values (the first follows sequencing depth), as Signac.
# Cells x n_dims.
lsi_embedding <- function(tfidf_values, n_dims = 30L) {
    svd <- irlba::irlba(t(as.matrix(tfidf_values)), nv = n_dims + 1L)
    svd$u[, -1, drop = FALSE] %*% diag(svd$d[-1], nrow = n_dims)
}

# Seurat WNN: a PCA per modality (LSI for ATAC), FindMultiModalNeighbors, then Seurat's
# supervised PCA on the weighted graph as the embedding (its multimodal reference flow).
wnn_embedding <- function(mods, kinds, n_dims = 16L) {
    obj <- NULL
    reductions <- character()
    dims <- list()
    for (nm in names(mods)) {
        values <- normalised_modality(mods[[nm]], kinds[[nm]])
        rownames(values) <- gsub("_", "-", rownames(values))
        assay <- CreateAssayObject(data = as(values, "CsparseMatrix"))
        if (is.null(obj)) {
            obj <- CreateSeuratObject(assay, assay = toupper(nm))
        } else {
            obj[[toupper(nm)]] <- assay
        }
        DefaultAssay(obj) <- toupper(nm)
        VariableFeatures(obj) <- rownames(values)
        n_pc <- min(30L, nrow(values) - 1L)
        red <- paste0("pca_", nm)
        if (kinds[[nm]] == "atac") {
            emb <- lsi_embedding(values, n_pc)
            dimnames(emb) <- list(colnames(values), paste0("lsi_", seq_len(n_pc)))
            obj[[red]] <- CreateDimReducObject(emb, key = "lsi_", assay = toupper(nm))
        } else {
            obj <- ScaleData(obj, verbose = FALSE)
            obj <- RunPCA(obj, npcs = n_pc, reduction.name = red, reduction.key = paste0(nm, "PC_"),
                verbose = FALSE)
        }
        reductions <- c(reductions, red)
        dims[[length(dims) + 1]] <- seq_len(n_pc)
    }
    obj <- FindMultiModalNeighbors(obj, reduction.list = as.list(reductions), dims.list = dims,
        verbose = FALSE)
    DefaultAssay(obj) <- toupper(names(mods)[1])
    if (kinds[[names(mods)[1]]] != "atac") obj <- ScaleData(obj, verbose = FALSE)
    obj <- RunSPCA(obj, assay = toupper(names(mods)[1]), graph = "wsnn", npcs = n_dims, verbose = FALSE)
    Embeddings(obj, "spca")
}

# Seurat's RNA reference mapping (pcaproject anchors): predicted labels, the ADT (or other
# modality) transferred from the reference, and the query in the reference's PCA
# (MapQuery). `targets` are features x reference cells matrices to transfer.
seurat_transfer <- function(ref_rna, query_rna, ref_labels, targets = list(), n_dims = 30L) {
    # Seurat 4.3's own deprecation and future.apply notes are not about the data.
    suppressWarnings(seurat_transfer_run(ref_rna, query_rna, ref_labels, targets, n_dims))
}

seurat_transfer_run <- function(ref_rna, query_rna, ref_labels, targets, n_dims) {
    ref <- CreateSeuratObject(counts = ref_rna)
    ref <- NormalizeData(ref, verbose = FALSE)
    VariableFeatures(ref) <- rownames(ref)
    ref <- ScaleData(ref, verbose = FALSE)
    ref <- RunPCA(ref, npcs = n_dims, verbose = FALSE)
    ref$label <- as.character(ref_labels)
    query <- CreateSeuratObject(counts = query_rna)
    query <- NormalizeData(query, verbose = FALSE)
    anchors <- FindTransferAnchors(reference = ref, query = query, dims = seq_len(n_dims),
        reference.reduction = "pca", verbose = FALSE)
    k_weight <- min(50L, max(5L, floor(nrow(anchors@anchors) / 4)))
    labels <- TransferData(anchors, refdata = ref$label, dims = seq_len(n_dims), k.weight = k_weight,
        verbose = FALSE)
    transferred <- lapply(targets, function(t) {
        colnames(t) <- colnames(ref)
        rownames(t) <- gsub("_", "-", rownames(t))
        out <- TransferData(anchors, refdata = t, dims = seq_len(n_dims), k.weight = k_weight, verbose = FALSE)
        values <- as.matrix(GetAssayData(out, slot = "data"))
        rownames(values) <- rownames(targets[[1]])[match(rownames(values), gsub("_", "-", rownames(targets[[1]])))]
        values
    })
    mapped <- MapQuery(anchors, query = query, reference = ref, reference.reduction = "pca",
        transferdata.args = list(k.weight = k_weight), verbose = FALSE)
    list(labels = labels$predicted.id, label_score = labels$prediction.score.max,
        transferred = transferred,
        reference_embedding = Embeddings(ref, "pca"), query_embedding = Embeddings(mapped, "ref.pca"))
}

# The query projected on the reference's RNA PCA (reference centring and scaling).
rna_projection <- function(ref_rna, query_rna, n_dims = 30L) {
    ref <- scaled_cells(log_normalise(ref_rna))
    query <- scaled_cells(log_normalise(query_rna), ref$centre, ref$scale)
    pca <- irlba::prcomp_irlba(ref$x, n = n_dims, center = FALSE, scale. = FALSE)
    list(reference = pca$x, query = query$x %*% pca$rotation)
}

# kNN regression: each query cell gets the mean target of its k nearest reference cells.
knn_regression <- function(ref_space, query_space, ref_target, k = 15L) {
    nn <- FNN::get.knnx(ref_space, query_space, k = k)$nn.index
    target <- as.matrix(ref_target)
    out <- vapply(seq_len(nrow(nn)), function(i) rowMeans(target[, nn[i, ], drop = FALSE]),
        numeric(nrow(target)))
    dimnames(out) <- list(rownames(target), rownames(query_space))
    out
}

# Least squares of the target on the reference's principal components (with intercept).
linear_regression <- function(ref_space, query_space, ref_target) {
    design <- cbind(1, ref_space)
    coef <- qr.solve(design, t(as.matrix(ref_target)))
    out <- t(cbind(1, query_space) %*% coef)
    dimnames(out) <- list(rownames(ref_target), rownames(query_space))
    out
}
