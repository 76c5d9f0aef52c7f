#' Cross-validate MultiMIL by patient, next to simple baselines
#'
#' k-fold cross-validation at the level of patients (or samples): all samples
#' of a patient are in the same fold, so a patient's cells never appear in
#' training and test at once. Each fold trains [RunMultiMIL()] on the other
#' folds and predicts the held-out samples; the MultiMIL paper's baselines are
#' trained on the same folds from per-sample features: the mean embedding and,
#' when `cell_type` is given, cell-type frequencies, each with a ridge
#' (L2-penalised) logistic regression and a random forest (package
#' `randomForest`). Regression tasks use ridge linear regression and a
#' regression forest and report the RMSE instead of the accuracy.
#'
#' @inheritParams RunMultiMIL
#' @param object A cells x dimensions embedding (cell names as row names), a
#'   `Seurat` object or a `SingleCellExperiment`.
#' @param group Per-cell patient ids (constant within a sample); folds never
#'   split a group. `NULL`: each sample is its own group. For objects: a
#'   metadata column name.
#' @param cell_type Optional per-cell cell types for the frequency baselines.
#' @param n_folds Number of folds; `NULL`: one fold per group (leave one
#'   patient out) when there are at most 10 groups, else 5. Formerly `k`, which
#'   still works with a deprecation warning.
#' @param baselines Also run the baselines.
#' @param reduction For objects: the reduction / reducedDim to use.
#' @param ... Passed to [RunMultiMIL()] (e.g. `max_epochs`, `options`).
#' @return A `multimil_cv` list: `summary` (a data frame by method: `method`,
#'   `features`, `accuracy` or `rmse`, `n_samples`), `predictions` (one row per
#'   held-out sample and method: `fold`, `sample`, `label`, `method`,
#'   `predicted`) and `attention` (per cell, from the fold in which its sample
#'   was held out).
#' @family MultiMIL
#' @examples
#' \donttest{
#' gbm <- multigrade_example("glioblastoma")
#' emb <- stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' cv <- CrossValidateMIL(emb, sample = gbm$obs$sample_id, label = gbm$obs$condition,
#'     group = gbm$obs$patient_id, max_epochs = 30, seed = 1, verbose = FALSE)
#' cv$summary
#' }
#' @export
CrossValidateMIL <- function(object, ...) {
    UseMethod("CrossValidateMIL")
}

