# Argument checks and small helpers that every layer uses.

check_count <- function(x, min = 1, arg = rlang::caller_arg(x),
                        call = rlang::caller_env()) {
    if (!is.numeric(x) || length(x) != 1 || is.na(x) || x != round(x) || x < min) {
        mg_abort("{.arg {arg}} must be a whole number >= {min}, not {.val {x}}.",
            call = call)
    }
}

check_number <- function(x, min = -Inf, max = Inf, arg = rlang::caller_arg(x),
                         call = rlang::caller_env()) {
    if (!is.numeric(x) || length(x) != 1 || !is.finite(x) || x < min || x > max) {
        mg_abort("{.arg {arg}} must be a number in [{min}, {max}], not {.val {x}}.",
            call = call)
    }
}

check_string <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
    if (!is.character(x) || length(x) != 1 || is.na(x) || !nzchar(x)) {
        mg_abort("{.arg {arg}} must be a single non-empty string, not {.obj_type_friendly {x}}.", call = call)
    }
}

# match.arg() with a classed error that lists the choices (the first when `x` is the
# default vector of all of them).
check_choice <- function(x, choices, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
    if (identical(x, choices)) return(choices[[1]])
    if (!is.character(x) || length(x) != 1 || !x %in% choices) {
        mg_abort(c("{.arg {arg}} must be one of {.or {.val {choices}}}, not {.val {x}}.",
            "i" = if (is.character(x) && length(x) == 1) "Did you mean {.val {closest_choice(x, choices)}}?"),
            call = call)
    }
    x
}

closest_choice <- function(x, choices) choices[[which.min(utils::adist(x, choices, ignore.case = TRUE))]]

require_package <- function(pkg, call = rlang::caller_env()) {
    if (!requireNamespace(pkg, quietly = TRUE)) {
        mg_abort("Package {.pkg {pkg}} is needed for this; install it first.", call = call)
    }
}

# Runs `code` with R's RNG seeded, then puts the caller's RNG state back.
with_seed <- function(seed, code) {
    had_seed <- exists(".Random.seed", envir = globalenv(), inherits = FALSE)
    if (had_seed) old <- get(".Random.seed", envir = globalenv())
    on.exit(if (had_seed) assign(".Random.seed", old, envir = globalenv()) else
        rm(".Random.seed", envir = globalenv()), add = TRUE)
    set.seed(seed)
    code
}

check_cell_factor <- function(x, n, arg, call = rlang::caller_env()) {
    if (length(x) != n || anyNA(x)) {
        mg_abort("{.arg {arg}} needs one non-missing value per cell ({n}); it has {length(x)}.", call = call)
    }
    droplevels(as.factor(x))
}

# A finite numeric cells x dimensions matrix (double), with unique cell names as row names
# unless `need_names` is FALSE.
check_embedding <- function(embedding, arg = rlang::caller_arg(embedding), need_names = TRUE,
                            call = rlang::caller_env()) {
    if (is.data.frame(embedding)) embedding <- as.matrix(embedding)
    if (inherits(embedding, "Matrix")) embedding <- as.matrix(embedding)
    if (!is.matrix(embedding) || !is.numeric(embedding) || ncol(embedding) < 1) {
        mg_abort("{.arg {arg}} must be a numeric cells x dimensions matrix with at least one dimension.", call = call)
    }
    cells <- rownames(embedding)
    if (is.null(cells) && need_names) {
        mg_abort(c("{.arg {arg}} needs cell names as row names.",
            "i" = "Scores are matched to cells by name, never by position."), call = call)
    }
    if (need_names && anyDuplicated(cells)) {
        mg_abort("{.arg {arg}} has duplicated cell names, e.g. {.val {cells[duplicated(cells)][1]}}.", call = call)
    }
    if (nrow(embedding) > 0 && ncol(embedding) > nrow(embedding) && ncol(embedding) > 1000) {
        mg_abort(c("{.arg {arg}} has {ncol(embedding)} columns for {nrow(embedding)} rows.",
            "i" = "It should be cells x dimensions (a latent space); transpose it?"), call = call)
    }
    bad <- !is.finite(embedding)
    if (any(bad)) {
        mg_abort("{.arg {arg}} has {sum(bad)} NaN/NA/Inf value{?s} (first in row {which(bad, arr.ind = TRUE)[1, 1]}).",
            call = call)
    }
    storage.mode(embedding) <- "double"
    embedding
}
