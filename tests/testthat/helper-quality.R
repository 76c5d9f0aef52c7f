# The quality benchmark's metrics and peers (bench/quality/metrics.R and peers.R), so that the
# quality tests score the package and its baselines with the same code as the benchmark,
# independently of the package. Loaded once, into their own environment.
quality <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            env <- new.env(parent = globalenv())
            root <- testthat::test_path("..", "..", "bench", "quality")
            for (f in c("metrics.R", "peers.R")) sys.source(file.path(root, f), envir = env)
            cache <<- env
        }
        cache
    }
})

# Warnings of a call, by class, with its value.
with_warnings <- function(expr) {
    caught <- list()
    value <- withCallingHandlers(expr, warning = function(w) {
        caught[[length(caught) + 1]] <<- w
        invokeRestart("muffleWarning")
    })
    list(value = value, warnings = caught)
}
