# MultiMIL on real data: leave-one-patient-out prediction of the treatment of glioblastoma
# slices (5 patients x control/panobinostat) next to the MultiMIL paper's baselines, on
# PCA and on multigrade's latent space, plus end-to-end training; and a planted cohort of
# real bone-marrow cells in which attention must find the enriched cell type.
#   Rscript inst/scripts/mil.R [output folder]
suppressPackageStartupMessages(library(multigrade))

out_dir <- commandArgs(trailingOnly = TRUE)[1]
if (is.na(out_dir)) out_dir <- "multigrade-mil"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
options <- multigrade_options(n_threads = 2L)

gbm <- multigrade_example("glioblastoma")
obs <- gbm$obs
cat(sprintf("Glioblastoma cohort: %d cells x %d genes, %d samples of %d patients\n",
    ncol(gbm$counts), nrow(gbm$counts), length(unique(obs$sample_id)), length(unique(obs$patient_id))))

set.seed(1)
vae <- RunMultigrade(list(rna = gbm$counts), likelihoods = c(rna = "nb"), batch = obs$patient_id,
    max_epochs = 100, verbose = FALSE, options = options)
embeddings <- list(pca_16 = stats::prcomp(t(as.matrix(gbm$logcounts)), rank. = 16)$x,
    multigrade = vae$embedding)
results <- list()
for (nm in names(embeddings)) {
    cv <- CrossValidateMIL(embeddings[[nm]], sample = obs$sample_id, label = obs$condition,
        group = obs$patient_id, max_epochs = 50, seed = 1, verbose = FALSE)
    results[[nm]] <- cbind(embedding = nm, cv$summary)
}

# End to end: the VAE and the MIL head trained together on four patients; the held-out
# patient is embedded with the trained VAE and its two samples predicted.
correct <- 0
for (patient in unique(obs$patient_id)) {
    held <- obs$patient_id == patient
    fit <- RunMultiMIL(list(rna = gbm$counts[, !held]), sample = obs$sample_id[!held],
        label = obs$condition[!held], likelihoods = c(rna = "nb"), max_epochs = 40, seed = 1,
        verbose = FALSE, options = options)
    out <- PredictSamples(predict(fit$vae, list(rna = gbm$counts[, held])), fit, sample = obs$sample_id[held])
    truth <- obs$condition[held][match(out$samples$sample, obs$sample_id[held])]
    correct <- correct + sum(as.character(out$samples$predicted) == truth)
}
results$end_to_end <- data.frame(embedding = "multigrade (end to end)", method = "multimil",
    features = "cells (attention)", accuracy = correct / 10, n_samples = 10)
results <- do.call(rbind, results)
rownames(results) <- NULL
cat("\nLeave-one-patient-out accuracy of the condition (10 samples; chance 0.5):\n")
print(results, row.names = FALSE)
utils::write.csv(results, file.path(out_dir, "glioblastoma_lopo.csv"), row.names = FALSE)

# Planted cohort from real CITE-seq cells (multigrade latent space of both donors):
# training samples from donor s1d1, test samples from donor s1d2; "disease" samples hold
# 35% CD14+ monocytes, controls 5%.
cite <- multigrade_example("cite")
set.seed(2021)
model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt), likelihoods = c(rna = "nb", adt = "mse"),
    batch = cite$obs$batch, max_epochs = 200, batch_size = 64, verbose = FALSE, options = options)
cell_type <- stats::setNames(as.character(cite$obs$cell_type), colnames(cite$rna))
cohort <- function(cells, n_samples, prefix) {
    target <- cells[cell_type[cells] == "CD14+ Mono"]
    others <- setdiff(cells, target)
    parts <- lapply(seq_len(n_samples), function(s) {
        disease <- s %% 2 == 0
        n_target <- if (disease) 21 else 3
        picked <- c(sample(target, n_target), sample(others, 60 - n_target))
        emb <- model$embedding[picked, ]
        rownames(emb) <- paste0(prefix, s, "_", picked)
        list(emb = emb, sample = rep(paste0(prefix, s), 60), label = rep(if (disease) "disease" else "control", 60),
            target = cell_type[picked] == "CD14+ Mono")
    })
    list(embedding = do.call(rbind, lapply(parts, `[[`, "emb")), sample = unlist(lapply(parts, `[[`, "sample")),
        label = unlist(lapply(parts, `[[`, "label")), target = unlist(lapply(parts, `[[`, "target")))
}
train <- cohort(colnames(cite$rna)[cite$obs$batch == "s1d1"], 20, "train")
test <- cohort(colnames(cite$rna)[cite$obs$batch == "s1d2"], 12, "test")
fit <- RunMultiMIL(train$embedding, sample = train$sample, label = train$label, max_epochs = 100, seed = 3,
    verbose = FALSE)
out <- PredictSamples(test$embedding, fit, sample = test$sample)
truth <- test$label[match(out$samples$sample, test$sample)]
top <- multigrade:::top_attention_cells(out$attention[rownames(test$embedding)], test$sample, 0.1)
disease <- test$label == "disease"
cat(sprintf("\nPlanted CITE cohort (held-out donor): accuracy %.2f; CD14+ Mono among the top-10%% attention cells of disease samples %.2f (base 0.35)\n",
    mean(as.character(out$samples$predicted) == truth), mean(test$target[top & disease])))

grDevices::png(file.path(out_dir, "attention.png"), width = 900, height = 450)
graphics::par(mfrow = c(1, 2))
relative <- out$relative_attention[rownames(test$embedding)]
graphics::boxplot(split(relative[disease], ifelse(test$target[disease], "CD14+ Mono", "other")), log = "y",
    ylab = "attention x cells in sample (1 = average)", main = "Disease samples of the held-out donor")
pcs <- stats::prcomp(test$embedding)$x
shade <- grDevices::colorRampPalette(c("grey85", "darkorange", "firebrick4"))(100)
rank <- ceiling(100 * rank(relative[disease]) / sum(disease))
graphics::plot(pcs[disease, 1:2], pch = ifelse(test$target[disease], 17, 19), cex = 0.8, col = shade[rank],
    main = "Disease samples' cells: colour = attention rank, triangles = CD14+ Mono")
grDevices::dev.off()
cat(sprintf("Wrote %s and %s\n", file.path(out_dir, "glioblastoma_lopo.csv"), file.path(out_dir, "attention.png")))
