# Modality dropout chosen inside the reference, not on the query split: the CITE split's
# reference (donor s1d1, RNA + ADT) in 3 folds; each fold's RNA is held out as an RNA-only
# query of a reference trained on the other folds, and its ADT imputed. Also pbmc1k's
# reference half. Prints the mean CV RMSE and per-protein Pearson for each rate.
#
#   Rscript bench/quality/cv_modality_dropout.R [seeds=2]

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)

args <- commandArgs(trailingOnly = TRUE)
seeds <- seq_len(if (length(args) >= 1) as.integer(args[1]) else 2L)
rates <- c(0, 0.1, 0.3, 0.5, 0.7)
data <- load_datasets()
references <- list(
    cite = list(mods = lapply(data$cite$mods, function(x) x[, split_donors(data$cite)$ref]),
        batch = droplevels(data$cite$obs$batch[split_donors(data$cite)$ref])),
    pbmc1k = local({
        ref <- split_half(data$pbmc1k)$ref  # the reference half of run.R's imputation split
        list(mods = lapply(data$pbmc1k$mods, function(x) x[, ref]), batch = NULL)
    }))
for (ds in names(references)) {
    r <- references[[ds]]
    n <- ncol(r$mods$rna)
    set.seed(5)
    fold <- sample(rep_len(1:3, n))
    for (rate in rates) {
        scores <- vapply(seeds, function(seed) {
            per_fold <- vapply(1:3, function(f) {
                train <- fold != f
                batch <- if (is.null(r$batch)) NULL else r$batch[train]
                model <- suppressWarnings(RunMultigrade(lapply(r$mods, function(x) x[, train]), batch = batch,
                    seed = seed, verbose = FALSE, options = multigrade_options(modality_dropout = rate)))
                query <- list(rna = r$mods$rna[, !train])
                imputed <- ImputeModality(query, model, target = "adt",
                    batch = if (is.null(r$batch)) NULL else r$batch[!train])
                imputation_scores(imputed, r$mods$adt[, !train])
            }, numeric(2))
            rowMeans(per_fold)
        }, numeric(2))
        cat(sprintf("%-7s modality_dropout %.1f: CV RMSE %.4f, Pearson %.3f\n", ds, rate,
            mean(scores[1, ]), mean(scores[2, ])))
    }
}
