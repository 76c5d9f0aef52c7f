# What every quality-benchmark script starts with: the metrics, the peers, the datasets and
# the package. A script sources this file from its own folder:
#   source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
bench_root <- function() {
    file <- sub("^--file=", "", grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE))
    if (length(file) == 1) normalizePath(dirname(file)) else normalizePath("bench/quality")
}
for (f in c("metrics.R", "peers.R", "datasets.R")) source(file.path(bench_root(), f))
suppressPackageStartupMessages(library(multigrade))
