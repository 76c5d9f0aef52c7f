# Data-parallel training from R (R/distributed.R over the core's train/data_parallel.h): ranks
# started by multigrade_launch() on this machine meet over loopback with Gloo.

test_that("multigrade_cluster reads the launcher's environment and rejects bad places", {
    withr_env <- function(vars, code) {
        old <- Sys.getenv(names(vars), unset = NA)
        do.call(Sys.setenv, as.list(vars))
        on.exit(for (nm in names(vars)) if (is.na(old[[nm]])) Sys.unsetenv(nm) else do.call(Sys.setenv, as.list(old[nm])))
        force(code)
    }
    cluster <- withr_env(c(RANK = "1", WORLD_SIZE = "3", MASTER_ADDR = "10.0.0.5", MASTER_PORT = "29611"),
        multigrade_cluster())
    expect_s3_class(cluster, "multigrade_cluster")
    expect_identical(c(cluster$rank, cluster$world_size, cluster$master_port), c(1L, 3L, 29611L))
    expect_identical(cluster$master_addr, "10.0.0.5")
    expect_identical(cluster$local_rank, 1L)
    slurm <- withr_env(c(SLURM_PROCID = "3", SLURM_NTASKS = "4", SLURM_LOCALID = "1"),
        multigrade_cluster(master_port = 29612))
    expect_identical(c(slurm$rank, slurm$world_size, slurm$local_rank), c(3L, 4L, 1L))
    expect_error(multigrade_cluster(rank = 1, world_size = 2, local_rank = 2), "local_rank", class = "mg_error_input")
    expect_error(multigrade_cluster(rank = 2, world_size = 2), "rank", class = "mg_error_input")
    expect_error(multigrade_cluster(rank = 0, world_size = 2, master_port = 70000), "port", class = "mg_error_input")
    expect_error(multigrade_options(distributed = list(rank = 0)), "multigrade_cluster", class = "mg_error_input")
})

launch_ranks <- function(n, alignment, die_after = -1, checkpoints = NULL, prefix = tempfile("ranks")) {
    script <- test_path("scripts", "distributed-rank.R")
    launched <- tryCatch(multigrade_launch(script, n, args = c(prefix, alignment, die_after, checkpoints),
        log_dir = paste0(prefix, "-logs"), timeout = 240), error = function(e) e)
    list(launched = launched, results = lapply(seq_len(n) - 1L, function(r) {
        file <- sprintf("%s-rank%d.rds", prefix, r)
        if (file.exists(file)) readRDS(file) else NULL
    }))
}

flat <- function(weights) unlist(lapply(weights, as.vector))

test_that("two ranks with keyed draws train exactly like one process on the same batches", {
    cite <- cite_data()
    run <- launch_ranks(2, "none")
    expect_false(inherits(run$launched, "error"))
    ranks <- run$results
    expect_identical(ranks[[1]]$weights, ranks[[2]]$weights)
    expect_identical(ranks[[1]]$embedding, ranks[[2]]$embedding)
    alone <- suppressWarnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, seed = 1,
        max_epochs = 6, options = multigrade_options(draws = "keyed", alignment = "none", n_threads = 1),
        verbose = FALSE))
    expect_identical(rownames(ranks[[1]]$embedding), rownames(alone$embedding))
    expect_lt(max(abs(flat(ranks[[1]]$weights) - flat(alone$weights))), 1e-5)
    expect_lt(max(abs(ranks[[1]]$embedding - alone$embedding)), 1e-4)
    expect_lt(max(abs(ranks[[1]]$history$train_loss / alone$history$train_loss - 1)), 1e-5)
    expect_identical(ranks[[1]]$history$epoch, alone$history$epoch)
})

test_that("streamed from .h5ad files, two ranks train exactly like one process on the same chunks", {
    cite <- cite_data()
    prefix <- tempfile("stream")
    files <- c(rna = paste0(prefix, "-rna.h5ad"), adt = paste0(prefix, "-adt.h5ad"))
    WriteH5AD(cite$rna, files[["rna"]], obs = cite$obs)
    WriteH5AD(cite$adt, files[["adt"]], obs = cite$obs)
    run <- launch_ranks(2, "stream", prefix = prefix)
    expect_false(inherits(run$launched, "error"))
    ranks <- run$results
    expect_identical(ranks[[1]]$weights, ranks[[2]]$weights)
    alone <- suppressWarnings(RunMultigradeH5AD(files, likelihoods = c(rna = "nb", adt = "mse"), batch = "batch",
        chunk_size = 200, max_epochs = 6, seed = 1, verbose = FALSE,
        options = multigrade_options(draws = "keyed", alignment = "none", n_threads = 1)))
    # The gradients summed in another order differ by rounding, which AdamW's normalised
    # steps magnify in the few coordinates with almost no gradient (rarely expressed genes'
    # output weights: 4e-5 of values up to 0.3); the losses agree to 1e-5.
    expect_lt(max(abs(flat(ranks[[1]]$weights) - flat(alone$weights))), 1e-4)
    expect_lt(max(abs(ranks[[1]]$history$train_loss / alone$history$train_loss - 1)), 1e-5)
    expect_lt(max(abs(ranks[[1]]$embedding - alone$embedding)), 1e-4)
})

