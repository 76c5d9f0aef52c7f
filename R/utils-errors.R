# Classed conditions, raised from one place. Every error has class "mg_error" and one of
# "mg_error_input" (bad user input), "mg_error_unknown_level", "mg_error_model",
# "mg_error_file" or "mg_error_no_libtorch".

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
