# Checks and encodings of MultiMIL inputs (the embedding is checked by check_embedding() in
# input.R): per-cell sample and label vectors, the per-sample target, class weights and the
# sample split. Everything is matched by cell name; nothing relies on row order.

# A per-cell vector aligned to `cells`: by names when it has them, else by position (it
# must then have one value per cell).
cell_vector <- function(x, cells, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
    if (is.null(x)) mg_abort("{.arg {arg}} is required: one value per cell.", call = call)
    if (is.data.frame(x)) x <- x[[1]]
    if (!is.null(names(x))) {
        missing <- setdiff(cells, names(x))
        if (length(missing) > 0) {
            mg_abort("{.arg {arg}} has no value for {length(missing)} cell{?s}, e.g. {.val {missing[1]}}.", call = call)
        }
        x <- x[cells]
    } else if (length(x) != length(cells)) {
        mg_abort("{.arg {arg}} has {length(x)} value{?s} for {length(cells)} cells.", call = call)
    }
    if (anyNA(x)) {
        mg_abort("{.arg {arg}} is NA for {sum(is.na(x))} cell{?s}, e.g. {.val {cells[is.na(x)][1]}}.", call = call)
    }
    names(x) <- cells
    x
}

sample_factor <- function(sample) {
    factor(as.character(sample), levels = unique(as.character(sample)))
}

# One label per sample (in the order of levels(sample)); a sample must not mix labels.
sample_labels <- function(label, sample, arg = "label", call = rlang::caller_env()) {
    groups <- split(label, sample, drop = FALSE)
    mixed <- names(groups)[vapply(groups, function(g) length(unique(g)) > 1, logical(1))]
    if (length(mixed) > 0) {
        mg_abort(c("{.arg {arg}} must be constant within each sample.",
            "x" = "Sample{?s} {.val {mixed}} mix{?es/} labels."), call = call)
    }
    out <- label[match(levels(sample), as.character(sample))]
    names(out) <- levels(sample)
    out
}

# The core's per-sample target: 0-based class codes (classification, ordinal) or
# standardised values (regression), with what is needed to map predictions back.
mil_target <- function(labels, task, levels = NULL, call = rlang::caller_env()) {
    if (task == "regression") {
        if (!is.numeric(labels)) mg_abort("A regression {.arg label} must be numeric.", call = call)
        center <- mean(labels)
        scale <- if (length(labels) > 1 && stats::sd(labels) > 0) stats::sd(labels) else 1
        return(list(values = (as.numeric(labels) - center) / scale, classes = NULL,
            center = center, scale = scale))
    }
    if (is.null(levels)) {
        if (task == "ordinal" && !is.ordered(labels)) {
            mg_abort(c("An ordinal {.arg label} needs its order.",
                "i" = "Give {.arg levels} (e.g. {.code c(\"healthy\", \"mild\", \"severe\")}) or an ordered factor."),
                call = call)
        }
        levels <- if (is.factor(labels)) levels(droplevels(labels)) else sort(unique(as.character(labels)))
    }
    unknown <- setdiff(unique(as.character(labels)), levels)
    if (length(unknown) > 0) {
        mg_abort("{.arg label} value{?s} {.val {unknown}} {?is/are} not in {.arg levels}.", class = "unknown_level",
            call = call)
    }
    if (length(levels) < 2) mg_abort("{.arg label} needs at least two classes, not {.val {levels}}.", call = call)
    codes <- match(as.character(labels), levels) - 1
    list(values = as.numeric(codes), classes = levels, center = 0, scale = 1)
}

# "balanced": n / (K * n_k) over the training samples (scikit-learn's rule), so that each
# class weighs the same in the loss; NULL: all 1; or a numeric vector named by class.
mil_class_weights <- function(class_weights, target, train, call = rlang::caller_env()) {
    classes <- target$classes
    if (is.null(classes) || is.null(class_weights)) return(numeric(0))
    if (identical(class_weights, "balanced")) {
        counts <- tabulate(target$values[train] + 1, nbins = length(classes))
        weights <- ifelse(counts > 0, length(train) / (length(classes) * pmax(counts, 1)), 1)
        return(as.numeric(weights))
    }
    if (!is.numeric(class_weights) || is.null(names(class_weights)) ||
        !setequal(names(class_weights), classes) || any(class_weights <= 0)) {
        mg_abort(c("{.arg class_weights} must be {.val balanced}, NULL, or positive numbers named by class.",
            "i" = "Classes: {.val {classes}}."), call = call)
    }
    as.numeric(class_weights[classes])
}

# Samples held out for early stopping: none for small cohorts (fewer than 20 samples), where
# a tenth would be one or two samples; else 1 - train_size of them, at random.
split_samples <- function(n_samples, train_size, seed) {
    train_size <- train_size %||% if (n_samples < 20) 1 else 0.9
    check_number(train_size, min = 0.01, max = 1)
    n_train <- max(1L, as.integer(ceiling(train_size * n_samples)))
    order <- with_seed(seed, sample.int(n_samples))
    list(train = sort(order[seq_len(n_train)]), validation = sort(order[-seq_len(n_train)]))
}
