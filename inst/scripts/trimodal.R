# A trimodal mosaic: the NeurIPS 2021 CITE-seq (RNA + ADT) and Multiome (RNA + ATAC) subsets
# integrated into one reference, RNA shared (the genes both panels measured), ADT only in
# CITE cells and ATAC only in Multiome cells; then a multimodal query (CITE donor s1d2,
# RNA + ADT) and a unimodal one (Multiome donor s1d2, ATAC only) mapped onto it, with cell
# types transferred and protein imputed for the ATAC-only cells.
#   Rscript inst/scripts/trimodal.R [max_epochs]
suppressPackageStartupMessages(library(multigrade))

trimodal_data <- function() {
    cite <- multigrade_example("cite")
    mo <- multigrade_example("multiome")
    genes <- intersect(rownames(cite$rna), rownames(mo$rna))
    name <- function(prefix, m) {
        colnames(m) <- paste0(prefix, "_", colnames(m))
        m
    }
    absent <- function(features, cells) {
        matrix(NA_real_, length(features), length(cells), dimnames = list(features, cells))
    }
    rna <- cbind(name("cite", cite$rna[genes, ]), name("multiome", mo$rna[genes, ]))
    cells <- colnames(rna)
    adt <- cbind(as.matrix(name("cite", cite$adt)), absent(rownames(cite$adt), cells[-seq_len(ncol(cite$rna))]))
    atac <- cbind(absent(rownames(mo$atac), cells[seq_len(ncol(cite$rna))]), as.matrix(name("multiome", mo$atac)))
    obs <- data.frame(dataset = rep(c("cite", "multiome"), c(ncol(cite$rna), ncol(mo$rna))),
        donor = c(as.character(cite$obs$batch), as.character(mo$obs$batch)),
        cell_type = c(as.character(cite$obs$cell_type), as.character(mo$obs$cell_type)), row.names = cells)
    obs$batch <- paste(obs$dataset, obs$donor, sep = "_")
    list(rna = rna, adt = adt, atac = atac, obs = obs)
}

run_trimodal <- function(max_epochs = 200, seed = 1, verbose = TRUE) {
    d <- trimodal_data()
    ref <- d$obs$donor == "s1d1"
    likelihoods <- c(rna = "nb", adt = "mse", atac = "bernoulli")
    set.seed(seed)
    model <- RunMultigrade(list(rna = d$rna[, ref], adt = d$adt[, ref], atac = d$atac[, ref]),
        likelihoods = likelihoods, batch = d$obs$batch[ref], max_epochs = max_epochs, batch_size = 64,
        verbose = verbose, options = multigrade_options(modality_dropout = 0.3, alignment = "both"))
    labels <- list(cell_type = d$obs$cell_type[ref])
    cite_query <- ref == FALSE & d$obs$dataset == "cite"
    atac_query <- ref == FALSE & d$obs$dataset == "multiome"
    multimodal <- MapToReference(list(rna = d$rna[, cite_query], adt = d$adt[, cite_query]), model,
        batch = d$obs$batch[cite_query], refdata = labels, batch_size = 64, seed = seed, verbose = verbose)
    unimodal <- MapToReference(list(atac = d$atac[, atac_query]), model,
        batch = d$obs$batch[atac_query], refdata = labels, batch_size = 64, seed = seed, verbose = verbose)
    protein <- ImputeModality(list(atac = d$atac[, atac_query]), unimodal$model, target = "adt",
        batch = d$obs$batch[atac_query], decode_batch = list(batch = "cite_s1d1"))
    accuracy <- function(mapped, cells) {
        mean(mapped$predictions$predicted.cell_type == d$obs$cell_type[cells])
    }
    list(data = d, model = model, multimodal = multimodal, unimodal = unimodal, protein = protein,
        accuracy = c(cite_rna_adt = accuracy(multimodal, cite_query),
            multiome_atac_only = accuracy(unimodal, atac_query)))
}

if (sys.nframe() == 0L) {
    args <- commandArgs(trailingOnly = TRUE)
    result <- run_trimodal(max_epochs = if (length(args)) as.integer(args[1]) else 200)
    d <- result$data
    cat(sprintf("Reference: %d cells (%d CITE, %d Multiome), %d shared genes, %d proteins, %d peaks\n",
        sum(d$obs$donor == "s1d1"), sum(d$obs$donor == "s1d1" & d$obs$dataset == "cite"),
        sum(d$obs$donor == "s1d1" & d$obs$dataset == "multiome"), nrow(d$rna), nrow(d$adt), nrow(d$atac)))
    cat("Label transfer accuracy on the s1d2 queries:\n")
    print(round(result$accuracy, 3))
    cat(sprintf("Imputed protein for %d ATAC-only cells: %d x %d\n", ncol(result$protein),
        nrow(result$protein), ncol(result$protein)))
}
