# Validates user matrices and covariates and turns them into the plain structure the
# core reads ("mg_data"). Cells are in columns. Nothing here changes the user's data:
# problems are reported as classed errors that name the modality, the cells and the fix.

likelihood_names <- c("nb", "zinb", "nbmixture", "mse", "bernoulli")
count_likelihoods <- c("nb", "zinb", "nbmixture")

# Coerces one modality to a dgCMatrix or a dense double matrix, features x cells.
as_modality_matrix <- function(m, name, call) {
    if (inherits(m, "dgCMatrix") || (is.matrix(m) && is.numeric(m))) {
        if (is.matrix(m) && storage.mode(m) != "double") storage.mode(m) <- "double"
        return(m)
    }
    if (inherits(m, "Matrix") || inherits(m, "DelayedArray") || is.data.frame(m)) {
        converted <- tryCatch(methods::as(as.matrix(m), "dgCMatrix"), error = function(e) NULL)
        if (inherits(m, "sparseMatrix")) {
            converted <- tryCatch(methods::as(methods::as(m, "CsparseMatrix"), "dgCMatrix"),
                error = function(e) converted)
        }
        if (!is.null(converted)) return(converted)
    }
    mg_abort(c("Modality {.val {name}} must be a numeric matrix or a sparse {.cls dgCMatrix}.",
        "x" = "It is a {.cls {class(m)}}."), call = call)
}

check_modality_list <- function(x, call) {
    if (!is.list(x) || length(x) == 0) {
        mg_abort(c("{.arg x} must be a named list of feature x cell matrices.",
            "i" = "For example {.code list(rna = counts, adt = clr)}."), call = call)
    }
    nms <- names(x)
    if (is.null(nms) || any(nms == "") || anyDuplicated(nms)) {
        mg_abort("Every modality in {.arg x} needs a unique name, e.g. {.code list(rna = ..., adt = ...)}.",
            call = call)
    }
    if (any(grepl("/", nms, fixed = TRUE))) {
        mg_abort("Modality names cannot contain {.val /}: {.val {nms}}.", call = call)
    }
}

# All modalities must describe the same cells, in the same order (match_cell_order() puts
# the same names in the same order first).
resolve_cells <- function(mats, n_expected, call, verbose = FALSE) {
    n_cells <- vapply(mats, ncol, integer(1))
    if (is.null(n_expected)) n_expected <- n_cells[[1]]
    if (any(n_cells != n_expected)) {
        n_rows <- vapply(mats, nrow, integer(1))
        flipped <- names(mats)[n_rows == n_expected & n_cells != n_expected]
        hint <- if (length(mats) > 1 && length(unique(n_rows)) == 1) {
            c("i" = "Every modality has {n_rows[[1]]} rows: the cells are probably in rows; cells must be in columns: use {.code t()} on each.")
        } else if (length(flipped) > 0) {
            c("i" = "Modality {.val {flipped}} has cells in rows; cells must be in columns: use {.code t()}.")
        }
        mg_abort(c("All modalities must have the same cells (columns).",
            "x" = "Cells per modality: {paste(names(mats), n_cells, sep = ' = ', collapse = ', ')}; expected {n_expected}.",
            hint), call = call)
    }
    cells <- NULL
    for (nm in names(mats)) {
        cn <- colnames(mats[[nm]])
        if (is.null(cn)) next
        if (is.null(cells)) {
            cells <- cn
        } else if (!identical(cn, cells)) {
            n_diff <- sum(cn != cells)
            mg_abort(c("Cell names of modality {.val {nm}} differ from those of {.val {names(mats)[1]}}.",
                "x" = "{n_diff} of {length(cells)} column name{?s} differ.",
                "i" = "Put the same cells in the same order in every modality (NA columns mark a missing modality)."),
                call = call)
        }
    }
    if (is.null(cells)) {
        cells <- paste0("cell", seq_len(n_expected))
        mg_inform(c("i" = "The matrices have no cell (column) names; the cells are called {.val cell1}, {.val cell2}, ... in their order."),
            verbose)
    }
    if (anyDuplicated(cells)) {
        mg_abort("Cell names must be unique; {.val {cells[anyDuplicated(cells)]}} is repeated.", call = call)
    }
    cells
}

