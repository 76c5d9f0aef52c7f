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

# The CITE model trained at the package defaults (seed fixed), shared by the behaviour tests.
cite_model <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            cite <- cite_data()
            cache <<- RunMultigrade(list(rna = cite$rna, adt = cite$adt),
                likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch,
                seed = 20261121, verbose = FALSE)
        }
        cache
    }
})

# The CITE predict_modality split: reference = donor s1d1 (RNA + ADT), query = donor s1d2
# (RNA only), for the mapping, imputation and MIL tests.
split_cite <- function() {
    cite <- cite_data()
    ref <- cite$obs$batch == "s1d1"
    list(cite = cite, ref = ref, query = !ref)
}

# The reference of the split at the package defaults (nothing chosen on this split; see
# bench/quality/RESULTS.md for how the defaults were chosen across datasets), trained once.
reference_model <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            s <- split_cite()
            cache <<- RunMultigrade(list(rna = s$cite$rna[, s$ref], adt = s$cite$adt[, s$ref]),
                likelihoods = c(rna = "nb", adt = "mse"), batch = s$cite$obs$batch[s$ref],
                seed = 11, verbose = FALSE)
        }
        cache
    }
})

mapped_query <- local({
    cache <- NULL
    function() {
        if (is.null(cache)) {
            s <- split_cite()
            cache <<- MapToReference(list(rna = s$cite$rna[, s$query]), reference_model(),
                batch = s$cite$obs$batch[s$query],
                refdata = list(cell_type = s$cite$obs$cell_type[s$ref]),
                seed = 5, verbose = FALSE)
        }
        cache
    }
})
