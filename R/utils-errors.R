# Classed conditions, raised from one place. Every error has class "mg_error" and one of
# "mg_error_input" (bad user input), "mg_error_unknown_level", "mg_error_model",
# "mg_error_file", "mg_error_memory" or "mg_error_no_libtorch".

mg_abort <- function(message, class = "input", ..., call = rlang::caller_env(),
                     .envir = parent.frame()) {
    cli::cli_abort(message, class = c(paste0("mg_error_", class), "mg_error"),
        ..., call = call, .envir = .envir)
}

mg_warn <- function(message, class = "warning", ..., .envir = parent.frame()) {
    cli::cli_warn(message, class = c(paste0("mg_", class), "mg_warning"),
        ..., .envir = .envir)
}

mg_inform <- function(message, verbose = TRUE, .envir = parent.frame()) {
    if (isTRUE(verbose)) cli::cli_inform(message, .envir = .envir)
    invisible(NULL)
}

# Unknown arguments are errors, not silently swallowed.
check_dots_empty <- function(dots, call = rlang::caller_env()) {
    if (length(dots) > 0) {
        nms <- names(dots)
        nms[is.null(nms) | nms == ""] <- "<unnamed>"
        mg_abort(c("Unknown argument{?s}: {.arg {nms}}.",
            "i" = "Advanced settings go into {.fn multigrade_options}."),
            call = call)
    }
}

`%||%` <- function(x, y) if (is.null(x)) y else x

# An argument renamed in the API's one vocabulary (n_neighbors, n_folds, options, ...): the old
# name still works, given by name, with a warning that says the new one. `dots` are the
# caller's ...; returns the value to use and the dots without the old name.
renamed_argument <- function(dots, old, new, value, call = rlang::caller_env()) {
    if (!old %in% names(dots)) return(list(value = value, dots = dots))
    warn_renamed(old, new, call)
    list(value = dots[[old]], dots = dots[names(dots) != old])
}

warn_renamed <- function(old, new, call) {
    mg_deprecated(c("{.arg {old}} is deprecated; use {.arg {new}} instead.",
        "i" = "{.arg {old}} will be removed in a later version."), call = call)
}

# The one class of every deprecation warning (tests and users can catch them together).
mg_deprecated <- function(message, call, .envir = parent.frame()) {
    cli::cli_warn(message, class = c("mg_warning_deprecated", "mg_warning", "deprecatedWarning"), call = call,
        .envir = .envir)
}

# Errors while reading a file that opened (a damaged chunk, a truncated dataset, values of the
# wrong type or shape) become one classed error that names the file; our own classed errors
# (a checksum mismatch, a missing element) pass through unchanged.
damaged_if_fails <- function(expr, file) {
    tryCatch(expr, error = function(e) {
        if (inherits(e, "mg_error")) stop(e)
        mg_abort(c("{.file {file}} is damaged: it could not be read.", "x" = conditionMessage(e)), class = "file",
            call = NULL)
    })
}

# The core's OutOfMemoryError (src/core/api.h: the phase, the sizes involved and the size the
# allocator could not get; Rcpp gives the condition the C++ class) as a classed error that says
# what to change.
with_memory_advice <- function(expr, device, call = rlang::caller_env()) {
    tryCatch(expr, `multigrade::OutOfMemoryError` = function(e) {
        reason <- conditionMessage(e)
        mg_abort(c("{reason}", memory_advice(device)), class = "memory", call = call)
    })
}

memory_advice <- function(device) {
    gpu <- !identical(device, "cpu")
    c("i" = "A smaller {.arg batch_size} needs less in training; fewer cells per call less in encoding and imputation.",
        if (gpu) c("i" = "Keep the data on the host with {.code multigrade_options(data_placement = \"host\")}, or use {.code device = \"cpu\"}."),
        "i" = paste("Narrower decoders ({.arg n_hidden_decoder}) and fewer features need less; data larger than",
            "memory can be streamed from an .h5ad file with {.fn RunMultigradeH5AD}."))
}
