# The multigrade demo: integrate the bundled NeurIPS 2021 bone-marrow CITE-seq subset
# (RNA counts with a negative binomial likelihood + CLR protein with MSE, two donors),
# compare with a PCA baseline, and write results and a UMAP plot.
#   Rscript inst/scripts/demo.R [output folder]
suppressPackageStartupMessages(library(multigrade))

out_dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(out_dir)) out_dir <- "multigrade-demo"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

cite <- multigrade_example("cite")
cat(sprintf("NeurIPS 2021 CITE-seq subset: %d cells, %d genes + %d proteins, donors %s\n",
    ncol(cite$rna), nrow(cite$rna), nrow(cite$adt), paste(levels(cite$obs$batch), collapse = ", ")))

set.seed(2021)
model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt),
    likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch)  # the defaults
print(summary(model))

# Baselines: PCA at 16 and 30 dimensions (30 is the latent size) and, as controls for what
# the mixing scores reward, PCA with 4 and 50 dimensions and a random embedding.
inputs <- list(rna = cite$rna, adt = cite$adt)
kinds <- c(rna = "nb", adt = "mse")
embeddings <- list(multigrade = model$embedding,
    pca_16 = multigrade:::pca_baseline(inputs, kinds, 16),
    pca_30 = multigrade:::pca_baseline(inputs, kinds, 30),
    pca_4 = multigrade:::pca_baseline(inputs, kinds, 4),
    pca_50 = multigrade:::pca_baseline(inputs, kinds, 50),
    random = matrix(stats::rnorm(ncol(cite$rna) * 30), ncol(cite$rna)))
metrics <- t(vapply(embeddings, function(e) {
    unlist(multigrade:::integration_summary(e, cite$obs$cell_type, cite$obs$batch))
}, numeric(4)))
cat("\nIntegration metrics:\n",
    "  celltype_asw: cell types apart (higher is better);\n",
    "  batch_asw: donors mixed within cell types (scIB, higher is better);\n",
    "  batch_silhouette: donor silhouette over all cells (0 is mixed, lower is better);\n",
    "  knn_other_batch: fraction of the 15 nearest neighbours from the other donor.\n",
    "  Mixing scores reward noise (see pca_50 and random): read them with celltype_asw.\n", sep = "")
print(round(metrics, 4))
cat(sprintf("knn_other_batch with perfect mixing inside each cell type: %.3f\n",
    multigrade:::knn_mixing_ceiling(cite$obs$cell_type, cite$obs$batch)))

write.csv(model$embedding, file.path(out_dir, "embedding.csv"))
write.csv(metrics, file.path(out_dir, "metrics.csv"))
write.csv(model$history, file.path(out_dir, "history.csv"), row.names = FALSE)
SaveMultigrade(model, file.path(out_dir, "model.h5"), overwrite = TRUE)

set.seed(2021)
umap <- uwot::umap(model$embedding, n_neighbors = 15, min_dist = 0.3, n_threads = 1)
grDevices::png(file.path(out_dir, "umap.png"), width = 1800, height = 850, res = 120)
graphics::par(mfrow = c(1, 2), mar = c(4, 4, 3, 1))
types <- cite$obs$cell_type
palette <- grDevices::hcl.colors(nlevels(types), "Dark 3")
graphics::plot(umap, col = palette[as.integer(types)], pch = 19, cex = 0.6,
    xlab = "UMAP 1", ylab = "UMAP 2", main = "multigrade: cell type")
top <- names(sort(table(types), decreasing = TRUE))[1:8]
for (t in top) {
    centre <- apply(umap[types == t, , drop = FALSE], 2, stats::median)
    graphics::text(centre[1], centre[2], t, cex = 0.7, font = 2)
}
donor_cols <- c("#1b9e77", "#d95f02")
graphics::plot(umap, col = donor_cols[as.integer(cite$obs$batch)], pch = 19, cex = 0.6,
    xlab = "UMAP 1", ylab = "UMAP 2", main = "multigrade: donor")
graphics::legend("topright", legend = levels(cite$obs$batch), col = donor_cols, pch = 19, bty = "n")
invisible(grDevices::dev.off())
cat(sprintf("\nWrote %s\n", paste(file.path(out_dir, c("embedding.csv", "metrics.csv", "history.csv",
    "model.h5", "umap.png")), collapse = ", ")))
