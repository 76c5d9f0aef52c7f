#' Impute a modality from the others
#'
#' Predicts one of the model's modalities for every cell from what the cell has:
#' its joint posterior (from the measured modalities) is decoded by the target
#' modality's decoder with the cell's own covariates. Values are the
#' likelihood's expected value on the scale the model was trained on:
#' * `mse` modalities (e.g. CLR-normalised protein): the predicted value;
#' * `nb`/`zinb` (counts): the expected count for a library size (`zinb` times
#'   the probability of no zero-inflation);
#' * `bernoulli` (e.g. binarised peaks): the probability of a 1;
#' * `nbmixture` (raw protein counts, totalVI's background/foreground model):
#'   the denoised protein, i.e. the foreground mean times the foreground
#'   probability, for a library size; or with `value = "foreground_probability"`
#'   the probability that each value is foreground (signal, not background).
#'
#' Cells of a query mapped with [MapToReference()] are imputed with the
#' extended model it returns. For the "query-in-train" setting, train the
#' model on a mosaic (cells lacking the target as `NA` columns or via
#' `present`) and impute those cells with it directly.
#'
#' @param object The cells to impute: a named list of feature x cell matrices
#'   (any of the model's modalities; the target may be left out), a `Seurat`
#'   object or a `SingleCellExperiment` (see [ImputeModality.Seurat()]).
#'   Features are matched by name; up to half of a modality's features may be
#'   missing (a classed warning; see [MapToReference()] for what the encoders
#'   see in their place).
#' @param model A `multigrade_model` that knows the cells' covariate levels.
#' @param target Name of the modality to impute.
#' @param batch,continuous,present The cells' covariates and presence mask, as
#'   in [RunMultigrade()].
#' @param library_size For count targets: one number, or one per cell. By
#'   default a cell's own total count of the target where it was measured,
#'   else the median total of the model's training cells.
#' @param decode_batch Optional covariate levels to decode with instead of
#'   each cell's own, as a named list or vector such as
#'   `list(batch = "s1d1")` (scvi's `transform_batch`): the cells are encoded
#'   with their own covariates and imputed as if measured in that batch. Useful
#'   for a query mapped from one modality: its new batch embedding was learned
#'   without the target modality, so decoding it with a reference batch that
#'   had the target is usually more accurate.
#' @param value `"expected"`, or `"foreground_probability"` for `nbmixture`
#'   targets.
#' @param n_samples Posterior draws for uncertainty (0: none). With draws, the
#'   result carries the `probs` quantiles of the expected value over the
#'   latent posterior. The default KL weight makes that posterior narrow, so
#'   these intervals reflect the latent uncertainty the model learned, not the
#'   measurement noise of the likelihood.
#' @param probs Quantile probabilities for `n_samples > 0`.
#' @param device,seed As in [RunMultigrade()].
#' @param cluster `NULL`, or a [multigrade_cluster()] when this R process is one
#'   of several ranks running the same script: each imputes its share of the
#'   cells and every rank gets all of them (for large queries).
#' @param ... Unused.
#' @return For a list, a target features x cells matrix. With `n_samples > 0`
#'   it has an attribute `"quantiles"`: a list of matrices of the same shape,
#'   named by probability (e.g. `"2.5%"`).
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
#'     max_epochs = 20, seed = 1, verbose = FALSE)
#' adt <- ImputeModality(list(rna = cite$rna), model, target = "adt",
#'     batch = cite$obs$batch, n_samples = 20)
#' dim(adt)
#' cor(adt["CD4", ], cite$adt["CD4", ])
#' names(attr(adt, "quantiles"))
#'
#' # Raw protein counts with totalVI's background/foreground mixture: the
#' # probability that a protein's counts are signal, not background.
#' counts_model <- RunMultigrade(list(adt = cite$adt_counts),
#'     likelihoods = c(adt = "nbmixture"), batch = cite$obs$batch,
#'     max_epochs = 30, seed = 1, verbose = FALSE)
#' signal <- ImputeModality(list(adt = cite$adt_counts), counts_model,
#'     target = "adt", batch = cite$obs$batch, value = "foreground_probability")
#' b_cell <- grepl("B IGK|Transitional B", cite$obs$cell_type)
#' c(B = mean(signal["CD19", b_cell]), other = mean(signal["CD19", !b_cell]))
#' @export
ImputeModality <- function(object, model, target, ...) {
    UseMethod("ImputeModality")
}

