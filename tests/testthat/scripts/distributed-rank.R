# One rank of a data-parallel run (test-distributed.R), started by multigrade_launch():
#   Rscript distributed-rank.R <result prefix> <mode> <die after; 0: a long run; -1: a short one> [checkpoint folder]
# Trains on the bundled CITE-seq cells (mode: the MMD alignment, "none" or "latent") and saves
# the weights, embedding and history. Mode "stream": streamed from <result prefix>-rna.h5ad and
# -adt.h5ad in chunks of 200 cells; "infer": a reference of donor s1d1 trained alone on every
# rank, then donor s1d2 mapped, embedded and imputed by the ranks together. With a checkpoint
# folder every rank checkpoints every 2 epochs and resumes from its checkpoint when there is
# one; with a positive `die after`, rank 1 kills itself (SIGKILL) once its checkpoint holds
# that many epochs, noting the time in <result prefix>-killed.rds, and the others record the
# error they get and when.
suppressPackageStartupMessages(library(multigrade))
args <- commandArgs(trailingOnly = TRUE)
prefix <- args[1]
alignment <- args[2]
die_after <- as.numeric(args[3])
checkpoints <- if (length(args) >= 4) args[4] else NULL
cluster <- multigrade_cluster(timeout = 30)
cite <- multigrade_example("cite")
if (die_after > 0 && cluster$rank == 1) {
    me <- Sys.getpid()
    mine <- file.path(checkpoints, "multigrade-checkpoint-rank1.rds")
    # A forked child kills this process mid-training, without any clean-up, once its
    # checkpoint holds `die_after` epochs.
    parallel::mcparallel({
        while (!file.exists(mine) || length(tryCatch(readRDS(mine)$history, error = function(e) NULL)) < die_after) {
            Sys.sleep(0.05)
        }
        saveRDS(Sys.time(), paste0(prefix, "-killed.rds"))
        tools::pskill(me, tools::SIGKILL)
    }, detached = TRUE)
}
opts <- multigrade_options(distributed = cluster, draws = "keyed", n_threads = 1,
    alignment = if (alignment %in% c("stream", "infer")) "none" else alignment,
    checkpoint_every = 2L)
streamed <- function() {
    files <- c(rna = paste0(prefix, "-rna.h5ad"), adt = paste0(prefix, "-adt.h5ad"))
    opts$alignment <- "none"
    suppressWarnings(RunMultigradeH5AD(files, likelihoods = c(rna = "nb", adt = "mse"), batch = "batch",
        chunk_size = 200, max_epochs = 6, seed = 1, options = opts, verbose = FALSE))
}
inferred <- function() {
    ref <- cite$obs$batch == "s1d1"
    reference <- suppressWarnings(RunMultigrade(list(rna = cite$rna[, ref], adt = cite$adt[, ref]),
        batch = cite$obs$batch[ref], seed = 1, max_epochs = 6, options = multigrade_options(n_threads = 1),
        verbose = FALSE))
    query <- list(rna = cite$rna[, !ref])
    as_reference <- rep("s1d1", sum(!ref))
    opts$alignment <- "latent"
    mapped <- MapToReference(query, reference, batch = cite$obs$batch[!ref], seed = 2, verbose = FALSE,
        refdata = list(cell_type = cite$obs$cell_type[ref]), options = opts, max_epochs = 4)
    list(mapped = mapped$embedding, predictions = mapped$predictions,
        embedding = predict(reference, query, batch = as_reference, cluster = cluster),
        imputed = ImputeModality(query, reference, target = "adt", batch = as_reference, cluster = cluster,
            n_samples = 4, seed = 3))
}
if (alignment == "infer") {
    saveRDS(inferred(), sprintf("%s-rank%d.rds", prefix, cluster$rank))
    quit(save = "no")
}
result <- tryCatch({
    model <- if (alignment == "stream") streamed() else suppressWarnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, seed = 1,
        max_epochs = if (die_after >= 0) 100 else 6, options = opts, verbose = FALSE, checkpoint_dir = checkpoints,
        resume = !is.null(checkpoints)))
    list(weights = model$weights, embedding = model$embedding, history = model$history)
}, error = function(e) list(error_class = class(e), message = conditionMessage(e), when = Sys.time()))
saveRDS(result, sprintf("%s-rank%d.rds", prefix, cluster$rank))