#' @export
CrossValidateMIL.default <- function(object, ...) {
    mg_abort(c("{.fn CrossValidateMIL} needs an embedding matrix (cells x dimensions), a Seurat object or a SingleCellExperiment.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname CrossValidateMIL
#' @export
CrossValidateMIL.matrix <- function(object, sample, label, group = NULL, cell_type = NULL, n_folds = NULL,
                                    task = c("classification", "regression", "ordinal"), levels = NULL,
                                    baselines = TRUE, seed = NULL, verbose = TRUE, ...) {
    renamed <- renamed_argument(list(...), "k", "n_folds", n_folds)
    n_folds <- renamed$value
    mil_arguments <- renamed$dots
    task <- match.arg(task)
    seed <- draw_seed(seed)
    embedding <- check_embedding(object, arg = "object")
    cells <- rownames(embedding)
    sample <- sample_factor(cell_vector(sample, cells))
    label <- cell_vector(label, cells)
    labels <- sample_labels(label, sample)
    groups <- if (is.null(group)) stats::setNames(levels(sample), levels(sample)) else
        sample_labels(cell_vector(group, cells), sample, arg = "group")
    folds <- group_folds(groups, n_folds, seed)
    if (baselines && task != "regression") {
        levels <- levels %||% mil_target(labels, task, levels)$classes
    }
    features <- sample_features(embedding, sample, if (is.null(cell_type)) NULL else cell_vector(cell_type, cells))
    predictions <- list()
    attention <- stats::setNames(rep(NA_real_, length(cells)), cells)
    # RunMultiMIL on the cells outside a fold, with the caller's other arguments: do.call puts
    # only these, not the embedding, into the call, and the formals after ... match only by
    # their full names, never a caller's argument.
    fit_without <- function(..., train_cells, fold_seed) {
        RunMultiMIL(embedding[train_cells, , drop = FALSE], sample = as.character(sample)[train_cells],
            label = label[train_cells], task = task, levels = levels, seed = fold_seed, verbose = FALSE, ...)
    }
    for (f in sort(unique(folds))) {
        mg_inform(c("i" = "Fold {f} of {max(folds)}: holding out {.val {names(groups)[folds == f]}}."), verbose)
        test_samples <- names(groups)[folds == f]
        train_cells <- !as.character(sample) %in% test_samples
        fit <- do.call(fit_without, c(mil_arguments, list(train_cells = train_cells, fold_seed = seed + f)))
        held <- PredictSamples(embedding[!train_cells, , drop = FALSE], fit,
            sample = as.character(sample)[!train_cells])
        attention[names(held$attention)] <- held$attention
        predictions[[length(predictions) + 1]] <- fold_predictions(f, held$samples$sample, labels,
            "multimil", held$samples$predicted)
        if (baselines) {
            predictions <- c(predictions, baseline_predictions(f, features, labels, test_samples, task, seed + f))
        }
    }
    predictions <- do.call(rbind, predictions)
    structure(list(summary = cv_summary(predictions, task), predictions = predictions, attention = attention,
        folds = folds, n_groups = length(unique(groups)), task = task), class = "multimil_cv")
}

#' @rdname CrossValidateMIL
#' @export
CrossValidateMIL.data.frame <- function(object, ...) {
    CrossValidateMIL(as.matrix(object), ...)
}

#' @rdname CrossValidateMIL
#' @export
CrossValidateMIL.Seurat <- function(object, sample = "sample_id", label = "condition", group = NULL,
                                    cell_type = NULL, reduction = "multigrade", ...) {
    require_package("SeuratObject")
    meta <- object[[]]
    CrossValidateMIL(seurat_embedding(object, reduction), sample = meta_column(meta, sample),
        label = meta_column(meta, label), group = if (is.null(group)) NULL else meta_column(meta, group),
        cell_type = if (is.null(cell_type)) NULL else meta_column(meta, cell_type), ...)
}

#' @rdname CrossValidateMIL
#' @export
CrossValidateMIL.SingleCellExperiment <- function(object, sample = "sample_id", label = "condition",
                                                  group = NULL, cell_type = NULL, reduction = "MULTIGRADE", ...) {
    require_package("SingleCellExperiment")
    meta <- as.data.frame(SummarizedExperiment::colData(object))
    CrossValidateMIL(sce_embedding(object, reduction), sample = meta_column(meta, sample),
        label = meta_column(meta, label), group = if (is.null(group)) NULL else meta_column(meta, group),
        cell_type = if (is.null(cell_type)) NULL else meta_column(meta, cell_type), ...)
}

#' @export
print.multimil_cv <- function(x, ...) {
    cli::cli_text("{.cls multimil_cv}: {max(x$folds)}-fold cross-validation over {x$n_groups} group{?s} ({length(x$folds)} samples)")
    print(x$summary, row.names = FALSE)
    invisible(x)
}

# Fold number per sample: groups shuffled and dealt into n_folds folds.
group_folds <- function(groups, n_folds, seed, call = rlang::caller_env()) {
    units <- unique(unname(groups))
    n_folds <- n_folds %||% if (length(units) <= 10) length(units) else 5L
    check_count(n_folds, min = 2, call = call)
    if (n_folds > length(units)) {
        mg_abort("{.arg n_folds} = {n_folds} folds, but there are only {length(units)} groups.", call = call)
    }
    fold_of_unit <- with_seed(seed, sample(rep_len(seq_len(n_folds), length(units))))
    stats::setNames(fold_of_unit[match(groups, units)], names(groups))
}

fold_predictions <- function(fold, samples, labels, method, predicted) {
    data.frame(fold = fold, sample = samples, label = unname(labels[samples]), method = method,
        predicted = as.character(predicted), stringsAsFactors = FALSE)
}

# Per-sample feature sets of the baselines.
sample_features <- function(embedding, sample, cell_type) {
    out <- list(mean_embedding = SampleRepresentations(embedding, sample, method = "mean"))
    if (!is.null(cell_type)) {
        counts <- table(sample, factor(cell_type))
        out$cell_type_frequency <- unclass(counts / rowSums(counts))
    }
    out
}

baseline_predictions <- function(fold, features, labels, test_samples, task, seed) {
    train_samples <- setdiff(names(labels), test_samples)
    out <- list()
    for (nm in names(features)) {
        x <- features[[nm]]
        x_train <- x[train_samples, , drop = FALSE]
        x_test <- x[test_samples, , drop = FALSE]
        y <- labels[train_samples]
        ridge <- if (task == "regression") ridge_regression(x_train, as.numeric(y), x_test) else
            ridge_logistic(x_train, factor(y), x_test)
        out[[length(out) + 1]] <- fold_predictions(fold, test_samples, labels, paste0("ridge_", nm), ridge)
        if (requireNamespace("randomForest", quietly = TRUE)) {
            forest <- with_seed(seed, {
                rf <- randomForest::randomForest(x_train, if (task == "regression") as.numeric(y) else factor(y),
                    ntree = 500)
                stats::predict(rf, x_test)
            })
            out[[length(out) + 1]] <- fold_predictions(fold, test_samples, labels, paste0("random_forest_", nm), forest)
        }
    }
    out
}

cv_summary <- function(predictions, task) {
    methods <- unique(predictions$method)
    rows <- lapply(methods, function(m) {
        p <- predictions[predictions$method == m, ]
        features <- sub("^(ridge|random_forest)_", "", m)
        out <- data.frame(method = m, features = if (m == "multimil") "cells (attention)" else features,
            score = prediction_score(p, task), n_samples = nrow(p), stringsAsFactors = FALSE)
        names(out)[3] <- if (task == "regression") "rmse" else "accuracy"
        out
    })
    do.call(rbind, rows)
}

standardise_columns <- function(x_train, x_test) {
    center <- colMeans(x_train)
    scale <- apply(x_train, 2, stats::sd)
    scale[!is.finite(scale) | scale == 0] <- 1
    list(train = cbind(1, scale(x_train, center, scale)), test = cbind(1, scale(x_test, center, scale)))
}

# Multinomial logistic regression with an L2 penalty (lambda 1, intercepts free) on
# standardised features, fitted by BFGS: with few samples and many features an
# unpenalised fit separates perfectly and diverges.
ridge_logistic <- function(x_train, y, x_test, lambda = 1) {
    y <- droplevels(y)
    if (nlevels(y) == 1) return(rep(levels(y), nrow(x_test)))
    z <- standardise_columns(x_train, x_test)
    one_hot <- stats::model.matrix(~ y - 1)
    k <- nlevels(y)
    penalty <- rbind(0, matrix(1, ncol(z$train) - 1, k))
    objective <- function(w) {
        eta <- z$train %*% matrix(w, ncol = k)
        top <- apply(eta, 1, max)
        -sum(one_hot * eta) + sum(log(rowSums(exp(eta - top))) + top) + lambda / 2 * sum(penalty * w^2)
    }
    gradient <- function(w) {
        eta <- z$train %*% matrix(w, ncol = k)
        p <- exp(eta - apply(eta, 1, max))
        p <- p / rowSums(p)
        as.vector(crossprod(z$train, p - one_hot) + lambda * penalty * matrix(w, ncol = k))
    }
    w <- stats::optim(rep(0, ncol(z$train) * k), objective, gradient, method = "BFGS")$par
    levels(y)[max.col(z$test %*% matrix(w, ncol = k), ties.method = "first")]
}

ridge_regression <- function(x_train, y, x_test, lambda = 1) {
    z <- standardise_columns(x_train, x_test)
    penalty <- diag(c(0, rep(lambda, ncol(z$train) - 1)))
    w <- solve(crossprod(z$train) + penalty, crossprod(z$train, y))
    as.vector(z$test %*% w)
}

# Accuracy of held-out predictions, or their RMSE for regression.
prediction_score <- function(predictions, task) {
    if (task == "regression") {
        return(sqrt(mean((as.numeric(predictions$predicted) - as.numeric(predictions$label))^2)))
    }
    mean(predictions$predicted == as.character(predictions$label))
}
