# Plots as ggplot objects (add layers, themes or facets to them; print() draws them): the
# training histories of both model classes, embeddings coloured by any annotation, MIL
# attention, imputed against measured values, and latent feature associations.

#' Plot a model's training history
#'
#' Every loss term per epoch (reconstruction and total loss for the training
#' and validation cells, the KL term, the MMD alignment term when integrating,
#' the consistency and MIL terms when used), one panel each, with the epoch
#' whose weights the model kept marked.
#'
#' @param x A `multigrade_model`, a `multimil_model` or a `multimil_cv`
#'   (cross-validation by [CrossValidateMIL()]: each method's score per fold
#'   and over all held-out samples).
#' @param ... Unused.
#' @return A ggplot object.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), max_epochs = 5,
#'     seed = 1, verbose = FALSE)
#' plot(model)
#' @export
plot.multigrade_model <- function(x, ...) {
    h <- x$history
    if (is.null(h) || nrow(h) == 0) mg_abort("The model has no training history to plot.", class = "model")
    terms <- list(
        "reconstruction" = c(train = "train_reconstruction", validation = "validation_reconstruction"),
        "total loss" = c(train = "train_loss", validation = "validation_loss"),
        "KL divergence" = c(train = "train_kl"),
        "MMD (integration)" = c(train = "train_integration"),
        "consistency" = c(train = "train_consistency"),
        "MIL" = c(train = "train_mil"))
    history_plot(h, terms, "per cell (MMD, MIL: per step)", kept_epoch(h, "validation_reconstruction"))
}

#' @rdname plot.multigrade_model
#' @export
plot.multimil_model <- function(x, ...) {
    h <- x$history
    if (is.null(h) || nrow(h) == 0) mg_abort("The model has no training history to plot.", class = "model")
    terms <- list("loss" = c(train = "train_loss", validation = "validation_loss"),
        "validation accuracy" = c(validation = "validation_accuracy"))
    history_plot(h, terms, "value", kept_epoch(h, "validation_loss"))
}

#' @rdname plot.multigrade_model
#' @export
plot.multimil_cv <- function(x, ...) {
    scores <- fold_scores(x$predictions, x$task)
    overall <- x$summary
    metric <- if (x$task == "regression") "rmse" else "accuracy"
    overall$score <- overall[[metric]]
    order <- overall$method[order(overall$score, decreasing = metric == "accuracy")]
    scores$method <- factor(scores$method, levels = rev(order))
    overall$method <- factor(overall$method, levels = rev(order))
    ggplot2::ggplot(scores, ggplot2::aes(x = .data$score, y = .data$method)) +
        ggplot2::geom_point(colour = "grey55", position = ggplot2::position_jitter(width = 0, height = 0.12, seed = 1)) +
        ggplot2::geom_point(data = overall, shape = 124, size = 7, colour = "firebrick") +
        ggplot2::labs(x = if (metric == "rmse") "RMSE of the held-out samples" else "accuracy on the held-out samples",
            y = NULL, caption = sprintf("grey: one fold each; red: over all %d held-out samples", length(x$folds))) +
        ggplot2::theme_bw()
}

# Each method's score within each fold (accuracy, or RMSE for regression).
fold_scores <- function(predictions, task) {
    keys <- unique(predictions[c("method", "fold")])
    keys$score <- vapply(seq_len(nrow(keys)), function(i) {
        prediction_score(predictions[predictions$method == keys$method[i] & predictions$fold == keys$fold[i], ], task)
    }, numeric(1))
    keys
}

# Long format of the history's terms (all-zero or all-missing ones left out), one panel per
# term with free scales, the kept epoch as a dashed line.
history_plot <- function(h, terms, ylab, kept) {
    rows <- list()
    for (term in names(terms)) {
        for (set in names(terms[[term]])) {
            column <- terms[[term]][[set]]
            values <- h[[column]]
            if (is.null(values) || all(is.na(values) | values == 0)) next
            rows[[length(rows) + 1]] <- data.frame(epoch = h$epoch, term = term, set = set, value = values)
        }
    }
    long <- do.call(rbind, rows)
    long$term <- factor(long$term, levels = intersect(names(terms), long$term))
    plot <- ggplot2::ggplot(long, ggplot2::aes(x = .data$epoch, y = .data$value, colour = .data$set)) +
        ggplot2::geom_line() +
        ggplot2::facet_wrap(ggplot2::vars(.data$term), scales = "free_y") +
        ggplot2::scale_colour_manual(values = c(train = "grey20", validation = "firebrick")) +
        ggplot2::labs(x = "epoch", y = ylab, colour = NULL) +
        ggplot2::theme_bw()
    if (!is.na(kept)) {
        plot <- plot + ggplot2::geom_vline(xintercept = kept, linetype = "dashed", colour = "steelblue") +
            ggplot2::labs(caption = sprintf("dashed: epoch %d, whose weights the model kept", kept))
    }
    plot
}

# The epoch whose weights training kept: the last that improved the monitored validation
# loss (the last epoch without validation).
kept_epoch <- function(h, monitor) {
    if (all(is.na(h[[monitor]]))) return(max(h$epoch))
    improved <- h$epoch[as.logical(h$improved) %in% TRUE]
    if (length(improved) == 0) NA_real_ else max(improved)
}

