# What every quality-benchmark script starts with: the metrics, the peers, the datasets and
# the package. A script sources this file from its own folder:
#   source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
bench_root <- function() {
    file <- sub("^--file=", "", grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE))
    if (length(file) == 1) normalizePath(dirname(file)) else normalizePath("bench/quality")
}
for (f in c("metrics.R", "peers.R", "datasets.R")) source(file.path(bench_root(), f))
suppressPackageStartupMessages(library(multigrade))

say <- function(...) cat(sprintf(...), "\n", sep = "")

# The seeds a script runs: 1 to its first command-line argument (default `default`).
seeds_argument <- function(default = 3L) {
    args <- commandArgs(trailingOnly = TRUE)
    seq_len(if (length(args) >= 1) as.integer(args[1]) else default)
}

# The CITE split of the mapping scripts (reference donor s1d1, query donor s1d2), defined in
# the calling script as `d` (the dataset), `s` (the split) and `ref_labels`, `query_labels`
# (both sides' cell types).
use_cite_split <- function(envir = parent.frame()) {
    d <- load_datasets()$cite
    s <- split_donors(d)
    truth <- as.character(d$obs$cell_type)
    list2env(list(d = d, s = s, ref_labels = truth[s$ref], query_labels = truth[s$query]), envir = envir)
    invisible(NULL)
}
