# The multigrade_model S3 class: configuration, weights, feature names, covariate
# levels, training history, seed and versions; plain R data, so it survives saveRDS().

new_multigrade_model <- function(data, model_config, train_config, fit, options, device, seed) {
    modalities <- lapply(data$modalities, function(m) {
        list(features = m$features, likelihood = m$likelihood, n_cells = sum(m$present),
            library_median = library_median(m))
    })
    info <- mg_runtime_info()
    # The schema (R/schema.R) is kept as modalities and covariates: the saved format.
    schema <- data_schema(data)
    structure(list(
        config = model_config, train_config = forget_cluster(train_config), options = forget_cluster(unclass(options)),
        modalities = modalities,
        covariates = schema_covariates(schema),
        weights = fit$weights, history = fit$history,
        cells = data$cells, validation_cells = data$cells[fit$validation_cells],
        embedding = NULL, seed = seed, device = device,
        training_seconds = fit$seconds, interrupted = fit$interrupted,
        versions = list(multigrade = as.character(utils::packageVersion("multigrade")),
            libtorch = info$torch_version, R = as.character(getRversion()))
    ), class = "multigrade_model")
}

# The median total count of a count modality's measured cells: the default library size
# for imputing counts in cells that lack the modality.
library_median <- function(m) {
    if (!m$likelihood %in% count_likelihoods || !any(m$present == 1L)) return(NULL)
    totals <- if (m$sparse) Matrix::colSums(m$data) else colSums(m$data)
    stats::median(totals[m$present == 1L])
}

#' Latent embedding of cells with a trained model
#'
#' The joint posterior mean (deterministic) of each cell. Without `newdata`,
#' the embedding of the training cells.
#'
#' @param object A `multigrade_model`.
#' @param newdata `NULL`, a named list of feature x cell matrices like the
#'   training input, or a Seurat object or SingleCellExperiment (the assays or
#'   experiments named like the model's modalities are used, each read as in
#'   training). Features are matched by name; a modality may be left out (its
#'   cells are embedded from the others), and up to half of a modality's
#'   features may be missing (a classed warning; the encoders see the model's
#'   expectation of them given the measured features, see [MapToReference()]).
#' @param batch,continuous,present Covariates of `newdata` and its presence
#'   mask, given as in training (levels must be known to the model); for an
#'   object, `batch` and `continuous` are metadata column names.
#' @param type `"latent"` (posterior mean) or `"logvar"` (posterior
#'   log-variance).
#' @param device,n_threads Where to compute (default: as in training).
#' @param data Internal: already prepared data.
#' @param cluster `NULL`, or a [multigrade_cluster()] when this R process is one
#'   of several ranks running the same script: each embeds its share of the
#'   cells and every rank gets all of them (for large queries).
#' @param ... Unused.
#' @return A cells x `latent_dim` matrix with cell names as row names.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
#'     max_epochs = 3, seed = 1, verbose = FALSE)
#' rna_only <- predict(model, newdata = list(rna = cite$rna), batch = cite$obs$batch)
#' dim(rna_only)
#' @export
predict.multigrade_model <- function(object, newdata = NULL, batch = NULL, continuous = NULL,
                                     present = NULL, type = c("latent", "logvar"),
                                     device = NULL, n_threads = NULL, data = NULL, cluster = NULL, ...) {
    type <- match.arg(type)
    check_cluster(cluster)
    if (is.null(newdata) && is.null(data) && type == "latent" && !is.null(object$embedding)) {
        return(object$embedding)
    }
    device <- resolve_device(device %||% object$device)
    n_threads <- resolve_threads(n_threads %||% object$options$n_threads)
    if (is.null(data)) {
        if (is.null(newdata)) {
            mg_abort(c("The model holds no training data; give {.arg newdata}."))
        }
        inputs <- object_inputs(newdata, object, batch, continuous)
        if (!is.null(inputs)) {
            newdata <- inputs$newdata
            batch <- inputs$batch
            continuous <- inputs$continuous
        }
        data <- prepare_data(newdata, batch = batch, continuous = continuous,
            present = present, schema = model_schema(object), missing_features = "pad", verbose = FALSE)
        data <- fill_unmeasured(data, object, device, n_threads)
    }
    encode <- function(part, rows) {
        out <- with_memory_advice(mg_encode(object$config, object$weights, core_data(part), device, n_threads), device)
        list(if (type == "latent") out$mean else out$logvar)
    }
    latent_names(map_shards(data, cluster, encode)[[1]], data$cells)
}

# Cells x latent dimensions with the names every embedding carries.
latent_names <- function(value, cells) {
    dimnames(value) <- list(cells, paste0("multigrade_", seq_len(ncol(value))))
    value
}