# Modalities whose columns are the first named modality's cells in another order are put in
# its order, with a message; anything else is left for resolve_cells() to judge.
match_cell_order <- function(mats, verbose) {
    named <- Filter(function(nm) !is.null(colnames(mats[[nm]])), names(mats))
    if (length(named) < 2) return(mats)
    cells <- colnames(mats[[named[[1]]]])
    if (anyDuplicated(cells)) return(mats)
    for (nm in named[-1]) {
        cn <- colnames(mats[[nm]])
        if (identical(cn, cells) || length(cn) != length(cells) || anyDuplicated(cn) || !setequal(cn, cells)) next
        mg_inform(c("i" = "Modality {.val {nm}} has the cells of {.val {named[[1]]}} in another order; matched by name."),
            verbose)
        mats[[nm]] <- mats[[nm]][, cells, drop = FALSE]
    }
    mats
}

# Each modality needs features and cells: an empty one is a mistake upstream (a filter that
# removed everything, a wrong layer).
check_not_empty <- function(mats, call) {
    for (nm in names(mats)) {
        if (nrow(mats[[nm]]) == 0) {
            mg_abort(c("Modality {.val {nm}} has no features (0 rows).",
                "i" = "Remove it from the list, or check the filter or layer that produced it."), call = call)
        }
    }
    if (ncol(mats[[1]]) == 0) {
        mg_abort(c("The data have no cells (0 columns).", "i" = "Cells must be in the columns of each matrix."),
            call = call)
    }
}

# Presence of each modality per cell: the `present` argument, or all-NA columns.
resolve_presence <- function(mats, present, cells, call, absent = character()) {
    pres <- matrix(TRUE, length(cells), length(mats), dimnames = list(cells, names(mats)))
    for (nm in names(mats)) {
        m <- mats[[nm]]
        na_per_cell <- if (inherits(m, "dgCMatrix")) {
            Matrix::colSums(is.na(m))
        } else {
            colSums(is.na(m))
        }
        all_na <- na_per_cell == nrow(m) & nrow(m) > 0
        partial <- na_per_cell > 0 & !all_na
        if (any(partial)) {
            mg_abort(c("Modality {.val {nm}} has NA/NaN values in {sum(partial)} cell{?s} that are otherwise measured.",
                "i" = "A missing modality is a column that is entirely NA; fix or remove the other NA values."),
                call = call)
        }
        pres[, nm] <- !all_na
    }
    if (!is.null(present)) {
        if (is.list(present) && !is.data.frame(present)) present <- do.call(cbind, present)
        present <- as.matrix(present)
        if (!is.logical(present) || nrow(present) != length(cells) ||
            is.null(colnames(present)) || !all(colnames(present) %in% names(mats)) || anyNA(present)) {
            mg_abort(c("{.arg present} must be a logical cells x modalities matrix (or named list of logical vectors) without NA.",
                "i" = "Its columns must be modality names: {.val {names(mats)}}."), call = call)
        }
        if (!is.null(rownames(present)) && !identical(rownames(present), cells)) {
            mg_abort("The rows of {.arg present} must be the cells, in the order of the matrices.", call = call)
        }
        pres[, colnames(present)] <- pres[, colnames(present)] & present
    }
    pres[, absent] <- FALSE
    none <- rowSums(pres) == 0
    if (any(none)) {
        mg_abort(c("{sum(none)} cell{?s} ha{?s/ve} no measured modality.",
            "x" = "For example {.val {head(cells[none], 3)}}.",
            "i" = "Remove them before training."), call = call)
    }
    pres
}

# Default likelihood by modality name, else by the values.
guess_likelihood <- function(name, m) {
    key <- tolower(name)
    if (grepl("^(rna|gex|sct|gene|expr|counts)", key)) return("nb")
    if (grepl("^(adt|prot|cite|antibod)", key)) return("mse")
    if (grepl("^(atac|peak|chrom|acc)", key)) return("bernoulli")
    v <- if (inherits(m, "dgCMatrix")) m@x else as.vector(m)
    v <- v[!is.na(v)]
    if (length(v) > 0 && all(v %in% c(0, 1))) return("bernoulli")
    if (length(v) > 0 && all(v >= 0) && all(v == round(v))) return("nb")
    "mse"
}

