# Reading files in a forked child process, so that a damaged file that crashes the HDF5
# library (a corrupt variable-length string heap makes H5Dread segfault in HDF5 1.10; found by
# fuzzing, see bench/fuzz/run.sh) costs a classed error instead of the user's R session.
# The child returns what it read, its warnings and its error; the parent re-signals them.
# On Windows (no fork), or with options(multigrade.isolate_reads = FALSE), `read()` runs here.

read_isolated <- function(read, file, call = rlang::caller_env()) {
    if (!isTRUE(getOption("multigrade.isolate_reads", TRUE)) || .Platform$OS.type != "unix") return(read())
    job <- parallel::mcparallel({
        mg_guard_forked_child()  # a crash must not run R's clean-up, which deletes the shared tempdir()
        run_collecting_warnings(read)
    }, silent = TRUE)
    result <- suppressWarnings(parallel::mccollect(job))[[1]]
    if (is.null(result)) {
        mg_abort(c("Reading {.file {file}} crashed the HDF5 library (in a child process, so this session lives on).",
            "x" = "The file is damaged.", "i" = "Restore it from a copy, or write it again."), class = "file", call = call)
    }
    if (inherits(result, "try-error")) stop(attr(result, "condition"))
    for (w in result$warnings) warning(w)
    result$value
}

run_collecting_warnings <- function(read) {
    warnings <- list()
    value <- withCallingHandlers(read(), warning = function(w) {
        warnings[[length(warnings) + 1]] <<- w
        invokeRestart("muffleWarning")
    })
    list(value = value, warnings = warnings)
}

# `read(h5)` of the HDF5 file opened read-only, in a forked child: errors of the HDF5 library
# become damaged-file errors that name the file (damaged_if_fails()); ours pass through.
read_h5_file <- function(file, read, call = rlang::caller_env()) {
    read_isolated(function() {
        h5 <- open_h5_file(file, call = call)
        on.exit(h5$close_all(), add = TRUE)
        damaged_if_fails(read(h5), file)
    }, file, call)
}
