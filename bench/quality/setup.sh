#!/usr/bin/env bash
# What the quality benchmark needs beyond the package's own set-up: Harmony from CRAN (Debian
# has no package of it). Run after scripts/setup.sh; safe to run again.
set -euo pipefail
Rscript -e 'if (!requireNamespace("harmony", quietly = TRUE)) {
    options(Ncpus = max(1L, parallel::detectCores()))
    install.packages("harmony", repos = "https://cloud.r-project.org")
}
stopifnot(requireNamespace("harmony", quietly = TRUE))
cat("harmony", as.character(utils::packageVersion("harmony")), "\n")'