# The likelihood of each modality: from `likelihoods` (named, or unnamed in the modalities'
# order; modalities it leaves out are guessed), else guessed from the values `reader(name)`
# gives, with a message. Resolved once: the Seurat and SCE methods resolve them before they
# pick each modality's layer, and what they pass on (class mg_likelihoods) is used as is.
resolve_likelihoods <- function(likelihoods, modalities, reader, verbose, call = rlang::caller_env()) {
    if (inherits(likelihoods, "mg_likelihoods")) return(likelihoods)
    given <- if (is.null(likelihoods)) character() else unlist(likelihoods)
    if (length(given) > 0 && is.null(names(given))) {
        if (length(given) != length(modalities)) {
            mg_abort(c("{.arg likelihoods} has {length(given)} unnamed entr{?y/ies} for {length(modalities)} modalit{?y/ies}.",
                "i" = "Name them, e.g. {.code c(rna = \"nb\", adt = \"mse\")}."), call = call)
        }
        names(given) <- modalities
    }
    given <- tolower(given[intersect(names(given), modalities)])
    given[given == "bce"] <- "bernoulli"
    bad <- setdiff(given, likelihood_names)
    if (length(bad) > 0) {
        mg_abort(c("Unknown likelihood: {.val {bad}}.", "i" = "Use one of {.val {likelihood_names}}."), call = call)
    }
    out <- vapply(modalities, function(m) if (m %in% names(given)) given[[m]] else guess_likelihood(m, reader(m)),
        character(1))
    names(out) <- modalities
    guessed <- setdiff(modalities, names(given))
    if (length(guessed) > 0) {
        mg_inform(c("i" = "Likelihoods: {paste(names(out), out, sep = ' = ', collapse = ', ')} (set {.arg likelihoods} to change)."),
            verbose)
    }
    structure(out, class = "mg_likelihoods")
}

# Values of the measured cells must suit the likelihood.
check_values <- function(m, name, likelihood, present, call) {
    v <- if (inherits(m, "dgCMatrix")) m[, present, drop = FALSE]@x else m[, present]
    if (any(!is.finite(v))) {
        mg_abort("Modality {.val {name}} contains NaN or infinite values in measured cells.", call = call)
    }
    if (likelihood %in% count_likelihoods) {
        if (any(v < 0)) {
            mg_abort(c("Modality {.val {name}} uses the {.val {likelihood}} likelihood but has negative values.",
                "i" = "Count likelihoods need raw counts (e.g. the counts layer); use {.val mse} for normalised data."),
                call = call)
        }
        if (any(v != round(v))) {
            mg_warn(c("Modality {.val {name}} uses the {.val {likelihood}} likelihood but has non-integer values; raw counts are expected.",
                "i" = paste("They are used as they are (the likelihood is evaluated at the fractional counts, as for",
                    "ambient-corrected data); round them if they should be whole numbers.")))
        }
    }
    if (likelihood == "bernoulli" && any(v < 0 | v > 1)) {
        mg_abort(c("Modality {.val {name}} uses the {.val bernoulli} likelihood but has values outside [0, 1].",
            "i" = "Binarise it first, e.g. {.code (x > 0) * 1}."), call = call)
    }
}

# Covariates as a data frame with one row per cell.
as_covariate_frame <- function(cov, cells, arg, call) {
    if (is.null(cov)) return(data.frame(row.names = cells)[, 0, drop = FALSE])
    if (is.data.frame(cov)) {
        frame <- cov
    } else if (is.atomic(cov) || is.factor(cov)) {
        frame <- data.frame(cov, stringsAsFactors = FALSE)
        names(frame) <- arg
    } else {
        mg_abort("{.arg {arg}} must be a vector with one value per cell or a data frame.", call = call)
    }
    if (nrow(frame) != length(cells)) {
        mg_abort("{.arg {arg}} has {nrow(frame)} value{?s} but there are {length(cells)} cells.", call = call)
    }
    if (!is.null(rownames(frame)) && !identical(rownames(frame), as.character(seq_len(nrow(frame)))) &&
        !identical(rownames(frame), cells)) {
        if (all(cells %in% rownames(frame))) {
            frame <- frame[cells, , drop = FALSE]
        } else {
            mg_abort("The row names of {.arg {arg}} do not match the cell names.", call = call)
        }
    }
    for (nm in names(frame)) {
        if (anyNA(frame[[nm]])) {
            mg_abort("Covariate {.val {nm}} has NA values in {sum(is.na(frame[[nm]]))} cell{?s}.", call = call)
        }
    }
    frame
}

# Integer codes (0-based) against known levels; unknown levels are an error.
encode_levels <- function(values, levels, name, call) {
    values <- as.character(values)
    codes <- match(values, levels)
    if (anyNA(codes)) {
        unknown <- unique(values[is.na(codes)])
        mg_abort(c("Covariate {.val {name}} has level{?s} the model was not trained with: {.val {unknown}}.",
            "i" = "Known levels: {.val {levels}}.",
            "i" = "New batches are mapped onto a reference with {.fn MapToReference} (not by {.fn predict})."),
            class = "unknown_level", call = call)
    }
    codes - 1L
}

covariate_levels <- function(values) {
    if (is.factor(values)) levels(droplevels(values)) else sort(unique(as.character(values)))
}

