# Does a stronger MMD term mix batches more? The defaults with integ_coef 1 (the default), 30,
# 300 and 3000 on the datasets with a batch, scored by bench/quality/metrics.R.
#
#   Rscript bench/quality/mmd_weight.R [seeds=3]
#
# Prints one line per dataset and weight: the metrics' means over seeds and the seconds.

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)

args <- commandArgs(trailingOnly = TRUE)
seeds <- seq_len(if (length(args) >= 1) as.integer(args[1]) else 3L)
data <- load_datasets()
for (ds in c("cite", "multiome", "semisynthetic")) {
    d <- data[[ds]]
    for (weight in c(1, 30, 300, 3000)) {
        scores <- vapply(seeds, function(seed) {
            t0 <- proc.time()[["elapsed"]]
            model <- suppressWarnings(RunMultigrade(d$mods, batch = d$obs$batch, seed = seed, verbose = FALSE,
                options = multigrade_options(integ_coef = weight)))
            c(integration_metrics(model$embedding, d$obs$cell_type, d$obs$batch),
                seconds = proc.time()[["elapsed"]] - t0)
        }, numeric(6))
        cat(sprintf("%-13s integ_coef %-5g %s\n", ds, weight,
            paste(rownames(scores), sprintf("%.3f", rowMeans(scores)), collapse = " ")))
    }
}
