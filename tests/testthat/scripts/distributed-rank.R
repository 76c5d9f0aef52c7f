# One rank of a data-parallel run (test-distributed.R), started by multigrade_launch():
#   Rscript distributed-rank.R <result prefix> <alignment> <die after seconds; 0: a long run; -1: a short one> [checkpoint folder]
# Trains on the bundled CITE-seq cells and saves the weights, embedding and history (alignment
# "stream": streamed from <result prefix>-rna.h5ad and -adt.h5ad in chunks of 200 cells); with a
# positive die time, rank 1 kills itself (SIGKILL) that long into training, and the others
# record the error they get and how long training had run. With a checkpoint folder, every
# rank checkpoints every 2 epochs and resumes from its checkpoint when there is one.
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
    # A forked child kills this process mid-training, without any clean-up.
    parallel::mcparallel({
        Sys.sleep(die_after)
        tools::pskill(me, tools::SIGKILL)
    }, detached = TRUE)
}
opts <- multigrade_options(distributed = cluster, draws = "keyed", n_threads = 1,
    alignment = if (alignment == "stream") "none" else alignment,
    checkpoint_every = 2L)
started <- Sys.time()
streamed <- function() {
    files <- c(rna = paste0(prefix, "-rna.h5ad"), adt = paste0(prefix, "-adt.h5ad"))
    opts$alignment <- "none"
    suppressWarnings(RunMultigradeH5AD(files, likelihoods = c(rna = "nb", adt = "mse"), batch = "batch",
        chunk_size = 200, max_epochs = 6, seed = 1, options = opts, verbose = FALSE))
}
result <- tryCatch({
    model <- if (alignment == "stream") streamed() else suppressWarnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, seed = 1,
        max_epochs = if (die_after >= 0) 100 else 6, options = opts, verbose = FALSE, checkpoint_dir = checkpoints,
        resume = !is.null(checkpoints)))
    list(weights = model$weights, embedding = model$embedding, history = model$history)
}, error = function(e) {
    list(error_class = class(e), message = conditionMessage(e), seconds = as.numeric(Sys.time() - started, units = "secs"))
})
saveRDS(result, sprintf("%s-rank%d.rds", prefix, cluster$rank))
