#' Train on .h5ad files larger than memory, a chunk of cells at a time
#'
#' Streams the cells of one `.h5ad` file per modality (same cells in the same
#' order) through the trainer in chunks of `chunk_size` cells: in each epoch the
#' chunks are visited in random order, each is read from disk, trained on for
#' one pass (minibatches shuffled within the chunk) and freed, so host memory
#' holds one chunk, not the data set. The embedding is computed chunk by chunk
#' too. The matrices must be stored as CSR (`csr_matrix`, AnnData's default for
#' cells x features) or dense, so that a range of cells is one contiguous read;
#' [WriteH5AD()] writes such files.
#'
#' Covariate levels are read from the whole `obs` table first, so every chunk
#' codes them alike. Early stopping is off (the validation loss of different
#' chunks is not comparable); the KL warm-up spans the same number of epochs
#' as in [RunMultigrade()]. The per-modality library-size medians stored in the
#' model (used by imputation) come from the first chunk.
#'
#' @inheritParams RunMultigrade
#' @param files Named character vector: one `.h5ad` path per modality.
#' @param layers Named character vector: which matrix of each file (`"X"`, the
#'   default, or a name under `layers/`, e.g. `"counts"`).
#' @param batch,continuous,integrate_on Column names of the first file's `obs`.
#' @param chunk_size Cells read and trained on at a time.
#' @return A `multigrade_model` with `$embedding` for all cells (as
#'   [RunMultigrade()]).
#' @seealso [WriteH5AD()], [ReadH5AD()].
#' @examples
#' cite <- multigrade_example("cite")
#' rna <- tempfile(fileext = ".h5ad")
#' WriteH5AD(cite$rna[, 1:300], rna, obs = cite$obs[1:300, ])
#' model <- RunMultigradeH5AD(c(rna = rna), likelihoods = c(rna = "nb"), batch = "batch",
#'     chunk_size = 100, max_epochs = 2, seed = 1, verbose = FALSE)
#' dim(model$embedding)
#' @export
RunMultigradeH5AD <- function(files, layers = NULL, likelihoods = NULL, batch = NULL, integrate_on = NULL,
                              continuous = NULL, chunk_size = 50000L, latent_dim = 30L, max_epochs = NULL,
                              batch_size = NULL, lr = 3e-3, device = "auto", seed = NULL, verbose = TRUE,
                              options = multigrade_options()) {
    check_training_arguments(options, latent_dim, max_epochs, lr, batch_size)
    check_count(chunk_size, min = 2)
    device <- resolve_device(device)
    seed <- draw_seed(seed)
    source <- open_h5ad_source(files, layers)
    on.exit(close_h5ad_source(source), add = TRUE)
    mg_inform(c("i" = "Streaming {nrow(source$obs)} cells from {length(files)} file{?s}."), verbose)
    train_streamed(function(range) read_chunk_mats(source, range), source$obs, chunk_size, likelihoods, batch,
        continuous, integrate_on, latent_dim, max_epochs, batch_size, lr, device, seed, verbose, options)
}

open_h5ad_source <- function(files, layers, call = rlang::caller_env()) {
    if (!is.character(files) || is.null(names(files)) || any(names(files) == "")) {
        mg_abort("{.arg files} must be a named character vector: one {.file .h5ad} path per modality.", call = call)
    }
    missing <- files[!file.exists(files)]
    if (length(missing) > 0) mg_abort("File{?s} {.file {missing}} not found.", class = "file", call = call)
    handles <- lapply(files, function(f) hdf5r::H5File$new(f, mode = "r"))
    layers <- vapply(names(files), function(m) if (!is.null(layers) && m %in% names(layers)) layers[[m]] else "X",
        character(1))
    nodes <- Map(function(h5, layer, f) {
        path <- if (layer == "X") "X" else paste0("layers/", layer)
        if (!h5$exists(path)) mg_abort("{.file {f}} has no matrix {.val {path}}.", class = "file", call = call)
        node <- h5[[path]]
        check_streamable(node, f, call)
        node
    }, handles, layers, files)
    obs <- read_h5ad_frame(handles[[1]][["obs"]])
    for (k in seq_along(handles)[-1]) {
        cells <- rownames(read_h5ad_frame(handles[[k]][["obs"]]))
        if (!identical(cells, rownames(obs))) {
            mg_abort("{.file {files[[k]]}} does not hold the same cells in the same order as {.file {files[[1]]}}.",
                call = call)
        }
    }
    features <- lapply(handles, function(h5) rownames(read_h5ad_frame(h5[["var"]])))
    list(handles = handles, nodes = nodes, obs = obs, features = features)
}

close_h5ad_source <- function(source) {
    for (h5 in source$handles) h5$close_all()
}

check_streamable <- function(node, file, call) {
    if (inherits(node, "H5D")) return(invisible())
    encoding <- h5_encoding(node)
    if (encoding != "csr_matrix") {
        mg_abort(c("{.file {file}} stores its matrix as {.val {encoding}}: a range of cells is not one contiguous read.",
            "i" = "Store it as CSR (in Python: {.code adata.X = scipy.sparse.csr_matrix(adata.X)}) or write it with {.fn WriteH5AD}."),
            call = call)
    }
}

# Features x cells matrices of one chunk, cells named from obs.
read_chunk_mats <- function(source, range) {
    cells <- rownames(source$obs)[range[1]:range[2]]
    Map(function(node, features) {
        m <- h5ad_cells(node, range[1], range[2], length(features))
        dimnames(m) <- list(features, cells)
        m
    }, source$nodes, source$features)
}

# Cells first..last (1-based) of a CSR or dense AnnData matrix, as features x cells.
h5ad_cells <- function(node, first, last, n_features) {
    if (inherits(node, "H5D")) return(node[, first:last, drop = FALSE])
    p <- as.double(node[["indptr"]][first:(last + 1L)])
    nnz <- p[length(p)] - p[1]
    i <- if (nnz > 0) as.integer(node[["indices"]][(p[1] + 1):p[length(p)]]) else integer(0)
    x <- if (nnz > 0) as.double(node[["data"]][(p[1] + 1):p[length(p)]]) else numeric(0)
    Matrix::sparseMatrix(i = i, p = as.integer(p - p[1]), x = x, dims = c(n_features, last - first + 1L),
        index1 = FALSE)
}