# Builds the mg_data structure. With `schema` (R/schema.R), features, likelihoods and covariate
# levels follow it.
# `extend_levels` (query mapping) appends covariate levels the model does not know after
# its own; `missing_features = "pad"` lets a query lack some of the model's features.
prepare_data <- function(x, likelihoods = NULL, batch = NULL, continuous = NULL,
                         integrate_on = NULL, present = NULL, schema = NULL,
                         extend_levels = FALSE, missing_features = c("error", "pad"),
                         verbose = TRUE, call = rlang::caller_env()) {
    missing_features <- match.arg(missing_features)
    check_modality_list(x, call)
    mats <- Map(as_modality_matrix, x, names(x), MoreArgs = list(call = call))
    absent <- character()
    unmeasured <- list()
    if (!is.null(schema)) {
        mats <- align_to_schema(mats, schema, missing_features, call)
        absent <- attr(mats, "absent")
        unmeasured <- attr(mats, "unmeasured")
    }
    check_not_empty(mats, call)
    mats <- match_cell_order(mats, verbose)
    cells <- resolve_cells(mats, NULL, call, verbose)
    pres <- resolve_presence(mats, present, cells, call, absent)
    if (is.null(schema)) {
        likelihoods <- resolve_likelihoods(likelihoods, names(mats), function(nm) mats[[nm]], verbose, call)
    } else {
        likelihoods <- schema_likelihoods(schema)
        pres <- pres[, names(mats), drop = FALSE]
    }

    modalities <- lapply(names(mats), function(nm) {
        m <- mats[[nm]]
        measured <- pres[, nm]
        if (is.null(rownames(m))) rownames(m) <- paste0(nm, "_", seq_len(nrow(m)))
        if (anyDuplicated(rownames(m))) {
            mg_abort("Feature names of modality {.val {nm}} must be unique.", call = call)
        }
        if (any(measured)) check_values(m, nm, likelihoods[[nm]], measured, call)
        list(name = nm, features = rownames(m), likelihood = likelihoods[[nm]],
            sparse = inherits(m, "dgCMatrix"), data = zero_absent(m, measured),
            present = as.integer(measured), feature_present = feature_flags(m, unmeasured[[nm]]))
    })
    names(modalities) <- names(mats)

    batch <- as_covariate_frame(batch, cells, "batch", call)
    continuous <- as_covariate_frame(continuous, cells, "continuous", call)
    levels <- if (is.null(schema)) lapply(batch, covariate_levels) else schema$categorical
    if (!is.null(schema)) batch <- match_covariates(batch, names(levels), "batch", call)
    if (extend_levels) {
        levels <- Map(function(known, values) c(known, setdiff(covariate_levels(values), known)),
            levels, batch[names(levels)])
    }
    codes <- Map(encode_levels, batch[names(levels)], levels, names(levels), MoreArgs = list(call = call))
    cont_names <- if (is.null(schema)) names(continuous) else schema$continuous
    if (!is.null(schema)) continuous <- match_covariates(continuous, cont_names, "continuous", call)
    for (nm in cont_names) {
        if (!is.numeric(continuous[[nm]]) || any(!is.finite(continuous[[nm]]))) {
            mg_abort("Continuous covariate {.val {nm}} must be finite numbers.", call = call)
        }
    }

    integrate_on <- if (is.null(schema)) resolve_integrate_on(integrate_on, names(levels), call) else schema$integrate_on

    group <- if (is.null(integrate_on)) NULL else codes[[integrate_on]]
    structure(list(cells = cells, modalities = modalities, categorical = codes,
        levels = levels, continuous = lapply(continuous[cont_names], as.double),
        integrate_on = integrate_on, group = group), class = "mg_data")
}

# With newdata: modalities and features matched to the trained model by name. Features
# the new data lacks are an error, or with `missing_features = "pad"` zero rows (with a
# warning that says how many; more than half missing is still an error), listed per modality
# in attribute "unmeasured" so that the core leaves them out of the reconstruction loss (and
# fill_unmeasured() gives the encoders the model's expectation of them).
align_to_schema <- function(mats, schema, missing_features, call) {
    known <- names(schema$modalities)
    unknown <- setdiff(names(mats), known)
    if (length(unknown) > 0) {
        mg_abort(c("The model has no modality {.val {unknown}}.", "i" = "It knows {.val {known}}."), call = call)
    }
    aligned <- lapply(known, function(nm) {
        align_modality(mats[[nm]], nm, schema$modalities[[nm]]$features, colnames(mats[[1]]), missing_features, call)
    })
    out <- stats::setNames(lapply(aligned, `[[`, "matrix"), known)
    attr(out, "absent") <- setdiff(known, names(mats))
    attr(out, "unmeasured") <- stats::setNames(lapply(aligned, `[[`, "unmeasured"), known)
    out
}