test_that("ranks map, embed and impute a query together: each its share, all get every cell", {
    s <- split_cite()
    run <- launch_ranks(2, "infer")
    expect_false(inherits(run$launched, "error"))
    ranks <- run$results
    expect_identical(ranks[[1]]$mapped, ranks[[2]]$mapped)
    expect_identical(ranks[[1]]$predictions, ranks[[2]]$predictions)
    expect_identical(ranks[[1]]$embedding, ranks[[2]]$embedding)
    expect_identical(ranks[[1]]$imputed[, ], ranks[[2]]$imputed[, ])
    # One process with the same reference (trained alike on every rank) embeds and imputes the
    # same values, in the same cell order.
    reference <- suppressWarnings(RunMultigrade(list(rna = s$cite$rna[, s$ref], adt = s$cite$adt[, s$ref]),
        batch = s$cite$obs$batch[s$ref], seed = 1, max_epochs = 6, options = multigrade_options(n_threads = 1),
        verbose = FALSE))
    query <- list(rna = s$cite$rna[, s$query])
    as_reference <- rep("s1d1", sum(s$query))
    expect_equal(ranks[[1]]$embedding, predict(reference, query, batch = as_reference), tolerance = 1e-6)
    alone <- ImputeModality(query, reference, target = "adt", batch = as_reference, n_samples = 4, seed = 3)
    expect_equal(ranks[[1]]$imputed[, ], alone[, ], tolerance = 1e-6)
    expect_identical(dimnames(ranks[[1]]$imputed), dimnames(alone))
    expect_identical(names(attr(ranks[[1]]$imputed, "quantiles")), names(attr(alone, "quantiles")))
    expect_gt(mean(ranks[[1]]$predictions$predicted.cell_type == s$cite$obs$cell_type[s$query]), 0.3)
})

test_that("with MMD alignment the ranks agree with each other and stay close to one process", {
    cite <- cite_data()
    run <- launch_ranks(2, "latent")
    ranks <- run$results
    expect_identical(ranks[[1]]$weights, ranks[[2]]$weights)
    alone <- suppressWarnings(RunMultigrade(list(rna = cite$rna, adt = cite$adt), batch = cite$obs$batch, seed = 1,
        max_epochs = 6, options = multigrade_options(draws = "keyed", n_threads = 1), verbose = FALSE))
    # Each rank's MMD sees its share of a minibatch: the same estimator on fewer cells.
    expect_lt(max(abs(ranks[[1]]$history$train_loss / alone$history$train_loss - 1)), 1e-3)
})

test_that("a rank killed mid-run makes the other fail with a classed error within a minute, and the job resumes", {
    checkpoints <- tempfile("checkpoints")
    prefix <- tempfile("ranks")
    run <- launch_ranks(2, "latent", die_after = 4, checkpoints = checkpoints, prefix = prefix)
    expect_s3_class(run$launched, "mg_error_distributed")
    expect_null(run$results[[2]])  # killed: it wrote nothing
    survivor <- run$results[[1]]
    expect_true("mg_error_distributed" %in% survivor$error_class)
    expect_match(survivor$message, "another rank has probably stopped")
    waited <- as.numeric(survivor$when - readRDS(paste0(prefix, "-killed.rds")), units = "secs")
    message(sprintf("the surviving rank stopped %.2f s after the other was killed", waited))
    expect_lt(waited, 60)
    # Each rank kept its own checkpoint; starting the job again continues from them to the end.
    expect_true(all(file.exists(file.path(checkpoints, sprintf("multigrade-checkpoint-rank%d.rds", 0:1)))))
    done <- readRDS(file.path(checkpoints, "multigrade-checkpoint-rank0.rds"))$history
    resumed <- launch_ranks(2, "latent", die_after = 0, checkpoints = checkpoints)
    expect_false(inherits(resumed$launched, "error"))
    expect_identical(resumed$results[[1]]$weights, resumed$results[[2]]$weights)
    expect_gt(nrow(resumed$results[[1]]$history), length(done))
    expect_equal(resumed$results[[1]]$history$epoch[seq_along(done)], seq_along(done))
})

test_that("ranks whose latest checkpoints differ resume from the epoch they all hold", {
    checkpoints <- tempfile("checkpoints")
    first <- launch_ranks(2, "none", checkpoints = checkpoints)  # 6 epochs, checkpoints at 2, 4 and 6
    expect_false(inherits(first$launched, "error"))
    rank1 <- file.path(checkpoints, "multigrade-checkpoint-rank1.rds")
    expect_true(file.exists(sub("\\.rds$", "-previous.rds", rank1)))
    # Rank 1 as if it had died after epoch 6's last collective, before its checkpoint: it holds
    # epoch 4, rank 0 epochs 6 and 4.
    file.rename(sub("\\.rds$", "-previous.rds", rank1), rank1)
    expect_length(readRDS(rank1)$history, 4)
    again <- launch_ranks(2, "none", checkpoints = checkpoints)
    expect_false(inherits(again$launched, "error"))
    # Both resumed at epoch 4 and retrained 5 and 6: the weights of the first run, bit for bit.
    expect_identical(again$results[[1]]$weights, again$results[[2]]$weights)
    expect_identical(again$results[[1]]$weights, first$results[[1]]$weights)
    expect_equal(again$results[[1]]$history$epoch, 1:6)
})