#' @export
print.multigrade_model <- function(x, ...) {
    mods <- vapply(names(x$modalities), function(nm) {
        m <- x$modalities[[nm]]
        sprintf("%s (%d features, %s)", nm, length(m$features), m$likelihood)
    }, character(1))
    cli::cli_text("{.cls multigrade_model}: {length(x$cells)} cells, latent dimension {x$config$latent_dim}")
    covariates <- if (length(x$covariates$categorical)) paste(names(x$covariates$categorical), collapse = ", ") else "none"
    on <- x$covariates$integrate_on
    if (!is.null(on)) {
        aligned <- length(x$covariates$categorical[[on]]) >= 2
        covariates <- paste0(covariates, if (aligned) paste0(" (integrating on ", on, ")") else
            paste0(" (", on, " has one level: nothing aligned)"))
    }
    final <- format(signif(utils::tail(x$history$validation_reconstruction, 1), 5))
    cli::cli_bullets(c("*" = "Modalities: {paste(mods, collapse = '; ')}",
        "*" = "Covariates: {covariates}",
        "*" = "Trained {nrow(x$history)} epoch{?s} on {x$device}; final validation reconstruction {final}"))
    invisible(x)
}

#' @export
summary.multigrade_model <- function(object, ...) {
    h <- object$history
    best <- if (nrow(h) && !all(is.na(h$validation_reconstruction))) which.min(h$validation_reconstruction) else NA
    structure(list(
        n_cells = length(object$cells),
        modalities = data.frame(modality = names(object$modalities),
            likelihood = vapply(object$modalities, `[[`, "", "likelihood"),
            features = vapply(object$modalities, function(m) length(m$features), 1L),
            cells_measured = vapply(object$modalities, `[[`, 1L, "n_cells"), row.names = NULL),
        covariates = lengths(object$covariates$categorical),
        integrate_on = object$covariates$integrate_on,
        epochs = nrow(h), best_epoch = if (is.na(best)) NA else h$epoch[best],
        best_validation_reconstruction = if (is.na(best)) NA else h$validation_reconstruction[best],
        cells_per_second = if (nrow(h)) sum(h$cells_seen) / max(sum(h$seconds), 1e-9) else NA,
        n_parameters = sum(lengths(object$weights)),
        seed = object$seed, device = object$device, versions = object$versions),
        class = "summary.multigrade_model")
}

#' @export
print.summary.multigrade_model <- function(x, ...) {
    cli::cli_text("{.strong multigrade model} ({x$n_parameters} parameters, seed {x$seed}, {x$device})")
    print(x$modalities, row.names = FALSE)
    cli::cli_bullets(c("*" = "Epochs: {x$epochs}; best validation reconstruction {format(signif(x$best_validation_reconstruction, 5))} at epoch {x$best_epoch}",
        "*" = "Training speed: {format(round(x$cells_per_second))} cells/s",
        "*" = "Versions: multigrade {x$versions$multigrade}, LibTorch {x$versions$libtorch}"))
    invisible(x)
}


#' Get the trained model back from an object
#'
#' @param object A Seurat object, SingleCellExperiment or MultiAssayExperiment
#'   on which [RunMultigrade()] (or [MapToReference()]) was run.
#' @param reduction Name of the reduction that holds the model (Seurat:
#'   `"multigrade"`, SingleCellExperiment and MultiAssayExperiment:
#'   `"MULTIGRADE"`).
#' @return The `multigrade_model`.
#' @examples
#' if (requireNamespace("SeuratObject", quietly = TRUE)) {
#'     cite <- multigrade_example("cite")
#'     obj <- SeuratObject::CreateSeuratObject(counts = cite$rna, meta.data = cite$obs)
#'     obj <- RunMultigrade(obj, batch = "batch", max_epochs = 3, seed = 1, verbose = FALSE)
#'     GetMultigradeModel(obj)
#' }
#' @export
GetMultigradeModel <- function(object, reduction = NULL) {
    model <- NULL
    if (inherits(object, "Seurat")) {
        reduction <- reduction %||% "multigrade"
        if (reduction %in% names(object@reductions)) {
            model <- SeuratObject::Misc(object[[reduction]], slot = "model")
        }
    } else if (inherits(object, c("SingleCellExperiment", "MultiAssayExperiment"))) {
        model <- S4Vectors::metadata(object)$multigrade[[reduction %||% "MULTIGRADE"]]
    } else {
        mg_abort("{.fn GetMultigradeModel} takes a Seurat object, a SingleCellExperiment or a MultiAssayExperiment.")
    }
    if (!inherits(model, "multigrade_model")) {
        mg_abort("No multigrade model found under {.val {reduction}}; run {.fn RunMultigrade} first.",
            class = "model")
    }
    model
}