# One modality of new data in the model's feature order: list(matrix, unmeasured = the
# features padded with zeros). NULL (a modality the new data lacks) becomes an empty matrix,
# absent for every cell.
align_modality <- function(m, nm, features, cells, missing_features, call) {
    if (is.null(m)) {
        empty <- Matrix::sparseMatrix(i = integer(0), j = integer(0), x = numeric(0),
            dims = c(length(features), length(cells)), dimnames = list(features, cells))
        return(list(matrix = empty, unmeasured = character()))
    }
    if (is.null(rownames(m))) {
        if (nrow(m) != length(features)) {
            mg_abort("Modality {.val {nm}} has {nrow(m)} features but the model was trained on {length(features)}.",
                call = call)
        }
        rownames(m) <- features
    }
    missing <- setdiff(features, rownames(m))
    if (length(missing) > 0 && (missing_features == "error" || length(missing) > length(features) / 2)) {
        mg_abort(c("Modality {.val {nm}} lacks {length(missing)} of the model's {length(features)} features.",
            "x" = "For example {.val {head(missing, 3)}}.",
            "i" = "Give the same features as in training (extra ones are ignored)."), call = call)
    }
    if (length(missing) > 0) {
        mg_warn(c("Modality {.val {nm}} lacks {length(missing)} of the model's {length(features)} features (e.g. {.val {head(missing, 3)}}).",
            "i" = paste("They are left out of the reconstruction loss (query training does not fit them), and the",
                "encoders, which have no input for absence, see the model's expectation of them given the measured",
                "features instead of zeros. The fewer features measured, the less certain the result: match the",
                "feature sets if you can.")),
            class = "warning_missing_features")
        m <- pad_features(m, missing)
    }
    list(matrix = m[features, , drop = FALSE], unmeasured = missing)
}

# One flag per feature (1 = measured) for the core, or NULL when every feature is measured.
feature_flags <- function(m, unmeasured) {
    if (length(unmeasured) == 0) return(NULL)
    as.integer(!rownames(m) %in% unmeasured)
}

pad_features <- function(m, missing) {
    zeros <- Matrix::sparseMatrix(i = integer(0), j = integer(0), x = numeric(0),
        dims = c(length(missing), ncol(m)), dimnames = list(missing, colnames(m)))
    if (inherits(m, "dgCMatrix")) return(methods::as(rbind(m, zeros), "dgCMatrix"))
    rbind(m, as.matrix(zeros))
}

match_covariates <- function(frame, needed, arg, call) {
    missing <- setdiff(needed, names(frame))
    if (length(missing) > 0) {
        mg_abort(c("{.arg {arg}} lacks the covariate{?s} the model was trained with: {.val {missing}}.",
            "i" = "Give them as in training, e.g. a data frame with column{?s} {.val {needed}}."), call = call)
    }
    frame[, needed, drop = FALSE]
}

resolve_integrate_on <- function(integrate_on, batch_names, call) {
    if (isFALSE(integrate_on)) return(NULL)
    if (is.null(integrate_on)) return(if (length(batch_names) > 0) batch_names[[1]] else NULL)
    if (!is.character(integrate_on) || length(integrate_on) != 1 || !integrate_on %in% batch_names) {
        mg_abort(c("{.arg integrate_on} must name one of the {.arg batch} covariates.",
            "i" = "Batch covariates: {.val {batch_names}}."), call = call)
    }
    integrate_on
}

# Says when the covariate to align on has a single level: nothing to align in this training
# (the model keeps the covariate, so that the new levels of queries mapped onto it are).
# `levels`: all the training data's.
note_single_level <- function(integrate_on, levels, verbose) {
    if (is.null(integrate_on) || length(levels[[integrate_on]]) >= 2) return(invisible(FALSE))
    mg_inform(c("i" = "Covariate {.val {integrate_on}} has one level ({.val {levels[[integrate_on]]}}): nothing to align in this training.",
        " " = "Queries mapped onto the model with new levels are aligned to it."), verbose)
    invisible(TRUE)
}

# Absent cells are zero-filled for the core (their presence flag is 0).
zero_absent <- function(m, measured) {
    if (all(measured)) return(m)
    if (inherits(m, "dgCMatrix")) {
        m[, !measured] <- 0
        m <- Matrix::drop0(m)
        return(methods::as(m, "dgCMatrix"))
    }
    m[, !measured] <- 0
    m
}