#' @export
ImputeModality.default <- function(object, model, target, ...) {
    mg_abort(c("{.fn ImputeModality} needs a named list of matrices, a Seurat object or a SingleCellExperiment.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname ImputeModality
#' @export
ImputeModality.list <- function(object, model, target, batch = NULL, continuous = NULL,
                                present = NULL, library_size = NULL, decode_batch = NULL,
                                value = c("expected", "foreground_probability"), n_samples = 0L,
                                probs = c(0.025, 0.975), device = NULL, seed = NULL, cluster = NULL, ...) {
    check_dots_empty(list(...))
    check_model(model)
    check_cluster(cluster)
    target <- check_target(target, model)
    value <- match.arg(value)
    if (value == "foreground_probability" && model$modalities[[target]]$likelihood != "nbmixture") {
        mg_abort("{.code value = \"foreground_probability\"} needs a target with the {.val nbmixture} likelihood.")
    }
    check_count(n_samples, min = 0)
    if (!is.numeric(probs) || length(probs) == 0 || anyNA(probs) || any(probs < 0 | probs > 1)) {
        mg_abort("{.arg probs} must be probabilities in [0, 1].")
    }
    device <- resolve_device(device %||% model$device)
    seed <- draw_seed(seed)
    data <- prepare_data(object, batch = batch, continuous = continuous, present = present,
        schema = model_schema(model), missing_features = "pad", verbose = FALSE)
    n_threads <- resolve_threads(model$options$n_threads)
    data <- fill_unmeasured(data, model, device, n_threads)
    library <- imputation_library(library_size, data, model, target)
    decode_codes <- decoding_codes(decode_batch, model, length(data$cells))
    # Features x cells matrices (the mean, then each quantile) of a share of the cells.
    impute <- function(part, rows) {
        out <- with_memory_advice(mg_impute(model$config, model$weights, core_data(part), device, n_threads,
            match(target, names(model$modalities)), library[rows], as.integer(n_samples), as.double(probs), seed,
            lapply(decode_codes, function(codes) codes[rows]), value == "foreground_probability"), device)
        c(list(out$mean), out$quantiles)
    }
    values <- map_shards(data, cluster, impute, cells = "columns")
    names_of <- list(model$modalities[[target]]$features, data$cells)
    imputed <- values[[1]]
    dimnames(imputed) <- names_of
    if (n_samples > 0) {
        quantiles <- lapply(values[-1], function(q) {
            dimnames(q) <- names_of
            q
        })
        names(quantiles) <- paste0(format(100 * probs, trim = TRUE), "%")
        attr(imputed, "quantiles") <- quantiles
    }
    imputed
}

check_target <- function(target, model, call = rlang::caller_env()) {
    known <- names(model$modalities)
    if (!is.character(target) || length(target) != 1 || !target %in% known) {
        mg_abort(c("{.arg target} must name one of the model's modalities: {.val {known}}."), call = call)
    }
    target
}

# Per categorical covariate of the model: NULL (decode with the cells' own level) or the
# 0-based code of the requested level for every cell.
decoding_codes <- function(decode_batch, model, n_cells, arg = "decode_batch", call = rlang::caller_env()) {
    levels <- model$covariates$categorical
    codes <- rep(list(NULL), length(levels))
    if (is.null(decode_batch)) return(codes)
    decode_batch <- as.list(decode_batch)
    unknown <- setdiff(names(decode_batch), names(levels))
    if (is.null(names(decode_batch)) || any(names(decode_batch) == "") || length(unknown) > 0) {
        mg_abort(c("{.arg {arg}} must name the model's covariates, e.g. {.code list({names(levels)[1]} = \"{levels[[1]][1]}\")}.",
            "i" = "Covariates: {.val {names(levels)}}."), call = call)
    }
    for (nm in names(decode_batch)) {
        level <- decode_batch[[nm]]
        if (length(level) != 1) mg_abort("{.arg {arg}${nm}} must be one level.", call = call)
        codes[[match(nm, names(levels))]] <- rep(encode_levels(level, levels[[nm]], nm, call), n_cells)
    }
    codes
}

# Library sizes per cell for a count target (NULL for other likelihoods).
imputation_library <- function(library_size, data, model, target, call = rlang::caller_env()) {
    if (!model$modalities[[target]]$likelihood %in% count_likelihoods) return(NULL)
    n <- length(data$cells)
    if (!is.null(library_size)) {
        if (!is.numeric(library_size) || !length(library_size) %in% c(1L, n) ||
            any(!is.finite(library_size)) || any(library_size <= 0)) {
            mg_abort("{.arg library_size} must be one positive number or one per cell ({n}).", call = call)
        }
        return(rep_len(as.double(library_size), n))
    }
    fallback <- model$modalities[[target]]$library_median %||% 1e4
    m <- data$modalities[[target]]
    observed <- if (m$sparse) Matrix::colSums(m$data) else colSums(m$data)
    ifelse(m$present == 1L & observed > 0, observed, fallback)
}
