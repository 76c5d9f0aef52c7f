# How the defaults were chosen: the package's earlier defaults (close to the reference
# Multigrate's) and each change towards the current ones, one at a time, on every real
# dataset of the benchmark, scored by bench/quality/metrics.R.
#
#   Rscript bench/quality/ablation.R [seeds=3] [out=bench/quality/results]
#
# Writes ablation.csv and ablation.md (mean and sd over seeds). Integration on every dataset
# (all cells); on the CITE split also the RNA-only query (imputed ADT, query-reference mixing,
# label transfer).

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))

args <- commandArgs(trailingOnly = TRUE)
seeds <- seq_len(if (length(args) >= 1) as.integer(args[1]) else 3L)
out_dir <- if (length(args) >= 2) args[2] else file.path(bench_root(), "results")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# Each configuration: options and main arguments. "previous defaults" is the package before
# this benchmark (2 x 128 blocks, prior expert, unweighted modalities, no modality dropout,
# 16 latent dimensions, 256-cell batches, 200 epochs, lr 5e-4); the later rows change one
# thing at a time, in the order they were adopted; "defaults" is the package as it is.
previous <- list(n_layers_encoder = 2L, n_layers_decoder = 2L, prior_expert = TRUE, modality_weights = NULL,
    modality_dropout = 0)
previous_args <- list(latent_dim = 16L, batch_size = 256L, max_epochs = 200L, lr = 5e-4)
configs <- list(
    "previous defaults" = list(options = previous, args = previous_args),
    "+ batch size and epochs by data size, lr 3e-3" = list(options = previous, args = list(latent_dim = 16L)),
    "+ one block per encoder and decoder" = list(options = previous[-(1:2)], args = list(latent_dim = 16L)),
    "+ 30 latent dimensions" = list(options = previous[-(1:2)], args = list()),
    "+ balanced modality weights" = list(options = previous[c("prior_expert", "modality_dropout")], args = list()),
    "+ no prior expert" = list(options = previous["modality_dropout"], args = list()),
    "defaults (+ modality dropout 0.3)" = list(options = list(), args = list()),
    "defaults, MMD off" = list(options = list(alignment = "none"), args = list()),
    "defaults + consistency term (coef 1)" = list(options = list(consistency_coef = 1), args = list()),
    "defaults, dropout 0.1" = list(options = list(dropout = 0.1), args = list()))

fit <- function(config, mods, batch, seed) {
    suppressWarnings(do.call(RunMultigrade, c(list(mods, batch = batch, seed = seed, verbose = FALSE,
        options = do.call(multigrade_options, config$options)), config$args)))
}

data <- load_datasets()
rows <- list()
for (name in names(configs)) {
    config <- configs[[name]]
    for (seed in seeds) {
        for (ds in names(data)) {
            d <- data[[ds]]
            batch <- if ("batch" %in% names(d$obs)) d$obs$batch else NULL
            t0 <- proc.time()[["elapsed"]]
            model <- fit(config, d$mods, batch, seed)
            seconds <- proc.time()[["elapsed"]] - t0
            m <- integration_metrics(model$embedding, d$obs$cell_type, batch)
            rows[[length(rows) + 1]] <- data.frame(config = name, dataset = ds, seed = seed, t(m), seconds = seconds)
        }
        # The CITE split: reference s1d1 (RNA + ADT), RNA-only query s1d2.
        d <- data$cite
        s <- split_donors(d)
        model <- fit(config, lapply(d$mods, function(x) x[, s$ref]), d$obs$batch[s$ref], seed)
        query <- list(rna = d$mods$rna[, s$query])
        labels <- as.character(d$obs$cell_type)
        mapped <- suppressWarnings(MapToReference(query, model, batch = d$obs$batch[s$query],
            refdata = list(cell_type = labels[s$ref]), seed = seed, verbose = FALSE))
        imputed <- ImputeModality(query, mapped$model, target = "adt", batch = d$obs$batch[s$query])
        scores <- imputation_scores(imputed, d$mods$adt[, s$query])
        set <- rep(c("reference", "query"), c(sum(s$ref), sum(s$query)))
        rows[[length(rows) + 1]] <- data.frame(config = name, dataset = "cite split (RNA-only query)", seed = seed,
            imputation_rmse = scores[["rmse"]], imputation_pearson = scores[["pearson"]],
            query_mixing = batch_mixing(rbind(model$embedding, mapped$embedding), set),
            label_accuracy = mean(mapped$predictions$predicted.cell_type == labels[s$query]))
        cat(sprintf("%s, seed %d done\n", name, seed))
    }
}

bind <- function(frames) {
    cols <- unique(unlist(lapply(frames, names)))
    do.call(rbind, lapply(frames, function(f) {
        f[setdiff(cols, names(f))] <- NA
        f[cols]
    }))
}
result <- bind(rows)
utils::write.csv(result, file.path(out_dir, "ablation.csv"), row.names = FALSE)

metrics <- c("knn_accuracy", "label_asw", "batch_mixing", "seconds", "imputation_rmse", "imputation_pearson",
    "query_mixing", "label_accuracy")
cell <- function(v) {
    v <- v[is.finite(v)]
    if (length(v) == 0) "" else sprintf("%.3f ± %.3f", mean(v), stats::sd(v))
}
lines <- character()
for (ds in unique(result$dataset)) {
    sub <- result[result$dataset == ds, ]
    used <- metrics[vapply(metrics, function(m) any(is.finite(sub[[m]])), logical(1))]
    lines <- c(lines, sprintf("\n### %s\n", ds), paste0("| configuration | ", paste(used, collapse = " | "), " |"),
        paste0("|---|", paste(rep("---", length(used)), collapse = "|"), "|"))
    for (name in names(configs)) {
        g <- sub[sub$config == name, ]
        lines <- c(lines, paste0("| ", name, " | ", paste(vapply(used, function(m) cell(g[[m]]), ""), collapse = " | "), " |"))
    }
}
writeLines(lines, file.path(out_dir, "ablation.md"))
cat("wrote", file.path(out_dir, "ablation.md"), "\n")