#' Plot an embedding coloured by an annotation
#'
#' A two-dimensional view of a latent embedding (UMAP with uwot, or the first
#' two principal components), coloured by any per-cell annotation.
#'
#' @param object A `multigrade_model` (its training embedding) or a cells x
#'   dimensions matrix.
#' @param color One value per cell (a factor, characters or numbers), in the
#'   embedding's row order or named by cell; `NULL` for none.
#' @param method `"umap"` (needs the uwot package) or `"pca"`.
#' @param seed Seed of the UMAP layout.
#' @param point_size Size of the points.
#' @return A ggplot object; its data hold the two coordinates and `color`.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch,
#'     max_epochs = 5, seed = 1, verbose = FALSE)
#' PlotEmbedding(model, cite$obs$batch, method = "pca")
#' @export
PlotEmbedding <- function(object, color = NULL, method = c("umap", "pca"), seed = 1L, point_size = 0.6) {
    method <- match.arg(method)
    embedding <- plotted_embedding(object)
    coordinates <- embedding_layout(embedding, method, seed)
    frame <- data.frame(x = coordinates[, 1], y = coordinates[, 2], row.names = rownames(embedding))
    mapping <- ggplot2::aes(x = .data$x, y = .data$y)
    if (!is.null(color)) {
        frame$color <- cell_vector(color, rownames(embedding))
        mapping <- ggplot2::aes(x = .data$x, y = .data$y, colour = .data$color)
    }
    axes <- if (method == "umap") c("UMAP 1", "UMAP 2") else c("PC 1", "PC 2")
    ggplot2::ggplot(frame, mapping) + ggplot2::geom_point(size = point_size) +
        ggplot2::labs(x = axes[1], y = axes[2], colour = NULL) + ggplot2::theme_bw() +
        ggplot2::theme(axis.text = ggplot2::element_blank(), axis.ticks = ggplot2::element_blank())
}

plotted_embedding <- function(object, call = rlang::caller_env()) {
    embedding <- if (inherits(object, "multigrade_model")) object$embedding else object
    if (!is.matrix(embedding) || !is.numeric(embedding) || ncol(embedding) < 2) {
        mg_abort("{.arg object} must be a {.cls multigrade_model} or a numeric cells x dimensions matrix.", call = call)
    }
    if (is.null(rownames(embedding))) rownames(embedding) <- seq_len(nrow(embedding))
    embedding
}

embedding_layout <- function(embedding, method, seed) {
    if (method == "pca") return(stats::prcomp(embedding, rank. = 2)$x)
    require_package("uwot")
    # Seurat's RunUMAP() settings, so that the picture looks like the one its users know.
    with_seed(seed, uwot::umap(embedding, n_neighbors = min(30L, nrow(embedding) - 1L), min_dist = 0.3,
        metric = "cosine", n_threads = 1L))
}

#' Plot MultiMIL attention
#'
#' Where the cells a MIL model attends to lie: the relative attention (each
#' cell's attention times its sample's number of cells, so 1 is the sample's
#' average) on the embedding, or by group (e.g. cell type) as box plots on a
#' log scale.
#'
#' @param fit The result of [RunMultiMIL()] or [PredictSamples()] (with
#'   `relative_attention` by cell).
#' @param embedding For `type = "embedding"`: a cells x dimensions matrix or a
#'   `multigrade_model`, drawn as in [PlotEmbedding()].
#' @param group For `type = "groups"`: one value per cell (named by cell, or in
#'   the order of `fit$relative_attention`).
#' @param type `"embedding"` or `"groups"`.
#' @param method Layout of the embedding, as in [PlotEmbedding()].
#' @return A ggplot object.
#' @examples
#' gbm <- multigrade_example("glioblastoma")
#' pcs <- prcomp(t(as.matrix(gbm$logcounts)), rank. = 10)$x
#' fit <- RunMultiMIL(pcs, sample = gbm$obs$sample_id, label = gbm$obs$condition,
#'     max_epochs = 5, seed = 1, verbose = FALSE)
#' PlotAttention(fit, group = gbm$obs$condition, type = "groups")
#' @export
PlotAttention <- function(fit, embedding = NULL, group = NULL, type = c("embedding", "groups"),
                          method = c("umap", "pca")) {
    type <- match.arg(type)
    attention <- fit$relative_attention
    if (is.null(attention)) mg_abort("{.arg fit} holds no {.field relative_attention}: give a {.fn RunMultiMIL} result.")
    if (type == "groups") {
        if (is.null(group)) mg_abort("{.arg group} is needed for {.code type = \"groups\"}.")
        frame <- data.frame(group = cell_vector(group, names(attention)), attention = unname(attention))
        return(ggplot2::ggplot(frame, ggplot2::aes(x = .data$group, y = .data$attention)) +
            ggplot2::geom_boxplot(outlier.size = 0.4) + ggplot2::scale_y_log10() +
            ggplot2::geom_hline(yintercept = 1, linetype = "dashed", colour = "grey50") +
            ggplot2::labs(x = NULL, y = "relative attention (1 = sample average)") + ggplot2::theme_bw() +
            ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 45, hjust = 1)))
    }
    if (is.null(embedding)) mg_abort("{.arg embedding} is needed for {.code type = \"embedding\"}.")
    emb <- plotted_embedding(embedding)
    shown <- intersect(rownames(emb), names(attention))
    PlotEmbedding(emb[shown, , drop = FALSE], log10(attention[shown]), method = match.arg(method)) +
        ggplot2::scale_colour_viridis_c() + ggplot2::labs(colour = "log10 relative\nattention")
}

