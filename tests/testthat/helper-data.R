# Real data shipped with the package (NeurIPS 2021 bone-marrow subsets), loaded once.
cite_data <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) cache <<- multigrade_example("cite")
        cache
    }
})

multiome_data <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) cache <<- multigrade_example("multiome")
        cache
    }
})

# A small, fast configuration for tests that check plumbing rather than quality.
quick_options <- function(...) {
    multigrade_options(n_hidden_encoder = 32L, n_hidden_decoder = 32L, n_threads = 2L, ...)
}

quick_model <- function(mats, ..., max_epochs = 3, seed = 1) {
    RunMultigrade(mats, max_epochs = max_epochs, seed = seed, verbose = FALSE,
        options = quick_options(), ...)
}

# The CITE model trained with the package defaults (batch size fitted to the tiny data),
# shared by the behaviour tests.
cite_model <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            cite <- cite_data()
            set.seed(20261121)
            cache <<- RunMultigrade(list(rna = cite$rna, adt = cite$adt),
                likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch,
                max_epochs = 200, batch_size = 64, verbose = FALSE,
                options = multigrade_options(n_threads = 2L))
        }
        cache
    }
})
