# Wall time of a small run at the defaults beside the peers on the same data (the bundled
# CITE subset, 600 cells), each repeated, and where multigrade's time goes.
#
#   Rscript bench/quality/timing.R [repeats=5]

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
args <- commandArgs(trailingOnly = TRUE)
repeats <- if (length(args) >= 1) as.integer(args[1]) else 5L

d <- neurips_dataset("cite")
elapsed <- function(expr) {
    t0 <- proc.time()[["elapsed"]]
    force(expr)
    proc.time()[["elapsed"]] - t0
}
rows <- list()
for (r in seq_len(repeats)) {
    model <- NULL
    total <- elapsed(model <- RunMultigrade(d$mods, batch = d$obs$batch, seed = r, verbose = FALSE))
    epochs <- sum(model$history$seconds)
    pca_time <- elapsed(pcs <- pca_embedding(d$mods, d$kinds, 30L))
    harmony_time <- elapsed(harmony_embedding(pcs, d$obs$batch))
    wnn_time <- elapsed(wnn_embedding(d$mods, d$kinds, 30L))
    s <- split_donors(d)
    seurat_time <- elapsed(seurat_transfer(d$mods$rna[, s$ref], d$mods$rna[, s$query], d$obs$cell_type[s$ref],
        list(adt = d$mods$adt[, s$ref])))
    rows[[r]] <- data.frame(repeat_ = r, multigrade_s = total, multigrade_epochs_s = epochs,
        multigrade_other_s = total - epochs, epochs = nrow(model$history),
        steps = nrow(model$history) * ceiling(sum(model$history$cells_seen) / nrow(model$history) / model$train_config$batch_size),
        ms_per_step = 1000 * epochs / (sum(model$history$cells_seen) / model$train_config$batch_size),
        pca_s = pca_time, pca_harmony_s = pca_time + harmony_time, seurat_wnn_s = wnn_time,
        seurat_transfer_s = seurat_time)
    print(rows[[r]], row.names = FALSE)
}
all <- do.call(rbind, rows)
cat("\nmedian over", repeats, "repeats:\n")
print(round(vapply(all[-1], stats::median, numeric(1)), 3))
cat(sprintf("cores %d, threads used by multigrade %d, LibTorch %s\n", parallel::detectCores(),
    multigrade:::resolve_threads(NULL, model$train_config$batch_size), multigrade_torch_info()$torch_version))