#' Plot imputed against measured values
#'
#' One panel per feature (by default the `n` features with the highest
#' measured variance), each titled with the Pearson correlation across cells
#' (Multigrate's imputation metric).
#'
#' @param imputed,measured Features x cells matrices (e.g. from
#'   [ImputeModality()] and the held-out measurement), matched by names.
#' @param features Features to show.
#' @param n Number of features when `features` is `NULL`.
#' @return A ggplot object.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), max_epochs = 5,
#'     seed = 1, verbose = FALSE)
#' adt <- ImputeModality(list(rna = cite$rna), model, target = "adt")
#' PlotImputation(adt, cite$adt, n = 4)
#' @export
PlotImputation <- function(imputed, measured, features = NULL, n = 6L) {
    imputed <- as.matrix(unclass_matrix(imputed))
    measured <- as.matrix(measured)
    cells <- intersect(colnames(imputed), colnames(measured))
    shared <- intersect(rownames(imputed), rownames(measured))
    if (length(cells) < 3 || length(shared) == 0) {
        mg_abort("{.arg imputed} and {.arg measured} must share features and at least 3 cells, by name.")
    }
    check_count(n)
    if (is.null(features)) {
        spread <- apply(measured[shared, cells, drop = FALSE], 1, stats::var)
        features <- names(sort(spread, decreasing = TRUE))[seq_len(min(n, length(shared)))]
    }
    unknown <- setdiff(features, shared)
    if (length(unknown) > 0) mg_abort("Feature{?s} {.val {unknown}} not in both matrices.")
    r <- vapply(features, function(f) stats::cor(imputed[f, cells], measured[f, cells]), numeric(1))
    labels <- sprintf("%s (r = %.2f)", features, r)
    frame <- data.frame(feature = factor(rep(labels, each = length(cells)), levels = labels),
        measured = as.vector(t(measured[features, cells, drop = FALSE])),
        imputed = as.vector(t(imputed[features, cells, drop = FALSE])))
    ggplot2::ggplot(frame, ggplot2::aes(x = .data$measured, y = .data$imputed)) +
        ggplot2::geom_point(size = 0.5, alpha = 0.6) +
        ggplot2::geom_abline(slope = 1, intercept = 0, linetype = "dashed", colour = "firebrick") +
        ggplot2::facet_wrap(ggplot2::vars(.data$feature), scales = "free") +
        ggplot2::labs(x = "measured", y = "imputed") + ggplot2::theme_bw()
}

#' Plot latent feature associations
#'
#' A heat map of [LatentFeatureAssociations()]: for each latent dimension, the
#' `top` features that rise most along it, against every shown dimension.
#'
#' @param associations The result of [LatentFeatureAssociations()].
#' @param modality Which modality's associations (default the first).
#' @param dims Latent dimensions to show (default all).
#' @param top Features per dimension.
#' @return A ggplot object.
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), max_epochs = 5,
#'     seed = 1, verbose = FALSE)
#' PlotLatentAssociations(LatentFeatureAssociations(model, "adt"), dims = 1:6, top = 2)
#' @export
PlotLatentAssociations <- function(associations, modality = names(associations)[1], dims = NULL, top = 3L) {
    if (!is.list(associations) || !modality %in% names(associations)) {
        mg_abort("{.arg associations} must be a {.fn LatentFeatureAssociations} result with modality {.val {modality}}.")
    }
    check_count(top)
    values <- associations[[modality]]
    dims <- dims %||% seq_len(ncol(values))
    values <- values[, dims, drop = FALSE]
    chosen <- unique(unlist(lapply(seq_len(ncol(values)), function(d) {
        names(sort(values[, d], decreasing = TRUE))[seq_len(min(top, nrow(values)))]
    })))
    frame <- data.frame(feature = factor(rep(chosen, ncol(values)), levels = rev(chosen)),
        dimension = factor(rep(colnames(values), each = length(chosen)), levels = colnames(values)),
        correlation = as.vector(values[chosen, , drop = FALSE]))
    ggplot2::ggplot(frame, ggplot2::aes(x = .data$dimension, y = .data$feature, fill = .data$correlation)) +
        ggplot2::geom_tile() +
        ggplot2::scale_fill_gradient2(low = "steelblue", mid = "white", high = "firebrick", limits = c(-1, 1)) +
        ggplot2::labs(x = "latent dimension", y = NULL, fill = "Spearman") + ggplot2::theme_bw() +
        ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 90, vjust = 0.5))
}
