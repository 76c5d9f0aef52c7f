# A query from another gene panel: the RNA-only query of the CITE split (reference donor s1d1
# with RNA + ADT, query donor s1d2) lacking a random quarter of the reference's genes. Label
# transfer and distance to the full-panel mapping, for the defaults (missing genes left out of
# the query's training loss, the encoders given the model's expectation of them), for the same
# genes given as measured zeros (what
# a user's own zero-padding gets: the zeros are fitted), and for the full panel; beside kNN on
# the reference's RNA PCs and Seurat's TransferData, each on the shared genes.
#
#   Rscript bench/quality/missing_features.R [seeds]

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "load.R"))
options(multigrade.verbose = FALSE)
seeds <- seeds_argument()

use_cite_split()  # d, s, ref_labels, query_labels
rna <- d$mods$rna
set.seed(101)
dropped <- sort(sample.int(nrow(rna), round(nrow(rna) / 4)))
query_batch <- d$obs$batch[s$query]
accuracy <- function(mapped) mean(mapped$predictions$predicted.cell_type == query_labels)

rows <- list()
for (seed in seeds) {
    model <- suppressWarnings(RunMultigrade(lapply(d$mods, function(x) x[, s$ref]), batch = d$obs$batch[s$ref],
        seed = seed, verbose = FALSE))
    map <- function(x) MapToReference(list(rna = x), model, batch = query_batch,
        refdata = list(cell_type = ref_labels), seed = seed, verbose = FALSE)
    full <- map(rna[, s$query])
    missing <- suppressWarnings(map(rna[-dropped, s$query]))
    zeros <- rna[, s$query]
    zeros[dropped, ] <- 0
    measured_zeros <- map(zeros)
    distance <- function(m) mean(sqrt(rowSums((m$embedding - full$embedding)^2)))
    r <- c(full_panel = accuracy(full), defaults = accuracy(missing), measured_zeros = accuracy(measured_zeros),
        distance_defaults = distance(missing), distance_measured_zeros = distance(measured_zeros))
    rows[[seed]] <- r
    say("seed %d: %s", seed, paste(sprintf("%s %.3f", names(r), r), collapse = ", "))
}
scores <- do.call(rbind, rows)
for (col in colnames(scores)) say("%-24s %.3f ± %.3f", col, mean(scores[, col]), stats::sd(scores[, col]))

pcs <- rna_projection(rna[-dropped, s$ref], rna[-dropped, s$query])
k <- cv_k(pcs$reference, ref_labels)
say("%-24s %.3f (k = %d)", "kNN on RNA PCs", transfer_accuracy(pcs$reference, pcs$query, ref_labels,
    query_labels, k), k)
seurat <- seurat_transfer(rna[-dropped, s$ref], rna[-dropped, s$query], ref_labels)
say("%-24s %.3f", "Seurat TransferData", mean(seurat$labels == query_labels))
