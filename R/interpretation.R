#' Which features each latent dimension drives
#'
#' Latent traversals as in scMM (Minoura et al. 2021): starting from the centre
#' of the embedding, each latent dimension in turn is moved from `-range` to
#' `+range` standard deviations (the other dimensions fixed), the pseudocells
#' are decoded by every modality's decoder, and each feature's decoded value is
#' correlated (Spearman) with the traversal. A feature with a correlation near
#' 1 rises along that dimension, near -1 falls.
#'
#' @param model A trained `multigrade_model` (with its training embedding).
#' @param modalities Modalities to decode (default: all).
#' @param n_steps Pseudocells per dimension.
#' @param range Standard deviations of the embedding covered on each side.
#' @param batch Covariate levels the pseudocells are decoded with, as a named
#'   list (default: the first level of each categorical covariate; continuous
#'   covariates are set to 0).
#' @param device Where to compute (default: as in training).
#' @return A named list by modality of features x latent dimensions matrices of
#'   Spearman correlations (0 where a feature does not change), with the
#'   decoded traversals in the attribute `"traversals"` (one features x
#'   `n_steps` matrix per dimension). Count modalities are decoded as
#'   proportions (library size 1).
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
#'     max_epochs = 20, seed = 1, verbose = FALSE)
#' assoc <- LatentFeatureAssociations(model, modalities = "adt")
#' # The proteins most tied to the first latent dimension:
#' head(sort(assoc$adt[, 1], decreasing = TRUE))
#' @export
LatentFeatureAssociations <- function(model, modalities = NULL, n_steps = 11L, range = 5,
                                      batch = NULL, device = NULL) {
    check_model(model)
    if (is.null(model$embedding)) {
        mg_abort("The model holds no training embedding to traverse.", class = "model")
    }
    modalities <- modalities %||% names(model$modalities)
    unknown <- setdiff(modalities, names(model$modalities))
    if (length(unknown) > 0) {
        mg_abort(c("Unknown modalit{?y/ies} {.val {unknown}}.", "i" = "The model has {.val {names(model$modalities)}}."))
    }
    check_count(n_steps, min = 3)
    check_number(range, min = 0)
    if (range == 0) mg_abort("{.arg range} must be positive.")
    device <- resolve_device(device %||% model$device)
    n_threads <- resolve_threads(model$options$n_threads)
    steps <- seq(-range, range, length.out = n_steps)
    points <- traversal_points(model$embedding, steps)
    covariates <- traversal_covariates(model, batch, nrow(points))
    out <- lapply(stats::setNames(modalities, modalities), function(m) {
        decoded <- mg_decode_latent(model$config, model$weights, points, covariates$categorical,
            covariates$continuous, match(m, names(model$modalities)), device, n_threads)
        rownames(decoded) <- model$modalities[[m]]$features
        dims <- ncol(model$embedding)
        traversals <- lapply(seq_len(dims), function(d) decoded[, (d - 1) * n_steps + seq_len(n_steps), drop = FALSE])
        names(traversals) <- colnames(model$embedding)
        correlations <- vapply(traversals, function(t) traversal_correlation(t, steps), numeric(nrow(decoded)))
        dimnames(correlations) <- list(rownames(decoded), colnames(model$embedding))
        attr(correlations, "traversals") <- traversals
        correlations
    })
    out
}

# Pseudocells: for each dimension, the embedding centre with that dimension moved.
traversal_points <- function(embedding, steps) {
    centre <- colMeans(embedding)
    spread <- apply(embedding, 2, stats::sd)
    spread[!is.finite(spread) | spread == 0] <- 1
    blocks <- lapply(seq_len(ncol(embedding)), function(d) {
        block <- matrix(centre, length(steps), ncol(embedding), byrow = TRUE)
        block[, d] <- centre[d] + steps * spread[d]
        block
    })
    do.call(rbind, blocks)
}

# Codes of the chosen levels for every point (the first level of covariates not named in
# `batch`), and 0 for continuous covariates.
traversal_covariates <- function(model, batch, n_points, call = rlang::caller_env()) {
    categorical <- decoding_codes(batch, model, n_points, arg = "batch", call = call)
    first <- vapply(categorical, is.null, logical(1))
    categorical[first] <- lapply(which(first), function(k) rep(0L, n_points))
    continuous <- lapply(model$covariates$continuous, function(nm) rep(0, n_points))
    list(categorical = unname(categorical), continuous = unname(continuous))
}

# Spearman correlation of each feature (row) with the traversal; 0 for flat features.
traversal_correlation <- function(values, steps) {
    apply(values, 1, function(v) {
        if (length(unique(v)) < 2) return(0)
        stats::cor(v, steps, method = "spearman")
    })
}
